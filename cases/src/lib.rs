//! Patrol's use cases: what happens when a phone pushes, a notice is numbered,
//! routed and acted on, a log is signed, schedules are judged, people are notified
//! and the records are audited. Each takes a transaction (`store::Conn`), an actor
//! and an input; refusals are a `DomainError`. No web framework: the server's
//! handlers and console pages both call in here, and neither calls the other.

pub mod account;
pub mod admin;
pub mod audit;
pub mod clock;
pub mod error;
pub mod faults;
pub mod notices;
pub mod notify;
pub mod paging;
pub mod password;
pub mod patrols;
pub mod photos;
pub mod policy;
pub mod schedules;
pub mod sequencer;
pub mod sync;
pub mod tokens;
pub mod versions;

pub use patrol_storage as store;
pub use patrol_storage::params;
