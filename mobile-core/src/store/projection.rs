//! The projections: the tables people look at (runs, visits, notices, photos), each a
//! pure function of the record log, applied as records are appended or replayed.

use rusqlite::Transaction;

use patrol_protocol::{Record, RecordPayload};

use crate::error::Result;
use crate::{notices, patrols, photos};

/// Applies one record's effect. The same code runs when a record is first made and
/// when the log is replayed, so the two can never disagree.
pub fn apply(tx: &Transaction<'_>, record: &Record) -> Result<()> {
    match &record.payload {
        RecordPayload::RunStarted { .. }
        | RecordPayload::CheckpointVisited { .. }
        | RecordPayload::ItemRecorded { .. }
        | RecordPayload::RunFinished { .. } => patrols::project(tx, record),
        RecordPayload::PhotoTaken { .. } | RecordPayload::PhotoMarked { .. } => photos::project(tx, record),
        RecordPayload::NoticeRaised { .. } | RecordPayload::NoticeActed { .. } => notices::project(tx, record),
        // Track points live in the log's own track_batches table; signatures and
        // corrections have no local screen yet.
        RecordPayload::TrackPoints { .. }
        | RecordPayload::DailyLogSigned { .. }
        | RecordPayload::Correction { .. }
        | RecordPayload::RunWaived { .. }
        | RecordPayload::RunWaiverDecided { .. } => Ok(()),
        // Fault notices have no local projection: the phone shows the server's views
        // (the `faults` table the pull fills, see `faults`), with this device's actions
        // not yet acknowledged laid over them from the log itself when read. A fault
        // notice issued here shows once the server has numbered it.
        RecordPayload::FaultIssued { .. } | RecordPayload::FaultActed { .. } | RecordPayload::AppealDecided { .. } => {
            Ok(())
        }
    }
}

/// Tables that are pure projections of the log and can be thrown away and rebuilt.
const PROJECTIONS: &[&str] = &["runs", "visits", "item_results", "photos", "photo_marks", "notices", "notice_actions"];

/// Rebuilds every projection from the log. Notice numbers are the server's decisions,
/// not records of this device, so they are carried over (the sync issue stores those
/// decisions in their own table and re-applies them here).
pub fn rebuild(tx: &Transaction<'_>) -> Result<u64> {
    let numbers: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT notice_id, number FROM notices WHERE number IS NOT NULL")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
    };
    for table in PROJECTIONS {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut seq = 0;
    loop {
        let page = super::records_after(tx, seq, 500)?;
        let Some(last) = page.last() else { break };
        seq = last.seq;
        for record in &page {
            apply(tx, record)?;
        }
    }
    for (id, number) in numbers {
        tx.execute("UPDATE notices SET number = ?2 WHERE notice_id = ?1", [id, number])?;
    }
    Ok(seq)
}
