//! Reference data edited and retired over time (issue 13, item 1), explored by a
//! generated sequence of changes on both databases: every accepted edit or retirement
//! is one more version in the object's history, every refused one (bad fields, the
//! wrong role, a retired object, a checkpoint still on a route, an object of no site)
//! changes nothing; lists and the phones' pull leave retired objects out; runs walked
//! between the changes, one of them on a route retired while it was walked, are
//! accepted; and `audit verify` replays the whole history without a finding.

use crate::support;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::record::{CheckIn, RecordPayload};
use patrol_server::audit::verify;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::phone::Phone;
use support::{Backend, TestServer};

const MINUTE: i64 = 60_000;
const WATCHED: &[&str] = &["sites", "departments", "checkpoints", "routes", "schedules", "reference_versions", "feed"];

struct World<'a> {
    s: &'a TestServer,
    admin: String,
    supervisor: String,
    site: Id,
    /// Versions each object should have, by (kind segment, id).
    expected: BTreeMap<(String, Id), usize>,
    retired: HashSet<Id>,
    n: u32,
}

impl World<'_> {
    async fn list(&self, what: &str) -> Vec<Value> {
        let (status, body) =
            self.s.call(Method::GET, &format!("/api/v1/sites/{}/{what}", self.site), Some(&self.admin), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.s.call(method, &format!("/api/v1/sites/{}{path}", self.site), Some(token), body).await
    }

    /// A change that must be accepted: one more version (two for an object's first
    /// change, which also keeps the state it was created with).
    async fn accepted(&mut self, what: &str, id: Id, method: Method, path: &str, body: Option<Value>) {
        let (status, resp) = self.call(method, path, &self.admin.clone(), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path} {body:?}: {resp}");
        let count = self.expected.entry((what.to_string(), id)).or_insert(1);
        *count += 1;
        assert_eq!(resp["version"], json!(*count), "{path}: the version number counts the history");
    }

    /// A change that must be refused with `status` and change nothing.
    async fn refused(&self, token: &str, method: Method, path: &str, body: Option<Value>, status: StatusCode) {
        let before = self.s.dump().await;
        let (got, resp) = self.call(method, path, token, body.clone()).await;
        assert_eq!(got, status, "{path} {body:?}: {resp}");
        assert!(resp["message"].as_str().is_some_and(|m| !m.is_empty()), "a refusal says why: {resp}");
        let after = self.s.dump().await;
        let changed: Vec<String> = support::dump::changed(&before, &after)
            .into_iter()
            .filter(|t| WATCHED.iter().any(|w| t.starts_with(&format!("{w} "))))
            .collect();
        assert!(changed.is_empty(), "a refused {path} changed {changed:?}");
    }

    fn pick<'v>(&self, rng: &mut StdRng, items: &'v [Value]) -> Option<&'v Value> {
        items.choose(rng)
    }
}

fn id(v: &Value) -> Id {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn days(rng: &mut StdRng) -> Vec<u8> {
    let mut d: Vec<u8> = (1..=7).filter(|_| rng.gen_bool(0.6)).collect();
    if d.is_empty() {
        d.push(rng.gen_range(1..=7));
    }
    d
}

fn windows(rng: &mut StdRng) -> Value {
    let start = rng.gen_range(0..20) * 60;
    let mut w = vec![json!({"start_minute": start, "end_minute": start + 60, "runs": 1})];
    if rng.gen_bool(0.5) {
        // One crossing midnight.
        w.push(json!({"start_minute": 23 * 60, "end_minute": 60, "runs": 1}));
    }
    json!(w)
}

/// Starts a run on `route` and visits its checkpoints; the run is pushed, finished or
/// not, and must be applied whatever happened to the route meanwhile.
async fn walk(s: &TestServer, phone: &mut Phone, route: &Value, labels: &HashMap<String, String>, site: Id) -> Id {
    let run = Id::now_v7();
    phone.record(s, RecordPayload::RunStarted { run_id: run, route_id: id(route), site_id: site });
    for cp in route["checkpoint_ids"].as_array().unwrap() {
        phone.record(
            s,
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: Id::now_v7(),
                checkpoint_id: cp.as_str().unwrap().parse().unwrap(),
                check_in: CheckIn::Qr { token: labels[cp.as_str().unwrap()].clone() },
                out_of_order: false,
            },
        );
    }
    let resp = phone.push(s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");
    run
}

async fn finish(s: &TestServer, phone: &mut Phone, run: Id) {
    phone.record(s, RecordPayload::RunFinished { run_id: run, missed_reason: None });
    let resp = phone.push(s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");
}

async fn changes_keep_every_version_refusals_change_nothing_and_the_audit_replays_them(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let seed: u64 = std::env::var("PATROL_HISTORY_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("reference history seed {seed} (PATROL_HISTORY_SEED={seed} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let site: Id = s.site_id().await.parse().unwrap();
    let mut w = World {
        s: &s,
        admin: s.token("admin").await,
        supervisor: s.token("supervisor").await,
        site,
        expected: BTreeMap::new(),
        retired: HashSet::new(),
        n: 0,
    };
    let mut phone = Phone::sign_in(&s, "patrol").await;
    let mut walked = 0;
    let mut refusals = 0;
    for _ in 0..48 {
        // Access tokens live minutes; the clock moves hours.
        w.admin = s.token("admin").await;
        w.supervisor = s.token("supervisor").await;
        phone.renew(&s).await;
        w.n += 1;
        let n = w.n;
        let departments = w.list("departments").await;
        let checkpoints = w.list("checkpoints").await;
        let routes = w.list("routes").await;
        let schedules = w.list("schedules").await;
        match rng.gen_range(0..14) {
            0 => {
                let body = json!({"name_zh": format!("阳光花园 第{n}版"), "name_en": format!("Sunshine v{n}")});
                w.accepted("site", site, Method::PUT, "", Some(body)).await;
            }
            1 if departments.iter().any(|d| d["kind"] == "administration") && rng.gen_bool(0.3) => {
                // A department with no notices retires.
                let d = departments.iter().find(|d| d["kind"] == "administration").unwrap().clone();
                let path = format!("/departments/{}/retire", id(&d));
                w.accepted("departments", id(&d), Method::POST, &path, None).await;
                w.retired.insert(id(&d));
            }
            1 => {
                let d = w.pick(&mut rng, &departments).unwrap().clone();
                let body =
                    json!({"name_zh": format!("{}·{n}", d["kind"].as_str().unwrap()), "name_en": format!("Dept {n}")});
                w.accepted("departments", id(&d), Method::PUT, &format!("/departments/{}", id(&d)), Some(body)).await;
            }
            2 => {
                let Some(cp) = w.pick(&mut rng, &checkpoints).cloned() else { continue };
                let mut checklist: Vec<Value> = cp["checklist"].as_array().unwrap().clone();
                if rng.gen_bool(0.5) {
                    checklist.push(json!({"text_zh": format!("新增检查项{n}"), "text_en": format!("New item {n}")}));
                } else if checklist.len() > 1 {
                    checklist.remove(0);
                }
                let body = json!({
                    "name_zh": format!("巡检点{n}"), "name_en": format!("Checkpoint {n}"),
                    "latitude": cp["latitude"].as_f64().unwrap() + rng.gen_range(-0.0005..0.0005),
                    "longitude": cp["longitude"], "radius_m": rng.gen_range(10..60) as f64,
                    "nfc_tag_id": cp["nfc_tag_id"], "checklist": checklist,
                });
                w.accepted("checkpoints", id(&cp), Method::PUT, &format!("/checkpoints/{}", id(&cp)), Some(body)).await;
            }
            3 => {
                let Some(r) = w.pick(&mut rng, &routes).cloned() else { continue };
                let mut ids: Vec<Value> = checkpoints.iter().map(|c| c["id"].clone()).collect();
                ids.shuffle(&mut rng);
                ids.truncate(rng.gen_range(1..=ids.len().min(8)));
                let body =
                    json!({"name_zh": format!("线路{n}"), "name_en": format!("Round {n}"), "checkpoint_ids": ids});
                w.accepted("routes", id(&r), Method::PUT, &format!("/routes/{}", id(&r)), Some(body)).await;
            }
            4 => {
                let Some(sc) = w.pick(&mut rng, &schedules).cloned() else { continue };
                let body = json!({"days_of_week": days(&mut rng), "windows": windows(&mut rng)});
                w.accepted("schedules", id(&sc), Method::PUT, &format!("/schedules/{}", id(&sc)), Some(body)).await;
            }
            5 => {
                let Some(sc) = w.pick(&mut rng, &schedules).cloned() else { continue };
                w.accepted("schedules", id(&sc), Method::POST, &format!("/schedules/{}/retire", id(&sc)), None).await;
                w.retired.insert(id(&sc));
            }
            6 => {
                // A new checkpoint, on no route, retired.
                let body = json!({"code": format!("TMP-{n}"), "name_zh": format!("临时点{n}"), "latitude": 31.2, "longitude": 121.4});
                let (status, cp) = w.call(Method::POST, "/checkpoints", &w.admin.clone(), Some(body)).await;
                assert_eq!(status, StatusCode::CREATED, "{cp}");
                w.accepted("checkpoints", id(&cp), Method::POST, &format!("/checkpoints/{}/retire", id(&cp)), None)
                    .await;
                w.retired.insert(id(&cp));
            }
            7 => {
                // A checkpoint still on a route stays.
                let on_route: Vec<Value> =
                    routes.iter().flat_map(|r| r["checkpoint_ids"].as_array().unwrap().clone()).collect();
                let Some(cp) = on_route.choose(&mut rng) else { continue };
                let path = format!("/checkpoints/{}/retire", cp.as_str().unwrap());
                w.refused(&w.admin.clone(), Method::POST, &path, None, StatusCode::CONFLICT).await;
                refusals += 1;
            }
            8 => {
                let Some(r) = w.pick(&mut rng, &routes).cloned() else { continue };
                let d = w.pick(&mut rng, &departments).unwrap().clone();
                let cp = w.pick(&mut rng, &checkpoints).unwrap().clone();
                let sc = w.pick(&mut rng, &schedules).cloned();
                let bad: Vec<(String, Value)> = vec![
                    (format!("/departments/{}", id(&d)), json!({"name_zh": " ", "name_en": "x"})),
                    (format!("/departments/{}", id(&d)), json!({"name_zh": "a\u{0007}b"})),
                    (format!("/routes/{}", id(&r)), json!({"name_zh": "线路", "checkpoint_ids": [Id::now_v7()]})),
                    (format!("/routes/{}", id(&r)), json!({"name_zh": "线路", "checkpoint_ids": []})),
                    (
                        format!("/checkpoints/{}", id(&cp)),
                        json!({"name_zh": "点", "latitude": 31.2, "longitude": 121.4, "radius_m": -1.0}),
                    ),
                    (
                        format!("/checkpoints/{}", id(&cp)),
                        json!({"name_zh": "点", "latitude": 95.0, "longitude": 121.4, "radius_m": 20.0}),
                    ),
                ];
                let (path, body) = bad.choose(&mut rng).unwrap().clone();
                w.refused(&w.admin.clone(), Method::PUT, &path, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
                if let Some(sc) = sc {
                    let body = json!({"days_of_week": [9], "windows": windows(&mut rng)});
                    let path = format!("/schedules/{}", id(&sc));
                    w.refused(&w.admin.clone(), Method::PUT, &path, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
                }
                refusals += 1;
            }
            9 => {
                // The wrong role, for every kind of change.
                let Some(r) = w.pick(&mut rng, &routes).cloned() else { continue };
                let body = json!({"name_zh": "线路", "checkpoint_ids": r["checkpoint_ids"]});
                let sup = w.supervisor.clone();
                w.refused(&sup, Method::PUT, &format!("/routes/{}", id(&r)), Some(body), StatusCode::FORBIDDEN).await;
                w.refused(&sup, Method::POST, &format!("/routes/{}/retire", id(&r)), None, StatusCode::FORBIDDEN).await;
                refusals += 1;
            }
            10 => {
                // A retired object cannot change; an unknown one is not found.
                let unknown = Id::now_v7();
                let body = json!({"name_zh": "线路", "checkpoint_ids": []});
                let admin = w.admin.clone();
                w.refused(&admin, Method::PUT, &format!("/routes/{unknown}"), Some(body), StatusCode::NOT_FOUND).await;
                w.refused(&admin, Method::POST, &format!("/schedules/{unknown}/retire"), None, StatusCode::NOT_FOUND)
                    .await;
                if let Some(gone) = w.expected.keys().find(|(k, i)| k == "schedules" && w.retired.contains(i)).cloned()
                {
                    let body = json!({"days_of_week": [1], "windows": windows(&mut rng)});
                    w.refused(&admin, Method::PUT, &format!("/schedules/{}", gone.1), Some(body), StatusCode::CONFLICT)
                        .await;
                }
                refusals += 1;
            }
            11 => {
                let Some(r) = w.pick(&mut rng, &routes).cloned() else { continue };
                let labels = s.qr_labels().await;
                let run = walk(&s, &mut phone, &r, &labels, site).await;
                finish(&s, &mut phone, run).await;
                walked += 1;
            }
            12 => {
                // A route retired while it is being walked: the run still finishes.
                if routes.len() < 2 {
                    continue;
                }
                let r = w.pick(&mut rng, &routes).unwrap().clone();
                let labels = s.qr_labels().await;
                let run = walk(&s, &mut phone, &r, &labels, site).await;
                let its: Vec<Id> = schedules.iter().filter(|x| x["route_id"] == r["id"]).map(id).collect();
                w.accepted("routes", id(&r), Method::POST, &format!("/routes/{}/retire", id(&r)), None).await;
                w.retired.insert(id(&r));
                for sc in its {
                    *w.expected.entry(("schedules".into(), sc)).or_insert(1) += 1;
                    w.retired.insert(sc);
                }
                finish(&s, &mut phone, run).await;
                walked += 1;
            }
            _ => {
                // A new schedule on a route, so later steps have schedules to change.
                let Some(r) = w.pick(&mut rng, &routes).cloned() else { continue };
                let body = json!({"route_id": r["id"], "days_of_week": days(&mut rng), "windows": windows(&mut rng)});
                let (status, sc) = w.call(Method::POST, "/schedules", &w.admin.clone(), Some(body)).await;
                assert_eq!(status, StatusCode::CREATED, "{sc}");
                w.expected.insert(("schedules".into(), id(&sc)), 1);
            }
        }
        s.clock.advance_ms(rng.gen_range(1..180) * MINUTE);
    }
    eprintln!("{} objects changed, {walked} runs walked, {refusals} refusal steps", w.expected.len());
    w.admin = s.token("admin").await;
    w.supervisor = s.token("supervisor").await;
    phone.renew(&s).await;

    // Every object's history: the versions counted, in time order, the last one retired
    // exactly when the object was.
    for ((what, object), count) in &w.expected {
        let path = if what == "site" { "/history".to_string() } else { format!("/{what}/{object}/history") };
        let (status, history) = w.call(Method::GET, &path, &w.supervisor, None).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let versions = history.as_array().unwrap();
        assert_eq!(versions.len(), *count, "{what} {object}: {history}");
        let times: Vec<i64> = versions.iter().map(|v| v["valid_from_ms"].as_i64().unwrap()).collect();
        assert!(times.windows(2).all(|p| p[0] <= p[1]), "{what} {object}: versions in time order {times:?}");
        let last_retired = !versions.last().unwrap()["retired_ms"].is_null();
        assert_eq!(last_retired, w.retired.contains(object), "{what} {object}: {history}");
        assert!(versions[..versions.len() - 1].iter().all(|v| v["retired_ms"].is_null()), "only the last retires");
    }
    // Lists and the phones' reference data leave retired objects out and keep the rest.
    let pulled = phone.pull(&s, "").await["reference"].clone();
    for what in ["departments", "checkpoints", "routes", "schedules"] {
        let listed: HashSet<Id> = w.list(what).await.iter().map(id).collect();
        let on_phone: HashSet<Id> = pulled[what].as_array().unwrap().iter().map(id).collect();
        assert_eq!(listed, on_phone, "{what}: the phone gets what the list shows");
        for ((k, object), _) in &w.expected {
            if k == what {
                assert_eq!(listed.contains(object), !w.retired.contains(object), "{what} {object}");
            }
        }
    }
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "seed {seed}: {}", report.render());
}

/// A schedule edited at noon: the windows that ended before the edit are counted
/// under the old schedule, the ones ending after it under the new one; retired the
/// next day, it expects nothing of the windows that end after its retirement.
async fn a_schedule_changed_mid_day_counts_each_window_under_the_version_then_in_force(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let site = s.site_id().await;
    let admin = s.token("admin").await;
    let (_, schedules) = s.call(Method::GET, &format!("/api/v1/sites/{site}/schedules"), Some(&admin), None).await;
    let first = schedules[0].clone();
    let route = first["route_id"].clone();
    let windows_of = |audit: &Value| -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = audit["windows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["route_id"] == route)
            .map(|w| (w["start_minute"].as_u64().unwrap(), w["end_minute"].as_u64().unwrap()))
            .collect();
        v.sort();
        v
    };
    // The demo day starts at 09:00 local; move to 12:00 and edit: 08–10 has ended (old),
    // 14–16 is replaced by 13–15 and 18–19.
    s.clock.advance_ms(3 * 60 * MINUTE);
    let (admin, sup) = (s.token("admin").await, s.token("supervisor").await);
    let body = json!({"days_of_week": [1, 2, 3, 4, 5, 6, 7], "windows": [
        {"start_minute": 13 * 60, "end_minute": 15 * 60, "runs": 1},
        {"start_minute": 18 * 60, "end_minute": 19 * 60, "runs": 1},
    ]});
    let (status, resp) = s
        .call(
            Method::PUT,
            &format!("/api/v1/sites/{site}/schedules/{}", first["id"].as_str().unwrap()),
            Some(&admin),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let day = "2026-11-23";
    let (status, audit) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/{day}"), Some(&sup), None).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(windows_of(&audit), vec![(8 * 60, 10 * 60), (13 * 60, 15 * 60), (18 * 60, 19 * 60)], "{audit}");
    // The next day at 10:30: retire it. 08–10 of that day counted (new version), the rest not.
    s.clock.advance_ms(22 * 60 * MINUTE + 30 * MINUTE);
    let (admin, sup) = (s.token("admin").await, s.token("supervisor").await);
    let (status, resp) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/schedules/{}/retire", first["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let (_, audit) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/2026-11-24"), Some(&sup), None).await;
    assert_eq!(
        windows_of(&audit),
        Vec::<(u64, u64)>::new(),
        "the new version has no window ending before 10:30: {audit}"
    );
    let (_, audit) = s.call(Method::GET, &format!("/api/v1/sites/{site}/audit/{day}"), Some(&sup), None).await;
    assert_eq!(windows_of(&audit).len(), 3, "the day before is unchanged by the retirement");
}

/// The console: a checkpoint's page offers its current state as a form; saving a
/// change shows two versions (the created one and the change), the list links to it;
/// a route's order is edited through the same numbered fields as on creation; retiring
/// a schedule takes it off the list and leaves its page read-only with its history;
/// a bad field is refused and changes nothing.
async fn the_console_edits_retires_and_shows_history(backend: Backend) {
    use support::web::{get, post, sign_in};
    let Some(s) = TestServer::start(backend).await else { return };
    let site = s.site_id().await;
    let admin = s.token("admin").await;
    let (_, checkpoints) = s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&admin), None).await;
    let cp = checkpoints[0].clone();
    let (cookie, csrf) = sign_in(&s, "admin").await;
    let list = get(&s, &format!("/admin/sites/{site}/checkpoints"), &cookie).await;
    let page_path = format!("/admin/sites/{site}/objects/checkpoint/{}", id(&cp));
    assert!(list.body.contains(&page_path), "the list links to each checkpoint's page");
    let page = get(&s, &page_path, &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(cp["name_zh"].as_str().unwrap()));

    let checklist = "照明正常 / Lights work\n消防通道畅通";
    let edited = post(
        &s,
        &format!("{page_path}/edit"),
        &cookie,
        &[
            ("_csrf", csrf.as_str()),
            ("name_zh", "北门岗亭（新）"),
            ("name_en", "North gate (new)"),
            ("latitude", "31.2301"),
            ("longitude", "121.4701"),
            ("radius_m", "35"),
            ("nfc_tag_id", ""),
            ("checklist", checklist),
        ],
    )
    .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let page = get(&s, &page_path, &cookie).await;
    assert!(page.body.contains("北门岗亭（新）"), "{}", page.body);
    let rows = page
        .body
        .split("<table id=\"history\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .matches("<tr>")
        .count();
    assert_eq!(rows, 3, "a header row and two versions: {}", page.body);
    let (_, history) =
        s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints/{}/history", id(&cp)), Some(&admin), None).await;
    assert_eq!(history[1]["body"]["checklist"].as_array().unwrap().len(), 2);
    assert_eq!(history[1]["body"]["radius_m"], json!(35.0));

    // A bad latitude: refused, nothing kept.
    let before = s.dump().await;
    let bad = post(
        &s,
        &format!("{page_path}/edit"),
        &cookie,
        &[
            ("_csrf", csrf.as_str()),
            ("name_zh", "北门"),
            ("latitude", "north"),
            ("longitude", "121.47"),
            ("radius_m", "30"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let after = s.dump().await;
    assert!(
        support::dump::changed(&before, &after)
            .iter()
            .all(|t| !t.starts_with("checkpoints ") && !t.starts_with("reference_versions "))
    );

    // A route's order, through the numbered fields: two checkpoints, reversed.
    let (_, routes) = s.call(Method::GET, &format!("/api/v1/sites/{site}/routes"), Some(&admin), None).await;
    let route = routes[0].clone();
    let ids = route["checkpoint_ids"].as_array().unwrap();
    let (first, second) = (ids[0].as_str().unwrap(), ids[1].as_str().unwrap());
    let route_page = format!("/admin/sites/{site}/objects/route/{}", id(&route));
    let (o1, o2) = (format!("order_{first}"), format!("order_{second}"));
    let saved = post(
        &s,
        &format!("{route_page}/edit"),
        &cookie,
        &[("_csrf", csrf.as_str()), ("name_zh", "外围线路"), ("name_en", ""), (o1.as_str(), "2"), (o2.as_str(), "1")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, routes) = s.call(Method::GET, &format!("/api/v1/sites/{site}/routes"), Some(&admin), None).await;
    let now = routes.as_array().unwrap().iter().find(|r| r["id"] == route["id"]).unwrap().clone();
    assert_eq!(now["checkpoint_ids"], json!([second, first]));

    // Retiring a schedule.
    let (_, schedules) = s.call(Method::GET, &format!("/api/v1/sites/{site}/schedules"), Some(&admin), None).await;
    let sc = id(&schedules[0]);
    let sc_page = format!("/admin/sites/{site}/objects/schedule/{sc}");
    let retired = post(&s, &format!("{sc_page}/retire"), &cookie, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(retired.status, StatusCode::SEE_OTHER, "{}", retired.body);
    let list = get(&s, &format!("/admin/sites/{site}/schedules"), &cookie).await;
    assert!(!list.body.contains(&sc_page), "a retired schedule leaves the list");
    let page = get(&s, &sc_page, &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("已停用") && !page.body.contains(&format!("{sc_page}/edit")), "read-only once retired");
}

/// A run walked before a checkpoint was renamed shows it by the name it had then; a
/// run walked after, by the new one.
async fn a_past_run_shows_its_checkpoints_as_they_were(backend: Backend) {
    use support::web::{get, sign_in};
    let Some(s) = TestServer::start(backend).await else { return };
    let site: Id = s.site_id().await.parse().unwrap();
    let mut phone = Phone::sign_in(&s, "patrol").await;
    let admin = s.token("admin").await;
    let (_, routes) = s.call(Method::GET, &format!("/api/v1/sites/{site}/routes"), Some(&admin), None).await;
    let route = routes[0].clone();
    let cp_id = route["checkpoint_ids"][0].as_str().unwrap().to_string();
    let (_, cps) = s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(&admin), None).await;
    let cp = cps.as_array().unwrap().iter().find(|c| c["id"] == json!(cp_id)).unwrap().clone();
    let old_name = cp["name_zh"].as_str().unwrap().to_string();
    let labels = s.qr_labels().await;
    let before = walk(&s, &mut phone, &route, &labels, site).await;
    finish(&s, &mut phone, before).await;

    s.clock.advance_ms(30 * MINUTE);
    let admin = s.token("admin").await;
    let body = json!({"name_zh": "改名后的岗亭", "latitude": cp["latitude"], "longitude": cp["longitude"], "radius_m": cp["radius_m"], "checklist": cp["checklist"]});
    let (status, resp) =
        s.call(Method::PUT, &format!("/api/v1/sites/{site}/checkpoints/{cp_id}"), Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    s.clock.advance_ms(30 * MINUTE);
    phone.renew(&s).await;
    let after = walk(&s, &mut phone, &route, &labels, site).await;
    finish(&s, &mut phone, after).await;

    let (cookie, _) = sign_in(&s, "supervisor").await;
    let then = get(&s, &format!("/runs/{before}"), &cookie).await;
    assert_eq!(then.status, StatusCode::OK, "{}", then.body);
    assert!(then.body.contains(&old_name) && !then.body.contains("改名后的岗亭"), "the earlier run names it as it was");
    let now = get(&s, &format!("/runs/{after}"), &cookie).await;
    assert!(now.body.contains("改名后的岗亭"), "the later run names it as it is");
}

/// A department retired while a disputed notice waits: reassigning the notice to it
/// is refused (in the timeline, with the reason in both languages), to a department
/// in use it goes.
async fn a_notice_is_not_reassigned_to_a_retired_department(backend: Backend) {
    use patrol_protocol::notice::NoticeAction;
    use support::phone::{Demo, act, notice};
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (nid, raised) = notice(demo.site(), demo.dept("engineering"), "水管漏水", vec![], s.clock_now() + 86_400_000);
    officer.record(&s, raised);
    officer.push(&s).await;
    let mut eng = Phone::sign_in(&s, "eng.head").await;
    eng.record(&s, act(nid, NoticeAction::Dispute, "不属于工程部", vec![], None));
    eng.push(&s).await;

    let admin = s.token("admin").await;
    let gone = demo.dept("administration");
    let (status, resp) = s
        .call(Method::POST, &format!("/api/v1/sites/{}/departments/{gone}/retire", demo.site()), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let mut supervisor = Phone::sign_in(&s, "supervisor").await;
    supervisor.record(&s, act(nid, NoticeAction::Reassign, "转行政部", vec![], Some(gone)));
    let resp = supervisor.push(&s).await;
    assert_eq!(resp["results"][0]["status"], "rejected", "{resp}");
    let why = resp["results"][0].to_string();
    assert!(why.contains("retired") && why.contains("已停用"), "{why}");
    supervisor.record(&s, act(nid, NoticeAction::Reassign, "转保洁部", vec![], Some(demo.dept("cleaning"))));
    let resp = supervisor.push(&s).await;
    assert_eq!(resp["results"][0]["status"], "applied", "{resp}");
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
}

both_backends!(
    changes_keep_every_version_refusals_change_nothing_and_the_audit_replays_them,
    a_schedule_changed_mid_day_counts_each_window_under_the_version_then_in_force,
    the_console_edits_retires_and_shows_history,
    a_past_run_shows_its_checkpoints_as_they_were,
    a_notice_is_not_reassigned_to_a_retired_department,
);
