//! SQLite's WAL checkpoints, mostly off the one writer's turn.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1 000 pages:
//! the committing connection copies the WAL's pages into the database file and syncs
//! both, and with one writer and group commit every member of that group, and every
//! write queued behind it, waits for it (8 % of the server's time while phones push, in
//! the writer's turn, before the fsyncs' own wait). Here the writer's connection counts
//! the WAL's pages after each commit (its WAL hook, which replaces the automatic
//! checkpoint) and from `WAKE_AT` pages wakes a thread of its own, which copies them
//! from its own connection (`PASSIVE`: it never blocks the writer or a reader). A
//! checkpoint that runs beside a writer never catches up with it, and SQLite starts the
//! WAL over only when everything in it was copied before a write began, so at
//! `WRITER_FINISHES` pages the writer checkpoints itself after its commit, as SQLite
//! would have: by then the thread has copied most pages, and the writer copies what is
//! left, so the WAL starts over at its next write and stays bounded whatever the thread
//! does (a reader holding an old snapshot keeps any checkpoint from finishing, as ever).

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use libsqlite3_sys as ffi;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::db::{DbError, DbRuntime, from_sqlx};
use crate::sqlite_raw::Statements;

/// WAL pages after a commit that wake the checkpointer (SQLite's own threshold).
pub(crate) const WAKE_AT: i64 = 1_000;
/// WAL pages after a commit at which the writer checkpoints itself (16 MB of 4 KB
/// pages): what the checkpointer left is copied and the WAL starts over.
pub(crate) const WRITER_FINISHES: i64 = 4_000;

/// What the writer's hook and the checkpointer share.
#[derive(Default)]
pub(crate) struct Wal {
    /// Pages in the WAL after the latest commit.
    frames: AtomicI64,
    /// Set by the hook, taken by the checkpointer.
    wanted: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    /// Checkpoints run by the checkpointer, and by the writer itself.
    pub(crate) by_checkpointer: AtomicU64,
    pub(crate) by_writer: AtomicU64,
    /// The checkpointer's checkpoints that failed (tried again at the next wake).
    pub(crate) failed: AtomicU64,
}

impl Wal {
    fn want(&self) {
        *self.wanted.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_one();
    }
}

/// The writer connection's WAL hook: SQLite calls it after each commit with the WAL's
/// page count. `arg` is the `Wal` the writer keeps alive as long as its connection.
unsafe extern "C" fn after_commit(
    arg: *mut c_void,
    db: *mut ffi::sqlite3,
    name: *const c_char,
    frames: c_int,
) -> c_int {
    // SAFETY: `arg` is the `Wal` registered with the hook (`watch`), alive while the
    // connection is.
    let wal = unsafe { &*(arg as *const Wal) };
    let frames = i64::from(frames);
    wal.frames.store(frames, Relaxed);
    if frames >= WRITER_FINISHES {
        // SAFETY: called by SQLite on the writer's connection, after its commit, where
        // its own automatic checkpoint would have run.
        if unsafe { passive_checkpoint(db, name) } == ffi::SQLITE_OK {
            wal.by_writer.fetch_add(1, Relaxed);
        }
    } else if frames >= WAKE_AT {
        wal.want();
    }
    ffi::SQLITE_OK
}

/// A `PASSIVE` checkpoint of database `name` on connection `db`: copies what it can
/// without waiting for, or blocking, any reader or writer.
///
/// # Safety
/// `db` is an open connection used by the calling thread alone for the call; `name` is
/// a NUL-terminated database name.
unsafe fn passive_checkpoint(db: *mut ffi::sqlite3, name: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    unsafe {
        ffi::sqlite3_wal_checkpoint_v2(
            db,
            name,
            ffi::SQLITE_CHECKPOINT_PASSIVE,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// Puts the writer's connection under `wal`'s watch (its hook replaces SQLite's
/// automatic checkpoint).
///
/// # Safety
/// `statements` is the writer's connection, and `wal` outlives it.
pub(crate) unsafe fn watch(statements: &Statements, wal: &Arc<Wal>) {
    // SAFETY: the caller's contract; the pointer stays valid while `wal` lives.
    unsafe { ffi::sqlite3_wal_hook(statements.raw(), Some(after_commit), Arc::as_ptr(wal) as *mut c_void) };
}

/// The thread that checkpoints, with its own connection; stopped and joined when
/// dropped.
pub(crate) struct Checkpointer {
    wal: Arc<Wal>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(rt: &DbRuntime, options: &SqliteConnectOptions, wal: Arc<Wal>) -> Result<Self, DbError> {
        let mut conn: SqliteConnection = rt.block_on(options.connect()).map_err(from_sqlx)?;
        // SAFETY: the connection is this thread's alone, and the statements are dropped
        // before it closes (below).
        let statements = unsafe { crate::sqlite_readers::kept(rt, &mut conn)? };
        let shared = wal.clone();
        let thread = std::thread::Builder::new()
            .name("patrol-checkpoint".into())
            .spawn(move || {
                run(&shared, &statements);
                drop(statements);
                drop(conn);
            })
            .map_err(|e| DbError::Backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { wal, thread: Some(thread) })
    }
}

fn run(wal: &Wal, statements: &Statements) {
    loop {
        {
            let mut wanted = wal.wanted.lock().unwrap_or_else(|e| e.into_inner());
            while !*wanted && !wal.stop.load(Relaxed) {
                // Looks again now and then, whatever wakes it.
                let (w, timeout) =
                    wal.wake.wait_timeout(wanted, Duration::from_secs(1)).unwrap_or_else(|e| e.into_inner());
                wanted = w;
                if timeout.timed_out() {
                    break;
                }
            }
            *wanted = false;
        }
        if wal.stop.load(Relaxed) {
            return;
        }
        if wal.frames.load(Relaxed) < WAKE_AT {
            continue;
        }
        // SAFETY: this thread's own connection.
        if unsafe { passive_checkpoint(statements.raw(), c"main".as_ptr()) } == ffi::SQLITE_OK {
            wal.by_checkpointer.fetch_add(1, Relaxed);
        } else {
            // The next wake tries again; counted for /metrics.
            wal.failed.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wal.stop.store(true, Relaxed);
        self.wal.want();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;
    use crate::db::{Database, PoolSettings};
    use crate::params;
    use crate::sqlite::SqliteDb;

    fn scratch_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("patrol-checkpoint-{}", uuid::Uuid::now_v7().simple()))
    }

    /// Writes that take the WAL far past `WRITER_FINISHES`, one transaction after
    /// another: the checkpointer's thread copies pages, the writer finishes and starts
    /// the WAL over (it ends much smaller than what was written), and every row is there
    /// when the database is opened again.
    #[test]
    fn checkpoints_run_off_the_writer_and_the_wal_starts_over() {
        let dir = scratch_dir();
        let path = dir.join("c.db");
        let db = SqliteDb::open(path.clone(), &PoolSettings::sized(2)).unwrap();
        db.execute_outside_transaction("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)").unwrap();
        let (transactions, rows, pad) = (600i64, 50i64, 2_000usize);
        for t in 0..transactions {
            db.transaction(true, &mut |c| {
                for r in 0..rows {
                    c.execute("INSERT INTO t (id, pad) VALUES ($1, $2)", &params![t * rows + r, vec![t as u8; pad]])?;
                }
                Ok(())
            })
            .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while db.writer_stats().unwrap().checkpoints == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let stats = db.writer_stats().unwrap();
        assert!(stats.checkpoints > 0 && stats.writer_checkpoints > 0, "{stats:?}");
        let written = (transactions * rows) as u64 * pad as u64;
        let wal = std::fs::metadata(dir.join("c.db-wal")).map(|m| m.len()).unwrap_or(0);
        // Frames of a 4 KB page and its 24-byte header; a transaction adds ~30 of them.
        let bound = (WRITER_FINISHES as u64 + 100) * (4096 + 24) + 32;
        assert!(wal <= bound && bound < written, "the WAL ({wal} bytes) grew past {bound} ({written} bytes written)");
        drop(db);
        let db = SqliteDb::open(path, &PoolSettings::sized(2)).unwrap();
        let mut n = 0;
        db.transaction(false, &mut |c| {
            n = c.query_one("SELECT COUNT(*) FROM t", &[])?.int(0)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, transactions * rows);
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The hook's two thresholds on a real connection: past `WAKE_AT` it only wakes the
    /// checkpointer; at `WRITER_FINISHES` it checkpoints on the writer's own
    /// connection, so the WAL's bound does not depend on the checkpointer's thread.
    #[test]
    fn the_writer_checkpoints_itself_only_past_the_bound() {
        let dir = scratch_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::ffi::CString::new(dir.join("h.db").to_str().unwrap()).unwrap();
        let mut db = std::ptr::null_mut();
        // SAFETY: a fresh connection of this test's own, closed at the end.
        unsafe {
            assert_eq!(ffi::sqlite3_open(path.as_ptr(), &mut db), ffi::SQLITE_OK);
            let sql = c"PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);";
            let rc = ffi::sqlite3_exec(db, sql.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut());
            assert_eq!(rc, ffi::SQLITE_OK);
        }
        let wal = Wal::default();
        let arg = &wal as *const Wal as *mut c_void;
        for (frames, wanted, by_writer) in [
            (10, false, 0),
            (WAKE_AT as c_int, true, 0),
            (WRITER_FINISHES as c_int - 1, true, 0),
            (WRITER_FINISHES as c_int, false, 1),
        ] {
            *wal.wanted.lock().unwrap() = false;
            // SAFETY: `db` is open; `arg` is `wal`, alive through the call.
            let rc = unsafe { after_commit(arg, db, c"main".as_ptr(), frames) };
            assert_eq!(rc, ffi::SQLITE_OK);
            assert_eq!(*wal.wanted.lock().unwrap(), wanted, "{frames} frames");
            assert_eq!(wal.by_writer.load(Relaxed), by_writer, "{frames} frames");
            assert_eq!(wal.frames.load(Relaxed), i64::from(frames));
        }
        // SAFETY: opened above, nothing else uses it.
        unsafe { ffi::sqlite3_close(db) };
        let _ = std::fs::remove_dir_all(dir);
    }
}
