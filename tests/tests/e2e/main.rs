//! The end-to-end stories, linked into one test binary (one link of the server, the
//! core and their dependencies instead of one per story). Each module is one story;
//! nextest names a test `story::test` and runs each in its own process.

mod database_restart;
mod day_story;
mod fault_story;
mod instances;
mod photo_store_outage;
mod sync_calls;
mod year_scale;
