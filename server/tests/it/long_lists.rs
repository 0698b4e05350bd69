//! A year at a real compound: a site with hundreds of notices for one department and
//! a few for another, a day with hundreds of runs. Every list shows each notice its
//! reader may see exactly once, a page at a time, and the figures above a list count
//! all of them in the database, never a page (issue 13: the engineering head's inbox
//! read "0 未关闭" after 520 cleaning notices while the dashboard showed engineering
//! with 3 open, 1 overdue).

use crate::support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode, header};
use patrol_protocol::record::{CheckIn, RecordPayload};
use patrol_server::clock::Clock;
use patrol_server::web::stats;
use support::phone::{Demo, Phone, notice};
use support::web::{get, sign_in};
use support::{Backend, TestServer};

const HOUR: i64 = 3_600_000;

/// The value of the figure labelled `label` on a page (`<span class="value">N</span>
/// <span class="label">label</span>`).
fn figure(body: &str, label: &str) -> u64 {
    let tail = format!("</span><span class=\"label\">{label}</span>");
    let at = body.find(&tail).unwrap_or_else(|| panic!("no figure {label}"));
    let head = &body[..at];
    let from = head.rfind('>').unwrap() + 1;
    head[from..].trim().parse().unwrap_or_else(|_| panic!("figure {label}: {:?}", &head[from..]))
}

/// The notices listed on one page of the inbox, and the address of the next page.
fn listed(body: &str) -> (Vec<String>, Option<String>) {
    let ids = body.split("data-notice=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_string()).collect();
    let next = body.find("id=\"next-page\"").map(|at| {
        let tag_start = body[..at].rfind('<').unwrap();
        let tag = &body[tag_start..body[tag_start..].find('>').unwrap() + tag_start];
        let href = tag.split("href=\"").nth(1).unwrap().split('"').next().unwrap();
        href.replace("&amp;", "&")
    });
    (ids, next)
}

/// Every notice of an inbox tab, page after page; panics if a page repeats one.
async fn walk_inbox(s: &TestServer, cookie: &str, first: &str) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut next) = (Vec::new(), 0, Some(first.to_string()));
    while let Some(path) = next {
        let page = get(s, &path, cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let (ids, more) = listed(&page.body);
        assert!(!ids.is_empty() || pages == 0, "{path} is empty but was linked to");
        all.extend(ids);
        pages += 1;
        assert!(pages < 50, "the pages do not end");
        next = more;
    }
    (all, pages)
}

/// Every notice of `GET /api/v1/notices`, following `Link: rel="next"`.
async fn walk_api(s: &TestServer, token: &str, first: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let req = axum::http::Request::get(&path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        next = resp.headers().get(header::LINK).map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("rel=\"next\""), "{l}");
            l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_string()
        });
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20).await.unwrap();
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        all.extend(page.as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()));
        assert!(all.len() < 10_000, "the pages do not end");
    }
    all
}

fn once(ids: &[String]) -> BTreeSet<String> {
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "a notice was listed twice");
    set
}

/// Ids of the notices matching a condition, asked of the database directly.
async fn in_database(s: &TestServer, condition: String) -> BTreeSet<String> {
    in_database_table(s, "notices", condition).await
}

async fn in_database_table(s: &TestServer, table: &'static str, condition: String) -> BTreeSet<String> {
    s.state
        .store
        .read(move |c| {
            c.query(&format!("SELECT id FROM {table} WHERE {condition}"), &[])?
                .iter()
                .map(|r| r.text(0))
                .collect::<Result<BTreeSet<_>, _>>()
        })
        .await
        .unwrap()
}

async fn a_busy_department_hides_no_notice_of_a_quiet_one(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (site, eng, cleaning) = (demo.site(), demo.dept("engineering"), demo.dept("cleaning"));
    let now = s.clock.now_ms();
    // Engineering first: one due within the hour, three within two days (one voided later).
    let mut engineering = Vec::new();
    for (i, due) in [now + HOUR, now + 40 * HOUR, now + 40 * HOUR, now + 44 * HOUR].into_iter().enumerate() {
        let (id, p) = notice(site, eng, &format!("工程 {i}"), vec![], due);
        officer.record(&s, p);
        engineering.push(id);
    }
    officer.push(&s).await;
    // The cleaning notices arrive later: the site's newest 500 are all cleaning ones.
    s.clock.advance_ms(60_000);
    // Then 520 for cleaning, pushed as a phone would, 100 records at a time; many share
    // a due time, so the list's order must break ties.
    for batch in 0..6 {
        for i in 0..(if batch < 5 { 100 } else { 20 }) {
            let due = now + 24 * HOUR + (i % 3) * HOUR;
            let (_, p) = notice(site, cleaning, &format!("保洁 {batch}-{i}"), vec![], due);
            officer.record(&s, p);
        }
        officer.push(&s).await;
    }
    // Two hours on: the first engineering notice is overdue; a supervisor voids the last.
    s.clock.advance_ms(2 * HOUR);
    let boss = s.token("supervisor").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{}/actions", engineering[3]),
            Some(&boss),
            Some(serde_json::json!({"action": "void", "reason": "重复下发"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let open = "state NOT IN ('closed', 'voided')";
    let eng_open = in_database(&s, format!("department_id = '{eng}' AND {open}")).await;
    let eng_all = in_database(&s, format!("department_id = '{eng}'")).await;
    let clean_open = in_database(&s, format!("department_id = '{cleaning}' AND {open}")).await;
    let site_all = in_database(&s, format!("site_id = '{site}'")).await;
    let site_open = in_database(&s, format!("site_id = '{site}' AND {open}")).await;
    assert_eq!((eng_open.len(), eng_all.len(), clean_open.len(), site_all.len()), (3, 4, 520, 524));

    // The engineering head: the figures count the database, the pages hold every notice once.
    let (cookie, _) = sign_in(&s, "eng.head").await;
    let inbox = get(&s, "/notices", &cookie).await;
    assert_eq!(figure(&inbox.body, "未关闭"), eng_open.len() as u64, "the open figure is the database's");
    assert_eq!(figure(&inbox.body, "已超期"), 1, "one engineering notice is past due");
    assert_eq!(figure(&inbox.body, "待签收"), 3);
    let (open_tab, _) = walk_inbox(&s, &cookie, "/notices").await;
    assert_eq!(once(&open_tab), eng_open.iter().cloned().collect(), "the open tab lists every open notice once");
    assert_eq!(open_tab[0], engineering[0].to_string(), "the overdue notice comes first");
    let (all_tab, _) = walk_inbox(&s, &cookie, "/notices?show=all").await;
    assert_eq!(once(&all_tab), eng_all, "the whole list holds the voided one too");
    assert_eq!(all_tab.last().unwrap(), &engineering[3].to_string(), "finished notices come last");

    // The cleaning head sees all 520, a page at a time, and none of engineering's.
    let (cookie, _) = sign_in(&s, "clean.head").await;
    let inbox = get(&s, "/notices", &cookie).await;
    assert_eq!(figure(&inbox.body, "未关闭"), 520);
    let (clean_tab, pages) = walk_inbox(&s, &cookie, "/notices").await;
    assert_eq!(once(&clean_tab), clean_open);
    assert!(pages > 1, "520 notices are more than one page");

    // The site's supervisor sees the whole site: every notice once, open and all.
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let inbox = get(&s, "/notices", &cookie).await;
    assert_eq!(figure(&inbox.body, "未关闭"), site_open.len() as u64);
    let (site_tab, _) = walk_inbox(&s, &cookie, "/notices?show=all").await;
    assert_eq!(once(&site_tab), site_all);
    let (site_open_tab, _) = walk_inbox(&s, &cookie, "/notices").await;
    assert_eq!(once(&site_open_tab), site_open);
    // The dashboard and the inbox agree on engineering.
    let dashboard = get(&s, "/dashboard", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(figure(&inbox.body, "已超期"), 1, "only the engineering notice is past due");

    // The JSON API pages the same way, for the supervisor and the heads.
    assert_eq!(once(&walk_api(&s, &boss, "/api/v1/notices?limit=150").await), site_all);
    let head = s.token("eng.head").await;
    assert_eq!(once(&walk_api(&s, &head, "/api/v1/notices").await), eng_all);
    assert_eq!(once(&walk_api(&s, &head, "/api/v1/notices?overdue=true").await).len(), 1);
    let cleaner = s.token("clean.head").await;
    let (status, _) = s.call(Method::GET, "/api/v1/notices?limit=0", Some(&cleaner), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a page holds at least one notice");
    let (status, _) = s.call(Method::GET, "/api/v1/notices?after=nonsense", Some(&cleaner), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let cleaning_api = walk_api(&s, &cleaner, &format!("/api/v1/notices?state=issued&site_id={site}")).await;
    assert_eq!(once(&cleaning_api), clean_open);
    // The officer who raised them all sees every one as their issuer.
    officer.renew(&s).await;
    assert_eq!(once(&walk_api(&s, &officer.token, "/api/v1/notices?limit=500").await), site_all);

    // Nobody signed for them in 4 hours: a "not delivered" message per notice to its
    // heads. The cleaning head's messages come a page at a time, all of them.
    s.clock.advance_ms(3 * HOUR);
    let now = s.clock.now_ms();
    s.state.store.write(move |c| patrol_server::notices::escalation::run(c, now)).await.unwrap();
    let login = s.login("clean.head").await;
    let (cleaner, person) = (login["access_token"].as_str().unwrap(), login["person_id"].as_str().unwrap());
    let mine = in_database_table(&s, "notifications", format!("person_id = '{person}'")).await;
    assert!(mine.len() >= 520, "{}", mine.len());
    assert_eq!(once(&walk_api(&s, cleaner, "/api/v1/notifications").await), mine);
}

/// Notices that arrive while someone pages through the list do not push others off
/// it or onto it twice: the next page starts after the last notice shown, not at an
/// offset.
async fn a_notice_arriving_between_pages_moves_no_other(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (site, cleaning) = (demo.site(), demo.dept("cleaning"));
    let now = s.clock.now_ms();
    for i in 0..150 {
        let (_, p) = notice(site, cleaning, &format!("保洁 {i}"), vec![], now + 30 * HOUR + i * 60_000);
        officer.record(&s, p);
    }
    officer.push(&s).await;
    let (cookie, _) = sign_in(&s, "clean.head").await;
    let first = get(&s, "/notices", &cookie).await;
    let (page1, next) = listed(&first.body);
    assert_eq!(page1.len(), 100);
    // Ten more arrive, all due before everything listed so far.
    for i in 0..10 {
        let (_, p) = notice(site, cleaning, &format!("新 {i}"), vec![], now + 20 * HOUR + i);
        officer.record(&s, p);
    }
    officer.push(&s).await;
    let (rest, _) = walk_inbox(&s, &cookie, &next.expect("a second page")).await;
    let seen: Vec<String> = page1.iter().chain(rest.iter()).cloned().collect();
    let seen = once(&seen);
    assert_eq!(seen.len(), 150, "each of the first 150 is seen once; the newcomers sort before the cursor");
    assert_eq!(figure(&get(&s, "/notices", &cookie).await.body, "未关闭"), 160);
}

/// 520 short runs of route 0 in the morning, then one whole walk of route 1: the day's
/// audit, coverage, dashboard and month count all 521, not the first 500.
async fn a_day_of_hundreds_of_runs_counts_every_one(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site_id = demo.site();
    let route = |i: usize| -> patrol_protocol::Id { demo.route(i)["id"].as_str().unwrap().parse().unwrap() };
    for batch in 0..4 {
        for _ in 0..130 {
            let run = patrol_protocol::Id::now_v7();
            officer.record(&s, RecordPayload::RunStarted { run_id: run, route_id: route(0), site_id });
            officer
                .record(&s, RecordPayload::RunFinished { run_id: run, missed_reason: Some(format!("演练 {batch}")) });
        }
        officer.push(&s).await;
        s.clock.advance_ms(60_000);
    }
    // The walk of route 1 starts after all of them.
    let labels = s.qr_labels().await;
    let run = patrol_protocol::Id::now_v7();
    officer.record(&s, RecordPayload::RunStarted { run_id: run, route_id: route(1), site_id });
    let stops = demo.route(1)["checkpoint_ids"].as_array().unwrap().clone();
    for id in &stops {
        let token = labels[id.as_str().unwrap()].clone();
        officer.record(
            &s,
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: patrol_protocol::Id::now_v7(),
                checkpoint_id: id.as_str().unwrap().parse().unwrap(),
                check_in: CheckIn::Qr { token },
                out_of_order: false,
            },
        );
    }
    officer.record(&s, RecordPayload::RunFinished { run_id: run, missed_reason: None });
    officer.push(&s).await;

    let boss = s.token("supervisor").await;
    let (status, audit) =
        s.call(Method::GET, &format!("/api/v1/sites/{site_id}/audit/2026-11-23"), Some(&boss), None).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(audit["runs"], 521, "the audit reads every run of the day");
    let morning_route1 = audit["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["route_id"] == demo.route(1)["id"] && w["start_minute"] == 480)
        .unwrap();
    assert_eq!(morning_route1["slots"][0]["verdict"], "on_time", "the 521st run fills its window");

    let site =
        s.state.store.read(move |c| patrol_server::store::reference::get_site(c, site_id)).await.unwrap().unwrap();
    let (day, now) = (chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), s.clock.now_ms());
    let site2 = site.clone();
    let status = s.state.store.read(move |c| stats::day_status(c, &site2, day, now)).await.unwrap();
    assert_eq!((status.runs, status.checkpoints_covered), (521, stops.len() as u32), "route 1's visits count");

    let (cookie, _) = sign_in(&s, "supervisor").await;
    let dashboard = get(&s, "/dashboard", &cookie).await;
    assert!(dashboard.body.contains("id=\"runs-shown\""), "the dashboard says it shows only the latest runs");
    assert!(dashboard.body.contains("100 / 521"), "and how many there were");
    assert!(dashboard.body.contains(&format!("/runs/{run}")), "the latest run is among those shown");

    let month = s.state.store.read(move |c| stats::month_summary(c, &site, 2026, 11, now)).await.unwrap();
    let route0_len = demo.route(0)["checkpoint_ids"].as_array().unwrap().len() as u32;
    assert_eq!(month.runs, 521);
    assert_eq!(month.people[&officer.person].runs, 521);
    assert_eq!(month.people[&officer.person].checkpoints_visited, stops.len() as u32);
    assert_eq!(
        (month.coverage_visited, month.coverage_total),
        (stops.len() as u32, 520 * route0_len + stops.len() as u32)
    );
}

both_backends!(
    a_busy_department_hides_no_notice_of_a_quiet_one,
    a_notice_arriving_between_pages_moves_no_other,
    a_day_of_hundreds_of_runs_counts_every_one,
);
