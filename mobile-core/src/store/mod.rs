//! The phone's one SQLite file: its connections (one writer, one reader, WAL), the
//! append-only record log with its per-device seq and hash chain, and the meta table.

pub mod cipher;
pub mod projection;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use patrol_protocol::reason::Reason;
use patrol_protocol::record::{GENESIS_HASH, TrackPoint};
use patrol_protocol::{Id, Record, RecordPayload};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::{Error, Result};
pub use cipher::StoreKey;

pub const DB_FILE: &str = "patrol.sqlite";

/// The store. `Send + Sync`: each connection sits behind its own mutex, so a long
/// read (history screen) never waits for a write and vice versa, thanks to WAL.
pub struct Store {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    device: Id,
    path: PathBuf,
    /// The key the file is encrypted with now (none: a plain store, tools and old tests).
    key: Mutex<Option<StoreKey>>,
}

/// The writer: the key checked first (a wrong key fails here, before anything is
/// written), then WAL, `synchronous = FULL` and foreign keys.
fn open_writer(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    let writer = Connection::open(path)?;
    cipher::apply_key(&writer, key)?;
    // The last connection to close folds the log into the file and deletes it: not
    // this one if the key is wrong (its pages would move under a key nobody checked).
    writer.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    cipher::check_key(&writer)?;
    writer.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
    writer.busy_timeout(Duration::from_secs(5))?;
    let mode: String = writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!("journal mode {mode}, expected wal")));
    }
    // FULL: a commit is on disk before the call returns, so a kill right after a
    // call reported success cannot lose it (NORMAL could, on power loss).
    writer.pragma_update(None, "synchronous", "FULL")?;
    writer.pragma_update(None, "foreign_keys", "ON")?;
    Ok(writer)
}

fn open_reader(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    let reader =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    cipher::apply_key(&reader, key)?;
    reader.busy_timeout(Duration::from_secs(5))?;
    reader.pragma_update(None, "query_only", "ON")?;
    Ok(reader)
}

impl Store {
    /// Opens (creating if needed) `<dir>/patrol.sqlite`, encrypted with `key` when
    /// there is one. A store that does not open with the key is refused with
    /// [`Error::WrongKey`] before anything is written; a plain store from an app
    /// version before encryption is encrypted with the key first. The device id is
    /// fixed by the first open; a different one later is refused, because the chain
    /// belongs to it.
    pub fn open(dir: &Path, device: Option<Id>, key: Option<StoreKey>) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let path = dir.join(DB_FILE);
        if let Some(key) = &key
            && cipher::is_plain(&path)?
        {
            cipher::encrypt_plain_store(&path, key)?;
        }
        let mut writer = open_writer(&path, key.as_ref())?;

        let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::migrate(&tx)?;
        let stored: Option<String> = meta_get(&tx, "device_id")?;
        let device = match (stored, device) {
            (Some(s), wanted) => {
                let id = parse_id(&s)?;
                if wanted.is_some_and(|w| w != id) {
                    return Err(Error::conflict(Reason::DataDirOfOtherDevice { device: id.to_string() }));
                }
                id
            }
            (None, wanted) => {
                let id = wanted.unwrap_or_else(Id::now_v7);
                meta_set(&tx, "device_id", &id.to_string())?;
                id
            }
        };
        tx.commit()?;
        // A copy a kill left behind during a key change: the store itself is whole.
        cipher::remove_stale_copy(&path)?;

        let reader = open_reader(&path, key.as_ref())?;
        Ok(Store { writer: Mutex::new(writer), reader: Mutex::new(reader), device, path, key: Mutex::new(key) })
    }

    /// Re-encrypts the whole store with `new`: a copy under the new key, made while
    /// nothing else can write, swapped in by one rename, then both connections reopened
    /// with it. Until the rename the old file and key stay in force (a kill leaves
    /// them); after it, only the new key opens the store. Other calls wait meanwhile.
    /// A plain store (opened without a key) becomes encrypted the same way.
    pub fn rekey(&self, new: StoreKey) -> Result<()> {
        let mut key = lock(&self.key)?;
        if key.as_ref() == Some(&new) {
            return Err(Error::invalid("new_key", Reason::StoreKeySame));
        }
        let mut writer = lock(&self.writer)?;
        let mut reader = lock(&self.reader)?;
        let copy = cipher::export_copy(&writer, &self.path, &new)?;
        // Close both connections (the last close folds the log into the file), swap,
        // and reopen with whichever key the file on disk now has.
        drop(std::mem::replace(&mut *reader, Connection::open_in_memory()?));
        drop(std::mem::replace(&mut *writer, Connection::open_in_memory()?));
        let swapped = cipher::swap_in(&copy, &self.path);
        if swapped.is_ok() {
            *key = Some(new);
        } else {
            let _ = cipher::remove_stale_copy(&self.path);
        }
        *writer = open_writer(&self.path, key.as_ref())?;
        *reader = open_reader(&self.path, key.as_ref())?;
        swapped
    }

    pub fn device(&self) -> Id {
        self.device
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one IMMEDIATE transaction on the writer; commits only if it succeeds,
    /// so a refused call changes nothing.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on the reader connection inside one read transaction, so what it
    /// sees is one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.reader)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.finish()?;
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    m.lock().map_err(|_| Error::Poisoned)
}

pub fn parse_id(s: &str) -> Result<Id> {
    Id::parse_str(s).map_err(|e| Error::Corrupt(format!("stored id {s:?}: {e}")))
}

pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The last record's seq and hash, or (0, genesis) on a new device.
pub fn head(conn: &Connection) -> Result<(u64, String)> {
    let row: Option<(i64, String)> = conn
        .query_row("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(s, h)| (s as u64, h)).unwrap_or((0, GENESIS_HASH.to_string())))
}

/// Who makes a record and when.
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub person: Id,
    pub device: Id,
    pub time_ms: i64,
}

/// Appends one record after the chain head and applies it to the projections, in the
/// caller's transaction: the record and its effect commit together or not at all.
pub fn append(tx: &Transaction<'_>, by: Author, payload: RecordPayload) -> Result<Record> {
    let (seq, prev_hash) = head(tx)?;
    let record = Record {
        id: Id::now_v7(),
        author: by.person,
        device: by.device,
        seq: seq + 1,
        device_time_ms: by.time_ms,
        prev_hash,
        payload,
    };
    record.validate()?;
    insert_record(tx, &record)?;
    projection::apply(tx, &record)?;
    Ok(record)
}

fn insert_record(tx: &Transaction<'_>, record: &Record) -> Result<()> {
    let hash = record.hash();
    // Track points are kept as a packed blob (32 bytes a point) instead of JSON
    // (~90 bytes a point); the record body keeps an empty list and is refilled on read.
    let (body, track) = match &record.payload {
        RecordPayload::TrackPoints { run_id, points } => {
            let mut stripped = record.clone();
            stripped.payload = RecordPayload::TrackPoints { run_id: *run_id, points: vec![] };
            (serde_json::to_string(&stripped)?, Some((run_id, points)))
        }
        _ => (serde_json::to_string(record)?, None),
    };
    tx.execute(
        "INSERT INTO records (seq, id, kind, device_time_ms, hash, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![record.seq as i64, record.id.to_string(), record.payload.kind_str(), record.device_time_ms, hash, body],
    )?;
    if let Some((run_id, points)) = track {
        let first = points.first().map_or(0, |p| p.time_ms);
        let last = points.last().map_or(0, |p| p.time_ms);
        tx.execute(
            "INSERT INTO track_batches (seq, run_id, n, first_ms, last_ms, points) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![record.seq as i64, run_id.to_string(), points.len() as i64, first, last, pack_points(points)],
        )?;
    }
    Ok(())
}

const POINT_BYTES: usize = 32;

pub fn pack_points(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT_BYTES);
    for p in points {
        out.extend_from_slice(&p.time_ms.to_le_bytes());
        out.extend_from_slice(&p.latitude.to_le_bytes());
        out.extend_from_slice(&p.longitude.to_le_bytes());
        out.extend_from_slice(&p.accuracy_m.to_le_bytes());
    }
    out
}

pub fn unpack_points(blob: &[u8]) -> Result<Vec<TrackPoint>> {
    if !blob.len().is_multiple_of(POINT_BYTES) {
        return Err(Error::Corrupt(format!("track blob of {} bytes", blob.len())));
    }
    let word = |c: &[u8], i: usize| -> [u8; 8] { c[i * 8..i * 8 + 8].try_into().expect("8 bytes") };
    Ok(blob
        .chunks_exact(POINT_BYTES)
        .map(|c| TrackPoint {
            time_ms: i64::from_le_bytes(word(c, 0)),
            latitude: f64::from_le_bytes(word(c, 1)),
            longitude: f64::from_le_bytes(word(c, 2)),
            accuracy_m: f64::from_le_bytes(word(c, 3)),
        })
        .collect())
}

/// Records with `seq > after`, oldest first, at most `limit`, exactly as hashed.
pub fn records_after(conn: &Connection, after: u64, limit: u32) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.seq, r.hash, r.body, t.points FROM records r LEFT JOIN track_batches t ON t.seq = r.seq
         WHERE r.seq > ?1 ORDER BY r.seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after as i64, limit], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<Vec<u8>>>(3)?))
    })?;
    let mut out = vec![];
    for row in rows {
        let (seq, hash, body, blob) = row?;
        let mut record: Record = serde_json::from_str(&body)?;
        if let (RecordPayload::TrackPoints { points, .. }, Some(blob)) = (&mut record.payload, blob) {
            *points = unpack_points(&blob)?;
        }
        // The stored hash is what the next record chained to; a mismatch means the
        // row was changed after it was written.
        if record.seq != seq as u64 || record.hash() != hash {
            return Err(Error::Corrupt(format!("record {seq} does not match its stored hash")));
        }
        out.push(record);
    }
    Ok(out)
}

/// Walks the whole log from genesis and checks the chain; returns the number of records.
pub fn verify_log(conn: &Connection) -> Result<u64> {
    const PAGE: u32 = 500;
    let (mut seq, mut hash) = (0u64, GENESIS_HASH.to_string());
    loop {
        let page = records_after(conn, seq, PAGE)?;
        if page.is_empty() {
            return Ok(seq);
        }
        (seq, hash) = patrol_protocol::record::verify_chain(seq, &hash, &page)
            .map_err(|e| Error::Corrupt(format!("hash chain broken: {e}")))?;
    }
}

/// How many records and photo bytes still wait for the server.
pub fn queue(conn: &Connection) -> Result<(u64, u64, u64, u64)> {
    let (last, _) = head(conn)?;
    let acked: i64 = conn.query_row("SELECT acked_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
    let (photos, bytes): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(bytes), 0) FROM photos WHERE sha256 NOT IN (SELECT sha256 FROM photo_uploads)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((last, acked as u64, photos as u64, bytes as u64))
}
