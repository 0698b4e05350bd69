//! PostgreSQL for companies that run many sites or several server instances: sqlx's
//! driver, TLS as the URL asks (`sslmode=require`, `verify-full` with `sslrootcert=`).

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, PgStatement};
use sqlx::{Arguments, Executor, Row as _, SqlSafeStr, Statement, TypeInfo};

use super::db::{
    Conn, Database, DbError, DbRuntime, PoolSettings, Row, Value, execute_outside, from_sqlx, migrate_pool, sql_text,
};

/// Statements each connection keeps prepared: the server has a few hundred, and the
/// `IN (…)` lists make a few more.
const STATEMENT_CACHE: usize = 1024;

pub struct PostgresDb {
    // Dropped before the runtime that drives it.
    pool: PgPool,
    rt: Arc<DbRuntime>,
    waiters: crate::db::Waiters,
}

impl PostgresDb {
    pub fn open(url: &str, pool: &PoolSettings) -> Result<Self, DbError> {
        let rt = Arc::new(DbRuntime::new()?);
        let options = PgConnectOptions::from_str(url).map_err(from_sqlx)?.statement_cache_capacity(STATEMENT_CACHE);
        let pool = rt
            .block_on(
                PgPoolOptions::new()
                    .max_connections(pool.max_connections)
                    .acquire_timeout(pool.acquire_timeout)
                    .idle_timeout(pool.idle_timeout)
                    // A ping before every transaction is a round trip each; a connection
                    // the server dropped fails its one request and is replaced.
                    .test_before_acquire(false)
                    // One connection now, so a wrong URL fails at start-up.
                    .min_connections(1)
                    .connect_with(options),
            )
            .map_err(from_sqlx)?;
        Ok(PostgresDb { pool, rt, waiters: Default::default() })
    }
}

/// Binds each `Value` as the type the statement expects at its position, as PostgreSQL
/// inferred it when the statement was prepared (once per connection; sqlx keeps it):
/// an integer for a BIGINT, INTEGER, BOOLEAN or DOUBLE PRECISION parameter, text for
/// a TEXT one.
fn arguments(statement: &PgStatement, params: &[Value]) -> Result<PgArguments, DbError> {
    let types: &[sqlx::postgres::PgTypeInfo] = match statement.parameters() {
        Some(sqlx::Either::Left(types)) => types,
        _ => &[],
    };
    if types.len() != params.len() {
        return Err(DbError::Data(format!(
            "the statement takes {} parameters, {} were given: {}",
            types.len(),
            params.len(),
            statement.sql().as_str()
        )));
    }
    let mut args = PgArguments::default();
    for (v, ty) in params.iter().zip(types) {
        let ty = ty.name();
        let added = match v {
            Value::Null => args.add(None::<i64>),
            Value::Int(i) => match ty {
                "INT8" => args.add(*i),
                "INT4" => args.add(i32::try_from(*i).map_err(|_| DbError::Data(format!("{i} does not fit INTEGER")))?),
                "INT2" => args.add(i16::try_from(*i).map_err(|_| DbError::Data(format!("{i} does not fit SMALLINT")))?),
                "FLOAT8" => args.add(*i as f64),
                "FLOAT4" => args.add(*i as f32),
                "BOOL" => args.add(*i != 0),
                _ => args.add(i.to_string()),
            },
            Value::Real(f) => match ty {
                "FLOAT4" => args.add(*f as f32),
                _ => args.add(*f),
            },
            Value::Text(s) => args.add(s.as_str()),
            Value::Blob(b) => args.add(b.as_slice()),
        };
        added.map_err(|e| DbError::Data(format!("cannot bind {v:?} as {ty}: {e}")))?;
    }
    Ok(args)
}

fn read_row(row: &PgRow) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        use sqlx::Column;
        let v = match col.type_info().name() {
            "INT8" => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::Int)),
            "INT4" => row.try_get::<Option<i32>, _>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            "INT2" => row.try_get::<Option<i16>, _>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            "BOOL" => row.try_get::<Option<bool>, _>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            "FLOAT8" => row.try_get::<Option<f64>, _>(i).map(|v| v.map(Value::Real)),
            "FLOAT4" => row.try_get::<Option<f32>, _>(i).map(|v| v.map(|v| Value::Real(v.into()))),
            "BYTEA" => row.try_get::<Option<Vec<u8>>, _>(i).map(|v| v.map(Value::Blob)),
            // The schema keeps times as BIGINT milliseconds; sqlx's own table of
            // migrations has a timestamp, read as text (as SQLite stores it).
            "TIMESTAMPTZ" => row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)
                .map(|v| v.map(|t| Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string()))),
            "TIMESTAMP" => row
                .try_get::<Option<chrono::NaiveDateTime>, _>(i)
                .map(|v| v.map(|t| Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string()))),
            _ => row.try_get::<Option<String>, _>(i).map(|v| v.map(Value::Text)),
        }
        .map_err(from_sqlx)?;
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

struct PgConn<'a> {
    conn: &'a mut PgConnection,
    rt: &'a DbRuntime,
}

impl PgConn<'_> {
    async fn prepared(
        conn: &mut PgConnection,
        sql: &str,
        params: &[Value],
    ) -> Result<(PgStatement, PgArguments), DbError> {
        let statement = conn.prepare(sql_text(sql).into_sql_str()).await.map_err(from_sqlx)?;
        let args = arguments(&statement, params)?;
        Ok((statement, args))
    }
}

impl Conn for PgConn<'_> {
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let conn = &mut *self.conn;
        self.rt.block_on(async move {
            let (statement, args) = Self::prepared(conn, sql, params).await?;
            statement.query_with(args).execute(conn).await.map(|d| d.rows_affected()).map_err(from_sqlx)
        })
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let conn = &mut *self.conn;
        let rows = self.rt.block_on(async move {
            let (statement, args) = Self::prepared(conn, sql, params).await?;
            statement.query_with(args).fetch_all(conn).await.map_err(from_sqlx)
        })?;
        rows.iter().map(read_row).collect()
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.rt.block_on(sqlx::raw_sql(sql_text(sql)).execute(&mut *self.conn)).map(|_| ()).map_err(from_sqlx)
    }
}

impl Database for PostgresDb {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn migrate(&self) -> Result<usize, DbError> {
        let previous_runner = "SELECT CAST(to_regclass('schema_migrations') IS NOT NULL AS INTEGER)";
        migrate_pool(self, &self.rt, &self.pool, previous_runner, true)
    }

    fn transaction(&self, write: bool, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        // Everything dropped here, a panicking body's transaction included, finds the
        // store's runtime current: sqlx rolls it back and gives the connection back.
        let _entered = self.rt.enter();
        // A read transaction refuses writes (PostgreSQL checks `READ ONLY` itself), so a
        // body asked for as a read cannot change anything, on either database.
        let begin = if write { "BEGIN" } else { "BEGIN READ ONLY" };
        let mut tx = self.waiters.wait_for(|| self.rt.block_on(self.pool.begin_with(begin))).map_err(from_sqlx)?;
        let result = f(&mut PgConn { conn: &mut tx, rt: &self.rt });
        match result {
            Ok(()) => self.rt.block_on(tx.commit()).map_err(from_sqlx),
            Err(e) => {
                let _ = self.rt.block_on(tx.rollback());
                Err(e)
            }
        }
    }

    fn statements(&self, f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>) -> Result<(), DbError> {
        let _entered = self.rt.enter();
        let mut conn = self.waiters.wait_for(|| self.rt.block_on(self.pool.acquire())).map_err(from_sqlx)?;
        f(&mut PgConn { conn: &mut conn, rt: &self.rt })
    }

    fn write_statement(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let _entered = self.rt.enter();
        let mut conn = self.waiters.wait_for(|| self.rt.block_on(self.pool.acquire())).map_err(from_sqlx)?;
        PgConn { conn: &mut conn, rt: &self.rt }.query(sql, params)
    }

    fn open_and_idle(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    fn waiting(&self) -> usize {
        self.waiters.now()
    }

    fn execute_outside_transaction(&self, sql: &str) -> Result<(), DbError> {
        execute_outside(&self.rt, &self.pool, sql)
    }
}
