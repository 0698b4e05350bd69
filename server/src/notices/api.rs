//! The notices' JSON API: lists and views scoped by the policy, and sign-off actions
//! from the web console or scripts, written as records on the person's API chain.

use crate::api::extract::Json;
use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use patrol_protocol::Id;
use patrol_protocol::notice::NoticeState;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::{PhotoContext, RecordPayload};
use patrol_protocol::sync::{NoticeActionRequest, NoticeView, RecordStatus};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::notices::{Cursor, ListFilter};
use crate::policy::Actor;
use crate::store::reference;
use crate::sync::append_server_record;

#[derive(Deserialize)]
pub struct ListQuery {
    site_id: Option<Id>,
    state: Option<String>,
    /// Only notices past their due time and still open.
    #[serde(default)]
    overdue: bool,
    /// Continue after this place in the list: the `Link: rel="next"` of the page before.
    after: Option<String>,
    /// Notices per page, 1 to `LIST_MAX` (default `LIST_DEFAULT`).
    limit: Option<i64>,
}

/// Notices per page of `GET /api/v1/notices` unless asked otherwise, and at most.
pub const LIST_DEFAULT: i64 = 200;
pub const LIST_MAX: i64 = 500;

/// `GET /api/v1/notices`: what the caller may see (filtered in the database by the
/// policy's rule), open ones first by due time (so the overdue lead), then closed and
/// voided ones. A page at a time: when more follow, the answer carries
/// `Link: <…&after=…>; rel="next"`, the address of the next page.
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<NoticeView>>)> {
    let wanted_state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(NoticeState::parse(s).ok_or_else(|| {
            ApiError::invalid("state", Reason::OneOf { allowed: NoticeState::ALL.map(NoticeState::as_str).join(", ") })
        })?),
    };
    let after = match q.after.as_deref() {
        None | Some("") => None,
        Some(text) => Some(Cursor::parse(text).ok_or_else(|| ApiError::invalid("after", Reason::NotAPlaceInList))?),
    };
    let limit = q.limit.unwrap_or(LIST_DEFAULT);
    if !(1..=LIST_MAX).contains(&limit) {
        return Err(ApiError::invalid("limit", Reason::OutOfRange { min: 1.0, max: LIST_MAX as f64 }));
    }
    let now = state.clock.now_ms();
    let filter = ListFilter {
        site_id: q.site_id,
        state: wanted_state,
        overdue_at: q.overdue.then_some(now),
        ..ListFilter::default()
    };
    let a = actor.clone();
    let (views, next) = state
        .store
        .read(move |c| {
            let page = crate::notices::page_visible(c, &a, &filter, after, limit)?;
            let views = page.rows.into_iter().map(|n| crate::notices::view(c, n)).collect::<Result<Vec<_>, _>>()?;
            Ok((views, page.next))
        })
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = next {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(site) = q.site_id {
            query.append_pair("site_id", &site.to_string());
        }
        if let Some(s) = wanted_state {
            query.append_pair("state", s.as_str());
        }
        if q.overdue {
            query.append_pair("overdue", "true");
        }
        query.append_pair("limit", &limit.to_string());
        query.append_pair("after", &next.to_string());
        let link = format!("</api/v1/notices?{}>; rel=\"next\"", query.finish());
        headers.insert(header::LINK, HeaderValue::from_str(&link).map_err(|e| ApiError::Internal(e.to_string()))?);
    }
    Ok((headers, Json(views)))
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
        None => Err(ApiError::not_found(Thing::Notice)),
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
                Err(refusal) => return Ok(Err(Reason::NoticeRefused { refusal })),
            };
            let context = PhotoContext { run_id: None, checkpoint_id: n.checkpoint_id, notice_id: Some(id) };
            for p in &uploaded {
                let o = crate::photos::record_prepared(c, &a, p, context.clone(), now)?;
                if let (RecordStatus::Rejected, Some(why)) = (o.status, o.why) {
                    return Ok(Err(Reason::PhotoRefused { why: Box::new(why) }));
                }
            }
            let (_, outcome) = append_server_record(c, &a, payload, now)?;
            Ok(match (outcome.status, outcome.why) {
                (RecordStatus::Rejected, Some(why)) => Err(why),
                _ => Ok(()),
            })
        })
        .await?;
    if let Err(why) = outcome {
        return Err(ApiError::Conflict(why));
    }
    visible_notice(state, actor, id).await
}
