//! The embedded default: one SQLite file in WAL mode, fully synchronous so that a
//! record the server acknowledged survives a crash or power cut. sqlx's SQLite driver
//! (pool, connections, transactions, migrations), on the same SQLite build as the phone
//! core (one `libsqlite3-sys`); a transaction body's statements run on the calling
//! thread under sqlx's lock on the connection (`sqlite_raw`).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

use crate::sqlite_checkpoint::{Checkpointer, Wal};
use crate::sqlite_raw::Statements;
use crate::sqlite_readers::{ReadLine, Readers};
use crate::sqlite_writer::Writer;

use super::db::{
    Conn, Database, DbError, DbRuntime, PoolSettings, Row, Value, execute_outside, from_sqlx, migrate_pool, migrator,
};

pub struct SqliteDb {
    // Dropped before the runtime that drives them.
    /// WAL checkpoints, off the writer's turn (`sqlite_checkpoint`).
    _checkpointer: Checkpointer,
    wal: Arc<Wal>,
    /// Every write transaction's connection (`sqlite_writer`).
    writer: Writer,
    /// Reads' connections (`sqlite_readers`).
    readers: Readers,
    /// Migrations' and `execute_outside_transaction`'s connections.
    pool: SqlitePool,
    rt: Arc<DbRuntime>,
    waiters: crate::db::Waiters,
}

/// Statements each connection keeps prepared: the server has a few hundred.
const STATEMENT_CACHE: usize = 1024;

impl SqliteDb {
    pub fn open(path: PathBuf, settings: &PoolSettings) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let rt = Arc::new(DbRuntime::new()?);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(15))
            .statement_cache_capacity(STATEMENT_CACHE);
        let pool = rt
            .block_on(
                SqlitePoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(settings.acquire_timeout)
                    .idle_timeout(settings.idle_timeout)
                    // A file on this machine: nothing to test before each use.
                    .test_before_acquire(false)
                    .connect_with(options.clone()),
            )
            .map_err(from_sqlx)?;
        // The one writer keeps more of the file in its own cache (SQLite's default is
        // 2 MB): every write's index and table pages are its working set, and a page
        // it dropped is read back from the file in the writer's turn, which all writes
        // wait for. 32 MB, at most, on the machine's memory.
        let conn = rt.block_on(options.clone().pragma("cache_size", "-32768").connect()).map_err(from_sqlx)?;
        let wal = Arc::new(Wal::default());
        let writer = Writer::new(&rt, conn, wal.clone())?;
        let checkpointer = Checkpointer::start(&rt, &options, wal.clone())?;
        let readers = Readers::open(&rt, options, settings)?;
        Ok(SqliteDb { _checkpointer: checkpointer, wal, writer, readers, pool, rt, waiters: Default::default() })
    }
}

/// A private SQLite database in a fresh temporary directory, outside any pool and
/// never shared: `audit verify` rebuilds the projections in one (`audit::replay`). On
/// disk rather than in memory, so rebuilding ten years of records stays within bounded
/// memory; nothing in it needs to survive a crash. Removed when dropped.
pub struct ScratchDb {
    conn: std::cell::RefCell<Option<SqliteConnection>>,
    rt: DbRuntime,
    dir: PathBuf,
}

impl ScratchDb {
    /// Creates the database under the system's temporary directory, with every
    /// migration applied.
    pub fn create() -> Result<ScratchDb, DbError> {
        let dir = std::env::temp_dir().join(format!("patrol-verify-{}", uuid::Uuid::now_v7().simple()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| DbError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        let scratch = ScratchDb { conn: std::cell::RefCell::new(None), rt: DbRuntime::new()?, dir };
        // No fsync and no foreign keys: a throwaway copy, written in the order the
        // records were applied. The rollback journal stays: applying a record rolls
        // back to a savepoint when it collides with a stored object.
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(from_sqlx)?
            .filename(scratch.dir.join("rebuilt.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .synchronous(SqliteSynchronous::Off)
            .foreign_keys(false)
            .pragma("cache_size", "-16384")
            .statement_cache_capacity(STATEMENT_CACHE);
        let conn = scratch.rt.block_on(async {
            let mut conn = options.connect().await?;
            migrator(false).run_direct(None, &mut conn, false).await.map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
            Ok::<_, sqlx::Error>(conn)
        });
        *scratch.conn.borrow_mut() = Some(conn.map_err(from_sqlx)?);
        Ok(scratch)
    }

    /// Runs `f` on the connection; transactions are the caller's (`BEGIN`/`COMMIT`).
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        let mut conn = self.conn.borrow_mut();
        let _entered = self.rt.enter();
        with_statements(&self.rt, conn.as_mut().expect("open until dropped"), Reads::Scratch, f)
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            let _ = self.rt.block_on(conn.close());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Database for SqliteDb {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn migrate(&self) -> Result<usize, DbError> {
        let previous_runner = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
        migrate_pool(self, &self.rt, &self.pool, previous_runner, false)
    }

    fn transaction(&self, write: bool, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        // Everything dropped here, a panicking body's connection included, finds the
        // store's runtime current: sqlx takes the connection back there.
        if write {
            return self.writer.transaction(&self.rt, &self.waiters, f);
        }
        self.reading(Reads::InTransaction, f)
    }

    fn statements(&self, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        self.reading(Reads::Each, f)
    }

    fn open_and_idle(&self) -> (u32, usize) {
        self.readers.open_and_idle()
    }

    fn waiting(&self) -> usize {
        self.waiters.now()
    }

    fn writer_stats(&self) -> Option<crate::sqlite_writer::WriterStats> {
        use std::sync::atomic::Ordering::Relaxed;
        Some(crate::sqlite_writer::WriterStats {
            checkpoints: self.wal.by_checkpointer.load(Relaxed),
            writer_checkpoints: self.wal.by_writer.load(Relaxed),
            failed_checkpoints: self.wal.failed.load(Relaxed),
            ..self.writer.stats()
        })
    }

    fn execute_outside_transaction(&self, sql: &str) -> Result<(), DbError> {
        execute_outside(&self.rt, &self.pool, sql)
    }
}

/// How a body runs on a connection other than the one writer's.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    /// A pooled connection's read transaction: reads only, one snapshot.
    InTransaction,
    /// A pooled connection's statements outside a transaction (`Database::statements`):
    /// reads only, each its own snapshot.
    Each,
    /// The scratch database's own connection: anything, transactions the caller's.
    Scratch,
}

impl SqliteDb {
    /// Runs `f` on a reading connection (`sqlite_readers`), on this thread.
    fn reading(&self, reads: Reads, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        /// Gives the connection back however the body ends (a panicking one included;
        /// its transaction is rolled back first), or closes it after a backend error.
        struct Held<'d> {
            db: &'d SqliteDb,
            line: Option<ReadLine>,
            broken: bool,
        }
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                if let Some(line) = self.line.take() {
                    if self.broken {
                        self.db.readers.close(&self.db.rt, line);
                    } else {
                        self.db.readers.give_back(&self.db.rt, line);
                    }
                }
            }
        }
        let line = self.readers.take(&self.rt, &self.waiters)?;
        let mut held = Held { db: self, line: Some(line), broken: false };
        let statements = &mut held.line.as_mut().expect("held").statements;
        let result = run_body(statements, reads, |c| f(c));
        held.broken = matches!(result, Err(DbError::Backend(_)));
        result
    }
}

/// Runs `f` with the connection's statements on this thread, under sqlx's lock on the
/// connection (`sqlite_raw`), as `run_body` says. Unless `Reads::Scratch`, a statement
/// that would write is refused before it runs. The statements are finalized and the
/// lock given back before this returns or unwinds.
fn with_statements<T>(
    rt: &DbRuntime,
    conn: &mut SqliteConnection,
    reads: Reads,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let mut locked = rt.block_on(conn.lock_handle()).map_err(from_sqlx)?;
    // SAFETY: the handle stays open and ours while `locked` lives, which outlives it.
    let mut statements = unsafe { Statements::new(locked.as_raw_handle()) };
    if reads != Reads::Scratch {
        statements = statements.reads_only();
    }
    let result = run_body(&mut statements, reads, f);
    drop(statements);
    drop(locked);
    result
}

/// Runs `f` on `statements`: for `Reads::InTransaction` in a transaction, committed
/// when `f` returns `Ok`, rolled back when it fails or unwinds.
fn run_body<T>(
    statements: &mut Statements,
    reads: Reads,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    /// Rolls back on drop unless committed.
    struct Open<'s> {
        statements: &'s mut Statements,
        committed: bool,
    }
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if !self.committed {
                let _ = self.statements.batch("ROLLBACK");
            }
        }
    }
    match reads {
        Reads::Each | Reads::Scratch => f(&mut SqliteConn(statements)),
        Reads::InTransaction => {
            statements.batch("BEGIN")?;
            let mut open = Open { statements, committed: false };
            let result = f(&mut SqliteConn(open.statements));
            match result {
                Ok(v) => {
                    open.statements.batch("COMMIT")?;
                    open.committed = true;
                    Ok(v)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// A connection for one transaction body (or the scratch database's own).
pub(crate) struct SqliteConn<'c>(pub(crate) &'c mut Statements);

impl Conn for SqliteConn<'_> {
    fn kind(&self) -> &'static str {
        "sqlite"
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.0.run(sql, params, false).map(|(_, changed)| changed)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.0.run(sql, params, true).map(|(rows, _)| rows)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.0.batch(sql)
    }
}

/// Whether a `sqlite:` URL names a file (the one form the server takes).
pub fn path_of(url: &str) -> Option<PathBuf> {
    url.strip_prefix("sqlite:").map(|p| PathBuf::from(p.trim_start_matches("//")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(super::path_of("sqlite:data/p.db"), Some("data/p.db".into()));
        assert_eq!(super::path_of("sqlite://data/p.db"), Some("data/p.db".into()));
        assert_eq!(super::path_of("postgres://x/y"), None);
    }
}
