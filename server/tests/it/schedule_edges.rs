//! Numbers at the edges (issue 13): a month's completion rate while today's windows
//! are still to come, a night window that crosses midnight, the days before a site
//! existed, and a day whose runs came before any schedule did.

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::record::{CheckIn, RecordPayload};
use patrol_server::clock::Clock;
use patrol_server::web::stats;
use serde_json::{Value, json};
use support::phone::{Demo, Phone};
use support::web::{get, sign_in};
use support::{Backend, START_MS, TestServer};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

/// The text of the figure labelled `label` on a page (`<span class="value">…</span>
/// <span class="label">label</span>`).
fn figure(body: &str, label: &str) -> String {
    let tail = format!("</span><span class=\"label\">{label}</span>");
    let at = body.find(&tail).unwrap_or_else(|| panic!("no figure {label}"));
    let head = &body[..at];
    head[head.rfind('>').unwrap() + 1..].trim().to_string()
}

/// Walks a whole route of the demo site now: started, every checkpoint by QR, finished.
async fn walk(s: &TestServer, phone: &mut Phone, demo: &Demo, route: usize) -> Id {
    let route = demo.route(route).clone();
    let labels = s.qr_labels().await;
    let run = Id::now_v7();
    let route_id = route["id"].as_str().unwrap().parse().unwrap();
    phone.record(s, RecordPayload::RunStarted { run_id: run, route_id, site_id: demo.site() });
    for id in route["checkpoint_ids"].as_array().unwrap() {
        phone.record(
            s,
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: Id::now_v7(),
                checkpoint_id: id.as_str().unwrap().parse().unwrap(),
                check_in: CheckIn::Qr { token: labels[id.as_str().unwrap()].clone() },
                out_of_order: false,
            },
        );
    }
    phone.record(s, RecordPayload::RunFinished { run_id: run, missed_reason: None });
    phone.push(s).await;
    run
}

async fn audit(s: &TestServer, site: Id, day: &str) -> Value {
    let token = s.token("supervisor").await;
    let (status, body) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/{day}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// (a) At 09:10 on the site's first day one run of the morning is walked on time and
/// three windows are still to come: the month is 100 % done so far, not 25 %.
async fn a_month_rates_only_the_windows_that_have_come(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    s.clock.advance_ms(10 * MINUTE);
    walk(&s, &mut officer, &demo, 0).await;
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let month = get(&s, &format!("/sites/{}/monthly/2026-11", demo.site()), &cookie).await;
    assert_eq!(month.status, StatusCode::OK);
    assert_eq!(figure(&month.body, "应巡次数"), "4");
    assert_eq!(figure(&month.body, "按时完成"), "1");
    assert_eq!(figure(&month.body, "完成率（%）"), "100.0%", "over the one window that has come");
    assert_eq!(figure(&month.body, "待巡"), "3", "the windows still to come are shown apart");
    assert!(month.body.contains("id=\"completion-note\""), "the page says what the rate is over");
    // At 17:00 every window has ended: one done, three missed.
    s.clock.advance_ms(7 * HOUR + 50 * MINUTE);
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let month = get(&s, &format!("/sites/{}/monthly/2026-11", demo.site()), &cookie).await;
    assert_eq!((figure(&month.body, "待巡"), figure(&month.body, "完成率（%）")), ("0".into(), "25.0%".into()));
}

/// (b) A 23:00–01:00 window: accepted, expected on the evening it starts, a run at
/// 00:30 fills it (and is not counted again the next day), and an empty one is missed
/// at 01:00, not at midnight.
async fn a_night_window_crosses_midnight(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let admin = s.token("admin").await;
    let night = json!({"route_id": demo.route(0)["id"], "days_of_week": [1, 2, 3, 4, 5, 6, 7],
                       "windows": [{"start_minute": 1380, "end_minute": 60, "runs": 1}]});
    let (status, body) =
        s.call(Method::POST, &format!("/api/v1/sites/{site}/schedules"), Some(&admin), Some(night)).await;
    assert_eq!(status, StatusCode::CREATED, "a window that crosses midnight is a window: {body}");
    let empty = json!({"route_id": demo.route(0)["id"], "days_of_week": [1],
                       "windows": [{"start_minute": 600, "end_minute": 600, "runs": 1}]});
    let (status, _) = s.call(Method::POST, &format!("/api/v1/sites/{site}/schedules"), Some(&admin), Some(empty)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an empty window is not");

    // Monday 23:30: the night window waits; Tuesday 00:30 the officer walks route 0.
    s.clock.advance_ms(14 * HOUR + 30 * MINUTE);
    let monday = audit(&s, site, "2026-11-23").await;
    let night_of = |a: &Value| {
        a["windows"].as_array().unwrap().iter().find(|w| w["start_minute"] == 1380).cloned().expect("the night window")
    };
    let w = night_of(&monday);
    assert_eq!(w["end_minute"], 60);
    assert_eq!(w["end_ms"].as_i64().unwrap() - w["start_ms"].as_i64().unwrap(), 2 * HOUR, "ends on the next day");
    assert_eq!(w["slots"][0]["verdict"], "pending", "at 23:30 it is still open");
    s.clock.advance_ms(HOUR);
    let mut phone = Phone::sign_in(&s, "patrol").await;
    let run = walk(&s, &mut phone, &demo, 0).await;
    let monday = audit(&s, site, "2026-11-23").await;
    let w = night_of(&monday);
    assert_eq!(w["slots"][0]["verdict"], "on_time", "the 00:30 run belongs to the window that started at 23:00");
    assert_eq!(w["slots"][0]["run_id"], run.to_string());
    let tuesday = audit(&s, site, "2026-11-24").await;
    assert_eq!(tuesday["runs"], 1, "it was walked on Tuesday");
    assert_eq!(tuesday["unscheduled"], 0, "and counted by Monday's night window, not left over");
    assert!(
        tuesday["windows"].as_array().unwrap().iter().all(|w| w["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["run_id"] != run.to_string())),
        "Tuesday's windows do not count it again"
    );
    // Nobody walks Tuesday night: missed at 01:00 on Wednesday, not at midnight.
    s.clock.advance_ms(24 * HOUR + 20 * MINUTE); // Wednesday 00:50
    assert_eq!(night_of(&audit(&s, site, "2026-11-24").await)["slots"][0]["verdict"], "pending");
    s.clock.advance_ms(20 * MINUTE); // 01:10
    assert_eq!(night_of(&audit(&s, site, "2026-11-24").await)["slots"][0]["verdict"], "missed");
    // The console writes the window as it is.
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let log = get(&s, &format!("/sites/{site}/daily-logs/2026-11-24"), &cookie).await;
    assert!(log.body.contains("23:00–01:00 (次日)"), "the daily log names the night window");
}

/// (c) The days before the site was set up have no log to sign, and the month starts
/// on the site's first day.
async fn days_before_the_site_existed_count_for_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let site_id: Id = s.site_id().await.parse().unwrap();
    s.clock.advance_ms(2 * 24 * HOUR + HOUR); // Wednesday 10:00
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let dashboard = get(&s, "/dashboard", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    for day in ["2026-11-23", "2026-11-24"] {
        assert!(dashboard.body.contains(&format!("daily-logs/{day}\"")), "{day}'s log is unsigned");
    }
    for day in ["2026-11-22", "2026-11-21", "2026-11-18"] {
        assert!(!dashboard.body.contains(&format!("daily-logs/{day}\"")), "{day} was before the site existed");
    }
    let site =
        s.state.store.read(move |c| patrol_server::store::reference::get_site(c, site_id)).await.unwrap().unwrap();
    let now = s.clock.now_ms();
    let month = s.state.store.read(move |c| stats::month_summary(c, &site, 2026, 11, now)).await.unwrap();
    let first = month.days.first().expect("the site's days").0;
    assert_eq!(
        first,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        "the month starts on the site's first day"
    );
    assert_eq!(month.days.len(), 3);
}

/// (d) A new site walked for a day before its schedule was set up: that day expects
/// nothing, and says so, and its three runs are shown as not counted by a schedule,
/// not silently beside "nothing missed".
async fn runs_before_any_schedule_are_shown_as_not_counted(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let call = |path: String, body: Value| {
        let admin = admin.clone();
        let s = &s;
        async move {
            let (status, out) = s.call(Method::POST, &path, Some(&admin), Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{path}: {out}");
            out
        }
    };
    let site = call("/api/v1/sites".into(), json!({"code": "XY", "name_zh": "新苑"})).await;
    let site: Id = site["id"].as_str().unwrap().parse().unwrap();
    let cp = call(
        format!("/api/v1/sites/{site}/checkpoints"),
        json!({"code": "X1", "name_zh": "北门", "latitude": 31.2, "longitude": 121.4}),
    )
    .await;
    let route =
        call(format!("/api/v1/sites/{site}/routes"), json!({"name_zh": "日巡", "checkpoint_ids": [cp["id"]]})).await;
    let route: Id = route["id"].as_str().unwrap().parse().unwrap();
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let person = officer.person;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/people/{person}/roles"),
            Some(&admin),
            Some(json!({"role": "patrol_staff", "site_id": site})),
        )
        .await;
    assert!(status.is_success(), "{body}");

    // Tuesday: three runs at 09:00, 10:00 and 11:00; no schedule yet.
    s.clock.advance_ms(24 * HOUR + 2 * HOUR); // Tuesday 11:00
    officer.renew(&s).await;
    let tuesday_nine = START_MS + 24 * HOUR;
    for h in 0..3 {
        let run = Id::now_v7();
        officer.record_at(
            tuesday_nine + h * HOUR,
            RecordPayload::RunStarted { run_id: run, route_id: route, site_id: site },
        );
        officer.record_at(
            tuesday_nine + h * HOUR + 20 * MINUTE,
            RecordPayload::RunFinished { run_id: run, missed_reason: Some("试运行".into()) },
        );
    }
    officer.push(&s).await;
    // Wednesday 10:00: the schedule is set up.
    s.clock.advance_ms(23 * HOUR);
    let admin = s.token("admin").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/schedules"),
            Some(&admin),
            Some(json!({"route_id": route, "days_of_week": [1, 2, 3, 4, 5, 6, 7],
                        "windows": [{"start_minute": 480, "end_minute": 600, "runs": 1}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (cookie, _) = sign_in(&s, "manager").await;
    let log = get(&s, &format!("/sites/{site}/daily-logs/2026-11-24"), &cookie).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert_eq!(log.body.matches("/runs/").count(), 3, "the day's three runs are listed");
    assert_eq!(figure(&log.body, "应巡次数"), "0");
    assert!(!log.body.contains("当日没有漏巡或迟巡"), "no \"nothing missed\" beside runs nothing counted");
    assert_eq!(figure(&log.body, "未计入计划"), "3", "and counted as walked outside any schedule");
    assert!(log.body.contains("id=\"no-schedule\""), "the day says no schedule was in force");
    assert!(log.body.contains("2026-11-25 10:00"), "and from when the schedule counts");
    assert!(log.body.contains("不保留历史版本"), "schedules have no history, and the page says so");
    // Wednesday's 08:00–10:00 window had ended when the schedule was set up at 10:00.
    let wednesday = get(&s, &format!("/sites/{site}/daily-logs/2026-11-25"), &cookie).await;
    assert_eq!(figure(&wednesday.body, "应巡次数"), "0");
    let month = get(&s, &format!("/sites/{site}/monthly/2026-11"), &cookie).await;
    assert_eq!(figure(&month.body, "未计入计划"), "3");
    assert_eq!(figure(&month.body, "应巡次数"), "0");
}

both_backends!(
    a_month_rates_only_the_windows_that_have_come,
    a_night_window_crosses_midnight,
    days_before_the_site_existed_count_for_nothing,
    runs_before_any_schedule_are_shown_as_not_counted,
);
