//! Files a supervisor downloads: the monthly summary as Excel and as PDF, and one
//! rectification notice as the paper form people sign (整改通知单), with its photos
//! and every signature. PDFs use the CJK font of the QR labels (`pdf::Doc`).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use patrol_protocol::Site;
use patrol_protocol::notice::Severity;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::i18n::{K, Lang, action_name, state_name};
use super::layout::local_time;
use super::pages::notices::{Shown, number_or_pending};
use super::pages::supervise::SiteRef;
use super::pdf::{CjkFont, Doc, load_cjk_font};
use super::stats::MonthSummary;
use crate::app::AppState;
use crate::error::ApiError;
use crate::web::error::WebError;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file download; only ASCII in the header's filename, since codes are free text.
pub fn download(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    let name: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// Draws a PDF off the async threads with the configured CJK font.
pub async fn render_pdf<F>(state: &AppState, draw: F) -> Result<Vec<u8>, WebError>
where
    F: FnOnce(&CjkFont) -> Result<Vec<u8>, String> + Send + 'static,
{
    let setting = state.settings.cjk_font.clone();
    Ok(tokio::task::spawn_blocking(move || draw(&load_cjk_font(&setting)?))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?)
}

fn hours(h: Option<f64>) -> String {
    h.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into())
}

/// The monthly summary as a workbook: overview, per department, per person, per day.
pub fn monthly_xlsx(lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, String> {
    build_xlsx(lang, site, s, r).map_err(|e| format!("xlsx: {e}"))
}

fn build_xlsx(lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, XlsxError> {
    let t = |k| lang.t(k);
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let month = format!("{}-{:02}", s.year, s.month);

    let sheet = book.add_worksheet().set_name(t(K::Overview))?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 16)?;
    sheet.write_string_with_format(
        0,
        0,
        format!("{} {} · {}", site.code, lang.pick(&site.name_zh, &site.name_en), t(K::MonthlySummary)),
        &bold,
    )?;
    sheet.write_string(1, 0, &month)?;
    let rows: Vec<(K, f64)> = vec![
        (K::ExpectedRuns, f64::from(s.expected)),
        (K::DoneRuns, f64::from(s.done)),
        (K::LateRuns, f64::from(s.late)),
        (K::MissedRuns, f64::from(s.missed)),
        (K::PendingRuns, f64::from(s.pending)),
        (K::RunsWalked, f64::from(s.runs)),
        (K::Unscheduled, f64::from(s.unscheduled)),
        (K::CompletionPercent, (s.done_percent() * 10.0).round() / 10.0),
        (K::CoveragePercent, (s.coverage_percent() * 10.0).round() / 10.0),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        sheet.write_string(3 + i as u32, 0, t(*k))?;
        sheet.write_number(3 + i as u32, 1, *v)?;
    }

    let sheet = book.add_worksheet().set_name(t(K::Departments))?;
    let heads = [K::Department, K::Raised, K::Closed, K::ClosedOnTime, K::Overdue, K::Voided, K::MedianHoursToClose];
    for (j, k) in heads.iter().enumerate() {
        sheet.write_string_with_format(0, j as u16, t(*k), &bold)?;
        sheet.set_column_width(j as u16, if j == 0 { 18 } else { 14 })?;
    }
    for (i, (dept, d)) in s.departments.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_string(row, 0, r.department(lang, *dept))?;
        for (j, v) in [d.raised, d.closed, d.closed_on_time, d.overdue, d.voided].iter().enumerate() {
            sheet.write_number(row, 1 + j as u16, f64::from(*v))?;
        }
        match d.median_hours_to_close {
            Some(h) => sheet.write_number(row, 6, (h * 10.0).round() / 10.0)?,
            None => sheet.write_string(row, 6, "—")?,
        };
    }

    let sheet = book.add_worksheet().set_name(t(K::People))?;
    let heads = [K::Person, K::RunsWalked, K::CheckpointsVisited, K::NoticesRaised, K::NoticeActions];
    for (j, k) in heads.iter().enumerate() {
        sheet.write_string_with_format(0, j as u16, t(*k), &bold)?;
        sheet.set_column_width(j as u16, 16)?;
    }
    for (i, p) in s.people.values().enumerate() {
        let row = 1 + i as u32;
        sheet.write_string(row, 0, &p.name)?;
        for (j, v) in [p.runs, p.checkpoints_visited, p.notices_raised, p.notice_actions].iter().enumerate() {
            sheet.write_number(row, 1 + j as u16, f64::from(*v))?;
        }
    }

    let sheet = book.add_worksheet().set_name(t(K::PerDay))?;
    let heads = [K::Date, K::ExpectedRuns, K::DoneRuns, K::LateRuns, K::MissedRuns];
    for (j, k) in heads.iter().enumerate() {
        sheet.write_string_with_format(0, j as u16, t(*k), &bold)?;
        sheet.set_column_width(j as u16, 14)?;
    }
    for (i, (day, e, d, l, m)) in s.days.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_string(row, 0, day.to_string())?;
        for (j, v) in [e, d, l, m].iter().enumerate() {
            sheet.write_number(row, 1 + j as u16, f64::from(**v))?;
        }
    }
    book.save_to_buffer()
}

const MARGIN: f32 = 42.0;

/// Where the next line goes on a page being filled top to bottom.
struct Cursor<'d, 'f> {
    doc: &'d mut Doc<'f>,
    y: f32,
}

impl<'d, 'f> Cursor<'d, 'f> {
    fn new(doc: &'d mut Doc<'f>) -> Self {
        doc.new_page();
        let (_, h) = doc.size();
        Cursor { doc, y: h - MARGIN }
    }

    fn width(&self) -> f32 {
        self.doc.size().0 - 2.0 * MARGIN
    }

    /// Starts a new page unless `need` points still fit.
    fn room(&mut self, need: f32) {
        if self.y - need < MARGIN {
            self.doc.new_page();
            self.y = self.doc.size().1 - MARGIN;
        }
    }

    fn line(&mut self, size: f32, gray: f32, text: &str) {
        self.room(size * 1.5);
        self.y -= size * 1.25;
        let fitted = self.doc.fit(text, size, self.width());
        self.doc.text(MARGIN, self.y, size, gray, &fitted);
        self.y -= size * 0.3;
    }

    fn paragraph(&mut self, size: f32, text: &str) {
        for l in self.doc.wrap(text, size, self.width()) {
            self.line(size, 0.0, &l);
        }
    }

    fn heading(&mut self, text: &str) {
        self.room(40.0);
        self.y -= 10.0;
        self.line(12.0, 0.0, text);
        let w = self.width();
        self.doc.line(MARGIN, self.y, MARGIN + w, self.y, 0.6, 0.5);
        self.y -= 4.0;
    }

    /// A table row: cells at the given column offsets.
    fn row(&mut self, size: f32, gray: f32, cols: &[f32], cells: &[String]) {
        self.room(size * 1.8);
        self.y -= size * 1.4;
        let w = self.width();
        for (i, cell) in cells.iter().enumerate() {
            let x = MARGIN + cols[i] * w;
            let end = cols.get(i + 1).map_or(w, |c| c * w) + MARGIN;
            let text = self.doc.fit(cell, size, end - x - 4.0);
            self.doc.text(x, self.y, size, gray, &text);
        }
        self.doc.line(MARGIN, self.y - 4.0, MARGIN + w, self.y - 4.0, 0.85, 0.4);
        self.y -= size * 0.4;
    }

    /// Label–value pairs in two columns, with a box, like a paper form.
    fn form_row(&mut self, cells: &[(&str, String)]) {
        let size = 10.5;
        self.room(24.0);
        let w = self.width();
        let top = self.y;
        self.y -= 20.0;
        let half = w / cells.len() as f32;
        for (i, (label, value)) in cells.iter().enumerate() {
            let x = MARGIN + i as f32 * half;
            self.doc.stroke_rect(x, self.y, half, 20.0, 0.5, false);
            self.doc.fill_rect(x + 0.3, self.y + 0.3, 78.0, 19.4, 0.93);
            self.doc.text(x + 5.0, self.y + 6.5, size, 0.2, label);
            let v = self.doc.fit(value, size, half - 90.0);
            self.doc.text(x + 84.0, self.y + 6.5, size, 0.0, &v);
        }
        debug_assert!(self.y < top);
    }
}

/// The monthly summary on A4: figures, a bar per day, departments and people.
pub fn monthly_pdf(font: &CjkFont, lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, String> {
    let t = |k| lang.t(k);
    let mut doc = Doc::a4(font)?;
    let mut c = Cursor::new(&mut doc);
    c.line(16.0, 0.0, &format!("{} · {}-{:02}", t(K::MonthlySummary), s.year, s.month));
    c.line(10.0, 0.35, &format!("{} {}", site.code, lang.pick(&site.name_zh, &site.name_en)));
    c.heading(t(K::Overview));
    let figures = [
        (t(K::ExpectedRuns), s.expected.to_string()),
        (t(K::DoneRuns), s.done.to_string()),
        (t(K::LateRuns), s.late.to_string()),
        (t(K::MissedRuns), s.missed.to_string()),
        (t(K::PendingRuns), s.pending.to_string()),
        (t(K::Unscheduled), s.unscheduled.to_string()),
        (t(K::CompletionPercent), format!("{:.1}%", s.done_percent())),
        (t(K::CoveragePercent), format!("{:.1}%", s.coverage_percent())),
    ];
    for pair in figures.chunks(2) {
        c.form_row(&pair.iter().map(|(l, v)| (*l, v.clone())).collect::<Vec<_>>());
    }
    // Runs per day as bars: expected in grey, done in black.
    c.heading(t(K::RunsPerDay));
    c.room(110.0);
    let (w, base) = (c.width(), c.y - 90.0);
    let max = s.days.iter().map(|d| d.1.max(d.2 + d.3)).max().unwrap_or(1).max(1) as f32;
    let slot = w / 31.0;
    for (i, (day, expected, done, late, _)) in s.days.iter().enumerate() {
        let x = MARGIN + i as f32 * slot;
        c.doc.fill_rect(x + 1.0, base, slot * 0.4, *expected as f32 / max * 80.0, 0.75);
        c.doc.fill_rect(x + 1.0 + slot * 0.42, base, slot * 0.4, (done + late) as f32 / max * 80.0, 0.15);
        let label = chrono::Datelike::day(day).to_string();
        c.doc.text(x + 1.0, base - 10.0, 6.5, 0.3, &label);
    }
    c.doc.line(MARGIN, base, MARGIN + w, base, 0.4, 0.5);
    c.y = base - 14.0;
    c.line(8.0, 0.35, &format!("▇ {}   ▇ {}", t(K::ExpectedRuns), t(K::DoneRuns)));

    c.heading(t(K::NoticesByDepartment));
    let cols = [0.0, 0.26, 0.38, 0.5, 0.64, 0.76, 0.88];
    let head: Vec<String> =
        [K::Department, K::Raised, K::Closed, K::ClosedOnTime, K::Overdue, K::Voided, K::MedianHoursToClose]
            .iter()
            .map(|k| t(*k).to_string())
            .collect();
    c.row(8.5, 0.35, &cols, &head);
    for (dept, d) in &s.departments {
        let cells = vec![
            r.department(lang, *dept),
            d.raised.to_string(),
            d.closed.to_string(),
            d.closed_on_time.to_string(),
            d.overdue.to_string(),
            d.voided.to_string(),
            hours(d.median_hours_to_close),
        ];
        c.row(9.5, 0.0, &cols, &cells);
    }
    if s.departments.is_empty() {
        c.line(9.5, 0.4, t(K::Nothing));
    }
    c.heading(t(K::People));
    let cols = [0.0, 0.3, 0.48, 0.66, 0.84];
    let head: Vec<String> = [K::Person, K::RunsWalked, K::CheckpointsVisited, K::NoticesRaised, K::NoticeActions]
        .iter()
        .map(|k| t(*k).to_string())
        .collect();
    c.row(8.5, 0.35, &cols, &head);
    for p in s.people.values() {
        let cells = vec![
            p.name.clone(),
            p.runs.to_string(),
            p.checkpoints_visited.to_string(),
            p.notices_raised.to_string(),
            p.notice_actions.to_string(),
        ];
        c.row(9.5, 0.0, &cols, &cells);
    }
    doc.finish()
}

/// A photo ready for the notice form: a small RGB JPEG and its pixel size.
pub struct PdfPhoto {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Shrinks a stored photo for printing (long edge 900 px, RGB baseline JPEG, which
/// PDF readers draw as is). Photos that cannot be read are left out.
pub fn pdf_photo(jpeg: &[u8]) -> Option<PdfPhoto> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).ok()?;
    let img = img.thumbnail(900, 900).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).ok()?;
    Some(PdfPhoto { jpeg: out, width: img.width(), height: img.height() })
}

/// The rectification notice as the paper form: number, dates, location, description,
/// photos before and after, every signature and event with name and time, and empty
/// lines for handwritten signatures.
pub fn notice_pdf(
    font: &CjkFont,
    lang: Lang,
    s: &Shown,
    before: Vec<PdfPhoto>,
    after: Vec<PdfPhoto>,
) -> Result<Vec<u8>, String> {
    let t = |k| lang.t(k);
    let v = &s.view;
    let tz = s.site.utc_offset_minutes;
    let mut doc = Doc::a4(font)?;
    let mut c = Cursor::new(&mut doc);
    let (page_w, _) = c.doc.size();
    c.y -= 8.0;
    c.doc.text_centred(
        page_w / 2.0,
        c.y - 14.0,
        18.0,
        0.0,
        &format!("{} {}", s.site.name_zh, t(K::RectificationNotice)),
    );
    c.y -= 24.0;
    c.doc.text_centred(page_w / 2.0, c.y - 10.0, 9.0, 0.35, "整改通知单 · Rectification notice");
    c.y -= 22.0;
    let number = number_or_pending(lang, &v.number);
    c.form_row(&[(t(K::NoticeNumber), number), (t(K::State), state_name(lang, v.state).to_string())]);
    c.form_row(&[
        (t(K::Department), s.department_name(lang, v.department_id)),
        (t(K::Severity), t(if v.severity == Severity::Serious { K::Serious } else { K::General }).to_string()),
    ]);
    c.form_row(&[(t(K::Location), v.location.clone())]);
    c.form_row(&[(t(K::Issuer), v.issuer_name.clone()), (t(K::RaisedAt), local_time(v.raised_device_ms, tz))]);
    c.form_row(&[(t(K::ReceivedAt), local_time(v.received_ms, tz)), (t(K::Due), local_time(v.due_ms, tz))]);
    c.heading(t(K::Description));
    c.paragraph(11.0, &v.description);
    for (title, photos) in [(t(K::BeforePhotos), before), (t(K::AfterPhotos), after)] {
        c.heading(title);
        if photos.is_empty() {
            c.line(9.5, 0.4, t(K::NoPhotos));
            continue;
        }
        let (box_w, box_h, gap) = (160.0_f32, 120.0_f32, 10.0_f32);
        for chunk in photos.chunks(3) {
            c.room(box_h + 8.0);
            c.y -= box_h + 4.0;
            for (i, p) in chunk.iter().enumerate() {
                let scale = (box_w / p.width as f32).min(box_h / p.height as f32);
                let (w, h) = (p.width as f32 * scale, p.height as f32 * scale);
                let x = MARGIN + i as f32 * (box_w + gap);
                c.doc.stroke_rect(x, c.y, box_w, box_h, 0.8, false);
                c.doc.jpeg(p.jpeg.clone(), p.width, p.height, x + (box_w - w) / 2.0, c.y + (box_h - h) / 2.0, w, h);
            }
            c.y -= 4.0;
        }
    }
    c.heading(t(K::Timeline));
    let cols = [0.0, 0.22, 0.36, 0.56, 0.7];
    let head: Vec<String> =
        [K::ServerTime, K::Person, K::Action, K::Result, K::Reason].iter().map(|k| t(*k).to_string()).collect();
    c.row(8.5, 0.35, &cols, &head);
    for e in &v.events {
        let mut action = action_name(lang, &e.action).to_string();
        if let Some(to) = e.reassign_to {
            action = format!("{action} → {}", s.department_name(lang, to));
        }
        let result = if e.applied {
            e.to_state.map(|st| state_name(lang, st).to_string()).unwrap_or_else(|| t(K::Applied).to_string())
        } else {
            format!("{}: {}", t(K::Refused), e.refusal.clone().unwrap_or_default())
        };
        let cells = vec![local_time(e.server_time_ms, tz), e.actor_name.clone(), action, result, e.reason.clone()];
        c.row(9.0, if e.applied { 0.0 } else { 0.4 }, &cols, &cells);
    }
    // Handwritten signatures, as on the paper form this replaces.
    c.heading(t(K::Signatures));
    for k in [K::SignReceipt, K::SignRectified, K::SignVerified] {
        c.room(34.0);
        c.y -= 28.0;
        let w = c.width();
        c.doc.text(MARGIN, c.y, 10.5, 0.0, t(k));
        c.doc.line(MARGIN + 130.0, c.y - 2.0, MARGIN + w * 0.62, c.y - 2.0, 0.3, 0.6);
        c.doc.text(MARGIN + w * 0.66, c.y, 10.5, 0.0, t(K::Date));
        c.doc.line(MARGIN + w * 0.66 + 40.0, c.y - 2.0, MARGIN + w, c.y - 2.0, 0.3, 0.6);
    }
    c.y -= 18.0;
    let printed = format!("{} · {}", t(K::PrintedFromConsole), v.number.clone().unwrap_or_default());
    c.line(7.5, 0.45, &printed);
    if let Some(code) = &s.verification_code {
        c.line(7.5, 0.45, &format!("{}: {code}", t(K::VerificationCode)));
    }
    doc.finish()
}
