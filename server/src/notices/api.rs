//! The notices' JSON API: lists and views scoped by the policy, and sign-off actions
//! from the web console or scripts, written as records on the person's API chain.

use axum::Json;
use axum::extract::{Path, Query, State};
use patrol_protocol::Id;
use patrol_protocol::notice::NoticeState;
use patrol_protocol::record::{PhotoContext, RecordPayload};
use patrol_protocol::sync::{NoticeActionRequest, NoticeView, RecordStatus};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::policy::{Access, Actor};
use crate::store::reference;
use crate::sync::append_server_record;

#[derive(Deserialize)]
pub struct ListQuery {
    site_id: Option<Id>,
    state: Option<String>,
    /// Only notices past their due time and still open.
    #[serde(default)]
    overdue: bool,
}

/// `GET /api/v1/notices`: what the caller may see, overdue first, then by due time.
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<NoticeView>>> {
    let wanted_state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(NoticeState::parse(s).ok_or_else(|| ApiError::invalid("state", "not a notice state"))?),
    };
    let now = state.clock.now_ms();
    let a = actor.clone();
    let mut views = state
        .store
        .read(move |c| {
            let sites: Vec<_> = reference::list_sites(c, a.person.org_id)?
                .into_iter()
                .filter(|s| q.site_id.is_none_or(|id| id == s.id) && a.may(Access::ReadSite(s)))
                .collect();
            let ids: Vec<Id> = sites.iter().map(|s| s.id).collect();
            let mut out = Vec::new();
            for n in crate::notices::list_for_sites(c, &ids, 1000)? {
                let org = a.person.org_id;
                if !crate::notices::visible(&a, &n, org) || wanted_state.is_some_and(|s| s != n.state) {
                    continue;
                }
                if q.overdue && !(n.state.is_open() && now > n.due_ms) {
                    continue;
                }
                out.push(crate::notices::view(c, n)?);
            }
            Ok(out)
        })
        .await?;
    views.sort_by_key(|v| (!v.is_overdue(now), v.due_ms));
    Ok(Json(views))
}

pub async fn visible_notice(state: &AppState, actor: &Actor, id: Id) -> ApiResult<NoticeView> {
    let a = actor.clone();
    let found = state
        .store
        .read(move |c| {
            let Some(n) = crate::notices::get(c, id)? else { return Ok(None) };
            let org = reference::get_site(c, n.site_id)?.map(|s| s.org_id).unwrap_or_default();
            let visible = crate::notices::visible(&a, &n, org);
            Ok(Some((visible, crate::notices::view(c, n)?)))
        })
        .await?;
    match found {
        None => Err(ApiError::not_found("notice")),
        Some((false, _)) => Err(ApiError::forbidden()),
        Some((true, v)) => Ok(v),
    }
}

/// `GET /api/v1/notices/{id}`
pub async fn get(State(state): State<AppState>, actor: Actor, Path(id): Path<Id>) -> ApiResult<Json<NoticeView>> {
    Ok(Json(visible_notice(&state, &actor, id).await?))
}

/// `POST /api/v1/notices/{id}/actions`: sign for receipt, dispute, report the fix,
/// verify, reassign, void, corrective-action report.
pub async fn act(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
    Json(req): Json<NoticeActionRequest>,
) -> ApiResult<Json<NoticeView>> {
    Ok(Json(act_on(&state, &actor, id, req, Vec::new()).await?))
}

/// Acts on a notice for someone at a desk (console) or a script (JSON API): the one
/// path both take. The action is checked against the state machine first; refused
/// there, nothing is stored, since no device made it offline. Photos uploaded with
/// the action (a fix reported from a browser, already in the object store) are
/// recorded as `PhotoTaken` in the same transaction, before the action citing them.
pub async fn act_on(
    state: &AppState,
    actor: &Actor,
    id: Id,
    mut req: NoticeActionRequest,
    uploaded: Vec<crate::photos::Prepared>,
) -> ApiResult<NoticeView> {
    visible_notice(state, actor, id).await?;
    for p in &uploaded {
        if !req.photos.contains(&p.sha256) {
            req.photos.push(p.sha256.clone());
        }
    }
    let payload = RecordPayload::NoticeActed {
        notice_id: id,
        action: req.action,
        reason: req.reason,
        photos: req.photos,
        reassign_to: req.reassign_to,
    };
    payload.validate()?;
    let now = state.clock.now_ms();
    let a = actor.clone();
    // Refused anywhere (the state machine, a photo, the record's own outcome), the
    // transaction is rolled back: an action made at the desk that is refused stores
    // nothing, since no device made it offline.
    let outcome = state
        .store
        .write_or_refuse(move |c| {
            let n = match crate::notices::check_action(c, &a, id, req.action)?.expect("checked visible") {
                Ok(n) => n,
                Err(refusal) => return Ok(Err(refusal.to_string() + " / " + &refusal.message_zh())),
            };
            let context = PhotoContext { run_id: None, checkpoint_id: n.checkpoint_id, notice_id: Some(id) };
            for p in &uploaded {
                let o = crate::photos::record_prepared(c, &a, p, context.clone(), now)?;
                if o.status == RecordStatus::Rejected {
                    return Ok(Err(format!(
                        "photo refused: {} / 照片未被接受：{}",
                        o.reason.unwrap_or_default(),
                        o.reason_zh.unwrap_or_default()
                    )));
                }
            }
            let (_, outcome) = append_server_record(c, &a, payload, now)?;
            Ok(match outcome.status {
                RecordStatus::Rejected => {
                    Err(format!("{} / {}", outcome.reason.unwrap_or_default(), outcome.reason_zh.unwrap_or_default()))
                }
                _ => Ok(()),
            })
        })
        .await?;
    if let Err(reason) = outcome {
        return Err(ApiError::Conflict(format!("refused: {reason}")));
    }
    visible_notice(state, actor, id).await
}
