//! The evidence strip burned into every stored photo: a darkened band at the bottom
//! with time, place, person and position, drawn with the CJK font the app provides.

use patrol_protocol::reason::Reason;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ab_glyph::{Font, FontArc, FontVec, PxScale, ScaleFont, point};
use image::RgbImage;

use crate::error::{Error, Result};

/// CJK fonts are big (wqy-microhei 5 MB, Noto CJK 20 MB); anything beyond this is not a font.
const FONT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The loaded font, kept for the life of the core: parsing it per photo would cost
/// more than drawing the text.
#[derive(Default)]
pub struct FontCache(Mutex<Option<(PathBuf, FontArc)>>);

impl FontCache {
    pub fn get(&self, path: &Path) -> Result<FontArc> {
        let mut slot = self.0.lock().map_err(|_| Error::Poisoned)?;
        if let Some((p, font)) = slot.as_ref()
            && p == path
        {
            return Ok(font.clone());
        }
        let font = load(path)?;
        *slot = Some((path.to_path_buf(), font.clone()));
        Ok(font)
    }
}

/// Loads a TTF/OTF, or the first face of a TTC collection (wqy-microhei.ttc is one).
fn load(path: &Path) -> Result<FontArc> {
    let bad = |detail: String| Error::invalid("font_path", Reason::FontUnusable { detail });
    let size = std::fs::metadata(path).map_err(|e| bad(format!("{}: {e}", path.display())))?.len();
    if size > FONT_MAX_BYTES {
        return Err(bad(format!("{} is larger than 64 MB", path.display())));
    }
    let data = std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let font = FontVec::try_from_vec_and_index(data, 0).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok(FontArc::new(font))
}

/// Draws `lines` in a band across the bottom of `img`, sized to the image so the text
/// stays legible on a phone screen and in print.
pub fn burn(img: &mut RgbImage, font: &FontArc, lines: &[String]) {
    let (w, h) = img.dimensions();
    let long = w.max(h) as f32;
    let px = (long / 56.0).clamp(12.0, 64.0);
    let line_height = (px * 1.3).ceil();
    let pad = (px * 0.5).ceil();
    let band = (line_height * lines.len() as f32 + 2.0 * pad).min(h as f32) as u32;
    let top = h - band;

    // Darken the band to 40 %, so white text reads on snow and on night shots alike.
    for y in top..h {
        for x in 0..w {
            let p = img.get_pixel_mut(x, y);
            for c in p.0.iter_mut() {
                *c = (*c as u16 * 2 / 5) as u8;
            }
        }
    }

    let scaled = font.as_scaled(PxScale::from(px));
    let max_width = w as f32 - 2.0 * pad;
    for (n, line) in lines.iter().enumerate() {
        let baseline = top as f32 + pad + n as f32 * line_height + scaled.ascent();
        let text = fit(&scaled, line, max_width);
        let mut x = pad;
        let mut prev = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                x += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(px, point(x, baseline));
            x += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px_x, px_y) = (bounds.min.x as i64 + gx as i64, bounds.min.y as i64 + gy as i64);
                if px_x < 0 || px_y < top as i64 || px_x >= w as i64 || px_y >= h as i64 {
                    return;
                }
                let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                let c = coverage.clamp(0.0, 1.0);
                for ch in p.0.iter_mut() {
                    *ch = (*ch as f32 * (1.0 - c) + 255.0 * c).round() as u8;
                }
            });
        }
    }
}

/// The longest prefix of `text` that fits `max_width`, with "…" when cut.
fn fit<F: Font>(scaled: &ab_glyph::PxScaleFont<F>, text: &str, max_width: f32) -> String {
    let width = |s: &str| s.chars().map(|c| scaled.h_advance(scaled.glyph_id(c))).sum::<f32>();
    if width(text) <= max_width {
        return text.to_string();
    }
    let ellipsis = width("…");
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let a = scaled.h_advance(scaled.glyph_id(c));
        if used + a + ellipsis > max_width {
            break;
        }
        used += a;
        out.push(c);
    }
    out.push('…');
    out
}
