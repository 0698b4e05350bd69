//! Files a supervisor downloads: the monthly summary as Excel and as PDF, and one
//! rectification notice as the paper form people sign (整改通知单), with its photos
//! and every signature. PDFs use the CJK font of the QR labels (`pdf::Doc`).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use patrol_protocol::Site;
use patrol_protocol::notice::Severity;
use rust_xlsxwriter::{
    ExcelDateTime, Format, FormatAlign, Formula, Workbook, Worksheet, XlsxError, column_number_to_name,
};

use super::i18n::{K, Lang, action_name, state_name};
use super::layout::local_time;
use super::pages::notices::{Shown, number_or_pending};
use super::pages::supervise::SiteRef;
use super::pdf::{CjkFont, Doc, load_cjk_font};
use super::stats::{DeptMonth, MonthSummary};
use crate::error::ApiError;
use crate::state::AppState;
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
/// Each table has its header row frozen and a totals row; days are date cells.
pub fn monthly_xlsx(lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, String> {
    build_xlsx(lang, site, s, r).map_err(|e| format!("xlsx: {e}"))
}

/// A table on its own sheet: a bold header row that stays in view while scrolling,
/// the rows, and a bold totals row whose figures are SUM formulas over the columns
/// `summed` (with the sums stored too, for readers that do not calculate).
struct Table<'a> {
    sheet: &'a mut Worksheet,
    bold: Format,
    rows: u32,
}

impl<'a> Table<'a> {
    fn new(sheet: &'a mut Worksheet, lang: Lang, heads: &[K], widths: &[f64]) -> Result<Self, XlsxError> {
        let bold = Format::new().set_bold();
        for (j, k) in heads.iter().enumerate() {
            sheet.write_string_with_format(0, j as u16, lang.t(*k), &bold)?;
            sheet.set_column_width(j as u16, widths[j.min(widths.len() - 1)])?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Table { sheet, bold, rows: 0 })
    }

    /// The row the next data goes on.
    fn next(&mut self) -> u32 {
        self.rows += 1;
        self.rows
    }

    fn totals(self, lang: Lang, summed: &[(u16, f64)]) -> Result<(), XlsxError> {
        let row = self.rows + 1;
        self.sheet.write_string_with_format(row, 0, lang.t(K::Total), &self.bold)?;
        for (col, sum) in summed {
            let name = column_number_to_name(*col);
            let formula = if self.rows == 0 {
                Formula::new("=0").set_result("0")
            } else {
                Formula::new(format!("=SUM({name}2:{name}{})", self.rows + 1)).set_result(sum.to_string())
            };
            self.sheet.write_formula_with_format(row, *col, formula, &self.bold)?;
        }
        Ok(())
    }
}

fn build_xlsx(lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, XlsxError> {
    let t = |k| lang.t(k);
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let raised: u32 = s.departments.values().map(|d| d.raised).sum();
    let closed_on_time: u32 = s.departments.values().map(|d| d.closed_on_time).sum();

    let sheet = book.add_worksheet().set_name(t(K::Overview))?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 16)?;
    sheet.write_string_with_format(
        0,
        0,
        format!("{} {} · {}", site.code, lang.pick(&site.name_zh, &site.name_en), t(K::MonthlySummary)),
        &bold,
    )?;
    let first = ExcelDateTime::from_ymd(s.year as u16, s.month as u8, 1)?;
    sheet.write_date_with_format(
        1,
        0,
        &first,
        &Format::new().set_num_format("yyyy-mm").set_align(FormatAlign::Left),
    )?;
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
        (K::NoticesRaised, f64::from(raised)),
        (K::ClosedOnTime, f64::from(closed_on_time)),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        sheet.write_string(3 + i as u32, 0, t(*k))?;
        sheet.write_number(3 + i as u32, 1, *v)?;
    }

    let heads = [K::Department, K::Raised, K::Closed, K::ClosedOnTime, K::Overdue, K::Voided, K::MedianHoursToClose];
    let mut table = Table::new(book.add_worksheet().set_name(t(K::Departments))?, lang, &heads, &[18.0, 14.0])?;
    let mut sums = [0.0; 5];
    for (dept, d) in &s.departments {
        let row = table.next();
        table.sheet.write_string(row, 0, r.department(lang, *dept))?;
        for (j, v) in [d.raised, d.closed, d.closed_on_time, d.overdue, d.voided].iter().enumerate() {
            table.sheet.write_number(row, 1 + j as u16, f64::from(*v))?;
            sums[j] += f64::from(*v);
        }
        match d.median_hours_to_close {
            Some(h) => table.sheet.write_number(row, 6, (h * 10.0).round() / 10.0)?,
            None => table.sheet.write_string(row, 6, "—")?,
        };
    }
    table.totals(lang, &sums.iter().enumerate().map(|(j, v)| (1 + j as u16, *v)).collect::<Vec<_>>())?;

    let heads = [K::Person, K::RunsWalked, K::CheckpointsVisited, K::NoticesRaised, K::NoticeActions];
    let mut table = Table::new(book.add_worksheet().set_name(t(K::People))?, lang, &heads, &[16.0])?;
    let mut sums = [0.0; 4];
    for p in s.people.values() {
        let row = table.next();
        table.sheet.write_string(row, 0, &p.name)?;
        for (j, v) in [p.runs, p.checkpoints_visited, p.notices_raised, p.notice_actions].iter().enumerate() {
            table.sheet.write_number(row, 1 + j as u16, f64::from(*v))?;
            sums[j] += f64::from(*v);
        }
    }
    table.totals(lang, &sums.iter().enumerate().map(|(j, v)| (1 + j as u16, *v)).collect::<Vec<_>>())?;

    let heads = [K::Date, K::ExpectedRuns, K::DoneRuns, K::LateRuns, K::MissedRuns];
    let mut table = Table::new(book.add_worksheet().set_name(t(K::PerDay))?, lang, &heads, &[14.0])?;
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut sums = [0.0; 4];
    for (day, e, d, l, m) in &s.days {
        let row = table.next();
        let (y, mo, dd) = (day.year(), day.month(), day.day());
        let cell = ExcelDateTime::from_ymd(y as u16, mo as u8, dd as u8)?;
        table.sheet.write_date_with_format(row, 0, &cell, &date)?;
        for (j, v) in [e, d, l, m].iter().enumerate() {
            table.sheet.write_number(row, 1 + j as u16, f64::from(**v))?;
            sums[j] += f64::from(**v);
        }
    }
    table.totals(lang, &sums.iter().enumerate().map(|(j, v)| (1 + j as u16, *v)).collect::<Vec<_>>())?;
    book.save_to_buffer()
}

const MARGIN: f32 = 42.0;
/// The footer's baseline, in the bottom margin.
const FOOTER_Y: f32 = 22.0;
/// Text size of a form row's labels and values.
const FORM_SIZE: f32 = 10.5;

/// A table's header row, drawn again at the top of every page the table goes on to.
struct Head {
    size: f32,
    cols: Vec<f32>,
    cells: Vec<String>,
}

/// Where the next line goes on a page being filled top to bottom; text that does
/// not fit on the page goes on to the next one.
struct Cursor<'d, 'f> {
    doc: &'d mut Doc<'f>,
    y: f32,
    head: Option<Head>,
}

impl<'d, 'f> Cursor<'d, 'f> {
    fn new(doc: &'d mut Doc<'f>) -> Self {
        doc.new_page();
        let (_, h) = doc.size();
        Cursor { doc, y: h - MARGIN, head: None }
    }

    fn width(&self) -> f32 {
        self.doc.size().0 - 2.0 * MARGIN
    }

    /// Starts a new page unless `need` points still fit; says whether it did.
    fn room(&mut self, need: f32) -> bool {
        if self.y - need >= MARGIN {
            return false;
        }
        self.doc.new_page();
        self.y = self.doc.size().1 - MARGIN;
        true
    }

    /// Text wrapped to the width less `indent`, a line at a time, so it flows on
    /// to as many pages as it needs.
    fn paragraph(&mut self, size: f32, gray: f32, indent: f32, text: &str) {
        let w = self.width() - indent;
        for l in self.doc.wrap(text, size, w) {
            self.room(size * 1.55);
            self.y -= size * 1.25;
            self.doc.text(MARGIN + indent, self.y, size, gray, &l);
            self.y -= size * 0.3;
        }
    }

    fn line(&mut self, size: f32, gray: f32, text: &str) {
        self.paragraph(size, gray, 0.0, text);
    }

    /// A paragraph with each line centred on the page.
    fn centred(&mut self, size: f32, gray: f32, text: &str) {
        let cx = self.doc.size().0 / 2.0;
        for l in self.doc.wrap(text, size, self.width()) {
            self.room(size * 1.55);
            self.y -= size * 1.25;
            self.doc.text_centred(cx, self.y, size, gray, &l);
            self.y -= size * 0.3;
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

    /// Each cell's lines, wrapped to its column (`cols` are fractions of the width).
    fn cells(&self, size: f32, cols: &[f32], cells: &[String]) -> Vec<Vec<String>> {
        let w = self.width();
        cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let end = cols.get(i + 1).map_or(1.0, |c| *c);
                self.doc.wrap(cell, size, (end - cols[i]) * w - 6.0)
            })
            .collect()
    }

    fn row_height(size: f32, lines: &[Vec<String>]) -> f32 {
        let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
        size * 1.8 + (n - 1) as f32 * size * 1.3
    }

    /// Draws a row of wrapped cells where the cursor is, with a rule under it.
    fn draw_row(&mut self, size: f32, gray: f32, cols: &[f32], lines: &[Vec<String>]) {
        let w = self.width();
        let first = self.y - size * 1.4;
        let mut last = first;
        for (i, cell) in lines.iter().enumerate() {
            for (k, l) in cell.iter().enumerate() {
                let y = first - k as f32 * size * 1.3;
                self.doc.text(MARGIN + cols[i] * w, y, size, gray, l);
                last = last.min(y);
            }
        }
        self.doc.line(MARGIN, last - 4.0, MARGIN + w, last - 4.0, 0.85, 0.4);
        self.y = last - size * 0.4;
    }

    /// Starts a table: its header row, drawn again on each page the table goes on to.
    fn table(&mut self, size: f32, cols: &[f32], cells: Vec<String>) {
        let lines = self.cells(size, cols, &cells);
        // The header and at least one row of data on the same page.
        self.room(Self::row_height(size, &lines) + 24.0);
        self.draw_row(size, 0.35, cols, &lines);
        self.head = Some(Head { size, cols: cols.to_vec(), cells });
    }

    fn end_table(&mut self) {
        self.head = None;
    }

    /// A table row; a row is never split between pages, and `keep` points of what
    /// follows it stay on its page too.
    fn row(&mut self, size: f32, gray: f32, cols: &[f32], cells: &[String], keep: f32) {
        let lines = self.cells(size, cols, cells);
        if self.room(Self::row_height(size, &lines) + keep)
            && let Some(head) = self.head.take()
        {
            let head_lines = self.cells(head.size, &head.cols, &head.cells);
            self.draw_row(head.size, 0.35, &head.cols, &head_lines);
            self.head = Some(head);
        }
        self.draw_row(size, gray, cols, &lines);
    }

    /// The width of a form's label column: its longest label, within limits.
    fn label_width(&self, labels: &[&str], columns: usize) -> f32 {
        let longest = labels.iter().map(|l| self.doc.text_width(l, FORM_SIZE)).fold(0.0, f32::max);
        (longest + 12.0).clamp(78.0, self.width() / columns as f32 * 0.45)
    }

    /// Label–value pairs side by side in boxes, like a paper form; a label column of
    /// `label_w` points, and values wrapped to the rest of their box.
    fn form_row(&mut self, label_w: f32, cells: &[(&str, String)]) {
        let size = FORM_SIZE;
        let lh = size * 1.35;
        let cell_w = self.width() / cells.len() as f32;
        let wrapped: Vec<(Vec<String>, Vec<String>)> = cells
            .iter()
            .map(|(label, value)| {
                (self.doc.wrap(label, size, label_w - 10.0), self.doc.wrap(value, size, cell_w - label_w - 12.0))
            })
            .collect();
        let n = wrapped.iter().map(|(l, v)| l.len().max(v.len())).max().unwrap_or(1).max(1);
        let h = 20.0 + (n - 1) as f32 * lh;
        self.room(h + 4.0);
        let top = self.y;
        self.y -= h;
        for (i, (label, value)) in wrapped.iter().enumerate() {
            let x = MARGIN + i as f32 * cell_w;
            self.doc.stroke_rect(x, self.y, cell_w, h, 0.5, false);
            self.doc.fill_rect(x + 0.3, self.y + 0.3, label_w - 0.6, h - 0.6, 0.93);
            for (k, l) in label.iter().enumerate() {
                self.doc.text(x + 5.0, top - 13.5 - k as f32 * lh, size, 0.2, l);
            }
            for (k, v) in value.iter().enumerate() {
                self.doc.text(x + label_w + 6.0, top - 13.5 - k as f32 * lh, size, 0.0, v);
            }
        }
    }
}

/// Writes on every page, in the bottom margin, what the document is (`what`) and
/// "page n of N", once the number of pages is known.
fn footers(doc: &mut Doc<'_>, lang: Lang, what: &str) {
    let (w, _) = doc.size();
    let total = doc.page_count();
    for i in 0..total {
        doc.select_page(i);
        let page = lang.t(K::PageOf).replace("{n}", &(i + 1).to_string()).replace("{total}", &total.to_string());
        let page_w = doc.text_width(&page, 7.5);
        doc.line(MARGIN, FOOTER_Y + 9.0, w - MARGIN, FOOTER_Y + 9.0, 0.75, 0.4);
        // `what` repeats the first page (number, code), so cutting it loses nothing.
        let left = doc.fit(what, 7.5, w - 2.0 * MARGIN - page_w - 16.0);
        doc.text(MARGIN, FOOTER_Y, 7.5, 0.35, &left);
        doc.text(w - MARGIN - page_w, FOOTER_Y, 7.5, 0.35, &page);
    }
}

/// The monthly summary on A4: figures, a bar per day, departments and people.
pub fn monthly_pdf(font: &CjkFont, lang: Lang, site: &Site, s: &MonthSummary, r: &SiteRef) -> Result<Vec<u8>, String> {
    let t = |k| lang.t(k);
    let mut doc = Doc::a4(font)?;
    let mut c = Cursor::new(&mut doc);
    let title = format!("{} · {}-{:02}", t(K::MonthlySummary), s.year, s.month);
    let site_name = format!("{} {}", site.code, lang.pick(&site.name_zh, &site.name_en));
    c.line(16.0, 0.0, &title);
    c.line(10.0, 0.35, &site_name);
    c.heading(t(K::Overview));
    let raised: u32 = s.departments.values().map(|d| d.raised).sum();
    let closed_on_time: u32 = s.departments.values().map(|d| d.closed_on_time).sum();
    let figures = [
        (t(K::ExpectedRuns), s.expected.to_string()),
        (t(K::DoneRuns), s.done.to_string()),
        (t(K::LateRuns), s.late.to_string()),
        (t(K::MissedRuns), s.missed.to_string()),
        (t(K::PendingRuns), s.pending.to_string()),
        (t(K::Unscheduled), s.unscheduled.to_string()),
        (t(K::CompletionPercent), format!("{:.1}%", s.done_percent())),
        (t(K::CoveragePercent), format!("{:.1}%", s.coverage_percent())),
        (t(K::NoticesRaised), raised.to_string()),
        (t(K::ClosedOnTime), closed_on_time.to_string()),
    ];
    let labels: Vec<&str> = figures.iter().map(|(l, _)| *l).collect();
    let label_w = c.label_width(&labels, 2);
    for pair in figures.chunks(2) {
        c.form_row(label_w, &pair.iter().map(|(l, v)| (*l, v.clone())).collect::<Vec<_>>());
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
    c.table(8.5, &cols, head);
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
        c.row(9.5, 0.0, &cols, &cells, 0.0);
    }
    if s.departments.is_empty() {
        c.line(9.5, 0.4, t(K::Nothing));
    } else {
        let sum = |f: fn(&DeptMonth) -> u32| s.departments.values().map(f).sum::<u32>().to_string();
        let totals = vec![
            t(K::Total).to_string(),
            sum(|d| d.raised),
            sum(|d| d.closed),
            sum(|d| d.closed_on_time),
            sum(|d| d.overdue),
            sum(|d| d.voided),
            String::new(),
        ];
        c.row(9.5, 0.0, &cols, &totals, 0.0);
    }
    c.end_table();
    c.heading(t(K::People));
    let cols = [0.0, 0.3, 0.48, 0.66, 0.84];
    let head: Vec<String> = [K::Person, K::RunsWalked, K::CheckpointsVisited, K::NoticesRaised, K::NoticeActions]
        .iter()
        .map(|k| t(*k).to_string())
        .collect();
    c.table(8.5, &cols, head);
    for p in s.people.values() {
        let cells = vec![
            p.name.clone(),
            p.runs.to_string(),
            p.checkpoints_visited.to_string(),
            p.notices_raised.to_string(),
            p.notice_actions.to_string(),
        ];
        c.row(9.5, 0.0, &cols, &cells, 0.0);
    }
    c.end_table();
    footers(&mut doc, lang, &format!("{title} · {site_name}"));
    doc.finish()
}

/// A photo ready for the notice form: a small RGB JPEG and its pixel size, and the
/// marks of its markup layers, drawn over it on the form.
pub struct PdfPhoto {
    pub marks: Vec<patrol_protocol::Mark>,
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The red of the marks, as on the console's pages.
const MARK_RED: [f32; 3] = [0.898, 0.224, 0.208];

/// Draws markup marks over a photo placed at (x, y) (its lower left, PDF points, y up)
/// `w`×`h`: mark coordinates run 0–10 000 from the photo's top left, a circle's radius
/// in units of its width; clipped to the photo.
pub fn draw_marks(doc: &mut Doc<'_>, marks: &[patrol_protocol::Mark], x: f32, y: f32, w: f32, h: f32) {
    use patrol_protocol::{MARK_SCALE, Mark};
    if marks.is_empty() {
        return;
    }
    let scale = f32::from(MARK_SCALE);
    let at = |mx: u16, my: u16| (x + f32::from(mx) / scale * w, y + h - f32::from(my) / scale * h);
    let stroke = (w.max(h) / 90.0).max(0.8);
    doc.clip_rect(x, y, w, h);
    for m in marks {
        match m {
            Mark::Arrow { from_x, from_y, to_x, to_y } => {
                let (a, b) = (at(*from_x, *from_y), at(*to_x, *to_y));
                doc.stroke_path_in(&[a, b], MARK_RED, stroke);
                // The head: two strokes back from the tip at ±28°.
                let (dx, dy) = (a.0 - b.0, a.1 - b.1);
                let len = (dx * dx + dy * dy).sqrt().max(0.001);
                let head = (len * 0.3).min(stroke * 6.0);
                let (ux, uy) = (dx / len * head, dy / len * head);
                let (c, s) = (0.883_f32, 0.469_f32);
                let left = (b.0 + ux * c - uy * s, b.1 + ux * s + uy * c);
                let right = (b.0 + ux * c + uy * s, b.1 - ux * s + uy * c);
                doc.stroke_path_in(&[left, b, right], MARK_RED, stroke);
            }
            Mark::Circle { x: cx, y: cy, radius } => {
                let (px, py) = at(*cx, *cy);
                doc.stroke_circle_in(px, py, f32::from(*radius) / scale * w, MARK_RED, stroke);
            }
            Mark::Text { x: tx, y: ty, text } => {
                let (px, py) = at(*tx, *ty);
                let size = (h / 14.0).max(6.0);
                doc.text_in(px, py - size, size, MARK_RED, text);
            }
        }
    }
    doc.unclip();
}

/// Shrinks a stored photo for printing (long edge 900 px, RGB baseline JPEG, which
/// PDF readers draw as is). Photos that cannot be read are left out.
pub fn pdf_photo(jpeg: &[u8]) -> Option<PdfPhoto> {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).ok()?;
    let img = img.thumbnail(900, 900).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).ok()?;
    Some(PdfPhoto { jpeg: out, width: img.width(), height: img.height(), marks: Vec::new() })
}

/// The rectification notice as the paper form: number, dates, location, description,
/// photos before and after, every event with name and time and all its text, and
/// lines for handwritten signatures, kept together on one page. Every page's footer
/// carries the number, the verification code and "page n of N".
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
    c.y -= 6.0;
    c.centred(18.0, 0.0, &format!("{} {}", s.site.name_zh, t(K::RectificationNotice)));
    c.y -= 2.0;
    c.centred(9.0, 0.35, "整改通知单 · Rectification notice");
    c.y -= 8.0;
    let number = number_or_pending(lang, &v.number);
    let rows: Vec<Vec<(&str, String)>> = vec![
        vec![(t(K::NoticeNumber), number.clone()), (t(K::State), state_name(lang, v.state).to_string())],
        vec![
            (t(K::Department), s.department_name(lang, v.department_id)),
            (t(K::Severity), t(if v.severity == Severity::Serious { K::Serious } else { K::General }).to_string()),
        ],
        vec![(t(K::Location), v.location.clone())],
        vec![(t(K::Issuer), v.issuer_name.clone()), (t(K::RaisedAt), local_time(v.raised_device_ms, tz))],
        vec![(t(K::ReceivedAt), local_time(v.received_ms, tz)), (t(K::Due), local_time(v.due_ms, tz))],
    ];
    let labels: Vec<&str> = rows.iter().flatten().map(|(l, _)| *l).collect();
    let label_w = c.label_width(&labels, 2);
    for row in &rows {
        c.form_row(label_w, row);
    }
    c.heading(t(K::Description));
    c.paragraph(11.0, 0.0, 0.0, &v.description);
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
                let (ix, iy) = (x + (box_w - w) / 2.0, c.y + (box_h - h) / 2.0);
                c.doc.jpeg(p.jpeg.clone(), p.width, p.height, ix, iy, w, h);
                draw_marks(&mut c.doc, &p.marks, ix, iy, w, h);
            }
            c.y -= 4.0;
        }
    }
    c.heading(t(K::Timeline));
    // Who did what when, a row each; what they wrote follows its row in full width,
    // however long (a fix note may be 4 000 characters).
    let cols = [0.0, 0.22, 0.42, 0.64];
    let head: Vec<String> =
        [K::ServerTime, K::Person, K::Action, K::Result].iter().map(|k| t(*k).to_string()).collect();
    c.table(8.5, &cols, head);
    for e in &v.events {
        let mut action = action_name(lang, &e.action).to_string();
        if let Some(to) = e.reassign_to {
            action = format!("{action} → {}", s.department_name(lang, to));
        }
        let result = if e.applied {
            e.to_state.map(|st| state_name(lang, st).to_string()).unwrap_or_else(|| t(K::Applied).to_string())
        } else {
            format!("{}: {}", t(K::Refused), s.refusal(lang, e))
        };
        let gray = if e.applied { 0.0 } else { 0.4 };
        let cells = vec![local_time(e.server_time_ms, tz), e.actor_name.clone(), action, result];
        let wrote = !e.reason.trim().is_empty();
        // A row and the first two lines of what was written stay together.
        c.row(9.0, gray, &cols, &cells, if wrote { 2.0 * 9.5 * 1.55 } else { 0.0 });
        if wrote {
            let label = match e.action.as_str() {
                "report_fix" => K::FixNote,
                "corrective_action" => K::CorrectiveActionText,
                _ => K::Reason,
            };
            c.paragraph(9.5, gray.max(0.1), 12.0, &format!("{}：{}", t(label), e.reason));
            c.y -= 4.0;
        }
    }
    c.end_table();
    // Handwritten signatures, as on the paper form this replaces: the heading, the
    // three lines and the closing note stay on one page.
    let printed = format!("{} · {}", t(K::PrintedFromConsole), number);
    let printed_lines = c.doc.wrap(&printed, 7.5, c.width()).len() as f32;
    c.room(40.0 + 3.0 * SIGN_LINE + 18.0 + printed_lines * 7.5 * 1.55);
    c.heading(t(K::Signatures));
    for k in [K::SignReceipt, K::SignRectified, K::SignVerified] {
        c.y -= SIGN_LINE;
        let w = c.width();
        c.doc.text(MARGIN, c.y, 10.5, 0.0, t(k));
        let from = (c.doc.text_width(t(k), 10.5) + 8.0).max(130.0);
        c.doc.line(MARGIN + from, c.y - 2.0, MARGIN + w * 0.62, c.y - 2.0, 0.3, 0.6);
        c.doc.text(MARGIN + w * 0.66, c.y, 10.5, 0.0, t(K::Date));
        c.doc.line(MARGIN + w * 0.66 + 40.0, c.y - 2.0, MARGIN + w, c.y - 2.0, 0.3, 0.6);
    }
    c.y -= 18.0;
    c.line(7.5, 0.45, &printed);
    let mut what = format!("{} {}", t(K::RectificationNotice), number);
    if let Some(code) = &s.verification_code {
        what = format!("{what} · {}: {code}", t(K::VerificationCode));
    }
    footers(&mut doc, lang, &what);
    doc.finish()
}

/// The room each handwritten signature line takes.
const SIGN_LINE: f32 = 28.0;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use patrol_protocol::notice::{NoticeState, Severity};
    use patrol_protocol::sync::{NoticeEvent, NoticeView};
    use patrol_protocol::{Department, DepartmentKind, Id};

    use super::*;
    use crate::notices::NoticeRow;
    use crate::web::pdf::testing::{self, site};
    use crate::web::stats::{DeptMonth, PersonMonth};

    fn department(site: &Site) -> Department {
        Department {
            id: Id::now_v7(),
            site_id: site.id,
            kind: DepartmentKind::Engineering,
            name_zh: "工程部".into(),
            name_en: "Engineering".into(),
        }
    }

    /// A notice signed for and fixed, with `description` as its text.
    fn shown(description: &str) -> Shown {
        let site = site();
        let dept = department(&site);
        let (id, issuer) = (Id::now_v7(), Id::now_v7());
        let at = 1_795_395_600_000;
        let event = |action: &str, reason: &str, to: NoticeState, minutes: i64| NoticeEvent {
            record_id: Id::now_v7(),
            action: action.into(),
            actor_id: issuer,
            actor_name: "李强".into(),
            reason: reason.into(),
            photos: vec![],
            reassign_to: None,
            from_state: None,
            to_state: Some(to),
            applied: true,
            refusal: None,
            device_time_ms: at + minutes * 60_000,
            server_time_ms: at + minutes * 60_000,
            notice_hash: String::new(),
        };
        let row = NoticeRow {
            id,
            site_id: site.id,
            number: Some("JY-2026-000042".into()),
            department_id: dept.id,
            checkpoint_id: None,
            run_id: None,
            location: "3号楼".into(),
            description: description.into(),
            severity: Severity::General,
            due_ms: at + 86_400_000,
            state: NoticeState::Rectified,
            issuer_id: issuer,
            raised_device_ms: at,
            received_ms: at,
            has_car: false,
            photos: vec![],
        };
        let view = NoticeView {
            id,
            number: row.number.clone(),
            site_id: site.id,
            department_id: dept.id,
            checkpoint_id: None,
            run_id: None,
            location: row.location.clone(),
            description: description.into(),
            severity: Severity::General,
            due_ms: row.due_ms,
            requested_due_ms: None,
            state: NoticeState::Rectified,
            issuer_id: issuer,
            issuer_name: "张伟".into(),
            raised_device_ms: at,
            received_ms: at,
            has_corrective_action: false,
            photos: vec![],
            after_photos: vec![],
            photos_complete: true,
            events: vec![
                event("raised", "", NoticeState::Issued, 0),
                event("acknowledge", "", NoticeState::Acknowledged, 10),
                event("report_fix", "已更换灯管", NoticeState::Rectified, 60),
            ],
        };
        Shown {
            row,
            view,
            site,
            departments: vec![dept],
            checkpoint: None,
            verification_code: Some("7-9-0a1b2c3d".into()),
            refusals_zh: Default::default(),
            overlays: Default::default(),
            responsible: vec![],
            rules: vec![],
        }
    }

    #[test]
    fn the_signature_block_never_splits_wherever_the_page_ends() {
        let Some(font) = testing::font() else { return };
        // Descriptions one to sixty lines long put the signatures at every height
        // of the page (a line of 11 pt text is 17 pt; the block is about 150).
        let line = "消防通道应急照明灯具损坏需更换，同时检查接线盒是否进水并做好防水处理，完成后拍照上传。";
        let mut pages_seen = std::collections::BTreeSet::new();
        for n in (1..=60).step_by(2) {
            let text = vec![line; n].join("\n");
            let pdf = notice_pdf(&font, Lang::Zh, &shown(&text), vec![], vec![]).unwrap();
            let Some(text) = testing::pdftotext(&pdf, false) else { return };
            let pages: Vec<&str> = text.trim_end_matches('\u{c}').split('\u{c}').collect();
            pages_seen.insert(pages.len());
            let on: Vec<usize> = ["签字", "责任部门签收：", "整改完成确认：", "验证人：", "由巡检管理平台生成"]
                .iter()
                .map(|l| pages.iter().position(|p| p.lines().any(|x| x.trim_start().starts_with(l))).unwrap())
                .collect();
            assert!(on.iter().all(|p| *p == on[0]), "{n} lines of description: the block is on pages {on:?}");
            for (i, page) in pages.iter().enumerate() {
                let squeezed: String = page.chars().filter(|c| !c.is_whitespace()).collect();
                assert!(squeezed.contains(&format!("第{}/{}页", i + 1, pages.len())), "page {} of {n} lines", i + 1);
                assert!(squeezed.contains("JY-2026-000042·审计验证码:7-9-0a1b2c3d"), "page {} of {n} lines", i + 1);
            }
        }
        assert!(pages_seen.len() >= 2, "the sweep crossed a page end: {pages_seen:?}");
    }

    /// The text of each file in an xlsx (a zip of XML files).
    fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut f = zip.by_index(i).unwrap();
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                (f.name().unwrap().to_string(), text)
            })
            .collect()
    }

    #[test]
    fn the_monthly_workbook_has_date_cells_totals_and_frozen_headers() {
        let site = site();
        let (eng, clean) = (department(&site), Department { id: Id::now_v7(), ..department(&site) });
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let dept =
            |raised, closed_on_time| DeptMonth { raised, closed: closed_on_time, closed_on_time, ..Default::default() };
        let person = |name: &str, runs| PersonMonth { name: name.into(), runs, ..Default::default() };
        let s = MonthSummary {
            year: 2026,
            month: 11,
            days: vec![(day(1), 4, 3, 1, 0), (day(2), 4, 2, 0, 2), (day(3), 4, 4, 0, 0)],
            expected: 12,
            done: 9,
            late: 1,
            missed: 2,
            departments: [(eng.id, dept(5, 3)), (clean.id, dept(2, 2))].into(),
            people: [(Id::now_v7(), person("张伟", 6)), (Id::now_v7(), person("王敏", 4))].into(),
            ..Default::default()
        };
        let r = SiteRef { departments: vec![eng, clean], routes: vec![], checkpoints: vec![] };
        let files = unzip(&monthly_xlsx(Lang::Zh, &site, &s, &r).unwrap());
        let strings = &files["xl/sharedStrings.xml"];
        let (overview, depts, people, days) = (
            &files["xl/worksheets/sheet1.xml"],
            &files["xl/worksheets/sheet2.xml"],
            &files["xl/worksheets/sheet3.xml"],
            &files["xl/worksheets/sheet4.xml"],
        );
        // The overview has the notices raised and closed on time, as the page does.
        assert!(strings.contains("下发通知单") && strings.contains("按期关闭"), "{strings}");
        assert!(overview.contains("<v>7</v>") && overview.contains("<v>5</v>"), "{overview}");
        // Every table keeps its header row in view.
        for sheet in [depts, people, days] {
            assert!(sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#), "{sheet}");
        }
        // Days are numbers formatted as dates (Excel's serial day), not text.
        let serial = (day(1) - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
        let a2 = days.split(r#"<c r="A2""#).nth(1).expect("a date in A2");
        let a2 = &a2[..a2.find("</c>").unwrap()];
        assert!(!a2.contains(r#"t="s""#) && a2.contains(&format!("<v>{serial}</v>")), "{a2}");
        let style: usize = a2.split(r#"s=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        let styles = &files["xl/styles.xml"];
        let xfs = styles.split("<cellXfs").nth(1).unwrap();
        let xf = xfs.split("<xf ").nth(style + 1).unwrap();
        let fmt: String = xf.split(r#"numFmtId=""#).nth(1).unwrap().split('"').next().unwrap().into();
        assert!(styles.contains(&format!(r#"numFmtId="{fmt}" formatCode="yyyy-mm-dd""#)), "{styles}");
        // The overview's month is a date too (its first day, shown as yyyy-mm).
        assert!(overview.contains(r#"<c r="A2" s="#) && overview.contains(&format!("<v>{serial}</v>")));
        assert!(styles.contains(r#"formatCode="yyyy-mm""#), "{styles}");
        // Totals rows: a SUM over each column, with the sum stored.
        assert!(strings.contains("合计"));
        assert!(days.contains("<f>SUM(B2:B4)</f><v>12</v>") && days.contains("<f>SUM(E2:E4)</f><v>2</v>"), "{days}");
        assert!(depts.contains("<f>SUM(B2:B3)</f><v>7</v>"), "raised: {depts}");
        assert!(depts.contains("<f>SUM(D2:D3)</f><v>5</v>"), "closed on time: {depts}");
        assert!(people.contains("<f>SUM(B2:B3)</f><v>10</v>"), "{people}");
    }
}

// ---------------------------------------------------------------------------
// Service-quality assessment: a fault notice as its paper form, and the month's
// summary (违规处理情况汇总) for finance as Excel and PDF.

/// A person's receipt of a fault notice, in words.
pub fn receipt_text(lang: Lang, receipt: &str) -> &'static str {
    lang.t(match receipt {
        "signed" => K::ReceiptSigned,
        "refused" => K::ReceiptRefused,
        _ => K::ReceiptPending,
    })
}

/// What happened to a fault notice, in words.
pub fn fault_action_name(lang: Lang, action: &str) -> String {
    use patrol_protocol::fault::{AppealDecision, FaultAction};
    if action == "issued" {
        return lang.t(K::IssueFault).to_string();
    }
    if let Some(a) = FaultAction::parse(action) {
        return lang.pick(a.name_zh(), a.name_en()).to_string();
    }
    if let Some(d) = AppealDecision::parse(action) {
        return format!("{} · {}", lang.t(K::DecideAppeal), lang.pick(d.name_zh(), d.name_en()));
    }
    action.to_string()
}

/// A fault notice's appeal, in words.
pub fn appeal_text(lang: Lang, appeal: Option<&str>) -> String {
    match appeal {
        None => lang.t(K::AppealNone).to_string(),
        Some("open") => lang.t(K::AppealOpen).to_string(),
        Some(d) => patrol_protocol::fault::AppealDecision::parse(d)
            .map(|d| lang.pick(d.name_zh(), d.name_en()).to_string())
            .unwrap_or_else(|| d.to_string()),
    }
}

/// Tenths of a point as a number cell.
fn points(tenths: i64) -> f64 {
    tenths as f64 / 10.0
}

/// The month's summary as a workbook: the people (points, band, fine, published), the
/// notices, joint liability with the notices that caused it, the appeals, and the
/// repeated problems with their root-cause notes.
pub fn fault_month_xlsx(lang: Lang, site: &Site, m: &patrol_protocol::fault::MonthSheet) -> Result<Vec<u8>, String> {
    build_fault_xlsx(lang, site, m).map_err(|e| format!("xlsx: {e}"))
}

fn build_fault_xlsx(lang: Lang, site: &Site, m: &patrol_protocol::fault::MonthSheet) -> Result<Vec<u8>, XlsxError> {
    let t = |k| lang.t(k);
    let yn = |b: bool| if b { t(K::Aye) } else { t(K::Nay) };
    let mut book = Workbook::new();
    let money = Format::new().set_num_format("0.00");
    let tenth = Format::new().set_num_format("0.0");

    let sheet = book.add_worksheet().set_name(t(K::FaultMonth))?;
    let mut table = Table::new(
        sheet,
        lang,
        &[
            K::SerialNo,
            K::Person,
            K::FaultCount,
            K::OwnShare,
            K::Charged,
            K::TotalPoints,
            K::Consequence,
            K::FineYuan,
            K::Published,
            K::Repeats,
        ],
        &[6.0, 14.0, 10.0, 10.0, 10.0, 10.0, 14.0, 12.0, 8.0, 30.0],
    )?;
    let (mut sum_total, mut sum_fine) = (0i64, 0i64);
    for (i, p) in m.people.iter().enumerate() {
        let r = table.next();
        table.sheet.write_number(r, 0, (i + 1) as f64)?;
        table.sheet.write_string(r, 1, &p.name)?;
        table.sheet.write_number(r, 2, f64::from(p.notices))?;
        table.sheet.write_number_with_format(r, 3, points(p.own_tenths - p.shared_tenths), &tenth)?;
        table.sheet.write_number_with_format(r, 4, points(p.charged_tenths), &tenth)?;
        table.sheet.write_number_with_format(r, 5, points(p.total_tenths), &tenth)?;
        let band = lang.pick(p.band_zh.as_deref().unwrap_or(""), p.band_en.as_deref().unwrap_or("")).to_string();
        table.sheet.write_string(r, 6, band)?;
        table.sheet.write_number_with_format(r, 7, p.fine_fen as f64 / 100.0, &money)?;
        table.sheet.write_string(r, 8, yn(p.published))?;
        let repeats: Vec<String> = p
            .repeats
            .iter()
            .map(|x| format!("{} {} ×{}", x.rule_code, lang.pick(&x.rule_name_zh, &x.rule_name_en), x.count))
            .collect();
        table.sheet.write_string(r, 9, repeats.join("; "))?;
        sum_total += p.total_tenths;
        sum_fine += p.fine_fen;
    }
    table.totals(lang, &[(5, points(sum_total)), (7, sum_fine as f64 / 100.0)])?;

    let sheet = book.add_worksheet().set_name(t(K::Faults))?;
    let mut table = Table::new(
        sheet,
        lang,
        &[
            K::FaultNumber,
            K::SeenAt,
            K::Person,
            K::FaultRule,
            K::Points,
            K::PointsNow,
            K::Receipt,
            K::AppealWord,
            K::Voided,
            K::Issuer,
            K::Seen,
        ],
        &[20.0, 17.0, 12.0, 26.0, 8.0, 8.0, 10.0, 12.0, 8.0, 12.0, 40.0],
    )?;
    for f in &m.faults {
        let r = table.next();
        table.sheet.write_string(r, 0, &f.number)?;
        table.sheet.write_string(r, 1, local_time(f.seen_ms, site.utc_offset_minutes))?;
        table.sheet.write_string(r, 2, &f.person_name)?;
        table.sheet.write_string(r, 3, format!("{} {}", f.rule_code, lang.pick(&f.rule_name_zh, &f.rule_name_en)))?;
        table.sheet.write_number(r, 4, f64::from(f.points))?;
        table.sheet.write_number(r, 5, f64::from(f.points_now))?;
        table.sheet.write_string(r, 6, receipt_text(lang, &f.receipt))?;
        table.sheet.write_string(r, 7, appeal_text(lang, f.appeal.as_deref()))?;
        table.sheet.write_string(r, 8, yn(f.voided))?;
        table.sheet.write_string(r, 9, &f.issuer_name)?;
        table.sheet.write_string(r, 10, &f.seen)?;
    }

    let sheet = book.add_worksheet().set_name(t(K::JointLiability))?;
    let mut table = Table::new(
        sheet,
        lang,
        &[K::Superior, K::Person, K::FaultRule, K::CausedBy, K::Charged],
        &[12.0, 12.0, 26.0, 50.0, 10.0],
    )?;
    for ch in &m.charges {
        let r = table.next();
        table.sheet.write_string(r, 0, &ch.superior_name)?;
        table.sheet.write_string(r, 1, &ch.person_name)?;
        table.sheet.write_string(r, 2, format!("{} {}", ch.rule_code, ch.rule_name_zh))?;
        table.sheet.write_string(r, 3, ch.numbers.join(", "))?;
        table.sheet.write_number_with_format(r, 4, points(ch.tenths), &tenth)?;
    }

    let sheet = book.add_worksheet().set_name(t(K::Appeals))?;
    let mut table = Table::new(
        sheet,
        lang,
        &[K::FaultNumber, K::Person, K::AppealWord, K::Points, K::PointsNow, K::AppealReason, K::Decision],
        &[20.0, 12.0, 12.0, 8.0, 8.0, 40.0, 40.0],
    )?;
    for f in m.faults.iter().filter(|f| f.appeal.is_some()) {
        let r = table.next();
        let said =
            |action: &str| f.events.iter().rev().find(|e| e.applied && e.action == action).map(|e| e.reason.clone());
        let decided = f
            .events
            .iter()
            .rev()
            .find(|e| e.applied && patrol_protocol::fault::AppealDecision::parse(&e.action).is_some());
        table.sheet.write_string(r, 0, &f.number)?;
        table.sheet.write_string(r, 1, &f.person_name)?;
        table.sheet.write_string(r, 2, appeal_text(lang, f.appeal.as_deref()))?;
        table.sheet.write_number(r, 3, f64::from(f.points))?;
        table.sheet.write_number(r, 4, f64::from(f.points_now))?;
        table.sheet.write_string(r, 5, said("appeal").unwrap_or_default())?;
        table.sheet.write_string(
            r,
            6,
            decided.map(|e| format!("{}: {}", e.actor_name, e.reason)).unwrap_or_default(),
        )?;
    }

    let sheet = book.add_worksheet().set_name(t(K::Repeats))?;
    let mut table = Table::new(
        sheet,
        lang,
        &[K::Person, K::FaultRule, K::Times, K::CausedBy, K::RootCause],
        &[12.0, 26.0, 8.0, 50.0, 50.0],
    )?;
    for p in &m.people {
        for x in &p.repeats {
            let r = table.next();
            table.sheet.write_string(r, 0, &p.name)?;
            table.sheet.write_string(
                r,
                1,
                format!("{} {}", x.rule_code, lang.pick(&x.rule_name_zh, &x.rule_name_en)),
            )?;
            table.sheet.write_number(r, 2, f64::from(x.count))?;
            table.sheet.write_string(r, 3, x.numbers.join(", "))?;
            table.sheet.write_string(r, 4, x.notes.join("\n"))?;
        }
    }
    let _ = site;
    book.save_to_buffer()
}

/// The month's summary on A4 as the office files it: the people with points, band and
/// fine; the publish list; joint liability; repeated problems with their root causes;
/// the appeals; lines to sign.
pub fn fault_month_pdf(
    font: &CjkFont,
    lang: Lang,
    site: &Site,
    m: &patrol_protocol::fault::MonthSheet,
) -> Result<Vec<u8>, String> {
    let t = |k| lang.t(k);
    let mut doc = Doc::a4(font)?;
    let mut c = Cursor::new(&mut doc);
    let title = format!("{} · {}", t(K::FaultMonth), m.month);
    let site_name = format!("{} {}", site.code, lang.pick(&site.name_zh, &site.name_en));
    c.centred(16.0, 0.0, &title);
    c.centred(10.0, 0.35, &site_name);
    if m.scale.is_none() {
        c.line(9.0, 0.35, t(K::NoScale));
    }
    c.heading(t(K::FaultMonth));
    let cols = [0.0, 0.07, 0.25, 0.35, 0.46, 0.57, 0.68, 0.84];
    c.table(
        8.5,
        &cols,
        [K::SerialNo, K::Person, K::FaultCount, K::OwnShare, K::Charged, K::TotalPoints, K::Consequence, K::FineYuan]
            .iter()
            .map(|k| t(*k).to_string())
            .collect(),
    );
    for (i, p) in m.people.iter().enumerate() {
        let band = lang.pick(p.band_zh.as_deref().unwrap_or(""), p.band_en.as_deref().unwrap_or("")).to_string();
        c.row(
            9.0,
            0.0,
            &cols,
            &[
                (i + 1).to_string(),
                p.name.clone(),
                p.notices.to_string(),
                patrol_protocol::fault::tenths_text(p.own_tenths - p.shared_tenths),
                patrol_protocol::fault::tenths_text(p.charged_tenths),
                patrol_protocol::fault::tenths_text(p.total_tenths),
                band,
                format!("{:.2}", p.fine_fen as f64 / 100.0),
            ],
            0.0,
        );
    }
    if m.people.is_empty() {
        c.line(9.0, 0.35, t(K::Nothing));
    }
    c.end_table();
    c.heading(t(K::PublishList));
    let published: Vec<String> = m
        .people
        .iter()
        .filter(|p| p.published)
        .map(|p| format!("{}（{}）", p.name, patrol_protocol::fault::tenths_text(p.total_tenths)))
        .collect();
    c.paragraph(9.5, 0.0, 0.0, &if published.is_empty() { t(K::Nothing).to_string() } else { published.join("、") });
    c.heading(t(K::JointLiability));
    let cols = [0.0, 0.14, 0.28, 0.55, 0.88];
    c.table(
        8.5,
        &cols,
        [K::Superior, K::Person, K::FaultRule, K::CausedBy, K::Charged].iter().map(|k| t(*k).to_string()).collect(),
    );
    for ch in &m.charges {
        c.row(
            9.0,
            0.0,
            &cols,
            &[
                ch.superior_name.clone(),
                ch.person_name.clone(),
                format!("{} {}", ch.rule_code, ch.rule_name_zh),
                ch.numbers.join(", "),
                patrol_protocol::fault::tenths_text(ch.tenths),
            ],
            0.0,
        );
    }
    c.end_table();
    c.heading(t(K::Repeats));
    for p in &m.people {
        for x in &p.repeats {
            c.line(
                9.5,
                0.0,
                &format!("{} · {} {} ×{}", p.name, x.rule_code, lang.pick(&x.rule_name_zh, &x.rule_name_en), x.count),
            );
            c.paragraph(8.5, 0.35, 12.0, &x.numbers.join(", "));
            let notes = if x.notes.is_empty() { "—".to_string() } else { x.notes.join("；") };
            c.paragraph(9.0, 0.0, 12.0, &format!("{}：{notes}", t(K::RootCause)));
        }
    }
    c.heading(t(K::Appeals));
    let cols = [0.0, 0.25, 0.4, 0.55, 0.65];
    c.table(
        8.5,
        &cols,
        [K::FaultNumber, K::Person, K::AppealWord, K::PointsNow, K::Decision]
            .iter()
            .map(|k| t(*k).to_string())
            .collect(),
    );
    for f in m.faults.iter().filter(|f| f.appeal.is_some()) {
        let decided = f
            .events
            .iter()
            .rev()
            .find(|e| e.applied && patrol_protocol::fault::AppealDecision::parse(&e.action).is_some())
            .map(|e| format!("{}：{}", e.actor_name, e.reason))
            .unwrap_or_default();
        c.row(
            9.0,
            0.0,
            &cols,
            &[
                f.number.clone(),
                f.person_name.clone(),
                appeal_text(lang, f.appeal.as_deref()),
                f.points_now.to_string(),
                decided,
            ],
            0.0,
        );
    }
    c.end_table();
    c.room(60.0);
    c.y -= 30.0;
    let w = c.width();
    for (i, k) in [K::PreparedBy, K::ApprovedBy].iter().enumerate() {
        let x = MARGIN + i as f32 * w / 2.0;
        c.doc.text(x, c.y, 10.0, 0.0, &format!("{}：", t(*k)));
        c.doc.line(x + 60.0, c.y - 2.0, x + w / 2.0 - 20.0, c.y - 2.0, 0.3, 0.5);
    }
    footers(&mut doc, lang, &format!("{title} · {site_name}"));
    doc.finish()
}

/// One fault notice as the paper form (员工过失通知单): who, what rule, how many
/// points, what was seen where and when, who issued it, the person's receipt and
/// appeal, the timeline, and the signature lines.
pub fn fault_pdf(
    font: &CjkFont,
    lang: Lang,
    site: &Site,
    f: &patrol_protocol::fault::FaultView,
) -> Result<Vec<u8>, String> {
    let t = |k| lang.t(k);
    let mut doc = Doc::a4(font)?;
    let mut c = Cursor::new(&mut doc);
    c.centred(17.0, 0.0, t(K::FaultNotice));
    c.centred(
        10.0,
        0.35,
        &format!("{} {} · {} {}", site.code, lang.pick(&site.name_zh, &site.name_en), t(K::FaultNumber), f.number),
    );
    c.y -= 8.0;
    let labels = [
        t(K::Person),
        t(K::Superior),
        t(K::SeenAt),
        t(K::Location),
        t(K::FaultRule),
        t(K::Points),
        t(K::Issuer),
        t(K::Receipt),
    ];
    let label_w = c.label_width(&labels, 2);
    let superior = f.superior_name.clone().unwrap_or_else(|| "—".into());
    c.form_row(label_w, &[(t(K::Person), f.person_name.clone()), (t(K::Superior), superior)]);
    c.form_row(
        label_w,
        &[(t(K::SeenAt), local_time(f.seen_ms, site.utc_offset_minutes)), (t(K::Location), f.location.clone())],
    );
    c.form_row(
        label_w,
        &[
            (t(K::FaultRule), format!("{} {}", f.rule_code, lang.pick(&f.rule_name_zh, &f.rule_name_en))),
            (
                t(K::Points),
                if f.points_now == f.points {
                    f.points.to_string()
                } else {
                    format!("{} → {}", f.points, f.points_now)
                },
            ),
        ],
    );
    c.form_row(label_w, &[(t(K::Seen), f.seen.clone())]);
    c.form_row(
        label_w,
        &[(t(K::Issuer), f.issuer_name.clone()), (t(K::Receipt), receipt_text(lang, &f.receipt).to_string())],
    );
    c.form_row(
        label_w,
        &[
            (t(K::AppealWord), appeal_text(lang, f.appeal.as_deref())),
            (t(K::Voided), if f.voided { t(K::Aye) } else { t(K::Nay) }.to_string()),
        ],
    );
    c.heading(t(K::Timeline));
    let cols = [0.0, 0.22, 0.36, 0.5];
    c.table(8.5, &cols, [K::ServerTime, K::Person, K::Action, K::Reason].iter().map(|k| t(*k).to_string()).collect());
    for e in &f.events {
        let what = match (e.applied, &e.refusal) {
            (false, Some(r)) => format!("{} ({}: {r})", fault_action_name(lang, &e.action), t(K::Refused)),
            _ => fault_action_name(lang, &e.action),
        };
        c.row(
            9.0,
            0.0,
            &cols,
            &[local_time(e.at_ms, site.utc_offset_minutes), e.actor_name.clone(), what, e.reason.clone()],
            0.0,
        );
    }
    c.end_table();
    c.room(70.0);
    c.y -= 40.0;
    let w = c.width();
    for (i, k) in [K::PersonSignature, K::IssuerSignature].iter().enumerate() {
        let x = MARGIN + i as f32 * w / 2.0;
        c.doc.text(x, c.y, 10.0, 0.0, &format!("{}：", t(*k)));
        c.doc.line(x + 80.0, c.y - 2.0, x + w / 2.0 - 20.0, c.y - 2.0, 0.3, 0.5);
    }
    footers(&mut doc, lang, &format!("{} {}", t(K::FaultNotice), f.number));
    doc.finish()
}
