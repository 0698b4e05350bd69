//! Today's plan: the runs the schedules expect of the signed-in person today, each
//! with its window in site-local time and whether it is done, under way, due or missed.

use chrono::Datelike;
use patrol_protocol::reason::Reason;
use patrol_protocol::{Id, Role, Route, Schedule, Site};
use rusqlite::Connection;

use crate::core::{Core, signed_in};
use crate::error::{Error, Result};
use crate::reference;
use crate::store::parse_id;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PlanStatus {
    /// A run started in the window and was finished.
    Done,
    /// A run started in the window and is still open.
    InProgress,
    /// No run yet; the window has not closed.
    Pending,
    /// No run, and the window has closed.
    Missed,
}

/// One expected run: a slot of a schedule's window today.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedRun {
    pub schedule_id: Id,
    pub route_id: Id,
    pub route_name_zh: String,
    pub route_name_en: String,
    pub site_id: Id,
    pub site_name_zh: String,
    /// The site's local date, YYYY-MM-DD.
    pub local_date: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// 1-based: a window expecting two runs has slots 1 and 2.
    pub slot: u32,
    pub status: PlanStatus,
    pub run_id: Option<Id>,
}

impl Core {
    pub fn today_plan(&self) -> Result<Vec<PlannedRun>> {
        self.plan_at(self.now_ms())
    }

    /// The plan of the site-local day containing `now_ms`.
    pub fn plan_at(&self, now_ms: i64) -> Result<Vec<PlannedRun>> {
        self.store.read(|conn| {
            let person = signed_in(conn)?.ok_or(Error::NotSignedIn)?;
            let mut sites: Vec<Id> = person
                .roles
                .iter()
                .filter_map(|r| if let Role::PatrolStaff { site_id } = r { Some(*site_id) } else { None })
                .collect();
            sites.sort();
            sites.dedup();
            let mut plan = vec![];
            for site_id in sites {
                let Some(site) = reference::find::<Site>(conn, site_id)? else { continue };
                plan_site(conn, &site, person.person_id, now_ms, &mut plan)?;
            }
            plan.sort_by(|a, b| {
                (a.window_start_ms, &a.route_name_zh, a.slot).cmp(&(b.window_start_ms, &b.route_name_zh, b.slot))
            });
            Ok(plan)
        })
    }
}

fn plan_site(conn: &Connection, site: &Site, person: Id, now_ms: i64, plan: &mut Vec<PlannedRun>) -> Result<()> {
    let offset_ms = site.utc_offset_minutes as i64 * 60_000;
    let local_day = (now_ms + offset_ms).div_euclid(DAY_MS);
    let midnight_utc = local_day * DAY_MS - offset_ms;
    let date = chrono::DateTime::from_timestamp_millis(local_day * DAY_MS)
        .ok_or_else(|| Error::invalid("now", Reason::TimeOutOfRange))?
        .date_naive();
    let weekday = date.weekday().number_from_monday() as u8;

    let routes: Vec<Route> = reference::list(conn, Some(site.id))?;
    let schedules: Vec<Schedule> = reference::list(conn, Some(site.id))?;
    for schedule in schedules.iter().filter(|s| s.days_of_week.contains(&weekday)) {
        let Some(route) = routes.iter().find(|r| r.id == schedule.route_id) else { continue };
        // This person's runs of the route started today, oldest first; each fills
        // the first free slot of the window it started in.
        let mut runs = runs_between(conn, person, route.id, midnight_utc, midnight_utc + DAY_MS)?;
        for w in &schedule.windows {
            let start = midnight_utc + w.start_minute as i64 * 60_000;
            // A night window (23:00–01:00) ends on the next day.
            let end = midnight_utc + w.end_offset_minutes() as i64 * 60_000;
            for slot in 1..=w.runs {
                let taken = runs.iter().position(|(_, started, _)| (start..end).contains(started));
                let (status, run_id) = match taken.map(|i| runs.remove(i)) {
                    Some((id, _, true)) => (PlanStatus::Done, Some(id)),
                    Some((id, _, false)) => (PlanStatus::InProgress, Some(id)),
                    None if now_ms >= end => (PlanStatus::Missed, None),
                    None => (PlanStatus::Pending, None),
                };
                plan.push(PlannedRun {
                    schedule_id: schedule.id,
                    route_id: route.id,
                    route_name_zh: route.name_zh.clone(),
                    route_name_en: route.name_en.clone(),
                    site_id: site.id,
                    site_name_zh: site.name_zh.clone(),
                    local_date: date.format("%Y-%m-%d").to_string(),
                    window_start_ms: start,
                    window_end_ms: end,
                    slot,
                    status,
                    run_id,
                });
            }
        }
    }
    Ok(())
}

/// (run id, started, finished?) of one person's runs of a route in [from, to).
fn runs_between(conn: &Connection, person: Id, route: Id, from: i64, to: i64) -> Result<Vec<(Id, i64, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, started_ms, finished_ms IS NOT NULL FROM runs
         WHERE person_id = ?1 AND route_id = ?2 AND started_ms >= ?3 AND started_ms < ?4 ORDER BY started_ms",
    )?;
    let rows = stmt.query_map(rusqlite::params![person.to_string(), route.to_string(), from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, bool>(2)?))
    })?;
    let mut out = vec![];
    for row in rows {
        let (id, started, finished) = row?;
        out.push((parse_id(&id)?, started, finished));
    }
    Ok(out)
}
