//! Storage: the `Database` trait with its SQLite and PostgreSQL implementations (sqlx),
//! the schema's migrations, and the queries of each concern written once against it.
//! No web framework here: the server (`patrol-server`) depends on this crate, never
//! the other way (docs/architecture.md).

pub mod db;
pub mod people;
pub mod postgres;
pub mod reference;
pub mod sqlite;
mod sqlite_checkpoint;
mod sqlite_raw;
mod sqlite_readers;
mod sqlite_writer;
pub use sqlite_writer::WriterStats;
pub mod web;

use std::sync::Arc;

pub use db::{Conn, Database, DbError, PoolSettings, Row, Value};

/// `$first, $first+1, …`: `n` placeholders for an `IN (…)` list.
pub fn marks(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Hides the password in `postgres://user:password@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The server's handle on its database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<dyn Database>,
}

impl Store {
    /// Opens the database named by `url`: `sqlite:<path>` or `postgres://…`.
    pub fn open(url: &str, pool_size: usize) -> Result<Store, DbError> {
        Store::open_with(url, &PoolSettings::sized(pool_size))
    }

    /// Opens the database named by `url` with the pool's size and timeouts given.
    pub fn open_with(url: &str, pool: &PoolSettings) -> Result<Store, DbError> {
        let db: Arc<dyn Database> = if let Some(path) = sqlite::path_of(url) {
            Arc::new(sqlite::SqliteDb::open(path, pool)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(postgres::PostgresDb::open(url, pool)?)
        } else {
            return Err(DbError::Backend(format!(
                "unsupported database URL (use sqlite:<path> or postgres://…): {}",
                redact_url(url)
            )));
        };
        Ok(Store { db })
    }

    pub fn kind(&self) -> &'static str {
        self.db.kind()
    }

    /// Applies pending migrations; blocking, for start-up and the `migrate` command.
    pub fn migrate_blocking(&self) -> Result<usize, DbError> {
        self.db.migrate()
    }

    /// Runs `f` in one transaction, blocking the calling thread.
    pub fn tx_blocking<T>(
        &self,
        write: bool,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut f = Some(f);
        let mut out = None;
        self.db.transaction(write, &mut |c| {
            let f = f.take().expect("a transaction body runs once");
            out = Some(f(c)?);
            Ok(())
        })?;
        Ok(out.expect("set by a committed transaction"))
    }

    /// Runs a read-only transaction on the blocking pool.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.tx_blocking(false, f))
            .await
            .map_err(|e| DbError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs reads outside any transaction on the blocking pool (`Database::statements`):
    /// for one statement, or several each valid alone; never for writes.
    pub async fn read_each<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut f = Some(f);
            let mut out = None;
            store.db.statements(&mut |c| {
                out = Some((f.take().expect("a body runs once"))(c)?);
                Ok(())
            })?;
            Ok(out.expect("set by a body that returned"))
        })
        .await
        .map_err(|e| DbError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs a writing transaction on the blocking pool.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.tx_blocking(true, f))
            .await
            .map_err(|e| DbError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs one statement that writes and is atomic by itself (`Database::write_statement`:
    /// on PostgreSQL in autocommit, one round trip) on the blocking pool.
    pub async fn write_statement(&self, sql: String, params: Vec<Value>) -> Result<Vec<Row>, DbError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.db.write_statement(&sql, &params))
            .await
            .map_err(|e| DbError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs a writing transaction whose body may refuse: `Ok(Ok(t))` commits,
    /// `Ok(Err(refusal))` rolls back everything the body wrote (a refused request
    /// changes nothing, however far it got), `Err` rolls back and reports the failure.
    pub async fn write_or_refuse<T: Send + 'static, E: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<Result<T, E>, DbError> + Send + 'static,
    ) -> Result<Result<T, E>, DbError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.tx_blocking_or_refuse(true, f))
            .await
            .map_err(|e| DbError::Backend(format!("database task failed: {e}")))?
    }

    /// The blocking form of [`Store::write_or_refuse`].
    pub fn tx_blocking_or_refuse<T, E>(
        &self,
        write: bool,
        f: impl FnOnce(&mut dyn Conn) -> Result<Result<T, E>, DbError>,
    ) -> Result<Result<T, E>, DbError> {
        let mut refusal = None;
        let committed = self.tx_blocking(write, |c| match f(c)? {
            Ok(t) => Ok(t),
            Err(e) => {
                refusal = Some(e);
                Err(DbError::Refused)
            }
        });
        match (committed, refusal) {
            (Ok(t), _) => Ok(Ok(t)),
            (Err(DbError::Refused), Some(e)) => Ok(Err(e)),
            (Err(e), _) => Err(e),
        }
    }

    /// Runs statements that cannot run in a transaction (`VACUUM`, `CREATE DATABASE`);
    /// blocking.
    pub fn execute_outside_transaction(&self, sql: &str) -> Result<(), DbError> {
        self.db.execute_outside_transaction(sql)
    }

    /// Open connections and idle ones, as the pool counts them.
    pub fn open_and_idle(&self) -> (u32, usize) {
        self.db.open_and_idle()
    }

    /// Transactions waiting for a connection now (a pool too small for the load).
    pub fn waiting(&self) -> usize {
        self.db.waiting()
    }

    /// The one writer's figures (SQLite): bodies, commits, time held.
    pub fn writer_stats(&self) -> Option<WriterStats> {
        self.db.writer_stats()
    }

    /// For the readiness probe.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.read(|c| c.query_one("SELECT 1", &[]).map(|_| ())).await
    }
}
