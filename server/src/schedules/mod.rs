//! Schedules, rules and waivers over HTTP. Expected windows, verdicts and waivers
//! are the use case `patrol_cases::schedules`, re-exported here.

pub use patrol_cases::schedules::*;

pub mod api;
