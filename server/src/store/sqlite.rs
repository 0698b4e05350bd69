//! The embedded default: one SQLite file in WAL mode, fully synchronous so that a
//! record the server acknowledged survives a crash or power cut.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};

use super::db::{Conn, Database, DbError, Pool, Row, Value, apply_migrations};

pub struct SqliteDb {
    path: PathBuf,
    pool: Pool<rusqlite::Connection>,
}

impl SqliteDb {
    pub fn open(path: PathBuf, pool_size: usize) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = SqliteDb { path, pool: Pool::new(pool_size) };
        // Open one connection now so a bad path fails at start-up, not on first use.
        db.pool.with(|| db.connect(), |_| Ok(()))?;
        Ok(db)
    }

    fn connect(&self) -> Result<rusqlite::Connection, DbError> {
        let conn = rusqlite::Connection::open(&self.path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(15)).map_err(backend)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(backend)?;
        Ok(conn)
    }
}

/// A private SQLite database in a fresh temporary directory, outside any pool and
/// never shared: `audit verify` rebuilds the projections in one (`audit::replay`). On
/// disk rather than in memory, so rebuilding ten years of records stays within bounded
/// memory; nothing in it needs to survive a crash. Removed when dropped.
pub struct ScratchDb {
    conn: Option<rusqlite::Connection>,
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
        let mut scratch = ScratchDb { conn: None, dir };
        let conn = rusqlite::Connection::open(scratch.dir.join("rebuilt.db")).map_err(backend)?;
        // No fsync and no foreign keys: a throwaway copy, written in the order the
        // records were applied. The rollback journal stays: applying a record rolls
        // back to a savepoint when it collides with a stored object.
        conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16384;")
            .map_err(backend)?;
        scratch.conn = Some(conn);
        scratch.with(|c| {
            c.execute_batch("BEGIN")?;
            apply_migrations(c)?;
            c.execute_batch("COMMIT")
        })?;
        Ok(scratch)
    }

    /// Runs `f` on the connection; transactions are the caller's (`BEGIN`/`COMMIT`).
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        f(&mut SqliteConn(self.conn.as_ref().expect("open until dropped")))
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        drop(self.conn.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn backend(e: rusqlite::Error) -> DbError {
    if let rusqlite::Error::SqliteFailure(err, msg) = &e {
        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY
        if err.extended_code == 2067 || err.extended_code == 1555 {
            return DbError::Unique(msg.clone().unwrap_or_default());
        }
    }
    DbError::Backend(e.to_string())
}

/// `$1` → `?1`: the one dialect difference the queries have, in code only
/// (`db::rewrite_code`), never inside a literal or a comment.
fn translate(sql: &str) -> String {
    super::db::rewrite_code(sql, |code, out| {
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                out.push('?');
            } else {
                out.push(c);
            }
        }
    })
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Int(i) => SqlValue::Integer(*i),
        Value::Real(f) => SqlValue::Real(*f),
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Blob(b) => SqlValue::Blob(b.clone()),
    }
}

impl Database for SqliteDb {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn migrate(&self) -> Result<usize, DbError> {
        let mut ran = 0;
        self.transaction(true, &mut |c| {
            ran = apply_migrations(c)?;
            Ok(())
        })?;
        Ok(ran)
    }

    fn transaction(&self, write: bool, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        self.pool.with(
            || self.connect(),
            |conn| {
                let behavior = if write {
                    rusqlite::TransactionBehavior::Immediate
                } else {
                    rusqlite::TransactionBehavior::Deferred
                };
                let tx = conn.transaction_with_behavior(behavior).map_err(backend)?;
                let result = f(&mut SqliteConn(&tx));
                match result {
                    Ok(()) => tx.commit().map_err(backend),
                    Err(e) => {
                        let _ = tx.rollback();
                        Err(e)
                    }
                }
            },
        )
    }
}

/// A connection borrowed for one transaction.
struct SqliteConn<'c>(&'c rusqlite::Connection);

impl Conn for SqliteConn<'_> {
    fn kind(&self) -> &'static str {
        "sqlite"
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(&translate(sql)).map_err(backend)?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter().map(to_sql))).map_err(backend)?;
        Ok(n as u64)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        query_rows(self.0, sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.0.execute_batch(sql).map_err(backend)
    }
}

fn query_rows(conn: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(&translate(sql)).map_err(backend)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sql))).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(match row.get_ref(i).map_err(backend)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Real(v),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_rewritten_but_dollar_text_is_not() {
        assert_eq!(super::translate("SELECT $1, '$x', $12"), "SELECT ?1, '$x', ?12");
    }
}
