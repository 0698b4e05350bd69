//! The sequencer: gives pending log leaves their indexes and pending feed entries their
//! positions, in batches, so writing transactions share no row (issue 16).
//!
//! Writers add pending rows (`audit::log::append`, `sync::feed::append`), whose ids
//! come from each table's own sequence and take no lock another writer waits for. One
//! integration is one transaction: it locks the feed counter, then the log counter (the
//! order every integration takes), reads the pending rows committed by then, gives them
//! the next positions and indexes, deletes exactly those pending rows, and signs a tree
//! head over the new size. Two integrations at once (a second instance, a reader that
//! catches up) queue on the counter lock, and the second reads the pending rows only
//! after the first committed (each statement of PostgreSQL's READ COMMITTED sees what
//! committed before it; SQLite has one writer), so every row is integrated exactly once.
//! A reader of the feed never skips an entry: positions are given only here, in
//! commit order, never to an entry that a committed position could precede.

use patrol_protocol::audit::SignedTreeHead;

use crate::store::{Conn, DbError, Store};

/// The longest merge delay a server may be set to: `audit verify` finds a leaf that
/// waited longer than this behind a signed head.
pub const MAX_MERGE_DELAY_MS: i64 = 1_000;

/// An integration signs a head only if the newest is at least this old (bounds the
/// heads kept to a few thousand a day under continuous load).
pub const HEAD_EVERY_MS: i64 = 10_000;

/// Pending rows of each kind integrated per transaction at most.
pub const BATCH: usize = 4096;

/// What one integration did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Integrated {
    /// Feed entries given positions.
    pub entries: usize,
    /// Leaves given indexes.
    pub leaves: usize,
    /// The head signed over the new size, when leaves were integrated and the newest
    /// head was older than `HEAD_EVERY_MS`.
    pub head: Option<SignedTreeHead>,
}

impl Integrated {
    /// More may be pending (a batch was full).
    pub fn full(&self) -> bool {
        self.entries == BATCH || self.leaves == BATCH
    }

    /// Adds one integration to these totals; whether it was a full batch (more may wait).
    fn absorb(&mut self, one: Integrated) -> bool {
        let full = one.full();
        self.entries += one.entries;
        self.leaves += one.leaves;
        if one.head.is_some() {
            self.head = one.head;
        }
        full
    }
}

/// The ids as an SQL list: integers read from the database, never input.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// One integration, in the caller's (write) transaction.
pub fn integrate(c: &mut dyn Conn, now: i64) -> Result<Integrated, DbError> {
    // The feed: positions after the counter, in pending order, in one statement; then
    // exactly the pending rows it took (by the entry ids it wrote) are deleted.
    let base = c.query_one("UPDATE counters SET value = value WHERE name = 'feed' RETURNING value", &[])?.int(0)?;
    let entries = c.execute(
        "INSERT INTO feed (position, entry_id, at_ms, kind, site_id, department_id, person_id, notice_id, record_id)
         SELECT $1 + ROW_NUMBER() OVER (ORDER BY pending_id), pending_id, at_ms, kind, site_id, department_id,
                person_id, notice_id, record_id
         FROM (SELECT * FROM feed_pending ORDER BY pending_id LIMIT $2) p",
        &crate::params![base, BATCH as i64],
    )? as usize;
    if entries > 0 {
        c.execute(
            "DELETE FROM feed_pending WHERE pending_id IN (SELECT entry_id FROM feed WHERE position > $1)",
            &crate::params![base],
        )?;
        c.execute("UPDATE counters SET value = $1 WHERE name = 'feed'", &crate::params![base + entries as i64])?;
    }
    // The log: indexes after its size, then a head over the new size.
    let size = c.query_one("UPDATE counters SET value = value WHERE name = 'log' RETURNING value", &[])?.int(0)? as u64;
    let rows = c.query(
        "SELECT pending_id, kind, subject, leaf, at_ms FROM log_pending ORDER BY pending_id LIMIT $1",
        &crate::params![BATCH as i64],
    )?;
    let mut leaf_ids = Vec::with_capacity(rows.len());
    let mut leaves = Vec::with_capacity(rows.len());
    for r in &rows {
        leaf_ids.push(r.int(0)?);
        leaves.push((r.text(1)?, r.text(2)?, r.text(3)?, r.int(4)?));
    }
    let mut head = None;
    if !leaves.is_empty() {
        let new_size = crate::audit::log::integrate(c, size, &leaves)?;
        for chunk in leaf_ids.chunks(500) {
            c.execute(&format!("DELETE FROM log_pending WHERE pending_id IN ({})", id_list(chunk)), &[])?;
        }
        c.execute("UPDATE counters SET value = $1 WHERE name = 'log'", &crate::params![new_size as i64])?;
        // A head over the new size, unless one was signed in the last `HEAD_EVERY_MS`:
        // under load integrations follow each other closely, and every head is kept
        // for years. Readers that need a head covering everything sign one on demand
        // (`log::current_head`), and every instance signs one a minute.
        let latest = crate::audit::log::latest_head(c)?;
        if latest.is_none_or(|h| now - h.head.timestamp_ms >= HEAD_EVERY_MS) {
            head = Some(crate::audit::log::sign_head(c, now)?);
        }
    }
    Ok(Integrated { entries, leaves: leaves.len(), head })
}

/// How much waits, and since when (the oldest pending row's time).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Pending {
    pub entries: i64,
    pub leaves: i64,
    pub oldest_ms: Option<i64>,
}

pub fn pending(c: &mut dyn Conn) -> Result<Pending, DbError> {
    let f = c.query_one("SELECT COUNT(*), MIN(at_ms) FROM feed_pending", &[])?;
    let l = c.query_one("SELECT COUNT(*), MIN(at_ms) FROM log_pending", &[])?;
    let oldest = [f.opt_int(1)?, l.opt_int(1)?].into_iter().flatten().min();
    Ok(Pending { entries: f.int(0)?, leaves: l.int(0)?, oldest_ms: oldest })
}

/// Whether anything waits (two index probes: cheap enough for every read that needs
/// the log or the feed current).
pub fn anything_pending(c: &mut dyn Conn) -> Result<bool, DbError> {
    Ok(c.query_opt("SELECT 1 FROM feed_pending LIMIT 1", &[])?.is_some()
        || c.query_opt("SELECT 1 FROM log_pending LIMIT 1", &[])?.is_some())
}

/// Integrates until nothing committed is pending; returns the totals.
pub async fn catch_up(store: &Store, now: i64) -> Result<Integrated, DbError> {
    let mut total = Integrated::default();
    if !store.read(anything_pending).await? {
        return Ok(total);
    }
    loop {
        let one = store.write(move |c| integrate(c, now)).await?;
        if !total.absorb(one) {
            return Ok(total);
        }
    }
}

/// `catch_up` for callers outside the async runtime (the CLI, the demo's history).
pub fn catch_up_blocking(store: &Store, now: i64) -> Result<Integrated, DbError> {
    let mut total = Integrated::default();
    loop {
        let one = store.tx_blocking(true, |c| integrate(c, now))?;
        if !total.absorb(one) {
            return Ok(total);
        }
    }
}
