//! Sync: devices push their record chains, the server applies each record to the
//! projections in the same transaction, and people pull what changed for them.

pub(crate) mod batch;
pub mod feed;
pub mod outcome;

use patrol_protocol::audit::Leaf;
use patrol_protocol::reason::Reason;
use patrol_protocol::record::{GENESIS_HASH, Record, RecordPayload};
use patrol_protocol::sync::{
    NoticeView, PullResponse, PushRequest, PushResponse, RecordOutcome, RecordStatus, ReferenceBundle, Rejection,
};
use patrol_protocol::{Checkpoint, Id, sync::PersonName};

use crate::error::DomainError;
use crate::params;
use crate::policy::{Access, Actor};
use crate::store::{Conn, DbError, people, reference};
use batch::Batch;
use outcome::Outcome;

/// 2020-01-01T00:00:00Z: no patrol record is older than the product.
const EARLIEST_DEVICE_TIME_MS: i64 = 1_577_836_800_000;
/// How far ahead of the server a device clock may be before its records are refused.
const FUTURE_TOLERANCE_MS: i64 = 7 * 86_400_000;

/// Why a whole push was refused; nothing of it was stored.
#[derive(Debug)]
pub enum PushRefusal {
    Gap { expected: u64, got: u64 },
    Fork { seq: u64, stored_hash: Option<String>, offered: Box<Record> },
    Invalid { field: String, reason: Reason },
    Forbidden(Reason),
}

impl From<PushRefusal> for DomainError {
    fn from(r: PushRefusal) -> Self {
        match r {
            PushRefusal::Gap { expected, got } => DomainError::Conflict(Reason::SyncGap { expected, got }),
            PushRefusal::Fork { seq, stored_hash: Some(_), .. } => {
                DomainError::Conflict(Reason::SyncForkContradicts { seq })
            }
            PushRefusal::Fork { seq, stored_hash: None, .. } => DomainError::Conflict(Reason::SyncForkChain { seq }),
            PushRefusal::Invalid { field, reason } => DomainError::Invalid { field, reason },
            PushRefusal::Forbidden(m) => DomainError::Forbidden(m),
        }
    }
}

pub struct Device {
    pub person_id: Id,
    pub acked_seq: u64,
    pub acked_hash: String,
}

pub fn device(c: &mut dyn Conn, device_id: Id) -> Result<Option<Device>, DbError> {
    c.query_opt("SELECT person_id, acked_seq, acked_hash FROM devices WHERE device_id = $1", &params![device_id])?
        .map(|r| Ok(Device { person_id: r.uuid(0)?, acked_seq: r.int(1)? as u64, acked_hash: r.text(2)? }))
        .transpose()
}

/// Applies one new record to the projections.
fn apply(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64, batch: &mut Batch) -> Result<Outcome, DbError> {
    match &rec.payload {
        RecordPayload::RunStarted { .. }
        | RecordPayload::CheckpointVisited { .. }
        | RecordPayload::ItemRecorded { .. }
        | RecordPayload::TrackPoints { .. }
        | RecordPayload::RunFinished { .. }
        | RecordPayload::DailyLogSigned { .. } => crate::patrols::apply(c, actor, rec, now, batch),
        RecordPayload::PhotoTaken { .. } => crate::photos::apply_taken(c, rec, now),
        RecordPayload::PhotoMarked { .. } => crate::photos::apply_marked(c, actor, rec, now),
        RecordPayload::NoticeRaised { .. } => crate::notices::apply_raised(c, actor, rec, now),
        RecordPayload::NoticeActed { .. } => crate::notices::apply_acted(c, actor, rec, now),
        RecordPayload::FaultIssued { .. } => crate::faults::apply_issued(c, actor, rec, now),
        RecordPayload::FaultActed { .. } => crate::faults::apply_acted(c, actor, rec, now),
        RecordPayload::AppealDecided { .. } => crate::faults::apply_decided(c, actor, rec, now),
        RecordPayload::RunWaived { .. } | RecordPayload::RunWaiverDecided { .. } => {
            crate::schedules::waivers::apply(c, actor, rec, now)
        }
        RecordPayload::Correction { corrects, .. } => {
            if c.query_opt("SELECT 1 FROM records WHERE id = $1 AND author_id = $2", &params![*corrects, rec.author])?
                .is_some()
            {
                Ok(Outcome::applied())
            } else {
                Ok(Outcome::rejected(Reason::CorrectionNotYours))
            }
        }
    }
}

/// Stores a record that extends its device's chain and applies it. `clock_offset_ms`
/// is the device's clock offset measured at the push that carried it (none for the
/// server's own chains): the audit of patrol times trusts device times only within
/// bounds of it.
///
/// The record is applied under a savepoint: when its projection writes collide with
/// something already stored (a run or visit id another device used), they are undone
/// and the record is kept as rejected, so the device's chain goes on instead of
/// jamming on a record it can never change.
fn store_and_apply(
    c: &mut dyn Conn,
    actor: &Actor,
    rec: &Record,
    canon: &Canonical,
    now: i64,
    clock_offset_ms: Option<i64>,
) -> Result<Outcome, DbError> {
    let mut batch = Batch::default();
    let outcome = store_and_apply_into(c, actor, rec, canon, now, clock_offset_ms, &mut batch)?;
    batch.flush(c)?;
    Ok(outcome)
}

/// Whether applying `rec` may read or write more than the patrol tables a push holds
/// back (`Batch`): anything but the patrol records. Before such a record what is held
/// back is written, so every table keeps the order of the push (leaves in particular:
/// their pending ids order the log), and it is applied under its own savepoint.
fn guarded(rec: &Record) -> bool {
    !matches!(
        rec.payload,
        RecordPayload::RunStarted { .. }
            | RecordPayload::CheckpointVisited { .. }
            | RecordPayload::ItemRecorded { .. }
            | RecordPayload::TrackPoints { .. }
            | RecordPayload::RunFinished { .. }
    )
}

fn store_and_apply_into(
    c: &mut dyn Conn,
    actor: &Actor,
    rec: &Record,
    canon: &Canonical,
    now: i64,
    clock_offset_ms: Option<i64>,
    batch: &mut Batch,
) -> Result<Outcome, DbError> {
    let hash = canon.hash.as_str();
    // Patrol records look their ids up before inserting (runs, visits) or insert under
    // their own record's id, so only a concurrent push inserting the same id at the same
    // moment can collide there: that push fails and is retried, and the retry gets the
    // rejection. They run without a savepoint (two statements each, two round trips on
    // PostgreSQL); every other kind keeps one.
    let guarded = guarded(rec);
    if guarded {
        batch.flush_and_forget(c)?;
        c.execute_batch("SAVEPOINT apply_record")?;
    }
    let outcome = match apply(c, actor, rec, now, batch) {
        Ok(o) => {
            if guarded {
                c.execute_batch("RELEASE SAVEPOINT apply_record")?;
            }
            o
        }
        Err(DbError::Unique(detail)) if guarded => {
            tracing::info!(record = %rec.id, %detail, "record collides with a stored object; kept as rejected");
            c.execute_batch("ROLLBACK TO SAVEPOINT apply_record; RELEASE SAVEPOINT apply_record")?;
            Outcome::rejected(Reason::ObjectExists)
        }
        Err(e) => return Err(e),
    };
    let status = match outcome.status {
        RecordStatus::Rejected => "rejected",
        _ => "applied",
    };
    let row = params![
        rec.id,
        rec.device,
        rec.seq as i64,
        rec.author,
        rec.payload.kind_str(),
        rec.device_time_ms,
        &rec.prev_hash,
        hash,
        canon.body.clone(),
        now,
        status,
        outcome.reason.clone(),
        outcome.reason_zh.clone(),
        clock_offset_ms
    ];
    // The record's leaf, in this transaction: a stored record is a logged record.
    let leaf = Leaf::Record {
        record_id: rec.id,
        device_id: rec.device,
        seq: rec.seq,
        record_hash: hash.to_string(),
        received_ms: now,
        status: status.to_string(),
        reason: outcome.reason.clone(),
    };
    batch.add_record(row, crate::audit::log::pending_row(&leaf, now));
    if outcome.status == RecordStatus::Rejected && !outcome.in_timeline {
        // A refusal kept in a notice's timeline has its feed entry already.
        let entry = feed::Entry { person_id: Some(rec.author), record_id: Some(rec.id), ..feed::Entry::default() };
        batch.add_feed(feed::Kind::Rejection, entry, now);
    }
    Ok(outcome)
}

/// Applies a stored record again, exactly as the push or the server action that
/// brought it did: `audit verify` rebuilds every projection this way in a scratch
/// database (`audit::replay`), with `now` the record's stored receipt time and
/// `actor` its author as they stood then. A photo a browser uploaded is marked
/// complete with its record, as `photos::record_prepared` does.
pub(crate) fn reapply(
    c: &mut dyn Conn,
    actor: &Actor,
    rec: &Record,
    hash: &str,
    now: i64,
    clock_offset_ms: Option<i64>,
) -> Result<Outcome, DbError> {
    // The stored hash, as the record was logged; the body encoded again.
    let body = String::from_utf8(rec.canonical_bytes()).expect("canonical JSON is UTF-8");
    let outcome = store_and_apply(c, actor, rec, &Canonical { hash: hash.to_string(), body }, now, clock_offset_ms)?;
    if let RecordPayload::PhotoTaken { sha256, .. } = &rec.payload
        && outcome.status == RecordStatus::Applied
        && rec.device == api_device(rec.author)
    {
        crate::photos::mark_complete(c, sha256, now)?;
    }
    Ok(outcome)
}

fn save_device(
    c: &mut dyn Conn,
    device_id: Id,
    person: Id,
    seq: u64,
    hash: &str,
    now: i64,
    offset: Option<i64>,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO devices (device_id, person_id, acked_seq, acked_hash, first_seen_ms, last_seen_ms, clock_offset_ms)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT (device_id) DO UPDATE SET acked_seq = $3, acked_hash = $4, last_seen_ms = $5,
             clock_offset_ms = COALESCE($6, devices.clock_offset_ms)",
        &params![device_id, person, seq as i64, hash, now, offset],
    )?;
    Ok(())
}

/// A record's place in the push, decided before anything is written.
enum Step<'r> {
    /// Already stored with the same hash: answered `duplicate`, nothing written.
    Duplicate(&'r Record),
    /// Extends the chain: stored and applied.
    New(&'r Record, &'r Canonical),
}

/// Checks the whole push against the device's chain, reading only: who sent it,
/// every record's own validity and clock, and that the new records extend the chain
/// without gap or fork. One bad record refuses the whole push, and since nothing has
/// been written yet, a refused push changes nothing.
fn plan<'r>(
    c: &mut dyn Conn,
    actor: &Actor,
    req: &'r PushRequest,
    canon: &'r [Canonical],
    acked: (u64, String),
    now: i64,
) -> Result<Result<Vec<Step<'r>>, PushRefusal>, DbError> {
    let (acked_seq, _) = acked;
    let (mut seq, mut hash) = acked;
    // The hashes of this push's new records, by seq, for a resend inside one push.
    let mut fresh: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    let mut steps = Vec::with_capacity(req.records.len());
    for (rec, canon) in req.records.iter().zip(canon) {
        if rec.device != req.device_id || rec.author != actor.person.id {
            return Ok(Err(PushRefusal::Forbidden(Reason::RecordsNotYours)));
        }
        if let Err(e) = rec.validate() {
            return Ok(Err(PushRefusal::Invalid {
                field: format!("records[seq={}].{}", rec.seq, e.field),
                reason: e.reason,
            }));
        }
        // A clock this far off is not a slow phone but a broken one (or a forged
        // record): refuse rather than let it into the audit. Smaller offsets are
        // accepted and flagged by the patrol audit.
        if rec.device_time_ms < EARLIEST_DEVICE_TIME_MS || rec.device_time_ms > now.saturating_add(FUTURE_TOLERANCE_MS)
        {
            return Ok(Err(PushRefusal::Invalid {
                field: format!("records[seq={}].device_time_ms", rec.seq),
                reason: Reason::DeviceClockWrong,
            }));
        }
        let h = &canon.hash;
        if rec.seq <= seq {
            let known = if rec.seq > acked_seq {
                fresh.get(&rec.seq).cloned()
            } else {
                c.query_opt(
                    "SELECT hash FROM records WHERE device_id = $1 AND seq = $2",
                    &params![rec.device, rec.seq as i64],
                )?
                .map(|r| r.text(0))
                .transpose()?
            };
            if known.as_deref() == Some(h.as_str()) {
                steps.push(Step::Duplicate(rec));
                continue;
            }
            return Ok(Err(PushRefusal::Fork { seq: rec.seq, stored_hash: known, offered: Box::new(rec.clone()) }));
        }
        if rec.seq != seq + 1 {
            return Ok(Err(PushRefusal::Gap { expected: seq + 1, got: rec.seq }));
        }
        if rec.prev_hash != hash {
            return Ok(Err(PushRefusal::Fork { seq: rec.seq, stored_hash: None, offered: Box::new(rec.clone()) }));
        }
        fresh.insert(rec.seq, h.clone());
        seq = rec.seq;
        hash = h.clone();
        steps.push(Step::New(rec, canon));
    }
    Ok(Ok(steps))
}

/// The whole push, in the caller's transaction. The caller must roll the transaction
/// back on a refusal (`Store::write_or_refuse` does): a refused push changes nothing.
/// Clock evidence older than this anchors nothing: the phone's monotonic time since
/// could then stretch over a long stretch of the day. Phones fetch a fresh time
/// (`/sync/status`) before pushing when theirs is older than half of this.
pub const CLOCK_EVIDENCE_MAX_AGE_MS: i64 = 10 * 60_000;

/// The device's clock offset (server time minus device time, ms) measured from
/// evidence the server controls: a time it signed for this device, plus the phone's
/// monotonic time since, which may not reach past the push's receipt. `None` when
/// the push carries no evidence or only stale evidence: its records' times are then
/// unanchored, and the patrol audit says so rather than grading them on time. Forged
/// evidence refuses the push.
pub fn anchored_offset(keys: &crate::tokens::Keys, req: &PushRequest, now: i64) -> Result<Option<i64>, PushRefusal> {
    let Some(ev) = &req.clock else {
        return Ok(None);
    };
    let invalid = |field: &str, reason: Reason| PushRefusal::Invalid { field: format!("clock.{field}"), reason };
    if ev.time_token.len() > 200 {
        return Err(invalid("time_token", Reason::TooLong { max: 200 }));
    }
    let Some(given) = keys.verify_time_token(req.device_id, &ev.time_token) else {
        return Err(invalid("time_token", Reason::TimeTokenForeign));
    };
    if ev.elapsed_ms < 0 || given.saturating_add(ev.elapsed_ms) > now.saturating_add(1_000) {
        return Err(invalid("elapsed_ms", Reason::ElapsedTooLong));
    }
    if now - given > CLOCK_EVIDENCE_MAX_AGE_MS
        || !(EARLIEST_DEVICE_TIME_MS..=now.saturating_add(FUTURE_TOLERANCE_MS)).contains(&req.sent_at_ms)
    {
        return Ok(None);
    }
    Ok(Some(given + ev.elapsed_ms - req.sent_at_ms))
}

///
/// `canon` is `canonicalize(req)`, worked out before the transaction.
pub fn push(
    c: &mut dyn Conn,
    actor: &Actor,
    req: &PushRequest,
    canon: &[Canonical],
    now: i64,
    offset: Option<i64>,
) -> Result<Result<PushResponse, PushRefusal>, DbError> {
    assert_eq!(canon.len(), req.records.len(), "one canonical form per record");
    let dev = device(c, req.device_id)?;
    if dev.as_ref().is_some_and(|d| d.person_id != actor.person.id) {
        return Ok(Err(PushRefusal::Forbidden(Reason::ChainOfOtherPerson)));
    }
    let (mut seq, mut hash) = dev.map_or((0, GENESIS_HASH.to_string()), |d| (d.acked_seq, d.acked_hash));
    let steps = match plan(c, actor, req, canon, (seq, hash.clone()), now)? {
        Ok(steps) => steps,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut results = Vec::with_capacity(steps.len());
    let mut batch = Batch::default();
    batch.prefetch(
        c,
        steps.iter().filter_map(|s| match s {
            Step::New(rec, _) => Some(*rec),
            Step::Duplicate(_) => None,
        }),
    )?;
    // Server time minus the phone's clock, anchored by the push's clock evidence
    // (`anchored_offset`): positive when the phone's clock is behind. Kept on every
    // record the push carries; none when nothing anchors it.
    for step in steps {
        match step {
            Step::Duplicate(rec) => results.push(RecordOutcome {
                record_id: rec.id,
                seq: rec.seq,
                status: RecordStatus::Duplicate,
                reason: None,
                reason_zh: None,
                notice_number: None,
            }),
            Step::New(rec, canon) => {
                let outcome = store_and_apply_into(c, actor, rec, canon, now, offset, &mut batch)?;
                results.push(RecordOutcome {
                    record_id: rec.id,
                    seq: rec.seq,
                    status: outcome.status,
                    reason: outcome.reason,
                    reason_zh: outcome.reason_zh,
                    notice_number: outcome.notice_number,
                });
                seq = rec.seq;
                hash = canon.hash.clone();
            }
        }
    }
    batch.flush(c)?;
    save_device(c, req.device_id, actor.person.id, seq, &hash, now, offset)?;
    Ok(Ok(PushResponse { acked_seq: seq, acked_hash: hash, server_time_ms: now, time_token: String::new(), results }))
}

/// A record's canonical encoding and hash, worked out before the push's transaction
/// (encoding is the costliest part of checking a record, and needs nothing stored):
/// what the record row keeps and what the chain is checked with.
pub struct Canonical {
    pub hash: String,
    pub body: String,
}

impl Canonical {
    pub fn of(rec: &Record) -> Canonical {
        let bytes = rec.canonical_bytes();
        let hash = Record::hash_of_canonical(&bytes);
        Canonical { hash, body: String::from_utf8(bytes).expect("canonical JSON is UTF-8") }
    }
}

/// Every record's canonical form, in the push's order (`push` takes them).
pub fn canonicalize(req: &PushRequest) -> Vec<Canonical> {
    req.records.iter().map(Canonical::of).collect()
}

/// Forks kept per device: enough for the auditor to see what a device offered, never
/// a table a caller can grow by replaying bad pushes.
pub const MAX_FORKS_PER_DEVICE: i64 = 16;

/// Keeps an offered record that contradicted the chain, for the auditor: once per
/// distinct offered record, and at most [`MAX_FORKS_PER_DEVICE`] per device (further
/// offers are only logged). Returns whether a row was added.
pub fn flag_fork(
    c: &mut dyn Conn,
    device_id: Id,
    seq: u64,
    stored: Option<String>,
    offered: &Record,
    now: i64,
) -> Result<bool, DbError> {
    let Canonical { hash: offered_hash, body: offered_body } = Canonical::of(offered);
    let known = c.query_one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN seq = $2 AND offered_hash = $3 THEN 1 ELSE 0 END), 0)
         FROM forks WHERE device_id = $1",
        &params![device_id, seq as i64, &offered_hash],
    )?;
    if known.int(1)? > 0 || known.int(0)? >= MAX_FORKS_PER_DEVICE {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO forks (device_id, seq, stored_hash, offered_hash, offered_body, at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![
            device_id,
            seq as i64,
            stored.clone(),
            &offered_hash,
            offered_body,
            now
        ],
    )?;
    let leaf = Leaf::ForkFlagged { device_id, seq, stored_hash: stored, offered_hash, at_ms: now };
    crate::audit::log::append(c, &leaf, now)?;
    Ok(true)
}

/// The API device of a person: web console and JSON actions go on this chain, which
/// the server keeps itself. Derived, so every instance agrees on it.
pub fn api_device(person: Id) -> Id {
    const NAMESPACE: Id = Id::from_u128(0x7061_7472_6f6c_2d61_7069_2d64_6576_6963);
    Id::new_v5(&NAMESPACE, person.as_bytes())
}

/// Records an action made through the server (web console, JSON API) on the person's
/// API chain and applies it, in the caller's transaction.
pub fn append_server_record(
    c: &mut dyn Conn,
    actor: &Actor,
    payload: RecordPayload,
    now: i64,
) -> Result<(Record, Outcome), DbError> {
    let device_id = api_device(actor.person.id);
    let (seq, prev_hash) = device(c, device_id)?.map_or((0, GENESIS_HASH.to_string()), |d| (d.acked_seq, d.acked_hash));
    let rec = Record {
        id: Id::now_v7(),
        author: actor.person.id,
        device: device_id,
        seq: seq + 1,
        device_time_ms: now,
        prev_hash,
        payload,
    };
    let canon = Canonical::of(&rec);
    let outcome = store_and_apply(c, actor, &rec, &canon, now, None)?;
    save_device(c, device_id, actor.person.id, rec.seq, &canon.hash, now, None)?;
    Ok((rec, outcome))
}

/// Everything of the reference data the actor may see.
pub fn reference_for(c: &mut dyn Conn, actor: &Actor) -> Result<ReferenceBundle, DbError> {
    let mut bundle = ReferenceBundle::default();
    for site in reference::list_sites(c, actor.person.org_id)? {
        if !actor.may(Access::ReadSite(&site)) {
            continue;
        }
        bundle.departments.extend(reference::list_departments(c, site.id)?);
        bundle.checkpoints.extend(reference::list_checkpoints(c, site.id)?.into_iter().map(Checkpoint::without_secret));
        bundle.routes.extend(reference::list_routes(c, site.id)?);
        bundle.schedules.extend(reference::list_schedules(c, site.id)?);
        bundle.sites.push(site);
    }
    bundle.fault_rules =
        crate::faults::catalogue::rules(c, actor.person.org_id)?.into_iter().filter(|r| !r.retired).collect();
    bundle.people = people::list_people(c, actor.person.org_id)?
        .into_iter()
        .map(|p| PersonName { id: p.id, display_name: p.display_name })
        .collect();
    Ok(bundle)
}

/// Reads the feed after `after`; `initial` (no cursor yet) also sends the reference data.
pub fn pull(
    c: &mut dyn Conn,
    actor: &Actor,
    after: i64,
    initial: bool,
    limit: u32,
    now: i64,
) -> Result<PullResponse, DbError> {
    let (rows, cursor, more) = feed::page_for_pull(c, after, limit)?;
    let mut need_reference = initial;
    let mut notice_ids: Vec<Id> = Vec::new();
    let mut visible_cache: std::collections::HashMap<Id, bool> = std::collections::HashMap::new();
    let mut rejections = Vec::new();
    let me = actor.person.id;
    for row in &rows {
        let e = &row.entry;
        match row.kind.as_str() {
            "reference" => {
                if let Some(site) = e.site_id.map(|s| reference::get_site(c, s)).transpose()?.flatten() {
                    need_reference |= actor.may(Access::ReadSite(&site));
                }
            }
            "notice" => {
                let was_ours = e
                    .site_id
                    .is_some_and(|s| e.department_id.is_some_and(|d| actor.headed_departments(s).contains(&d)));
                if let Some(id) = e.notice_id {
                    if !notice_ids.contains(&id) {
                        // A notice changes many times in a page; judge it once.
                        let visible_now = match visible_cache.get(&id) {
                            Some(v) => *v,
                            None => {
                                let v = match crate::notices::get(c, id)? {
                                    Some(n) => {
                                        let org =
                                            reference::get_site(c, n.site_id)?.map(|s| s.org_id).unwrap_or_default();
                                        crate::notices::visible(actor, &n, org)
                                    }
                                    None => false,
                                };
                                visible_cache.insert(id, v);
                                v
                            }
                        };
                        if was_ours || visible_now {
                            notice_ids.push(id);
                        }
                    }
                }
            }
            "rejection" if e.person_id == Some(me) => {
                if let Some(record_id) = e.record_id {
                    if let Some(r) = c.query_opt(
                        "SELECT seq, kind, reason, reason_zh, body FROM records WHERE id = $1 AND status = 'rejected'",
                        &params![record_id],
                    )? {
                        let body: Option<Record> = serde_json::from_str(&r.text(4)?).ok();
                        let notice_id = match body.map(|b| b.payload) {
                            Some(RecordPayload::NoticeActed { notice_id, .. }) => Some(notice_id),
                            _ => e.notice_id,
                        };
                        rejections.push(Rejection {
                            record_id,
                            seq: r.int(0)? as u64,
                            kind: r.text(1)?,
                            reason: r.opt_text(2)?.unwrap_or_default(),
                            reason_zh: r.opt_text(3)?.unwrap_or_default(),
                            notice_id,
                        });
                        // The refusal is the pusher's own; the notice it names is
                        // shown only if the policy lets them see it (or they were
                        // shown it before a reassignment took it away).
                        if let Some(n) = notice_id {
                            if !notice_ids.contains(&n) {
                                let shown = match crate::notices::get(c, n)? {
                                    Some(row) => crate::notices::involved(c, actor, &row)?,
                                    None => false,
                                };
                                if shown {
                                    notice_ids.push(n);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut notices: Vec<NoticeView> = Vec::with_capacity(notice_ids.len());
    for id in notice_ids {
        if let Some(n) = crate::notices::get(c, id)? {
            notices.push(crate::notices::view(c, n)?);
        }
    }
    let fault_records: Vec<Id> = rows.iter().filter(|r| r.kind == "fault").filter_map(|r| r.entry.record_id).collect();
    let faults = crate::faults::pulled(c, me, &fault_records)?;
    let reference = if need_reference { Some(reference_for(c, actor)?) } else { None };
    let notifications = crate::notify::in_app::for_feed_rows(c, me, &rows)?;
    Ok(PullResponse {
        cursor: format!("v1.{cursor}"),
        more,
        server_time_ms: now,
        reference,
        notices,
        rejections,
        notifications,
        faults,
    })
}
