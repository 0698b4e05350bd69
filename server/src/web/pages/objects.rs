//! One reference object for the administrator: its current state as an edit form, a
//! retire button, and its history, every version with when it took effect and who
//! made it (issue 13, item 1). Edits and retirements go through the one
//! `versions::change`, as from the JSON API and the CSV import.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use patrol_protocol::{ChecklistItem, Id};

use super::routes::{parse_window, weekday};
use super::sites::{Tab, number, site_header};
use super::{Saved, saved};
use patrol_cases::admin;
use patrol_cases::versions::{self, Change};
use patrol_protocol::reason::Reason;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::people;
use crate::store::reference::{self, Body, RefKind, Version};
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, FieldKind, csrf, field, flash, local_time, window_span};
use crate::web::session::{Page, Posted};

fn kind_of(segment: &str) -> Result<RefKind, WebError> {
    RefKind::parse(segment).ok_or_else(|| ApiError::NotFound(Reason::NoSuchKind).into())
}

/// Where an object's page is.
pub fn href(site_id: Id, kind: RefKind, id: Id) -> String {
    format!("/admin/sites/{site_id}/objects/{}/{id}", kind.as_str())
}

fn list_of(site_id: Id, kind: RefKind) -> String {
    match kind {
        RefKind::Site => format!("/admin/sites/{site_id}"),
        RefKind::Department => format!("/admin/sites/{site_id}/departments"),
        RefKind::Checkpoint => format!("/admin/sites/{site_id}/checkpoints"),
        RefKind::Route => format!("/admin/sites/{site_id}/routes"),
        RefKind::Schedule => format!("/admin/sites/{site_id}/schedules"),
    }
}

fn tab(kind: RefKind) -> Tab {
    match kind {
        RefKind::Site => Tab::Overview,
        RefKind::Department => Tab::Departments,
        RefKind::Checkpoint => Tab::Checkpoints,
        RefKind::Route => Tab::Routes,
        RefKind::Schedule => Tab::Schedules,
    }
}

fn title(lang: Lang, body: &Body) -> String {
    match body {
        Body::Site { name_zh, name_en }
        | Body::Department { name_zh, name_en }
        | Body::Checkpoint { name_zh, name_en, .. }
        | Body::Route { name_zh, name_en, .. } => lang.pick(name_zh, name_en).to_string(),
        Body::Schedule { windows, .. } => {
            windows.iter().map(|w| window_span(lang, w.start_minute, w.end_minute)).collect::<Vec<_>>().join("，")
        }
    }
}

/// `GET /admin/sites/{site_id}/objects/{kind}/{id}`
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, segment, id)): Path<(Id, String, Id)>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let kind = kind_of(&segment)?;
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    // The history API checks that the object is this site's.
    let history = versions::history(&state.store, &page.actor, site_id, id, kind).await?;
    let org = site.org_id;
    let (live, checkpoints, names) = state
        .store
        .read(move |c| {
            let names: HashMap<Id, String> =
                people::list_people(c, org)?.into_iter().map(|p| (p.id, p.display_name)).collect();
            Ok((reference::live(c, kind, id)?, reference::list_checkpoints_all(c, site_id)?, names))
        })
        .await?;
    let Some((current, retired, _)) = live else {
        return Err(ApiError::NotFound(Reason::NoSuchKind).into());
    };
    let lang = page.lang;
    let t = |k| lang.t(k);
    let (kind_zh, kind_en) = kind.label();
    let action = href(site_id, kind, id);
    let code_of = |id: &Id| checkpoints.iter().find(|cp| cp.id == *id).map_or("?".to_string(), |cp| cp.code.clone());
    let body = html! {
        (site_header(lang, &site, tab(kind)))
        (flash(q.yes(), lang))
        div.grid {
            section.card.span2 {
                h2 {
                    (lang.pick(kind_zh, kind_en)) " · " (title(lang, &current))
                    @if retired.is_some() { " " span.badge.retired { (t(K::Retired)) } }
                }
                h3 { (t(K::History)) }
                div.table-wrap {
                    table #history {
                        thead { tr { th.num { (t(K::Version)) } th { (t(K::ValidFrom)) } th { (t(K::ChangedBy)) } th { (t(K::Content)) } } }
                        tbody {
                            @for v in history.iter().rev() {
                                (version_row(lang, &site, v, &names, &code_of))
                            }
                        }
                    }
                }
            }
            @if retired.is_none() {
                div.stack {
                    section.card {
                        h2 { (t(K::EditObject)) }
                        form method="post" action={ (action) "/edit" } {
                            (csrf(&page))
                            (edit_fields(lang, &current, &checkpoints))
                            button type="submit" { (t(K::SaveChanges)) }
                        }
                    }
                    @if kind != RefKind::Site {
                        section.card {
                            h2 { (t(K::Retire)) }
                            p.hint { (t(K::RetireHint)) }
                            form method="post" action={ (action) "/retire" } {
                                (csrf(&page))
                                button.danger type="submit" { (t(K::Retire)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::chrome(&page, t(K::History), body))
}

fn version_row(
    lang: Lang,
    site: &patrol_protocol::Site,
    v: &Version,
    names: &HashMap<Id, String>,
    code_of: &dyn Fn(&Id) -> String,
) -> Markup {
    let who = v.actor_id.and_then(|a| names.get(&a).cloned()).unwrap_or_else(|| "—".into());
    let content = match &v.body {
        Body::Route { name_zh, name_en, checkpoint_ids } => format!(
            "{} · {}",
            lang.pick(name_zh, name_en),
            checkpoint_ids.iter().map(code_of).collect::<Vec<_>>().join(" → ")
        ),
        Body::Schedule { days_of_week, windows } => format!(
            "{} · {}",
            days_of_week.iter().map(|d| weekday(lang, *d)).collect::<Vec<_>>().join(" "),
            windows
                .iter()
                .map(|w| format!("{} × {}", window_span(lang, w.start_minute, w.end_minute), w.runs))
                .collect::<Vec<_>>()
                .join("，")
        ),
        other => other.summary(),
    };
    html! {
        tr {
            td.num { (v.version) }
            td { (local_time(v.valid_from_ms, site.utc_offset_minutes)) }
            td.name { (who) }
            td {
                @if v.retired_ms.is_some() { span.badge.retired { (lang.t(K::Retired)) } " " }
                (content)
            }
        }
    }
}

fn edit_fields(lang: Lang, body: &Body, checkpoints: &[patrol_protocol::Checkpoint]) -> Markup {
    let t = |k| lang.t(k);
    html! {
        @match body {
            Body::Site { name_zh, name_en } | Body::Department { name_zh, name_en } => {
                (field(t(K::NameZh), "name_zh", name_zh, FieldKind::Required))
                (field(t(K::NameEn), "name_en", name_en, FieldKind::Optional))
            }
            Body::Checkpoint { name_zh, name_en, latitude, longitude, radius_m, nfc_tag_id, checklist } => {
                (field(t(K::NameZh), "name_zh", name_zh, FieldKind::Required))
                (field(t(K::NameEn), "name_en", name_en, FieldKind::Optional))
                div.pair {
                    (field(t(K::Latitude), "latitude", &latitude.to_string(), FieldKind::Number))
                    (field(t(K::Longitude), "longitude", &longitude.to_string(), FieldKind::Number))
                }
                (field(t(K::RadiusM), "radius_m", &radius_m.to_string(), FieldKind::Number))
                (field(t(K::NfcTag), "nfc_tag_id", nfc_tag_id.as_deref().unwrap_or(""), FieldKind::Optional))
                label.field { span { (t(K::Checklist)) }
                    textarea name="checklist" rows="5" {
                        @for item in checklist {
                            (item.text_zh) @if !item.text_en.is_empty() { " / " (item.text_en) } "\n"
                        }
                    }
                }
            }
            Body::Route { name_zh, name_en, checkpoint_ids } => {
                (field(t(K::NameZh), "name_zh", name_zh, FieldKind::Required))
                (field(t(K::NameEn), "name_en", name_en, FieldKind::Optional))
                p.hint { (t(K::RouteOrderHint)) }
                div.order-list {
                    @for cp in checkpoints {
                        @let at = checkpoint_ids.iter().position(|x| *x == cp.id).map(|i| (i + 1).to_string()).unwrap_or_default();
                        label.order-item {
                            input type="text" inputmode="numeric" size="3" name={ "order_" (cp.id) } value=(at) aria-label=(t(K::Order));
                            span.code { (cp.code) } " " (lang.pick(&cp.name_zh, &cp.name_en))
                        }
                    }
                }
            }
            Body::Schedule { days_of_week, windows } => {
                fieldset.days {
                    legend { (t(K::Days)) }
                    @for d in 1u8..=7 {
                        label.check { input type="checkbox" name="day" value=(d) checked[days_of_week.contains(&d)]; (weekday(lang, d)) }
                    }
                }
                label.field { span { (t(K::Windows)) }
                    textarea name="windows" rows="3" {
                        @for w in windows {
                            (format!("{:02}:{:02}-{:02}:{:02} {}\n", w.start_minute / 60, w.start_minute % 60, w.end_minute / 60, w.end_minute % 60, w.runs))
                        }
                    }
                }
                p.hint { (t(K::WindowsHint)) }
            }
        }
    }
}

/// The form's fields as the object's new state, of the same kind as `current`.
fn body_from_form(f: &crate::web::session::FormData, current: &Body) -> Result<Body, ApiError> {
    let names = || (f.get("name_zh").trim().to_string(), f.get("name_en").trim().to_string());
    Ok(match current {
        Body::Site { .. } => {
            let (name_zh, name_en) = names();
            Body::Site { name_zh, name_en }
        }
        Body::Department { .. } => {
            let (name_zh, name_en) = names();
            Body::Department { name_zh, name_en }
        }
        Body::Checkpoint { checklist: old, .. } => {
            let (name_zh, name_en) = names();
            let checklist = super::checkpoints::checklist(f.get("checklist"), '\n')
                .into_iter()
                .map(|i| ChecklistItem {
                    // An item whose Chinese text stays keeps its id.
                    id: old.iter().find(|o| o.text_zh == i.text_zh).map_or_else(Id::now_v7, |o| o.id),
                    text_zh: i.text_zh,
                    text_en: i.text_en,
                })
                .collect();
            let nfc = f.get("nfc_tag_id").trim();
            Body::Checkpoint {
                name_zh,
                name_en,
                latitude: number("latitude", f.get("latitude"))?,
                longitude: number("longitude", f.get("longitude"))?,
                radius_m: number("radius_m", f.get("radius_m"))?,
                nfc_tag_id: Some(nfc.to_string()).filter(|t| !t.is_empty()),
                checklist,
            }
        }
        Body::Route { .. } => {
            let (name_zh, name_en) = names();
            let mut numbered: Vec<(u32, Id)> = Vec::new();
            for (name, value) in &f.fields {
                let Some(id) = name.strip_prefix("order_") else { continue };
                if value.trim().is_empty() {
                    continue;
                }
                let id: Id = id.parse().map_err(|_| ApiError::invalid("checkpoint_ids", Reason::NotAChoice))?;
                numbered.push((number("order", value)?, id));
            }
            numbered.sort_by_key(|(n, _)| *n);
            if numbered.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(ApiError::invalid("order", Reason::SameOrderNumber));
            }
            Body::Route { name_zh, name_en, checkpoint_ids: numbered.into_iter().map(|(_, id)| id).collect() }
        }
        Body::Schedule { .. } => {
            let days_of_week = f.all("day").map(|d| number("days_of_week", d)).collect::<Result<Vec<u8>, _>>()?;
            let windows = f
                .get("windows")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(25)
                .map(parse_window)
                .collect::<Result<Vec<_>, _>>()?;
            Body::Schedule { days_of_week, windows }
        }
    })
}

/// `POST /admin/sites/{site_id}/objects/{kind}/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Path((site_id, segment, id)): Path<(Id, String, Id)>,
    posted: Posted,
) -> Result<Response, WebError> {
    let kind = kind_of(&segment)?;
    admin::administered_site(&state.store, &posted.page.actor, site_id).await?;
    let current = state.store.read(move |c| reference::live(c, kind, id)).await?;
    let Some((current, _, _)) = current else {
        return Err(ApiError::NotFound(Reason::NoSuchKind).into());
    };
    let body = body_from_form(&posted.form, &current)?;
    versions::change_now(&state.store, &posted.page.actor, site_id, kind, id, Change::Edit(body), state.clock.now_ms())
        .await?;
    Ok(saved(&href(site_id, kind, id)))
}

/// `POST /admin/sites/{site_id}/objects/{kind}/{id}/retire`
pub async fn retire(
    State(state): State<AppState>,
    Path((site_id, segment, id)): Path<(Id, String, Id)>,
    posted: Posted,
) -> Result<Response, WebError> {
    let kind = kind_of(&segment)?;
    versions::change_now(&state.store, &posted.page.actor, site_id, kind, id, Change::Retire, state.clock.now_ms())
        .await?;
    Ok(Redirect::to(&format!("{}?saved=1", list_of(site_id, kind))).into_response())
}
