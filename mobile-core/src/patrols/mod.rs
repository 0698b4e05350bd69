//! Patrol runs: starting a run on a route, checking in at checkpoints, checklist
//! results, GPS track batches, finishing with a summary, and the history screens.

pub mod checkin;
pub mod plan;

use std::collections::HashMap;

use patrol_protocol::reason::Reason;
use patrol_protocol::record::{CheckIn, ItemOutcome, TrackPoint};
use patrol_protocol::{Checkpoint, Id, Record, RecordPayload, Route, Site, limits};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::core::{Core, clean_text};
use crate::error::{Error, Result};
use crate::reference;
use crate::store::{self, parse_id};

pub use checkin::CheckInMethod;

/// The most track points one read returns (6.4 MB over the FFI).
pub const TRACK_READ_MAX: usize = 200_000;

/// A checkpoint named for a screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckpointRef {
    pub checkpoint_id: Id,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

impl From<&Checkpoint> for CheckpointRef {
    fn from(c: &Checkpoint) -> Self {
        CheckpointRef {
            checkpoint_id: c.id,
            code: c.code.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
        }
    }
}

/// One proven visit of a checkpoint in a run.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub visit_id: Id,
    pub checkpoint_id: Id,
    /// "qr", "nfc", "gps" or "manual".
    pub method: String,
    /// Visited after a checkpoint that comes later on the route.
    pub out_of_order: bool,
    /// For GPS check-ins: metres from the checkpoint.
    pub distance_m: Option<f64>,
    /// For manual check-ins: the reason given.
    pub manual_reason: Option<String>,
    pub time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunSummary {
    pub run_id: Id,
    pub total: u32,
    pub visited: u32,
    pub missed: Vec<CheckpointRef>,
    pub out_of_order: u32,
    pub problems: u32,
    /// From start to finish, or to now while the run is in progress.
    pub duration_ms: i64,
    pub finished: bool,
    pub missed_reason: Option<String>,
}

/// One line of the history screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunListItem {
    pub run_id: Id,
    pub route_id: Id,
    pub route_name_zh: String,
    pub route_name_en: String,
    pub site_id: Id,
    pub person_id: Id,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub visited: u32,
    pub total: u32,
}

/// A checklist line with its result, if recorded.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ItemLine {
    pub item_id: Id,
    pub text_zh: String,
    pub text_en: String,
    pub outcome: Option<ItemOutcome>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunCheckpoint {
    /// 1-based place on the route.
    pub position: u32,
    pub checkpoint: CheckpointRef,
    pub visit: Option<Visit>,
    pub items: Vec<ItemLine>,
}

/// Everything about one run, for its detail screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunDetail {
    pub run_id: Id,
    pub route_id: Id,
    pub route_name_zh: String,
    pub route_name_en: String,
    pub site_id: Id,
    pub site_name_zh: String,
    pub person_id: Id,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub checkpoints: Vec<RunCheckpoint>,
    pub track_points: u64,
    pub track_batches: u32,
    /// SHA-256 names of the photos taken during the run.
    pub photos: Vec<String>,
    pub summary: RunSummary,
}

/// A run as the projection holds it.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
    pub run_id: Id,
    pub route_id: Id,
    pub site_id: Id,
    pub person_id: Id,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub missed_reason: Option<String>,
}

pub(crate) fn find_run(conn: &Connection, run_id: Id) -> Result<Option<RunRow>> {
    let row = conn
        .query_row(
            "SELECT route_id, site_id, person_id, started_ms, finished_ms, missed_reason FROM runs WHERE run_id = ?1",
            [run_id.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(route, site, person, started_ms, finished_ms, missed_reason)| {
        Ok(RunRow {
            run_id,
            route_id: parse_id(&route)?,
            site_id: parse_id(&site)?,
            person_id: parse_id(&person)?,
            started_ms,
            finished_ms,
            missed_reason,
        })
    })
    .transpose()
}

pub(crate) fn get_run(conn: &Connection, run_id: Id) -> Result<RunRow> {
    find_run(conn, run_id)?.ok_or_else(|| Error::not_found("run", run_id))
}

/// A run that this person may still add to.
fn open_run(conn: &Connection, run_id: Id, person: Id) -> Result<RunRow> {
    let run = get_run(conn, run_id)?;
    if run.finished_ms.is_some() {
        return Err(Error::conflict(Reason::RunOver));
    }
    if run.person_id != person {
        return Err(Error::conflict(Reason::RunOfSomeoneElse));
    }
    Ok(run)
}

fn visits_of(conn: &Connection, run_id: Id) -> Result<HashMap<Id, Visit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT visit_id, checkpoint_id, check_in, out_of_order, time_ms FROM visits WHERE run_id = ?1",
    )?;
    let rows = stmt.query_map([run_id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, bool>(3)?, r.get(4)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (visit, cp, check_in, out_of_order, time_ms) = row?;
        let check_in: CheckIn = serde_json::from_str(&check_in)?;
        let visit = Visit {
            visit_id: parse_id(&visit)?,
            checkpoint_id: parse_id(&cp)?,
            method: check_in.method_str().to_string(),
            out_of_order,
            distance_m: match check_in {
                CheckIn::Gps { distance_m, .. } => Some(distance_m),
                _ => None,
            },
            manual_reason: match check_in {
                CheckIn::Manual { reason } => Some(reason),
                _ => None,
            },
            time_ms,
        };
        out.insert(visit.checkpoint_id, visit);
    }
    Ok(out)
}

fn summarise(conn: &Connection, run: &RunRow, route: &Route, now_ms: i64) -> Result<RunSummary> {
    let visits = visits_of(conn, run.run_id)?;
    let mut missed = vec![];
    for id in &route.checkpoint_ids {
        if !visits.contains_key(id) {
            missed.push(CheckpointRef::from(&reference::get::<Checkpoint>(conn, *id)?));
        }
    }
    let problems: u32 = conn.query_row(
        "SELECT count(*) FROM item_results WHERE run_id = ?1 AND outcome = 'problem'",
        [run.run_id.to_string()],
        |r| r.get(0),
    )?;
    Ok(RunSummary {
        run_id: run.run_id,
        total: route.checkpoint_ids.len() as u32,
        visited: visits.len() as u32,
        missed,
        out_of_order: visits.values().filter(|v| v.out_of_order).count() as u32,
        problems,
        duration_ms: run.finished_ms.unwrap_or(now_ms) - run.started_ms,
        finished: run.finished_ms.is_some(),
        missed_reason: run.missed_reason.clone(),
    })
}

fn outcome_str(o: ItemOutcome) -> &'static str {
    match o {
        ItemOutcome::Ok => "ok",
        ItemOutcome::Problem => "problem",
        ItemOutcome::NotApplicable => "not_applicable",
    }
}

fn parse_outcome(s: &str) -> Result<ItemOutcome> {
    match s {
        "ok" => Ok(ItemOutcome::Ok),
        "problem" => Ok(ItemOutcome::Problem),
        "not_applicable" => Ok(ItemOutcome::NotApplicable),
        other => Err(Error::Corrupt(format!("item outcome {other:?}"))),
    }
}

/// The patrol projection: runs, visits and item results, from their records.
pub(crate) fn project(tx: &Transaction<'_>, r: &Record) -> Result<()> {
    match &r.payload {
        RecordPayload::RunStarted { run_id, route_id, site_id } => {
            tx.execute(
                "INSERT INTO runs (run_id, route_id, site_id, person_id, started_ms, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run_id.to_string(),
                    route_id.to_string(),
                    site_id.to_string(),
                    r.author.to_string(),
                    r.device_time_ms,
                    r.seq as i64
                ],
            )?;
        }
        RecordPayload::CheckpointVisited { run_id, visit_id, checkpoint_id, check_in, out_of_order } => {
            tx.execute(
                "INSERT INTO visits (visit_id, run_id, checkpoint_id, method, check_in, out_of_order, time_ms, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    visit_id.to_string(),
                    run_id.to_string(),
                    checkpoint_id.to_string(),
                    check_in.method_str(),
                    serde_json::to_string(check_in)?,
                    out_of_order,
                    r.device_time_ms,
                    r.seq as i64
                ],
            )?;
        }
        RecordPayload::ItemRecorded { run_id, visit_id, checkpoint_id, item_id, outcome, note } => {
            // A second result for the same item replaces the first on screen; both
            // records stay in the log.
            tx.execute(
                "INSERT OR REPLACE INTO item_results (run_id, visit_id, checkpoint_id, item_id, outcome, note, time_ms, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    run_id.to_string(),
                    visit_id.to_string(),
                    checkpoint_id.to_string(),
                    item_id.to_string(),
                    outcome_str(*outcome),
                    note,
                    r.device_time_ms,
                    r.seq as i64
                ],
            )?;
        }
        RecordPayload::RunFinished { run_id, missed_reason } => {
            tx.execute(
                "UPDATE runs SET finished_ms = ?2, missed_reason = ?3 WHERE run_id = ?1",
                params![run_id.to_string(), r.device_time_ms, missed_reason],
            )?;
        }
        _ => {}
    }
    Ok(())
}

impl Core {
    /// Starts a run of `route_id` by the signed-in person, now.
    pub fn start_run(&self, route_id: Id) -> Result<RunDetail> {
        let run_id = self.store.write(|tx| {
            let (_, by) = self.author(tx)?;
            let route: Route = reference::get(tx, route_id)?;
            let run_id = Id::now_v7();
            store::append(tx, by, RecordPayload::RunStarted { run_id, route_id, site_id: route.site_id })?;
            Ok(run_id)
        })?;
        self.run_detail(run_id)
    }

    /// Checks in at `checkpoint_id` during `run_id`. A proof that does not match the
    /// checkpoint is refused (InvalidInput, with the reason in both languages) and
    /// nothing is recorded.
    pub fn check_in(&self, run_id: Id, checkpoint_id: Id, method: CheckInMethod) -> Result<Visit> {
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            let run = open_run(tx, run_id, person.person_id)?;
            let route: Route = reference::get(tx, run.route_id)?;
            let Some(position) = route.checkpoint_ids.iter().position(|c| *c == checkpoint_id) else {
                return Err(Error::invalid("checkpoint_id", Reason::CheckpointNotOnRoute));
            };
            let visits = visits_of(tx, run_id)?;
            if visits.contains_key(&checkpoint_id) {
                return Err(Error::conflict(Reason::AlreadyCheckedIn));
            }
            let checkpoints: Vec<Checkpoint> =
                route.checkpoint_ids.iter().map(|id| reference::get(tx, *id)).collect::<Result<_>>()?;
            let check_in = checkin::prove(&checkpoints[position], &checkpoints, &method)?;
            // Out of order: a checkpoint further along the route was already visited.
            let out_of_order = route.checkpoint_ids[position + 1..].iter().any(|later| visits.contains_key(later));
            let visit_id = Id::now_v7();
            let record = store::append(
                tx,
                by,
                RecordPayload::CheckpointVisited {
                    run_id,
                    visit_id,
                    checkpoint_id,
                    check_in: check_in.clone(),
                    out_of_order,
                },
            )?;
            Ok(Visit {
                visit_id,
                checkpoint_id,
                method: check_in.method_str().into(),
                out_of_order,
                distance_m: match check_in {
                    CheckIn::Gps { distance_m, .. } => Some(distance_m),
                    _ => None,
                },
                manual_reason: match check_in {
                    CheckIn::Manual { reason } => Some(reason),
                    _ => None,
                },
                time_ms: record.device_time_ms,
            })
        })
    }

    /// Records one checklist item of a checkpoint already checked in during the run.
    pub fn record_item(
        &self,
        run_id: Id,
        checkpoint_id: Id,
        item_id: Id,
        outcome: ItemOutcome,
        note: &str,
    ) -> Result<()> {
        let note = clean_text("note", note, limits::TEXT_MAX, false)?;
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            open_run(tx, run_id, person.person_id)?;
            let visit =
                visits_of(tx, run_id)?.remove(&checkpoint_id).ok_or_else(|| Error::conflict(Reason::CheckInFirst))?;
            let cp: Checkpoint = reference::get(tx, checkpoint_id)?;
            if !cp.checklist.iter().any(|i| i.id == item_id) {
                return Err(Error::invalid("item_id", Reason::ItemNotOnChecklist));
            }
            store::append(
                tx,
                by,
                RecordPayload::ItemRecorded { run_id, visit_id: visit.visit_id, checkpoint_id, item_id, outcome, note },
            )?;
            Ok(())
        })
    }

    /// Appends a batch of GPS track points (1 to 5000) as one record. Returns the run's
    /// total number of points so far.
    pub fn append_track_points(&self, run_id: Id, points: Vec<TrackPoint>) -> Result<u64> {
        if points.is_empty() || points.len() > limits::TRACK_POINTS_PER_RECORD_MAX {
            return Err(Error::invalid("points", Reason::TrackBatch { max: limits::TRACK_POINTS_PER_RECORD_MAX }));
        }
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            open_run(tx, run_id, person.person_id)?;
            store::append(tx, by, RecordPayload::TrackPoints { run_id, points })?;
            let total: i64 = tx.query_row(
                "SELECT coalesce(sum(n), 0) FROM track_batches WHERE run_id = ?1",
                [run_id.to_string()],
                |r| r.get(0),
            )?;
            Ok(total as u64)
        })
    }

    /// Finishes a run. Checkpoints not visited need `missed_reason`; without one the
    /// run stays open and InvalidInput names the field.
    pub fn finish_run(&self, run_id: Id, missed_reason: Option<String>) -> Result<RunSummary> {
        let reason = match missed_reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => Some(clean_text("missed_reason", r, limits::TEXT_MAX, true)?),
            _ => None,
        };
        let now = self.now_ms();
        self.store.write(|tx| {
            let (person, by) = self.author(tx)?;
            let run = open_run(tx, run_id, person.person_id)?;
            let route: Route = reference::get(tx, run.route_id)?;
            let before = summarise(tx, &run, &route, now)?;
            if !before.missed.is_empty() && reason.is_none() {
                let n = before.missed.len();
                return Err(Error::invalid("missed_reason", Reason::MissedNeedsReason { missed: n }));
            }
            store::append(tx, by, RecordPayload::RunFinished { run_id, missed_reason: reason.clone() })?;
            summarise(tx, &get_run(tx, run_id)?, &route, now)
        })
    }

    /// The newest runs first, at most `limit` (bounded to 500).
    pub fn list_runs(&self, limit: u32) -> Result<Vec<RunListItem>> {
        self.store.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT run_id, (SELECT count(*) FROM visits v WHERE v.run_id = runs.run_id) FROM runs
                 ORDER BY started_ms DESC, seq DESC LIMIT ?1",
            )?;
            let ids: Vec<(String, u32)> = stmt
                .query_map([limit.clamp(1, 500)], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = vec![];
            for (id, visited) in ids {
                let run = get_run(conn, parse_id(&id)?)?;
                let route: Route = reference::get(conn, run.route_id)?;
                out.push(RunListItem {
                    run_id: run.run_id,
                    route_id: route.id,
                    route_name_zh: route.name_zh,
                    route_name_en: route.name_en,
                    site_id: run.site_id,
                    person_id: run.person_id,
                    started_ms: run.started_ms,
                    finished_ms: run.finished_ms,
                    visited,
                    total: route.checkpoint_ids.len() as u32,
                });
            }
            Ok(out)
        })
    }

    pub fn run_detail(&self, run_id: Id) -> Result<RunDetail> {
        let now = self.now_ms();
        self.store.read(|conn| {
            let run = get_run(conn, run_id)?;
            let route: Route = reference::get(conn, run.route_id)?;
            let site: Site = reference::get(conn, run.site_id)?;
            let mut visits = visits_of(conn, run_id)?;
            let mut results: HashMap<(Id, Id), (ItemOutcome, String)> = HashMap::new();
            {
                let mut stmt = conn.prepare_cached(
                    "SELECT checkpoint_id, item_id, outcome, note FROM item_results WHERE run_id = ?1",
                )?;
                let rows = stmt.query_map([run_id.to_string()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
                })?;
                for row in rows {
                    let (cp, item, outcome, note) = row?;
                    results.insert((parse_id(&cp)?, parse_id(&item)?), (parse_outcome(&outcome)?, note));
                }
            }
            let mut checkpoints = vec![];
            for (i, id) in route.checkpoint_ids.iter().enumerate() {
                let cp: Checkpoint = reference::get(conn, *id)?;
                let items = cp
                    .checklist
                    .iter()
                    .map(|item| {
                        let result = results.remove(&(cp.id, item.id));
                        ItemLine {
                            item_id: item.id,
                            text_zh: item.text_zh.clone(),
                            text_en: item.text_en.clone(),
                            outcome: result.as_ref().map(|r| r.0),
                            note: result.map(|r| r.1).unwrap_or_default(),
                        }
                    })
                    .collect();
                checkpoints.push(RunCheckpoint {
                    position: i as u32 + 1,
                    checkpoint: CheckpointRef::from(&cp),
                    visit: visits.remove(id),
                    items,
                });
            }
            let (track_points, track_batches): (i64, u32) = conn.query_row(
                "SELECT coalesce(sum(n), 0), count(*) FROM track_batches WHERE run_id = ?1",
                [run_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let photos = {
                let mut stmt = conn.prepare_cached("SELECT sha256 FROM photos WHERE run_id = ?1 ORDER BY seq")?;
                stmt.query_map([run_id.to_string()], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?
            };
            let summary = summarise(conn, &run, &route, now)?;
            Ok(RunDetail {
                run_id,
                route_id: route.id,
                route_name_zh: route.name_zh,
                route_name_en: route.name_en,
                site_id: site.id,
                site_name_zh: site.name_zh,
                person_id: run.person_id,
                started_ms: run.started_ms,
                finished_ms: run.finished_ms,
                checkpoints,
                track_points: track_points as u64,
                track_batches,
                photos,
                summary,
            })
        })
    }

    /// The track points of a run in the order recorded (for the map on the detail
    /// screen), at most [`TRACK_READ_MAX`]: a day-long run at one point a second.
    pub fn track_points(&self, run_id: Id) -> Result<Vec<TrackPoint>> {
        self.store.read(|conn| {
            get_run(conn, run_id)?;
            let mut stmt = conn.prepare_cached("SELECT points FROM track_batches WHERE run_id = ?1 ORDER BY seq")?;
            let blobs = stmt.query_map([run_id.to_string()], |r| r.get::<_, Vec<u8>>(0))?;
            let mut out = vec![];
            for blob in blobs {
                out.extend(store::unpack_points(&blob?)?);
                if out.len() >= TRACK_READ_MAX {
                    out.truncate(TRACK_READ_MAX);
                    break;
                }
            }
            Ok(out)
        })
    }
}
