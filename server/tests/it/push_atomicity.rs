//! A refused push changes nothing: generated chains of valid records with one bad
//! record at a random place (text too long, a clock before 2020 or far ahead, a gap, a
//! broken chain, another person's record, an unknown field, a fork of a stored
//! record), after random clock jumps and replays of what was already accepted. After
//! each refused push every table of the database (records, numbers, log, feed,
//! devices …) is exactly as before, no database text reaches the phone, and the
//! corrected resend is accepted whole.

use crate::support;

use axum::http::{Method, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::{CheckIn, GENESIS_HASH, PhotoContext, Record, RecordPayload};
use patrol_server::clock::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::dump::changed;
use support::phone::{Demo, Phone};
use support::{Backend, TestServer};

const DAY_MS: i64 = 86_400_000;

/// What is wrong with the one bad record of a push.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    TextTooLong,
    ClockBefore2020,
    ClockFarAhead,
    Gap,
    BrokenChain,
    OtherAuthor,
    UnknownField,
    UnknownPayloadField,
    /// The bad record contradicts one the server already accepted.
    ForkOfStored,
}

const FAULTS: [Fault; 9] = [
    Fault::TextTooLong,
    Fault::ClockBefore2020,
    Fault::ClockFarAhead,
    Fault::Gap,
    Fault::BrokenChain,
    Fault::OtherAuthor,
    Fault::UnknownField,
    Fault::UnknownPayloadField,
    Fault::ForkOfStored,
];

/// A valid payload of a random kind, at the demo site.
fn valid_payload(rng: &mut StdRng, demo: &Demo, now: i64, open_run: &mut Option<Id>) -> RecordPayload {
    let site = demo.site();
    match rng.gen_range(0..4) {
        0 => {
            let kinds = ["engineering", "cleaning", "security", "landscaping"];
            RecordPayload::NoticeRaised {
                notice_id: Id::now_v7(),
                site_id: site,
                department_id: demo.dept(kinds[rng.gen_range(0..kinds.len())]),
                checkpoint_id: None,
                run_id: *open_run,
                location: format!("{}号楼", rng.gen_range(1..30)),
                description: "楼道杂物堆放".repeat(rng.gen_range(1..40)),
                severity: Severity::General,
                due_ms: now + rng.gen_range(1..7) * DAY_MS,
                photos: vec![],
            }
        }
        1 => {
            let sha: String = (0..64).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap()).collect();
            RecordPayload::PhotoTaken {
                sha256: sha,
                bytes: rng.gen_range(1_000..2_000_000),
                width: 4000,
                height: 3000,
                captured_at_ms: now,
                latitude: Some(31.2),
                longitude: Some(121.4),
                context: PhotoContext { run_id: *open_run, checkpoint_id: None, notice_id: None },
            }
        }
        2 if open_run.is_some() => {
            let route = demo.route(0);
            let cp = demo.checkpoint(&route["checkpoint_ids"][rng.gen_range(0..2)]);
            RecordPayload::CheckpointVisited {
                run_id: open_run.unwrap(),
                visit_id: Id::now_v7(),
                checkpoint_id: cp["id"].as_str().unwrap().parse().unwrap(),
                check_in: CheckIn::Gps {
                    latitude: cp["latitude"].as_f64().unwrap(),
                    longitude: cp["longitude"].as_f64().unwrap(),
                    accuracy_m: 5.0,
                    distance_m: 0.0,
                },
                out_of_order: false,
            }
        }
        _ => {
            let route = demo.route(0);
            let run = Id::now_v7();
            *open_run = Some(run);
            RecordPayload::RunStarted {
                run_id: run,
                route_id: route["id"].as_str().unwrap().parse().unwrap(),
                site_id: site,
            }
        }
    }
}

/// A chain builder: records after (`seq`, `prev`) with the given times and payloads.
fn chain(phone: &Phone, seq: u64, prev: &str, items: &[(i64, RecordPayload)]) -> Vec<Record> {
    let (mut seq, mut prev) = (seq, prev.to_string());
    items
        .iter()
        .map(|(t, p)| {
            seq += 1;
            let r = Record {
                id: Id::now_v7(),
                author: phone.person,
                device: phone.device,
                seq,
                device_time_ms: *t,
                prev_hash: prev.clone(),
                payload: p.clone(),
            };
            prev = r.hash();
            r
        })
        .collect()
}

async fn push_json(s: &TestServer, phone: &Phone, records: Vec<Value>) -> (StatusCode, Value) {
    let body = json!({"device_id": phone.device, "sent_at_ms": s.clock.now_ms(), "records": records});
    s.call(Method::POST, "/api/v1/sync/push", Some(&phone.token), Some(body)).await
}

fn to_values(records: &[Record]) -> Vec<Value> {
    records.iter().map(|r| serde_json::to_value(r).unwrap()).collect()
}

/// Runs one generated case; returns what it did, for the failure message.
async fn one_case(s: &TestServer, demo: &Demo, rng: &mut StdRng, fault: Fault) -> String {
    let mut phone = Phone::sign_in(s, "patrol").await;
    let now = s.clock.now_ms();
    let mut open_run = None;
    // Random device times: the phone's clock jumps about, but stays after 2020 and not
    // ahead of the server.
    let time = |rng: &mut StdRng| now - rng.gen_range(0..3 * DAY_MS);

    // What the server already holds of this device.
    let stored_len = if fault == Fault::ForkOfStored { rng.gen_range(1..4) } else { rng.gen_range(0..3) };
    let stored_items: Vec<(i64, RecordPayload)> =
        (0..stored_len).map(|_| (time(rng), valid_payload(rng, demo, now, &mut open_run))).collect();
    let stored = chain(&phone, 0, GENESIS_HASH, &stored_items);
    if !stored.is_empty() {
        let (status, body) = push_json(s, &phone, to_values(&stored)).await;
        assert_eq!(status, StatusCode::OK, "the stored prefix: {body}");
    }
    let (acked, acked_hash) = stored.last().map_or((0, GENESIS_HASH.to_string()), |r| (r.seq, r.hash()));
    phone.seq = acked;

    // The new records, one of them bad at `bad`.
    let n = rng.gen_range(1..6);
    let bad = rng.gen_range(0..n);
    let items: Vec<(i64, RecordPayload)> =
        (0..n).map(|_| (time(rng), valid_payload(rng, demo, now, &mut open_run))).collect();
    let good = chain(&phone, acked, &acked_hash, &items);
    let mut offered = to_values(&good);
    match fault {
        Fault::TextTooLong => {
            let mut broken = items.clone();
            broken[bad].1 = RecordPayload::NoticeRaised {
                notice_id: Id::now_v7(),
                site_id: demo.site(),
                department_id: demo.dept("cleaning"),
                checkpoint_id: None,
                run_id: None,
                location: "3号楼".into(),
                description: "长".repeat(4001),
                severity: Severity::General,
                due_ms: now + DAY_MS,
                photos: vec![],
            };
            offered = to_values(&chain(&phone, acked, &acked_hash, &broken));
        }
        Fault::ClockBefore2020 | Fault::ClockFarAhead => {
            let mut broken = items.clone();
            broken[bad].0 = if fault == Fault::ClockBefore2020 { 1_500_000_000_000 } else { now + 8 * DAY_MS };
            offered = to_values(&chain(&phone, acked, &acked_hash, &broken));
        }
        Fault::Gap => {
            // The bad record and everything after it skip one sequence number.
            let mut recs = good.clone();
            for r in recs.iter_mut().skip(bad) {
                r.seq += 1;
            }
            offered = to_values(&recs);
        }
        Fault::BrokenChain => offered[bad]["prev_hash"] = json!("ab".repeat(32)),
        Fault::OtherAuthor => {
            let mut recs = good.clone();
            recs[bad].author = Id::now_v7();
            offered = to_values(&recs);
        }
        Fault::UnknownField => offered[bad]["signed_by"] = json!("someone"),
        Fault::UnknownPayloadField => offered[bad]["payload"]["priority"] = json!(1),
        Fault::ForkOfStored => {
            // A different record at a stored seq, before the new ones.
            let at = rng.gen_range(0..stored.len());
            let mut fork = stored[at].clone();
            fork.device_time_ms += 1;
            offered.insert(0, serde_json::to_value(&fork).unwrap());
        }
    }
    // Replays of accepted records may ride along in front.
    let replayed = if stored.is_empty() { 0 } else { rng.gen_range(0..=stored.len()) };
    let mut batch = to_values(&stored[..replayed]);
    batch.extend(offered);

    let story = format!("{fault:?}: {stored_len} stored, {replayed} replayed, {n} new, bad at {bad}");
    let before = s.dump().await;
    let (status, body) = push_json(s, &phone, batch.clone()).await;
    assert!(status.is_client_error(), "{story}: answered {status} {body}");
    let text = body.to_string().to_lowercase();
    for leak in ["constraint", "sqlite", "postgres", "syntax", "relation", "duplicate key"] {
        assert!(!text.contains(leak), "{story}: the answer leaks database text: {body}");
    }
    let after = s.dump().await;
    if fault == Fault::ForkOfStored {
        assert_eq!(status, StatusCode::CONFLICT, "{story}: {body}");
    }
    if matches!(fault, Fault::ForkOfStored | Fault::BrokenChain) && status == StatusCode::CONFLICT {
        // A fork (another history of the device) is kept once for the auditor (a row
        // and its log leaf, and the head the sequencer signs over it); the same fork
        // offered again changes nothing at all.
        assert_eq!(after["forks"].len(), before["forks"].len() + 1, "{story}");
        for t in changed(&before, &after) {
            let table = t.split(' ').next().unwrap();
            assert!(
                ["forks", "log_leaves", "log_nodes", "counters", "tree_heads"].contains(&table),
                "{story}: a refused fork changed {t}"
            );
        }
        let (again, _) = push_json(s, &phone, batch).await;
        assert_eq!(again, StatusCode::CONFLICT);
        let third = s.dump().await;
        assert!(
            changed(&after, &third).is_empty(),
            "{story}: the same fork again changed {:?}",
            changed(&after, &third)
        );
    } else {
        let diff = changed(&before, &after);
        assert!(diff.is_empty(), "{story}: a refused push ({status} {body}) changed {diff:?}");
    }

    // The corrected resend: the valid records, after any replays.
    let mut resend = to_values(&stored[..replayed]);
    resend.extend(to_values(&good));
    let (status, body) = push_json(s, &phone, resend).await;
    assert_eq!(status, StatusCode::OK, "{story}: the corrected resend was refused: {body}");
    assert_eq!(body["acked_seq"].as_u64(), Some(acked + n as u64), "{story}: {body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), replayed + n, "{story}");
    for (i, r) in results.iter().enumerate() {
        let want = if i < replayed { "duplicate" } else { "applied" };
        assert_eq!(r["status"], want, "{story}: result {i}: {r}");
    }
    story
}

async fn a_refused_push_changes_nothing_and_its_correction_is_accepted(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut reader = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: reader.pull(&s, "").await["reference"].clone() };
    reader.queued.clear();
    let seed: u64 = std::env::var("PUSH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("PUSH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let cases: usize = std::env::var("PUSH_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let mut stories = Vec::new();
    for round in 0..cases {
        for fault in FAULTS {
            stories.push(one_case(&s, &demo, &mut rng, fault).await);
        }
        // Time moves on between rounds, as it does between a phone's syncs.
        s.clock.advance_ms(rng.gen_range(0..6 * 3_600_000));
        let _ = round;
    }
    assert_eq!(stories.len(), cases * FAULTS.len());
    // Numbers stayed gapless through all of it.
    let gaps = s
        .numbers(&["SELECT COUNT(*) FROM notices n WHERE n.counter > 1 AND NOT EXISTS
                    (SELECT 1 FROM notices m WHERE m.site_id = n.site_id AND m.year = n.year AND m.counter = n.counter - 1)"])
        .await;
    assert_eq!(gaps, vec![0], "notice numbers have gaps");
}

/// A record the database refuses (its run id already taken by another device) does
/// not jam the phone: it is kept as rejected and the chain goes on.
async fn a_record_colliding_with_stored_data_is_rejected_not_jammed(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut a = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: a.pull(&s, "").await["reference"].clone() };
    let route: Id = demo.route(0)["id"].as_str().unwrap().parse().unwrap();
    let run = Id::now_v7();
    a.record(&s, RecordPayload::RunStarted { run_id: run, route_id: route, site_id: demo.site() });
    a.push(&s).await;
    // Another phone names the same visit id the first used: the projection's key.
    let mut b = Phone::sign_in(&s, "patrol").await;
    let run_b = Id::now_v7();
    let cp = demo.checkpoint(&demo.route(0)["checkpoint_ids"][0]);
    let visit = Id::now_v7();
    let visited = |run_id| RecordPayload::CheckpointVisited {
        run_id,
        visit_id: visit,
        checkpoint_id: cp["id"].as_str().unwrap().parse().unwrap(),
        check_in: CheckIn::Gps {
            latitude: cp["latitude"].as_f64().unwrap(),
            longitude: cp["longitude"].as_f64().unwrap(),
            accuracy_m: 5.0,
            distance_m: 0.0,
        },
        out_of_order: false,
    };
    a.record(&s, visited(run));
    a.push(&s).await;
    b.record(&s, RecordPayload::RunStarted { run_id: run_b, route_id: route, site_id: demo.site() });
    b.record(&s, visited(run_b));
    b.record(&s, RecordPayload::RunFinished { run_id: run_b, missed_reason: Some("雨天".into()) });
    let body = b.push(&s).await;
    assert_eq!(body["acked_seq"], 3, "{body}");
    assert_eq!(body["results"][1]["status"], "rejected", "{body}");
    assert_eq!(body["results"][2]["status"], "applied", "{body}");
}

both_backends!(
    a_refused_push_changes_nothing_and_its_correction_is_accepted,
    a_record_colliding_with_stored_data_is_rejected_not_jammed
);
