//! People come and go: an administrator deactivates and reactivates a person, removes
//! a role, resets a password to a one-time one; everyone changes their own password.
//! Deactivation and a reset end every login of the person at once (refresh tokens,
//! console sessions; access tokens at their next request).

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use patrol_protocol::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{self, password};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Access, Actor};
use crate::store::people;
use crate::sync::feed;
use patrol_protocol::reason::{Reason, Thing};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveRequest {
    pub active: bool,
}

/// The person, checked to be of the administrator's organisation and not the
/// administrator themself (nobody locks themself out).
async fn administered_person(state: &AppState, actor: &Actor, person: Id) -> ApiResult<patrol_protocol::Person> {
    actor.require(Access::Administer)?;
    let org = actor.person.org_id;
    let p = state
        .store
        .read(move |c| people::get_person(c, person))
        .await?
        .filter(|p| p.org_id == org)
        .ok_or_else(|| ApiError::not_found(Thing::Person))?;
    Ok(p)
}

/// `PUT /api/v1/people/{person_id}/active`: deactivate (signs them out everywhere;
/// their records stay theirs) or reactivate.
pub async fn set_active(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(req): Json<ActiveRequest>,
) -> ApiResult<StatusCode> {
    let p = administered_person(&state, &actor, person_id).await?;
    if p.id == actor.person.id && !req.active {
        return Err(ApiError::Conflict(Reason::CannotDeactivateSelf));
    }
    let now = state.clock.now_ms();
    state
        .store
        .write(move |c| {
            people::set_active(c, person_id, req.active, now)?;
            // Phones learn the change (names, heads) at their next pull.
            for role in people::roles_of(c, person_id)? {
                if let Some(site) = role.site_id() {
                    feed::reference_changed(c, site, now)?;
                }
            }
            Ok(())
        })
        .await?;
    tracing::info!(person = %person_id, active = req.active, by = %actor.person.id, "person activation changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/people/{person_id}/roles/remove`: takes one role away.
pub async fn remove_role(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(role): Json<Role>,
) -> ApiResult<StatusCode> {
    administered_person(&state, &actor, person_id).await?;
    if person_id == actor.person.id && role == Role::Administrator {
        return Err(ApiError::Conflict(Reason::CannotDropOwnAdmin));
    }
    let now = state.clock.now_ms();
    let removed = state
        .store
        .write(move |c| {
            let removed = people::remove_role(c, person_id, &role, now)?;
            if removed {
                if let Some(site) = role.site_id() {
                    feed::reference_changed(c, site, now)?;
                }
            }
            Ok(removed)
        })
        .await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found(Thing::Role)) }
}

#[derive(Serialize)]
pub struct ResetAnswer {
    /// Shown once to the administrator, to hand over in person; it must be changed at
    /// the next sign-in.
    pub one_time_password: String,
}

/// `POST /api/v1/people/{person_id}/password-reset`: a one-time password, every
/// login of the person ended.
pub async fn reset_password(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
) -> ApiResult<Json<ResetAnswer>> {
    administered_person(&state, &actor, person_id).await?;
    let one_time = password::generate();
    let hash = password::hash_bounded(one_time.clone()).await.map_err(|password::Busy| auth::busy())?;
    let now = state.clock.now_ms();
    state
        .store
        .write(move |c| {
            people::set_password(c, person_id, &hash, true)?;
            people::end_everywhere(c, person_id, now)
        })
        .await?;
    tracing::info!(person = %person_id, by = %actor.person.id, "password reset to a one-time password");
    Ok(Json(ResetAnswer { one_time_password: one_time }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
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
    change_own_password(&state, &actor, &addr.0, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shared by the API and the console: checks the current password (through the
/// sign-in budgets), the policy, then stores the new hash.
pub async fn change_own_password(
    state: &AppState,
    actor: &Actor,
    address: &str,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    if let Err(why) = password::check_policy(&actor.person.login, new) {
        return Err(ApiError::invalid("new_password", why));
    }
    if current == new {
        return Err(ApiError::invalid("new_password", Reason::PasswordUnchanged));
    }
    auth::verify_credentials(state, &actor.person.login, current, address, Some(actor.device_id)).await.map_err(
        |e| match e {
            ApiError::Unauthorized(..) => ApiError::invalid("current_password", Reason::CurrentPasswordWrong),
            other => other,
        },
    )?;
    let hash = password::hash_bounded(new.to_string()).await.map_err(|password::Busy| auth::busy())?;
    let (person, device, now) = (actor.person.id, actor.device_id, state.clock.now_ms());
    state
        .store
        .write(move |c| {
            people::set_password(c, person, &hash, false)?;
            // Other phones and browsers sign in again with the new password.
            people::revoke_other_devices(c, person, device, now).map(|_| ())
        })
        .await?;
    tracing::info!(person = %person, "password changed");
    Ok(())
}
