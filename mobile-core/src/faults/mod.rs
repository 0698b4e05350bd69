//! Staff fault notices (员工过失通知单) on the phone: issuing one offline against the
//! cached catalogue, signing for / refusing / appealing / voiding one, deciding an
//! appeal, and the person's own notices and month as the server last showed them.
//!
//! What the phone shows is the server's `FaultView`s from the pull (the `faults`
//! table: the signed-in person's own notices and those they issued), with this
//! device's fault records the server has not acknowledged yet laid over them, so a
//! notice signed for or appealed offline reads so at once and cannot be answered twice.
//! A notice issued here shows once a sync has brought it back numbered.

use patrol_protocol::fault::{AppealDecision, FaultAction, FaultRule, FaultView};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Id, Person, Record, RecordPayload, Role, Site, limits};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::core::{Core, SignedInPerson, clean_text, signed_in};
use crate::error::{Error, Result};
use crate::store;
use crate::{notices, patrols, reference};

/// The most fault notices the phone keeps; the oldest (by when they were seen) go
/// first. A person's year of notices is far below it.
pub const FAULTS_KEPT: i64 = 2000;
/// The most a list returns.
pub const LIST_MAX: u32 = 500;

/// A fault notice as the issuer fills it in on the phone.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FaultDraft {
    pub site_id: Id,
    /// The person at fault (not the signed-in person).
    pub person_id: Id,
    /// A rule of the catalogue in force (`fault_rules()`).
    pub rule_id: Id,
    /// The points deducted; None takes the rule's.
    pub points: Option<u32>,
    /// What was seen.
    pub seen: String,
    pub location: String,
    /// The patrol run it was seen during, if any.
    pub run_id: Option<Id>,
    /// SHA-256 names of photos already stored with `add_photo`.
    pub photos: Vec<String>,
}

/// A person's month of fault notices, from the views on this phone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FaultMonth {
    /// YYYY-MM, in the site's time (as the server counts it).
    pub month: String,
    /// Notices that count: not voided, not cancelled on appeal.
    pub notices: u32,
    /// The points they deduct now (after appeals' decisions).
    pub points: u32,
    /// Appeals not decided yet.
    pub open_appeals: u32,
}

/// Upserts the server's views by id (a later page's view replaces an earlier one),
/// then keeps only the newest [`FAULTS_KEPT`].
pub(crate) fn store_views(tx: &Transaction<'_>, views: &[FaultView], now: i64) -> Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    for v in views {
        tx.execute(
            "INSERT INTO faults (fault_id, number, site_id, month, person_id, issuer_id, seen_ms, body, pulled_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (fault_id) DO UPDATE SET number = excluded.number, site_id = excluded.site_id,
                 month = excluded.month, person_id = excluded.person_id, issuer_id = excluded.issuer_id,
                 seen_ms = excluded.seen_ms, body = excluded.body, pulled_ms = excluded.pulled_ms",
            params![
                v.id.to_string(),
                v.number,
                v.site_id.to_string(),
                v.month,
                v.person_id.to_string(),
                v.issuer_id.to_string(),
                v.seen_ms,
                serde_json::to_string(v)?,
                now
            ],
        )?;
    }
    tx.execute(
        "DELETE FROM faults WHERE fault_id NOT IN
             (SELECT fault_id FROM faults ORDER BY seen_ms DESC, fault_id DESC LIMIT ?1)",
        [FAULTS_KEPT],
    )?;
    Ok(())
}

/// This device's fault records the server has not acknowledged yet, oldest first.
fn pending(conn: &Connection) -> Result<Vec<RecordPayload>> {
    let acked: i64 = conn.query_row("SELECT acked_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM records WHERE seq > ?1 AND kind IN ('fault_acted', 'appeal_decided') ORDER BY seq",
    )?;
    let bodies = stmt.query_map([acked], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    bodies.iter().map(|b| Ok(serde_json::from_str::<Record>(b)?.payload)).collect()
}

/// Lays this device's unacknowledged actions over the server's view. They were checked
/// when recorded; a step the view's state no longer allows is left out.
fn overlay(v: &mut FaultView, pending: &[RecordPayload]) {
    for p in pending {
        match p {
            RecordPayload::FaultActed { fault_id, action, .. } if *fault_id == v.id && !v.voided => match action {
                FaultAction::Acknowledge if v.receipt == "pending" => v.receipt = "signed".into(),
                FaultAction::Refuse if v.receipt == "pending" => v.receipt = "refused".into(),
                FaultAction::Appeal if v.appeal.is_none() => v.appeal = Some("open".into()),
                FaultAction::Void => {
                    v.voided = true;
                    v.points_now = 0;
                }
                _ => {}
            },
            RecordPayload::AppealDecided { fault_id, decision, points, .. }
                if *fault_id == v.id && !v.voided && v.appeal.as_deref() == Some("open") =>
            {
                v.appeal = Some(decision.as_str().into());
                v.points_now = match decision {
                    AppealDecision::Upheld => v.points_now,
                    AppealDecision::Reduced => (*points).min(v.points_now),
                    AppealDecision::Cancelled => 0,
                };
            }
            _ => {}
        }
    }
}

fn find_view(conn: &Connection, id: Id) -> Result<Option<FaultView>> {
    let body: Option<String> =
        conn.query_row("SELECT body FROM faults WHERE fault_id = ?1", [id.to_string()], |r| r.get(0)).optional()?;
    let Some(body) = body else { return Ok(None) };
    let mut v: FaultView = serde_json::from_str(&body)?;
    overlay(&mut v, &pending(conn)?);
    Ok(Some(v))
}

fn check_month(month: &str) -> Result<()> {
    let ok = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if ok { Ok(()) } else { Err(Error::invalid("month", Reason::MonthFormat)) }
}

fn supervises(person: &SignedInPerson, site_id: Id) -> bool {
    person
        .roles
        .iter()
        .any(|r| matches!(r, Role::OrgSupervisor) || matches!(r, Role::SiteSupervisor { site_id: s } if *s == site_id))
}

/// May issue fault notices at the site at all: a supervisor of it, or a department
/// head there (the server checks the rest: a head only to their department's staff).
fn may_issue_at(person: &SignedInPerson, site_id: Id) -> bool {
    supervises(person, site_id)
        || person.roles.iter().any(|r| matches!(r, Role::DepartmentHead { site_id: s, .. } if *s == site_id))
}

impl Core {
    /// The organisation's rules in force, from the last reference data, by code.
    pub fn fault_rules(&self) -> Result<Vec<FaultRule>> {
        let mut rules: Vec<FaultRule> = self.store.read(|c| reference::list(c, None))?;
        rules.retain(|r| !r.retired);
        rules.sort_by(|a, b| a.code.cmp(&b.code).then(a.id.cmp(&b.id)));
        Ok(rules)
    }

    /// Issues a fault notice offline: a `FaultIssued` record on this device's chain,
    /// numbered by the server when it arrives. Returns the fault notice's id.
    pub fn issue_fault(&self, draft: FaultDraft) -> Result<Id> {
        let seen = clean_text("seen", &draft.seen, limits::TEXT_MAX, true)?;
        let location = clean_text("location", &draft.location, limits::NAME_MAX, false)?;
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            if draft.person_id == person.person_id {
                return Err(Error::invalid("person_id", Reason::FaultToSelf));
            }
            reference::get::<Site>(tx, draft.site_id)?;
            if !may_issue_at(&person, draft.site_id) {
                return Err(Error::conflict(Reason::NoRoleToIssueFault));
            }
            reference::get::<Person>(tx, draft.person_id)?;
            let rule = reference::find_in_use::<FaultRule>(tx, draft.rule_id)?
                .filter(|r| !r.retired)
                .ok_or_else(|| Error::invalid("rule_id", Reason::FaultRuleUnknown))?;
            if let Some(run) = draft.run_id
                && patrols::get_run(tx, run)?.site_id != draft.site_id
            {
                return Err(Error::invalid("run_id", Reason::RunNotHere));
            }
            notices::check_photos(tx, &draft.photos)?;
            let fault_id = Id::now_v7();
            let payload = RecordPayload::FaultIssued {
                fault_id,
                site_id: draft.site_id,
                person_id: draft.person_id,
                rule_id: rule.id,
                points: draft.points.unwrap_or(rule.points),
                seen,
                location,
                run_id: draft.run_id,
                notice_id: None,
                photos: draft.photos.clone(),
            };
            payload.validate()?;
            store::append(tx, by, payload)?;
            Ok(fault_id)
        })
    }

    /// Signs for, refuses or appeals a fault notice (the person named), or voids it (a
    /// supervisor of its site): a `FaultActed` record, checked against the notice as
    /// this phone knows it; refused with `Conflict` and nothing recorded if not allowed.
    pub fn act_on_fault(&self, fault_id: Id, action: FaultAction, reason: &str) -> Result<()> {
        let reason = clean_text("reason", reason, limits::TEXT_MAX, action.needs_reason())?;
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            let f = find_view(tx, fault_id)?.ok_or_else(|| Error::not_found("fault", fault_id))?;
            if f.voided {
                return Err(Error::conflict(Reason::FaultVoided));
            }
            let me = person.person_id;
            match action {
                FaultAction::Acknowledge | FaultAction::Refuse => {
                    if f.person_id != me {
                        return Err(Error::conflict(Reason::FaultNotYours));
                    }
                    if f.receipt != "pending" {
                        return Err(Error::conflict(Reason::FaultAnswered));
                    }
                }
                FaultAction::Appeal => {
                    if f.person_id != me {
                        return Err(Error::conflict(Reason::FaultNotYours));
                    }
                    if f.appeal.is_some() {
                        return Err(Error::conflict(Reason::AppealAlreadyMade));
                    }
                }
                FaultAction::Void => {
                    if !supervises(&person, f.site_id) {
                        return Err(Error::conflict(Reason::OnlySupervisorVoidsFault));
                    }
                }
            }
            let payload = RecordPayload::FaultActed { fault_id, action, reason };
            payload.validate()?;
            store::append(tx, by, payload)?;
            Ok(())
        })
    }

    /// Decides a fault notice's appeal (one level above the issuer): an `AppealDecided`
    /// record; `points` is what remains when `Reduced` (ignored otherwise). Checked
    /// against the notice when this phone holds it; a decider the pull does not bring
    /// the notice to (it brings only one's own and those one issued) records the
    /// decision unchecked, and the server judges it.
    pub fn decide_appeal(&self, fault_id: Id, decision: AppealDecision, points: u32, reason: &str) -> Result<()> {
        let reason = clean_text("reason", reason, limits::TEXT_MAX, true)?;
        let points = if decision == AppealDecision::Reduced { points } else { 0 };
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            if let Some(f) = find_view(tx, fault_id)? {
                if f.voided {
                    return Err(Error::conflict(Reason::FaultVoided));
                }
                if f.appeal.as_deref() != Some("open") {
                    return Err(Error::conflict(Reason::NoOpenAppeal));
                }
                let me = person.person_id;
                if f.person_id == me || (!f.deciders.is_empty() && !f.deciders.contains(&me)) {
                    return Err(Error::conflict(Reason::NotTheAppealDecider));
                }
                if decision == AppealDecision::Reduced && points >= f.points_now {
                    return Err(Error::invalid(
                        "points",
                        Reason::ReducedPoints { max: f.points_now.saturating_sub(1) },
                    ));
                }
            }
            let payload = RecordPayload::AppealDecided { fault_id, decision, points, reason };
            payload.validate()?;
            store::append(tx, by, payload)?;
            Ok(())
        })
    }

    /// One fault notice as the server last showed it, with this device's pending steps.
    pub fn fault(&self, fault_id: Id) -> Result<FaultView> {
        self.store.read(|c| find_view(c, fault_id)?.ok_or_else(|| Error::not_found("fault", fault_id)))
    }

    /// The fault notices on this phone (the person's own and those they issued), of one
    /// month (YYYY-MM) or all, newest first (by when seen), at most `limit` (≤ 500).
    pub fn list_faults(&self, month: Option<String>, limit: u32) -> Result<Vec<FaultView>> {
        if let Some(m) = &month {
            check_month(m)?;
        }
        self.store.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT body FROM faults WHERE (?1 IS NULL OR month = ?1)
                 ORDER BY seen_ms DESC, number DESC LIMIT ?2",
            )?;
            let bodies = stmt
                .query_map(params![month, limit.clamp(1, LIST_MAX)], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let pending = pending(c)?;
            bodies
                .iter()
                .map(|b| {
                    let mut v: FaultView = serde_json::from_str(b)?;
                    overlay(&mut v, &pending);
                    Ok(v)
                })
                .collect()
        })
    }

    /// The signed-in person's month (YYYY-MM): how many of their fault notices count,
    /// the points they deduct now, and how many appeals wait for a decision.
    pub fn my_fault_month(&self, month: &str) -> Result<FaultMonth> {
        check_month(month)?;
        self.store.read(|c| {
            let me = signed_in(c)?.ok_or(Error::NotSignedIn)?.person_id;
            let mut stmt = c.prepare_cached("SELECT body FROM faults WHERE person_id = ?1 AND month = ?2")?;
            let bodies = stmt
                .query_map(params![me.to_string(), month], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let pending = pending(c)?;
            let mut out = FaultMonth { month: month.to_string(), notices: 0, points: 0, open_appeals: 0 };
            for b in bodies {
                let mut v: FaultView = serde_json::from_str(&b)?;
                overlay(&mut v, &pending);
                if v.voided {
                    continue;
                }
                if v.appeal.as_deref() == Some("open") {
                    out.open_appeals += 1;
                }
                if v.appeal.as_deref() != Some("cancelled") {
                    out.notices += 1;
                    out.points += v.points_now;
                }
            }
            Ok(out)
        })
    }
}
