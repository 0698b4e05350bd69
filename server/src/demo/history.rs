//! A month in the demo compound, lived through the server's own paths, so that a
//! newcomer's first look at the dashboard and the inboxes shows the product at work:
//!
//! - the patrol officer's and the head of engineering's phones sign in, and push
//!   hash-chained records with clock evidence and upload their photos over the API
//!   (`/api/v1/sync/push`, `/api/v1/photos/…/upload`), answered by the router `serve`
//!   runs, in-process;
//! - people at desks act on notices through `notices::api::act_on` (photos of a fix
//!   prepared as the console prepares a browser upload) and sign daily logs through
//!   `patrols::api::sign`, the functions the console and the JSON API call;
//! - the background jobs (missed patrols, the escalation ladder) and the tree-head
//!   signer run on the way.
//!
//! A clock the seed moves stands in for the month; every record and decision is
//! logged as it would have been, so `audit verify` passes on the result. What
//! happens is fixed: the same days, rounds, findings and photos for the same date
//! (`SplitMix` with a fixed seed; today's part ends at the moment of seeding). Ids
//! the server makes itself (reference data, desk actions) are random as always.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, NaiveDate};
use patrol_protocol::api::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use patrol_protocol::notice::{NoticeAction, Severity};
use patrol_protocol::record::{CheckIn, GENESIS_HASH, ItemOutcome, PhotoContext, Record, RecordPayload, TrackPoint};
use patrol_protocol::sync::{ClockEvidence, MAX_PUSH_RECORDS, NoticeActionRequest, PushRequest, RecordStatus};
use patrol_protocol::{Checkpoint, DepartmentKind, Id, Route, Site};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::DemoLogin;
use super::scenes::{self, SplitMix, Subject};
use crate::clock::{Clock, ManualClock};
use crate::policy::Actor;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{Store, people, reference};

/// Whole days of history before today; today's is added up to the moment of seeding.
pub const DAYS: i64 = 30;
/// The demo site's offset from UTC (China), as `super::load` sets it.
const OFFSET_MINUTES: i32 = 480;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// Fixes of the phones' GPS while a run lasts.
const FIX_EVERY_MS: i64 = 10_000;
/// Track points per `track_points` record: the phone sends a batch every 20 minutes.
const TRACK_BATCH: usize = 120;
/// How far behind the server each phone's clock runs (negative: ahead).
const OFFICER_SKEW_MS: i64 = 23_000;
const ENGINEER_SKEW_MS: i64 = -7_000;

/// What the month came to.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub days: u32,
    pub runs: u32,
    pub records: u32,
    pub notices: u32,
    pub photos: u32,
    pub desk_actions: u32,
    pub logs_signed: u32,
    pub faults: u32,
    pub elapsed_ms: u128,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} days: {} patrol runs, {} records pushed, {} notices, {} photos, {} actions at desks, {} daily logs signed, {} fault notices ({} ms)",
            self.days,
            self.runs,
            self.records,
            self.notices,
            self.photos,
            self.desk_actions,
            self.logs_signed,
            self.faults,
            self.elapsed_ms
        )
    }
}

/// The UTC instant of `minute` past local midnight of `day` at the demo site.
fn local_ms(day: NaiveDate, minute: i64) -> i64 {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis() - i64::from(OFFSET_MINUTES) * MINUTE
        + minute * MINUTE
}

fn today(now: i64) -> NaiveDate {
    crate::sync::outcome::local_date(now, OFFSET_MINUTES)
}

/// When the company set the demo up: 17:30 the evening before the month began.
/// Schedules expect nothing of windows before they existed, so this is where the
/// history can start.
pub fn setup_time(now: i64) -> i64 {
    local_ms(today(now) - Duration::days(DAYS + 1), 17 * 60 + 30)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Morning,
    Afternoon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// 外围巡检线路 (the demo's first route).
    Outer,
    /// 楼宇设施巡检线路 (the second).
    Buildings,
}

/// Who acts on a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// The patrol officer who raised it, on the phone.
    Officer,
    /// The head of the department it is addressed to at the time: the head of
    /// engineering on the phone, the others at their desks.
    Head,
    Supervisor,
    Manager,
}

struct Step {
    hours: f64,
    by: By,
    action: NoticeAction,
    reason: &'static str,
    to: Option<DepartmentKind>,
}

const fn step(hours: f64, by: By, action: NoticeAction, reason: &'static str) -> Step {
    Step { hours, by, action, reason, to: None }
}

const fn reassign(hours: f64, to: DepartmentKind, reason: &'static str) -> Step {
    Step { hours, by: By::Supervisor, action: NoticeAction::Reassign, reason, to: Some(to) }
}

/// A problem the officer finds on a round, and what becomes of its notice: steps
/// count hours from when the round's records reached the server.
struct Finding {
    day: i64,
    half: Half,
    round: Round,
    checkpoint: &'static str,
    to: DepartmentKind,
    serious: bool,
    subject: Subject,
    photos: u8,
    location: &'static str,
    text: &'static str,
    /// The checklist item it answers "problem" to; none when the checklist does not
    /// ask (the officer raises it all the same).
    item: Option<usize>,
    steps: &'static [Step],
}

use By::{Head, Manager, Officer, Supervisor};
use DepartmentKind::{Cleaning, Engineering, Landscaping, Security};
use Half::{Afternoon, Morning};
use NoticeAction::{Acknowledge, CorrectiveAction, Dispute, ReportFix, VerifyFail, VerifyPass, Void};
use Round::{Buildings, Outer};

#[rustfmt::skip]
const FINDINGS: &[Finding] = &[
    Finding { day: -29, half: Morning, round: Outer, checkpoint: "LAWN", to: Landscaping, serious: false, subject: Subject::Greenery, photos: 1,
        location: "中心草坪东侧", text: "中心草坪东侧灌木三株枯死，需补植", item: Some(1),
        steps: &[step(1.5, Head, Acknowledge, ""), step(27.0, Head, ReportFix, "已补植冬青三株"), step(29.0, Supervisor, VerifyPass, "现场已核实")] },
    Finding { day: -28, half: Afternoon, round: Buildings, checkpoint: "LOBBY-1", to: Engineering, serious: false, subject: Subject::Lights, photos: 1,
        location: "1号楼一层电梯厅", text: "1号楼电梯厅顶灯两盏不亮", item: None,
        steps: &[step(0.4, Head, Acknowledge, ""), step(4.5, Head, ReportFix, "已更换LED灯管两支"), step(17.5, Officer, VerifyPass, "")] },
    Finding { day: -27, half: Morning, round: Outer, checkpoint: "BINS", to: Cleaning, serious: false, subject: Subject::Bins, photos: 1,
        location: "垃圾站", text: "垃圾站3号垃圾桶满溢，周边地面有污水", item: Some(0),
        steps: &[step(1.0, Head, Acknowledge, ""), step(3.0, Head, ReportFix, "已清运并冲洗地面"), step(6.5, Supervisor, VerifyPass, "已核实")] },
    Finding { day: -26, half: Morning, round: Outer, checkpoint: "FIRE-E", to: Security, serious: false, subject: Subject::FireLane, photos: 1,
        location: "东侧消防通道（3号楼旁）", text: "东侧消防通道被私家车占用", item: Some(0),
        steps: &[step(0.3, Head, Acknowledge, ""), step(1.2, Head, ReportFix, "已联系车主挪车并张贴禁停提示"), step(5.5, Officer, VerifyPass, "")] },
    Finding { day: -25, half: Afternoon, round: Buildings, checkpoint: "PUMP", to: Engineering, serious: true, subject: Subject::Leak, photos: 2,
        location: "地下一层水泵房", text: "水泵房2号生活水泵机械密封渗漏，地面积水", item: Some(1),
        steps: &[
            step(0.5, Head, Acknowledge, ""),
            step(2.5, Head, CorrectiveAction, "纠正措施报告：原因为2号泵机械密封老化，超过更换周期未更换。纠正：停用2号泵，切换至1号泵供水，更换机械密封。预防：将水泵机械密封纳入季度保养计划，每月检查运行记录中的渗漏项。"),
            step(17.0, Head, ReportFix, "已更换2号泵机械密封，试运行2小时无渗漏"),
            step(19.0, Supervisor, VerifyPass, "复查无渗漏，纠正措施已落实，同意关闭"),
        ] },
    Finding { day: -24, half: Morning, round: Outer, checkpoint: "PLAY", to: Engineering, serious: false, subject: Subject::Playground, photos: 1,
        location: "儿童游乐场", text: "儿童游乐场秋千吊链松动", item: Some(0),
        steps: &[
            step(0.6, Head, Acknowledge, ""),
            step(5.0, Head, ReportFix, "已紧固吊链螺栓"),
            step(6.5, Supervisor, VerifyFail, "复查右侧秋千吊链仍有晃动，螺栓未加防松垫片"),
            step(24.0, Head, ReportFix, "已加装防松垫片并复紧"),
            step(25.5, Supervisor, VerifyPass, "复查合格"),
        ] },
    Finding { day: -22, half: Morning, round: Outer, checkpoint: "GATE-S", to: Security, serious: false, subject: Subject::Gate, photos: 1,
        location: "南门外侧", text: "南门门前车辆乱停，影响通行", item: Some(1),
        steps: &[step(0.5, Head, Acknowledge, ""), step(1.5, Head, ReportFix, "已疏导车辆离开"), step(5.6, Officer, VerifyPass, "")] },
    Finding { day: -21, half: Afternoon, round: Outer, checkpoint: "POOL", to: Engineering, serious: false, subject: Subject::Pool, photos: 1,
        location: "游泳池深水区", text: "游泳池深水区警示牌缺失", item: Some(2),
        steps: &[step(0.5, Head, Acknowledge, ""), step(20.0, Head, ReportFix, "已补装警示牌"), step(23.5, Officer, VerifyPass, "")] },
    Finding { day: -19, half: Morning, round: Outer, checkpoint: "CAR-B1", to: Engineering, serious: false, subject: Subject::Lights, photos: 1,
        location: "地下车库B1层C区", text: "地下车库B1层C区照明灯管闪烁", item: Some(0),
        steps: &[step(1.0, Head, Acknowledge, ""), step(7.0, Head, ReportFix, "已更换镇流器及灯管"), step(23.5, Officer, VerifyPass, "")] },
    Finding { day: -18, half: Morning, round: Outer, checkpoint: "LAWN", to: Landscaping, serious: false, subject: Subject::Greenery, photos: 1,
        location: "中心草坪西侧", text: "草坪喷灌喷头损坏，持续漏水", item: Some(2),
        steps: &[step(2.0, Head, Acknowledge, ""), step(6.0, Head, ReportFix, "已更换喷头"), step(7.0, Supervisor, VerifyPass, "")] },
    Finding { day: -17, half: Afternoon, round: Buildings, checkpoint: "CLUB", to: Cleaning, serious: false, subject: Subject::Indoor, photos: 1,
        location: "会所一楼卫生间", text: "会所一楼卫生间地面有污渍", item: Some(1),
        steps: &[step(0.5, Head, Acknowledge, ""), step(1.5, Head, ReportFix, "已清洁并增加巡回保洁频次"), step(17.5, Officer, VerifyPass, "")] },
    // Sent to cleaning, disputed, reassigned to security, fixed and closed.
    Finding { day: -16, half: Morning, round: Outer, checkpoint: "FIRE-E", to: Cleaning, serious: false, subject: Subject::FireLane, photos: 1,
        location: "东侧消防通道（5号楼旁）", text: "东侧消防通道堆放装修垃圾", item: Some(0),
        steps: &[
            step(1.2, Head, Dispute, "装修垃圾系业主违规堆放，应由秩序维护部责令业主清运"),
            reassign(2.5, Security, "违规堆放由秩序维护部处理，责令业主限期清运"),
            step(3.2, Head, Acknowledge, ""),
            step(26.0, Head, ReportFix, "业主已清运完毕"),
            step(29.5, Officer, VerifyPass, ""),
        ] },
    Finding { day: -15, half: Morning, round: Outer, checkpoint: "GATE-N", to: Engineering, serious: false, subject: Subject::Gate, photos: 1,
        location: "北门车行道闸", text: "北门道闸抬杆缓慢，高峰期车辆排队", item: Some(1),
        steps: &[step(0.8, Head, Acknowledge, ""), step(7.5, Head, ReportFix, "已调整道闸电机"), step(24.0, Officer, VerifyPass, "")] },
    // The same barrier again that afternoon: voided as a duplicate, keeping its number.
    Finding { day: -15, half: Afternoon, round: Outer, checkpoint: "GATE-N", to: Engineering, serious: false, subject: Subject::Gate, photos: 1,
        location: "北门车行道闸", text: "北门道闸抬杆慢", item: Some(1),
        steps: &[step(0.3, Supervisor, Void, "与上午下发的北门道闸通知单重复")] },
    Finding { day: -14, half: Afternoon, round: Buildings, checkpoint: "LOBBY-3", to: Engineering, serious: false, subject: Subject::Indoor, photos: 1,
        location: "3号楼一层电梯厅", text: "3号楼电梯厅消防器材箱玻璃破损", item: Some(2),
        steps: &[step(0.5, Head, Acknowledge, ""), step(19.0, Head, ReportFix, "已更换玻璃"), step(23.0, Officer, VerifyPass, "")] },
    Finding { day: -11, half: Morning, round: Outer, checkpoint: "BINS", to: Cleaning, serious: false, subject: Subject::Bins, photos: 1,
        location: "垃圾站", text: "厨余垃圾桶混入其他垃圾，分类不规范", item: Some(1),
        steps: &[step(0.7, Head, Acknowledge, ""), step(3.0, Head, ReportFix, "已二次分拣，并在投放点张贴分类指引"), step(5.6, Officer, VerifyPass, "")] },
    Finding { day: -10, half: Afternoon, round: Buildings, checkpoint: "POWER", to: Engineering, serious: false, subject: Subject::Indoor, photos: 1,
        location: "地下一层配电房", text: "配电房门未上锁", item: Some(1),
        steps: &[step(0.2, Head, Acknowledge, ""), step(0.5, Head, ReportFix, "已上锁并检查门锁"), step(17.5, Officer, VerifyPass, "")] },
    Finding { day: -9, half: Morning, round: Outer, checkpoint: "GATE-N", to: Security, serious: false, subject: Subject::Gate, photos: 1,
        location: "北门岗亭", text: "北门岗亭无人值守约10分钟", item: Some(0),
        steps: &[step(0.3, Head, Acknowledge, ""), step(2.0, Head, ReportFix, "已对当班人员进行教育，调整交接班时间"), step(4.0, Manager, VerifyPass, "经理巡查时复核，岗亭已有人值守")] },
    Finding { day: -8, half: Afternoon, round: Outer, checkpoint: "PLAY", to: Cleaning, serious: false, subject: Subject::Playground, photos: 1,
        location: "儿童游乐场沙池", text: "游乐场沙池内发现碎玻璃", item: Some(1),
        steps: &[step(0.3, Head, Acknowledge, ""), step(1.0, Head, ReportFix, "已清理沙池并筛沙"), step(1.5, Supervisor, VerifyPass, "")] },
    // Never signed for in time: not delivered, overdue, escalated to the manager;
    // signed at last, still open and overdue.
    Finding { day: -6, half: Morning, round: Outer, checkpoint: "LAWN", to: Landscaping, serious: false, subject: Subject::Greenery, photos: 2,
        location: "中心草坪西侧", text: "中心草坪西侧大树断枝悬挂，有坠落风险", item: None,
        steps: &[step(96.0, Head, Acknowledge, "已安排高空作业车，预计本周内修剪")] },
    // Sent to engineering, disputed, reassigned to landscaping, signed for.
    Finding { day: -3, half: Morning, round: Outer, checkpoint: "FIRE-E", to: Engineering, serious: false, subject: Subject::FireLane, photos: 1,
        location: "东侧消防通道", text: "东侧消防通道消防标识被树枝遮挡", item: Some(1),
        steps: &[
            step(0.8, Head, Dispute, "树枝修剪属绿化部职责"),
            reassign(2.0, Landscaping, "绿化修剪由绿化部负责"),
            step(5.5, Head, Acknowledge, ""),
        ] },
    Finding { day: -2, half: Morning, round: Outer, checkpoint: "BINS", to: Cleaning, serious: false, subject: Subject::Bins, photos: 1,
        location: "垃圾站", text: "垃圾分类桶标识脱落", item: Some(1),
        steps: &[step(1.0, Head, Acknowledge, ""), step(4.0, Head, ReportFix, "已重新粘贴分类标识")] },
    // Disputed, waiting for the supervisor.
    Finding { day: -2, half: Afternoon, round: Outer, checkpoint: "POOL", to: Security, serious: false, subject: Subject::Pool, photos: 1,
        location: "游泳池", text: "游泳池救生员不在岗，池边无人看护", item: Some(1),
        steps: &[step(1.0, Head, Dispute, "救生员由会所外包单位管理，不属秩序维护部职责，请改派")] },
    Finding { day: -1, half: Morning, round: Outer, checkpoint: "GATE-N", to: Security, serious: false, subject: Subject::Gate, photos: 1,
        location: "北门岗亭访客登记处", text: "北门访客登记不规范，多条记录缺少来访事由", item: Some(2),
        steps: &[step(0.5, Head, Acknowledge, "")] },
    Finding { day: -1, half: Morning, round: Buildings, checkpoint: "LOBBY-1", to: Engineering, serious: false, subject: Subject::Indoor, photos: 1,
        location: "1号楼一层电梯厅", text: "1号楼电梯厅公告栏玻璃破裂", item: Some(2),
        steps: &[step(0.5, Head, Acknowledge, ""), step(5.0, Head, ReportFix, "已更换公告栏玻璃")] },
    // Serious, signed for, its corrective-action report still owed.
    Finding { day: -1, half: Afternoon, round: Outer, checkpoint: "CAR-B1", to: Engineering, serious: true, subject: Subject::Lights, photos: 2,
        location: "地下车库B1层", text: "地下车库B1层消防疏散指示灯4处不亮", item: Some(0),
        steps: &[step(0.7, Head, Acknowledge, "")] },
    Finding { day: -1, half: Afternoon, round: Buildings, checkpoint: "CLUB", to: Cleaning, serious: false, subject: Subject::Indoor, photos: 1,
        location: "会所正门", text: "会所门前地面有油污", item: Some(1),
        steps: &[] },
    Finding { day: 0, half: Morning, round: Outer, checkpoint: "LAWN", to: Landscaping, serious: false, subject: Subject::Greenery, photos: 1,
        location: "中心草坪南侧人行道", text: "草坪喷灌未按时关闭，人行道积水", item: Some(2),
        steps: &[] },
];

/// The afternoon buildings round of this day was not walked (the officer was with
/// an owner's complaint): the window is missed and the job announces it.
const MISSED: (i64, Half, Round) = (-12, Afternoon, Buildings);
/// This morning the buildings round came first and the outer round ended after the
/// window: a late patrol.
const LATE: (i64, Half) = (-5, Morning);
/// The pool was closed for maintenance on this round: a checkpoint missed, with reason.
const POOL_CLOSED: (i64, Half, Round) = (-20, Morning, Outer);

/// Days whose patrol log nobody signed (besides the last four, which wait for it).
const UNSIGNED: &[i64] = &[-23];
/// Signed late by the manager, three days after: the supervisor was away.
const SIGNED_BY_MANAGER: i64 = -17;
/// The last day the supervisor has signed so far.
const LAST_SIGNED: i64 = -5;

fn log_comment(day: i64, rng: &mut SplitMix) -> &'static str {
    match day {
        d if d == MISSED.0 => "下午楼宇巡检漏检，已约谈当班人员",
        d if d == LATE.0 => "上午外围巡检超时完成，注意时间安排",
        d if d == POOL_CLOSED.0 => "泳池闭馆维修，漏检原因属实",
        _ => ["已阅", "已阅", "已阅，无异常", "已阅，注意跟进未关闭的整改通知单", ""][rng.int(0, 4) as usize],
    }
}

/// One thing that happens, at a moment of the month.
enum Event {
    /// A phone makes a record (pushed with its next sync); a photo's bytes go with it.
    Record {
        phone: usize,
        payload: RecordPayload,
        photo: Option<Vec<u8>>,
    },
    /// A phone syncs: pushes what it made and uploads the photos.
    Sync {
        phone: usize,
    },
    /// Someone at a desk acts on a notice; a fix carries photos uploaded from the browser.
    Desk {
        login: &'static str,
        notice: Id,
        action: NoticeAction,
        reason: String,
        to: Option<Id>,
        photos: Vec<Vec<u8>>,
    },
    SignLog {
        login: &'static str,
        day: NaiveDate,
        comment: String,
    },
    /// The background jobs' tick: missed windows and the escalation ladder.
    Jobs,
    /// The log's tree head, as the running instance signs it.
    TreeHead,
    /// A fault notice issued at a desk (服务质量考核), the rule's points.
    Fault {
        login: &'static str,
        person: &'static str,
        rule: &'static str,
        seen: &'static str,
        location: &'static str,
    },
    /// The person answers the `index`-th fault notice issued so far, or a supervisor
    /// voids it.
    FaultAnswer {
        login: &'static str,
        index: usize,
        action: patrol_protocol::fault::FaultAction,
        reason: &'static str,
    },
    /// One level up decides the `index`-th fault notice's appeal.
    FaultDecision {
        login: &'static str,
        index: usize,
        decision: patrol_protocol::fault::AppealDecision,
        points: u32,
        reason: &'static str,
    },
}

struct Timed {
    at: i64,
    order: usize,
    event: Event,
}

const OFFICER: usize = 0;
const ENGINEER: usize = 1;

/// The compound as loaded by `super::load`.
struct Compound {
    site: Site,
    departments: Vec<(DepartmentKind, Id)>,
    checkpoints: Vec<Checkpoint>,
    routes: Vec<Route>,
}

impl Compound {
    fn department(&self, kind: DepartmentKind) -> Id {
        self.departments.iter().find(|d| d.0 == kind).expect("the demo has every department").1
    }
    fn checkpoint(&self, code: &str) -> &Checkpoint {
        self.checkpoints.iter().find(|c| c.code == code).expect("a demo checkpoint")
    }
    fn route(&self, round: Round) -> &Route {
        &self.routes[match round {
            Round::Outer => 0,
            Round::Buildings => 1,
        }]
    }
}

/// The head's login of each department the demo has one for.
fn head_login(kind: DepartmentKind) -> &'static str {
    match kind {
        Engineering => "eng.head",
        Cleaning => "clean.head",
        Security => "security.head",
        Landscaping => "garden.head",
        other => unreachable!("the demo has no head of {other:?}"),
    }
}

/// The month as a list of events, in the order they happen.
struct Plan<'c> {
    compound: &'c Compound,
    events: Vec<Timed>,
    rng: SplitMix,
    photo_seed: u64,
}

impl<'c> Plan<'c> {
    /// The month's staff fault notices (服务质量考核), in the last days of the current
    /// month (of the previous one early in a month): the officer's desk left empty and
    /// a late round, the cleaner's lobby three times (her head shares it), the guard
    /// asleep; signed, one refused, one appealed and reduced by the manager.
    fn assessment(&mut self, today: NaiveDate) {
        use patrol_protocol::fault::{AppealDecision as D, FaultAction as A};
        let first = today - Duration::days(i64::from(chrono::Datelike::day(&today)) - 1);
        let base =
            if chrono::Datelike::day(&today) >= 9 { today - Duration::days(8) } else { first - Duration::days(9) };
        let at = |d: i64, minute: i64| local_ms(base + Duration::days(d), minute);
        let issued: [(i64, i64, &'static str, &'static str, &'static str, &'static str, &'static str); 8] = [
            (0, 9 * 60 + 12, "supervisor", "patrol", "FD-01", "9:10 客服前台无人，业主等候 10 分钟", "客服中心"),
            (1, 10 * 60 + 40, "supervisor", "cleaner", "CL-01", "1号楼大堂地面有水渍未清理", "1号楼大堂"),
            (2, 16 * 60 + 5, "clean.head", "cleaner", "CL-01", "3号楼电梯轿厢地面污渍", "3号楼电梯"),
            (3, 23 * 60 + 40, "supervisor", "guard", "SE-01", "夜巡发现北门岗亭值班员睡岗", "北门岗亭"),
            (4, 8 * 60 + 50, "supervisor", "patrol", "PT-01", "上午外围巡检晚开始 40 分钟，未报备", "外围巡检线路"),
            (5, 11 * 60 + 20, "supervisor", "cleaner", "CL-01", "1号楼大堂垃圾桶满溢未清运", "1号楼大堂"),
            (6, 14 * 60 + 35, "supervisor", "guard", "UN-01", "未按规定着装（未戴工牌）", "南门"),
            (7, 9 * 60 + 30, "supervisor", "patrol", "MN-01", "接待业主投诉时语气生硬，业主不满", "客服中心"),
        ];
        for (d, minute, login, person, rule, seen, location) in issued {
            self.at(at(d, minute), Event::Fault { login, person, rule, seen, location });
        }
        let answers: [(i64, i64, &'static str, usize, A, &'static str); 7] = [
            (0, 11 * 60, "patrol", 0, A::Acknowledge, ""),
            (1, 12 * 60, "cleaner", 1, A::Acknowledge, ""),
            (3, 9 * 60, "cleaner", 2, A::Acknowledge, ""),
            (4, 8 * 60, "guard", 3, A::Refuse, "当晚身体不适，已向班长请假"),
            (4, 10 * 60, "patrol", 4, A::Acknowledge, ""),
            (5, 13 * 60, "cleaner", 5, A::Acknowledge, ""),
            (7, 10 * 60 + 15, "patrol", 7, A::Appeal, "业主情绪激动在先，本人已耐心解释，请求复核"),
        ];
        for (d, minute, login, index, action, reason) in answers {
            self.at(at(d, minute), Event::FaultAnswer { login, index, action, reason });
        }
        self.at(
            at(7, 16 * 60),
            Event::FaultDecision {
                login: "manager",
                index: 7,
                decision: D::Reduced,
                points: 1,
                reason: "调看录音，员工有解释，减为 1 分",
            },
        );
    }

    fn at(&mut self, at: i64, event: Event) {
        let order = self.events.len();
        self.events.push(Timed { at, order, event });
    }

    /// An id the officer's phone makes at `at`.
    fn id(&mut self, at: i64) -> Id {
        v7(at - skew(OFFICER), &mut self.rng)
    }

    fn photo(&mut self, subject: Subject, fixed: bool) -> Vec<u8> {
        self.photo_seed += 1;
        scenes::photo(subject, fixed, self.photo_seed)
    }

    fn record(&mut self, phone: usize, at: i64, payload: RecordPayload) {
        self.at(at, Event::Record { phone, payload, photo: None });
    }

    /// A photo taken on `phone` at `at`: its record, with the bytes to upload.
    fn photo_taken(&mut self, phone: usize, at: i64, bytes: Vec<u8>, context: PhotoContext, pos: (f64, f64)) -> String {
        let sha = hex::encode(Sha256::digest(&bytes));
        let payload = RecordPayload::PhotoTaken {
            sha256: sha.clone(),
            bytes: bytes.len() as u64,
            width: 400,
            height: 300,
            captured_at_ms: at - skew(phone),
            latitude: Some(pos.0),
            longitude: Some(pos.1),
            context,
        };
        self.at(at, Event::Record { phone, payload, photo: Some(bytes) });
        sha
    }

    /// One round of `round` started at `start`: the run's records as the officer's
    /// phone makes them, findings raised as notices on the spot. Returns when the
    /// round ended and the notices raised on it.
    fn walk(&mut self, day: i64, half: Half, round: Round, start: i64) -> (i64, Vec<(Id, &'static Finding)>) {
        let c = self.compound;
        let route = c.route(round);
        let run_id = self.id(start);
        self.record(OFFICER, start, RecordPayload::RunStarted { run_id, route_id: route.id, site_id: c.site.id });
        let mut raised = Vec::new();
        let mut track: Vec<TrackPoint> = Vec::new();
        let mut t = start;
        let first = c.checkpoints.iter().find(|cp| cp.id == route.checkpoint_ids[0]).expect("route checkpoint");
        let mut here = (first.latitude, first.longitude);
        let speed = self.rng.range(1.05, 1.3);
        let skipped = (day, half, round) == POOL_CLOSED;
        let mut missed_reason = None;
        for cp_id in &route.checkpoint_ids {
            let cp = c.checkpoints.iter().find(|cp| cp.id == *cp_id).expect("route checkpoint");
            if skipped && cp.code == "POOL" {
                missed_reason = Some("泳池闭馆维修，无法进入".to_string());
                continue;
            }
            // The walk there: paths are not straight, so the track bends.
            let there = (cp.latitude, cp.longitude);
            let metres = patrol_protocol::distance_m(here.0, here.1, there.0, there.1);
            let walk_ms = (metres * 1.3 / speed * 1000.0) as i64;
            let bend = self.rng.range(-0.00012, 0.00012);
            let mut s = FIX_EVERY_MS;
            while s < walk_ms {
                let f = s as f64 / walk_ms as f64;
                let off = bend * (f * std::f64::consts::PI).sin();
                track.push(self.fix(
                    t + s,
                    here.0 + (there.0 - here.0) * f + off,
                    here.1 + (there.1 - here.1) * f - off,
                ));
                s += FIX_EVERY_MS;
            }
            t += walk_ms;
            here = there;
            let visit_id = self.id(t);
            let check_in = match self.rng.int(0, 9) {
                0 | 1 => CheckIn::Nfc { tag_id: cp.nfc_tag_id.clone().unwrap_or_default() },
                2 if cp.code == "LAWN" => {
                    let p = self.fix(t, cp.latitude, cp.longitude);
                    CheckIn::Gps {
                        latitude: p.latitude,
                        longitude: p.longitude,
                        accuracy_m: p.accuracy_m,
                        distance_m: patrol_protocol::distance_m(p.latitude, p.longitude, cp.latitude, cp.longitude),
                    }
                }
                _ => CheckIn::Qr { token: cp.qr_token.clone() },
            };
            self.record(
                OFFICER,
                t,
                RecordPayload::CheckpointVisited {
                    run_id,
                    visit_id,
                    checkpoint_id: cp.id,
                    check_in,
                    out_of_order: false,
                },
            );
            let finding =
                FINDINGS.iter().find(|f| (f.day, f.half, f.round) == (day, half, round) && f.checkpoint == cp.code);
            let mut stay = self.rng.int(45, 80) * 1000;
            for (i, item) in cp.checklist.iter().enumerate() {
                let (outcome, note) = match finding {
                    Some(f) if f.item == Some(i) => (ItemOutcome::Problem, f.text.to_string()),
                    _ => (ItemOutcome::Ok, String::new()),
                };
                let payload = RecordPayload::ItemRecorded {
                    run_id,
                    visit_id,
                    checkpoint_id: cp.id,
                    item_id: item.id,
                    outcome,
                    note,
                };
                self.record(OFFICER, t + 12_000 * (i as i64 + 1), payload);
            }
            stay += 12_000 * cp.checklist.len() as i64;
            if let Some(f) = finding {
                let notice_id = self.id(t + stay + 60_000);
                let mut shas = Vec::new();
                for k in 0..f.photos {
                    let bytes = self.photo(f.subject, false);
                    let context =
                        PhotoContext { run_id: Some(run_id), checkpoint_id: Some(cp.id), notice_id: Some(notice_id) };
                    let at = t + stay + 15_000 * i64::from(k);
                    shas.push(self.photo_taken(OFFICER, at, bytes, context, (cp.latitude, cp.longitude)));
                }
                let at = t + stay + 60_000;
                let due = at - skew(OFFICER) + if f.serious { 24 } else { 48 } * HOUR;
                let payload = RecordPayload::NoticeRaised {
                    notice_id,
                    site_id: c.site.id,
                    department_id: c.department(f.to),
                    checkpoint_id: Some(cp.id),
                    run_id: Some(run_id),
                    location: f.location.into(),
                    description: f.text.into(),
                    severity: if f.serious { Severity::Serious } else { Severity::General },
                    due_ms: due,
                    photos: shas,
                };
                self.record(OFFICER, at, payload);
                raised.push((notice_id, f));
                stay += 120_000;
            }
            let mut s = FIX_EVERY_MS;
            while s < stay {
                track.push(self.fix(t + s, cp.latitude, cp.longitude));
                s += FIX_EVERY_MS;
            }
            t += stay;
        }
        for batch in track.chunks(TRACK_BATCH) {
            let at = batch.last().map_or(t, |p| p.time_ms + skew(OFFICER) + 2_000);
            self.record(OFFICER, at, RecordPayload::TrackPoints { run_id, points: batch.to_vec() });
        }
        let end = t + 20_000;
        self.record(OFFICER, end, RecordPayload::RunFinished { run_id, missed_reason });
        (end, raised)
    }

    /// A GPS fix near a position, in the officer's phone's clock.
    fn fix(&mut self, at: i64, lat: f64, lon: f64) -> TrackPoint {
        let metre = 1.0 / 111_195.0;
        TrackPoint {
            time_ms: at - skew(OFFICER),
            latitude: lat + self.rng.range(-3.0, 3.0) * metre,
            longitude: lon + self.rng.range(-3.0, 3.0) * metre * 1.17,
            accuracy_m: self.rng.range(4.0, 11.0).round(),
        }
    }

    /// What becomes of a notice after its round synced at `synced`.
    fn follow(&mut self, notice: Id, f: &'static Finding, synced: i64) {
        let c = self.compound;
        let mut department = f.to;
        let cp = c.checkpoint(f.checkpoint);
        let pos = (cp.latitude, cp.longitude);
        for s in f.steps {
            let at = synced + (s.hours * HOUR as f64) as i64 + self.rng.int(-6, 6) * MINUTE;
            let reason = s.reason.to_string();
            let on_phone = match s.by {
                Officer => Some(OFFICER),
                Head if department == Engineering => Some(ENGINEER),
                _ => None,
            };
            if let Some(phone) = on_phone {
                let mut photos = Vec::new();
                if s.action == ReportFix {
                    let bytes = self.photo(f.subject, true);
                    let context = PhotoContext { run_id: None, checkpoint_id: Some(cp.id), notice_id: Some(notice) };
                    photos.push(self.photo_taken(phone, at - 40_000, bytes, context, pos));
                }
                let to = s.to.map(|k| c.department(k));
                let payload = RecordPayload::NoticeActed {
                    notice_id: notice,
                    action: s.action,
                    reason,
                    photos,
                    reassign_to: to,
                    new_due_ms: None,
                };
                self.record(phone, at, payload);
                let synced = at + self.rng.int(20, 90) * 1000;
                self.at(synced, Event::Sync { phone });
            } else {
                let login = match s.by {
                    Supervisor => "supervisor",
                    Manager => "manager",
                    _ => head_login(department),
                };
                let photos = if s.action == ReportFix { vec![self.photo(f.subject, true)] } else { vec![] };
                let to = s.to.map(|k| c.department(k));
                self.at(at, Event::Desk { login, notice, action: s.action, reason, to, photos });
            }
            if let Some(k) = s.to {
                department = k;
            }
        }
    }

    /// The whole month up to the end of today.
    fn month(&mut self, today: NaiveDate) {
        for d in -DAYS..=0 {
            let day = today + Duration::days(d);
            for half in [Morning, Afternoon] {
                let window = local_ms(day, if half == Morning { 8 * 60 } else { 14 * 60 });
                let rounds = if (d, half) == LATE { [Buildings, Outer] } else { [Outer, Buildings] };
                let mut t = window + self.rng.int(4, 14) * MINUTE;
                let mut raised = Vec::new();
                for (i, round) in rounds.into_iter().enumerate() {
                    if (d, half, round) == MISSED {
                        continue;
                    }
                    if (d, half) == LATE && i == 1 {
                        // Called to an owner's complaint in between: out at 09:41.
                        t = window + 101 * MINUTE;
                    }
                    let (end, found) = self.walk(d, half, round, t);
                    raised.extend(found);
                    t = end + self.rng.int(6, 12) * MINUTE;
                }
                // Back at the service centre, the phone syncs both rounds in one push
                // (the push takes up to 500 records; a window's rounds make ~70).
                let synced = t - self.rng.int(3, 5) * MINUTE;
                self.at(synced, Event::Sync { phone: OFFICER });
                for (notice, f) in raised {
                    self.follow(notice, f, synced);
                }
            }
            // The background jobs' ticks: before the morning window (reminders of
            // notices due that morning), midday and evening (missed afternoon windows).
            for minute in [7 * 60 + 30, 13 * 60, 20 * 60] {
                self.at(local_ms(day, minute), Event::Jobs);
            }
            self.at(local_ms(day, 23 * 60 + 55), Event::TreeHead);
            // The supervisor signs yesterday's log mid-morning (审阅签字).
            let signed_day = d - 1;
            if (-DAYS..=LAST_SIGNED).contains(&signed_day)
                && !UNSIGNED.contains(&signed_day)
                && signed_day != SIGNED_BY_MANAGER
            {
                let comment = log_comment(signed_day, &mut self.rng).to_string();
                let at = local_ms(day, 10 * 60 + 30) + self.rng.int(0, 40) * MINUTE;
                self.at(at, Event::SignLog { login: "supervisor", day: day - Duration::days(1), comment });
            }
            if d == SIGNED_BY_MANAGER + 3 {
                let comment = "主管休假，补签".to_string();
                self.at(
                    local_ms(day, 11 * 60 + 5),
                    Event::SignLog { login: "manager", day: day - Duration::days(3), comment },
                );
            }
        }
        self.events.sort_by_key(|e| (e.at, e.order));
    }
}

fn skew(phone: usize) -> i64 {
    if phone == OFFICER { OFFICER_SKEW_MS } else { ENGINEER_SKEW_MS }
}

/// A UUIDv7 as a phone makes it when its clock reads `device_ms`: that time, then
/// random bits, here from the fixed-seed generator.
fn v7(device_ms: i64, rng: &mut SplitMix) -> Id {
    let [a, b, c, d, e, f, g, h] = rng.next_u64().to_le_bytes();
    let [i, j, ..] = rng.next_u64().to_le_bytes();
    uuid::Builder::from_unix_timestamp_millis(device_ms.max(0) as u64, &[a, b, c, d, e, f, g, h, i, j]).into_uuid()
}

/// A signed-in phone: its chain, what it made and has not pushed, its tokens.
struct Phone {
    login: &'static str,
    password: String,
    device: Id,
    /// Who signed in on it (from the sign-in's answer).
    person: Id,
    seq: u64,
    prev: String,
    pending: Vec<(Record, Option<Vec<u8>>)>,
    access: String,
    refresh: String,
}

/// Plays the plan against the server.
struct Seeder {
    state: AppState,
    router: axum::Router,
    clock: ManualClock,
    phones: Vec<Phone>,
    rng: SplitMix,
    site_id: Id,
    /// People at desks as their sessions see them, by login (roles do not change).
    desks: std::collections::HashMap<&'static str, Actor>,
    summary: Summary,
    /// The fault notices issued so far, in order.
    faults: Vec<Id>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl Seeder {
    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn move_to(&self, at: i64) {
        let now = self.now();
        if at > now {
            self.clock.advance_ms(at - now);
        }
    }

    /// One API call through the server's router, as a phone makes it.
    async fn call(&self, method: Method, path: &str, token: &str, body: Body, json: bool) -> Result<Value, String> {
        let mut req = Request::builder().method(method).uri(path).header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        req = req.header(header::CONTENT_TYPE, if json { "application/json" } else { "application/octet-stream" });
        let req = req.body(body).map_err(|e| failed(path, e))?;
        let resp = self.router.clone().oneshot(req).await.map_err(|e| failed(path, e))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.map_err(|e| failed(path, e))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status != StatusCode::OK {
            return Err(format!("{path}: {status} {value}"));
        }
        Ok(value)
    }

    async fn post_json(&self, path: &str, token: &str, body: Value) -> Result<Value, String> {
        self.call(Method::POST, path, token, Body::from(body.to_string()), true).await
    }

    /// Signs the phone in on first use, else renews its access token (minutes long)
    /// with its refresh token, as the app does before a sync.
    async fn sign_in(&mut self, i: usize) -> Result<(), String> {
        let p = &self.phones[i];
        let answer = if p.refresh.is_empty() {
            let body = json!({"login": p.login, "password": p.password, "device_id": p.device});
            self.post_json("/api/v1/auth/login", "", body).await?
        } else {
            let body = json!({"refresh_token": p.refresh, "device_id": p.device});
            self.post_json("/api/v1/auth/refresh", "", body).await?
        };
        let p = &mut self.phones[i];
        p.access = answer["access_token"].as_str().unwrap_or_default().to_string();
        p.refresh = answer["refresh_token"].as_str().unwrap_or_default().to_string();
        p.person = answer["person_id"].as_str().and_then(|s| s.parse().ok()).ok_or("a sign-in without a person")?;
        Ok(())
    }

    /// A new phone: signed in, its first pull brings the reference data.
    async fn install(&mut self, i: usize) -> Result<(), String> {
        self.sign_in(i).await?;
        let token = self.phones[i].access.clone();
        let pulled = self.call(Method::GET, "/api/v1/sync/pull?cursor=", &token, Body::empty(), true).await?;
        if pulled["reference"]["checkpoints"].as_array().is_none_or(|c| c.is_empty()) {
            return Err(format!("{} pulled no checkpoints", self.phones[i].login));
        }
        Ok(())
    }

    /// A phone makes a record now, on its own clock.
    fn make(&mut self, i: usize, payload: RecordPayload, photo: Option<Vec<u8>>) {
        let device_time = self.now() - skew(i);
        let id = v7(device_time, &mut self.rng);
        let p = &mut self.phones[i];
        p.seq += 1;
        let rec = Record {
            id,
            author: p.person,
            device: p.device,
            seq: p.seq,
            device_time_ms: device_time,
            prev_hash: p.prev.clone(),
            payload,
        };
        p.prev = rec.hash();
        p.pending.push((rec, photo));
    }

    /// Pushes what the phone made, with clock evidence from `/sync/status`, then
    /// uploads the photos.
    async fn sync(&mut self, i: usize) -> Result<(), String> {
        if self.phones[i].pending.is_empty() {
            return Ok(());
        }
        self.sign_in(i).await?;
        let (device, token) = (self.phones[i].device, self.phones[i].access.clone());
        let status = self
            .call(Method::GET, &format!("/api/v1/sync/status?device_id={device}"), &token, Body::empty(), true)
            .await?;
        let mut time_token = status["time_token"].as_str().unwrap_or_default().to_string();
        let pending = std::mem::take(&mut self.phones[i].pending);
        let records: Vec<Record> = pending.iter().map(|(r, _)| r.clone()).collect();
        for chunk in records.chunks(MAX_PUSH_RECORDS) {
            let req = PushRequest {
                device_id: device,
                sent_at_ms: self.now() - skew(i),
                records: chunk.to_vec(),
                clock: Some(ClockEvidence { time_token: time_token.clone(), elapsed_ms: 0 }),
            };
            let body = serde_json::to_value(&req).map_err(|e| failed("push", e))?;
            let answer = self.post_json("/api/v1/sync/push", &token, body).await?;
            for r in answer["results"].as_array().into_iter().flatten() {
                if r["status"] == serde_json::to_value(RecordStatus::Rejected).unwrap_or_default() {
                    return Err(format!("the server refused a record of {}: {r}", self.phones[i].login));
                }
                self.summary.records += 1;
                if r["notice_number"].is_string() {
                    self.summary.notices += 1;
                }
            }
            time_token = answer["time_token"].as_str().unwrap_or_default().to_string();
        }
        self.summary.runs +=
            records.iter().filter(|r| matches!(r.payload, RecordPayload::RunStarted { .. })).count() as u32;
        for (rec, photo) in pending {
            if let (RecordPayload::PhotoTaken { sha256, .. }, Some(bytes)) = (rec.payload, photo) {
                let path = format!("/api/v1/photos/{sha256}/upload?offset=0");
                let answer = self.call(Method::PUT, &path, &token, Body::from(bytes), false).await?;
                if answer["complete"] != true {
                    return Err(format!("{path}: not complete: {answer}"));
                }
                self.summary.photos += 1;
            }
        }
        Ok(())
    }

    /// The person at a desk as the console's session sees them.
    async fn desk_actor(&mut self, login: &'static str) -> Result<Actor, String> {
        if let Some(actor) = self.desks.get(login) {
            return Ok(actor.clone());
        }
        let found = self
            .state
            .store
            .read(move |c| {
                let Some((person, _)) = people::credentials(c, login)? else { return Ok(None) };
                let roles = people::roles_of(c, person.id)?;
                let org_sites = reference::org_site_ids(c, person.org_id)?;
                Ok(Some(Actor { person, roles, device_id: Id::nil(), org_sites }))
            })
            .await
            .map_err(|e| failed(login, e))?;
        let actor = found.ok_or_else(|| format!("no demo person {login}"))?;
        self.desks.insert(login, actor.clone());
        Ok(actor)
    }

    async fn desk(
        &mut self,
        login: &'static str,
        notice: Id,
        action: NoticeAction,
        reason: String,
        to: Option<Id>,
        photos: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let actor = self.desk_actor(login).await?;
        let mut prepared = Vec::with_capacity(photos.len());
        for bytes in photos {
            // As the console's fix form does with a browser's upload.
            let p = tokio::task::spawn_blocking(move || crate::photos::prepare_upload("现场照片.jpg", &bytes))
                .await
                .map_err(|e| failed("photo", e))?
                .map_err(|e| failed("photo", e))?;
            crate::photos::store_bytes(&self.state, &p.sha256, p.jpeg.clone()).await.map_err(|e| failed("photo", e))?;
            prepared.push(p);
            self.summary.photos += 1;
        }
        let req =
            NoticeActionRequest { action, reason, photos: Vec::new(), reassign_to: to, new_due_ms: None, fault: None };
        patrol_cases::notices::desk::act_on(
            &self.state.store,
            &actor,
            notice,
            req,
            prepared,
            self.state.clock.now_ms(),
        )
        .await
        .map_err(|e| format!("{login} {action:?} on {notice}: {e}"))?;
        self.summary.desk_actions += 1;
        Ok(())
    }

    async fn play(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Record { phone, payload, photo } => self.make(phone, payload, photo),
            Event::Sync { phone } => self.sync(phone).await?,
            Event::Desk { login, notice, action, reason, to, photos } => {
                self.desk(login, notice, action, reason, to, photos).await?
            }
            Event::SignLog { login, day, comment } => {
                let actor = self.desk_actor(login).await?;
                patrol_cases::patrols::review::sign(
                    &self.state.store,
                    &actor,
                    self.site_id,
                    day.to_string(),
                    comment,
                    self.state.clock.now_ms(),
                )
                .await
                .map_err(|e| format!("{login} signing the log of {day}: {e}"))?;
                self.summary.logs_signed += 1;
            }
            Event::Jobs => {
                let now = self.now();
                self.state
                    .store
                    .write(move |c| {
                        crate::schedules::announce_missed(c, now)?;
                        crate::notices::escalation::run(c, now)
                    })
                    .await
                    .map_err(|e| failed("jobs", e))?;
            }
            Event::Fault { login, person, rule, seen, location } => {
                let actor = self.desk_actor(login).await?;
                let org = actor.person.org_id;
                let (person_id, rule_id) = self
                    .state
                    .store
                    .read(move |c| {
                        let p = people::credentials(c, person)?.map(|(p, _)| p.id);
                        let r = patrol_cases::faults::catalogue::rules(c, org)?.into_iter().find(|r| r.code == rule);
                        Ok((p, r.map(|r| r.id)))
                    })
                    .await
                    .map_err(|e| failed("fault notice", e))?;
                let req = patrol_protocol::fault::IssueFaultRequest {
                    site_id: self.site_id,
                    person_id: person_id.ok_or("no such demo person")?,
                    rule_id: rule_id.ok_or("no such demo rule")?,
                    points: None,
                    seen: seen.into(),
                    location: location.into(),
                    notice_id: None,
                };
                let view = patrol_cases::faults::desk::issue(&self.state.store, &actor, req, self.now())
                    .await
                    .map_err(|e| format!("{login} issuing a fault notice to {person}: {e}"))?;
                self.faults.push(view.id);
                self.summary.faults += 1;
            }
            Event::FaultAnswer { login, index, action, reason } => {
                let actor = self.desk_actor(login).await?;
                let req = patrol_protocol::fault::FaultActionRequest { action, reason: reason.into() };
                patrol_cases::faults::desk::act(&self.state.store, &actor, self.faults[index], req, self.now())
                    .await
                    .map_err(|e| format!("{login} answering fault notice {index}: {e}"))?;
            }
            Event::FaultDecision { login, index, decision, points, reason } => {
                let actor = self.desk_actor(login).await?;
                let req = patrol_protocol::fault::AppealDecisionRequest { decision, points, reason: reason.into() };
                patrol_cases::faults::desk::decide(&self.state.store, &actor, self.faults[index], req, self.now())
                    .await
                    .map_err(|e| format!("{login} deciding fault notice {index}: {e}"))?;
            }
            Event::TreeHead => {
                let (store, now) = (self.state.store.clone(), self.now());
                tokio::task::spawn_blocking(move || crate::audit::log::current_head(&store, now))
                    .await
                    .map_err(|e| failed("tree head", e))?
                    .map_err(|e| failed("tree head", e))?;
            }
        }
        Ok(())
    }
}

async fn load_compound(store: &Store) -> Result<Compound, String> {
    store
        .read(|c| {
            let org = reference::first_organisation(c)?
                .ok_or_else(|| crate::store::DbError::Data("no organisation".into()))?;
            let site = reference::list_sites(c, org.id)?
                .into_iter()
                .find(|s| s.code == "JY")
                .ok_or_else(|| crate::store::DbError::Data("no demo site".into()))?;
            let departments = reference::list_departments(c, site.id)?.into_iter().map(|d| (d.kind, d.id)).collect();
            let checkpoints = reference::list_checkpoints(c, site.id)?;
            let routes = reference::list_routes(c, site.id)?;
            Ok(Compound { site, departments, checkpoints, routes })
        })
        .await
        .map_err(|e| failed("reading the demo", e))
}

/// Lives the month up to `now` on a demo `super::load` has just set up at
/// `setup_time(now)` and whose logins are `logins`. Call it once: it assumes the
/// demo's people have done nothing yet.
pub async fn seed(store: Store, settings: Settings, logins: &[DemoLogin], now: i64) -> Result<Summary, String> {
    seed_with(store, settings, logins, now, true).await
}

/// `seed`, with or without the month's staff fault notices (a database of a release
/// before them has none: the migration tests make one).
pub async fn seed_with(
    store: Store,
    settings: Settings,
    logins: &[DemoLogin],
    now: i64,
    assessment: bool,
) -> Result<Summary, String> {
    let started = std::time::Instant::now();
    let setup = setup_time(now);
    let clock = ManualClock::at(setup);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let state = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || AppState::new(store, settings, shared))
            .await
            .map_err(|e| failed("starting the seed", e))??
    };
    let compound = load_compound(&store).await?;
    // The administrator puts up the compound's plan, so runs are drawn on it.
    let (png, width, height) = scenes::site_plan_png();
    let (north, south, west, east) = scenes::PLAN_EXTENT_M;
    let (n, w) = super::offset(north, west);
    let (s, e) = super::offset(south, east);
    let (admin, _) = store
        .read(|c| people::credentials(c, "admin"))
        .await
        .map_err(|e| failed("admin", e))?
        .ok_or("no demo administrator")?;
    let plan = crate::store::web::SitePlan {
        site_id: compound.site.id,
        content_type: "image/png".into(),
        sha256: hex::encode(Sha256::digest(&png)),
        width_px: width.into(),
        height_px: height.into(),
        north: n,
        south: s,
        west: w,
        east: e,
        uploaded_by: admin.id,
        uploaded_ms: setup + 20 * MINUTE,
    };
    store.write(move |c| crate::store::web::put_site_plan(c, &plan, png)).await.map_err(|e| failed("site plan", e))?;

    let mut planned =
        Plan { compound: &compound, events: Vec::new(), rng: SplitMix::new(0x4A59_2026_0001), photo_seed: 0 };
    planned.month(today(now));
    if assessment {
        planned.assessment(today(now));
        planned.events.sort_by_key(|e| (e.at, e.order));
    }
    let password =
        |login: &str| logins.iter().find(|l| l.login == login).map(|l| l.password.clone()).unwrap_or_default();
    let phones: Vec<Phone> = [("patrol", setup + HOUR), ("eng.head", setup + 2 * HOUR)]
        .into_iter()
        .map(|(login, at)| Phone {
            login,
            password: password(login),
            device: planned.id(at),
            person: Id::nil(),
            seq: 0,
            prev: GENESIS_HASH.into(),
            pending: vec![],
            access: String::new(),
            refresh: String::new(),
        })
        .collect();
    let events = std::mem::take(&mut planned.events);
    let mut seeder = Seeder {
        router: crate::router(state.clone()),
        state,
        clock,
        phones,
        rng: SplitMix::new(0x4A59_2026_0002),
        site_id: compound.site.id,
        desks: Default::default(),
        summary: Summary { days: DAYS as u32, ..Summary::default() },
        faults: Vec::new(),
    };
    // The officer and the head of engineering install the app that evening.
    for (i, at) in [(OFFICER, setup + HOUR), (ENGINEER, setup + 2 * HOUR)] {
        seeder.move_to(at);
        seeder.install(i).await?;
    }
    for e in events {
        if e.at > now {
            break;
        }
        seeder.move_to(e.at);
        seeder.play(e.event).await?;
    }
    seeder.summary.elapsed_ms = started.elapsed().as_millis();
    let Seeder { state, router, summary, .. } = seeder;
    drop(router);
    // The month's last leaves and entries, ordered before the server opens.
    state.caught_up().await.map_err(|e| failed("sequencing the month", e))?;
    // The PostgreSQL driver closes its connections with a runtime of its own.
    tokio::task::spawn_blocking(move || drop(state)).await.map_err(|e| failed("closing the seed", e))?;
    Ok(summary)
}
