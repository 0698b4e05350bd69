//! `patrol-server audit witness`: run by someone other than the operator (the company
//! office, the owners' committee 业主委员会). Each run fetches the newest signed head,
//! checks it with the key pinned on the first run, asks for a consistency proof from
//! the last head it accepted, and keeps every head it has seen in its state directory.
//!
//! Plain HTTP is enough for integrity: heads are signed and proofs are checked here,
//! so a man in the middle can only make the witness alarm, not accept a false log.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use patrol_protocol::audit::{ConsistencyProof, LogPublicKey, SignedTreeHead};
use patrol_protocol::transparency::{self, Hash};
use serde::de::DeserializeOwned;

/// What one run concluded.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// The log only grew: `from` → `to` leaves.
    Consistent { from: u64, to: u64 },
    /// The log is not what it was: shrunk, forked, rewritten, or signed by another key.
    Alarm(String),
}

struct Files {
    key: PathBuf,
    latest: PathBuf,
    heads: PathBuf,
    alarms: PathBuf,
}

impl Files {
    fn new(dir: &Path) -> Files {
        Files {
            key: dir.join("public-key.json"),
            latest: dir.join("latest-head.json"),
            heads: dir.join("heads.jsonl"),
            alarms: dir.join("alarms.jsonl"),
        }
    }
}

/// The HTTP client of the outside checkers (witness, monitor, compare).
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().into()
}

/// A text answer of at most 1 MiB (a checkpoint, a key).
pub(crate) fn text(agent: &ureq::Agent, url: &str) -> Result<String, String> {
    agent
        .get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?
        .into_body()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .map_err(|e| format!("GET {url}: {e}"))
}

pub(crate) fn get<T: DeserializeOwned>(agent: &ureq::Agent, url: &str) -> Result<T, String> {
    agent
        .get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?
        .into_body()
        .read_json::<T>()
        .map_err(|e| format!("GET {url}: not the expected JSON ({e})"))
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value).expect("serialises")).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

fn append_line(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| e.to_string())?;
    writeln!(f, "{value}").and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}

fn verifying_key(k: &LogPublicKey) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(&k.public_key).ok()?.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()
}

fn root(h: &SignedTreeHead) -> Option<Hash> {
    transparency::parse_hash(&h.head.root)
}

/// A consistency proof from the log at `base_url`.
pub fn fetch_consistency(base_url: &str, first: u64, second: u64) -> Result<Vec<Hash>, String> {
    let agent = agent();
    let base = base_url.trim_end_matches('/');
    let p: ConsistencyProof = get(&agent, &format!("{base}/api/v1/audit/consistency?first={first}&second={second}"))?;
    if p.first != first || p.second != second {
        return Err("the log answered for other sizes".into());
    }
    p.proof.iter().map(|h| transparency::parse_hash(h).ok_or_else(|| format!("{h:?} is not a hash"))).collect()
}

/// One observation of the log at `base_url` (e.g. `https://patrol.example.com`).
/// `Err` is a failure to observe (network, files); `Ok(Alarm)` is evidence.
pub fn observe(base_url: &str, state_dir: &Path) -> Result<Verdict, String> {
    std::fs::create_dir_all(state_dir).map_err(|e| format!("{}: {e}", state_dir.display()))?;
    let files = Files::new(state_dir);
    let base = base_url.trim_end_matches('/');
    let agent = agent();

    let served: LogPublicKey = get(&agent, &format!("{base}/api/v1/audit/public-key"))?;
    // Trust on first use: the key a witness first saw is the log's key from then on.
    // A new key is an alarm; an operator who really rotated it says so, and the
    // witness's keeper re-pins by deleting public-key.json.
    let pinned: LogPublicKey = match read_json(&files.key)? {
        Some(k) => k,
        None => {
            write_json(&files.key, &served)?;
            served.clone()
        }
    };
    let alarm = |why: String, evidence: serde_json::Value| -> Result<Verdict, String> {
        append_line(&files.alarms, &serde_json::json!({ "alarm": why, "evidence": evidence }))?;
        Ok(Verdict::Alarm(why))
    };
    if served.public_key != pinned.public_key {
        return alarm(
            format!("the log now shows key {} instead of the pinned key {}", served.key_id, pinned.key_id),
            serde_json::to_value(&served).expect("serialises"),
        );
    }
    let key = verifying_key(&pinned).ok_or("the pinned public key is not an Ed25519 key")?;

    let head: SignedTreeHead = get(&agent, &format!("{base}/api/v1/audit/tree-head"))?;
    let evidence = serde_json::to_value(&head).expect("serialises");
    let sig_ok = hex::decode(&head.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()).is_some_and(|s| {
        key.verify_strict(&head.head.signing_bytes(), &ed25519_dalek::Signature::from_bytes(&s)).is_ok()
    });
    if head.key_id != pinned.key_id || !sig_ok {
        return alarm("the tree head is not signed by the pinned log key".into(), evidence);
    }
    let Some(new_root) = root(&head) else { return alarm("the tree head's root is not a hash".into(), evidence) };
    append_line(&files.heads, &evidence)?;

    let last: Option<SignedTreeHead> = read_json(&files.latest)?;
    let from = last.as_ref().map_or(0, |l| l.head.tree_size);
    if let Some(last) = &last {
        let old_root = root(last).ok_or("the stored head's root is not a hash")?;
        let (m, n) = (last.head.tree_size, head.head.tree_size);
        if n < m {
            return alarm(format!("the log shrank from {m} to {n} leaves"), evidence);
        }
        if m == n && old_root != new_root {
            return alarm(format!("two different roots signed for {n} leaves: a fork"), evidence);
        }
        if m > 0 && m < n {
            let p: ConsistencyProof = get(&agent, &format!("{base}/api/v1/audit/consistency?first={m}&second={n}"))?;
            let proof: Option<Vec<Hash>> = p.proof.iter().map(|h| transparency::parse_hash(h)).collect();
            let consistent = p.first == m
                && p.second == n
                && proof.is_some_and(|p| transparency::verify_consistency(m, n, &old_root, &new_root, &p));
            if !consistent {
                return alarm(
                    format!("the log of {n} leaves does not extend the {m} leaves seen before: history was rewritten"),
                    evidence,
                );
            }
        }
    }
    write_json(&files.latest, &head)?;
    Ok(Verdict::Consistent { from, to: head.head.tree_size })
}
