//! The transparency log in the database: leaves added pending in the caller's
//! transaction and given gapless indexes by the sequencer (`crate::sequencer`),
//! interior hashes of complete subtrees kept as they complete, proofs read from them,
//! and tree heads signed with the log's own Ed25519 key.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use patrol_protocol::audit::{Leaf, LogPublicKey, SignedTreeHead, TreeHead};
use patrol_protocol::transparency::{self, Hash, leaf_hash, node_hash};
use sha2::{Digest, Sha256};

use crate::params;
use crate::store::{Conn, DbError};

fn corrupt(what: String) -> DbError {
    DbError::Data(format!("transparency log: {what}"))
}

fn parse(hex_hash: &str, what: &str) -> Result<Hash, DbError> {
    transparency::parse_hash(hex_hash).ok_or_else(|| corrupt(format!("{what} is not a hash")))
}

/// Adds a leaf to the log in the caller's transaction, pending: the sequencer gives it
/// its index within the merge delay (`crate::sequencer`). Nothing here is shared with
/// other writers (the pending row's id comes from the table's own sequence), so
/// transactions of different sites never wait on each other for the log.
pub fn append(c: &mut dyn Conn, leaf: &Leaf, now: i64) -> Result<(), DbError> {
    c.execute("INSERT INTO log_pending (kind, subject, leaf, at_ms) VALUES ($1, $2, $3, $4)", &pending_row(leaf, now))?;
    Ok(())
}

/// The `log_pending` row of a leaf (kind, subject, leaf, at_ms), for a caller that
/// writes several at once (`insert_rows`).
pub fn pending_row(leaf: &Leaf, now: i64) -> Vec<crate::store::Value> {
    let bytes = leaf.bytes();
    params![leaf.kind_str(), leaf.subject(), String::from_utf8(bytes).expect("JSON is UTF-8"), now]
}

/// Integrates pending leaves as leaves `size..`, in the sequencer's transaction (which
/// holds the log counter's lock): each leaf's hash, and the subtrees it completes while
/// their left halves are known, computed here and written in multi-row statements.
/// Returns the new size.
pub fn integrate(c: &mut dyn Conn, size: u64, pending: &[(String, String, String, i64)]) -> Result<u64, DbError> {
    // Subtrees completed in this batch, so their right neighbours need not read them back.
    let mut made: std::collections::HashMap<(u32, u64), Hash> = Default::default();
    let mut leaves: Vec<Vec<crate::store::Value>> = Vec::with_capacity(pending.len());
    let mut nodes: Vec<Vec<crate::store::Value>> = Vec::new();
    let mut index = size;
    for (kind, subject, text, at_ms) in pending {
        let hash = leaf_hash(text.as_bytes());
        leaves.push(params![index as i64, kind.as_str(), subject.as_str(), text.as_str(), hex::encode(hash), *at_ms]);
        made.insert((0, index), hash);
        let (mut level, mut i, mut cur) = (0u32, index, hash);
        while i & 1 == 1 {
            let left = match made.get(&(level, i - 1)) {
                Some(h) => *h,
                None => perfect(c, level, i - 1)?,
            };
            cur = node_hash(&left, &cur);
            level += 1;
            i >>= 1;
            nodes.push(params![i64::from(level), i as i64, hex::encode(cur)]);
            made.insert((level, i), cur);
        }
        index += 1;
    }
    insert_rows(c, "log_leaves (leaf_index, kind, subject, leaf, leaf_hash, at_ms)", &leaves)?;
    insert_rows(c, "log_nodes (level, node_index, hash)", &nodes)?;
    Ok(index)
}

/// Inserts rows: on PostgreSQL in statements of up to 100 rows (one round trip each;
/// a statement's parameters stay far below the limit); on SQLite, which has no round
/// trip to save, one row a statement, the same prepared statement each time (a
/// statement of hundreds of parameters costs more to prepare than its rows to insert).
pub fn insert_rows(c: &mut dyn Conn, into: &str, rows: &[Vec<crate::store::Value>]) -> Result<(), DbError> {
    if c.kind() == "sqlite" {
        let Some(width) = rows.first().map(Vec::len) else { return Ok(()) };
        let marks: Vec<String> = (1..=width).map(|k| format!("${k}")).collect();
        let sql = format!("INSERT INTO {into} VALUES ({})", marks.join(", "));
        for row in rows {
            c.execute(&sql, row)?;
        }
        return Ok(());
    }
    // As many rows a statement as keep it under ~20 000 parameters (PostgreSQL takes
    // 65 535): a push's table in one or two round trips.
    let Some(width) = rows.first().map(Vec::len) else { return Ok(()) };
    for chunk in rows.chunks((20_000 / width.max(1)).clamp(1, 1000)) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=width).map(|k| format!("${}", r * width + k)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let values: Vec<crate::store::Value> = chunk.iter().flatten().cloned().collect();
        c.execute(&format!("INSERT INTO {into} VALUES {}", tuples.join(", ")), &values)?;
    }
    Ok(())
}

/// The number of leaves.
pub fn size(c: &mut dyn Conn) -> Result<u64, DbError> {
    Ok(c.query_one("SELECT value FROM counters WHERE name = 'log'", &[])?.int(0)? as u64)
}

/// The hash of the complete subtree of 2^level leaves starting at `index << level`.
pub fn perfect(c: &mut dyn Conn, level: u32, index: u64) -> Result<Hash, DbError> {
    let row = if level == 0 {
        c.query_opt("SELECT leaf_hash FROM log_leaves WHERE leaf_index = $1", &params![index as i64])?
    } else {
        c.query_opt(
            "SELECT hash FROM log_nodes WHERE level = $1 AND node_index = $2",
            &params![i64::from(level), index as i64],
        )?
    };
    let row = row.ok_or_else(|| corrupt(format!("subtree ({level}, {index}) is missing")))?;
    parse(&row.text(0)?, "a subtree hash")
}

/// Root, inclusion and consistency proofs over the stored subtrees; a small cache
/// serves the upper subtrees that neighbouring proofs share (archives ask thousands).
pub struct Reader<'c> {
    c: &'c mut dyn Conn,
    cache: std::collections::HashMap<(u32, u64), Hash>,
}

impl<'c> Reader<'c> {
    pub fn new(c: &'c mut dyn Conn) -> Self {
        Reader { c, cache: Default::default() }
    }

    fn perfect(&mut self, level: u32, index: u64) -> Result<Hash, DbError> {
        if let Some(h) = self.cache.get(&(level, index)) {
            return Ok(*h);
        }
        let h = perfect(self.c, level, index)?;
        // Bounded: a long archive run does not grow it without limit.
        if self.cache.len() > 100_000 {
            self.cache.clear();
        }
        if level >= 4 {
            self.cache.insert((level, index), h);
        }
        Ok(h)
    }

    pub fn root(&mut self, size: u64) -> Result<Hash, DbError> {
        transparency::range_root(0, size, &mut |l, i| self.perfect(l, i))
    }

    pub fn inclusion(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, DbError> {
        transparency::inclusion_proof(index, size, &mut |l, i| self.perfect(l, i))
    }

    pub fn consistency(&mut self, first: u64, second: u64) -> Result<Vec<Hash>, DbError> {
        transparency::consistency_proof(first, second, &mut |l, i| self.perfect(l, i))
    }
}

/// The log key that signs: the newest one of `log_keys`, held from the key file.
pub struct LogKey {
    pub key_id: String,
    signing: SigningKey,
}

impl LogKey {
    pub fn public(&self) -> LogPublicKey {
        LogPublicKey {
            key_id: self.key_id.clone(),
            algorithm: "Ed25519".into(),
            public_key: hex::encode(self.signing.verifying_key().as_bytes()),
        }
    }

    /// Signs other bytes than heads (archives); callers prefix a domain tag.
    pub fn sign_bytes(&self, message: &[u8]) -> String {
        hex::encode(self.signing.sign(message).to_bytes())
    }

    pub fn sign(&self, head: TreeHead) -> SignedTreeHead {
        let sig = self.signing.sign(&head.signing_bytes());
        SignedTreeHead { head, key_id: self.key_id.clone(), signature: hex::encode(sig.to_bytes()) }
    }
}

impl LogKey {
    /// The head as a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint: origin, size, base64
    /// root) signed as a C2SP signed note (c2sp.org/signed-note) with this key under the
    /// name `origin`, so witnesses and monitors of that ecosystem can read it. Ed25519 is
    /// deterministic: the same head gives the same note.
    pub fn checkpoint(&self, origin: &str, head: &TreeHead) -> Result<super::cosign::Checkpoint, DbError> {
        let root = parse(&head.root, "a head's root")?;
        let body = super::cosign::Checkpoint::body_of(origin, head.tree_size, &root);
        let line = self.note_signer(origin).sign(&body, 0);
        Ok(super::cosign::Checkpoint {
            origin: origin.into(),
            size: head.tree_size,
            root,
            body,
            signatures: vec![line],
        })
    }

    fn note_signer(&self, origin: &str) -> super::cosign::NoteSigner {
        super::cosign::NoteSigner::new(origin, super::cosign::ED25519, self.signing.clone())
    }

    /// The note verifier key of `checkpoint`'s signature: `name+id+base64(0x01 ‖ key)`.
    pub fn note_verifier_key(&self, origin: &str) -> String {
        self.note_signer(origin).key().render()
    }
}

/// The log's origin line for checkpoints: named after its first key, which never
/// changes (a rotation adds keys), so it names this log and no other.
pub fn origin(c: &mut dyn Conn) -> Result<String, DbError> {
    let first = c
        .query_opt("SELECT key_id FROM log_keys ORDER BY created_ms, key_id LIMIT 1", &[])?
        .ok_or_else(|| corrupt("no log key".into()))?
        .text(0)?;
    Ok(format!("patrol.invalid/log/{first}"))
}

/// A key id names the public key itself: the first 16 hex digits of its SHA-256.
fn key_id_of(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

/// The log keys this process holds, by key id: read from the key file
/// (`hold_key_file`), never from the database, which keeps only their public halves.
fn held() -> &'static std::sync::RwLock<std::collections::HashMap<String, SigningKey>> {
    static HELD: std::sync::OnceLock<std::sync::RwLock<std::collections::HashMap<String, SigningKey>>> =
        std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The key file last read, read again when the table names a newer key (a rotation by
/// `patrol-server audit rotate-log-key` while this instance ran).
fn key_file() -> &'static std::sync::Mutex<Option<std::path::PathBuf>> {
    static FILE: std::sync::OnceLock<std::sync::Mutex<Option<std::path::PathBuf>>> = std::sync::OnceLock::new();
    FILE.get_or_init(Default::default)
}

fn key_of_seed(seed_hex: &str) -> Option<SigningKey> {
    let seed: [u8; 32] = hex::decode(seed_hex.trim()).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

/// The key ids the process holds.
pub fn held_key_ids() -> Vec<String> {
    held().read().expect("keys lock").keys().cloned().collect()
}

/// Reads the key file (one 64-hex-digit Ed25519 seed per line, `#` comments) and holds
/// its keys. A missing file holds nothing; a malformed line is an error.
pub fn hold_key_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    *key_file().lock().expect("key file lock") = Some(path.to_path_buf());
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = key_of_seed(line)
            .ok_or_else(|| format!("{} line {}: not a 64-hex-digit Ed25519 seed", path.display(), n + 1))?;
        let id = key_id_of(&key.verifying_key().to_bytes());
        held().write().expect("keys lock").insert(id.clone(), key);
        ids.push(id);
    }
    Ok(ids)
}

/// Appends a seed to the key file, made readable by its owner only.
fn append_to_key_file(path: &std::path::Path, seed_hex: &str, why: &str) -> Result<(), DbError> {
    use std::io::Write;
    let fail = |e: std::io::Error| DbError::Backend(format!("the log key file {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    writeln!(file, "# {why}\n{seed_hex}").map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Makes sure the log's key is outside the database, in `key_file`, and held: a secret
/// a previous release kept in `log_keys` is moved into the file (and blanked in the
/// table); a database without a key gets a new one, whose public half alone goes into
/// the table. Then the newest key of the table must be one the file holds: an instance
/// without the file (or a key row added by someone with database access) cannot sign.
pub fn ensure_key(c: &mut dyn Conn, key_file: &std::path::Path, now: i64) -> Result<(), DbError> {
    hold_key_file(key_file).map_err(DbError::Backend)?;
    for r in c.query("SELECT key_id, secret_hex FROM log_keys WHERE secret_hex <> ''", &[])? {
        let (id, seed) = (r.text(0)?, r.text(1)?);
        if key_of_seed(&seed).is_some() && !held_key_ids().contains(&id) {
            append_to_key_file(key_file, &seed, &format!("log key {id}, moved out of the database"))?;
        }
        c.execute("UPDATE log_keys SET secret_hex = '' WHERE key_id = $1", &params![id])?;
    }
    if c.query_opt("SELECT 1 FROM log_keys", &[])?.is_none() {
        add_key(c, key_file, now)?;
    }
    hold_key_file(key_file).map_err(DbError::Backend)?;
    let newest = newest_key_id(c)?;
    if !held_key_ids().contains(&newest) {
        return Err(DbError::Backend(format!(
            "the log key {newest} is not in {}: copy the key file of the first instance (docs/operations.md, \"Keys\")",
            key_file.display()
        )));
    }
    Ok(())
}

/// A new log key: its seed appended to the key file, its public half into the table.
/// Heads are signed with it from now on; older public keys stay for verification.
pub fn add_key(c: &mut dyn Conn, key_file: &std::path::Path, now: i64) -> Result<String, DbError> {
    let seed = crate::tokens::Keys::new_seed_hex();
    let key = key_of_seed(&seed).expect("a fresh seed");
    let public = key.verifying_key().to_bytes();
    let id = key_id_of(&public);
    append_to_key_file(key_file, &seed, &format!("log key {id}, made {now}"))?;
    held().write().expect("keys lock").insert(id.clone(), key);
    // Newer than every key before it, whatever the clocks said then.
    let created = c.query_one("SELECT COALESCE(MAX(created_ms), 0) FROM log_keys", &[])?.int(0)?.max(now - 1) + 1;
    c.execute(
        "INSERT INTO log_keys (key_id, secret_hex, public_hex, created_ms) VALUES ($1, '', $2, $3)
         ON CONFLICT (key_id) DO NOTHING",
        &params![id.clone(), hex::encode(public), created],
    )?;
    Ok(id)
}

fn newest_key_id(c: &mut dyn Conn) -> Result<String, DbError> {
    c.query_opt("SELECT key_id FROM log_keys ORDER BY created_ms DESC, key_id DESC LIMIT 1", &[])?
        .ok_or_else(|| corrupt("no log key".into()))?
        .text(0)
}

/// The key that signs: the newest of the table, which this process must hold.
pub fn signing_key(c: &mut dyn Conn) -> Result<LogKey, DbError> {
    let key_id = newest_key_id(c)?;
    if !held().read().expect("keys lock").contains_key(&key_id) {
        let file = key_file().lock().expect("key file lock").clone();
        if let Some(file) = file {
            hold_key_file(&file).map_err(DbError::Backend)?;
        }
    }
    let signing = held().read().expect("keys lock").get(&key_id).cloned().ok_or_else(|| {
        DbError::Backend(format!("this instance does not hold the log key {key_id} (PATROL_LOG_KEY_FILE)"))
    })?;
    Ok(LogKey { key_id, signing })
}

/// The newest public key, for `/api/v1/audit/public-key`.
pub fn newest_public_key(c: &mut dyn Conn) -> Result<LogPublicKey, DbError> {
    let r = c
        .query_opt("SELECT key_id, public_hex FROM log_keys ORDER BY created_ms DESC, key_id DESC LIMIT 1", &[])?
        .ok_or_else(|| corrupt("no log key".into()))?;
    Ok(LogPublicKey { key_id: r.text(0)?, algorithm: "Ed25519".into(), public_key: r.text(1)? })
}

/// The public key with this id, for checking stored heads.
pub fn public_key(c: &mut dyn Conn, key_id: &str) -> Result<Option<VerifyingKey>, DbError> {
    let Some(r) = c.query_opt("SELECT public_hex FROM log_keys WHERE key_id = $1", &params![key_id])? else {
        return Ok(None);
    };
    Ok(hex::decode(r.text(0)?)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok()))
}

/// Checks a head's signature with a public key (strict: no malleable signatures).
pub fn signature_ok(head: &SignedTreeHead, key: &VerifyingKey) -> bool {
    let Some(sig) = hex::decode(&head.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    key.verify_strict(&head.head.signing_bytes(), &Signature::from_bytes(&sig)).is_ok()
}

/// Signs and stores the head of the log as it stands in this transaction.
pub fn sign_head(c: &mut dyn Conn, now: i64) -> Result<SignedTreeHead, DbError> {
    let key = signing_key(c)?;
    let size = size(c)?;
    let root = Reader::new(c).root(size)?;
    let signed = key.sign(TreeHead { tree_size: size, timestamp_ms: now, root: hex::encode(root) });
    c.execute(
        "INSERT INTO tree_heads (tree_size, timestamp_ms, root, key_id, signature) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tree_size, timestamp_ms, key_id) DO NOTHING",
        &params![size as i64, now, &signed.head.root, &signed.key_id, &signed.signature],
    )?;
    Ok(signed)
}

fn head_row(r: &crate::store::Row) -> Result<SignedTreeHead, DbError> {
    Ok(SignedTreeHead {
        head: TreeHead { tree_size: r.int(0)? as u64, timestamp_ms: r.int(1)?, root: r.text(2)? },
        key_id: r.text(3)?,
        signature: r.text(4)?,
    })
}

/// The newest stored head (largest, then latest).
pub fn latest_head(c: &mut dyn Conn) -> Result<Option<SignedTreeHead>, DbError> {
    c.query_opt(
        "SELECT tree_size, timestamp_ms, root, key_id, signature FROM tree_heads
         ORDER BY tree_size DESC, timestamp_ms DESC LIMIT 1",
        &[],
    )?
    .as_ref()
    .map(head_row)
    .transpose()
}

/// A stored head of exactly this size, if one was signed.
pub fn head_of_size(c: &mut dyn Conn, size: u64) -> Result<Option<SignedTreeHead>, DbError> {
    c.query_opt(
        "SELECT tree_size, timestamp_ms, root, key_id, signature FROM tree_heads WHERE tree_size = $1
         ORDER BY timestamp_ms DESC LIMIT 1",
        &params![size as i64],
    )?
    .as_ref()
    .map(head_row)
    .transpose()
}

/// Heads with sizes in `after..=upto`, ascending: the verifier checks them as it streams.
pub fn heads_between(c: &mut dyn Conn, after: u64, upto: u64) -> Result<Vec<SignedTreeHead>, DbError> {
    c.query(
        "SELECT tree_size, timestamp_ms, root, key_id, signature FROM tree_heads
         WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size, timestamp_ms",
        &params![after as i64, upto as i64],
    )?
    .iter()
    .map(head_row)
    .collect()
}

/// The latest head if it covers the whole log, else a newly signed one: heads are
/// signed on demand, but at most one per growth of the log (a public caller cannot
/// make the table grow by asking).
pub fn current_head(store: &crate::store::Store, now: i64) -> Result<SignedTreeHead, DbError> {
    let (latest, size) = store.tx_blocking(false, |c| Ok((latest_head(c)?, size(c)?)))?;
    match latest {
        Some(h) if h.head.tree_size == size => Ok(h),
        _ => store.tx_blocking(true, |c| sign_head(c, now)),
    }
}

/// The index of a record's own leaf.
pub fn record_leaf(c: &mut dyn Conn, record_id: patrol_protocol::Id, kind: &str) -> Result<Option<u64>, DbError> {
    Ok(c.query_opt(
        "SELECT leaf_index FROM log_leaves WHERE subject = $1 AND kind = $2 ORDER BY leaf_index LIMIT 1",
        &params![record_id.to_string(), kind],
    )?
    .map(|r| r.int(0))
    .transpose()?
    .map(|i| i as u64))
}

/// A notice's verification code: the leaf index of its numbering, the size of a
/// signed head containing it and the first 8 hex digits of that head's root. Short
/// enough to print; `check_code` turns it back into a full inclusion check.
pub fn code(leaf_index: u64, head: &SignedTreeHead) -> String {
    format!("{leaf_index}-{}-{}", head.head.tree_size, &head.head.root[..8])
}

pub fn parse_code(code: &str) -> Option<(u64, u64, String)> {
    let mut parts = code.trim().splitn(3, '-');
    let index = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    let prefix = parts.next()?.to_ascii_lowercase();
    (prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && index < size)
        .then_some((index, size, prefix))
}
