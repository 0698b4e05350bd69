//! The demo as `patrol-server demo` serves it: a month of patrols, notices and signed
//! logs, made through the push path and the desks' own functions, on both databases.
//! A newcomer finds work in every state, the auditor finds nothing wrong with it, and
//! every head's inbox counts what the database holds for them.

use crate::support;

use chrono::{Duration, NaiveDate};
use patrol_protocol::Site;
use patrol_server::audit::verify;
use patrol_server::demo::history::DAYS;
use patrol_server::schedules::{self, DayAudit};
use patrol_server::store::reference;
use support::{Backend, START_MS, TestServer, web};

/// The figure above a label on a console page (`div.stat`).
fn figure(html: &str, label: &str) -> u64 {
    let at = html.find(&format!("<span class=\"label\">{label}</span>")).unwrap_or_else(|| panic!("no {label} figure"));
    let open = "<span class=\"value\">";
    let from = html[..at].rfind(open).expect("a value before its label") + open.len();
    html[from..].split('<').next().unwrap().trim().parse().unwrap()
}

async fn site(s: &TestServer) -> Site {
    s.state
        .store
        .read(|c| {
            let org = reference::first_organisation(c)?.unwrap();
            Ok(reference::list_sites(c, org.id)?.remove(0))
        })
        .await
        .unwrap()
}

async fn audit_of(s: &TestServer, site: &Site, day: NaiveDate) -> DayAudit {
    let site = site.clone();
    s.state.store.read(move |c| schedules::audit_day(c, &site, day, START_MS)).await.unwrap()
}

async fn count(s: &TestServer, sql: String) -> i64 {
    s.state.store.read(move |c| c.query_one(&sql, &[])?.int(0)).await.unwrap()
}

async fn a_month_of_demo_history_is_real_work_that_the_audit_accepts(backend: Backend) {
    let Some((s, summary)) = TestServer::start_seeded(backend).await else { return };
    eprintln!("{backend:?}: {summary}");
    let site = site(&s).await;
    let today = schedules::local_day(&site, START_MS);

    // The month's staff fault notices, issued at desks: numbered 1 … 8, the cleaner's
    // lobby three times (her head charged 30 % of it on that month's sheet), one
    // refused, one appealed and reduced by the manager.
    assert_eq!(summary.faults, 8);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM faults".into()).await, 8);
    assert_eq!(count(&s, "SELECT MAX(counter) FROM faults".into()).await, 8);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM faults WHERE receipt = 'refused'".into()).await, 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM faults WHERE appeal = 'reduced' AND points_now = 1".into()).await, 1);
    let month: String = s
        .state
        .store
        .read(|c| c.query_one("SELECT month FROM faults WHERE appeal = 'reduced'", &[])?.text(0))
        .await
        .unwrap();
    let sheet = {
        let (site, m) = (site.clone(), month.clone());
        s.state.store.read(move |c| patrol_cases::faults::month::sheet(c, &site, &m)).await.unwrap()
    };
    assert_eq!(sheet.charges.len(), 1, "{sheet:?}");
    assert_eq!(sheet.charges[0].numbers.len(), 3);

    // Runs on every window of the month, walked along their routes with GPS tracks:
    // 4 windows a day, one missed; today's first round done by 09:00.
    let runs = count(&s, "SELECT COUNT(*) FROM runs".into()).await;
    assert!((DAYS * 4 - 1..=DAYS * 4 + 1).contains(&runs), "{runs} runs");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM runs WHERE finished_device_ms IS NULL".into()).await, 0);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM runs r WHERE NOT EXISTS (SELECT 1 FROM track_batches t WHERE t.run_id = r.id)".into()
        )
        .await,
        0,
        "every run has its GPS track"
    );
    assert!(count(&s, "SELECT COUNT(*) FROM visits".into()).await >= runs * 6);
    let mut verdicts = DayAudit::default();
    for back in 1..=DAYS {
        let a = audit_of(&s, &site, today - Duration::days(back)).await;
        assert_eq!(a.expected, 4, "{:?}", a.day);
        assert_eq!(a.flagged, 0, "{:?}: {a:?}", a.day);
        verdicts.on_time += a.on_time;
        verdicts.late += a.late;
        verdicts.missed += a.missed;
    }
    assert_eq!((verdicts.on_time, verdicts.late, verdicts.missed), (DAYS as u32 * 4 - 2, 1, 1), "{verdicts:?}");
    assert_eq!(audit_of(&s, &site, today - Duration::days(12)).await.missed, 1);
    assert_eq!(audit_of(&s, &site, today - Duration::days(5)).await.late, 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM missed_windows".into()).await, 1, "the job announced the missed window");

    // Notices in every state, with photos before and after.
    for state in ["issued", "acknowledged", "disputed", "rectified", "closed", "voided"] {
        let n = count(&s, format!("SELECT COUNT(*) FROM notices WHERE state = '{state}'")).await;
        assert!(n >= 1, "no {state} notice");
    }
    let reassigned = count(
        &s,
        "SELECT COUNT(DISTINCT notice_id) FROM notice_events WHERE action = 'reassign' AND applied = 1".into(),
    )
    .await;
    assert_eq!(reassigned, 2, "a reassignment that closed, one still open");
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM notices WHERE severity = 'serious' AND has_car = 1 AND state = 'closed'".into()
        )
        .await,
        1,
        "the serious notice closed after its corrective-action report"
    );
    assert!(
        count(&s, "SELECT COUNT(*) FROM notice_events WHERE action = 'verify_fail' AND applied = 1".into()).await >= 1
    );
    for step in ["not_delivered:%", "overdue", "escalated", "reminder"] {
        let n = count(&s, format!("SELECT COUNT(*) FROM notice_escalations WHERE step LIKE '{step}'")).await;
        assert!(n >= 1, "no {step} step fired");
    }
    let photos = count(&s, "SELECT COUNT(*) FROM photos".into()).await;
    assert!(photos >= 50, "{photos} photos");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM photos WHERE complete = 0".into()).await, 0, "every photo arrived");
    let after = count(
        &s,
        "SELECT COUNT(*) FROM notice_events WHERE action = 'report_fix' AND applied = 1 AND photos_json <> '[]'".into(),
    )
    .await;
    assert!(after >= 20, "{after} fixes reported with after-photos");
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM records WHERE status = 'rejected'".into()).await,
        0,
        "nothing the demo did was refused"
    );

    // Daily logs: signed up to five days ago but for one forgotten day, the last four waiting.
    let signed = count(&s, "SELECT COUNT(DISTINCT day) FROM daily_log_signatures".into()).await;
    assert_eq!(signed, DAYS - 4 - 1, "days signed");
    let by_manager = count(
        &s,
        "SELECT COUNT(*) FROM daily_log_signatures d JOIN people p ON p.id = d.person_id WHERE p.login = 'manager'"
            .into(),
    )
    .await;
    assert_eq!(by_manager, 1);

    // The auditor's check of the whole database passes.
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    assert!(report.replayed as i64 >= count(&s, "SELECT COUNT(*) FROM records".into()).await);
    // And an outside monitor reading every leaf of the month finds every device chain
    // and every site's numbering whole, and the tree the checkpoint's.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = s.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (dir, now_ms) = (s.dir.0.join("monitor"), START_MS);
    let options = patrol_server::audit::monitor::Options {
        full: false,
        recheck: 32,
        stale_after: std::time::Duration::from_secs(26 * 3600),
        now_ms,
    };
    let verdict = tokio::task::spawn_blocking(move || patrol_server::audit::monitor::run(&url, &dir, &options))
        .await
        .unwrap()
        .unwrap();
    let leaves = count(&s, "SELECT COUNT(*) FROM log_leaves".into()).await as u64;
    assert_eq!(verdict, patrol_server::audit::monitor::Verdict::Sound { from: 0, to: leaves });
    // Every numbered notice's printed code checks out, whatever its actions and state.
    let numbered: Vec<(patrol_protocol::Id, String)> = s
        .state
        .store
        .read(|c| {
            c.query("SELECT id, number FROM notices WHERE number IS NOT NULL ORDER BY number", &[])?
                .iter()
                .map(|r| Ok((r.uuid(0)?, r.text(1)?)))
                .collect()
        })
        .await
        .unwrap();
    assert!(numbered.len() > 20);
    for (id, number) in numbered {
        let code = patrol_server::audit::notice_code(&s.state.store, START_MS, id).await.unwrap().unwrap();
        let policy = patrol_server::audit::cosign::Policy::default();
        let checked = s
            .state
            .store
            .read(move |c| patrol_server::audit::api::check_code(c, &number, &code, &policy))
            .await
            .unwrap()
            .unwrap();
        assert!(checked.valid, "{checked:?}");
    }

    // Every head's inbox counts the open notices of their department, and has some.
    for (login, kind) in [
        ("eng.head", "engineering"),
        ("clean.head", "cleaning"),
        ("security.head", "security"),
        ("garden.head", "landscaping"),
    ] {
        let (cookie, _) = web::sign_in(&s, login).await;
        let inbox = web::get(&s, "/notices", &cookie).await;
        assert_eq!(inbox.status, 200, "{login}");
        let open = count(
            &s,
            format!(
                "SELECT COUNT(*) FROM notices n JOIN departments d ON d.id = n.department_id
                 WHERE d.kind = '{kind}' AND n.state NOT IN ('closed', 'voided')"
            ),
        )
        .await;
        assert!(open >= 2, "{login}: {open} open notices");
        assert_eq!(figure(&inbox.body, "未关闭") as i64, open, "{login}'s inbox");
    }
    let (cookie, _) = web::sign_in(&s, "supervisor").await;
    let dashboard = web::get(&s, "/dashboard", &cookie).await;
    assert_eq!(dashboard.status, 200);
    assert_eq!(figure(&dashboard.body, "应巡次数"), 4, "today's expected runs");
}

/// The same date gives the same month: the same notices in the same states, the
/// same photos, the same runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_month_is_the_same_for_the_same_date() {
    let mut months = Vec::new();
    for _ in 0..2 {
        let (s, _) = TestServer::start_seeded(Backend::Sqlite).await.unwrap();
        let made = s
            .state
            .store
            .read(|c| {
                let notices = c
                    .query("SELECT number, state, description, photos_json FROM notices ORDER BY number", &[])?
                    .iter()
                    .map(|r| Ok(format!("{} {} {} {}", r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?)))
                    .collect::<Result<Vec<_>, patrol_server::store::DbError>>()?;
                let photos = c
                    .query("SELECT sha256 FROM photos ORDER BY sha256", &[])?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>, _>>()?;
                let runs = c
                    .query("SELECT id, started_device_ms, finished_device_ms FROM runs ORDER BY id", &[])?
                    .iter()
                    .map(|r| Ok(format!("{} {} {}", r.text(0)?, r.int(1)?, r.int(2)?)))
                    .collect::<Result<Vec<_>, patrol_server::store::DbError>>()?;
                Ok((notices, photos, runs))
            })
            .await
            .unwrap();
        months.push(made);
    }
    assert!(!months[0].0.is_empty());
    assert_eq!(months[0], months[1]);
}

/// A database as an earlier release left it, holding a month of real traffic,
/// migrates in place: schema 10 (no search rows, no markup layers), with its versions
/// recorded the way the releases before sqlx recorded them (`schema_migrations`, no
/// `_sqlx_migrations`), its notice events naming their feed positions as they did
/// before the sequencer. The store adopts those versions and runs only 11 to 13; the
/// search rows are filled from the notices as they stand (states and departments after
/// every action), equal to what the code writes as records arrive, so `audit verify`,
/// which rebuilds them from the records, finds nothing; and the register's search finds
/// the old notices.
async fn a_database_of_the_previous_release_migrates_and_passes_the_audit(backend: Backend) {
    let Some((s, _)) = TestServer::start_seeded_before_assessment(backend).await else { return };
    let store = s.state.store.clone();
    let before = count(&s, "SELECT COUNT(*) FROM notices".into()).await;
    assert!(before > 20, "a month of notices: {before}");
    // Back to schema 10, as the hand-written runner recorded it.
    store
        .write(|c| {
            c.execute_batch(
                "DROP TABLE notice_search; DROP TABLE photo_markups; DROP TABLE _sqlx_migrations;
                 DROP TABLE log_pending; DROP TABLE feed_pending; DROP TABLE witness_cosignatures;
                 DROP TABLE fault_rules; DROP TABLE fault_scales; DROP TABLE fault_counters; DROP TABLE faults;
                 DROP TABLE fault_events; DROP TABLE fault_month_notes;
                 ALTER TABLE photos DROP COLUMN thumb_sha256;
                 UPDATE notice_events SET position = (SELECT f.position FROM feed f WHERE f.entry_id = notice_events.position);
                 DROP INDEX feed_entry; ALTER TABLE feed DROP COLUMN entry_id;
                 CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL);",
            )?;
            for v in 1..=10 {
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                    &[v.into(), 1i64.into()],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let again = store.clone();
    let ran = tokio::task::spawn_blocking(move || store.migrate_blocking()).await.unwrap().unwrap();
    assert_eq!(ran, 5, "migrations 11 to 15 ran, 1 to 10 were adopted");
    let ran = tokio::task::spawn_blocking(move || again.migrate_blocking()).await.unwrap().unwrap();
    assert_eq!(ran, 0, "adopted once: a second start finds nothing to do");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM _sqlx_migrations WHERE version <= 10".into()).await, 10);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM _sqlx_migrations WHERE success".into()).await, 15);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM notice_search".into()).await, before);
    let states = count(&s, "SELECT COUNT(DISTINCT state) FROM notice_search".into()).await;
    assert!(states >= 3, "the backfill took the notices' states as they stand: {states}");
    let report = patrol_server::audit::verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    assert!(report.notices as i64 >= before, "{}", report.render());
    // The register finds an old notice by a word of its description.
    let word: String = s
        .state
        .store
        .read(|c| c.query_one("SELECT description FROM notices ORDER BY id LIMIT 1", &[])?.text(0))
        .await
        .unwrap()
        .chars()
        .take(2)
        .collect();
    let (cookie, _) = crate::support::web::sign_in(&s, "supervisor").await;
    let path = format!("/notices?state=all&{}", crate::support::web::encode(&[("q", &word)]));
    let page = crate::support::web::get(&s, &path, &cookie).await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    assert!(page.body.contains("data-notice=\""), "the search lists old notices for {word:?}");
}

/// A gzip file's content (RFC 1952; written with `gzip -n`, so no optional fields).
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0], "gzip, deflate, no optional fields");
    let data = miniz_oxide::inflate::decompress_to_vec(&bytes[10..bytes.len() - 8]).expect("a deflate stream");
    let size = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
    assert_eq!(data.len() as u32, size, "the trailer's size");
    data
}

/// Files made by the previous release itself (`server/tests/fixtures/previous-release`:
/// `patrol-server demo --empty` of the release before sqlx, its versions in
/// `schema_migrations`) open with this one: the history is adopted (nothing to run at
/// schema 12), the old table is gone, the server starts on it (new keys made, as a
/// first start did), `audit verify` finds nothing, and a supervisor given a new
/// password signs in to the console and sees the demo's sites and notice register.
async fn a_database_file_of_the_previous_release_migrates_and_serves(backend: Backend) {
    let Some((url, dir)) = tokio::task::spawn_blocking(move || {
        let dir = support::TempDir::new("previous");
        let url = support::fresh_database(backend, &dir)?;
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/previous-release");
        match backend {
            Backend::Sqlite => {
                let file = gunzip(&std::fs::read(format!("{fixtures}/sqlite.db.gz")).unwrap());
                std::fs::write(url.strip_prefix("sqlite:").unwrap(), file).unwrap();
            }
            Backend::Postgres => {
                let sql =
                    String::from_utf8(gunzip(&std::fs::read(format!("{fixtures}/postgres.sql.gz")).unwrap())).unwrap();
                // Its own connection: the dump empties the session's search path.
                let loader = patrol_server::store::Store::open(&url, 1).unwrap();
                loader.execute_outside_transaction(&sql).unwrap();
            }
        }
        Some((url, dir))
    })
    .await
    .unwrap() else {
        return;
    };
    let (mut s, ran) = TestServer::on_existing_database(url, dir, START_MS).await;
    assert_eq!(
        ran, 3,
        "schema 12 already: every step adopted, only the sequencer's (13), the cosignatures' (14) and the fault notices' (15) run"
    );
    assert_eq!(count(&s, "SELECT COUNT(*) FROM _sqlx_migrations WHERE success".into()).await, 15);
    let old_table = s.state.store.read(|c| c.query("SELECT version FROM schema_migrations", &[]).map(|_| ())).await;
    assert!(old_table.is_err(), "the hand-written runner's table was dropped");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM people".into()).await, 8);
    // Its log key was in the database; now it is in the key file, and only there.
    assert_eq!(count(&s, "SELECT COUNT(*) FROM log_keys WHERE secret_hex <> ''".into()).await, 0);
    assert!(s.state.settings.effective_log_key_file().exists());
    let report = verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.ok(), "{}", report.render());
    // A new password for the demo supervisor, as an administrator would set one.
    let password = "Previous-release-1".to_string();
    let hash = patrol_server::auth::password::hash(&password);
    s.state
        .store
        .write(move |c| {
            let (person, _) = patrol_server::store::people::credentials(c, "supervisor")?.expect("the demo supervisor");
            patrol_server::store::people::set_password(c, person.id, &hash, false)
        })
        .await
        .unwrap();
    s.logins.push(patrol_server::demo::DemoLogin { login: "supervisor".into(), password, role: "supervisor".into() });
    let (cookie, _) = web::sign_in(&s, "supervisor").await;
    let page = web::get(&s, "/notices?state=all", &cookie).await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.body);
    let dashboard = web::get(&s, "/dashboard", &cookie).await;
    assert_eq!(dashboard.status, axum::http::StatusCode::OK);
    assert!(dashboard.body.contains("锦园小区"), "the old release's site is on the dashboard");
}

both_backends!(
    a_month_of_demo_history_is_real_work_that_the_audit_accepts,
    a_database_of_the_previous_release_migrates_and_passes_the_audit,
    a_database_file_of_the_previous_release_migrates_and_serves,
    many_days_and_sites_from_one_load_judge_as_each_alone
);

/// The cell of a dashboard overview row labelled `label` (`td … data-label="label">n<`).
fn cell(row: &str, label: &str) -> u64 {
    let at = row.find(&format!("data-label=\"{label}\"")).unwrap_or_else(|| panic!("no {label} cell in {row}"));
    let text = &row[at..];
    let from = text.find('>').unwrap() + 1;
    text[from..].split('<').next().unwrap().trim().parse().unwrap_or_else(|_| panic!("{label}: {text}"))
}

/// Pages that judge many days or many sites from one load (the month's summary, the
/// manager's dashboard, the missed-window job) must see exactly what each day judged
/// alone sees: no run, waiver or window of a neighbouring day or site may leak in. The
/// demo's month (a missed window, a late run, waivers, runs near midnight) beside four
/// sites far apart in time zones, loaded as one.
async fn many_days_and_sites_from_one_load_judge_as_each_alone(backend: Backend) {
    use patrol_protocol::{Id, Role, RoleAssignment};
    use patrol_server::store::people;
    use patrol_server::web::stats;
    let Some((s, _)) = TestServer::start_seeded(backend).await else { return };
    let demo = site(&s).await;
    let mut sites = vec![demo.clone()];
    for (i, offset) in [-600, 0, 345, 840].into_iter().enumerate() {
        sites.push(Site {
            id: Id::now_v7(),
            org_id: demo.org_id,
            code: format!("TZ{i}"),
            name_zh: format!("时区{i}"),
            name_en: format!("Zone {i}"),
            utc_offset_minutes: offset,
        });
    }
    let (added, first, last) = (sites[1..].to_vec(), demo.clone(), START_MS);
    s.state
        .store
        .write(move |c| {
            let supervisor = people::credentials(c, "supervisor")?.expect("the demo supervisor").0.id;
            for site in &added {
                reference::insert_site(c, site, START_MS - 40 * 86_400_000)?;
                people::insert_role(
                    c,
                    &RoleAssignment { person_id: supervisor, role: Role::SiteSupervisor { site_id: site.id } },
                    START_MS - 40 * 86_400_000,
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let today = schedules::local_day(&first, last);
    let (from, to) = (today - Duration::days(DAYS + 1), today);
    let all = sites.clone();
    let (together, alone) = s
        .state
        .store
        .read(move |c| {
            let refs: Vec<&Site> = all.iter().collect();
            let days = stats::Days::load(c, &refs, from, to)?;
            let (mut together, mut alone) = (Vec::new(), Vec::new());
            for site in &all {
                let mut day = from;
                while day <= to {
                    together.push((site.code.clone(), day, days.status(site, day, START_MS)));
                    alone.push((site.code.clone(), day, stats::day_status(c, site, day, START_MS)?));
                    day += Duration::days(1);
                }
            }
            Ok((together, alone))
        })
        .await
        .unwrap();
    assert_eq!(together.len(), alone.len());
    for (t, a) in together.iter().zip(&alone) {
        assert_eq!(t, a, "judged in one load of five sites and {} days, and alone", DAYS + 2);
    }
    // The demo's month is there to compare: runs, one missed and one late window.
    let demo_days: Vec<_> = together.iter().filter(|(code, ..)| *code == demo.code).collect();
    assert!(demo_days.iter().map(|(_, _, st)| st.runs).sum::<u32>() >= DAYS as u32 * 4 - 1);
    assert_eq!(demo_days.iter().map(|(_, _, st)| st.missed).sum::<u32>(), 1);
    assert_eq!(demo_days.iter().map(|(_, _, st)| st.late).sum::<u32>(), 1);
    assert!(together.iter().filter(|(code, ..)| *code != demo.code).all(|(_, _, st)| st.runs == 0 && st.expected == 0));

    // The supervisor of five sites opens on one line per site; the demo site's line
    // says what its own section says.
    let (cookie, _) = web::sign_in(&s, "supervisor").await;
    let overview = web::get(&s, "/dashboard", &cookie).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("id=\"sites-overview\""), "five sites open on the overview");
    assert_eq!(overview.body.matches("<tr data-site=").count(), 5);
    let start = overview.body.find(&format!("<tr data-site=\"{}\"", demo.id)).expect("the demo site's line");
    let row = &overview.body[start..start + overview.body[start..].find("</tr>").unwrap()];
    let full = web::get(&s, &format!("/dashboard?site={}", demo.id), &cookie).await;
    assert_eq!(full.status, 200);
    assert!(!full.body.contains("id=\"sites-overview\""), "one site is shown in full");
    for label in ["应巡次数", "按时完成", "迟巡", "漏巡", "待巡"] {
        assert_eq!(cell(row, label), figure(&full.body, label), "{label}");
    }
    for other in &sites[1..] {
        let start = overview.body.find(&format!("<tr data-site=\"{}\"", other.id)).expect("each site's line");
        let row = &overview.body[start..start + overview.body[start..].find("</tr>").unwrap()];
        assert_eq!(cell(row, "应巡次数"), 0, "{}: nothing of the demo site leaks in", other.code);
    }
    // A site the supervisor does not supervise is not found.
    let foreign = web::get(&s, &format!("/dashboard?site={}", Id::now_v7()), &cookie).await;
    assert_eq!(foreign.status, 404);
}
