//! Records of one simulated device as the protocol carries them: seq numbers from 1
//! and each record naming the hash of the one before, so every push is a valid
//! chain. Shared by the benchmark drivers (`sync-bench`, `load-bench`).

use patrol_protocol::record::{CheckIn, GENESIS_HASH, ItemOutcome, Record, RecordPayload};
use patrol_protocol::{Checkpoint, Id};

/// The next record of one device's chain.
pub struct Chain {
    pub person: Id,
    pub device: Id,
    seq: u64,
    prev: String,
}

impl Chain {
    pub fn new(person: Id, device: Id) -> Chain {
        Chain { person, device, seq: 0, prev: GENESIS_HASH.to_string() }
    }

    /// The device's next record, made at `device_time_ms`.
    pub fn record(&mut self, payload: RecordPayload, device_time_ms: i64) -> Record {
        self.seq += 1;
        let r = Record {
            id: Id::now_v7(),
            author: self.person,
            device: self.device,
            seq: self.seq,
            device_time_ms,
            prev_hash: self.prev.clone(),
            payload,
        };
        self.prev = r.hash();
        r
    }

    /// The last seq handed out (0 before the first record).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// One QR visit of a checkpoint in `run` with its first checklist item recorded as
/// fine: two records at `t`.
pub fn visit(chain: &mut Chain, run: Id, cp: &Checkpoint, t: i64) -> [Record; 2] {
    let visit = Id::now_v7();
    [
        chain.record(
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: visit,
                checkpoint_id: cp.id,
                check_in: CheckIn::Qr { token: cp.qr_token.clone() },
                out_of_order: false,
            },
            t,
        ),
        chain.record(
            RecordPayload::ItemRecorded {
                run_id: run,
                visit_id: visit,
                checkpoint_id: cp.id,
                item_id: cp.checklist[0].id,
                outcome: ItemOutcome::Ok,
                note: String::new(),
            },
            t,
        ),
    ]
}
