//! Patrol's server: receives what phones record, numbers and routes notices, and
//! serves department heads, supervisors and administrators.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub use patrol_cases::clock;
pub mod demo;
pub mod error;
pub mod faults;
pub mod jobs;
pub mod metrics;
pub mod notices;
pub mod notify;
pub mod patrols;
pub mod photos;
pub use patrol_cases::policy;
pub mod schedules;
pub mod settings;
pub mod state;
/// Storage lives in its own crate (`patrol-storage`: sqlx, migrations, queries; no
/// web framework); the server reaches it under its old name.
pub use patrol_storage as store;
pub use patrol_storage::params;
pub mod sync;
pub mod web;

pub use app::router;
pub use state::AppState;
