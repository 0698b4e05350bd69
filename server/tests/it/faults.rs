//! Service-quality assessment (issue 19): a month of staff fault notices, issued
//! offline on a patrol and synced, totalled by the organisation's scale with joint
//! liability for a repeated rule and an appeal decided one level up; who may issue,
//! answer and decide; the month sheet read back from the Excel file. Both databases.

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::fault::{AppealDecision, FaultAction};
use patrol_protocol::record::RecordPayload;
use patrol_server::audit::verify;
use serde_json::{Value, json};
use support::phone::{Demo, Phone};
use support::{Backend, TestServer, web};

const HOUR: i64 = 3_600_000;

struct Names {
    rules: Value,
    people: Value,
}

impl Names {
    async fn load(s: &TestServer) -> Names {
        let admin = s.token("admin").await;
        let (status, rules) = s.call(Method::GET, "/api/v1/fault-rules", Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{rules}");
        let (status, people) = s.call(Method::GET, "/api/v1/people", Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{people}");
        Names { rules, people }
    }
    fn rule(&self, code: &str) -> Id {
        let r = self.rules.as_array().unwrap().iter().find(|r| r["code"] == code).unwrap();
        r["id"].as_str().unwrap().parse().unwrap()
    }
    fn person(&self, login: &str) -> Id {
        let p = self.people.as_array().unwrap().iter().find(|p| p["login"] == login).unwrap();
        p["id"].as_str().unwrap().parse().unwrap()
    }
}

fn issued(site: Id, person: Id, rule: Id, points: u32, run: Option<Id>, seen: &str) -> (Id, RecordPayload) {
    let id = Id::now_v7();
    let p = RecordPayload::FaultIssued {
        fault_id: id,
        site_id: site,
        person_id: person,
        rule_id: rule,
        points,
        seen: seen.into(),
        location: "1号楼大堂".into(),
        run_id: run,
        notice_id: None,
        photos: vec![],
    };
    (id, p)
}

/// A person's line of the month sheet.
fn line<'a>(sheet: &'a Value, person: Id) -> &'a Value {
    sheet["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person_id"] == person.to_string())
        .unwrap_or_else(|| panic!("{person} is not on the sheet: {sheet}"))
}

async fn sheet(s: &TestServer, token: &str, site: Id, month: &str) -> Value {
    let (status, sheet) =
        s.call(Method::GET, &format!("/api/v1/sites/{site}/fault-months/{month}"), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    sheet
}

/// The cells of every row of a workbook's sheet `n` (1-based), shared strings resolved.
fn workbook_rows(bytes: &[u8], n: usize) -> Vec<Vec<String>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut shared = String::new();
    if let Ok(mut f) = zip.by_name("xl/sharedStrings.xml") {
        f.read_to_string(&mut shared).unwrap();
    }
    let unescape = |t: &str| t.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    let strings: Vec<String> = shared
        .split("<si>")
        .skip(1)
        .map(|si| {
            let t = &si[si.find("<t").unwrap()..];
            let t = &t[t.find('>').unwrap() + 1..];
            unescape(&t[..t.find("</t>").unwrap()])
        })
        .collect();
    let mut sheet = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap().read_to_string(&mut sheet).unwrap();
    sheet
        .split("<row ")
        .skip(1)
        .map(|row| {
            // Cells by their reference (an empty cell is left out of the file).
            let mut cells: Vec<String> = Vec::new();
            for c in row.split("<c ").skip(1) {
                let reference = c.split("r=\"").nth(1).unwrap().split('"').next().unwrap();
                let column = reference
                    .chars()
                    .take_while(char::is_ascii_uppercase)
                    .fold(0usize, |n, ch| n * 26 + (ch as usize - 'A' as usize + 1))
                    - 1;
                let value = match (c.find("<v>"), c.find("</v>")) {
                    (Some(a), Some(b)) => {
                        let v = &c[a + 3..b];
                        if c.contains("t=\"s\"") { strings[v.parse::<usize>().unwrap()].clone() } else { v.to_string() }
                    }
                    _ => String::new(),
                };
                if cells.len() <= column {
                    cells.resize(column + 1, String::new());
                }
                cells[column] = value;
            }
            cells
        })
        .collect()
}

async fn a_month_of_fault_notices_totals_points_shares_liability_and_follows_an_appeal(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let names = Names::load(&s).await;
    let (patrol, cleaner, clean_head, supervisor) =
        (names.person("patrol"), names.person("cleaner"), names.person("clean.head"), names.person("supervisor"));
    let mut sup = Phone::sign_in(&s, "supervisor").await;
    let demo = Demo { reference: sup.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let route: Id = demo.route(0)["id"].as_str().unwrap().parse().unwrap();
    let month = "2026-11";

    // Offline on a patrol: a run and five fault notices, made over three hours and
    // pushed together when the phone finds a signal.
    let t0 = s.clock_now();
    let run = Id::now_v7();
    sup.record_at(t0, RecordPayload::RunStarted { run_id: run, route_id: route, site_id: site });
    let (first, p) = issued(site, patrol, names.rule("MN-01"), 3, Some(run), "对业主态度生硬");
    sup.record_at(t0 + 10 * 60_000, p);
    let (_, p) = issued(site, patrol, names.rule("SE-01"), 3, Some(run), "岗亭无人");
    sup.record_at(t0 + HOUR, p);
    let mut cleaner_faults = vec![];
    for i in 0..3 {
        let (id, p) = issued(site, cleaner, names.rule("CL-01"), 1, Some(run), "大堂地面有污渍");
        sup.record_at(t0 + (i + 2) * HOUR, p);
        cleaner_faults.push(id);
    }
    let pushed = sup.push(&s).await;
    let results = pushed["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["status"] == "applied"), "{pushed}");
    let numbers: Vec<&str> = results.iter().filter_map(|r| r["notice_number"].as_str()).collect();
    assert_eq!(numbers.len(), 5, "{pushed}");
    for (i, n) in numbers.iter().enumerate() {
        assert!(n.ends_with(&format!("-F-2026-{:06}", i + 1)), "gapless per site and year: {numbers:?}");
    }

    // 6 points: the first band (5 and more), published; the cleaner's third CL-01
    // charges 30 % of the rule's points to her direct superior, the head of cleaning.
    let sup_token = sup.token.clone();
    let m = sheet(&s, &sup_token, site, month).await;
    let p = line(&m, patrol);
    assert_eq!(p["total_tenths"], 60, "{p}");
    assert_eq!(p["band_zh"], "加罚");
    assert_eq!(p["fine_fen"], 6 * 1000 + 10_000);
    assert_eq!(p["published"], true);
    let c = line(&m, cleaner);
    assert_eq!(
        (c["own_tenths"].as_i64(), c["shared_tenths"].as_i64(), c["total_tenths"].as_i64()),
        (Some(30), Some(9), Some(21)),
        "{c}"
    );
    assert_eq!(c["published"], true, "the same rule three times publishes the name: {c}");
    assert_eq!(c["repeats"][0]["count"], 3);
    let h = line(&m, clean_head);
    assert_eq!((h["charged_tenths"].as_i64(), h["total_tenths"].as_i64()), (Some(9), Some(9)), "{h}");
    let charge = &m["charges"][0];
    assert_eq!(charge["superior_id"], clean_head.to_string());
    assert_eq!(charge["numbers"].as_array().unwrap().len(), 3, "linked to the notices that caused it: {charge}");
    assert!(m["people"].as_array().unwrap().iter().all(|p| p["person_id"] != supervisor.to_string()));

    // Two more: 12 points, past 11 (an administrative sanction; no extra fine there).
    let (_, p) = issued(site, patrol, names.rule("SE-01"), 3, None, "夜班睡岗");
    sup.record(&s, p);
    let (_, p) = issued(site, patrol, names.rule("MN-01"), 3, None, "与业主争吵");
    sup.record(&s, p);
    sup.push(&s).await;
    let m = sheet(&s, &sup_token, site, month).await;
    let p = line(&m, patrol);
    assert_eq!((p["total_tenths"].as_i64(), p["band_zh"].as_str()), (Some(120), Some("行政处分")), "{p}");
    assert_eq!(p["fine_fen"], 12 * 1000);

    // The person answers on their phone: signs for one, refuses another, appeals the first.
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let views = {
        let (status, v) =
            s.call(Method::GET, &format!("/api/v1/faults?person_id={patrol}"), Some(&officer.token), None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    };
    assert_eq!(views.as_array().unwrap().len(), 4, "a person reads their own: {views}");
    // Their phone pulls them too (and nobody else's), as the feed changes.
    s.sequenced().await;
    let pulled = officer.pull(&s, "").await;
    let mine = pulled["faults"].as_array().unwrap();
    assert_eq!(mine.len(), 4, "{pulled}");
    assert!(mine.iter().all(|f| f["person_id"] == patrol.to_string()));
    let second: Id = views.as_array().unwrap().iter().find(|v| v["rule_code"] == "SE-01").unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    officer.record(
        &s,
        RecordPayload::FaultActed { fault_id: first, action: FaultAction::Acknowledge, reason: String::new() },
    );
    officer.record(
        &s,
        RecordPayload::FaultActed { fault_id: second, action: FaultAction::Refuse, reason: "不认可".into() },
    );
    officer.record(
        &s,
        RecordPayload::FaultActed {
            fault_id: first,
            action: FaultAction::Appeal,
            reason: "业主先辱骂，我已克制".into(),
        },
    );
    // Signing twice is refused and kept on the notice's timeline.
    officer
        .record(&s, RecordPayload::FaultActed { fault_id: first, action: FaultAction::Refuse, reason: String::new() });
    let r = officer.push(&s).await;
    let st: Vec<&str> = r["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(st, ["applied", "applied", "applied", "rejected"], "{r}");
    let (_, v) = s.call(Method::GET, &format!("/api/v1/faults/{first}"), Some(&officer.token), None).await;
    assert_eq!((v["receipt"].as_str(), v["appeal"].as_str()), (Some("signed"), Some("open")), "{v}");
    assert_eq!(v["deciders"], json!([names.person("manager")]), "one level above the issuer, a site supervisor: {v}");

    // Nobody decides their own appeal, nor the issuer theirs.
    let decision = json!({"decision": "reduced", "points": 1, "reason": "情有可原，减为 1 分"});
    for who in [&officer.token, &sup_token] {
        let (status, body) =
            s.call(Method::POST, &format!("/api/v1/faults/{first}/decision"), Some(who), Some(decision.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let manager = s.token("manager").await;
    let (status, v) =
        s.call(Method::POST, &format!("/api/v1/faults/{first}/decision"), Some(&manager), Some(decision)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["appeal"].as_str(), v["points_now"].as_i64()), (Some("reduced"), Some(1)), "{v}");
    // The totals follow: 12 − 3 + 1 = 10, back in the first band.
    let m = sheet(&s, &sup_token, site, month).await;
    let p = line(&m, patrol);
    assert_eq!((p["total_tenths"].as_i64(), p["band_zh"].as_str()), (Some(100), Some("加罚")), "{p}");
    assert_eq!(p["fine_fen"], 10 * 1000 + 10_000);

    // What the database holds is what the sheet says.
    let counted = s
        .state
        .store
        .read(move |c| {
            c.query_one(
                "SELECT CAST(SUM(points_now) AS BIGINT) FROM faults WHERE person_id = $1 AND month = '2026-11' AND voided = 0",
                &patrol_server::params![patrol],
            )?
            .int(0)
        })
        .await
        .unwrap();
    assert_eq!(counted * 10, p["own_tenths"].as_i64().unwrap());

    // The month-end workbook for finance, read back by unzipping it: one line a person
    // with the sheet's points and fine; the charge with its notices.
    let (cookie, _) = web::sign_in(&s, "supervisor").await;
    let a = web::get(&s, &format!("/sites/{site}/faults/{month}/summary.xlsx"), &cookie).await;
    assert_eq!(a.status, StatusCode::OK);
    let rows = workbook_rows(&a.bytes, 1);
    for person in m["people"].as_array().unwrap() {
        let row = rows
            .iter()
            .find(|r| r.get(1) == person["name"].as_str().map(str::to_string).as_ref())
            .unwrap_or_else(|| panic!("{person} not in {rows:?}"));
        let total: f64 = row[5].parse().unwrap_or_else(|_| panic!("{row:?} in {rows:?}"));
        assert_eq!((total * 10.0).round() as i64, person["total_tenths"].as_i64().unwrap(), "{row:?}");
        let fine: f64 = row[7].parse().unwrap();
        assert_eq!((fine * 100.0).round() as i64, person["fine_fen"].as_i64().unwrap(), "{row:?}");
    }
    let charges = workbook_rows(&a.bytes, 3);
    assert!(charges.iter().any(|r| r.iter().any(|c| c.contains(numbers[2]))), "{charges:?}");
    let pdf = web::get(&s, &format!("/sites/{site}/faults/{month}/summary.pdf"), &cookie).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.bytes.starts_with(b"%PDF"));

    // The audit covers their numbers and rebuilds them from the records.
    s.sequenced().await;
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    let _ = (AppealDecision::Upheld, cleaner_faults);
}

/// Who may issue to whom, as a matrix: every issuer of the demo × every person, and
/// the record is applied exactly when the policy says so.
async fn only_supervisors_and_the_persons_own_head_issue(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let names = Names::load(&s).await;
    let demo = Demo { reference: Phone::sign_in(&s, "patrol").await.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let logins = ["patrol", "eng.head", "clean.head", "supervisor", "manager", "admin", "cleaner", "guard"];
    let mut checked = 0;
    for issuer in logins {
        let mut phone = Phone::sign_in(&s, issuer).await;
        for person in logins {
            let (_, p) = issued(site, names.person(person), names.rule("FD-01"), 2, None, "试");
            phone.record(&s, p);
            let r = phone.push(&s).await;
            let applied = r["results"][0]["status"] == "applied";
            let supervisor = matches!(issuer, "supervisor" | "manager");
            // admin holds no role at the site: nobody may issue to them.
            let at_site = person != "admin";
            let expect = issuer != person && at_site && (supervisor || (issuer == "clean.head" && person == "cleaner"));
            assert_eq!(applied, expect, "{issuer} → {person}: {r}");
            checked += 1;
        }
    }
    assert_eq!(checked, 64);
}

/// Closing a rectification notice: rectified, a second rectification (back to the
/// department with a new due time, counted), or closed with points deducted (a fault
/// notice to the responsible person in the same step, or nothing at all).
async fn a_notice_closes_rectified_again_or_with_points_deducted(backend: Backend) {
    use patrol_protocol::notice::NoticeAction;
    use support::phone::{act, jpeg, notice, photo_taken};
    let Some(s) = TestServer::start(backend).await else { return };
    let names = Names::load(&s).await;
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let due = s.clock_now() + 48 * HOUR;
    let (n, raise) = notice(demo.site(), demo.dept("cleaning"), "大堂地面湿滑未放警示牌", vec![], due);
    officer.record(&s, raise);
    officer.push(&s).await;
    let mut head = Phone::sign_in(&s, "clean.head").await;
    let fix = |head: &mut Phone, seed: u8| {
        let (bytes, sha) = jpeg(seed);
        head.record(&s, photo_taken(&sha, bytes.len(), None, Some(n)));
        head.record(&s, act(n, NoticeAction::ReportFix, "已放置警示牌", vec![sha.clone()], None));
        (bytes, sha)
    };
    head.record(&s, act(n, NoticeAction::Acknowledge, "", vec![], None));
    let (bytes, sha) = fix(&mut head, 61);
    head.push(&s).await;
    head.upload(&s, &sha, &bytes, 0).await;

    // Second rectification: back to the department with a new due time, capped by the
    // site's limit however far the issuer sets it.
    let far = s.clock_now() + 400 * 24 * HOUR;
    let body = json!({"action": "verify_fail", "reason": "警示牌位置不对", "new_due_ms": far});
    let (status, v) =
        s.call(Method::POST, &format!("/api/v1/notices/{n}/actions"), Some(&officer.token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "acknowledged");
    let new_due = v["due_ms"].as_i64().unwrap();
    assert!(new_due > s.clock_now() && new_due < far, "capped by the site's limit: {v}");
    let rounds =
        v["events"].as_array().unwrap().iter().filter(|e| e["action"] == "verify_fail" && e["applied"] == true).count();
    assert_eq!(rounds, 1, "counted");
    // A new due time on anything but a failed verification is refused, changing nothing.
    let body = json!({"action": "acknowledge", "new_due_ms": far});
    let (status, _) =
        s.call(Method::POST, &format!("/api/v1/notices/{n}/actions"), Some(&head.token), Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (bytes, sha) = fix(&mut head, 62);
    head.push(&s).await;
    head.upload(&s, &sha, &bytes, 0).await;

    // A phone's close with points deducted without the fault notice first is refused.
    let mut sup = Phone::sign_in(&s, "supervisor").await;
    sup.record(&s, act(n, NoticeAction::CloseWithPoints, "整改敷衍", vec![], None));
    let r = sup.push(&s).await;
    assert_eq!(r["results"][0]["status"], "rejected", "{r}");
    // At the desk, a fault notice that cannot be issued (to the administrator, who has
    // no role at the site) keeps the close from happening too.
    let sup_token = sup.token.clone();
    let close = |person: Id| {
        json!({"action": "close_with_points", "reason": "整改敷衍，二次整改仍不到位",
               "fault": {"person_id": person, "rule_id": names.rule("RC-01")}})
    };
    let before = s.numbers(&["SELECT COUNT(*) FROM faults", "SELECT COUNT(*) FROM notice_events"]).await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{n}/actions"),
            Some(&sup_token),
            Some(close(names.person("admin"))),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert_eq!(s.numbers(&["SELECT COUNT(*) FROM faults", "SELECT COUNT(*) FROM notice_events"]).await, before);
    // To the cleaner: both in one step.
    let cleaner = names.person("cleaner");
    let (status, v) =
        s.call(Method::POST, &format!("/api/v1/notices/{n}/actions"), Some(&sup_token), Some(close(cleaner))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "closed");
    let (_, faults) = s.call(Method::GET, &format!("/api/v1/faults?person_id={cleaner}"), Some(&sup_token), None).await;
    let f = &faults[0];
    assert_eq!((f["notice_id"].as_str(), f["points"].as_i64()), (Some(n.to_string().as_str()), Some(2)), "{f}");
    assert_eq!(f["rule_code"], "RC-01");
    assert_eq!(f["superior_id"], names.person("clean.head").to_string(), "her head shares a repeat");

    s.sequenced().await;
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
}

both_backends!(
    a_month_of_fault_notices_totals_points_shares_liability_and_follows_an_appeal,
    a_notice_closes_rectified_again_or_with_points_deducted,
    only_supervisors_and_the_persons_own_head_issue,
);
