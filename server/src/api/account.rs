//! People come and go, over HTTP: each handler reads the request and calls the use
//! case in `patrol_cases::account` (re-exported here), as the console does.

pub use patrol_cases::account::*;

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use patrol_protocol::{Id, Role};

use crate::auth;
use crate::error::ApiResult;
use crate::policy::Actor;
use crate::state::AppState;

/// `PUT /api/v1/people/{person_id}/active`: deactivate (signs them out everywhere;
/// their records stay theirs) or reactivate.
pub async fn set_active(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(req): Json<ActiveRequest>,
) -> ApiResult<StatusCode> {
    patrol_cases::account::set_active(&state.store, &actor, person_id, req, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/people/{person_id}/roles/remove`: takes one role away.
pub async fn remove_role(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(role): Json<Role>,
) -> ApiResult<StatusCode> {
    patrol_cases::account::remove_role(&state.store, &actor, person_id, role, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/people/{person_id}/password-reset`: a one-time password, every
/// login of the person ended.
pub async fn reset_password(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
) -> ApiResult<Json<ResetAnswer>> {
    let answer = patrol_cases::account::reset_password(&state.store, &actor, person_id, state.clock.now_ms()).await?;
    Ok(Json(answer))
}

/// `POST /api/v1/me/password`: the signed-in person changes their own password (the
/// only call a person with a one-time password may make). Other logins of the person
/// end; this one goes on.
pub async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    addr: auth::ClientAddr,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    auth::change_own_password(&state, &actor, &addr.0, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
