//! Patrol runs and daily logs over JSON: the supervisor's views and signature.

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use patrol_protocol::Id;
use patrol_protocol::reason::Thing;
use patrol_protocol::sync::{DailyLog, RunView};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::policy::Actor;
use crate::state::AppState;

/// `GET /api/v1/runs/{run_id}`: the walker and the site's supervisors.
pub async fn get_run(State(state): State<AppState>, actor: Actor, Path(run_id): Path<Id>) -> ApiResult<Json<RunView>> {
    let run = state
        .store
        .read(move |c| crate::patrols::run_view(c, run_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Run))?;
    if !actor.may_view_run(run.site_id, run.person_id) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(run))
}

/// `GET /api/v1/sites/{site_id}/daily-logs/{day}`
pub async fn get_daily_log(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, day)): Path<(Id, String)>,
) -> ApiResult<Json<DailyLog>> {
    Ok(Json(patrol_cases::patrols::review::supervised_log(&state.store, &actor, site_id, day).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/v1/sites/{site_id}/daily-logs/{day}/sign`: 审阅签字.
pub async fn sign_daily_log(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, day)): Path<(Id, String)>,
    Json(req): Json<SignRequest>,
) -> ApiResult<Json<DailyLog>> {
    Ok(Json(
        patrol_cases::patrols::review::sign(&state.store, &actor, site_id, day, req.comment, state.clock.now_ms())
            .await?,
    ))
}
