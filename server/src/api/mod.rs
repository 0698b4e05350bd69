//! HTTP handlers, one module per concern.

pub mod account;
pub mod admin;
pub mod doc;
pub mod extract;
pub mod health;
pub mod paging;
pub mod versions;
