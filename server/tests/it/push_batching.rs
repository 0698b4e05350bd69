//! A push applies its records together (`cases::sync::batch`: its reads made once, its
//! rows written per table at the end), but what it stores must not depend on that.
//! Generated days of patrol records, with the defects phones and forgers produce (a
//! visit before its run, to a retired or unknown checkpoint, too far away, a visit id
//! used twice, results and tracks of unknown runs, a run ended twice or without its
//! reason, notices and photos between them), are pushed by two devices of one person:
//! one sends the day in one push, the other in random pieces. Every record gets the
//! same outcome on both, and the projections (runs, visits, results, tracks, feed
//! entries) hold the same for both.

use std::collections::HashMap;

use crate::support;

use axum::http::StatusCode;
use patrol_protocol::Id;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::{CheckIn, ItemOutcome, PhotoContext, Record, RecordPayload};
use patrol_server::clock::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::phone::{Demo, Phone};
use support::{Backend, TestServer};

/// One step of a day, its ids symbolic (run 0..4, visit 0..12), made real per device.
#[derive(Debug, Clone)]
enum Step {
    Start {
        run: usize,
    },
    /// `cp`: index into the route's checkpoints; `usize::MAX` an unknown checkpoint.
    Visit {
        run: usize,
        visit: usize,
        cp: usize,
        far: bool,
    },
    Item {
        run: usize,
        visit: usize,
        cp: usize,
        problem: bool,
    },
    Track {
        run: usize,
        points: usize,
    },
    Finish {
        run: usize,
        reason: bool,
    },
    Notice {
        run: Option<usize>,
    },
    Photo {
        run: Option<usize>,
    },
}

/// Runs and visits a day names: the random steps use runs 0..4 and visits 0..12; run 4
/// and visits 12 and 13 are fixed steps that reach each rejection at least once, run 5
/// and the visits from 14 on a whole round ended without a reason (every checkpoint
/// visited in the same push as the end).
const RUNS: usize = 6;
const VISITS: usize = 14 + 64;

fn day(rng: &mut StdRng, checkpoints: usize) -> Vec<Step> {
    let n = rng.gen_range(10..60);
    let mut steps: Vec<Step> = (0..n)
        .map(|_| {
            let run = rng.gen_range(0..4);
            let visit = rng.gen_range(0..12);
            let cp = if rng.gen_bool(0.05) { usize::MAX } else { rng.gen_range(0..checkpoints) };
            match rng.gen_range(0..100) {
                0..=11 => Step::Start { run },
                12..=49 => Step::Visit { run, visit, cp, far: rng.gen_bool(0.08) },
                50..=74 => Step::Item { run, visit, cp, problem: rng.gen_bool(0.3) },
                75..=82 => Step::Track { run, points: rng.gen_range(1..50) },
                83..=92 => Step::Finish { run, reason: rng.gen_bool(0.6) },
                93..=96 => Step::Notice { run: rng.gen_bool(0.5).then_some(run) },
                _ => Step::Photo { run: rng.gen_bool(0.5).then_some(run) },
            }
        })
        .collect();
    let fixed = [
        Step::Item { run: 4, visit: 12, cp: 0, problem: false },
        Step::Start { run: 4 },
        Step::Start { run: 4 },
        Step::Visit { run: 4, visit: 12, cp: 0, far: false },
        Step::Visit { run: 4, visit: 12, cp: 1, far: false },
        Step::Finish { run: 4, reason: true },
        Step::Visit { run: 4, visit: 13, cp: 1, far: false },
    ];
    let at = rng.gen_range(0..=steps.len());
    steps.splice(at..at, fixed);
    let mut round = vec![Step::Start { run: 5 }];
    round.extend((0..checkpoints).map(|cp| Step::Visit { run: 5, visit: 14 + cp, cp, far: false }));
    round.push(Step::Finish { run: 5, reason: false });
    let at = rng.gen_range(0..=steps.len());
    steps.splice(at..at, round);
    steps
}

/// The day's records for one device: fresh ids for its runs and visits.
struct Device {
    phone: Phone,
    runs: Vec<Id>,
    visits: Vec<Id>,
}

fn records(d: &mut Device, s: &TestServer, demo: &Demo, steps: &[Step]) -> Vec<Record> {
    let route = demo.route(0);
    let route_id: Id = route["id"].as_str().unwrap().parse().unwrap();
    let cps: Vec<Value> =
        route["checkpoint_ids"].as_array().unwrap().iter().map(|id| demo.checkpoint(id).clone()).collect();
    let cp_id = |cp: usize| -> Id {
        if cp == usize::MAX { Id::nil() } else { cps[cp]["id"].as_str().unwrap().parse().unwrap() }
    };
    let t0 = s.clock.now_ms() - 3_600_000;
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let payload = match *step {
                Step::Start { run } => {
                    RecordPayload::RunStarted { run_id: d.runs[run], route_id, site_id: demo.site() }
                }
                Step::Visit { run, visit, cp, far } => {
                    let (lat, lon) = if cp == usize::MAX {
                        (31.2, 121.4)
                    } else {
                        (cps[cp]["latitude"].as_f64().unwrap(), cps[cp]["longitude"].as_f64().unwrap())
                    };
                    RecordPayload::CheckpointVisited {
                        run_id: d.runs[run],
                        visit_id: d.visits[visit],
                        checkpoint_id: cp_id(cp),
                        check_in: CheckIn::Gps {
                            latitude: lat + if far { 0.05 } else { 0.0 },
                            longitude: lon,
                            accuracy_m: 5.0,
                            distance_m: 0.0,
                        },
                        out_of_order: false,
                    }
                }
                Step::Item { run, visit, cp, problem } => RecordPayload::ItemRecorded {
                    run_id: d.runs[run],
                    visit_id: d.visits[visit],
                    checkpoint_id: cp_id(cp),
                    item_id: Id::nil(),
                    outcome: if problem { ItemOutcome::Problem } else { ItemOutcome::Ok },
                    note: String::new(),
                },
                Step::Track { run, points } => RecordPayload::TrackPoints {
                    run_id: d.runs[run],
                    points: (0..points)
                        .map(|k| patrol_protocol::record::TrackPoint {
                            time_ms: t0 + k as i64,
                            latitude: 31.2,
                            longitude: 121.4,
                            accuracy_m: 5.0,
                        })
                        .collect(),
                },
                Step::Finish { run, reason } => RecordPayload::RunFinished {
                    run_id: d.runs[run],
                    missed_reason: reason.then(|| "雨天，地下车库积水".into()),
                },
                Step::Notice { run } => RecordPayload::NoticeRaised {
                    notice_id: Id::now_v7(),
                    site_id: demo.site(),
                    department_id: demo.dept("cleaning"),
                    checkpoint_id: None,
                    run_id: run.map(|r| d.runs[r]),
                    location: "3号楼".into(),
                    description: "楼道杂物堆放".into(),
                    severity: Severity::General,
                    due_ms: s.clock.now_ms() + 86_400_000,
                    photos: vec![],
                },
                Step::Photo { run } => RecordPayload::PhotoTaken {
                    sha256: format!("{:032x}{:032x}", d.phone.device.as_u128(), i + 1),
                    bytes: 1000,
                    width: 40,
                    height: 30,
                    captured_at_ms: t0,
                    latitude: None,
                    longitude: None,
                    context: PhotoContext { run_id: run.map(|r| d.runs[r]), checkpoint_id: None, notice_id: None },
                },
            };
            d.phone.record_at(t0 + i as i64 * 1000, payload)
        })
        .collect()
}

/// What the projections hold of one device's day, in terms of the day's symbolic ids.
async fn projections(s: &TestServer, d: &Device, recs: &[Record]) -> Vec<String> {
    s.sequenced().await;
    let runs = d.runs.clone();
    let visits = d.visits.clone();
    let ids: Vec<Id> = recs.iter().map(|r| r.id).collect();
    s.state
        .store
        .read(move |c| {
            let mut out = Vec::new();
            let visit_index: HashMap<Id, usize> = visits.iter().enumerate().map(|(i, v)| (*v, i)).collect();
            for (i, run) in runs.iter().enumerate() {
                let r = c.query_opt(
                    "SELECT finished_device_ms IS NOT NULL, COALESCE(missed_reason, '') FROM runs WHERE id = $1",
                    &patrol_server::params![*run],
                )?;
                let run_state = match r {
                    None => "none".to_string(),
                    Some(r) => format!("finished={} reason={}", r.bool(0)?, r.text(1)?),
                };
                let mut vs: Vec<String> = c
                    .query("SELECT id, checkpoint_id, method FROM visits WHERE run_id = $1", &patrol_server::params![*run])?
                    .iter()
                    .map(|v| Ok(format!("v{} {} {}", visit_index[&v.uuid(0)?], v.uuid(1)?, v.text(2)?)))
                    .collect::<Result<_, patrol_server::store::DbError>>()?;
                vs.sort();
                let items = c
                    .query_one(
                        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'problem' THEN 1 ELSE 0 END), 0) FROM item_results WHERE run_id = $1",
                        &patrol_server::params![*run],
                    )?;
                let tracks = c.query_one(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM track_batches WHERE run_id = $1",
                    &patrol_server::params![*run],
                )?;
                out.push(format!(
                    "run{i}: {run_state}; visits {vs:?}; items {} problems {}; tracks {} points {}",
                    items.int(0)?,
                    items.int(1)?,
                    tracks.int(0)?,
                    tracks.int(1)?
                ));
            }
            for (k, id) in ids.iter().enumerate() {
                let kinds: Vec<String> = c
                    .query("SELECT kind FROM feed WHERE record_id = $1 ORDER BY position", &patrol_server::params![*id])?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<_, _>>()?;
                out.push(format!("record {k}: feed {kinds:?}"));
            }
            Ok(out)
        })
        .await
        .unwrap()
}

fn outcomes(results: &[Value]) -> Vec<String> {
    results.iter().map(|r| format!("{} {}", r["status"], r["reason"])).collect()
}

async fn a_push_stores_the_same_whole_or_in_pieces(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let seed: u64 = std::env::var("BATCH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("BATCH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let cases: usize = std::env::var("BATCH_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let reader = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: reader.pull(&s, "").await["reference"].clone() };
    let checkpoints = demo.route(0)["checkpoint_ids"].as_array().unwrap().len();
    assert!(checkpoints <= VISITS - 14);
    let mut kinds_seen = std::collections::BTreeSet::new();
    for case in 0..cases {
        let steps = day(&mut rng, checkpoints);
        let fresh = |phone: Phone| Device {
            phone,
            runs: (0..RUNS).map(|_| Id::now_v7()).collect(),
            visits: (0..VISITS).map(|_| Id::now_v7()).collect(),
        };
        let mut whole = fresh(Phone::sign_in(&s, "patrol").await);
        let mut pieces = fresh(Phone::sign_in(&s, "patrol").await);
        let whole_recs = records(&mut whole, &s, &demo, &steps);
        let piece_recs = records(&mut pieces, &s, &demo, &steps);

        let (status, body) = whole.phone.push_records(&s, &whole_recs).await;
        assert_eq!(status, StatusCode::OK, "case {case}: {body}");
        let whole_out = outcomes(body["results"].as_array().unwrap());

        let mut piece_out = Vec::new();
        let mut at = 0;
        while at < piece_recs.len() {
            let n = rng.gen_range(1..=8).min(piece_recs.len() - at);
            let (status, body) = pieces.phone.push_records(&s, &piece_recs[at..at + n]).await;
            assert_eq!(status, StatusCode::OK, "case {case}: {body}");
            piece_out.extend(outcomes(body["results"].as_array().unwrap()));
            at += n;
        }
        for (k, (a, b)) in whole_out.iter().zip(&piece_out).enumerate() {
            assert_eq!(a, b, "case {case} record {k} ({:?}): whole push vs pieces", steps[k]);
        }
        assert_eq!(whole_out.len(), piece_out.len());
        kinds_seen.extend(whole_out.iter().cloned());

        let a = projections(&s, &whole, &whole_recs).await;
        let b = projections(&s, &pieces, &piece_recs).await;
        // The visits name real checkpoints (the same on both) and symbolic visit ids.
        assert_eq!(a, b, "case {case}: projections differ (seed {seed})");
    }
    // The generator reaches the rejections the batch must get right, not only applies.
    for reason in
        ["unknown run", "the visit was already recorded", "the run is already finished", "the run was already started"]
    {
        assert!(
            kinds_seen.iter().any(|o| o.contains(reason)),
            "no record was rejected with {reason} in {cases} days (seed {seed}): {kinds_seen:?}"
        );
    }
    assert!(kinds_seen.iter().any(|o| o.starts_with("\"applied\"")), "{kinds_seen:?}");
}

/// Pushes at once share the database's writer (on SQLite one commit serves the writes
/// that queued behind each other): what each stores is still its own, all or nothing.
/// Twelve devices push together: six a valid round, three a round starting the same run
/// (one of them wins; the others fail on the collision, or are rejected when they come
/// after the winner, and a resend is answered with rejections), three a chain with a
/// gap (refused). Every answered push is exactly stored, nothing of a refused or failed
/// one is, and every stored record has its log leaf and its answer survives a resend.
async fn pushes_at_once_store_exactly_what_each_was_answered(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let reader = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: reader.pull(&s, "").await["reference"].clone() };
    let checkpoints = demo.route(0)["checkpoint_ids"].as_array().unwrap().len();
    let shared_run = Id::now_v7();
    let mut devices = Vec::new();
    let mut days = Vec::new();
    for i in 0..12 {
        let mut d = Device {
            phone: Phone::sign_in(&s, "patrol").await,
            runs: (0..RUNS).map(|_| Id::now_v7()).collect(),
            visits: (0..VISITS).map(|_| Id::now_v7()).collect(),
        };
        if (6..9).contains(&i) {
            d.runs[0] = shared_run;
        }
        let mut steps = vec![Step::Start { run: 0 }];
        steps.extend((0..checkpoints).map(|cp| Step::Visit { run: 0, visit: cp, cp, far: false }));
        steps.push(Step::Finish { run: 0, reason: false });
        let mut recs = records(&mut d, &s, &demo, &steps);
        if i >= 9 {
            // A hole in the chain: the whole push is refused before anything is written.
            recs.remove(2);
        }
        devices.push(d);
        days.push(recs);
    }
    let at_once: Vec<_> = devices.iter().zip(&days).map(|(d, recs)| d.phone.push_records(&s, recs)).collect();
    let answers = futures_util::future::join_all(at_once).await;
    let count = |device: Id| {
        let store = s.state.store.clone();
        async move {
            store
                .read(move |c| {
                    Ok((
                        c.query_one(
                            "SELECT COUNT(*) FROM records WHERE device_id = $1",
                            &patrol_server::params![device],
                        )?
                        .int(0)?,
                        c.query_one(
                            "SELECT COUNT(*) FROM devices WHERE device_id = $1",
                            &patrol_server::params![device],
                        )?
                        .int(0)?,
                    ))
                })
                .await
                .unwrap()
        }
    };
    let mut winners = 0;
    for (i, ((status, body), d)) in answers.iter().zip(&devices).enumerate() {
        let (stored, device_rows) = count(d.phone.device).await;
        let n = days[i].len() as i64;
        if i >= 9 {
            assert_eq!(*status, StatusCode::CONFLICT, "device {i}: {body}");
            assert_eq!((stored, device_rows), (0, 0), "device {i}: a refused push stores nothing");
            continue;
        }
        if *status != StatusCode::OK {
            // Only a collision on the shared run may fail, and then nothing of it stays.
            assert!((6..9).contains(&i), "device {i}: {status} {body}");
            assert_eq!((stored, device_rows), (0, 0), "device {i}: a failed push stores nothing");
            let (status, again) = d.phone.push_records(&s, &days[i]).await;
            assert_eq!(status, StatusCode::OK, "device {i} resends: {again}");
            assert_eq!(again["results"][0]["status"], "rejected", "device {i}: the run was another's: {again}");
            assert_eq!(count(d.phone.device).await.0, n, "device {i}: the resend is stored whole");
            continue;
        }
        assert_eq!(body["acked_seq"], n, "device {i}: {body}");
        assert_eq!((stored, device_rows), (n, 1), "device {i}: an answered push is stored whole");
        let statuses: Vec<&str> =
            body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
        if statuses.iter().all(|s| *s == "applied") {
            if (6..9).contains(&i) {
                winners += 1;
            }
        } else {
            assert!((6..9).contains(&i), "device {i}: only the shared run's losers see rejections: {body}");
            assert_eq!(statuses[0], "rejected", "device {i}: {body}");
        }
        // The answer survives a resend unchanged: every record a duplicate now.
        let (status, again) = d.phone.push_records(&s, &days[i]).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert!(again["results"].as_array().unwrap().iter().all(|r| r["status"] == "duplicate"), "{again}");
    }
    assert_eq!(winners, 1, "exactly one device started the shared run");
    let firsts: Vec<u16> = answers.iter().map(|(status, _)| status.as_u16()).collect();
    println!("first answers: {firsts:?}; SQLite writer: {:?}", s.state.store.writer_stats());
    let logged = s
        .numbers(&[
            "SELECT COUNT(*) FROM records",
            "SELECT (SELECT COUNT(*) FROM log_leaves WHERE kind = 'record') + (SELECT COUNT(*) FROM log_pending WHERE kind = 'record')",
        ])
        .await;
    assert_eq!(logged[0], logged[1], "every stored record has its leaf");
}

crate::both_backends!(a_push_stores_the_same_whole_or_in_pieces, pushes_at_once_store_exactly_what_each_was_answered);
