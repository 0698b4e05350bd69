//! The supervisor's desk: today's dashboard per site, one patrol run on the site
//! plan, and the daily patrol log with its review signature (审阅签字).

use std::collections::BTreeMap;

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use maud::{Markup, html};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::sync::RunView;
use patrol_protocol::{Checkpoint, Department, Id, Route, Site};

use super::notices::{number_or_pending, stat, truncate};
use super::{Saved, saved};
use crate::error::ApiError;
use crate::params;
use crate::policy::Access;
use crate::state::AppState;
use crate::store::web as web_store;
use crate::store::{Conn, DbError, reference};
use crate::web::charts::{self, Mark};
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, csrf, flash, local_time, state_badge, thumb, window_span};
use crate::web::live;
use crate::web::session::{Page, Posted};
use crate::web::stats::{self, DayStatus, DeptOpen};

/// Most track batches and points drawn for one run: a day's walk at one fix every
/// few seconds fits; more is thinned evenly.
const TRACK_BATCHES_MAX: i64 = 200;
const TRACK_POINTS_MAX: usize = 5000;
/// Most runs the dashboard lists per site (the latest); the daily log lists all.
const DASHBOARD_RUNS: i64 = 100;
/// Days back the dashboard looks for unsigned logs.
const UNSIGNED_DAYS: i64 = 7;

/// The sites the actor supervises; 403 when none, as for any page they may not use.
pub async fn supervised_sites(state: &AppState, page: &Page) -> Result<Vec<Site>, WebError> {
    let org = page.actor.person.org_id;
    let sites: Vec<Site> = state
        .store
        .read(move |c| reference::list_sites(c, org))
        .await?
        .into_iter()
        .filter(|s| page.actor.may(Access::Supervise(s)))
        .collect();
    if sites.is_empty() {
        return Err(ApiError::forbidden().into());
    }
    Ok(sites)
}

/// One site's reference data, for names.
pub struct SiteRef {
    pub departments: Vec<Department>,
    pub routes: Vec<Route>,
    pub checkpoints: Vec<Checkpoint>,
}

impl SiteRef {
    /// Names of everything the site ever had, retired objects too (old runs and
    /// notices name them), as they stand now.
    pub fn load(c: &mut dyn Conn, site_id: Id) -> Result<SiteRef, DbError> {
        Ok(SiteRef {
            departments: reference::list_departments_all(c, site_id)?,
            routes: reference::list_routes_all(c, site_id)?,
            checkpoints: reference::list_checkpoints_all(c, site_id)?,
        })
    }

    /// The same as it stood at `t`: a past run shows its route and checkpoints as
    /// they were when it was walked, whatever was edited since.
    pub fn as_of(c: &mut dyn Conn, site_id: Id, t: i64) -> Result<SiteRef, DbError> {
        Ok(SiteRef {
            departments: reference::list_departments_all(c, site_id)?,
            routes: reference::routes_as_of(c, site_id, t)?,
            checkpoints: reference::checkpoints_as_of(c, site_id, t)?,
        })
    }
    pub fn department(&self, lang: Lang, id: Id) -> String {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| lang.pick(&d.name_zh, &d.name_en).to_string())
            .unwrap_or_default()
    }
    pub fn route(&self, lang: Lang, id: Id) -> String {
        self.routes
            .iter()
            .find(|r| r.id == id)
            .map(|r| lang.pick(&r.name_zh, &r.name_en).to_string())
            .unwrap_or_default()
    }
    pub fn checkpoint(&self, lang: Lang, id: Id) -> String {
        self.checkpoints
            .iter()
            .find(|c| c.id == id)
            .map(|c| format!("{} {}", c.code, lang.pick(&c.name_zh, &c.name_en)))
            .unwrap_or_default()
    }
}

struct SiteToday {
    site: Site,
    day: NaiveDate,
    status: DayStatus,
    /// Only when the site is shown in full.
    runs: Vec<RunView>,
    open: BTreeMap<Id, DeptOpen>,
    unsigned: Vec<NaiveDate>,
    /// Only when the site is shown in full.
    reference: Option<SiteRef>,
}

/// From this many supervised sites the dashboard opens on one line per site, each
/// linking to its full section (`?site=`): every window and run of fifty sites is a
/// page nobody reads, and a slow one.
const OVERVIEW_FROM_SITES: usize = 4;

#[derive(serde::Deserialize, Default)]
pub struct DashboardQuery {
    #[serde(default)]
    site: Option<Id>,
}

/// `GET /dashboard`: today per supervised site; `?site=` one of them in full.
pub async fn dashboard(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<DashboardQuery>,
) -> Result<Markup, WebError> {
    let mut sites = supervised_sites(&state, &page).await?;
    if let Some(id) = q.site {
        sites.retain(|s| s.id == id);
        if sites.is_empty() {
            return Err(ApiError::not_found(Thing::Site).into());
        }
    }
    let overview = sites.len() >= OVERVIEW_FROM_SITES;
    let now = state.clock.now_ms();
    let feed = live::feed_head(&state.store).await?;
    let today: Vec<SiteToday> = state
        .store
        .read(move |c| {
            // Every site's day from one load: a fixed number of statements whatever the
            // number of sites (docs/benchmarks.md, "Console at a year's scale").
            let refs: Vec<&Site> = sites.iter().collect();
            let ids: Vec<Id> = sites.iter().map(|s| s.id).collect();
            let first = sites.iter().map(|s| stats::today(s, now)).min().expect("a supervised site");
            let last = sites.iter().map(|s| stats::today(s, now)).max().expect("a supervised site");
            let days = stats::Days::load(c, &refs, first, last)?;
            let mut open = stats::open_by_site_department(c, &ids, now)?;
            let mut unsigned = stats::unsigned_days_of(c, &refs, now, UNSIGNED_DAYS)?;
            let mut out = Vec::new();
            for site in sites {
                let day = stats::today(&site, now);
                let status = days.status(&site, day, now);
                let (mut runs, mut reference) = (Vec::new(), None);
                if !overview {
                    // The latest runs, oldest of them first; the page says how many
                    // there were in all and links to the daily log, which lists every one.
                    let ids = c.query(
                        "SELECT id FROM runs WHERE site_id = $1 AND local_day = $2
                         ORDER BY started_device_ms DESC, id DESC LIMIT $3",
                        &params![site.id, day.to_string(), DASHBOARD_RUNS],
                    )?;
                    for r in ids.iter().rev() {
                        runs.extend(crate::patrols::run_view(c, r.uuid(0)?)?);
                    }
                    reference = Some(SiteRef::load(c, site.id)?);
                }
                out.push(SiteToday {
                    open: open.remove(&site.id).unwrap_or_default(),
                    unsigned: unsigned.remove(&site.id).unwrap_or_default(),
                    site,
                    day,
                    status,
                    runs,
                    reference,
                });
            }
            Ok(out)
        })
        .await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        h1 { (t(K::Dashboard)) }
        @if q.site.is_some() { p.crumbs { a href="/dashboard" { (t(K::AnySite)) } } }
        div #live data-live data-feed=(feed) {
            @if overview { (sites_overview(lang, &today)) }
            @else { @for s in &today { (site_today(lang, s)) } }
        }
        p.muted.live-note { (t(K::LiveNote)) }
    };
    Ok(layout::chrome(&page, t(K::Dashboard), body))
}

/// One line per site: how today goes, what is open, which logs wait for a signature.
fn sites_overview(lang: Lang, sites: &[SiteToday]) -> Markup {
    let t = |k| lang.t(k);
    let sum = |f: fn(&SiteToday) -> u32| sites.iter().map(f).sum::<u32>();
    let open = |s: &SiteToday| s.open.values().map(|o| o.open).sum::<u32>();
    let overdue = |s: &SiteToday| s.open.values().map(|o| o.overdue).sum::<u32>();
    html! {
        div.stats {
            (stat(t(K::Sites), sites.len(), ""))
            (stat(t(K::ExpectedRuns), sum(|s| s.status.expected), ""))
            (stat(t(K::DoneRuns), sum(|s| s.status.done), "good"))
            (stat(t(K::LateRuns), sum(|s| s.status.late), if sum(|s| s.status.late) > 0 { "warn" } else { "" }))
            (stat(t(K::MissedRuns), sum(|s| s.status.missed), if sum(|s| s.status.missed) > 0 { "bad" } else { "" }))
            (stat(t(K::OpenNotices), sites.iter().map(open).sum::<u32>(), ""))
            (stat(t(K::Overdue), sites.iter().map(overdue).sum::<u32>(), if sites.iter().map(overdue).sum::<u32>() > 0 { "bad" } else { "" }))
        }
        section.card {
            table.cards #sites-overview {
                thead { tr {
                    th { (t(K::Site)) } th.num { (t(K::ExpectedRuns)) } th.num { (t(K::DoneRuns)) }
                    th.num { (t(K::LateRuns)) } th.num { (t(K::MissedRuns)) } th.num { (t(K::PendingRuns)) }
                    th.num { (t(K::CheckpointsCovered)) } th.num { (t(K::OpenNotices)) } th.num { (t(K::Overdue)) }
                    th { (t(K::UnsignedLogs)) }
                } }
                tbody {
                    @for s in sites {
                        @let st = &s.status;
                        tr data-site=(s.site.id) {
                            td.name data-label=(t(K::Site)) {
                                a href={ "/dashboard?site=" (s.site.id) } {
                                    span.code { (s.site.code) } " " (lang.pick(&s.site.name_zh, &s.site.name_en))
                                }
                                span.muted { " · " (s.day) }
                            }
                            td.num data-label=(t(K::ExpectedRuns)) { (st.expected) }
                            td.num data-label=(t(K::DoneRuns)) { (st.done) }
                            td.num.warn[st.late > 0] data-label=(t(K::LateRuns)) { (st.late) }
                            td.num.bad[st.missed > 0] data-label=(t(K::MissedRuns)) { (st.missed) }
                            td.num data-label=(t(K::PendingRuns)) { (st.pending) }
                            td.num data-label=(t(K::CheckpointsCovered)) { (st.checkpoints_covered) "/" (st.checkpoints_total) }
                            td.num data-label=(t(K::OpenNotices)) { a href={ "/notices?site=" (s.site.id) } { (open(s)) } }
                            td.num.bad[overdue(s) > 0] data-label=(t(K::Overdue)) { (overdue(s)) }
                            td data-label=(t(K::UnsignedLogs)) {
                                @if s.unsigned.is_empty() { span.ok { "✓" } }
                                @else {
                                    a href={ "/sites/" (s.site.id) "/daily-logs/" (s.unsigned[0]) } { (s.unsigned.len()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn site_today(lang: Lang, s: &SiteToday) -> Markup {
    let t = |k| lang.t(k);
    let empty = SiteRef { departments: Vec::new(), routes: Vec::new(), checkpoints: Vec::new() };
    let names = s.reference.as_ref().unwrap_or(&empty);
    let st = &s.status;
    let tz = s.site.utc_offset_minutes;
    let month = s.day.format("%Y-%m").to_string();
    html! {
        section.site-today data-site=(s.site.id) {
            div.section-head {
                h2 { span.code { (s.site.code) } " " (lang.pick(&s.site.name_zh, &s.site.name_en)) span.muted { " · " (s.day) } }
                div.links {
                    a.button.secondary href={ "/sites/" (s.site.id) "/daily-logs/" (s.day) } { (t(K::DailyLog)) }
                    a.button.secondary href={ "/sites/" (s.site.id) "/monthly/" (month) } { (t(K::MonthlySummary)) }
                }
            }
            div.stats {
                (stat(t(K::ExpectedRuns), st.expected, ""))
                (stat(t(K::DoneRuns), st.done, "good"))
                (stat(t(K::LateRuns), st.late, if st.late > 0 { "warn" } else { "" }))
                (stat(t(K::MissedRuns), st.missed, if st.missed > 0 { "bad" } else { "" }))
                (stat(t(K::PendingRuns), st.pending, ""))
                (stat(t(K::Unscheduled), st.unscheduled, if st.unscheduled > 0 { "warn" } else { "" }))
                (stat(t(K::CheckpointsCovered), format!("{}/{}", st.checkpoints_covered, st.checkpoints_total), ""))
            }
            div.grid {
                section.card.span2 {
                    h2 { (t(K::TodaysWindows)) }
                    table.cards {
                        thead { tr { th { (t(K::Route)) } th { (t(K::Window)) } th.num { (t(K::ExpectedRuns)) }
                            th.num { (t(K::DoneRuns)) } th.num { (t(K::LateRuns)) } th { (t(K::State)) } } }
                        tbody {
                            @for w in &st.windows {
                                tr {
                                    td data-label=(t(K::Route)) { (names.route(lang, w.route_id)) }
                                    td.num data-label=(t(K::Window)) { (window_span(lang, w.start_minute, w.end_minute)) }
                                    td.num data-label=(t(K::ExpectedRuns)) { (w.expected) }
                                    td.num data-label=(t(K::DoneRuns)) { (w.done) }
                                    td.num data-label=(t(K::LateRuns)) { (w.late) }
                                    td data-label=(t(K::State)) {
                                        @if w.missed > 0 { span.badge.overdue { (t(K::MissedRuns)) " " (w.missed) } }
                                        @else if w.pending > 0 { span.badge.state-issued { (t(K::PendingRuns)) } }
                                        @else if w.late > 0 { span.badge.warn { (t(K::LateRuns)) } }
                                        @else { span.badge.state-closed { (t(K::DoneRuns)) } }
                                    }
                                }
                            }
                            @if st.windows.is_empty() { tr { td colspan="6" .muted { (t(K::NoScheduleToday)) } } }
                        }
                    }
                    h2 { (t(K::TodaysRuns)) }
                    table.cards {
                        thead { tr { th { (t(K::Person)) } th { (t(K::Route)) } th { (t(K::Started)) } th.num { (t(K::Visits)) } th { (t(K::State)) } } }
                        tbody {
                            @for r in &s.runs {
                                tr {
                                    td.name data-label=(t(K::Person)) { a href={ "/runs/" (r.run_id) } { (r.person_name) } }
                                    td data-label=(t(K::Route)) { (names.route(lang, r.route_id)) }
                                    td.num data-label=(t(K::Started)) { (local_time(r.started_device_ms, tz)) }
                                    td.num data-label=(t(K::Visits)) { (r.visits.len()) }
                                    td data-label=(t(K::State)) { (run_state(lang, r)) }
                                }
                            }
                            @if s.runs.is_empty() { tr { td colspan="5" .muted { (t(K::NoRunsYet)) } } }
                        }
                    }
                    @if (s.runs.len() as u32) < st.runs {
                        p.muted #runs-shown {
                            (t(K::ShowingLatest)) " " (s.runs.len()) " / " (st.runs) " · "
                            a href={ "/sites/" (s.site.id) "/daily-logs/" (s.day) } { (t(K::AllInDailyLog)) " →" }
                        }
                    }
                }
                div.stack {
                    section.card {
                        h2 { (t(K::NoticesByDepartment)) }
                        table {
                            thead { tr { th { (t(K::Department)) } th.num { (t(K::OpenNotices)) } th.num { (t(K::AwaitingReceipt)) } th.num { (t(K::Overdue)) } } }
                            tbody {
                                @for d in &names.departments {
                                    @let o = s.open.get(&d.id).cloned().unwrap_or_default();
                                    tr {
                                        td { (lang.pick(&d.name_zh, &d.name_en)) }
                                        td.num { (o.open) }
                                        td.num { (o.awaiting_receipt) }
                                        td.num class=(if o.overdue > 0 { "bad" } else { "" }) { (o.overdue) }
                                    }
                                }
                            }
                        }
                        p { a href="/notices" { (t(K::Inbox)) " →" } }
                    }
                    section.card {
                        h2 { (t(K::UnsignedLogs)) }
                        @if s.unsigned.is_empty() { p.ok { (t(K::AllSigned)) } }
                        ul.days {
                            @for d in &s.unsigned {
                                li { a href={ "/sites/" (s.site.id) "/daily-logs/" (d) } { (d) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn run_state(lang: Lang, r: &RunView) -> Markup {
    let t = |k| lang.t(k);
    html! {
        @if r.finished_device_ms.is_none() { span.badge.state-issued { (t(K::InProgress)) } }
        @else if !r.missed_checkpoints.is_empty() { span.badge.warn { (t(K::Incomplete)) " " (r.missed_checkpoints.len()) } }
        @else { span.badge.state-closed { (t(K::Finished)) } }
        @if !r.photos_complete { " " span.badge { (t(K::PhotosUploading)) } }
    }
}

/// The GPS track of a run, read from its `track_points` records, thinned to a bound
/// evenly over the whole walk: every batch's id is read, at most `TRACK_BATCHES_MAX`
/// evenly spaced batches are drawn (the first and last among them), so a long walk is
/// drawn from start to end rather than cut off.
fn track_of(c: &mut dyn Conn, run_id: Id) -> Result<Vec<(f64, f64)>, DbError> {
    let ids: Vec<Id> = c
        .query(
            "SELECT r.id FROM records r JOIN track_batches t ON t.record_id = r.id
             WHERE t.run_id = $1 AND r.kind = 'track_points' ORDER BY r.device_time_ms, r.seq",
            &params![run_id],
        )?
        .iter()
        .map(|r| r.uuid(0))
        .collect::<Result<_, _>>()?;
    let max = TRACK_BATCHES_MAX as usize;
    let chosen: Vec<Id> =
        if ids.len() <= max { ids } else { (0..max).map(|i| ids[i * (ids.len() - 1) / (max - 1)]).collect() };
    let mut rows = Vec::with_capacity(chosen.len());
    for id in chosen {
        rows.extend(c.query_opt("SELECT body FROM records WHERE id = $1", &params![id])?);
    }
    let mut points = Vec::new();
    for r in &rows {
        // Bodies are the canonical JSON the server stored; a body it cannot read
        // would be a bug elsewhere, so it is skipped rather than failing the page.
        if let Ok(Record { payload: RecordPayload::TrackPoints { points: p, .. }, .. }) =
            serde_json::from_str::<Record>(&r.text(0)?)
        {
            points.extend(p.into_iter().map(|p| (p.time_ms, p.latitude, p.longitude)));
        }
    }
    points.sort_by_key(|p| p.0);
    let stride = points.len().div_ceil(TRACK_POINTS_MAX).max(1);
    Ok(points.into_iter().step_by(stride).map(|p| (p.1, p.2)).collect())
}

/// A visit's checklist answers: (item text, outcome, note).
type Answers = BTreeMap<Id, Vec<(Id, String, String)>>;

/// `GET /runs/{run_id}`: the walker and the site's supervisors.
pub async fn run(State(state): State<AppState>, page: Page, Path(run_id): Path<Id>) -> Result<Markup, WebError> {
    let found = state
        .store
        .read(move |c| {
            let Some(run) = crate::patrols::run_view(c, run_id)? else { return Ok(None) };
            let site = reference::get_site(c, run.site_id)?.ok_or_else(|| DbError::Data("run without site".into()))?;
            let reference = SiteRef::as_of(c, site.id, run.started_device_ms)?;
            let plan = web_store::get_site_plan(c, site.id)?;
            let track = track_of(c, run_id)?;
            let mut answers: Answers = BTreeMap::new();
            for r in c.query(
                "SELECT visit_id, item_id, outcome, note FROM item_results WHERE run_id = $1",
                &params![run_id],
            )? {
                answers.entry(r.uuid(0)?).or_default().push((r.uuid(1)?, r.text(2)?, r.text(3)?));
            }
            Ok(Some((run, site, reference, plan, track, answers)))
        })
        .await?;
    let (run, site, reference, plan, track, answers) = found.ok_or_else(|| ApiError::not_found(Thing::Run))?;
    if !page.actor.may_view_run(run.site_id, run.person_id) {
        return Err(ApiError::forbidden().into());
    }
    let lang = page.lang;
    let t = |k| lang.t(k);
    let tz = site.utc_offset_minutes;
    let route = reference.routes.iter().find(|r| r.id == run.route_id);
    let visited: Vec<Id> = run.visits.iter().map(|v| v.checkpoint_id).collect();
    let marks: Vec<Mark> = route
        .map(|r| r.checkpoint_ids.clone())
        .unwrap_or_default()
        .iter()
        .chain(visited.iter())
        .filter_map(|id| reference.checkpoints.iter().find(|c| c.id == *id))
        .map(|c| Mark {
            latitude: c.latitude,
            longitude: c.longitude,
            label: c.code.clone(),
            class: if visited.contains(&c.id) {
                "visited"
            } else if run.missed_checkpoints.contains(&c.id) {
                "missed"
            } else {
                "other"
            },
        })
        .collect();
    let item_text = |id: Id| {
        reference
            .checkpoints
            .iter()
            .flat_map(|c| c.checklist.iter())
            .find(|i| i.id == id)
            .map(|i| lang.pick(&i.text_zh, &i.text_en).to_string())
            .unwrap_or_default()
    };
    let day = run.started_device_ms;
    let body = html! {
        p.crumbs {
            a href="/dashboard" { (t(K::Dashboard)) } " / "
            a href={ "/sites/" (site.id) "/daily-logs/" (stats::local_day(&site, day)) } { (t(K::DailyLog)) " " (stats::local_day(&site, day)) }
        }
        h1 { (t(K::PatrolRun)) " · " (reference.route(lang, run.route_id)) }
        div.stats {
            (stat(t(K::Person), &run.person_name, ""))
            (stat(t(K::Started), local_time(run.started_device_ms, tz), ""))
            (stat(t(K::FinishedAt), run.finished_device_ms.map(|f| local_time(f, tz)).unwrap_or_else(|| "—".into()), ""))
            (stat(t(K::Visits), run.visits.len(), ""))
            (stat(t(K::MissedCheckpoints), run.missed_checkpoints.len(), if run.missed_checkpoints.is_empty() { "" } else { "bad" }))
            (stat(t(K::TrackPoints), run.track_points, ""))
        }
        div.grid {
            section.card.span2 {
                h2 { (t(K::SitePlan)) }
                @if marks.is_empty() && track.is_empty() { p.muted { (t(K::NoPlan)) } }
                @else { (charts::run_map(&site.id.to_string(), plan.as_ref(), &marks, &track)) }
                p.legend {
                    span.dot.visited {} (t(K::Visited)) " "
                    span.dot.missed {} (t(K::MissedCheckpoints)) " "
                    span.line.track {} (t(K::GpsTrack))
                    @if plan.is_none() { " · " span.muted { (t(K::NoPlan)) } }
                }
            }
            div.stack {
                section.card {
                    h2 { (t(K::State)) }
                    p { (run_state(lang, &run)) }
                    @if let Some(reason) = &run.missed_reason { p { strong { (t(K::MissedReason)) "：" } (reason) } }
                    @if !run.missed_checkpoints.is_empty() {
                        ul { @for id in &run.missed_checkpoints { li.bad { (reference.checkpoint(lang, *id)) } } }
                    }
                }
                section.card {
                    h2 { (t(K::Photos)) }
                    div.photos { @for p in &run.photos { (thumb(lang, p)) } }
                    @if run.photos.is_empty() { p.muted { (t(K::NoPhotos)) } }
                }
            }
        }
        section.card.span2 {
            h2 { (t(K::Visits)) }
            table.visits.cards {
                thead { tr { th { (t(K::DeviceTime)) } th { (t(K::ServerTime)) } th { (t(K::Checkpoint)) } th { (t(K::Method)) } th { (t(K::Result)) } } }
                tbody {
                    @for v in &run.visits {
                        tr {
                            td.num data-label=(t(K::DeviceTime)) { (local_time(v.device_time_ms, tz)) }
                            td.num data-label=(t(K::ServerTime)) { (local_time(v.received_ms, tz)) }
                            td data-label=(t(K::Checkpoint)) { (reference.checkpoint(lang, v.checkpoint_id)) @if v.out_of_order { " " span.badge.warn { (t(K::OutOfOrder)) } } }
                            td data-label=(t(K::Method)) { (method_name(lang, &v.method)) }
                            td.wide data-label=(t(K::Result)) {
                                @if v.problems == 0 { span.ok { "✓ " (t(K::AllOk)) } } @else { span.bad { (v.problems) " " (t(K::Problems)) } }
                                @if let Some(items) = answers.get(&v.visit_id) {
                                    ul.answers {
                                        @for (item, outcome, note) in items {
                                            @if outcome != "ok" || !note.is_empty() {
                                                li { (item_text(*item)) "：" (outcome_name(lang, outcome)) @if !note.is_empty() { " — " (note) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if run.visits.is_empty() { tr { td colspan="5" .muted { (t(K::Nothing)) } } }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::PatrolRun), body))
}

fn method_name(lang: Lang, method: &str) -> &'static str {
    lang.t(match method {
        "qr" => K::MethodQr,
        "nfc" => K::MethodNfc,
        "gps" => K::MethodGps,
        _ => K::MethodManual,
    })
}

fn outcome_name(lang: Lang, outcome: &str) -> &'static str {
    lang.t(match outcome {
        "ok" => K::AllOk,
        "problem" => K::Problems,
        _ => K::NotApplicable,
    })
}

fn check_day(day: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| ApiError::invalid("day", Reason::DateFormat).into())
}

/// `GET /sites/{site_id}/daily-logs/{day}`: what was done, missed and found that day.
pub async fn daily_log(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, day)): Path<(Id, String)>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let date = check_day(&day)?;
    let log = patrol_cases::patrols::review::supervised_log(&state.store, &page.actor, site_id, day.clone()).await?;
    let now = state.clock.now_ms();
    let (site, status, reference, schedules_since) = state
        .store
        .read(move |c| {
            let site = reference::get_site(c, site_id)?.ok_or_else(|| DbError::Data("no site".into()))?;
            let status = stats::day_status(c, &site, date, now)?;
            let reference = SiteRef::load(c, site_id)?;
            let since = stats::schedules_since(c, &site)?;
            Ok((site, status, reference, since))
        })
        .await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let tz = site.utc_offset_minutes;
    let signed_by_me = log.signatures.iter().any(|s| s.person_id == page.actor.person.id);
    let prev = (date - chrono::Duration::days(1)).to_string();
    let next = (date + chrono::Duration::days(1)).to_string();
    let body = html! {
        p.crumbs { a href={ "/dashboard?site=" (site.id) } { (t(K::Dashboard)) } " / " (lang.pick(&site.name_zh, &site.name_en)) }
        div.section-head {
            h1 { (t(K::DailyLog)) " " (day) }
            div.links {
                a.button.secondary href={ "/sites/" (site.id) "/daily-logs/" (prev) } { "← " (prev) }
                a.button.secondary href={ "/sites/" (site.id) "/daily-logs/" (next) } { (next) " →" }
            }
        }
        (flash(q.yes(), lang))
        div.stats {
            (stat(t(K::ExpectedRuns), log.expected_runs, ""))
            (stat(t(K::DoneRuns), status.done, "good"))
            (stat(t(K::LateRuns), status.late, if status.late > 0 { "warn" } else { "" }))
            (stat(t(K::MissedRuns), status.missed, if status.missed > 0 { "bad" } else { "" }))
            (stat(t(K::Unscheduled), status.unscheduled, if status.unscheduled > 0 { "warn" } else { "" }))
            (stat(t(K::CheckpointsCovered), format!("{}/{}", status.checkpoints_covered, status.checkpoints_total), ""))
            (stat(t(K::NoticesRaised), log.notices_raised.len(), ""))
        }
        div.grid {
            div.stack {
                section.card.span2 {
                    h2 { (t(K::Done)) }
                    table.cards {
                        thead { tr { th { (t(K::Person)) } th { (t(K::Route)) } th { (t(K::Started)) } th { (t(K::FinishedAt)) } th.num { (t(K::Visits)) } th { (t(K::MissedCheckpoints)) } } }
                        tbody {
                            @for r in &log.runs {
                                tr {
                                    td.name data-label=(t(K::Person)) { a href={ "/runs/" (r.run_id) } { (r.person_name) } }
                                    td data-label=(t(K::Route)) { (reference.route(lang, r.route_id)) }
                                    td.num data-label=(t(K::Started)) { (local_time(r.started_device_ms, tz)) }
                                    td.num data-label=(t(K::FinishedAt)) { (r.finished_device_ms.map(|f| local_time(f, tz)).unwrap_or_else(|| "—".into())) }
                                    td.num data-label=(t(K::Visits)) { (r.visits.len()) }
                                    td.wide data-label=(t(K::MissedCheckpoints)) {
                                        @for id in &r.missed_checkpoints { span.badge.warn { (reference.checkpoint(lang, *id)) } " " }
                                        @if let Some(reason) = &r.missed_reason { br; span.muted { (reason) } }
                                    }
                                }
                            }
                            @if log.runs.is_empty() { tr { td colspan="6" .muted { (t(K::NoRunsYet)) } } }
                        }
                    }
                }
                section.card.span2 {
                    h2 { (t(K::Missed)) }
                    ul {
                        @for w in status.windows.iter().filter(|w| w.missed > 0 || w.late > 0 || w.pending > 0) {
                            li {
                                (reference.route(lang, w.route_id)) " " (window_span(lang, w.start_minute, w.end_minute)) "："
                                @if w.missed > 0 { span.bad { (t(K::MissedRuns)) " " (w.missed) } " " }
                                @if w.late > 0 { span.warn { (t(K::LateRuns)) " " (w.late) } " " }
                                @if w.pending > 0 { span.muted { (t(K::PendingRuns)) " " (w.pending) } }
                            }
                        }
                    }
                    // A day nothing was expected of says so, rather than "nothing missed"
                    // beside the runs listed above.
                    @if status.expected == 0 {
                        p.muted #no-schedule { (t(K::NoScheduleThatDay)) }
                    } @else if status.missed == 0 && status.late == 0 && status.pending == 0 {
                        p.ok { (t(K::NothingMissed)) }
                    }
                    @if status.unscheduled > 0 { p.hint #unscheduled-note { (t(K::UnscheduledHint)) } }
                    @if status.expected == 0 || status.unscheduled > 0 {
                        p.hint #schedules-since {
                            @if let Some(since) = schedules_since {
                                (t(K::SchedulesSince)) " " (local_time(since, tz)) "。"
                            } @else {
                                (t(K::NoScheduleYet)) " "
                            }
                            (t(K::SchedulesNoHistory))
                        }
                    }
                }
                section.card.span2 {
                    h2 { (t(K::Found)) }
                    table.cards {
                        thead { tr { th { (t(K::NoticeNumber)) } th { (t(K::Department)) } th { (t(K::Description)) } th { (t(K::State)) } } }
                        tbody {
                            @for n in &log.notices_raised {
                                tr {
                                    td data-label=(t(K::NoticeNumber)) { a.code href={ "/notices/" (n.id) } { (number_or_pending(lang, &n.number)) } }
                                    td.name data-label=(t(K::Department)) { (reference.department(lang, n.department_id)) }
                                    td.wide { (truncate(&n.description, 80)) }
                                    td data-label=(t(K::State)) { (state_badge(lang, n.state)) }
                                }
                            }
                            @if log.notices_raised.is_empty() { tr { td colspan="4" .muted { (t(K::Nothing)) } } }
                        }
                    }
                }
            }
            div.stack {
                section.card #signatures {
                    h2 { (t(K::ReviewSignature)) }
                    @for s in &log.signatures {
                        div.signature {
                            strong { (s.person_name) } " · " (local_time(s.server_time_ms, tz))
                            @if !s.comment.is_empty() { p { (s.comment) } }
                            @if s.content_hash != log.content_hash { p.warn { (t(K::ChangedSinceSigned)) } }
                        }
                    }
                    @if log.signatures.is_empty() { p.bad { (t(K::NotSignedYet)) } }
                    @if !signed_by_me {
                        @let action = format!("/sites/{}/daily-logs/{}/sign", site.id, day);
                        form method="post" action=(action) {
                            (csrf(&page))
                            (echo::form(&action, None, || layout::textarea_field(t(K::Comment), "comment", "", 3, html! {})))
                            button.primary type="submit" { (t(K::SignLog)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::DailyLog), body))
}

/// `POST /sites/{site_id}/daily-logs/{day}/sign`: through `patrols::api::sign`.
pub async fn sign_daily_log(
    State(state): State<AppState>,
    Path((site_id, day)): Path<(Id, String)>,
    posted: Posted,
) -> Result<Response, WebError> {
    check_day(&day)?;
    let comment = posted.form.get("comment").to_string();
    patrol_cases::patrols::review::sign(
        &state.store,
        &posted.page.actor,
        site_id,
        day.clone(),
        comment,
        state.clock.now_ms(),
    )
    .await?;
    Ok(saved(&format!("/sites/{site_id}/daily-logs/{day}")))
}
