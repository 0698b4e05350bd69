//! The phone's offline core. This is the skeleton of the foundation issue; the mobile
//! core issue fills it with the store, patrols, photos and notices.

uniffi::setup_scaffolding!("patrol_core");

/// The version of the sync protocol this core speaks.
#[uniffi::export]
pub fn protocol_version() -> u32 {
    patrol_protocol::api::PROTOCOL_VERSION
}
