//! The notice register (整改通知台账): every notice the reader may see, searched by
//! number, description and location and filtered by site, department, state,
//! severity, overdue and the date found; paged with the one list order
//! (`notices::page_visible`, keyset) and exported to Excel exactly as filtered. The
//! inbox is this register with its default filter: open notices, and for a
//! department head only their own department's (the policy's scope does that).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use maud::{Markup, html};
use patrol_protocol::notice::{NoticeState, Severity};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Department, Id, Site};
use serde::Deserialize;

use crate::error::ApiError;
use crate::notices::{self, ListFilter};
use crate::web::i18n::{K, Lang, state_name};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

/// The register's query, every field as typed (a select left at "all" is empty), so
/// that anything wrong is answered with which field and why, in both languages.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct RegisterQuery {
    /// Words in the number, the description or the location.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// Empty: open notices (the inbox); `all`; or one state.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    /// `1`: open and past due now.
    #[serde(default)]
    pub overdue: Option<String>,
    /// Found on or after this day (YYYY-MM-DD, the site's local day).
    #[serde(default)]
    pub from: Option<String>,
    /// Found on or before this day.
    #[serde(default)]
    pub to: Option<String>,
    /// The tab the inbox had before the register: `show=all` is `state=all`.
    #[serde(default)]
    pub show: Option<String>,
    /// Where the page starts: the cursor of the previous page's last notice.
    #[serde(default)]
    pub after: Option<String>,
}

/// What the state select asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChoice {
    Open,
    All,
    One(NoticeState),
}

/// A parsed register query.
#[derive(Debug, Clone)]
pub struct Register {
    pub filter: ListFilter,
    pub state: StateChoice,
    pub after: Option<notices::Cursor>,
    /// The query without `after`, for the pager, the tabs and the export link.
    pub echo: Vec<(&'static str, String)>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn invalid(field: &str, why: Reason) -> ApiError {
    ApiError::invalid(field, why)
}

/// The local midnight that starts `day` at `offset_minutes` from UTC, in ms.
fn local_midnight_ms(day: NaiveDate, offset_minutes: i32) -> i64 {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis() - i64::from(offset_minutes) * 60_000
}

fn parse_day(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(text) = given(v) else { return Ok(None) };
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid(field, Reason::DateFormat))?;
    if !(2000..=2200).contains(&chrono::Datelike::year(&day)) {
        return Err(invalid(field, Reason::DayYears));
    }
    Ok(Some(day))
}

impl RegisterQuery {
    /// Parses the query; `offset_minutes` is the local time the days are read in (the
    /// chosen site's, or the reader's first site's). Nothing is trusted: ids must be
    /// ids, states states, days days, and the search at most 100 characters.
    pub fn parse(&self, now_ms: i64, offset_of: impl Fn(Option<Id>) -> i32) -> Result<Register, ApiError> {
        let mut filter = ListFilter::default();
        let mut echo = Vec::new();
        if let Some(q) = given(&self.q) {
            if q.chars().count() > notices::SEARCH_MAX_CHARS || q.chars().any(char::is_control) {
                return Err(invalid("q", Reason::SearchText { max: notices::SEARCH_MAX_CHARS }));
            }
            filter.text = Some(q.to_string());
            echo.push(("q", q.to_string()));
        }
        let id = |field: &'static str, v: &Option<String>| -> Result<Option<Id>, ApiError> {
            given(v).map(|t| t.parse::<Id>().map_err(|_| invalid(field, Reason::NotAChoice))).transpose()
        };
        filter.site_id = id("site", &self.site)?;
        if let Some(s) = filter.site_id {
            echo.push(("site", s.to_string()));
        }
        filter.department_id = id("department", &self.department)?;
        if let Some(d) = filter.department_id {
            echo.push(("department", d.to_string()));
        }
        let state = match (given(&self.state), given(&self.show)) {
            (Some("all"), _) | (None, Some("all")) => StateChoice::All,
            (Some("open"), _) | (None, _) => StateChoice::Open,
            (Some(s), _) => StateChoice::One(NoticeState::parse(s).ok_or_else(|| {
                invalid("state", Reason::OneOf { allowed: NoticeState::ALL.map(NoticeState::as_str).join(", ") })
            })?),
        };
        match state {
            StateChoice::Open => filter.open_only = true,
            StateChoice::All => echo.push(("state", "all".into())),
            StateChoice::One(s) => {
                filter.state = Some(s);
                echo.push(("state", s.as_str().into()));
            }
        }
        if let Some(sev) = given(&self.severity) {
            filter.severity = Some(match sev {
                "general" => Severity::General,
                "serious" => Severity::Serious,
                _ => return Err(invalid("severity", Reason::SeverityChoice)),
            });
            echo.push(("severity", sev.to_string()));
        }
        match given(&self.overdue) {
            None | Some("0") => {}
            Some("1") => {
                filter.overdue_at = Some(now_ms);
                echo.push(("overdue", "1".into()));
            }
            Some(_) => return Err(invalid("overdue", Reason::OneOrNothing)),
        }
        let offset = offset_of(filter.site_id);
        let from = parse_day("from", &self.from)?;
        let to = parse_day("to", &self.to)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(invalid("to", Reason::LastDayBeforeFirst));
        }
        if let Some(f) = from {
            filter.raised_from_ms = Some(local_midnight_ms(f, offset));
            echo.push(("from", f.to_string()));
        }
        if let Some(t) = to {
            filter.raised_before_ms = Some(local_midnight_ms(t.succ_opt().unwrap_or(t), offset));
            echo.push(("to", t.to_string()));
        }
        let after = match given(&self.after) {
            None => None,
            Some(text) => Some(notices::Cursor::parse(text).ok_or_else(|| invalid("after", Reason::NotAPlaceInList))?),
        };
        Ok(Register { filter, state, after, echo })
    }
}

impl Register {
    /// `path?query` with the filter, plus `extra` pairs.
    pub fn href(&self, path: &str, extra: &[(&str, String)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.echo.iter().map(|(k, v)| (*k, v)).chain(extra.iter().map(|(k, v)| (*k, v))) {
            q.append_pair(k, v);
        }
        let q = q.finish();
        if q.is_empty() { path.to_string() } else { format!("{path}?{q}") }
    }

    /// The query with one field replaced (a tab).
    pub fn with_state(&self, state: &str) -> Register {
        let mut r = self.clone();
        r.echo.retain(|(k, _)| *k != "state");
        if !state.is_empty() {
            r.echo.push(("state", state.to_string()));
        }
        r
    }

    fn value(&self, key: &str) -> &str {
        self.echo.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| v.as_str())
    }

    /// The filter form (GET, so a filtered register is a link one can send).
    pub fn form(&self, lang: Lang, sites: &BTreeMap<Id, Site>, depts: &[Department]) -> Markup {
        let t = |k| lang.t(k);
        let state_value = match self.state {
            StateChoice::Open => "open".to_string(),
            StateChoice::All => "all".to_string(),
            StateChoice::One(s) => s.as_str().to_string(),
        };
        html! {
            form.register-filter #register-filter method="get" action="/notices" {
                label.wide { span { (t(K::Search)) }
                    input type="search" name="q" maxlength="100" value=(self.value("q")) placeholder=(t(K::SearchHint));
                }
                label { span { (t(K::Site)) }
                    select name="site" {
                        option value="" { (t(K::AnySite)) }
                        @for s in sites.values() {
                            option value=(s.id) selected[self.value("site") == s.id.to_string()] {
                                (lang.pick(&s.name_zh, &s.name_en))
                            }
                        }
                    }
                }
                label { span { (t(K::Department)) }
                    select name="department" {
                        option value="" { (t(K::AnyDepartment)) }
                        @for d in depts {
                            option value=(d.id) selected[self.value("department") == d.id.to_string()] {
                                @if sites.len() > 1 {
                                    @if let Some(s) = sites.get(&d.site_id) { (lang.pick(&s.name_zh, &s.name_en)) " · " }
                                }
                                (lang.pick(&d.name_zh, &d.name_en))
                            }
                        }
                    }
                }
                label { span { (t(K::State)) }
                    select name="state" {
                        option value="open" selected[state_value == "open"] { (t(K::OpenNotices)) }
                        option value="all" selected[state_value == "all"] { (t(K::AllNotices)) }
                        @for s in NoticeState::ALL {
                            option value=(s.as_str()) selected[state_value == s.as_str()] { (state_name(lang, s)) }
                        }
                    }
                }
                label { span { (t(K::Severity)) }
                    select name="severity" {
                        option value="" { (t(K::AnySeverity)) }
                        option value="general" selected[self.value("severity") == "general"] { (t(K::General)) }
                        option value="serious" selected[self.value("severity") == "serious"] { (t(K::Serious)) }
                    }
                }
                label { span { (t(K::FoundFrom)) } input type="date" name="from" value=(self.value("from")); }
                label { span { (t(K::FoundTo)) } input type="date" name="to" value=(self.value("to")); }
                label.check { input type="checkbox" name="overdue" value="1" checked[self.value("overdue") == "1"]; " " (t(K::OverdueOnly)) }
                div.actions {
                    button type="submit" #apply-filter { (t(K::ApplyFilter)) }
                    " " a.button.secondary href="/notices" { (t(K::ClearFilter)) }
                    " " a.button.secondary #export-register href=(self.href("/notices/export.xlsx", &[])) { (t(K::ExportExcel)) }
                }
            }
        }
    }
}

/// The most notices one Excel export holds; a larger selection is refused with a
/// request to narrow the filter (the register pages through any number on screen).
pub const EXPORT_MAX: usize = 20_000;

/// One notice of an export, with what the sheet shows beside it.
pub struct RegisterRow {
    pub row: notices::NoticeRow,
    pub site: String,
    pub offset_minutes: i32,
    pub department: String,
    /// When it was closed (verified), for "closed on time".
    pub closed_ms: Option<i64>,
}

/// A time as an Excel date-time in the site's local time (Excel has no zones).
fn excel_time(ms: i64, offset_minutes: i32) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_timestamp((ms + i64::from(offset_minutes) * 60_000).div_euclid(1000))
}

/// The register as a workbook: one row per notice with real dates, the header frozen
/// and filterable, and the totals under it (raised, open, overdue, closed, closed on
/// time, serious).
pub fn register_xlsx(lang: Lang, rows: &[RegisterRow], now_ms: i64) -> Result<Vec<u8>, String> {
    build_register(lang, rows, now_ms).map_err(|e| format!("xlsx: {e}"))
}

fn build_register(lang: Lang, rows: &[RegisterRow], now_ms: i64) -> Result<Vec<u8>, XlsxError> {
    let t = |k| lang.t(k);
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name(t(K::Register))?;
    let heads = [
        (K::NoticeNumber, 16),
        (K::Site, 16),
        (K::Department, 12),
        (K::Location, 20),
        (K::Description, 48),
        (K::Severity, 12),
        (K::State, 14),
        (K::FoundOn, 17),
        (K::Due, 17),
        (K::ClosedOn, 17),
        (K::OverdueYes, 8),
    ];
    for (col, (k, width)) in heads.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
        sheet.write_string_with_format(0, col as u16, t(*k), &bold)?;
    }
    let (mut open, mut overdue, mut closed, mut on_time, mut serious) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for (i, r) in rows.iter().enumerate() {
        let y = i as u32 + 1;
        let n = &r.row;
        let late = n.state.is_open() && now_ms > n.due_ms;
        sheet.write_string(y, 0, n.number.clone().unwrap_or_else(|| t(K::NumberPending).to_string()))?;
        sheet.write_string(y, 1, &r.site)?;
        sheet.write_string(y, 2, &r.department)?;
        sheet.write_string(y, 3, &n.location)?;
        sheet.write_string(y, 4, &n.description)?;
        sheet.write_string(y, 5, if n.severity == Severity::Serious { t(K::Serious) } else { t(K::General) })?;
        sheet.write_string(y, 6, state_name(lang, n.state))?;
        sheet.write_datetime_with_format(y, 7, excel_time(n.raised_device_ms, r.offset_minutes)?, &when)?;
        sheet.write_datetime_with_format(y, 8, excel_time(n.due_ms, r.offset_minutes)?, &when)?;
        if let Some(c) = r.closed_ms {
            sheet.write_datetime_with_format(y, 9, excel_time(c, r.offset_minutes)?, &when)?;
        }
        if late {
            sheet.write_string(y, 10, t(K::OverdueYes))?;
        }
        open += u32::from(n.state.is_open());
        overdue += u32::from(late);
        closed += u32::from(n.state == NoticeState::Closed);
        on_time += u32::from(r.closed_ms.is_some_and(|c| c <= n.due_ms));
        serious += u32::from(n.severity == Severity::Serious);
    }
    let last = rows.len() as u32;
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last.max(1), heads.len() as u16 - 1)?;
    let totals = [
        (K::Raised, rows.len() as u32),
        (K::OpenNotices, open),
        (K::Overdue, overdue),
        (K::ClosedNotices, closed),
        (K::ClosedOnTime, on_time),
        (K::Serious, serious),
    ];
    for (i, (k, v)) in totals.iter().enumerate() {
        let y = last + 2 + i as u32;
        sheet.write_string_with_format(y, 0, t(*k), &bold)?;
        sheet.write_number(y, 1, f64::from(*v))?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> RegisterQuery {
        let text = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        serde_urlencoded_like(&text)
    }

    fn serde_urlencoded_like(text: &str) -> RegisterQuery {
        let value: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(value)).unwrap()
    }

    #[test]
    fn the_default_is_the_inbox_and_show_all_still_means_every_state() {
        let r = q(&[]).parse(0, |_| 480).unwrap();
        assert_eq!(r.state, StateChoice::Open);
        assert!(r.filter.open_only);
        let r = q(&[("show", "all")]).parse(0, |_| 480).unwrap();
        assert_eq!(r.state, StateChoice::All);
        assert!(!r.filter.open_only);
    }

    #[test]
    fn days_are_the_sites_local_days_and_the_last_day_is_included() {
        let r = q(&[("from", "2026-03-01"), ("to", "2026-03-31")]).parse(0, |_| 480).unwrap();
        // 2026-03-01 00:00 at UTC+8 is 2026-02-28 16:00 UTC.
        assert_eq!(r.filter.raised_from_ms, Some(1_772_294_400_000));
        assert_eq!(r.filter.raised_before_ms, Some(1_772_294_400_000 + 31 * 86_400_000));
    }

    #[test]
    fn every_wrong_field_is_named_and_nothing_is_guessed() {
        for (field, value) in [
            ("site", "not-an-id"),
            ("department", "1234"),
            ("state", "finished"),
            ("severity", "critical"),
            ("overdue", "yes"),
            ("from", "2026-13-01"),
            ("to", "1899-01-01"),
            ("after", "x.1.2"),
            ("q", &"长".repeat(101)),
            ("q", "a\u{7}b"),
        ] {
            let err = q(&[(field, value)]).parse(0, |_| 480).unwrap_err();
            let text = format!("{err:?}");
            assert!(text.contains(field), "{field}={value}: {text}");
        }
        let err = q(&[("from", "2026-03-02"), ("to", "2026-03-01")]).parse(0, |_| 480).unwrap_err();
        assert!(format!("{err:?}").contains("to"));
    }

    #[test]
    fn links_keep_the_filter_and_encode_it() {
        let r = q(&[("q", "漏水 3#"), ("severity", "serious")]).parse(0, |_| 480).unwrap();
        let href = r.href("/notices", &[("after", "o.1.x".into())]);
        assert!(href.starts_with("/notices?q=%E6%BC%8F%E6%B0%B4+3%23&severity=serious&after="), "{href}");
    }
}
