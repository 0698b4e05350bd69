//! "Won't do": a patrol officer's waiver of one expected window, with a reason, and a
//! supervisor's acceptance or rejection. Both are records on their authors' chains.

use patrol_protocol::reason::Reason;
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::{Id, Role};
use serde::Serialize;

use super::{WaiverBrief, expected_windows, local_day};
use crate::paging;
use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError, Row, reference};
use crate::sync::outcome::Outcome;

pub const PENDING: &str = "pending";
pub const ACCEPTED: &str = "accepted";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Waiver {
    pub id: Id,
    pub site_id: Id,
    pub route_id: Id,
    pub window_start_ms: i64,
    pub person_id: Id,
    pub reason: String,
    pub received_ms: i64,
    pub state: String,
    pub decided_by: Option<Id>,
    pub decided_ms: Option<i64>,
    pub decision_note: Option<String>,
}

const COLUMNS: &str = "id, site_id, route_id, window_start_ms, person_id, reason, received_ms, state, decided_by, decided_ms, decision_note";

fn waiver(r: &Row) -> Result<Waiver, DbError> {
    Ok(Waiver {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        route_id: r.uuid(2)?,
        window_start_ms: r.int(3)?,
        person_id: r.uuid(4)?,
        reason: r.text(5)?,
        received_ms: r.int(6)?,
        state: r.text(7)?,
        decided_by: r.opt_uuid(8)?,
        decided_ms: r.opt_int(9)?,
        decision_note: r.opt_text(10)?,
    })
}

pub fn get(c: &mut dyn Conn, id: Id) -> Result<Option<Waiver>, DbError> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM run_waivers WHERE id = $1"), &params![id])?
        .as_ref()
        .map(waiver)
        .transpose()
}

/// A site's waivers, newest first, `limit` of them older than `before` (one more
/// is read to tell whether another page follows: see `api::paging`).
pub fn list(
    c: &mut dyn Conn,
    site_id: Id,
    before: Option<paging::Before>,
    limit: i64,
) -> Result<(Vec<Waiver>, Option<paging::Before>), DbError> {
    let mut args = params![site_id];
    let older = paging::older_than(before, "received_ms", "id", &mut args);
    args.push((limit + 1).into());
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM run_waivers WHERE site_id = $1{older} ORDER BY received_ms DESC, id DESC LIMIT ${}",
                args.len()
            ),
            &args,
        )?
        .iter()
        .map(waiver)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paging::split(rows, limit, |w| (w.received_ms, w.id)))
}

/// Orders a window's waivers: the one that speaks for it sorts first (accepted, else
/// pending, else the latest rejected, so the supervisor's "no" stays visible; then the
/// latest received). Every reader of waivers picks by it.
pub type Rank = (u8, std::cmp::Reverse<i64>, std::cmp::Reverse<Id>);

pub fn rank(w: &WaiverBrief, received_ms: i64) -> Rank {
    let state = match w.state.as_str() {
        ACCEPTED => 0,
        PENDING => 1,
        _ => 2,
    };
    (state, std::cmp::Reverse(received_ms), std::cmp::Reverse(w.id))
}

/// The waiver that speaks for a window: the accepted one, else the pending one, else
/// the latest rejected one (so the supervisor's "no" stays visible).
pub fn current_for_window(c: &mut dyn Conn, route_id: Id, start_ms: i64) -> Result<Option<WaiverBrief>, DbError> {
    // Ranked over every waiver of the window (a handful), by `rank`, the one rule the
    // audit's batch reads use too.
    let mut best: Option<(Rank, WaiverBrief)> = None;
    for r in c.query(
        "SELECT id, state, reason, received_ms FROM run_waivers WHERE route_id = $1 AND window_start_ms = $2",
        &params![route_id, start_ms],
    )? {
        let brief = WaiverBrief { id: r.uuid(0)?, state: r.text(1)?, reason: r.text(2)? };
        let rank = rank(&brief, r.int(3)?);
        if best.as_ref().is_none_or(|(b, _)| rank < *b) {
            best = Some((rank, brief));
        }
    }
    Ok(best.map(|(_, b)| b))
}

/// Applies `RunWaived` and `RunWaiverDecided` records.
pub fn apply(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    match &rec.payload {
        RecordPayload::RunWaived { site_id, route_id, window_start_ms, reason } => {
            let Some(site) = reference::get_site(c, *site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
                return Ok(Outcome::rejected(Reason::SiteUnknown));
            };
            if !actor.roles.iter().any(|r| matches!(r, Role::PatrolStaff { site_id } if *site_id == site.id))
                && !actor.is_supervisor_of(site.id)
            {
                return Ok(Outcome::rejected(Reason::OnlyStaffWaive));
            }
            let day = local_day(&site, *window_start_ms);
            let expected = expected_windows(c, &site, day)?;
            if !expected.iter().any(|w| w.route_id == *route_id && w.start_ms == *window_start_ms) {
                return Ok(Outcome::rejected(Reason::NothingExpected));
            }
            if let Some(b) = current_for_window(c, *route_id, *window_start_ms)? {
                if b.state != REJECTED {
                    return Ok(Outcome::rejected(Reason::AlreadyWaived));
                }
            }
            c.execute(
                &format!(
                    "INSERT INTO run_waivers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)"
                ),
                &params![rec.id, site.id, *route_id, *window_start_ms, rec.author, reason, now, PENDING],
            )?;
            let w = get(c, rec.id)?.expect("just inserted");
            crate::notify::events::waiver_requested(c, &site, &w, now)?;
            Ok(Outcome::applied())
        }
        RecordPayload::RunWaiverDecided { waiver_id, accept, note } => {
            let Some(w) = get(c, *waiver_id)? else {
                return Ok(Outcome::rejected(Reason::WaiverUnknown));
            };
            let Some(site) = reference::get_site(c, w.site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
                return Ok(Outcome::rejected(Reason::WaiverUnknown));
            };
            if !actor.is_supervisor_of(site.id) {
                return Ok(Outcome::rejected(Reason::OnlySupervisorDecides));
            }
            if w.state != PENDING {
                return Ok(Outcome::rejected(if w.state == ACCEPTED {
                    Reason::WaiverAccepted
                } else {
                    Reason::WaiverRejected
                }));
            }
            let state = if *accept { ACCEPTED } else { REJECTED };
            c.execute(
                "UPDATE run_waivers SET state = $2, decided_by = $3, decided_ms = $4, decision_note = $5
                 WHERE id = $1 AND state = 'pending'",
                &params![w.id, state, rec.author, now, note],
            )?;
            let w = get(c, w.id)?.expect("exists");
            crate::notify::events::waiver_decided(c, &site, &w, now)?;
            Ok(Outcome::applied())
        }
        _ => unreachable!("dispatched by kind"),
    }
}
