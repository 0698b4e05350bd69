//! The photo pipeline's first look at the camera's bytes: the header is read and the
//! bounds applied before anything is decoded. Any input must be answered (accepted or
//! refused with a reason) without a panic, and an accepted header is within bounds.
//!
//! The header module (shared by the phone core and the server, in the protocol crate)
//! is built on its own, so the fuzz build compiles nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../protocol/src/photo_header.rs"]
#[allow(dead_code)]
mod header;

fuzz_target!(|data: &[u8]| {
    match header::inspect(data) {
        Ok(h) => {
            assert!(h.width > 0 && h.height > 0);
            assert!(u64::from(h.width) * u64::from(h.height) <= 50_000_000);
            assert!((1..=8).contains(&h.orientation));
        }
        Err(why) => {
            assert!(!why.en().is_empty() && !why.zh().is_empty(), "a refusal says why in both languages");
        }
    }
});
