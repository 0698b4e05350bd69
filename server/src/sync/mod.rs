//! Sync's HTTP face: the push, status and pull endpoints. What a push does to the
//! records and projections is the use case `patrol_cases::sync`, re-exported here.

pub use patrol_cases::sync::*;

use crate::api::extract::Json;
use crate::api::extract::Query;
use axum::extract::State;
use patrol_protocol::Id;
use patrol_protocol::reason::Reason;
use patrol_protocol::record::GENESIS_HASH;
use patrol_protocol::sync::{
    MAX_PULL_LIMIT, MAX_PUSH_BYTES, MAX_PUSH_RECORDS, PullResponse, PushRequest, PushResponse, SyncStatus,
};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult, DomainError};
use crate::policy::Actor;
use crate::state::AppState;

/// `POST /api/v1/sync/push`. Every answer is counted once, here: accepted with its
/// records' statuses, or refused by its reason, whichever check refused it.
pub async fn push_handler(
    State(state): State<AppState>,
    actor: Actor,
    crate::api::extract::JsonBytes(body, _): crate::api::extract::JsonBytes<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    let answer = push_answer(state, actor, body).await;
    match &answer {
        Ok(Json(resp)) => crate::metrics::push_accepted(resp),
        Err(e) => crate::metrics::push_refused(e.reason()),
    }
    answer
}

async fn push_answer(state: AppState, actor: Actor, body: axum::body::Bytes) -> ApiResult<Json<PushResponse>> {
    // The documented bound, exactly: the server-wide body limit is a little larger.
    if body.len() > MAX_PUSH_BYTES {
        return Err(ApiError::TooLarge(Reason::PushTooLarge { max_mib: MAX_PUSH_BYTES >> 20 }));
    }
    // Any push that does not read is 422, naming where (the body as a whole when it
    // is not JSON at all).
    let req: PushRequest = crate::api::extract::parse_located(&body)
        .map_err(|(field, reason)| ApiError::Invalid { field: field.unwrap_or_else(|| "body".into()), reason })?;
    if req.records.len() > MAX_PUSH_RECORDS {
        return Err(ApiError::TooLarge(Reason::TooMany { max: MAX_PUSH_RECORDS }));
    }
    if req.device_id != actor.device_id {
        return Err(ApiError::Forbidden(Reason::PushOtherDevice));
    }
    let now = state.clock.now_ms();
    let device_id = req.device_id;
    let offset = anchored_offset(&state.keys.read().expect("keys lock"), &req, now).map_err(DomainError::from)?;
    let a = actor.clone();
    // Encoded and hashed here, in parallel with other pushes, not in the one writer's turn.
    let canon = canonicalize(&req);
    let result = state.store.write_or_refuse(move |c| push(c, &a, &req, &canon, now, offset)).await?;
    match result {
        Ok(mut resp) => {
            resp.time_token = state.keys.read().expect("keys lock").time_token(device_id, resp.server_time_ms);
            // Its leaves and feed entries are pending: the sequencer takes them now.
            state.sequencer.nudge(&state);
            Ok(Json(resp))
        }
        Err(PushRefusal::Fork { seq, stored_hash, offered }) => {
            let o = offered.clone();
            let s = stored_hash.clone();
            let kept = state.store.write(move |c| flag_fork(c, device_id, seq, s, &o, now)).await?;
            tracing::warn!(device = %device_id, seq, kept, "fork offered; flagged for audit");
            Err(DomainError::from(PushRefusal::Fork { seq, stored_hash, offered }).into())
        }
        Err(other) => Err(DomainError::from(other).into()),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct StatusQuery {
    device_id: Id,
}

/// `GET /api/v1/sync/status?device_id=…`
pub async fn status_handler(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<SyncStatus>> {
    let dev = state.store.read(move |c| device(c, q.device_id)).await?;
    if dev.as_ref().is_some_and(|d| d.person_id != actor.person.id) {
        return Err(ApiError::forbidden());
    }
    let (acked_seq, acked_hash) = dev.map_or((0, GENESIS_HASH.to_string()), |d| (d.acked_seq, d.acked_hash));
    let now = state.clock.now_ms();
    let time_token = state.keys.read().expect("keys lock").time_token(q.device_id, now);
    Ok(Json(SyncStatus { acked_seq, acked_hash, server_time_ms: now, time_token }))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PullQuery {
    #[serde(default)]
    cursor: String,
    limit: Option<u32>,
}

fn parse_cursor(cursor: &str) -> ApiResult<i64> {
    if cursor.is_empty() {
        return Ok(0);
    }
    cursor
        .strip_prefix("v1.")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 0)
        .ok_or_else(|| ApiError::invalid("cursor", Reason::NotACursor))
}

/// `GET /api/v1/sync/pull?cursor=…&limit=…`
pub async fn pull_handler(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<PullQuery>,
) -> ApiResult<Json<PullResponse>> {
    let after = parse_cursor(&q.cursor)?;
    let initial = q.cursor.is_empty();
    let limit = q.limit.unwrap_or(200).clamp(1, MAX_PULL_LIMIT);
    // Everything committed before this pull is in the feed it reads.
    state.caught_up().await?;
    let now = state.clock.now_ms();
    Ok(Json(state.store.read(move |c| pull(c, &actor, after, initial, limit, now)).await?))
}
