//! Console benchmark at a year's scale (issue 13): bulk-loads a company's year at 50
//! sites (about 2 M visits, 100 k notices, staff turnover, a moved checkpoint, a
//! changed schedule) into SQLite or PostgreSQL, starts the release server on it, times
//! the console's heavy pages over HTTP (dashboard, inbox, register search, monthly
//! summary and its Excel file, the register's Excel export) and checks that every
//! head's inbox count is the database's and that paging the register lists every
//! notice exactly once. Figures: docs/benchmarks.md; driver: scripts/bench-console.
//!
//! Usage: console-bench <sqlite|postgres> [--sites 50] [--days 365] [--notices N]
//!          [--samples 50] [--warmup 5] [--seed 1] [--keep DIR] [--reuse DIR]
//!          [--load-only] [--no-jobs] [--only A,B] [--skip A,B] [--no-checks]
//!
//! `--notices` defaults to 100 000 × sites/50 × days/365. `--keep DIR` loads into DIR
//! (kept afterwards, with `bench.json` naming the database); `--reuse DIR` measures a
//! database loaded so before (e.g. with another server binary: `PATROL_SERVER_BIN`).
//! `--only A,B` times only the pages whose name contains A or B, `--skip A,B` leaves
//! those out; `--no-checks` skips
//! the inbox and paging checks; `--no-jobs` runs the server without its background jobs.

mod load;
mod measure;

use std::path::PathBuf;
use std::time::Instant;

use patrol_e2e::{Backend, TempDir, database_url};
use patrol_server::store::Store;

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(|v| {
        v.parse().unwrap_or_else(|_| {
            eprintln!("{name}: cannot read {v:?}");
            std::process::exit(2)
        })
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        _ => {
            eprintln!(
                "usage: console-bench <sqlite|postgres> [--sites N] [--days N] [--notices N] [--samples N] [--warmup N] [--seed N] [--keep DIR | --reuse DIR] [--load-only] [--no-jobs] [--only A,B] [--skip A,B] [--no-checks]"
            );
            std::process::exit(2)
        }
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let sites: usize = arg(&args, "--sites").unwrap_or(50);
    let days: i64 = arg(&args, "--days").unwrap_or(365);
    let scale = load::Scale {
        sites: sites.max(1),
        days: days.max(2),
        notices: arg(&args, "--notices").unwrap_or((100_000.0 * sites as f64 / 50.0 * days as f64 / 365.0) as usize),
        seed: arg(&args, "--seed").unwrap_or(1),
    };
    let label = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let options = measure::Options {
        warmup: arg(&args, "--warmup").unwrap_or(5),
        samples: arg(&args, "--samples").unwrap_or(50),
        jobs: !flag("--no-jobs"),
        label: label.to_string(),
        only: arg(&args, "--only"),
        skip: arg(&args, "--skip"),
        checks: !flag("--no-checks"),
    };

    let mut _temp = None;
    let (dir, loaded) = if let Some(dir) = arg::<PathBuf>(&args, "--reuse") {
        let bytes = std::fs::read(dir.join("bench.json")).expect("bench.json in the --reuse directory");
        let loaded = serde_json::from_slice(&bytes).ok().and_then(|v| load::Loaded::from_json(&v)).expect("bench.json");
        (dir, loaded)
    } else {
        let dir = match arg::<PathBuf>(&args, "--keep") {
            Some(d) => {
                std::fs::create_dir_all(&d).unwrap();
                TempDir(d.canonicalize().unwrap())
            }
            None => TempDir::new("console-bench"),
        };
        let url = database_url(backend, &dir).expect("PATROL_TEST_POSTGRES_URL for postgres");
        let store = Store::open(&url, 2).expect("open the database");
        let now = chrono::Utc::now().timestamp_millis();
        eprintln!(
            "loading {label}: {} sites, {} days, about {} notices (seed {})",
            scale.sites, scale.days, scale.notices, scale.seed
        );
        let t0 = Instant::now();
        let mut loader = load::Loader::new(store.clone(), &scale, now);
        let (password, busy_site, busy_supervisor) =
            loader.load(&dir.0.join("data"), &scale).unwrap_or_else(|e| panic!("loading failed: {e}"));
        let history = t0.elapsed().as_secs_f64();
        let (fired, escalation_secs) = load::escalate(&store, now).expect("escalation");
        let (_, steady_secs) = load::escalate(&store, now + 60_000).expect("escalation");
        if backend == Backend::Postgres {
            // What autovacuum does to fresh tables soon after a bulk load: the visibility
            // map and planner statistics.
            let t = Instant::now();
            store.execute_outside_transaction("VACUUM ANALYZE").expect("VACUUM ANALYZE");
            eprintln!("VACUUM ANALYZE: {:.0} s", t.elapsed().as_secs_f64());
        }
        let total = t0.elapsed().as_secs_f64();
        let counts = load::row_counts(&store).expect("row counts");
        let size = database_size(&store, &url);
        println!(
            "{label}: loaded in {total:.0} s (history {history:.0} s; escalation job over the year {escalation_secs:.1} s, {fired} steps fired; one later pass {steady_secs:.1} s){}",
            size.map(|b| format!("; database {:.2} GB", b as f64 / 1e9)).unwrap_or_default()
        );
        println!("rows: {}", counts.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", "));
        let loaded = load::Loaded {
            url,
            password,
            sites: scale.sites,
            days: scale.days,
            busy_site,
            busy_supervisor,
            loaded_ms: now,
        };
        std::fs::write(dir.0.join("bench.json"), serde_json::to_vec_pretty(&loaded.to_json()).unwrap()).unwrap();
        let path = dir.0.clone();
        if arg::<PathBuf>(&args, "--keep").is_some() {
            std::mem::forget(dir);
        } else {
            _temp = Some(dir);
        }
        (path, loaded)
    };
    if flag("--load-only") {
        return;
    }
    match measure::run(&loaded, &dir.join("data"), &options) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("a check failed or a page answered an error");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

/// The database's size on disk in bytes (SQLite: the file and its WAL).
fn database_size(store: &Store, url: &str) -> Option<u64> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let main = std::fs::metadata(path).ok()?.len();
        let wal = std::fs::metadata(format!("{path}-wal")).map(|m| m.len()).unwrap_or(0);
        return Some(main + wal);
    }
    store
        .tx_blocking(false, |c| c.query_one("SELECT pg_database_size(current_database())", &[])?.int(0))
        .ok()
        .map(|b| b as u64)
}
