//! PostgreSQL for companies that run many sites or several server instances.

use std::error::Error;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::db::{Conn, Database, DbError, Pool, Row, Value, apply_migrations};

/// Every instance migrating at once takes this advisory lock first.
const MIGRATION_LOCK: i64 = 0x5041_5452_4f4c; // "PATROL"

pub struct PostgresDb {
    url: String,
    pool: Pool<postgres::Client>,
}

impl PostgresDb {
    pub fn open(url: &str, pool_size: usize) -> Result<Self, DbError> {
        let db = PostgresDb { url: url.to_string(), pool: Pool::new(pool_size) };
        db.pool.with(|| db.connect(), |_| Ok(()))?;
        Ok(db)
    }

    fn connect(&self) -> Result<postgres::Client, DbError> {
        postgres::Client::connect(&self.url, postgres::NoTls).map_err(backend)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        // The blocking client closes its connection with a runtime of its own, which
        // panics on an async thread; the last handle may well be dropped on one.
        let conns = self.pool.drain();
        if !conns.is_empty() {
            let _ = std::thread::spawn(move || drop(conns)).join();
        }
    }
}

fn backend(e: postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        if db.code() == &postgres::error::SqlState::UNIQUE_VIOLATION {
            return DbError::Unique(db.message().to_string());
        }
        return DbError::Backend(format!("{}: {}", db.code().code(), db.message()));
    }
    DbError::Backend(e.to_string())
}

/// Sends a `Value` as whatever type the statement expects at that position.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_string().to_sql(&Type::TEXT, out),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(&Type::FLOAT8, out),
            },
            Value::Text(s) => s.as_str().to_sql(&Type::TEXT, out),
            Value::Blob(b) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

fn read_row(row: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let t = col.type_();
        let v = match *t {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int)),
            Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::INT2 => row.try_get::<_, Option<i16>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map(|v| v.map(Value::Real)),
            Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map(|v| v.map(|v| Value::Real(v.into()))),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map(Value::Blob)),
            _ => row.try_get::<_, Option<String>>(i).map(|v| v.map(Value::Text)),
        }
        .map_err(backend)?;
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

/// The migrations are written once for both databases; PostgreSQL calls SQLite's
/// BLOB type BYTEA.
fn dialect(sql: &str) -> String {
    super::db::rewrite_code(sql, |code, out| {
        let mut word = String::new();
        for ch in code.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                word.push(ch);
                continue;
            }
            out.push_str(if word == "BLOB" { "BYTEA" } else { &word });
            word.clear();
            out.push(ch);
        }
        out.pop();
    })
}

struct PgConn<'a, 'b>(&'a mut postgres::Transaction<'b>);

impl Conn for PgConn<'_, '_> {
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0.execute(sql, &refs).map_err(backend)
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0.query(sql, &refs).map_err(backend)?.iter().map(read_row).collect()
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.0.batch_execute(&dialect(sql)).map_err(backend)
    }
}

impl Database for PostgresDb {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn migrate(&self) -> Result<usize, DbError> {
        let mut ran = 0;
        self.transaction(true, &mut |c| {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[Value::Int(MIGRATION_LOCK)])?;
            ran = apply_migrations(c)?;
            Ok(())
        })?;
        Ok(ran)
    }

    fn transaction(
        &self,
        _write: bool,
        f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.pool.with(
            || self.connect(),
            |client| {
                let mut tx = client.transaction().map_err(backend)?;
                let result = f(&mut PgConn(&mut tx));
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

#[cfg(test)]
mod tests {
    #[test]
    fn blob_is_spelled_bytea_and_nothing_else_changes() {
        assert_eq!(
            super::dialect("data BLOB NOT NULL, blob_count BIGINT, BLOBS TEXT"),
            "data BYTEA NOT NULL, blob_count BIGINT, BLOBS TEXT"
        );
    }
}
