//! Acting on a notice from a desk (the console) or a script (the JSON API): the one
//! path both take, checked against the state machine before anything is stored.

use patrol_protocol::Id;
use patrol_protocol::fault::IssueFaultRequest;
use patrol_protocol::notice::NoticeAction;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::{PhotoContext, RecordPayload};
use patrol_protocol::sync::{NoticeActionRequest, NoticeView, RecordStatus};

use crate::error::{DomainError, DomainResult};
use crate::policy::Actor;
use crate::store::{Store, reference};
use crate::sync::append_server_record;

/// A notice the actor may see, as they see it; 404 or 403 otherwise.
pub async fn visible_notice(store: &Store, actor: &Actor, id: Id) -> DomainResult<NoticeView> {
    let a = actor.clone();
    let found = store
        .read(move |c| {
            let Some(n) = crate::notices::get(c, id)? else { return Ok(None) };
            let org = reference::get_site(c, n.site_id)?.map(|s| s.org_id).unwrap_or_default();
            let visible = crate::notices::visible(&a, &n, org);
            Ok(Some((visible, crate::notices::view(c, n)?)))
        })
        .await?;
    match found {
        None => Err(DomainError::not_found(Thing::Notice)),
        Some((false, _)) => Err(DomainError::forbidden()),
        Some((true, v)) => Ok(v),
    }
}

/// Acts on a notice for someone at a desk (console) or a script (JSON API): the one
/// path both take. The action is checked against the state machine first; refused
/// there, nothing is stored, since no device made it offline. Photos uploaded with
/// the action (a fix reported from a browser, already in the object store) are
/// recorded as `PhotoTaken` in the same transaction, before the action citing them.
pub async fn act_on(
    store: &Store,
    actor: &Actor,
    id: Id,
    mut req: NoticeActionRequest,
    uploaded: Vec<crate::photos::Prepared>,
    now: i64,
) -> DomainResult<NoticeView> {
    visible_notice(store, actor, id).await?;
    for p in &uploaded {
        if !req.photos.contains(&p.sha256) {
            req.photos.push(p.sha256.clone());
        }
    }
    let closing = req.fault.take();
    match (req.action, &closing) {
        (NoticeAction::CloseWithPoints, None) => return Err(DomainError::invalid("fault", Reason::Required)),
        (NoticeAction::CloseWithPoints, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(DomainError::invalid("fault", Reason::NotAChoice)),
    }
    let seen = req.reason.clone();
    let payload = RecordPayload::NoticeActed {
        notice_id: id,
        action: req.action,
        reason: req.reason,
        photos: req.photos,
        reassign_to: req.reassign_to,
        new_due_ms: req.new_due_ms,
    };
    payload.validate()?;
    let a = actor.clone();
    // Refused anywhere (the state machine, a photo, the record's own outcome), the
    // transaction is rolled back: an action made at the desk that is refused stores
    // nothing, since no device made it offline.
    let outcome = store
        .write_or_refuse(move |c| {
            let n = match crate::notices::check_action(c, &a, id, req.action)?.expect("checked visible") {
                Ok(n) => n,
                Err(refusal) => return Ok(Err(DomainError::Conflict(Reason::NoticeRefused { refusal }))),
            };
            let context = PhotoContext { run_id: None, checkpoint_id: n.checkpoint_id, notice_id: Some(id) };
            for p in &uploaded {
                let o = crate::photos::record_prepared(c, &a, p, context.clone(), now)?;
                if let (RecordStatus::Rejected, Some(why)) = (o.status, o.why) {
                    return Ok(Err(DomainError::Conflict(Reason::PhotoRefused { why: Box::new(why) })));
                }
            }
            // Closed with points deducted: the fault notice first, in this transaction,
            // so the close finds it; refused, neither is kept.
            if let Some(f) = closing {
                let fault = IssueFaultRequest {
                    site_id: n.site_id,
                    person_id: f.person_id,
                    rule_id: f.rule_id,
                    points: f.points,
                    seen,
                    location: n.location.clone(),
                    notice_id: Some(id),
                };
                if let Err(e) = crate::faults::desk::issue_in(c, &a, fault, now)? {
                    return Ok(Err(e));
                }
            }
            let (_, outcome) = append_server_record(c, &a, payload, now)?;
            Ok(match (outcome.status, outcome.why) {
                (RecordStatus::Rejected, Some(why)) => Err(DomainError::Conflict(why)),
                _ => Ok(()),
            })
        })
        .await?;
    outcome?;
    visible_notice(store, actor, id).await
}
