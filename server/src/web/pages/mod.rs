//! The console's pages, one module per thing a person manages; each builds its
//! HTML with maud and calls the JSON API's functions for validation and storage.

pub mod checkpoints;
pub mod departments;
pub mod faults;
pub mod home;
pub mod login;
pub mod monthly;
pub mod notices;
pub mod objects;
pub mod people;
pub mod register;
pub mod routes;
pub mod sites;
pub mod supervise;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// `?saved=1` after a form was stored (post, redirect, get).
#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
}

impl Saved {
    pub fn yes(&self) -> bool {
        self.saved.is_some()
    }
}

/// Back to a list page with the "saved" banner.
pub fn saved(path: &str) -> Response {
    Redirect::to(&format!("{path}?saved=1")).into_response()
}
