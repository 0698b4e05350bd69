//! The notices' JSON API: lists and views scoped by the policy, and sign-off actions
//! from the web console or scripts, written as records on the person's API chain.

use crate::api::extract::Json;
use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use patrol_protocol::Id;
use patrol_protocol::notice::NoticeState;
use patrol_protocol::reason::Reason;
use patrol_protocol::sync::{NoticeActionRequest, NoticeView};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::notices::{Cursor, ListFilter};
use crate::policy::Actor;
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
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

/// `GET /api/v1/notices/{id}`
pub async fn get(State(state): State<AppState>, actor: Actor, Path(id): Path<Id>) -> ApiResult<Json<NoticeView>> {
    Ok(Json(patrol_cases::notices::desk::visible_notice(&state.store, &actor, id).await?))
}

/// `POST /api/v1/notices/{id}/actions`: sign for receipt, dispute, report the fix,
/// verify, reassign, void, corrective-action report.
pub async fn act(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
    Json(req): Json<NoticeActionRequest>,
) -> ApiResult<Json<NoticeView>> {
    Ok(Json(
        patrol_cases::notices::desk::act_on(&state.store, &actor, id, req, Vec::new(), state.clock.now_ms()).await?,
    ))
}
