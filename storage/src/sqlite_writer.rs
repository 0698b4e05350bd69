//! SQLite's one writer, in process, with group commit.
//!
//! SQLite lets one connection write at a time. With a pool of connections each taking
//! `BEGIN IMMEDIATE`, the others wait in SQLite's busy handler, which sleeps (1 ms,
//! then 2, 5 … up to 100 ms) and does not wake when the lock is free: under load the
//! machine sits idle while writers sleep, and every commit is its own WAL fsync.
//!
//! Here every write transaction goes through one dedicated connection, handed from
//! thread to thread under a mutex (no busy sleeps: a waiter wakes when the connection
//! is given back), with its prepared statements kept across transactions. A body runs
//! on its caller's thread, under a savepoint of a transaction that may be shared: when
//! other writers are waiting as a body ends, its thread leaves the transaction open
//! and hands the connection on; the last of the group (nobody waiting, or the group at
//! its bounds) commits, and every member of the group returns only then, with the
//! commit's result. So a body that returned `Ok` is durable (the commit is fully
//! synchronous) exactly as before; a body that failed is rolled back to its savepoint
//! alone and never waits; a group whose commit fails fails for all its members, who
//! all see the error, as each would have alone. One fsync serves the whole group.
//! Under load, the last body of a group that nobody is waiting to join leaves it open
//! for a moment (`COMMIT_DELAY`, 0.5 ms) and then commits it unless a body that joined
//! meanwhile has: writes that arrive a moment apart share one fsync.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;

use crate::db::{Conn, DbError, DbRuntime, Waiters};
use crate::sqlite::SqliteConn;
use crate::sqlite_raw::Statements;

/// Bodies one commit may serve at most: bounds how long the first of a group waits
/// for the others' work.
const MAX_MEMBERS: usize = 32;
/// How long a group stays open at most, from its `BEGIN`.
const MAX_OPEN: Duration = Duration::from_millis(100);
/// How long a writer waits for the connection before giving up (the busy timeout it
/// replaces).
const MAX_WAIT: Duration = Duration::from_secs(15);
/// Under load (the previous commit ended less than `BUSY` before this group began),
/// the last body of a group leaves it open this long for others to join before it
/// commits, as PostgreSQL's `commit_delay` does: writes that arrive a moment apart
/// (photos completing on several connections, each after its own file's fsync) then
/// share one fsync instead of paying one each. Never when writes are rare.
const COMMIT_DELAY: Duration = Duration::from_micros(500);
const BUSY: Duration = Duration::from_millis(3);

pub(crate) struct Writer {
    slot: Mutex<Slot>,
    turn: Condvar,
    /// Commits made.
    commits: std::sync::atomic::AtomicUsize,
    /// Bodies run, and nanoseconds the connection was held (bodies, commits, fsyncs):
    /// how busy the one writer is (`/metrics`).
    bodies: std::sync::atomic::AtomicU64,
    busy_ns: std::sync::atomic::AtomicU64,
    /// When the last commit ended, and groups whose last body waited `COMMIT_DELAY`.
    last_commit: Mutex<Option<Instant>>,
    delayed: std::sync::atomic::AtomicU64,
}

/// What the one writer has done since the server started.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    pub bodies: u64,
    pub commits: u64,
    pub busy_seconds: f64,
    /// Groups whose last body waited `COMMIT_DELAY` for others before committing.
    pub delayed: u64,
    /// WAL checkpoints by the checkpointer's thread, and by the writer itself when the
    /// WAL had grown past its bound (`sqlite_checkpoint`).
    pub checkpoints: u64,
    pub writer_checkpoints: u64,
    /// The checkpointer's checkpoints that failed (each tried again at its next wake).
    pub failed_checkpoints: u64,
}

struct Slot {
    /// The connection, when no body is running on it.
    line: Option<Line>,
    /// Threads waiting for it.
    waiting: usize,
}

struct Line {
    // Finalized before the connection closes (field order).
    statements: Statements,
    /// Held open for the statements' handle; closed when the line drops.
    _conn: SqliteConnection,
    open: Option<Open>,
    /// What the connection's WAL hook counts into (after `_conn`: outlives it).
    _wal: Arc<crate::sqlite_checkpoint::Wal>,
}

/// The transaction left open on the connection, and who joined it.
struct Open {
    group: Arc<Group>,
    members: usize,
    since: Instant,
}

#[derive(Default)]
struct Group {
    result: Mutex<Option<Result<(), String>>>,
    done: Condvar,
}

impl Group {
    fn finish(&self, result: Result<(), String>) {
        *lock(&self.result) = Some(result);
        self.done.notify_all();
    }

    fn wait(&self) -> Result<(), DbError> {
        let mut result = lock(&self.result);
        loop {
            if let Some(r) = result.as_ref() {
                return r.clone().map_err(DbError::Backend);
            }
            result = self.done.wait(result).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking body never holds these locks: poisoning carries nothing here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writer {
    pub(crate) fn new(
        rt: &DbRuntime,
        mut conn: SqliteConnection,
        wal: Arc<crate::sqlite_checkpoint::Wal>,
    ) -> Result<Writer, DbError> {
        // SAFETY: the connection is this line's alone (never in the pool), used by
        // whoever took the line alone, and the statements are finalized before it
        // closes (`Line`'s field order).
        let statements = unsafe { crate::sqlite_readers::kept(rt, &mut conn)? };
        // SAFETY: the writer's connection, and `wal` is kept in its line past it.
        unsafe { crate::sqlite_checkpoint::watch(&statements, &wal) };
        let line = Line { statements, _conn: conn, open: None, _wal: wal };
        Ok(Writer {
            slot: Mutex::new(Slot { line: Some(line), waiting: 0 }),
            turn: Condvar::new(),
            commits: Default::default(),
            bodies: Default::default(),
            busy_ns: Default::default(),
            last_commit: Mutex::new(None),
            delayed: Default::default(),
        })
    }

    /// Runs `f` as a write transaction (see the module's text).
    pub(crate) fn transaction(
        &self,
        rt: &DbRuntime,
        waiters: &Waiters,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let _entered = rt.enter();
        let line = {
            let _waiting = waiters.enter();
            self.take()?
        };
        // Gives the line back however this ends (a panicking body included: its group
        // is then rolled back and fails).
        let mut holder = Holder { writer: self, line: Some(line), clean: false, since: Instant::now(), counted: true };
        let outcome = holder.run(f);
        holder.clean = true;
        drop(holder);
        match outcome {
            Outcome::Failed(e) => Err(e),
            Outcome::Joined(group) => group.wait(),
            Outcome::Committed(r) => r,
            Outcome::Delayed(group) => {
                self.delayed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(COMMIT_DELAY);
                // Back for the line, and whatever group is open on it now is this
                // thread's to commit: its own if nobody who joined it has ended it, or a
                // later one whose last body saw this thread waiting and so left the
                // commit to it (a waiter always ends the group it finds; no body is
                // running while the line is free, so every member's body is done).
                // No giving up here: the group's members wait for this commit.
                let line = {
                    let _waiting = waiters.enter();
                    loop {
                        if let Ok(line) = self.take() {
                            break line;
                        }
                    }
                };
                let mut holder =
                    Holder { writer: self, line: Some(line), clean: false, since: Instant::now(), counted: false };
                let Line { statements, open, .. } = holder.line.as_mut().expect("held");
                let ours = open.as_ref().is_some_and(|o| Arc::ptr_eq(&o.group, &group));
                let ended = open.is_some().then(|| finish(self, statements, open));
                let committed = if ours { ended } else { None };
                holder.clean = true;
                drop(holder);
                match committed {
                    Some(r) => r,
                    None => group.wait(),
                }
            }
        }
    }

    fn take(&self) -> Result<Line, DbError> {
        let mut slot = lock(&self.slot);
        let deadline = Instant::now() + MAX_WAIT;
        slot.waiting += 1;
        loop {
            if let Some(line) = slot.line.take() {
                slot.waiting -= 1;
                return Ok(line);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                slot.waiting -= 1;
                return Err(DbError::Backend("database is locked: no write finished within 15 s".into()));
            }
            slot = self.turn.wait_timeout(slot, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn give_back(&self, line: Line) {
        lock(&self.slot).line = Some(line);
        self.turn.notify_one();
    }

    pub(crate) fn stats(&self) -> WriterStats {
        use std::sync::atomic::Ordering::Relaxed;
        WriterStats {
            bodies: self.bodies.load(Relaxed),
            commits: self.commits.load(Relaxed) as u64,
            busy_seconds: self.busy_ns.load(Relaxed) as f64 / 1e9,
            delayed: self.delayed.load(Relaxed),
            ..WriterStats::default()
        }
    }

    fn others_waiting(&self) -> bool {
        lock(&self.slot).waiting > 0
    }
}

enum Outcome {
    /// The body failed; its writes were rolled back to its savepoint.
    Failed(DbError),
    /// The body's writes wait in an open group; its commit decides.
    Joined(Arc<Group>),
    /// This thread ended the group: the commit's result.
    Committed(Result<(), DbError>),
    /// The body's writes wait in an open group that this thread commits after
    /// `COMMIT_DELAY` unless someone who joined it has by then.
    Delayed(Arc<Group>),
}

struct Holder<'w> {
    writer: &'w Writer,
    line: Option<Line>,
    clean: bool,
    since: Instant,
    /// Counts a body in the writer's figures (not the delayed commit's second turn).
    counted: bool,
}

impl Holder<'_> {
    fn run(&mut self, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Outcome {
        let writer = self.writer;
        // No lock of sqlx's taken here: its worker thread has no command for this
        // connection until it closes, and the line is used by whoever took it alone.
        // (Taking sqlx's lock cost a round trip to that thread on every transaction.)
        let Line { statements, open, .. } = self.line.as_mut().expect("held");
        if open.is_none() {
            if let Err(e) = statements.batch("BEGIN IMMEDIATE") {
                return Outcome::Failed(e);
            }
            *open = Some(Open { group: Arc::default(), members: 0, since: Instant::now() });
        }
        let body = statements.batch("SAVEPOINT body").and_then(|()| f(&mut SqliteConn(statements)));
        let failed = match body {
            Ok(()) => statements.batch("RELEASE SAVEPOINT body").err(),
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            let undone = statements.in_transaction()
                && statements.batch("ROLLBACK TO SAVEPOINT body; RELEASE SAVEPOINT body").is_ok();
            if !undone {
                // The transaction itself is gone (SQLite rolls back on some errors):
                // the whole group with it.
                abandon(statements, open, &format!("rolled back with another write in its commit: {e}"));
            } else if !writer.others_waiting() {
                // Nobody to hand the group to: end it now.
                let _ = finish(writer, statements, open);
            }
            return Outcome::Failed(e);
        }
        let group = {
            let o = open.as_mut().expect("opened above");
            o.members += 1;
            o.group.clone()
        };
        let o = open.as_ref().expect("opened above");
        let room = o.members < MAX_MEMBERS && o.since.elapsed() < MAX_OPEN;
        if room && writer.others_waiting() {
            return Outcome::Joined(group);
        }
        let busy = lock(&writer.last_commit).is_some_and(|at| o.since.saturating_duration_since(at) < BUSY);
        if room && busy {
            return Outcome::Delayed(group);
        }
        Outcome::Committed(finish(writer, statements, open))
    }
}

/// Commits the open group (rolls it back when nobody joined it) and tells its
/// members.
fn finish(writer: &Writer, statements: &mut Statements, open: &mut Option<Open>) -> Result<(), DbError> {
    let Some(o) = open.take() else { return Ok(()) };
    let end = if o.members > 0 { "COMMIT" } else { "ROLLBACK" };
    let result = statements.batch(end);
    if o.members > 0 && result.is_ok() {
        writer.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    *lock(&writer.last_commit) = Some(Instant::now());
    if result.is_err() && statements.in_transaction() {
        let _ = statements.batch("ROLLBACK");
    }
    o.group.finish(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
    result
}

/// Rolls back the open group, whatever it holds, and fails its members.
fn abandon(statements: &mut Statements, open: &mut Option<Open>, why: &str) {
    if let Some(o) = open.take() {
        if statements.in_transaction() {
            let _ = statements.batch("ROLLBACK");
        }
        o.group.finish(Err(why.to_string()));
    }
}

impl Drop for Holder<'_> {
    fn drop(&mut self) {
        let Some(mut line) = self.line.take() else { return };
        if !self.clean {
            // The body panicked: its group cannot know what it left behind (nothing
            // else uses this connection).
            abandon(&mut line.statements, &mut line.open, "rolled back: another write in its commit failed");
        }
        use std::sync::atomic::Ordering::Relaxed;
        if self.counted {
            self.writer.bodies.fetch_add(1, Relaxed);
        }
        self.writer.busy_ns.fetch_add(self.since.elapsed().as_nanos() as u64, Relaxed);
        self.writer.give_back(line);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::db::{Database, DbError, PoolSettings};
    use crate::params;
    use crate::sqlite::SqliteDb;

    fn scratch() -> (SqliteDb, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("patrol-writer-{}", uuid::Uuid::now_v7().simple()));
        let db = SqliteDb::open(dir.join("w.db"), &PoolSettings::sized(4)).unwrap();
        db.execute_outside_transaction("CREATE TABLE t (id INTEGER PRIMARY KEY, who INTEGER NOT NULL)").unwrap();
        (db, dir)
    }

    fn stored(db: &SqliteDb) -> BTreeSet<i64> {
        let mut ids = BTreeSet::new();
        db.transaction(false, &mut |c| {
            for r in c.query("SELECT id FROM t", &[])? {
                ids.insert(r.int(0)?);
            }
            Ok(())
        })
        .unwrap();
        ids
    }

    /// What a body does, chosen from its number: most commit; some fail after writing
    /// (refused, or a unique violation part-way), some panic after writing.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Fate {
        Commit,
        Refuse,
        Collide,
        Panic,
    }

    fn fate(n: u64) -> Fate {
        // A small generator: the fates interleave differently in each thread.
        let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        match x % 23 {
            0..=1 => Fate::Refuse,
            2..=3 => Fate::Collide,
            4 => Fate::Panic,
            _ => Fate::Commit,
        }
    }

    /// Many writers at once, bodies that commit, fail and panic mixed: what is stored
    /// is exactly the rows of the bodies that returned `Ok` (none of a failed or
    /// panicking body, none of a body whose group failed), and bodies did share
    /// commits.
    #[test]
    fn what_returned_ok_is_stored_and_nothing_else() {
        let (db, dir) = scratch();
        let db = Arc::new(db);
        db.transaction(true, &mut |c| c.execute("INSERT INTO t VALUES (0, 0)", &[]).map(drop)).unwrap();
        let threads = 8u64;
        let per = 60u64;
        let ok = Arc::new(std::sync::Mutex::new(BTreeSet::from([0i64])));
        let fates = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (db, ok, fates) = (db.clone(), ok.clone(), fates.clone());
                std::thread::spawn(move || {
                    for i in 0..per {
                        let id = (t * 1000 + i + 1) as i64;
                        let f = fate(t * 7919 + i);
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            db.transaction(true, &mut |c| {
                                c.execute("INSERT INTO t VALUES ($1, $2)", &params![id, t as i64])?;
                                c.execute("INSERT INTO t VALUES ($1, $2)", &params![id + 500, t as i64])?;
                                // Long enough that others queue behind it.
                                std::thread::sleep(std::time::Duration::from_micros(300));
                                match f {
                                    Fate::Commit => Ok(()),
                                    Fate::Refuse => Err(DbError::Refused),
                                    Fate::Collide => c.execute("INSERT INTO t VALUES (0, 0)", &[]).map(drop),
                                    Fate::Panic => panic!("a body panics after writing"),
                                }
                            })
                        }));
                        fates.lock().unwrap().push(f);
                        if let Ok(Ok(())) = result {
                            assert_eq!(f, Fate::Commit, "only committing bodies return Ok");
                            ok.lock().unwrap().extend([id, id + 500]);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let fates = fates.lock().unwrap();
        for f in [Fate::Commit, Fate::Refuse, Fate::Collide, Fate::Panic] {
            assert!(fates.contains(&f), "the matrix exercises {f:?}");
        }
        let ok = ok.lock().unwrap().clone();
        assert_eq!(stored(&db), ok, "exactly the rows of the bodies that returned Ok");
        let oks = (ok.len() - 1) / 2;
        let commits = db.writer_stats().unwrap().commits as usize;
        assert!(oks > (threads * per / 2) as usize, "most bodies committed ({oks})");
        assert!(commits < oks, "{oks} bodies shared {commits} commits");
        // Bodies arriving back to back made the last of some groups wait for others
        // (`COMMIT_DELAY`), and those groups' fates are among the ones checked above.
        assert!(db.writer_stats().unwrap().delayed > 0, "the matrix exercises the commit delay");
        // The writer goes on after all that.
        db.transaction(true, &mut |c| c.execute("INSERT INTO t VALUES (99999, 1)", &[]).map(drop)).unwrap();
        assert!(stored(&db).contains(&99999));
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Every write returns, however bursts of writers meet the commit delay, with no
    /// later write to end a group left open: rounds of bursts (3 to 8 threads, each a
    /// few writes, some failing), and nothing written after the last round. A group
    /// whose last body leaves its commit to a waiter that never commits it would hang
    /// its members here (a thread returning from its delay found a later group open
    /// and left it: issue 16's review).
    #[test]
    fn every_write_returns_when_bursts_stop() {
        let (db, dir) = scratch();
        let db = Arc::new(db);
        let next = Arc::new(AtomicUsize::new(1));
        for round in 0..60usize {
            let threads = 3 + round % 6;
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            for t in 0..threads {
                let (db, next, done_tx) = (db.clone(), next.clone(), done_tx.clone());
                std::thread::spawn(move || {
                    for k in 0..(1 + (round + t) % 3) {
                        let id = next.fetch_add(1, Ordering::Relaxed) as i64;
                        let fail = (round + t + k) % 7 == 0;
                        let r = db.transaction(true, &mut |c| {
                            c.execute("INSERT INTO t (id, who) VALUES ($1, 0)", &params![id])?;
                            if fail { Err(DbError::Refused) } else { Ok(()) }
                        });
                        assert_eq!(r.is_ok(), !fail, "{r:?}");
                    }
                    done_tx.send(()).unwrap();
                });
            }
            drop(done_tx);
            for _ in 0..threads {
                done_rx
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .unwrap_or_else(|_| panic!("round {round}: a write never returned"));
            }
        }
        assert!(db.writer_stats().unwrap().delayed > 0, "the bursts met the commit delay");
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A body alone (nobody waiting) commits at once, and a failing one alone leaves
    /// nothing open: a read from another connection sees the first and not the second.
    #[test]
    fn a_lone_body_commits_before_it_returns() {
        let (db, dir) = scratch();
        let seen = AtomicUsize::new(0);
        db.transaction(true, &mut |c| c.execute("INSERT INTO t VALUES (1, 1)", &[]).map(drop)).unwrap();
        let refused = db.transaction(true, &mut |c| {
            c.execute("INSERT INTO t VALUES (2, 1)", &[])?;
            Err(DbError::Refused)
        });
        assert!(matches!(refused, Err(DbError::Refused)));
        seen.store(stored(&db).len(), Ordering::Relaxed);
        assert_eq!(stored(&db), BTreeSet::from([1]));
        assert_eq!(seen.load(Ordering::Relaxed), 1);
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod statement_cache {
    use crate::db::{Database, PoolSettings, in_list};
    use crate::sqlite::SqliteDb;

    /// The writer keeps its prepared statements across transactions, bounded: more
    /// distinct statements than the bound all still run, and earlier ones run again
    /// (prepared anew) with their right answers.
    #[test]
    fn more_statements_than_the_cache_holds_all_run() {
        let dir = std::env::temp_dir().join(format!("patrol-cache-{}", uuid::Uuid::now_v7().simple()));
        let db = SqliteDb::open(dir.join("c.db"), &PoolSettings::sized(2)).unwrap();
        for round in 0..2 {
            db.transaction(true, &mut |c| {
                for i in 0..1500i64 {
                    let got = c.query_one(&format!("SELECT {i} + $1"), &crate::params![round as i64])?.int(0)?;
                    assert_eq!(got, i + round as i64);
                }
                Ok(())
            })
            .unwrap();
        }
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// An `IN` list is padded to a power of two with its last id: every id is there,
    /// nothing else is, and lengths share a few statement texts.
    #[test]
    fn an_in_list_pads_with_its_last_id() {
        for n in 1..=70usize {
            let ids: Vec<patrol_protocol::Id> = (0..n).map(|_| uuid::Uuid::now_v7()).collect();
            let (marks, values) = in_list(&ids);
            let width = n.next_power_of_two();
            assert_eq!(values.len(), width);
            assert_eq!(marks.split(", ").count(), width);
            assert_eq!(marks.split(", ").last().unwrap(), format!("${width}"));
            let given: Vec<crate::db::Value> = ids.iter().map(|id| crate::db::Value::from(*id)).collect();
            assert_eq!(&values[..n], &given[..]);
            assert!(values[n..].iter().all(|v| *v == given[n - 1]), "n = {n}");
        }
    }
}
