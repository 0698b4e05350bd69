//! Patrol runs on the server: the projection of runs, visits, results and tracks
//! built from records, the run view, and the daily patrol log with its signatures.

pub mod review;

use patrol_protocol::model::normalise_nfc_tag;
use patrol_protocol::reason::{Metres, Reason};
use patrol_protocol::record::{CheckIn, Record, RecordPayload};
use patrol_protocol::sync::{DailyLog, DailyLogSignature, RunView, VisitView};
use patrol_protocol::{Id, Site, distance_m};
use sha2::{Digest, Sha256};

use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError, reference};
use crate::sync::batch::{Batch, RunRow};
use crate::sync::feed::{self, Entry, Kind};
use crate::sync::outcome::{Outcome, local_date};

/// GPS fixes worse than this prove nothing about which checkpoint someone stood at.
pub const GPS_ACCURACY_LIMIT_M: f64 = 100.0;

/// The author's own, unfinished run, or the reason it is not.
fn own_open_run(c: &mut dyn Conn, b: &mut Batch, rec: &Record, run_id: Id) -> Result<Result<RunRow, Outcome>, DbError> {
    Ok(match b.run(c, run_id)? {
        None => Err(Outcome::rejected(Reason::RunUnknown)),
        Some(r) if r.person_id != rec.author => Err(Outcome::rejected(Reason::RunNotYours)),
        Some(r) if r.finished => Err(Outcome::rejected(Reason::RunFinished)),
        Some(r) => Ok(r),
    })
}

fn run_changed(b: &mut Batch, run: &RunRow, rec: &Record, now: i64) {
    let entry = Entry {
        site_id: Some(run.site_id),
        person_id: Some(run.person_id),
        record_id: Some(rec.id),
        ..Entry::default()
    };
    b.add_feed(Kind::Run, entry, now);
}

/// Does the check-in prove presence at the checkpoint? `Err` names why not.
pub fn verify_check_in(cp: &patrol_protocol::Checkpoint, check_in: &CheckIn) -> Result<(), Reason> {
    match check_in {
        CheckIn::Qr { token } if !cp.label_matches(token) => {
            Err(Reason::QrNotThisCheckpoint { name: cp.name_zh.clone() })
        }
        CheckIn::Nfc { tag_id }
            if cp.nfc_tag_id.as_deref().map(normalise_nfc_tag) != Some(normalise_nfc_tag(tag_id)) =>
        {
            Err(Reason::NfcNotThisCheckpoint { name: cp.name_zh.clone() })
        }
        CheckIn::Gps { latitude, longitude, accuracy_m, .. } => {
            if *accuracy_m > GPS_ACCURACY_LIMIT_M {
                return Err(Reason::GpsTooPoor { accuracy_m: Metres(*accuracy_m) });
            }
            let d = distance_m(*latitude, *longitude, cp.latitude, cp.longitude);
            if d - accuracy_m > cp.radius_m {
                return Err(Reason::TooFarAway { distance_m: Metres(d), radius_m: Metres(cp.radius_m) });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies a patrol record. The rows it adds (visits, results, tracks, feed entries)
/// wait in the push's batch; runs are written at once (visits refer to them).
pub(crate) fn apply(
    c: &mut dyn Conn,
    actor: &Actor,
    rec: &Record,
    now: i64,
    b: &mut Batch,
) -> Result<Outcome, DbError> {
    match &rec.payload {
        RecordPayload::RunStarted { run_id, route_id, site_id } => {
            let Some(site) = reference::get_site(c, *site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
                return Ok(Outcome::rejected(Reason::SiteUnknown));
            };
            if reference::get_route(c, *route_id)?.is_none_or(|r| r.site_id != site.id) {
                return Ok(Outcome::rejected(Reason::RouteOfOtherSite));
            }
            if !(actor.is_org_wide() || actor.roles.iter().any(|r| r.site_id() == Some(site.id))) {
                return Ok(Outcome::rejected(Reason::NoRoleAtSite));
            }
            if b.run(c, *run_id)?.is_some() {
                return Ok(Outcome::rejected(Reason::RunStarted));
            }
            let day = local_date(rec.device_time_ms, site.utc_offset_minutes).to_string();
            c.execute(
                "INSERT INTO runs (id, site_id, route_id, person_id, device_id, local_day, started_device_ms, received_ms,
                                   start_record_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &params![*run_id, site.id, *route_id, rec.author, rec.device, day, rec.device_time_ms, now, rec.id],
            )?;
            let run = RunRow { site_id: site.id, route_id: *route_id, person_id: rec.author, finished: false };
            b.run_written(*run_id, run);
            run_changed(b, &run, rec, now);
            Ok(Outcome::applied())
        }
        RecordPayload::CheckpointVisited { run_id, visit_id, checkpoint_id, check_in, out_of_order } => {
            let run = match own_open_run(c, b, rec, *run_id)? {
                Ok(r) => r,
                Err(o) => return Ok(o),
            };
            // The one checkpoint, if it is a live one of the run's site (not the site's
            // whole list, parsed again for every visit).
            let cp = b.live_checkpoint(c, *checkpoint_id)?.filter(|cp| cp.site_id == run.site_id);
            let Some(cp) = cp else {
                return Ok(Outcome::rejected(Reason::CheckpointOfOtherSite));
            };
            if let Err(why) = verify_check_in(&cp, check_in) {
                return Ok(Outcome::rejected(why));
            }
            if b.visit_exists(c, *visit_id)? {
                return Ok(Outcome::rejected(Reason::VisitRecorded));
            }
            b.add_visit(
                *visit_id,
                *run_id,
                cp.id,
                params![
                    *visit_id,
                    *run_id,
                    cp.id,
                    check_in.method_str(),
                    rec.device_time_ms,
                    now,
                    *out_of_order,
                    rec.id
                ],
            );
            run_changed(b, &run, rec, now);
            Ok(Outcome::applied())
        }
        RecordPayload::ItemRecorded { run_id, visit_id, checkpoint_id, item_id, outcome, note } => {
            let run = match own_open_run(c, b, rec, *run_id)? {
                Ok(r) => r,
                Err(o) => return Ok(o),
            };
            let outcome = serde_json::to_value(outcome).expect("outcome serialises");
            b.add_item(params![
                rec.id,
                *run_id,
                *visit_id,
                *checkpoint_id,
                *item_id,
                outcome.as_str().unwrap_or("ok"),
                note
            ]);
            run_changed(b, &run, rec, now);
            Ok(Outcome::applied())
        }
        RecordPayload::TrackPoints { run_id, points } => {
            // Track points may trail the run's end: the phone batches them.
            match b.run(c, *run_id)? {
                Some(r) if r.person_id == rec.author => {}
                _ => return Ok(Outcome::rejected(Reason::RunUnknown)),
            }
            b.add_track(params![rec.id, *run_id, points.len() as i64]);
            Ok(Outcome::applied())
        }
        RecordPayload::RunFinished { run_id, missed_reason } => {
            let run = match own_open_run(c, b, rec, *run_id)? {
                Ok(r) => r,
                Err(o) => return Ok(o),
            };
            let missed = missed_checkpoints(c, b, *run_id, run.route_id)?;
            if !missed.is_empty() && missed_reason.is_none() {
                return Ok(Outcome::rejected(Reason::MissedWithoutReason { missed: missed.len() }));
            }
            c.execute(
                "UPDATE runs SET finished_device_ms = $2, missed_reason = $3, finish_record_id = $4, finished_received_ms = $5
                 WHERE id = $1",
                &params![*run_id, rec.device_time_ms, missed_reason.clone(), rec.id, now],
            )?;
            b.run_written(*run_id, RunRow { finished: true, ..run });
            run_changed(b, &run, rec, now);
            Ok(Outcome::applied())
        }
        RecordPayload::DailyLogSigned { site_id, day, comment } => {
            let Some(site) = reference::get_site(c, *site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
                return Ok(Outcome::rejected(Reason::SiteUnknown));
            };
            if !actor.is_supervisor_of(site.id) {
                return Ok(Outcome::rejected(Reason::OnlySupervisorSigns));
            }
            let log = daily_log(c, &site, day)?;
            c.execute(
                "INSERT INTO daily_log_signatures (record_id, site_id, day, person_id, comment, server_ms, content_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &params![rec.id, site.id, day, rec.author, comment, now, &log.content_hash],
            )?;
            let leaf = patrol_protocol::audit::Leaf::DailyLogSigned {
                record_id: rec.id,
                site_id: site.id,
                day: day.clone(),
                content_hash: log.content_hash.clone(),
                at_ms: now,
            };
            crate::audit::log::append(c, &leaf, now)?;
            feed::append(
                c,
                Kind::DailyLog,
                Entry { site_id: Some(site.id), record_id: Some(rec.id), ..Entry::default() },
                now,
            )?;
            Ok(Outcome::applied())
        }
        _ => unreachable!("dispatched by kind"),
    }
}

/// The route's checkpoints the run has no visit to, stored or held back in the push.
fn missed_checkpoints(c: &mut dyn Conn, b: &Batch, run_id: Id, route_id: Id) -> Result<Vec<Id>, DbError> {
    let route = reference::get_route(c, route_id)?.map(|r| r.checkpoint_ids).unwrap_or_default();
    let mut visited: Vec<Id> = c
        .query("SELECT checkpoint_id FROM visits WHERE run_id = $1", &params![run_id])?
        .iter()
        .map(|r| r.uuid(0))
        .collect::<Result<_, _>>()?;
    visited.extend(b.held_visits_of(run_id));
    Ok(route.into_iter().filter(|cp| !visited.contains(cp)).collect())
}

pub fn run_view(c: &mut dyn Conn, run_id: Id) -> Result<Option<RunView>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT r.site_id, r.route_id, r.person_id, p.display_name, r.started_device_ms, r.finished_device_ms, r.received_ms,
                r.missed_reason
         FROM runs r JOIN people p ON p.id = r.person_id WHERE r.id = $1",
        &params![run_id],
    )?
    else {
        return Ok(None);
    };
    let route_id = r.uuid(1)?;
    // Problems per visit, found through the run (`item_results_run`): there is no index
    // by visit, and without the run each visit scanned every item result ever recorded.
    let visits = c
        .query(
            "SELECT v.id, v.checkpoint_id, v.method, v.device_time_ms, v.received_ms, v.out_of_order,
                    (SELECT COUNT(*) FROM item_results i WHERE i.run_id = v.run_id AND i.visit_id = v.id
                       AND i.outcome = 'problem')
             FROM visits v WHERE v.run_id = $1 ORDER BY v.device_time_ms, v.id",
            &params![run_id],
        )?
        .iter()
        .map(|v| {
            Ok(VisitView {
                visit_id: v.uuid(0)?,
                checkpoint_id: v.uuid(1)?,
                method: v.text(2)?,
                device_time_ms: v.int(3)?,
                received_ms: v.int(4)?,
                out_of_order: v.bool(5)?,
                problems: v.int(6)? as u32,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    // SUM is NUMERIC in PostgreSQL: cast so both databases answer an integer.
    let track_points = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM track_batches WHERE run_id = $1",
            &params![run_id],
        )?
        .int(0)?;
    let photos: Vec<(String, bool)> = c
        .query(
            "SELECT DISTINCT c.sha256, p.complete FROM photo_citations c JOIN photos p ON p.sha256 = c.sha256
             WHERE c.run_id = $1 ORDER BY c.sha256",
            &params![run_id],
        )?
        .iter()
        .map(|p| Ok((p.text(0)?, p.bool(1)?)))
        .collect::<Result<_, DbError>>()?;
    let photos_complete = photos.iter().all(|p| p.1);
    let finished = r.opt_int(5)?;
    Ok(Some(RunView {
        run_id,
        site_id: r.uuid(0)?,
        route_id,
        person_id: r.uuid(2)?,
        person_name: r.text(3)?,
        started_device_ms: r.int(4)?,
        finished_device_ms: finished,
        received_ms: r.int(6)?,
        missed_reason: r.opt_text(7)?,
        out_of_order: visits.iter().filter(|v| v.out_of_order).count() as u32,
        missed_checkpoints: missed_checkpoints(c, &Batch::default(), run_id, route_id)?,
        visits,
        track_points: track_points as u32,
        photos: photos.into_iter().map(|p| p.0).collect(),
        photos_complete,
        complete: finished.is_some() && photos_complete,
    }))
}

/// The site's patrol log for one local day: its runs, the notices raised, signatures.
pub fn daily_log(c: &mut dyn Conn, site: &Site, day: &str) -> Result<DailyLog, DbError> {
    let date =
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| DbError::Data(format!("bad day {day}")))?;
    // The one derivation of what a day expects (schedules, special periods, holidays).
    let expected_runs = crate::schedules::expected_windows(c, site, date)?.iter().map(|w| w.runs).sum();
    let run_ids: Vec<Id> = c
        .query(
            "SELECT id FROM runs WHERE site_id = $1 AND local_day = $2 ORDER BY started_device_ms, id",
            &params![site.id, day],
        )?
        .iter()
        .map(|r| r.uuid(0))
        .collect::<Result<_, _>>()?;
    let mut runs = Vec::new();
    for id in run_ids {
        runs.extend(run_view(c, id)?);
    }
    // Notices raised that local day (by the device clock, bounded by receipt).
    let offset = i64::from(site.utc_offset_minutes) * 60_000;
    let start = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis() - offset;
    let end = start + 86_400_000;
    let rows = c.query(
        "SELECT id FROM notices WHERE site_id = $1 AND raised_device_ms >= $2 AND raised_device_ms < $3 ORDER BY counter",
        &params![site.id, start, end],
    )?;
    let mut notices_raised = Vec::new();
    for r in &rows {
        if let Some(n) = crate::notices::get(c, r.uuid(0)?)? {
            notices_raised.push(crate::notices::view(c, n)?);
        }
    }
    let signatures = c
        .query(
            "SELECT s.person_id, p.display_name, s.comment, s.server_ms, s.content_hash FROM daily_log_signatures s
             JOIN people p ON p.id = s.person_id WHERE s.site_id = $1 AND s.day = $2 ORDER BY s.server_ms",
            &params![site.id, day],
        )?
        .iter()
        .map(|r| {
            Ok(DailyLogSignature {
                person_id: r.uuid(0)?,
                person_name: r.text(1)?,
                comment: r.text(2)?,
                server_time_ms: r.int(3)?,
                content_hash: r.text(4)?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let covered = serde_json::json!({
        "runs": runs.iter().map(|r| (r.run_id, r.visits.len(), r.complete, &r.missed_checkpoints)).collect::<Vec<_>>(),
        "notices": notices_raised.iter().map(|n| (n.id, &n.number, n.state)).collect::<Vec<_>>(),
    });
    let content_hash = hex::encode(Sha256::digest(covered.to_string().as_bytes()));
    Ok(DailyLog {
        site_id: site.id,
        day: day.to_string(),
        expected_runs,
        runs,
        notices_raised,
        signatures,
        content_hash,
    })
}
