//! The notice register (整改通知台账, issue 13 item 3): generated notices (three
//! departments, both severities, locations and descriptions with `%`, `_` and mixed
//! case, found over 40 days, some received, voided or overdue), then generated filters
//! over every dimension the register offers. For each filter and reader, paging through
//! the register lists exactly the notices an independent reading of the database says
//! it should, each once, the "matching" figure counts them, and the Excel export holds
//! the same rows. Wrong filters are refused with the field named, in both languages.

use crate::support;

use std::collections::BTreeSet;
use std::io::Read;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::RecordPayload;
use patrol_server::clock::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::phone::{Demo, Phone};
use support::web::{encode, get, sign_in};
use support::{Backend, TestServer};

const DAY: i64 = 86_400_000;

/// A notice as the database holds it, for the independent reading.
#[derive(Debug, Clone)]
struct Held {
    id: String,
    number: String,
    department: String,
    location: String,
    description: String,
    severity: String,
    state: String,
    due_ms: i64,
    raised_ms: i64,
}

async fn held(s: &TestServer) -> Vec<Held> {
    s.state
        .store
        .read(|c| {
            c.query(
                "SELECT id, COALESCE(number, ''), department_id, location, description, severity, state, due_ms, raised_device_ms FROM notices",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Held {
                    id: r.text(0)?,
                    number: r.text(1)?,
                    department: r.text(2)?,
                    location: r.text(3)?,
                    description: r.text(4)?,
                    severity: r.text(5)?,
                    state: r.text(6)?,
                    due_ms: r.int(7)?,
                    raised_ms: r.int(8)?,
                })
            })
            .collect()
        })
        .await
        .unwrap()
}

/// One generated filter: the query pairs and the rule it stands for.
#[derive(Debug, Clone, Default)]
struct Filter {
    q: Option<String>,
    department: Option<String>,
    state: Option<String>,
    severity: Option<String>,
    overdue: bool,
    from_day: Option<i64>,
    to_day: Option<i64>,
}

/// Days as the site's local days (UTC+8 in the demo): day numbers since the epoch.
fn local_day(ms: i64) -> i64 {
    (ms + 8 * 3_600_000).div_euclid(DAY)
}

fn day_text(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap().format("%Y-%m-%d").to_string()
}

impl Filter {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if let Some(q) = &self.q {
            out.push(("q", q.clone()));
        }
        if let Some(d) = &self.department {
            out.push(("department", d.clone()));
        }
        if let Some(s) = &self.state {
            out.push(("state", s.clone()));
        }
        if let Some(s) = &self.severity {
            out.push(("severity", s.clone()));
        }
        if self.overdue {
            out.push(("overdue", "1".into()));
        }
        if let Some(d) = self.from_day {
            out.push(("from", day_text(d)));
        }
        if let Some(d) = self.to_day {
            out.push(("to", day_text(d)));
        }
        out
    }

    fn admits(&self, n: &Held, now: i64) -> bool {
        let open = !matches!(n.state.as_str(), "closed" | "voided");
        let state_ok = match self.state.as_deref() {
            None | Some("open") => open,
            Some("all") => true,
            Some(s) => n.state == s,
        };
        let words_ok = self.q.as_deref().unwrap_or("").split_whitespace().all(|w| {
            let w = w.to_lowercase();
            [&n.number, &n.location, &n.description].iter().any(|f| f.to_lowercase().contains(&w))
        });
        state_ok
            && words_ok
            && self.department.as_ref().is_none_or(|d| &n.department == d)
            && self.severity.as_ref().is_none_or(|s| &n.severity == s)
            && (!self.overdue || (open && n.due_ms < now))
            && self.from_day.is_none_or(|d| local_day(n.raised_ms) >= d)
            && self.to_day.is_none_or(|d| local_day(n.raised_ms) <= d)
    }
}

/// Every notice of the register under a query, following "next page".
async fn walk(s: &TestServer, cookie: &str, first: String) -> (Vec<String>, u64) {
    let (mut all, mut next, mut matching) = (Vec::new(), Some(first), None);
    let mut pages = 0;
    while let Some(path) = next {
        let page = get(s, &path, cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let body = &page.body;
        let m: u64 = {
            let at = body.find("id=\"list-total\"").expect("the matching figure");
            let text = &body[at..];
            let text = &text[text.find('>').unwrap() + 1..text.find("</span>").unwrap()];
            text.split_whitespace().last().unwrap().parse().unwrap()
        };
        assert!(matching.is_none_or(|x| x == m), "the figure changed between pages");
        matching = Some(m);
        all.extend(body.split("data-notice=\"").skip(1).map(|r| r.split('"').next().unwrap().to_string()));
        next = body.find("id=\"next-page\"").map(|at| {
            let tag_start = body[..at].rfind('<').unwrap();
            let tag = &body[tag_start..body[tag_start..].find('>').unwrap() + tag_start];
            tag.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&")
        });
        pages += 1;
        assert!(pages < 40, "the pages do not end");
    }
    (all, matching.unwrap_or(0))
}

/// The notice numbers in the first column of an exported workbook, and the totals.
fn exported(bytes: &[u8]) -> (Vec<String>, Vec<(String, String)>) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut shared = String::new();
    zip.by_name("xl/sharedStrings.xml").unwrap().read_to_string(&mut shared).unwrap();
    let strings: Vec<String> = shared
        .split("<si>")
        .skip(1)
        .map(|si| {
            let t = &si[si.find("<t").unwrap()..];
            let t = &t[t.find('>').unwrap() + 1..];
            t[..t.find("</t>").unwrap()].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        })
        .collect();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    let mut numbers = vec![];
    let mut totals = vec![];
    for row in sheet.split("<row ").skip(2) {
        let cells: Vec<&str> = row.split("<c ").skip(1).collect();
        let value = |c: &str| -> String {
            let v = &c[c.find("<v>").unwrap() + 3..c.find("</v>").unwrap()];
            if c.contains("t=\"s\"") { strings[v.parse::<usize>().unwrap()].clone() } else { v.to_string() }
        };
        if cells.len() == 2 {
            totals.push((value(cells[0]), value(cells[1])));
        } else {
            assert!(cells[7].contains("<v>"), "the found date is a cell value");
            assert!(!cells[7].contains("t=\"s\""), "the found date is a date, not text");
            numbers.push(value(cells[0]));
        }
    }
    (numbers, totals)
}

async fn the_register_lists_exactly_what_its_filter_says(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let seed: u64 = std::env::var("PATROL_TEST_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("register seed {seed} (replay with PATROL_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    let depts = [demo.dept("engineering"), demo.dept("cleaning"), demo.dept("security")];
    let now = s.clock.now_ms();
    let locations = ["3号楼", "地库B2", "North gate", "Block 7 lobby", "泳池 50%区"];
    let words = ["漏水", "Leak", "leak", "照明不亮", "a_b 标识", "100% 破损", "垃圾桶满溢", "Door ajar"];
    // 160 notices found over the last 40 days, in the phone's order of time.
    let mut times: Vec<i64> = (0..160).map(|_| now - rng.gen_range(0..40 * DAY)).collect();
    times.sort();
    let mut raised = vec![];
    for (i, t) in times.into_iter().enumerate() {
        let id = Id::now_v7();
        let due = t + rng.gen_range(1..6) * DAY;
        let payload = RecordPayload::NoticeRaised {
            notice_id: id,
            site_id: site,
            department_id: depts[rng.gen_range(0..3)],
            checkpoint_id: None,
            run_id: None,
            location: locations[rng.gen_range(0..locations.len())].into(),
            description: format!(
                "{} {} #{i}",
                words[rng.gen_range(0..words.len())],
                words[rng.gen_range(0..words.len())]
            ),
            severity: if rng.gen_bool(0.2) { Severity::Serious } else { Severity::General },
            due_ms: due,
            photos: vec![],
        };
        officer.record_at(t, payload);
        raised.push(id);
        if officer.queued.len() >= 80 {
            officer.push(&s).await;
        }
    }
    officer.push(&s).await;
    // Some are voided by the supervisor, some signed for by their head.
    let boss = s.token("supervisor").await;
    for id in raised.iter().filter(|_| rng.gen_bool(0.1)) {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/notices/{id}/actions"),
                Some(&boss),
                Some(serde_json::json!({"action": "void", "reason": "重复下发"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let eng_head = s.token("eng.head").await;
    let held_now = held(&s).await;
    for n in held_now.iter().filter(|n| n.department == depts[0].to_string() && n.state == "issued").take(10) {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/api/v1/notices/{}/actions", n.id),
                Some(&eng_head),
                Some(serde_json::json!({"action": "acknowledge", "reason": ""})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let all = held(&s).await;
    let numbers: Vec<&String> = all.iter().map(|n| &n.number).filter(|n| !n.is_empty()).collect();

    let readers = [("supervisor", None), ("eng.head", Some(depts[0].to_string()))];
    for (login, only_dept) in readers {
        let (cookie, _) = sign_in(&s, login).await;
        for round in 0..14 {
            let mut f = Filter::default();
            if rng.gen_bool(0.4) {
                f.q = Some(match rng.gen_range(0..5) {
                    0 => numbers[rng.gen_range(0..numbers.len())].clone(),
                    1 => locations[rng.gen_range(0..locations.len())].to_string(),
                    2 => "LEAK".into(),
                    3 => "50% a_b".into(),
                    _ => words[rng.gen_range(0..words.len())].to_string(),
                });
            }
            if rng.gen_bool(0.4) {
                f.department = Some(depts[rng.gen_range(0..3)].to_string());
            }
            f.state = match rng.gen_range(0..4) {
                0 => None,
                1 => Some("all".into()),
                2 => Some(["issued", "acknowledged", "voided"][rng.gen_range(0..3)].into()),
                _ => Some("open".into()),
            };
            if rng.gen_bool(0.3) {
                f.severity = Some(["general", "serious"][rng.gen_range(0..2)].into());
            }
            f.overdue = rng.gen_bool(0.25);
            if rng.gen_bool(0.4) {
                let from = local_day(now) - rng.gen_range(0..45);
                f.from_day = Some(from);
                if rng.gen_bool(0.6) {
                    f.to_day = Some(from + rng.gen_range(0..20));
                }
            }
            let expected: BTreeSet<String> = all
                .iter()
                .filter(|n| f.admits(n, s.clock.now_ms()))
                .filter(|n| only_dept.as_ref().is_none_or(|d| &n.department == d))
                .map(|n| n.id.clone())
                .collect();
            let query = encode(&f.pairs().iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>());
            let (listed, matching) = walk(&s, &cookie, format!("/notices?{query}")).await;
            let set: BTreeSet<String> = listed.iter().cloned().collect();
            assert_eq!(set.len(), listed.len(), "{login} round {round} {f:?}: a notice was listed twice");
            assert_eq!(set, expected, "{login} round {round} {f:?}");
            assert_eq!(matching, expected.len() as u64, "{login} round {round} {f:?}: the matching figure");
            // The export holds the same notices (by number) and counts them.
            let export = get(&s, &format!("/notices/export.xlsx?{query}"), &cookie).await;
            assert_eq!(export.status, StatusCode::OK, "{f:?}");
            let (exported_numbers, totals) = exported(&export.bytes);
            let want: BTreeSet<&String> = all.iter().filter(|n| expected.contains(&n.id)).map(|n| &n.number).collect();
            assert_eq!(exported_numbers.iter().collect::<BTreeSet<_>>(), want, "{f:?}: the export's rows");
            assert_eq!(exported_numbers.len(), expected.len());
            assert_eq!(totals[0].1, expected.len().to_string(), "the raised total: {totals:?}");
        }
    }

    // Wrong filters are refused, the field named in both languages; nothing is guessed.
    let (cookie, _) = sign_in(&s, "supervisor").await;
    for bad in [
        "site=x",
        "department=1",
        "state=finished",
        "severity=critical",
        "overdue=yes",
        "from=2026-02-30",
        "to=1999-01-01",
        "after=nonsense",
    ] {
        let page = get(&s, &format!("/notices?{bad}"), &cookie).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", page.body);
        let field = bad.split('=').next().unwrap();
        assert!(page.body.contains(field), "{bad}: the field is named");
        let export = get(&s, &format!("/notices/export.xlsx?{bad}"), &cookie).await;
        assert_eq!(export.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // After every action above, each notice's search row (which a text search lists
    // from) still agrees with the notice on everything a list filters by.
    let (drifted, states) = s
        .state
        .store
        .read(|c| {
            let states = c.query_one("SELECT COUNT(DISTINCT state) FROM notice_search", &[])?.int(0)?;
            Ok((patrol_server::notices::search_rows_out_of_step(c)?, states))
        })
        .await
        .unwrap();
    assert_eq!(drifted, 0, "search rows that differ from their notice");
    assert!(states >= 3, "the notices moved through several states: {states}");
}

#[tokio::test]
async fn the_register_lists_exactly_what_its_filter_says_sqlite() {
    the_register_lists_exactly_what_its_filter_says(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_register_lists_exactly_what_its_filter_says_postgres() {
    the_register_lists_exactly_what_its_filter_says(Backend::Postgres).await;
}
