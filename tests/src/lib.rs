//! Harness for the end-to-end suites: starts the real `patrol-server` binary on a
//! loopback port (SQLite or a fresh PostgreSQL database), kills and restarts it, and
//! puts a proxy that cuts connections between phones and server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

pub mod chain;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("patrol-e2e-{tag}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server binary that `scripts/test` builds before the suites run.
pub fn server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("PATROL_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/patrol-server");
    assert!(bin.exists(), "build the server first: cargo build -p patrol-server ({} is missing)", bin.display());
    bin
}

/// A fresh database URL, or `None` for PostgreSQL outside CI when none is provided.
pub fn database_url(backend: Backend, dir: &TempDir) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite:{}", dir.0.join("patrol.db").display())),
        Backend::Postgres => {
            let admin = match std::env::var("PATROL_TEST_POSTGRES_URL") {
                Ok(u) if !u.is_empty() => u,
                _ => {
                    assert!(
                        std::env::var("CI").is_err(),
                        "CI must run the PostgreSQL suites (scripts/test provides one)"
                    );
                    eprintln!("PATROL_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                    return None;
                }
            };
            let name = format!("patrol_e2e_{}", uuid::Uuid::now_v7().simple());
            let admin_store = patrol_server::store::Store::open(&admin, 1).unwrap();
            admin_store.execute_outside_transaction(&format!("CREATE DATABASE {name}")).unwrap();
            // Replace the database name (the path's last segment), keeping the query.
            let (base, query) = admin.split_once('?').map_or((admin.as_str(), ""), |(b, q)| (b, q));
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            let q = if query.is_empty() { String::new() } else { format!("?{query}") };
            Some(format!("{base}/{name}{q}"))
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real server, started as `patrol-server demo --empty` so it prints its logins:
/// the demo's people and places without the month of history, since the stories and
/// benchmarks count what they make themselves.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub logins: Vec<(String, String)>,
    /// More environment for the process (an object store's settings).
    pub env: Vec<(String, String)>,
}

impl Server {
    pub fn start(database_url: &str, data_dir: &std::path::Path) -> Server {
        Self::start_with(database_url, data_dir, vec![])
    }

    pub fn start_with(database_url: &str, data_dir: &std::path::Path, env: Vec<(String, String)>) -> Server {
        let mut s = Server {
            child: None,
            port: free_port(),
            database_url: database_url.to_string(),
            data_dir: data_dir.to_path_buf(),
            logins: vec![],
            env,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut child = Command::new(server_binary())
            .args(["demo", "--empty"])
            .env("PATROL_DATABASE_URL", &self.database_url)
            .env("PATROL_DATA_DIR", &self.data_dir)
            // Instances of one deployment share the log's key file, as an operator
            // copies it to each (docs/operations.md, "Keys"): beside their data dirs.
            .env("PATROL_LOG_KEY_FILE", self.data_dir.parent().unwrap_or(&self.data_dir).join("log-key"))
            .env("PATROL_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start patrol-server");
        let stdout = child.stdout.take().unwrap();
        let logins = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let l = logins.clone();
        std::thread::spawn(move || {
            let mut in_table = false;
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Demo ") {
                    in_table = true;
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                if in_table && line.starts_with("  ") && words.len() >= 2 {
                    l.lock().unwrap().push((words[0].to_string(), words[1].to_string()));
                } else if in_table && !sent {
                    sent = true;
                    let _ = tx.send(());
                }
            }
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(60)).expect("server printed its logins");
        self.logins = logins.lock().unwrap().clone();
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server on port {} did not become ready", self.port);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn password(&self, login: &str) -> String {
        self.logins.iter().find(|(l, _)| l == login).unwrap_or_else(|| panic!("no demo login {login}")).1.clone()
    }

    /// The process id while it runs (for reading /proc/PID/status).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no chance to flush or say goodbye.
    /// The QR label texts of every checkpoint, as the administrator prints them
    /// (phones never hold them: they check a scan against a digest).
    pub fn qr_labels(&self) -> std::collections::HashMap<uuid::Uuid, String> {
        let admin = Desk::sign_in(&self.url(), "admin", &self.password("admin"));
        let (status, sites) = admin.get("/api/v1/sites");
        assert_eq!(status, 200, "{sites}");
        let mut labels = std::collections::HashMap::new();
        for site in sites.as_array().expect("a list of sites") {
            let (status, cps) = admin.get(&format!("/api/v1/sites/{}/checkpoints", site["id"].as_str().unwrap()));
            assert_eq!(status, 200, "{cps}");
            for cp in cps.as_array().expect("a list of checkpoints") {
                let id = cp["id"].as_str().unwrap().parse().unwrap();
                labels.insert(id, cp["qr_token"].as_str().unwrap().to_string());
            }
        }
        labels
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy that cuts connections at random byte offsets, in either direction.
pub struct CuttingProxy {
    pub port: u16,
    pub cuts: Arc<AtomicUsize>,
    pub connections: Arc<AtomicUsize>,
    /// Bytes that went towards the server and back to the client, headers included.
    pub bytes_up: Arc<AtomicUsize>,
    pub bytes_down: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CuttingProxy {
    /// `cut_probability`: the chance that a direction of a connection is cut; the cut
    /// falls at a uniform offset below `max_offset` bytes (headers, small bodies) or,
    /// half the time, between `max_offset` and 16 times that (inside photo bodies).
    pub fn start(upstream: u16, cut_probability: f64, max_offset: usize, seed: u64) -> CuttingProxy {
        let budget = move |rng: &mut rand::rngs::StdRng| {
            if rng.r#gen::<f64>() >= cut_probability {
                None
            } else if rng.gen_bool(0.5) {
                Some(rng.gen_range(0..max_offset))
            } else {
                // Deep inside a large push or photo body.
                Some(rng.gen_range(max_offset..max_offset * 16))
            }
        };
        Self::with_budgets(upstream, seed, move |rng| (budget(rng), budget(rng)))
    }

    /// A link that drops every `min..max` bytes sent upstream: each connection is cut
    /// once that many bytes of it went towards the server (a phone on a train).
    pub fn every(upstream: u16, min: usize, max: usize, seed: u64) -> CuttingProxy {
        Self::with_budgets(upstream, seed, move |rng| (Some(rng.gen_range(min..max)), None))
    }

    /// A link that never drops and counts what crosses it (a phone's data plan).
    pub fn counting(upstream: u16) -> CuttingProxy {
        Self::with_budgets(upstream, 0, |_| (None, None))
    }

    /// (up, down) bytes so far.
    pub fn bytes(&self) -> (usize, usize) {
        (self.bytes_up.load(Ordering::Relaxed), self.bytes_down.load(Ordering::Relaxed))
    }

    fn with_budgets(
        upstream: u16,
        seed: u64,
        budgets: impl Fn(&mut rand::rngs::StdRng) -> (Option<usize>, Option<usize>) + Send + 'static,
    ) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let cuts = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (bytes_up, bytes_down) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let rng = Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)));
        let (c2, n2, s2) = (cuts.clone(), connections.clone(), stop.clone());
        let (u2, d2) = (bytes_up.clone(), bytes_down.clone());
        std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        n2.fetch_add(1, Ordering::Relaxed);
                        let (up, down) = budgets(&mut rng.lock().unwrap());
                        pump(client.try_clone().unwrap(), server.try_clone().unwrap(), up, c2.clone(), u2.clone());
                        pump(server, client, down, c2.clone(), d2.clone());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        CuttingProxy { port, cuts, connections, bytes_up, bytes_down, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::Relaxed)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies `from` to `to`; after `cut_after` bytes, shuts both down.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    cut_after: Option<usize>,
    cuts: Arc<AtomicUsize>,
    counted: Arc<AtomicUsize>,
) {
    std::thread::spawn(move || {
        let mut sent = 0usize;
        let mut buf = [0u8; 8192];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = match cut_after {
                Some(limit) if sent + n >= limit => limit - sent,
                _ => n,
            };
            if to.write_all(&buf[..allowed]).is_err() {
                break;
            }
            counted.fetch_add(allowed, Ordering::Relaxed);
            sent += allowed;
            if allowed < n || cut_after == Some(sent) {
                cuts.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// A small real JPEG of a solid colour, different per `seed`, as a camera would hand over.
pub fn camera_jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([seed, (x % 256) as u8, (y % 256) as u8]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    out
}

/// A camera-like photo of `w`×`h` with texture everywhere (noise that JPEG cannot
/// flatten), so the stored photo is hundreds of kilobytes like a real one.
pub fn textured_jpeg(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let mut v = x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ seed.wrapping_mul(97);
        v ^= v >> 13;
        v = v.wrapping_mul(0x5bd1e995);
        image::Rgb([(v >> 24) as u8, (v >> 16) as u8 ^ (x as u8), (v >> 8) as u8 ^ (y as u8)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

/// The watermark font, when the machine has it (scripts/test installs it).
pub fn font() -> Option<String> {
    let p = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
    std::path::Path::new(p).exists().then(|| p.to_string())
}

/// The store key of every test phone: their stores are encrypted, as on real phones.
pub const PHONE_KEY: [u8; 32] = *b"e2e-phone-store-key-of-32-bytes!";

/// A phone: a real core in its own data directory, its store encrypted.
pub fn phone(dir: &std::path::Path) -> patrol_core::Core {
    let mut cfg = patrol_core::CoreConfig::new(dir.to_string_lossy());
    cfg.font_path = font();
    cfg.store_key = Some(PHONE_KEY.to_vec());
    patrol_core::Core::open(cfg).expect("open core")
}

/// A desk client (web console, script) speaking the JSON API with a bearer token.
pub struct Desk {
    pub base: String,
    pub token: String,
    agent: ureq::Agent,
}

impl Desk {
    pub fn sign_in(base: &str, login: &str, password: &str) -> Desk {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let body = serde_json::json!({"login": login, "password": password, "device_id": uuid::Uuid::now_v7()});
        let mut resp = agent.post(format!("{base}/api/v1/auth/login")).send_json(&body).unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let v: serde_json::Value = resp.body_mut().read_json().unwrap();
        Desk { base: base.into(), token: v["access_token"].as_str().unwrap().into(), agent }
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(serde_json::Value::Null))
    }

    pub fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .send_json(&body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(serde_json::Value::Null))
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap_or_default())
    }
}

/// The first column of a query's first row as an integer, on either database kind
/// (read through the server's own store, beside the running server).
pub fn count(database_url: &str, sql: &str) -> i64 {
    let store = patrol_server::store::Store::open(database_url, 1).unwrap();
    store.tx_blocking(false, |c| c.query_one(sql, &[])?.int(0)).unwrap()
}

/// Texts of a query's first column, on either database kind.
pub fn texts(database_url: &str, sql: &str) -> Vec<String> {
    let store = patrol_server::store::Store::open(database_url, 1).unwrap();
    store.tx_blocking(false, |c| c.query(sql, &[])?.iter().map(|r| r.text(0)).collect()).unwrap()
}

/// A fresh bucket on the S3-compatible server the test script started, and the
/// server settings that point at it; `None` outside CI when there is none.
pub fn s3_bucket() -> Option<Vec<(String, String)>> {
    let endpoint = match std::env::var("PATROL_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must run the S3 suite (scripts/test starts moto)");
            eprintln!("PATROL_TEST_S3_ENDPOINT is not set: skipping the S3 run");
            return None;
        }
    };
    let bucket = format!("patrol-{}", uuid::Uuid::now_v7().simple());
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let status = agent.put(format!("{endpoint}/{bucket}")).send_empty().unwrap().status().as_u16();
    assert_eq!(status, 200, "create bucket {bucket}");
    Some(vec![
        ("PATROL_OBJECT_STORE_URL".into(), format!("s3://{bucket}/photos-store")),
        ("AWS_ENDPOINT_URL".into(), endpoint),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
    ])
}

/// The current year in China, as the server numbers notices.
pub fn site_year() -> i32 {
    use chrono::Datelike;
    (chrono::Utc::now() + chrono::Duration::hours(8)).year()
}

/// A round-robin TCP load balancer over several server instances; a connection goes
/// to the next instance that accepts it, so a dead instance is skipped.
pub struct Balancer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
}

impl Balancer {
    pub fn start(upstreams: Vec<u16>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let down = Arc::new(AtomicBool::new(false));
        let (s2, d2) = (stop.clone(), down.clone());
        std::thread::spawn(move || {
            let mut next = 0usize;
            let none = Arc::new(AtomicUsize::new(0));
            while !s2.load(Ordering::Relaxed) {
                match listener.accept() {
                    // An outage: every connection is closed at once, unanswered.
                    Ok((client, _)) if d2.load(Ordering::Relaxed) => drop(client),
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        for i in 0..upstreams.len() {
                            let port = upstreams[(next + i) % upstreams.len()];
                            if let Ok(server) = TcpStream::connect(("127.0.0.1", port)) {
                                pump(
                                    client.try_clone().unwrap(),
                                    server.try_clone().unwrap(),
                                    None,
                                    none.clone(),
                                    Arc::new(AtomicUsize::new(0)),
                                );
                                pump(server, client, None, none.clone(), Arc::new(AtomicUsize::new(0)));
                                break;
                            }
                        }
                        next += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Balancer { port, stop, down }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// While down, what is behind the balancer cannot be reached.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the fault stories check afterwards, through the database and the API: every
/// record of the phone exactly once, notices `JY-<year>-000001` to `notices` without
/// gaps, and `notices` photos, all complete and served with the bytes of their name.
pub fn check_server_holds_everything_once(server: &Server, core: &patrol_core::Core, notices: usize) {
    let url = &server.database_url;
    let device = core.device_id();
    let last = core.queue_status().unwrap().last_seq as i64;
    let stored = count(url, &format!("SELECT COUNT(*) FROM records WHERE device_id = '{device}'"));
    let distinct = count(url, &format!("SELECT COUNT(DISTINCT seq) FROM records WHERE device_id = '{device}'"));
    let max = count(url, &format!("SELECT COALESCE(MAX(seq), 0) FROM records WHERE device_id = '{device}'"));
    assert_eq!((stored, distinct, max), (last, last, last), "every record exactly once");
    let numbers = texts(url, "SELECT number FROM notices ORDER BY counter");
    let year = site_year();
    let expected: Vec<String> = (1..=notices).map(|n| format!("JY-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected, "numbers without gaps, none doubled");
    let incomplete = count(url, "SELECT COUNT(*) FROM photos WHERE complete = 0");
    assert_eq!(incomplete, 0, "every photo arrived");
    let desk = Desk::sign_in(&server.url(), "patrol", &server.password("patrol"));
    let shas = texts(url, "SELECT sha256 FROM photos ORDER BY sha256");
    assert_eq!(shas.len(), notices);
    for sha in shas {
        let (status, bytes) = desk.get_bytes(&format!("/api/v1/photos/{sha}"));
        assert_eq!(status, 200);
        assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), sha, "photo content matches its name");
    }
}

/// A finding with a photo: three records (photo, notice) and one upload.
pub fn raise_with_photo(
    core: &patrol_core::Core,
    kind: patrol_protocol::DepartmentKind,
    i: usize,
) -> patrol_protocol::Id {
    raise_with_photo_of(core, kind, i, camera_jpeg((i * 37 % 251) as u8))
}

/// `raise_with_photo` with the camera's bytes given.
pub fn raise_with_photo_of(
    core: &patrol_core::Core,
    kind: patrol_protocol::DepartmentKind,
    i: usize,
    photo: Vec<u8>,
) -> patrol_protocol::Id {
    let site = core.sites().unwrap()[0].id;
    let dept = core.departments(site).unwrap().into_iter().find(|d| d.kind == kind).unwrap().id;
    let sha = core
        .add_photo(patrol_core::photos::PhotoInput {
            source: patrol_core::photos::PhotoSource::Bytes { data: photo },
            context: patrol_protocol::record::PhotoContext { run_id: None, checkpoint_id: None, notice_id: None },
            site_id: Some(site),
            captured_at_ms: None,
            latitude: None,
            longitude: None,
        })
        .unwrap()
        .sha256;
    core.create_notice(patrol_core::notices::NoticeDraft {
        site_id: site,
        department_id: dept,
        checkpoint_id: None,
        location: format!("{}号楼", i % 12 + 1),
        run_id: None,
        description: format!("楼道杂物堆放 #{i}"),
        severity: patrol_protocol::Severity::General,
        due_ms: core.now_ms() + 86_400_000,
        photos: vec![sha],
    })
    .unwrap()
    .notice_id
}

/// A PostgreSQL cluster of the test's own, so a test may restart it without
/// disturbing the suites that share the script's server.
pub struct OwnPostgres {
    dir: TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl OwnPostgres {
    /// `None` when PostgreSQL is not installed (outside CI only).
    pub fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).max()
        });
        let Some(bin) = bin else {
            assert!(std::env::var("CI").is_err(), "CI must have PostgreSQL (scripts/test installs it)");
            return None;
        };
        let dir = TempDir::new("own-pg");
        let port = free_port();
        let pg = OwnPostgres { dir, bin, port };
        if Self::is_root() {
            Command::new("chown").args(["-R", "postgres"]).arg(&pg.dir.0).status().unwrap();
        }
        let data = pg.dir.0.join("data");
        let ok = pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "initdb failed");
        pg.ctl(&["start", "-w", "-t", "60"]);
        Some(pg)
    }

    fn is_root() -> bool {
        std::env::var("USER").map(|u| u == "root").unwrap_or(false)
            || Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
    }

    fn command(&self, tool: &str) -> Command {
        if Self::is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    fn ctl(&self, args: &[&str]) {
        let opts = format!("-h 127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.0.display());
        let ok = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.0.join("data"))
            .arg("-l")
            .arg(self.dir.0.join("server.log"))
            .args(["-o", &opts])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "pg_ctl {args:?} failed");
    }

    /// Stops at once (connections are cut) and starts again.
    pub fn restart(&self) {
        self.ctl(&["restart", "-m", "immediate", "-w", "-t", "60"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ =
            self.command("pg_ctl").arg("-D").arg(self.dir.0.join("data")).args(["-m", "immediate", "stop"]).status();
    }
}
