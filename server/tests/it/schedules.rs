//! Stories of expected patrols on a clock the test controls: a week with a holiday and
//! a move-in period, missed and late windows at the right instants, an offline phone
//! that syncs at 23:00, a phone whose clock is two hours slow, and a "won't do".

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::record::RecordPayload;
use patrol_server::jobs;
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

/// The supervisor's audit of a day (signed in afresh: the tests skip hours).
async fn audit(s: &TestServer, site: Id, day: &str) -> Value {
    let token = s.token("supervisor").await;
    let (status, body) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/{day}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// (route index, start "HH:MM", verdicts) of each window of a day's audit.
fn windows(a: &Value, demo: &Demo) -> Vec<(usize, String, Vec<String>)> {
    let r0 = demo.route(0)["id"].clone();
    a["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let m = w["start_minute"].as_u64().unwrap();
            let verdicts = w["slots"].as_array().unwrap().iter().map(|s| s["verdict"].as_str().unwrap().to_string());
            (if w["route_id"] == r0 { 0 } else { 1 }, format!("{:02}:{:02}", m / 60, m % 60), verdicts.collect())
        })
        .collect()
}

/// A run of route `i` started and finished at the given device times, queued.
fn walk(phone: &mut Phone, demo: &Demo, i: usize, start: i64, finish: i64) -> Id {
    let run = Id::now_v7();
    let site = demo.site();
    phone.record_at(start, RecordPayload::RunStarted { run_id: run, route_id: route_id(demo, i), site_id: site });
    phone.record_at(finish, RecordPayload::RunFinished { run_id: run, missed_reason: Some("只测时间".into()) });
    run
}

async fn a_week_with_a_holiday_and_a_move_in_period_expects_exactly_these_runs(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let admin = s.token("admin").await;
    let boss = s.token("supervisor").await;
    for (day, name) in [("2026-11-26", "公司庆典"), ("2026-11-28", "调休")] {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/sites/{site}/holidays"),
                Some(&admin),
                Some(json!({"day": day, "name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // 入伙期 for route 0 on Fridays and Saturdays: more rounds, holidays included.
    let period = json!({
        "route_id": demo.route(0)["id"], "kind": "move_in", "name": "二期入伙", "first_day": "2026-11-27",
        "last_day": "2026-11-29", "days_of_week": [5, 6],
        "windows": [{"start_minute": 480, "end_minute": 720, "runs": 2}, {"start_minute": 780, "end_minute": 1020, "runs": 2},
                    {"start_minute": 1080, "end_minute": 1200, "runs": 1}]
    });
    let path = format!("/api/v1/sites/{site}/special-periods");
    let (status, body) = s.call(Method::POST, &path, Some(&admin), Some(period.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Bad input is refused with a clear error and stores nothing.
    let mut backwards = period.clone();
    backwards["last_day"] = json!("2026-11-20");
    let (status, body) = s.call(Method::POST, &path, Some(&admin), Some(backwards)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("last_day")));
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/holidays"),
            Some(&admin),
            Some(json!({"day": "26/11", "name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s.call(Method::POST, &path, Some(&boss), Some(period)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "supervisors do not set up schedules");
    let (_, periods) = s.call(Method::GET, &path, Some(&boss), None).await;
    assert_eq!(periods.as_array().unwrap().len(), 1);

    let expected: [(&str, &[(usize, &str, u32)]); 7] = [
        ("2026-11-24", &[(0, "08:00", 1), (1, "08:00", 1), (0, "14:00", 1), (1, "14:00", 1)]),
        ("2026-11-25", &[(0, "08:00", 1), (1, "08:00", 1), (0, "14:00", 1), (1, "14:00", 1)]),
        ("2026-11-26", &[]),
        ("2026-11-27", &[(1, "08:00", 1), (0, "08:00", 2), (0, "13:00", 2), (1, "14:00", 1), (0, "18:00", 1)]),
        ("2026-11-28", &[(0, "08:00", 2), (0, "13:00", 2), (0, "18:00", 1)]),
        ("2026-11-29", &[(1, "08:00", 1), (1, "14:00", 1)]),
        ("2026-11-30", &[(0, "08:00", 1), (1, "08:00", 1), (0, "14:00", 1), (1, "14:00", 1)]),
    ];
    let mut total = 0;
    for (day, want) in expected {
        let a = audit(&s, site, day).await;
        let got: Vec<(usize, String, u32)> =
            windows(&a, &demo).into_iter().map(|(r, start, v)| (r, start, v.len() as u32)).collect();
        let want: Vec<(usize, String, u32)> = want.iter().map(|(r, t, n)| (*r, t.to_string(), *n)).collect();
        assert_eq!(got, want, "{day}");
        total += a["expected"].as_u64().unwrap();
        // The daily log counts the same expectation.
        let (_, log) = s.call(Method::GET, &format!("/api/v1/sites/{site}/daily-logs/{day}"), Some(&boss), None).await;
        assert_eq!(log["expected_runs"], a["expected"], "{day}");
    }
    assert_eq!(total, 4 + 4 + 7 + 5 + 2 + 4);
    // A head of department does not audit patrols.
    let head = s.token("eng.head").await;
    let (status, _) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/2026-11-24"), Some(&head), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn missed_and_late_are_marked_at_the_right_instants(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    // Route 0's morning round starts 09:30 and ends 10:20: past its window, so late.
    s.clock.advance_ms(30 * MINUTE);
    // The finish is made at 10:00:30 and reaches the server at 10:01 (a device time
    // later than its receipt would not be believed: docs/audit.md).
    walk(&mut officer, &demo, 0, MONDAY + 9 * HOUR + 30 * MINUTE, MONDAY + 10 * HOUR + 30_000);
    let start_only = vec![officer.queued[0].clone()];
    officer.renew(&s).await;
    let (status, _) = officer.push_records(&s, &start_only).await;
    assert_eq!(status, StatusCode::OK);
    // 09:59: the job looks and finds nothing missed; 09:59:59 both windows still open.
    s.clock.advance_ms(29 * MINUTE);
    let tick = jobs::run_due(&s.state).await.unwrap();
    // The hourly and six-hourly jobs aside: the minute jobs and the outbox are counted.
    let leased = |ran: &[&str]| ran.iter().filter(|j| !["sweep_staged", "index_months"].contains(*j)).count();
    assert_eq!((leased(&tick.ran), tick.missed_windows), (3, 0));
    s.clock.advance_ms(59_000);
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(
        windows(&a, &demo)[..2],
        [(0, "08:00".into(), vec!["on_time".into()]), (1, "08:00".into(), vec!["pending".into()])]
    );
    // 10:00 sharp: route 1's morning is missed, route 0's run is late (not finished).
    s.clock.advance_ms(1_000);
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(
        windows(&a, &demo)[..2],
        [(0, "08:00".into(), vec!["late".into()]), (1, "08:00".into(), vec!["missed".into()])]
    );
    assert_eq!(a["windows"][0]["slots"][0]["notes"], json!(["unfinished"]));
    let tick = jobs::run_due(&s.state).await.unwrap();
    assert_eq!(leased(&tick.ran), 3);
    assert_eq!(tick.missed_windows, 1, "announced once, when the window ended");
    s.clock.advance_ms(MINUTE);
    assert_eq!(jobs::run_due(&s.state).await.unwrap().missed_windows, 0, "and not again");
    let boss = s.token("supervisor").await;
    let (_, inbox) = s.call(Method::GET, "/api/v1/notifications", Some(&boss), None).await;
    let missed: Vec<&Value> = inbox.as_array().unwrap().iter().filter(|n| n["event"] == "run_missed").collect();
    assert_eq!(missed.len(), 1);
    assert!(missed[0]["title_zh"].as_str().unwrap().starts_with("漏巡"), "{}", missed[0]);
    // The finish arrives: still late, now because it ended past the window.
    officer.queued.remove(0);
    officer.renew(&s).await;
    officer.push(&s).await;
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(a["windows"][0]["slots"][0]["notes"], json!(["finished_late"]));
    // Route 1 is walked at 16:30, after the afternoon window: late for the afternoon,
    // the morning stays missed.
    s.clock.advance_ms(6 * HOUR + 29 * MINUTE);
    let now = MONDAY + 16 * HOUR + 30 * MINUTE;
    assert_eq!(s.clock_now(), now);
    walk(&mut officer, &demo, 1, now, now + 40 * MINUTE);
    // Pushed when the run is over: a device time later than its receipt is not believed.
    s.clock.advance_ms(40 * MINUTE);
    officer.renew(&s).await;
    officer.push(&s).await;
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(
        windows(&a, &demo),
        [
            (0, "08:00".into(), vec!["late".into()]),
            (1, "08:00".into(), vec!["missed".into()]),
            (0, "14:00".into(), vec!["missed".into()]),
            (1, "14:00".into(), vec!["late".into()]),
        ]
    );
    assert_eq!((a["on_time"].as_u64(), a["late"].as_u64(), a["missed"].as_u64()), (Some(0), Some(2), Some(2)));
}

async fn a_morning_run_synced_at_23_00_counts_on_time_and_a_slow_clock_is_flagged(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut offline = Phone::sign_in(&s, "patrol").await;
    let mut slow = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: offline.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    // 09:00-09:45 the offline phone walks route 0 inside its morning window.
    walk(&mut offline, &demo, 0, START_MS, START_MS + 45 * MINUTE);
    // The slow phone's clock reads two hours behind: it walks route 1 at real 10:10,
    // which its clock calls 08:10, inside the morning window.
    let behind = 2 * HOUR;
    let real = MONDAY + 10 * HOUR + 10 * MINUTE;
    walk(&mut slow, &demo, 1, real - behind, real - behind + 30 * MINUTE);
    s.clock.advance_ms(real + 40 * MINUTE - START_MS);
    slow.renew(&s).await;
    slow.push_skewed(&s, behind).await;
    // 22:59: the offline phone has not synced; its window looks missed.
    s.clock.advance_ms(MONDAY + 22 * HOUR + 59 * MINUTE - s.clock_now());
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(
        windows(&a, &demo)[..2],
        [(0, "08:00".into(), vec!["missed".into()]), (1, "08:00".into(), vec!["flagged".into()])]
    );
    assert_eq!(a["windows"][1]["slots"][0]["notes"], json!(["clock_offset"]));
    // 23:00: it syncs; device time inside the window, received before the audit
    // closed, clock offset zero: on time, the same as if it had synced at noon.
    s.clock.advance_ms(MINUTE);
    offline.renew(&s).await;
    offline.push(&s).await;
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(
        windows(&a, &demo)[..2],
        [(0, "08:00".into(), vec!["on_time".into()]), (1, "08:00".into(), vec!["flagged".into()])]
    );
    assert_eq!((a["on_time"].as_u64(), a["flagged"].as_u64()), (Some(1), Some(1)));
    // A phone that syncs after the audit closed (end of day + 24 h) is not believed.
    s.clock.advance_ms(MONDAY + 48 * HOUR + MINUTE - s.clock_now());
    let mut late_phone = Phone::sign_in(&s, "patrol").await;
    walk(&mut late_phone, &demo, 1, MONDAY + 14 * HOUR + 5 * MINUTE, MONDAY + 14 * HOUR + 50 * MINUTE);
    late_phone.push(&s).await;
    let a = audit(&s, site, "2026-11-23").await;
    assert_eq!(windows(&a, &demo)[3], (1, "14:00".into(), vec!["flagged".into()]));
    assert_eq!(a["windows"][3]["slots"][0]["notes"], json!(["received_after_audit"]));
}

async fn a_wont_do_is_seen_by_the_supervisor_and_accepted_or_rejected(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let boss = s.token("supervisor").await;
    let afternoon = MONDAY + 14 * HOUR;
    let waive = |route: usize, start: i64, reason: &str| RecordPayload::RunWaived {
        site_id: site,
        route_id: route_id(&demo, route),
        window_start_ms: start,
        reason: reason.into(),
    };
    let w0 = officer.record(&s, waive(0, afternoon, "消防演习，全员疏散")).id;
    let w1 = officer.record(&s, waive(1, afternoon, "停电")).id;
    officer.record(&s, waive(1, afternoon + 30 * MINUTE, "不是计划时段"));
    officer.record(&s, waive(1, afternoon, "重复申请"));
    let resp = officer.push(&s).await;
    let statuses: Vec<&str> =
        resp["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["applied", "applied", "rejected", "rejected"], "{resp}");
    // The supervisor hears of both in the app.
    let (_, inbox) = s.call(Method::GET, "/api/v1/notifications", Some(&boss), None).await;
    assert_eq!(inbox.as_array().unwrap().iter().filter(|n| n["event"] == "waiver_requested").count(), 2);
    // A rejection without a reason is refused and changes nothing.
    let (status, body) = s
        .call(Method::POST, &format!("/api/v1/waivers/{w1}/decision"), Some(&boss), Some(json!({"accept": false})))
        .await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("note")));
    // The officer cannot decide on their own request.
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/waivers/{w0}/decision"),
            Some(&officer.token),
            Some(json!({"accept": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/waivers/{w0}/decision"),
            Some(&boss),
            Some(json!({"accept": true, "note": "同意"})),
        )
        .await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/waivers/{w1}/decision"),
            Some(&boss),
            Some(json!({"accept": false, "note": "可以补巡"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(Method::POST, &format!("/api/v1/waivers/{w1}/decision"), Some(&boss), Some(json!({"accept": true})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    // 16:00: the accepted window is waived, the rejected one missed.
    s.clock.advance_ms(MONDAY + 16 * HOUR - s.clock_now());
    officer.renew(&s).await;
    let a = audit(&s, site, "2026-11-23").await;
    let w = windows(&a, &demo);
    assert_eq!(w[2..], [(0, "14:00".into(), vec!["waived".into()]), (1, "14:00".into(), vec!["missed".into()])]);
    assert_eq!(a["windows"][3]["waiver"]["state"], "rejected");
    // The officer hears the decisions in the next pull.
    let pulled = officer.pull(&s, "").await;
    let events: Vec<&str> =
        pulled["notifications"].as_array().unwrap().iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["waiver_decided", "waiver_decided"]);
}

both_backends!(
    a_week_with_a_holiday_and_a_move_in_period_expects_exactly_these_runs,
    missed_and_late_are_marked_at_the_right_instants,
    a_morning_run_synced_at_23_00_counts_on_time_and_a_slow_clock_is_flagged,
    a_wont_do_is_seen_by_the_supervisor_and_accepted_or_rejected,
);
