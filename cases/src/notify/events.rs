//! The events the server raises and their words in Chinese and English, with who
//! hears of each in the app. Each builds a `Message` and hands it to `notify::emit`.

use patrol_protocol::Site;
use serde_json::json;

use super::{Message, emit, people_with_role};
use crate::notices::NoticeRow;
use crate::schedules::ExpectedWindow;
use crate::schedules::waivers::{ACCEPTED, Waiver};
use crate::store::{Conn, DbError, reference};

/// An instant in the site's own time, as people read it on a notice.
pub fn local_time(site: &Site, ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + i64::from(site.utc_offset_minutes) * 60_000)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn route_names(c: &mut dyn Conn, route_id: patrol_protocol::Id) -> Result<(String, String), DbError> {
    Ok(reference::get_route(c, route_id)?
        .map(|r| {
            let en = if r.name_en.is_empty() { r.name_zh.clone() } else { r.name_en };
            (r.name_zh, en)
        })
        .unwrap_or_default())
}

pub fn run_missed(c: &mut dyn Conn, site: &Site, w: &ExpectedWindow, missing: u32, now: i64) -> Result<(), DbError> {
    let (zh, en) = route_names(c, w.route_id)?;
    // A night window's end is on the next day: "+1", in both languages.
    let next_day = if w.end_minute < w.start_minute { "(+1)" } else { "" };
    let span = format!("{} {}–{}{next_day}", w.day, hhmm(w.start_minute), hhmm(w.end_minute));
    let msg = Message {
        event: "run_missed".into(),
        key: format!("run_missed:{}:{}", w.route_id, w.start_ms),
        site_id: site.id,
        notice_id: None,
        title_zh: format!("漏巡：{zh}"),
        title_en: format!("Patrol missed: {en}"),
        body_zh: format!("{}「{zh}」{span} 应巡 {} 次，缺 {missing} 次。", site.name_zh, w.runs),
        body_en: format!(
            "{}: route \"{en}\" expected {} run(s) {span}; {missing} missing.",
            site_name_en(site),
            w.runs
        ),
        data: json!({"route_id": w.route_id, "window_start_ms": w.start_ms, "window_end_ms": w.end_ms, "missing": missing}),
        occurred_ms: w.end_ms,
    };
    let to = people_with_role(c, "site_supervisor", Some(site.id), None, site.org_id)?;
    emit(c, &msg, &to, now)
}

fn site_name_en(site: &Site) -> &str {
    if site.name_en.is_empty() { &site.name_zh } else { &site.name_en }
}

pub fn waiver_requested(c: &mut dyn Conn, site: &Site, w: &Waiver, now: i64) -> Result<(), DbError> {
    let (zh, en) = route_names(c, w.route_id)?;
    let when = local_time(site, w.window_start_ms);
    let msg = Message {
        event: "waiver_requested".into(),
        key: format!("waiver_requested:{}", w.id),
        site_id: site.id,
        notice_id: None,
        title_zh: format!("不巡检申请：{zh}"),
        title_en: format!("Patrol waiver asked: {en}"),
        body_zh: format!("「{zh}」{when} 的巡检申请不做，原因：{}。请审批。", w.reason),
        body_en: format!("Route \"{en}\" at {when} will not be walked: {}. Please accept or reject.", w.reason),
        data: json!({"waiver_id": w.id, "route_id": w.route_id, "window_start_ms": w.window_start_ms, "person_id": w.person_id}),
        occurred_ms: now,
    };
    let to = people_with_role(c, "site_supervisor", Some(site.id), None, site.org_id)?;
    emit(c, &msg, &to, now)
}

pub fn waiver_decided(c: &mut dyn Conn, site: &Site, w: &Waiver, now: i64) -> Result<(), DbError> {
    let (zh, en) = route_names(c, w.route_id)?;
    let when = local_time(site, w.window_start_ms);
    let accepted = w.state == ACCEPTED;
    let note = w.decision_note.clone().unwrap_or_default();
    let msg = Message {
        event: "waiver_decided".into(),
        key: format!("waiver_decided:{}", w.id),
        site_id: site.id,
        notice_id: None,
        title_zh: format!("不巡检申请已{}：{zh}", if accepted { "批准" } else { "驳回" }),
        title_en: format!("Patrol waiver {}: {en}", if accepted { "accepted" } else { "rejected" }),
        body_zh: format!("「{zh}」{when}：{note}"),
        body_en: format!("Route \"{en}\" at {when}: {note}"),
        data: json!({"waiver_id": w.id, "state": w.state}),
        occurred_ms: now,
    };
    emit(c, &msg, &[w.person_id], now)
}

/// A step of a notice's escalation ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStep {
    /// Before due, to the department's heads.
    Reminder,
    /// Not signed for in time after routing, to the heads and the site's supervisors.
    NotDelivered,
    /// Due passed, to the site's supervisors.
    Overdue,
    /// Long past due, to the organisation's managers.
    Escalated,
}

impl NoticeStep {
    pub fn event(self) -> &'static str {
        match self {
            NoticeStep::Reminder => "notice_reminder",
            NoticeStep::NotDelivered => "notice_not_delivered",
            NoticeStep::Overdue => "notice_overdue",
            NoticeStep::Escalated => "notice_escalated",
        }
    }
}

pub fn notice_step(
    c: &mut dyn Conn,
    site: &Site,
    n: &NoticeRow,
    step: NoticeStep,
    step_key: &str,
    now: i64,
) -> Result<(), DbError> {
    let number = n.number.clone().unwrap_or_default();
    let dept = reference::get_department(c, n.department_id)?;
    let (dept_zh, dept_en) = dept.map(|d| (d.name_zh, d.name_en)).unwrap_or_default();
    let due = local_time(site, n.due_ms);
    let heads = people_with_role(c, "department_head", Some(site.id), Some(n.department_id), site.org_id)?;
    let supervisors = people_with_role(c, "site_supervisor", Some(site.id), None, site.org_id)?;
    let (title_zh, title_en, body_zh, body_en, to) = match step {
        NoticeStep::Reminder => (
            format!("整改即将到期：{number}"),
            format!("Notice due soon: {number}"),
            format!("{dept_zh}：{}（{}）请于 {due} 前完成整改。", n.description, n.location),
            format!("{dept_en}: {} ({}) is due by {due}.", n.description, n.location),
            heads,
        ),
        NoticeStep::NotDelivered => (
            format!("通知单未签收：{number}"),
            format!("Notice not signed for: {number}"),
            format!("{dept_zh} 尚未签收整改通知单 {number}：{}。", n.description),
            format!("{dept_en} has not signed for notice {number}: {}.", n.description),
            heads.into_iter().chain(supervisors).collect(),
        ),
        NoticeStep::Overdue => (
            format!("整改已逾期：{number}"),
            format!("Notice overdue: {number}"),
            format!("{dept_zh} 的整改通知单 {number} 已于 {due} 到期未完成：{}。", n.description),
            format!("Notice {number} to {dept_en} was due {due} and is not fixed: {}.", n.description),
            supervisors,
        ),
        NoticeStep::Escalated => (
            format!("整改严重逾期，升级：{number}"),
            format!("Notice escalated: {number}"),
            format!("{dept_zh} 的整改通知单 {number} 自 {due} 逾期至今：{}。", n.description),
            format!("Notice {number} to {dept_en} has been overdue since {due}: {}.", n.description),
            people_with_role(c, "org_supervisor", None, None, site.org_id)?,
        ),
    };
    let msg = Message {
        event: step.event().into(),
        key: format!("notice:{}:{step_key}", n.id),
        site_id: site.id,
        notice_id: Some(n.id),
        title_zh,
        title_en,
        body_zh,
        body_en,
        data: json!({"notice_id": n.id, "number": n.number, "state": n.state, "due_ms": n.due_ms,
                     "department_id": n.department_id, "severity": n.severity}),
        occurred_ms: now,
    };
    emit(c, &msg, &to, now)
}
