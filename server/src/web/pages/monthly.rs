//! The monthly summary of a site for its supervisors (按月统计): runs done against
//! expected, checkpoint coverage, notices per department and per person, with
//! server-drawn charts, and the same figures as Excel and PDF downloads.

use crate::api::extract::Path;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{Id, Site};

use super::notices::stat;
use super::supervise::SiteRef;
use crate::error::ApiError;
use crate::policy::Access;
use crate::state::AppState;
use crate::store::{DbError, reference};
use crate::web::charts::{self, Group};
use crate::web::error::WebError;
use crate::web::exports;
use crate::web::i18n::K;
use crate::web::layout;
use crate::web::session::Page;
use crate::web::stats::{self, MonthSummary};

/// The site and its month, for a supervisor of the site (403 for anyone else).
async fn load(
    state: &AppState,
    page: &Page,
    site_id: Id,
    month: &str,
) -> Result<(Site, MonthSummary, SiteRef), WebError> {
    let (year, m) = stats::parse_month(month).ok_or_else(|| ApiError::invalid("month", Reason::MonthFormat))?;
    let site = state
        .store
        .read(move |c| reference::get_site(c, site_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Site))?;
    page.actor.require(Access::Supervise(&site))?;
    let now = state.clock.now_ms();
    let s2 = site.clone();
    let (summary, reference) = state
        .store
        .read(move |c| Ok::<_, DbError>((stats::month_summary(c, &s2, year, m, now)?, SiteRef::load(c, s2.id)?)))
        .await?;
    Ok((site, summary, reference))
}

fn shift(year: i32, month: u32, by: i32) -> String {
    let index = year * 12 + month as i32 - 1 + by;
    format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// `GET /sites/{site_id}/monthly/{month}`
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, month)): Path<(Id, String)>,
) -> Result<Markup, WebError> {
    let (site, s, r) = load(&state, &page, site_id, &month).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let base = format!("/sites/{}/monthly", site.id);
    let days: Vec<Group> = s
        .days
        .iter()
        .map(|(d, e, done, late, missed)| Group {
            label: chrono::Datelike::day(d).to_string(),
            values: vec![f64::from(*e), f64::from(*done + *late), f64::from(*missed)],
        })
        .collect();
    let depts: Vec<Group> = s
        .departments
        .iter()
        .map(|(id, d)| Group {
            label: r.department(lang, *id),
            values: vec![f64::from(d.raised), f64::from(d.closed_on_time), f64::from(d.overdue)],
        })
        .collect();
    let closed_on_time: u32 = s.departments.values().map(|d| d.closed_on_time).sum();
    let raised: u32 = s.departments.values().map(|d| d.raised).sum();
    let body = html! {
        p.crumbs { a href="/dashboard" { (t(K::Dashboard)) } " / " (lang.pick(&site.name_zh, &site.name_en)) }
        div.section-head {
            h1 { (t(K::MonthlySummary)) " " (month) }
            div.links {
                a.button.secondary href={ (base) "/" (shift(s.year, s.month, -1)) } { "← " (shift(s.year, s.month, -1)) }
                a.button.secondary href={ (base) "/" (shift(s.year, s.month, 1)) } { (shift(s.year, s.month, 1)) " →" }
                a.button #export-xlsx href={ (base) "/" (month) "/summary.xlsx" } download { (t(K::ExportExcel)) }
                a.button #export-pdf href={ (base) "/" (month) "/summary.pdf" } download { (t(K::ExportPdf)) }
            }
        }
        div.stats {
            (stat(t(K::ExpectedRuns), s.expected, ""))
            (stat(t(K::DoneRuns), s.done, "good"))
            (stat(t(K::LateRuns), s.late, if s.late > 0 { "warn" } else { "" }))
            (stat(t(K::MissedRuns), s.missed, if s.missed > 0 { "bad" } else { "" }))
            (stat(t(K::PendingRuns), s.pending, ""))
            (stat(t(K::Unscheduled), s.unscheduled, if s.unscheduled > 0 { "warn" } else { "" }))
            (stat(t(K::CompletionPercent), format!("{:.1}%", s.done_percent()), ""))
            (stat(t(K::CoveragePercent), format!("{:.1}%", s.coverage_percent()), ""))
            (stat(t(K::NoticesRaised), raised, ""))
            (stat(t(K::ClosedOnTime), closed_on_time, "good"))
        }
        p.hint #completion-note { (t(K::CompletionNote)) " " (t(K::SchedulesNoHistory)) }
        section.card {
            (charts::bars(t(K::RunsPerDay), &[t(K::ExpectedRuns), t(K::DoneRuns), t(K::MissedRuns)], &["s0", "s1", "s2"], &days))
        }
        div.grid {
            section.card.span2 {
                h2 { (t(K::NoticesByDepartment)) }
                table #departments {
                    thead { tr { th { (t(K::Department)) } th.num { (t(K::Raised)) } th.num { (t(K::Closed)) } th.num { (t(K::ClosedOnTime)) }
                        th.num { (t(K::Overdue)) } th.num { (t(K::Voided)) } th.num { (t(K::MedianHoursToClose)) } } }
                    tbody {
                        @for (id, d) in &s.departments {
                            tr {
                                td { (r.department(lang, *id)) }
                                td.num { (d.raised) } td.num { (d.closed) } td.num { (d.closed_on_time) }
                                td.num class=(if d.overdue > 0 { "bad" } else { "" }) { (d.overdue) }
                                td.num { (d.voided) }
                                td.num { (d.median_hours_to_close.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into())) }
                            }
                        }
                        @if s.departments.is_empty() { tr { td colspan="7" .muted { (t(K::Nothing)) } } }
                    }
                }
                @if !depts.is_empty() {
                    (charts::bars(t(K::NoticesByDepartment), &[t(K::Raised), t(K::ClosedOnTime), t(K::Overdue)], &["s0", "s1", "s2"], &depts))
                }
            }
            section.card.span2 {
                h2 { (t(K::People)) }
                table #people {
                    thead { tr { th { (t(K::Person)) } th.num { (t(K::RunsWalked)) } th.num { (t(K::CheckpointsVisited)) } th.num { (t(K::NoticesRaised)) } th.num { (t(K::NoticeActions)) } } }
                    tbody {
                        @for p in s.people.values() {
                            tr { td { (p.name) } td.num { (p.runs) } td.num { (p.checkpoints_visited) } td.num { (p.notices_raised) } td.num { (p.notice_actions) } }
                        }
                        @if s.people.is_empty() { tr { td colspan="5" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::MonthlySummary), body))
}

/// `GET /sites/{site_id}/monthly/{month}/summary.xlsx`
pub async fn xlsx(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, month)): Path<(Id, String)>,
) -> Result<Response, WebError> {
    let (site, s, r) = load(&state, &page, site_id, &month).await?;
    let lang = page.lang;
    let name = format!("summary-{}-{month}.xlsx", site.code);
    let bytes = tokio::task::spawn_blocking(move || exports::monthly_xlsx(lang, &site, &s, &r))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    Ok(exports::download(exports::XLSX, &name, bytes))
}

/// `GET /sites/{site_id}/monthly/{month}/summary.pdf`
pub async fn pdf(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, month)): Path<(Id, String)>,
) -> Result<Response, WebError> {
    let (site, s, r) = load(&state, &page, site_id, &month).await?;
    let lang = page.lang;
    let name = format!("summary-{}-{month}.pdf", site.code);
    let bytes = exports::render_pdf(&state, move |font| exports::monthly_pdf(font, lang, &site, &s, &r)).await?;
    Ok(exports::download("application/pdf", &name, bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_roll_over_the_year() {
        assert_eq!(super::shift(2026, 1, -1), "2025-12");
        assert_eq!(super::shift(2026, 12, 1), "2027-01");
        assert_eq!(super::shift(2026, 11, 0), "2026-11");
    }
}
