//! Printable PDFs with Chinese text: finding a CJK font on the system, and a small
//! page builder that embeds only the glyphs used (subset) so a sheet stays small.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

/// Where Debian and most Linux distributions put fonts with Chinese glyphs, best
/// first. `#N` picks a face of a collection (index 2 of Noto CJK is Simplified Chinese).
pub const CJK_FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// Largest font file read (Noto CJK collections are about 20 MB).
const FONT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A font file's bytes and which face of it to use.
pub struct CjkFont {
    pub path: PathBuf,
    pub index: u32,
    pub data: Vec<u8>,
}

fn split_index(spec: &str) -> (&str, u32) {
    match spec.rsplit_once('#') {
        Some((path, n)) if n.parse::<u32>().is_ok() => (path, n.parse().unwrap_or(0)),
        _ => (spec, 0),
    }
}

/// Loads the font `PATROL_CJK_FONT` names, or else the first candidate that exists.
/// The error says what to install or set.
pub fn load_cjk_font(setting: &str) -> Result<CjkFont, String> {
    let specs: Vec<&str> = if setting.trim().is_empty() { CJK_FONT_CANDIDATES.to_vec() } else { vec![setting.trim()] };
    for spec in &specs {
        let (path, index) = split_index(spec);
        let path = Path::new(path);
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if meta.len() > FONT_MAX_BYTES {
            return Err(format!("{} is larger than 64 MB", path.display()));
        }
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let face = ttf_parser::Face::parse(&data, index)
            .map_err(|e| format!("{} (face {index}) is not a usable font: {e}", path.display()))?;
        if face.glyph_index('巡').is_none() {
            return Err(format!("{} has no Chinese glyphs", path.display()));
        }
        return Ok(CjkFont { path: path.to_path_buf(), index, data });
    }
    Err(format!(
        "no font with Chinese glyphs found (tried {}); install fonts-wqy-microhei or fonts-noto-cjk, or set PATROL_CJK_FONT",
        specs.join(", ")
    ))
}

/// A document being drawn: pages of content, with the glyphs they use collected
/// for the subset. Coordinates are PDF points from the bottom-left corner.
pub struct Doc<'f> {
    font: &'f CjkFont,
    face: ttf_parser::Face<'f>,
    remapper: subsetter::GlyphRemapper,
    /// New glyph id → the text it stands for, for copy-paste and search.
    to_unicode: BTreeMap<u16, char>,
    pages: Vec<Content>,
    /// JPEG images drawn so far: bytes, pixel width and height. Each page may use any.
    images: Vec<(Vec<u8>, u32, u32)>,
    width: f32,
    height: f32,
}

const FONT_NAME: Name<'static> = Name(b"F1");

impl<'f> Doc<'f> {
    /// An empty A4 portrait document.
    pub fn a4(font: &'f CjkFont) -> Result<Doc<'f>, String> {
        let face =
            ttf_parser::Face::parse(&font.data, font.index).map_err(|e| format!("{}: {e}", font.path.display()))?;
        Ok(Doc {
            font,
            face,
            remapper: subsetter::GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
            pages: Vec::new(),
            images: Vec::new(),
            width: 595.0,
            height: 842.0,
        })
    }

    pub fn size(&self) -> (f32, f32) {
        (self.width, self.height)
    }

    /// Starts a new page; drawing goes to the last page.
    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        self.pages.last_mut().expect("a page exists")
    }

    /// The width of `text` at `size` points.
    pub fn text_width(&self, text: &str, size: f32) -> f32 {
        let upem = f32::from(self.face.units_per_em());
        text.chars()
            .map(|c| {
                let g = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) / upem * size
            })
            .sum()
    }

    /// `text` shortened with "…" to fit `max_width`.
    pub fn fit(&self, text: &str, size: f32, max_width: f32) -> String {
        if self.text_width(text, size) <= max_width {
            return text.to_string();
        }
        let mut out: String = text.to_string();
        while !out.is_empty() && self.text_width(&format!("{out}…"), size) > max_width {
            out.pop();
        }
        format!("{out}…")
    }

    /// Draws one line of text with its left end at (x, y) on the baseline.
    pub fn text(&mut self, x: f32, y: f32, size: f32, gray: f32, text: &str) {
        let mut encoded = Vec::with_capacity(text.len() * 2);
        for c in text.chars().filter(|c| !c.is_control()) {
            let gid = self.face.glyph_index(c).map_or(0, |g| g.0);
            let new = self.remapper.remap(gid);
            if gid != 0 {
                self.to_unicode.entry(new).or_insert(c);
            }
            encoded.extend(new.to_be_bytes());
        }
        let page = self.page();
        page.set_fill_gray(gray);
        page.begin_text();
        page.set_font(FONT_NAME, size);
        page.next_line(x, y);
        page.show(Str(&encoded));
        page.end_text();
    }

    /// Draws text centred on `cx`.
    pub fn text_centred(&mut self, cx: f32, y: f32, size: f32, gray: f32, text: &str) {
        let w = self.text_width(text, size);
        self.text(cx - w / 2.0, y, size, gray, text);
    }

    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        let page = self.page();
        page.set_fill_gray(gray);
        page.rect(x, y, w, h);
        page.fill_nonzero();
    }

    /// A thin outline, dashed when `dashed` (cut lines).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32, dashed: bool) {
        let page = self.page();
        page.save_state();
        page.set_stroke_gray(gray);
        page.set_line_width(0.6);
        if dashed {
            page.set_dash_pattern([3.0, 3.0], 0.0);
        }
        page.rect(x, y, w, h);
        page.stroke();
        page.restore_state();
    }

    /// A straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, gray: f32, width: f32) {
        let page = self.page();
        page.save_state();
        page.set_stroke_gray(gray);
        page.set_line_width(width);
        page.move_to(x1, y1);
        page.line_to(x2, y2);
        page.stroke();
        page.restore_state();
    }

    /// Splits `text` into lines no wider than `max_width` (Chinese breaks anywhere;
    /// explicit newlines are kept).
    pub fn wrap(&self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for c in para.chars() {
                line.push(c);
                if self.text_width(&line, size) > max_width && line.chars().count() > 1 {
                    let last = line.pop().expect("not empty");
                    lines.push(std::mem::take(&mut line));
                    line.push(last);
                }
            }
            lines.push(line);
        }
        lines
    }

    /// Draws a baseline JPEG (RGB, 8 bits a channel, as `image` encodes them) into
    /// the box at (x, y) of size w × h, embedded as is (DCTDecode).
    #[allow(clippy::too_many_arguments)]
    pub fn jpeg(&mut self, data: Vec<u8>, px_w: u32, px_h: u32, x: f32, y: f32, w: f32, h: f32) {
        let index = self.images.len();
        self.images.push((data, px_w, px_h));
        let name = format!("Im{index}");
        let page = self.page();
        page.save_state();
        page.transform([w, 0.0, 0.0, h, x, y]);
        page.x_object(Name(name.as_bytes()));
        page.restore_state();
    }

    /// Writes the PDF, embedding the subset of the font the pages use.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let type0 = alloc();
        let cid = alloc();
        let descriptor = alloc();
        let font_file = alloc();
        let cmap = alloc();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();
        let image_ids: Vec<Ref> = self.images.iter().map(|_| alloc()).collect();
        let image_names: Vec<String> = (0..self.images.len()).map(|i| format!("Im{i}")).collect();

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().map(|(p, _)| *p)).count(page_ids.len() as i32);
        for ((page_id, content_id), content) in page_ids.iter().zip(self.pages) {
            let mut page = pdf.page(*page_id);
            page.parent(tree).media_box(Rect::new(0.0, 0.0, self.width, self.height)).contents(*content_id);
            let mut resources = page.resources();
            resources.fonts().pair(FONT_NAME, type0);
            if !image_ids.is_empty() {
                let mut x_objects = resources.x_objects();
                for (name, id) in image_names.iter().zip(&image_ids) {
                    x_objects.pair(Name(name.as_bytes()), *id);
                }
            }
            resources.finish();
            page.finish();
            let data = content.finish();
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(&data, 6);
            pdf.stream(*content_id, &packed).filter(Filter::FlateDecode);
        }

        for ((data, w, h), id) in self.images.iter().zip(&image_ids) {
            let mut image = pdf.image_xobject(*id, data);
            image.filter(Filter::DctDecode);
            image.width(*w as i32).height(*h as i32);
            image.color_space().device_rgb();
            image.bits_per_component(8);
            image.finish();
        }

        let face = &self.face;
        let upem = f32::from(face.units_per_em());
        let scale = |v: f32| v / upem * 1000.0;
        let is_cff = face.tables().cff.is_some();
        let base_name = format!("PATROL+{}", postscript_name(face));
        let base = Name(base_name.as_bytes());
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);

        let mut widths = Vec::new();
        for old in self.remapper.remapped_gids() {
            let adv = face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0);
            widths.push(scale(f32::from(adv)));
        }
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(if is_cff { CidFontType::Type0 } else { CidFontType::Type2 })
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0);
        if !is_cff {
            cid_font.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        cid_font.widths().consecutive(0, widths);
        cid_font.finish();

        let bbox = face.global_bounding_box();
        let mut d = pdf.font_descriptor(descriptor);
        d.name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                scale(f32::from(bbox.x_min)),
                scale(f32::from(bbox.y_min)),
                scale(f32::from(bbox.x_max)),
                scale(f32::from(bbox.y_max)),
            ))
            .italic_angle(face.italic_angle())
            .ascent(scale(f32::from(face.ascender())))
            .descent(scale(f32::from(face.descender())))
            .cap_height(scale(f32::from(face.capital_height().unwrap_or(face.ascender()))))
            .stem_v(80.0);
        if is_cff {
            d.font_file3(font_file);
        } else {
            d.font_file2(font_file);
        }
        d.finish();

        let subset = subsetter::subset(&self.font.data, self.font.index, &self.remapper)
            .map_err(|e| format!("cannot subset {}: {e}", self.font.path.display()))?;
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, 6);
        let mut stream = pdf.stream(font_file, &packed);
        stream.filter(Filter::FlateDecode);
        if is_cff {
            stream.pair(Name(b"Subtype"), Name(b"OpenType"));
        }
        stream.finish();

        let mut unicode = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system);
        for (gid, c) in &self.to_unicode {
            unicode.pair(*gid, *c);
        }
        let unicode = unicode.finish();
        pdf.cmap(cmap, unicode.as_slice());

        Ok(pdf.finish())
    }
}

/// The font's PostScript name, reduced to what a PDF name may hold.
fn postscript_name(face: &ttf_parser::Face<'_>) -> String {
    let name = face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
        .unwrap_or_else(|| "CJK".into());
    let clean: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    if clean.is_empty() { "CJK".into() } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_face_is_chosen_with_a_hash() {
        assert_eq!(split_index("/f/a.ttc#2"), ("/f/a.ttc", 2));
        assert_eq!(split_index("/f/a.ttf"), ("/f/a.ttf", 0));
        assert_eq!(split_index("/f/a#b.ttf"), ("/f/a#b.ttf", 0));
    }

    #[test]
    fn a_missing_font_says_what_to_do() {
        let e = load_cjk_font("/nonexistent/font.ttf").err().unwrap();
        assert!(e.contains("PATROL_CJK_FONT"), "{e}");
    }
}
