//! Expected patrols: the windows each route's schedule, special periods (入伙期 …) and
//! holidays make a site expect per local day, and how each went on server-trusted time.
//! This is the one definition of on time, late, missed, waived and flagged.

pub mod rules;
pub mod waivers;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use patrol_protocol::{Id, Route, Site, TimeWindow};
use serde::Serialize;

use crate::params;
use crate::store::{Conn, DbError, Row, reference};
use crate::sync::outcome::local_date;
use rules::SiteRules;

pub const DAY_MS: i64 = 86_400_000;

/// The UTC instant of a site's local midnight starting `day`.
pub fn day_start_ms(site: &Site, day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis()
        - i64::from(site.utc_offset_minutes) * 60_000
}

/// The site's local date of an instant.
pub fn local_day(site: &Site, ms: i64) -> NaiveDate {
    local_date(ms, site.utc_offset_minutes)
}

/// One window of one route on one day in which `runs` patrols are expected.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ExpectedWindow {
    pub route_id: Id,
    pub day: NaiveDate,
    pub start_minute: u32,
    pub end_minute: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub runs: u32,
    /// The special period whose schedule this window comes from, if any.
    pub period_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SpecialPeriod {
    pub id: Id,
    pub site_id: Id,
    pub route_id: Id,
    /// `move_in` (入伙期) or `other`.
    pub kind: String,
    pub name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
    #[serde(skip)]
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Holiday {
    pub day: NaiveDate,
    pub name: String,
}

fn bad(what: &str) -> DbError {
    DbError::Data(format!("stored {what} is not valid"))
}

fn day_of(r: &Row, i: usize) -> Result<NaiveDate, DbError> {
    NaiveDate::parse_from_str(&r.text(i)?, "%Y-%m-%d").map_err(|_| bad("day"))
}

const PERIOD_COLUMNS: &str =
    "id, site_id, route_id, kind, name, first_day, last_day, days_json, windows_json, created_ms";

fn period(r: &Row) -> Result<SpecialPeriod, DbError> {
    Ok(SpecialPeriod {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        route_id: r.uuid(2)?,
        kind: r.text(3)?,
        name: r.text(4)?,
        first_day: day_of(r, 5)?,
        last_day: day_of(r, 6)?,
        days_of_week: serde_json::from_str(&r.text(7)?).map_err(|_| bad("period days"))?,
        windows: serde_json::from_str(&r.text(8)?).map_err(|_| bad("period windows"))?,
        created_ms: r.int(9)?,
    })
}

pub fn insert_period(c: &mut dyn Conn, p: &SpecialPeriod) -> Result<(), DbError> {
    c.execute(
        &format!("INSERT INTO special_periods ({PERIOD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        &params![
            p.id,
            p.site_id,
            p.route_id,
            &p.kind,
            &p.name,
            p.first_day.to_string(),
            p.last_day.to_string(),
            serde_json::to_string(&p.days_of_week).expect("days serialise"),
            serde_json::to_string(&p.windows).expect("windows serialise"),
            p.created_ms
        ],
    )?;
    Ok(())
}

pub fn list_periods(c: &mut dyn Conn, site_id: Id) -> Result<Vec<SpecialPeriod>, DbError> {
    c.query(
        &format!("SELECT {PERIOD_COLUMNS} FROM special_periods WHERE site_id = $1 ORDER BY first_day, id"),
        &params![site_id],
    )?
    .iter()
    .map(period)
    .collect()
}

pub fn insert_holiday(c: &mut dyn Conn, site_id: Id, h: &Holiday, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO holidays (site_id, day, name, created_ms) VALUES ($1, $2, $3, $4)",
        &params![site_id, h.day.to_string(), &h.name, now],
    )?;
    Ok(())
}

pub fn list_holidays(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Holiday>, DbError> {
    c.query("SELECT day, name FROM holidays WHERE site_id = $1 ORDER BY day", &params![site_id])?
        .iter()
        .map(|r| Ok(Holiday { day: day_of(r, 0)?, name: r.text(1)? }))
        .collect()
}

/// The windows a site expects on one local day, ordered by start.
///
/// - A special period covering the day replaces its route's regular schedules, on
///   holidays too (move-in goes on over a holiday: that is when owners come); of
///   overlapping periods the latest set up wins.
/// - Otherwise a holiday expects nothing of the regular schedules.
/// - A schedule or period expects nothing of windows that ended before it was set
///   up: no missed patrols on the days before a site started using the system.
/// - A schedule edited or retired over time (`reference::write_version`) counts each
///   window under the version in force when the window ends: a window ending before
///   an edit follows the old days and times, one ending after it the new; none ending
///   after its retirement (a route's retirement retires its schedules).
/// - A window that crosses midnight (23:00–01:00) belongs to the day it starts on
///   and ends on the next.
pub fn expected_windows(c: &mut dyn Conn, site: &Site, day: NaiveDate) -> Result<Vec<ExpectedWindow>, DbError> {
    Ok(Book::load(c, &[site.id])?.remove(&site.id).unwrap_or_default().windows(site, day))
}

/// What decides the windows a site expects: its routes (retired ones too), their
/// schedules with every version, its special periods and holidays. Read once, it
/// answers for any day without the database, so a month's summary or a manager's
/// fifty sites cost a handful of statements instead of a handful a day and a site.
#[derive(Debug, Default)]
pub struct Book {
    /// The site's routes, retired ones too, in the order it made them.
    routes: Vec<Route>,
    schedules: Vec<BookSchedule>,
    /// Oldest set up first.
    periods: Vec<SpecialPeriod>,
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Debug)]
struct BookSchedule {
    route_id: Id,
    /// Each version rules the windows that end while it is in force: (in force from,
    /// days, windows, retired), oldest first. A schedule from before versions were kept
    /// has one, made of its row: in force from its creation until its retirement.
    versions: Vec<(i64, Vec<u8>, Vec<TimeWindow>, bool)>,
}

fn site_params(site_ids: &[Id]) -> Vec<crate::store::Value> {
    site_ids.iter().map(|id| crate::store::Value::from(*id)).collect()
}

impl Book {
    /// The books of several sites, in five statements whatever their number.
    pub fn load(c: &mut dyn Conn, site_ids: &[Id]) -> Result<HashMap<Id, Book>, DbError> {
        let mut books: HashMap<Id, Book> = site_ids.iter().map(|id| (*id, Book::default())).collect();
        if site_ids.is_empty() {
            return Ok(books);
        }
        let ids = crate::store::marks(1, site_ids.len());
        let args = site_params(site_ids);
        for route in reference::list_routes_all_of(c, site_ids)? {
            books.entry(route.site_id).or_default().routes.push(route);
        }
        let mut versions: HashMap<Id, Vec<(i64, Vec<u8>, Vec<TimeWindow>, bool)>> = HashMap::new();
        for v in c.query(
            &format!(
                "SELECT v.object_id, v.valid_from_ms, v.body_json, v.retired_ms FROM reference_versions v
                 JOIN schedules s ON s.id = v.object_id JOIN routes r ON r.id = s.route_id
                 WHERE v.kind = 'schedule' AND r.site_id IN ({ids}) ORDER BY v.object_id, v.version"
            ),
            &args,
        )? {
            if let reference::Body::Schedule { days_of_week, windows } =
                serde_json::from_str(&v.text(2)?).map_err(|_| bad("schedule version"))?
            {
                versions.entry(v.uuid(0)?).or_default().push((
                    v.int(1)?,
                    days_of_week,
                    windows,
                    v.opt_int(3)?.is_some(),
                ));
            }
        }
        for s in c.query(
            &format!(
                "SELECT s.route_id, s.days_json, s.windows_json, s.created_ms, s.id, s.retired_ms, r.site_id FROM schedules s
                 JOIN routes r ON r.id = s.route_id WHERE r.site_id IN ({ids}) ORDER BY s.created_ms, s.id"
            ),
            &args,
        )? {
            let versions = match versions.remove(&s.uuid(4)?) {
                Some(vs) => vs,
                None => {
                    let days: Vec<u8> = serde_json::from_str(&s.text(1)?).map_err(|_| bad("schedule days"))?;
                    let windows: Vec<TimeWindow> =
                        serde_json::from_str(&s.text(2)?).map_err(|_| bad("schedule windows"))?;
                    let mut vs = vec![(s.int(3)?, days, windows, false)];
                    if let Some(retired) = s.opt_int(5)? {
                        vs.push((retired, Vec::new(), Vec::new(), true));
                    }
                    vs
                }
            };
            books.entry(s.uuid(6)?).or_default().schedules.push(BookSchedule { route_id: s.uuid(0)?, versions });
        }
        for r in c.query(
            &format!("SELECT {PERIOD_COLUMNS} FROM special_periods WHERE site_id IN ({ids}) ORDER BY created_ms, id"),
            &args,
        )? {
            let p = period(&r)?;
            books.entry(p.site_id).or_default().periods.push(p);
        }
        for r in c.query(&format!("SELECT site_id, day FROM holidays WHERE site_id IN ({ids})"), &args)? {
            books.entry(r.uuid(0)?).or_default().holidays.insert(day_of(&r, 1)?);
        }
        Ok(books)
    }

    /// The site's routes, retired ones too, in the order it made them.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The windows the site expects on `day`, ordered by start (the rules are on
    /// `expected_windows`).
    pub fn windows(&self, site: &Site, day: NaiveDate) -> Vec<ExpectedWindow> {
        let weekday = day.weekday().number_from_monday() as u8;
        let start = day_start_ms(site, day);
        let mut out = Vec::new();
        let mut push = |route_id: Id, w: &TimeWindow, since: i64, until: i64, period_id: Option<Id>| {
            let (s, e) =
                (start + i64::from(w.start_minute) * 60_000, start + i64::from(w.end_offset_minutes()) * 60_000);
            if e > since && e <= until {
                out.push(ExpectedWindow {
                    route_id,
                    day,
                    start_minute: w.start_minute,
                    end_minute: w.end_minute,
                    start_ms: s,
                    end_ms: e,
                    runs: w.runs,
                    period_id,
                });
            }
        };
        let holiday = self.holidays.contains(&day);
        for route in self.routes.iter().map(|r| &r.id) {
            // Of overlapping periods the latest set up wins.
            if let Some(p) =
                self.periods.iter().rev().find(|p| p.route_id == *route && p.first_day <= day && day <= p.last_day)
            {
                if p.days_of_week.contains(&weekday) {
                    p.windows.iter().for_each(|w| push(*route, w, p.created_ms, i64::MAX, Some(p.id)));
                }
                continue;
            }
            if holiday {
                continue;
            }
            for s in self.schedules.iter().filter(|s| s.route_id == *route) {
                for (i, (from, days, windows, retired)) in s.versions.iter().enumerate() {
                    let until = s.versions.get(i + 1).map_or(i64::MAX, |next| next.0);
                    if !retired && days.contains(&weekday) {
                        windows.iter().for_each(|w| push(*route, w, *from, until, None));
                    }
                }
            }
        }
        out.sort_by_key(|w| (w.start_ms, w.end_ms, w.route_id));
        out
    }
}

/// How one expected run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Started inside the window and finished by its end, on trusted time.
    OnTime,
    /// Started after the window, or finished (or still unfinished) past its end.
    Late,
    /// The window ended and no run, waiver or excuse came.
    Missed,
    /// The window has not ended and still waits.
    Pending,
    /// A supervisor accepted a "won't do" for the window.
    Waived,
    /// A run came, but its times cannot be trusted (clock off, or synced after the
    /// audit closed): a supervisor must look.
    Flagged,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Slot {
    pub verdict: Verdict,
    pub run_id: Option<Id>,
    /// Why a run is flagged or late: `clock_offset`, `unanchored`, `ahead_of_receipt`, `received_after_audit`,
    /// `started_late`, `finished_late`, `unfinished`.
    pub notes: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WaiverBrief {
    pub id: Id,
    pub state: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WindowAudit {
    #[serde(flatten)]
    pub window: ExpectedWindow,
    /// After this instant records of the window's runs no longer count on time.
    pub audit_closes_ms: i64,
    pub slots: Vec<Slot>,
    pub waiver: Option<WaiverBrief>,
}

impl WindowAudit {
    pub fn count(&self, v: Verdict) -> u32 {
        self.slots.iter().filter(|s| s.verdict == v).count() as u32
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DayAudit {
    pub day: Option<NaiveDate>,
    pub windows: Vec<WindowAudit>,
    pub expected: u32,
    pub on_time: u32,
    pub late: u32,
    pub missed: u32,
    pub pending: u32,
    pub waived: u32,
    pub flagged: u32,
    /// Runs started that local day (by device time).
    pub runs: u32,
    /// Of those, runs no expected window counts: walked outside every window (before
    /// a schedule existed, say) or beyond what a window asked for. A run after
    /// midnight inside the previous evening's window is that day's, not one of these.
    pub unscheduled: u32,
}

/// What the server knows of a run's times.
#[derive(Debug, Clone)]
struct RunFacts {
    id: Id,
    route_id: Id,
    /// Started on the next local day (before the day's last window that crosses
    /// midnight ended): only a window it started inside may count it.
    next_day: bool,
    started: i64,
    finished: Option<i64>,
    start_received: i64,
    finish_received: Option<i64>,
    start_offset: Option<i64>,
    finish_offset: Option<i64>,
}

/// Everything the audit reads for some sites over some days, read in a fixed number of
/// statements (the books, the rules, the runs, the waivers): the dashboard of a
/// manager's fifty sites and a month's summary judge every day from one load.
pub struct Ledger {
    books: HashMap<Id, Book>,
    rules: HashMap<Id, SiteRules>,
    /// Per site, the runs started on the loaded days and the day after, by local day.
    runs: HashMap<Id, Vec<(NaiveDate, RunFacts)>>,
    /// The waiver that speaks for each window (`waivers::rank`).
    waivers: HashMap<(Id, i64), WaiverBrief>,
}

impl Ledger {
    /// Loads what judging each of `sites` on the local days `first..=last` needs.
    pub fn load(c: &mut dyn Conn, sites: &[&Site], first: NaiveDate, last: NaiveDate) -> Result<Ledger, DbError> {
        let ids: Vec<Id> = sites.iter().map(|s| s.id).collect();
        let books = Book::load(c, &ids)?;
        let mut ledger = Ledger { books, rules: HashMap::new(), runs: HashMap::new(), waivers: HashMap::new() };
        if sites.is_empty() || first > last {
            return Ok(ledger);
        }
        let marks = crate::store::marks(1, ids.len());
        let n = ids.len();
        for r in c.query(
            &format!("SELECT site_id, rules_json FROM site_rules WHERE site_id IN ({marks})"),
            &site_params(&ids),
        )? {
            // Rules saved by an older version lack newer fields: `serde(default)` fills them.
            let rules =
                serde_json::from_str(&r.text(1)?).map_err(|e| DbError::Data(format!("stored site rules: {e}")))?;
            ledger.rules.insert(r.uuid(0)?, rules);
        }
        // A day's audit also takes the next day's runs started inside its last window
        // that crosses midnight.
        let mut args = site_params(&ids);
        args.push(first.to_string().into());
        args.push((last + chrono::Duration::days(1)).to_string().into());
        for r in c.query(
            &format!(
                "SELECT r.id, r.route_id, r.started_device_ms, r.finished_device_ms, r.received_ms, r.finished_received_ms,
                        (SELECT x.clock_offset_ms FROM records x WHERE x.id = r.start_record_id),
                        (SELECT y.clock_offset_ms FROM records y WHERE y.id = r.finish_record_id), r.local_day, r.site_id
                 FROM runs r WHERE r.site_id IN ({marks}) AND r.local_day >= ${} AND r.local_day <= ${}
                 ORDER BY r.started_device_ms, r.id",
                n + 1,
                n + 2
            ),
            &args,
        )? {
            let facts = RunFacts {
                id: r.uuid(0)?,
                route_id: r.uuid(1)?,
                next_day: false,
                started: r.int(2)?,
                finished: r.opt_int(3)?,
                start_received: r.int(4)?,
                finish_received: r.opt_int(5)?,
                start_offset: r.opt_int(6)?,
                finish_offset: r.opt_int(7)?,
            };
            ledger.runs.entry(r.uuid(9)?).or_default().push((day_of(&r, 8)?, facts));
        }
        // Windows of a day start within it, whatever the site's time zone.
        let from = sites.iter().map(|s| day_start_ms(s, first)).min().unwrap_or(0);
        let to = sites.iter().map(|s| day_start_ms(s, last) + DAY_MS).max().unwrap_or(0);
        let mut args = site_params(&ids);
        args.push(from.into());
        args.push(to.into());
        let found = c.query(
            &format!(
                "SELECT route_id, window_start_ms, id, state, reason, received_ms FROM run_waivers
                 WHERE site_id IN ({marks}) AND window_start_ms >= ${} AND window_start_ms < ${}",
                n + 1,
                n + 2
            ),
            &args,
        )?;
        let mut best: HashMap<(Id, i64), (waivers::Rank, WaiverBrief)> = HashMap::new();
        for r in &found {
            let brief = WaiverBrief { id: r.uuid(2)?, state: r.text(3)?, reason: r.text(4)? };
            let rank = waivers::rank(&brief, r.int(5)?);
            let key = (r.uuid(0)?, r.int(1)?);
            if best.get(&key).is_none_or(|(b, _)| rank < *b) {
                best.insert(key, (rank, brief));
            }
        }
        ledger.waivers = best.into_iter().map(|(k, (_, b))| (k, b)).collect();
        Ok(ledger)
    }

    /// The site's book (empty for a site not loaded).
    pub fn book(&self, site_id: Id) -> Option<&Book> {
        self.books.get(&site_id)
    }

    /// The runs of a local day, and those of the next day started before `until` (the
    /// end of the day's last window that crosses midnight; the day's end if none does).
    fn runs_of_day(&self, site_id: Id, day: NaiveDate, until: i64) -> Vec<RunFacts> {
        let next = day + chrono::Duration::days(1);
        self.runs
            .get(&site_id)
            .into_iter()
            .flatten()
            .filter(|(d, r)| *d == day || (*d == next && r.started < until))
            .map(|(d, r)| RunFacts { next_day: *d != day, ..r.clone() })
            .collect()
    }

    /// How a site's day went at `now` (see `audit_day`); the day must be among those
    /// loaded.
    pub fn audit(&self, site: &Site, day: NaiveDate, now: i64) -> DayAudit {
        let empty = Book::default();
        let book = self.books.get(&site.id).unwrap_or(&empty);
        let rules = self.rules.get(&site.id).cloned().unwrap_or_default();
        judge(self, book, &rules, site, day, now)
    }
}

/// How far past its receipt a device time may be (after the anchored clock offset)
/// before it is not believed: the time a push spends on the wire and in the queue.
pub const RECEIPT_TOLERANCE_MS: i64 = 2 * 60_000;

/// Why a run's device times cannot be taken at their word for this window.
fn distrust(r: &RunFacts, audit_closes_ms: i64, rules: &SiteRules) -> Vec<&'static str> {
    let mut notes = Vec::new();
    let bound = rules.max_clock_offset_ms();
    if [r.start_offset, r.finish_offset].iter().flatten().any(|o| o.abs() > bound) {
        notes.push("clock_offset");
    }
    // Nothing the server controls tied the phone's clock to its own (docs/audit.md).
    if r.start_offset.is_none() || (r.finished.is_some() && r.finish_offset.is_none()) {
        notes.push("unanchored");
    }
    // A time later than the server received it is not a time the run happened at.
    let ahead = |device: i64, offset: Option<i64>, received: i64| {
        device.saturating_add(offset.unwrap_or(0)) > received.saturating_add(RECEIPT_TOLERANCE_MS)
            || device > received.saturating_add(RECEIPT_TOLERANCE_MS + bound)
    };
    if ahead(r.started, r.start_offset, r.start_received)
        || r.finished.zip(r.finish_received).is_some_and(|(f, rcv)| ahead(f, r.finish_offset, rcv))
    {
        notes.push("ahead_of_receipt");
    }
    if r.start_received > audit_closes_ms || r.finish_received.is_some_and(|t| t > audit_closes_ms) {
        notes.push("received_after_audit");
    }
    notes
}

/// How a site's day went at `now`. The same answer whether a phone synced at noon or
/// at midnight, as long as it synced before the audit closed: device times inside
/// the window count, bounded by the server's receipt and the clock offset measured
/// at the push.
pub fn audit_day(c: &mut dyn Conn, site: &Site, day: NaiveDate, now: i64) -> Result<DayAudit, DbError> {
    Ok(Ledger::load(c, &[site], day, day)?.audit(site, day, now))
}

fn judge(ledger: &Ledger, book: &Book, rules: &SiteRules, site: &Site, day: NaiveDate, now: i64) -> DayAudit {
    let windows = book.windows(site, day);
    let (day_start, day_end) = (day_start_ms(site, day), day_start_ms(site, day) + DAY_MS);
    // A run just after midnight inside the previous evening's window of its route is
    // that evening's (its audit counts it), not this day's.
    let previous_night: Vec<(Id, i64, i64)> = book
        .windows(site, day - chrono::Duration::days(1))
        .into_iter()
        .filter(|w| w.end_ms > day_start)
        .map(|w| (w.route_id, w.start_ms, w.end_ms))
        .collect();
    let until = windows.iter().map(|w| w.end_ms).fold(day_end, i64::max);
    let all = ledger.runs_of_day(site.id, day, until);
    let walked_today = all.iter().filter(|r| !r.next_day).count() as u32;
    let runs: Vec<RunFacts> = all
        .into_iter()
        .filter(|r| !previous_night.iter().any(|(route, s, e)| *route == r.route_id && (*s..*e).contains(&r.started)))
        .collect();
    // Records of a window's runs count on time until the day ends (or the window, if it
    // ends on the next day) plus the site's grace.
    let grace = SiteRules::hours_ms(rules.audit_grace_hours);
    let mut waivers: BTreeMap<(Id, i64), WaiverBrief> = windows
        .iter()
        .filter_map(|w| ledger.waivers.get(&(w.route_id, w.start_ms)).map(|b| ((w.route_id, w.start_ms), b.clone())))
        .collect();
    let mut audits: Vec<WindowAudit> = windows
        .into_iter()
        .map(|w| WindowAudit {
            waiver: waivers.remove(&(w.route_id, w.start_ms)),
            audit_closes_ms: w.end_ms.max(day_end) + grace,
            window: w,
            slots: Vec::new(),
        })
        .collect();
    let mut used = vec![false; runs.len()];
    // First, runs that started inside a window of their route.
    for a in audits.iter_mut() {
        let w = &a.window;
        for (i, r) in runs.iter().enumerate() {
            if a.slots.len() as u32 >= w.runs {
                break;
            }
            if used[i] || r.route_id != w.route_id || !(w.start_ms..w.end_ms).contains(&r.started) {
                continue;
            }
            used[i] = true;
            let mut notes = distrust(r, a.audit_closes_ms, rules);
            let verdict = if !notes.is_empty() {
                Verdict::Flagged
            } else if r.finished.is_some_and(|f| f > w.end_ms) {
                notes.push("finished_late");
                Verdict::Late
            } else if r.finished.is_none() && now >= w.end_ms {
                notes.push("unfinished");
                Verdict::Late
            } else {
                Verdict::OnTime
            };
            a.slots.push(Slot { verdict, run_id: Some(r.id), notes });
        }
    }
    // Then a window that ended short takes later runs of its route that day as late,
    // the latest window first: a run at 16:30 makes up for the afternoon, not the morning.
    // A run after midnight only ever fills the night window it started in.
    for a in audits.iter_mut().rev() {
        if now < a.window.end_ms {
            continue;
        }
        for (i, r) in runs.iter().enumerate() {
            if a.slots.len() as u32 >= a.window.runs {
                break;
            }
            if used[i] || r.next_day || r.route_id != a.window.route_id || r.started < a.window.end_ms {
                continue;
            }
            used[i] = true;
            let mut notes = distrust(r, a.audit_closes_ms, rules);
            let verdict = if notes.is_empty() { Verdict::Late } else { Verdict::Flagged };
            notes.push("started_late");
            a.slots.push(Slot { verdict, run_id: Some(r.id), notes });
        }
    }
    // What is still short is waived, missed or pending.
    let unscheduled = runs.iter().zip(&used).filter(|(r, used)| !r.next_day && !**used).count() as u32;
    let mut out = DayAudit { day: Some(day), runs: walked_today, unscheduled, ..DayAudit::default() };
    for a in audits.iter_mut() {
        let waived = a.waiver.as_ref().is_some_and(|w| w.state == waivers::ACCEPTED);
        let verdict = if waived {
            Verdict::Waived
        } else if now >= a.window.end_ms {
            Verdict::Missed
        } else {
            Verdict::Pending
        };
        while (a.slots.len() as u32) < a.window.runs {
            a.slots.push(Slot { verdict, run_id: None, notes: Vec::new() });
        }
        out.expected += a.window.runs;
        out.on_time += a.count(Verdict::OnTime);
        out.late += a.count(Verdict::Late);
        out.missed += a.count(Verdict::Missed);
        out.pending += a.count(Verdict::Pending);
        out.waived += a.count(Verdict::Waived);
        out.flagged += a.count(Verdict::Flagged);
    }
    out.windows = audits;
    out
}

/// The audit job: announces each window that ended missed, once. Looks at today and
/// yesterday in each site's time, so a server that was down overnight catches up.
pub fn announce_missed(c: &mut dyn Conn, now: i64) -> Result<u32, DbError> {
    let mut announced = 0;
    let sites = reference::list_all_sites(c)?;
    // Every site's two days from one load per batch of sites.
    for batch in sites.chunks(100) {
        let refs: Vec<&Site> = batch.iter().collect();
        let today = |s: &Site| local_day(s, now);
        let first = refs.iter().map(|s| today(s)).min().expect("a site") - chrono::Duration::days(1);
        let last = refs.iter().map(|s| today(s)).max().expect("a site");
        let ledger = Ledger::load(c, &refs, first, last)?;
        for site in batch {
            let today = today(site);
            for day in [today - chrono::Duration::days(1), today] {
                let audit = ledger.audit(site, day, now);
                for w in audit.windows.iter().filter(|w| w.count(Verdict::Missed) > 0) {
                    let fresh = c.execute(
                    "INSERT INTO missed_windows (route_id, window_start_ms, site_id, marked_ms) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (route_id, window_start_ms) DO NOTHING",
                    &params![w.window.route_id, w.window.start_ms, site.id, now],
                )?;
                    if fresh == 1 {
                        announced += 1;
                        crate::notify::events::run_missed(c, site, &w.window, w.count(Verdict::Missed), now)?;
                    }
                }
            }
        }
    }
    Ok(announced)
}
