//! The log's side of witnessing: checkpoints submitted to the configured witnesses
//! (c2sp.org/tlog-witness add-checkpoint, with consistency proofs from the size each
//! last cosigned), their cosignatures kept in `witness_cosignatures` and served beside
//! the checkpoint, and the newest checkpoint that meets a k-of-n policy, which
//! `audit verify`, `verify-archive` and check-code require when one is configured.

use std::time::Duration;

use patrol_protocol::audit::{SignedTreeHead, TreeHead};

use super::cosign::{AddCheckpoint, Checkpoint, NoteKey, Policy, SigLine};
use super::log;
use crate::params;
use crate::store::{Conn, DbError, Store};

/// A witness the log submits its checkpoints to.
#[derive(Debug, Clone)]
pub struct WitnessEndpoint {
    pub url: String,
    pub key: NoteKey,
}

/// `PATROL_WITNESSES`: entries `URL VERIFIER-KEY`, separated by `;` or new lines.
pub fn parse_witnesses(text: &str) -> Result<Vec<WitnessEndpoint>, String> {
    let mut out: Vec<WitnessEndpoint> = Vec::new();
    for entry in text.split([';', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
        let (url, key) = entry.split_once(char::is_whitespace).ok_or_else(|| format!("{entry:?} is not `URL KEY`"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("{url:?} is not an http(s) URL"));
        }
        let key = NoteKey::parse(key.trim())?;
        if key.kind != super::cosign::COSIGNATURE_V1 {
            return Err(format!("the key of {} is not a cosignature/v1 key", key.name));
        }
        if out.iter().any(|w| w.key.name == key.name) {
            return Err(format!("the witness {} is named twice", key.name));
        }
        out.push(WitnessEndpoint { url: url.trim_end_matches('/').into(), key });
    }
    Ok(out)
}

/// The head as a checkpoint with every cosignature kept for it.
pub fn checkpoint_of(c: &mut dyn Conn, head: &TreeHead) -> Result<Checkpoint, DbError> {
    let (origin, key) = (log::origin(c)?, log::signing_key(c)?);
    with_cosignatures(c, key.checkpoint(&origin, head)?)
}

fn with_cosignatures(c: &mut dyn Conn, mut cp: Checkpoint) -> Result<Checkpoint, DbError> {
    let lines = c.query(
        "SELECT line FROM witness_cosignatures WHERE tree_size = $1 AND root = $2 ORDER BY witness",
        &params![cp.size as i64, hex::encode(cp.root)],
    )?;
    for r in lines {
        if let Ok(l) = SigLine::parse(r.text(0)?.trim_end()) {
            cp.add([l]);
        }
    }
    Ok(cp)
}

/// The largest stored checkpoint the policy accepts (cosigned by `quorum` of its
/// witnesses), among the newest few that were cosigned at all.
pub fn newest_witnessed(c: &mut dyn Conn, policy: &Policy) -> Result<Option<Checkpoint>, DbError> {
    if !policy.required() {
        return Ok(None);
    }
    let candidates =
        c.query("SELECT DISTINCT tree_size, root FROM witness_cosignatures ORDER BY tree_size DESC LIMIT 32", &[])?;
    if candidates.is_empty() {
        return Ok(None);
    }
    // The log's origin and key once, not for each candidate.
    let (origin, key) = (log::origin(c)?, log::signing_key(c)?);
    for r in candidates {
        let head = TreeHead { tree_size: r.int(0)? as u64, timestamp_ms: 0, root: r.text(1)? };
        let cp = with_cosignatures(c, key.checkpoint(&origin, &head)?)?;
        if policy.check(&cp).is_ok() {
            return Ok(Some(cp));
        }
    }
    Ok(None)
}

/// What submitting to one witness gave.
#[derive(Debug, PartialEq)]
pub enum Submitted {
    /// Cosigned at this size.
    Cosigned(u64),
    /// It had already cosigned the current checkpoint.
    UpToDate(u64),
}

fn last_cosigned(c: &mut dyn Conn, witness: &str) -> Result<u64, DbError> {
    Ok(c.query_one(
        "SELECT COALESCE(MAX(tree_size), 0) FROM witness_cosignatures WHERE witness = $1",
        &params![witness],
    )?
    .int(0)? as u64)
}

/// Submits the current checkpoint to each witness (blocking: run off the async
/// threads). A witness that answers 409 with the size it knows is asked again from
/// there, once. One witness failing does not stop the others.
pub fn submit_blocking(store: &Store, witnesses: &[WitnessEndpoint], now: i64) -> Vec<Result<Submitted, String>> {
    if witnesses.is_empty() {
        return vec![];
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into();
    let head = match log::current_head(store, now) {
        Ok(h) => h,
        Err(e) => return witnesses.iter().map(|_| Err(e.to_string())).collect(),
    };
    witnesses.iter().map(|w| submit_one(store, &agent, w, &head)).collect()
}

fn submit_one(
    store: &Store,
    agent: &ureq::Agent,
    w: &WitnessEndpoint,
    head: &SignedTreeHead,
) -> Result<Submitted, String> {
    let db = |e: DbError| e.to_string();
    let size = head.head.tree_size;
    let (cp, mut old) = store
        .tx_blocking(false, |c| Ok((checkpoint_of(c, &head.head)?, last_cosigned(c, &w.key.name)?)))
        .map_err(db)?;
    if cp.cosigned_by(&w.key).is_some() {
        return Ok(Submitted::UpToDate(size));
    }
    let mut bare = cp.clone();
    bare.signatures.truncate(1);
    for _attempt in 0..2 {
        if old > size {
            return Err(format!("{} has cosigned {old} leaves, more than this log's {size}: a fork?", w.key.name));
        }
        let proof = if old > 0 && old < size {
            store.tx_blocking(false, |c| log::Reader::new(c).consistency(old, size)).map_err(db)?
        } else {
            vec![]
        };
        let body = AddCheckpoint { old_size: old, proof, checkpoint: bare.render() }.render();
        let url = format!("{}/add-checkpoint", w.url);
        let mut resp = agent
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(body.as_bytes())
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
        match status {
            200 => {
                let line = SigLine::parse(text.trim_end()).map_err(|e| format!("{}: {e}", w.key.name))?;
                let mut signed = bare.clone();
                signed.add([line.clone()]);
                let time = signed
                    .cosigned_by(&w.key)
                    .ok_or_else(|| format!("{} answered with a cosignature that does not verify", w.key.name))?;
                store
                    .tx_blocking(true, |c| {
                        c.execute(
                            "INSERT INTO witness_cosignatures (witness, tree_size, root, cosigned_s, line)
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (witness, tree_size, root) DO NOTHING",
                            &params![
                                w.key.name.clone(),
                                size as i64,
                                head.head.root.clone(),
                                time as i64,
                                line.render()
                            ],
                        )
                    })
                    .map_err(db)?;
                return Ok(Submitted::Cosigned(size));
            }
            409 => {
                old =
                    text.trim().parse().map_err(|_| format!("{} answered 409 without a size: {text:?}", w.key.name))?;
            }
            _ => return Err(format!("{} answered {status}: {}", w.key.name, text.trim())),
        }
    }
    Err(format!("{} kept answering 409", w.key.name))
}

/// Checks that the database's tree still has the root a witnessed checkpoint names
/// (the witnesses' cosignatures cannot be forged, so a database edited below it fails).
pub fn tree_matches(c: &mut dyn Conn, cp: &Checkpoint) -> Result<bool, DbError> {
    if cp.size > log::size(c)? {
        return Ok(false);
    }
    Ok(log::Reader::new(c).root(cp.size)? == cp.root)
}
