//! The demo organisation: one compound with its six departments, fourteen
//! checkpoints, two routes walked twice a day, and one person for each role.
//! Passwords are generated on first load, kept in the data directory (mode 0600)
//! and printed; none is in the repository. `history` gives it a month of work.

pub mod history;
pub mod scenes;

use std::net::SocketAddr;
use std::path::Path;

use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Organisation, Person, Role, RoleAssignment, Route,
    Schedule, Site, TimeWindow,
};
use serde::{Deserialize, Serialize};

use crate::auth::password;
use crate::store::{Conn, DbError, Store, people, reference};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoLogin {
    pub login: String,
    pub password: String,
    pub role: String,
}

const LOGINS_FILE: &str = "demo-logins.json";

/// (code, 中文名, English name, metres north, metres east, checklist)
const CHECKPOINTS: &[(&str, &str, &str, f64, f64, &[&str])] = &[
    ("GATE-N", "北门岗亭", "North gate guard house", 180.0, 0.0, &["岗亭有人值守", "道闸运行正常", "访客登记规范"]),
    ("GATE-S", "南门", "South gate", -180.0, 10.0, &["大门开闭正常", "门前无乱停车辆"]),
    (
        "DESK",
        "客服中心前台",
        "Service centre front desk",
        -120.0,
        30.0,
        &["前台有人值守", "公告张贴规范", "投诉登记已跟进"],
    ),
    (
        "CAR-B1",
        "地下车库B1层",
        "Underground car park B1",
        -60.0,
        -80.0,
        &["照明正常", "消防通道畅通", "地面无积水油污"],
    ),
    ("LOBBY-1", "1号楼电梯厅", "Building 1 lift lobby", 60.0, -60.0, &["电梯运行正常", "地面清洁", "公告栏整洁"]),
    ("LOBBY-3", "3号楼电梯厅", "Building 3 lift lobby", 60.0, 60.0, &["电梯运行正常", "地面清洁", "消防器材完好"]),
    ("PUMP", "水泵房", "Pump room", -90.0, -120.0, &["水泵运行正常", "无渗漏", "运行记录完整"]),
    ("POWER", "配电房", "Switch room", -100.0, -140.0, &["设备无异响", "门已上锁", "温度正常"]),
    ("FIRE-E", "东侧消防通道", "East fire lane", 0.0, 150.0, &["通道无占用", "消防标识完好"]),
    ("PLAY", "儿童游乐场", "Playground", 100.0, 20.0, &["设施完好无松动", "地面无尖锐物"]),
    ("POOL", "游泳池", "Swimming pool", 120.0, -40.0, &["水质清澈", "救生员在岗", "警示牌齐全"]),
    ("LAWN", "中心草坪", "Central lawn", 20.0, 0.0, &["草坪修剪整齐", "无枯死植物", "喷灌正常"]),
    ("BINS", "垃圾站", "Bin station", -150.0, 120.0, &["垃圾桶未满溢", "分类规范", "无明显异味"]),
    ("CLUB", "会所", "Clubhouse", 140.0, 90.0, &["灯光按时开关", "设施整洁"]),
];

/// The compound's centre, in Shanghai.
const CENTRE: (f64, f64) = (31.2304, 121.4737);

struct DemoPerson {
    login: &'static str,
    name: &'static str,
    role_label: &'static str,
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson { login: "admin", name: "系统管理员", role_label: "administrator / 系统管理员" },
    DemoPerson { login: "manager", name: "赵刚", role_label: "organisation supervisor / 管理处经理" },
    DemoPerson { login: "supervisor", name: "王敏", role_label: "site supervisor / 客服部经理" },
    DemoPerson { login: "patrol", name: "张伟", role_label: "patrol staff / 客服人员" },
    DemoPerson { login: "eng.head", name: "李强", role_label: "head of engineering / 工程部主管" },
    DemoPerson { login: "clean.head", name: "陈芳", role_label: "head of cleaning / 保洁部主管" },
    DemoPerson { login: "security.head", name: "刘洋", role_label: "head of security / 秩序维护部主管" },
    DemoPerson { login: "garden.head", name: "孙丽", role_label: "head of landscaping / 绿化部主管" },
    DemoPerson { login: "cleaner", name: "周洁", role_label: "cleaning staff / 保洁员" },
    DemoPerson { login: "guard", name: "吴军", role_label: "security staff / 秩序维护员" },
];

fn offset(north_m: f64, east_m: f64) -> (f64, f64) {
    let lat = CENTRE.0 + north_m / 111_195.0;
    let lon = CENTRE.1 + east_m / (111_195.0 * CENTRE.0.to_radians().cos());
    (lat, lon)
}

/// Loads the demo into an empty database and returns its logins; on a database that
/// already has people, returns the logins saved when the demo was first loaded. No
/// runs, no notices: `patrol-server demo --empty`, and what the tests start from.
pub fn ensure_demo(store: &Store, data_dir: &Path, now: i64) -> Result<Vec<DemoLogin>, String> {
    Ok(load_once(store, data_dir, now)?.0)
}

/// What `patrol-server demo` serves: the demo as set up a month before `now`, and
/// the month since lived through the paths phones and desks use (`history`). On a
/// database that already has people, the saved logins and no history (it was made
/// when the demo was first loaded).
pub fn ensure_demo_with_history(
    store: &Store,
    settings: &crate::settings::Settings,
    now: i64,
) -> Result<(Vec<DemoLogin>, Option<history::Summary>), String> {
    let (logins, fresh) = load_once(store, &settings.data_dir, history::setup_time(now))?;
    if !fresh {
        return Ok((logins, None));
    }
    // The seed drives the server's own async code; `serve` starts its runtime later.
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let summary = runtime
        .block_on(history::seed(store.clone(), settings.clone(), &logins, now))
        .map_err(|e| format!("making the demo's month failed: {e}"))?;
    Ok((logins, Some(summary)))
}

/// Loads the demo into an empty database (`true`: it was empty), or reads the logins
/// saved when it was.
fn load_once(store: &Store, data_dir: &Path, now: i64) -> Result<(Vec<DemoLogin>, bool), String> {
    let path = data_dir.join(LOGINS_FILE);
    let empty = store.tx_blocking(false, |c| people::count_people(c)).map_err(|e| e.to_string())? == 0;
    if !empty {
        return match std::fs::read(&path) {
            Ok(bytes) => Ok((serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?, false)),
            Err(_) => {
                eprintln!("The database already has people and no demo logins are saved in {}.", path.display());
                Ok((vec![], false))
            }
        };
    }
    let logins: Vec<DemoLogin> = PEOPLE
        .iter()
        .map(|p| DemoLogin { login: p.login.into(), password: password::generate(), role: p.role_label.into() })
        .collect();
    let hashes: Vec<String> = logins.iter().map(|l| password::hash(&l.password)).collect();
    store.tx_blocking(true, |c| load(c, &hashes, now)).map_err(|e| format!("loading the demo failed: {e}"))?;
    std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
    write_private(&path, &serde_json::to_vec_pretty(&logins).expect("logins serialise"))?;
    Ok((logins, true))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| e.to_string())
}

fn load(c: &mut dyn Conn, hashes: &[String], now: i64) -> Result<(), DbError> {
    let org = Organisation { id: Id::now_v7(), name: "锦园物业服务有限公司".into() };
    reference::insert_organisation(c, &org, now)?;
    let site = Site {
        id: Id::now_v7(),
        org_id: org.id,
        code: "JY".into(),
        name_zh: "锦园小区".into(),
        name_en: "Jade Garden Residences".into(),
        utc_offset_minutes: 480,
    };
    reference::insert_site(c, &site, now)?;
    let dept_names = [
        (DepartmentKind::CustomerService, "Customer service"),
        (DepartmentKind::Engineering, "Engineering"),
        (DepartmentKind::Cleaning, "Cleaning"),
        (DepartmentKind::Security, "Security"),
        (DepartmentKind::Landscaping, "Landscaping"),
        (DepartmentKind::Administration, "Administration"),
    ];
    let mut departments = Vec::new();
    for (kind, en) in dept_names {
        let d =
            Department { id: Id::now_v7(), site_id: site.id, kind, name_zh: kind.name_zh().into(), name_en: en.into() };
        reference::insert_department(c, &d, now)?;
        departments.push(d);
    }
    let dept = |k: DepartmentKind| departments.iter().find(|d| d.kind == k).expect("demo has every department").id;
    let mut checkpoints = Vec::new();
    for (i, (code, zh, en, north, east, items)) in CHECKPOINTS.iter().enumerate() {
        let (latitude, longitude) = offset(*north, *east);
        let cp = Checkpoint {
            id: Id::now_v7(),
            site_id: site.id,
            code: (*code).into(),
            name_zh: (*zh).into(),
            name_en: (*en).into(),
            latitude,
            longitude,
            radius_m: 25.0,
            qr_token: crate::api::admin::new_qr_token(),
            qr_digest: String::new(),
            nfc_tag_id: Some(format!("04:A2:{:02X}:5C:{:02X}:80", i + 16, i * 7 + 3)),
            checklist: items
                .iter()
                .map(|t| ChecklistItem { id: Id::now_v7(), text_zh: (*t).into(), text_en: String::new() })
                .collect(),
        };
        reference::insert_checkpoint(c, &cp, now)?;
        checkpoints.push(cp);
    }
    let ids = |codes: &[&str]| -> Vec<Id> {
        codes.iter().map(|code| checkpoints.iter().find(|cp| cp.code == *code).expect("demo checkpoint").id).collect()
    };
    let routes = [
        Route {
            id: Id::now_v7(),
            site_id: site.id,
            name_zh: "外围巡检线路".into(),
            name_en: "Outer round".into(),
            checkpoint_ids: ids(&["GATE-N", "FIRE-E", "BINS", "GATE-S", "CAR-B1", "LAWN", "PLAY", "POOL"]),
        },
        Route {
            id: Id::now_v7(),
            site_id: site.id,
            name_zh: "楼宇设施巡检线路".into(),
            name_en: "Buildings and plant round".into(),
            checkpoint_ids: ids(&["DESK", "LOBBY-1", "LOBBY-3", "PUMP", "POWER", "CLUB"]),
        },
    ];
    for r in &routes {
        reference::insert_route(c, r, now)?;
        // 日常 2 次/天: a morning and an afternoon round, every day.
        let s = Schedule {
            id: Id::now_v7(),
            route_id: r.id,
            days_of_week: vec![1, 2, 3, 4, 5, 6, 7],
            windows: vec![
                TimeWindow { start_minute: 8 * 60, end_minute: 10 * 60, runs: 1 },
                TimeWindow { start_minute: 14 * 60, end_minute: 16 * 60, runs: 1 },
            ],
        };
        reference::insert_schedule(c, &s, now)?;
    }
    let roles = [
        Role::Administrator,
        Role::OrgSupervisor,
        Role::SiteSupervisor { site_id: site.id },
        Role::PatrolStaff { site_id: site.id },
        Role::DepartmentHead { site_id: site.id, department_id: dept(DepartmentKind::Engineering) },
        Role::DepartmentHead { site_id: site.id, department_id: dept(DepartmentKind::Cleaning) },
        Role::DepartmentHead { site_id: site.id, department_id: dept(DepartmentKind::Security) },
        Role::DepartmentHead { site_id: site.id, department_id: dept(DepartmentKind::Landscaping) },
        Role::DepartmentStaff { site_id: site.id, department_id: dept(DepartmentKind::Cleaning) },
        Role::DepartmentStaff { site_id: site.id, department_id: dept(DepartmentKind::Security) },
    ];
    for ((p, hash), role) in PEOPLE.iter().zip(hashes).zip(roles) {
        let person = Person {
            id: Id::now_v7(),
            org_id: org.id,
            login: p.login.into(),
            display_name: p.name.into(),
            active: true,
        };
        people::insert_person(c, &person, hash, now)?;
        people::insert_role(c, &RoleAssignment { person_id: person.id, role }, now)?;
    }
    assessment(c, org.id, now)
}

/// The service-quality assessment's catalogue and scale as the regulations set them
/// (质量考核): the demo's defaults, which an organisation edits to its own.
fn assessment(c: &mut dyn Conn, org: Id, now: i64) -> Result<(), DbError> {
    use patrol_cases::faults::catalogue;
    use patrol_protocol::fault::{FaultRule, FaultScale, ScaleBand};
    let rules: [(&str, &str, &str, u32); 7] = [
        ("FD-01", "前台无人值守", "Front desk left unattended", 2),
        ("PT-01", "漏巡或未按时巡检", "Patrol skipped or late", 2),
        ("UN-01", "未按规定着装、仪容仪表不整", "Uniform or grooming not to standard", 1),
        ("MN-01", "服务态度差、言行不当", "Rude or improper to residents", 3),
        ("CL-01", "保洁不到位", "Cleaning not done to standard", 1),
        ("SE-01", "脱岗、睡岗", "Post left or asleep on duty", 3),
        ("RC-01", "整改不及时、敷衍整改", "Rectification late or perfunctory", 2),
    ];
    for (code, zh, en, points) in rules {
        let rule = FaultRule {
            id: Id::now_v7(),
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            points,
            retired: false,
            version: 1,
            valid_from_ms: now,
        };
        catalogue::insert_rule(c, org, &rule, None)?;
    }
    let band = |min_points, zh: &str, en: &str, extra_fine_fen| ScaleBand {
        min_points,
        label_zh: zh.into(),
        label_en: en.into(),
        extra_fine_fen,
    };
    let scale = FaultScale {
        fine_per_point_fen: 1_000,
        bands: vec![
            band(5, "加罚", "Extra fine", 10_000),
            band(11, "行政处分", "Administrative sanction", 0),
            band(20, "辞退", "Dismissal", 0),
        ],
        publish_points: 5,
        repeat_count: 3,
        person_share_pct: 70,
    };
    catalogue::insert_scale(c, org, &scale, None, now)?;
    Ok(())
}

pub fn print_logins(logins: &[DemoLogin], addr: SocketAddr) {
    println!();
    println!("Demo 锦园小区 / Jade Garden Residences — sign in at http://{addr}/ with:");
    for l in logins {
        println!("  {:<15} {:<18} {}", l.login, l.password, l.role);
    }
    println!();
    println!(
        "Try: curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\\n     -d '{{\"login\":\"patrol\",\"password\":\"<from above>\",\"device_id\":\"{}\"}}'",
        Id::now_v7()
    );
    println!();
}
