//! The SQLite schema of the phone's store and its migrations by `user_version`:
//! `init` makes the current schema at once, `upgrade_from` walks an old file up to it.

use rusqlite::Transaction;

use crate::error::{Error, Result};

/// The schema version this build writes. Raise it with a new arm in `upgrade_from`
/// and the same change folded into `CURRENT`.
pub const VERSION: u32 = 6;

/// The schema as first written (v1). Frozen: the upgrade test builds an old file from it.
pub const V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE TABLE track_batches (
    seq INTEGER PRIMARY KEY REFERENCES records(seq),
    run_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    points BLOB NOT NULL
) STRICT;
CREATE INDEX track_batches_run ON track_batches(run_id);
CREATE TABLE sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), acked_seq INTEGER NOT NULL) STRICT;
CREATE TABLE reference (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    site_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    route_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    missed_reason TEXT,
    seq INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_started ON runs(started_ms);
CREATE TABLE visits (
    visit_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    method TEXT NOT NULL,
    check_in TEXT NOT NULL,
    out_of_order INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (run_id, checkpoint_id)
) STRICT;
CREATE TABLE item_results (
    run_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (visit_id, item_id)
) STRICT;
CREATE INDEX item_results_run ON item_results(run_id);
CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    captured_at_ms INTEGER NOT NULL,
    latitude REAL,
    longitude REAL,
    run_id TEXT,
    checkpoint_id TEXT,
    notice_id TEXT,
    seq INTEGER NOT NULL
) STRICT;
CREATE TABLE notices (
    notice_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    checkpoint_id TEXT,
    run_id TEXT,
    location TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    raised_ms INTEGER NOT NULL,
    has_corrective_report INTEGER NOT NULL,
    photos TEXT NOT NULL,
    seq INTEGER NOT NULL
) STRICT;
CREATE TABLE notice_actions (
    seq INTEGER PRIMARY KEY,
    notice_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    photos TEXT NOT NULL,
    reassign_to TEXT,
    time_ms INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL
) STRICT;
CREATE INDEX notice_actions_notice ON notice_actions(notice_id);
";

/// v1 → v2: the server-assigned notice number (set by the sync from the server's
/// decisions, never by the phone) and the bookkeeping of uploaded photos.
const V1_TO_V2: &str = "
ALTER TABLE notices ADD COLUMN number TEXT;
CREATE TABLE photo_uploads (sha256 TEXT PRIMARY KEY, uploaded_ms INTEGER NOT NULL) STRICT;
";

/// v2 → v3: what the sync brings down: each notice's timeline as the server holds it,
/// and the server's refusals of this device's records.
const V2_TO_V3: &str = "
CREATE TABLE remote_events (
    record_id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    photos TEXT NOT NULL,
    reassign_to TEXT,
    from_state TEXT,
    to_state TEXT,
    applied INTEGER NOT NULL,
    refusal TEXT,
    device_time_ms INTEGER NOT NULL,
    server_time_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX remote_events_notice ON remote_events(notice_id, position);
CREATE TABLE rejections (
    record_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    reason_zh TEXT NOT NULL,
    notice_id TEXT,
    received_ms INTEGER NOT NULL
) STRICT;
";

/// v3 → v4: reference items the server no longer sends (retired checkpoints, routes,
/// schedules, departments) are kept, marked retired: runs under way and old notices
/// still name them, new plans and pickers no longer offer them.
const V3_TO_V4: &str = "
ALTER TABLE reference ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
";

/// v5: markup layers drawn over photos (photo_marked records), the newest per photo
/// shown; the photo files are never touched.
const V4_TO_V5: &str = "
CREATE TABLE photo_marks (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    marks_json TEXT NOT NULL
) STRICT;
CREATE INDEX photo_marks_photo ON photo_marks (sha256, seq);
";

/// v6: staff fault notices as the server shows them (the pull's `faults`: the person's
/// own and those they issued), one row per notice upserted by id, the view kept whole
/// as JSON beside the columns the lists filter on. Not a projection of this device's
/// records: a rebuild leaves it alone.
const V5_TO_V6: &str = "
CREATE TABLE faults (
    fault_id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    site_id TEXT NOT NULL,
    month TEXT NOT NULL,
    person_id TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    pulled_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX faults_month ON faults (month, seen_ms);
CREATE INDEX faults_seen ON faults (seen_ms);
";

/// Rows every schema starts with, whichever way it was reached.
const SEED: &str = "INSERT OR IGNORE INTO sync_state (id, acked_seq) VALUES (1, 0);";

/// Brings the open database to [`VERSION`], inside the caller's transaction.
pub fn migrate(tx: &Transaction<'_>) -> Result<()> {
    let version: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    match version {
        0 => init(tx)?,
        v if v < VERSION => upgrade_from(tx, v)?,
        v if v == VERSION => {}
        v => {
            return Err(Error::Corrupt(format!(
                "the data was written by a newer app (schema {v}, this build knows {VERSION})"
            )));
        }
    }
    tx.execute_batch(SEED)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

/// A fresh database: the current schema in one go. It must equal v1 + every upgrade,
/// which `an_upgraded_v1_database_equals_a_fresh_one` checks.
fn init(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(V1)?;
    tx.execute_batch(V1_TO_V2)?;
    tx.execute_batch(V2_TO_V3)?;
    tx.execute_batch(V3_TO_V4)?;
    tx.execute_batch(V4_TO_V5)?;
    tx.execute_batch(V5_TO_V6)?;
    Ok(())
}

/// One arm per step; each falls through to the next by the loop.
fn upgrade_from(tx: &Transaction<'_>, mut version: u32) -> Result<()> {
    while version < VERSION {
        match version {
            1 => tx.execute_batch(V1_TO_V2)?,
            2 => tx.execute_batch(V2_TO_V3)?,
            3 => tx.execute_batch(V3_TO_V4)?,
            4 => tx.execute_batch(V4_TO_V5)?,
            5 => tx.execute_batch(V5_TO_V6)?,
            v => return Err(Error::Corrupt(format!("no upgrade from schema {v}"))),
        }
        version += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Everything about the schema that matters, in a comparable form: each object's
    /// type and name, each table's columns and each index's columns. The SQL text of
    /// an ALTERed table differs in spacing from a freshly created one, so it is not compared.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut out = vec![];
        let mut stmt = conn
            .prepare(
                "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        let objects: Vec<(String, String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect();
        for (ty, name, table) in objects {
            out.push(format!("{ty} {name} on {table}"));
            let pragma = if ty == "table" { "table_xinfo" } else { "index_xinfo" };
            let mut cols = conn.prepare(&format!("SELECT * FROM pragma_{pragma}(?1)")).unwrap();
            let n = cols.column_count();
            let rows = cols
                .query_map([&name], |r| {
                    let mut line = String::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push_str(&format!("{v:?} "));
                    }
                    Ok(line)
                })
                .unwrap();
            for row in rows {
                out.push(format!("  {}", row.unwrap()));
            }
        }
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        out.push(format!("user_version {version}"));
        out
    }

    #[test]
    fn an_upgraded_v1_database_equals_a_fresh_one() {
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(V1).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        // A v1 phone had data; the upgrade must keep it.
        old.execute("INSERT INTO sync_state (id, acked_seq) VALUES (1, 7)", []).unwrap();
        let tx = old.transaction().unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();

        let mut fresh = Connection::open_in_memory().unwrap();
        let tx = fresh.transaction().unwrap();
        migrate(&tx).unwrap();
        tx.commit().unwrap();

        let (a, b) = (shape(&old), shape(&fresh));
        assert!(a.len() > 20, "the comparison must see the schema: {a:?}");
        assert_eq!(a, b);
        let acked: i64 = old.query_row("SELECT acked_seq FROM sync_state", [], |r| r.get(0)).unwrap();
        assert_eq!(acked, 7);
    }

    #[test]
    fn a_database_from_a_newer_app_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1).unwrap();
        let tx = conn.transaction().unwrap();
        assert!(matches!(migrate(&tx), Err(Error::Corrupt(_))));
    }
}
