//! The photo pipeline's first look at the camera's bytes: the header is read and the
//! bounds applied before anything is decoded. Any input must be answered (accepted or
//! refused with a reason) without a panic, and an accepted header is within bounds.
//!
//! The header module is built on its own (it needs only an `invalid` error), so the
//! fuzz build does not compile the whole phone core with its SQLite and TLS.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod error {
    /// The one error the header checks make: the photo refused, in both languages.
    #[derive(Debug)]
    pub enum Error {
        Invalid { field: String, en: String, zh: String },
    }
    impl Error {
        pub fn invalid(field: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
            Error::Invalid { field: field.into(), en: en.into(), zh: zh.into() }
        }
    }
    pub type Result<T> = std::result::Result<T, Error>;
}

#[path = "../../mobile-core/src/photos/header.rs"]
#[allow(dead_code)]
mod header;

fuzz_target!(|data: &[u8]| {
    match header::inspect(data) {
        Ok(h) => {
            assert!(h.width > 0 && h.height > 0);
            assert!(u64::from(h.width) * u64::from(h.height) <= 50_000_000);
            assert!((1..=8).contains(&h.orientation));
        }
        Err(error::Error::Invalid { field, en, zh }) => {
            assert_eq!(field, "photo");
            assert!(!en.is_empty() && !zh.is_empty(), "a refusal says why in both languages");
        }
    }
});
