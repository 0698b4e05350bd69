//! A patrol officer walks the morning route with no network, the engineering head
//! answers the notice on the same phone, and everything is still there after a restart.

use crate::common::*;
use patrol_core::Error;
use patrol_core::notices::NoticeDraft;
use patrol_core::patrols::CheckInMethod;
use patrol_core::patrols::plan::PlanStatus;
use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_protocol::notice::{NoticeAction, NoticeState, Severity};
use patrol_protocol::record::{GENESIS_HASH, ItemOutcome, PhotoContext, TrackPoint, verify_chain};
use patrol_protocol::{Id, RecordPayload};
use sha2::{Digest, Sha256};

fn photo(core: &patrol_core::Core, run: Option<Id>, checkpoint: Option<Id>, notice: Option<Id>, w: u32) -> String {
    let (lat, lon) = checkpoint.map_or(CENTRE, |_| cp_position(2));
    let stored = core
        .add_photo(PhotoInput {
            source: PhotoSource::Bytes { data: jpeg(w, w * 3 / 4) },
            context: PhotoContext { run_id: run, checkpoint_id: checkpoint, notice_id: notice },
            site_id: None,
            captured_at_ms: None,
            latitude: Some(lat),
            longitude: Some(lon),
        })
        .expect("photo stored");
    assert!(!stored.already_stored);
    stored.sha256
}

fn track(run_start: i64, n: usize, offset: usize) -> Vec<TrackPoint> {
    (0..n)
        .map(|i| {
            let k = (offset + i) as f64;
            TrackPoint {
                time_ms: run_start + (offset + i) as i64 * 1000,
                latitude: CENTRE.0 + k * 1.37e-7,
                longitude: CENTRE.1 + (k * 0.01).sin() * 3.1e-5,
                accuracy_m: 3.0 + (k % 7.0) * 1.1,
            }
        })
        .collect()
}

#[test]
fn a_patrol_walked_offline_is_all_on_disk_after_a_restart_with_an_unbroken_chain() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, font_path());

    // The morning plan: the 08:00–10:00 run is due, the afternoon one later.
    let plan = core.today_plan().unwrap();
    assert_eq!(plan.len(), 2, "{plan:?}");
    assert_eq!(plan[0].status, PlanStatus::Pending);
    assert_eq!(plan[0].local_date, "2026-05-14");
    assert_eq!(plan[0].window_start_ms, MORNING_MS - 10 * 60_000);

    let run = core.start_run(route()).unwrap();
    let run_id = run.run_id;
    assert_eq!(run.checkpoints.len(), 5);
    assert_eq!(core.today_plan().unwrap()[0].status, PlanStatus::InProgress);

    // 1: QR label.
    clock.advance_minutes(3);
    let v1 = core.check_in(run_id, cp(1), CheckInMethod::Qr { payload: qr(1) }).unwrap();
    assert_eq!((v1.method.as_str(), v1.out_of_order), ("qr", false));
    core.record_item(run_id, cp(1), item(1, 1), ItemOutcome::Ok, "").unwrap();
    core.record_item(run_id, cp(1), item(1, 2), ItemOutcome::Ok, "").unwrap();

    // At checkpoint 2 the officer scans checkpoint 3's label by mistake: refused,
    // named in Chinese, nothing recorded.
    clock.advance_minutes(4);
    let before = core.queue_status().unwrap();
    let err = core.check_in(run_id, cp(2), CheckInMethod::Qr { payload: qr(3) }).unwrap_err();
    match &err {
        Error::Invalid { field, zh, en } => {
            assert_eq!(field, "qr");
            assert!(zh.contains("水泵房") && zh.contains("地下车库B1层"), "{zh}");
            assert!(en.contains("CP3"), "{en}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let public: patrol_core::PatrolError = err.into();
    assert!(matches!(public, patrol_core::PatrolError::InvalidInput { ref field, .. } if field == "qr"));
    assert_eq!(core.queue_status().unwrap(), before, "a refused check-in records nothing");

    // 2: NFC tag, spelled the way Android reports it.
    let v2 = core.check_in(run_id, cp(2), CheckInMethod::Nfc { tag_id: "04a21902".into() }).unwrap();
    assert_eq!(v2.method, "nfc");
    core.record_item(run_id, cp(2), item(2, 1), ItemOutcome::Problem, "顶灯不亮").unwrap();
    let s1 = photo(&core, Some(run_id), Some(cp(2)), None, 1200);
    let s2 = photo(&core, Some(run_id), Some(cp(2)), None, 1000);
    assert_ne!(s1, s2);

    // The finding becomes a notice to engineering, with both photos.
    let notice = core
        .create_notice(NoticeDraft {
            site_id: site(),
            department_id: engineering(),
            checkpoint_id: Some(cp(2)),
            location: String::new(),
            run_id: Some(run_id),
            description: "B1层3号车位顶灯不亮".into(),
            severity: Severity::General,
            due_ms: clock.now() + 24 * 3_600_000,
            photos: vec![s1.clone(), s2.clone()],
        })
        .unwrap();
    assert_eq!(notice.number, None, "number pending until the server numbers it");
    assert_eq!(notice.state, NoticeState::Issued);
    assert!(notice.queued);
    assert!(notice.allowed_actions.is_empty(), "the issuer can do nothing while it is issued");

    // 4 before 3: GPS, 10 m off with ±8 m accuracy; a wrong GPS fix first is refused.
    clock.advance_minutes(5);
    let far = cp_position(5);
    let err = core
        .check_in(run_id, cp(4), CheckInMethod::Gps { latitude: far.0, longitude: far.1, accuracy_m: 8.0 })
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "position"), "{err:?}");
    let (lat, lon) = cp_position(4);
    let v4 = core
        .check_in(
            run_id,
            cp(4),
            CheckInMethod::Gps { latitude: lat + 10.0 / 111_195.0, longitude: lon, accuracy_m: 8.0 },
        )
        .unwrap();
    assert_eq!(v4.method, "gps");
    assert!((v4.distance_m.unwrap() - 10.0).abs() < 0.5, "{v4:?}");
    assert!(!v4.out_of_order);
    core.record_item(run_id, cp(4), item(4, 1), ItemOutcome::NotApplicable, "电梯维保中").unwrap();

    // 3 after 4: manual (label torn off), marked out of order.
    clock.advance_minutes(3);
    let v3 = core.check_in(run_id, cp(3), CheckInMethod::Manual { reason: "二维码标签脱落".into() }).unwrap();
    assert!(v3.out_of_order);
    assert_eq!(v3.manual_reason.as_deref(), Some("二维码标签脱落"));
    let dup = core.check_in(run_id, cp(3), CheckInMethod::Qr { payload: qr(3) }).unwrap_err();
    assert!(matches!(dup, Error::Conflict { .. }));

    // The track: 4000 points in two batches.
    assert_eq!(core.append_track_points(run_id, track(MORNING_MS, 2500, 0)).unwrap(), 2500);
    assert_eq!(core.append_track_points(run_id, track(MORNING_MS, 1500, 2500)).unwrap(), 4000);

    // Checkpoint 5 is behind a locked gate: finishing needs a reason.
    clock.advance_minutes(10);
    let err = core.finish_run(run_id, None).unwrap_err();
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "missed_reason"), "{err:?}");
    let summary = core.finish_run(run_id, Some("垃圾站大门上锁，钥匙在保洁部".into())).unwrap();
    assert_eq!((summary.total, summary.visited, summary.out_of_order, summary.problems), (5, 4, 1, 1));
    assert_eq!(summary.missed.len(), 1);
    assert_eq!(summary.missed[0].checkpoint_id, cp(5));
    assert_eq!(summary.duration_ms, 25 * 60_000);
    assert!(
        core.check_in(run_id, cp(5), CheckInMethod::Qr { payload: qr(5) }).is_err(),
        "a finished run takes nothing"
    );
    assert_eq!(core.today_plan().unwrap()[0].status, PlanStatus::Done);

    // The engineering head signs for it and reports the fix with an after-photo.
    core.sign_in_locally(engineering_head()).unwrap();
    let refused = core.act_on_notice(notice.notice_id, NoticeAction::VerifyPass, "", vec![], None).unwrap_err();
    assert!(matches!(refused, Error::Refused(_)), "{refused:?}");
    let n = core.act_on_notice(notice.notice_id, NoticeAction::Acknowledge, "", vec![], None).unwrap();
    assert_eq!(n.state, NoticeState::Acknowledged);
    let after = photo(&core, None, None, Some(notice.notice_id), 900);
    let n =
        core.act_on_notice(notice.notice_id, NoticeAction::ReportFix, "已更换灯管", vec![after.clone()], None).unwrap();
    assert_eq!(n.state, NoticeState::Rectified);
    // The issuer verifies on site.
    core.sign_in_locally(patrol_staff()).unwrap();
    let n = core.notice(notice.notice_id).unwrap();
    assert_eq!(n.allowed_actions, vec![NoticeAction::VerifyPass, NoticeAction::VerifyFail]);
    let n = core.act_on_notice(notice.notice_id, NoticeAction::VerifyPass, "", vec![], None).unwrap();
    assert_eq!(n.state, NoticeState::Closed);

    let queue = core.queue_status().unwrap();
    let detail_before = core.run_detail(run_id).unwrap();
    let notice_before = core.notice(notice.notice_id).unwrap();
    drop(core);

    // Restart: everything is read back from disk.
    let core = patrol_core::Core::open_with_clock(config(dir.path(), font_path()), clock.as_clock()).unwrap();
    assert_eq!(core.signed_in().unwrap().unwrap().person_id, patrol_person());
    let detail = core.run_detail(run_id).unwrap();
    assert_eq!(detail, detail_before);
    assert_eq!(detail.summary.missed_reason.as_deref(), Some("垃圾站大门上锁，钥匙在保洁部"));
    let methods: Vec<_> = detail.checkpoints.iter().map(|c| c.visit.as_ref().map(|v| v.method.clone())).collect();
    assert_eq!(methods, [Some("qr".into()), Some("nfc".into()), Some("manual".into()), Some("gps".into()), None]);
    assert_eq!(detail.checkpoints[1].items[0].outcome, Some(ItemOutcome::Problem));
    assert_eq!(detail.checkpoints[1].items[0].note, "顶灯不亮");
    assert_eq!((detail.track_points, detail.track_batches), (4000, 2));
    assert_eq!(detail.photos, vec![s1.clone(), s2.clone()]);
    let points = core.track_points(run_id).unwrap();
    assert_eq!(
        points,
        [track(MORNING_MS, 2500, 0), track(MORNING_MS, 1500, 2500)].concat(),
        "points come back bit for bit"
    );

    assert_eq!(core.notice(notice.notice_id).unwrap(), notice_before);
    assert_eq!(notice_before.actions.len(), 3);
    assert_eq!(core.list_runs(10).unwrap().len(), 1);
    assert_eq!(core.list_notices(10).unwrap().len(), 1);

    // Photos are on disk under their hash; the hash is of the file's bytes.
    for sha in [&s1, &s2, &after] {
        let bytes = std::fs::read(photo_file(dir.path(), sha)).unwrap();
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), sha);
        assert!(dir.path().join("photos/thumbs").join(format!("{sha}.jpg")).exists());
    }

    // The log: every record, no gap, each chained to the one before.
    let records = core.records_after(0, 1000).unwrap();
    let (last, _) = verify_chain(0, GENESIS_HASH, &records).expect("unbroken chain");
    assert_eq!(last, records.len() as u64);
    assert_eq!(core.verify_log().unwrap(), last);
    let kinds: Vec<&str> = records.iter().map(|r| r.payload.kind_str()).collect();
    for kind in [
        "run_started",
        "checkpoint_visited",
        "item_recorded",
        "track_points",
        "photo_taken",
        "notice_raised",
        "notice_acted",
        "run_finished",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "checkpoint_visited").count(), 4, "refused check-ins left no record");
    assert!(records.iter().all(|r| r.device == core.device_id()));
    let authors: std::collections::HashSet<Id> = records.iter().map(|r| r.author).collect();
    assert_eq!(authors, [patrol_person(), head_person()].into_iter().collect());
    match &records.iter().find(|r| r.payload.kind_str() == "track_points").unwrap().payload {
        RecordPayload::TrackPoints { points, .. } => assert_eq!(points.len(), 2500),
        _ => unreachable!(),
    }

    // Queue: nothing acknowledged yet, all three photos waiting.
    let q = core.queue_status().unwrap();
    assert_eq!(q, queue);
    assert_eq!((q.queued_records, q.acked_seq, q.queued_photos), (last, 0, 3));
    let photo_bytes: u64 =
        [&s1, &s2, &after].iter().map(|s| std::fs::metadata(photo_file(dir.path(), s)).unwrap().len()).sum();
    assert_eq!(q.queued_photo_bytes, photo_bytes);

    // The projections are a function of the log: rebuilt, they show the same.
    assert_eq!(core.rebuild_projections().unwrap(), last);
    assert_eq!(core.run_detail(run_id).unwrap(), detail_before);
    assert_eq!(core.notice(notice.notice_id).unwrap(), notice_before);
}

#[test]
fn a_second_device_id_for_the_same_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, None);
    let device = core.device_id();
    drop(core);
    let mut cfg = config(dir.path(), None);
    cfg.device_id = Some(id(999));
    assert!(matches!(patrol_core::Core::open(cfg), Err(Error::Conflict { .. })));
    cfg = config(dir.path(), None);
    cfg.device_id = Some(device);
    assert_eq!(patrol_core::Core::open(cfg).unwrap().device_id(), device);
}

#[test]
fn nothing_is_recorded_for_someone_not_signed_in_or_a_bad_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, None);
    core.sign_out_locally().unwrap();
    assert!(matches!(core.start_run(route()), Err(Error::NotSignedIn)));
    let bad = bundle_json().replace("\"JY\"", "\"jy-lower\"");
    assert!(matches!(core.load_reference_json(&bad), Err(Error::Invalid { .. })));
    assert!(matches!(core.load_reference_json("{not json"), Err(Error::Invalid { .. })));
    assert_eq!(core.queue_status().unwrap().last_seq, 0);
}

#[test]
fn the_afternoon_window_is_missed_when_nobody_walks_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, None);
    clock.advance_minutes(9 * 60); // 17:10 local
    let plan = core.today_plan().unwrap();
    assert_eq!(plan.iter().map(|p| p.status).collect::<Vec<_>>(), [PlanStatus::Missed, PlanStatus::Missed]);
    clock.advance_minutes(8 * 60); // 01:10 the next day: a fresh plan
    assert!(core.today_plan().unwrap().iter().all(|p| p.status == PlanStatus::Pending));
}

/// The server retires the route, its schedule and a checkpoint while the route is
/// being walked: the next bundle leaves them out. The phone no longer offers them (no
/// route to start, nothing in the plan), but the run under way still checks in on its
/// checkpoints, the retired one too, and finishes; the old notices' and runs' names
/// still resolve. Sent again, the route is offered again.
#[test]
fn a_route_retired_while_it_is_walked_still_finishes_and_leaves_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, None);
    let run_id = core.start_run(route()).unwrap().run_id;
    core.check_in(run_id, cp(1), CheckInMethod::Qr { payload: qr(1) }).unwrap();

    let mut retired: serde_json::Value = serde_json::from_str(&bundle_json()).unwrap();
    retired["routes"] = serde_json::json!([]);
    retired["schedules"] = serde_json::json!([]);
    retired["checkpoints"].as_array_mut().unwrap().pop();
    let counts = core.load_reference_json(&retired.to_string()).unwrap();
    assert_eq!((counts.routes, counts.schedules, counts.checkpoints), (0, 0, 4));
    assert!(core.routes(site()).unwrap().is_empty(), "a retired route is not offered");
    assert!(core.today_plan().unwrap().is_empty(), "nor planned");

    clock.advance_minutes(5);
    core.check_in(run_id, cp(2), CheckInMethod::Qr { payload: qr(2) }).unwrap();
    core.check_in(run_id, cp(5), CheckInMethod::Qr { payload: qr(5) }).unwrap();
    let summary = core.finish_run(run_id, Some("线路已停用 / route retired".into())).unwrap();
    assert_eq!((summary.total, summary.visited), (5, 3), "the run finishes on the route it started on");

    core.load_reference_json(&bundle_json()).unwrap();
    assert_eq!(core.routes(site()).unwrap().len(), 1, "sent again, it is offered again");
    assert_eq!(core.today_plan().unwrap().len(), 2);
}
