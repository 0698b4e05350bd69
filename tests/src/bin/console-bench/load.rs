//! The bulk loader: a year (or any number of days) of a company's patrols and notices
//! at many sites, written straight into the database in large transactions.
//!
//! Reference data (the organisation, sites, departments, checkpoints, routes,
//! schedules, people and roles) goes through the server's own functions
//! (`demo::ensure_demo`, `store::reference`, `store::people`, `api::versions::change`);
//! history (runs, visits, item results, track batches, the run records the punctuality
//! audit reads, notices with their timelines, daily-log signatures, announced missed
//! windows) is generated day by day and inserted with multi-row INSERTs, one
//! transaction per site. The projections are written directly, not derived from pushed
//! records, so `audit verify` does not pass on such a database (docs/benchmarks.md).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Person, Role, RoleAssignment, Route, Schedule, Site,
    TimeWindow,
};
use patrol_server::api::versions::{self, Change};
use patrol_server::store::reference::{self, Body, RefKind};
use patrol_server::store::{Conn, DbError, Store, Value, people};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub const OFFSET_MINUTES: i32 = 480;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// How much to load.
#[derive(Debug, Clone)]
pub struct Scale {
    pub sites: usize,
    pub days: i64,
    /// Notices in all, over every site and day (100 000 for 50 sites and a year).
    pub notices: usize,
    pub seed: u64,
}

/// What the measuring half needs to know about the loaded database.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub url: String,
    /// The password of every generated person (the demo's people have their own,
    /// saved by `ensure_demo` in the data directory).
    pub password: String,
    pub sites: usize,
    pub days: i64,
    /// The generated site with the moved checkpoint and the changed schedule, and the
    /// login of its supervisor.
    pub busy_site: Id,
    pub busy_supervisor: String,
    pub loaded_ms: i64,
}

impl Loaded {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url, "password": self.password, "sites": self.sites, "days": self.days,
            "busy_site": self.busy_site, "busy_supervisor": self.busy_supervisor, "loaded_ms": self.loaded_ms,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Loaded> {
        Some(Loaded {
            url: v["url"].as_str()?.into(),
            password: v["password"].as_str()?.into(),
            sites: v["sites"].as_u64()? as usize,
            days: v["days"].as_i64()?,
            busy_site: v["busy_site"].as_str()?.parse().ok()?,
            busy_supervisor: v["busy_supervisor"].as_str()?.into(),
            loaded_ms: v["loaded_ms"].as_i64()?,
        })
    }
}

// --------------------------------------------------------------------------------
// Batched multi-row INSERTs through the server's `Conn`.
// --------------------------------------------------------------------------------

struct Table {
    name: &'static str,
    cols: &'static [&'static str],
    rows_per_statement: usize,
    values: Vec<Value>,
    full_sql: String,
    written: u64,
}

impl Table {
    fn new(name: &'static str, cols: &'static [&'static str]) -> Table {
        // SQLite allows 32 766 parameters a statement, PostgreSQL 65 535.
        let rows_per_statement = (4000 / cols.len()).clamp(1, 500);
        let mut t = Table { name, cols, rows_per_statement, values: Vec::new(), full_sql: String::new(), written: 0 };
        t.full_sql = t.sql(rows_per_statement);
        t
    }

    fn sql(&self, rows: usize) -> String {
        let n = self.cols.len();
        let mut s = format!("INSERT INTO {} ({}) VALUES ", self.name, self.cols.join(", "));
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            for c in 0..n {
                if c > 0 {
                    s.push_str(", ");
                }
                s.push_str(&format!("${}", r * n + c + 1));
            }
            s.push(')');
        }
        s
    }

    fn push(&mut self, c: &mut dyn Conn, row: Vec<Value>) -> Result<(), DbError> {
        assert_eq!(row.len(), self.cols.len(), "{}: a row of {} values", self.name, row.len());
        self.values.extend(row);
        if self.values.len() >= self.rows_per_statement * self.cols.len() {
            self.flush(c)?;
        }
        Ok(())
    }

    fn flush(&mut self, c: &mut dyn Conn) -> Result<(), DbError> {
        if self.values.is_empty() {
            return Ok(());
        }
        let rows = self.values.len() / self.cols.len();
        if rows == self.rows_per_statement {
            c.execute(&self.full_sql, &self.values)?;
        } else {
            c.execute(&self.sql(rows), &self.values)?;
        }
        self.written += rows as u64;
        self.values.clear();
        Ok(())
    }
}

/// Every table the history goes into.
struct Tables {
    runs: Table,
    visits: Table,
    items: Table,
    tracks: Table,
    records: Table,
    notices: Table,
    events: Table,
    signatures: Table,
    missed: Table,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            runs: Table::new(
                "runs",
                &[
                    "id",
                    "site_id",
                    "route_id",
                    "person_id",
                    "device_id",
                    "local_day",
                    "started_device_ms",
                    "received_ms",
                    "finished_device_ms",
                    "missed_reason",
                    "start_record_id",
                    "finish_record_id",
                    "finished_received_ms",
                ],
            ),
            visits: Table::new(
                "visits",
                &[
                    "id",
                    "run_id",
                    "checkpoint_id",
                    "method",
                    "device_time_ms",
                    "received_ms",
                    "out_of_order",
                    "record_id",
                ],
            ),
            items: Table::new(
                "item_results",
                &["record_id", "run_id", "visit_id", "checkpoint_id", "item_id", "outcome", "note"],
            ),
            tracks: Table::new("track_batches", &["record_id", "run_id", "points"]),
            records: Table::new(
                "records",
                &[
                    "id",
                    "device_id",
                    "seq",
                    "author_id",
                    "kind",
                    "device_time_ms",
                    "prev_hash",
                    "hash",
                    "body",
                    "received_ms",
                    "status",
                    "clock_offset_ms",
                ],
            ),
            notices: Table::new(
                "notices",
                &[
                    "id",
                    "site_id",
                    "number",
                    "year",
                    "counter",
                    "department_id",
                    "checkpoint_id",
                    "run_id",
                    "location",
                    "description",
                    "severity",
                    "due_ms",
                    "state",
                    "issuer_id",
                    "raised_record_id",
                    "raised_device_ms",
                    "received_ms",
                    "updated_ms",
                    "has_car",
                    "photos_json",
                    "requested_due_ms",
                ],
            ),
            events: Table::new(
                "notice_events",
                &[
                    "record_id",
                    "notice_id",
                    "position",
                    "action",
                    "actor_id",
                    "reason",
                    "photos_json",
                    "reassign_to",
                    "from_state",
                    "to_state",
                    "applied",
                    "refusal",
                    "device_time_ms",
                    "server_ms",
                    "notice_hash",
                ],
            ),
            signatures: Table::new(
                "daily_log_signatures",
                &["record_id", "site_id", "day", "person_id", "comment", "server_ms", "content_hash"],
            ),
            missed: Table::new("missed_windows", &["route_id", "window_start_ms", "site_id", "marked_ms"]),
        }
    }

    fn all(&mut self) -> [&mut Table; 9] {
        [
            &mut self.runs,
            &mut self.visits,
            &mut self.items,
            &mut self.tracks,
            &mut self.records,
            &mut self.notices,
            &mut self.events,
            &mut self.signatures,
            &mut self.missed,
        ]
    }

    /// A visit: its run's row goes in first (visits.run_id references runs).
    fn visit(&mut self, c: &mut dyn Conn, row: Vec<Value>) -> Result<(), DbError> {
        if self.visits.values.len() + row.len() >= self.visits.rows_per_statement * self.visits.cols.len() {
            self.runs.flush(c)?;
        }
        self.visits.push(c, row)
    }

    fn flush(&mut self, c: &mut dyn Conn) -> Result<(), DbError> {
        for t in self.all() {
            t.flush(c)?;
        }
        Ok(())
    }
}

// --------------------------------------------------------------------------------
// The model of a site in memory: who held which role when, routes and their
// schedules' versions.
// --------------------------------------------------------------------------------

/// A person holding a role from `from` until `until` (left, deactivated).
#[derive(Debug, Clone)]
struct Tenure {
    person: Id,
    device: Id,
    from: i64,
    until: Option<i64>,
}

/// A run of a day as notices need it: (run, walker, visits as (checkpoint, time)).
type DayRun = (Id, Id, Vec<(Id, i64)>);

/// A step of a notice's timeline: (when, action, actor, reassigned to, state after, reason).
type Step = (i64, &'static str, Id, Option<Id>, &'static str, String);

/// A generated route: (名称, name, checkpoints, days of week, windows, minutes a checkpoint).
type RoutePlan = (&'static str, &'static str, Vec<Checkpoint>, Vec<u8>, Vec<TimeWindow>, f64);

fn holders(t: &[Tenure], at: i64) -> Vec<&Tenure> {
    t.iter().filter(|x| x.from <= at && x.until.is_none_or(|u| at < u)).collect()
}

struct RouteModel {
    route: Route,
    checkpoints: Vec<Checkpoint>,
    /// (valid from, days of week, windows): version 1 first.
    versions: Vec<(i64, Vec<u8>, Vec<TimeWindow>)>,
    /// Minutes a checkpoint takes to walk to.
    pace_min: f64,
}

impl RouteModel {
    /// The windows of a day as the server counts them: each version rules the windows
    /// that end while it is in force (`schedules::expected_windows`).
    fn windows(&self, day_start: i64, weekday: u8) -> Vec<(i64, i64, u32)> {
        let mut out = Vec::new();
        for (i, (from, days, windows)) in self.versions.iter().enumerate() {
            let until = self.versions.get(i + 1).map_or(i64::MAX, |n| n.0);
            if !days.contains(&weekday) {
                continue;
            }
            for w in windows {
                let s = day_start + i64::from(w.start_minute) * MIN;
                let e = day_start + i64::from(w.end_offset_minutes()) * MIN;
                if e > *from && e <= until {
                    out.push((s, e, w.runs));
                }
            }
        }
        out
    }
}

struct SiteModel {
    site: Site,
    departments: Vec<Department>,
    /// Heads per department id (none for customer service and administration).
    heads: BTreeMap<Id, Vec<Tenure>>,
    supervisors: Vec<Tenure>,
    patrol: Vec<Tenure>,
    routes: Vec<RouteModel>,
}

impl SiteModel {
    fn headed(&self) -> Vec<Id> {
        self.departments.iter().filter(|d| self.heads.contains_key(&d.id)).map(|d| d.id).collect()
    }
    fn dept_kind(&self, id: Id) -> DepartmentKind {
        self.departments.iter().find(|d| d.id == id).map_or(DepartmentKind::Other, |d| d.kind)
    }
}

// --------------------------------------------------------------------------------
// Words.
// --------------------------------------------------------------------------------

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建华", "海燕",
    "志强", "丽", "俊", "婷", "鹏", "飞", "慧",
];
const COMPOUND: &[&str] = &[
    "翠湖", "金桂", "银杏", "碧水", "枫林", "紫薇", "海棠", "松涛", "云山", "星河", "锦绣", "龙湾", "御景", "滨江",
    "书香", "阳光", "春晓", "香樟",
];
const SUFFIX: &[&str] = &["花园", "小区", "家园", "雅苑", "公馆"];

const SECURITY_CPS: &[&str] = &[
    "北门岗亭",
    "南门岗亭",
    "东侧围墙",
    "西侧围墙",
    "地下车库入口",
    "地下车库B1",
    "地下车库B2",
    "消防控制室",
    "监控中心",
    "周界巡更点",
];
const SERVICE_CPS: &[&str] = &[
    "客服中心",
    "1号楼大堂",
    "2号楼大堂",
    "3号楼大堂",
    "5号楼大堂",
    "6号楼大堂",
    "8号楼大堂",
    "儿童游乐场",
    "中心花园",
    "会所",
    "快递柜",
    "宣传栏",
];
const PLANT_CPS: &[&str] =
    &["水泵房", "配电房", "电梯机房1", "电梯机房2", "消防水池", "发电机房", "中控室", "换热站", "屋面", "雨污水井"];

fn findings(kind: DepartmentKind) -> &'static [&'static str] {
    match kind {
        DepartmentKind::Engineering => &[
            "楼道灯不亮",
            "电梯按钮失灵",
            "水管渗漏",
            "配电箱门未上锁",
            "消防栓压力不足",
            "监控摄像头离线",
            "门禁读卡器故障",
            "排水泵异响",
            "路灯损坏",
            "单元门闭门器损坏",
            "地下室墙面渗漏",
            "应急照明不亮",
        ],
        DepartmentKind::Cleaning => &[
            "楼道杂物堆放",
            "垃圾桶满溢",
            "地面有油污",
            "电梯轿厢不洁",
            "玻璃门有污渍",
            "垃圾分类不规范",
            "车库地面积水",
            "宣传栏积灰",
        ],
        DepartmentKind::Security => {
            &["消防通道被占用", "外来车辆乱停", "岗亭无人值守", "访客未登记", "电动车楼道充电", "围墙破损"]
        }
        DepartmentKind::Landscaping => {
            &["草坪枯黄需补种", "树枝遮挡路灯", "绿篱未修剪", "喷灌头损坏", "花坛杂草丛生", "枯死植物未清理"]
        }
        _ => &["公告过期未撤", "前台无人值守", "投诉登记未跟进", "业主报修未回访"],
    }
}
const DETAILS: &[&str] =
    &["请尽快处理", "已影响业主通行", "业主投诉", "存在安全隐患", "请于今日内整改", "复查仍未整改"];

fn name(rng: &mut StdRng) -> String {
    format!("{}{}", SURNAMES.choose(rng).unwrap(), GIVEN.choose(rng).unwrap())
}

// --------------------------------------------------------------------------------
// The loader.
// --------------------------------------------------------------------------------

pub struct Loader {
    store: Store,
    rng: StdRng,
    now: i64,
    first_day: NaiveDate,
    days: i64,
    start_ms: i64,
    /// Notices per site and day, on average.
    notice_rate: f64,
    /// The feed position given to the next notice event.
    position: i64,
    device_seq: BTreeMap<Id, i64>,
    pub counts: BTreeMap<&'static str, u64>,
}

fn midnight(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis() - i64::from(OFFSET_MINUTES) * MIN
}

fn local_day(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + i64::from(OFFSET_MINUTES) * MIN).expect("a time").date_naive()
}

/// A fake 64-hex hash (the loader computes no record hashes).
fn fake_hash(id: Id, salt: u64) -> String {
    format!("{:032x}{:016x}{:016x}", id.as_u128(), salt, salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

impl Loader {
    pub fn new(store: Store, scale: &Scale, now: i64) -> Loader {
        let today = local_day(now);
        let first_day = today - chrono::Duration::days(scale.days - 1);
        // Everything was set up the evening before the first day.
        let start_ms = midnight(first_day) - 4 * HOUR;
        Loader {
            store,
            rng: StdRng::seed_from_u64(scale.seed),
            now,
            first_day,
            days: scale.days,
            start_ms,
            notice_rate: scale.notices as f64 / scale.sites as f64 / scale.days as f64,
            position: 0,
            device_seq: BTreeMap::new(),
            counts: BTreeMap::new(),
        }
    }

    /// An id made at `ms`, as a phone makes them (UUIDv7: time-ordered).
    fn id_at(&mut self, ms: i64) -> Id {
        let mut b = [0u8; 10];
        self.rng.fill(&mut b);
        uuid::Builder::from_unix_timestamp_millis(ms.max(0) as u64, &b).into_uuid()
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.r#gen::<f64>()
    }

    fn hours(&mut self, lo: f64, hi: f64) -> i64 {
        (self.uniform(lo, hi) * HOUR as f64) as i64
    }

    fn poisson(&mut self, lambda: f64) -> usize {
        let l = (-lambda).exp();
        let (mut k, mut p) = (0usize, 1.0f64);
        loop {
            p *= self.rng.r#gen::<f64>();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    fn next_seq(&mut self, device: Id) -> i64 {
        let s = self.device_seq.entry(device).or_insert(0);
        *s += 1;
        *s
    }

    /// Loads everything; returns the generated people's password and the busy site.
    pub fn load(&mut self, data_dir: &std::path::Path, scale: &Scale) -> Result<(String, Id, String), String> {
        let t0 = Instant::now();
        let e = |e: DbError| e.to_string();
        self.store.migrate_blocking().map_err(e)?;
        patrol_server::demo::ensure_demo(&self.store, data_dir, self.start_ms)?;
        let password = patrol_server::auth::password::generate();
        let hash = patrol_server::auth::password::hash(&password);
        let start = self.start_ms;
        let (org, admin) = self
            .store
            .tx_blocking(false, |c| {
                let org = reference::first_organisation(c)?.expect("the demo organisation");
                let admin = people::credentials(c, "admin")?.expect("the demo administrator").0.id;
                Ok((org, admin))
            })
            .map_err(e)?;
        let mut models = vec![self.demo_site(org.id).map_err(e)?];
        for i in 1..scale.sites {
            let m = self.new_site(org.id, i, &hash).map_err(e)?;
            models.push(m);
        }
        // A moved checkpoint and a changed schedule, through the versions the API
        // keeps (PUT …/checkpoints/{id}, PUT …/schedules/{id}), at their days.
        let busy = if models.len() > 1 { 1 } else { 0 };
        self.changes(&mut models, busy, admin).map_err(e)?;
        let busy_site = models[busy].site.id;
        let busy_supervisor = if busy == 0 { "supervisor".to_string() } else { format!("s{busy:02}.supervisor") };
        eprintln!(
            "reference data: {} sites in {:.1} s; history from {} ({} days)",
            models.len(),
            t0.elapsed().as_secs_f64(),
            self.first_day,
            self.days
        );
        let t1 = Instant::now();
        for (i, m) in models.iter().enumerate() {
            let mut tables = Tables::new();
            let store = self.store.clone();
            store.tx_blocking(true, |c| self.history(c, m, &mut tables)).map_err(e)?;
            for t in tables.all() {
                *self.counts.entry(t.name).or_default() += t.written;
            }
            if (i + 1) % 5 == 0 || i + 1 == models.len() {
                eprintln!(
                    "  {}/{} sites, {:.0} s, {} visits, {} notices",
                    i + 1,
                    models.len(),
                    t1.elapsed().as_secs_f64(),
                    self.counts.get("visits").unwrap_or(&0),
                    self.counts.get("notices").unwrap_or(&0)
                );
            }
        }
        let position = self.position;
        let devices: Vec<(Id, i64)> = self.device_seq.iter().map(|(d, s)| (*d, *s)).collect();
        let owners: BTreeMap<Id, Id> =
            models.iter().flat_map(|m| m.patrol.iter().map(|t| (t.device, t.person))).collect();
        let now = self.now;
        self.store
            .tx_blocking(true, |c| {
                // Later events (from the running server) come after the loaded ones.
                c.execute(
                    "UPDATE counters SET value = $1 WHERE name = 'feed' AND value < $1",
                    &patrol_server::params![position],
                )?;
                for (device, seq) in &devices {
                    c.execute(
                        "INSERT INTO devices (device_id, person_id, acked_seq, acked_hash, first_seen_ms, last_seen_ms, clock_offset_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, 0)",
                        &patrol_server::params![*device, owners[device], *seq, fake_hash(*device, *seq as u64), start, now],
                    )?;
                }
                Ok(())
            })
            .map_err(e)?;
        eprintln!("history: {:.0} s", t1.elapsed().as_secs_f64());
        Ok((password, busy_site, busy_supervisor))
    }

    /// The demo's site as `ensure_demo` made it, plus two more patrol officers (one
    /// of whom leaves mid-year for a third).
    fn demo_site(&mut self, org: Id) -> Result<SiteModel, DbError> {
        let start = self.start_ms;
        let (site, departments, routes, checkpoints, schedules, staff) = self.store.tx_blocking(false, |c| {
            let site = reference::list_sites(c, org)?.into_iter().next().expect("the demo site");
            let departments = reference::list_departments(c, site.id)?;
            let routes = reference::list_routes(c, site.id)?;
            let checkpoints = reference::list_checkpoints(c, site.id)?;
            let schedules = reference::list_schedules(c, site.id)?;
            let mut staff = Vec::new();
            for p in people::list_people(c, org)? {
                staff.push((p.id, people::roles_of(c, p.id)?));
            }
            Ok((site, departments, routes, checkpoints, schedules, staff))
        })?;
        let mut m = SiteModel {
            site: site.clone(),
            departments,
            heads: BTreeMap::new(),
            supervisors: vec![],
            patrol: vec![],
            routes: vec![],
        };
        for (person, roles) in staff {
            for r in roles {
                let t = Tenure { person, device: Id::nil(), from: start, until: None };
                match r {
                    Role::DepartmentHead { department_id, .. } => m.heads.entry(department_id).or_default().push(t),
                    Role::SiteSupervisor { .. } => m.supervisors.push(t),
                    Role::PatrolStaff { .. } => m.patrol.push(Tenure { device: self.id_at(start), ..t }),
                    _ => {}
                }
            }
        }
        for r in routes {
            let cps =
                r.checkpoint_ids.iter().filter_map(|id| checkpoints.iter().find(|c| c.id == *id).cloned()).collect();
            let versions = schedules
                .iter()
                .filter(|s| s.route_id == r.id)
                .map(|s| (start, s.days_of_week.clone(), s.windows.clone()))
                .collect();
            m.routes.push(RouteModel { route: r, checkpoints: cps, versions, pace_min: 3.0 });
        }
        let hash = patrol_server::auth::password::hash(&patrol_server::auth::password::generate());
        self.staff_turnover(&mut m, "jy", &hash, 2, true)?;
        Ok(m)
    }

    /// Adds `extra` patrol officers to a site; with `turnover`, one of them leaves on a
    /// day in the middle of the period and a new one starts that day.
    fn staff_turnover(
        &mut self,
        m: &mut SiteModel,
        prefix: &str,
        hash: &str,
        extra: usize,
        turnover: bool,
    ) -> Result<(), DbError> {
        let org = m.site.org_id;
        let site = m.site.id;
        let start = self.start_ms;
        let mut add = Vec::new();
        for i in 0..extra {
            add.push((format!("{prefix}.patrol{}", i + 2), start));
        }
        let leave = turnover.then(|| start + DAY * self.rng.gen_range(self.days / 4..=self.days * 3 / 4).max(1));
        if let Some(at) = leave {
            add.push((format!("{prefix}.patrol{}", extra + 2), at));
        }
        let mut rng = StdRng::seed_from_u64(self.rng.r#gen());
        let mut new = Vec::new();
        self.store.tx_blocking(true, |c| {
            for (login, from) in &add {
                let p = Person {
                    id: Id::now_v7(),
                    org_id: org,
                    login: login.clone(),
                    display_name: name(&mut rng),
                    active: true,
                };
                people::insert_person(c, &p, hash, *from)?;
                people::insert_role(
                    c,
                    &RoleAssignment { person_id: p.id, role: Role::PatrolStaff { site_id: site } },
                    *from,
                )?;
                new.push(Tenure { person: p.id, device: Id::now_v7(), from: *from, until: None });
            }
            if let (Some(at), Some(leaver)) = (leave, new.first_mut()) {
                // Staff turnover: the first of them leaves (the role ends, the person is
                // deactivated; their runs and notices stay).
                people::remove_role(c, leaver.person, &Role::PatrolStaff { site_id: site }, at)?;
                people::set_active(c, leaver.person, false, at)?;
                leaver.until = Some(at);
            }
            Ok(())
        })?;
        m.patrol.extend(new);
        Ok(())
    }

    /// A generated site: six departments with four heads, a supervisor, three patrol
    /// officers, 32 checkpoints on three routes (a security round every three hours, a
    /// customer-service round twice a day, a plant round on working days).
    fn new_site(&mut self, org: Id, i: usize, hash: &str) -> Result<SiteModel, DbError> {
        let start = self.start_ms;
        let code = format!("S{i:02}");
        let prefix = format!("s{i:02}");
        let site = Site {
            id: self.id_at(start),
            org_id: org,
            code: code.clone(),
            name_zh: format!("{}{}", COMPOUND[i % COMPOUND.len()], SUFFIX[(i / COMPOUND.len()) % SUFFIX.len()]),
            name_en: format!("Compound {code}"),
            utc_offset_minutes: OFFSET_MINUTES,
        };
        let kinds = [
            (DepartmentKind::CustomerService, "Customer service"),
            (DepartmentKind::Engineering, "Engineering"),
            (DepartmentKind::Cleaning, "Cleaning"),
            (DepartmentKind::Security, "Security"),
            (DepartmentKind::Landscaping, "Landscaping"),
            (DepartmentKind::Administration, "Administration"),
        ];
        let departments: Vec<Department> = kinds
            .iter()
            .map(|(k, en)| Department {
                id: self.id_at(start),
                site_id: site.id,
                kind: *k,
                name_zh: k.name_zh().into(),
                name_en: (*en).into(),
            })
            .collect();
        let (lat0, lon0) = (31.0 + i as f64 * 0.013, 121.2 + (i % 7) as f64 * 0.021);
        let mut n = 0;
        let mut checkpoints = |names: &[&str], items: [&str; 2], tag: &str, rng: &mut StdRng| -> Vec<Checkpoint> {
            names
                .iter()
                .map(|nm| {
                    n += 1;
                    Checkpoint {
                        id: Id::now_v7(),
                        site_id: site.id,
                        code: format!("{tag}-{n:02}"),
                        name_zh: (*nm).into(),
                        name_en: String::new(),
                        latitude: lat0 + rng.gen_range(-0.002..0.002),
                        longitude: lon0 + rng.gen_range(-0.002..0.002),
                        radius_m: 30.0,
                        qr_token: patrol_server::api::admin::new_qr_token(),
                        qr_digest: String::new(),
                        nfc_tag_id: None,
                        checklist: items
                            .iter()
                            .map(|t| ChecklistItem { id: Id::now_v7(), text_zh: (*t).into(), text_en: String::new() })
                            .collect(),
                    }
                })
                .collect()
        };
        let mut rng = StdRng::seed_from_u64(self.rng.r#gen());
        let security = checkpoints(SECURITY_CPS, ["人员在岗", "无安全隐患"], "SEC", &mut rng);
        let service = checkpoints(SERVICE_CPS, ["环境整洁", "设施完好"], "SVC", &mut rng);
        let plant = checkpoints(PLANT_CPS, ["设备运行正常", "运行记录完整"], "ENG", &mut rng);
        let every_day: Vec<u8> = (1..=7).collect();
        let w =
            |h: u32, m: u32, len: u32| TimeWindow { start_minute: h * 60 + m, end_minute: h * 60 + m + len, runs: 1 };
        let plans: Vec<RoutePlan> = vec![
            (
                "秩序维护巡逻线路",
                "Security round",
                security,
                every_day.clone(),
                (0..8).map(|k| w(k * 3, 0, 90)).collect(),
                2.5,
            ),
            ("客服日常巡检线路", "Service round", service, every_day, vec![w(8, 0, 120), w(14, 0, 120)], 2.5),
            ("工程设备巡检线路", "Plant round", plant, vec![1, 2, 3, 4, 5, 6], vec![w(9, 0, 150)], 3.0),
        ];
        let mut routes = Vec::new();
        let mut m_heads = BTreeMap::new();
        let mut supervisors = Vec::new();
        let mut patrol = Vec::new();
        // Heads replaced mid-year at about one department in ten.
        let head_changes: Vec<Option<i64>> = (0..4)
            .map(|_| rng.gen_bool(0.1).then(|| start + DAY * rng.gen_range(self.days / 5..=self.days * 4 / 5).max(1)))
            .collect();
        self.store.tx_blocking(true, |c| {
            reference::insert_site(c, &site, start)?;
            for d in &departments {
                reference::insert_department(c, d, start)?;
            }
            for (zh, en, cps, days, windows, pace) in plans {
                for cp in &cps {
                    reference::insert_checkpoint(c, cp, start)?;
                }
                let route = Route {
                    id: Id::now_v7(),
                    site_id: site.id,
                    name_zh: zh.into(),
                    name_en: en.into(),
                    checkpoint_ids: cps.iter().map(|c| c.id).collect(),
                };
                reference::insert_route(c, &route, start)?;
                let s = Schedule {
                    id: Id::now_v7(),
                    route_id: route.id,
                    days_of_week: days.clone(),
                    windows: windows.clone(),
                };
                reference::insert_schedule(c, &s, start)?;
                routes.push(RouteModel {
                    route,
                    checkpoints: cps,
                    versions: vec![(start, days, windows)],
                    pace_min: pace,
                });
            }
            let mut person = |c: &mut dyn Conn, login: String, role: Role, from: i64| -> Result<Tenure, DbError> {
                let p = Person { id: Id::now_v7(), org_id: org, login, display_name: name(&mut rng), active: true };
                people::insert_person(c, &p, hash, from)?;
                people::insert_role(c, &RoleAssignment { person_id: p.id, role }, from)?;
                Ok(Tenure { person: p.id, device: Id::now_v7(), from, until: None })
            };
            supervisors.push(person(
                c,
                format!("{prefix}.supervisor"),
                Role::SiteSupervisor { site_id: site.id },
                start,
            )?);
            patrol.push(person(c, format!("{prefix}.patrol1"), Role::PatrolStaff { site_id: site.id }, start)?);
            for (k, (kind, tag)) in [
                (DepartmentKind::Engineering, "eng"),
                (DepartmentKind::Cleaning, "clean"),
                (DepartmentKind::Security, "security"),
                (DepartmentKind::Landscaping, "garden"),
            ]
            .into_iter()
            .enumerate()
            {
                let dept = departments.iter().find(|d| d.kind == kind).expect("every kind").id;
                let role = Role::DepartmentHead { site_id: site.id, department_id: dept };
                let mut first = person(c, format!("{prefix}.{tag}.head"), role.clone(), start)?;
                let mut list = vec![];
                if let Some(at) = head_changes[k] {
                    people::remove_role(c, first.person, &role, at)?;
                    people::set_active(c, first.person, false, at)?;
                    first.until = Some(at);
                    list.push(first);
                    list.push(person(c, format!("{prefix}.{tag}.head2"), role, at)?);
                } else {
                    list.push(first);
                }
                m_heads.insert(dept, list);
            }
            Ok(())
        })?;
        let mut m = SiteModel { site, departments, heads: m_heads, supervisors, patrol, routes };
        // Two more officers; at half the sites one of them leaves and is replaced.
        let turnover = i % 2 == 1;
        self.staff_turnover(&mut m, &prefix, hash, 2, turnover)?;
        Ok(m)
    }

    /// The moved checkpoint and the changed schedule, through `versions::change`: at
    /// the busy site a third of the way in, the first checkpoint of the service round
    /// moves 40 m north; half way, the service round's windows change (earlier in the
    /// morning, later in the afternoon, and an evening round). At the demo site, the
    /// outer round gets an evening window half way.
    fn changes(&mut self, models: &mut [SiteModel], busy: usize, admin: Id) -> Result<(), DbError> {
        let third = self.start_ms + DAY * (self.days / 3).max(1) + 10 * HOUR;
        let half = self.start_ms + DAY * (self.days / 2).max(1) + 11 * HOUR;
        let site = models[busy].site.id;
        let route = &mut models[busy].routes[if busy == 0 { 0 } else { 1 }];
        let cp = route.checkpoints[0].clone();
        let schedule_route = route.route.id;
        let moved = Body::Checkpoint {
            name_zh: cp.name_zh.clone(),
            name_en: cp.name_en.clone(),
            latitude: cp.latitude + 40.0 / 111_195.0,
            longitude: cp.longitude,
            radius_m: cp.radius_m,
            nfc_tag_id: cp.nfc_tag_id.clone(),
            checklist: cp.checklist.clone(),
        };
        let (days, windows) = if busy == 0 {
            let mut ws = route.versions[0].2.clone();
            ws.push(TimeWindow { start_minute: 19 * 60, end_minute: 21 * 60, runs: 1 });
            (route.versions[0].1.clone(), ws)
        } else {
            (
                (1..=7).collect(),
                vec![
                    TimeWindow { start_minute: 7 * 60 + 30, end_minute: 9 * 60 + 30, runs: 1 },
                    TimeWindow { start_minute: 15 * 60, end_minute: 17 * 60, runs: 1 },
                    TimeWindow { start_minute: 19 * 60, end_minute: 20 * 60 + 30, runs: 1 },
                ],
            )
        };
        let body = Body::Schedule { days_of_week: days.clone(), windows: windows.clone() };
        let refused = |e: patrol_server::error::DomainError| DbError::Backend(format!("refused: {e:?}"));
        self.store.tx_blocking(true, |c| {
            let schedule = reference::list_schedules(c, site)?
                .into_iter()
                .find(|s| s.route_id == schedule_route)
                .expect("the route's schedule")
                .id;
            versions::change(c, site, RefKind::Checkpoint, cp.id, &Change::Edit(moved), admin, third)?
                .map_err(refused)?;
            versions::change(c, site, RefKind::Schedule, schedule, &Change::Edit(body), admin, half)?
                .map_err(refused)?;
            Ok(())
        })?;
        route.versions.push((half, days, windows));
        Ok(())
    }

    /// The whole history of one site, day by day, in the caller's transaction.
    fn history(&mut self, c: &mut dyn Conn, m: &SiteModel, t: &mut Tables) -> Result<(), DbError> {
        let mut counters: BTreeMap<i32, i64> = BTreeMap::new();
        for d in 0..self.days {
            let day = self.first_day + chrono::Duration::days(d);
            let day_start = midnight(day);
            if day_start > self.now {
                break;
            }
            let weekday = day.weekday().number_from_monday() as u8;
            let mut day_runs: Vec<DayRun> = Vec::new();
            for (ri, r) in m.routes.iter().enumerate() {
                for (ws, we, runs) in r.windows(day_start, weekday) {
                    for _ in 0..runs {
                        self.window_run(c, t, m, ri, ws, we, &mut day_runs)?;
                    }
                }
            }
            // About one run in a hundred is walked outside every window.
            if self.rng.gen_bool(0.1) {
                let ri = self.rng.gen_range(0..m.routes.len());
                let at = day_start + self.hours(6.0, 22.0);
                self.walk(c, t, m, ri, at, 0, &mut day_runs)?;
            }
            let n = self.poisson(self.notice_rate);
            for _ in 0..n {
                self.notice(c, t, m, day_start, &day_runs, &mut counters)?;
            }
            // The supervisor signs the day's log the next morning, most days.
            let sign_at = day_start + DAY + self.hours(8.5, 11.0);
            if sign_at < self.now
                && self.rng.gen_bool(0.93)
                && let Some(s) = holders(&m.supervisors, sign_at).first().map(|x| x.person)
            {
                let id = self.id_at(sign_at);
                t.signatures.push(
                    c,
                    patrol_server::params![id, m.site.id, day.to_string(), s, "已审阅", sign_at, fake_hash(id, 7)],
                )?;
            }
        }
        t.flush(c)?;
        // The register's search rows, as the server writes them when it numbers a notice.
        c.execute(
            &format!("{} WHERE site_id = $1", patrol_server::notices::SEARCH_ROW_SQL),
            &patrol_server::params![m.site.id],
        )?;
        for (year, value) in counters {
            c.execute(
                "INSERT INTO notice_counters (site_id, year, value) VALUES ($1, $2, $3)",
                &patrol_server::params![m.site.id, i64::from(year), value],
            )?;
        }
        Ok(())
    }

    /// One expected run of a window: on time mostly; some late, some missed, a few
    /// from a phone whose clock was off.
    #[allow(clippy::too_many_arguments)]
    fn window_run(
        &mut self,
        c: &mut dyn Conn,
        t: &mut Tables,
        m: &SiteModel,
        ri: usize,
        ws: i64,
        we: i64,
        day_runs: &mut Vec<DayRun>,
    ) -> Result<(), DbError> {
        if ws >= self.now {
            return Ok(());
        }
        let r = &m.routes[ri];
        let duration = (r.checkpoints.len() as f64 * r.pace_min * MIN as f64) as i64 + 3 * MIN;
        let roll = self.rng.r#gen::<f64>();
        let (start, skew) = if roll < 0.035 {
            // Missed: announced once by the audit job.
            if we <= self.now {
                t.missed.push(c, patrol_server::params![r.route.id, ws, m.site.id, we + 15_000])?;
            }
            return Ok(());
        } else if roll < 0.065 {
            // Late: started after the window, within an hour.
            (we + self.rng.gen_range(MIN..HOUR), 0)
        } else if roll < 0.07 {
            // A phone 15 minutes fast: flagged for a supervisor.
            (ws + self.rng.gen_range(0..(we - ws - duration).max(MIN)), 15 * MIN)
        } else {
            (ws + self.rng.gen_range(0..(we - ws - duration).max(MIN)), 0)
        };
        self.walk(c, t, m, ri, start, skew, day_runs)
    }

    /// Walks a route from `start` (true time; the phone's clock is `skew` ahead).
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        c: &mut dyn Conn,
        t: &mut Tables,
        m: &SiteModel,
        ri: usize,
        start: i64,
        skew: i64,
        day_runs: &mut Vec<DayRun>,
    ) -> Result<(), DbError> {
        if start >= self.now {
            return Ok(());
        }
        let walkers = holders(&m.patrol, start);
        let Some(w) = walkers.choose(&mut self.rng).map(|w| (*w).clone()) else { return Ok(()) };
        let r = &m.routes[ri];
        let run = self.id_at(start + skew);
        // Most phones push as they go; one run in ten is pushed at its end (no signal).
        let batched = self.rng.gen_bool(0.1);
        let lag = |rng: &mut StdRng| rng.gen_range(2_000..60_000);
        let mut order: Vec<&Checkpoint> = r.checkpoints.iter().collect();
        let mut missed_reason: Option<String> = None;
        if self.rng.gen_bool(0.02) {
            let k = self.rng.gen_range(0..order.len());
            order.remove(k);
            missed_reason = Some("门禁维修，无法进入".into());
        }
        let out_of_order_at = self.rng.gen_bool(0.01).then(|| self.rng.gen_range(1..order.len()));
        if let Some(k) = out_of_order_at {
            order.swap(k - 1, k);
        }
        let mut at = start + self.rng.gen_range(30_000..120_000);
        let mut visits = Vec::new();
        let mut rows = Vec::new();
        for (k, cp) in order.iter().enumerate() {
            at += (r.pace_min * MIN as f64 * self.uniform(0.6, 1.4)) as i64;
            if at >= self.now {
                break;
            }
            let visit = self.id_at(at + skew);
            let record = self.id_at(at + skew);
            let method = match self.rng.r#gen::<f64>() {
                x if x < 0.85 => "qr",
                x if x < 0.95 => "nfc",
                x if x < 0.99 => "gps",
                _ => "manual",
            };
            let ooo = out_of_order_at == Some(k);
            rows.push((visit, cp.id, method, at + skew, ooo, record, cp.checklist.clone()));
            visits.push((cp.id, at));
        }
        let finish = at + self.rng.gen_range(60_000..180_000);
        let finished = finish < self.now && visits.len() == order.len();
        let last_received = if batched { finish + lag(&mut self.rng) } else { 0 };
        let received = |rng: &mut StdRng, at: i64| if batched { last_received } else { at + lag(rng) };
        let start_received = received(&mut self.rng, start).min(self.now);
        let finish_received = finished.then(|| received(&mut self.rng, finish));
        let offset = -skew + self.rng.gen_range(-3_000..3_000);
        let start_record = self.id_at(start + skew);
        let seq = self.next_seq(w.device);
        let body = format!(
            r#"{{"kind":"run_started","run_id":"{run}","route_id":"{}","site_id":"{}"}}"#,
            r.route.id, m.site.id
        );
        t.records.push(
            c,
            patrol_server::params![
                start_record,
                w.device,
                seq,
                w.person,
                "run_started",
                start + skew,
                fake_hash(w.device, seq as u64 - 1),
                fake_hash(w.device, seq as u64),
                body,
                start_received,
                "applied",
                offset
            ],
        )?;
        let finish_record = if finished {
            let id = self.id_at(finish + skew);
            let seq = self.next_seq(w.device);
            let body = format!(r#"{{"kind":"run_finished","run_id":"{run}","missed_reason":null}}"#);
            t.records.push(
                c,
                patrol_server::params![
                    id,
                    w.device,
                    seq,
                    w.person,
                    "run_finished",
                    finish + skew,
                    fake_hash(w.device, seq as u64 - 1),
                    fake_hash(w.device, seq as u64),
                    body,
                    finish_received,
                    "applied",
                    offset
                ],
            )?;
            Some(id)
        } else {
            None
        };
        t.runs.push(
            c,
            patrol_server::params![
                run,
                m.site.id,
                r.route.id,
                w.person,
                w.device,
                local_day(start + skew).to_string(),
                start + skew,
                start_received,
                finished.then_some(finish + skew),
                if finished { missed_reason } else { None },
                start_record,
                finish_record,
                finish_received
            ],
        )?;
        for (visit, cp, method, device_ms, ooo, record, checklist) in rows {
            let rcv = received(&mut self.rng, device_ms - skew).min(self.now);
            t.visit(c, patrol_server::params![visit, run, cp, method, device_ms, rcv, ooo, record])?;
            for item in checklist {
                let id = self.id_at(device_ms + 5_000);
                let (outcome, note) = match self.rng.r#gen::<f64>() {
                    x if x < 0.015 => ("problem", "发现问题，已开整改单"),
                    x if x < 0.025 => ("not_applicable", ""),
                    _ => ("ok", ""),
                };
                t.items.push(c, patrol_server::params![id, run, visit, cp, item.id, outcome, note])?;
            }
        }
        if finished {
            let id = self.id_at(finish + skew);
            t.tracks.push(c, patrol_server::params![id, run, (finish - start) / 5_000])?;
        }
        day_runs.push((run, w.person, visits));
        Ok(())
    }

    /// One notice raised on the day (during a run, mostly) with its whole timeline up
    /// to now: signed for, fixed, verified and closed; or disputed and reassigned; or
    /// voided; or left open at some step (one in six stays open for a long time).
    fn notice(
        &mut self,
        c: &mut dyn Conn,
        t: &mut Tables,
        m: &SiteModel,
        day_start: i64,
        day_runs: &[DayRun],
        counters: &mut BTreeMap<i32, i64>,
    ) -> Result<(), DbError> {
        let with_visits: Vec<&DayRun> = day_runs.iter().filter(|r| !r.2.is_empty()).collect();
        let (raised, issuer, run, checkpoint) = if !with_visits.is_empty() && self.rng.gen_bool(0.7) {
            let r = with_visits[self.rng.gen_range(0..with_visits.len())];
            let (cp, at) = r.2[self.rng.gen_range(0..r.2.len())];
            (at + self.rng.gen_range(30_000..180_000), r.1, Some(r.0), Some(cp))
        } else {
            let at = day_start + self.hours(8.0, 18.0);
            let pool = if self.rng.gen_bool(0.1) { &m.supervisors } else { &m.patrol };
            let Some(p) = holders(pool, at).choose(&mut self.rng).map(|x| x.person) else { return Ok(()) };
            (at, p, None, None)
        };
        let received = raised + self.rng.gen_range(2_000..120_000);
        if received >= self.now {
            return Ok(());
        }
        let headed = m.headed();
        let all: Vec<Id> = m.departments.iter().map(|d| d.id).collect();
        // Engineering gets most, then cleaning; one in twenty goes to a department
        // without a head (the supervisor reassigns it).
        let mut dept = if self.rng.gen_bool(0.05) {
            *all.iter().find(|d| !headed.contains(d)).unwrap_or(&all[0])
        } else {
            let weights = [0.38, 0.30, 0.16, 0.16];
            let x = self.rng.r#gen::<f64>();
            let mut acc = 0.0;
            let mut pick = headed[0];
            for (d, w) in headed.iter().zip(weights) {
                acc += w;
                if x < acc {
                    pick = *d;
                    break;
                }
            }
            pick
        };
        let kind = m.dept_kind(dept);
        let base = findings(kind).choose(&mut self.rng).unwrap();
        let detail = DETAILS.choose(&mut self.rng).unwrap();
        let location = match checkpoint.and_then(|cp| {
            m.routes.iter().flat_map(|r| r.checkpoints.iter()).find(|c| c.id == cp).map(|c| c.name_zh.clone())
        }) {
            Some(n) => n,
            None => format!("{}号楼{}单元", self.rng.gen_range(1..=18), self.rng.gen_range(1..=4)),
        };
        let description = format!("{location}{base}，{detail}");
        let serious = self.rng.gen_bool(0.05);
        let wish = [24, 48, 72, 168][self.rng.gen_range(0..4)] * HOUR;
        let limit = if serious { 24 * HOUR } else { 48 * HOUR };
        let due = (received + wish).min(received + limit);
        let id = self.id_at(raised);
        let year = local_day(received).year();
        let counter = {
            let v = counters.entry(year).or_insert(0);
            *v += 1;
            *v
        };
        let number = format!("{}-{year}-{counter:06}", m.site.code);
        let photos = format!(r#"["{}"]"#, fake_hash(id, 1));

        // The plan: (when, action, actor, reassign to, to state), applied while in the past.
        let mut plan: Vec<Step> = Vec::new();
        let sup_at = |at: i64| holders(&m.supervisors, at).first().map_or(m.supervisors[0].person, |x| x.person);
        let head_at = |d: Id, at: i64| {
            m.heads.get(&d).and_then(|h| holders(h, at).first().map(|x| x.person).or(h.last().map(|x| x.person)))
        };
        let mut at = received;
        let initial = dept;
        let other =
            |rng: &mut StdRng, not: Id| **headed.iter().filter(|d| **d != not).collect::<Vec<_>>().choose(rng).unwrap();
        if !headed.contains(&dept) {
            at += self.hours(1.0, 30.0);
            let to = other(&mut self.rng, dept);
            plan.push((at, "reassign", sup_at(at), Some(to), "issued", "非本部门职责，改派".into()));
            dept = to;
        }
        let roll = self.rng.r#gen::<f64>();
        let stuck = self.rng.gen_bool(0.175);
        let stuck_at = self.rng.r#gen::<f64>();
        'plan: {
            if roll < 0.03 {
                if self.rng.gen_bool(0.5) {
                    at += self.hours(0.2, 6.0);
                    plan.push((
                        at,
                        "acknowledge",
                        head_at(dept, at).unwrap_or(issuer),
                        None,
                        "acknowledged",
                        String::new(),
                    ));
                }
                at += self.hours(1.0, 72.0);
                plan.push((at, "void", sup_at(at), None, "voided", "重复下发，作废".into()));
                break 'plan;
            }
            if roll < 0.08 {
                at += self.hours(0.5, 6.0);
                plan.push((
                    at,
                    "dispute",
                    head_at(dept, at).unwrap_or(issuer),
                    None,
                    "disputed",
                    "不属于本部门".into(),
                ));
                if stuck && stuck_at < 0.3 {
                    break 'plan;
                }
                at += self.hours(1.0, 24.0);
                let to = other(&mut self.rng, dept);
                plan.push((at, "reassign", sup_at(at), Some(to), "issued", "改派责任部门".into()));
                dept = to;
            }
            if stuck && stuck_at < 0.15 {
                break 'plan;
            }
            at += if self.rng.gen_bool(0.05) { self.hours(4.0, 30.0) } else { self.hours(0.2, 4.0) };
            plan.push((at, "acknowledge", head_at(dept, at).unwrap_or(issuer), None, "acknowledged", String::new()));
            if stuck && stuck_at < 0.7 {
                break 'plan;
            }
            // The fix: most within the due time, a quarter after it.
            let fix_at = if self.rng.gen_bool(0.75) {
                at + self.rng.gen_range(HOUR..(due - at).max(2 * HOUR))
            } else {
                due.max(at) + self.hours(1.0, 240.0)
            };
            if serious {
                let car = at + (fix_at - at) / 2;
                plan.push((
                    car,
                    "corrective_action",
                    head_at(dept, car).unwrap_or(issuer),
                    None,
                    "acknowledged",
                    "已制定纠正措施".into(),
                ));
            }
            at = fix_at;
            plan.push((at, "report_fix", head_at(dept, at).unwrap_or(issuer), None, "rectified", "已整改完成".into()));
            if stuck {
                break 'plan;
            }
            if self.rng.gen_bool(0.08) {
                at += self.hours(2.0, 24.0);
                plan.push((at, "verify_fail", issuer, None, "acknowledged", "复查未通过".into()));
                at += self.hours(4.0, 48.0);
                plan.push((
                    at,
                    "report_fix",
                    head_at(dept, at).unwrap_or(issuer),
                    None,
                    "rectified",
                    "已重新整改".into(),
                ));
            }
            at += self.hours(1.0, 36.0);
            let verifier = if self.rng.gen_bool(0.7) { issuer } else { sup_at(at) };
            plan.push((at, "verify_pass", verifier, None, "closed", String::new()));
        }

        // Apply the plan up to now.
        let mut state = "issued";
        let mut department = initial;
        let mut updated = received;
        let mut has_car = false;
        self.position += 1;
        let raised_record = self.id_at(raised);
        t.events.push(
            c,
            patrol_server::params![
                raised_record,
                id,
                self.position,
                "raised",
                issuer,
                "",
                photos.clone(),
                Value::Null,
                Value::Null,
                "issued",
                true,
                Value::Null,
                raised,
                received,
                fake_hash(id, 0)
            ],
        )?;
        for (k, (when, action, actor, reassign_to, to, reason)) in plan.into_iter().enumerate() {
            if when >= self.now {
                break;
            }
            self.position += 1;
            let rec = self.id_at(when);
            let device_ms = when - self.rng.gen_range(1_000..30_000);
            let event_photos =
                if action == "report_fix" { format!(r#"["{}"]"#, fake_hash(rec, 2)) } else { "[]".into() };
            t.events.push(
                c,
                patrol_server::params![
                    rec,
                    id,
                    self.position,
                    action,
                    actor,
                    reason,
                    event_photos,
                    reassign_to,
                    state,
                    to,
                    true,
                    Value::Null,
                    device_ms,
                    when,
                    fake_hash(id, k as u64 + 1)
                ],
            )?;
            state = to;
            updated = when;
            if let Some(d) = reassign_to {
                department = d;
            }
            has_car |= action == "corrective_action";
        }
        t.notices.push(
            c,
            patrol_server::params![
                id,
                m.site.id,
                number,
                i64::from(year),
                counter,
                department,
                checkpoint,
                run,
                location,
                description,
                if serious { "serious" } else { "general" },
                due,
                state,
                issuer,
                raised_record,
                raised,
                received,
                updated,
                has_car,
                photos,
                received + wish
            ],
        )?;
        Ok(())
    }
}

/// Runs the server's escalation job once over the loaded notices, as the running
/// server would have over the year: steps due now fire once (rows in
/// `notice_escalations`, in-app messages). Returns (fired, seconds).
pub fn escalate(store: &Store, now: i64) -> Result<(u32, f64), DbError> {
    let t = Instant::now();
    let fired = store.tx_blocking(true, |c| patrol_server::notices::escalation::run(c, now))?;
    Ok((fired, t.elapsed().as_secs_f64()))
}

/// Row counts of the tables the console reads.
pub fn row_counts(store: &Store) -> Result<Vec<(&'static str, i64)>, DbError> {
    let tables = [
        "sites",
        "people",
        "runs",
        "visits",
        "item_results",
        "track_batches",
        "records",
        "notices",
        "notice_events",
        "notice_escalations",
        "notifications",
        "daily_log_signatures",
        "missed_windows",
        "reference_versions",
    ];
    store.tx_blocking(false, |c| {
        tables.iter().map(|t| Ok((*t, c.query_one(&format!("SELECT COUNT(*) FROM {t}"), &[])?.int(0)?))).collect()
    })
}
