//! The sync protocol at the API level, with a minimal phone written here (a record
//! chain and HTTP calls): a day's patrol reaches the department head, conflicts are
//! kept and explained, retries converge, photos resume. Against both databases.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::notice::NoticeAction;
use patrol_protocol::record::{CheckIn, ItemOutcome, Record, RecordPayload};
use patrol_server::clock::Clock;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::phone::{Demo, Phone, act, jpeg, notice, photo_taken};
use support::{Backend, TestServer};

async fn a_patrol_walked_offline_reaches_the_department_head(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let first = officer.pull(&s, "").await;
    let demo = Demo { reference: first["reference"].clone() };
    assert_eq!(demo.reference["checkpoints"].as_array().unwrap().len(), 14);
    let site = demo.site();
    let route = demo.route(0).clone();
    let cps: Vec<Value> =
        route["checkpoint_ids"].as_array().unwrap().iter().map(|id| demo.checkpoint(id).clone()).collect();
    let labels = s.qr_labels().await;

    // The walk, offline: records pile up on the phone.
    let run = Id::now_v7();
    officer.record(
        &s,
        RecordPayload::RunStarted {
            run_id: run,
            route_id: route["id"].as_str().unwrap().parse().unwrap(),
            site_id: site,
        },
    );
    let wrong_qr = officer.record(
        &s,
        RecordPayload::CheckpointVisited {
            run_id: run,
            visit_id: Id::now_v7(),
            checkpoint_id: cps[0]["id"].as_str().unwrap().parse().unwrap(),
            check_in: CheckIn::Qr { token: labels[cps[1]["id"].as_str().unwrap()].clone() },
            out_of_order: false,
        },
    );
    for cp in &cps[..cps.len() - 1] {
        let visit = Id::now_v7();
        let cp_id: Id = cp["id"].as_str().unwrap().parse().unwrap();
        officer.record(
            &s,
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: visit,
                checkpoint_id: cp_id,
                check_in: CheckIn::Qr { token: labels[cp["id"].as_str().unwrap()].clone() },
                out_of_order: false,
            },
        );
        officer.record(
            &s,
            RecordPayload::ItemRecorded {
                run_id: run,
                visit_id: visit,
                checkpoint_id: cp_id,
                item_id: cp["checklist"][0]["id"].as_str().unwrap().parse().unwrap(),
                outcome: ItemOutcome::Ok,
                note: String::new(),
            },
        );
        s.clock.advance_ms(60_000);
    }
    let (before, before_sha) = jpeg(10);
    let (other, other_sha) = jpeg(20);
    officer.record(&s, photo_taken(&before_sha, before.len(), Some(run), None));
    officer.record(&s, photo_taken(&other_sha, other.len(), Some(run), None));
    let due = s.clock.now_ms() + 48 * 3_600_000;
    let (eng_notice, p) = notice(site, demo.dept("engineering"), "3号楼电梯厅灯具损坏", vec![before_sha.clone()], due);
    officer.record(&s, p);
    let (clean_notice, p) = notice(site, demo.dept("cleaning"), "垃圾站垃圾桶满溢", vec![other_sha.clone()], due);
    officer.record(&s, p);
    officer.record(&s, RecordPayload::RunFinished { run_id: run, missed_reason: Some("泳池维修，无法进入".into()) });

    // Sync: numbers in order, the wrong QR kept and refused.
    let resp = officer.push(&s).await;
    assert_eq!(resp["acked_seq"], officer.seq);
    let results = resp["results"].as_array().unwrap();
    let wrong = results.iter().find(|r| r["record_id"] == json!(wrong_qr.id)).unwrap();
    assert_eq!(wrong["status"], "rejected");
    assert!(wrong["reason_zh"].as_str().unwrap().contains("二维码"));
    let numbers: Vec<&str> = results.iter().filter_map(|r| r["notice_number"].as_str()).collect();
    assert_eq!(numbers, vec!["JY-2026-000001", "JY-2026-000002"]);
    for (bytes, sha) in [(&before, &before_sha), (&other, &other_sha)] {
        let (status, st) = officer.upload(&s, sha, &bytes[..100], 0).await;
        assert_eq!((status, st["received"].as_u64()), (StatusCode::OK, Some(100)));
        let (status, st) = officer.upload(&s, sha, &bytes[100..], 100).await;
        assert_eq!((status, st["complete"].as_bool()), (StatusCode::OK, Some(true)), "{st}");
    }

    // The head of engineering pulls only the engineering notice, signs, fixes.
    let mut head = Phone::sign_in(&s, "eng.head").await;
    let pulled = head.pull(&s, "").await;
    let notices = pulled["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{pulled}");
    assert_eq!(notices[0]["number"], "JY-2026-000001");
    assert_eq!(notices[0]["photos_complete"], true);
    let cursor = pulled["cursor"].as_str().unwrap().to_string();
    head.record(&s, act(eng_notice, NoticeAction::Acknowledge, "", vec![], None));
    let (after, after_sha) = jpeg(30);
    head.record(&s, photo_taken(&after_sha, after.len(), None, Some(eng_notice)));
    head.record(&s, act(eng_notice, NoticeAction::ReportFix, "已更换灯管", vec![after_sha.clone()], None));
    let resp = head.push(&s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");
    let (status, _) = head.upload(&s, &after_sha, &after, 0).await;
    assert_eq!(status, StatusCode::OK);

    // The officer verifies on site.
    officer.record(&s, act(eng_notice, NoticeAction::VerifyPass, "", vec![], None));
    let resp = officer.push(&s).await;
    assert_eq!(resp["results"][0]["status"], "applied", "{resp}");

    // All three converge; the head sees the close after his cursor.
    let later = head.pull(&s, &cursor).await;
    let closed = later["notices"].as_array().unwrap().iter().find(|n| n["id"] == json!(eng_notice)).unwrap();
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["after_photos"], json!([after_sha]));
    let officer_view = officer.pull(&s, "").await;
    let states: Vec<(String, String)> = officer_view["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["number"].as_str().unwrap().into(), n["state"].as_str().unwrap().into()))
        .collect();
    assert_eq!(states, vec![("JY-2026-000001".into(), "closed".into()), ("JY-2026-000002".into(), "issued".into())]);
    let supervisor = Phone::sign_in(&s, "supervisor").await;
    let (_, n) = s.call(Method::GET, &format!("/api/v1/notices/{eng_notice}"), Some(&supervisor.token), None).await;
    assert_eq!(n["state"], "closed");
    let actions: Vec<&str> = n["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["raised", "acknowledge", "report_fix", "verify_pass"]);
    assert!(n["events"].as_array().unwrap().iter().all(|e| e["notice_hash"].as_str().unwrap().len() == 64));
    // The cleaning head may not open the engineering notice.
    let cleaner = Phone::sign_in(&s, "clean.head").await;
    let (status, _) = s.call(Method::GET, &format!("/api/v1/notices/{eng_notice}"), Some(&cleaner.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, mine) = s.call(Method::GET, "/api/v1/notices", Some(&cleaner.token), None).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], json!(clean_notice));

    // The supervisor sees the run complete and signs the day's log.
    let (_, run_view) = s.call(Method::GET, &format!("/api/v1/runs/{run}"), Some(&supervisor.token), None).await;
    assert_eq!(run_view["complete"], true, "{run_view}");
    assert_eq!(run_view["visits"].as_array().unwrap().len(), cps.len() - 1);
    assert_eq!(run_view["missed_checkpoints"].as_array().unwrap().len(), 1);
    let day = "2026-11-23";
    let (status, log) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/daily-logs/{day}/sign"),
            Some(&supervisor.token),
            Some(json!({"comment": "已阅"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    assert_eq!(log["notices_raised"].as_array().unwrap().len(), 2);
    assert_eq!(log["expected_runs"], 4);
    assert_eq!(log["signatures"][0]["comment"], "已阅");
    assert_eq!(log["signatures"][0]["content_hash"], log["content_hash"]);
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/daily-logs/{day}/sign"),
            Some(&officer.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn an_offline_receipt_after_a_reassignment_is_kept_and_explained(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (notice_id, p) =
        notice(demo.site(), demo.dept("engineering"), "消防通道被占用", vec![], s.clock.now_ms() + 86_400_000);
    officer.record(&s, p);
    officer.push(&s).await;
    let mut head = Phone::sign_in(&s, "eng.head").await;
    let cursor = head.pull(&s, "").await["cursor"].as_str().unwrap().to_string();
    // Offline, the head signs for it...
    head.record(&s, act(notice_id, NoticeAction::Acknowledge, "", vec![], None));
    // ...while the supervisor reassigns it to security from the web.
    let supervisor = Phone::sign_in(&s, "supervisor").await;
    let (status, view) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{notice_id}/actions"),
            Some(&supervisor.token),
            Some(json!({"action": "reassign", "reason": "占用消防通道属秩序维护部", "reassign_to": demo.dept("security")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["department_id"], json!(demo.dept("security")));
    let resp = head.push(&s).await;
    assert_eq!(resp["results"][0]["status"], "rejected");
    assert!(resp["results"][0]["reason_zh"].as_str().unwrap().contains("改派"), "{resp}");
    let pulled = head.pull(&s, &cursor).await;
    let rejection = &pulled["rejections"][0];
    assert_eq!(rejection["notice_id"], json!(notice_id));
    assert!(rejection["reason_zh"].as_str().unwrap().contains("秩序维护部"), "{pulled}");
    let n = pulled["notices"].as_array().unwrap().iter().find(|n| n["id"] == json!(notice_id)).unwrap();
    assert_eq!((n["state"].as_str(), &n["department_id"]), (Some("issued"), &json!(demo.dept("security"))));
    let kept = n["events"].as_array().unwrap().iter().find(|e| e["action"] == "acknowledge").unwrap();
    assert_eq!(kept["applied"], false, "the refused receipt stays in the timeline");
    // The security head now has it; an action through the API that the machine refuses is a 409.
    let security = Phone::sign_in(&s, "security.head").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{notice_id}/actions"),
            Some(&security.token),
            Some(json!({"action": "verify_pass"})),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{notice_id}/actions"),
            Some(&security.token),
            Some(json!({"action": "acknowledge"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn retries_converge_and_gaps_and_forks_are_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (_, p) = notice(demo.site(), demo.dept("cleaning"), "楼道有杂物", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    let (_, p) = notice(demo.site(), demo.dept("cleaning"), "电梯轿厢地面脏", vec![], s.clock.now_ms() + 3_600_000);
    officer.record(&s, p);
    let batch = officer.queued.clone();
    let (status, first) = officer.push_records(&s, &batch).await;
    assert_eq!(status, StatusCode::OK);
    // The answer was lost; the phone sends the same batch again.
    let (status, again) = officer.push_records(&s, &batch).await;
    assert_eq!(status, StatusCode::OK);
    assert!(again["results"].as_array().unwrap().iter().all(|r| r["status"] == "duplicate"));
    assert_eq!(first["acked_seq"], again["acked_seq"]);
    officer.queued.clear();
    // A gap.
    officer.seq += 1;
    let mut skipped = officer.clone_record_for_gap(&s);
    let (status, body) = officer.push_records(&s, std::slice::from_ref(&skipped)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().starts_with("sync_gap"), "{body}");
    // A fork: another record claiming seq 2.
    skipped.seq = 2;
    skipped.prev_hash = batch[0].hash();
    let (status, body) = officer.push_records(&s, &[skipped]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().starts_with("sync_fork"), "{body}");
    let forks = s.state.store.read(|c| c.query_one("SELECT COUNT(*) FROM forks", &[])?.int(0)).await.unwrap();
    assert_eq!(forks, 1);
    // Nothing doubled, no number lost.
    let (_, listed) =
        s.call(Method::GET, "/api/v1/notices", Some(&Phone::sign_in(&s, "supervisor").await.token), None).await;
    let mut numbers: Vec<&str> = listed.as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, vec!["JY-2026-000001", "JY-2026-000002"]);
    let (_, status_body) = s
        .call(Method::GET, &format!("/api/v1/sync/status?device_id={}", officer.device), Some(&officer.token), None)
        .await;
    assert_eq!(status_body["acked_seq"], 2);
}

impl Phone {
    /// A well-formed record at the phone's current `seq` whose predecessor the
    /// server never saw.
    fn clone_record_for_gap(&self, s: &TestServer) -> Record {
        let p = RecordPayload::Correction { corrects: Id::now_v7(), reason: "测试".into() };
        Record {
            id: Id::now_v7(),
            author: self.person,
            device: self.device,
            seq: self.seq + 1,
            device_time_ms: s.clock.now_ms(),
            prev_hash: self.prev.clone(),
            payload: p,
        }
    }
}

async fn photo_uploads_resume_and_are_verified(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let (bytes, sha) = jpeg(99);
    // Not cited yet: the server does not take it.
    let (status, _) = officer.upload(&s, &sha, &bytes, 0).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    officer.record(&s, photo_taken(&sha, bytes.len(), None, None));
    officer.push(&s).await;
    let (status, _) = officer.upload(&s, &sha, &bytes[..50], 0).await;
    assert_eq!(status, StatusCode::OK);
    // A retry of a chunk it already has, and a chunk from the wrong place.
    let (status, body) = officer.upload(&s, &sha, &bytes[..50], 0).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, st) = s.call(Method::GET, &format!("/api/v1/photos/{sha}/upload"), Some(&officer.token), None).await;
    assert_eq!((status, st["received"].as_u64()), (StatusCode::OK, Some(50)));
    // Corrupted bytes of the right length are refused and the upload starts over.
    let mut corrupt = bytes[50..].to_vec();
    corrupt[10] ^= 0xFF;
    let (status, body) = officer.upload(&s, &sha, &corrupt, 50).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("hash_mismatch")));
    let (_, st) = s.call(Method::GET, &format!("/api/v1/photos/{sha}/upload"), Some(&officer.token), None).await;
    assert_eq!(st["received"], 0);
    let (status, st) = officer.upload(&s, &sha, &bytes, 0).await;
    assert_eq!((status, st["complete"].as_bool()), (StatusCode::OK, Some(true)));
    let req = Request::builder()
        .uri(format!("/api/v1/photos/{sha}"))
        .header("authorization", format!("Bearer {}", officer.token))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    let got = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&got)), sha);
    let req = Request::builder()
        .uri(format!("/api/v1/photos/{sha}/thumb"))
        .header("authorization", format!("Bearer {}", officer.token))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Someone with no notice or run citing it may not fetch it.
    let stranger = Phone::sign_in(&s, "garden.head").await;
    let (status, _) = s.call(Method::GET, &format!("/api/v1/photos/{sha}"), Some(&stranger.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_new_checkpoint_reaches_the_phone_on_its_next_pull(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let first = officer.pull(&s, "").await;
    let site = first["reference"]["sites"][0]["id"].as_str().unwrap().to_string();
    let cursor = first["cursor"].as_str().unwrap().to_string();
    let quiet = officer.pull(&s, &cursor).await;
    assert!(quiet["reference"].is_null(), "nothing changed: {quiet}");
    let admin = Phone::sign_in(&s, "admin").await;
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/checkpoints"),
            Some(&admin.token),
            Some(json!({"code": "GYM", "name_zh": "健身房", "latitude": 31.23, "longitude": 121.47})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let next = officer.pull(&s, &cursor).await;
    assert_eq!(next["reference"]["checkpoints"].as_array().unwrap().len(), 15);
    let (status, body) = s.call(Method::GET, "/api/v1/sync/pull?cursor=garbage", Some(&officer.token), None).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")));
}

both_backends!(
    a_new_checkpoint_reaches_the_phone_on_its_next_pull,
    a_patrol_walked_offline_reaches_the_department_head,
    an_offline_receipt_after_a_reassignment_is_kept_and_explained,
    retries_converge_and_gaps_and_forks_are_refused,
    photo_uploads_resume_and_are_verified,
);
