//! The one trait both databases implement: connections that run SQL with plain
//! values, transactions, and migrations. Everything above it is written once. Both
//! implementations are sqlx drivers (`sqlite.rs`, `postgres.rs`), driven from the
//! synchronous transaction bodies through [`DbRuntime`].

use std::borrow::Cow;
use std::future::Future;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `Vec<Value>` from expressions of any convertible type.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Value::from($v)),*] };
}

/// The parameter marks and values of an `IN (…)` list of ids, padded (by repeating the
/// last id, which changes nothing an `IN` matches) to a power of two: a statement text
/// for each size class, not one for every length, so prepared statements are reused and
/// a connection's cache of them stays small. `ids` must not be empty.
pub fn in_list(ids: &[patrol_protocol::Id]) -> (String, Vec<Value>) {
    let n = ids.len().max(1).next_power_of_two();
    let marks = (1..=n).map(|k| format!("${k}")).collect::<Vec<_>>().join(", ");
    let last = ids.last().copied().unwrap_or_default();
    let values = ids.iter().copied().chain(std::iter::repeat(last)).take(n).map(Value::from).collect();
    (marks, values)
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Backend(String),
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("column {index}: expected {expected}, found {found:?}")]
    Type { index: usize, expected: &'static str, found: Value },
    #[error("no connection became free in time")]
    PoolTimeout,
    /// Data the code cannot use, stored (a malformed stored value, a row that must
    /// exist and does not) or given to an administrative command: a fault of the data,
    /// not of the connection, which stays in the pool. Only `Backend` closes one.
    #[error("data: {0}")]
    Data(String),
    /// The transaction's body refused the request; everything it wrote was rolled back.
    #[error("refused; rolled back")]
    Refused,
}

/// One result row; columns by position.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn get(&self, i: usize) -> &Value {
        self.0.get(i).unwrap_or(&Value::Null)
    }
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.get(i) {
            Value::Int(v) => Ok(*v),
            other => Err(DbError::Type { index: i, expected: "integer", found: other.clone() }),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.get(i) {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn real(&self, i: usize) -> Result<f64, DbError> {
        match self.get(i) {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            other => Err(DbError::Type { index: i, expected: "real", found: other.clone() }),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        match self.get(i) {
            Value::Text(v) => Ok(v.clone()),
            other => Err(DbError::Type { index: i, expected: "text", found: other.clone() }),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.get(i) {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn uuid(&self, i: usize) -> Result<uuid::Uuid, DbError> {
        let t = self.text(i)?;
        uuid::Uuid::parse_str(&t).map_err(|_| DbError::Type { index: i, expected: "uuid", found: Value::Text(t) })
    }
    pub fn opt_uuid(&self, i: usize) -> Result<Option<uuid::Uuid>, DbError> {
        match self.get(i) {
            Value::Null => Ok(None),
            _ => self.uuid(i).map(Some),
        }
    }
    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        Ok(self.int(i)? != 0)
    }
    pub fn is_null(&self, i: usize) -> bool {
        matches!(self.get(i), Value::Null)
    }
}

/// A connection, or a transaction on one. SQL uses `$1, $2 …` placeholders in both
/// databases; the SQLite side rewrites them.
pub trait Conn {
    /// `sqlite` or `postgres`: for the few statements spelled differently per backend
    /// (a function name), never to change what a statement means.
    fn kind(&self) -> &'static str;
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs several statements without parameters (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError>;

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::Data(format!("no row from: {sql}")))
    }
}

/// A database Patrol can run on. Implemented by SQLite and PostgreSQL.
pub trait Database: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and the readiness check.
    fn kind(&self) -> &'static str;
    /// Applies the backend's migrations that have not run yet; returns how many ran.
    fn migrate(&self) -> Result<usize, DbError>;
    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// `write` tells SQLite to take the write lock up front.
    fn transaction(&self, write: bool, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError>;
    /// Runs `f`'s reads on a pooled connection outside any transaction: each statement
    /// sees what had committed when it ran, and the body shares no snapshot. For reads of
    /// one statement, or of several each valid alone (a request's sign-in check): on
    /// PostgreSQL it saves the `BEGIN` and `COMMIT` round trips. Never for writes.
    fn statements(&self, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        self.transaction(false, f)
    }
    /// Runs one statement that writes and is atomic by itself, and returns its rows. On
    /// PostgreSQL outside `BEGIN`/`COMMIT` (autocommit: one round trip where a
    /// transaction takes three); here, a write transaction of the one statement.
    fn write_statement(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut rows = Vec::new();
        self.transaction(true, &mut |c| {
            rows = c.query(sql, params)?;
            Ok(())
        })?;
        Ok(rows)
    }
    /// Runs statements that cannot run in a transaction (`VACUUM`, `CREATE DATABASE`).
    fn execute_outside_transaction(&self, sql: &str) -> Result<(), DbError>;
    /// Open connections and idle ones, as the pool counts them.
    fn open_and_idle(&self) -> (u32, usize);
    /// Transactions waiting for a connection of the pool now.
    fn waiting(&self) -> usize;
    /// The one writer's figures, for a database that has one (SQLite).
    fn writer_stats(&self) -> Option<crate::sqlite_writer::WriterStats> {
        None
    }
}

/// Counts those waiting for a connection: entered before the pool is asked, left
/// when it answers (with a connection or an error) or the wait is given up.
#[derive(Default)]
pub struct Waiters(std::sync::atomic::AtomicUsize);

impl Waiters {
    /// Runs `get` (asking the pool for a connection) counted as waiting.
    pub fn wait_for<T>(&self, get: impl FnOnce() -> T) -> T {
        let _waiting = self.enter();
        get()
    }

    pub fn enter(&self) -> Waiting<'_> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(self)
    }

    pub fn now(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub struct Waiting<'a>(&'a Waiters);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The runtime that drives the database drivers' I/O: one worker thread of its own,
/// whoever calls. The transaction bodies above the store are synchronous (they run on
/// the blocking pool, `Store::read`/`write`), and each statement they issue is a short
/// `block_on` of the driver's future on the calling thread; the driver's sockets and
/// SQLite's worker threads are registered with this runtime, so a store opened in one
/// test's runtime or a command-line tool without one behaves the same.
pub struct DbRuntime(Option<tokio::runtime::Runtime>);

impl DbRuntime {
    pub fn new() -> Result<DbRuntime, DbError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("patrol-db")
            .enable_all()
            .build()
            .map(|rt| DbRuntime(Some(rt)))
            .map_err(|e| DbError::Backend(format!("cannot start the database runtime: {e}")))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running until dropped").handle()
    }

    /// Runs `f` to its end on the calling thread, which must not be an async worker
    /// (the async API moves transaction bodies to the blocking pool first). Whatever is
    /// dropped while it runs, or while `guard` lives, finds this runtime current: a
    /// connection given back to its pool by a panicking body is handed over there.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.handle().block_on(f)
    }

    /// Makes this runtime current until the guard drops (see [`DbRuntime::block_on`]).
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.handle().enter()
    }
}

impl Drop for DbRuntime {
    fn drop(&mut self) {
        // The last store may be dropped on an async thread, where a blocking shutdown
        // panics; the pools have closed their connections by now.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// One step of the schema's history, as sqlx runs it. The SQL is shared by both
/// databases except where a type is spelled differently (SQLite's BLOB is PostgreSQL's
/// BYTEA): those steps have one file per backend.
struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! step {
    ($v:literal, $name:literal) => {
        Step {
            version: $v,
            description: $name,
            sqlite: include_str!(concat!("../migrations/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/", $name, ".sql")),
        }
    };
    ($v:literal, $name:literal, per_backend) => {
        Step {
            version: $v,
            description: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

const STEPS: &[Step] = &[
    step!(1, "0001_foundation"),
    step!(2, "0002_sync", per_backend),
    step!(3, "0003_web_sessions", per_backend),
    step!(4, "0004_audit"),
    step!(5, "0005_schedules_notify"),
    step!(6, "0006_sign_in_budgets"),
    step!(7, "0007_notice_register"),
    step!(8, "0008_reference_versions"),
    step!(9, "0009_notice_issuer"),
    step!(10, "0010_open_notices"),
    step!(11, "0011_notice_search"),
    step!(12, "0012_photo_markups"),
    step!(13, "0013_sequencer", per_backend),
    step!(14, "0014_witnessing"),
    step!(15, "0015_faults"),
];

/// The schema's history for one backend, as a sqlx migrator (each step in its own
/// transaction, recorded with its checksum in `_sqlx_migrations`; on PostgreSQL the
/// migrator holds an advisory lock, so instances starting together migrate once).
pub fn migrator(postgres: bool) -> Migrator {
    let migrations = STEPS
        .iter()
        .map(|s| {
            let sql = if postgres { s.postgres } else { s.sqlite };
            Migration::new(s.version, Cow::Borrowed(s.description), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

/// The table sqlx records applied migrations in.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Before sqlx, the server ran its migrations itself and recorded their versions in
/// `schema_migrations`. A database from then is adopted once: the last version it
/// records (read here; `exists` tells whether the table is there) is given to sqlx's
/// `Migrator::skip`, which records every step up to it as applied with the checksum of
/// the same step here (their text has not changed since), then the old table is dropped
/// ([`FORGET_PREVIOUS_RUNNER`]) and the migrator runs only the steps it lacks. Versions
/// with a gap, or past this release's last step, are refused: that database is not one
/// this release made.
pub fn last_step_of_previous_runner(c: &mut dyn Conn, exists: bool) -> Result<Option<i64>, DbError> {
    if !exists {
        return Ok(None);
    }
    let row = c.query_one("SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
    let (n, last) = (row.int(0)?, row.int(1)?);
    let known = STEPS.last().map_or(0, |s| s.version);
    if n != last || last > known {
        return Err(DbError::Data(format!(
            "schema_migrations records {n} versions up to {last}; this release knows 1 to {known} without gaps"
        )));
    }
    Ok(Some(last))
}

/// Drops the hand-written runner's table once its versions are in sqlx's; safe to run
/// twice (two instances adopting at once).
pub const FORGET_PREVIOUS_RUNNER: &str = "DROP TABLE IF EXISTS schema_migrations";

/// Migrates a database of either backend: sqlx's table made as sqlx makes it, a
/// database of the hand-written runner adopted (`previous_runner_sql` answers 1 when
/// its table exists), then the missing steps run. Returns how many ran.
pub fn migrate_pool<DB>(
    db: &dyn Database,
    rt: &DbRuntime,
    pool: &sqlx::Pool<DB>,
    previous_runner_sql: &str,
    postgres: bool,
) -> Result<usize, DbError>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::migrate::Migrate;
    let _entered = rt.enter();
    let applied = || -> Result<usize, DbError> {
        rt.block_on(async {
            let mut conn = pool.acquire().await.map_err(from_sqlx)?;
            let table = MIGRATIONS_TABLE;
            conn.ensure_migrations_table(table).await.map_err(|e| DbError::Backend(format!("migrations: {e}")))?;
            let applied = conn.list_applied_migrations(table).await;
            applied.map(|m| m.len()).map_err(|e| DbError::Backend(format!("migrations: {e}")))
        })
    };
    let mut last = None;
    db.transaction(false, &mut |c| {
        let exists = c.query_one(previous_runner_sql, &[])?.int(0)? > 0;
        last = last_step_of_previous_runner(c, exists)?;
        Ok(())
    })?;
    let migrator = migrator(postgres);
    if let Some(last) = last {
        rt.block_on(migrator.skip(pool, Some(last)))
            .map_err(|e| DbError::Backend(format!("adopting the schema's history: {e}")))?;
        db.transaction(true, &mut |c| c.execute_batch(FORGET_PREVIOUS_RUNNER))?;
    }
    let before = applied()?;
    rt.block_on(migrator.run(pool)).map_err(|e| DbError::Backend(format!("migration failed: {e}")))?;
    Ok(applied()? - before)
}

/// Runs statements outside a transaction on a pooled connection of either backend.
pub fn execute_outside<DB>(rt: &DbRuntime, pool: &sqlx::Pool<DB>, sql: &str) -> Result<(), DbError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let _entered = rt.enter();
    rt.block_on(async {
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql(sql_text(sql)).execute(&mut *conn).await.map(|_| ())
    })
    .map_err(from_sqlx)
}

/// Wraps a statement text for the driver: the project's SQL is written in its source
/// or assembled from its own fragments and placeholders, never from input.
pub fn sql_text(sql: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql.to_string())
}

/// The driver's error as the store's: a unique violation by name, an exhausted pool,
/// a value of the wrong type (a fault of the data or the code; the connection is fine),
/// and everything else as the backend's failure.
pub fn from_sqlx(e: sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Unique(db.message().to_string()),
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => DbError::Backend(format!("{code}: {}", db.message())),
            None => DbError::Backend(db.message().to_string()),
        },
        sqlx::Error::PoolTimedOut => DbError::PoolTimeout,
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_)) => {
            DbError::Data(e.to_string())
        }
        e => DbError::Backend(e.to_string()),
    }
}

/// How many connections a store keeps and how long a request waits for one.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// A request that finds every connection busy for this long fails with
    /// [`DbError::PoolTimeout`] (a 503), instead of waiting for ever.
    pub acquire_timeout: std::time::Duration,
    /// An idle connection is closed after this long (PostgreSQL's backends hold memory).
    pub idle_timeout: std::time::Duration,
}

impl PoolSettings {
    pub fn sized(max_connections: usize) -> PoolSettings {
        PoolSettings {
            max_connections: u32::try_from(max_connections.max(1)).unwrap_or(u32::MAX),
            acquire_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(600),
        }
    }
}
