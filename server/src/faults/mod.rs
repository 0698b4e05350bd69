//! Staff fault notices over HTTP. Issuing, numbering, answering, appealing and the
//! month's totals are the use case `patrol_cases::faults`, re-exported here.

pub use patrol_cases::faults::*;

pub mod api;
