//! The change feed that pulls read. A writer adds its entries pending (no lock shared
//! with other writers); the sequencer (`crate::sequencer`) gives them positions in
//! batches, in one transaction under the feed counter's lock, so positions are
//! gapless and a position is never committed after a greater one: a reader that has
//! read up to a position never misses an entry at or below it.

use patrol_protocol::Id;

use crate::params;
use crate::store::{Conn, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reference data of a site changed.
    Reference,
    /// A notice changed; `department_id` is the department it was addressed to then.
    Notice,
    /// A record of `person_id` was kept but not applied.
    Rejection,
    /// A run changed.
    Run,
    /// A daily log was signed.
    DailyLog,
    /// An in-app message for `person_id`; `record_id` names the notification.
    Notification,
    /// A fault notice of `person_id` changed; `record_id` is the record that changed it.
    Fault,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reference => "reference",
            Kind::Notice => "notice",
            Kind::Rejection => "rejection",
            Kind::Run => "run",
            Kind::DailyLog => "daily_log",
            Kind::Notification => "notification",
            Kind::Fault => "fault",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub site_id: Option<Id>,
    pub department_id: Option<Id>,
    pub person_id: Option<Id>,
    pub notice_id: Option<Id>,
    pub record_id: Option<Id>,
}

/// Adds an entry, pending; returns its entry id (what a notice event names as its
/// entry: ids grow in the order writers add them, and the entries of one notice are
/// added under its row's lock, so in the order they happened).
/// An entry's `feed_pending` row (`at_ms, kind, site_id, department_id, person_id,
/// notice_id, record_id`), for a push that writes its entries together.
pub fn pending_row(kind: Kind, e: &Entry, now: i64) -> Vec<crate::store::Value> {
    params![now, kind.as_str(), e.site_id, e.department_id, e.person_id, e.notice_id, e.record_id]
}

pub fn append(c: &mut dyn Conn, kind: Kind, e: Entry, now: i64) -> Result<i64, DbError> {
    c.query_one(
        "INSERT INTO feed_pending (at_ms, kind, site_id, department_id, person_id, notice_id, record_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING pending_id",
        &params![now, kind.as_str(), e.site_id, e.department_id, e.person_id, e.notice_id, e.record_id],
    )?
    .int(0)
}

pub fn reference_changed(c: &mut dyn Conn, site_id: Id, now: i64) -> Result<(), DbError> {
    append(c, Kind::Reference, Entry { site_id: Some(site_id), ..Entry::default() }, now).map(|_| ())
}

pub struct Row {
    pub position: i64,
    pub kind: String,
    pub entry: Entry,
}

/// The kinds a phone's pull acts on. The others (`run`: one per patrol record, and
/// `daily_log`) exist to move the feed's head for the console's live pages and the
/// audit; a pull steps over them without sending them.
pub const PULLED_KINDS: [Kind; 5] = [Kind::Reference, Kind::Notice, Kind::Rejection, Kind::Notification, Kind::Fault];

/// Positions one pull looks through at most, entries sent or stepped over: bounds a
/// pull's work however many entries of other kinds lie ahead (a compound's day of
/// patrols is ~100 `run` entries a phone, all sites' in one feed).
pub const PULL_SCAN: i64 = 20_000;

/// The pull's page query, made once from `PULLED_KINDS`.
static PULL_PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let kinds: Vec<String> = PULLED_KINDS.iter().map(|k| format!("'{}'", k.as_str())).collect();
    format!(
        "SELECT position, kind, site_id, department_id, person_id, notice_id, record_id FROM feed
         WHERE position > $1 AND position <= $2 AND kind IN ({}) ORDER BY position LIMIT $3",
        kinds.join(", ")
    )
});

/// A page of the feed for a pull: up to `limit` entries of the pulled kinds after
/// `after`, looking at most `PULL_SCAN` positions ahead, and the position the reader
/// has now seen everything up to (the last entry's when the page is full, else the end
/// of the window or the feed's head, whichever comes first), and whether more lies
/// beyond it. Every position up to the head was integrated when the head was read (the
/// sequencer commits both together), so nothing at or below the returned position can
/// appear later.
pub fn page_for_pull(c: &mut dyn Conn, after: i64, limit: u32) -> Result<(Vec<Row>, i64, bool), DbError> {
    let head = c.query_one("SELECT value FROM counters WHERE name = 'feed'", &[])?.int(0)?;
    let end = head.min(after.saturating_add(PULL_SCAN));
    let rows = read_rows(c, &PULL_PAGE, &params![after, end, i64::from(limit)])?;
    if rows.len() as u32 == limit {
        let last = rows.last().map_or(after, |r| r.position);
        return Ok((rows, last, true));
    }
    Ok((rows, end.max(after), end < head))
}

fn read_rows(c: &mut dyn Conn, sql: &str, values: &[crate::store::Value]) -> Result<Vec<Row>, DbError> {
    c.query(sql, values)?
        .iter()
        .map(|r| {
            Ok(Row {
                position: r.int(0)?,
                kind: r.text(1)?,
                entry: Entry {
                    site_id: r.opt_uuid(2)?,
                    department_id: r.opt_uuid(3)?,
                    person_id: r.opt_uuid(4)?,
                    notice_id: r.opt_uuid(5)?,
                    record_id: r.opt_uuid(6)?,
                },
            })
        })
        .collect()
}

/// Up to `limit` entries after `after`, in order, of every kind.
pub fn after(c: &mut dyn Conn, after: i64, limit: u32) -> Result<Vec<Row>, DbError> {
    read_rows(
        c,
        "SELECT position, kind, site_id, department_id, person_id, notice_id, record_id FROM feed
         WHERE position > $1 ORDER BY position LIMIT $2",
        &params![after, i64::from(limit)],
    )
}
