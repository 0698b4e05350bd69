//! Staff fault notices in the console (员工过失通知单): the list a person may read
//! and the form to issue one, one notice with its timeline and what the reader may do
//! to it (sign, refuse, appeal, decide, void), its paper form as PDF; a site's month
//! (违规处理情况汇总) with its Excel and PDF for finance and the root-cause notes; the
//! organisation's catalogue and scale.

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use patrol_protocol::fault::{
    AppealDecision, AppealDecisionRequest, FaultAction, FaultActionRequest, FaultScale, FaultView, IssueFaultRequest,
    ScaleBand, tenths_text,
};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{Id, Role, Site};
use serde::Deserialize;

use super::saved;
use crate::error::ApiError;
use crate::faults::api::sheet_for;
use crate::policy::Access;
use crate::state::AppState;
use crate::store::{people, reference};
use crate::web::error::WebError;
use crate::web::exports::{self, appeal_text, receipt_text};
use crate::web::i18n::K;
use crate::web::layout::{self, csrf, local_time};
use crate::web::session::{Page, Posted};
use patrol_cases::faults::catalogue::{self, RuleInput};
use patrol_cases::faults::{desk, month};

/// Most fault notices the list shows.
const LIST_MAX: i64 = 500;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    site: Option<Id>,
}

/// The current month of the first site, as the list and the summary start from.
fn this_month(state: &AppState, site: Option<&Site>) -> String {
    let offset = site.map_or(480, |s| s.utc_offset_minutes);
    patrol_cases::faults::month_of(state.clock.now_ms(), offset)
}

/// Whether the reader may issue fault notices somewhere (a supervisor, or a head).
fn issues_somewhere(page: &Page) -> bool {
    page.actor.supervises_somewhere() || page.actor.roles.iter().any(|r| matches!(r, Role::DepartmentHead { .. }))
}

/// `GET /faults`: the fault notices the reader may read, of a month; the issue form
/// for those who may issue.
pub async fn list(State(state): State<AppState>, page: Page, Query(q): Query<ListQuery>) -> Result<Markup, WebError> {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let org = page.actor.person.org_id;
    let a = page.actor.clone();
    let (sites, persons, rules) = state
        .store
        .read(move |c| {
            let sites: Vec<Site> = reference::list_sites(c, org)?
                .into_iter()
                .filter(|s| a.may(Access::ReadSite(s)) || a.is_admin())
                .collect();
            let persons = people::list_people(c, org)?.into_iter().filter(|p| p.active).collect::<Vec<_>>();
            Ok((sites, persons, catalogue::rules(c, org)?))
        })
        .await?;
    let month = match q.month.as_deref() {
        None | Some("") => this_month(&state, sites.first()),
        Some(m) if month::month_ok(m) => m.to_string(),
        Some(_) => return Err(ApiError::invalid("month", Reason::MonthFormat).into()),
    };
    let (a, m, site) = (page.actor.clone(), month.clone(), q.site);
    let views = state
        .store
        .read(move |c| {
            let rows = patrol_cases::faults::list_visible(c, &a, site, Some(&m), None, LIST_MAX)?;
            rows.iter().map(|f| patrol_cases::faults::view(c, f)).collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let supervised: Vec<&Site> =
        sites.iter().filter(|s| page.actor.may(Access::Supervise(s)) || page.actor.is_admin()).collect();
    let body = html! {
        div.section-head {
            h1 { (t(K::Faults)) " " (month) }
            div.links {
                @for s in &supervised {
                    a.button.secondary href={ "/sites/" (s.id) "/faults/" (month) } { (t(K::FaultMonth)) " · " (s.code) }
                }
                @if page.actor.is_admin() {
                    a.button.secondary href="/admin/fault-rules" { (t(K::FaultRules)) }
                }
            }
        }
        form.filters method="get" action="/faults" {
            label.field { span { (t(K::Month)) } input type="month" name="month" value=(month); }
            button.secondary type="submit" { (t(K::ApplyFilter)) }
        }
        section.card {
            table #faults {
                thead { tr {
                    th { (t(K::FaultNumber)) } th { (t(K::SeenAt)) } th { (t(K::Person)) } th { (t(K::FaultRule)) }
                    th.num { (t(K::Points)) } th { (t(K::Receipt)) } th { (t(K::AppealWord)) } th { (t(K::Issuer)) }
                } }
                tbody {
                    @for f in &views {
                        @let offset = sites.iter().find(|s| s.id == f.site_id).map_or(480, |s| s.utc_offset_minutes);
                        tr data-fault=(f.number) class=(if f.voided { "muted" } else { "" }) {
                            td { a href={ "/faults/" (f.id) } { (f.number) } }
                            td { (local_time(f.seen_ms, offset)) }
                            td { (f.person_name) }
                            td { (f.rule_code) " " (lang.pick(&f.rule_name_zh, &f.rule_name_en)) }
                            td.num { (points_cell(f)) }
                            td { (receipt_text(lang, &f.receipt)) }
                            td { (appeal_text(lang, f.appeal.as_deref())) }
                            td { (f.issuer_name) }
                        }
                    }
                    @if views.is_empty() { tr { td colspan="8" .muted { (t(K::Nothing)) } } }
                }
            }
        }
        @if issues_somewhere(&page) && !rules.is_empty() {
            section.card #issue-fault {
                h2 { (t(K::IssueFault)) }
                form method="post" action="/faults" {
                    (csrf(&page))
                    label.field { span { (t(K::Site)) }
                        select name="site_id" required {
                            @for s in &sites { option value=(s.id) { (s.code) " " (lang.pick(&s.name_zh, &s.name_en)) } }
                        }
                    }
                    label.field { span { (t(K::Person)) }
                        select name="person_id" required {
                            @for p in persons.iter().filter(|p| p.id != page.actor.person.id) {
                                option value=(p.id) { (p.display_name) " (" (p.login) ")" }
                            }
                        }
                    }
                    label.field { span { (t(K::FaultRule)) }
                        select name="rule_id" required {
                            @for r in rules.iter().filter(|r| !r.retired) {
                                option value=(r.id) { (r.code) " " (lang.pick(&r.name_zh, &r.name_en)) " · " (r.points) }
                            }
                        }
                    }
                    (layout::field(t(K::PointsDefault), "points", "", layout::FieldKind::Optional))
                    (layout::field(t(K::Seen), "seen", "", layout::FieldKind::Required))
                    (layout::field(t(K::Location), "location", "", layout::FieldKind::Optional))
                    button.primary #issue type="submit" { (t(K::IssueFault)) }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::Faults), body))
}

fn points_cell(f: &FaultView) -> String {
    if f.points_now == f.points { f.points.to_string() } else { format!("{} → {}", f.points, f.points_now) }
}

fn id_field(form: &crate::web::session::FormData, name: &'static str) -> Result<Id, ApiError> {
    form.get(name).parse().map_err(|_| ApiError::invalid(name, Reason::NotAChoice))
}

/// `POST /faults`
pub async fn issue(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    if !issues_somewhere(&posted.page) {
        return Err(ApiError::forbidden().into());
    }
    let f = &posted.form;
    let points = match f.get("points") {
        "" => None,
        p => Some(p.parse::<u32>().map_err(|_| ApiError::invalid("points", Reason::NotNumber))?),
    };
    let req = IssueFaultRequest {
        site_id: id_field(f, "site_id")?,
        person_id: id_field(f, "person_id")?,
        rule_id: id_field(f, "rule_id")?,
        points,
        seen: f.get("seen").to_string(),
        location: f.get("location").to_string(),
        notice_id: None,
    };
    let view = desk::issue(&state.store, &posted.page.actor, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/faults/{}", view.id)))
}

async fn site_of(state: &AppState, id: Id) -> Result<Site, WebError> {
    Ok(state.store.read(move |c| reference::get_site(c, id)).await?.ok_or_else(|| ApiError::not_found(Thing::Site))?)
}

/// `GET /faults/{fault_id}`
pub async fn show(State(state): State<AppState>, page: Page, Path(id): Path<Id>) -> Result<Markup, WebError> {
    let f = desk::visible_fault(&state.store, &page.actor, id).await?;
    let site = site_of(&state, f.site_id).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let me = page.actor.person.id;
    let offset = site.utc_offset_minutes;
    let mine = f.person_id == me;
    let body = html! {
        p.crumbs { a href="/faults" { (t(K::Faults)) } }
        div.section-head {
            h1 { (t(K::FaultNotice)) " " span #fault-number { (f.number) } }
            div.links { a.button #fault-pdf href={ "/faults/" (f.id) "/fault.pdf" } download { (t(K::ExportPdf)) } }
        }
        section.card {
            dl.facts {
                dt { (t(K::Site)) } dd { (site.code) " " (lang.pick(&site.name_zh, &site.name_en)) }
                dt { (t(K::Person)) } dd #fault-person { (f.person_name) }
                dt { (t(K::Superior)) } dd { (f.superior_name.clone().unwrap_or_else(|| "—".into())) }
                dt { (t(K::FaultRule)) } dd { (f.rule_code) " " (lang.pick(&f.rule_name_zh, &f.rule_name_en)) }
                dt { (t(K::Points)) } dd #fault-points { (points_cell(&f)) }
                dt { (t(K::SeenAt)) } dd { (local_time(f.seen_ms, offset)) }
                dt { (t(K::Location)) } dd { (f.location) }
                dt { (t(K::Seen)) } dd { (f.seen) }
                dt { (t(K::Issuer)) } dd { (f.issuer_name) }
                dt { (t(K::Receipt)) } dd #fault-receipt { (receipt_text(lang, &f.receipt)) }
                dt { (t(K::AppealWord)) } dd #fault-appeal { (appeal_text(lang, f.appeal.as_deref())) }
                @if f.voided { dt { (t(K::Voided)) } dd { (t(K::Aye)) } }
            }
        }
        @if !f.voided {
            @if mine && f.receipt == "pending" {
                section.card #answer {
                    form method="post" action={ "/faults/" (f.id) "/actions" } {
                        (csrf(&page))
                        input type="hidden" name="action" value="acknowledge";
                        button.primary #sign type="submit" { (t(K::SignFault)) }
                    }
                    form method="post" action={ "/faults/" (f.id) "/actions" } {
                        (csrf(&page))
                        input type="hidden" name="action" value="refuse";
                        (layout::field(t(K::Reason), "reason", "", layout::FieldKind::Optional))
                        button.secondary #refuse type="submit" { (t(K::RefuseFault)) }
                    }
                }
            }
            @if mine && f.appeal.is_none() {
                section.card #appeal {
                    h2 { (t(K::AppealWord)) }
                    form method="post" action={ "/faults/" (f.id) "/actions" } {
                        (csrf(&page))
                        input type="hidden" name="action" value="appeal";
                        (layout::field(t(K::AppealReason), "reason", "", layout::FieldKind::Required))
                        button.primary #submit-appeal type="submit" { (t(K::AppealWord)) }
                    }
                }
            }
            @if f.appeal.as_deref() == Some("open") && f.deciders.contains(&me) && !mine {
                section.card #decide {
                    h2 { (t(K::DecideAppeal)) }
                    form method="post" action={ "/faults/" (f.id) "/decision" } {
                        (csrf(&page))
                        label.field { span { (t(K::Decision)) }
                            select name="decision" {
                                @for d in AppealDecision::ALL { option value=(d.as_str()) { (lang.pick(d.name_zh(), d.name_en())) } }
                            }
                        }
                        (layout::field(t(K::PointsRemaining), "points", "", layout::FieldKind::Optional))
                        (layout::field(t(K::Reason), "reason", "", layout::FieldKind::Required))
                        button.primary #submit-decision type="submit" { (t(K::DecideAppeal)) }
                    }
                }
            }
            @if page.actor.is_supervisor_of(f.site_id) {
                section.card #void {
                    form method="post" action={ "/faults/" (f.id) "/actions" } {
                        (csrf(&page))
                        input type="hidden" name="action" value="void";
                        (layout::field(t(K::Reason), "reason", "", layout::FieldKind::Required))
                        button.danger type="submit" { (t(K::VoidFault)) }
                    }
                }
            }
        }
        section.card {
            h2 { (t(K::Timeline)) }
            table #fault-timeline {
                thead { tr { th { (t(K::ServerTime)) } th { (t(K::Person)) } th { (t(K::Action)) } th { (t(K::Reason)) } th { (t(K::Result)) } } }
                tbody {
                    @for e in &f.events {
                        tr {
                            td { (local_time(e.at_ms, offset)) }
                            td { (e.actor_name) }
                            td { (exports::fault_action_name(lang, &e.action)) @if let Some(p) = e.points { " · " (p) } }
                            td { (e.reason) }
                            td { @if e.applied { (t(K::Applied)) } @else { (t(K::Refused)) ": " (e.refusal.clone().unwrap_or_default()) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::FaultNotice), body))
}

/// `POST /faults/{fault_id}/actions`
pub async fn act(State(state): State<AppState>, Path(id): Path<Id>, posted: Posted) -> Result<Response, WebError> {
    let actor = &posted.page.actor;
    desk::visible_fault(&state.store, actor, id).await?;
    let action =
        FaultAction::parse(posted.form.get("action")).ok_or_else(|| ApiError::invalid("action", Reason::NotAChoice))?;
    let req = FaultActionRequest { action, reason: posted.form.get("reason").to_string() };
    desk::act(&state.store, actor, id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/faults/{id}")))
}

/// `POST /faults/{fault_id}/decision`
pub async fn decide(State(state): State<AppState>, Path(id): Path<Id>, posted: Posted) -> Result<Response, WebError> {
    let actor = &posted.page.actor;
    desk::visible_fault(&state.store, actor, id).await?;
    let f = &posted.form;
    let decision =
        AppealDecision::parse(f.get("decision")).ok_or_else(|| ApiError::invalid("decision", Reason::NotAChoice))?;
    let points = match (decision, f.get("points")) {
        (AppealDecision::Reduced, p) => p.parse::<u32>().map_err(|_| ApiError::invalid("points", Reason::NotNumber))?,
        _ => 0,
    };
    let req = AppealDecisionRequest { decision, points, reason: f.get("reason").to_string() };
    desk::decide(&state.store, actor, id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/faults/{id}")))
}

/// `GET /faults/{fault_id}/fault.pdf`
pub async fn fault_pdf(State(state): State<AppState>, page: Page, Path(id): Path<Id>) -> Result<Response, WebError> {
    let f = desk::visible_fault(&state.store, &page.actor, id).await?;
    let site = site_of(&state, f.site_id).await?;
    let lang = page.lang;
    let name = format!("fault-{}.pdf", f.number);
    let bytes = exports::render_pdf(&state, move |font| exports::fault_pdf(font, lang, &site, &f)).await?;
    Ok(exports::download("application/pdf", &name, bytes))
}

/// `GET /sites/{site_id}/faults/{month}`: the month-end summary.
pub async fn month_page(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, month)): Path<(Id, String)>,
) -> Result<Markup, WebError> {
    let (site, m) = sheet_for(&state, &page.actor, site_id, &month).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let base = format!("/sites/{}/faults/{}", site.id, m.month);
    let may_note = page.actor.is_supervisor_of(site.id);
    let body = html! {
        p.crumbs { a href="/faults" { (t(K::Faults)) } " / " (lang.pick(&site.name_zh, &site.name_en)) }
        div.section-head {
            h1 { (t(K::FaultMonth)) " " (m.month) }
            div.links {
                a.button #export-xlsx href={ (base) "/summary.xlsx" } download { (t(K::ExportExcel)) }
                a.button #export-pdf href={ (base) "/summary.pdf" } download { (t(K::ExportPdf)) }
            }
        }
        @match (&m.scale, m.scale_version) {
            (Some(s), Some(v)) => p.hint #scale {
                (t(K::ScaleVersion)) " " (v) " · " (t(K::FinePerPoint)) " " (format!("{:.2}", f64::from(s.fine_per_point_fen) / 100.0))
                " · " (t(K::PublishPoints)) " " (s.publish_points) " · " (t(K::RepeatCount)) " " (s.repeat_count)
                " · " (t(K::PersonShare)) " " (s.person_share_pct)
            },
            _ => p.hint #scale { (t(K::NoScale)) },
        }
        section.card {
            table #fault-people {
                thead { tr {
                    th { (t(K::Person)) } th.num { (t(K::FaultCount)) } th.num { (t(K::OwnShare)) } th.num { (t(K::Charged)) }
                    th.num { (t(K::TotalPoints)) } th { (t(K::Consequence)) } th.num { (t(K::FineYuan)) } th { (t(K::Published)) }
                } }
                tbody {
                    @for p in &m.people {
                        tr data-person=(p.name) {
                            td { (p.name) }
                            td.num { (p.notices) }
                            td.num { (tenths_text(p.own_tenths - p.shared_tenths)) }
                            td.num { (tenths_text(p.charged_tenths)) }
                            td.num.total { (tenths_text(p.total_tenths)) }
                            td.band { (lang.pick(p.band_zh.as_deref().unwrap_or(""), p.band_en.as_deref().unwrap_or(""))) }
                            td.num { (format!("{:.2}", p.fine_fen as f64 / 100.0)) }
                            td { @if p.published { (t(K::Aye)) } }
                        }
                    }
                    @if m.people.is_empty() { tr { td colspan="8" .muted { (t(K::Nothing)) } } }
                }
            }
        }
        section.card {
            h2 { (t(K::JointLiability)) }
            table #charges {
                thead { tr { th { (t(K::Superior)) } th { (t(K::Person)) } th { (t(K::FaultRule)) } th { (t(K::CausedBy)) } th.num { (t(K::Charged)) } } }
                tbody {
                    @for c in &m.charges {
                        tr { td { (c.superior_name) } td { (c.person_name) } td { (c.rule_code) " " (c.rule_name_zh) }
                             td { (c.numbers.join(", ")) } td.num { (tenths_text(c.tenths)) } }
                    }
                    @if m.charges.is_empty() { tr { td colspan="5" .muted { (t(K::Nothing)) } } }
                }
            }
        }
        section.card #repeats {
            h2 { (t(K::Repeats)) }
            @for p in &m.people {
                @for x in &p.repeats {
                    div.repeat {
                        p { strong { (p.name) } " · " (x.rule_code) " " (lang.pick(&x.rule_name_zh, &x.rule_name_en)) " ×" (x.count) " · " (x.numbers.join(", ")) }
                        @for n in &x.notes { p.note { (t(K::RootCause)) ": " (n) } }
                        @if may_note {
                            form method="post" action={ (base) "/notes" } {
                                (csrf(&page))
                                input type="hidden" name="person_id" value=(p.person_id);
                                input type="hidden" name="rule_id" value=(x.rule_id);
                                (layout::field(t(K::RootCause), "note", "", layout::FieldKind::Required))
                                button.secondary type="submit" { (t(K::AddNote)) }
                            }
                        }
                    }
                }
            }
            @if m.people.iter().all(|p| p.repeats.is_empty()) { p.muted { (t(K::Nothing)) } }
        }
        section.card {
            h2 { (t(K::Appeals)) }
            table #appeals {
                thead { tr { th { (t(K::FaultNumber)) } th { (t(K::Person)) } th { (t(K::AppealWord)) } th.num { (t(K::Points)) } } }
                tbody {
                    @for f in m.faults.iter().filter(|f| f.appeal.is_some()) {
                        tr { td { a href={ "/faults/" (f.id) } { (f.number) } } td { (f.person_name) }
                             td { (appeal_text(lang, f.appeal.as_deref())) } td.num { (points_cell(f)) } }
                    }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::FaultMonth), body))
}

/// `POST /sites/{site_id}/faults/{month}/notes`: a root-cause note on a repeated rule.
pub async fn add_note(
    State(state): State<AppState>,
    Path((site_id, m)): Path<(Id, String)>,
    posted: Posted,
) -> Result<Response, WebError> {
    let site = site_of(&state, site_id).await?;
    posted.page.actor.require(Access::Supervise(&site))?;
    if !month::month_ok(&m) {
        return Err(ApiError::invalid("month", Reason::MonthFormat).into());
    }
    let f = &posted.form;
    let (person, rule) = (id_field(f, "person_id")?, id_field(f, "rule_id")?);
    let note = f.get("note").to_string();
    patrol_protocol::model::check_text("note", &note, patrol_protocol::limits::TEXT_MAX, true)
        .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let (author, now, mm) = (posted.page.actor.person.id, state.clock.now_ms(), m.clone());
    state.store.write(move |c| month::add_note(c, site_id, &mm, person, rule, &note, author, now)).await?;
    Ok(saved(&format!("/sites/{site_id}/faults/{m}")))
}

/// `GET /sites/{site_id}/faults/{month}/summary.xlsx`
pub async fn month_xlsx(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, m)): Path<(Id, String)>,
) -> Result<Response, WebError> {
    let (site, sheet) = sheet_for(&state, &page.actor, site_id, &m).await?;
    let lang = page.lang;
    let name = format!("faults-{}-{m}.xlsx", site.code);
    let bytes = tokio::task::spawn_blocking(move || exports::fault_month_xlsx(lang, &site, &sheet))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    Ok(exports::download(exports::XLSX, &name, bytes))
}

/// `GET /sites/{site_id}/faults/{month}/summary.pdf`
pub async fn month_pdf(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, m)): Path<(Id, String)>,
) -> Result<Response, WebError> {
    let (site, sheet) = sheet_for(&state, &page.actor, site_id, &m).await?;
    let lang = page.lang;
    let name = format!("faults-{}-{m}.pdf", site.code);
    let bytes = exports::render_pdf(&state, move |font| exports::fault_month_pdf(font, lang, &site, &sheet)).await?;
    Ok(exports::download("application/pdf", &name, bytes))
}

/// `GET /admin/fault-rules`: the catalogue with each rule's edit form, and the scale.
pub async fn rules_page(State(state): State<AppState>, page: Page) -> Result<Markup, WebError> {
    page.actor.require(Access::Administer)?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let org = page.actor.person.org_id;
    let (rules, scale) =
        state.store.read(move |c| Ok((catalogue::rules(c, org)?, catalogue::scale(c, org, None)?))).await?;
    let bands_text = scale
        .as_ref()
        .map(|(s, _)| {
            s.bands
                .iter()
                .map(|b| {
                    format!(
                        "{} {} {} {}",
                        b.min_points,
                        b.label_zh,
                        b.label_en.replace(' ', "-"),
                        b.extra_fine_fen / 100
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let s = scale.as_ref().map(|s| &s.0);
    let yuan = |fen: u32| format!("{:.2}", f64::from(fen) / 100.0);
    let body = html! {
        h1 { (t(K::FaultRules)) }
        section.card {
            table #rules {
                thead { tr { th { (t(K::Code)) } th { (t(K::NameZh)) } th { (t(K::NameEn)) } th.num { (t(K::Points)) } th { (t(K::Retired)) } th.num { (t(K::Version)) } th { (t(K::Save)) } } }
                tbody {
                    @for r in &rules {
                        @let form = format!("rule-{}", r.id);
                        tr data-rule=(r.code) {
                            td { input type="text" name="code" value=(r.code) form=(form) required; }
                            td { input type="text" name="name_zh" value=(r.name_zh) form=(form) required; }
                            td { input type="text" name="name_en" value=(r.name_en) form=(form) required; }
                            td.num { input type="number" name="points" value=(r.points) min="1" max="100" form=(form) required; }
                            td { input type="checkbox" name="retired" value="1" form=(form) checked[r.retired]; }
                            td.num { (r.version) }
                            td {
                                form id=(form) method="post" action={ "/admin/fault-rules/" (r.id) } {
                                    (csrf(&page))
                                    button.secondary type="submit" { (t(K::Save)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #new-rule {
            h2 { (t(K::Create)) }
            form method="post" action="/admin/fault-rules" {
                (csrf(&page))
                (layout::field(t(K::Code), "code", "", layout::FieldKind::Required))
                (layout::field(t(K::NameZh), "name_zh", "", layout::FieldKind::Required))
                (layout::field(t(K::NameEn), "name_en", "", layout::FieldKind::Required))
                (layout::field(t(K::Points), "points", "", layout::FieldKind::Number))
                button.primary type="submit" { (t(K::Create)) }
            }
        }
        section.card #scale {
            h2 { (t(K::FaultScale)) @if let Some((_, v)) = &scale { " · " (t(K::ScaleVersion)) " " (v) } }
            form method="post" action="/admin/fault-scale" {
                (csrf(&page))
                (layout::field(t(K::FinePerPoint), "fine_per_point", &s.map(|s| yuan(s.fine_per_point_fen)).unwrap_or_default(), layout::FieldKind::Number))
                (layout::field(t(K::PublishPoints), "publish_points", &s.map(|s| s.publish_points.to_string()).unwrap_or_default(), layout::FieldKind::Number))
                (layout::field(t(K::RepeatCount), "repeat_count", &s.map(|s| s.repeat_count.to_string()).unwrap_or_default(), layout::FieldKind::Number))
                (layout::field(t(K::PersonShare), "person_share_pct", &s.map(|s| s.person_share_pct.to_string()).unwrap_or_default(), layout::FieldKind::Number))
                label.field { span { (t(K::Bands)) } textarea name="bands" rows="4" { (bands_text) } }
                p.hint { (t(K::BandsHint)) }
                button.primary type="submit" { (t(K::Save)) }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::FaultRules), body))
}

fn rule_input(f: &crate::web::session::FormData) -> Result<RuleInput, ApiError> {
    Ok(RuleInput {
        code: f.get("code").to_string(),
        name_zh: f.get("name_zh").to_string(),
        name_en: f.get("name_en").to_string(),
        points: f.get("points").parse().map_err(|_| ApiError::invalid("points", Reason::NotNumber))?,
        retired: !f.get("retired").is_empty(),
    })
}

/// `POST /admin/fault-rules`
pub async fn create_rule(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    posted.page.actor.require(Access::Administer)?;
    let input = rule_input(&posted.form)?;
    let (actor, now) = (posted.page.actor.clone(), state.clock.now_ms());
    state.store.write_or_refuse(move |c| Ok(catalogue::save_rule(c, &actor, None, &input, now))).await??;
    Ok(saved("/admin/fault-rules"))
}

/// `POST /admin/fault-rules/{rule_id}`: a new version of the rule.
pub async fn edit_rule(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.page.actor.require(Access::Administer)?;
    let org = posted.page.actor.person.org_id;
    if state.store.read(move |c| catalogue::rule(c, org, id)).await?.is_none() {
        return Err(ApiError::NotFound(Reason::FaultRuleUnknown).into());
    }
    let input = rule_input(&posted.form)?;
    let (actor, now) = (posted.page.actor.clone(), state.clock.now_ms());
    state.store.write_or_refuse(move |c| Ok(catalogue::save_rule(c, &actor, Some(id), &input, now))).await??;
    Ok(saved("/admin/fault-rules"))
}

/// Yuan as typed ("10", "10.5") in fen.
fn fen(field: &'static str, text: &str) -> Result<u32, ApiError> {
    let v: f64 = text.parse().map_err(|_| ApiError::invalid(field, Reason::NotNumber))?;
    if !v.is_finite() || !(0.0..=1_000_000.0).contains(&v) {
        return Err(ApiError::invalid(field, Reason::OutOfRange { min: 0.0, max: 1_000_000.0 }));
    }
    Ok((v * 100.0).round() as u32)
}

/// `POST /admin/fault-scale`: a new version of the scale from now on.
pub async fn save_scale(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    posted.page.actor.require(Access::Administer)?;
    let f = &posted.form;
    let number =
        |name: &'static str| f.get(name).parse::<u32>().map_err(|_| ApiError::invalid(name, Reason::NotNumber));
    let mut bands = Vec::new();
    for line in f.get("bands").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let bad = || ApiError::invalid("bands", Reason::BandsAscending);
        if parts.len() != 4 {
            return Err(bad().into());
        }
        bands.push(ScaleBand {
            min_points: parts[0].parse().map_err(|_| bad())?,
            label_zh: parts[1].to_string(),
            label_en: parts[2].replace('-', " "),
            extra_fine_fen: fen("bands", parts[3])?,
        });
    }
    let scale = FaultScale {
        fine_per_point_fen: fen("fine_per_point", f.get("fine_per_point"))?,
        bands,
        publish_points: number("publish_points")?,
        repeat_count: number("repeat_count")?,
        person_share_pct: number("person_share_pct")?,
    };
    let (actor, now) = (posted.page.actor.clone(), state.clock.now_ms());
    state.store.write_or_refuse(move |c| Ok(catalogue::save_scale(c, &actor, &scale, now))).await??;
    Ok(saved("/admin/fault-rules"))
}
