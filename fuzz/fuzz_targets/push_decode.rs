//! The server's first look at a push: decode the JSON body, validate every record and
//! check the chain. Any input must give an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patrol_protocol::record::{GENESIS_HASH, verify_chain};
use patrol_protocol::sync::{MAX_PUSH_RECORDS, PushRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<PushRequest>(data) else { return };
    if req.records.len() > MAX_PUSH_RECORDS {
        return;
    }
    for r in &req.records {
        let _ = r.validate();
    }
    let _ = verify_chain(0, GENESIS_HASH, &req.records);
});
