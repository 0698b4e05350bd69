//! Resource benchmark of the real server (`patrol-server demo --empty` on loopback):
//!
//! 1. N concurrent callers for S seconds, each with a device of its own, repeatedly
//!    signing in (argon2) and pushing a 10-record patrol run (run start, 4 QR visits
//!    with a checklist item each, run end with the route's other checkpoints missed
//!    for a reason) that continues its device's chain. The
//!    server's resident memory (VmRSS of /proc/PID/status) is read before, every
//!    50 ms during (peak, and the kernel's VmHWM), and some seconds after the load.
//! 2. One photo uploaded, then K concurrent first requests for its thumbnail; the
//!    server's `patrol_thumbnails_made_total` (/metrics) says how often it decoded.
//!
//! Usage: load-bench [callers=200] [seconds=60] [settle seconds=10] [thumbnail askers=100]
//! The server binary is $PATROL_SERVER_BIN (scripts/bench-resources builds the release one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use patrol_e2e::chain::{Chain, visit};
use patrol_e2e::{Server, TempDir, camera_jpeg, database_url};
use patrol_protocol::record::{PhotoContext, RecordPayload};
use patrol_protocol::sync::{PushResponse, RecordStatus};
use patrol_protocol::{Checkpoint, Id, Route};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// (VmRSS, VmHWM, Threads) of a process, in kB and count.
fn status(pid: u32) -> (u64, u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"), field("Threads:"))
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn get_json(a: &ureq::Agent, url: &str, token: &str) -> Value {
    let mut r = a.get(url).header("authorization", format!("Bearer {token}")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.body_mut().with_config().limit(64 << 20).read_json().unwrap()
}

/// Signs in from `addr`: the server trusts one proxy (`PATROL_FORWARDED_PROXIES=1`), so
/// the `X-Forwarded-For` entry stands for the caller's own address, as each phone of a
/// real compound has its own (the per-address sign-in budget applies to each).
fn login(a: &ureq::Agent, base: &str, who: &str, password: &str, device: Id, addr: &str) -> Result<Value, Refusal> {
    let mut r = a
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", addr)
        .send_json(json!({"login": who, "password": password, "device_id": device}))
        .map_err(|e| Refusal::Error(e.to_string()))?;
    let status = r.status().as_u16();
    if status == 503 || status == 429 {
        let after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
        return Err(Refusal::Busy(after.unwrap_or(1)));
    }
    if status != 200 {
        return Err(Refusal::Error(format!("login {status}")));
    }
    r.body_mut().read_json().map_err(|e| Refusal::Error(e.to_string()))
}

/// Why a sign-in did not succeed.
#[derive(Debug)]
enum Refusal {
    /// 503 or 429 with `Retry-After` (seconds): a phone waits that long and tries again.
    Busy(u64),
    Error(String),
}

fn thumbnails_made(a: &ureq::Agent, base: &str) -> u64 {
    let text = a.get(format!("{base}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("patrol_thumbnails_made_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("patrol_thumbnails_made_total in /metrics")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(Default)]
struct Tally {
    logins: AtomicU64,
    pushes: AtomicU64,
    applied: AtomicU64,
    rejected: AtomicU64,
    errors: AtomicU64,
    /// Sign-ins answered 503/429 with Retry-After (the caller waited and tried again).
    busy: AtomicU64,
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let callers = args.first().copied().unwrap_or(200);
    let seconds = args.get(1).copied().unwrap_or(60) as u64;
    let settle = args.get(2).copied().unwrap_or(10) as u64;
    let askers = args.get(3).copied().unwrap_or(100);

    let dir = TempDir::new("load-bench");
    let url = database_url(patrol_e2e::Backend::Sqlite, &dir).unwrap();
    let server = Server::start_with(
        &url,
        &dir.0.join("data"),
        vec![
            ("PATROL_FORWARDED_PROXIES".into(), "1".into()),
            // One line per refused sign-in would bury the figures.
            ("RUST_LOG".into(), "off".into()),
        ],
    );
    let pid = server.pid().expect("server running");
    let base = server.url();
    let a = agent();

    // The demo's first route and the checkpoints it walks (at least 4).
    let admin = login(&a, &base, "admin", &server.password("admin"), Id::now_v7(), "10.1.0.1").unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let site = get_json(&a, &format!("{base}/api/v1/sites"), &admin)[0]["id"].as_str().unwrap().to_string();
    let cps: Vec<Checkpoint> =
        serde_json::from_value(get_json(&a, &format!("{base}/api/v1/sites/{site}/checkpoints"), &admin)).unwrap();
    let routes: Vec<Route> =
        serde_json::from_value(get_json(&a, &format!("{base}/api/v1/sites/{site}/routes"), &admin)).unwrap();
    let route = routes.iter().find(|r| r.checkpoint_ids.len() >= 4).expect("a demo route of 4 checkpoints");
    let walk: Vec<Checkpoint> =
        route.checkpoint_ids[..4].iter().map(|id| cps.iter().find(|c| c.id == *id).unwrap().clone()).collect();
    let (site, route, route_len) = (route.site_id, route.id, route.checkpoint_ids.len());
    let password = server.password("patrol");

    std::thread::sleep(Duration::from_secs(2));
    let (base_rss, base_hwm, base_threads) = status(pid);
    eprintln!(
        "baseline: VmRSS {:.0} MB (VmHWM {:.0} MB, {base_threads} threads); {callers} callers for {seconds} s…",
        mb(base_rss),
        mb(base_hwm)
    );

    // Memory every 50 ms while the callers run.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let (mut peak, mut threads) = (0u64, 0u64);
            while sampling.load(Ordering::Relaxed) {
                let (rss, _, t) = status(pid);
                peak = peak.max(rss);
                threads = threads.max(t);
                std::thread::sleep(Duration::from_millis(50));
            }
            (peak, threads)
        })
    };

    let tally = Arc::new(Tally::default());
    let login_times = Arc::new(Mutex::new(Vec::new()));
    let push_times = Arc::new(Mutex::new(Vec::new()));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let first_rejection = Arc::new(Mutex::new(None::<String>));
    let start = Arc::new(Barrier::new(callers + 1));
    let workers: Vec<_> = (0..callers)
        .map(|i| {
            let addr = format!("10.0.{}.{}", i / 250, i % 250 + 1);
            let (tally, login_times, push_times, first_error, first_rejection, start) = (
                tally.clone(),
                login_times.clone(),
                push_times.clone(),
                first_error.clone(),
                first_rejection.clone(),
                start.clone(),
            );
            let (base, password, walk) = (base.clone(), password.clone(), walk.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let a = agent();
                    let device = Id::now_v7();
                    let mut chain: Option<Chain> = None;
                    let mut pending = Vec::new();
                    let mut t = 1_795_395_600_000i64;
                    let fail = |what: String| {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(what);
                    };
                    start.wait();
                    let deadline = Instant::now() + Duration::from_secs(seconds);
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        let v = match login(&a, &base, "patrol", &password, device, &addr) {
                            Ok(v) => v,
                            Err(Refusal::Busy(seconds)) => {
                                tally.busy.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_secs(seconds.clamp(1, 30)));
                                continue;
                            }
                            Err(Refusal::Error(e)) => {
                                fail(e);
                                std::thread::sleep(Duration::from_millis(100));
                                continue;
                            }
                        };
                        login_times.lock().unwrap().push(t0.elapsed().as_secs_f64());
                        tally.logins.fetch_add(1, Ordering::Relaxed);
                        let token = v["access_token"].as_str().unwrap().to_string();
                        let chain = chain.get_or_insert_with(|| {
                            Chain::new(v["person_id"].as_str().unwrap().parse().unwrap(), device)
                        });

                        // One patrol run of 4 checkpoints: 10 records (or the last ones
                        // again, when their push failed: the chain must stay whole).
                        if pending.is_empty() {
                            let run = Id::now_v7();
                            pending.push(
                                chain.record(
                                    RecordPayload::RunStarted { run_id: run, route_id: route, site_id: site },
                                    t,
                                ),
                            );
                            for cp in &walk {
                                t += 30_000;
                                pending.extend(visit(chain, run, cp, t));
                            }
                            // The demo routes are longer than 4 checkpoints: the rest are
                            // missed, with a reason, as a phone would send it.
                            let missed_reason = (route_len > walk.len()).then(|| "基准测试：只巡前四个点".to_string());
                            pending.push(chain.record(RecordPayload::RunFinished { run_id: run, missed_reason }, t));
                            t += 3_600_000;
                        }
                        let body = json!({"device_id": device, "sent_at_ms": t, "records": pending});
                        let t0 = Instant::now();
                        let resp = a
                            .post(format!("{base}/api/v1/sync/push"))
                            .header("authorization", format!("Bearer {token}"))
                            .send_json(&body);
                        let mut r = match resp {
                            Ok(r) => r,
                            Err(e) => {
                                fail(format!("push: {e}"));
                                continue;
                            }
                        };
                        let status = r.status().as_u16();
                        if status != 200 {
                            fail(format!("push {status}: {}", r.body_mut().read_to_string().unwrap_or_default()));
                            continue;
                        }
                        pending.clear();
                        push_times.lock().unwrap().push(t0.elapsed().as_secs_f64());
                        let answer: PushResponse = r.body_mut().read_json().unwrap();
                        tally.pushes.fetch_add(1, Ordering::Relaxed);
                        if answer.acked_seq != chain.seq() {
                            fail(format!("acked {} of {}", answer.acked_seq, chain.seq()));
                        }
                        for o in &answer.results {
                            let n = if o.status == RecordStatus::Rejected { &tally.rejected } else { &tally.applied };
                            n.fetch_add(1, Ordering::Relaxed);
                            if o.status == RecordStatus::Rejected {
                                let why = format!(
                                    "seq {} of 10: {}",
                                    (o.seq - 1) % 10 + 1,
                                    o.reason.clone().unwrap_or_default()
                                );
                                first_rejection.lock().unwrap().get_or_insert(why);
                            }
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    start.wait();
    let started = Instant::now();
    for w in workers {
        w.join().unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let (peak_rss, peak_threads) = sampler.join().unwrap();
    let (end_rss, hwm, _) = status(pid);
    eprintln!("load over after {wall:.1} s (VmRSS {:.0} MB); settling {settle} s…", mb(end_rss));
    std::thread::sleep(Duration::from_secs(settle));
    let (after_rss, _, after_threads) = status(pid);

    // One photo, then many first requests for its thumbnail at once.
    let device = Id::now_v7();
    let v = login(&a, &base, "patrol", &password, device, "10.1.0.2").unwrap();
    let token = v["access_token"].as_str().unwrap().to_string();
    let mut chain = Chain::new(v["person_id"].as_str().unwrap().parse().unwrap(), device);
    let photo = camera_jpeg(9);
    let sha = hex::encode(Sha256::digest(&photo));
    let taken = chain.record(
        RecordPayload::PhotoTaken {
            sha256: sha.clone(),
            bytes: photo.len() as u64,
            width: 640,
            height: 480,
            captured_at_ms: 1_795_395_600_000,
            latitude: None,
            longitude: None,
            context: PhotoContext { run_id: None, checkpoint_id: None, notice_id: None },
        },
        1_795_395_600_000,
    );
    let r = a
        .post(format!("{base}/api/v1/sync/push"))
        .header("authorization", format!("Bearer {token}"))
        .send_json(json!({"device_id": device, "sent_at_ms": 0, "records": [taken]}))
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "photo record pushed");
    let r = a
        .put(format!("{base}/api/v1/photos/{sha}/upload?offset=0"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/octet-stream")
        .send(&photo[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "photo uploaded");
    let decoded_before = thumbnails_made(&a, &base);
    let go = Arc::new(Barrier::new(askers));
    let asks: Vec<_> = (0..askers)
        .map(|_| {
            let (go, base, token, sha) = (go.clone(), base.clone(), token.clone(), sha.clone());
            std::thread::spawn(move || {
                let a = agent();
                go.wait();
                let t0 = Instant::now();
                let mut r = a
                    .get(format!("{base}/api/v1/photos/{sha}/thumb"))
                    .header("authorization", format!("Bearer {token}"))
                    .call()
                    .unwrap();
                let ok = r.status().as_u16() == 200 && !r.body_mut().read_to_vec().unwrap_or_default().is_empty();
                (ok, t0.elapsed().as_secs_f64())
            })
        })
        .collect();
    let answers: Vec<(bool, f64)> = asks.into_iter().map(|h| h.join().unwrap()).collect();
    let thumbs_ok = answers.iter().filter(|a| a.0).count();
    let slowest = answers.iter().map(|a| a.1).fold(0.0, f64::max);
    let decodes = thumbnails_made(&a, &base) - decoded_before;

    let mut lt = login_times.lock().unwrap().clone();
    let mut pt = push_times.lock().unwrap().clone();
    lt.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pt.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let t = &tally;
    println!("load: {callers} callers × {wall:.0} s, each login + 10-record push, repeatedly (SQLite, release build)");
    println!(
        "  logins {} ({:.1}/s, p50 {:.2} s, p99 {:.2} s)  pushes {} (p50 {:.3} s, p99 {:.3} s)  records applied {}  rejected {}  errors {}  busy (waited Retry-After) {}",
        t.logins.load(Ordering::Relaxed),
        t.logins.load(Ordering::Relaxed) as f64 / wall,
        percentile(&lt, 0.5),
        percentile(&lt, 0.99),
        t.pushes.load(Ordering::Relaxed),
        percentile(&pt, 0.5),
        percentile(&pt, 0.99),
        t.applied.load(Ordering::Relaxed),
        t.rejected.load(Ordering::Relaxed),
        t.errors.load(Ordering::Relaxed),
        t.busy.load(Ordering::Relaxed),
    );
    if let Some(e) = first_error.lock().unwrap().as_ref() {
        println!("  first error: {e}");
    }
    if let Some(e) = first_rejection.lock().unwrap().as_ref() {
        println!("  first rejected record: {e}");
    }
    println!(
        "  server RSS: baseline {:.0} MB  peak {:.0} MB sampled (VmHWM {:.0} MB)  {settle} s after {:.0} MB  | threads {base_threads} → {peak_threads} → {after_threads}",
        mb(base_rss),
        mb(peak_rss),
        mb(hwm),
        mb(after_rss),
    );
    println!(
        "thumbnails: {askers} concurrent first requests for one photo: {thumbs_ok} answered 200, slowest {:.2} s, decodes {decodes}",
        slowest
    );
    let (final_rss, _, _) = status(pid);
    println!("  server VmRSS after the thumbnails {:.0} MB", mb(final_rss));
    drop(server);
}
