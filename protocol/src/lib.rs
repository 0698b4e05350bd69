//! The language every part of Patrol speaks: the domain model, the notice state
//! machine, immutable records with their canonical hash, and the API's wire types.
//! No I/O lives here; server and phone core both depend on this crate.

pub mod api;
pub mod audit;
pub mod fault;
#[cfg(feature = "jpeg")]
pub mod jpeg;
pub mod model;
pub mod notice;
pub mod photo_header;
pub mod reason;
pub mod record;
pub mod sync;
pub mod transparency;

// Lets files built on their own too (the fuzz targets' `#[path]` modules) name this
// crate the same way inside it and outside.
extern crate self as patrol_protocol;

pub use model::*;
pub use notice::{NoticeAction, NoticeRole, NoticeState, Refusal, Severity};
pub use record::{MARK_SCALE, MARK_TEXT_MAX, MARKS_MAX, Mark, Record, RecordPayload};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("patrol_protocol");

/// Identifiers are UUIDs (v7 for records, so they sort by creation time).
pub type Id = uuid::Uuid;

#[cfg(feature = "uniffi")]
uniffi::custom_type!(Id, String, {
    remote,
    try_lift: |val| uuid::Uuid::parse_str(&val).map_err(|e| ffi::malformed_id(&val, e)),
    lower: |obj| obj.to_string(),
});

/// Ids cross the FFI as text (Kotlin and Swift see `String`), so an app can pass one
/// that is not a UUID. uniffi would answer with its internal error and a Rust
/// backtrace; instead the exporting crate (the phone core) registers how a malformed
/// id becomes its own documented error type, which uniffi then hands to the caller.
#[cfg(feature = "uniffi")]
pub mod ffi {
    use uniffi::deps::anyhow;

    /// Set once by the crate whose functions take ids (`patrol_core`).
    pub static MALFORMED_ID: std::sync::OnceLock<fn(&str) -> anyhow::Error> = std::sync::OnceLock::new();

    pub(crate) fn malformed_id(text: &str, e: uuid::Error) -> anyhow::Error {
        match MALFORMED_ID.get() {
            Some(make) => make(text),
            None => e.into(),
        }
    }
}

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
