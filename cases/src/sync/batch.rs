//! A push's writes held back to go once per table, and its reads made once.
//!
//! A push of a phone's day is a hundred-odd patrol records (a run's start, its visits
//! and checklist results, track batches, its end). Applied one by one, each would be a
//! handful of statements: the run read again, the checkpoint read, the visit looked up,
//! its row, its feed entry, the record, its pending leaf. Here the push reads what its
//! records name in one statement per table before applying any (`prefetch`), keeps
//! what the applies learn (runs started or finished, visits added), and holds back the
//! rows they add, written per table in multi-row statements (`flush`) at the end of the
//! push or before a record whose apply may read or write anything else (notices,
//! photos, faults …, under their own savepoint), so every table keeps the push's order.

use std::collections::{HashMap, HashSet};

use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::{Checkpoint, Id};

use crate::store::db::in_list;
use crate::store::{Conn, DbError, Value, reference};
use crate::sync::feed;

/// A run as the applies of patrol records need it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunRow {
    pub site_id: Id,
    pub route_id: Id,
    pub person_id: Id,
    pub finished: bool,
}

const RUN_COLUMNS: &str = "id, site_id, route_id, person_id, finished_device_ms";

fn run_row(r: &crate::store::Row) -> Result<RunRow, DbError> {
    Ok(RunRow { site_id: r.uuid(1)?, route_id: r.uuid(2)?, person_id: r.uuid(3)?, finished: r.opt_int(4)?.is_some() })
}

/// Ids a statement names at most (bounds each `IN (…)` list).
const IDS_PER_STATEMENT: usize = 512;

#[derive(Default)]
pub(crate) struct Batch {
    records: Vec<Vec<Value>>,
    leaves: Vec<Vec<Value>>,
    visits: Vec<Vec<Value>>,
    items: Vec<Vec<Value>>,
    tracks: Vec<Vec<Value>>,
    feed: Vec<Vec<Value>>,
    /// Runs read or written by this push (`None`: no such run stored).
    runs: HashMap<Id, Option<RunRow>>,
    /// Checkpoints read by this push (`None`: unknown or retired).
    checkpoints: HashMap<Id, Option<Checkpoint>>,
    /// Visit ids known stored (or held back here), and known not stored.
    visits_stored: HashSet<Id>,
    visits_absent: HashSet<Id>,
    /// (run, checkpoint) of the visits held back, for a run's end in the same push.
    visits_held: Vec<(Id, Id)>,
}

impl Batch {
    /// Reads, in one statement per table, the runs, checkpoints and visits the patrol
    /// records among `records` name.
    pub(crate) fn prefetch<'r>(
        &mut self,
        c: &mut dyn Conn,
        records: impl Iterator<Item = &'r Record>,
    ) -> Result<(), DbError> {
        let (mut runs, mut checkpoints, mut visits) = (HashSet::new(), HashSet::new(), HashSet::new());
        for rec in records {
            match &rec.payload {
                RecordPayload::RunStarted { run_id, .. }
                | RecordPayload::TrackPoints { run_id, .. }
                | RecordPayload::RunFinished { run_id, .. }
                | RecordPayload::ItemRecorded { run_id, .. } => {
                    runs.insert(*run_id);
                }
                RecordPayload::CheckpointVisited { run_id, visit_id, checkpoint_id, .. } => {
                    runs.insert(*run_id);
                    visits.insert(*visit_id);
                    checkpoints.insert(*checkpoint_id);
                }
                _ => {}
            }
        }
        let runs: Vec<Id> = runs.into_iter().filter(|id| !self.runs.contains_key(id)).collect();
        for chunk in runs.chunks(IDS_PER_STATEMENT) {
            let (marks, values) = in_list(chunk);
            let rows = c.query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id IN ({marks})"), &values)?;
            for id in chunk {
                self.runs.insert(*id, None);
            }
            for r in rows {
                self.runs.insert(r.uuid(0)?, Some(run_row(&r)?));
            }
        }
        let checkpoints: Vec<Id> = checkpoints.into_iter().filter(|id| !self.checkpoints.contains_key(id)).collect();
        for chunk in checkpoints.chunks(IDS_PER_STATEMENT) {
            for id in chunk {
                self.checkpoints.insert(*id, None);
            }
            for cp in reference::live_checkpoints(c, chunk)? {
                self.checkpoints.insert(cp.id, Some(cp));
            }
        }
        let visits: Vec<Id> = visits
            .into_iter()
            .filter(|id| !self.visits_stored.contains(id) && !self.visits_absent.contains(id))
            .collect();
        for chunk in visits.chunks(IDS_PER_STATEMENT) {
            let (marks, values) = in_list(chunk);
            let stored: HashSet<Id> = c
                .query(&format!("SELECT id FROM visits WHERE id IN ({marks})"), &values)?
                .iter()
                .map(|r| r.uuid(0))
                .collect::<Result<_, _>>()?;
            for id in chunk {
                if stored.contains(id) {
                    self.visits_stored.insert(*id);
                } else {
                    self.visits_absent.insert(*id);
                }
            }
        }
        Ok(())
    }

    /// The run, as stored or as this push left it.
    pub(crate) fn run(&mut self, c: &mut dyn Conn, run_id: Id) -> Result<Option<RunRow>, DbError> {
        if let Some(known) = self.runs.get(&run_id) {
            return Ok(*known);
        }
        let row = c
            .query_opt(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"), &[Value::from(run_id)])?
            .map(|r| run_row(&r))
            .transpose()?;
        self.runs.insert(run_id, row);
        Ok(row)
    }

    /// Notes a run this push started or finished (its row already written).
    pub(crate) fn run_written(&mut self, run_id: Id, row: RunRow) {
        self.runs.insert(run_id, Some(row));
    }

    /// The checkpoint, if live.
    pub(crate) fn live_checkpoint(&mut self, c: &mut dyn Conn, id: Id) -> Result<Option<Checkpoint>, DbError> {
        if let Some(known) = self.checkpoints.get(&id) {
            return Ok(known.clone());
        }
        let cp = reference::get_live_checkpoint(c, id)?;
        self.checkpoints.insert(id, cp.clone());
        Ok(cp)
    }

    /// Whether a visit with this id is stored or held back.
    pub(crate) fn visit_exists(&mut self, c: &mut dyn Conn, visit_id: Id) -> Result<bool, DbError> {
        if self.visits_stored.contains(&visit_id) {
            return Ok(true);
        }
        if self.visits_absent.contains(&visit_id) {
            return Ok(false);
        }
        let stored = c.query_opt("SELECT 1 FROM visits WHERE id = $1", &[Value::from(visit_id)])?.is_some();
        if stored {
            self.visits_stored.insert(visit_id);
        } else {
            self.visits_absent.insert(visit_id);
        }
        Ok(stored)
    }

    /// Holds back a visit's row (`visits` columns, in order).
    pub(crate) fn add_visit(&mut self, visit_id: Id, run_id: Id, checkpoint_id: Id, row: Vec<Value>) {
        self.visits_absent.remove(&visit_id);
        self.visits_stored.insert(visit_id);
        self.visits_held.push((run_id, checkpoint_id));
        self.visits.push(row);
    }

    /// The checkpoints of the visits to `run_id` held back in this push.
    pub(crate) fn held_visits_of(&self, run_id: Id) -> impl Iterator<Item = Id> + '_ {
        self.visits_held.iter().filter(move |(r, _)| *r == run_id).map(|(_, cp)| *cp)
    }

    pub(crate) fn add_item(&mut self, row: Vec<Value>) {
        self.items.push(row);
    }

    pub(crate) fn add_track(&mut self, row: Vec<Value>) {
        self.tracks.push(row);
    }

    pub(crate) fn add_feed(&mut self, kind: feed::Kind, entry: feed::Entry, now: i64) {
        self.feed.push(feed::pending_row(kind, &entry, now));
    }

    pub(crate) fn add_record(&mut self, row: Vec<Value>, leaf: Vec<Value>) {
        self.records.push(row);
        self.leaves.push(leaf);
    }

    /// Writes what is held back, each table in multi-row statements, in the order the
    /// foreign keys and the log need (a record's leaf after its record).
    pub(crate) fn flush(&mut self, c: &mut dyn Conn) -> Result<(), DbError> {
        use crate::audit::log::insert_rows;
        insert_rows(
            c,
            "visits (id, run_id, checkpoint_id, method, device_time_ms, received_ms, out_of_order, record_id)",
            &self.visits,
        )?;
        insert_rows(
            c,
            "item_results (record_id, run_id, visit_id, checkpoint_id, item_id, outcome, note)",
            &self.items,
        )?;
        insert_rows(c, "track_batches (record_id, run_id, points)", &self.tracks)?;
        insert_rows(
            c,
            "feed_pending (at_ms, kind, site_id, department_id, person_id, notice_id, record_id)",
            &self.feed,
        )?;
        insert_rows(
            c,
            "records (id, device_id, seq, author_id, kind, device_time_ms, prev_hash, hash, body, received_ms, status,
                      reason, reason_zh, clock_offset_ms)",
            &self.records,
        )?;
        insert_rows(c, "log_pending (kind, subject, leaf, at_ms)", &self.leaves)?;
        for rows in
            [&mut self.visits, &mut self.items, &mut self.tracks, &mut self.feed, &mut self.records, &mut self.leaves]
        {
            rows.clear();
        }
        self.visits_held.clear();
        Ok(())
    }

    /// Writes what is held back and forgets what was read, before a record whose apply
    /// may read or change anything.
    pub(crate) fn flush_and_forget(&mut self, c: &mut dyn Conn) -> Result<(), DbError> {
        self.flush(c)?;
        self.runs.clear();
        self.visits_stored.clear();
        self.visits_absent.clear();
        Ok(())
    }
}
