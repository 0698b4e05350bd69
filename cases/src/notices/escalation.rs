//! The notice escalation ladder, run by a background job: a reminder to the heads
//! before due, "not delivered" when nobody signed for it in time after routing, the
//! site's supervisors at due, the organisation's managers later. Each step fires once
//! (a row in `notice_escalations`), and only while the notice still waits for it: a
//! notice that moved on (signed for, fixed, closed, voided) stops the steps it outran.

use std::collections::{HashMap, HashSet};

use patrol_protocol::notice::NoticeState;
use patrol_protocol::{Id, Site};

use super::{COLUMNS, NoticeRow, notice_row};
use crate::notify::events::{NoticeStep, notice_step};
use crate::params;
use crate::schedules::rules::{self, SiteRules};
use crate::store::{Conn, DbError, Value, reference};

/// Notices read per query; the job reads batch after batch until none are left.
const BATCH: i64 = 500;

/// Fires every step that is due at `now`; returns how many fired. Every waiting
/// notice is looked at, however many there are: a bounded first batch would leave
/// the ones due later waiting for ever behind the ones that stay overdue.
pub fn run(c: &mut dyn Conn, now: i64) -> Result<u32, DbError> {
    let mut fired = 0;
    let mut after: Option<(i64, patrol_protocol::Id)> = None;
    // Sites and their rules, read once a pass; the steps already fired, once a batch:
    // a pass over notices whose steps all fired long ago is two statements a batch.
    let mut sites: HashMap<Id, Option<(Site, SiteRules)>> = HashMap::new();
    loop {
        // Only notices still waiting on the department: rectified ones wait on the issuer.
        let mut args = params![];
        let mut keyset = String::new();
        if let Some((due, id)) = after {
            args.extend(params![due, id]);
            keyset = " AND (due_ms > $1 OR (due_ms = $1 AND id > $2))".into();
        }
        args.push(BATCH.into());
        let rows = c.query(
            &format!(
                "SELECT {COLUMNS}, updated_ms FROM notices WHERE state IN ('issued', 'acknowledged', 'disputed'){keyset}
                 ORDER BY due_ms, id LIMIT ${}",
                args.len()
            ),
            &args,
        )?;
        let batch: Vec<(NoticeRow, i64)> =
            rows.iter().map(|r| Ok((notice_row(r)?, r.int(16)?))).collect::<Result<_, DbError>>()?;
        let mut done: HashSet<(Id, String)> = HashSet::new();
        if !batch.is_empty() {
            let ids: Vec<Value> = batch.iter().map(|(n, _)| Value::from(n.id)).collect();
            for r in c.query(
                &format!(
                    "SELECT notice_id, step FROM notice_escalations WHERE notice_id IN ({})",
                    crate::store::marks(1, ids.len())
                ),
                &ids,
            )? {
                done.insert((r.uuid(0)?, r.text(1)?));
            }
        }
        for (n, updated_ms) in batch.iter() {
            after = Some((n.due_ms, n.id));
            if !sites.contains_key(&n.site_id) {
                let site = reference::get_site(c, n.site_id)?;
                let entry = match site {
                    Some(site) => {
                        let rules = rules::get(c, site.id)?;
                        Some((site, rules))
                    }
                    None => None,
                };
                sites.insert(n.site_id, entry);
            }
            let Some((site, rules)) = sites.get(&n.site_id).and_then(|s| s.as_ref()) else { continue };
            for (step, key) in due_steps(n, *updated_ms, rules, now) {
                if done.contains(&(n.id, key.clone())) {
                    continue;
                }
                // The row decides, not the batch's snapshot: another instance may
                // have fired it since.
                let fresh = c.execute(
                    "INSERT INTO notice_escalations (notice_id, step, fired_ms) VALUES ($1, $2, $3)
                     ON CONFLICT (notice_id, step) DO NOTHING",
                    &params![n.id, &key, now],
                )?;
                if fresh == 1 {
                    fired += 1;
                    notice_step(c, site, n, step, &key, now)?;
                }
            }
        }
        if (rows.len() as i64) < BATCH {
            return Ok(fired);
        }
    }
}

/// The steps of one notice that are due at `now`, fired or not, with their keys.
fn due_steps(n: &NoticeRow, updated_ms: i64, rules: &SiteRules, now: i64) -> Vec<(NoticeStep, String)> {
    let mut steps: Vec<(NoticeStep, String)> = Vec::new();
    let waiting_on_head = matches!(n.state, NoticeState::Issued | NoticeState::Acknowledged);
    if rules.reminder_before_hours > 0
        && waiting_on_head
        && now >= n.due_ms - SiteRules::hours_ms(rules.reminder_before_hours)
        && now < n.due_ms
    {
        steps.push((NoticeStep::Reminder, "reminder".into()));
    }
    // Routed when it entered `issued`: on receipt, or when a supervisor reassigned
    // it; the key names the department so a reassignment starts a new clock.
    if n.state == NoticeState::Issued && now >= updated_ms + SiteRules::hours_ms(rules.receipt_within_hours) {
        steps.push((NoticeStep::NotDelivered, format!("not_delivered:{}", n.department_id)));
    }
    if now >= n.due_ms + SiteRules::hours_ms(rules.supervisor_after_hours) {
        steps.push((NoticeStep::Overdue, "overdue".into()));
    }
    if now >= n.due_ms + SiteRules::hours_ms(rules.manager_after_hours) {
        steps.push((NoticeStep::Escalated, "escalated".into()));
    }
    steps
}

/// The steps that fired for a notice, in order, for its page and for tests.
pub fn fired(c: &mut dyn Conn, notice_id: patrol_protocol::Id) -> Result<Vec<(String, i64)>, DbError> {
    c.query(
        "SELECT step, fired_ms FROM notice_escalations WHERE notice_id = $1 ORDER BY fired_ms, step",
        &params![notice_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}
