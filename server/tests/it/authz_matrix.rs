//! The authorisation matrix: every API route × every role × the caller's own site, an
//! other site of the same organisation, and a site of another organisation, against
//! one table of expectations. A route added to the router without a line here fails.

use crate::support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use patrol_protocol::record::RecordPayload;
use patrol_protocol::{Id, Organisation, Person, Role, RoleAssignment, Site};
use patrol_server::clock::Clock;
use patrol_server::store::{people, reference};
use serde_json::{Value, json};
use support::phone::{Phone, jpeg, notice, photo_taken};
use support::{Backend, TestServer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Anonymous,
    Patrol,
    Head,
    Supervisor,
    Manager,
    Admin,
}
impl Actor {
    /// The demo person who plays this role.
    fn demo_login(self) -> Option<&'static str> {
        match self {
            Actor::Anonymous => None,
            Actor::Patrol => Some("patrol"),
            Actor::Head => Some("eng.head"),
            Actor::Supervisor => Some("supervisor"),
            Actor::Manager => Some("manager"),
            Actor::Admin => Some("admin"),
        }
    }
}

/// The table and the router name exactly the same routes.
fn assert_same(router: BTreeSet<(String, String)>, table: BTreeSet<(String, String)>) {
    let none = Vec::<&(String, String)>::new();
    assert_eq!(router.difference(&table).collect::<Vec<_>>(), none, "routes without a table line");
    assert_eq!(table.difference(&router).collect::<Vec<_>>(), none, "table lines without a route");
}

const ACTORS: [Actor; 6] =
    [Actor::Anonymous, Actor::Patrol, Actor::Head, Actor::Supervisor, Actor::Manager, Actor::Admin];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Own,
    OtherSite,
    OtherOrg,
}
const SCOPES: [Scope; 3] = [Scope::Own, Scope::OtherSite, Scope::OtherOrg];

/// Who may, as the policy is meant to say it.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone, signed in or not (auth routes: anything but 403 is fine).
    Public,
    /// Anyone signed in; the route reads only the caller's own things.
    SignedIn,
    /// Administrators of the organisation.
    Admin,
    /// People with a role at the site, and organisation-wide roles.
    SiteReader,
    /// Administrators and supervisors.
    PeopleReader,
    /// The issuer, the addressed department's heads, the site's supervisors.
    NoticeViewer,
    /// The walker and the site's supervisors.
    RunViewer,
    /// The site's supervisors.
    Supervisor,
    /// Only the photo's uploader.
    Uploader,
    /// Members of the organisation (its catalogue).
    OrgMember,
    /// A fault notice issued at each site to its patrol officer by its supervisor (by
    /// the organisation's supervisor at the other site): the person, the issuer, the
    /// organisation's supervisors and administrators; not a department head.
    FaultViewer,
    /// Only the person a fault notice names signs for it.
    FaultPerson,
    /// Who decides the appeal the patrol officer made: one level above the issuer
    /// (the organisation's supervisor over a site supervisor; its administrators over
    /// the organisation's supervisor), never the appellant, never the issuer.
    AppealDecider,
    /// The site's supervisors and the organisation's administrators (month sheets).
    SupervisorOrAdmin,
    /// Who may issue fault notices somewhere: supervisors and department heads.
    Issuer,
}

fn allowed(rule: Rule, a: Actor, s: Scope) -> bool {
    use Actor::*;
    let org_wide = matches!(a, Manager | Admin);
    match rule {
        Rule::Public => true,
        Rule::SignedIn => a != Anonymous,
        Rule::Admin => a == Admin && s != Scope::OtherOrg,
        Rule::SiteReader => match s {
            Scope::Own => a != Anonymous,
            Scope::OtherSite => org_wide,
            Scope::OtherOrg => false,
        },
        Rule::PeopleReader => matches!(a, Supervisor | Manager | Admin),
        // The notice at each site is raised by that site's patrol officer to engineering.
        Rule::NoticeViewer => match s {
            Scope::Own => matches!(a, Patrol | Head | Supervisor | Manager),
            Scope::OtherSite => a == Manager,
            Scope::OtherOrg => false,
        },
        Rule::RunViewer => match s {
            Scope::Own => matches!(a, Patrol | Supervisor | Manager),
            Scope::OtherSite => a == Manager,
            Scope::OtherOrg => false,
        },
        Rule::Supervisor => match s {
            Scope::Own => matches!(a, Supervisor | Manager),
            Scope::OtherSite => a == Manager,
            Scope::OtherOrg => false,
        },
        Rule::Uploader => a == Patrol && s == Scope::Own,
        Rule::OrgMember => a != Anonymous && s != Scope::OtherOrg,
        Rule::FaultViewer => match s {
            Scope::Own => matches!(a, Patrol | Supervisor | Manager | Admin),
            Scope::OtherSite => matches!(a, Manager | Admin),
            Scope::OtherOrg => false,
        },
        Rule::FaultPerson => a == Patrol && s == Scope::Own,
        Rule::AppealDecider => match s {
            Scope::Own => a == Manager,
            Scope::OtherSite => a == Admin,
            Scope::OtherOrg => false,
        },
        Rule::Issuer => matches!(a, Head | Supervisor | Manager),
        Rule::SupervisorOrAdmin => match s {
            Scope::Own => matches!(a, Supervisor | Manager | Admin),
            Scope::OtherSite => matches!(a, Manager | Admin),
            Scope::OtherOrg => false,
        },
    }
}

/// The table: (method, path, rule, body). Paths use the router's templates; bodies are
/// valid requests, so a refusal can only come from the policy.
fn table() -> Vec<(Method, &'static str, Rule, Option<Value>)> {
    use Method as M;
    use Rule::*;
    vec![
        (M::GET, "/healthz", Public, None),
        (M::GET, "/readyz", Public, None),
        (M::GET, "/metrics", Public, None),
        (M::GET, "/api/v1/openapi.json", Public, None),
        (
            M::POST,
            "/api/v1/auth/login",
            Public,
            Some(json!({"login": "nobody", "password": "wrong-password", "device_id": Id::nil()})),
        ),
        (M::POST, "/api/v1/auth/refresh", Public, Some(json!({"refresh_token": "bogus", "device_id": Id::nil()}))),
        (M::POST, "/api/v1/auth/logout", Public, Some(json!({"refresh_token": "bogus"}))),
        (M::GET, "/api/v1/me", SignedIn, None),
        (M::GET, "/api/v1/sites", SignedIn, None),
        (M::POST, "/api/v1/sites", Admin, Some(json!({"code": "{code}", "name_zh": "新园"}))),
        (M::GET, "/api/v1/sites/{site_id}", SiteReader, None),
        (M::GET, "/api/v1/sites/{site_id}/departments", SiteReader, None),
        (M::POST, "/api/v1/sites/{site_id}/departments", Admin, Some(json!({"kind": "other", "name_zh": "{code}"}))),
        (M::GET, "/api/v1/sites/{site_id}/checkpoints", SiteReader, None),
        (
            M::POST,
            "/api/v1/sites/{site_id}/checkpoints",
            Admin,
            Some(json!({"code": "{code}", "name_zh": "点", "latitude": 31.0, "longitude": 121.0})),
        ),
        (M::GET, "/api/v1/sites/{site_id}/routes", SiteReader, None),
        (
            M::POST,
            "/api/v1/sites/{site_id}/routes",
            Admin,
            Some(json!({"name_zh": "线路", "checkpoint_ids": ["{checkpoint_id}"]})),
        ),
        (M::GET, "/api/v1/sites/{site_id}/schedules", SiteReader, None),
        (
            M::POST,
            "/api/v1/sites/{site_id}/schedules",
            Admin,
            Some(
                json!({"route_id": "{route_id}", "days_of_week": [1], "windows": [{"start_minute": 480, "end_minute": 600, "runs": 1}]}),
            ),
        ),
        (M::GET, "/api/v1/people", PeopleReader, None),
        (
            M::POST,
            "/api/v1/people",
            Admin,
            Some(json!({"login": "{code}", "display_name": "新人", "password": "a-long-password"})),
        ),
        (
            M::POST,
            "/api/v1/people/{person_id}/roles",
            Admin,
            Some(json!({"role": "patrol_staff", "site_id": "{site_id}"})),
        ),
        (
            M::POST,
            "/api/v1/sync/push",
            SignedIn,
            Some(json!({"device_id": "{device}", "sent_at_ms": 0, "records": []})),
        ),
        (M::GET, "/api/v1/sync/status", SignedIn, None),
        (M::GET, "/api/v1/sync/pull", SignedIn, None),
        (M::GET, "/api/v1/photos/{sha256}/upload", Uploader, None),
        (M::PUT, "/api/v1/photos/{sha256}/upload", Uploader, None),
        (M::GET, "/api/v1/photos/{sha256}", NoticeViewer, None),
        (M::GET, "/api/v1/photos/{sha256}/thumb", NoticeViewer, None),
        (M::GET, "/api/v1/notices", SignedIn, None),
        (M::GET, "/api/v1/notices/{notice_id}", NoticeViewer, None),
        (
            M::POST,
            "/api/v1/notices/{notice_id}/actions",
            NoticeViewer,
            Some(json!({"action": "corrective_action", "reason": "试探"})),
        ),
        (M::GET, "/api/v1/runs/{run_id}", RunViewer, None),
        (M::GET, "/api/v1/faults", SignedIn, None),
        (
            M::POST,
            "/api/v1/faults",
            Supervisor,
            Some(
                json!({"site_id": "{site_id}", "person_id": "{person_id}", "rule_id": "{rule_id}", "seen": "前台无人"}),
            ),
        ),
        (M::GET, "/api/v1/faults/{fault_id}", FaultViewer, None),
        (M::POST, "/api/v1/faults/{fault_id}/actions", FaultPerson, Some(json!({"action": "acknowledge"}))),
        (
            M::POST,
            "/api/v1/faults/{fault_id}/decision",
            AppealDecider,
            Some(json!({"decision": "upheld", "reason": "维持"})),
        ),
        (M::GET, "/api/v1/fault-rules", SignedIn, None),
        (
            M::POST,
            "/api/v1/fault-rules",
            Admin,
            Some(json!({"code": "{code}", "name_zh": "条款", "name_en": "Rule", "points": 1})),
        ),
        (M::GET, "/api/v1/fault-rules/{rule_id}/history", OrgMember, None),
        (M::GET, "/api/v1/fault-scale", SignedIn, None),
        (
            M::PUT,
            "/api/v1/fault-scale",
            Admin,
            Some(
                json!({"fine_per_point_fen": 1000, "bands": [{"min_points": 5, "label_zh": "加罚", "label_en": "Extra", "extra_fine_fen": 0}], "publish_points": 5, "repeat_count": 3, "person_share_pct": 70}),
            ),
        ),
        (M::GET, "/api/v1/sites/{site_id}/fault-months/{month}", SupervisorOrAdmin, None),
        (M::GET, "/api/v1/sites/{site_id}/daily-logs/{day}", Supervisor, None),
        (M::POST, "/api/v1/sites/{site_id}/daily-logs/{day}/sign", Supervisor, Some(json!({"comment": "阅"}))),
        (M::GET, "/api/v1/sites/{site_id}/rules", SiteReader, None),
        (M::PUT, "/api/v1/sites/{site_id}/rules", Admin, Some(json!({}))),
        (M::GET, "/api/v1/sites/{site_id}/holidays", SiteReader, None),
        (M::POST, "/api/v1/sites/{site_id}/holidays", Admin, Some(json!({"day": "2026-12-31", "name": "{code}"}))),
        (M::GET, "/api/v1/sites/{site_id}/special-periods", SiteReader, None),
        (
            M::POST,
            "/api/v1/sites/{site_id}/special-periods",
            Admin,
            Some(
                json!({"route_id": "{route_id}", "kind": "move_in", "name": "入伙期", "first_day": "2026-12-01", "last_day": "2026-12-10", "days_of_week": [1, 2, 3, 4, 5, 6, 7], "windows": [{"start_minute": 540, "end_minute": 1020, "runs": 8}]}),
            ),
        ),
        (M::GET, "/api/v1/sites/{site_id}/audit/{day}", Supervisor, None),
        (M::GET, "/api/v1/sites/{site_id}/waivers", SiteReader, None),
        (
            M::POST,
            "/api/v1/waivers/{waiver_id}/decision",
            Supervisor,
            Some(json!({"accept": false, "note": "照常巡检"})),
        ),
        (M::GET, "/api/v1/sites/{site_id}/channels", Admin, None),
        (
            M::POST,
            "/api/v1/sites/{site_id}/channels",
            Admin,
            Some(
                json!({"name": "{code}", "kind": "webhook", "target": "https://example.invalid/hook", "events": ["notice_overdue"]}),
            ),
        ),
        (
            M::PUT,
            "/api/v1/sites/{site_id}/channels/{channel_id}",
            Admin,
            Some(
                json!({"name": "{code}", "kind": "webhook", "target": "https://example.invalid/hook", "events": ["notice_overdue"]}),
            ),
        ),
        (M::GET, "/api/v1/sites/{site_id}/outbox", Admin, None),
        (M::GET, "/api/v1/notifications", SignedIn, None),
        (M::GET, "/api/v1/audit/tree-head", Public, None),
        (M::GET, "/api/v1/audit/public-key", Public, None),
        (M::GET, "/api/v1/audit/checkpoint", Public, None),
        (M::GET, "/api/v1/audit/checkpoint-key", Public, None),
        (M::GET, "/api/v1/audit/checkpoint/witnessed", Public, None),
        (M::GET, "/api/v1/audit/leaves", Public, None),
        (M::GET, "/api/v1/audit/consistency", Public, None),
        (M::GET, "/api/v1/audit/inclusion", Public, None),
        (M::GET, "/api/v1/audit/check-code", Public, None),
        (
            M::POST,
            "/api/v1/me/password",
            SignedIn,
            Some(json!({"current_password": "not-the-password", "new_password": "Gate-2026-night"})),
        ),
        (M::PUT, "/api/v1/people/{person_id}/active", Admin, Some(json!({"active": true}))),
        (
            M::PUT,
            "/api/v1/fault-rules/{rule_id}",
            Admin,
            Some(json!({"code": "{code}", "name_zh": "条款", "name_en": "Rule", "points": 2})),
        ),
        // Reference objects edited and retired (versions). Late: a retirement changes
        // what the lines above act on (the lines after end sessions).
        (M::GET, "/api/v1/sites/{site_id}/history", SiteReader, None),
        (M::GET, "/api/v1/sites/{site_id}/departments/{department_id}/history", SiteReader, None),
        (M::GET, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/history", SiteReader, None),
        (M::GET, "/api/v1/sites/{site_id}/routes/{route_id}/history", SiteReader, None),
        (M::GET, "/api/v1/sites/{site_id}/schedules/{schedule_id}/history", SiteReader, None),
        (M::PUT, "/api/v1/sites/{site_id}", Admin, Some(json!({"name_zh": "改名{code}"}))),
        (M::PUT, "/api/v1/sites/{site_id}/departments/{department_id}", Admin, Some(json!({"name_zh": "工程{code}"}))),
        (
            M::PUT,
            "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}",
            Admin,
            Some(json!({"name_zh": "门{code}", "latitude": 31.0, "longitude": 121.0, "radius_m": 30.0})),
        ),
        (
            M::PUT,
            "/api/v1/sites/{site_id}/routes/{route_id}",
            Admin,
            Some(json!({"name_zh": "线路{code}", "checkpoint_ids": ["{checkpoint_id}"]})),
        ),
        (
            M::PUT,
            "/api/v1/sites/{site_id}/schedules/{schedule_id}",
            Admin,
            Some(json!({"days_of_week": [1, 2, 3], "windows": [{"start_minute": 840, "end_minute": 960, "runs": 1}]})),
        ),
        (M::POST, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/retire", Admin, None),
        (M::POST, "/api/v1/sites/{site_id}/departments/{department_id}/retire", Admin, None),
        (M::POST, "/api/v1/sites/{site_id}/schedules/{schedule_id}/retire", Admin, None),
        (M::POST, "/api/v1/sites/{site_id}/routes/{route_id}/retire", Admin, None),
        // Last: they take the scope's person's role and logins away, which only rows
        // about administrators' routes may follow.
        (
            M::POST,
            "/api/v1/people/{person_id}/roles/remove",
            Admin,
            Some(json!({"role": "patrol_staff", "site_id": "{site_id}"})),
        ),
        (M::POST, "/api/v1/people/{person_id}/password-reset", Admin, None),
    ]
}

/// Things of one scope the paths point at.
#[derive(Clone, Default)]
struct Things {
    department: Id,
    schedule: Id,
    site: Id,
    notice: Id,
    run: Id,
    sha: String,
    person: Id,
    checkpoint: Id,
    route: Id,
    waiver: Id,
    fault: Id,
    rule: Id,
}

/// 14:00 on the test day in China: a window every test site's schedule has.
const AFTERNOON_WINDOW_MS: i64 = support::START_MS + 5 * 3_600_000;

/// A patrol officer of `site` raises an engineering notice with a photo, walks a run
/// and asks not to walk the afternoon round.
async fn populate(s: &TestServer, officer: &mut Phone, site: Id, engineering: Id, route: Id, seed: u8) -> Things {
    let run = Id::now_v7();
    officer.record(s, RecordPayload::RunStarted { run_id: run, route_id: route, site_id: site });
    let waiver = officer
        .record(
            s,
            RecordPayload::RunWaived {
                site_id: site,
                route_id: route,
                window_start_ms: AFTERNOON_WINDOW_MS,
                reason: "停电检修".into(),
            },
        )
        .id;
    let (bytes, sha) = jpeg(seed);
    officer.record(s, photo_taken(&sha, bytes.len(), None, None));
    let (notice_id, p) = notice(site, engineering, "灯坏了", vec![sha.clone()], s.clock.now_ms() + 86_400_000);
    officer.record(s, p);
    let resp = officer.push(s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");
    let (status, _) = officer.upload(s, &sha, &bytes[..10], 0).await;
    assert_eq!(status, StatusCode::OK);
    Things { site, notice: notice_id, run, sha, person: officer.person, waiver, ..Things::default() }
}

/// A fault notice `issuer` issues to the scope's patrol officer, who appeals it.
async fn fault_appealed(s: &TestServer, issuer: &str, person: &str, t: &Things) -> Id {
    let body = json!({"site_id": t.site, "person_id": t.person, "rule_id": t.rule, "seen": "前台无人值守"});
    let (status, fault) = s.call(Method::POST, "/api/v1/faults", Some(issuer), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{fault}");
    let id: Id = fault["id"].as_str().unwrap().parse().unwrap();
    let appeal = json!({"action": "appeal", "reason": "当时在处理业主报修"});
    let (status, answer) =
        s.call(Method::POST, &format!("/api/v1/faults/{id}/actions"), Some(person), Some(appeal)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["appeal"], "open");
    id
}

/// The demo site (own), a second site of the same organisation (other), and a site of
/// another organisation written straight into the store, each with a patrol officer's
/// run, a photo, an engineering notice and a pending won't-do.
async fn three_scopes(s: &TestServer) -> (Things, Things, Things) {
    let admin = s.token("admin").await;
    let demo =
        support::phone::Demo { reference: Phone::sign_in(s, "patrol").await.pull(s, "").await["reference"].clone() };

    // Own site: the demo compound.
    let mut own_officer = Phone::sign_in(s, "patrol").await;
    let own_route: Id = demo.route(0)["id"].as_str().unwrap().parse().unwrap();
    let mut own = populate(s, &mut own_officer, demo.site(), demo.dept("engineering"), own_route, 1).await;
    own.checkpoint = demo.route(0)["checkpoint_ids"][0].as_str().unwrap().parse().unwrap();
    own.route = own_route;

    // Another site of the same organisation, set up through the API.
    let (_, b) =
        s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(json!({"code": "HY", "name_zh": "华苑"}))).await;
    let b_site: Id = b["id"].as_str().unwrap().parse().unwrap();
    let (_, d) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{b_site}/departments"),
            Some(&admin),
            Some(json!({"kind": "engineering"})),
        )
        .await;
    let (_, cp) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{b_site}/checkpoints"),
            Some(&admin),
            Some(json!({"code": "G", "name_zh": "门", "latitude": 31.0, "longitude": 121.0})),
        )
        .await;
    let (_, rt) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{b_site}/routes"),
            Some(&admin),
            Some(json!({"name_zh": "线", "checkpoint_ids": [cp["id"]]})),
        )
        .await;
    let (status, body) = s
        .call(Method::POST, &format!("/api/v1/sites/{b_site}/schedules"), Some(&admin), Some(json!({"route_id": rt["id"], "days_of_week": [1, 2, 3, 4, 5, 6, 7], "windows": [{"start_minute": 840, "end_minute": 960, "runs": 1}]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = s
        .call(Method::POST, "/api/v1/people", Some(&admin), Some(json!({"login": "b.patrol", "display_name": "乙", "password": "b-password-123", "roles": [{"role": "patrol_staff", "site_id": b_site}]})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut b_officer = Phone::sign_in_with(s, "b.patrol", "b-password-123").await;
    let mut other = populate(
        s,
        &mut b_officer,
        b_site,
        d["id"].as_str().unwrap().parse().unwrap(),
        rt["id"].as_str().unwrap().parse().unwrap(),
        2,
    )
    .await;
    other.checkpoint = cp["id"].as_str().unwrap().parse().unwrap();
    other.route = rt["id"].as_str().unwrap().parse().unwrap();

    // A site of another organisation, written straight into the store (no admin of
    // ours could make it).
    let org = Organisation { id: Id::now_v7(), name: "别家物业".into() };
    let c_site = Site {
        id: Id::now_v7(),
        org_id: org.id,
        code: "FX".into(),
        name_zh: "枫溪".into(),
        name_en: String::new(),
        utc_offset_minutes: 480,
    };
    let c_dept = patrol_protocol::Department {
        id: Id::now_v7(),
        site_id: c_site.id,
        kind: patrol_protocol::DepartmentKind::Engineering,
        name_zh: "工程部".into(),
        name_en: String::new(),
    };
    let c_cp: patrol_protocol::Checkpoint =
        serde_json::from_value(json!({"id": Id::now_v7(), "site_id": c_site.id, "code": "G", "name_zh": "门", "name_en": "", "latitude": 31.0, "longitude": 121.0, "radius_m": 30.0, "qr_token": "foreign-token-123", "nfc_tag_id": null, "checklist": []})).unwrap();
    let c_route = patrol_protocol::Route {
        id: Id::now_v7(),
        site_id: c_site.id,
        name_zh: "线".into(),
        name_en: String::new(),
        checkpoint_ids: vec![c_cp.id],
    };
    let c_person =
        Person { id: Id::now_v7(), org_id: org.id, login: "c.patrol".into(), display_name: "丙".into(), active: true };
    let hash = patrol_server::auth::password::hash("c-password-123");
    let (o, cs, cd, ccp, cr, cpn) =
        (org.clone(), c_site.clone(), c_dept.clone(), c_cp.clone(), c_route.clone(), c_person.clone());
    s.state
        .store
        .write(move |c| {
            reference::insert_organisation(c, &o, 1)?;
            reference::insert_site(c, &cs, 1)?;
            reference::insert_department(c, &cd, 1)?;
            reference::insert_checkpoint(c, &ccp, 1)?;
            reference::insert_route(c, &cr, 1)?;
            let windows = vec![patrol_protocol::TimeWindow { start_minute: 840, end_minute: 960, runs: 1 }];
            let schedule = patrol_protocol::Schedule {
                id: Id::now_v7(),
                route_id: cr.id,
                days_of_week: vec![1, 2, 3, 4, 5, 6, 7],
                windows,
            };
            reference::insert_schedule(c, &schedule, 1)?;
            people::insert_person(c, &cpn, &hash, 1)?;
            people::insert_role(c, &RoleAssignment { person_id: cpn.id, role: Role::PatrolStaff { site_id: cs.id } }, 1)
        })
        .await
        .unwrap();
    // The other organisation's site supervisor and catalogue, for its fault notice.
    let c_sup =
        Person { id: Id::now_v7(), org_id: org.id, login: "c.sup".into(), display_name: "丁".into(), active: true };
    let c_rule = patrol_protocol::fault::FaultRule {
        id: Id::now_v7(),
        code: "X-1".into(),
        name_zh: "脱岗".into(),
        name_en: "Post left".into(),
        points: 2,
        retired: false,
        version: 1,
        valid_from_ms: 1,
    };
    let (csup, crule, cs_id, org_id) = (c_sup.clone(), c_rule.clone(), c_site.id, org.id);
    let sup_hash = patrol_server::auth::password::hash("d-password-123");
    s.state
        .store
        .write(move |c| {
            people::insert_person(c, &csup, &sup_hash, 1)?;
            people::insert_role(
                c,
                &RoleAssignment { person_id: csup.id, role: Role::SiteSupervisor { site_id: cs_id } },
                1,
            )?;
            patrol_cases::faults::catalogue::insert_rule(c, org_id, &crule, None)
        })
        .await
        .unwrap();
    let mut c_officer = Phone::sign_in_with(s, "c.patrol", "c-password-123").await;
    let mut foreign = populate(s, &mut c_officer, c_site.id, c_dept.id, c_route.id, 3).await;
    foreign.checkpoint = c_cp.id;
    foreign.route = c_route.id;
    foreign.rule = c_rule.id;
    let c_sup_token = Phone::sign_in_with(s, "c.sup", "d-password-123").await.token;
    foreign.fault = fault_appealed(s, &c_sup_token, &c_officer.token, &foreign).await;

    // Our organisation's catalogue; a fault notice at each of our sites, issued to the
    // site's patrol officer (by the site supervisor at the demo site, by the
    // organisation's supervisor at the other) and appealed.
    let (_, rules) = s.call(Method::GET, "/api/v1/fault-rules", Some(&admin), None).await;
    let rule: Id = rules[0]["id"].as_str().unwrap().parse().unwrap();
    (own.rule, other.rule) = (rule, rule);
    let (sup, manager) = (s.token("supervisor").await, s.token("manager").await);
    own.fault = fault_appealed(s, &sup, &own_officer.token, &own).await;
    other.fault = fault_appealed(s, &manager, &b_officer.token, &other).await;

    // Each scope's engineering department and its route's schedule (edit, retire and
    // history of reference objects).
    for t in [&mut own, &mut other, &mut foreign] {
        let (site, route) = (t.site, t.route);
        let ids = s
            .state
            .store
            .read(move |c| {
                let d = c
                    .query_one(
                        "SELECT id FROM departments WHERE site_id = $1 AND kind = 'engineering'",
                        &patrol_server::params![site],
                    )?
                    .uuid(0)?;
                let sc = c
                    .query_one("SELECT id FROM schedules WHERE route_id = $1", &patrol_server::params![route])?
                    .uuid(0)?;
                Ok((d, sc))
            })
            .await
            .unwrap();
        (t.department, t.schedule) = ids;
    }
    (own, other, foreign)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_in_every_scope_as_the_table_says() {
    // The table covers the router exactly: a new route without a line fails here.
    let routed: BTreeSet<(String, String)> =
        patrol_server::app::routes().iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    let tabled: BTreeSet<(String, String)> = table().iter().map(|(m, p, ..)| (m.to_string(), p.to_string())).collect();
    assert_same(routed, tabled);

    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite always runs");
    let (own, other, foreign) = three_scopes(&s).await;
    let mut tokens = Vec::new();
    for a in ACTORS {
        let login = a.demo_login();
        let t = match login {
            Some(l) => {
                let device = Id::now_v7();
                let (status, body) = s
                    .call(
                        Method::POST,
                        "/api/v1/auth/login",
                        None,
                        Some(json!({"login": l, "password": s.password(l), "device_id": device})),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK);
                Some((body["access_token"].as_str().unwrap().to_string(), device))
            }
            None => None,
        };
        tokens.push((a, t));
    }

    let mut checked = 0;
    let mut wrong = Vec::new();
    let mut n = 0;
    for (method, template, rule, body) in table() {
        for scope in SCOPES {
            let things = match scope {
                Scope::Own => &own,
                Scope::OtherSite => &other,
                Scope::OtherOrg => &foreign,
            };
            for (actor, token) in &tokens {
                n += 1;
                let device = token.as_ref().map_or(Id::nil(), |(_, d)| *d).to_string();
                let fill = |text: &str| {
                    text.replace("{site_id}", &things.site.to_string())
                        .replace("{notice_id}", &things.notice.to_string())
                        .replace("{run_id}", &things.run.to_string())
                        .replace("{sha256}", &things.sha)
                        .replace("{person_id}", &things.person.to_string())
                        .replace("{checkpoint_id}", &things.checkpoint.to_string())
                        .replace("{route_id}", &things.route.to_string())
                        .replace("{department_id}", &things.department.to_string())
                        .replace("{schedule_id}", &things.schedule.to_string())
                        .replace("{waiver_id}", &things.waiver.to_string())
                        .replace("{fault_id}", &things.fault.to_string())
                        .replace("{rule_id}", &things.rule.to_string())
                        .replace("{month}", "2026-11")
                        .replace("{channel_id}", &Id::now_v7().to_string())
                        .replace("{day}", "2026-11-23")
                        .replace("{device}", &device)
                        .replace("{code}", &format!("Z{n}"))
                };
                let mut path = fill(template);
                if template == "/api/v1/sync/status" {
                    path = format!("{path}?device_id={}", Id::now_v7());
                }
                let upload = method == Method::PUT && template.ends_with("/upload");
                if upload {
                    path = format!("{path}?offset=10");
                }
                let body = body.as_ref().map(|b| serde_json::from_str::<Value>(&fill(&b.to_string())).unwrap());
                let names_site = body.as_ref().is_some_and(|b| b.get("site_id").is_some());
                let (status, answer) = if upload {
                    let mut req = axum::http::Request::builder().method(Method::PUT).uri(&path);
                    if let Some((t, _)) = token {
                        req = req.header("authorization", format!("Bearer {t}"));
                    }
                    s.send(
                        req.header("content-type", "application/octet-stream")
                            .body(axum::body::Body::from(vec![0u8; 0]))
                            .unwrap(),
                    )
                    .await
                } else {
                    s.call(method.clone(), &path, token.as_ref().map(|(t, _)| t.as_str()), body).await
                };
                // Routes that name no site act in the caller's own organisation (a body
                // may name one).
                let scope_applies = template.contains('{') || names_site;
                let denied = status == StatusCode::UNAUTHORIZED
                    || status == StatusCode::FORBIDDEN
                    || (status == StatusCode::NOT_FOUND
                        && ((scope == Scope::OtherOrg && scope_applies) || matches!(rule, Rule::Uploader)));
                let expect = allowed(rule, *actor, if scope_applies { scope } else { Scope::Own });
                let ok = match rule {
                    Rule::Public => status != StatusCode::FORBIDDEN,
                    _ => expect != denied,
                };
                if !ok {
                    wrong.push(format!(
                        "{method} {path} as {actor:?} on {scope:?}: expected {}, got {status} {answer}",
                        if expect { "allow" } else { "deny" }
                    ));
                }
                checked += 1;
            }
        }
    }
    println!("checked {checked} (route, role, scope) combinations");
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

/// A page's path with the things of one scope put in.
fn page_path(template: &str, t: &Things) -> String {
    template
        .replace("{site_id}", &t.site.to_string())
        .replace("{notice_id}", &t.notice.to_string())
        .replace("{run_id}", &t.run.to_string())
        .replace("{sha256}", &t.sha)
        .replace("{checkpoint_id}", &t.checkpoint.to_string())
        .replace("{person_id}", &t.person.to_string())
        .replace("{kind}/{id}", &format!("route/{}", t.route))
        .replace("{day}", "2026-11-23")
        .replace("{month}", "2026-11")
        .replace("{lang}", "en")
        .replace("{fault_id}", &t.fault.to_string())
        .replace("{rule_id}", &t.rule.to_string())
}

/// Rows of the tables a console form could change, and the log and feed counters.
async fn table_counts(s: &TestServer) -> Vec<i64> {
    s.numbers(&[
        "SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'log'",
        "SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'feed'",
        "SELECT COUNT(*) FROM sites",
        "SELECT COUNT(*) FROM departments",
        "SELECT COUNT(*) FROM people",
        "SELECT COUNT(*) FROM role_assignments",
        "SELECT COUNT(*) FROM checkpoints",
        "SELECT COUNT(*) FROM routes",
        "SELECT COUNT(*) FROM schedules",
        "SELECT COUNT(*) FROM site_plans",
        "SELECT COUNT(*) FROM notice_events",
        "SELECT COUNT(*) FROM daily_log_signatures",
    ])
    .await
}

/// The console's pages: (method, path, rule). GET pages are requested by every role in
/// every scope; POST pages are posted without a session or token (refused for
/// everyone), then with each role's session and token (refused where the rule denies,
/// and nothing changes).
fn page_table() -> Vec<(Method, &'static str, Option<Rule>)> {
    use Method as M;
    use Rule::*;
    vec![
        (M::GET, "/static/console.css", Some(Public)),
        (M::GET, "/static/console.js", Some(Public)),
        (M::GET, "/lang/{lang}", Some(Public)),
        (M::GET, "/login", Some(Public)),
        (M::POST, "/login", None),
        (M::POST, "/logout", None),
        (M::GET, "/", Some(SignedIn)),
        (M::GET, "/admin/sites", Some(Admin)),
        (M::POST, "/admin/sites", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/plan", Some(Admin)),
        (M::GET, "/sites/{site_id}/plan", Some(SiteReader)),
        (M::GET, "/admin/sites/{site_id}/departments", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/departments", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/checkpoints", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/checkpoints", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/checkpoints/import", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/checkpoints/labels.pdf", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/checkpoints/{checkpoint_id}/label.pdf", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/routes", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/routes", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/schedules", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/schedules", Some(Admin)),
        (M::GET, "/admin/sites/{site_id}/objects/{kind}/{id}", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/objects/{kind}/{id}/edit", Some(Admin)),
        (M::POST, "/admin/sites/{site_id}/objects/{kind}/{id}/retire", Some(Admin)),
        (M::GET, "/admin/people", Some(Admin)),
        (M::POST, "/admin/people", Some(Admin)),
        (M::POST, "/admin/people/import", Some(Admin)),
        (M::POST, "/admin/people/{person_id}/roles", Some(Admin)),
        // A server-sent event stream: it never ends, so it is not requested here
        // (the console tests read its first event).
        (M::GET, "/live", None),
        (M::GET, "/photos/{sha256}", Some(NoticeViewer)),
        (M::GET, "/photos/{sha256}/thumb", Some(NoticeViewer)),
        (M::GET, "/notices", Some(SignedIn)),
        (M::GET, "/notices/export.xlsx", Some(SignedIn)),
        (M::GET, "/notices/{notice_id}", Some(NoticeViewer)),
        (M::POST, "/notices/{notice_id}/actions", Some(NoticeViewer)),
        (M::GET, "/notices/{notice_id}/notice.pdf", Some(NoticeViewer)),
        (M::GET, "/dashboard", Some(Supervisor)),
        (M::GET, "/runs/{run_id}", Some(RunViewer)),
        (M::GET, "/sites/{site_id}/daily-logs/{day}", Some(Supervisor)),
        (M::POST, "/sites/{site_id}/daily-logs/{day}/sign", Some(Supervisor)),
        (M::GET, "/sites/{site_id}/monthly/{month}", Some(Supervisor)),
        (M::GET, "/sites/{site_id}/monthly/{month}/summary.xlsx", Some(Supervisor)),
        (M::GET, "/sites/{site_id}/monthly/{month}/summary.pdf", Some(Supervisor)),
        (M::GET, "/faults", Some(SignedIn)),
        (M::POST, "/faults", Some(Issuer)),
        (M::GET, "/faults/{fault_id}", Some(FaultViewer)),
        (M::POST, "/faults/{fault_id}/actions", Some(FaultViewer)),
        (M::POST, "/faults/{fault_id}/decision", Some(FaultViewer)),
        (M::GET, "/faults/{fault_id}/fault.pdf", Some(FaultViewer)),
        (M::GET, "/sites/{site_id}/faults/{month}", Some(SupervisorOrAdmin)),
        (M::POST, "/sites/{site_id}/faults/{month}/notes", Some(Supervisor)),
        (M::GET, "/sites/{site_id}/faults/{month}/summary.xlsx", Some(SupervisorOrAdmin)),
        (M::GET, "/sites/{site_id}/faults/{month}/summary.pdf", Some(SupervisorOrAdmin)),
        (M::GET, "/admin/fault-rules", Some(Admin)),
        (M::POST, "/admin/fault-rules", Some(Admin)),
        (M::POST, "/admin/fault-rules/{rule_id}", Some(Admin)),
        (M::POST, "/admin/fault-scale", Some(Admin)),
        (M::GET, "/account/password", Some(SignedIn)),
        (M::POST, "/account/password", Some(SignedIn)),
        (M::POST, "/admin/people/{person_id}/active", Some(Admin)),
        // Last: it ends the scope's person's sessions.
        (M::POST, "/admin/people/{person_id}/password-reset", Some(Admin)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_every_role_in_every_scope_as_the_table_says() {
    let paged: BTreeSet<(String, String)> =
        patrol_server::web::pages().iter().map(|p| (p.method.to_string(), p.path.to_string())).collect();
    let tabled: BTreeSet<(String, String)> =
        page_table().iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_same(paged, tabled);

    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite always runs");
    let (own, other, foreign) = three_scopes(&s).await;
    let mut sessions = Vec::new();
    for a in ACTORS {
        let login = a.demo_login();
        let (cookie, csrf) = match login {
            Some(l) => support::web::sign_in(&s, l).await,
            None => (String::new(), String::new()),
        };
        sessions.push((a, cookie, csrf));
    }
    let in_scope = |scope| match scope {
        Scope::Own => &own,
        Scope::OtherSite => &other,
        Scope::OtherOrg => &foreign,
    };
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (method, template, rule) in page_table() {
        if method == Method::POST {
            // Without a session and without the form's token: refused for everyone.
            let path = template.replace('{', "").replace('}', "");
            let answer = support::web::post(&s, &path, "", &[("x", "y")]).await;
            if !(answer.status == StatusCode::FORBIDDEN
                || answer.status.is_redirection()
                || answer.status == StatusCode::NOT_FOUND
                || answer.status == StatusCode::UNPROCESSABLE_ENTITY
                || answer.status == StatusCode::BAD_REQUEST)
                || answer.status.is_success()
            {
                wrong.push(format!("POST {path} without session or token: {}", answer.status));
            }
            checked += 1;
            // With a session and its form token, by every role in every scope: whoever
            // the table denies is refused (or told the form is bad) and nothing changes;
            // whoever it allows is never told "forbidden". The forms' fields are
            // nonsense, so nobody's post can succeed; the console tests post real ones.
            let Some(rule) = rule else { continue };
            for scope in SCOPES {
                let path = page_path(template, in_scope(scope));
                for (actor, cookie, csrf) in sessions.iter().filter(|(a, ..)| *a != Actor::Anonymous) {
                    let before = table_counts(&s).await;
                    let answer = support::web::post(&s, &path, cookie, &[("_csrf", csrf), ("x", "y")]).await;
                    let after = table_counts(&s).await;
                    let to_login = answer.status.is_redirection() && answer.location().starts_with("/login");
                    let forbidden = to_login || answer.status == StatusCode::FORBIDDEN;
                    // A site or notice of another organisation may be "not found"; an
                    // administrator's form for it may also find the nonsense fields first.
                    let refused = forbidden || (scope == Scope::OtherOrg && answer.status.is_client_error());
                    let expect = allowed(rule, *actor, if template.contains('{') { scope } else { Scope::Own });
                    let ok = if expect { !forbidden } else { refused && before == after };
                    if !ok {
                        wrong.push(format!(
                            "POST {path} as {actor:?} on {scope:?} with a token: expected {}, got {} {} (counts {before:?} → {after:?})",
                            if expect { "allow" } else { "deny" },
                            answer.status,
                            answer.location()
                        ));
                    }
                    checked += 1;
                }
            }
            continue;
        }
        let Some(rule) = rule else { continue };
        for scope in SCOPES {
            let path = page_path(template, in_scope(scope));
            let scope_applies = template.contains('{') && !template.contains("{lang}");
            for (actor, cookie, _) in &sessions {
                let answer = support::web::get(&s, &path, cookie).await;
                let to_login = answer.status.is_redirection() && answer.location().starts_with("/login");
                let denied = to_login
                    || answer.status == StatusCode::FORBIDDEN
                    || (answer.status == StatusCode::NOT_FOUND && scope == Scope::OtherOrg && scope_applies);
                let expect = allowed(rule, *actor, if scope_applies { scope } else { Scope::Own });
                let ok = match rule {
                    Rule::Public => answer.status != StatusCode::FORBIDDEN,
                    _ => expect != denied,
                };
                if !ok {
                    wrong.push(format!(
                        "GET {path} as {actor:?} on {scope:?}: expected {}, got {} {}",
                        if expect { "allow" } else { "deny" },
                        answer.status,
                        answer.location()
                    ));
                }
                checked += 1;
            }
        }
    }
    println!("checked {checked} (page, role, scope) combinations");
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

/// The indirect paths: each signed-in role of the demo site pushes records that name
/// the other scopes' notices, runs, waivers, checkpoints and photos (every notice
/// action, visits and finishes on their runs, notices citing their runs, checkpoints
/// and photos, photo records of their photos, decisions on their waivers, corrections
/// of their records, signatures of their daily logs). Afterwards, for every pusher
/// that could not see a thing before, nothing of it moved (its rows are as they were)
/// and nothing of it appears anywhere the pusher reads: the pull from the start, the
/// API's notice, run and photo routes, and the console's inbox, notice page, photo,
/// dashboard and monthly export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_naming_other_scopes_things_reveal_and_change_nothing() {
    use patrol_protocol::notice::NoticeAction;
    use patrol_protocol::record::CheckIn;
    let s = TestServer::start(Backend::Sqlite).await.expect("sqlite always runs");
    let (own, other, foreign) = three_scopes(&s).await;

    // What a thing's holders see of it, to compare before and after.
    async fn rows_of(s: &TestServer, t: &Things) -> Vec<String> {
        let (notice, run, waiver, sha) = (t.notice.to_string(), t.run.to_string(), t.waiver.to_string(), t.sha.clone());
        s.state
            .store
            .read(move |c| {
                let mut out = Vec::new();
                for (sql, key) in [
                    ("SELECT * FROM notices WHERE id = $1", &notice),
                    ("SELECT * FROM notice_events WHERE notice_id = $1", &notice),
                    ("SELECT * FROM runs WHERE id = $1", &run),
                    ("SELECT * FROM visits WHERE run_id = $1", &run),
                    ("SELECT * FROM track_batches WHERE run_id = $1", &run),
                    ("SELECT * FROM run_waivers WHERE id = $1", &waiver),
                    ("SELECT sha256, author_id, run_id, notice_id FROM photo_citations WHERE sha256 = $1", &sha),
                ] {
                    let mut rows: Vec<String> = c
                        .query(sql, &[patrol_server::store::Value::Text(key.clone())])?
                        .iter()
                        .map(|r| format!("{:?}", r.0))
                        .collect();
                    rows.sort();
                    out.push(format!("{sql}: {rows:?}"));
                }
                Ok(out)
            })
            .await
            .unwrap()
    }

    let pushers = [Actor::Patrol, Actor::Head, Actor::Supervisor, Actor::Manager, Actor::Admin];
    let mut checked = 0;
    for (scope, target) in [(Scope::OtherSite, &other), (Scope::OtherOrg, &foreign)] {
        for actor in pushers {
            let login = actor.demo_login().unwrap();
            let sees_notice = allowed(Rule::NoticeViewer, actor, scope);
            let sees_run = allowed(Rule::RunViewer, actor, scope);
            let before = rows_of(&s, target).await;
            let mut phone = Phone::sign_in(&s, login).await;
            let now = s.clock.now_ms();
            for action in NoticeAction::ALL {
                let reassign = (action == NoticeAction::Reassign).then_some(target.site);
                phone.record(
                    &s,
                    RecordPayload::NoticeActed {
                        notice_id: target.notice,
                        action,
                        reason: "越权操作".into(),
                        photos: if action == NoticeAction::ReportFix { vec![target.sha.clone()] } else { vec![] },
                        reassign_to: reassign,
                        new_due_ms: None,
                    },
                );
            }
            phone.record(
                &s,
                RecordPayload::CheckpointVisited {
                    run_id: target.run,
                    visit_id: Id::now_v7(),
                    checkpoint_id: target.checkpoint,
                    check_in: CheckIn::Manual { reason: "越权".into() },
                    out_of_order: false,
                },
            );
            phone.record(
                &s,
                RecordPayload::TrackPoints {
                    run_id: target.run,
                    points: vec![patrol_protocol::record::TrackPoint {
                        time_ms: now,
                        latitude: 31.0,
                        longitude: 121.0,
                        accuracy_m: 5.0,
                    }],
                },
            );
            phone.record(&s, RecordPayload::RunFinished { run_id: target.run, missed_reason: Some("越权".into()) });
            phone.record(
                &s,
                RecordPayload::RunWaiverDecided { waiver_id: target.waiver, accept: true, note: "越权".into() },
            );
            phone.record(&s, RecordPayload::Correction { corrects: target.waiver, reason: "越权".into() });
            // A photo record of their photo, and our own notices citing their run,
            // checkpoint and photo.
            let sha = target.sha.clone();
            let size = s
                .state
                .store
                .read(move |c| {
                    c.query_one("SELECT size FROM photos WHERE sha256 = $1", &[patrol_server::store::Value::Text(sha)])?
                        .int(0)
                })
                .await
                .unwrap();
            phone.record(&s, photo_taken(&target.sha, size as usize, Some(target.run), Some(target.notice)));
            let own_site = own.site;
            let dept = s
                .state
                .store
                .read(move |c| {
                    c.query_one(
                        "SELECT id FROM departments WHERE site_id = $1",
                        &[patrol_server::store::Value::Text(own_site.to_string())],
                    )?
                    .uuid(0)
                })
                .await
                .unwrap();
            for (run, cp, photos) in [
                (Some(target.run), None, vec![]),
                (None, Some(target.checkpoint), vec![]),
                (None, None, vec![target.sha.clone()]),
            ] {
                let (_, mut p) = notice(own.site, dept, "引用他处", photos, now + 86_400_000);
                if let RecordPayload::NoticeRaised { run_id, checkpoint_id, .. } = &mut p {
                    *run_id = run;
                    *checkpoint_id = cp;
                }
                phone.record(&s, p);
            }
            phone.record(
                &s,
                RecordPayload::DailyLogSigned {
                    site_id: target.site,
                    day: "2026-11-23".into(),
                    comment: "越权".into(),
                },
            );
            // A markup layer over their photo.
            phone.record(
                &s,
                RecordPayload::PhotoMarked {
                    photo: target.sha.clone(),
                    marks: vec![patrol_protocol::Mark::Text { x: 10, y: 10, text: "越权".into() }],
                },
            );
            let resp = phone.push(&s).await;
            let results = resp["results"].as_array().unwrap();
            let story = format!("{actor:?} naming {scope:?}");
            // Every record naming what the pusher may not touch was kept as rejected.
            for (i, r) in results.iter().enumerate() {
                let kind = phone_kind(i);
                let may = match kind {
                    "notice_acted" => sees_notice,
                    "run" => false, // nobody walks another's run
                    "waiver" | "daily_log" => allowed(Rule::Supervisor, actor, scope),
                    "markup" => sees_notice || sees_run,
                    _ => false,
                };
                if !may {
                    assert_eq!(r["status"], "rejected", "{story}: record {i} ({kind}) was applied: {r}");
                }
            }
            // Nothing of theirs moved for a pusher who may not see it.
            if !sees_notice && !allowed(Rule::Supervisor, actor, scope) {
                assert_eq!(rows_of(&s, target).await, before, "{story}: the target's rows changed");
            }
            // Nothing of theirs appears in the pusher's pull from the start.
            let pull = phone.pull(&s, "").await;
            let text = pull["notices"].to_string();
            if !sees_notice {
                assert!(!text.contains(&target.notice.to_string()), "{story}: the pull shows their notice: {text}");
                assert!(!text.contains(&target.sha), "{story}: the pull shows their photo");
            }
            // Nor on the API's routes.
            let photo =
                s.call(Method::GET, &format!("/api/v1/photos/{}/thumb", target.sha), Some(&phone.token), None).await.0;
            let notice_status =
                s.call(Method::GET, &format!("/api/v1/notices/{}", target.notice), Some(&phone.token), None).await.0;
            let run_status =
                s.call(Method::GET, &format!("/api/v1/runs/{}", target.run), Some(&phone.token), None).await.0;
            assert_eq!(notice_status == StatusCode::OK, sees_notice, "{story}: notice route {notice_status}");
            assert_eq!(run_status == StatusCode::OK, sees_run, "{story}: run route {run_status}");
            if !sees_notice && !sees_run {
                assert!(photo.is_client_error(), "{story}: their photo answered {photo}");
            }
            let (_, list) = s.call(Method::GET, "/api/v1/notices", Some(&phone.token), None).await;
            if !sees_notice {
                assert!(!list.to_string().contains(&target.notice.to_string()), "{story}: the notice list shows it");
            }
            // Nor on the console's pages and exports.
            let (cookie, _) = support::web::sign_in(&s, login).await;
            for path in [
                "/notices".to_string(),
                "/notices?state=all".to_string(),
                format!("/notices/{}", target.notice),
                format!("/notices/{}/notice.pdf", target.notice),
                format!("/photos/{}", target.sha),
                "/dashboard".to_string(),
                format!("/sites/{}/monthly/2026-11", own.site),
                format!("/sites/{}/monthly/2026-11/summary.xlsx", own.site),
            ] {
                let page = support::web::get(&s, &path, &cookie).await;
                if !sees_notice {
                    // A refusal page may echo the address asked for; a page shown may
                    // not hold their notice or photo.
                    assert!(
                        !page.status.is_success()
                            || (!page.body.contains(&target.notice.to_string()) && !page.body.contains(&target.sha)),
                        "{story}: {path} ({}) shows their notice or photo",
                        page.status
                    );
                    if path.contains(&target.notice.to_string()) || path.contains(&target.sha) {
                        assert!(page.status.is_client_error(), "{story}: {path} answered {}", page.status);
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * pushers.len());

    /// The kind of the i-th record pushed above.
    fn phone_kind(i: usize) -> &'static str {
        let acted = NoticeAction::ALL.len();
        match i {
            i if i < acted => "notice_acted",
            i if i < acted + 3 => "run",
            i if i == acted + 3 => "waiver",
            i if i == acted + 4 => "correction",
            i if i == acted + 5 => "photo",
            i if i < acted + 9 => "notice_citing",
            i if i == acted + 9 => "daily_log",
            _ => "markup",
        }
    }
}
