//! Notices over HTTP. Raising, numbering, routing and acting on a notice are the use
//! case `patrol_cases::notices`, re-exported here.

pub use patrol_cases::notices::*;

pub mod api;
