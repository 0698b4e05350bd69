//! Test support: fresh databases of both kinds, and an in-process server with a
//! clock the test controls.
#![allow(dead_code)]

pub mod conformance;
pub mod dump;
pub mod phone;
pub mod web;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use patrol_server::AppState;
use patrol_server::clock::ManualClock;
use patrol_server::demo::{self, DemoLogin};
use patrol_server::settings::Settings;
use patrol_server::store::Store;
use serde_json::Value;
use tower::ServiceExt;

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("patrol-test-{tag}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the test script started, if any. In CI one is required.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("PATROL_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must run the PostgreSQL suites: set PATROL_TEST_POSTGRES_URL (scripts/test does)"
            );
            None
        }
    }
}

/// A fresh, empty database; `None` when PostgreSQL is not available outside CI.
pub fn fresh_database(backend: Backend, dir: &TempDir) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite:{}", dir.0.join("patrol.db").display())),
        Backend::Postgres => {
            let admin = postgres_admin_url()?;
            let name = format!("patrol_t_{}", uuid::Uuid::now_v7().simple());
            let admin_store = Store::open(&admin, 1).expect("connect to the test PostgreSQL");
            admin_store.execute_outside_transaction(&format!("CREATE DATABASE {name}")).unwrap();
            // Replace the database name (the path's last segment) in the admin URL.
            let (base, query) = admin.split_once('?').map_or((admin.as_str(), ""), |(b, q)| (b, q));
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            let q = if query.is_empty() { String::new() } else { format!("?{query}") };
            Some(format!("{base}/{name}{q}"))
        }
    }
}

pub fn open_store(backend: Backend, dir: &TempDir) -> Option<Store> {
    let url = fresh_database(backend, dir)?;
    let store = Store::open(&url, 4).expect("open store");
    store.migrate_blocking().expect("migrate");
    Some(store)
}

/// An in-process server holding the demo organisation.
pub struct TestServer {
    pub state: AppState,
    pub router: Router,
    pub clock: ManualClock,
    pub logins: Vec<DemoLogin>,
    pub dir: TempDir,
}

/// 2026-11-23 09:00 in China (01:00 UTC).
pub const START_MS: i64 = 1_795_395_600_000;

impl TestServer {
    /// Sets up off the async threads: the PostgreSQL driver blocks.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        tokio::task::spawn_blocking(move || Self::start_blocking(backend)).await.unwrap()
    }

    fn start_blocking(backend: Backend) -> Option<TestServer> {
        let dir = TempDir::new("api");
        let url = fresh_database(backend, &dir)?;
        let settings = Settings { database_url: url.clone(), data_dir: dir.0.clone(), ..Settings::default() };
        let store = Store::open(&url, 4).unwrap();
        store.migrate_blocking().unwrap();
        let clock = ManualClock::at(START_MS);
        let logins = demo::ensure_demo(&store, &dir.0, START_MS).unwrap();
        let state = AppState::new(store, settings, Arc::new(clock.clone())).unwrap();
        let router = patrol_server::router(state.clone());
        Some(TestServer { state, router, clock, logins, dir })
    }

    /// The demo as `patrol-server demo` serves it when started at `START_MS`: set up a
    /// month before, with the month lived since (`demo::history`). Returns how long
    /// the seed took and what it made.
    pub async fn start_seeded(backend: Backend) -> Option<(TestServer, demo::history::Summary)> {
        Self::start_seeded_with(backend, true).await
    }

    /// The demo's month as a release before the staff fault notices made it (none).
    pub async fn start_seeded_before_assessment(backend: Backend) -> Option<(TestServer, demo::history::Summary)> {
        Self::start_seeded_with(backend, false).await
    }

    async fn start_seeded_with(backend: Backend, assessment: bool) -> Option<(TestServer, demo::history::Summary)> {
        // Off the async threads: the PostgreSQL driver blocks.
        let (dir, url, store, logins) = tokio::task::spawn_blocking(move || {
            let dir = TempDir::new("demo");
            let url = fresh_database(backend, &dir)?;
            let store = Store::open(&url, 4).unwrap();
            store.migrate_blocking().unwrap();
            let logins = demo::ensure_demo(&store, &dir.0, demo::history::setup_time(START_MS)).unwrap();
            Some((dir, url, store, logins))
        })
        .await
        .unwrap()?;
        let settings = Settings { database_url: url, data_dir: dir.0.clone(), ..Settings::default() };
        let summary =
            demo::history::seed_with(store.clone(), settings.clone(), &logins, START_MS, assessment).await.unwrap();
        let clock = ManualClock::at(START_MS);
        let state = {
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || AppState::new(store, settings, Arc::new(clock)).unwrap()).await.unwrap()
        };
        let router = patrol_server::router(state.clone());
        Some((TestServer { state, router, clock, logins, dir }, summary))
    }

    /// A server on a database made elsewhere (an earlier release's file), opened and
    /// migrated as `serve` does; returns how many migrations ran. No logins are known.
    pub async fn on_existing_database(url: String, dir: TempDir, now: i64) -> (TestServer, usize) {
        let settings = Settings { database_url: url.clone(), data_dir: dir.0.clone(), ..Settings::default() };
        let clock = ManualClock::at(now);
        let (state, ran) = {
            let clock = clock.clone();
            tokio::task::spawn_blocking(move || {
                let store = Store::open(&url, 4).unwrap();
                let ran = store.migrate_blocking().unwrap();
                (AppState::new(store, settings, Arc::new(clock)).unwrap(), ran)
            })
            .await
            .unwrap()
        };
        let router = patrol_server::router(state.clone());
        (TestServer { state, router, clock, logins: vec![], dir }, ran)
    }

    /// A second server instance on the same database, sharing the clock: another
    /// process behind the same load balancer.
    pub async fn another_instance(&self) -> AppState {
        self.instance_with(|_| {}).await
    }

    /// Another instance on the same database with its settings changed by `f`.
    pub async fn instance_with(&self, f: impl FnOnce(&mut Settings)) -> AppState {
        let (mut settings, clock) = ((*self.state.settings).clone(), self.clock.clone());
        f(&mut settings);
        tokio::task::spawn_blocking(move || {
            let store = Store::open(&settings.database_url, 4).unwrap();
            AppState::new(store, settings, Arc::new(clock)).unwrap()
        })
        .await
        .unwrap()
    }

    /// A restart: the old state and router are dropped and new ones built on the same
    /// database; nothing in memory survives.
    pub async fn restart(&mut self) {
        let fresh = self.another_instance().await;
        let old = std::mem::replace(&mut self.state, fresh);
        self.router = patrol_server::router(self.state.clone());
        // The PostgreSQL driver closes connections with a runtime of its own.
        tokio::task::spawn_blocking(move || drop(old)).await.unwrap();
    }

    pub fn clock_now(&self) -> i64 {
        use patrol_server::clock::Clock;
        self.clock.now_ms()
    }

    pub fn password(&self, login: &str) -> String {
        self.logins.iter().find(|l| l.login == login).unwrap().password.clone()
    }

    /// Sends a request; returns status and JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        // Whatever a test asked, the answer must be what the document says it is.
        conformance::check(&method, &path, status, content_type.as_deref(), &bytes);
        (status, json)
    }

    /// Integrates what is pending, as the sequencer does within the merge delay: for
    /// tests that read the log or the feed's tables right after a write.
    pub async fn sequenced(&self) {
        self.state.caught_up().await.unwrap();
    }

    pub async fn login(&self, login: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"login": login, "password": self.password(login), "device_id": uuid::Uuid::now_v7()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {login}: {body}");
        body
    }

    pub async fn token(&self, login: &str) -> String {
        self.login(login).await["access_token"].as_str().unwrap().to_string()
    }

    /// The QR label text of every checkpoint of the demo site, by checkpoint id, as the
    /// administrator prints them (phones receive only digests).
    pub async fn qr_labels(&self) -> std::collections::HashMap<String, String> {
        let t = self.token("admin").await;
        let site = self.site_id().await;
        let (status, cps) = self.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&t), None).await;
        assert_eq!(status, StatusCode::OK, "{cps}");
        cps.as_array()
            .unwrap()
            .iter()
            .map(|cp| (cp["id"].as_str().unwrap().to_string(), cp["qr_token"].as_str().unwrap().to_string()))
            .collect()
    }

    /// `qr_labels` for synchronous helpers: every checkpoint's label text, read from
    /// the store (on a multi-threaded runtime).
    pub fn qr_labels_blocking(&self) -> std::collections::HashMap<String, String> {
        let store = self.state.store.clone();
        tokio::task::block_in_place(|| {
            store.tx_blocking(false, |c| {
                c.query("SELECT id, qr_token FROM checkpoints", &[])?
                    .iter()
                    .map(|r| Ok((r.text(0)?, r.text(1)?)))
                    .collect::<Result<std::collections::HashMap<_, _>, patrol_server::store::DbError>>()
            })
        })
        .unwrap()
    }

    /// The demo site's id.
    pub async fn site_id(&self) -> String {
        let t = self.token("admin").await;
        let (_, sites) = self.call(Method::GET, "/api/v1/sites", Some(&t), None).await;
        sites[0]["id"].as_str().unwrap().to_string()
    }
}

/// Generates one test per backend from a function taking a `Backend`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::support::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::support::Backend::Postgres).await } )*
        }
    };
}

/// Like `both_backends!` for plain (blocking) test functions.
#[macro_export]
macro_rules! both_backends_sync {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::support::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::support::Backend::Postgres) } )*
        }
    };
}

impl TestServer {
    /// One integer per query (counts, counters), read in one go: what a refused
    /// request must leave as it was.
    /// Every row of every table, after the sequencer (`dump::dump`).
    pub async fn dump(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.sequenced().await;
        dump::dump(&self.state.store).await
    }

    pub async fn numbers(&self, queries: &'static [&'static str]) -> Vec<i64> {
        // The state a request leaves, once the sequencer has taken what it committed.
        self.sequenced().await;
        self.state.store.read(move |c| queries.iter().map(|sql| c.query_one(sql, &[])?.int(0)).collect()).await.unwrap()
    }
}
