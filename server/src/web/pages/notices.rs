//! Rectification notices at a desk: the inbox of what the person may see (overdue
//! first), one notice with photos and its whole timeline, the actions the state
//! machine allows them (through `patrol_cases::notices::desk::act_on`), and the photos themselves.

use std::collections::BTreeMap;

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use patrol_protocol::notice::{NoticeAction, NoticeState, Refusal, Severity, decide};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::sync::{NoticeActionRequest, NoticeView};
use patrol_protocol::{Department, Id, Site};

use super::register::{EXPORT_MAX, Register, RegisterQuery, RegisterRow, StateChoice, register_xlsx};

use super::{Saved, saved};
use crate::error::ApiError;
use crate::notices::{self, NoticeRow};
use crate::photos;
use crate::state::AppState;
use crate::store::reference;
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::exports;
use crate::web::i18n::{K, Lang, action_name};
use crate::web::layout::{self, csrf, flash, local_time, marked_thumb, state_badge};
use crate::web::live;
use crate::web::session::{Page, Posted};

/// Notices on one page of the inbox; the page links to the next.
pub const INBOX_PAGE: i64 = 100;
/// Most after-photos one fix report may carry from a browser.
pub const FIX_PHOTOS_MAX: usize = 6;

/// A notice row with what the inbox shows beside it.
struct Listed {
    row: NoticeRow,
    site: Site,
    department: String,
}

/// What one page of the register shows.
struct Listing {
    shown: Vec<Listed>,
    next: Option<notices::Cursor>,
    /// Every notice the reader may see, per state (the figures above the list).
    counts: notices::Counts,
    /// How many pass the filter.
    matching: u64,
    sites: BTreeMap<Id, Site>,
    departments: Vec<Department>,
}

/// One page of the notices the actor may see (filtered in the database by the
/// policy's rule), in the list order of `notices::page_visible`, and the counts of
/// all of them and of those the filter lets through.
async fn visible_page(state: &AppState, page: &Page, query: RegisterQuery) -> Result<(Register, Listing), WebError> {
    let actor = page.actor.clone();
    let lang = page.lang;
    let now = state.clock.now_ms();
    Ok(state
        .store
        .read(move |c| {
            let sites: BTreeMap<Id, Site> =
                reference::list_sites(c, actor.person.org_id)?.into_iter().map(|s| (s.id, s)).collect();
            let first_offset = sites.values().next().map_or(480, |s| s.utc_offset_minutes);
            let register = match query
                .parse(now, |site| site.and_then(|id| sites.get(&id)).map_or(first_offset, |s| s.utc_offset_minutes))
            {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            // The figures above the list are of open notices: counted over those alone.
            let open = notices::ListFilter { open_only: true, ..notices::ListFilter::default() };
            let counts = notices::count_visible(c, &actor, &open, now)?;
            let (found, matching) =
                notices::list_visible(c, &actor, &register.filter, register.after, INBOX_PAGE, now)?;
            let matching = matching.total();
            let departments: Vec<Department> = reference::list_departments_all_of_org(c, actor.person.org_id)?
                .into_iter()
                .filter(|d| sites.contains_key(&d.site_id))
                .collect();
            let names: BTreeMap<Id, &Department> = departments.iter().map(|d| (d.id, d)).collect();
            let mut shown = Vec::with_capacity(found.rows.len());
            for n in found.rows {
                let Some(site) = sites.get(&n.site_id) else { continue };
                let department = names
                    .get(&n.department_id)
                    .map(|d| lang.pick(&d.name_zh, &d.name_en).to_string())
                    .unwrap_or_default();
                shown.push(Listed { row: n, site: site.clone(), department });
            }
            Ok(Ok((register, Listing { shown, next: found.next, counts, matching, sites, departments })))
        })
        .await??)
}

pub fn number_or_pending(lang: Lang, number: &Option<String>) -> String {
    number.clone().unwrap_or_else(|| lang.t(K::NumberPending).to_string())
}

/// `GET /notices`: the register (整改通知台账), a page at a time (`?after=` the cursor
/// of the last notice shown). With no filter it is the inbox: open notices, the
/// overdue first. The figures above the list count every notice the reader may see,
/// in the database; "matching" counts those the filter lets through.
pub async fn inbox(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<RegisterQuery>,
) -> Result<Markup, WebError> {
    let (register, listing) = visible_page(&state, &page, q).await?;
    let Listing { shown, next, counts, matching, sites, departments } = listing;
    let now = state.clock.now_ms();
    let feed = live::feed_head(&state.store).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let open = counts.open();
    let overdue = counts.overdue;
    let filtered = register.echo.iter().any(|(k, _)| *k != "state");
    let body = html! {
        h1 { (t(K::Inbox)) }
        div #live data-live data-feed=(feed) {
            div.stats {
                (stat(t(K::OpenNotices), open, ""))
                (stat(t(K::Overdue), overdue, if overdue > 0 { "bad" } else { "" }))
                (stat(t(K::AwaitingReceipt), counts.of(NoticeState::Issued), ""))
                (stat(t(K::Fixing), counts.of(NoticeState::Acknowledged), ""))
                (stat(t(K::Disputed), counts.of(NoticeState::Disputed), ""))
                (stat(t(K::AwaitingVerification), counts.of(NoticeState::Rectified), ""))
            }
            section.card.span2 {
                nav.tabs {
                    a class=(if register.state == StateChoice::Open { "active" } else { "" })
                        href=(register.with_state("").href("/notices", &[])) { (t(K::OpenNotices)) }
                    a class=(if register.state == StateChoice::All { "active" } else { "" })
                        href=(register.with_state("all").href("/notices", &[])) { (t(K::AllNotices)) }
                }
                details.filter open[filtered] {
                    summary { (t(K::Search)) " · " (t(K::ApplyFilter)) }
                    (register.form(lang, &sites, &departments))
                }
                div.table-wrap {
                table.notices.cards {
                    thead { tr {
                        th { (t(K::NoticeNumber)) } th { (t(K::Department)) } th { (t(K::Location)) }
                        th { (t(K::Description)) } th { (t(K::State)) } th { (t(K::Due)) }
                    } }
                    tbody {
                        @for l in &shown {
                            @let late = l.row.state.is_open() && now > l.row.due_ms;
                            tr class=(if late { "overdue" } else { "" }) data-notice=(l.row.id) {
                                td data-label=(t(K::NoticeNumber)) { a.code href={ "/notices/" (l.row.id) } { (number_or_pending(lang, &l.row.number)) } }
                                td.name data-label=(t(K::Department)) { (l.department) }
                                td.wide data-label=(t(K::Location)) { (l.row.location) }
                                td.wide {
                                    @if l.row.severity == Severity::Serious { span.badge.serious { (t(K::Serious)) } " " }
                                    (truncate(&l.row.description, 60))
                                }
                                td data-label=(t(K::State)) { (state_badge(lang, l.row.state)) }
                                td.num data-label=(t(K::Due)) {
                                    (local_time(l.row.due_ms, l.site.utc_offset_minutes))
                                    @if late { br; span.badge.overdue { (t(K::Overdue)) } }
                                }
                            }
                        }
                        @if shown.is_empty() { tr { td colspan="6" .muted { (t(K::NoNotices)) } } }
                    }
                }
                }
                nav.pager {
                    span.muted #list-total { (t(K::Matching)) " " (matching) }
                    @if register.after.is_some() {
                        " " a.button.secondary #first-page href=(register.href("/notices", &[])) { "« " (t(K::FirstPage)) }
                    }
                    @if let Some(n) = next {
                        " " a.button.secondary #next-page rel="next" href=(register.href("/notices", &[("after", n.to_string())])) { (t(K::NextPage)) " »" }
                    }
                }
            }
        }
        p.muted.live-note { (t(K::LiveNote)) }
    };
    Ok(layout::chrome(&page, t(K::Inbox), body))
}

/// `GET /notices/export.xlsx`: the register as filtered (every page of it, at most
/// [`EXPORT_MAX`] notices), with real dates, a frozen header and totals.
pub async fn export_register(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<RegisterQuery>,
) -> Result<Response, WebError> {
    let actor = page.actor.clone();
    let lang = page.lang;
    let now = state.clock.now_ms();
    let rows = state
        .store
        .read(move |c| {
            let sites: BTreeMap<Id, Site> =
                reference::list_sites(c, actor.person.org_id)?.into_iter().map(|s| (s.id, s)).collect();
            let first_offset = sites.values().next().map_or(480, |s| s.utc_offset_minutes);
            let register = match q
                .parse(now, |site| site.and_then(|id| sites.get(&id)).map_or(first_offset, |s| s.utc_offset_minutes))
            {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            let total = notices::count_visible(c, &actor, &register.filter, now)?.total();
            if total as usize > EXPORT_MAX {
                return Ok(Err(ApiError::invalid(
                    "filter",
                    Reason::ExportTooBig { total: total as usize, max: EXPORT_MAX },
                )));
            }
            let departments: BTreeMap<Id, Department> = reference::list_departments_all_of_org(c, actor.person.org_id)?
                .into_iter()
                .filter(|d| sites.contains_key(&d.site_id))
                .map(|d| (d.id, d))
                .collect();
            let mut out = Vec::with_capacity(total as usize);
            let mut after = None;
            loop {
                let found = notices::page_visible(c, &actor, &register.filter, after, 1000)?;
                let ids: Vec<Id> = found.rows.iter().filter(|n| n.state == NoticeState::Closed).map(|n| n.id).collect();
                let closed = notices::closed_times(c, &ids)?;
                for n in found.rows {
                    let Some(site) = sites.get(&n.site_id) else { continue };
                    let department = departments
                        .get(&n.department_id)
                        .map(|d| lang.pick(&d.name_zh, &d.name_en).to_string())
                        .unwrap_or_default();
                    out.push(RegisterRow {
                        site: lang.pick(&site.name_zh, &site.name_en).to_string(),
                        offset_minutes: site.utc_offset_minutes,
                        department,
                        closed_ms: closed.get(&n.id).copied(),
                        row: n,
                    });
                }
                match found.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            Ok(Ok(out))
        })
        .await??;
    let bytes = tokio::task::spawn_blocking(move || register_xlsx(lang, &rows, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    Ok(exports::download(exports::XLSX, "notice-register.xlsx", bytes))
}

pub fn stat(label: &str, value: impl std::fmt::Display, class: &str) -> Markup {
    html! { div class={ "stat " (class) } { span.value { (value) } span.label { (label) } } }
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { text.chars().take(max).collect::<String>() + "…" }
}

/// A notice with everything its page and its PDF show.
pub struct Shown {
    pub row: NoticeRow,
    pub view: NoticeView,
    pub site: Site,
    pub departments: Vec<Department>,
    pub checkpoint: Option<String>,
    /// The short form of the notice's inclusion proof in the audit log (docs/audit.md).
    pub verification_code: Option<String>,
    /// The Chinese of each refused action's reason, by record (the timeline keeps the
    /// English one, as the transparency log has it).
    pub refusals_zh: BTreeMap<Id, String>,
    /// The markup layers drawn over the notice's photos, by photo.
    pub overlays: BTreeMap<String, photos::Overlay>,
    /// Who may be issued the fault notice of a close with points deducted: the
    /// department's heads at the site first, then everyone else with a role there.
    pub responsible: Vec<(Id, String)>,
    /// The organisation's rules in force, for that fault notice.
    pub rules: Vec<patrol_protocol::fault::FaultRule>,
}

impl Shown {
    /// Why an action of the timeline was refused, in the reader's language.
    pub fn refusal(&self, lang: Lang, e: &patrol_protocol::sync::NoticeEvent) -> String {
        let en = e.refusal.clone().unwrap_or_default();
        match (lang, self.refusals_zh.get(&e.record_id)) {
            (Lang::Zh, Some(zh)) if !zh.is_empty() => zh.clone(),
            _ => en,
        }
    }

    pub fn department_name(&self, lang: Lang, id: Id) -> String {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| lang.pick(&d.name_zh, &d.name_en).to_string())
            .unwrap_or_default()
    }
}

/// The notice if the actor may see it (403 otherwise, as the API answers).
pub async fn load(state: &AppState, page: &Page, id: Id) -> Result<Shown, WebError> {
    let view = patrol_cases::notices::desk::visible_notice(&state.store, &page.actor, id).await?;
    let lang = page.lang;
    let verification_code = crate::audit::notice_code(&state.store, state.clock.now_ms(), id).await?;
    Ok(state
        .store
        .read(move |c| {
            let row = notices::get(c, id)?.ok_or_else(|| crate::store::DbError::Data("notice vanished".into()))?;
            let site =
                reference::get_site(c, row.site_id)?.ok_or_else(|| crate::store::DbError::Data("no site".into()))?;
            // The departments in use (the reassign picker), and the notice's own even
            // if it was retired since (its name).
            let mut departments = reference::list_departments(c, site.id)?;
            if !departments.iter().any(|d| d.id == row.department_id) {
                departments.extend(reference::get_department(c, row.department_id)?);
            }
            let checkpoint = match row.checkpoint_id {
                Some(cp) => reference::list_checkpoints_all(c, site.id)?
                    .into_iter()
                    .find(|x| x.id == cp)
                    .map(|x| format!("{} {}", x.code, lang.pick(&x.name_zh, &x.name_en))),
                None => None,
            };
            // The responsible people for a close with points deducted: the notice's
            // department's heads there first, then the department's staff.
            let mut responsible = Vec::new();
            for role in ["department_head", "department_staff"] {
                for r in c.query(
                    "SELECT p.id, p.display_name FROM role_assignments ra JOIN people p ON p.id = ra.person_id
                     WHERE ra.role = $1 AND ra.site_id = $2 AND ra.department_id = $3 AND ra.removed_ms IS NULL
                       AND p.active = 1 ORDER BY p.display_name",
                    &crate::params![role, site.id, row.department_id],
                )? {
                    let entry = (r.uuid(0)?, r.text(1)?);
                    if !responsible.contains(&entry) {
                        responsible.push(entry);
                    }
                }
            }
            let rules =
                patrol_cases::faults::catalogue::rules(c, site.org_id)?.into_iter().filter(|r| !r.retired).collect();
            let mut refusals_zh = BTreeMap::new();
            for e in view.events.iter().filter(|e| !e.applied) {
                let found = c.query_opt("SELECT reason_zh FROM records WHERE id = $1", &crate::params![e.record_id])?;
                if let Some(zh) = found.map(|r| r.opt_text(0)).transpose()?.flatten() {
                    refusals_zh.insert(e.record_id, zh);
                }
            }
            let mut overlays = BTreeMap::new();
            for sha in view.photos.iter().chain(&view.after_photos).chain(view.events.iter().flat_map(|e| &e.photos)) {
                if !overlays.contains_key(sha)
                    && let Some(o) = photos::overlay(c, sha)?
                {
                    overlays.insert(sha.clone(), o);
                }
            }
            Ok(Shown {
                row,
                view,
                site,
                departments,
                checkpoint,
                verification_code,
                refusals_zh,
                overlays,
                responsible,
                rules,
            })
        })
        .await?)
}

/// What the actor may do with the notice now, by the state machine; a serious
/// notice's verification waits for the corrective-action report.
fn allowed(page: &Page, n: &NoticeRow) -> Vec<(NoticeAction, Result<(), Refusal>)> {
    let roles = notices::roles_for(&page.actor, n);
    NoticeAction::ALL
        .into_iter()
        .filter_map(|a| match decide(n.state, a, &roles, n.severity, n.has_car) {
            Ok(_) => Some((a, Ok(()))),
            Err(r @ Refusal::NeedsCorrectiveActionReport) => Some((a, Err(r))),
            Err(_) => None,
        })
        .collect()
}

/// `GET /notices/{id}`
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let s = load(&state, &page, id).await?;
    let now = state.clock.now_ms();
    let lang = page.lang;
    let t = |k| lang.t(k);
    let tz = s.site.utc_offset_minutes;
    let v = &s.view;
    let overdue = v.is_overdue(now);
    let actions = allowed(&page, &s.row);
    let number = number_or_pending(lang, &v.number);
    let body = html! {
        p.crumbs { a href="/notices" { (t(K::Inbox)) } " / " (lang.pick(&s.site.name_zh, &s.site.name_en)) }
        div.notice-head {
            h1 { (t(K::RectificationNotice)) " " span.code #notice-number { (number) } }
            div {
                (state_badge(lang, v.state))
                @if overdue { " " span.badge.overdue { (t(K::Overdue)) } }
                @if v.severity == Severity::Serious { " " span.badge.serious { (t(K::Serious)) } }
                " " a.button.secondary href={ "/notices/" (v.id) "/notice.pdf" } download { (t(K::PrintNotice)) }
            }
        }
        (flash(q.yes(), lang))
        div.grid.notice-page {
            div.stack {
                section.card {
                    dl.facts {
                        dt { (t(K::Department)) } dd { (s.department_name(lang, v.department_id)) }
                        dt { (t(K::Location)) } dd { (v.location) @if let Some(cp) = &s.checkpoint { " · " span.muted { (cp) } } }
                        dt { (t(K::Severity)) } dd { (t(if v.severity == Severity::Serious { K::Serious } else { K::General })) }
                        dt { (t(K::Issuer)) } dd { (v.issuer_name) }
                        dt { (t(K::RaisedAt)) } dd { (local_time(v.raised_device_ms, tz)) span.muted { " (" (t(K::DeviceTime)) ")" } }
                        dt { (t(K::ReceivedAt)) } dd { (local_time(v.received_ms, tz)) span.muted { " (" (t(K::ServerTime)) ")" } }
                        dt { (t(K::Due)) } dd class=(if overdue { "bad" } else { "" }) { (local_time(v.due_ms, tz)) }
                        dt { (t(K::CorrectiveActionReport)) } dd { (t(if v.has_corrective_action { K::Yes } else { K::No })) }
                        @if let Some(code) = &s.verification_code { dt { (t(K::VerificationCode)) } dd.code #verification-code { (code) } }
                    }
                    h2 { (t(K::Description)) }
                    p.description { (v.description) }
                }
                section.card {
                    h2 { (t(K::BeforePhotos)) }
                    div.photos #before-photos { @for p in &v.photos { (marked_thumb(lang, p, s.overlays.get(p))) } @if v.photos.is_empty() { p.muted { (t(K::NoPhotos)) } } }
                    h2 { (t(K::AfterPhotos)) }
                    div.photos #after-photos { @for p in &v.after_photos { (marked_thumb(lang, p, s.overlays.get(p))) } @if v.after_photos.is_empty() { p.muted { (t(K::NoPhotos)) } } }
                    @if !v.photos_complete { p.hint { (t(K::PhotosUploading)) } }
                }
                section.card.span2.timeline-card {
                    h2 { (t(K::Timeline)) }
                    table.timeline.cards {
                        thead { tr {
                            th { (t(K::ServerTime)) } th { (t(K::DeviceTime)) } th { (t(K::Person)) }
                            th { (t(K::Action)) } th { (t(K::Result)) } th { (t(K::Reason)) }
                        } }
                        tbody {
                            @for e in &v.events {
                                tr class=(if e.applied { "" } else { "refused" }) {
                                    td.num data-label=(t(K::ServerTime)) { (local_time(e.server_time_ms, tz)) }
                                    td.num data-label=(t(K::DeviceTime)) { (local_time(e.device_time_ms, tz)) }
                                    td.name data-label=(t(K::Person)) { (e.actor_name) }
                                    td data-label=(t(K::Action)) {
                                        (action_name(lang, &e.action))
                                        @if let Some(to) = e.reassign_to { " → " (s.department_name(lang, to)) }
                                    }
                                    td.wide data-label=(t(K::Result)) {
                                        @if e.applied {
                                            span.ok { "✓ " (t(K::Applied)) }
                                            @if let Some(to) = e.to_state { br; span.muted { (crate::web::i18n::state_name(lang, to)) } }
                                        } @else {
                                            span.bad { "✗ " (t(K::Refused)) }
                                            @if e.refusal.is_some() { br; span.muted { (s.refusal(lang, e)) } }
                                        }
                                    }
                                    td.wide data-label=(t(K::Reason)) {
                                        (e.reason)
                                        @if !e.photos.is_empty() { div.photos.small { @for p in &e.photos { (marked_thumb(lang, p, s.overlays.get(p))) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.stack {
                @if actions.is_empty() {
                    section.card { h2 { (t(K::Actions)) } p.muted { (t(K::NoActions)) } }
                }
                @for (a, ok) in &actions {
                    (action_form(&page, &s, *a, ok.is_ok()))
                }
            }
        }
    };
    Ok(layout::chrome(&page, &number, body))
}

/// The form for one action, with the fields the action needs.
fn action_form(page: &Page, s: &Shown, action: NoticeAction, possible: bool) -> Markup {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let target = format!("/notices/{}/actions", s.row.id);
    let multipart = action == NoticeAction::ReportFix;
    let reason_label = match action {
        NoticeAction::CorrectiveAction => K::CorrectiveActionText,
        NoticeAction::ReportFix => K::FixNote,
        _ => K::Reason,
    };
    html! {
        section.card.action-card data-action=(action.as_str()) {
            h2 { (action_name(lang, action.as_str())) }
            @if !possible {
                p.hint { (t(K::NeedsCarFirst)) }
            } @else {
                form method="post" action=(target) enctype=(if multipart { "multipart/form-data" } else { "application/x-www-form-urlencoded" }) {
                    (csrf(page))
                    input type="hidden" name="action" value=(action.as_str());
                    (echo::form(&target, Some(("action", action.as_str())), || html! {
                        @if action == NoticeAction::Reassign {
                            label.field { span { (t(K::ReassignTo)) }
                                select name="reassign_to" required {
                                    @for d in s.departments.iter().filter(|d| d.id != s.row.department_id) {
                                        option value=(d.id) selected[layout::chosen("reassign_to", &d.id.to_string(), false)] {
                                            (lang.pick(&d.name_zh, &d.name_en))
                                        }
                                    }
                                }
                                (layout::field_error("reassign_to", echo::error_for("reassign_to")))
                            }
                        }
                        @if action == NoticeAction::VerifyFail {
                            label.field { span { (t(K::NewDue)) }
                                input type="datetime-local" name="new_due";
                                (layout::field_error("new_due", echo::error_for("new_due")))
                            }
                        }
                        @if action == NoticeAction::CloseWithPoints {
                            label.field { span { (t(K::Person)) }
                                select name="fault_person" required {
                                    @for (id, name) in &s.responsible { option value=(id) { (name) } }
                                }
                            }
                            label.field { span { (t(K::FaultRule)) }
                                select name="fault_rule" required {
                                    @for r in &s.rules { option value=(r.id) { (r.code) " " (lang.pick(&r.name_zh, &r.name_en)) " · " (r.points) } }
                                }
                            }
                            (layout::field(t(K::PointsDefault), "fault_points", "", layout::FieldKind::Optional))
                        }
                        @if multipart {
                            label.field { span { (t(K::AfterPhotosUpload)) }
                                input type="file" name="photos" accept="image/jpeg,image/png" multiple required;
                                (layout::field_error("photos", echo::error_for("photos")))
                            }
                        }
                        @if action != NoticeAction::Acknowledge && action != NoticeAction::VerifyPass {
                            @let typed = echo::typed("reason").unwrap_or_default();
                            label.field { span { (t(reason_label)) }
                                @if action.needs_reason() {
                                    textarea name="reason" rows="3" maxlength="4000" required { (typed) }
                                } @else {
                                    textarea name="reason" rows="2" maxlength="4000" { (typed) }
                                }
                                (layout::field_error("reason", echo::error_for("reason")))
                            }
                        }
                    }))
                    button class=(if matches!(action, NoticeAction::Void | NoticeAction::VerifyFail | NoticeAction::Dispute | NoticeAction::CloseWithPoints) { "danger" } else { "primary" })
                        type="submit" { (action_name(lang, action.as_str())) }
                }
            }
        }
    }
}

/// `POST /notices/{id}/actions`: one action, url-encoded or (a fix report with its
/// after-photos) multipart.
pub async fn act(State(state): State<AppState>, Path(id): Path<Id>, posted: Posted) -> Result<Response, WebError> {
    let f = &posted.form;
    let actor = &posted.page.actor;
    // Someone who may not see the notice is told so before anything they posted is
    // looked at (a 403, or 404 for a notice of another organisation).
    patrol_cases::notices::desk::visible_notice(&state.store, actor, id).await?;
    let action = NoticeAction::parse(f.get("action")).ok_or_else(|| ApiError::invalid("action", Reason::NotAChoice))?;
    let reassign_to = match action {
        NoticeAction::Reassign => Some(
            f.get("reassign_to")
                .parse::<Id>()
                .map_err(|_| ApiError::invalid("reassign_to", Reason::ChooseDepartment))?,
        ),
        _ => None,
    };
    let files: Vec<_> = f.files.iter().filter(|(name, u)| name == "photos" && !u.bytes.is_empty()).collect();
    if files.len() > FIX_PHOTOS_MAX {
        return Err(ApiError::invalid("photos", Reason::TooMany { max: FIX_PHOTOS_MAX }).into());
    }
    if !files.is_empty() && action != NoticeAction::ReportFix {
        return Err(ApiError::invalid("photos", Reason::OnlyFixCarriesPhotos).into());
    }
    let mut prepared = Vec::with_capacity(files.len());
    if !files.is_empty() {
        // Refuse before any image work or storage when the action cannot be taken.
        let a = actor.clone();
        let verdict = state.store.read(move |c| notices::check_action(c, &a, id, action)).await?;
        match verdict {
            None => return Err(ApiError::not_found(Thing::Notice).into()),
            Some(Err(refusal)) => {
                return Err(ApiError::Conflict(Reason::NoticeRefused { refusal }).into());
            }
            Some(Ok(_)) => {}
        }
        for (_, upload) in files {
            let (name, bytes) = (upload.filename.clone(), upload.bytes.clone());
            let p = tokio::task::spawn_blocking(move || photos::prepare_upload(&name, &bytes))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
            photos::store_bytes(&state, &p.sha256, p.jpeg.clone()).await?;
            prepared.push(p);
        }
    }
    // A second rectification's new due time, typed in the site's wall-clock time.
    let new_due_ms = match (action, f.get("new_due")) {
        (NoticeAction::VerifyFail, text) if !text.is_empty() => {
            let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .map_err(|_| ApiError::invalid("new_due", Reason::NotATime))?;
            let site = state
                .store
                .read(move |c| {
                    let n = notices::get(c, id)?;
                    Ok(match n {
                        Some(n) => reference::get_site(c, n.site_id)?,
                        None => None,
                    })
                })
                .await?
                .ok_or_else(|| ApiError::not_found(Thing::Notice))?;
            Some(local.and_utc().timestamp_millis() - i64::from(site.utc_offset_minutes) * 60_000)
        }
        _ => None,
    };
    let fault = match action {
        NoticeAction::CloseWithPoints => Some(patrol_protocol::fault::ClosingFault {
            person_id: f
                .get("fault_person")
                .parse()
                .map_err(|_| ApiError::invalid("fault_person", Reason::NotAChoice))?,
            rule_id: f.get("fault_rule").parse().map_err(|_| ApiError::invalid("fault_rule", Reason::NotAChoice))?,
            points: match f.get("fault_points") {
                "" => None,
                p => Some(p.parse().map_err(|_| ApiError::invalid("fault_points", Reason::NotNumber))?),
            },
        }),
        _ => None,
    };
    let req = NoticeActionRequest {
        action,
        reason: f.get("reason").to_string(),
        photos: Vec::new(),
        reassign_to,
        new_due_ms,
        fault,
    };
    patrol_cases::notices::desk::act_on(&state.store, actor, id, req, prepared, state.clock.now_ms()).await?;
    Ok(saved(&format!("/notices/{id}")))
}

/// `GET /photos/{sha256}` for a signed-in person who may see it.
pub async fn photo(State(state): State<AppState>, page: Page, Path(sha): Path<String>) -> Result<Response, WebError> {
    Ok(photos::serve(&state, &page.actor, &sha, false).await?.into_response())
}

/// `GET /photos/{sha256}/thumb`
pub async fn photo_thumb(
    State(state): State<AppState>,
    page: Page,
    Path(sha): Path<String>,
) -> Result<Response, WebError> {
    Ok(photos::serve(&state, &page.actor, &sha, true).await?.into_response())
}

/// Most photos of each kind printed on the notice form.
const PDF_PHOTOS_MAX: usize = 6;

async fn printable(
    state: &AppState,
    page: &Page,
    shas: &[String],
    overlays: &BTreeMap<String, photos::Overlay>,
) -> Result<Vec<exports::PdfPhoto>, WebError> {
    let mut out = Vec::new();
    for sha in shas.iter().take(PDF_PHOTOS_MAX) {
        // A photo still on its way from the phone is left off the print.
        if let Some(bytes) = photos::bytes_for(state, &page.actor, sha).await? {
            let p = tokio::task::spawn_blocking(move || exports::pdf_photo(&bytes))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            // The photo's markup layers print over it, as the page draws them.
            out.extend(p.map(|mut p| {
                p.marks = overlays
                    .get(sha)
                    .map(|o| o.layers.iter().flat_map(|l| l.marks.clone()).collect())
                    .unwrap_or_default();
                p
            }));
        }
    }
    Ok(out)
}

/// `GET /notices/{id}/notice.pdf`: the printable form, for whoever may see the notice.
pub async fn notice_pdf(State(state): State<AppState>, page: Page, Path(id): Path<Id>) -> Result<Response, WebError> {
    let s = load(&state, &page, id).await?;
    let before = printable(&state, &page, &s.view.photos, &s.overlays).await?;
    let after = printable(&state, &page, &s.view.after_photos, &s.overlays).await?;
    let lang = page.lang;
    let name = format!("notice-{}.pdf", s.view.number.clone().unwrap_or_else(|| s.view.id.to_string()));
    let bytes = exports::render_pdf(&state, move |font| exports::notice_pdf(font, lang, &s, before, after)).await?;
    Ok(exports::download("application/pdf", &name, bytes))
}
