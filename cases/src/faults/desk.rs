//! Fault notices from a desk (the console) or a script (the JSON API): the one path
//! both take. What a desk does is a record on the person's server-kept chain, applied
//! like a phone's; refused, nothing is stored (no device made it offline).

use patrol_protocol::Id;
use patrol_protocol::fault::{AppealDecisionRequest, FaultActionRequest, FaultView, IssueFaultRequest};
use patrol_protocol::reason::Reason;
use patrol_protocol::record::RecordPayload;
use patrol_protocol::sync::RecordStatus;

use crate::error::{DomainError, DomainResult};
use crate::policy::Actor;
use crate::store::{Conn, DbError, Store};
use crate::sync::append_server_record;

/// A fault notice the actor may read, as they see it; 404 or 403 otherwise.
pub async fn visible_fault(store: &Store, actor: &Actor, id: Id) -> DomainResult<FaultView> {
    let a = actor.clone();
    let found = store
        .read(move |c| {
            let Some(f) = super::get(c, id)? else { return Ok(None) };
            let visible = super::visible(c, &a, &f)?;
            Ok(Some((visible, super::view(c, &f)?)))
        })
        .await?;
    match found {
        None => Err(DomainError::NotFound(Reason::FaultUnknown)),
        Some((false, _)) => Err(DomainError::forbidden()),
        Some((true, v)) => Ok(v),
    }
}

/// Why a desk's record was refused, as the error its caller gets: not allowed is 403,
/// an unknown thing 404, anything else a conflict with what is stored.
fn refused(why: Reason) -> DomainError {
    match why {
        Reason::NoRoleToIssueFault
        | Reason::FaultNotYours
        | Reason::NotTheAppealDecider
        | Reason::OnlySupervisorVoidsFault
        | Reason::FaultToSelf => DomainError::Forbidden(why),
        Reason::FaultUnknown | Reason::SiteUnknown => DomainError::NotFound(why),
        Reason::FaultRuleUnknown => DomainError::invalid("rule_id", why),
        Reason::PersonNotAtSite => DomainError::invalid("person_id", why),
        Reason::NoticeUnknown => DomainError::invalid("notice_id", why),
        Reason::RunOfOtherSite => DomainError::invalid("run_id", why),
        other => DomainError::Conflict(other),
    }
}

/// Appends `payload` on the actor's server chain; refused, rolls back.
pub(crate) fn append(
    c: &mut dyn Conn,
    actor: &Actor,
    payload: RecordPayload,
    now: i64,
) -> Result<Result<(), Reason>, DbError> {
    let (_, outcome) = append_server_record(c, actor, payload, now)?;
    Ok(match (outcome.status, outcome.why) {
        (RecordStatus::Rejected, Some(why)) => Err(why),
        _ => Ok(()),
    })
}

async fn write(store: &Store, actor: &Actor, payload: RecordPayload, now: i64) -> DomainResult<()> {
    payload.validate()?;
    let a = actor.clone();
    store.write_or_refuse(move |c| append(c, &a, payload, now)).await?.map_err(refused)
}

/// Issues a fault notice on the actor's server chain, in the caller's transaction:
/// the rule's points unless the request gives others. Refused (bad input, the policy,
/// an unknown rule), the reason as the error its caller answers, for the caller to roll
/// back. The one path of the console, the API and a close with points deducted.
pub(crate) fn issue_in(
    c: &mut dyn Conn,
    actor: &Actor,
    req: IssueFaultRequest,
    now: i64,
) -> Result<Result<Id, DomainError>, DbError> {
    // A rule that is not the organisation's is refused when the record is applied,
    // after the site and the person are checked.
    let points = match req.points {
        Some(p) => p,
        None => super::catalogue::rule(c, actor.person.org_id, req.rule_id)?.map_or(1, |r| r.points),
    };
    let fault_id = Id::now_v7();
    let payload = RecordPayload::FaultIssued {
        fault_id,
        site_id: req.site_id,
        person_id: req.person_id,
        rule_id: req.rule_id,
        points,
        seen: req.seen,
        location: req.location,
        run_id: None,
        notice_id: req.notice_id,
        photos: Vec::new(),
    };
    if let Err(e) = payload.validate() {
        return Ok(Err(e.into()));
    }
    Ok(append(c, actor, payload, now)?.map(|()| fault_id).map_err(refused))
}

/// Issues a fault notice; the rule's points unless the request gives others.
pub async fn issue(store: &Store, actor: &Actor, req: IssueFaultRequest, now: i64) -> DomainResult<FaultView> {
    let a = actor.clone();
    let fault_id = store.write_or_refuse(move |c| issue_in(c, &a, req, now)).await??;
    visible_fault(store, actor, fault_id).await
}

/// Signs for, refuses, appeals or voids a fault notice.
pub async fn act(store: &Store, actor: &Actor, id: Id, req: FaultActionRequest, now: i64) -> DomainResult<FaultView> {
    visible_fault(store, actor, id).await?;
    let payload = RecordPayload::FaultActed { fault_id: id, action: req.action, reason: req.reason };
    write(store, actor, payload, now).await?;
    visible_fault(store, actor, id).await
}

/// Decides a fault notice's open appeal.
pub async fn decide(
    store: &Store,
    actor: &Actor,
    id: Id,
    req: AppealDecisionRequest,
    now: i64,
) -> DomainResult<FaultView> {
    visible_fault(store, actor, id).await?;
    let payload =
        RecordPayload::AppealDecided { fault_id: id, decision: req.decision, points: req.points, reason: req.reason };
    write(store, actor, payload, now).await?;
    visible_fault(store, actor, id).await
}
