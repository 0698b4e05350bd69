//! What the server's transparency log contains (one `Leaf` per accepted record and per
//! server decision) and the signed tree head format; shared with witnesses and the
//! offline archive verifier, so all of them read the same bytes the same way.

use serde::{Deserialize, Serialize};

use crate::Id;

/// One entry of the log. Its leaf bytes are the canonical JSON (`Leaf::bytes`), so a
/// verifier can recompute the leaf hash from a stored entry and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Leaf {
    /// A record extended its device's chain (applied, or kept and rejected with a
    /// reason: the reason is part of the leaf, so a rejection is a logged decision).
    Record {
        record_id: Id,
        device_id: Id,
        seq: u64,
        /// `Record::hash`, which covers the whole canonical body and `prev_hash`.
        record_hash: String,
        received_ms: i64,
        status: String,
        reason: Option<String>,
    },
    /// The server numbered a notice and routed it to its first department.
    NoticeNumbered {
        notice_id: Id,
        record_id: Id,
        record_hash: String,
        site_id: Id,
        number: String,
        year: i64,
        counter: i64,
        department_id: Id,
        at_ms: i64,
    },
    /// The server numbered a staff fault notice (员工过失通知单) issued to `person_id`.
    FaultNumbered {
        fault_id: Id,
        record_id: Id,
        record_hash: String,
        site_id: Id,
        person_id: Id,
        number: String,
        year: i64,
        counter: i64,
        at_ms: i64,
    },
    /// A reassignment routed a notice to another department.
    NoticeRouted { notice_id: Id, record_id: Id, site_id: Id, department_id: Id, at_ms: i64 },
    /// A device offered a record that contradicts its accepted chain.
    ForkFlagged { device_id: Id, seq: u64, stored_hash: Option<String>, offered_hash: String, at_ms: i64 },
    /// A photo's bytes arrived, were checked against its SHA-256 and stored.
    PhotoCompleted { sha256: String, size: u64, at_ms: i64 },
    /// The server made the thumbnail of a photo (once, on first request): its hash binds
    /// the stored thumbnail to the photo it shows.
    ThumbnailMade { sha256: String, thumbnail_sha256: String, at_ms: i64 },
    /// A month of a site closed: how many of the log's leaves are the site's in it and a
    /// digest of them (`index:leaf hash` lines), so a monthly archive that leaves one out
    /// no longer matches what the witnesses saw.
    MonthIndexed { site_id: Id, month: String, entries: u64, digest: String, at_ms: i64 },
    /// A supervisor signed a day's patrol log of a site; `content_hash` is what was signed.
    DailyLogSigned { record_id: Id, site_id: Id, day: String, content_hash: String, at_ms: i64 },
}

impl Leaf {
    /// The canonical encoding: JSON with sorted keys, no whitespace (as records).
    pub fn bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("leaves serialise");
        serde_json::to_vec(&value).expect("values serialise")
    }

    pub fn kind_str(&self) -> &'static str {
        match self {
            Leaf::Record { .. } => "record",
            Leaf::NoticeNumbered { .. } => "notice_numbered",
            Leaf::NoticeRouted { .. } => "notice_routed",
            Leaf::FaultNumbered { .. } => "fault_numbered",
            Leaf::ForkFlagged { .. } => "fork_flagged",
            Leaf::PhotoCompleted { .. } => "photo_completed",
            Leaf::ThumbnailMade { .. } => "thumbnail_made",
            Leaf::MonthIndexed { .. } => "month_indexed",
            Leaf::DailyLogSigned { .. } => "daily_log_signed",
        }
    }

    /// What the leaf is about, as the server indexes it: the record's id (for a
    /// notice's numbering, the record that raised it), a photo's SHA-256, or
    /// `device/seq` for a fork.
    pub fn subject(&self) -> String {
        match self {
            Leaf::Record { record_id, .. }
            | Leaf::NoticeNumbered { record_id, .. }
            | Leaf::FaultNumbered { record_id, .. }
            | Leaf::NoticeRouted { record_id, .. }
            | Leaf::DailyLogSigned { record_id, .. } => record_id.to_string(),
            Leaf::PhotoCompleted { sha256, .. } | Leaf::ThumbnailMade { sha256, .. } => sha256.clone(),
            Leaf::ForkFlagged { device_id, seq, .. } => format!("{device_id}/{seq}"),
            Leaf::MonthIndexed { site_id, month, .. } => format!("{site_id}/{month}"),
        }
    }
}

/// A tree head: the log had `tree_size` leaves with this root at this time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TreeHead {
    pub tree_size: u64,
    pub timestamp_ms: i64,
    /// Hex SHA-256.
    pub root: String,
}

impl TreeHead {
    /// The bytes the log key signs: a domain tag, then size, time and root, fixed width,
    /// so no two heads share a message and no JSON canonicalisation is needed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"patrol transparency log tree head v1\0".to_vec();
        out.extend_from_slice(&self.tree_size.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(self.root.as_bytes());
        out
    }
}

/// A tree head with the log key's Ed25519 signature (hex) over `signing_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignedTreeHead {
    #[serde(flatten)]
    pub head: TreeHead,
    pub key_id: String,
    pub signature: String,
}

/// The log's public key, as served and as written into archives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogPublicKey {
    pub key_id: String,
    pub algorithm: String,
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// Leaves `start..start + leaves.len()` exactly as logged (`GET /api/v1/audit/leaves`),
/// for a monitor to recompute the tree and re-check what they say.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LeafRange {
    pub start: u64,
    pub leaves: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
}

/// Retention in years per record kind (DOMAIN.md): notices and everything done on
/// them (the complaint-like ※ records) 10 years, all other records 5 years.
pub fn retention_years(record_kind: &str) -> u32 {
    match record_kind {
        "notice_raised" | "notice_acted" | "notice_numbered" | "notice_routed" => 10,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_bytes_are_sorted_json_that_reads_back_equal() {
        let l = Leaf::PhotoCompleted { sha256: "ab".into(), size: 3, at_ms: 7 };
        assert_eq!(l.bytes(), br#"{"at_ms":7,"kind":"photo_completed","sha256":"ab","size":3}"#);
        assert_eq!(serde_json::from_slice::<Leaf>(&l.bytes()).unwrap(), l);
    }

    #[test]
    fn notices_are_kept_ten_years_and_patrol_records_five() {
        assert_eq!(retention_years("notice_raised"), 10);
        assert_eq!(retention_years("notice_acted"), 10);
        assert_eq!(retention_years("checkpoint_visited"), 5);
    }
}
