//! The language every part of Patrol speaks: the domain model, the notice state
//! machine, immutable records with their canonical hash, and the API's wire types.
//! No I/O lives here; server and phone core both depend on this crate.

pub mod api;
pub mod audit;
pub mod model;
pub mod notice;
pub mod record;
pub mod sync;
pub mod transparency;

pub use model::*;
pub use notice::{NoticeAction, NoticeRole, NoticeState, Refusal, Severity};
pub use record::{Record, RecordPayload};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("patrol_protocol");

/// Identifiers are UUIDs (v7 for records, so they sort by creation time).
pub type Id = uuid::Uuid;

#[cfg(feature = "uniffi")]
uniffi::custom_type!(Id, String, {
    remote,
    try_lift: |val| Ok(uuid::Uuid::parse_str(&val)?),
    lower: |obj| obj.to_string(),
});

/// Limits every part enforces on text people type, so nothing unbounded is stored.
pub mod limits {
    pub const NAME_MAX: usize = 200;
    pub const CODE_MAX: usize = 32;
    pub const TEXT_MAX: usize = 4000;
    pub const CHECKLIST_MAX: usize = 100;
    pub const ROUTE_CHECKPOINTS_MAX: usize = 500;
    pub const PHOTOS_PER_RECORD_MAX: usize = 20;
    pub const TRACK_POINTS_PER_RECORD_MAX: usize = 5000;
}
