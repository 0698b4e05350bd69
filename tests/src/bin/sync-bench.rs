//! Sync benchmark: N simulated phones each push one day's work (2 runs of 30
//! checkpoints with items and tracks, photos of ~400 KB) to the real server, and
//! the raw batch-insert rate of the same database is measured in the same run as
//! the limit. Prints records/s, photo MB/s and p50/p99 sync time per phone.
//!
//! Usage: sync-bench <sqlite|postgres> <phones> [photos per phone] [threads] [instances]
//! (`CHUNKS=phone` uploads photos in the phone core's chunk sizes, not whole;
//! `PATROL_BENCH_KEEP=1` leaves the run's files for the caller to delete)
//!
//! Photos go up after every phone has pushed, in four slices, with a raw loopback PUT
//! into the same store measured before, between and after them (the ratio is against
//! their mean), and a raw PUT that also takes the SHA-256 before and after.
//!
//! With 2 instances (PostgreSQL only) the phones go through a balancer to two server
//! processes sharing the database and the photo volume, while a supervisor's web
//! dashboard is polled; its latency is printed too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use patrol_e2e::chain::{Chain, visit};
use patrol_e2e::{Backend, Balancer, Server, TempDir, database_url};
use patrol_protocol::record::{GENESIS_HASH, PhotoContext, Record, RecordPayload, TrackPoint};
use patrol_protocol::{Checkpoint, Id};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PHOTO_BYTES: usize = 400 * 1024;

/// The chunk sizes a photo of `size` bytes goes up in: the whole photo in one request
/// (`CHUNKS=whole`, the default), or as the phone core sends on a good link
/// (`CHUNKS=phone`: 64 KiB, doubling after each chunk up to the protocol's 1 MiB;
/// docs/mobile-core.md).
fn chunks(size: usize) -> Vec<usize> {
    if std::env::var("CHUNKS").as_deref() != Ok("phone") {
        return vec![size];
    }
    let (mut out, mut left, mut next) = (Vec::new(), size, 64 * 1024);
    while left > 0 {
        let n = next.min(left);
        out.push(n);
        left -= n;
        next = (next * 2).min(patrol_protocol::sync::PHOTO_CHUNK_MAX);
    }
    out
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

fn post(a: &ureq::Agent, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut req = a.post(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut r = req.send_json(body).unwrap();
    let status = r.status().as_u16();
    let v: Value = r.body_mut().with_config().limit(64 << 20).read_json().unwrap_or(Value::Null);
    assert!(status < 300, "{url}: {status} {v}");
    v
}

struct Phone {
    token: String,
    person: Id,
    device: Id,
    records: Vec<Record>,
    photos: Vec<(String, Vec<u8>)>,
}

/// A real (small) JPEG padded to PHOTO_BYTES with comment segments of random bytes:
/// a photo the server's header check accepts, as incompressible as a camera's, and
/// cheap to make by the thousand.
fn padded_jpeg(rng: &mut impl RngCore) -> Vec<u8> {
    use std::sync::OnceLock;
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
        out
    });
    let mut b = Vec::with_capacity(PHOTO_BYTES + 4);
    b.extend_from_slice(&base[..2]); // SOI
    while b.len() + base.len() - 2 < PHOTO_BYTES {
        let n = (PHOTO_BYTES - (b.len() + base.len() - 2)).clamp(3, 65_533);
        b.extend_from_slice(&[0xFF, 0xFE]);
        b.extend_from_slice(&((n + 2) as u16).to_be_bytes());
        let start = b.len();
        b.resize(start + n, 0);
        rng.fill_bytes(&mut b[start..]);
    }
    b.extend_from_slice(&base[2..]);
    b
}

/// One day's work of one phone, as records and photo bytes.
fn day_of_work(
    person: Id,
    device: Id,
    site: Id,
    route: Id,
    cps: &[Checkpoint],
    photos: usize,
) -> (Vec<Record>, Vec<(String, Vec<u8>)>) {
    let mut out = Vec::new();
    let mut chain = Chain::new(person, device);
    let mut t = 1_795_395_600_000i64;
    let mut rng = rand::thread_rng();
    let mut photo_bytes = Vec::new();
    for _ in 0..photos {
        let b = padded_jpeg(&mut rng);
        let sha = hex::encode(Sha256::digest(&b));
        photo_bytes.push((sha, b));
    }
    for run_no in 0..2 {
        let run = Id::now_v7();
        out.push(chain.record(RecordPayload::RunStarted { run_id: run, route_id: route, site_id: site }, t));
        for cp in cps {
            t += 30_000;
            out.extend(visit(&mut chain, run, cp, t));
        }
        let points: Vec<TrackPoint> = (0..600)
            .map(|i| TrackPoint { time_ms: t + i * 1000, latitude: 31.23, longitude: 121.47, accuracy_m: 5.5 })
            .collect();
        out.push(chain.record(RecordPayload::TrackPoints { run_id: run, points }, t));
        let half = photo_bytes.len() / 2;
        let mine = if run_no == 0 { &photo_bytes[..half] } else { &photo_bytes[half..] };
        for (sha, b) in mine {
            out.push(chain.record(
                RecordPayload::PhotoTaken {
                    sha256: sha.clone(),
                    bytes: b.len() as u64,
                    width: 2048,
                    height: 1536,
                    captured_at_ms: t,
                    latitude: Some(31.23),
                    longitude: Some(121.47),
                    context: PhotoContext { run_id: Some(run), checkpoint_id: None, notice_id: None },
                },
                t,
            ));
        }
        out.push(chain.record(RecordPayload::RunFinished { run_id: run, missed_reason: None }, t));
        t += 4 * 3_600_000;
    }
    (out, photo_bytes)
}

/// The one writer's figures from the server's /metrics (SQLite only): bodies, commits,
/// seconds held.
fn writer_figures(a: &ureq::Agent, base: &str) -> Option<(f64, f64, f64)> {
    let text = a.get(format!("{base}/metrics")).call().ok()?.body_mut().read_to_string().ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((
        value("patrol_db_writer_bodies_total")?,
        value("patrol_db_writer_commits_total")?,
        value("patrol_db_writer_busy_seconds_total")?,
    ))
}

/// CPU seconds a process's threads have run so far (the scheduler's own count, in
/// nanoseconds, from each thread's `/proc/PID/task/TID/schedstat`; 0 off Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// CPU seconds this process has used, its ended threads included (`/proc/self/stat`'s
/// user and system ticks, a hundred a second; 0 off Linux).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Rows inserted 500 to a transaction, one statement each, `n` records in all, through
/// the server's own store; `insert` adds one record's rows given its sequence number.
/// Returns records a second.
fn raw_rate(
    url: &str,
    n: usize,
    mut insert: impl FnMut(&mut dyn patrol_server::store::Conn, i64) -> Result<(), patrol_server::store::DbError>,
) -> f64 {
    const PER: usize = 500;
    let store = patrol_server::store::Store::open(url, 2).unwrap();
    let started = Instant::now();
    for chunk in 0..n.div_ceil(PER) {
        store
            .tx_blocking(true, |c| {
                for i in 0..PER {
                    insert(c, (chunk * PER + i) as i64 + 1)?;
                }
                Ok(())
            })
            .unwrap();
    }
    (n.div_ceil(PER) * PER) as f64 / started.elapsed().as_secs_f64()
}

const RAW_RECORD: &str = "INSERT INTO records (id, device_id, seq, author_id, kind, device_time_ms, prev_hash, hash, body, received_ms, status)
                          VALUES ($1, $2, $3, $4, 'bench', 0, $5, $6, $7, 0, 'applied')";

/// The database's raw rate for the same rows: records inserted in 500-row transactions.
fn raw_insert_rate(url: &str, n: usize) -> f64 {
    let body = "x".repeat(600);
    let device = Id::now_v7().to_string();
    raw_rate(url, n, |c, seq| {
        c.execute(
            RAW_RECORD,
            &patrol_server::params![
                Id::now_v7(),
                device.clone(),
                seq,
                device.clone(),
                GENESIS_HASH,
                GENESIS_HASH,
                body.clone()
            ],
        )
        .map(drop)
    })
}

/// The database's raw rate for the rows a patrol record adds in its push: the record,
/// its pending log leaf, its pending feed entry and one projection row (a checklist
/// result), 500 records to a transaction, one statement a row. Not the yardstick the
/// issue sets (that is `raw_insert_rate`), but what says how close the push's own
/// machinery is to the cost of the rows it must write; the sequencer's later move of
/// leaves and entries into the log and the feed is not in it.
fn raw_record_rows_rate(url: &str, n: usize) -> f64 {
    let body = "x".repeat(600);
    let leaf = "y".repeat(300);
    let device = Id::now_v7().to_string();
    raw_rate(url, n, |c, seq| {
        let id = Id::now_v7();
        c.execute(
            RAW_RECORD,
            &patrol_server::params![id, device.clone(), seq, device.clone(), GENESIS_HASH, GENESIS_HASH, body.clone()],
        )?;
        c.execute(
            "INSERT INTO log_pending (kind, subject, leaf, at_ms) VALUES ('record', $1, $2, 0)",
            &patrol_server::params![id, leaf.clone()],
        )?;
        c.execute(
            "INSERT INTO feed_pending (at_ms, kind, site_id, person_id, record_id) VALUES (0, 'bench', $1, $1, $2)",
            &patrol_server::params![device.clone(), id],
        )?;
        c.execute(
            "INSERT INTO item_results (record_id, run_id, visit_id, checkpoint_id, item_id, outcome, note)
             VALUES ($1, $2, $2, $2, $2, 'ok', '')",
            &patrol_server::params![id, device.clone()],
        )
        .map(drop)
    })
}

/// `threads` threads each calling `put(thread, i, bytes)` with fresh 400 KB bodies for
/// 2 s; returns MB/s.
fn for_two_seconds(threads: usize, put: impl Fn(usize, u64, &[u8]) + Send + Sync + 'static) -> f64 {
    let put = Arc::new(put);
    let written = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (written, put) = (written.clone(), put.clone());
            std::thread::spawn(move || {
                let mut bytes = vec![0u8; PHOTO_BYTES];
                let mut i = 0u64;
                while started.elapsed() < Duration::from_secs(2) {
                    rand::thread_rng().fill_bytes(&mut bytes[..64]);
                    put(t, i, &bytes);
                    written.fetch_add(bytes.len(), Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    written.load(Ordering::Relaxed) as f64 / 1e6 / started.elapsed().as_secs_f64()
}

/// Where a raw put of thread `t`'s `i`th body goes: under `tag`, fanned out over 256
/// directories by the name's first hex pair, as photos are (`photos/ab/ab…jpg`). The
/// layout matters: ext4 allocates a new file's inode near its directory, and right after
/// thousands of files were deleted (the previous run's directory) it checks every
/// recently freed inode it passes; a single fresh directory dodged that cost which the
/// photos' 256 directories paid, and the raw rate came out up to 1.5× higher.
fn raw_key(tag: &str, t: usize, i: u64) -> object_store::path::Path {
    let name = hex::encode(Sha256::digest(format!("{tag}-{t}-{i}")));
    object_store::path::Path::from(format!("bench-{tag}/{}/{name}.jpg", &name[..2]))
}

/// The store's raw write rate for photo-sized objects: the server's own local object
/// store (a temporary file written, then renamed into place), from `threads` threads at
/// once into the server's objects directory, 400 KB each, 2 s. Left in place until the
/// run's directory goes (deleting them now would slow the next allocations, see `raw_key`).
fn raw_put_rate(objects: &std::path::Path, threads: usize) -> f64 {
    use object_store::ObjectStoreExt;
    let store = patrol_server::photos::local_store(objects).unwrap();
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    }
    for_two_seconds(threads, move |t, i, bytes| {
        let bytes = axum::body::Bytes::copy_from_slice(bytes);
        RT.with(|rt| rt.block_on(store.put(&raw_key("raw", t, i), bytes.into()))).unwrap();
    })
}

/// A raw loopback PUT into the same store: the server's HTTP stack (axum on tokio,
/// as the server) with one handler that puts the body into the server's own object
/// store under a photo-shaped key and nothing else; `threads` connections PUT 400 KB
/// bodies for 2 s. What a photo upload is compared with: the same bytes over the same
/// kind of connection into the same store, without the checks and the bookkeeping.
/// With `hashed`, the handler also takes the body's SHA-256 before the put, as any
/// upload checked against its hash must: the floor of a hash-checked upload.
fn raw_loopback_put_rate(objects: &std::path::Path, threads: usize, tag: &'static str, hashed: bool) -> f64 {
    use object_store::ObjectStoreExt;
    let store = patrol_server::photos::local_store(objects).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/raw/{t}/{i}",
                axum::routing::put(
                    move |axum::extract::Path((t, i)): axum::extract::Path<(usize, u64)>, body: axum::body::Bytes| {
                        let store = store.clone();
                        async move {
                            if hashed {
                                std::hint::black_box(Sha256::digest(&body));
                            }
                            store.put(&raw_key(tag, t, i), body.into()).await.unwrap();
                            "ok"
                        }
                    },
                ),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    thread_local! {
        // One connection per thread, kept, as the uploads' clients do.
        static AGENT: ureq::Agent = agent();
    }
    let rate = for_two_seconds(threads, move |t, i, bytes| {
        let r = AGENT.with(|a| a.put(format!("http://{addr}/raw/{t}/{i}")).send(bytes).unwrap());
        assert_eq!(r.status().as_u16(), 200);
    });
    drop(server); // the runtime's thread ends with the process
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = match args.get(1).map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let phones: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let photos: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(16);
    let instances: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1);
    assert!(instances == 1 || backend == Backend::Postgres, "several instances need PostgreSQL");
    let dir = TempDir::new("bench");
    let url = database_url(backend, &dir).expect("PATROL_TEST_POSTGRES_URL for postgres");
    let server = Server::start(&url, &dir.0.join("data"));
    let second = (instances > 1).then(|| Server::start(&url, &dir.0.join("data")));
    let balancer = second.as_ref().map(|b| Balancer::start(vec![server.port, b.port]));
    let base = balancer.as_ref().map_or_else(|| server.url(), |b| b.url());
    let a = agent();
    let login = |who: &str, device: Id| {
        post(
            &a,
            &format!("{base}/api/v1/auth/login"),
            None,
            &json!({"login": who, "password": server.password(who), "device_id": device}),
        )
    };

    // A route of 30 checkpoints, made by the administrator.
    let admin = login("admin", Id::now_v7())["access_token"].as_str().unwrap().to_string();
    let mut r =
        a.get(format!("{base}/api/v1/sites")).header("authorization", format!("Bearer {admin}")).call().unwrap();
    let sites: Value = r.body_mut().read_json().unwrap();
    let site: Id = sites[0]["id"].as_str().unwrap().parse().unwrap();
    let mut cps: Vec<Checkpoint> = Vec::new();
    for i in 0..30 {
        let body = json!({"code": format!("B{i:02}"), "name_zh": format!("测试点{i}"), "latitude": 31.23, "longitude": 121.47,
                          "checklist": [{"text_zh": "正常"}]});
        let v = post(&a, &format!("{base}/api/v1/sites/{site}/checkpoints"), Some(&admin), &body);
        cps.push(serde_json::from_value(v).unwrap());
    }
    let route = post(
        &a,
        &format!("{base}/api/v1/sites/{site}/routes"),
        Some(&admin),
        &json!({"name_zh": "基准线路", "checkpoint_ids": cps.iter().map(|c| c.id).collect::<Vec<_>>()}),
    );
    let route: Id = route["id"].as_str().unwrap().parse().unwrap();

    eprintln!("preparing {phones} phones ({photos} photos of {} KB each)…", PHOTO_BYTES / 1024);
    let mut prepared = Vec::new();
    for _ in 0..phones {
        let device = Id::now_v7();
        let t = login("patrol", device);
        let person: Id = t["person_id"].as_str().unwrap().parse().unwrap();
        let (records, ph) = day_of_work(person, device, site, route, &cps, photos);
        prepared.push(Phone { token: t["access_token"].as_str().unwrap().into(), person, device, records, photos: ph });
    }
    let total_records: usize = prepared.iter().map(|p| p.records.len()).sum();
    let total_photo_bytes: usize = prepared.iter().map(|p| p.photos.iter().map(|x| x.1.len()).sum::<usize>()).sum();

    // A supervisor keeps the dashboard open (polled like a browser tab that reloads).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = (instances > 1).then(|| {
        let (stop, base, password) = (stop.clone(), base.clone(), server.password("supervisor"));
        std::thread::spawn(move || poll_dashboard(&base, &password, &stop))
    });
    // One phone pulls before the day's pushes, as at the start of a shift; after them
    // it pulls again until it is caught up (below): how many pages a day of everyone's
    // patrols costs a phone's next sync.
    let puller = prepared.first().map(|p| p.token.clone());
    let pull_page = |token: &str, cursor: &str| -> (String, bool) {
        let mut r = a
            .get(format!("{base}/api/v1/sync/pull?cursor={cursor}&limit=200"))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let v: Value = r.body_mut().read_json().unwrap();
        (v["cursor"].as_str().unwrap_or_default().to_string(), v["more"].as_bool().unwrap_or(false))
    };
    let mut morning_cursor = String::new();
    if let Some(token) = &puller {
        loop {
            let (cursor, more) = pull_page(token, &morning_cursor);
            morning_cursor = cursor;
            if !more {
                break;
            }
        }
    }
    let queue = Arc::new(Mutex::new(prepared));
    let times = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    // Each phone's photos, uploaded once every phone has pushed its records: the photo
    // rate is measured alone, as the raw put it is compared with.
    let photo_queue: Arc<Mutex<Vec<(String, Vec<(String, Vec<u8>)>)>>> = Arc::new(Mutex::new(Vec::new()));
    eprintln!("pushing…");
    let writer_before = writer_figures(&a, &base);
    let server_pid = server.pid().unwrap_or(0);
    let cpu_before = (cpu_seconds(server_pid), own_cpu_seconds());
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (queue, times, errors, base) = (queue.clone(), times.clone(), errors.clone(), base.clone());
            let photo_queue = photo_queue.clone();
            std::thread::spawn(move || {
                let a = agent();
                loop {
                    let Some(p) = queue.lock().unwrap().pop() else { return };
                    let t0 = Instant::now();
                    let _ = p.person;
                    for batch in p.records.chunks(200) {
                        let body = json!({"device_id": p.device, "sent_at_ms": 0, "records": batch});
                        let mut r = a
                            .post(format!("{base}/api/v1/sync/push"))
                            .header("authorization", format!("Bearer {}", p.token))
                            .send_json(&body)
                            .unwrap();
                        if r.status().as_u16() != 200 {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("push: {} {}", r.status(), r.body_mut().read_to_string().unwrap_or_default());
                        }
                    }
                    times.lock().unwrap().push(t0.elapsed().as_secs_f64());
                    photo_queue.lock().unwrap().push((p.token, p.photos));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_used = (cpu_seconds(server_pid) - cpu_before.0, own_cpu_seconds() - cpu_before.1);
    let writer_after = writer_figures(&a, &base);
    let next_pull = puller.as_ref().map(|token| {
        let (started, mut cursor, mut pages) = (Instant::now(), morning_cursor.clone(), 0);
        loop {
            let (next, more) = pull_page(token, &cursor);
            (cursor, pages) = (next, pages + 1);
            if !more {
                break;
            }
        }
        (pages, started.elapsed().as_secs_f64())
    });
    // The photos alone, from the same number of connections, by the wall clock, against
    // the raw loopback PUT measured before them, between their slices and after them:
    // the disk's state (dirty pages being written back) moves a 2-second rate by 1.5×
    // within a run, so the photos go up in four slices with a raw measurement between
    // each two, and are compared with the mean of all of them. Each connection takes the
    // next photo of any phone (each request with its phone's token), so all 16 stay busy
    // to the end: taking a phone's 20 photos at a time left the last phones' uploads on a
    // few connections while the others idled, a tail the baseline never has.
    let objects = dir.0.join("data/objects");
    let loopback_before = (total_photo_bytes > 0).then(|| {
        let raw = raw_loopback_put_rate(&objects, threads, "before", false);
        (raw, raw_loopback_put_rate(&objects, threads, "hashed-before", true))
    });
    eprintln!("uploading photos…");
    let mut queued: Vec<(Arc<str>, String, Vec<u8>)> = std::mem::take(&mut *photo_queue.lock().unwrap())
        .into_iter()
        .flat_map(|(token, photos)| {
            let token: Arc<str> = token.into();
            photos.into_iter().map(move |(sha, bytes)| (token.clone(), sha, bytes))
        })
        .collect();
    let per_slice = queued.len().div_ceil(4).max(1);
    let (mut photo_wall, mut between) = (0.0, Vec::new());
    while !queued.is_empty() {
        if photo_wall > 0.0 {
            let tag: &'static str = Box::leak(format!("between-{}", between.len()).into_boxed_str());
            between.push(raw_loopback_put_rate(&objects, threads, tag, false));
        }
        let slice = Arc::new(Mutex::new(queued.split_off(queued.len().saturating_sub(per_slice))));
        let slice_started = Instant::now();
        let uploaders: Vec<_> = (0..threads)
            .map(|_| {
                let (slice, errors, base) = (slice.clone(), errors.clone(), base.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    loop {
                        let Some((token, sha, bytes)) = slice.lock().unwrap().pop() else { return };
                        let mut offset = 0;
                        for chunk in chunks(bytes.len()) {
                            let mut r = a
                                .put(format!("{base}/api/v1/photos/{sha}/upload?offset={offset}"))
                                .header("authorization", format!("Bearer {token}"))
                                .header("content-type", "application/octet-stream")
                                .send(&bytes[offset..offset + chunk])
                                .unwrap();
                            offset += chunk;
                            if r.status().as_u16() != 200 {
                                errors.fetch_add(1, Ordering::Relaxed);
                                let body = r.body_mut().read_to_string().unwrap_or_default();
                                eprintln!("photo: {} {body}", r.status());
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for u in uploaders {
            u.join().unwrap();
        }
        photo_wall += slice_started.elapsed().as_secs_f64();
    }
    stop.store(true, Ordering::Relaxed);
    let dashboard = poller.map(|p| p.join().unwrap());
    let mut t = times.lock().unwrap().clone();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let raw = raw_insert_rate(&url, 20_000);
    let photo_rate = if total_photo_bytes > 0 {
        let hashed_after = raw_loopback_put_rate(&objects, threads, "hashed-after", true);
        Some((
            total_photo_bytes as f64 / 1e6 / photo_wall,
            loopback_before.unwrap_or_default(),
            (raw_loopback_put_rate(&objects, threads, "after", false), hashed_after),
            raw_put_rate(&objects, threads),
            between,
        ))
    } else {
        None
    };
    let db = match (backend, instances) {
        (Backend::Sqlite, _) => "sqlite".to_string(),
        (_, 1) => "postgres".to_string(),
        (_, n) => format!("pg×{n}"),
    };
    println!(
        "{db:<8} phones {phones:>4}  records {total_records:>7}  {:>8.0} rec/s  photos {:>7.1} MB  {:>6.1} MB/s  sync p50 {:>6.2} s  p99 {:>6.2} s  errors {}  | raw insert {:>8.0} rec/s  ratio {:.2}",
        total_records as f64 / wall,
        total_photo_bytes as f64 / 1e6,
        total_photo_bytes as f64 / 1e6 / (wall + photo_wall),
        percentile(&t, 0.5),
        percentile(&t, 0.99),
        errors.load(Ordering::Relaxed),
        raw,
        (total_records as f64 / wall) / raw,
    );

    if let Some((pages, seconds)) = next_pull {
        println!(
            "          a phone's next pull after the day: {pages} pages of 200 to catch up, {:.0} ms",
            seconds * 1e3
        );
    }
    // Where the machine's time went while pushing: what the server and the phones (this
    // process) used, a record apiece, against all the cores for the wall time.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_record = |s: f64| 1e6 * s / total_records as f64;
    println!(
        "          CPU while pushing: server {:.2} s ({:.1} µs a record), phones {:.2} s ({:.1} µs a record), of {:.2} s ({cores:.0} cores × wall)",
        cpu_used.0,
        per_record(cpu_used.0),
        cpu_used.1,
        per_record(cpu_used.1),
        cores * wall
    );
    if let (Some(b), Some(e)) = (writer_before, writer_after) {
        let (bodies, commits, busy) = (e.0 - b.0, e.1 - b.1, e.2 - b.2);
        // A bound on what a writer costing nothing could reach on this machine: the
        // cores' time spent on everything but the writer's turns, a record apiece.
        let outside = (cpu_used.0 - busy).max(0.0) + cpu_used.1;
        println!(
            "          outside the writer's turns: {:.1} µs of CPU a record (server and phones), so at most {:.0} rec/s on {cores:.0} cores if the writer cost nothing ({:.2} of the raw insert rate)",
            per_record(outside),
            cores * total_records as f64 / outside.max(1e-9),
            cores * total_records as f64 / outside.max(1e-9) / raw
        );
        println!(
            "          SQLite's one writer while pushing: held {:.0} % of the time, {bodies:.0} write transactions in {commits:.0} commits ({:.1} a commit), {:.2} ms held a transaction",
            100.0 * busy / wall,
            bodies / commits.max(1.0),
            1e3 * busy / bodies.max(1.0)
        );
    }
    if let Some((up, (before, hashed_before), (after, hashed_after), raw_put, between)) = photo_rate {
        let raws: Vec<f64> = std::iter::once(before).chain(between.iter().copied()).chain([after]).collect();
        let loopback = raws.iter().sum::<f64>() / raws.len() as f64;
        let between: Vec<String> = between.iter().map(|r| format!("{r:.1}")).collect();
        let between = between.join(", ");
        let hashed = (hashed_before + hashed_after) / 2.0;
        println!(
            "          photos alone: {up:.1} MB/s over {threads} connections | raw loopback PUT into the same store {loopback:.1} MB/s (before {before:.1}, between slices {between}, after {after:.1})  ratio {:.2} | file writes alone {raw_put:.1} MB/s  ratio {:.2}",
            up / loopback,
            up / raw_put
        );
        println!(
            "          raw loopback PUT with the body's SHA-256 taken {hashed:.1} MB/s (before {hashed_before:.1}, after {hashed_after:.1}), {:.2} of the raw PUT  | photos against it: ratio {:.2}",
            hashed / loopback,
            up / hashed
        );
    }
    if let Some((polls, p50, p99, errors)) = dashboard {
        println!(
            "          dashboard polled {polls} times during the load: p50 {:.0} ms  p99 {:.0} ms  errors {errors}",
            p50 * 1e3,
            p99 * 1e3
        );
    }
    drop(second);
    drop(server);
    // With the server stopped: its sequencer would take these pending rows meanwhile.
    let raw_rows = raw_record_rows_rate(&url, 10_000);
    println!(
        "          raw rate of the rows a patrol record adds (record, pending leaf and entry, result) {raw_rows:>8.0} rec/s  ratio {:.2}",
        (total_records as f64 / wall) / raw_rows
    );
    // PATROL_BENCH_KEEP: the run's files stay for the caller to delete after the last
    // run (scripts/bench-sync does). Deleting a run's ~2 GB of files just before the next
    // run starts skews it: on an ext4 without a journal (this build machine's disk)
    // every new file's inode allocation then steps over each inode freed in the last
    // minutes (`recently_deleted`, a buffer lookup apiece): 15 % of the server's time in
    // a photo phase, which a server that never deletes photos does not pay.
    if std::env::var_os("PATROL_BENCH_KEEP").is_some() {
        std::mem::forget(dir);
    }
}

/// Signs in at the console and reloads the dashboard until told to stop; returns
/// (polls, p50 s, p99 s, errors).
fn poll_dashboard(base: &str, password: &str, stop: &std::sync::atomic::AtomicBool) -> (usize, f64, f64, usize) {
    let a: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut form = a.get(format!("{base}/login")).call().unwrap();
    let page = form.body_mut().read_to_string().unwrap();
    let at = page.find("name=\"_csrf\" value=\"").expect("a login form") + 20;
    let token = page[at..].split('"').next().unwrap().to_string();
    let body = format!("_csrf={token}&login=supervisor&password={password}&next=%2F");
    let resp = a
        .post(format!("{base}/login"))
        .header("cookie", format!("patrol_login_csrf={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(body.as_bytes())
        .unwrap();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("patrol_session="))
        .expect("a session")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (mut times, mut errors) = (Vec::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        match a.get(format!("{base}/dashboard")).header("cookie", &cookie).call() {
            Ok(mut r) if r.status().as_u16() == 200 => {
                let _ = r.body_mut().read_to_string();
                times.push(t0.elapsed().as_secs_f64());
            }
            _ => errors += 1,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (times.len(), percentile(&times, 0.5), percentile(&times, 0.99), errors)
}
