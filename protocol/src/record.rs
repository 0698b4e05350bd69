//! Immutable records: everything a person records is one, chained per device by
//! `prev_hash`. The canonical encoding and hash defined here are what phone and
//! server both compute; changing them is a protocol version change.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fault::{AppealDecision, FaultAction, POINTS_MAX, check_points};
use crate::model::{FieldError, check_text};
use crate::notice::{NoticeAction, Severity};
use crate::reason::Reason;
use crate::{Id, limits};

/// `prev_hash` of a device's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation for the record hash, so no other SHA-256 in the system collides.
const HASH_DOMAIN: &[u8] = b"patrol-record/1\n";

// Records refuse fields they do not know: a field the server would silently drop is
// a field the hash covered and the projections never saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Record {
    /// UUIDv7.
    pub id: Id,
    /// The person who made it.
    pub author: Id,
    /// The device (app installation or web session) that made it.
    pub device: Id,
    /// 1, 2, 3 … per device, no gaps.
    pub seq: u64,
    /// The device's clock when it was made, milliseconds since the Unix epoch.
    pub device_time_ms: i64,
    /// Hex SHA-256 of the device's previous record, or [`GENESIS_HASH`].
    pub prev_hash: String,
    pub payload: RecordPayload,
}

/// How a checkpoint visit was proven.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CheckIn {
    Qr { token: String },
    Nfc { tag_id: String },
    Gps { latitude: f64, longitude: f64, accuracy_m: f64, distance_m: f64 },
    Manual { reason: String },
}

impl CheckIn {
    pub fn method_str(&self) -> &'static str {
        match self {
            CheckIn::Qr { .. } => "qr",
            CheckIn::Nfc { .. } => "nfc",
            CheckIn::Gps { .. } => "gps",
            CheckIn::Manual { .. } => "manual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ItemOutcome {
    Ok,
    Problem,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrackPoint {
    pub time_ms: i64,
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
}

/// What a photo is evidence of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoContext {
    pub run_id: Option<Id>,
    pub checkpoint_id: Option<Id>,
    pub notice_id: Option<Id>,
}

/// The side of the square every mark's coordinates are in: 0 is the photo's left (or
/// top) edge, `MARK_SCALE` its right (or bottom) edge, whatever its pixel size. So a
/// layer fits the photo at any display size, and integers hash alike everywhere.
pub const MARK_SCALE: u16 = 10_000;
/// The most marks a layer holds.
pub const MARKS_MAX: usize = 24;
/// The longest text a mark carries, in characters.
pub const MARK_TEXT_MAX: usize = 40;

/// One mark of a photo's markup layer (an arrow at the leak, a circle round the crack,
/// a word or two), in `MARK_SCALE` coordinates. Drawn over the photo; the photo's
/// own bytes, sealed by its SHA-256, never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Mark {
    /// From the tail to the head, which points at the thing.
    Arrow { from_x: u16, from_y: u16, to_x: u16, to_y: u16 },
    /// Centred on (x, y); the radius in units of the photo's width.
    Circle { x: u16, y: u16, radius: u16 },
    /// A short text whose top-left corner is at (x, y).
    Text { x: u16, y: u16, text: String },
}

impl Mark {
    fn validate(&self) -> Result<(), FieldError> {
        let inside = |v: &[u16]| v.iter().all(|v| *v <= MARK_SCALE);
        let out = Err(FieldError { field: "marks", reason: Reason::MarkOutsidePhoto { max: u32::from(MARK_SCALE) } });
        match self {
            Mark::Arrow { from_x, from_y, to_x, to_y } => {
                if !inside(&[*from_x, *from_y, *to_x, *to_y]) {
                    return out;
                }
                if (from_x, from_y) == (to_x, to_y) {
                    return Err(FieldError { field: "marks", reason: Reason::MarkArrowLength });
                }
                Ok(())
            }
            Mark::Circle { x, y, radius } => {
                if !inside(&[*x, *y, *radius]) || *radius == 0 {
                    return out;
                }
                Ok(())
            }
            Mark::Text { x, y, text } => {
                if !inside(&[*x, *y]) {
                    return out;
                }
                check_text("marks", text, MARK_TEXT_MAX, true)?;
                if text.contains(['\n', '\t']) {
                    return Err(FieldError { field: "marks", reason: Reason::ControlCharacters });
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RecordPayload {
    RunStarted {
        run_id: Id,
        route_id: Id,
        site_id: Id,
    },
    CheckpointVisited {
        run_id: Id,
        visit_id: Id,
        checkpoint_id: Id,
        check_in: CheckIn,
        out_of_order: bool,
    },
    ItemRecorded {
        run_id: Id,
        visit_id: Id,
        checkpoint_id: Id,
        item_id: Id,
        outcome: ItemOutcome,
        note: String,
    },
    TrackPoints {
        run_id: Id,
        points: Vec<TrackPoint>,
    },
    PhotoTaken {
        sha256: String,
        bytes: u64,
        width: u32,
        height: u32,
        captured_at_ms: i64,
        latitude: Option<f64>,
        longitude: Option<f64>,
        context: PhotoContext,
    },
    RunFinished {
        run_id: Id,
        missed_reason: Option<String>,
    },
    NoticeRaised {
        notice_id: Id,
        site_id: Id,
        department_id: Id,
        checkpoint_id: Option<Id>,
        run_id: Option<Id>,
        location: String,
        description: String,
        severity: Severity,
        due_ms: i64,
        photos: Vec<String>,
    },
    NoticeActed {
        notice_id: Id,
        action: NoticeAction,
        reason: String,
        photos: Vec<String>,
        /// For `Reassign`: the department the notice now goes to.
        reassign_to: Option<Id>,
        /// For `VerifyFail` (二次整改, a second rectification): the new due time; the
        /// site's limit still caps it. Absent in records before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_due_ms: Option<i64>,
    },
    DailyLogSigned {
        site_id: Id,
        day: String,
        comment: String,
    },
    /// "Won't do": the author will not walk one expected window of a route, and why.
    /// A supervisor accepts or rejects it (`RunWaiverDecided`).
    RunWaived {
        site_id: Id,
        route_id: Id,
        /// The window's start as the server derives it (UTC milliseconds).
        window_start_ms: i64,
        reason: String,
    },
    /// A supervisor's decision on a `RunWaived` record (named by its record id).
    RunWaiverDecided {
        waiver_id: Id,
        accept: bool,
        note: String,
    },
    /// A markup layer over a photo (named by its SHA-256): the whole layer, which
    /// replaces the author's earlier layer of the photo where it is shown (an empty
    /// one clears it). The photo and every earlier layer stay recorded.
    PhotoMarked {
        photo: String,
        marks: Vec<Mark>,
    },
    /// A staff fault notice (员工过失通知单): the person, the rule of the organisation's
    /// catalogue broken, the points deducted, what was seen, where; numbered by the
    /// server per site and year. `notice_id` names the rectification notice it closes
    /// with points deducted (扣分关闭), if any.
    FaultIssued {
        fault_id: Id,
        site_id: Id,
        person_id: Id,
        rule_id: Id,
        points: u32,
        seen: String,
        location: String,
        run_id: Option<Id>,
        notice_id: Option<Id>,
        photos: Vec<String>,
    },
    /// The person signs for a fault notice, refuses to, or appeals it; a supervisor
    /// voids it.
    FaultActed {
        fault_id: Id,
        action: FaultAction,
        reason: String,
    },
    /// The decision on a fault notice's appeal, by the one level up. `points` is what
    /// remains when reduced (0 otherwise).
    AppealDecided {
        fault_id: Id,
        decision: AppealDecision,
        points: u32,
        reason: String,
    },
    /// A correction points at the record it corrects; the original stays.
    Correction {
        corrects: Id,
        reason: String,
    },
}

impl RecordPayload {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Self::RunStarted { .. } => "run_started",
            Self::CheckpointVisited { .. } => "checkpoint_visited",
            Self::ItemRecorded { .. } => "item_recorded",
            Self::TrackPoints { .. } => "track_points",
            Self::PhotoTaken { .. } => "photo_taken",
            Self::RunFinished { .. } => "run_finished",
            Self::NoticeRaised { .. } => "notice_raised",
            Self::NoticeActed { .. } => "notice_acted",
            Self::DailyLogSigned { .. } => "daily_log_signed",
            Self::Correction { .. } => "correction",
            Self::RunWaived { .. } => "run_waived",
            Self::RunWaiverDecided { .. } => "run_waiver_decided",
            Self::PhotoMarked { .. } => "photo_marked",
            Self::FaultIssued { .. } => "fault_issued",
            Self::FaultActed { .. } => "fault_acted",
            Self::AppealDecided { .. } => "appeal_decided",
        }
    }

    /// Bounds and shape checks that need no other data. Both sides run them.
    pub fn validate(&self) -> Result<(), FieldError> {
        let err = |field: &'static str, reason: Reason| Err(FieldError { field, reason });
        match self {
            Self::CheckpointVisited { check_in, .. } => match check_in {
                CheckIn::Qr { token } => check_text("token", token, 256, true),
                CheckIn::Nfc { tag_id } => check_text("tag_id", tag_id, 64, true),
                CheckIn::Gps { latitude, longitude, accuracy_m, distance_m } => {
                    if ![latitude, longitude, accuracy_m, distance_m].iter().all(|v| v.is_finite()) {
                        return err("position", Reason::NotFinite);
                    }
                    if latitude.abs() > 90.0 || longitude.abs() > 180.0 || *accuracy_m < 0.0 {
                        return err("position", Reason::PositionOutOfRange);
                    }
                    Ok(())
                }
                CheckIn::Manual { reason } => check_text("reason", reason, limits::TEXT_MAX, true),
            },
            Self::ItemRecorded { note, .. } => check_text("note", note, limits::TEXT_MAX, false),
            Self::TrackPoints { points, .. } => {
                if points.is_empty() || points.len() > limits::TRACK_POINTS_PER_RECORD_MAX {
                    return err("points", Reason::CountBetween { min: 1, max: limits::TRACK_POINTS_PER_RECORD_MAX });
                }
                let ok = points.iter().all(|p| {
                    p.latitude.is_finite()
                        && p.longitude.is_finite()
                        && p.accuracy_m.is_finite()
                        && p.latitude.abs() <= 90.0
                        && p.longitude.abs() <= 180.0
                });
                if ok { Ok(()) } else { err("points", Reason::TrackPoints) }
            }
            Self::PhotoTaken { sha256, latitude, longitude, width, height, .. } => {
                check_sha256("sha256", sha256)?;
                if latitude.is_some_and(|v| !v.is_finite() || v.abs() > 90.0)
                    || longitude.is_some_and(|v| !v.is_finite() || v.abs() > 180.0)
                {
                    return err("position", Reason::PositionOutOfRange);
                }
                if *width == 0 || *height == 0 || *width > 20_000 || *height > 20_000 {
                    return err("dimensions", Reason::PixelsPerSide { max: 20_000 });
                }
                Ok(())
            }
            Self::RunFinished { missed_reason, .. } => match missed_reason {
                Some(r) => check_text("missed_reason", r, limits::TEXT_MAX, true),
                None => Ok(()),
            },
            Self::NoticeRaised { location, description, photos, .. } => {
                check_text("location", location, limits::NAME_MAX, false)?;
                check_text("description", description, limits::TEXT_MAX, true)?;
                check_photos(photos)
            }
            Self::NoticeActed { action, reason, photos, reassign_to, new_due_ms, .. } => {
                if new_due_ms.is_some() && *action != NoticeAction::VerifyFail {
                    return err("new_due_ms", Reason::OnlySecondRectificationDue);
                }
                if new_due_ms.is_some_and(|d| !(946_684_800_000..7_258_118_400_000).contains(&d)) {
                    return err("new_due_ms", Reason::TimeYears);
                }
                check_text("reason", reason, limits::TEXT_MAX, action.needs_reason())?;
                check_photos(photos)?;
                if action.needs_photos() && photos.is_empty() {
                    return err("photos", Reason::NeedsPhoto);
                }
                if (*action == NoticeAction::Reassign) != reassign_to.is_some() {
                    return err("reassign_to", Reason::ReassignTarget);
                }
                Ok(())
            }
            Self::DailyLogSigned { day, comment, .. } => {
                if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
                    return err("day", Reason::DateFormat);
                }
                check_text("comment", comment, limits::TEXT_MAX, false)
            }
            Self::Correction { reason, .. } => check_text("reason", reason, limits::TEXT_MAX, true),
            Self::RunWaived { reason, window_start_ms, .. } => {
                // Before 2000 or after 2200 is a broken clock or a made-up window.
                if !(946_684_800_000..7_258_118_400_000).contains(window_start_ms) {
                    return err("window_start_ms", Reason::TimeYears);
                }
                check_text("reason", reason, limits::TEXT_MAX, true)
            }
            Self::RunWaiverDecided { accept, note, .. } => {
                // A rejection must say why; an acceptance may.
                check_text("note", note, limits::TEXT_MAX, !*accept)
            }
            Self::PhotoMarked { photo, marks } => {
                check_sha256("photo", photo)?;
                if marks.len() > MARKS_MAX {
                    return err("marks", Reason::TooMany { max: MARKS_MAX });
                }
                marks.iter().try_for_each(Mark::validate)
            }
            Self::FaultIssued { points, seen, location, photos, .. } => {
                check_points(*points)?;
                check_text("seen", seen, limits::TEXT_MAX, true)?;
                check_text("location", location, limits::NAME_MAX, false)?;
                check_photos(photos)
            }
            Self::FaultActed { action, reason, .. } => {
                check_text("reason", reason, limits::TEXT_MAX, action.needs_reason())
            }
            Self::AppealDecided { decision, points, reason, .. } => {
                check_text("reason", reason, limits::TEXT_MAX, true)?;
                match decision {
                    AppealDecision::Reduced if *points == 0 || *points > POINTS_MAX => {
                        err("points", Reason::ReducedPoints { max: POINTS_MAX })
                    }
                    AppealDecision::Upheld | AppealDecision::Cancelled if *points != 0 => {
                        err("points", Reason::ReducedPoints { max: POINTS_MAX })
                    }
                    _ => Ok(()),
                }
            }
            Self::RunStarted { .. } => Ok(()),
        }
    }
}

fn check_photos(photos: &[String]) -> Result<(), FieldError> {
    if photos.len() > limits::PHOTOS_PER_RECORD_MAX {
        return Err(FieldError { field: "photos", reason: Reason::TooMany { max: limits::PHOTOS_PER_RECORD_MAX } });
    }
    photos.iter().try_for_each(|p| check_sha256("photos", p))
}

/// A lower-case hex SHA-256.
pub fn check_sha256(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(FieldError { field, reason: Reason::Sha256 })
    }
}

impl Record {
    /// The canonical encoding: JSON with object keys sorted, no insignificant
    /// whitespace, numbers as serde_json writes them (shortest round-trip floats).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // serde_json's Value keeps object keys in a BTreeMap, i.e. sorted.
        let value = serde_json::to_value(self).expect("records always serialise");
        serde_json::to_vec(&value).expect("values always serialise")
    }

    /// Hex SHA-256 of the domain tag and the canonical encoding.
    pub fn hash(&self) -> String {
        Self::hash_of_canonical(&self.canonical_bytes())
    }

    /// The hash of a record whose canonical encoding is `bytes` (`hash` without
    /// encoding again, for a caller that keeps the encoding too).
    pub fn hash_of_canonical(bytes: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(bytes);
        hex::encode(h.finalize())
    }

    /// Envelope and payload checks that need no other data.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.seq == 0 {
            return Err(FieldError { field: "seq", reason: Reason::SeqStartsAtOne });
        }
        check_sha256("prev_hash", &self.prev_hash)?;
        if self.seq == 1 && self.prev_hash != GENESIS_HASH {
            return Err(FieldError { field: "prev_hash", reason: Reason::GenesisHash });
        }
        self.payload.validate()
    }
}

/// Verifies that `records` form an unbroken chain starting after `(seq, hash)`.
pub fn verify_chain<'a>(
    after_seq: u64,
    after_hash: &str,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(u64, String), ChainBreak> {
    let (mut seq, mut hash) = (after_seq, after_hash.to_string());
    for r in records {
        if r.seq != seq + 1 {
            return Err(ChainBreak::Gap { expected: seq + 1, got: r.seq });
        }
        if r.prev_hash != hash {
            return Err(ChainBreak::Fork { seq: r.seq });
        }
        seq = r.seq;
        hash = r.hash();
    }
    Ok((seq, hash))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("expected seq {expected}, got {got}")]
    Gap { expected: u64, got: u64 },
    #[error("record {seq} does not chain to its predecessor")]
    Fork { seq: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn vector_record() -> Record {
        Record {
            id: Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap(),
            author: Uuid::parse_str("00000000-0000-0000-0000-0000000000a1").unwrap(),
            device: Uuid::parse_str("00000000-0000-0000-0000-0000000000d1").unwrap(),
            seq: 1,
            device_time_ms: 1_790_000_000_000,
            prev_hash: GENESIS_HASH.into(),
            payload: RecordPayload::CheckpointVisited {
                run_id: Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap(),
                visit_id: Uuid::parse_str("00000000-0000-0000-0000-000000000002").unwrap(),
                checkpoint_id: Uuid::parse_str("00000000-0000-0000-0000-000000000003").unwrap(),
                check_in: CheckIn::Gps { latitude: 31.2304, longitude: 121.4737, accuracy_m: 8.5, distance_m: 3.25 },
                out_of_order: false,
            },
        }
    }

    /// Test vector 1: the canonical bytes are fixed text; its hash was computed with
    /// `printf 'patrol-record/1\n%s' "$BYTES" | sha256sum`, independent of this code.
    const VECTOR_1_CANONICAL: &str = r#"{"author":"00000000-0000-0000-0000-0000000000a1","device":"00000000-0000-0000-0000-0000000000d1","device_time_ms":1790000000000,"id":"01890a5d-ac96-774b-bcce-b302099a8057","payload":{"check_in":{"accuracy_m":8.5,"distance_m":3.25,"latitude":31.2304,"longitude":121.4737,"method":"gps"},"checkpoint_id":"00000000-0000-0000-0000-000000000003","kind":"checkpoint_visited","out_of_order":false,"run_id":"00000000-0000-0000-0000-000000000001","visit_id":"00000000-0000-0000-0000-000000000002"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1}"#;
    const VECTOR_1_HASH: &str = "acb06614a1cad5960cb1c71c893840f5bc98b1815b84c9000dece1bb4f6a51b3";

    #[test]
    fn test_vector_1_canonical_encoding_and_hash() {
        let r = vector_record();
        assert_eq!(String::from_utf8(r.canonical_bytes()).unwrap(), VECTOR_1_CANONICAL);
        assert_eq!(r.hash(), VECTOR_1_HASH);
    }

    #[test]
    fn test_vector_2_chinese_text_is_encoded_as_utf8_not_escaped() {
        let mut r = vector_record();
        r.payload = RecordPayload::Correction { corrects: r.id, reason: "误扫，应为2号楼".into() };
        let text = String::from_utf8(r.canonical_bytes()).unwrap();
        assert!(text.contains(r#""reason":"误扫，应为2号楼""#), "{text}");
        assert_eq!(r.hash(), VECTOR_2_HASH);
    }
    const VECTOR_2_HASH: &str = "50a369dac5d3c32a75c2a51542d517ce5221eb9ce376d8241d925a2447dd2c1d";

    #[test]
    fn every_field_changes_the_hash() {
        let base = vector_record();
        let h = base.hash();
        let mut variants = vec![];
        let mut r = base.clone();
        r.seq = 2;
        variants.push(r);
        let mut r = base.clone();
        r.device_time_ms += 1;
        variants.push(r);
        let mut r = base.clone();
        r.author = Uuid::nil();
        variants.push(r);
        let mut r = base.clone();
        if let RecordPayload::CheckpointVisited { out_of_order, .. } = &mut r.payload {
            *out_of_order = true;
        }
        variants.push(r);
        for v in variants {
            assert_ne!(v.hash(), h);
        }
    }

    #[test]
    fn a_chain_with_a_gap_or_a_fork_is_detected() {
        let a = vector_record();
        let mut b = vector_record();
        b.seq = 2;
        b.prev_hash = a.hash();
        assert_eq!(verify_chain(0, GENESIS_HASH, [&a, &b]).unwrap().0, 2);
        let mut c = b.clone();
        c.seq = 3;
        assert_eq!(verify_chain(0, GENESIS_HASH, [&a, &c]), Err(ChainBreak::Gap { expected: 2, got: 3 }));
        let mut d = b.clone();
        d.prev_hash = GENESIS_HASH.into();
        assert_eq!(verify_chain(0, GENESIS_HASH, [&a, &d]), Err(ChainBreak::Fork { seq: 2 }));
    }

    #[test]
    fn records_survive_a_json_round_trip_with_the_same_hash() {
        let r = vector_record();
        let back: Record = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back.hash(), r.hash());
    }

    #[test]
    fn a_waiver_needs_a_reason_and_a_rejection_needs_a_note() {
        let w = RecordPayload::RunWaived {
            site_id: Uuid::nil(),
            route_id: Uuid::nil(),
            window_start_ms: 1_790_000_000_000,
            reason: " ".into(),
        };
        assert_eq!(w.validate().unwrap_err().field, "reason");
        let w = RecordPayload::RunWaived {
            site_id: Uuid::nil(),
            route_id: Uuid::nil(),
            window_start_ms: 0,
            reason: "停电".into(),
        };
        assert_eq!(w.validate().unwrap_err().field, "window_start_ms");
        let d = RecordPayload::RunWaiverDecided { waiver_id: Uuid::nil(), accept: false, note: String::new() };
        assert_eq!(d.validate().unwrap_err().field, "note");
        let d = RecordPayload::RunWaiverDecided { waiver_id: Uuid::nil(), accept: true, note: String::new() };
        assert!(d.validate().is_ok());
    }

    #[test]
    fn a_fix_report_without_photos_is_refused() {
        let p = RecordPayload::NoticeActed {
            notice_id: Uuid::nil(),
            action: NoticeAction::ReportFix,
            reason: String::new(),
            photos: vec![],
            reassign_to: None,
            new_due_ms: None,
        };
        assert_eq!(p.validate().unwrap_err().field, "photos");
    }
}
