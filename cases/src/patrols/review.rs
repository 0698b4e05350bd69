//! The supervisor's review of a day (审阅签字): reading a site's daily log and signing
//! it on the supervisor's server-kept chain; the JSON API and the console both call it.

use patrol_protocol::Id;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::RecordPayload;
use patrol_protocol::sync::{DailyLog, RecordStatus};

use crate::error::{DomainError, DomainResult};
use crate::policy::{Access, Actor};
use crate::store::{Store, reference};
use crate::sync::append_server_record;

pub fn check_day(day: &str) -> DomainResult<()> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| DomainError::invalid("day", Reason::DateFormat))
}

pub async fn supervised_log(store: &Store, actor: &Actor, site_id: Id, day: String) -> DomainResult<DailyLog> {
    check_day(&day)?;
    let site = store
        .read(move |c| reference::get_site(c, site_id))
        .await?
        .ok_or_else(|| DomainError::not_found(Thing::Site))?;
    actor.require(Access::Supervise(&site))?;
    Ok(store.read(move |c| crate::patrols::daily_log(c, &site, &day)).await?)
}

/// Signs a site's log of one day as the actor (审阅签字), on their server-kept chain:
/// the JSON API and the console both sign through here.
pub async fn sign(
    store: &Store,
    actor: &Actor,
    site_id: Id,
    day: String,
    comment: String,
    now: i64,
) -> DomainResult<DailyLog> {
    supervised_log(store, actor, site_id, day.clone()).await?;
    let payload = RecordPayload::DailyLogSigned { site_id, day: day.clone(), comment };
    payload.validate()?;
    let a = actor.clone();
    let outcome = store.write(move |c| append_server_record(c, &a, payload, now).map(|(_, o)| o)).await?;
    if outcome.status == RecordStatus::Rejected {
        return Err(DomainError::Conflict(outcome.why.unwrap_or(Reason::Conflict)));
    }
    supervised_log(store, actor, site_id, day).await
}
