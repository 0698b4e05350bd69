//! The one trait both databases implement: connections that run SQL with plain
//! values, transactions, and migrations. Everything above it is written once.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

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
    ($($v:expr),* $(,)?) => { vec![$($crate::store::db::Value::from($v)),*] };
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
}

/// A small blocking pool: connections are made on demand up to `max`.
pub struct Pool<C> {
    idle: Mutex<(Vec<C>, usize)>,
    freed: Condvar,
    max: usize,
}

impl<C> Pool<C> {
    pub fn new(max: usize) -> Self {
        Pool { idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new(), max: max.max(1) }
    }

    /// The pool's lock. Nothing that can panic runs while it is held, but a poisoned
    /// lock must not take every later request down with it: its data (a list and a
    /// count) is consistent after any panic, so it is taken over.
    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<C>, usize)> {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes every idle connection out of the pool (for closing them elsewhere).
    pub fn drain(&self) -> Vec<C> {
        let mut guard = self.lock();
        let conns = std::mem::take(&mut guard.0);
        guard.1 -= conns.len();
        conns
    }

    /// How many connections are open (idle or lent out), and how many of them are idle.
    pub fn open_and_idle(&self) -> (usize, usize) {
        let guard = self.lock();
        (guard.1, guard.0.len())
    }

    /// Runs `f` with a connection, making one with `open` if none is idle. The slot
    /// is given back however `f` ends: a connection whose use failed at the backend
    /// or panicked (a transaction may be left open on it) is closed and its slot
    /// freed; any other goes back to the idle list.
    pub fn with<T>(
        &self,
        open: impl FnOnce() -> Result<C, DbError>,
        f: impl FnOnce(&mut C) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let idle = {
            let mut guard = self.lock();
            loop {
                if let Some(c) = guard.0.pop() {
                    break Some(c);
                }
                if guard.1 < self.max {
                    guard.1 += 1;
                    break None;
                }
                let (g, timeout) = self
                    .freed
                    .wait_timeout(guard, Duration::from_secs(30))
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                guard = g;
                if timeout.timed_out() && guard.0.is_empty() && guard.1 >= self.max {
                    return Err(DbError::PoolTimeout);
                }
            }
        };
        // From here the slot is the lease's: dropped without `keep`, it is freed.
        let mut lease = Lease { pool: self, conn: idle, keep: false };
        if lease.conn.is_none() {
            lease.conn = Some(open()?);
        }
        let result = f(lease.conn.as_mut().expect("connection present"));
        lease.keep = !matches!(result, Err(DbError::Backend(_)));
        result
    }
}

/// A connection lent out of a [`Pool`], and its slot.
struct Lease<'a, C> {
    pool: &'a Pool<C>,
    conn: Option<C>,
    keep: bool,
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        let keep = self.keep && !std::thread::panicking();
        let (back, closed) = match self.conn.take() {
            Some(c) if keep => (Some(c), None),
            other => (None, other),
        };
        {
            let mut guard = self.pool.lock();
            match back {
                Some(c) => guard.0.push(c),
                None => guard.1 -= 1,
            }
        }
        self.pool.freed.notify_one();
        // Closed outside the lock (closing a PostgreSQL connection talks to the server).
        drop(closed);
    }
}

/// Rewrites the code of a SQL text and nothing else: string literals (`'…'`, with
/// `''` inside), quoted identifiers (`"…"`) and comments (`-- …` to the end of the line,
/// `/* … */`) are copied as they are, and `code` is called on each stretch between
/// them. The backends' spelling differences (`$1` → `?1` for SQLite, `BLOB` → `BYTEA`
/// for PostgreSQL) go through it, so a literal such as `'$1'` or a comment that says
/// BLOB is never changed.
pub fn rewrite_code(sql: &str, mut code: impl FnMut(&str, &mut String)) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let bytes = sql.as_bytes();
    let (mut i, mut start) = (0, 0);
    // Every delimiter is ASCII, so byte positions are always on character boundaries.
    let end_of = |i: usize| -> usize {
        match bytes[i] {
            b'\'' | b'"' => {
                let q = bytes[i];
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => return bytes.len(),
                        Some(&b) if b == q => {
                            // A doubled quote is the quote itself, inside.
                            if bytes.get(j + 1) == Some(&q) {
                                j += 2;
                            } else {
                                return j + 1;
                            }
                        }
                        Some(_) => j += 1,
                    }
                }
            }
            b'-' => sql[i..].find('\n').map_or(bytes.len(), |n| i + n),
            _ => sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2),
        }
    };
    while i < bytes.len() {
        let opens = match bytes[i] {
            b'\'' | b'"' => true,
            b'-' => bytes.get(i + 1) == Some(&b'-'),
            b'/' => bytes.get(i + 1) == Some(&b'*'),
            _ => false,
        };
        if opens {
            code(&sql[start..i], &mut out);
            let end = end_of(i);
            out.push_str(&sql[i..end]);
            i = end;
            start = end;
        } else {
            i += 1;
        }
    }
    code(&sql[start..], &mut out);
    out
}

/// A migration: its number and its SQL (several statements).
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// The schema's history, shared by both databases: the SQL uses only types both have
/// (TEXT, BIGINT, DOUBLE PRECISION, BLOB); PostgreSQL's side spells BLOB as BYTEA when
/// it runs them (`postgres::dialect`), as SQLite's side rewrites `$1` as `?1`.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/0001_foundation.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/0002_sync.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/0003_web_sessions.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/0004_audit.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/0005_schedules_notify.sql") },
    Migration { version: 6, sql: include_str!("../../migrations/0006_sign_in_budgets.sql") },
    Migration { version: 7, sql: include_str!("../../migrations/0007_notice_register.sql") },
    Migration { version: 8, sql: include_str!("../../migrations/0008_reference_versions.sql") },
    Migration { version: 9, sql: include_str!("../../migrations/0009_notice_issuer.sql") },
    Migration { version: 10, sql: include_str!("../../migrations/0010_open_notices.sql") },
    Migration { version: 11, sql: include_str!("../../migrations/0011_notice_search.sql") },
    Migration { version: 12, sql: include_str!("../../migrations/0012_photo_markups.sql") },
];

/// Applies missing migrations inside the caller's transaction.
pub fn apply_migrations(conn: &mut dyn Conn) -> Result<usize, DbError> {
    let all = MIGRATIONS;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        &[],
    )?;
    let done: Vec<i64> =
        conn.query("SELECT version FROM schema_migrations", &[])?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
    let mut ran = 0;
    for m in all.iter().filter(|m| !done.contains(&m.version)) {
        conn.execute_batch(m.sql)?;
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
            &[Value::Int(m.version), Value::Int(chrono::Utc::now().timestamp_millis())],
        )?;
        ran += 1;
    }
    Ok(ran)
}

#[cfg(test)]
mod rewrite_tests {
    use super::rewrite_code;

    fn upper(sql: &str) -> String {
        rewrite_code(sql, |code, out| out.push_str(&code.to_uppercase()))
    }

    #[test]
    fn only_code_is_rewritten_never_literals_identifiers_or_comments() {
        assert_eq!(upper("select 'a$1b' from t"), "SELECT 'a$1b' FROM T");
        assert_eq!(upper("select 'it''s' x"), "SELECT 'it''s' X");
        assert_eq!(upper("select \"blob\" x"), "SELECT \"blob\" X");
        assert_eq!(upper("a -- blob $1\nb"), "A -- blob $1\nB");
        assert_eq!(upper("a /* blob $1 */ b"), "A /* blob $1 */ B");
        assert_eq!(upper("a - b / c"), "A - B / C");
        // Unclosed: the rest is the literal or comment (the database refuses it).
        assert_eq!(upper("a 'open"), "A 'open");
        assert_eq!(upper("a /* open"), "A /* open");
        assert_eq!(upper("a -- to the end"), "A -- to the end");
        assert_eq!(upper("'中文' 和 x"), "'中文' 和 X");
    }

    /// Generated texts of code pieces and protected pieces in any order: the protected
    /// pieces come out byte for byte, the code pieces rewritten.
    #[test]
    fn protected_pieces_survive_any_arrangement() {
        let code = ["select ", "$1", " blob ", " x = ", "-", "/", " 中 ", ",", "\n"];
        let kept = ["'$2 blob'", "'it''s'", "''", "\"BLOB\"", "-- $3 blob\n", "/* $4 -- blob */", "'--'", "'/*'"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..2000 {
            let (mut sql, mut want) = (String::new(), String::new());
            for _ in 0..next(12) {
                if next(2) == 0 {
                    let c = code[next(code.len())];
                    // A code piece must not join its neighbour into a delimiter.
                    if (c == "-" && sql.ends_with('-')) || (c == "/" && sql.ends_with('/')) {
                        continue;
                    }
                    sql.push_str(c);
                    want.push_str(&c.to_uppercase());
                } else {
                    if sql.ends_with('-') || sql.ends_with('/') {
                        sql.push(' ');
                        want.push(' ');
                    }
                    let k = kept[next(kept.len())];
                    sql.push_str(k);
                    want.push_str(k);
                }
            }
            assert_eq!(upper(&sql), want, "{sql:?}");
        }
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    /// However a lent connection's use ends (success, a refusal, a backend failure, a
    /// panic, a failed open), the pool's count of open connections and its idle list
    /// stay true, so no slot is ever lost.
    #[test]
    fn every_way_a_use_ends_gives_the_slot_back() {
        let pool: Pool<u32> = Pool::new(2);
        let mut made = 0u32;
        let mut open = || {
            made += 1;
            Ok(made)
        };
        pool.with(&mut open, |_| Ok(())).unwrap();
        assert_eq!(pool.open_and_idle(), (1, 1), "kept for reuse");
        assert!(matches!(pool.with(&mut open, |_| Err::<(), _>(DbError::Refused)), Err(DbError::Refused)));
        assert_eq!(pool.open_and_idle(), (1, 1), "a refusal keeps the healthy connection");
        assert!(pool.with(&mut open, |_| Err::<(), _>(DbError::Backend("gone".into()))).is_err());
        assert_eq!(pool.open_and_idle(), (0, 0), "a backend failure closes it");
        for _ in 0..5 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = pool.with(|| Ok(7), |_| -> Result<(), DbError> { panic!("a bug") });
            }));
            assert!(r.is_err());
            assert_eq!(pool.open_and_idle(), (0, 0), "a panic closes it and frees the slot");
        }
        assert!(pool.with(|| Err(DbError::Backend("refused".into())), |_| Ok(())).is_err());
        assert_eq!(pool.open_and_idle(), (0, 0), "a failed open frees the slot");
        // Both slots still usable at once.
        pool.with(|| Ok(1), |_| pool.with(|| Ok(2), |_| Ok(()))).unwrap();
        assert_eq!(pool.open_and_idle(), (2, 2));
    }
}
