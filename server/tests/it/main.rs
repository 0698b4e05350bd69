//! The server's integration suites, linked into one test binary: one link of the
//! server and its dependencies instead of one per suite (disk and link time on CI).
//! Each module is one suite; nextest names a test `suite::test`.

#[macro_use]
mod support;

mod api_auth;
mod audit;
mod audit_forgery;
mod audit_tamper;
mod auth_stories;
mod authz_matrix;
mod demo_month;
mod faults;
mod hardening;
mod long_lists;
mod markup;
mod notifications;
mod openapi;
mod people_lifecycle;
mod printouts;
mod push_atomicity;
mod push_batching;
mod reference_history;
mod refusals;
mod register;
mod schedule_edges;
mod schedules;
mod sequencer;
mod store_conformance;
mod sync_story;
mod uploads;
mod web_console;
