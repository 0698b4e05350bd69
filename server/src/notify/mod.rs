//! Notifications over HTTP and their delivery to channels (webhooks, e-mail).
//! Deciding who is told what is the use case `patrol_cases::notify`, re-exported here.

pub use patrol_cases::notify::*;

pub mod api;
pub mod deliver;
pub mod smtp;
