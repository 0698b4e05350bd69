//! Patrol runs and daily logs over JSON: the supervisor's views and signature.

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use patrol_protocol::Id;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::RecordPayload;
use patrol_protocol::sync::{DailyLog, RecordStatus, RunView};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::policy::Actor;
use crate::store::reference;
use crate::sync::append_server_record;

fn check_day(day: &str) -> ApiResult<()> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| ApiError::invalid("day", Reason::DateFormat))
}

/// `GET /api/v1/runs/{run_id}`: the walker and the site's supervisors.
pub async fn get_run(State(state): State<AppState>, actor: Actor, Path(run_id): Path<Id>) -> ApiResult<Json<RunView>> {
    let run = state
        .store
        .read(move |c| crate::patrols::run_view(c, run_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Run))?;
    if run.person_id != actor.person.id && !actor.is_supervisor_of(run.site_id) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(run))
}

pub async fn supervised_log(state: &AppState, actor: &Actor, site_id: Id, day: String) -> ApiResult<DailyLog> {
    check_day(&day)?;
    let site = state
        .store
        .read(move |c| reference::get_site(c, site_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Site))?;
    if site.org_id != actor.person.org_id || !actor.is_supervisor_of(site.id) {
        return Err(ApiError::forbidden());
    }
    Ok(state.store.read(move |c| crate::patrols::daily_log(c, &site, &day)).await?)
}

/// `GET /api/v1/sites/{site_id}/daily-logs/{day}`
pub async fn get_daily_log(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, day)): Path<(Id, String)>,
) -> ApiResult<Json<DailyLog>> {
    Ok(Json(supervised_log(&state, &actor, site_id, day).await?))
}

#[derive(Deserialize)]
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
    Ok(Json(sign(&state, &actor, site_id, day, req.comment).await?))
}

/// Signs a site's log of one day as the actor (审阅签字), on their server-kept chain:
/// the JSON API and the console both sign through here.
pub async fn sign(state: &AppState, actor: &Actor, site_id: Id, day: String, comment: String) -> ApiResult<DailyLog> {
    supervised_log(state, actor, site_id, day.clone()).await?;
    let payload = RecordPayload::DailyLogSigned { site_id, day: day.clone(), comment };
    payload.validate()?;
    let now = state.clock.now_ms();
    let a = actor.clone();
    let outcome = state.store.write(move |c| append_server_record(c, &a, payload, now).map(|(_, o)| o)).await?;
    if outcome.status == RecordStatus::Rejected {
        return Err(ApiError::Conflict(outcome.why.unwrap_or(Reason::Conflict)));
    }
    supervised_log(state, actor, site_id, day).await
}
