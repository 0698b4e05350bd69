//! The day story and the conflict story, end to end: the real server binary on a
//! loopback port (SQLite, then PostgreSQL), three real phone cores, a desk client.

use patrol_core::Core;
use patrol_core::notices::NoticeDraft;
use patrol_core::patrols::CheckInMethod;
use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_e2e::*;
use patrol_protocol::notice::{NoticeAction, NoticeState, Severity};
use patrol_protocol::record::{ItemOutcome, PhotoContext, TrackPoint};
use patrol_protocol::{Checkpoint, DepartmentKind, Id};
use serde_json::json;

struct World {
    server: Server,
    _dirs: Vec<TempDir>,
    _data: TempDir,
}

fn world(backend: Backend) -> Option<World> {
    let data = TempDir::new("server");
    let url = database_url(backend, &data)?;
    let server = Server::start(&url, &data.0.join("data"));
    Some(World { server, _dirs: vec![], _data: data })
}

impl World {
    fn phone(&mut self, login: &str) -> Core {
        let dir = TempDir::new(login);
        let core = phone(&dir.0);
        core.login(&self.server.url(), login, &self.server.password(login)).expect("sign in");
        self._dirs.push(dir);
        core
    }
    fn desk(&self, login: &str) -> Desk {
        Desk::sign_in(&self.server.url(), login, &self.server.password(login))
    }
}

fn photo(core: &Core, ctx: PhotoContext, seed: u8) -> String {
    core.add_photo(PhotoInput {
        source: PhotoSource::Bytes { data: camera_jpeg(seed) },
        context: ctx,
        site_id: core.sites().unwrap().first().map(|s| s.id),
        captured_at_ms: None,
        latitude: Some(31.2304),
        longitude: Some(121.4737),
    })
    .expect("photo stored")
    .sha256
}

fn dept(core: &Core, kind: DepartmentKind) -> Id {
    let site = core.sites().unwrap()[0].id;
    core.departments(site).unwrap().into_iter().find(|d| d.kind == kind).unwrap().id
}

fn notice(core: &Core, kind: DepartmentKind, cp: &Checkpoint, run: Option<Id>, text: &str, photos: Vec<String>) -> Id {
    let site = core.sites().unwrap()[0].id;
    core.create_notice(NoticeDraft {
        site_id: site,
        department_id: dept(core, kind),
        checkpoint_id: Some(cp.id),
        location: cp.name_zh.clone(),
        run_id: run,
        description: text.into(),
        severity: Severity::General,
        due_ms: core.now_ms() + 48 * 3_600_000,
        photos,
    })
    .expect("notice raised")
    .notice_id
}

fn state_of(core: &Core, id: Id) -> NoticeState {
    core.notice(id).unwrap().state
}

fn a_patrol_walked_offline_reaches_the_department_head(backend: Backend) {
    let Some(mut w) = world(backend) else { return };
    let officer = w.phone("patrol");
    let first = officer.sync(None, None).expect("first sync brings the reference data");
    assert!(first.reference_updated);
    let site = officer.sites().unwrap()[0].clone();
    let route = officer.routes(site.id).unwrap()[0].clone();
    let cps = officer.route_checkpoints(route.id).unwrap();
    assert_eq!(cps.len(), 8);
    // The phone holds no label secret; the labels on the walls are the admin's prints.
    assert!(cps.iter().all(|cp| cp.qr_token.is_empty() && cp.qr_digest.len() == 64), "{cps:?}");
    let labels = w.server.qr_labels();

    // The walk, offline: every way of proving a checkpoint, a refused wrong QR.
    let run = officer.start_run(route.id).unwrap().run_id;
    let wrong = officer.check_in(run, cps[0].id, CheckInMethod::Qr { payload: labels[&cps[1].id].clone() });
    assert!(wrong.is_err(), "a QR of another checkpoint is refused");
    officer.check_in(run, cps[0].id, CheckInMethod::Qr { payload: labels[&cps[0].id].clone() }).unwrap();
    officer.check_in(run, cps[1].id, CheckInMethod::Nfc { tag_id: cps[1].nfc_tag_id.clone().unwrap() }).unwrap();
    officer
        .check_in(
            run,
            cps[2].id,
            CheckInMethod::Gps { latitude: cps[2].latitude, longitude: cps[2].longitude, accuracy_m: 6.0 },
        )
        .unwrap();
    officer.check_in(run, cps[3].id, CheckInMethod::Manual { reason: "标签被撕毁".into() }).unwrap();
    for cp in &cps[4..7] {
        officer.check_in(run, cp.id, CheckInMethod::Qr { payload: labels[&cp.id].clone() }).unwrap();
    }
    for cp in &cps[..7] {
        officer.record_item(run, cp.id, cp.checklist[0].id, ItemOutcome::Ok, "").unwrap();
    }
    let now = officer.now_ms();
    let points: Vec<TrackPoint> = (0..500)
        .map(|i| TrackPoint {
            time_ms: now + i * 1000,
            latitude: 31.2304 + i as f64 * 1e-6,
            longitude: 121.4737,
            accuracy_m: 5.0,
        })
        .collect();
    officer.append_track_points(run, points).unwrap();
    let ctx = |cp: &Checkpoint| PhotoContext { run_id: Some(run), checkpoint_id: Some(cp.id), notice_id: None };
    let lamp = photo(&officer, ctx(&cps[5]), 10);
    let bins = photo(&officer, ctx(&cps[2]), 20);
    let eng = notice(
        &officer,
        DepartmentKind::Engineering,
        &cps[5],
        Some(run),
        "草坪灯具损坏，夜间无照明",
        vec![lamp.clone()],
    );
    let clean = notice(&officer, DepartmentKind::Cleaning, &cps[2], Some(run), "垃圾桶满溢，有异味", vec![bins]);
    assert_eq!(officer.notice(eng).unwrap().number, None, "number pending until the server numbers it");
    officer.finish_run(run, Some("游泳池维修封闭，无法进入".into())).unwrap();

    // Sync: the server numbers the notices in order.
    let report = officer.sync(None, None).expect("sync");
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    assert_eq!(report.photos_sent, 2);
    let year = site_year();
    assert_eq!(officer.notice(eng).unwrap().number, Some(format!("JY-{year}-000001")));
    assert_eq!(officer.notice(clean).unwrap().number, Some(format!("JY-{year}-000002")));
    assert_eq!(officer.sync_state().unwrap().queued_records, 0);

    // The head of engineering gets only the engineering notice; signs and fixes it.
    let head = w.phone("eng.head");
    head.sync(None, None).unwrap();
    let inbox = head.list_notices(50).unwrap();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0].notice_id, eng);
    assert!(inbox[0].allowed_actions.contains(&NoticeAction::Acknowledge));
    head.act_on_notice(eng, NoticeAction::Acknowledge, "", vec![], None).unwrap();
    let after = photo(&head, PhotoContext { run_id: None, checkpoint_id: None, notice_id: Some(eng) }, 30);
    head.act_on_notice(eng, NoticeAction::ReportFix, "已更换灯具", vec![after.clone()], None).unwrap();
    let r = head.sync(None, None).unwrap();
    assert!(r.rejections.is_empty(), "{:?}", r.rejections);
    assert_eq!(state_of(&head, eng), NoticeState::Rectified);

    // The officer verifies on site.
    officer.sync(None, None).unwrap();
    assert_eq!(state_of(&officer, eng), NoticeState::Rectified);
    officer.act_on_notice(eng, NoticeAction::VerifyPass, "现场复查合格", vec![], None).unwrap();
    officer.sync(None, None).unwrap();

    // The supervisor sees the run complete and signs the daily log.
    let supervisor = w.phone("supervisor");
    supervisor.sync(None, None).unwrap();
    let desk = w.desk("supervisor");
    let (status, run_view) = desk.get(&format!("/api/v1/runs/{run}"));
    assert_eq!(status, 200);
    assert_eq!(run_view["complete"], true, "{run_view}");
    assert_eq!(run_view["visits"].as_array().unwrap().len(), 7);
    assert_eq!(run_view["track_points"], 500);
    let day = chrono::DateTime::from_timestamp_millis(run_view["started_device_ms"].as_i64().unwrap() + 8 * 3_600_000)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let (status, log) =
        desk.post(&format!("/api/v1/sites/{}/daily-logs/{day}/sign", site.id), json!({"comment": "已审阅"}));
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(log["notices_raised"].as_array().unwrap().len(), 2);
    let (status, bytes) = desk.get_bytes(&format!("/api/v1/photos/{after}"));
    assert_eq!(status, 200);
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), after);

    // All three phones converge on the same states.
    head.sync(None, None).unwrap();
    for (who, core) in [("officer", &officer), ("head", &head), ("supervisor", &supervisor)] {
        assert_eq!(state_of(core, eng), NoticeState::Closed, "{who}");
        assert_eq!(core.notice(eng).unwrap().number, Some(format!("JY-{year}-000001")), "{who}");
    }
    assert_eq!(state_of(&officer, clean), NoticeState::Issued);
    assert_eq!(state_of(&supervisor, clean), NoticeState::Issued);
    let timeline: Vec<NoticeAction> = head.notice(eng).unwrap().actions.iter().map(|a| a.action).collect();
    assert_eq!(timeline, vec![NoticeAction::Acknowledge, NoticeAction::ReportFix, NoticeAction::VerifyPass]);
}

fn an_offline_receipt_after_a_reassignment_is_rejected_with_a_reason(backend: Backend) {
    let Some(mut w) = world(backend) else { return };
    let officer = w.phone("patrol");
    officer.sync(None, None).unwrap();
    let cps = officer.route_checkpoints(officer.routes(officer.sites().unwrap()[0].id).unwrap()[0].id).unwrap();
    let id = notice(&officer, DepartmentKind::Engineering, &cps[1], None, "消防通道停放车辆", vec![]);
    officer.sync(None, None).unwrap();
    let head = w.phone("eng.head");
    head.sync(None, None).unwrap();
    // The head signs for it with no network...
    head.act_on_notice(id, NoticeAction::Acknowledge, "", vec![], None).unwrap();
    assert_eq!(state_of(&head, id), NoticeState::Acknowledged);
    // ...while the supervisor reassigns it to security from the desk.
    let security = dept(&officer, DepartmentKind::Security);
    let (status, body) = w.desk("supervisor").post(
        &format!("/api/v1/notices/{id}/actions"),
        json!({"action": "reassign", "reason": "车辆占用消防通道归秩序维护部", "reassign_to": security}),
    );
    assert_eq!(status, 200, "{body}");
    let report = head.sync(None, None).unwrap();
    assert_eq!(report.rejections.len(), 1, "{report:?}");
    assert!(report.rejections[0].reason_zh.contains("改派"), "{:?}", report.rejections[0]);
    assert_eq!(head.rejections(10).unwrap().len(), 1, "kept for the head's screen");
    let view = head.notice(id).unwrap();
    assert_eq!((view.state, view.department_id), (NoticeState::Issued, security));
    let refused: Vec<_> = view.actions.iter().filter(|a| !a.applied).collect();
    assert_eq!(refused.len(), 1, "{:?}", view.actions);
    assert_eq!(refused[0].action, NoticeAction::Acknowledge);
    assert!(view.allowed_actions.is_empty(), "the head may no longer act on it");
    let sec = w.phone("security.head");
    sec.sync(None, None).unwrap();
    assert_eq!(sec.list_notices(10).unwrap().iter().map(|n| n.notice_id).collect::<Vec<_>>(), vec![id]);
}

#[test]
fn sqlite_day_story() {
    a_patrol_walked_offline_reaches_the_department_head(Backend::Sqlite);
}

#[test]
fn postgres_day_story() {
    a_patrol_walked_offline_reaches_the_department_head(Backend::Postgres);
}

#[test]
fn sqlite_conflict_story() {
    an_offline_receipt_after_a_reassignment_is_rejected_with_a_reason(Backend::Sqlite);
}

#[test]
fn postgres_conflict_story() {
    an_offline_receipt_after_a_reassignment_is_rejected_with_a_reason(Backend::Postgres);
}
