//! Bad input everywhere gets a clear 4xx and changes nothing (checked against the
//! transparency log and the row counts before and after), and the photo store going
//! away for a while loses nothing: records are still accepted, photos complete later.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::record::{GENESIS_HASH, Record, RecordPayload};
use patrol_server::clock::Clock;
use serde_json::{Value, json};
use support::phone::{Demo, Phone, jpeg, notice, photo_taken};
use support::{Backend, TestServer};

/// What must not move when a request is refused.
async fn snapshot(s: &TestServer) -> Vec<i64> {
    s.numbers(&[
        "SELECT value FROM counters WHERE name = 'log'",
        "SELECT value FROM counters WHERE name = 'feed'",
        "SELECT COUNT(*) FROM records",
        "SELECT COUNT(*) FROM notices",
        "SELECT COUNT(*) FROM sites",
        "SELECT COUNT(*) FROM people",
        "SELECT COUNT(*) FROM checkpoints",
        "SELECT COUNT(*) FROM photos",
        "SELECT COUNT(*) FROM photo_chunks",
    ])
    .await
}

async fn raw(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    s.send(req).await
}

async fn bad_input_everywhere_gets_a_4xx_and_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (_, p) = notice(demo.site(), demo.dept("cleaning"), "楼道杂物", vec![], s.clock.now_ms() + 3_600_000);
    let last = officer.record(&s, p);
    officer.push(&s).await;
    let admin = s.token("admin").await;
    let site = demo.site();
    let before = snapshot(&s).await;

    let record = |seq: u64, device_time_ms: i64, payload: RecordPayload| Record {
        id: Id::now_v7(),
        author: officer.person,
        device: officer.device,
        seq,
        device_time_ms,
        prev_hash: officer.prev.clone(),
        payload,
    };
    let injection = "'; DROP TABLE notices; --";
    let mut cases: Vec<(&str, Method, String, String, Vec<u8>, &str)> = vec![
        ("501 records in one push", Method::POST, "/api/v1/sync/push".into(), officer.token.clone(),
         json!({"device_id": officer.device, "sent_at_ms": 0, "records": vec![serde_json::to_value(&last).unwrap(); 501]}).to_string().into_bytes(), "application/json"),
        ("invalid UTF-8", Method::POST, "/api/v1/sync/push".into(), officer.token.clone(), b"{\"device_id\": \"\xff\xfe\"}".to_vec(), "application/json"),
        ("JSON nested 10 000 deep", Method::POST, "/api/v1/sync/push".into(), officer.token.clone(), "[".repeat(10_000).into_bytes(), "application/json"),
        ("a 6 MB body", Method::POST, "/api/v1/sites".into(), admin.clone(), vec![b' '; 6 << 20], "application/json"),
        ("SQL in a site code", Method::POST, "/api/v1/sites".into(), admin.clone(),
         json!({"code": injection, "name_zh": "注入"}).to_string().into_bytes(), "application/json"),
        ("SQL in a login", Method::POST, "/api/v1/people".into(), admin.clone(),
         json!({"login": injection, "display_name": "x", "password": "long-enough-1"}).to_string().into_bytes(), "application/json"),
        ("an unknown field", Method::POST, "/api/v1/sites".into(), admin.clone(),
         json!({"code": "NEW", "name_zh": "新", "owner": "me"}).to_string().into_bytes(), "application/json"),
        ("path traversal as a photo name", Method::GET, "/api/v1/photos/..%2F..%2Fetc%2Fpasswd".into(), officer.token.clone(), vec![], "application/json"),
        ("path traversal as an upload", Method::PUT, "/api/v1/photos/..%2F..%2Fdata%2Fpatrol.db/upload?offset=0".into(), officer.token.clone(), b"x".to_vec(), "application/octet-stream"),
        ("a photo name that is not a hash", Method::GET, format!("/api/v1/photos/{}", "Z".repeat(64)), officer.token.clone(), vec![], "application/json"),
        ("control characters in a name", Method::POST, format!("/api/v1/sites/{site}/checkpoints"), admin.clone(),
         json!({"code": "C1", "name_zh": "门\u{0007}口", "latitude": 31.0, "longitude": 121.0}).to_string().into_bytes(), "application/json"),
        ("a latitude of 1000", Method::POST, format!("/api/v1/sites/{site}/checkpoints"), admin.clone(),
         json!({"code": "C2", "name_zh": "门口", "latitude": 1000.0, "longitude": 121.0}).to_string().into_bytes(), "application/json"),
        ("a cursor that is not one", Method::GET, "/api/v1/sync/pull?cursor=v1.-5".into(), officer.token.clone(), vec![], "application/json"),
        ("a day that is not a date", Method::GET, format!("/api/v1/sites/{site}/daily-logs/2026-02-30"), s.token("supervisor").await, vec![], "application/json"),
    ];
    // Timestamps: a device clock in 1970 and one a year ahead.
    for (what, t) in [("a record from 1970", 1_000i64), ("a record a year ahead", s.clock.now_ms() + 365 * 86_400_000)]
    {
        let r = record(officer.seq + 1, t, RecordPayload::Correction { corrects: Id::now_v7(), reason: "时钟".into() });
        cases.push((
            what,
            Method::POST,
            "/api/v1/sync/push".into(),
            officer.token.clone(),
            json!({"device_id": officer.device, "sent_at_ms": t, "records": [r]}).to_string().into_bytes(),
            "application/json",
        ));
    }
    // A record whose prev_hash is not hex.
    let mut bad_hash = serde_json::to_value(record(
        officer.seq + 1,
        s.clock.now_ms(),
        RecordPayload::Correction { corrects: Id::now_v7(), reason: "x".into() },
    ))
    .unwrap();
    bad_hash["prev_hash"] = json!("../../../../etc/passwd");
    cases.push((
        "a prev_hash that is a path",
        Method::POST,
        "/api/v1/sync/push".into(),
        officer.token.clone(),
        json!({"device_id": officer.device, "sent_at_ms": 0, "records": [bad_hash]}).to_string().into_bytes(),
        "application/json",
    ));

    let mut refused = 0;
    for (what, method, path, token, body, ct) in cases {
        let (status, answer) = raw(&s, method, &path, &token, ct, body).await;
        assert!(status.is_client_error(), "{what}: expected a 4xx, got {status} {answer}");
        assert!(answer["error"].is_string() && answer["message"].is_string(), "{what}: not a JSON error: {answer}");
        refused += 1;
        println!("{what}: {status} {}", answer["error"]);
    }
    assert_eq!(snapshot(&s).await, before, "a refused request changed something");
    println!(
        "{refused} bad requests refused; log size, feed, records, notices, sites, people, checkpoints and photos unchanged"
    );

    // A record that lies about its chain is refused too, and flagged for the auditor:
    // the only change is the fork on file and its leaf in the log.
    let mut liar = record(
        officer.seq + 1,
        s.clock.now_ms(),
        RecordPayload::Correction { corrects: Id::now_v7(), reason: "x".into() },
    );
    liar.prev_hash = GENESIS_HASH.into();
    let (status, answer) = officer.push_records(&s, &[liar]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let after = snapshot(&s).await;
    assert_eq!(after[0], before[0] + 1, "the fork is a leaf of the log");
    assert_eq!(after[1..], before[1..], "and nothing else moved");
    let forks = s.state.store.read(|c| c.query_one("SELECT COUNT(*) FROM forks", &[])?.int(0)).await.unwrap();
    assert_eq!(forks, 1);

    // Injection strings that are otherwise valid are stored as text, verbatim.
    let (status, cp) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/checkpoints"),
            Some(&admin),
            Some(json!({"code": "INJ", "name_zh": injection, "latitude": 31.0, "longitude": 121.0})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    let (_, listed) = s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&admin), None).await;
    assert!(listed.as_array().unwrap().iter().any(|c| c["name_zh"] == injection));
    let (status, _) = s.call(Method::GET, "/api/v1/notices", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "the notices table is still there");
}

async fn a_photo_store_outage_loses_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (bytes, sha) = jpeg(77);
    officer.record(&s, photo_taken(&sha, bytes.len(), None, None));
    let (_, p) =
        notice(demo.site(), demo.dept("engineering"), "配电房门未锁", vec![sha.clone()], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    // The photo store disappears: its directory is replaced by a plain file.
    let objects = s.dir.0.join("objects");
    std::fs::rename(&objects, s.dir.0.join("objects.away")).unwrap();
    std::fs::write(&objects, b"not a directory").unwrap();
    let resp = officer.push(&s).await;
    assert!(
        resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"),
        "records are still accepted: {resp}"
    );
    let (status, body) = officer.upload(&s, &sha, &bytes, 0).await;
    assert!(status.is_server_error(), "the phone is told to try later: {status} {body}");
    println!("photo store away: records accepted, upload answered {status}");
    // It comes back; the phone asks where the upload stands and the photo completes.
    std::fs::remove_file(&objects).unwrap();
    std::fs::rename(s.dir.0.join("objects.away"), &objects).unwrap();
    let (status, st) = s.call(Method::GET, &format!("/api/v1/photos/{sha}/upload"), Some(&officer.token), None).await;
    assert_eq!((status, st["complete"].as_bool()), (StatusCode::OK, Some(true)), "{st}");
    let req = Request::builder()
        .uri(format!("/api/v1/photos/{sha}"))
        .header("authorization", format!("Bearer {}", officer.token))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    let got = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&got)), sha);
    println!("photo store back: the photo completed with the right hash, no re-upload needed");
}

/// Hostile text that is otherwise valid, in the free-text fields people type on the
/// phone (a notice's location and description, a head's dispute reason, a supervisor's
/// log comment): stored verbatim, shown back verbatim through the API, escaped on the
/// console's pages, and no table harmed.
async fn hostile_text_in_typed_fields_is_kept_verbatim_and_harms_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let injection = "'; DROP TABLE notices; -- 与 \\ 反斜杠";
    let traversal = "../../../../etc/passwd%00.jpg";
    let script = "<script>alert('整改')</script>";
    let (id, mut p) = notice(demo.site(), demo.dept("engineering"), injection, vec![], s.clock.now_ms() + 3_600_000);
    if let RecordPayload::NoticeRaised { location, description, .. } = &mut p {
        *location = traversal.into();
        *description = format!("{injection} {script}");
    }
    officer.record(&s, p);
    let resp = officer.push(&s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");
    let mut head = Phone::sign_in(&s, "eng.head").await;
    head.pull(&s, "").await;
    head.record(&s, support::phone::act(id, patrol_protocol::notice::NoticeAction::Acknowledge, "", vec![], None));
    head.record(&s, support::phone::act(id, patrol_protocol::notice::NoticeAction::Dispute, script, vec![], None));
    let resp = head.push(&s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");

    let (status, view) =
        s.call(Method::GET, &format!("/api/v1/notices/{id}"), Some(&s.token("supervisor").await), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let text = view.to_string();
    for hostile in [injection, traversal, script] {
        let quoted = serde_json::to_string(hostile).unwrap();
        assert!(text.contains(quoted.trim_matches('"')), "{hostile:?} comes back verbatim: {text}");
    }
    let (status, all) = s.call(Method::GET, "/api/v1/notices", Some(&s.token("supervisor").await), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!all.as_array().unwrap().is_empty(), "the notices table is still there");

    // On the console the script is text, not markup.
    let (cookie, _) = support::web::sign_in(&s, "eng.head").await;
    let page = support::web::get(&s, &format!("/notices/{id}"), &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(script), "the script is not in the page as markup");
    assert!(page.body.contains("&lt;script&gt;"), "it is shown escaped");
    println!("hostile text in location, description and dispute reason: stored and shown verbatim, escaped in HTML");
}

/// A request that panics, in its handler or inside a transaction, gets the usual 500
/// (`internal`, in the reader's language) and leaves the pool whole: three times
/// more panics than the pool has connections, half of them at once, then ordinary
/// reads and writes still succeed, and nothing a panicking transaction wrote is kept.
async fn a_panicking_request_leaves_the_pool_whole(backend: Backend) {
    use axum::Router;
    use axum::routing::post;
    use patrol_server::error::ApiError;
    use patrol_server::store::DbError;

    let Some(mut s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let store = s.state.store.clone();
    async fn panics_in_handler() -> StatusCode {
        panic!("a bug in a handler")
    }
    let extra = Router::new()
        .route(
            "/test/panic-in-transaction",
            post(move || {
                let store = store.clone();
                async move {
                    let wrote: Result<(), DbError> = store
                        .write(|c| {
                            c.execute("INSERT INTO counters (name, value) VALUES ('panicked', 1)", &[])?;
                            panic!("a bug inside a transaction");
                        })
                        .await;
                    wrote.map_err(ApiError::from)
                }
            }),
        )
        .route("/test/panic-in-handler", post(panics_in_handler));
    s.router = patrol_server::app::router_with(s.state.clone(), extra);
    const POOL: usize = 4; // `TestServer` opens its store with four connections.
    let panic = |path: &'static str, english: bool| {
        let mut req = Request::builder().method(Method::POST).uri(path);
        if english {
            req = req.header("accept-language", "en");
        }
        s.send(req.body(Body::empty()).unwrap())
    };
    for round in 0..3 {
        let at_once: Vec<_> = (0..POOL)
            .flat_map(|i| {
                [panic("/test/panic-in-transaction", i % 2 == 1), panic("/test/panic-in-handler", i % 2 == 0)]
            })
            .collect();
        for (i, (status, body)) in futures_util::future::join_all(at_once).await.into_iter().enumerate() {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "round {round}, request {i}: {body}");
            assert_eq!(body["reason"], "internal", "round {round}, request {i}: {body}");
            assert_eq!(body["message_en"], patrol_protocol::reason::Reason::Internal.en());
            assert!(!body.to_string().contains("panic"), "what the panic said stays in the log: {body}");
        }
    }
    let (open, idle) = s.state.store.open_and_idle();
    assert!(open as usize <= POOL, "the pool never grows past its size: {open} open");
    println!("after {} panics: {open} connections open, {idle} idle", 3 * 2 * POOL);
    // Ordinary work goes on: a read, a write, a sign-in, each needing a connection.
    let (status, me) = s.call(Method::GET, "/api/v1/me", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    for i in 0..2 * POOL {
        let site = json!({"code": format!("PANIC{i}"), "name_zh": format!("恐慌后{i}")});
        let (status, body) = s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(site)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert!(!s.token("patrol").await.is_empty());
    let kept = s.numbers(&["SELECT COUNT(*) FROM counters WHERE name = 'panicked'"]).await;
    assert_eq!(kept, vec![0], "a transaction that panicked is rolled back");
}

/// The layers every answer passes: gzip when the client takes it (an error's body,
/// reworded in the reader's language first, too), a request id in every answer (a
/// proxy's own kept), and a time limit that gives up on a slow request with a 503 the
/// reader can act on (JSON for the API, a page for a browser) but leaves `/live`, a
/// stream that lasts on purpose, alone.
async fn answers_are_compressed_carry_a_request_id_and_give_up_in_time(backend: Backend) {
    use axum::Router;
    use axum::routing::get;
    use std::io::Read;
    let Some(s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let ask = |path: &str, headers: &[(&str, &str)]| {
        let mut req = Request::builder().uri(path).header("authorization", format!("Bearer {}", officer.token));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        tower::ServiceExt::oneshot(s.router.clone(), req.body(Body::empty()).unwrap())
    };
    let gunzip = |bytes: &[u8]| {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes).read_to_string(&mut out).expect("a gzip body");
        serde_json::from_str::<Value>(&out).expect("JSON inside")
    };
    // A pull, compressed, and the same pull plain.
    let resp = ask("/api/v1/sync/pull?cursor=", &[("accept-encoding", "gzip")]).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.parse::<Id>().is_ok(), "a request id is a UUID: {id}");
    let zipped = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    let pulled = gunzip(&zipped);
    let plain = ask("/api/v1/sync/pull?cursor=", &[]).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none(), "no gzip unless asked");
    assert_ne!(plain.headers()["x-request-id"].to_str().unwrap(), id, "one id per request");
    let plain = axum::body::to_bytes(plain.into_body(), 16 << 20).await.unwrap();
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(pulled["reference"], plain["reference"]);
    assert!(zipped.len() * 2 < serde_json::to_vec(&plain).unwrap().len(), "the reference data compresses");
    // An error, in English, compressed: reworded before it was zipped.
    let resp = ask(
        "/api/v1/notices/not-an-id",
        &[("accept-encoding", "gzip"), ("accept-language", "en"), ("x-request-id", "desk-7")],
    )
    .await
    .unwrap();
    assert!(resp.status().is_client_error());
    assert_eq!(resp.headers()["x-request-id"], "desk-7", "a proxy's id is kept");
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let body = if body.starts_with(&[0x1f, 0x8b]) { gunzip(&body) } else { serde_json::from_slice(&body).unwrap() };
    assert_eq!(body["message"], body["message_en"], "{body}");

    // The time limit, at one second.
    let quick = s.instance_with(|st| st.request_timeout_seconds = 1).await;
    async fn slow() -> &'static str {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        "late"
    }
    let extra = Router::new().route("/api/v1/test/slow", get(slow)).route("/test/slow", get(slow));
    let router = patrol_server::app::router_with(quick, extra);
    let call = |path: &str, accept: &str| {
        let req = Request::builder().uri(path).header("accept", accept).body(Body::empty()).unwrap();
        tower::ServiceExt::oneshot(router.clone(), req)
    };
    let started = std::time::Instant::now();
    let resp = call("/api/v1/test/slow", "application/json").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["reason"], "took_too_long", "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "given up before the handler finished");
    let resp = call("/test/slow", "text/html").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(page.contains("<html") && page.contains("秒"), "a page for a browser: {page}");
    // `/live` outlasts the limit: an event two polls in still arrives.
    let (cookie, _) = support::web::sign_in(&s, "eng.head").await;
    let req = Request::get("/live").header("cookie", &cookie).body(Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    use futures_util::StreamExt;
    let mut stream = resp.into_body().into_data_stream();
    stream.next().await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut officer = officer;
    let demo = Demo { reference: pulled["reference"].clone() };
    let (_, p) = notice(demo.site(), demo.dept("cleaning"), "垃圾桶满溢", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    officer.push(&s).await;
    let next =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.expect("the stream lives on");
    assert!(String::from_utf8(next.unwrap().unwrap().to_vec()).unwrap().contains("event: feed"));
}

/// /metrics after a day's push and a photo: latency histograms by route with their
/// buckets, the sync, photo and sign-in series, the pool and the process; and no
/// caller can add series (made-up methods, unknown paths, many of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_have_histograms_and_sync_series_that_no_caller_can_grow() {
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite always runs");
    let scrape = || async {
        let req = Request::get("/metrics").body(Body::empty()).unwrap();
        let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        String::from_utf8(axum::body::to_bytes(resp.into_body(), 4 << 20).await.unwrap().to_vec()).unwrap()
    };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (bytes, sha) = jpeg(41);
    officer.record(&s, photo_taken(&sha, bytes.len(), None, None));
    let (_, p) =
        notice(demo.site(), demo.dept("cleaning"), "楼道灯不亮", vec![sha.clone()], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    officer.push(&s).await;
    assert_eq!(officer.upload(&s, &sha, &bytes, 0).await.0, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "patrol", "password": "wrong-password", "device_id": Id::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let text = scrape().await;
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    for wanted in [
        "# TYPE patrol_http_request_duration_seconds histogram",
        "patrol_http_request_duration_seconds_bucket{method=\"POST\",path=\"/api/v1/sync/push\",status=\"200\",le=\"0.005\"}",
        "patrol_http_request_duration_seconds_bucket{method=\"POST\",path=\"/api/v1/sync/push\",status=\"200\",le=\"+Inf\"} 1",
        "patrol_http_request_duration_seconds_count{method=\"POST\",path=\"/api/v1/sync/push\",status=\"200\"} 1",
        "patrol_http_requests_total{method=\"POST\",path=\"/api/v1/sync/push\",status=\"200\"} 1",
        "patrol_sync_pushes_total{outcome=\"accepted\",reason=\"\"} 1",
        "patrol_sync_records_total{status=\"applied\"} 2",
        "patrol_photo_bytes_total ",
        "patrol_photos_completed_total 1",
        "patrol_logins_total{outcome=\"ok\"} 1",
        "patrol_logins_total{outcome=\"wrong\"} 1",
        "patrol_db_connections{state=\"open\"}",
        "patrol_db_connections{state=\"in_use\"}",
        "patrol_db_waiting 0",
        "patrol_process_resident_bytes ",
        "patrol_build_info{",
    ] {
        assert!(line(wanted).is_some(), "{wanted} in /metrics:\n{text}");
    }
    assert_eq!(line("patrol_photo_bytes_total ").unwrap(), format!("patrol_photo_bytes_total {}", bytes.len()));
    // The background work: the jobs ran a minute ago by the server's clock, nothing waits.
    patrol_server::jobs::run_due(&s.state).await.unwrap();
    s.clock.advance_ms(60_000);
    let text = scrape().await;
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    assert_eq!(line("patrol_outbox_pending ").as_deref(), Some("patrol_outbox_pending 0"), "{text}");
    assert_eq!(
        line("patrol_job_seconds_since_run{job=\"deliver_outbox\"}").as_deref(),
        Some("patrol_job_seconds_since_run{job=\"deliver_outbox\"} 60"),
        "{text}"
    );
    assert!(line("patrol_job_seconds_since_run{job=\"sweep_staged\"}").is_some(), "{text}");
    let series = |t: &str| t.lines().filter(|l| !l.starts_with('#')).count();
    // A refused push is counted by its reason's code: a record after a gap.
    let now = s.clock.now_ms();
    let _skipped = officer.record_at(now, RecordPayload::RunFinished { run_id: Id::now_v7(), missed_reason: None });
    let after_gap = officer.record_at(now, RecordPayload::RunFinished { run_id: Id::now_v7(), missed_reason: None });
    let (status, body) = officer.push_records(&s, &[after_gap]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let text = scrape().await;
    assert!(text.contains("patrol_sync_pushes_total{outcome=\"refused\",reason=\"sync_gap\"} 1"), "{text}");
    // Made-up methods and unknown paths, many of each, add at most their one series.
    let once = |i: usize| {
        let req = Request::builder()
            .method(Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap())
            .uri(format!("/no/such/path/{i}"))
            .body(Body::empty())
            .unwrap();
        s.send(req)
    };
    once(0).await;
    let before = series(&scrape().await);
    for i in 1..60 {
        once(i).await;
        let req = Request::get(format!("/api/v1/nothing-{i}")).body(Body::empty()).unwrap();
        s.send(req).await;
    }
    let after = scrape().await;
    assert!(!after.contains("BREW") && !after.contains("nothing-"), "made-up methods and paths are no label values");
    assert!(series(&after) <= before + 20, "{} series after, {before} before: callers grew them", series(&after));
}

both_backends!(
    a_panicking_request_leaves_the_pool_whole,
    answers_are_compressed_carry_a_request_id_and_give_up_in_time,
    bad_input_everywhere_gets_a_4xx_and_changes_nothing,
    a_photo_store_outage_loses_nothing,
    hostile_text_in_typed_fields_is_kept_verbatim_and_harms_nothing
);

/// The bounds no caller may pass: a push one byte over 4 MiB, a record with a field
/// the protocol does not know, a photo that is a JPEG header with an end marker and
/// nothing to decode, made-up HTTP methods growing /metrics, and a hundred first
/// requests for one thumbnail each decoding the photo.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_caller_passes_a_bound() {
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite always runs");
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };

    // A push body just over the documented 4 MiB, well under the server-wide limit.
    let padding = "x".repeat(patrol_protocol::sync::MAX_PUSH_BYTES);
    let body = json!({"device_id": officer.device, "sent_at_ms": s.clock.now_ms(), "records": [], "pad": padding});
    let (status, answer) =
        raw(&s, Method::POST, "/api/v1/sync/push", &officer.token, "application/json", body.to_string().into_bytes())
            .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");

    // Unknown fields, in the record or its payload, are refused, not dropped.
    let (_, p) = notice(demo.site(), demo.dept("cleaning"), "楼道杂物", vec![], s.clock.now_ms() + 3_600_000);
    let rec = officer.record(&s, p);
    officer.queued.clear();
    for (at, field) in [("", "signed_by"), ("payload", "priority")] {
        let mut v = serde_json::to_value(&rec).unwrap();
        if at.is_empty() {
            v[field] = json!(1)
        } else {
            v[at][field] = json!(1)
        }
        let body = json!({"device_id": officer.device, "sent_at_ms": s.clock.now_ms(), "records": [v]});
        let (status, answer) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(field), "the refusal names {field}: {answer}");
    }

    // A JPEG header with an end marker and no scan data is not a photo.
    let (real, _) = jpeg(7);
    let sos = real.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let sos_len = usize::from(u16::from_be_bytes([real[sos + 2], real[sos + 3]]));
    let mut hollow = real[..sos + 2 + sos_len].to_vec();
    hollow.extend_from_slice(&[0xFF, 0xD9]);
    let hollow_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&hollow));
    let mut officer = Phone::sign_in(&s, "patrol").await;
    officer.record(&s, photo_taken(&hollow_sha, hollow.len(), None, None));
    officer.push(&s).await;
    let (status, answer) = officer.upload(&s, &hollow_sha, &hollow, 0).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "not_an_image", "{answer}");

    // Made-up methods are one "other" series, however many.
    for i in 0..50 {
        let req = Request::builder()
            .method(Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap())
            .uri("/api/v1/sites")
            .body(Body::empty())
            .unwrap();
        s.send(req).await;
    }
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    let text = String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(!text.contains("BREW"), "made-up methods are not label values");
    assert!(text.contains("method=\"other\""), "they are counted as other");

    // A hundred first requests for one thumbnail decode the photo once.
    let (bytes, sha) = jpeg(9);
    officer.record(&s, photo_taken(&sha, bytes.len(), None, None));
    officer.push(&s).await;
    let (status, _) = officer.upload(&s, &sha, &bytes, 0).await;
    assert_eq!(status, StatusCode::OK);
    let decoded_before = patrol_server::photos::THUMBNAILS_MADE.load(std::sync::atomic::Ordering::Relaxed);
    let mut asks = Vec::new();
    for _ in 0..100 {
        let router = s.router.clone();
        let req = Request::get(format!("/api/v1/photos/{sha}/thumb"))
            .header("authorization", format!("Bearer {}", officer.token))
            .body(Body::empty())
            .unwrap();
        asks.push(tokio::spawn(async move { tower::ServiceExt::oneshot(router, req).await.unwrap().status() }));
    }
    for a in asks {
        assert_eq!(a.await.unwrap(), StatusCode::OK);
    }
    let decoded = patrol_server::photos::THUMBNAILS_MADE.load(std::sync::atomic::Ordering::Relaxed) - decoded_before;
    assert_eq!(decoded, 1, "100 concurrent first requests decoded the photo {decoded} times");
}
