//! The phone's offline core: the store, patrols, photo evidence and notices, exported
//! to Kotlin and Swift through uniffi as one object, `PatrolCore` (see docs/mobile-core.md).

uniffi::setup_scaffolding!("patrol_core");

// Ids are the protocol crate's custom type (a UUID carried as a string); borrow its
// FFI converters instead of declaring a second one.
use uuid::Uuid;
uniffi::use_remote_type!(patrol_protocol::Uuid);

pub mod core;
pub mod error;
pub mod faults;
pub mod ffi;
pub mod notices;
pub mod patrols;
pub mod photos;
pub mod reference;
pub mod store;
pub mod sync;

pub use crate::core::{Core, CoreConfig, QueueStatus, SignedInPerson};
pub use error::{Error, PatrolError};
pub use ffi::PatrolCore;

/// The version of the sync protocol this core speaks.
#[uniffi::export]
pub fn protocol_version() -> u32 {
    patrol_protocol::api::PROTOCOL_VERSION
}
