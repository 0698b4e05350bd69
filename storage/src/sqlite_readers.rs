//! SQLite's reading connections, each kept by the store itself for its whole life.
//!
//! A read through sqlx's pool cost, beside its statements, the pool's hand-over on
//! the database runtime and a round trip to the connection's worker thread for its
//! lock (`SqliteConnection::lock_handle`) and another to give it back: some six thread
//! wake-ups for a sign-in check of a few microseconds of SQLite work, on every request,
//! and every statement prepared again because the prepared ones were finalized before
//! the lock went back. Here, as for the one writer (`sqlite_writer`), sqlx opens and
//! configures each connection and then never touches it again until it closes: the
//! connection's raw handle is taken once and its statements stay prepared across
//! reads. A read takes an idle connection under a mutex (or opens one, up to the pool's
//! bound, or waits for one to be given back, up to the pool's acquire timeout) and runs
//! on its caller's thread: no hop but the caller's own.
//!
//! Every reading connection refuses writes twice: SQLite's `query_only` pragma, and
//! `Statements::reads_only`, which refuses a statement that may write before it runs.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::db::{DbError, DbRuntime, PoolSettings, Waiters, from_sqlx};
use crate::sqlite_raw::Statements;

pub(crate) struct Readers {
    idle: Mutex<Idle>,
    turn: Condvar,
    options: SqliteConnectOptions,
    max: usize,
    acquire_timeout: std::time::Duration,
}

struct Idle {
    lines: Vec<ReadLine>,
    /// Connections open, idle or in use.
    open: usize,
}

/// One reading connection and the statements prepared on it.
pub(crate) struct ReadLine {
    // Finalized before the connection closes (field order).
    pub(crate) statements: Statements,
    conn: SqliteConnection,
}

/// The statements of a connection the store keeps for its whole life (a reader's, the
/// one writer's): its raw handle, taken once under sqlx's lock. sqlx's worker thread
/// then waits for a command that comes only when the connection closes, so it never
/// touches the handle.
///
/// # Safety
/// `conn` must be used by nothing else (never pooled, no sqlx call but `close`), by one
/// thread at a time, and the statements dropped before it closes.
pub(crate) unsafe fn kept(rt: &DbRuntime, conn: &mut SqliteConnection) -> Result<Statements, DbError> {
    let _entered = rt.enter();
    let raw = rt.block_on(conn.lock_handle()).map_err(from_sqlx)?.as_raw_handle();
    // SAFETY: the caller's contract.
    Ok(unsafe { Statements::new(raw) })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing runs under these locks that could panic half-way.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Readers {
    /// Opens one connection at once, so a bad path fails at start-up, not on first use.
    pub(crate) fn open(rt: &DbRuntime, options: SqliteConnectOptions, pool: &PoolSettings) -> Result<Readers, DbError> {
        let readers = Readers {
            idle: Mutex::new(Idle { lines: Vec::new(), open: 0 }),
            turn: Condvar::new(),
            options: options.pragma("query_only", "ON"),
            max: (pool.max_connections as usize).max(1),
            acquire_timeout: pool.acquire_timeout,
        };
        let first = readers.connect(rt)?;
        let mut idle = lock(&readers.idle);
        idle.open = 1;
        idle.lines.push(first);
        drop(idle);
        Ok(readers)
    }

    fn connect(&self, rt: &DbRuntime) -> Result<ReadLine, DbError> {
        let _entered = rt.enter();
        let mut conn = rt.block_on(self.options.connect()).map_err(from_sqlx)?;
        // SAFETY: the connection is this line's alone, used by one thread at a time (the
        // line is taken out of `Idle` to be used), and the statements are finalized
        // before it closes (`ReadLine`'s field order).
        let statements = unsafe { kept(rt, &mut conn)? }.reads_only();
        Ok(ReadLine { statements, conn })
    }

    /// Takes an idle connection, opens one if fewer than the bound are open, or waits
    /// for one to be given back (counted in `waiters`), up to the acquire timeout.
    pub(crate) fn take(&self, rt: &DbRuntime, waiters: &Waiters) -> Result<ReadLine, DbError> {
        let mut idle = lock(&self.idle);
        // Entered (and the deadline set) only once a read has to wait.
        let mut waiting = None;
        loop {
            if let Some(line) = idle.lines.pop() {
                return Ok(line);
            }
            if idle.open < self.max {
                idle.open += 1;
                drop(idle);
                return self.connect(rt).inspect_err(|_| self.closed());
            }
            let (_, deadline) = waiting.get_or_insert_with(|| (waiters.enter(), Instant::now() + self.acquire_timeout));
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DbError::PoolTimeout);
            }
            idle = self.turn.wait_timeout(idle, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Gives a connection back for the next read. One left inside a transaction (a
    /// body that unwound past its rollback) is closed instead.
    pub(crate) fn give_back(&self, rt: &DbRuntime, mut line: ReadLine) {
        if line.statements.in_transaction() && line.statements.batch("ROLLBACK").is_err() {
            self.close(rt, line);
            return;
        }
        lock(&self.idle).lines.push(line);
        self.turn.notify_one();
    }

    /// Closes a connection that must not be used again (a backend error on it).
    pub(crate) fn close(&self, rt: &DbRuntime, line: ReadLine) {
        let ReadLine { statements, conn } = line;
        drop(statements);
        let _entered = rt.enter();
        let _ = rt.block_on(conn.close());
        self.closed();
    }

    fn closed(&self) {
        lock(&self.idle).open -= 1;
        self.turn.notify_one();
    }

    /// Connections open and idle.
    pub(crate) fn open_and_idle(&self) -> (u32, usize) {
        let idle = lock(&self.idle);
        (u32::try_from(idle.open).unwrap_or(u32::MAX), idle.lines.len())
    }
}
