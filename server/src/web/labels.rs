//! The sheet of QR labels an administrator prints and sticks at each checkpoint:
//! twelve per A4 page, each with the QR of the checkpoint's token, names and code.

use patrol_protocol::{Checkpoint, Site};
use qrcode::{Color, EcLevel, QrCode};

pub use super::pdf::load_cjk_font;
use super::pdf::{CjkFont, Doc};

const MARGIN: f32 = 28.0;
const HEADER: f32 = 30.0;
const COLUMNS: usize = 3;
const ROWS: usize = 4;
const QR_SIZE: f32 = 118.0;

/// Draws a QR code with its quiet zone into the square at (x, y) of side `size`.
fn draw_qr(doc: &mut Doc<'_>, code: &QrCode, x: f32, y: f32, size: f32) {
    let n = code.width();
    // The standard asks for four light modules around the symbol.
    let module = size / (n as f32 + 8.0);
    let colors = code.to_colors();
    for row in 0..n {
        let top = y + size - (row as f32 + 4.0) * module;
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == Color::Dark {
                // One rectangle per run of dark modules keeps the page small.
                let start = col;
                while col < n && colors[row * n + col] == Color::Dark {
                    col += 1;
                }
                doc.fill_rect(
                    x + (start as f32 + 4.0) * module,
                    top - module,
                    (col - start) as f32 * module,
                    module,
                    0.0,
                );
            } else {
                col += 1;
            }
        }
    }
}

/// The label sheet for `checkpoints` of `site` as a PDF.
pub fn sheet(font: &CjkFont, site: &Site, checkpoints: &[Checkpoint]) -> Result<Vec<u8>, String> {
    let mut doc = Doc::a4(font)?;
    let (width, height) = doc.size();
    let cell_w = (width - 2.0 * MARGIN) / COLUMNS as f32;
    let cell_h = (height - 2.0 * MARGIN - HEADER) / ROWS as f32;
    let per_page = COLUMNS * ROWS;
    let pages = checkpoints.len().div_ceil(per_page).max(1);
    for page in 0..pages {
        doc.new_page();
        let title =
            format!("{} {} · 巡检点二维码标签 Checkpoint QR labels · {}/{}", site.code, site.name_zh, page + 1, pages);
        let title = doc.fit(&title, 10.0, width - 2.0 * MARGIN);
        doc.text(MARGIN, height - MARGIN - 12.0, 10.0, 0.3, &title);
        let on_page = checkpoints.iter().skip(page * per_page).take(per_page);
        for (i, cp) in on_page.enumerate() {
            let (col, row) = (i % COLUMNS, i / COLUMNS);
            let x = MARGIN + col as f32 * cell_w;
            let y = height - MARGIN - HEADER - (row as f32 + 1.0) * cell_h;
            doc.stroke_rect(x, y, cell_w, cell_h, 0.6, true);
            let code = QrCode::with_error_correction_level(cp.qr_token.as_bytes(), EcLevel::M)
                .map_err(|e| format!("checkpoint {}: cannot make a QR code: {e}", cp.code))?;
            let cx = x + cell_w / 2.0;
            let qr_y = y + cell_h - QR_SIZE - 4.0;
            draw_qr(&mut doc, &code, cx - QR_SIZE / 2.0, qr_y, QR_SIZE);
            let inner = cell_w - 16.0;
            let name_zh = doc.fit(&cp.name_zh, 12.0, inner);
            doc.text_centred(cx, qr_y - 12.0, 12.0, 0.0, &name_zh);
            if !cp.name_en.is_empty() {
                let name_en = doc.fit(&cp.name_en, 8.0, inner);
                doc.text_centred(cx, qr_y - 24.0, 8.0, 0.25, &name_en);
            }
            let code_line = doc.fit(&format!("{} · {}", site.code, cp.code), 10.0, inner);
            doc.text_centred(cx, y + 10.0, 10.0, 0.0, &code_line);
        }
        if checkpoints.is_empty() {
            doc.text(MARGIN, height - MARGIN - HEADER - 20.0, 12.0, 0.3, "暂无巡检点 / No checkpoints yet");
        }
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pdf::testing;
    use patrol_protocol::Id;

    #[test]
    fn a_sheet_has_one_page_per_twelve_labels_and_embeds_a_small_font() {
        let Some(font) = testing::font() else { return };
        let site = testing::site();
        let cps: Vec<Checkpoint> = (0..13)
            .map(|i| Checkpoint {
                id: Id::now_v7(),
                site_id: site.id,
                code: format!("CP-{i}"),
                name_zh: format!("巡检点{i}号"),
                name_en: format!("Checkpoint {i}"),
                latitude: 31.0,
                longitude: 121.0,
                radius_m: 30.0,
                qr_token: format!("token-{i:04}-abcdefgh"),
                qr_digest: String::new(),
                nfc_tag_id: None,
                checklist: vec![],
            })
            .collect();
        let pdf = sheet(&font, &site, &cps).unwrap();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        assert!(text.contains("/Count 2"), "13 labels need two pages");
        assert!(text.contains("/Identity-H"));
        // Subsetting keeps a multi-megabyte CJK font down to the glyphs drawn.
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    }
}
