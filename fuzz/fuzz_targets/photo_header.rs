//! The photo pipeline's first look at the camera's bytes: the header is read and the
//! bounds applied before anything is decoded. Any input must be answered (accepted or
//! refused with a reason) without a panic, and an accepted header is within bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_core::photos::header::inspect;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = inspect(data) {
        assert!(h.width > 0 && h.height > 0);
        assert!(u64::from(h.width) * u64::from(h.height) <= 50_000_000);
        assert!((1..=8).contains(&h.orientation));
    }
});
