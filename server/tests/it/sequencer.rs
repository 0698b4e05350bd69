//! The sequencer (issue 16): pushes commit with their log leaves and feed entries
//! pending and share no row, and one sequencer orders them within the merge delay.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use patrol_cases::sequencer;
use patrol_protocol::Id;
use patrol_protocol::sync::PushRequest;
use patrol_protocol::transparency::{self, parse_hash};
use patrol_server::store::Store;
use serde_json::{Value, json};

use patrol_server::clock::Clock;

use crate::support::phone::{Demo, Phone, notice};
use crate::support::{Backend, TestServer};

async fn count(store: &Store, sql: &'static str) -> i64 {
    store.read(move |c| c.query_one(sql, &[])?.int(0)).await.unwrap()
}

/// A second site with an engineering department and a patrol officer of its own.
async fn second_site(s: &TestServer) -> (Id, Id) {
    let admin = s.token("admin").await;
    let (status, site) =
        s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(json!({"code": "XY", "name_zh": "新园"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site_id: Id = site["id"].as_str().unwrap().parse().unwrap();
    let (status, dept) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/departments"),
            Some(&admin),
            Some(json!({"kind": "engineering"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dept}");
    let (status, person) = s
        .call(
            Method::POST,
            "/api/v1/people",
            Some(&admin),
            Some(json!({"login": "xy.patrol", "display_name": "新园巡检", "password": "walk-the-round-2x",
                        "roles": [{"role": "patrol_staff", "site_id": site_id}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    (site_id, dept["id"].as_str().unwrap().parse().unwrap())
}

/// The signed-in person a phone's token names, as a handler sees it.
async fn actor_of(s: &TestServer, phone: &Phone) -> patrol_server::policy::Actor {
    let req = axum::http::Request::builder()
        .uri("/api/v1/me")
        .header("authorization", format!("Bearer {}", phone.token))
        .body(())
        .unwrap();
    let (mut parts, _) = req.into_parts();
    <patrol_server::policy::Actor as axum::extract::FromRequestParts<patrol_server::AppState>>::from_request_parts(
        &mut parts, &s.state,
    )
    .await
    .unwrap()
}

/// Two pushes from different sites, each raising a notice: the first one's
/// transaction is held open after its writes, and the second commits meanwhile.
/// Before the sequencer both updated the log's and the feed's counter rows, so the
/// second waited for the first (here: for ever, since the first waits for it).
/// PostgreSQL only: SQLite has one writer at a time by design (docs/operations.md).
async fn two_pushes_of_different_sites_do_not_wait_on_each_other(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return;
    }
    let Some(s) = TestServer::start(backend).await else { return };
    let (site_b, dept_b) = second_site(&s).await;
    let mut a = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: a.pull(&s, "").await["reference"].clone() };
    let mut b = Phone::sign_in_with(&s, "xy.patrol", "walk-the-round-2x").await;
    let due = s.clock.now_ms() + 86_400_000;

    let (_, raised_a) = notice(demo.site(), demo.dept("engineering"), "3号楼漏水", vec![], due);
    let rec_a = a.record(&s, raised_a);
    let req_a =
        PushRequest { device_id: a.device, sent_at_ms: s.clock.now_ms(), records: vec![rec_a.clone()], clock: None };
    let actor_a = actor_of(&s, &a).await;
    let (written_tx, written_rx) = std::sync::mpsc::channel::<()>();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let (store, now) = (s.state.store.clone(), s.clock.now_ms());
    let held = tokio::task::spawn_blocking(move || {
        store.tx_blocking_or_refuse(true, |c| {
            let answer =
                patrol_cases::sync::push(c, &actor_a, &req_a, &patrol_cases::sync::canonicalize(&req_a), now, None)?;
            written_tx.send(()).unwrap();
            // Held open until the other push has committed (or the test gave up).
            let _ = commit_rx.recv_timeout(Duration::from_secs(60));
            Ok(answer)
        })
    });
    tokio::task::spawn_blocking(move || written_rx.recv_timeout(Duration::from_secs(30)).unwrap()).await.unwrap();

    let (_, raised_b) = notice(site_b, dept_b, "新园2号楼电梯异响", vec![], due);
    b.record(&s, raised_b);
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(20), b.push(&s)).await;
    let waited = started.elapsed();
    commit_tx.send(()).unwrap();
    let answer = answer.expect("the second site's push waited for the first one's transaction");
    assert_eq!(answer["results"][0]["status"], "applied", "{answer}");
    assert!(answer["results"][0]["notice_number"].as_str().is_some_and(|n| n.starts_with("XY-")), "{answer}");
    let first = held.await.unwrap().unwrap().unwrap();
    assert_eq!(first.results[0].status, patrol_protocol::sync::RecordStatus::Applied);
    assert!(first.results[0].notice_number.as_deref().is_some_and(|n| n.starts_with("JY-")));
    // Both integrated afterwards, once; the whole database passes the audit.
    s.sequenced().await;
    assert_eq!(count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await, 0);
    let report = patrol_server::audit::verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    eprintln!("the second push answered in {waited:?} while the first was open");
}

/// The feed never lets a reader skip an entry: T1 adds an entry and stays open, T2
/// adds a later one and commits, the sequencer runs and a reader reads to the end;
/// then T1 commits, the sequencer runs again, and the reader, going on from where it
/// was, gets T1's entry. (Positions given at commit time from one counter would have
/// given T1's entry the smaller position, behind the reader.) PostgreSQL only: SQLite's
/// one writer never lets T2 commit while T1 is open.
async fn a_reader_never_skips_an_entry_committed_later(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return;
    }
    let Some(s) = TestServer::start(backend).await else { return };
    s.sequenced().await;
    let store = s.state.store.clone();
    let now = s.clock.now_ms();
    let head = |store: Store| async move {
        store.read(|c| c.query_one("SELECT value FROM counters WHERE name = 'feed'", &[])?.int(0)).await.unwrap()
    };
    let start = head(store.clone()).await;
    let entry = |id: Id| patrol_cases::sync::feed::Entry { record_id: Some(id), ..Default::default() };
    let (first, second) = (Id::now_v7(), Id::now_v7());
    let (added_tx, added_rx) = std::sync::mpsc::channel::<i64>();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let st = store.clone();
    let t1 = tokio::task::spawn_blocking(move || {
        st.tx_blocking(true, |c| {
            let pending = patrol_cases::sync::feed::append(c, patrol_cases::sync::feed::Kind::Run, entry(first), now)?;
            added_tx.send(pending).unwrap();
            let _ = commit_rx.recv_timeout(Duration::from_secs(60));
            Ok(())
        })
    });
    let p1 =
        tokio::task::spawn_blocking(move || added_rx.recv_timeout(Duration::from_secs(30)).unwrap()).await.unwrap();
    let p2 = store
        .write(move |c| patrol_cases::sync::feed::append(c, patrol_cases::sync::feed::Kind::Run, entry(second), now))
        .await
        .unwrap();
    assert!(p2 > p1, "T2's entry was made after T1's");
    sequencer::catch_up(&store, now).await.unwrap();
    let read = |after: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |c| patrol_cases::sync::feed::after(c, after, 100))
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.position, r.entry.record_id.unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let seen = read(start).await;
    assert_eq!(seen.iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![second], "only what committed");
    let reader_at = seen.last().unwrap().0;
    commit_tx.send(()).unwrap();
    t1.await.unwrap().unwrap();
    sequencer::catch_up(&store, now).await.unwrap();
    let later = read(reader_at).await;
    assert_eq!(later.iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![first], "T1's entry is after the reader");
    assert!(later[0].0 > reader_at);
}

/// The sequencer's holder dies in the middle of a batch (its transaction rolls back);
/// nobody else may sequence until its lease expires; then a live instance takes the
/// lease and integrates every pending leaf exactly once, within the merge delay of the
/// takeover; the audit passes and the heads before and after are consistent, as a
/// witness checks them.
async fn a_sequencer_killed_mid_batch_is_taken_over(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    // The instance that will die: a push through it starts its sequencer, which takes
    // the lease and integrates the push.
    let dying = s.another_instance().await;
    let dying_router = patrol_server::app::router(dying.clone());
    let (_, raised) = notice(demo.site(), demo.dept("cleaning"), "门岗无人", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, raised);
    let body = officer.push_body(&s, &officer.queued.clone(), 0).await;
    officer.queued.clear();
    let req = axum::http::Request::post("/api/v1/sync/push")
        .header("authorization", format!("Bearer {}", officer.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(dying_router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let waited = Instant::now();
    while count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await > 0 {
        assert!(waited.elapsed() < Duration::from_secs(10), "the first instance's sequencer never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = dying.instance_id.clone();
    let holder = |s: &TestServer| {
        let store = s.state.store.clone();
        async move {
            store
                .read(|c| c.query_one("SELECT holder FROM job_leases WHERE name = 'sequence'", &[])?.text(0))
                .await
                .unwrap()
        }
    };
    assert_eq!(holder(&s).await, dead);
    // The witness's last head.
    let (status, before) = s.call(Method::GET, "/api/v1/audit/tree-head", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(before["tree_size"].as_u64().unwrap() >= 2, "{before}");
    // It dies: its state and its sequencer are gone, its lease is not.
    drop(dying_router);
    drop(dying);
    tokio::time::sleep(Duration::from_millis(2 * s.state.settings.merge_delay_ms)).await;
    let now = s.clock.now_ms();
    // Traffic meanwhile: a notice and its receipt, all pending.
    let due = now + 86_400_000;
    for i in 0..5 {
        let (_, raised) = notice(demo.site(), demo.dept("cleaning"), &format!("{i}号楼垃圾未清"), vec![], due);
        officer.record(&s, raised);
    }
    let answer = officer.push(&s).await;
    assert!(answer["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{answer}");
    let leaves_before = count(&s.state.store, "SELECT COUNT(*) FROM log_leaves").await;
    let pending = count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await;
    assert!(pending >= 10, "a record and a numbering leaf per notice wait: {pending}");
    // It dies mid-batch: the integration it began rolls back whole.
    let store = s.state.store.clone();
    let died = tokio::task::spawn_blocking(move || {
        store.tx_blocking(true, |c| -> Result<(), patrol_server::store::DbError> {
            let done = sequencer::integrate(c, now)?;
            assert!(done.leaves > 0);
            panic!("the instance died mid-batch")
        })
    })
    .await;
    assert!(died.is_err());
    assert_eq!(count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await, pending);
    assert_eq!(count(&s.state.store, "SELECT COUNT(*) FROM log_leaves").await, leaves_before);
    // Two live instances run their sequencers; the dead one's lease still holds them off.
    let other = s.another_instance().await;
    other.sequencer.start(&other);
    s.state.sequencer.start(&s.state);
    tokio::time::sleep(Duration::from_millis(3 * s.state.settings.merge_delay_ms)).await;
    assert_eq!(
        count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await,
        pending,
        "nobody sequences under another's lease"
    );
    // The lease runs out; within the merge delay (and a tick) a live instance has taken it over.
    s.clock.advance_ms(patrol_server::jobs::SEQUENCE.period_ms + 1);
    let expired = Instant::now();
    while count(&s.state.store, "SELECT COUNT(*) FROM log_pending").await > 0 {
        assert!(expired.elapsed() < Duration::from_secs(10), "nothing was integrated after the lease expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = expired.elapsed();
    assert!(
        took <= Duration::from_millis(s.state.settings.merge_delay_ms + 500),
        "integrated {took:?} after the takeover, beyond the merge delay"
    );
    let holder = holder(&s).await;
    assert!(holder == s.state.instance_id || holder == other.instance_id, "held by {holder}");
    // Every leaf once: as many leaves as were pending, each subject once per kind.
    assert_eq!(count(&s.state.store, "SELECT COUNT(*) FROM log_leaves").await, leaves_before + pending);
    assert_eq!(
        count(
            &s.state.store,
            "SELECT COUNT(*) FROM (SELECT kind, subject FROM log_leaves GROUP BY kind, subject HAVING COUNT(*) > 1) x"
        )
        .await,
        0
    );
    let report = patrol_server::audit::verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    // A witness's check: the head it saw before is a prefix of the head now.
    let (_, after) = s.call(Method::GET, "/api/v1/audit/tree-head", None, None).await;
    let (first, second) = (before["tree_size"].as_u64().unwrap(), after["tree_size"].as_u64().unwrap());
    assert_eq!(second, first + pending as u64);
    let (status, proof) =
        s.call(Method::GET, &format!("/api/v1/audit/consistency?first={first}&second={second}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    let hashes: Vec<_> =
        proof["proof"].as_array().unwrap().iter().map(|h| parse_hash(h.as_str().unwrap()).unwrap()).collect();
    let root = |v: &Value| parse_hash(v["root"].as_str().unwrap()).unwrap();
    assert!(transparency::verify_consistency(first, second, &root(&before), &root(&after), &hashes));
}

both_backends!(
    two_pushes_of_different_sites_do_not_wait_on_each_other,
    a_reader_never_skips_an_entry_committed_later,
    a_sequencer_killed_mid_batch_is_taken_over,
);
