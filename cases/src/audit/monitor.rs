//! `patrol-server audit monitor`: a witness checks that the log only grows; a monitor
//! also reads what it holds. Each run fetches the newest C2SP checkpoint (checked with
//! the note key pinned on the first run), reads every leaf added since the last run
//! (`GET /api/v1/audit/leaves`), recomputes the tree from them and compares its root
//! with the checkpoint's, re-checks each device's chain (seq 1, 2, 3 … with no gap and
//! no repeat) and each site's notice numbers (1, 2, 3 … per year), re-fetches a few
//! earlier leaves at random with inclusion proofs (all of them with `full`), and alarms
//! when the log has not grown for longer than a day of patrols should allow.
//!
//! Its state (a directory) is O(log n) hashes plus one counter per device and per site
//! and year: a monitor of ten years of records stays small.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use patrol_protocol::Id;
use patrol_protocol::audit::{InclusionProof, Leaf, LeafRange};
use patrol_protocol::transparency::{self, CompactRange, Hash};
use serde::{Deserialize, Serialize};

use super::cosign::{Checkpoint, NoteKey};
use super::witness::{agent, get as json, text};

/// How a run is asked to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// Re-read every leaf from the first and recompute the whole tree.
    pub full: bool,
    /// Earlier leaves re-fetched at random with inclusion proofs.
    pub recheck: usize,
    /// The longest the log may stand still before it is an alarm.
    pub stale_after: Duration,
    /// The monitor's clock, in ms (tests pass their own).
    pub now_ms: i64,
}

#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Every new leaf read and checked; the tree is the checkpoint's.
    Sound {
        from: u64,
        to: u64,
    },
    Alarm(Vec<String>),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    size: u64,
    range: Vec<(u32, String)>,
    devices: BTreeMap<Id, u64>,
    /// `site/year` → the last notice counter seen.
    numbers: BTreeMap<String, i64>,
    last_growth_ms: i64,
}

impl State {
    fn range(&self) -> Option<CompactRange> {
        let parts = self.range.iter().map(|(l, h)| Some((*l, transparency::parse_hash(h)?))).collect::<Option<_>>()?;
        CompactRange::from_parts(self.size, parts)
    }
}

/// What the leaves say, checked as they stream past.
struct Reading {
    range: CompactRange,
    devices: BTreeMap<Id, u64>,
    numbers: BTreeMap<String, i64>,
    alarms: Vec<String>,
}

impl Reading {
    fn read(&mut self, index: u64, text: &str) {
        self.range.push(transparency::leaf_hash(text.as_bytes()));
        match serde_json::from_str::<Leaf>(text) {
            Ok(Leaf::Record { device_id, seq, .. }) => {
                let last = self.devices.get(&device_id).copied().unwrap_or(0);
                if seq != last + 1 {
                    self.alarm(format!(
                        "leaf {index}: device {device_id} logs seq {seq} after seq {last}: {}",
                        if seq <= last { "a record logged twice or a fork" } else { "records missing from its chain" }
                    ));
                }
                self.devices.insert(device_id, seq.max(last));
            }
            Ok(
                Leaf::NoticeNumbered { site_id, year, counter, number, .. }
                | Leaf::FaultNumbered { site_id, year, counter, number, .. },
            ) => {
                // Notices and fault notices are numbered apart (the latter SITE-F-…).
                let key = format!("{site_id}/{year}/{}", number.contains("-F-"));
                let last = self.numbers.get(&key).copied().unwrap_or(0);
                if counter != last + 1 {
                    self.alarm(format!(
                        "leaf {index}: notice {number} is number {counter} of its site's year after {last}"
                    ));
                }
                self.numbers.insert(key, counter.max(last));
            }
            Ok(_) => {}
            Err(e) => self.alarm(format!("leaf {index} is not a leaf: {e}")),
        }
    }

    fn alarm(&mut self, why: String) {
        if self.alarms.len() < 100 {
            self.alarms.push(why);
        }
    }
}

struct Files {
    key: PathBuf,
    state: PathBuf,
    alarms: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// One run against the log at `base_url`, keeping its state in `state_dir`. `Err` is
/// a failure to look (network, files); `Ok(Alarm)` is evidence, also appended to
/// `alarms.jsonl`; the state only advances on a sound run.
pub fn run(base_url: &str, state_dir: &Path, options: &Options) -> Result<Verdict, String> {
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let files = Files {
        key: state_dir.join("checkpoint-key.txt"),
        state: state_dir.join("monitor.json"),
        alarms: state_dir.join("alarms.jsonl"),
    };
    let base = base_url.trim_end_matches('/');
    let agent = agent();
    let served_key = text(&agent, &format!("{base}/api/v1/audit/checkpoint-key"))?;
    let pinned = match std::fs::read_to_string(&files.key) {
        Ok(k) => k,
        Err(_) => {
            NoteKey::parse(&served_key)?;
            write_atomic(&files.key, served_key.as_bytes())?;
            served_key.clone()
        }
    };
    let key = NoteKey::parse(&pinned)?;
    let alarm = |whys: Vec<String>| -> Result<Verdict, String> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&files.alarms)
            .map_err(|e| format!("{}: {e}", files.alarms.display()))?;
        for why in &whys {
            writeln!(f, "{}", serde_json::json!({ "at_ms": options.now_ms, "alarm": why }))
                .map_err(|e| e.to_string())?;
        }
        Ok(Verdict::Alarm(whys))
    };
    if served_key.trim() != pinned.trim() {
        return alarm(vec![format!(
            "the log now shows the checkpoint key {} instead of the pinned one",
            served_key.trim()
        )]);
    }
    let cp = Checkpoint::parse(&text(&agent, &format!("{base}/api/v1/audit/checkpoint"))?)?;
    if cp.origin != key.name || !cp.signed_by(&key) {
        return alarm(vec!["the checkpoint is not signed by the pinned log key".into()]);
    }
    let stored: State = match std::fs::read(&files.state) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", files.state.display()))?,
        Err(_) => State { last_growth_ms: options.now_ms, ..State::default() },
    };
    if cp.size < stored.size {
        return alarm(vec![format!("the log shrank from {} to {} leaves", stored.size, cp.size)]);
    }
    let mut reading = Reading {
        range: CompactRange::default(),
        devices: Default::default(),
        numbers: Default::default(),
        alarms: vec![],
    };
    if !options.full && stored.size > 0 {
        reading.range = stored.range().ok_or("the stored range does not fit the stored size")?;
        reading.devices = stored.devices.clone();
        reading.numbers = stored.numbers.clone();
    }
    let from = reading.range.size();
    while reading.range.size() < cp.size {
        let at = reading.range.size();
        let page: LeafRange = json(&agent, &format!("{base}/api/v1/audit/leaves?start={at}"))?;
        if page.start != at || page.leaves.is_empty() {
            return alarm(vec![format!("the log did not serve its leaves from {at} (it claims {})", cp.size)]);
        }
        for (k, leaf) in page.leaves.iter().enumerate() {
            if at + (k as u64) < cp.size {
                reading.read(at + k as u64, leaf);
            }
        }
    }
    if reading.range.root() != cp.root {
        reading
            .alarm(format!("the {} leaves served do not hash to the checkpoint's root: a leaf was rewritten", cp.size));
    }
    // A few earlier leaves, again, with proofs against today's root: a leaf edited
    // after this monitor read it no longer proves.
    if !options.full && from > 0 && options.recheck > 0 {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        for _ in 0..options.recheck.min(from as usize) {
            let i = rng.gen_range(0..from);
            let page: LeafRange = json(&agent, &format!("{base}/api/v1/audit/leaves?start={i}&count=1"))?;
            let p: InclusionProof =
                json(&agent, &format!("{base}/api/v1/audit/inclusion?index={i}&tree_size={}", cp.size))?;
            let proof: Option<Vec<Hash>> = p.proof.iter().map(|h| transparency::parse_hash(h)).collect();
            let leaf = page.leaves.first().map(|l| transparency::leaf_hash(l.as_bytes()));
            let proven = leaf
                .zip(proof)
                .is_some_and(|(l, proof)| transparency::verify_inclusion(i, cp.size, &l, &proof, &cp.root));
            if !proven {
                reading.alarm(format!("leaf {i} as served now is not the leaf under the checkpoint's root: rewritten"));
            }
        }
    }
    let grew = cp.size > stored.size;
    let last_growth_ms = if grew { options.now_ms } else { stored.last_growth_ms };
    if options.now_ms - last_growth_ms > options.stale_after.as_millis() as i64 {
        reading.alarm(format!(
            "the log has not grown for {} hours: records are not being logged, or the sequencer is stuck",
            (options.now_ms - last_growth_ms) / 3_600_000
        ));
    }
    if !reading.alarms.is_empty() {
        return alarm(reading.alarms);
    }
    let state = State {
        size: cp.size,
        range: reading.range.parts().iter().map(|(l, h)| (*l, hex::encode(h))).collect(),
        devices: reading.devices,
        numbers: reading.numbers,
        last_growth_ms,
    };
    write_atomic(&files.state, &serde_json::to_vec(&state).expect("serialises"))?;
    Ok(Verdict::Sound { from, to: cp.size })
}
