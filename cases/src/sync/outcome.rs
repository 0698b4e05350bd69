//! What applying one record came to: applied, or kept but rejected with a reason
//! in English and Chinese for the person who made it.

use patrol_protocol::reason::Reason;
use patrol_protocol::sync::RecordStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: RecordStatus,
    /// Why it was rejected; `reason` and `reason_zh` are its texts, as stored.
    pub why: Option<Reason>,
    pub reason: Option<String>,
    pub reason_zh: Option<String>,
    pub notice_number: Option<String>,
    /// The refusal was written into a notice's timeline, with its own feed entry.
    pub in_timeline: bool,
}

impl Outcome {
    pub fn applied() -> Outcome {
        Outcome {
            status: RecordStatus::Applied,
            why: None,
            reason: None,
            reason_zh: None,
            notice_number: None,
            in_timeline: false,
        }
    }

    /// Rejected: `why` is stored in both languages (the English text also in the
    /// transparency log, which is why those texts are never reworded).
    pub fn rejected(why: Reason) -> Outcome {
        Outcome {
            status: RecordStatus::Rejected,
            reason: Some(why.en()),
            reason_zh: Some(why.zh()),
            why: Some(why),
            notice_number: None,
            in_timeline: false,
        }
    }

    /// A refusal kept in the notice's timeline (its author may see the notice).
    pub fn in_timeline(self) -> Outcome {
        Outcome { in_timeline: true, ..self }
    }
}

/// The date in a site's local time of an instant.
pub fn local_date(ms: i64, utc_offset_minutes: i32) -> chrono::NaiveDate {
    let shifted = ms + i64::from(utc_offset_minutes) * 60_000;
    chrono::DateTime::from_timestamp_millis(shifted).map(|d| d.date_naive()).unwrap_or_default()
}
