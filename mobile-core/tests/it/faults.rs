//! Staff fault notices on the phone (issue 19), offline: issuing one against the cached
//! catalogue (refused for an unknown or retired rule, for oneself, for bad text, with
//! nothing recorded), the FaultIssued record it leaves in the outbox, and the server's
//! views from a pull page stored, listed and summed into the person's month, with the
//! phone's own pending answers laid over them.

use crate::common::*;
use patrol_core::faults::FaultDraft;
use patrol_core::sync::SyncReport;
use patrol_core::{Core, Error, SignedInPerson};
use patrol_protocol::fault::{AppealDecision, FaultAction, FaultView};
use patrol_protocol::sync::PullResponse;
use patrol_protocol::{Id, RecordPayload, Role, limits};

/// MN-01, 3 points, in force.
fn rule_mn() -> Id {
    id(70)
}
/// CL-01, 1 point, in force.
fn rule_cl() -> Id {
    id(71)
}
/// RC-01, sent with `retired: true`.
fn rule_retired() -> Id {
    id(72)
}
fn supervisor_person() -> Id {
    id(102)
}

fn rule(id: Id, code: &str, points: u32, retired: bool) -> serde_json::Value {
    serde_json::json!({
        "id": id, "code": code, "name_zh": format!("条款{code}"), "name_en": format!("Rule {code}"),
        "points": points, "retired": retired, "version": 1, "valid_from_ms": MORNING_MS - 86_400_000
    })
}

/// The test world with a catalogue of rules.
fn bundle_with_rules(rules: Vec<serde_json::Value>) -> String {
    let mut b: serde_json::Value = serde_json::from_str(&bundle_json()).unwrap();
    b["fault_rules"] = serde_json::Value::Array(rules);
    b.to_string()
}

fn catalogue() -> String {
    bundle_with_rules(vec![
        rule(rule_mn(), "MN-01", 3, false),
        rule(rule_cl(), "CL-01", 1, false),
        rule(rule_retired(), "RC-01", 2, true),
    ])
}

fn site_supervisor() -> SignedInPerson {
    SignedInPerson {
        person_id: supervisor_person(),
        display_name: "王敏".into(),
        roles: vec![Role::SiteSupervisor { site_id: site() }],
        must_change_password: false,
    }
}

/// A phone with the catalogue loaded and `who` signed in.
fn phone(who: SignedInPerson) -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_with_clock(config(dir.path(), None), TestClock::at(MORNING_MS).as_clock()).unwrap();
    let counts = core.load_reference_json(&catalogue()).expect("bundle with rules loads");
    assert_eq!(counts.fault_rules, 3);
    core.sign_in_locally(who).unwrap();
    (dir, core)
}

fn draft(rule_id: Id) -> FaultDraft {
    FaultDraft {
        site_id: site(),
        person_id: patrol_person(),
        rule_id,
        points: None,
        seen: "  巡查时未佩戴工牌  ".into(),
        location: "北门岗亭".into(),
        run_id: None,
        photos: vec![],
    }
}

fn field_of(e: Error) -> String {
    match e {
        Error::Invalid { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn the_rules_in_force_come_from_the_reference_data() {
    let (_dir, core) = phone(site_supervisor());
    let codes: Vec<String> = core.fault_rules().unwrap().into_iter().map(|r| r.code).collect();
    assert_eq!(codes, ["CL-01", "MN-01"], "by code, the retired rule left out");
    // A rule the next bundle no longer carries is out of force.
    core.load_reference_json(&bundle_with_rules(vec![rule(rule_cl(), "CL-01", 1, false)])).unwrap();
    let codes: Vec<String> = core.fault_rules().unwrap().into_iter().map(|r| r.code).collect();
    assert_eq!(codes, ["CL-01"]);
    // A bundle without the field (an older server) loads and leaves no rule in force.
    let counts = core.load_reference_json(&bundle_json()).unwrap();
    assert_eq!(counts.fault_rules, 0);
    assert!(core.fault_rules().unwrap().is_empty());
}

#[test]
fn issuing_is_refused_for_an_unknown_or_retired_rule_oneself_and_bad_text() {
    let (_dir, core) = phone(site_supervisor());
    let before = core.queue_status().unwrap().last_seq;

    assert_eq!(field_of(core.issue_fault(draft(id(999))).unwrap_err()), "rule_id", "not in the catalogue");
    assert_eq!(field_of(core.issue_fault(draft(rule_retired())).unwrap_err()), "rule_id", "retired");
    assert_eq!(
        field_of(core.issue_fault(FaultDraft { person_id: supervisor_person(), ..draft(rule_mn()) }).unwrap_err()),
        "person_id",
        "to oneself"
    );
    for (seen, location, field) in [
        ("   ", "北门", "seen"),
        (&*"很".repeat(limits::TEXT_MAX + 1), "北门", "seen"),
        ("未佩戴工牌\u{7}", "北门", "seen"),
        ("未佩戴工牌", &*"门".repeat(limits::NAME_MAX + 1), "location"),
    ] {
        let d = FaultDraft { seen: seen.into(), location: location.into(), ..draft(rule_mn()) };
        assert_eq!(field_of(core.issue_fault(d).unwrap_err()), field, "{seen:.20} / {location:.20}");
    }
    for points in [0, 101] {
        let d = FaultDraft { points: Some(points), ..draft(rule_mn()) };
        assert_eq!(field_of(core.issue_fault(d).unwrap_err()), "points", "{points} points");
    }
    // Nobody at the site to issue from: a patrol officer may not.
    core.sign_in_locally(patrol_staff()).unwrap();
    let d = FaultDraft { person_id: head_person(), ..draft(rule_mn()) };
    assert!(matches!(core.issue_fault(d), Err(Error::Conflict { .. })));
    // Someone not in the reference data.
    core.sign_in_locally(site_supervisor()).unwrap();
    let d = FaultDraft { person_id: id(555), ..draft(rule_mn()) };
    assert!(matches!(core.issue_fault(d), Err(Error::NotFound { what: "person", .. })));

    assert_eq!(core.queue_status().unwrap().last_seq, before, "a refused fault notice records nothing");
}

#[test]
fn an_issued_fault_notice_is_a_fault_issued_record_with_the_rules_points() {
    let (_dir, core) = phone(site_supervisor());
    let fault_id = core.issue_fault(draft(rule_mn())).expect("issued offline");
    let rec = core.records_after(0, 100).unwrap().pop().expect("a record in the outbox");
    assert_eq!(rec.author, supervisor_person());
    assert_eq!(
        rec.payload,
        RecordPayload::FaultIssued {
            fault_id,
            site_id: site(),
            person_id: patrol_person(),
            rule_id: rule_mn(),
            points: 3,
            seen: "巡查时未佩戴工牌".into(),
            location: "北门岗亭".into(),
            run_id: None,
            notice_id: None,
            photos: vec![],
        }
    );
    // The issuer's own figure wins over the rule's.
    let second = core.issue_fault(FaultDraft { points: Some(5), ..draft(rule_cl()) }).unwrap();
    let rec = core.records_after(0, 100).unwrap().pop().unwrap();
    assert!(matches!(rec.payload, RecordPayload::FaultIssued { fault_id, points: 5, .. } if fault_id == second));
    let q = core.queue_status().unwrap();
    assert_eq!(q.queued_records, 2);
    assert_eq!(core.verify_log().unwrap(), q.last_seq);
    // Not shown until the server has numbered it (the pull brings it back).
    assert!(core.list_faults(None, 50).unwrap().is_empty());
}

/// A view as the server's pull would carry it.
fn view(n: u128, month: &str, seen_ms: i64, points: u32) -> FaultView {
    FaultView {
        id: id(800 + n),
        number: format!("JY-F-2026-{n:06}"),
        site_id: site(),
        month: month.into(),
        person_id: patrol_person(),
        person_name: "张伟".into(),
        superior_id: Some(supervisor_person()),
        superior_name: Some("王敏".into()),
        rule_id: rule_mn(),
        rule_code: "MN-01".into(),
        rule_name_zh: "条款MN-01".into(),
        rule_name_en: "Rule MN-01".into(),
        points,
        points_now: points,
        seen: format!("第{n}次"),
        location: "北门".into(),
        photos: vec![],
        run_id: None,
        notice_id: None,
        issuer_id: supervisor_person(),
        issuer_name: "王敏".into(),
        seen_ms,
        received_ms: seen_ms + 60_000,
        receipt: "pending".into(),
        appeal: None,
        deciders: vec![],
        voided: false,
        events: vec![],
    }
}

fn page(cursor: &str, faults: Vec<FaultView>) -> PullResponse {
    PullResponse {
        cursor: cursor.into(),
        more: false,
        server_time_ms: MORNING_MS,
        reference: None,
        notices: vec![],
        rejections: vec![],
        notifications: vec![],
        faults,
    }
}

const DAY: i64 = 86_400_000;

#[test]
fn pulled_views_are_stored_listed_newest_first_and_summed_into_my_month() {
    let (_dir, core) = phone(patrol_staff());
    let may = |n: u128, days: i64, points: u32| view(n, "2026-05", MORNING_MS - days * DAY, points);
    let mut voided = may(3, 3, 3);
    voided.voided = true;
    voided.points_now = 0;
    let mut reduced = may(4, 4, 3);
    reduced.appeal = Some("reduced".into());
    reduced.points_now = 1;
    let mut cancelled = may(5, 5, 2);
    cancelled.appeal = Some("cancelled".into());
    cancelled.points_now = 0;
    let april = view(6, "2026-04", MORNING_MS - 30 * DAY, 3);
    let mut report = SyncReport::default();
    core.apply_pull_page(
        &page("v1.10", vec![may(1, 1, 3), may(2, 2, 1), voided, reduced, cancelled, april]),
        &mut report,
        MORNING_MS,
    )
    .unwrap();
    assert_eq!(report.faults_received, 6);

    let all = core.list_faults(None, 50).unwrap();
    let numbers: Vec<&str> = all.iter().map(|v| v.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            "JY-F-2026-000001",
            "JY-F-2026-000002",
            "JY-F-2026-000003",
            "JY-F-2026-000004",
            "JY-F-2026-000005",
            "JY-F-2026-000006"
        ],
        "newest first"
    );
    assert_eq!(all[0], may(1, 1, 3), "stored whole");
    assert_eq!(core.list_faults(Some("2026-04".into()), 50).unwrap().len(), 1);
    assert_eq!(core.list_faults(Some("2026-05".into()), 2).unwrap().len(), 2, "the limit holds");
    assert_eq!(field_of(core.list_faults(Some("2026-5".into()), 50).unwrap_err()), "month");

    // Counted: not voided, not cancelled; points as they stand now: 3 + 1 + 1.
    let m = core.my_fault_month("2026-05").unwrap();
    assert_eq!((m.notices, m.points, m.open_appeals), (3, 5, 0), "{m:?}");
    assert_eq!(core.my_fault_month("2026-04").unwrap().points, 3);
    assert_eq!(core.my_fault_month("2026-03").unwrap().notices, 0);

    // The next page carries a newer view of the first: replaced, not added.
    let mut upheld = may(1, 1, 3);
    upheld.receipt = "refused".into();
    upheld.appeal = Some("open".into());
    upheld.deciders = vec![id(103)];
    core.apply_pull_page(&page("v1.11", vec![upheld.clone()]), &mut report, MORNING_MS).unwrap();
    assert_eq!(core.list_faults(None, 50).unwrap().len(), 6);
    assert_eq!(core.fault(upheld.id).unwrap(), upheld);
    let m = core.my_fault_month("2026-05").unwrap();
    assert_eq!((m.notices, m.points, m.open_appeals), (3, 5, 1));
    // …and it survives a reopen and a rebuild of the projections (it is none).
    core.rebuild_projections().unwrap();
    assert_eq!(core.fault(upheld.id).unwrap(), upheld);
}

#[test]
fn answers_are_checked_against_the_stored_view_and_shown_before_the_server_has_them() {
    let (_dir, core) = phone(patrol_staff());
    let f = view(1, "2026-05", MORNING_MS - DAY, 3);
    core.apply_pull_page(&page("v1.1", vec![f.clone()]), &mut SyncReport::default(), MORNING_MS).unwrap();

    // Unknown here.
    assert!(matches!(core.act_on_fault(id(9999), FaultAction::Acknowledge, ""), Err(Error::NotFound { .. })));
    // An appeal must say why.
    assert_eq!(field_of(core.act_on_fault(f.id, FaultAction::Appeal, " ").unwrap_err()), "reason");

    core.act_on_fault(f.id, FaultAction::Acknowledge, "").unwrap();
    core.act_on_fault(f.id, FaultAction::Appeal, "当时正在处理业主报修，工牌在工具包内").unwrap();
    let shown = core.fault(f.id).unwrap();
    assert_eq!((shown.receipt.as_str(), shown.appeal.as_deref()), ("signed", Some("open")));
    assert_eq!(core.my_fault_month("2026-05").unwrap().open_appeals, 1);
    // Answered already, appealed already: refused, nothing recorded.
    let seq = core.queue_status().unwrap().last_seq;
    assert!(matches!(core.act_on_fault(f.id, FaultAction::Refuse, ""), Err(Error::Conflict { .. })));
    assert!(matches!(core.act_on_fault(f.id, FaultAction::Appeal, "再次申诉"), Err(Error::Conflict { .. })));
    // The appellant never decides; a patrol officer never voids.
    assert!(matches!(core.decide_appeal(f.id, AppealDecision::Cancelled, 0, "自己撤销"), Err(Error::Conflict { .. })));
    assert!(matches!(core.act_on_fault(f.id, FaultAction::Void, "作废"), Err(Error::Conflict { .. })));
    assert_eq!(core.queue_status().unwrap().last_seq, seq);

    let acts: Vec<RecordPayload> = core.records_after(0, 100).unwrap().into_iter().map(|r| r.payload).collect();
    assert_eq!(
        acts,
        [
            RecordPayload::FaultActed { fault_id: f.id, action: FaultAction::Acknowledge, reason: String::new() },
            RecordPayload::FaultActed {
                fault_id: f.id,
                action: FaultAction::Appeal,
                reason: "当时正在处理业主报修，工牌在工具包内".into()
            },
        ]
    );

    // Someone else (the head, not named on it) may not sign for it.
    core.sign_in_locally(engineering_head()).unwrap();
    let mut fresh = view(2, "2026-05", MORNING_MS, 1);
    fresh.issuer_id = head_person();
    core.apply_pull_page(&page("v1.2", vec![fresh.clone()]), &mut SyncReport::default(), MORNING_MS).unwrap();
    assert!(matches!(core.act_on_fault(fresh.id, FaultAction::Acknowledge, ""), Err(Error::Conflict { .. })));
}
