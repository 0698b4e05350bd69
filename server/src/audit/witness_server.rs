//! `patrol-server audit witness-serve`: a cosigning witness speaking c2sp.org/tlog-witness,
//! run by someone other than the operator (the company office, the owners' committee).
//! The log submits each new checkpoint with a consistency proof from the last one this
//! witness cosigned; the witness checks the log's signature with the key it was given,
//! checks the proof, remembers the new checkpoint and answers with its cosignature
//! (c2sp.org/tlog-cosignature). It never cosigns a checkpoint that does not extend the
//! one it cosigned before, so two diverging copies of a log cannot both collect its
//! cosignature after their fork: that is what a k-of-n policy relies on.
//!
//! The state is a directory: `witness-key` (the Ed25519 seed, 0600), and per log
//! `<sha256(origin)>.latest` (the newest checkpoint cosigned) and `.seen` (every one,
//! with its cosignature), which `audit compare` reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_protocol::transparency;
use sha2::{Digest, Sha256};

use super::cosign::{AddCheckpoint, COSIGNATURE_V1, Checkpoint, ED25519, NoteKey, NoteSigner};

pub struct Witness {
    dir: PathBuf,
    signer: NoteSigner,
    logs: Vec<NoteKey>,
    /// One add-checkpoint at a time: check and update are one step per log.
    lock: tokio::sync::Mutex<()>,
    now_s: Box<dyn Fn() -> u64 + Send + Sync>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

impl Witness {
    /// Opens (or starts) the witness in `dir` under `name`, trusting the logs whose
    /// note verifier keys are given. A key is made on the first run.
    pub fn open(dir: &Path, name: &str, log_keys: &[String]) -> Result<Witness, String> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key_file = dir.join("witness-key");
        let seed = match std::fs::read_to_string(&key_file) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = crate::auth::tokens::Keys::new_seed_hex();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut f = options.open(&key_file).map_err(io(&key_file))?;
                std::io::Write::write_all(&mut f, seed.as_bytes()).map_err(io(&key_file))?;
                f.sync_all().map_err(io(&key_file))?;
                seed
            }
            Err(e) => return Err(io(&key_file)(e)),
        };
        let seed: [u8; 32] = hex::decode(seed.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{}: not a 64-hex-digit seed", key_file.display()))?;
        let logs = log_keys.iter().map(|k| NoteKey::parse(k)).collect::<Result<Vec<_>, _>>()?;
        if let Some(k) = logs.iter().find(|k| k.kind != ED25519) {
            return Err(format!("the log key of {} is not an Ed25519 note key", k.name));
        }
        let signer = NoteSigner::new(name, COSIGNATURE_V1, ed25519_dalek::SigningKey::from_bytes(&seed));
        // The name checked the way a log will read the key.
        NoteKey::parse(&signer.key().render())?;
        let now_s =
            Box::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        Ok(Witness { dir: dir.into(), signer, logs, lock: Default::default(), now_s })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, now_s: impl Fn() -> u64 + Send + Sync + 'static) -> Witness {
        self.now_s = Box::new(now_s);
        self
    }

    /// The witness's verifier key, for a log's `PATROL_WITNESSES` and a policy.
    pub fn verifier_key(&self) -> String {
        self.signer.key().render()
    }

    fn files(&self, origin: &str) -> (PathBuf, PathBuf) {
        let h = hex::encode(&Sha256::digest(origin.as_bytes())[..16]);
        (self.dir.join(format!("{h}.latest")), self.dir.join(format!("{h}.seen")))
    }

    /// The newest checkpoint this witness cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Checkpoint>, String> {
        read_latest(&self.files(origin).0)
    }

    /// One add-checkpoint request: the status and body c2sp.org/tlog-witness answers.
    pub async fn add_checkpoint(&self, body: &[u8]) -> (StatusCode, &'static str, String) {
        let bad = |why: String| (StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", why);
        let Ok(text) = std::str::from_utf8(body) else { return bad("the request is not UTF-8".into()) };
        let req = match AddCheckpoint::parse(text) {
            Ok(r) => r,
            Err(e) => return bad(e),
        };
        let cp = match Checkpoint::parse(&req.checkpoint) {
            Ok(c) => c,
            Err(e) => return bad(e),
        };
        let Some(key) = self.logs.iter().find(|k| k.name == cp.origin) else {
            return (StatusCode::NOT_FOUND, "text/plain; charset=utf-8", format!("unknown log {}", cp.origin));
        };
        if !cp.signed_by(key) {
            return (StatusCode::FORBIDDEN, "text/plain; charset=utf-8", "not signed by the log's key".into());
        }
        if req.old_size > cp.size {
            return bad(format!("old size {} is beyond the checkpoint's {}", req.old_size, cp.size));
        }
        let _one = self.lock.lock().await;
        let (latest_file, seen_file) = self.files(&cp.origin);
        let latest = match read_latest(&latest_file) {
            Ok(l) => l,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", e),
        };
        let known = latest.as_ref().map_or(0, |l| l.size);
        let conflict = (StatusCode::CONFLICT, "text/x.tlog.size", format!("{known}\n"));
        if req.old_size != known {
            return conflict;
        }
        if let Some(l) = &latest {
            if cp.size == l.size && cp.root != l.root {
                return conflict;
            }
            if l.size > 0
                && cp.size > l.size
                && !transparency::verify_consistency(l.size, cp.size, &l.root, &cp.root, &req.proof)
            {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "text/plain; charset=utf-8",
                    "the consistency proof does not verify".into(),
                );
            }
        }
        let line = self.signer.sign(&cp.body, (self.now_s)());
        let mut kept = cp.clone();
        kept.signatures.retain(|s| s.name == key.name);
        kept.add([line.clone()]);
        if let Err(e) = remember(&latest_file, &seen_file, &kept) {
            return (StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", e);
        }
        (StatusCode::OK, "text/plain; charset=utf-8", line.render())
    }
}

fn read_latest(path: &Path) -> Result<Option<Checkpoint>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Checkpoint::parse(&t).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// The new checkpoint, durably, before the cosignature leaves: a crash after this
/// costs the log one retry (409 with the new size), never a second cosignature for
/// a size this witness moved past.
fn remember(latest: &Path, seen: &Path, cp: &Checkpoint) -> Result<(), String> {
    use std::io::Write;
    let text = cp.render();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(seen).map_err(io(seen))?;
    writeln!(f, "{}", serde_json::json!({ "checkpoint": text })).and_then(|_| f.sync_all()).map_err(io(seen))?;
    let tmp = latest.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, latest).map_err(io(latest))
}

/// Every checkpoint a witness's state directory says it cosigned, oldest first.
pub fn seen_in(dir: &Path) -> Result<Vec<Checkpoint>, String> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "seen") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            for line in text.lines() {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("{}: {e}", path.display()))?;
                let cp = v["checkpoint"].as_str().ok_or_else(|| format!("{}: no checkpoint", path.display()))?;
                all.push(Checkpoint::parse(cp)?);
            }
        }
    }
    Ok(all)
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let (status, content_type, text) = w.add_checkpoint(&body).await;
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The witness's HTTP interface: `POST /add-checkpoint`.
pub fn router(w: Arc<Witness>) -> axum::Router {
    axum::Router::new()
        .route("/add-checkpoint", axum::routing::post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(super::cosign::MAX_NOTE + 8 * 1024))
        .with_state(w)
}

/// What comparing two witnesses' states found.
#[derive(Debug, PartialEq)]
pub enum Comparison {
    /// Everything either witness cosigned lies on one history.
    Consistent { checkpoints: usize },
    /// Two histories: the log showed the witnesses different logs (evidence inside).
    SplitView(String),
    /// No contradiction seen, but the newest checkpoints could not be related.
    Unproven(String),
}

/// Compares the checkpoints two (or more) witnesses cosigned: two roots for one size
/// of one log is a split view outright; otherwise the smaller of the newest ones must
/// be a prefix of the larger, by a consistency proof the log gives (`consistency`),
/// checked here against the two cosigned roots. A log that showed the witnesses
/// diverging copies cannot give one.
pub fn compare(
    states: &[Vec<Checkpoint>],
    consistency: &dyn Fn(u64, u64) -> Result<Vec<transparency::Hash>, String>,
) -> Comparison {
    use std::collections::BTreeMap;
    let mut by_size: BTreeMap<(String, u64), (transparency::Hash, usize)> = BTreeMap::new();
    let mut count = 0;
    for (w, seen) in states.iter().enumerate() {
        for cp in seen {
            count += 1;
            if let Some((root, other)) = by_size.insert((cp.origin.clone(), cp.size), (cp.root, w))
                && root != cp.root
            {
                return Comparison::SplitView(format!(
                    "witnesses {} and {} cosigned different roots for {} leaves of {}: {} and {}",
                    other + 1,
                    w + 1,
                    cp.size,
                    cp.origin,
                    hex::encode(root),
                    hex::encode(cp.root)
                ));
            }
        }
    }
    let newest: Vec<&Checkpoint> = states.iter().filter_map(|seen| seen.iter().max_by_key(|c| c.size)).collect();
    for pair in newest.windows(2) {
        let (a, b) = if pair[0].size <= pair[1].size { (pair[0], pair[1]) } else { (pair[1], pair[0]) };
        if a.origin != b.origin {
            return Comparison::Unproven(format!("the witnesses watch different logs: {} and {}", a.origin, b.origin));
        }
        if a.size == b.size || a.size == 0 {
            continue;
        }
        match consistency(a.size, b.size) {
            Ok(proof) if transparency::verify_consistency(a.size, b.size, &a.root, &b.root, &proof) => {}
            Ok(_) => {
                return Comparison::SplitView(format!(
                    "the log cannot show that the {} leaves one witness cosigned are a prefix of the {} another cosigned: it showed them different histories",
                    a.size, b.size
                ));
            }
            Err(e) => return Comparison::Unproven(format!("no consistency proof from {} to {}: {e}", a.size, b.size)),
        }
    }
    Comparison::Consistent { checkpoints: count }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patrol_protocol::transparency::{Hash, leaf_hash, node_hash};

    fn perfect(leaves: &[Hash], level: u32, index: u64) -> Hash {
        if level == 0 {
            return leaves[index as usize];
        }
        node_hash(&perfect(leaves, level - 1, 2 * index), &perfect(leaves, level - 1, 2 * index + 1))
    }

    fn root(leaves: &[Hash], n: u64) -> Hash {
        transparency::range_root::<()>(0, n, &mut |l, i| Ok(perfect(leaves, l, i))).unwrap()
    }

    fn note(log: &NoteSigner, leaves: &[Hash], n: u64) -> String {
        let body = Checkpoint::body_of(&log.name, n, &root(leaves, n));
        format!("{body}\n{}", log.sign(&body, 0).render())
    }

    fn request(old: u64, proof: Vec<Hash>, checkpoint: String) -> Vec<u8> {
        AddCheckpoint { old_size: old, proof, checkpoint }.render().into_bytes()
    }

    /// The answers c2sp.org/tlog-witness prescribes, each from the one check that gives it.
    #[tokio::test]
    async fn the_witness_answers_as_the_protocol_says() {
        let dir = std::env::temp_dir().join(format!("patrol-witness-{}", uuid::Uuid::now_v7()));
        let log = NoteSigner::new("log.example/a", ED25519, ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
        let w = Witness::open(&dir, "witness.example/w", &[log.key().render()]).unwrap().with_clock(|| 1_800_000_000);
        let leaves: Vec<Hash> = (0..8u8).map(|i| leaf_hash(&[i])).collect();
        let consistency = |m: u64, n: u64| {
            transparency::consistency_proof::<()>(m, n, &mut |l, i| Ok(perfect(&leaves, l, i))).unwrap()
        };

        let (status, _, line) = w.add_checkpoint(&request(0, vec![], note(&log, &leaves, 3))).await;
        assert_eq!(status, StatusCode::OK, "{line}");
        let mut cp = Checkpoint::parse(&note(&log, &leaves, 3)).unwrap();
        cp.add([super::super::cosign::SigLine::parse(line.trim_end()).unwrap()]);
        let key = NoteKey::parse(&w.verifier_key()).unwrap();
        assert_eq!(cp.cosigned_by(&key), Some(1_800_000_000));

        // A stale old size: 409 with the size the witness knows, as text/x.tlog.size.
        let (status, kind, body) = w.add_checkpoint(&request(0, vec![], note(&log, &leaves, 5))).await;
        assert_eq!((status, kind, body.as_str()), (StatusCode::CONFLICT, "text/x.tlog.size", "3\n"));
        // A proof that does not lead from what it cosigned: 422.
        let mut wrong = consistency(3, 5);
        wrong[0][0] ^= 1;
        let (status, _, _) = w.add_checkpoint(&request(3, wrong, note(&log, &leaves, 5))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Another root for the size it cosigned: 409.
        let other: Vec<Hash> = (10..18u8).map(|i| leaf_hash(&[i])).collect();
        let (status, _, _) = w.add_checkpoint(&request(3, vec![], note(&log, &other, 3))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        // Signed by someone else under the log's name: 403; an unknown log: 404; garbage: 400.
        let impostor = NoteSigner::new("log.example/a", ED25519, ed25519_dalek::SigningKey::from_bytes(&[2; 32]));
        let (status, _, _) = w.add_checkpoint(&request(3, consistency(3, 5), note(&impostor, &leaves, 5))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let stranger = NoteSigner::new("log.example/b", ED25519, ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
        let (status, _, _) = w.add_checkpoint(&request(0, vec![], note(&stranger, &leaves, 5))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        for garbage in [&b"old 3\n"[..], b"\xff\xfe", b"old x\n\nlog\n1\nAA==\n\n"] {
            assert_eq!(w.add_checkpoint(garbage).await.0, StatusCode::BAD_REQUEST);
        }
        // None of that moved it: the right proof is still taken from 3.
        let (status, _, _) = w.add_checkpoint(&request(3, consistency(3, 5), note(&log, &leaves, 5))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w.latest("log.example/a").unwrap().unwrap().size, 5);
        // And it remembers across a restart, with the same key.
        let again = Witness::open(&dir, "witness.example/w", &[log.key().render()]).unwrap();
        assert_eq!(again.verifier_key(), w.verifier_key());
        let (status, _, body) = again.add_checkpoint(&request(3, consistency(3, 8), note(&log, &leaves, 8))).await;
        assert_eq!((status, body.as_str()), (StatusCode::CONFLICT, "5\n"));
        assert_eq!(seen_in(&dir).unwrap().iter().map(|c| c.size).collect::<Vec<_>>(), [3, 5]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
