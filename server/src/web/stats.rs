//! What supervisors count: a day's expected patrols against the runs walked (done,
//! late, missed per schedule window, as `schedules` judges them), open and overdue notices per department, and
//! the month's summary per site, department and person. Read-only over projections.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use patrol_protocol::notice::NoticeState;
use patrol_protocol::{Id, Site};

use crate::params;
use crate::schedules::{self, Verdict};
use crate::store::{Conn, DbError, Value, reference};
use crate::sync::outcome::local_date;

/// The UTC instant of a site's local midnight starting `day`.
pub fn day_start_ms(site: &Site, day: NaiveDate) -> i64 {
    schedules::day_start_ms(site, day)
}

/// Today in the site's time zone.
pub fn today(site: &Site, now: i64) -> NaiveDate {
    local_date(now, site.utc_offset_minutes)
}

/// The site's local date of an instant.
pub fn local_day(site: &Site, ms: i64) -> NaiveDate {
    schedules::local_day(site, ms)
}

/// One schedule window of one route on one day, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStatus {
    pub route_id: Id,
    pub start_minute: u32,
    pub end_minute: u32,
    pub expected: u32,
    /// Runs on time (started inside the window, finished by its end, trusted times).
    pub done: u32,
    /// Runs started after the window ended, or finished past it.
    pub late: u32,
    /// The window ended with neither.
    pub missed: u32,
    /// The window has not ended yet and still waits for runs.
    pub pending: u32,
    /// A supervisor accepted a "won't do".
    pub waived: u32,
    /// A run came whose times cannot be trusted (clock off, synced too late).
    pub flagged: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayStatus {
    pub windows: Vec<WindowStatus>,
    pub expected: u32,
    pub done: u32,
    pub late: u32,
    pub missed: u32,
    pub pending: u32,
    pub waived: u32,
    pub flagged: u32,
    /// Checkpoints of the day's scheduled routes visited by at least one run.
    pub checkpoints_covered: u32,
    pub checkpoints_total: u32,
    pub runs: u32,
    /// Runs of the day no expected window counts (`DayAudit::unscheduled`).
    pub unscheduled: u32,
}

/// A day's windows and how they went, as `schedules::audit_day` judges them (the one
/// definition of on time, late, missed, waived and flagged), plus checkpoint coverage.
pub fn day_status(c: &mut dyn Conn, site: &Site, day: NaiveDate, now: i64) -> Result<DayStatus, DbError> {
    Ok(Days::load(c, &[site], day, day)?.status(site, day, now))
}

/// What the supervisor's pages count for some sites over some local days, read in a
/// fixed number of statements whatever their number: the audit's ledger and the
/// checkpoints each day's runs visited.
pub struct Days {
    ledger: schedules::Ledger,
    visited: HashMap<(Id, NaiveDate), BTreeSet<Id>>,
}

impl Days {
    pub fn load(c: &mut dyn Conn, sites: &[&Site], first: NaiveDate, last: NaiveDate) -> Result<Days, DbError> {
        let ledger = schedules::Ledger::load(c, sites, first, last)?;
        let mut visited: HashMap<(Id, NaiveDate), BTreeSet<Id>> = HashMap::new();
        if !sites.is_empty() && first <= last {
            let n = sites.len();
            let mut args: Vec<Value> = sites.iter().map(|s| Value::from(s.id)).collect();
            args.push(first.to_string().into());
            args.push(last.to_string().into());
            // Every checkpoint visited by a run of the day, however many runs there were.
            for r in c.query(
                &format!(
                    "SELECT DISTINCT r.site_id, r.local_day, v.checkpoint_id FROM visits v JOIN runs r ON r.id = v.run_id
                     WHERE r.site_id IN ({}) AND r.local_day >= ${} AND r.local_day <= ${}",
                    crate::store::marks(1, n),
                    n + 1,
                    n + 2
                ),
                &args,
            )? {
                let day = NaiveDate::parse_from_str(&r.text(1)?, "%Y-%m-%d")
                    .map_err(|_| DbError::Data("stored local day is not a date".into()))?;
                visited.entry((r.uuid(0)?, day)).or_default().insert(r.uuid(2)?);
            }
        }
        Ok(Days { ledger, visited })
    }

    /// How one loaded site's loaded day went at `now`.
    pub fn status(&self, site: &Site, day: NaiveDate, now: i64) -> DayStatus {
        let audit = self.ledger.audit(site, day, now);
        let routes = self.ledger.book(site.id).map(|b| b.routes()).unwrap_or_default();
        let windows: Vec<WindowStatus> = audit
            .windows
            .iter()
            .map(|w| WindowStatus {
                route_id: w.window.route_id,
                start_minute: w.window.start_minute,
                end_minute: w.window.end_minute,
                expected: w.window.runs,
                done: w.count(Verdict::OnTime),
                late: w.count(Verdict::Late),
                missed: w.count(Verdict::Missed),
                pending: w.count(Verdict::Pending),
                waived: w.count(Verdict::Waived),
                flagged: w.count(Verdict::Flagged),
            })
            .collect();
        let scheduled: BTreeSet<Id> = windows
            .iter()
            .filter_map(|w| routes.iter().find(|r| r.id == w.route_id))
            .flat_map(|r| r.checkpoint_ids.iter().copied())
            .collect();
        let none = BTreeSet::new();
        let visited = self.visited.get(&(site.id, day)).unwrap_or(&none);
        DayStatus {
            expected: audit.expected,
            done: audit.on_time,
            late: audit.late,
            missed: audit.missed,
            pending: audit.pending,
            waived: audit.waived,
            flagged: audit.flagged,
            checkpoints_covered: scheduled.intersection(visited).count() as u32,
            checkpoints_total: scheduled.len() as u32,
            runs: audit.runs,
            unscheduled: audit.unscheduled,
            windows,
        }
    }
}

/// Open and overdue notices of one department at a site.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeptOpen {
    pub open: u32,
    pub overdue: u32,
    pub awaiting_receipt: u32,
}

/// Counted in the database over every open notice of the site.
pub fn open_by_department(c: &mut dyn Conn, site_id: Id, now: i64) -> Result<BTreeMap<Id, DeptOpen>, DbError> {
    Ok(open_by_site_department(c, &[site_id], now)?.remove(&site_id).unwrap_or_default())
}

/// The same for several sites in one statement.
pub fn open_by_site_department(
    c: &mut dyn Conn,
    site_ids: &[Id],
    now: i64,
) -> Result<HashMap<Id, BTreeMap<Id, DeptOpen>>, DbError> {
    let mut out: HashMap<Id, BTreeMap<Id, DeptOpen>> = HashMap::new();
    if site_ids.is_empty() {
        return Ok(out);
    }
    let n = site_ids.len();
    let mut args: Vec<Value> = site_ids.iter().map(|id| Value::from(*id)).collect();
    args.push(now.into());
    args.push(NoticeState::Issued.as_str().into());
    // SUM of integers is NUMERIC in PostgreSQL: cast so both databases answer one.
    let rows = c.query(
        &format!(
            "SELECT site_id, department_id, COUNT(*),
                    CAST(COALESCE(SUM(CASE WHEN due_ms < ${a} THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN state = ${b} THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM notices WHERE site_id IN ({marks}) AND state NOT IN ('closed', 'voided')
             GROUP BY site_id, department_id",
            a = n + 1,
            b = n + 2,
            marks = crate::store::marks(1, n)
        ),
        &args,
    )?;
    for r in &rows {
        let open = DeptOpen { open: r.int(2)? as u32, overdue: r.int(3)? as u32, awaiting_receipt: r.int(4)? as u32 };
        out.entry(r.uuid(0)?).or_default().insert(r.uuid(1)?, open);
    }
    Ok(out)
}

/// The local day a site was set up: nothing before it counts (no log to sign, no
/// patrol expected).
pub fn site_first_day(c: &mut dyn Conn, site: &Site) -> Result<NaiveDate, DbError> {
    let created = c
        .query_opt("SELECT created_ms FROM sites WHERE id = $1", &params![site.id])?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(i64::MIN / 2);
    Ok(local_day(site, created))
}

/// When the site's first schedule or special period was set up, if any: schedules
/// keep no history, so each counts from its creation and nothing is expected before.
pub fn schedules_since(c: &mut dyn Conn, site: &Site) -> Result<Option<i64>, DbError> {
    let row = c.query_one(
        "SELECT (SELECT MIN(s.created_ms) FROM schedules s JOIN routes r ON r.id = s.route_id WHERE r.site_id = $1),
                (SELECT MIN(p.created_ms) FROM special_periods p WHERE p.site_id = $1)",
        &params![site.id],
    )?;
    Ok([row.opt_int(0)?, row.opt_int(1)?].into_iter().flatten().min())
}

/// Days among the last `days` before today whose log no supervisor has signed; days
/// before the site was set up have no log and are not among them.
pub fn unsigned_days(c: &mut dyn Conn, site: &Site, now: i64, days: i64) -> Result<Vec<NaiveDate>, DbError> {
    Ok(unsigned_days_of(c, &[site], now, days)?.remove(&site.id).unwrap_or_default())
}

/// The same for several sites in two statements.
pub fn unsigned_days_of(
    c: &mut dyn Conn,
    sites: &[&Site],
    now: i64,
    days: i64,
) -> Result<HashMap<Id, Vec<NaiveDate>>, DbError> {
    let mut out = HashMap::new();
    if sites.is_empty() || days < 1 {
        return Ok(out);
    }
    let n = sites.len();
    let marks = crate::store::marks(1, n);
    let ids: Vec<Value> = sites.iter().map(|s| Value::from(s.id)).collect();
    let created: HashMap<Id, i64> = c
        .query(&format!("SELECT id, created_ms FROM sites WHERE id IN ({marks})"), &ids)?
        .iter()
        .map(|r| Ok((r.uuid(0)?, r.int(1)?)))
        .collect::<Result<_, DbError>>()?;
    let first = sites.iter().map(|s| today(s, now) - chrono::Duration::days(days)).min().expect("a site");
    let last = sites.iter().map(|s| today(s, now)).max().expect("a site");
    let mut args = ids;
    args.push(first.to_string().into());
    args.push(last.to_string().into());
    let signed: BTreeSet<(Id, String)> = c
        .query(
            &format!(
                "SELECT DISTINCT site_id, day FROM daily_log_signatures
                 WHERE site_id IN ({marks}) AND day >= ${} AND day <= ${}",
                n + 1,
                n + 2
            ),
            &args,
        )?
        .iter()
        .map(|r| Ok((r.uuid(0)?, r.text(1)?)))
        .collect::<Result<_, DbError>>()?;
    for site in sites {
        let today = today(site, now);
        let first = created.get(&site.id).map_or(NaiveDate::MIN, |ms| local_day(site, *ms));
        let mut unsigned = Vec::new();
        for back in 1..=days {
            let day = today - chrono::Duration::days(back);
            if day < first {
                break;
            }
            if !signed.contains(&(site.id, day.to_string())) {
                unsigned.push(day);
            }
        }
        out.insert(site.id, unsigned);
    }
    Ok(out)
}

/// One department's notices raised in a month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeptMonth {
    pub raised: u32,
    pub closed: u32,
    pub closed_on_time: u32,
    /// Open past their due time now, or closed after it.
    pub overdue: u32,
    pub voided: u32,
    /// Median hours from receipt to closing, of those closed.
    pub median_hours_to_close: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonMonth {
    pub name: String,
    pub runs: u32,
    pub checkpoints_visited: u32,
    pub notices_raised: u32,
    /// Actions on notices (receipts, fixes, verifications …) that took effect.
    pub notice_actions: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthSummary {
    pub year: i32,
    pub month: u32,
    /// Per day of the month from the site's first day up to today: (day, expected,
    /// done, late, missed).
    pub days: Vec<(NaiveDate, u32, u32, u32, u32)>,
    /// Runs expected by windows up to now, those still to come included.
    pub expected: u32,
    pub done: u32,
    pub late: u32,
    pub missed: u32,
    /// Expected runs whose window has not ended yet (today's later windows): not
    /// counted in the completion rate.
    pub pending: u32,
    pub runs: u32,
    /// Runs no expected window counts (walked outside every window, or beyond what a
    /// window asked for).
    pub unscheduled: u32,
    /// Route checkpoints visited over route checkpoints of the month's runs.
    pub coverage_visited: u32,
    pub coverage_total: u32,
    pub departments: BTreeMap<Id, DeptMonth>,
    pub people: BTreeMap<Id, PersonMonth>,
}

impl MonthSummary {
    pub fn coverage_percent(&self) -> f64 {
        percent(self.coverage_visited, self.coverage_total)
    }
    /// Expected runs whose window has ended (or was already walked): the windows a
    /// completion rate is over.
    pub fn elapsed(&self) -> u32 {
        self.expected - self.pending
    }
    /// Done (on time or late) over the expected runs of elapsed windows: a window
    /// still to come is neither done nor missed yet.
    pub fn done_percent(&self) -> f64 {
        percent(self.done + self.late, self.elapsed())
    }
}

pub fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 { 0.0 } else { f64::from(part) * 100.0 / f64::from(whole) }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Parses `YYYY-MM`, the month in a summary's address.
pub fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (y, m) = text.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    NaiveDate::from_ymd_opt(y, m, 1).map(|_| (y, m))
}

/// The month's summary of a site, counted up to `now`.
pub fn month_summary(c: &mut dyn Conn, site: &Site, year: i32, month: u32, now: i64) -> Result<MonthSummary, DbError> {
    let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| DbError::Data("bad month".into()))?;
    let next =
        if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) }
            .expect("valid month");
    let today = today(site, now);
    let mut s = MonthSummary { year, month, ..MonthSummary::default() };
    let mut day = first.max(site_first_day(c, site)?);
    // The month's days judged from one load, not one load a day.
    let days = Days::load(c, &[site], day, (next - chrono::Duration::days(1)).min(today))?;
    while day < next && day <= today {
        let st = days.status(site, day, now);
        s.days.push((day, st.expected, st.done, st.late, st.missed));
        s.expected += st.expected;
        s.done += st.done;
        s.late += st.late;
        s.missed += st.missed;
        s.pending += st.pending;
        s.unscheduled += st.unscheduled;
        day += chrono::Duration::days(1);
    }
    let routes = reference::list_routes_all(c, site.id)?;
    let people: BTreeMap<Id, String> =
        crate::store::people::list_people(c, site.org_id)?.into_iter().map(|p| (p.id, p.display_name)).collect();
    let name = |id: &Id| people.get(id).cloned().unwrap_or_default();
    let (from_day, to_day) = (first.to_string(), next.to_string());
    let route_of = |id: Id| routes.iter().find(|x| x.id == id);
    // Everything below is counted in the database over the whole month: no page of
    // runs or notices stands in for all of them.
    let per_route = c.query(
        "SELECT route_id, COUNT(*) FROM runs WHERE site_id = $1 AND local_day >= $2 AND local_day < $3
         GROUP BY route_id",
        &params![site.id, from_day.clone(), to_day.clone()],
    )?;
    for r in &per_route {
        let runs = r.int(1)? as u32;
        s.runs += runs;
        s.coverage_total += runs * route_of(r.uuid(0)?).map_or(0, |x| x.checkpoint_ids.len() as u32);
    }
    // (route, checkpoint, runs of the route that visited it).
    let visits = c.query(
        "SELECT x.route_id, x.checkpoint_id, COUNT(*) FROM
           (SELECT DISTINCT r.id, r.route_id, v.checkpoint_id FROM visits v JOIN runs r ON r.id = v.run_id
            WHERE r.site_id = $1 AND r.local_day >= $2 AND r.local_day < $3) x
         GROUP BY x.route_id, x.checkpoint_id",
        &params![site.id, from_day.clone(), to_day.clone()],
    )?;
    for r in &visits {
        let (route, checkpoint) = (r.uuid(0)?, r.uuid(1)?);
        if route_of(route).is_some_and(|x| x.checkpoint_ids.contains(&checkpoint)) {
            s.coverage_visited += r.int(2)? as u32;
        }
    }
    let per_person = c.query(
        "SELECT person_id, COUNT(*) FROM runs WHERE site_id = $1 AND local_day >= $2 AND local_day < $3
         GROUP BY person_id",
        &params![site.id, from_day.clone(), to_day.clone()],
    )?;
    for r in &per_person {
        let person = r.uuid(0)?;
        s.people.entry(person).or_insert_with(|| PersonMonth { name: name(&person), ..Default::default() }).runs +=
            r.int(1)? as u32;
    }
    // Checkpoints each person's runs visited, each counted once per run.
    let visited = c.query(
        "SELECT x.person_id, COUNT(*) FROM
           (SELECT DISTINCT r.person_id, v.run_id, v.checkpoint_id FROM visits v JOIN runs r ON r.id = v.run_id
            WHERE r.site_id = $1 AND r.local_day >= $2 AND r.local_day < $3) x
         GROUP BY x.person_id",
        &params![site.id, from_day, to_day],
    )?;
    for r in &visited {
        let person = r.uuid(0)?;
        s.people
            .entry(person)
            .or_insert_with(|| PersonMonth { name: name(&person), ..Default::default() })
            .checkpoints_visited += r.int(1)? as u32;
    }
    let (start, end) = (day_start_ms(site, first), day_start_ms(site, next));
    let per_state = c.query(
        "SELECT department_id, state, COUNT(*), CAST(COALESCE(SUM(CASE WHEN due_ms < $4 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM notices WHERE site_id = $1 AND received_ms >= $2 AND received_ms < $3 GROUP BY department_id, state",
        &params![site.id, start, end, now],
    )?;
    for r in &per_state {
        let d = s.departments.entry(r.uuid(0)?).or_default();
        let (count, past_due) = (r.int(2)? as u32, r.int(3)? as u32);
        d.raised += count;
        match NoticeState::parse(&r.text(1)?).unwrap_or(NoticeState::Issued) {
            // Counted one by one below: on time or not depends on when each closed.
            NoticeState::Closed => {}
            NoticeState::Voided => d.voided += count,
            _ => d.overdue += past_due,
        }
    }
    // The closed ones, each with when it closed: the median needs every duration.
    let closed = c.query(
        "SELECT n.department_id, n.due_ms, n.received_ms,
                (SELECT MAX(e.server_ms) FROM notice_events e WHERE e.notice_id = n.id AND e.to_state = 'closed')
         FROM notices n WHERE n.site_id = $1 AND n.received_ms >= $2 AND n.received_ms < $3 AND n.state = 'closed'",
        &params![site.id, start, end],
    )?;
    let mut hours: BTreeMap<Id, Vec<f64>> = BTreeMap::new();
    for r in &closed {
        let dept = r.uuid(0)?;
        let (due, received, closed_at) = (r.int(1)?, r.int(2)?, r.opt_int(3)?);
        let d = s.departments.entry(dept).or_default();
        match closed_at {
            Some(at) => {
                d.closed += 1;
                if at <= due {
                    d.closed_on_time += 1;
                } else {
                    d.overdue += 1;
                }
                hours.entry(dept).or_default().push((at - received) as f64 / 3_600_000.0);
            }
            None if now > due => d.overdue += 1,
            None => {}
        }
    }
    for (dept, h) in hours {
        if let Some(d) = s.departments.get_mut(&dept) {
            d.median_hours_to_close = median(h);
        }
    }
    let issuers = c.query(
        "SELECT issuer_id, COUNT(*) FROM notices WHERE site_id = $1 AND received_ms >= $2 AND received_ms < $3
         GROUP BY issuer_id",
        &params![site.id, start, end],
    )?;
    for r in &issuers {
        let issuer = r.uuid(0)?;
        s.people
            .entry(issuer)
            .or_insert_with(|| PersonMonth { name: name(&issuer), ..Default::default() })
            .notices_raised += r.int(1)? as u32;
    }
    let acts = c.query(
        "SELECT e.actor_id, COUNT(*) FROM notice_events e JOIN notices n ON n.id = e.notice_id
         WHERE n.site_id = $1 AND e.server_ms >= $2 AND e.server_ms < $3 AND e.to_state IS NOT NULL AND e.action <> 'raised'
         GROUP BY e.actor_id",
        &params![site.id, start, end],
    )?;
    for r in &acts {
        let person = r.uuid(0)?;
        s.people
            .entry(person)
            .or_insert_with(|| PersonMonth { name: name(&person), ..Default::default() })
            .notice_actions += r.int(1)? as u32;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_four_digit_years_and_real_months() {
        assert_eq!(parse_month("2026-11"), Some((2026, 11)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("26-11"), None);
        assert_eq!(parse_month("2026-011"), None);
        assert_eq!(parse_month("november"), None);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 10.0]), Some(3.0));
    }
}
