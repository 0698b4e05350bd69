//! People come and go: an administrator deactivates and reactivates a person, removes
//! a role, resets a password to a one-time one; everyone changes their own password.
//! Deactivation and a reset end every login of the person at once (refresh tokens,
//! console sessions; access tokens at their next request).

use patrol_protocol::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::password;
use crate::policy::{Access, Actor};
use crate::store::{Store, people};
use crate::sync::feed;
use patrol_protocol::reason::{Reason, Thing};

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveRequest {
    pub active: bool,
}

/// The person, checked to be of the administrator's organisation and not the
/// administrator themself (nobody locks themself out).
async fn administered_person(store: &Store, actor: &Actor, person: Id) -> DomainResult<patrol_protocol::Person> {
    actor.require(Access::Administer)?;
    let org = actor.person.org_id;
    let p = store
        .read(move |c| people::get_person(c, person))
        .await?
        .filter(|p| p.org_id == org)
        .ok_or_else(|| DomainError::not_found(Thing::Person))?;
    Ok(p)
}

/// Deactivates (signs them out everywhere;
/// their records stay theirs) or reactivate.
pub async fn set_active(store: &Store, actor: &Actor, person_id: Id, req: ActiveRequest, now: i64) -> DomainResult<()> {
    let p = administered_person(store, actor, person_id).await?;
    if p.id == actor.person.id && !req.active {
        return Err(DomainError::Conflict(Reason::CannotDeactivateSelf));
    }
    store
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
    Ok(())
}

/// Takes one role away.
pub async fn remove_role(store: &Store, actor: &Actor, person_id: Id, role: Role, now: i64) -> DomainResult<()> {
    administered_person(store, actor, person_id).await?;
    if person_id == actor.person.id && role == Role::Administrator {
        return Err(DomainError::Conflict(Reason::CannotDropOwnAdmin));
    }
    let removed = store
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
    if removed { Ok(()) } else { Err(DomainError::not_found(Thing::Role)) }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ResetAnswer {
    /// Shown once to the administrator, to hand over in person; it must be changed at
    /// the next sign-in.
    pub one_time_password: String,
}

/// Resets a person's password to a one-time one and ends every login of theirs.
pub async fn reset_password(store: &Store, actor: &Actor, person_id: Id, now: i64) -> DomainResult<ResetAnswer> {
    administered_person(store, actor, person_id).await?;
    let one_time = password::generate();
    let hash = password::hash_bounded(one_time.clone()).await?;
    store
        .write(move |c| {
            people::set_password(c, person_id, &hash, true)?;
            people::end_everywhere(c, person_id, now)
        })
        .await?;
    tracing::info!(person = %person_id, by = %actor.person.id, "password reset to a one-time password");
    Ok(ResetAnswer { one_time_password: one_time })
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}
