//! The patrol audit cannot be forged from a phone (issue 12, item 4): no phone-facing
//! answer carries a checkpoint's QR secret, device times later than their receipt
//! are not believed, and the clock offset comes from the server's own signed time.

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::record::RecordPayload;
use serde_json::{Value, json};
use support::phone::{Demo, Phone};
use support::{Backend, START_MS, TestServer};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
/// 2026-11-23 00:00 in China (a Monday), in UTC milliseconds.
const MONDAY: i64 = START_MS - 9 * HOUR;

fn route_id(demo: &Demo, i: usize) -> Id {
    demo.route(i)["id"].as_str().unwrap().parse().unwrap()
}

fn walk(phone: &mut Phone, demo: &Demo, i: usize, start: i64, finish: i64) {
    let run = Id::now_v7();
    phone
        .record_at(start, RecordPayload::RunStarted { run_id: run, route_id: route_id(demo, i), site_id: demo.site() });
    phone.record_at(finish, RecordPayload::RunFinished { run_id: run, missed_reason: Some("只测时间".into()) });
}

/// (route index, "HH:MM", verdicts, notes of the first slot) of a day's audit.
async fn audit(s: &TestServer, demo: &Demo, day: &str) -> Vec<(usize, String, Vec<String>, Value)> {
    let token = s.token("supervisor").await;
    let (status, a) =
        s.call(Method::GET, &format!("/api/v1/sites/{}/audit/{day}", demo.site()), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let r0 = demo.route(0)["id"].clone();
    a["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let m = w["start_minute"].as_u64().unwrap();
            let slots = w["slots"].as_array().unwrap();
            (
                if w["route_id"] == r0 { 0 } else { 1 },
                format!("{:02}:{:02}", m / 60, m % 60),
                slots.iter().map(|s| s["verdict"].as_str().unwrap().to_string()).collect(),
                slots.first().map_or(Value::Null, |s| s["notes"].clone()),
            )
        })
        .collect()
}

async fn no_phone_facing_answer_carries_a_label_secret(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let site = s.site_id().await;
    let (status, printed) = s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let secrets: Vec<String> =
        printed.as_array().unwrap().iter().map(|cp| cp["qr_token"].as_str().unwrap().to_string()).collect();
    assert!(secrets.len() >= 8 && secrets.iter().all(|t| t.len() >= 8), "the administrator prints labels");
    for login in ["patrol", "supervisor", "manager", "eng.head", "clean.head"] {
        let phone = Phone::sign_in(&s, login).await;
        let pulled = phone.pull(&s, "").await;
        let (status, listed) =
            s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&phone.token), None).await;
        if login.ends_with(".head") && status == StatusCode::FORBIDDEN {
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{login}");
        for (what, body) in [("pull", &pulled), ("checkpoint list", &listed)] {
            let text = body.to_string();
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{login}'s {what} carries a label secret");
            }
        }
        for cp in pulled["reference"]["checkpoints"].as_array().unwrap() {
            assert_eq!(cp["qr_token"], "", "{login}");
            assert_eq!(cp["qr_digest"].as_str().unwrap().len(), 64, "{login}: the digest proves a scan offline");
        }
    }
}

async fn a_run_pushed_ahead_of_its_window_is_not_on_time(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    s.clock.advance_ms(15 * MINUTE);
    officer.renew(&s).await;
    // Control: route 0 walked 09:01–09:14 and pushed at 09:15 with clock evidence.
    walk(&mut officer, &demo, 0, MONDAY + 9 * HOUR + MINUTE, MONDAY + 9 * HOUR + 14 * MINUTE);
    officer.push(&s).await;
    // Route 1 walked in the same window, pushed with no evidence of the phone's clock.
    walk(&mut officer, &demo, 1, MONDAY + 9 * HOUR + 2 * MINUTE, MONDAY + 9 * HOUR + 13 * MINUTE);
    let bare = json!({"device_id": officer.device, "sent_at_ms": s.clock_now(), "records": officer.queued});
    let (status, body) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(bare)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    officer.queued.clear();
    let today = audit(&s, &demo, "2026-11-23").await;
    assert_eq!((today[0].0, today[0].2.clone()), (0, vec!["on_time".to_string()]), "{today:?}");
    assert_eq!((today[1].0, today[1].2.clone()), (1, vec!["flagged".to_string()]), "{today:?}");
    assert_eq!(today[1].3, json!(["unanchored"]));
    // Tomorrow's morning round "walked" now: device times of Tuesday 08:10–08:40,
    // pushed Monday 09:15 with genuine clock evidence and a matching declared clock.
    walk(&mut officer, &demo, 0, MONDAY + 32 * HOUR + 10 * MINUTE, MONDAY + 32 * HOUR + 40 * MINUTE);
    let body = officer.push_body(&s, &officer.queued.clone(), 0).await;
    let (status, resp) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "kept as evidence: {resp}");
    officer.queued.clear();
    // The same with the phone claiming its clock is a day ahead (sent_at tomorrow):
    // the anchored offset shows a clock a day off.
    walk(&mut officer, &demo, 1, MONDAY + 32 * HOUR + 10 * MINUTE, MONDAY + 32 * HOUR + 40 * MINUTE);
    let mut body = officer.push_body(&s, &officer.queued.clone(), 0).await;
    body["sent_at_ms"] = json!(MONDAY + 32 * HOUR + 41 * MINUTE);
    let (status, resp) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    officer.queued.clear();
    s.clock.advance_ms(30 * HOUR);
    let tomorrow = audit(&s, &demo, "2026-11-24").await;
    let morning: Vec<_> = tomorrow.iter().filter(|w| w.1 == "08:00").collect();
    assert_eq!(morning.len(), 2, "{tomorrow:?}");
    for w in morning {
        assert_eq!(w.2, vec!["flagged".to_string()], "a run pushed before its window is never on time: {w:?}");
        let notes = w.3.as_array().unwrap();
        assert!(notes.contains(&json!("ahead_of_receipt")) || notes.contains(&json!("clock_offset")), "{notes:?}");
    }
}

async fn forged_clock_evidence_is_refused_and_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    s.clock.advance_ms(15 * MINUTE);
    officer.renew(&s).await;
    let other = Phone::sign_in(&s, "supervisor").await;
    walk(&mut officer, &demo, 0, MONDAY + 9 * HOUR + MINUTE, MONDAY + 9 * HOUR + 14 * MINUTE);
    let before = s.numbers(&["SELECT COUNT(*) FROM records", "SELECT COUNT(*) FROM runs"]).await;
    let genuine = officer.push_body(&s, &officer.queued.clone(), 0).await;
    let borrowed = other.push_body(&s, &[], 0).await["clock"]["time_token"].clone();
    let token = genuine["clock"]["time_token"].as_str().unwrap().to_string();
    let (ms, mac) = token.strip_prefix("v1.").unwrap().split_once('.').unwrap();
    let moved = format!("v1.{}.{mac}", ms.parse::<i64>().unwrap() - HOUR);
    let cases = [
        ("another device's time", json!({"time_token": borrowed, "elapsed_ms": 0})),
        ("a time moved back an hour", json!({"time_token": moved, "elapsed_ms": 0})),
        ("not a token", json!({"time_token": "v1.0.00", "elapsed_ms": 0})),
        ("more time than has passed", json!({"time_token": token, "elapsed_ms": 5 * MINUTE})),
        ("negative time", json!({"time_token": token, "elapsed_ms": -1})),
    ];
    for (what, clock) in cases {
        let mut body = genuine.clone();
        body["clock"] = clock;
        let (status, resp) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {resp}");
        assert!(resp["field"].as_str().unwrap().starts_with("clock."), "{what}: {resp}");
        assert_eq!(s.numbers(&["SELECT COUNT(*) FROM records", "SELECT COUNT(*) FROM runs"]).await, before, "{what}");
    }
    let (status, resp) = s.call(Method::POST, "/api/v1/sync/push", Some(&officer.token), Some(genuine)).await;
    assert_eq!(status, StatusCode::OK, "the genuine push goes through: {resp}");
}

both_backends!(
    no_phone_facing_answer_carries_a_label_secret,
    a_run_pushed_ahead_of_its_window_is_not_on_time,
    forged_clock_evidence_is_refused_and_changes_nothing,
);
