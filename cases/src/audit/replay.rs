//! What people see, rebuilt: the second half of `audit verify`. Every stored record is
//! applied again, in the order the log holds them, through the very code that applied
//! it when it arrived (`sync::reapply`), into a scratch SQLite database; then every
//! projection table is compared with the database row by row and column by column.
//! An insider who edits, deletes or inserts a row of what the console and the phones
//! show (a notice closed by SQL, a timeline event removed, a visit moved to another
//! checkpoint, a run deleted) is found, on SQLite and PostgreSQL alike.
//!
//! The replay's inputs are only what is proven or is not a projection:
//! - the records, in log order (their bodies are proven by the device chains, their
//!   order, receipt times and outcomes by the log);
//! - the log's photo-completed decisions, at their place in the log (a photo's arrival
//!   is not a record, but it is logged, and it changes what a run or notice shows);
//! - the reference data as it stood when each record arrived: reference tables are
//!   only ever inserted into, each row with its creation time, so "as it stood" is the
//!   rows created by then. Site rules are the exception, kept only in their latest
//!   state (see [`rules_then`]).
//!
//! The outcome of every replayed record is compared with the stored one too (status and
//! reason): the same code on the same inputs decides the same.
//!
//! Memory stays bounded: the scratch database is a file, the log and every table are
//! read in pages, and each page of the database is matched against the rebuilt rows by
//! key lookups (no ordering is assumed to agree between the two databases, so a
//! PostgreSQL collation cannot misalign them).

use std::collections::{HashMap, HashSet};

use patrol_protocol::Id;
use patrol_protocol::audit::Leaf;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::sync::RecordStatus;

use super::verify::Report;
use crate::params;
use crate::policy::Actor;
use crate::store::sqlite::ScratchDb;
use crate::store::{Conn, DbError, Row, Value, people, reference};

const PAGE: i64 = 500;
/// Leaves replayed between commits of the scratch database: bounds its journal.
const COMMIT_EVERY: u64 = 2000;
/// Differing rows reported one by one per table; the rest are counted.
const PER_TABLE: usize = 20;
const HOUR_MS: i64 = 3_600_000;

/// How `audit verify` treats a table of the schema. Every table is named in [`TABLES`]
/// (a test holds the schema to it), so a new table must be classified to be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Built from records (and logged decisions): rebuilt and compared row by row.
    Projection,
    /// Set up by administrators, not by records: an input of the replay, copied as it
    /// stood at each record's receipt. Not proven by the log.
    Reference,
    /// The records and the log themselves, proven by the chain and log checks.
    Proven,
    /// Not what anyone's records say: sessions, keys, upload buffers, messages, the
    /// background jobs' markers. Not rebuilt.
    Operational,
}

/// Every table, its class and why.
pub const TABLES: &[(&str, Class, &str)] = &[
    ("runs", Class::Projection, "run_started, run_finished"),
    ("visits", Class::Projection, "checkpoint_visited"),
    ("item_results", Class::Projection, "item_recorded"),
    ("track_batches", Class::Projection, "track_points"),
    (
        "photos",
        Class::Projection,
        "photo_taken, and the logged photo_completed and thumbnail_made decisions (upload progress is not compared)",
    ),
    ("photo_citations", Class::Projection, "photo_taken, notice_raised, notice_acted"),
    ("photo_markups", Class::Projection, "photo_marked (markup layers over photos)"),
    ("notice_counters", Class::Projection, "notice_raised (numbering)"),
    ("notices", Class::Projection, "notice_raised, notice_acted"),
    ("notice_search", Class::Projection, "notice_raised, notice_acted (the register's search row of the notice)"),
    ("notice_events", Class::Projection, "notice_raised, notice_acted (positions compared as timeline order)"),
    ("daily_log_signatures", Class::Projection, "daily_log_signed"),
    ("fault_counters", Class::Projection, "fault_issued (numbering)"),
    ("faults", Class::Projection, "fault_issued, fault_acted, appeal_decided"),
    ("fault_events", Class::Projection, "fault_issued, fault_acted, appeal_decided (each, applied or refused)"),
    (
        "fault_rules",
        Class::Reference,
        "the organisation's rule catalogue, every version kept; a fault notice names the version it cited",
    ),
    ("fault_scales", Class::Reference, "the organisation's scale, every version kept"),
    ("fault_month_notes", Class::Reference, "root-cause notes written at month end; not records"),
    ("run_waivers", Class::Projection, "run_waived, run_waiver_decided"),
    (
        "feed",
        Class::Projection,
        "entries of kinds run, notice, rejection, daily_log and fault, in order; reference and notification entries are signals, not rebuilt",
    ),
    ("organisations", Class::Reference, "set up by administrators"),
    ("sites", Class::Reference, "set up by administrators"),
    ("departments", Class::Reference, "set up by administrators"),
    ("people", Class::Reference, "set up by administrators; records carry only ids"),
    ("role_assignments", Class::Reference, "set up by administrators"),
    ("checkpoints", Class::Reference, "set up by administrators"),
    ("routes", Class::Reference, "set up by administrators"),
    ("schedules", Class::Reference, "set up by administrators"),
    (
        "reference_versions",
        Class::Reference,
        "every edit and retirement of sites, departments, checkpoints, routes and schedules; the replay applies each at its instant",
    ),
    ("holidays", Class::Reference, "set up by administrators"),
    ("special_periods", Class::Reference, "set up by administrators"),
    ("site_rules", Class::Reference, "set by administrators; only the latest state is kept"),
    ("site_plans", Class::Reference, "uploaded by administrators; not used by any record"),
    ("notify_channels", Class::Reference, "set up by administrators"),
    ("records", Class::Proven, "device chains and the log"),
    ("devices", Class::Proven, "each chain's acknowledged end; times and clock offsets are push metadata"),
    ("forks", Class::Proven, "refused offers, each logged"),
    ("log_leaves", Class::Proven, "the log"),
    (
        "witness_cosignatures",
        Class::Proven,
        "each checked against its witness's key when a policy requires it; an insider can delete a row, not forge one",
    ),
    ("log_pending", Class::Proven, "leaves waiting for the sequencer (at most the merge delay)"),
    ("log_nodes", Class::Proven, "the log"),
    ("tree_heads", Class::Proven, "signed heads"),
    ("log_keys", Class::Operational, "the log's signing key"),
    ("counters", Class::Operational, "position counters; the log's is checked against the leaves"),
    ("signing_keys", Class::Operational, "access-token keys"),
    ("refresh_tokens", Class::Operational, "sign-in state"),
    ("login_failures", Class::Operational, "sign-in throttling (before version 6)"),
    ("login_budgets", Class::Operational, "sign-in throttling budgets of the current minute"),
    ("web_sessions", Class::Operational, "console sessions"),
    ("photo_chunks", Class::Operational, "upload buffer, emptied when a photo completes"),
    ("notifications", Class::Operational, "messages about records and job decisions, made with fresh ids"),
    ("outbox", Class::Operational, "messages to channels and their delivery"),
    ("delivery_attempts", Class::Operational, "delivery history"),
    ("missed_windows", Class::Operational, "the patrol audit job's once-only marker; misses are computed from runs"),
    ("notice_escalations", Class::Operational, "the escalation job's steps, fired at its clock, not logged"),
    ("job_leases", Class::Operational, "background job leases"),
    (
        "feed_pending",
        Class::Operational,
        "feed entries waiting for the sequencer (at most the merge delay); the feed's comparison reads them after the positioned ones",
    ),
    ("_sqlx_migrations", Class::Operational, "schema version (sqlx's record of the steps applied)"),
];

/// A projection table compared by key.
struct Projection {
    table: &'static str,
    key: &'static [&'static str],
    /// Columns left out of the comparison.
    skip: &'static [&'static str],
    /// Columns compared through an expression over the row (aliased `t`).
    exprs: &'static [(&'static str, &'static str)],
}

const PROJECTIONS: &[Projection] = &[
    Projection { table: "runs", key: &["id"], skip: &[], exprs: &[] },
    Projection { table: "visits", key: &["id"], skip: &[], exprs: &[] },
    Projection { table: "item_results", key: &["record_id"], skip: &[], exprs: &[] },
    Projection { table: "track_batches", key: &["record_id"], skip: &[], exprs: &[] },
    // How much of an unfinished upload has arrived is not a record (and a browser's
    // photo arrives whole without counting): only whether and when it completed is.
    Projection { table: "photos", key: &["sha256"], skip: &["received"], exprs: &[] },
    Projection { table: "photo_citations", key: &["sha256", "record_id"], skip: &[], exprs: &[] },
    Projection { table: "photo_markups", key: &["record_id"], skip: &[], exprs: &[] },
    Projection { table: "notice_counters", key: &["site_id", "year"], skip: &[], exprs: &[] },
    Projection { table: "notices", key: &["id"], skip: &[], exprs: &[] },
    Projection { table: "notice_search", key: &["id"], skip: &[], exprs: &[] },
    // An event's position is the feed position of its change: the value depends on
    // feed entries that are not records (reference changes, messages), so what is
    // compared is what a reader sees, its place in the notice's timeline, and that it
    // names its own feed entry.
    Projection {
        table: "notice_events",
        key: &["record_id"],
        skip: &[],
        exprs: &[(
            "position",
            "CAST((SELECT COUNT(*) FROM notice_events o WHERE o.notice_id = t.notice_id AND o.position < t.position) AS TEXT)
             || CASE WHEN EXISTS (SELECT 1 FROM feed f WHERE f.entry_id = t.position AND f.record_id = t.record_id
                                  AND f.notice_id = t.notice_id)
                      OR EXISTS (SELECT 1 FROM feed_pending p WHERE p.pending_id = t.position
                                  AND p.record_id = t.record_id AND p.notice_id = t.notice_id)
                 THEN '' ELSE ' (not its feed entry)' END",
        )],
    },
    Projection { table: "daily_log_signatures", key: &["record_id"], skip: &[], exprs: &[] },
    Projection { table: "run_waivers", key: &["id"], skip: &[], exprs: &[] },
    Projection { table: "fault_counters", key: &["site_id", "year"], skip: &[], exprs: &[] },
    Projection { table: "faults", key: &["id"], skip: &[], exprs: &[] },
    Projection { table: "fault_events", key: &["record_id"], skip: &[], exprs: &[] },
];

/// The feed entries made by applying records and logged decisions, compared in order.
pub const FEED_FILTER: &str = "kind IN ('run', 'notice', 'rejection', 'daily_log', 'fault')";
const FEED_COLUMNS: &[&str] = &["at_ms", "kind", "site_id", "department_id", "person_id", "notice_id", "record_id"];

/// A table `audit verify` rebuilds and compares: its key, and which rows count (for
/// the insider-tamper tests, which are generated from this list).
#[derive(Debug, Clone)]
pub struct Compared {
    pub table: &'static str,
    pub key: &'static [&'static str],
    pub filter: Option<&'static str>,
    /// Columns left out of the comparison.
    pub skip: &'static [&'static str],
}

/// Every compared table.
pub fn compared() -> Vec<Compared> {
    PROJECTIONS
        .iter()
        .map(|p| Compared { table: p.table, key: p.key, filter: None, skip: p.skip })
        .chain(std::iter::once(Compared {
            table: "feed",
            key: &["position"],
            filter: Some(FEED_FILTER),
            skip: &["entry_id"],
        }))
        .collect()
}

/// Reference tables copied into the scratch database as of each replayed instant.
/// They are only ever inserted into (a test holds the server's code to it), so the
/// rows created by an instant are the reference data as it stood then.
pub const REFERENCE: &[&str] = &[
    "organisations",
    "sites",
    "departments",
    "people",
    "role_assignments",
    "checkpoints",
    "routes",
    "schedules",
    "holidays",
    "special_periods",
    "fault_rules",
    "fault_scales",
];

/// Columns never copied into the scratch file: secrets the replay does not read.
const WITHHELD: &[(&str, &str)] = &[("people", "password_hash")];
/// Columns copied as NULL and set later, when the replay reaches the time they say:
/// a role's end (`ReferenceCopy::advance` applies it at its instant).
/// A reference row's retirement, like each edit, comes from `reference_versions`
/// (`ReferenceCopy::advance` applies them at their instants).
const LATER: &[(&str, &str)] = &[
    ("role_assignments", "removed_ms"),
    ("sites", "retired_ms"),
    ("departments", "retired_ms"),
    ("checkpoints", "retired_ms"),
    ("routes", "retired_ms"),
    ("schedules", "retired_ms"),
];

/// Rebuilds every projection from the records and compares it with the database.
pub fn check(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let scratch = ScratchDb::create()?;
    replay(c, &scratch, r)?;
    for p in PROJECTIONS {
        compare_keyed(c, &scratch, p, r)?;
    }
    compare_feed(c, &scratch, r)
}

/// The reference rows copied so far: per table, the earliest creation time not yet
/// copied, and the statements that copy it.
struct ReferenceCopy {
    next: Vec<Option<i64>>,
    copies: Vec<(String, String)>,
    /// Role ends up to this instant are applied.
    ended_upto: i64,
    /// Versions of reference objects up to this instant are applied.
    versions_upto: i64,
}

impl ReferenceCopy {
    fn new(c: &mut dyn Conn, s: &ScratchDb) -> Result<Self, DbError> {
        let (mut next, mut copies) = (Vec::new(), Vec::new());
        for table in REFERENCE {
            next.push(c.query_one(&format!("SELECT MIN(created_ms) FROM {table}"), &[])?.opt_int(0)?);
            copies.push(copy_statements(s, table, "WHERE created_ms >= $1 AND created_ms <= $2")?);
        }
        // Site rules in their latest state: the only state kept.
        let (select, insert) = copy_statements(s, "site_rules", "")?;
        copy_rows(c, s, &select, &insert, &[])?;
        Ok(ReferenceCopy { next, copies, ended_upto: i64::MIN, versions_upto: i64::MIN })
    }

    /// Copies every reference row created at or before `t` not yet copied. Reference
    /// data is the organisation's size (sites, people, checkpoints), not ten years of
    /// records: one step copies what was created since the last.
    fn advance(&mut self, c: &mut dyn Conn, s: &ScratchDb, t: i64) -> Result<(), DbError> {
        // Roles that ended by `t` (after the rows were copied, since rows are copied
        // by creation time and ends come later).
        let ended = c.query(
            "SELECT person_id, role, COALESCE(site_id, ''), COALESCE(department_id, ''), created_ms, removed_ms
             FROM role_assignments WHERE removed_ms > $1 AND removed_ms <= $2",
            &params![self.ended_upto, t],
        )?;
        self.ended_upto = self.ended_upto.max(t);
        if !ended.is_empty() {
            s.with(|x| {
                for row in &ended {
                    x.execute(
                        "UPDATE role_assignments SET removed_ms = $6 WHERE person_id = $1 AND role = $2
                         AND COALESCE(site_id, '') = $3 AND COALESCE(department_id, '') = $4 AND created_ms = $5
                         AND removed_ms IS NULL",
                        &row.0,
                    )?;
                }
                Ok(())
            })?;
        }
        for (i, table) in REFERENCE.iter().enumerate() {
            let Some(from) = self.next[i].filter(|n| *n <= t) else { continue };
            let (select, insert) = &self.copies[i];
            copy_rows(c, s, select, insert, &params![from, t])?;
            self.next[i] = c
                .query_one(&format!("SELECT MIN(created_ms) FROM {table} WHERE created_ms > $1"), &params![t])?
                .opt_int(0)?;
        }
        // Edits and retirements that took effect by `t`, after the rows they change were
        // copied (a first version's time is its object's creation), with the one
        // function that made them live.
        let versions = reference::versions_between(c, self.versions_upto, t)?;
        self.versions_upto = self.versions_upto.max(t);
        if !versions.is_empty() {
            s.with(|x| {
                for (id, v) in &versions {
                    reference::apply_version(x, *id, &v.body, v.retired_ms)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// The SELECT (from the database) and INSERT (into the scratch one) that copy a
/// table, column by column as the schema has them; withheld columns are copied empty.
fn copy_statements(s: &ScratchDb, table: &str, condition: &str) -> Result<(String, String), DbError> {
    let columns: Vec<String> = s
        .with(|x| x.query(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"), &[]))?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    let select = columns
        .iter()
        .map(|col| {
            if WITHHELD.contains(&(table, col.as_str())) {
                format!("'' AS {col}")
            } else if LATER.contains(&(table, col.as_str())) {
                format!("NULL AS {col}")
            } else {
                col.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=columns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    Ok((
        format!("SELECT {select} FROM {table} {condition}"),
        format!("INSERT INTO {table} ({}) VALUES ({marks})", columns.join(", ")),
    ))
}

fn copy_rows(c: &mut dyn Conn, s: &ScratchDb, select: &str, insert: &str, params: &[Value]) -> Result<(), DbError> {
    let rows = c.query(select, params)?;
    s.with(|x| {
        for row in rows {
            x.execute(insert, &row.0)?;
        }
        Ok(())
    })
}

/// Replays the log (its pending leaves after the integrated ones, in the order they
/// were made): every record through `sync::reapply` at its receipt time, every
/// completed photo at its logged time. The other leaves (numbers, routing, signatures)
/// are made again by applying the records; forks were refused and changed nothing.
fn replay(c: &mut dyn Conn, s: &ScratchDb, r: &mut Report) -> Result<(), DbError> {
    let mut refs = ReferenceCopy::new(c, s)?;
    s.with(|x| x.execute_batch("BEGIN"))?;
    let (mut next, mut since_commit, mut unknown_rules) = (0i64, 0u64, 0u64);
    loop {
        let rows = c.query(
            &format!(
                "SELECT l.place, l.leaf, x.body, x.clock_offset_ms FROM
                   (SELECT leaf_index AS place, kind, subject, leaf FROM log_leaves
                    UNION ALL SELECT {PENDING_AFTER} + pending_id, kind, subject, leaf FROM log_pending) l
                 LEFT JOIN records x ON l.kind = 'record' AND x.id = l.subject
                 WHERE l.place >= $1 ORDER BY l.place LIMIT $2"
            ),
            &params![next, PAGE],
        )?;
        for row in &rows {
            next = row.int(0)? + 1;
            since_commit += 1;
            if since_commit >= COMMIT_EVERY {
                s.with(|x| x.execute_batch("COMMIT; BEGIN"))?;
                since_commit = 0;
            }
            // A leaf or record that is gone, unreadable or disagreeing is reported by
            // the chain and log checks; the log's word (receipt time, outcome) is used.
            match serde_json::from_str::<Leaf>(&row.text(1)?) {
                Ok(Leaf::Record { record_hash, received_ms, status, reason, .. }) => {
                    let Some(Ok(rec)) = row.opt_text(2)?.map(|body| serde_json::from_str::<Record>(&body)) else {
                        continue;
                    };
                    refs.advance(c, s, received_ms)?;
                    // Kept beside the record; no projection reads it.
                    let offset = row.opt_int(3)?;
                    let rules_now = rules_then(c, s, &rec, received_ms)?;
                    s.with(|x| replay_record(x, r, &rec, &record_hash, received_ms, offset, (status, reason)))?;
                    if let Some((site, rules)) = rules_now {
                        s.with(|x| {
                            x.execute("UPDATE site_rules SET rules_json = $2 WHERE site_id = $1", &params![site, rules])
                        })?;
                        unknown_rules += 1;
                    }
                }
                Ok(Leaf::PhotoCompleted { sha256, at_ms, .. }) => {
                    refs.advance(c, s, at_ms)?;
                    s.with(|x| {
                        // Already complete when a browser's photo was recorded with it.
                        let waiting = x
                            .query_opt("SELECT 1 FROM photos WHERE sha256 = $1 AND complete = 0", &params![&sha256])?
                            .is_some();
                        if waiting { crate::photos::mark_complete(x, &sha256, at_ms) } else { Ok(()) }
                    })?;
                }
                Ok(Leaf::ThumbnailMade { sha256, thumbnail_sha256, at_ms }) => {
                    refs.advance(c, s, at_ms)?;
                    s.with(|x| {
                        x.execute(
                            "UPDATE photos SET thumb_sha256 = $2 WHERE sha256 = $1",
                            &params![&sha256, &thumbnail_sha256],
                        )
                        .map(|_| ())
                    })?;
                }
                _ => {}
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    if unknown_rules > 0 {
        r.notes.push(format!(
            "{unknown_rules} notice(s) were raised under site rules changed since (site rules keep no history): their \
             due limit is taken from the stored due time, which must be one any rules could give"
        ));
    }
    s.with(|x| x.execute_batch("COMMIT"))
}

/// Site rules keep only their latest state. A notice raised before its site's rules
/// last changed was capped by rules that are gone: its limit is taken from the stored
/// due time when that is one any rules could give (the wish itself, or a whole number
/// of hours from receipt, 1 to 720, before it), and the scratch database's rules say
/// so while its record is applied again. Returns the site and the rules to put back.
/// A due time no rules could give is left to the comparison (the latest rules apply).
/// What this leaves open is written in docs/audit.md.
fn rules_then(c: &mut dyn Conn, s: &ScratchDb, rec: &Record, received: i64) -> Result<Option<(Id, String)>, DbError> {
    let RecordPayload::NoticeRaised { notice_id, site_id, severity, due_ms: wish, .. } = &rec.payload else {
        return Ok(None);
    };
    let latest = s.with(|x| {
        x.query_opt("SELECT rules_json, updated_ms FROM site_rules WHERE site_id = $1", &params![*site_id])?
            .map(|row| Ok((row.text(0)?, row.int(1)?)))
            .transpose()
    })?;
    let Some((json, _)) = latest.filter(|(_, changed)| *changed > received) else { return Ok(None) };
    let stored = c.query_opt("SELECT due_ms FROM notices WHERE id = $1", &params![*notice_id])?;
    let Some(due) = stored.map(|row| row.int(0)).transpose()? else { return Ok(None) };
    let gap = due - received;
    let hours = if due == *wish {
        720
    } else if due < *wish && gap % HOUR_MS == 0 && (1..=720).contains(&(gap / HOUR_MS)) {
        gap / HOUR_MS
    } else {
        return Ok(None);
    };
    s.with(|x| {
        let mut rules = crate::schedules::rules::get(x, *site_id)?;
        match severity {
            Severity::General => rules.general_due_hours = hours as u32,
            Severity::Serious => rules.serious_due_hours = hours as u32,
        }
        let then = serde_json::to_string(&rules).expect("rules serialise");
        x.execute("UPDATE site_rules SET rules_json = $2 WHERE site_id = $1", &params![*site_id, then])
    })?;
    Ok(Some((*site_id, json)))
}

/// One record applied again by its author as they stood at its receipt; its outcome
/// must be the stored one.
fn replay_record(
    x: &mut dyn Conn,
    r: &mut Report,
    rec: &Record,
    hash: &str,
    received: i64,
    offset: Option<i64>,
    (status, reason): (String, Option<String>),
) -> Result<(), DbError> {
    let Some(person) = people::get_person(x, rec.author)? else {
        r.find(format!(
            "record {}: its author {} is not among the people, it cannot be applied again",
            rec.id, rec.author
        ));
        return Ok(());
    };
    let actor = Actor {
        roles: people::roles_of(x, person.id)?,
        org_sites: reference::org_site_ids(x, person.org_id)?,
        device_id: rec.device,
        person,
    };
    let outcome = crate::sync::reapply(x, &actor, rec, hash, received, offset)?;
    r.replayed += 1;
    let again = if outcome.status == RecordStatus::Rejected { "rejected" } else { "applied" };
    if again != status || outcome.reason != reason {
        r.find(format!(
            "record {}: applied again it is {again}{} but the database keeps it {status}{} (outcome edited?)",
            rec.id,
            outcome.reason.map(|w| format!(" ({w})")).unwrap_or_default(),
            reason.map(|w| format!(" ({w})")).unwrap_or_default(),
        ));
    }
    Ok(())
}

/// A value as compared: text or integer, the same whichever database it came from.
fn norm(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Real(f) => Some(format!("{f:?}")),
        Value::Text(s) => Some(s.clone()),
        Value::Blob(b) => Some(hex::encode(b)),
    }
}

fn shown(v: &Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) if s.chars().count() > 80 => format!("'{}…'", s.chars().take(80).collect::<String>()),
        Some(s) => format!("'{s}'"),
    }
}

/// The differences of one table, reported up to [`PER_TABLE`] rows and counted beyond.
struct Differences<'a> {
    table: &'a str,
    rows: usize,
}

impl Differences<'_> {
    fn report(&mut self, r: &mut Report, finding: String) {
        self.rows += 1;
        if self.rows <= PER_TABLE {
            r.find(finding);
        }
    }

    fn close(self, r: &mut Report) {
        if self.rows > PER_TABLE {
            r.find(format!("{}: {} more rows differ from the records", self.table, self.rows - PER_TABLE));
        }
    }
}

/// Compares one projection table: every row of the database against the rebuilt row
/// of the same key, then every rebuilt key against the database.
fn compare_keyed(c: &mut dyn Conn, s: &ScratchDb, p: &Projection, r: &mut Report) -> Result<(), DbError> {
    let table = p.table;
    let columns: Vec<String> = s
        .with(|x| x.query(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"), &[]))?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    let compared: Vec<&str> =
        columns.iter().map(String::as_str).filter(|col| !p.key.contains(col) && !p.skip.contains(col)).collect();
    let select = p
        .key
        .iter()
        .map(|k| format!("t.{k}"))
        .chain(compared.iter().map(|col| match p.exprs.iter().find(|(name, _)| name == col) {
            Some((_, expr)) => format!("({expr})"),
            None => format!("t.{col}"),
        }))
        .collect::<Vec<_>>()
        .join(", ");
    let nk = p.key.len();
    let order = p.key.iter().map(|k| format!("t.{k}")).collect::<Vec<_>>().join(", ");
    let tuple = if nk == 1 { order.clone() } else { format!("({order})") };
    let key_of = |row: &Row| -> Vec<Option<String>> { row.0[..nk].iter().map(norm).collect() };
    let key_text =
        |key: &[Option<String>]| key.iter().map(|k| k.clone().unwrap_or_default()).collect::<Vec<_>>().join("/");
    let mut diff = Differences { table, rows: 0 };

    // The database's rows, a page at a time, each against the rebuilt row.
    let mut after: Option<Vec<Value>> = None;
    loop {
        let (condition, mut values) = match &after {
            None => (String::new(), Vec::new()),
            Some(k) => {
                let marks = (1..=nk).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let marks = if nk == 1 { marks } else { format!("({marks})") };
                (format!("WHERE {tuple} > {marks}"), k.clone())
            }
        };
        values.push(Value::Int(PAGE));
        let rows = c.query(
            &format!("SELECT {select} FROM {table} t {condition} ORDER BY {order} LIMIT ${}", values.len()),
            &values,
        )?;
        let firsts: Vec<Value> = {
            let mut seen = HashSet::new();
            rows.iter().filter(|row| seen.insert(norm(&row.0[0]))).map(|row| row.0[0].clone()).collect()
        };
        let rebuilt: HashMap<Vec<Option<String>>, Row> = if firsts.is_empty() {
            HashMap::new()
        } else {
            let marks = (1..=firsts.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT {select} FROM {table} t WHERE t.{} IN ({marks})", p.key[0]);
            s.with(|x| x.query(&sql, &firsts))?.into_iter().map(|row| (key_of(&row), row)).collect()
        };
        for row in &rows {
            r.compared += 1;
            let key = key_of(row);
            let Some(again) = rebuilt.get(&key) else {
                diff.report(
                    r,
                    format!("{table} {}: in the database but no record gives it (inserted?)", key_text(&key)),
                );
                continue;
            };
            let mut differ = Vec::new();
            for (i, col) in compared.iter().enumerate() {
                let (stored, rebuilt) = (norm(&row.0[nk + i]), norm(&again.0[nk + i]));
                if stored == rebuilt {
                    continue;
                }
                differ.push(format!("{col} is {} but the records give {}", shown(&stored), shown(&rebuilt)));
            }
            if !differ.is_empty() {
                diff.report(r, format!("{table} {}: {} (edited?)", key_text(&key), differ.join("; ")));
            }
        }
        after = rows.last().map(|row| row.0[..nk].to_vec());
        if (rows.len() as i64) < PAGE {
            break;
        }
    }

    // The rebuilt keys, a page at a time, each looked up in the database.
    let keys = p.key.iter().map(|k| format!("t.{k}")).collect::<Vec<_>>().join(", ");
    let mut after: Option<Vec<Value>> = None;
    loop {
        let (condition, mut values) = match &after {
            None => (String::new(), Vec::new()),
            Some(k) => {
                let marks = (1..=nk).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let marks = if nk == 1 { marks } else { format!("({marks})") };
                (format!("WHERE {tuple} > {marks}"), k.clone())
            }
        };
        values.push(Value::Int(PAGE));
        let sql = format!("SELECT {keys} FROM {table} t {condition} ORDER BY {order} LIMIT ${}", values.len());
        let rows = s.with(|x| x.query(&sql, &values))?;
        let firsts: Vec<Value> = {
            let mut seen = HashSet::new();
            rows.iter().filter(|row| seen.insert(norm(&row.0[0]))).map(|row| row.0[0].clone()).collect()
        };
        let stored: HashSet<Vec<Option<String>>> = if firsts.is_empty() {
            HashSet::new()
        } else {
            let marks = (1..=firsts.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            c.query(&format!("SELECT {keys} FROM {table} t WHERE t.{} IN ({marks})", p.key[0]), &firsts)?
                .iter()
                .map(key_of)
                .collect()
        };
        for row in &rows {
            let key = key_of(row);
            if !stored.contains(&key) {
                diff.report(
                    r,
                    format!("{table} {}: the records give it but the database has not (deleted?)", key_text(&key)),
                );
            }
        }
        after = rows.last().map(|row| row.0[..nk].to_vec());
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    diff.close(r);
    Ok(())
}

/// Where entries waiting for a position sort, above any position a feed can reach.
const PENDING_AFTER: i64 = 1 << 52;

/// Compares the feed's record-made entries in order: the n-th such entry of the
/// database against the n-th rebuilt one, ordered by time, then by the log place of
/// the record that made it (entries no record made, a photo's arrival, first), then by
/// feed position (the order one record's entries were made in). Positions themselves
/// are not compared: entries that are not records sit between them, and the sequencer
/// orders the entries of concurrent pushes as they committed, which the records do not
/// say. A difference misaligns everything after it, so the first one is reported.
fn compare_feed(c: &mut dyn Conn, s: &ScratchDb, r: &mut Report) -> Result<(), DbError> {
    // Entries and leaves still waiting for the sequencer come after every positioned
    // one, in the order they were made (the replay's own all wait: nothing sequences it).
    let columns = FEED_COLUMNS.join(", ");
    let sql = format!(
        "SELECT place, position, {columns} FROM (
           SELECT COALESCE(
                    (SELECT MIN(l.leaf_index) FROM log_leaves l WHERE l.subject = f.record_id AND l.kind = 'record'),
                    (SELECT MIN({PENDING_AFTER} + p.pending_id) FROM log_pending p
                      WHERE p.subject = f.record_id AND p.kind = 'record'),
                    -1) AS place,
                  f.position, {columns}
           FROM (SELECT position, {columns} FROM feed WHERE {FEED_FILTER}
                 UNION ALL SELECT {PENDING_AFTER} + pending_id, {columns} FROM feed_pending WHERE {FEED_FILTER}) f) x
         WHERE (at_ms, place, position) > ($1, $2, $3) ORDER BY at_ms, place, position LIMIT $4"
    );
    let start = (i64::MIN, i64::MIN, i64::MIN);
    let (mut stored_after, mut rebuilt_after, mut n) = (start, start, 0u64);
    loop {
        let stored = c.query(&sql, &params![stored_after.0, stored_after.1, stored_after.2, PAGE])?;
        let rebuilt = s.with(|x| x.query(&sql, &params![rebuilt_after.0, rebuilt_after.1, rebuilt_after.2, PAGE]))?;
        for i in 0..stored.len().max(rebuilt.len()) {
            n += 1;
            match (stored.get(i), rebuilt.get(i)) {
                (Some(a), Some(b)) => {
                    r.compared += 1;
                    let differ: Vec<String> = FEED_COLUMNS
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| norm(&a.0[j + 2]) != norm(&b.0[j + 2]))
                        .map(|(j, col)| {
                            format!(
                                "{col} is {} but the records give {}",
                                shown(&norm(&a.0[j + 2])),
                                shown(&norm(&b.0[j + 2]))
                            )
                        })
                        .collect();
                    if !differ.is_empty() {
                        r.find(format!(
                            "feed {}: record-made entry {n} differs: {} (edited, or an entry inserted or deleted before it)",
                            a.int(1)?,
                            differ.join("; ")
                        ));
                        return Ok(());
                    }
                }
                (Some(a), None) => {
                    r.find(format!(
                        "feed {}: record-made entry {n} ({}) is in the database but no record gives it (inserted?)",
                        a.int(1)?,
                        a.text(3)?
                    ));
                    return Ok(());
                }
                (None, Some(b)) => {
                    r.find(format!(
                        "feed: the records give entry {n} ({} of record {}) but the database has not (deleted?)",
                        b.text(3)?,
                        norm(&b.0[8]).unwrap_or_default()
                    ));
                    return Ok(());
                }
                (None, None) => unreachable!("within the longer page"),
            }
        }
        let last = |rows: &[crate::store::Row], after: (i64, i64, i64)| -> Result<(i64, i64, i64), DbError> {
            rows.last().map_or(Ok(after), |row| Ok((row.int(2)?, row.int(0)?, row.int(1)?)))
        };
        stored_after = last(&stored, stored_after)?;
        rebuilt_after = last(&rebuilt, rebuilt_after)?;
        if (stored.len() as i64) < PAGE && (rebuilt.len() as i64) < PAGE {
            break;
        }
    }
    Ok(())
}
