//! Audit stories against both databases: a day's records and decisions are logged and
//! provable; an insider who edits a record, deletes a row, renumbers a notice, swaps a
//! photo, truncates the log or rebuilds it is caught by `audit verify` or a witness;
//! a monthly archive verifies with no server and fails after one flipped byte.

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::audit::{Leaf, SignedTreeHead};
use patrol_protocol::notice::NoticeAction;
use patrol_protocol::record::RecordPayload;
use patrol_protocol::transparency::{self, Hash};
use patrol_server::audit::{self, archive, log, verify, witness};
use patrol_server::clock::Clock;
use patrol_server::store::Store;
use serde_json::Value;
use support::phone::{Demo, Phone, act, jpeg, notice, photo_taken};
use support::{Backend, TestServer};

/// What a day left behind, for the tampering stories.
struct Day {
    site: Id,
    second_notice: Id,
    photo_sha: String,
    officer_device: Id,
    cleaning: Id,
}

/// A day: a run with a visit and a photo, two notices (numbered 1 and 2), a photo
/// upload, the head's receipt, a refused action, a fork offered, the log signed.
async fn a_day(s: &TestServer) -> Day {
    let mut officer = Phone::sign_in(s, "patrol").await;
    let demo = Demo { reference: officer.pull(s, "").await["reference"].clone() };
    let site = demo.site();
    let route = demo.route(0).clone();
    let run = Id::now_v7();
    officer.record(
        s,
        RecordPayload::RunStarted {
            run_id: run,
            route_id: route["id"].as_str().unwrap().parse().unwrap(),
            site_id: site,
        },
    );
    let (photo, photo_sha) = jpeg(42);
    officer.record(s, photo_taken(&photo_sha, photo.len(), Some(run), None));
    let due = s.clock.now_ms() + 48 * 3_600_000;
    let (first, p) = notice(site, demo.dept("engineering"), "3号楼电梯厅灯具损坏", vec![photo_sha.clone()], due);
    officer.record(s, p);
    let (second, p) = notice(site, demo.dept("cleaning"), "垃圾站垃圾桶满溢", vec![], due);
    officer.record(s, p);
    officer.record(s, RecordPayload::RunFinished { run_id: run, missed_reason: Some("泳池维修".into()) });
    let resp = officer.push(s).await;
    let numbers: Vec<&str> =
        resp["results"].as_array().unwrap().iter().filter_map(|r| r["notice_number"].as_str()).collect();
    assert_eq!(numbers, ["JY-2026-000001", "JY-2026-000002"]);
    let (status, _) = officer.upload(s, &photo_sha, &photo, 0).await;
    assert_eq!(status, StatusCode::OK);

    let mut head = Phone::sign_in(s, "eng.head").await;
    head.record(s, act(first, NoticeAction::Acknowledge, "", vec![], None));
    // Not the head's to close: kept and refused with a reason, a logged decision too.
    head.record(s, act(first, NoticeAction::VerifyPass, "", vec![], None));
    let resp = head.push(s).await;
    assert_eq!(resp["results"][1]["status"], "rejected", "{resp}");

    // A fork offered by the officer's phone: refused, flagged, logged.
    let mut forged = officer.record(s, RecordPayload::Correction { corrects: first, reason: "改写".into() });
    forged.seq = 2;
    forged.prev_hash = resp["acked_hash"].as_str().unwrap().to_string();
    let (status, _) = officer.push_records(s, &[forged]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    officer.queued.clear();
    // What the log holds within the merge delay.
    s.sequenced().await;
    Day { site, second_notice: second, photo_sha, officer_device: officer.device, cleaning: demo.dept("cleaning") }
}

async fn sql(store: &Store, statements: &[impl AsRef<str>]) {
    let store = store.clone();
    let statements: Vec<String> = statements.iter().map(|s| s.as_ref().to_string()).collect();
    tokio::task::spawn_blocking(move || {
        store.tx_blocking(true, |c| {
            for s in &statements {
                c.execute(s, &[])?;
            }
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
}

async fn verify(s: &TestServer) -> verify::Report {
    verify::verify(&s.state.store, &s.state.photos).await.unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| transparency::parse_hash(h.as_str().unwrap()).unwrap()).collect()
}

fn key_of(public: &Value) -> ed25519_dalek::VerifyingKey {
    let bytes: [u8; 32] = hex::decode(public["public_key"].as_str().unwrap()).unwrap().try_into().unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
}

async fn tree_head(s: &TestServer) -> SignedTreeHead {
    let (status, body) = s.call(Method::GET, "/api/v1/audit/tree-head", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn every_record_and_decision_is_logged_and_provable_without_a_login(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let first_head = tree_head(&s).await;
    a_day(&s).await;
    let report = verify(&s).await;
    assert!(report.ok(), "{}", report.render());
    assert!(report.notes.iter().any(|n| n.contains("fork")), "{}", report.render());

    // One leaf per stored record, plus the decisions: two numbers, one photo, one fork.
    let (records, kinds) = s
        .state
        .store
        .read(|c| {
            let n = c.query_one("SELECT COUNT(*) FROM records", &[])?.int(0)?;
            let kinds = c
                .query("SELECT kind, COUNT(*) FROM log_leaves GROUP BY kind ORDER BY kind", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.int(1)?)))
                .collect::<Result<Vec<_>, patrol_server::store::DbError>>()?;
            Ok((n, kinds))
        })
        .await
        .unwrap();
    let count = |k: &str| kinds.iter().find(|(x, _)| x == k).map_or(0, |(_, n)| *n);
    assert_eq!(count("record"), records);
    assert_eq!((count("notice_numbered"), count("photo_completed"), count("fork_flagged")), (2, 1, 1), "{kinds:?}");

    // The head is signed by the public key; no credentials needed for any of this.
    let (status, public) = s.call(Method::GET, "/api/v1/audit/public-key", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let key = key_of(&public);
    let head = tree_head(&s).await;
    assert_eq!(head.head.tree_size as i64, kinds.iter().map(|(_, n)| n).sum::<i64>());
    assert!(log::signature_ok(&head, &key));
    let root = transparency::parse_hash(&head.head.root).unwrap();

    // Consistency from the empty-day head to now (the empty log has no proof: size 0).
    assert_eq!(first_head.head.tree_size, 0);
    let (status, p) = s
        .call(Method::GET, &format!("/api/v1/audit/consistency?first=3&second={}", head.head.tree_size), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let third = s.state.store.read(|c| log::Reader::new(c).root(3)).await.unwrap();
    assert!(transparency::verify_consistency(3, head.head.tree_size, &third, &root, &hashes(&p["proof"])));

    // Inclusion by record id of the second notice's raising record.
    let raised = a_notice_record(&s).await;
    let (status, inc) = s.call(Method::GET, &format!("/api/v1/audit/inclusion?record_id={raised}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    let leaf = transparency::parse_hash(inc["leaf_hash"].as_str().unwrap()).unwrap();
    let index = inc["leaf_index"].as_u64().unwrap();
    assert!(transparency::verify_inclusion(index, head.head.tree_size, &leaf, &hashes(&inc["proof"]), &root));

    // Bad questions: clear 4xx JSON, nothing signed or changed.
    for q in [
        "consistency?first=0&second=3".to_string(),
        format!("consistency?first=3&second={}", head.head.tree_size + 1),
        "consistency?first=5&second=3".into(),
        "consistency?first=x&second=3".into(),
        "inclusion?index=1&record_id=0190c0de-0000-7000-8000-000000000000".into(),
        format!("inclusion?index={0}&tree_size={0}", head.head.tree_size),
        "check-code?number=JY-2026-000001&code=nonsense".into(),
    ] {
        let (status, body) = s.call(Method::GET, &format!("/api/v1/audit/{q}"), None, None).await;
        assert!(status.is_client_error(), "{q}: {status}");
        assert!(body["error"].is_string() && body["message"].is_string(), "{q}: {body}");
    }
    let (status, _) =
        s.call(Method::GET, "/api/v1/audit/inclusion?record_id=0190c0de-0000-7000-8000-000000000000", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(tree_head(&s).await, head, "asking does not sign new heads while the log stands still");
}

/// The id of the record that raised notice JY-2026-000002.
async fn a_notice_record(s: &TestServer) -> Id {
    s.state
        .store
        .read(|c| c.query_one("SELECT raised_record_id FROM notices WHERE number = 'JY-2026-000002'", &[])?.uuid(0))
        .await
        .unwrap()
}

async fn a_printed_verification_code_checks_out_against_the_log(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let code = audit::notice_code(&s.state.store, s.state.clock.now_ms(), day.second_notice)
        .await
        .unwrap()
        .expect("numbered notices have a code");
    let (status, ok) =
        s.call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000002&code={code}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ok["valid"], true, "{ok}");
    // Someone else's number with this code, or a code with another root, does not.
    let (_, other) =
        s.call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000001&code={code}"), None, None).await;
    assert_eq!(other["valid"], false);
    let mut forged = code.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let (_, bad) =
        s.call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000002&code={forged}"), None, None).await;
    assert_eq!(bad["valid"], false);
    // The code on paper stays checkable as the log grows.
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let (_, p) = notice(day.site, day.site, "x", vec![], s.clock.now_ms() + 1000);
    officer.record(&s, p);
    officer.push(&s).await;
    let (_, later) =
        s.call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000002&code={code}"), None, None).await;
    assert_eq!(later["valid"], true, "{later}");
    // The code is bound to what the notice says, not only to its number (issue 17,
    // hole 3): its text edited in the database, the same code no longer checks out;
    // its record edited to match (and re-hashed), neither; put back, it does again.
    let check = || async {
        let (_, c) = s
            .call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000002&code={code}"), None, None)
            .await;
        c
    };
    for (edit, undo) in [
        (
            "UPDATE notices SET description = description || '（已处理）' WHERE number = 'JY-2026-000002'",
            "UPDATE notices SET description = substr(description, 1, length(description) - 5) WHERE number = 'JY-2026-000002'",
        ),
        (
            "UPDATE notices SET location = '9号楼' WHERE number = 'JY-2026-000002'",
            "UPDATE notices SET location = (SELECT location FROM notices WHERE number = 'JY-2026-000001') WHERE number = 'JY-2026-000002'",
        ),
    ] {
        let before = check().await;
        assert_eq!(before["valid"], true, "{before}");
        sql(&s.state.store, &[edit]).await;
        let after = check().await;
        assert_eq!(after["valid"], false, "{edit}: {after}");
        assert!(after["reason"].as_str().unwrap().contains("differs from what was recorded"), "{after}");
        sql(&s.state.store, &[undo]).await;
    }
    // The record rewritten to say the same, its stored hash recomputed: not the logged one.
    let id = day.second_notice;
    let store = s.state.store.clone();
    store
        .write(move |c| {
            let r = c.query_one(
                "SELECT r.body FROM records r JOIN notices n ON n.raised_record_id = r.id WHERE n.id = $1",
                &patrol_server::params![id],
            )?;
            let mut rec: patrol_protocol::record::Record = serde_json::from_str(&r.text(0)?).unwrap();
            if let RecordPayload::NoticeRaised { description, .. } = &mut rec.payload {
                description.push('!');
            }
            let body = serde_json::to_string(&rec).unwrap();
            c.execute(
                "UPDATE records SET body = $1, hash = $2 WHERE id = $3",
                &patrol_server::params![body, rec.hash(), rec.id],
            )?;
            c.execute(
                "UPDATE notices SET description = description || '!' WHERE id = $1",
                &patrol_server::params![id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let rewritten = check().await;
    assert_eq!(rewritten["valid"], false, "{rewritten}");
    assert!(rewritten["reason"].as_str().unwrap().contains("not the one logged"), "{rewritten}");
}

async fn an_edited_record_body_is_found(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    sql(
        &s.state.store,
        &["UPDATE records SET body = REPLACE(body, '垃圾桶满溢', '垃圾桶已清') WHERE kind = 'notice_raised'"],
    )
    .await;
    let report = verify(&s).await;
    assert!(report.mentions("body does not match its hash"), "{}", report.render());
}

async fn a_deleted_records_row_is_found(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let device = day.officer_device;
    sql(&s.state.store, &[format!("DELETE FROM records WHERE device_id = '{device}' AND seq = 2")]).await;
    let report = verify(&s).await;
    assert!(report.mentions(&format!("device {device}: records 2..2 are missing")), "{}", report.render());
    assert!(report.mentions("gone from the database"), "{}", report.render());
}

async fn a_renumbered_notice_is_found(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    // An insider hides notice 2 behind a later number and moves the counter along.
    sql(
        &s.state.store,
        &[
            "UPDATE notices SET number = 'JY-2026-000009', counter = 9 WHERE number = 'JY-2026-000002'",
            "UPDATE notice_counters SET value = 9",
        ],
    )
    .await;
    let report = verify(&s).await;
    assert!(report.mentions("numbers 2..8 are missing"), "{}", report.render());
    assert!(report.mentions("no longer says what was logged"), "{}", report.render());
    // Swapping two numbers keeps the sequence whole; the log still tells.
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    sql(
        &s.state.store,
        &[
            "UPDATE notices SET number = 'tmp', counter = 0 WHERE number = 'JY-2026-000001'",
            "UPDATE notices SET number = 'JY-2026-000001', counter = 1 WHERE number = 'JY-2026-000002'",
            "UPDATE notices SET number = 'JY-2026-000002', counter = 2 WHERE number = 'tmp'",
        ],
    )
    .await;
    let report = verify(&s).await;
    assert!(!report.mentions("missing"), "{}", report.render());
    assert!(report.mentions("notice_numbered"), "{}", report.render());
}

async fn a_swapped_photo_file_is_found(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let path = s.dir.0.join("objects/photos").join(&day.photo_sha[..2]).join(format!("{}.jpg", day.photo_sha));
    assert!(path.exists());
    std::fs::write(&path, jpeg(99).0).unwrap();
    let report = verify(&s).await;
    assert!(
        report.mentions(&format!("photo {}: the stored file is not this photo", day.photo_sha)),
        "{}",
        report.render()
    );
}

async fn a_truncated_log_is_found(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    let head = tree_head(&s).await;
    let keep = head.head.tree_size as i64 - 3;
    sql(
        &s.state.store,
        &[
            format!("DELETE FROM log_leaves WHERE leaf_index >= {keep}"),
            format!("UPDATE counters SET value = {keep} WHERE name = 'log'"),
        ],
    )
    .await;
    let report = verify(&s).await;
    assert!(report.mentions("has no log leaf"), "{}", report.render());
    assert!(report.mentions(&format!("exists but the log has {keep} leaves")), "{}", report.render());
}

/// Reads every leaf, empties the log, and appends the leaves `alter` keeps (changed or
/// not): what an insider with the database (and so the log key) can do.
async fn rebuild_log(s: &TestServer, alter: impl Fn(Leaf) -> Option<Leaf> + Send + 'static, keep_heads: bool) {
    let store = s.state.store.clone();
    let now = s.clock.now_ms();
    tokio::task::spawn_blocking(move || {
        store.tx_blocking(true, |c| {
            let leaves: Vec<Leaf> = c
                .query("SELECT leaf FROM log_leaves ORDER BY leaf_index", &[])?
                .iter()
                .map(|r| Ok(serde_json::from_str(&r.text(0)?).unwrap()))
                .collect::<Result<_, patrol_server::store::DbError>>()?;
            c.execute("DELETE FROM log_leaves", &[])?;
            c.execute("DELETE FROM log_nodes", &[])?;
            if !keep_heads {
                c.execute("DELETE FROM tree_heads", &[])?;
            }
            // Integrated straight away, as the sequencer would, but without its head.
            let rebuilt: Vec<(String, String, String, i64)> = leaves
                .into_iter()
                .filter_map(&alter)
                .map(|l| (l.kind_str().to_string(), l.subject(), String::from_utf8(l.bytes()).unwrap(), now))
                .collect();
            let size = log::integrate(c, 0, &rebuilt)?;
            c.execute("UPDATE counters SET value = $1 WHERE name = 'log'", &patrol_server::params![size as i64])?;
            if !keep_heads {
                log::sign_head(c, now + 1)?;
            }
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
}

/// Every refusal reason softened to "ok", in records and log alike.
fn soften(l: Leaf) -> Option<Leaf> {
    Some(match l {
        Leaf::Record { reason: Some(_), record_id, device_id, seq, record_hash, received_ms, status } => {
            Leaf::Record { reason: Some("ok".into()), record_id, device_id, seq, record_hash, received_ms, status }
        }
        other => other,
    })
}

/// Erases the department head's refused attempt to close a notice, as if it had never
/// been made: the record, its timeline entry and feed entry, the phone's acknowledged
/// position, and (with `rebuild_log`) its leaf. Returns the record's id.
async fn erase_refused_close(s: &TestServer) -> Id {
    let (id, device, seq) = s
        .state
        .store
        .read(|c| {
            let r = c.query_one(
                "SELECT id, device_id, seq FROM records WHERE kind = 'notice_acted' AND status = 'rejected'",
                &[],
            )?;
            Ok((r.uuid(0)?, r.text(1)?, r.int(2)?))
        })
        .await
        .unwrap();
    sql(
        &s.state.store,
        &[
            format!("DELETE FROM notice_events WHERE record_id = '{id}'"),
            format!("DELETE FROM feed WHERE record_id = '{id}'"),
            format!("DELETE FROM records WHERE id = '{id}'"),
            format!(
                "UPDATE devices SET acked_seq = {0}, acked_hash = (SELECT hash FROM records WHERE device_id = '{device}' \
                 AND seq = {0}) WHERE device_id = '{device}'",
                seq - 1
            ),
        ],
    )
    .await;
    id
}

async fn a_rebuilt_log_is_caught_by_verify_or_by_a_witness(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    // A real listener: the witness is a separate program speaking HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = s.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let state_dir = s.dir.0.join("witness");
    let observe = |url: String, dir: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || witness::observe(&url, &dir)).await.unwrap().unwrap()
    };

    let day = a_day(&s).await;
    let v1 = observe(url.clone(), state_dir.clone()).await;
    let witness::Verdict::Consistent { from: 0, to: seen } = v1 else { panic!("{v1:?}") };
    // More work; the witness sees the log grow consistently.
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let (_, p) = notice(day.site, day.site, "楼道灯不亮", vec![], s.clock.now_ms() + 1000);
    officer.record(&s, p);
    officer.push(&s).await;
    let v2 = observe(url.clone(), state_dir.clone()).await;
    assert!(matches!(v2, witness::Verdict::Consistent { from, to } if from == seen && to > seen), "{v2:?}");

    // The insider erases the head's refused closing attempt and rebuilds the log without it.
    let erased = erase_refused_close(&s).await;
    let drop_erased = move |l: Leaf| match &l {
        Leaf::Record { record_id, .. } if *record_id == erased => None,
        _ => Some(l),
    };
    rebuild_log(&s, drop_erased, true).await;
    // Kept heads give it away to `audit verify` …
    let report = verify(&s).await;
    assert!(report.mentions("its root is not the root of the stored leaves"), "{}", report.render());
    // … so a careful insider deletes them and signs anew with the key in the database.
    // Nothing else tells: every projection is what the remaining records give.
    rebuild_log(&s, drop_erased, false).await;
    let report = verify(&s).await;
    assert!(report.ok(), "the database alone cannot tell (docs/audit.md): {}", report.render());
    // The day goes on and the log grows past what the witness saw.
    let (_, p) = notice(day.site, day.cleaning, "楼道灯仍不亮", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    officer.push(&s).await;
    // The witness remembers what was signed before.
    let v3 = observe(url.clone(), state_dir.clone()).await;
    let witness::Verdict::Alarm(why) = v3 else { panic!("the witness missed a rewritten log: {v3:?}") };
    assert!(why.contains("rewritten") || why.contains("fork"), "{why}");
    let alarms = std::fs::read_to_string(state_dir.join("alarms.jsonl")).unwrap();
    assert!(alarms.contains("evidence"));
    let heads = std::fs::read_to_string(state_dir.join("heads.jsonl")).unwrap();
    assert_eq!(heads.lines().count(), 3, "every head seen is kept");

    // And the CLI: exit 2 with the alarm on stderr.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_patrol-server"))
            .args(["audit", "witness", "--url", &url, "--state-dir"])
            .arg(&state_dir)
            .env_remove("PATROL_DATABASE_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALARM"));
}

/// Refused as "applied", or with a softer reason, in records and log alike: the log
/// is consistent, but applying the records again decides as the server did.
async fn an_outcome_rewritten_with_its_log_is_caught_by_applying_the_records_again(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    sql(&s.state.store, &["UPDATE records SET reason = 'ok' WHERE reason IS NOT NULL"]).await;
    rebuild_log(&s, soften, false).await;
    let report = verify(&s).await;
    assert!(!report.mentions("root"), "the log itself is consistent: {}", report.render());
    assert!(
        report.mentions("applied again it is rejected (a notice that is Acknowledged cannot be given the action VerifyPass) but the database keeps it rejected (ok)"),
        "{}",
        report.render()
    );
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    sql(
        &s.state.store,
        &["UPDATE records SET status = 'applied', reason = NULL, reason_zh = NULL WHERE status = 'rejected'"],
    )
    .await;
    let applied = |l: Leaf| {
        Some(match l {
            Leaf::Record { record_id, device_id, seq, record_hash, received_ms, .. } => Leaf::Record {
                status: "applied".into(),
                reason: None,
                record_id,
                device_id,
                seq,
                record_hash,
                received_ms,
            },
            other => other,
        })
    };
    rebuild_log(&s, applied, false).await;
    let report = verify(&s).await;
    assert!(report.mentions("applied again it is rejected"), "{}", report.render());
    assert!(report.mentions("but the database keeps it applied"), "{}", report.render());
}

/// `patrol-server audit verify` on the test server's database and data directory.
async fn cli_verify(s: &TestServer) -> std::process::Output {
    let (url, dir) = (s.state.settings.database_url.clone(), s.dir.0.clone());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_patrol-server"))
            .args(["audit", "verify"])
            .env("PATROL_DATABASE_URL", url)
            .env("PATROL_DATA_DIR", dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn the_verify_command_reports_and_fails_on_a_finding(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let out = cli_verify(&s).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    sql(&s.state.store, &[format!("DELETE FROM records WHERE device_id = '{}' AND seq = 1", day.officer_device)]).await;
    let out = cli_verify(&s).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("are missing"), "{}", String::from_utf8_lossy(&out.stdout));
}

async fn a_monthly_archive_verifies_offline_and_fails_after_one_flipped_byte(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    let file = s.dir.0.join("JY-2026-11.jsonl");
    let (store, now) = (s.state.store.clone(), s.clock.now_ms());
    let bytes = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let n = archive::write_archive(&store, "JY", "2026-11", now, &Default::default(), &mut out).unwrap();
        assert!(n >= 8, "{n} entries");
        out
    })
    .await
    .unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let report = archive::verify_archive(&mut &bytes[..], None, &Default::default()).unwrap();
    assert!(report.ok(), "{}", report.render());
    assert!(report.records >= 7, "{}", report.render());
    // Another month of the site is empty but still signed and checkable.
    let (store, now) = (s.state.store.clone(), s.clock.now_ms());
    let empty = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        // Nothing but its index: October is over.
        assert_eq!(archive::write_archive(&store, "JY", "2026-10", now, &Default::default(), &mut out).unwrap(), 1);
        assert!(archive::write_archive(&store, "JY", "2026-13", now, &Default::default(), &mut Vec::new()).is_err());
        assert!(archive::write_archive(&store, "NOPE", "2026-10", now, &Default::default(), &mut Vec::new()).is_err());
        out
    })
    .await
    .unwrap();
    assert!(archive::verify_archive(&mut &empty[..], None, &Default::default()).unwrap().ok());

    // The CLI, with no database anywhere in its environment.
    let cli = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_patrol-server"))
            .args(["audit", "verify-archive"])
            .arg(path)
            .env_remove("PATROL_DATABASE_URL")
            .env("PATROL_DATA_DIR", "/nonexistent/patrol-no-data")
            .output()
            .unwrap()
    };
    let out = cli(&file);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!std::path::Path::new("/nonexistent/patrol-no-data").exists());

    // Every single flipped byte fails: a sample across the whole file.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let step = (text.len() / 40).max(1);
    for at in (0..text.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[at] = match flipped[at] {
            b'0' => b'1',
            b'\n' => continue,
            b if b.is_ascii_alphanumeric() => {
                if b == b'a' {
                    b'b'
                } else {
                    b'a'
                }
            }
            b'"' | b'{' | b'}' | b':' | b',' | b'[' | b']' => b'x',
            _ => continue,
        };
        let failed = match archive::verify_archive(&mut &flipped[..], None, &Default::default()) {
            Ok(r) => !r.ok(),
            Err(_) => true,
        };
        assert!(failed, "a byte flipped at {at} went unnoticed");
    }
    let mut flipped = bytes.clone();
    let at = text.find("\"proof\":[\"").unwrap() + 10;
    flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
    let bad = s.dir.0.join("flipped.jsonl");
    std::fs::write(&bad, &flipped).unwrap();
    let out = cli(&bad);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    // A truncated archive fails too.
    let cut = &bytes[..text.rfind("{\"end\"").unwrap()];
    assert!(!archive::verify_archive(&mut &cut[..], None, &Default::default()).unwrap().ok());
    // Pinned to another key, it fails.
    let other = "00".repeat(32);
    assert!(!archive::verify_archive(&mut &bytes[..], Some(&other), &Default::default()).unwrap().ok());
}

async fn a_person_who_left_is_shown_without_a_name_and_nothing_breaks(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let supervisor = Phone::sign_in(&s, "supervisor").await;
    let path = format!("/api/v1/notices/{}", day.second_notice);
    let (_, before) = s.call(Method::GET, &path, Some(&supervisor.token), None).await;
    assert!(!before["issuer_name"].as_str().unwrap().starts_with("已离职人员"));
    sql(&s.state.store, &["UPDATE people SET active = 0 WHERE login = 'patrol'"]).await;
    let (_, after) = s.call(Method::GET, &path, Some(&supervisor.token), None).await;
    assert!(after["issuer_name"].as_str().unwrap().starts_with("已离职人员 #"), "{after}");
    assert_eq!(after["issuer_id"], before["issuer_id"]);
    let report = verify(&s).await;
    assert!(report.ok(), "{}", report.render());
}

/// The log's key is outside the database (issue 17, hole 1): the table keeps public
/// halves only and the key file is readable by its owner alone. Someone with the
/// database but not the file who drops a record and rebuilds the log cannot sign its
/// head under the log's key (the signature fails), and one who adds a key of their own
/// to the table and signs with it is found by `audit verify` run beside the key file.
async fn the_log_key_is_outside_the_database_and_an_insider_cannot_sign(backend: Backend) {
    use ed25519_dalek::Signer;
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    let store = s.state.store.clone();
    let secrets =
        store.read(|c| c.query_one("SELECT COUNT(*) FROM log_keys WHERE secret_hex <> ''", &[])?.int(0)).await.unwrap();
    assert_eq!(secrets, 0, "no secret in the database");
    let file = s.state.settings.effective_log_key_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let head = tree_head(&s).await;
    assert!(log::hold_key_file(&file).unwrap().contains(&head.key_id), "the file holds the signing key");
    assert!(verify(&s).await.ok());

    // An insider drops the last record's leaf, rebuilds the tree and signs a head under
    // the log's key id with the only key they have: their own.
    let theirs = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let key_id = head.key_id.clone();
    let forged = store
        .write(move |c| {
            let size = log::size(c)? - 1;
            c.execute("DELETE FROM log_leaves WHERE leaf_index = $1", &patrol_server::params![size as i64])?;
            c.execute("UPDATE counters SET value = $1 WHERE name = 'log'", &patrol_server::params![size as i64])?;
            let root = hex::encode(log::Reader::new(c).root(size)?);
            let h = patrol_protocol::audit::TreeHead { tree_size: size, timestamp_ms: 1, root };
            let sig = hex::encode(theirs.sign(&h.signing_bytes()).to_bytes());
            c.execute(
                "INSERT INTO tree_heads (tree_size, timestamp_ms, root, key_id, signature) VALUES ($1, $2, $3, $4, $5)",
                &patrol_server::params![size as i64, 1i64, h.root.clone(), key_id.clone(), sig],
            )?;
            Ok(size)
        })
        .await
        .unwrap();
    let report = verify(&s).await;
    assert!(report.mentions(&format!("head of size {forged}")), "{}", report.render());
    // Or adds their own key to the table and signs with it.
    let theirs = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let public = hex::encode(theirs.verifying_key().to_bytes());
    store
        .write(move |c| {
            c.execute(
                "INSERT INTO log_keys (key_id, secret_hex, public_hex, created_ms) VALUES ('insider0000000000', '', $1, 9)",
                &patrol_server::params![public],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let report = verify(&s).await;
    assert!(
        report.mentions("log key insider0000000000 is in the database but not in the key file"),
        "{}",
        report.render()
    );
}

/// The log's heads as C2SP checkpoints (issue 17, item 2): read and verified by an
/// independent implementation of c2sp.org/signed-note and c2sp.org/tlog-checkpoint
/// (Cloudflare's `signed_note` and `tlog_tiles` crates), with the verifier key the
/// server publishes; the same size and root as the signed head; a note with its size
/// changed, or signed by another key, does not verify.
async fn checkpoints_are_c2sp_notes_an_independent_implementation_verifies(backend: Backend) {
    use signed_note::{Note, StandardVerifier, VerifierList};
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    let text = |path: &'static str| {
        let router = s.router.clone();
        async move {
            let req = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
            axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap().to_vec()
        }
    };
    let vkey = String::from_utf8(text("/api/v1/audit/checkpoint-key").await).unwrap();
    let note_bytes = text("/api/v1/audit/checkpoint").await;
    let head = tree_head(&s).await;
    let verifiers = || VerifierList::new(vec![Box::new(StandardVerifier::new(&vkey).unwrap())]);
    let note = Note::from_bytes(&note_bytes).unwrap();
    let (verified, unverified) = note.verify(&verifiers()).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(cp.size(), head.head.tree_size);
    assert_eq!(hex::encode(cp.hash().0), head.head.root);
    assert!(cp.origin().starts_with("patrol.invalid/log/"), "{}", cp.origin());
    assert!(vkey.starts_with(&format!("{}+", cp.origin())), "{vkey}");
    // Deterministic: asked again, the same note.
    assert_eq!(text("/api/v1/audit/checkpoint").await, note_bytes);
    // A note whose size was changed no longer verifies.
    let forged = String::from_utf8(note_bytes.clone()).unwrap().replacen(
        &format!("\n{}\n", cp.size()),
        &format!("\n{}\n", cp.size() + 1),
        1,
    );
    let forged = Note::from_bytes(forged.as_bytes()).unwrap();
    assert!(forged.verify(&verifiers()).is_err(), "a changed size still verified");
    // Nor is a note signed by another key accepted under the log's name.
    let (_, other_vkey) = {
        let theirs = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        ((), signed_note::new_ed25519_verifier_key(cp.origin(), &theirs.verifying_key()))
    };
    let others = VerifierList::new(vec![Box::new(StandardVerifier::new(&other_vkey).unwrap())]);
    assert!(note.verify(&others).is_err(), "verified under another key");
}

/// A cosigning witness (`audit witness-serve`) on a loopback port, as the company
/// office or the owners' committee would run it: its URL and verifier key.
async fn spawn_witness(dir: std::path::PathBuf, name: &str, log_key: &str) -> (String, String) {
    use patrol_server::audit::witness_server::{Witness, router};
    let w = std::sync::Arc::new(Witness::open(&dir, name, &[log_key.to_string()]).unwrap());
    let key = w.verifier_key();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(w)).await });
    (url, key)
}

async fn get_text(router: &axum::Router, path: &str) -> (StatusCode, String) {
    let req = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(router.clone(), req).await.unwrap();
    let status = resp.status();
    (status, String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap())
}

async fn submit(
    s: &TestServer,
    to: &[audit::witnessed::WitnessEndpoint],
) -> Vec<Result<audit::witnessed::Submitted, String>> {
    let (store, to, now) = (s.state.store.clone(), to.to_vec(), s.clock.now_ms());
    tokio::task::spawn_blocking(move || audit::witnessed::submit_blocking(&store, &to, now)).await.unwrap()
}

/// What a log operator holding the key does to show one witness one history and
/// another witness another: the log is cut back to `keep` leaves and grown again with
/// the same number of leaves, each a little different, and a head signed.
async fn regrow_differently(s: &TestServer, keep: u64) {
    fn nudge(v: &mut Value) {
        if let Some(o) = v.as_object_mut() {
            for (k, x) in o.iter_mut() {
                if (k == "received_ms" || k == "at_ms") && x.is_i64() {
                    *x = (x.as_i64().unwrap() + 1).into();
                } else {
                    nudge(x);
                }
            }
        }
    }
    let store = s.state.store.clone();
    let now = s.clock.now_ms();
    tokio::task::spawn_blocking(move || {
        store.tx_blocking(true, |c| {
            let mut regrown = Vec::new();
            for r in c.query(
                "SELECT kind, subject, leaf, at_ms FROM log_leaves WHERE leaf_index >= $1 ORDER BY leaf_index",
                &patrol_server::params![keep as i64],
            )? {
                let mut v: Value = serde_json::from_str(&r.text(2)?).unwrap();
                nudge(&mut v);
                let leaf: Leaf = serde_json::from_value(v).unwrap();
                regrown.push((r.text(0)?, r.text(1)?, String::from_utf8(leaf.bytes()).unwrap(), r.int(3)?));
            }
            c.execute("DELETE FROM log_leaves WHERE leaf_index >= $1", &patrol_server::params![keep as i64])?;
            for level in 1..48i64 {
                c.execute(
                    "DELETE FROM log_nodes WHERE level = $1 AND node_index >= $2",
                    &patrol_server::params![level, (keep >> level) as i64],
                )?;
            }
            c.execute("DELETE FROM tree_heads WHERE tree_size > $1", &patrol_server::params![keep as i64])?;
            log::integrate(c, keep, &regrown)?;
            log::sign_head(c, now + 5).map(|_| ())
        })
    })
    .await
    .unwrap()
    .unwrap();
}

/// Issue 17, holes 5 and 6: two witnesses run by outsiders cosign the log's C2SP
/// checkpoints through the tlog-witness protocol; the cosignatures are served beside
/// the checkpoint and read by an independent signed-note implementation; a 2-of-2
/// policy holds `audit verify` and check-code. Then the operator shows each witness
/// its own history after a common checkpoint: each accepts its own, the first refuses
/// the other's, comparing their states proves the split view, and the policy accepts
/// neither copy's new checkpoint, so a code printed after the fork does not check out.
async fn witnesses_cosign_and_a_split_view_is_caught_and_refused(backend: Backend) {
    use audit::cosign::{Checkpoint, NoteKey, Policy};
    use audit::witnessed::{Submitted, parse_witnesses};
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let (_, log_key) = get_text(&s.router, "/api/v1/audit/checkpoint-key").await;
    let (office_dir, committee_dir) = (s.dir.0.join("w-office"), s.dir.0.join("w-committee"));
    let (u1, k1) = spawn_witness(office_dir.clone(), "witness.example/office", &log_key).await;
    let (u2, k2) = spawn_witness(committee_dir.clone(), "witness.example/committee", &log_key).await;
    let both = parse_witnesses(&format!("{u1} {k1}; {u2} {k2}")).unwrap();
    let policy = Policy::new(&[k1.clone(), k2.clone()], None).unwrap();

    let first = submit(&s, &both).await;
    let n0 = tree_head(&s).await.head.tree_size;
    assert_eq!(first, vec![Ok(Submitted::Cosigned(n0)), Ok(Submitted::Cosigned(n0))]);
    assert_eq!(submit(&s, &both).await, vec![Ok(Submitted::UpToDate(n0)), Ok(Submitted::UpToDate(n0))]);

    // Served beside the checkpoint by an instance configured with the witnesses.
    let configured = s.instance_with(|st| st.witnesses = format!("{u1} {k1}; {u2} {k2}")).await;
    let router = patrol_server::router(configured);
    let (status, note) = get_text(&router, "/api/v1/audit/checkpoint/witnessed").await;
    assert_eq!(status, StatusCode::OK, "{note}");
    let cp = Checkpoint::parse(&note).unwrap();
    assert_eq!(cp.size, n0);
    assert!(cp.signed_by(&NoteKey::parse(&log_key).unwrap()));
    assert_eq!(policy.check(&cp).unwrap().len(), 2);
    let (_, current) = get_text(&router, "/api/v1/audit/checkpoint").await;
    assert_eq!(current, note, "the newest checkpoint carries its cosignatures");
    // Without witnesses configured there is nothing witnessed to serve.
    assert_eq!(get_text(&s.router, "/api/v1/audit/checkpoint/witnessed").await.0, StatusCode::NOT_FOUND);
    // The independent implementation: Cloudflare's signed_note reads the three lines,
    // verifies the log's and leaves the two cosignatures as signatures it has no
    // verifier for, with the key ids it computes itself for cosignature/v1 keys.
    let parsed = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    let verifiers =
        signed_note::VerifierList::new(vec![Box::new(signed_note::StandardVerifier::new(&log_key).unwrap())]);
    let (verified, unverified) = parsed.verify(&verifiers).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 2));
    for (sig, key) in unverified.iter().zip([&k2, &k1]) {
        let key = NoteKey::parse(key).unwrap();
        assert_eq!(sig.name(), key.name);
        let typed = [&[0x04u8][..], key.key.as_bytes()].concat();
        assert_eq!(sig.id(), signed_note::key_id(&key.name, &typed));
        assert_eq!(sig.signature().len(), 8 + 64, "timestamp and signature");
    }
    let report = verify::verify_with(&s.state.store, &s.state.photos, &policy).await.unwrap();
    assert!(report.ok(), "{}", report.render());

    // The log grows honestly, and only the office sees it.
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let (late, p) = notice(day.site, day.cleaning, "地下车库积水", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    officer.push(&s).await;
    s.sequenced().await;
    let office = parse_witnesses(&format!("{u1} {k1}")).unwrap();
    let committee = parse_witnesses(&format!("{u2} {k2}")).unwrap();
    let n1 = tree_head(&s).await.head.tree_size;
    assert!(n1 > n0);
    assert_eq!(submit(&s, &office).await, vec![Ok(Submitted::Cosigned(n1))]);
    // The operator cuts back to what both saw and grows another history for the committee.
    regrow_differently(&s, n0).await;
    assert_eq!(submit(&s, &committee).await, vec![Ok(Submitted::Cosigned(n1))], "consistent with what it saw");
    // The office will not cosign the other history.
    let refused = submit(&s, &office).await;
    assert!(matches!(&refused[0], Err(e) if e.contains("409")), "{refused:?}");

    // Comparing the two witnesses' states proves the split view, in code and by the CLI.
    use patrol_server::audit::witness_server::{Comparison, compare, seen_in};
    let states = vec![seen_in(&office_dir).unwrap(), seen_in(&committee_dir).unwrap()];
    let found = compare(&states, &|_, _| Err("not needed".into()));
    assert!(matches!(&found, Comparison::SplitView(w) if w.contains(&format!("{n1} leaves"))), "{found:?}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_patrol-server"))
        .args(["audit", "compare", "--state-dir"])
        .arg(&office_dir)
        .arg("--state-dir")
        .arg(&committee_dir)
        .env_remove("PATROL_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPLIT VIEW"));
    // One witness alone shows nothing wrong: it is the comparison that tells.
    assert!(matches!(compare(&states[..1], &|_, _| Err("-".into())), Comparison::Consistent { .. }));

    // The 2-of-2 policy: neither copy's newest checkpoint is witnessed; the common one is.
    let store = s.state.store.clone();
    let (pol, st) = (policy.clone(), store.clone());
    let witnessed = st.read(move |c| audit::witnessed::newest_witnessed(c, &pol)).await.unwrap().unwrap();
    assert_eq!(witnessed.size, n0);
    // A code printed for the notice raised after the fork does not check out under it,
    // and one printed before still does.
    let late_number = store
        .read(move |c| c.query_one("SELECT number FROM notices WHERE id = $1", &patrol_server::params![late])?.text(0))
        .await
        .unwrap();
    let late_code = audit::notice_code(&store, s.clock.now_ms(), late).await.unwrap().unwrap();
    let (pol, code, number) = (policy.clone(), late_code.clone(), late_number.clone());
    let checked = store.read(move |c| audit::api::check_code(c, &number, &code, &pol)).await.unwrap().unwrap();
    assert!(!checked.valid && checked.reason.contains("not yet witnessed"), "{checked:?}");
    let (code, number) = (late_code.clone(), late_number.clone());
    let unpoliced =
        store.read(move |c| audit::api::check_code(c, &number, &code, &Policy::default())).await.unwrap().unwrap();
    assert!(unpoliced.valid, "without a policy the operator's own word is all there is: {unpoliced:?}");
    let early = store
        .read(|c| {
            c.query_one("SELECT id, number FROM notices WHERE number = 'JY-2026-000001'", &[])
                .and_then(|r| Ok((r.uuid(0)?, r.text(1)?)))
        })
        .await
        .unwrap();
    let early_code = audit::notice_code(&store, s.clock.now_ms(), early.0).await.unwrap().unwrap();
    // Its code names the newest head; the policy proves its leaf under the witnessed checkpoint.
    let pol = policy.clone();
    let checked = store.read(move |c| audit::api::check_code(c, &early.1, &early_code, &pol)).await.unwrap().unwrap();
    assert!(checked.valid, "{checked:?}");
    let under = Checkpoint::parse(checked.witnessed_checkpoint.as_deref().unwrap()).unwrap();
    assert_eq!(under.size, n0);
    // `audit verify` under the policy notes the witnessed prefix and finds the tree intact below it.
    let report = verify::verify_with(&store, &s.state.photos, &policy).await.unwrap();
    assert!(report.notes.iter().any(|n| n.contains(&format!("witnessed: {n0} of {n1} leaves"))), "{}", report.render());
}

/// Re-signs an archive's trailer after its lines were changed, as someone holding the
/// log key would: the file is then the key holder's word, which is all that is left.
fn resign_archive(lines: &[String], key: &log::LogKey) -> Vec<u8> {
    use sha2::Digest;
    let body = &lines[..lines.len() - 1];
    let mut digest = sha2::Sha256::new();
    for l in body {
        digest.update(l.as_bytes());
        digest.update(b"\n");
    }
    let digest = digest.finalize();
    let message = [&b"patrol archive v1\0"[..], &digest].concat();
    let trailer = serde_json::json!({
        "end": true,
        "entries": body.len() - 1,
        "sha256": hex::encode(digest),
        "signature": key.sign_bytes(&message),
    });
    let mut out = body.join("\n");
    out.push('\n');
    out.push_str(&trailer.to_string());
    out.push('\n');
    out.into_bytes()
}

/// Issue 17, holes 1 and 2: an archive is cut at a checkpoint the witnesses cosigned
/// and carries it; `verify-archive` given the witnesses' keys holds it to the policy,
/// and finds a record dropped from the middle of a device's chain even when the file
/// was re-signed with the log key. After the log is rewritten and re-signed, no
/// archive of the rewritten log is anchored: the writer refuses, and one made anyway
/// under the old witnessed checkpoint does not verify.
async fn an_archive_is_anchored_to_a_witnessed_checkpoint_and_its_chains_are_whole(backend: Backend) {
    use audit::cosign::Policy;
    use audit::witnessed::parse_witnesses;
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    // A phone whose chain runs through a record that belongs to no site (a photo not
    // yet cited) between two of the site's: the archive bridges it.
    let mut phone = Phone::sign_in(&s, "patrol").await;
    let due = s.clock.now_ms() + 3_600_000;
    let (_, p) = notice(day.site, day.cleaning, "消防通道堵塞", vec![], due);
    phone.record(&s, p);
    let (photo, sha) = jpeg(7);
    phone.record(&s, photo_taken(&sha, photo.len(), None, None));
    let (_, p) = notice(day.site, day.cleaning, "单元门禁损坏", vec![], due);
    phone.record(&s, p);
    let pushed = phone.push(&s).await;
    assert!(pushed["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{pushed}");
    s.sequenced().await;
    let (_, log_key) = get_text(&s.router, "/api/v1/audit/checkpoint-key").await;
    let (u1, k1) = spawn_witness(s.dir.0.join("w1"), "witness.example/office", &log_key).await;
    let (u2, k2) = spawn_witness(s.dir.0.join("w2"), "witness.example/committee", &log_key).await;
    let policy = Policy::new(&[k1.clone(), k2.clone()], Some(2)).unwrap();
    let one_of_two = Policy::new(&[k1.clone(), k2.clone()], Some(1)).unwrap();
    let cut = |policy: Policy| {
        let (store, now) = (s.state.store.clone(), s.clock.now_ms());
        async move {
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                archive::write_archive(&store, "JY", "2026-11", now, &policy, &mut out).map(|_| out)
            })
            .await
            .unwrap()
        }
    };
    // Nothing witnessed yet: an anchored archive is refused.
    assert!(cut(policy.clone()).await.unwrap_err().contains("witness policy"));
    let both = parse_witnesses(&format!("{u1} {k1}; {u2} {k2}")).unwrap();
    assert!(submit(&s, &both).await.iter().all(|r| r.is_ok()));
    let bytes = cut(policy.clone()).await.unwrap();
    let report = archive::verify_archive(&mut &bytes[..], None, &policy).unwrap();
    assert!(report.ok(), "{}", report.render());
    assert_eq!(report.witnessed_by.len(), 2, "{}", report.render());
    assert_eq!(String::from_utf8_lossy(&bytes).matches("\"bridge\":true").count(), 1);
    // A policy naming a witness that did not cosign refuses it.
    let (_, stranger) = spawn_witness(s.dir.0.join("w3"), "witness.example/stranger", &log_key).await;
    let strict = Policy::new(&[stranger], None).unwrap();
    let report = archive::verify_archive(&mut &bytes[..], None, &strict).unwrap();
    assert!(report.findings.iter().any(|f| f.contains("0 of the 1 required")), "{}", report.render());

    // The key holder drops the officer's second record and re-signs the file: the
    // signature holds, the chain does not.
    let lines: Vec<String> = String::from_utf8(bytes.clone()).unwrap().lines().map(str::to_string).collect();
    let officer_records: Vec<usize> = (1..lines.len() - 1)
        .filter(|&i| {
            let e: Value = serde_json::from_str(&lines[i]).unwrap();
            let leaf = e["leaf"].as_str().unwrap();
            e["record"].is_string()
                && leaf.contains("\"seq\":2,")
                && leaf.contains(&format!("\"device_id\":\"{}\"", day.officer_device))
        })
        .collect();
    assert_eq!(officer_records.len(), 1, "one record of seq 2 (the officer's second)");
    let mut dropped = lines.clone();
    dropped.remove(officer_records[0]);
    let key = s.state.store.read(log::signing_key).await.unwrap();
    let resigned = resign_archive(&dropped, &key);
    let report = archive::verify_archive(&mut &resigned[..], None, &policy).unwrap();
    assert!(report.findings.iter().any(|f| f.contains("records are missing from its chain")), "{}", report.render());
    assert!(!report.findings.iter().any(|f| f.contains("altered")), "the trailer itself holds: {}", report.render());
    // Re-signed unchanged, it still verifies: the finding is the gap, not the signature.
    let report = archive::verify_archive(&mut &resign_archive(&lines, &key)[..], None, &policy).unwrap();
    assert!(report.ok(), "{}", report.render());

    // The log is rewritten (every refusal softened) and re-signed under the key.
    rebuild_log(&s, soften, false).await;
    let refused = cut(one_of_two.clone()).await.unwrap_err();
    assert!(refused.contains("not the witnessed checkpoint"), "{refused}");
    // An archive of the rewritten log cut without the policy carries an unwitnessed
    // checkpoint: held to the policy it fails; given the old witnessed checkpoint in
    // its header it fails too, the roots differ.
    let forged = cut(Policy::default()).await.unwrap();
    let report = archive::verify_archive(&mut &forged[..], None, &one_of_two).unwrap();
    assert!(report.findings.iter().any(|f| f.contains("cosigned by 0 of the 1")), "{}", report.render());
    let old_checkpoint: Value = serde_json::from_str(&lines[0]).unwrap();
    let mut forged_lines: Vec<String> = String::from_utf8(forged).unwrap().lines().map(str::to_string).collect();
    let mut header: Value = serde_json::from_str(&forged_lines[0]).unwrap();
    header["checkpoint"] = old_checkpoint["checkpoint"].clone();
    forged_lines[0] = header.to_string();
    let forged = resign_archive(&forged_lines, &key);
    let report = archive::verify_archive(&mut &forged[..], None, &one_of_two).unwrap();
    assert!(report.findings.iter().any(|f| f.contains("not its tree head")), "{}", report.render());
}

/// Issue 17, hole 4: the witness sees heads only; the monitor reads the leaves. A leaf
/// edited with its hash while the interior nodes are kept leaves every head as it was:
/// the witness keeps accepting, the monitor re-reading the leaves finds the root does
/// not come out. A record's leaf dropped and the log rebuilt and re-signed: a new
/// outsider's witness has nothing to compare, the monitor finds the device's chain
/// broken. A log that stops growing is an alarm after the configured time.
async fn a_monitor_reads_the_leaves_a_witness_never_sees(backend: Backend) {
    use audit::monitor::{self, Options, Verdict};
    let Some(s) = TestServer::start(backend).await else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = s.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let day = a_day(&s).await;
    let run = |dir: std::path::PathBuf, full: bool, now_ms: i64| {
        let url = url.clone();
        async move {
            let options = Options { full, recheck: 8, stale_after: std::time::Duration::from_secs(26 * 3600), now_ms };
            tokio::task::spawn_blocking(move || monitor::run(&url, &dir, &options)).await.unwrap().unwrap()
        }
    };
    let observe = |dir: std::path::PathBuf| {
        let url = url.clone();
        async move { tokio::task::spawn_blocking(move || witness::observe(&url, &dir)).await.unwrap().unwrap() }
    };
    let (m, w) = (s.dir.0.join("monitor"), s.dir.0.join("witness"));
    let t0 = s.clock.now_ms();
    let Verdict::Sound { from: 0, to: n0 } = run(m.clone(), false, t0).await else { panic!("first run") };
    assert!(matches!(observe(w.clone()).await, witness::Verdict::Consistent { .. }));
    // The log grows; the monitor reads only what is new.
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let (_, p) = notice(day.site, day.cleaning, "绿化带枯枝", vec![], t0 + 3_600_000);
    officer.record(&s, p);
    officer.push(&s).await;
    s.sequenced().await;
    let n1 = match run(m.clone(), false, t0 + 60_000).await {
        Verdict::Sound { from, to } if from == n0 && to > n0 => to,
        other => panic!("{other:?}"),
    };
    assert!(matches!(observe(w.clone()).await, witness::Verdict::Consistent { .. }));
    // The monitor's state stays small: O(log n) hashes and a counter per device.
    assert!(std::fs::metadata(m.join("monitor.json")).unwrap().len() < 4096);
    // A log that stands still for more than a day of patrols is an alarm.
    let t1 = t0 + 60_000;
    assert_eq!(run(m.clone(), false, t1 + 25 * 3_600_000).await, Verdict::Sound { from: n1, to: n1 });
    let Verdict::Alarm(why) = run(m.clone(), false, t1 + 27 * 3_600_000).await else { panic!("a stale log") };
    assert!(why.iter().any(|w| w.contains("has not grown for 27 hours")), "{why:?}");

    // An insider edits the leaf of the first notice's numbering and its hash, and
    // keeps every interior node: every stored head is still right.
    let store = s.state.store.clone();
    store
        .write(|c| {
            let r = c.query_one(
                "SELECT leaf_index, leaf FROM log_leaves WHERE kind = 'notice_numbered' ORDER BY leaf_index LIMIT 1",
                &[],
            )?;
            let edited = r.text(1)?.replace("JY-2026-000001", "JY-2026-000009");
            let hash = hex::encode(transparency::leaf_hash(edited.as_bytes()));
            c.execute(
                "UPDATE log_leaves SET leaf = $1, leaf_hash = $2 WHERE leaf_index = $3",
                &patrol_server::params![edited, hash, r.int(0)?],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    assert!(
        matches!(observe(w.clone()).await, witness::Verdict::Consistent { .. }),
        "the witness cannot see it: the heads are unchanged"
    );
    let Verdict::Alarm(why) = run(m.clone(), true, t0 + 120_000).await else {
        panic!("the monitor missed an edited leaf")
    };
    assert!(why.iter().any(|w| w.contains("do not hash to the checkpoint's root")), "{why:?}");
    assert!(std::fs::read_to_string(m.join("alarms.jsonl")).unwrap().contains("rewritten"));

    // The insider drops the officer's second record from the log, rebuilds and re-signs
    // it. A witness and a monitor who start watching only now: the witness has nothing to
    // compare with; the monitor finds the device's chain has a hole.
    let officer_device = day.officer_device;
    rebuild_log(
        &s,
        move |l: Leaf| match &l {
            Leaf::Record { device_id, seq: 2, .. } if *device_id == officer_device => None,
            _ => Some(l),
        },
        false,
    )
    .await;
    let (m2, w2) = (s.dir.0.join("monitor2"), s.dir.0.join("witness2"));
    assert!(matches!(observe(w2).await, witness::Verdict::Consistent { .. }));
    let Verdict::Alarm(why) = run(m2.clone(), false, t0 + 180_000).await else { panic!("the monitor missed a hole") };
    assert!(why.iter().any(|w| w.contains(&format!("device {officer_device} logs seq 3 after seq 1"))), "{why:?}");
}

/// Issue 17, hole 7: a thumbnail is bound to its photo when it is made (its hash on the
/// photo's row and in a `thumbnail_made` leaf). A swapped thumbnail file is found by
/// `audit verify` and not served: the server makes it again from the photo's checked
/// bytes. An insider who swaps the file and puts its hash on the row is found too.
async fn a_swapped_thumbnail_is_neither_served_nor_passes_verify(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let officer = Phone::sign_in(&s, "patrol").await;
    let sha = day.photo_sha.clone();
    let thumb = || {
        let req = axum::http::Request::get(format!("/api/v1/photos/{sha}/thumb"))
            .header("authorization", format!("Bearer {}", officer.token))
            .body(axum::body::Body::empty())
            .unwrap();
        let router = s.router.clone();
        async move {
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap().to_vec()
        }
    };
    let made = thumb().await;
    s.sequenced().await;
    let leaf = s
        .state
        .store
        .read({
            let sha = sha.clone();
            move |c| {
                c.query_one(
                    "SELECT leaf FROM log_leaves WHERE kind = 'thumbnail_made' AND subject = $1",
                    &patrol_server::params![sha],
                )?
                .text(0)
            }
        })
        .await
        .unwrap();
    use sha2::Digest;
    assert!(leaf.contains(&hex::encode(sha2::Sha256::digest(&made))), "{leaf}");
    assert!(verify(&s).await.ok());

    let path = s.dir.0.join("objects/thumbs").join(&sha[..2]).join(format!("{sha}.jpg"));
    assert_eq!(std::fs::read(&path).unwrap(), made);
    let other = jpeg(99).0;
    std::fs::write(&path, &other).unwrap();
    let report = verify(&s).await;
    assert!(
        report.mentions(&format!("thumbnail of {sha}: the stored file is not the thumbnail made of it")),
        "{}",
        report.render()
    );
    assert_eq!(thumb().await, made, "the swapped file is not served");
    assert_eq!(std::fs::read(&path).unwrap(), made, "the thumbnail was made again");
    assert!(verify(&s).await.ok());

    // The insider swaps the file and puts its hash on the row as well.
    std::fs::write(&path, &other).unwrap();
    sql(
        &s.state.store,
        &[format!(
            "UPDATE photos SET thumb_sha256 = '{}' WHERE sha256 = '{sha}'",
            hex::encode(sha2::Sha256::digest(&other))
        )],
    )
    .await;
    let report = verify(&s).await;
    assert!(
        report.mentions(&format!("thumbnail of {sha}: its hash on the photo's row is not the logged one")),
        "{}",
        report.render()
    );
}

/// Issue 17, hole 1 to the end: once a month is over everywhere its index (how many of
/// the log's leaves are the site's that month, and their digest) is logged, and every
/// archive of it carries that leaf. Dropping the last record of a device's month (no
/// gap in any chain) from a re-signed file, or the index itself, no longer verifies;
/// `audit verify` holds the database to the index too.
async fn a_closed_month_is_indexed_and_an_archive_cannot_leave_a_leaf_out(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let day = a_day(&s).await;
    let cut = || {
        let (store, now) = (s.state.store.clone(), s.clock.now_ms());
        async move {
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                archive::write_archive(&store, "JY", "2026-11", now, &Default::default(), &mut out).map(|_| out)
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    // Before the month is over: no index, and the report says completeness is unproven.
    let early = cut().await;
    let report = archive::verify_archive(&mut &early[..], None, &Default::default()).unwrap();
    assert!(report.ok() && !report.complete, "{}", report.render());
    assert!(report.render().contains("completeness is not proven"));

    s.clock.advance_ms(11 * 86_400_000);
    // The month-end job indexes it before anyone archives it, once.
    let report = patrol_server::jobs::run_due(&s.state).await.unwrap();
    assert_eq!(report.months_indexed, 1, "{report:?}");
    s.clock.advance_ms(2 * 3_600_000);
    assert_eq!(patrol_server::jobs::run_due(&s.state).await.unwrap().months_indexed, 0);
    s.sequenced().await;
    let bytes = cut().await;
    let report = archive::verify_archive(&mut &bytes[..], None, &Default::default()).unwrap();
    assert!(report.ok() && report.complete, "{}", report.render());
    let indexed = s
        .state
        .store
        .read(|c| c.query_one("SELECT COUNT(*) FROM log_leaves WHERE kind = 'month_indexed'", &[])?.int(0))
        .await
        .unwrap();
    assert_eq!(indexed, 1);
    // Cut again: the same index, logged once, and the same entries.
    let again = cut().await;
    assert_eq!(String::from_utf8_lossy(&again).lines().count(), String::from_utf8_lossy(&bytes).lines().count());
    assert!(verify(&s).await.ok());

    // The key holder drops the officer's last record of the month: no chain has a gap.
    let lines: Vec<String> = String::from_utf8(bytes).unwrap().lines().map(str::to_string).collect();
    let officer = format!("\"device_id\":\"{}\"", day.officer_device);
    let last = (1..lines.len() - 1)
        .filter(|&i| {
            let e: Value = serde_json::from_str(&lines[i]).unwrap();
            e["record"].is_string() && e["leaf"].as_str().unwrap().contains(&officer)
        })
        .max()
        .unwrap();
    let key = s.state.store.read(log::signing_key).await.unwrap();
    let mut dropped = lines.clone();
    dropped.remove(last);
    let report = archive::verify_archive(&mut &resign_archive(&dropped, &key)[..], None, &Default::default()).unwrap();
    assert!(!report.mentions_chain_gap(), "no gap to see: {}", report.render());
    assert!(
        report.findings.iter().any(|f| f.contains("not the") && f.contains("its logged index names")),
        "{}",
        report.render()
    );
    // Or drops the index itself.
    let index_line = lines.iter().position(|l| l.contains("month_indexed")).unwrap();
    let mut unindexed = lines.clone();
    unindexed.remove(index_line);
    let report =
        archive::verify_archive(&mut &resign_archive(&unindexed, &key)[..], None, &Default::default()).unwrap();
    assert!(report.findings.iter().any(|f| f.contains("its index is not in the archive")), "{}", report.render());

    // An insider deletes a record's log leaf row of the month and the records row:
    // the archive writer refuses, and `audit verify` names the index.
    let gone = serde_json::from_str::<Value>(&lines[last]).unwrap()["leaf_index"].as_i64().unwrap();
    sql(&s.state.store, &[format!("UPDATE log_leaves SET at_ms = at_ms + 3456000000 WHERE leaf_index = {gone}")]).await;
    let (store, now) = (s.state.store.clone(), s.clock.now_ms());
    let refused = tokio::task::spawn_blocking(move || {
        archive::write_archive(&store, "JY", "2026-11", now, &Default::default(), &mut Vec::new())
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(refused.contains("not those its index logged"), "{refused}");
    let report = verify(&s).await;
    assert!(report.mentions("(month_indexed"), "{}", report.render());
}

/// Issue 17, item 5: a printed code commits to the notice's actions and state too. The
/// first notice of the day was acknowledged (applied) and then refused a close (kept,
/// not applied). Its state set to closed, its acknowledgement row turned into another
/// action, or the refused close marked applied with the state to match: each no longer
/// checks out; put back, it does again.
async fn a_code_is_bound_to_the_notices_actions_and_state(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    a_day(&s).await;
    let id = s.state.store.read(|c| verify::notice_id_of(c, "JY-2026-000001")).await.unwrap().unwrap();
    let code = audit::notice_code(&s.state.store, s.state.clock.now_ms(), id).await.unwrap().unwrap();
    let check = || async {
        let (_, c) = s
            .call(Method::GET, &format!("/api/v1/audit/check-code?number=JY-2026-000001&code={code}"), None, None)
            .await;
        c
    };
    let first = check().await;
    assert_eq!(first["valid"], true, "{first}");
    for (edit, undo) in [
        (
            "UPDATE notices SET state = 'closed' WHERE number = 'JY-2026-000001'",
            "UPDATE notices SET state = 'acknowledged' WHERE number = 'JY-2026-000001'",
        ),
        (
            "UPDATE notice_events SET action = 'dispute' WHERE action = 'acknowledge'",
            "UPDATE notice_events SET action = 'acknowledge' WHERE action = 'dispute'",
        ),
        (
            "UPDATE notice_events SET reason = '已修好' WHERE action = 'acknowledge'",
            "UPDATE notice_events SET reason = '' WHERE action = 'acknowledge'",
        ),
    ] {
        sql(&s.state.store, &[edit]).await;
        let after = check().await;
        assert_eq!(after["valid"], false, "{edit}: {after}");
        assert!(after["reason"].as_str().unwrap().contains("actions or state"), "{after}");
        sql(&s.state.store, &[undo]).await;
        let back = check().await;
        assert_eq!(back["valid"], true, "{undo}: {back}");
    }
    // The refused close made to look applied, with the notice's state to match.
    sql(
        &s.state.store,
        &[
            "UPDATE notice_events SET applied = 1, from_state = 'acknowledged', to_state = 'closed' WHERE action = 'verify_pass'",
            "UPDATE notices SET state = 'closed' WHERE number = 'JY-2026-000001'",
        ],
    )
    .await;
    let closed = check().await;
    assert_eq!(closed["valid"], false, "{closed}");
}

both_backends!(
    a_code_is_bound_to_the_notices_actions_and_state,
    a_closed_month_is_indexed_and_an_archive_cannot_leave_a_leaf_out,
    a_swapped_thumbnail_is_neither_served_nor_passes_verify,
    a_monitor_reads_the_leaves_a_witness_never_sees,
    an_archive_is_anchored_to_a_witnessed_checkpoint_and_its_chains_are_whole,
    witnesses_cosign_and_a_split_view_is_caught_and_refused,
    checkpoints_are_c2sp_notes_an_independent_implementation_verifies,
    the_log_key_is_outside_the_database_and_an_insider_cannot_sign,
    every_record_and_decision_is_logged_and_provable_without_a_login,
    a_printed_verification_code_checks_out_against_the_log,
    an_edited_record_body_is_found,
    a_deleted_records_row_is_found,
    a_renumbered_notice_is_found,
    a_swapped_photo_file_is_found,
    a_truncated_log_is_found,
    a_rebuilt_log_is_caught_by_verify_or_by_a_witness,
    an_outcome_rewritten_with_its_log_is_caught_by_applying_the_records_again,
    the_verify_command_reports_and_fails_on_a_finding,
    a_monthly_archive_verifies_offline_and_fails_after_one_flipped_byte,
    a_person_who_left_is_shown_without_a_name_and_nothing_breaks,
);
