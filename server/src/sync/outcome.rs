//! What applying one record came to: applied, or kept but rejected with a reason
//! in English and Chinese for the person who made it.

use patrol_protocol::sync::RecordStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: RecordStatus,
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
            reason: None,
            reason_zh: None,
            notice_number: None,
            in_timeline: false,
        }
    }

    pub fn rejected(en: impl Into<String>, zh: impl Into<String>) -> Outcome {
        Outcome {
            status: RecordStatus::Rejected,
            reason: Some(en.into()),
            reason_zh: Some(zh.into()),
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
