//! The administrator's JSON API for reference data, and the scoped reads that
//! supervisors, heads and patrol staff make of it: each handler reads the request and
//! calls the use case in `patrol_cases::admin` (re-exported here), as the console does.

pub use patrol_cases::admin::*;

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use patrol_protocol::api::Me;
use patrol_protocol::{Checkpoint, Department, Id, Role, Route, Schedule, Site};

use crate::error::ApiResult;
use crate::policy::Actor;
use crate::state::AppState;

type Created<T> = ApiResult<(StatusCode, Json<T>)>;

pub async fn me(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Me>> {
    Ok(Json(patrol_cases::admin::me(&state.store, &actor).await?))
}

pub async fn list_sites(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Vec<Site>>> {
    Ok(Json(patrol_cases::admin::list_sites(&state.store, &actor).await?))
}

pub async fn create_site(State(state): State<AppState>, actor: Actor, Json(req): Json<NewSite>) -> Created<Site> {
    let site = patrol_cases::admin::create_site(&state.store, &actor, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(site)))
}

pub async fn get_site(State(state): State<AppState>, actor: Actor, Path(site_id): Path<Id>) -> ApiResult<Json<Site>> {
    Ok(Json(readable_site(&state.store, &actor, site_id).await?))
}

pub async fn list_departments(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Department>>> {
    Ok(Json(patrol_cases::admin::list_departments(&state.store, &actor, site_id).await?))
}

pub async fn create_department(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewDepartment>,
) -> Created<Department> {
    let dept = patrol_cases::admin::create_department(&state.store, &actor, site_id, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(dept)))
}

pub async fn list_checkpoints(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Checkpoint>>> {
    Ok(Json(patrol_cases::admin::list_checkpoints(&state.store, &actor, site_id).await?))
}

pub async fn create_checkpoint(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewCheckpoint>,
) -> Created<Checkpoint> {
    let cp = patrol_cases::admin::create_checkpoint(&state.store, &actor, site_id, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(cp)))
}

pub async fn list_routes(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Route>>> {
    Ok(Json(patrol_cases::admin::list_routes(&state.store, &actor, site_id).await?))
}

pub async fn create_route(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewRoute>,
) -> Created<Route> {
    let route = patrol_cases::admin::create_route(&state.store, &actor, site_id, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(route)))
}

pub async fn list_schedules(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Schedule>>> {
    Ok(Json(patrol_cases::admin::list_schedules(&state.store, &actor, site_id).await?))
}

pub async fn create_schedule(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewSchedule>,
) -> Created<Schedule> {
    let s = patrol_cases::admin::create_schedule(&state.store, &actor, site_id, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

pub async fn list_people(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Vec<PersonWithRoles>>> {
    Ok(Json(patrol_cases::admin::list_people(&state.store, &actor).await?))
}

pub async fn create_person(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<NewPerson>,
) -> Created<PersonWithRoles> {
    let p = patrol_cases::admin::create_person(&state.store, &actor, req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

pub async fn add_role(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(role): Json<Role>,
) -> Created<PersonWithRoles> {
    let p = patrol_cases::admin::add_role(&state.store, &actor, person_id, role, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}
