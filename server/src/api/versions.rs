//! Editing and retiring reference data, with history, over HTTP. Every change goes
//! through the use case `patrol_cases::versions::change` (re-exported here), from
//! this API, the console and CSV imports alike.

pub use patrol_cases::versions::*;

use crate::api::extract::{Json, Path};
use axum::extract::State;
use patrol_protocol::Id;

use crate::error::ApiResult;
use crate::policy::Actor;
use crate::state::AppState;
use crate::store::reference::{Body, RefKind, Version};

pub async fn edit_site(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<EditNames>,
) -> ApiResult<Json<Changed>> {
    let body = Body::Site { name_zh: req.name_zh, name_en: req.name_en };
    let version =
        change_now(&state.store, &actor, site_id, RefKind::Site, site_id, Change::Edit(body), state.clock.now_ms())
            .await?;
    Ok(Json(Changed { version }))
}

pub async fn edit_department(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, id)): Path<(Id, Id)>,
    Json(req): Json<EditNames>,
) -> ApiResult<Json<Changed>> {
    let body = Body::Department { name_zh: req.name_zh, name_en: req.name_en };
    let version =
        change_now(&state.store, &actor, site_id, RefKind::Department, id, Change::Edit(body), state.clock.now_ms())
            .await?;
    Ok(Json(Changed { version }))
}

pub async fn edit_checkpoint(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, id)): Path<(Id, Id)>,
    Json(req): Json<EditCheckpoint>,
) -> ApiResult<Json<Changed>> {
    let version = change_now(
        &state.store,
        &actor,
        site_id,
        RefKind::Checkpoint,
        id,
        Change::Edit(req.body()),
        state.clock.now_ms(),
    )
    .await?;
    Ok(Json(Changed { version }))
}

pub async fn edit_route(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, id)): Path<(Id, Id)>,
    Json(req): Json<EditRoute>,
) -> ApiResult<Json<Changed>> {
    let body = Body::Route { name_zh: req.name_zh, name_en: req.name_en, checkpoint_ids: req.checkpoint_ids };
    let version =
        change_now(&state.store, &actor, site_id, RefKind::Route, id, Change::Edit(body), state.clock.now_ms()).await?;
    Ok(Json(Changed { version }))
}

pub async fn edit_schedule(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, id)): Path<(Id, Id)>,
    Json(req): Json<EditSchedule>,
) -> ApiResult<Json<Changed>> {
    let body = Body::Schedule { days_of_week: req.days_of_week, windows: req.windows };
    let version =
        change_now(&state.store, &actor, site_id, RefKind::Schedule, id, Change::Edit(body), state.clock.now_ms())
            .await?;
    Ok(Json(Changed { version }))
}

/// `POST …/{id}/retire` of one kind.
pub async fn retire(state: AppState, actor: Actor, site_id: Id, id: Id, kind: RefKind) -> ApiResult<Json<Changed>> {
    let version = change_now(&state.store, &actor, site_id, kind, id, Change::Retire, state.clock.now_ms()).await?;
    Ok(Json(Changed { version }))
}

/// `GET …/{id}/history` of one kind: every version, oldest first.
async fn history_of(
    state: AppState,
    actor: Actor,
    site_id: Id,
    id: Id,
    kind: RefKind,
) -> ApiResult<Json<Vec<Version>>> {
    Ok(Json(patrol_cases::versions::history(&state.store, &actor, site_id, id, kind).await?))
}

/// Handlers for `retire` and `history` of each kind, for the route table.
macro_rules! per_kind {
    ($($retire:ident, $history:ident, $kind:expr;)*) => {$(
        pub async fn $retire(State(state): State<AppState>, actor: Actor, Path((site_id, id)): Path<(Id, Id)>) -> ApiResult<Json<Changed>> {
            retire(state, actor, site_id, id, $kind).await
        }
        pub async fn $history(State(state): State<AppState>, actor: Actor, Path((site_id, id)): Path<(Id, Id)>) -> ApiResult<Json<Vec<Version>>> {
            history_of(state, actor, site_id, id, $kind).await
        }
    )*};
}
per_kind! {
    retire_department, department_history, RefKind::Department;
    retire_checkpoint, checkpoint_history, RefKind::Checkpoint;
    retire_route, route_history, RefKind::Route;
    retire_schedule, schedule_history, RefKind::Schedule;
}

/// `GET /api/v1/sites/{site_id}/history`: the site's own versions.
pub async fn site_history(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Version>>> {
    history_of(state, actor, site_id, site_id, RefKind::Site).await
}
