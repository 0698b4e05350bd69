//! What one statement costs through the store's `Conn` (a `block_on` per statement on
//! the calling thread, the driver's worker thread for SQLite) against the same
//! statements issued from one async task, on a fresh SQLite file. Prints µs per insert.
//!
//! cargo run --release -p patrol-storage --example statement_cost [rows]

use std::time::Instant;

use patrol_storage::{Store, Value};

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("statement-cost-{}", std::process::id()));
    let url = format!("sqlite:{}", dir.join("s.db").display());
    let store = Store::open(&url, 2).unwrap();
    store.tx_blocking(true, |c| c.execute_batch("CREATE TABLE t (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")).unwrap();
    let body = "x".repeat(600);
    for round in 0..3 {
        let t = Instant::now();
        store
            .tx_blocking(true, |c| {
                for i in 0..rows {
                    let id = (round * rows + i) as i64;
                    c.execute(
                        "INSERT INTO t (id, body) VALUES ($1, $2)",
                        &[Value::Int(id), Value::Text(body.clone())],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let per = t.elapsed().as_secs_f64() * 1e6 / rows as f64;
        println!("round {round}: {per:.1} µs per insert through Conn ({:.0} rows/s)", 1e6 / per);
    }
    // Many short transactions, as photo uploads make: three statements each.
    for round in 0..3 {
        let n = rows / 10;
        let t = Instant::now();
        for i in 0..n {
            let id = (10 * rows + round * n + i) as i64;
            store
                .tx_blocking(true, |c| {
                    c.query_opt("SELECT body FROM t WHERE id = $1", &[Value::Int(id - 1)])?;
                    c.execute(
                        "INSERT INTO t (id, body) VALUES ($1, $2)",
                        &[Value::Int(id), Value::Text(body.clone())],
                    )?;
                    c.query_one("SELECT COUNT(*) FROM t WHERE id >= $1", &[Value::Int(id)])?;
                    Ok(())
                })
                .unwrap();
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("round {round}: {per:.1} µs per transaction of 3 statements");
    }
    let _ = std::fs::remove_dir_all(&dir);
    direct(rows);
}

/// The same inserts issued by sqlx directly: from one async task (no `block_on` per
/// statement), and with a `block_on` per statement on a current-thread runtime.
pub fn direct(rows: usize) {
    use sqlx::{Connection, sqlite::SqliteConnection};
    let dir = std::env::temp_dir().join(format!("statement-cost-d-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}?mode=rwc", dir.join("d.db").display());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let body = "x".repeat(600);
    let mut conn = rt.block_on(SqliteConnection::connect(&url)).unwrap();
    rt.block_on(sqlx::raw_sql("CREATE TABLE t (id BIGINT PRIMARY KEY, body TEXT NOT NULL)").execute(&mut conn))
        .unwrap();
    for round in 0..2 {
        let t = Instant::now();
        rt.block_on(async {
            let mut tx = conn.begin().await.unwrap();
            for i in 0..rows {
                let id = (round * rows + i) as i64;
                sqlx::query("INSERT INTO t (id, body) VALUES ($1, $2)")
                    .bind(id)
                    .bind(&body)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        });
        let per = t.elapsed().as_secs_f64() * 1e6 / rows as f64;
        println!("direct, one task, round {round}: {per:.1} µs per insert");
    }
    for round in 2..4 {
        let t = Instant::now();
        rt.block_on(sqlx::raw_sql("BEGIN").execute(&mut conn)).unwrap();
        for i in 0..rows {
            let id = (round * rows + i) as i64;
            rt.block_on(
                sqlx::query("INSERT INTO t (id, body) VALUES ($1, $2)").bind(id).bind(&body).execute(&mut conn),
            )
            .unwrap();
        }
        rt.block_on(sqlx::raw_sql("COMMIT").execute(&mut conn)).unwrap();
        let per = t.elapsed().as_secs_f64() * 1e6 / rows as f64;
        println!("direct, block_on per statement, round {round}: {per:.1} µs per insert");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
