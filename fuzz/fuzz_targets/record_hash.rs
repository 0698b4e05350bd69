//! The canonical encoding: a record that decodes must encode, decode again to the same
//! record and hash the same. A difference would fork every device chain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_protocol::Record;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = serde_json::from_slice::<Record>(data) else { return };
    let bytes = record.canonical_bytes();
    let again: Record = serde_json::from_slice(&bytes).expect("canonical bytes decode");
    // NaN never equals itself; such records are refused by validation anyway.
    if record.validate().is_ok() {
        assert_eq!(again.canonical_bytes(), bytes, "canonical encoding is stable");
        assert_eq!(again.hash(), record.hash());
    }
});
