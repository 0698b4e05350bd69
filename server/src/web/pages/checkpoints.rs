//! A site's checkpoints for the administrator: the list, one at a time or a CSV
//! import (all or nothing), and the PDF sheets of QR labels to stick on site.

use std::collections::HashSet;

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{Checkpoint, Id, Site};

use super::sites::{Tab, number, site_header};
use super::{Saved, saved};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;
use crate::store::{DbError, reference};
use crate::web::csv_import::{self, RowError};
use crate::web::error::WebError;
use crate::web::i18n::K;
use crate::web::labels;
use crate::web::layout::{self, FieldKind, create_card, field, flash, import_card};
use crate::web::session::{Page, Posted};
use patrol_cases::admin::{self, NewChecklistItem, NewCheckpoint};

/// Most checkpoints one CSV file may bring.
pub const IMPORT_ROWS_MAX: usize = 500;

const CSV_COLUMNS: &[&str] =
    &["code", "name_zh", "name_en", "latitude", "longitude", "radius_m", "qr_token", "nfc_tag_id", "checklist"];

/// A checklist item as typed: "中文" or "中文 / English".
fn checklist_item(text: &str) -> NewChecklistItem {
    let (zh, en) = text.split_once(" / ").unwrap_or((text, ""));
    NewChecklistItem { text_zh: zh.trim().to_string(), text_en: en.trim().to_string() }
}

pub(super) fn checklist(text: &str, separator: char) -> Vec<NewChecklistItem> {
    text.split(separator).map(str::trim).filter(|l| !l.is_empty()).map(checklist_item).collect()
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The form's or a CSV row's fields as the JSON API's request; a blank radius
/// takes the API's default.
fn new_checkpoint(get: impl Fn(&str) -> String, checklist_separator: char) -> Result<NewCheckpoint, ApiError> {
    let radius = get("radius_m");
    Ok(NewCheckpoint {
        code: get("code"),
        name_zh: get("name_zh"),
        name_en: get("name_en"),
        latitude: number("latitude", &get("latitude"))?,
        longitude: number("longitude", &get("longitude"))?,
        radius_m: if radius.trim().is_empty() { 30.0 } else { number("radius_m", &radius)? },
        qr_token: optional(&get("qr_token")),
        nfc_tag_id: optional(&get("nfc_tag_id")),
        checklist: checklist(&get("checklist"), checklist_separator),
    })
}

/// `GET /admin/sites/{site_id}/checkpoints`
pub async fn list(
    State(state): State<AppState>,
    page: Page,
    Path(site_id): Path<Id>,
    Query(q): Query<Saved>,
) -> Result<Markup, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    render(&state, &page, &site, q.yes(), None).await
}

async fn render(
    state: &AppState,
    page: &Page,
    site: &Site,
    was_saved: bool,
    problems: Option<&[RowError]>,
) -> Result<Markup, WebError> {
    let site_id = site.id;
    let checkpoints = state.store.read(move |c| reference::list_checkpoints(c, site_id)).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let base = format!("/admin/sites/{}/checkpoints", site.id);
    let body = html! {
        (site_header(lang, site, Tab::Checkpoints))
        (flash(was_saved, lang))
        @if let Some(p) = problems { (csv_import::report(lang, p)) }
        div.grid {
            section.card.span2 {
                p.toolbar {
                    a.button href={ (base) "/labels.pdf" } download { (t(K::PrintLabels)) }
                }
                table #checkpoints {
                    thead { tr {
                        th { (t(K::Code)) } th { (t(K::Name)) } th { (t(K::Latitude)) " / " (t(K::Longitude)) }
                        th { (t(K::ChecklistItems)) } th { (t(K::QrToken)) } th {}
                    } }
                    tbody {
                        @for cp in &checkpoints {
                            tr data-code=(cp.code) {
                                td.code { (cp.code) }
                                td { (cp.name_zh) @if !cp.name_en.is_empty() { br; span.muted { (cp.name_en) } } }
                                td.num { (format!("{:.5}, {:.5}", cp.latitude, cp.longitude)) br; span.muted { "± " (cp.radius_m) " m" } }
                                td.num { (cp.checklist.len()) }
                                td { code.token { (cp.qr_token) } }
                                td.actions {
                                    a.label-link href={ (base) "/" (cp.id) "/label.pdf" } download { (t(K::PrintLabel)) }
                                    " "
                                    a href=(super::objects::href(site.id, reference::RefKind::Checkpoint, cp.id)) { (t(K::EditHistory)) }
                                }
                            }
                        }
                        @if checkpoints.is_empty() { tr { td colspan="6" .muted { (t(K::Nothing)) } } }
                    }
                }
            }
            div.stack {
                (create_card(page, t(K::NewCheckpoint), &base, || html! {
                    (field(t(K::Code), "code", "", FieldKind::Required))
                    (field(t(K::NameZh), "name_zh", "", FieldKind::Required))
                    (field(t(K::NameEn), "name_en", "", FieldKind::Optional))
                    div.pair {
                        (field(t(K::Latitude), "latitude", "", FieldKind::Number))
                        (field(t(K::Longitude), "longitude", "", FieldKind::Number))
                    }
                    (field(t(K::RadiusM), "radius_m", "30", FieldKind::Number))
                    (field(t(K::QrToken), "qr_token", "", FieldKind::Optional))
                    p.hint { (t(K::QrTokenHint)) }
                    (field(t(K::NfcTag), "nfc_tag_id", "", FieldKind::Optional))
                    (layout::textarea_field(t(K::Checklist), "checklist", "", 4, html! {}))
                }))
                (import_card(page, &format!("{base}/import"), K::CheckpointCsvHint))
            }
        }
    };
    Ok(layout::chrome(page, t(K::Checkpoints), body))
}

/// `POST /admin/sites/{site_id}/checkpoints`: the JSON API's `create_checkpoint`
/// checks and stores it.
pub async fn create(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let f = &posted.form;
    let req = new_checkpoint(|k| f.get(k).to_string(), '\n')?;
    let _created =
        admin::create_checkpoint(&state.store, &posted.page.actor, site_id, req, state.clock.now_ms()).await?;
    Ok(saved(&format!("/admin/sites/{site_id}/checkpoints")))
}

/// Turns CSV rows into checkpoints, collecting every row's problem.
fn checkpoints_from_csv(rows: &[csv_import::CsvRow], site_id: Id) -> Result<Vec<(usize, Checkpoint)>, Vec<RowError>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let (mut codes, mut tokens) = (HashSet::new(), HashSet::new());
    for row in rows {
        let built = new_checkpoint(|k| row.get(k).to_string(), '|')
            .and_then(|n| n.into_checkpoint(site_id).map_err(Into::into));
        match built {
            Ok(cp) => {
                if !codes.insert(cp.code.clone()) {
                    problems.push(RowError::about(row.line, "code", Reason::CodeTwiceInFile { code: cp.code.clone() }));
                } else if !tokens.insert(cp.qr_token.clone()) {
                    problems.push(RowError::about(row.line, "qr_token", Reason::QrTokenTwiceInFile));
                } else {
                    out.push((row.line, cp));
                }
            }
            Err(e) => problems.push(csv_import::row_refused(row.line, &e)),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// The edit a CSV row makes of an existing checkpoint: its new editable state, with
/// the ids of checklist items whose Chinese text is unchanged kept (results recorded
/// against an item keep their meaning).
fn edit_from_row(old: &Checkpoint, new: &Checkpoint) -> reference::Body {
    let mut body = reference::Body::of_checkpoint(new);
    if let reference::Body::Checkpoint { checklist, .. } = &mut body {
        for item in checklist.iter_mut() {
            if let Some(kept) = old.checklist.iter().find(|o| o.text_zh == item.text_zh) {
                item.id = kept.id;
            }
        }
    }
    body
}

/// `POST /admin/sites/{site_id}/checkpoints/import`: every row valid, or nothing. A
/// row whose code exists at the site edits that checkpoint (a new version, through
/// `versions::change` like any edit); other rows add checkpoints.
pub async fn import(
    State(state): State<AppState>,
    Path(site_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let site = admin::administered_site(&state.store, &posted.page.actor, site_id).await?;
    let file = posted.form.file("file").ok_or_else(|| ApiError::invalid("file", Reason::ChooseFile))?;
    let parsed =
        csv_import::read(&file.bytes, CSV_COLUMNS, &["code", "name_zh", "latitude", "longitude"], IMPORT_ROWS_MAX)
            .and_then(|rows| checkpoints_from_csv(&rows, site_id));
    let checkpoints = match parsed {
        Ok(c) => c,
        Err(problems) => return refused(&state, &posted.page, &site, &problems).await,
    };
    let now = state.clock.now_ms();
    let me = posted.page.actor.person.id;
    let outcome = state
        .store
        .write_or_refuse(move |c| {
            // Everything is checked against what is stored before anything is
            // written, and a refusal while writing rolls the whole file back, so a
            // refusal leaves the site exactly as it was.
            let retired = reference::retired_at(c, reference::RefKind::Checkpoint, site_id)?;
            let existing: std::collections::HashMap<String, Checkpoint> =
                reference::list_checkpoints_all(c, site_id)?.into_iter().map(|cp| (cp.code.clone(), cp)).collect();
            let mut problems = Vec::new();
            let (mut added, mut edits) = (Vec::new(), Vec::new());
            for (line, cp) in &checkpoints {
                match existing.get(&cp.code) {
                    Some(old) if retired.contains_key(&old.id) => problems.push(RowError::about(
                        *line,
                        "code",
                        Reason::RetiredNotImported { code: cp.code.clone() },
                    )),
                    Some(old) => edits.push((*line, old.id, edit_from_row(old, cp))),
                    None => {
                        if token_taken(c, &cp.qr_token)? {
                            problems.push(RowError::about(*line, "qr_token", Reason::QrTokenTaken));
                        }
                        added.push(cp);
                    }
                }
            }
            if !problems.is_empty() {
                return Ok(Err(problems));
            }
            for cp in &added {
                reference::insert_checkpoint(c, cp, now)?;
            }
            for (line, id, body) in &edits {
                let change = patrol_cases::versions::Change::Edit(body.clone());
                let done =
                    patrol_cases::versions::change(c, site_id, reference::RefKind::Checkpoint, *id, &change, me, now)?;
                if let Err(e) = done {
                    let problem = match e.field() {
                        Some(field) => RowError::about(*line, field, e.reason().clone()),
                        None => RowError::new(*line, e.reason().clone()),
                    };
                    return Ok(Err(vec![problem]));
                }
            }
            crate::sync::feed::reference_changed(c, site_id, now)?;
            Ok(Ok((added.len(), edits.len())))
        })
        .await?;
    match outcome {
        Ok((added, edited)) => {
            tracing::info!(site = %site_id, added, edited, "checkpoints imported");
            Ok(saved(&format!("/admin/sites/{site_id}/checkpoints")))
        }
        Err(problems) => refused(&state, &posted.page, &site, &problems).await,
    }
}

fn token_taken(c: &mut dyn crate::store::Conn, token: &str) -> Result<bool, DbError> {
    Ok(c.query_opt("SELECT 1 FROM checkpoints WHERE qr_token = $1", &params![token])?.is_some())
}

async fn refused(state: &AppState, page: &Page, site: &Site, problems: &[RowError]) -> Result<Response, WebError> {
    let body = render(state, page, site, false, Some(problems)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
}

fn pdf(filename: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response()
}

async fn sheet(state: &AppState, site: Site, only: Option<Id>) -> Result<Response, WebError> {
    let site_id = site.id;
    let mut checkpoints = state.store.read(move |c| reference::list_checkpoints(c, site_id)).await?;
    if let Some(id) = only {
        checkpoints.retain(|cp| cp.id == id);
        if checkpoints.is_empty() {
            return Err(ApiError::not_found(Thing::Checkpoint).into());
        }
    }
    let font_setting = state.settings.cjk_font.clone();
    let name = match only {
        Some(_) => format!("label-{}-{}.pdf", site.code, checkpoints[0].code),
        None => format!("labels-{}.pdf", site.code),
    };
    // Only ASCII in the header's filename; codes are free text.
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let bytes = tokio::task::spawn_blocking(move || {
        let font = labels::load_cjk_font(&font_setting)?;
        labels::sheet(&font, &site, &checkpoints)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    Ok(pdf(name, bytes))
}

/// `GET /admin/sites/{site_id}/checkpoints/labels.pdf`
pub async fn labels(State(state): State<AppState>, page: Page, Path(site_id): Path<Id>) -> Result<Response, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    sheet(&state, site, None).await
}

/// `GET /admin/sites/{site_id}/checkpoints/{checkpoint_id}/label.pdf`
pub async fn label(
    State(state): State<AppState>,
    page: Page,
    Path((site_id, checkpoint_id)): Path<(Id, Id)>,
) -> Result<Response, WebError> {
    let site = admin::administered_site(&state.store, &page.actor, site_id).await?;
    sheet(&state, site, Some(checkpoint_id)).await
}
