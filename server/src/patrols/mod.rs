//! Patrols over HTTP. What a patrol record does, and the daily log, are the use
//! case `patrol_cases::patrols`, re-exported here.

pub use patrol_cases::patrols::*;

pub mod api;
