//! The C2SP formats an outside witness speaks, written from the specifications:
//! checkpoints (c2sp.org/tlog-checkpoint) as signed notes (c2sp.org/signed-note), witness
//! cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`), the add-checkpoint request
//! of c2sp.org/tlog-witness, and the k-of-n policy an outsider checks a checkpoint
//! against. Pure functions over text: the server, the witness and the offline checks
//! share them, so there is one reading of each format.

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use patrol_protocol::transparency::Hash;
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The signature types of c2sp.org/signed-note: a plain Ed25519 note signature (the
/// log's) and a `cosignature/v1` (a witness's).
pub const ED25519: u8 = 0x01;
pub const COSIGNATURE_V1: u8 = 0x04;

/// Bounds: a checkpoint note is a few hundred bytes (a few signatures more with
/// cosignatures); a consistency proof has at most 63 hashes for any 64-bit size.
pub const MAX_NOTE: usize = 16 * 1024;
pub const MAX_SIGNATURES: usize = 100;
pub const MAX_PROOF: usize = 63;

/// A key's id in a note: the first four bytes of SHA-256(name ‖ "\n" ‖ type ‖ key).
pub fn key_id(name: &str, kind: u8, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One signature line of a note: `— name base64(key id ‖ signature)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SigLine {
    pub name: String,
    pub key_id: u32,
    /// What follows the key id: 64 bytes for Ed25519, 8 + 64 for a cosignature.
    pub signature: Vec<u8>,
}

impl SigLine {
    pub fn render(&self) -> String {
        let bytes = [self.key_id.to_be_bytes().as_slice(), &self.signature].concat();
        format!("\u{2014} {} {}\n", self.name, B64.encode(bytes))
    }

    pub fn parse(line: &str) -> Result<SigLine, String> {
        let rest = line.strip_prefix("\u{2014} ").ok_or("a signature line starts with an em dash and a space")?;
        let (name, b64) = rest.rsplit_once(' ').ok_or("a signature line is `— name signature`")?;
        if !valid_name(name) {
            return Err(format!("{name:?} is not a key name"));
        }
        let bytes = B64.decode(b64).map_err(|_| "a signature is not base64".to_string())?;
        if bytes.len() < 5 {
            return Err("a signature is too short".into());
        }
        Ok(SigLine {
            name: name.into(),
            key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            signature: bytes[4..].to_vec(),
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control())
}

/// A checkpoint note: its body (origin, size, root, any extension lines) and signatures.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The signed text: every body line, each ending in a newline.
    pub body: String,
    pub signatures: Vec<SigLine>,
}

impl Checkpoint {
    /// The body alone, for a log to sign: `origin`, size, base64 root.
    pub fn body_of(origin: &str, size: u64, root: &Hash) -> String {
        format!("{origin}\n{size}\n{}\n", B64.encode(root))
    }

    pub fn parse(text: &str) -> Result<Checkpoint, String> {
        if text.len() > MAX_NOTE {
            return Err(format!("a checkpoint is longer than {MAX_NOTE} bytes"));
        }
        let (body, sigs) = text.split_once("\n\n").ok_or("a note is its text, a blank line and its signatures")?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or("no origin line")?.to_string();
        let size_line = lines.next().ok_or("no size line")?;
        let size: u64 = size_line.parse().map_err(|_| format!("{size_line:?} is not a tree size"))?;
        if size_line != size.to_string() {
            return Err(format!("{size_line:?} is not a tree size in decimal without leading zeros"));
        }
        let root_line = lines.next().ok_or("no root line")?;
        let root: Hash = B64
            .decode(root_line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{root_line:?} is not a base64 SHA-256 root"))?;
        if !sigs.ends_with('\n') {
            return Err("a note ends with a newline".into());
        }
        let signatures = sigs.lines().map(SigLine::parse).collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
            return Err(format!("a note has 1 to {MAX_SIGNATURES} signatures"));
        }
        Ok(Checkpoint { origin, size, root, body, signatures })
    }

    pub fn render(&self) -> String {
        let mut s = format!("{}\n", self.body);
        for l in &self.signatures {
            s.push_str(&l.render());
        }
        s
    }

    /// Adds signature lines not already there.
    pub fn add(&mut self, lines: impl IntoIterator<Item = SigLine>) {
        for l in lines {
            if !self.signatures.contains(&l) && self.signatures.len() < MAX_SIGNATURES {
                self.signatures.push(l);
            }
        }
    }

    /// Whether the note carries a valid Ed25519 signature of `key` (a log's).
    pub fn signed_by(&self, key: &NoteKey) -> bool {
        key.kind == ED25519
            && self.signatures.iter().any(|s| {
                s.name == key.name
                    && s.key_id == key.key_id
                    && <[u8; 64]>::try_from(s.signature.as_slice())
                        .is_ok_and(|b| key.key.verify_strict(self.body.as_bytes(), &Signature::from_bytes(&b)).is_ok())
            })
    }

    /// When `key` (a witness's) cosigned this checkpoint, if it did, in seconds.
    pub fn cosigned_by(&self, key: &NoteKey) -> Option<u64> {
        if key.kind != COSIGNATURE_V1 {
            return None;
        }
        self.signatures.iter().find_map(|s| {
            if s.name != key.name || s.key_id != key.key_id || s.signature.len() != 72 {
                return None;
            }
            let time = u64::from_be_bytes(s.signature[..8].try_into().expect("8 bytes"));
            let sig = Signature::from_bytes(&s.signature[8..].try_into().expect("64 bytes"));
            key.key.verify_strict(cosigned_message(&self.body, time).as_bytes(), &sig).is_ok().then_some(time)
        })
    }
}

/// What a witness signs: c2sp.org/tlog-cosignature's `cosignature/v1` message.
fn cosigned_message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// A note verifier key: `name+hex key id+base64(type ‖ Ed25519 key)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteKey {
    pub name: String,
    pub key_id: u32,
    pub kind: u8,
    pub key: VerifyingKey,
}

impl NoteKey {
    pub fn new(name: &str, kind: u8, key: VerifyingKey) -> NoteKey {
        NoteKey { name: name.into(), key_id: key_id(name, kind, &key), kind, key }
    }

    pub fn parse(text: &str) -> Result<NoteKey, String> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{text:?} is not a verifier key (name+id+key)"));
        };
        if !valid_name(name) {
            return Err(format!("{name:?} is not a key name"));
        }
        let bytes = B64.decode(b64).map_err(|_| format!("the key of {name} is not base64"))?;
        let (&kind, key) = bytes.split_first().ok_or("an empty key")?;
        if kind != ED25519 && kind != COSIGNATURE_V1 {
            return Err(format!(
                "the key of {name} is of type {kind:#04x}, not Ed25519 (0x01) or cosignature/v1 (0x04)"
            ));
        }
        let key = <[u8; 32]>::try_from(key)
            .ok()
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(|| format!("the key of {name} is not an Ed25519 public key"))?;
        let parsed = NoteKey::new(name, kind, key);
        if id.len() != 8 || u32::from_str_radix(id, 16).ok() != Some(parsed.key_id) {
            return Err(format!("the key id {id} of {name} is not its key's"));
        }
        Ok(parsed)
    }

    pub fn render(&self) -> String {
        let bytes = [&[self.kind][..], self.key.as_bytes()].concat();
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(bytes))
    }
}

/// Signs notes: a log (`ED25519`) or a witness (`COSIGNATURE_V1`).
pub struct NoteSigner {
    pub name: String,
    kind: u8,
    signing: SigningKey,
}

impl NoteSigner {
    pub fn new(name: &str, kind: u8, signing: SigningKey) -> NoteSigner {
        NoteSigner { name: name.into(), kind, signing }
    }

    pub fn key(&self) -> NoteKey {
        NoteKey::new(&self.name, self.kind, self.signing.verifying_key())
    }

    /// The signature line of `body` (for a witness, cosigned at `time`, in seconds).
    pub fn sign(&self, body: &str, time: u64) -> SigLine {
        let key_id = self.key().key_id;
        let signature = match self.kind {
            COSIGNATURE_V1 => {
                let sig = self.signing.sign(cosigned_message(body, time).as_bytes());
                [time.to_be_bytes().as_slice(), sig.to_bytes().as_slice()].concat()
            }
            _ => self.signing.sign(body.as_bytes()).to_bytes().to_vec(),
        };
        SigLine { name: self.name.clone(), key_id, signature }
    }
}

/// Which witnesses an outsider trusts and how many of them must have cosigned.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub witnesses: Vec<NoteKey>,
    pub quorum: usize,
}

impl Policy {
    /// `keys` are witness verifier keys; `quorum` defaults to all of them. No keys is
    /// no policy (nothing required).
    pub fn new(keys: &[String], quorum: Option<usize>) -> Result<Policy, String> {
        let witnesses = keys.iter().map(|k| NoteKey::parse(k)).collect::<Result<Vec<_>, _>>()?;
        if let Some(w) = witnesses.iter().find(|w| w.kind != COSIGNATURE_V1) {
            return Err(format!("the witness key of {} is not a cosignature/v1 key", w.name));
        }
        let quorum = quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() || (quorum == 0 && !witnesses.is_empty()) {
            return Err(format!("a quorum of {quorum} out of {} witnesses", witnesses.len()));
        }
        Ok(Policy { witnesses, quorum })
    }

    pub fn required(&self) -> bool {
        self.quorum > 0
    }

    /// The witnesses whose valid cosignature the checkpoint carries.
    pub fn cosigners(&self, cp: &Checkpoint) -> Vec<String> {
        self.witnesses.iter().filter(|w| cp.cosigned_by(w).is_some()).map(|w| w.name.clone()).collect()
    }

    /// `Ok` with the cosigners when at least `quorum` of the witnesses cosigned.
    pub fn check(&self, cp: &Checkpoint) -> Result<Vec<String>, String> {
        let names = self.cosigners(cp);
        if names.len() < self.quorum {
            return Err(format!(
                "the checkpoint of {} leaves is cosigned by {} of the {} required witnesses ({})",
                cp.size,
                names.len(),
                self.quorum,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ));
        }
        Ok(names)
    }
}

/// c2sp.org/tlog-witness: the body of `POST /add-checkpoint`.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl AddCheckpoint {
    pub fn render(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    pub fn parse(text: &str) -> Result<AddCheckpoint, String> {
        if text.len() > MAX_NOTE + 64 * (MAX_PROOF + 2) {
            return Err("the request is too long".into());
        }
        let (head, checkpoint) = text.split_once("\n\n").ok_or("no blank line before the checkpoint")?;
        let mut lines = head.lines();
        let old = lines.next().and_then(|l| l.strip_prefix("old ")).ok_or("the first line is `old <size>`")?;
        let old_size: u64 = old.parse().map_err(|_| format!("{old:?} is not a size"))?;
        if old != old_size.to_string() {
            return Err(format!("{old:?} is not a size in decimal without leading zeros"));
        }
        let proof = lines
            .map(|l| B64.decode(l).ok().and_then(|b| <Hash>::try_from(b).ok()).ok_or(format!("{l:?} is not a hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF {
            return Err(format!("a proof of more than {MAX_PROOF} hashes"));
        }
        Ok(AddCheckpoint { old_size, proof, checkpoint: checkpoint.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: u8, name: &str, kind: u8) -> NoteSigner {
        NoteSigner::new(name, kind, SigningKey::from_bytes(&[seed; 32]))
    }

    fn note(size: u64) -> Checkpoint {
        let log = signer(1, "example.com/log", ED25519);
        let body = Checkpoint::body_of("example.com/log", size, &[size as u8; 32]);
        Checkpoint::parse(&format!("{body}\n{}", log.sign(&body, 0).render())).unwrap()
    }

    #[test]
    fn a_note_and_a_key_read_back_as_written() {
        let cp = note(42);
        assert_eq!(Checkpoint::parse(&cp.render()).unwrap(), cp);
        assert!(cp.signed_by(&signer(1, "example.com/log", ED25519).key()));
        assert!(!cp.signed_by(&signer(2, "example.com/log", ED25519).key()));
        let key = signer(3, "w1", COSIGNATURE_V1).key();
        assert_eq!(NoteKey::parse(&key.render()).unwrap(), key);
        // The type is part of the id: the same key as a log key has another id.
        assert_ne!(key.key_id, signer(3, "w1", ED25519).key().key_id);
    }

    #[test]
    fn malformed_notes_keys_and_requests_are_refused() {
        let good = note(7).render();
        for bad in [
            good.replacen("\n7\n", "\n07\n", 1),
            good.replacen("\n7\n", "\n-7\n", 1),
            good.replacen("\n\n", "\n", 1),
            good.replacen('\u{2014}', "-", 1),
            good.trim_end().to_string(),
            "x".repeat(MAX_NOTE + 1),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let key = signer(3, "w1", COSIGNATURE_V1).key().render();
        for bad in [key.replacen("w1+", "w 1+", 1), key.replacen('+', "+0", 1), format!("{key}A"), "w1".into()] {
            assert!(NoteKey::parse(&bad).is_err(), "{bad:?}");
        }
        for bad in ["old 01\n\nx", "old 1\nnothash\n\nx", "new 1\n\nx", "old 1\n"] {
            assert!(AddCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cosignature_covers_the_body_and_the_time() {
        let w = signer(4, "witness.example/w1", COSIGNATURE_V1);
        let mut cp = note(9);
        cp.add([w.sign(&cp.body, 1_790_000_000)]);
        assert_eq!(cp.cosigned_by(&w.key()), Some(1_790_000_000));
        let reread = Checkpoint::parse(&cp.render()).unwrap();
        assert_eq!(reread.cosigned_by(&w.key()), Some(1_790_000_000));
        // Another time under the same signature, or another body: not cosigned.
        let mut moved = reread.clone();
        moved.signatures[1].signature[7] ^= 1;
        assert_eq!(moved.cosigned_by(&w.key()), None);
        let mut other = note(10);
        other.signatures.push(cp.signatures[1].clone());
        assert_eq!(other.cosigned_by(&w.key()), None);
        // Policies: 1 of 2, 2 of 2.
        let w2 = signer(5, "witness.example/w2", COSIGNATURE_V1);
        let keys = [w.key().render(), w2.key().render()];
        assert!(Policy::new(&keys, Some(1)).unwrap().check(&cp).is_ok());
        assert!(Policy::new(&keys, None).unwrap().check(&cp).is_err());
        cp.add([w2.sign(&cp.body, 5)]);
        assert_eq!(Policy::new(&keys, None).unwrap().check(&cp).unwrap().len(), 2);
        assert!(Policy::new(&keys, Some(3)).is_err());
        assert!(Policy::new(&[signer(1, "log", ED25519).key().render()], None).is_err());
    }

    #[test]
    fn an_add_checkpoint_request_reads_back() {
        let req = AddCheckpoint { old_size: 3, proof: vec![[1; 32], [2; 32]], checkpoint: note(5).render() };
        assert_eq!(AddCheckpoint::parse(&req.render()).unwrap(), req);
        let first = AddCheckpoint { old_size: 0, proof: vec![], checkpoint: note(5).render() };
        assert_eq!(AddCheckpoint::parse(&first.render()).unwrap(), first);
    }
}
