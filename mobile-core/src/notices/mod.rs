//! Rectification notices offline: raising one from a finding, the actions on it checked
//! against the protocol's state machine, and the local projection ("number pending").

use patrol_protocol::notice::{self, NoticeAction, NoticeRole, NoticeState, Severity};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Checkpoint, Department, Id, Record, RecordPayload, Role, Site, limits};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::core::{Core, SignedInPerson, clean_text, signed_in};
use crate::error::{Error, Result};
use crate::store::{self, parse_id};
use crate::{patrols, photos, reference};

/// The longest a notice may be given to be fixed.
const DUE_MAX_MS: i64 = 366 * 86_400_000;

/// A finding turned into a notice, as the person fills it in.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NoticeDraft {
    pub site_id: Id,
    /// The department responsible for the fix.
    pub department_id: Id,
    /// Where it was found: a checkpoint, or a free location (or both).
    pub checkpoint_id: Option<Id>,
    pub location: String,
    pub run_id: Option<Id>,
    pub description: String,
    pub severity: Severity,
    pub due_ms: i64,
    /// SHA-256 names of photos already stored with `add_photo`.
    pub photos: Vec<String>,
}

/// One step of a notice's timeline: from the server once it has seen the notice,
/// plus this device's steps still on their way.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NoticeActionLine {
    pub actor_id: Id,
    /// The actor's name when the server told it.
    pub actor_name: Option<String>,
    /// False for an action the server kept but refused (see `refusal`).
    pub applied: bool,
    pub refusal: Option<String>,
    /// Made on this device and not yet acknowledged by the server.
    pub pending: bool,
    pub action: NoticeAction,
    pub reason: String,
    pub photos: Vec<String>,
    pub reassign_to: Option<Id>,
    pub time_ms: i64,
    pub from_state: NoticeState,
    pub to_state: NoticeState,
}

/// A notice as its screen shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NoticeView {
    pub notice_id: Id,
    /// The server's number (e.g. JY-2026-000123); None until the server has numbered
    /// it, which the app shows as "编号待定 / number pending".
    pub number: Option<String>,
    pub site_id: Id,
    pub site_name_zh: String,
    pub department_id: Id,
    pub department_name_zh: String,
    pub checkpoint_id: Option<Id>,
    pub checkpoint_name_zh: Option<String>,
    pub location: String,
    pub run_id: Option<Id>,
    pub description: String,
    pub severity: Severity,
    pub due_ms: i64,
    pub overdue: bool,
    pub state: NoticeState,
    pub state_zh: String,
    pub issuer_id: Id,
    pub raised_ms: i64,
    pub photos: Vec<String>,
    pub actions: Vec<NoticeActionLine>,
    /// What the signed-in person may do to it now, by the protocol's table.
    pub allowed_actions: Vec<NoticeAction>,
    /// Made or changed on this device and not yet acknowledged by the server.
    pub queued: bool,
}

/// A notice as the projection holds it.
#[derive(Debug, Clone)]
pub(crate) struct NoticeRow {
    pub notice_id: Id,
    pub number: Option<String>,
    pub site_id: Id,
    pub department_id: Id,
    pub checkpoint_id: Option<Id>,
    pub run_id: Option<Id>,
    pub location: String,
    pub description: String,
    pub severity: Severity,
    pub due_ms: i64,
    pub state: NoticeState,
    pub issuer_id: Id,
    pub raised_ms: i64,
    pub has_corrective_report: bool,
    pub photos: Vec<String>,
    pub last_seq: i64,
}

fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::General => "general",
        Severity::Serious => "serious",
    }
}

fn parse_state(s: &str) -> Result<NoticeState> {
    NoticeState::parse(s).ok_or_else(|| Error::Corrupt(format!("notice state {s:?}")))
}

fn opt_id(s: Option<String>) -> Result<Option<Id>> {
    s.as_deref().map(parse_id).transpose()
}

pub(crate) fn find_notice_row(conn: &Connection, id: Id) -> Result<Option<NoticeRow>> {
    let row = conn
        .query_row(
            "SELECT number, site_id, department_id, checkpoint_id, run_id, location, description, severity, due_ms,
                    state, issuer_id, raised_ms, has_corrective_report, photos,
                    max(seq, coalesce((SELECT max(seq) FROM notice_actions a WHERE a.notice_id = n.notice_id), 0))
             FROM notices n WHERE notice_id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    [r.get::<_, String>(1)?, r.get::<_, String>(2)?],
                    [r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?],
                    [r.get::<_, String>(5)?, r.get::<_, String>(6)?, r.get::<_, String>(7)?],
                    r.get::<_, i64>(8)?,
                    [r.get::<_, String>(9)?, r.get::<_, String>(10)?],
                    r.get::<_, i64>(11)?,
                    r.get::<_, bool>(12)?,
                    r.get::<_, String>(13)?,
                    r.get::<_, i64>(14)?,
                ))
            },
        )
        .optional()?;
    let Some((
        number,
        [site, dept],
        [cp, run],
        [location, description, severity],
        due_ms,
        [state, issuer],
        raised_ms,
        car,
        photos,
        last_seq,
    )) = row
    else {
        return Ok(None);
    };
    Ok(Some(NoticeRow {
        notice_id: id,
        number,
        site_id: parse_id(&site)?,
        department_id: parse_id(&dept)?,
        checkpoint_id: opt_id(cp)?,
        run_id: opt_id(run)?,
        location,
        description,
        severity: if severity == "serious" { Severity::Serious } else { Severity::General },
        due_ms,
        state: parse_state(&state)?,
        issuer_id: parse_id(&issuer)?,
        raised_ms,
        has_corrective_report: car,
        photos: serde_json::from_str(&photos)?,
        last_seq,
    }))
}

pub(crate) fn get_notice_row(conn: &Connection, id: Id) -> Result<NoticeRow> {
    find_notice_row(conn, id)?.ok_or_else(|| Error::not_found("notice", id))
}

/// The signed-in person's relations to a notice, as the protocol's table names them.
fn roles_for(person: &SignedInPerson, n: &NoticeRow) -> Vec<NoticeRole> {
    let mut roles = vec![];
    if person.person_id == n.issuer_id {
        roles.push(NoticeRole::Issuer);
    }
    let head = person.roles.iter().any(|r| {
        matches!(r, Role::DepartmentHead { site_id, department_id } if *site_id == n.site_id && *department_id == n.department_id)
    });
    if head {
        roles.push(NoticeRole::Head);
    }
    let supervisor = person.roles.iter().any(|r| {
        matches!(r, Role::OrgSupervisor) || matches!(r, Role::SiteSupervisor { site_id } if *site_id == n.site_id)
    });
    if supervisor {
        roles.push(NoticeRole::Supervisor);
    }
    roles
}

pub(crate) fn check_photos(conn: &Connection, photos: &[String]) -> Result<()> {
    if photos.len() > limits::PHOTOS_PER_RECORD_MAX {
        return Err(Error::invalid("photos", Reason::TooMany { max: limits::PHOTOS_PER_RECORD_MAX }));
    }
    for (i, sha) in photos.iter().enumerate() {
        if photos[..i].contains(sha) {
            return Err(Error::invalid("photos", Reason::PhotoListedTwice));
        }
        if !photos::exists(conn, sha)? {
            return Err(Error::not_found("photo", sha));
        }
    }
    Ok(())
}

/// The notice projection, from NoticeRaised and NoticeActed records.
pub(crate) fn project(tx: &Transaction<'_>, r: &Record) -> Result<()> {
    match &r.payload {
        RecordPayload::NoticeRaised {
            notice_id,
            site_id,
            department_id,
            checkpoint_id,
            run_id,
            location,
            description,
            severity,
            due_ms,
            photos,
        } => {
            tx.execute(
                "INSERT INTO notices (notice_id, site_id, department_id, checkpoint_id, run_id, location, description,
                    severity, due_ms, state, issuer_id, raised_ms, has_corrective_report, photos, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'issued', ?10, ?11, 0, ?12, ?13)",
                params![
                    notice_id.to_string(),
                    site_id.to_string(),
                    department_id.to_string(),
                    checkpoint_id.map(|i| i.to_string()),
                    run_id.map(|i| i.to_string()),
                    location,
                    description,
                    severity_str(*severity),
                    due_ms,
                    r.author.to_string(),
                    r.device_time_ms,
                    serde_json::to_string(photos)?,
                    r.seq as i64
                ],
            )?;
        }
        RecordPayload::NoticeActed { notice_id, action, reason, photos, reassign_to, .. } => {
            let n = get_notice_row(tx, *notice_id)?;
            // The next state depends only on (state, action), so replaying needs no
            // knowledge of who the author was; the check of who may act was made when
            // the record was written. A step the table refuses leaves the state as is.
            let to = notice::decide(n.state, *action, &NoticeRole::ALL, n.severity, n.has_corrective_report)
                .unwrap_or(n.state);
            tx.execute(
                "UPDATE notices SET state = ?2, department_id = coalesce(?3, department_id),
                    has_corrective_report = has_corrective_report OR ?4 WHERE notice_id = ?1",
                params![
                    notice_id.to_string(),
                    to.as_str(),
                    reassign_to.map(|i| i.to_string()),
                    *action == NoticeAction::CorrectiveAction
                ],
            )?;
            tx.execute(
                "INSERT INTO notice_actions (seq, notice_id, actor_id, action, reason, photos, reassign_to, time_ms,
                    from_state, to_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    r.seq as i64,
                    notice_id.to_string(),
                    r.author.to_string(),
                    action.as_str(),
                    reason,
                    serde_json::to_string(photos)?,
                    reassign_to.map(|i| i.to_string()),
                    r.device_time_ms,
                    n.state.as_str(),
                    to.as_str()
                ],
            )?;
        }
        _ => {}
    }
    Ok(())
}

fn view(conn: &Connection, n: NoticeRow, person: Option<&SignedInPerson>, now_ms: i64) -> Result<NoticeView> {
    let site: Site = reference::get(conn, n.site_id)?;
    let dept: Option<Department> = reference::find(conn, n.department_id)?;
    let cp: Option<Checkpoint> = n.checkpoint_id.map(|id| reference::find(conn, id)).transpose()?.flatten();
    let acked: i64 = conn.query_row("SELECT acked_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    let mut actions = remote_lines(conn, n.notice_id)?;
    let seen_by_server = !actions.is_empty();
    {
        // Before the server has answered, the local steps are the timeline; after, only
        // those it has not acknowledged yet are added to its timeline.
        let mut stmt = conn.prepare_cached(
            "SELECT actor_id, action, reason, photos, reassign_to, time_ms, from_state, to_state, seq
             FROM notice_actions WHERE notice_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let after = if seen_by_server { acked } else { 0 };
        let rows = stmt.query_map(params![n.notice_id.to_string(), after], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?;
        for row in rows {
            let (actor, action, reason, photos, reassign_to, time_ms, from, to, seq) = row?;
            actions.push(NoticeActionLine {
                actor_id: parse_id(&actor)?,
                actor_name: None,
                applied: true,
                refusal: None,
                pending: seq > acked,
                action: NoticeAction::parse(&action).ok_or_else(|| Error::Corrupt(format!("action {action:?}")))?,
                reason,
                photos: serde_json::from_str(&photos)?,
                reassign_to: opt_id(reassign_to)?,
                time_ms,
                from_state: parse_state(&from)?,
                to_state: parse_state(&to)?,
            });
        }
    }
    let allowed_actions = match person {
        Some(p) => {
            let roles = roles_for(p, &n);
            NoticeAction::ALL
                .into_iter()
                .filter(|a| notice::decide(n.state, *a, &roles, n.severity, n.has_corrective_report).is_ok())
                .collect()
        }
        None => vec![],
    };
    Ok(NoticeView {
        notice_id: n.notice_id,
        number: n.number,
        site_id: site.id,
        site_name_zh: site.name_zh,
        department_id: n.department_id,
        department_name_zh: dept.map(|d| d.name_zh).unwrap_or_default(),
        checkpoint_id: n.checkpoint_id,
        checkpoint_name_zh: cp.map(|c| c.name_zh),
        location: n.location,
        run_id: n.run_id,
        description: n.description,
        severity: n.severity,
        due_ms: n.due_ms,
        overdue: n.state.is_open() && now_ms > n.due_ms,
        state: n.state,
        state_zh: n.state.name_zh().to_string(),
        issuer_id: n.issuer_id,
        raised_ms: n.raised_ms,
        photos: n.photos,
        actions,
        allowed_actions,
        queued: n.last_seq > acked,
    })
}

/// The server's timeline of a notice (after a sync), without the "raised" entry.
fn remote_lines(conn: &Connection, notice_id: Id) -> Result<Vec<NoticeActionLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT actor_id, actor_name, action, reason, photos, reassign_to, from_state, to_state, applied, refusal,
                device_time_ms
         FROM remote_events WHERE notice_id = ?1 AND action <> 'raised' ORDER BY position",
    )?;
    let rows = stmt.query_map([notice_id.to_string()], |r| {
        Ok((
            [
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ],
            [r.get::<_, Option<String>>(5)?, r.get::<_, Option<String>>(6)?, r.get::<_, Option<String>>(7)?],
            r.get::<_, bool>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, i64>(10)?,
        ))
    })?;
    let mut out = vec![];
    for row in rows {
        let ([actor, name, action, reason, photos], [reassign, from, to], applied, refusal, time_ms) = row?;
        let from_state = from.as_deref().map(parse_state).transpose()?.unwrap_or(NoticeState::Issued);
        out.push(NoticeActionLine {
            actor_id: parse_id(&actor)?,
            actor_name: Some(name),
            applied,
            refusal,
            pending: false,
            action: NoticeAction::parse(&action).ok_or_else(|| Error::Corrupt(format!("action {action:?}")))?,
            reason,
            photos: serde_json::from_str(&photos)?,
            reassign_to: opt_id(reassign)?,
            time_ms,
            from_state,
            to_state: to.as_deref().map(parse_state).transpose()?.unwrap_or(from_state),
        });
    }
    Ok(out)
}

impl Core {
    /// Raises a notice from a finding. It is queued for the server, which numbers it.
    pub fn create_notice(&self, draft: NoticeDraft) -> Result<NoticeView> {
        let description = clean_text("description", &draft.description, limits::TEXT_MAX, true)?;
        let location = clean_text("location", &draft.location, limits::NAME_MAX, draft.checkpoint_id.is_none())
            .map_err(|e| match e {
                Error::Invalid { field, .. } if draft.checkpoint_id.is_none() => Error::Invalid {
                    field,
                    en: "give a checkpoint or describe the location (at most 200 characters)".into(),
                    zh: "请选择巡检点或填写位置（不超过 200 字）".into(),
                },
                e => e,
            })?;
        let now = self.now_ms();
        if draft.due_ms <= now || draft.due_ms > now + DUE_MAX_MS {
            return Err(Error::invalid("due_ms", Reason::DueWithinYear));
        }
        let notice_id = self.store.write(|tx| {
            let (_, by) = self.author(tx)?;
            reference::get::<Site>(tx, draft.site_id)?;
            let dept: Department = reference::get(tx, draft.department_id)?;
            if dept.site_id != draft.site_id {
                return Err(Error::invalid("department_id", Reason::DepartmentNotHere));
            }
            if let Some(cp) = draft.checkpoint_id
                && reference::get::<Checkpoint>(tx, cp)?.site_id != draft.site_id
            {
                return Err(Error::invalid("checkpoint_id", Reason::CheckpointNotHere));
            }
            if let Some(run) = draft.run_id
                && patrols::get_run(tx, run)?.site_id != draft.site_id
            {
                return Err(Error::invalid("run_id", Reason::RunNotHere));
            }
            check_photos(tx, &draft.photos)?;
            let notice_id = Id::now_v7();
            store::append(
                tx,
                by,
                RecordPayload::NoticeRaised {
                    notice_id,
                    site_id: draft.site_id,
                    department_id: draft.department_id,
                    checkpoint_id: draft.checkpoint_id,
                    run_id: draft.run_id,
                    location,
                    description,
                    severity: draft.severity,
                    due_ms: draft.due_ms,
                    photos: draft.photos.clone(),
                },
            )?;
            Ok(notice_id)
        })?;
        self.notice(notice_id)
    }

    /// An action on a notice by the signed-in person (sign for receipt, dispute, report
    /// the fix with after-photos, verify …), checked with the protocol's `decide`
    /// against the local state; refused with Conflict and nothing recorded if not allowed.
    pub fn act_on_notice(
        &self,
        notice_id: Id,
        action: NoticeAction,
        reason: &str,
        photos: Vec<String>,
        reassign_to: Option<Id>,
    ) -> Result<NoticeView> {
        let reason = clean_text("reason", reason, limits::TEXT_MAX, action.needs_reason())?;
        if action.needs_photos() && photos.is_empty() {
            return Err(Error::invalid("photos", Reason::FixNeedsAfterPhoto));
        }
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            let n = get_notice_row(tx, notice_id)?;
            check_photos(tx, &photos)?;
            if let Some(dept) = reassign_to
                && reference::get::<Department>(tx, dept)?.site_id != n.site_id
            {
                return Err(Error::invalid("reassign_to", Reason::ReassignNotHere));
            }
            notice::decide(n.state, action, &roles_for(&person, &n), n.severity, n.has_corrective_report)?;
            store::append(
                tx,
                by,
                RecordPayload::NoticeActed { notice_id, action, reason, photos, reassign_to, new_due_ms: None },
            )?;
            Ok(())
        })?;
        self.notice(notice_id)
    }

    pub fn notice(&self, notice_id: Id) -> Result<NoticeView> {
        let now = self.now_ms();
        self.store.read(|conn| {
            let person = signed_in(conn)?;
            view(conn, get_notice_row(conn, notice_id)?, person.as_ref(), now)
        })
    }

    /// Notices known on this device, newest first, at most `limit` (bounded to 500).
    pub fn list_notices(&self, limit: u32) -> Result<Vec<NoticeView>> {
        let now = self.now_ms();
        self.store.read(|conn| {
            let person = signed_in(conn)?;
            let ids: Vec<String> = {
                let mut stmt =
                    conn.prepare_cached("SELECT notice_id FROM notices ORDER BY raised_ms DESC, seq DESC LIMIT ?1")?;
                stmt.query_map([limit.clamp(1, 500)], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
            };
            ids.iter().map(|id| view(conn, get_notice_row(conn, parse_id(id)?)?, person.as_ref(), now)).collect()
        })
    }
}
