//! `patrol-server audit verify`: re-reads the whole database and object store and
//! checks what an insider could have altered: device chains, the log against the
//! records and decisions, signed heads, notice numbers, every projection people see
//! (rebuilt from the records and compared row by row, `super::replay`), photo bytes.
//!
//! Everything streams in pages, so memory stays bounded on ten years of data; the
//! log's roots are rebuilt with a `CompactRange` (O(log n) hashes held).

use object_store::ObjectStoreExt;
use patrol_protocol::Id;
use patrol_protocol::audit::Leaf;
use patrol_protocol::record::{GENESIS_HASH, Record};
use patrol_protocol::transparency::{CompactRange, leaf_hash};
use sha2::{Digest, Sha256};

use super::log;
use crate::params;
use crate::photos::Photos;
use crate::store::{Conn, DbError, Store};

const PAGE: i64 = 1000;
/// Past this many findings the report only counts them: a wholesale rewrite would
/// otherwise print millions of lines.
const MAX_FINDINGS: usize = 500;

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<String>,
    pub more_findings: usize,
    pub notes: Vec<String>,
    pub devices: u64,
    pub records: u64,
    pub leaves: u64,
    pub heads: u64,
    pub notices: u64,
    pub photos: u64,
    /// Records applied again to rebuild the projections.
    pub replayed: u64,
    /// Projection rows compared with their rebuilt selves.
    pub compared: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    pub(crate) fn find(&mut self, finding: String) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(finding);
        } else {
            self.more_findings += 1;
        }
    }

    /// Whether any finding mentions `needle` (for tests and scripts).
    pub fn mentions(&self, needle: &str) -> bool {
        self.findings.iter().any(|f| f.contains(needle))
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "Patrol audit / 审计核查\n  devices {} · records {} · log leaves {} · signed heads {} · notices {} · photos {}\n",
            self.devices, self.records, self.leaves, self.heads, self.notices, self.photos
        );
        out.push_str(&format!(
            "  records applied again {} · projection rows compared {} / 重放记录 {} · 比对投影行 {}\n",
            self.replayed, self.compared, self.replayed, self.compared
        ));
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        if self.ok() {
            out.push_str("OK: no findings / 未发现问题\n");
        } else {
            out.push_str(&format!("FINDINGS / 发现问题: {}\n", self.findings.len() + self.more_findings));
            for f in &self.findings {
                out.push_str(&format!("  - {f}\n"));
            }
            if self.more_findings > 0 {
                out.push_str(&format!("  … and {} more\n", self.more_findings));
            }
        }
        out
    }
}

/// The whole check: the database in one read snapshot, then the photo bytes.
pub async fn verify(store: &Store, photos: &Photos) -> Result<Report, DbError> {
    verify_with(store, photos, &super::cosign::Policy::default()).await
}

/// `verify` held to a witness policy as well: the newest checkpoint cosigned by the
/// policy's quorum must exist and the database's tree must still have its root.
pub async fn verify_with(store: &Store, photos: &Photos, policy: &super::cosign::Policy) -> Result<Report, DbError> {
    let mut report = verify_database(store, photos).await?;
    if policy.required() {
        let (owned, s) = (policy.clone(), store.clone());
        let found = tokio::task::spawn_blocking(move || {
            s.tx_blocking(false, |c| {
                let cp = super::witnessed::newest_witnessed(c, &owned)?;
                let matches = match &cp {
                    Some(cp) => super::witnessed::tree_matches(c, cp)?,
                    None => false,
                };
                Ok((cp, matches, log::size(c)?))
            })
        })
        .await
        .map_err(|e| DbError::Backend(format!("verify task failed: {e}")))??;
        match found {
            (None, _, _) => report.find(format!(
                "no checkpoint is cosigned by {} of the policy's witnesses: the log is not witnessed",
                policy.quorum
            )),
            (Some(cp), false, _) => report.find(format!(
                "the witnessed checkpoint of {} leaves is not the database's tree: the log was rewritten below it",
                cp.size
            )),
            (Some(cp), true, size) => report.notes.push(format!(
                "witnessed: {} of {} leaves are under a checkpoint cosigned by {}",
                cp.size,
                size,
                policy.cosigners(&cp).join(", ")
            )),
        }
    }
    Ok(report)
}

async fn verify_database(store: &Store, photos: &Photos) -> Result<Report, DbError> {
    let s = store.clone();
    let postgres = store.kind() == "postgres";
    let mut report = tokio::task::spawn_blocking(move || {
        s.tx_blocking(false, |c| {
            if postgres {
                // One snapshot for the whole read: the log, records and counters agree.
                c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &[])?;
            }
            check_database(c)
        })
    })
    .await
    .map_err(|e| DbError::Backend(format!("verify task failed: {e}")))??;
    photo_bytes(store, photos, &mut report).await?;
    Ok(report)
}

/// Everything `verify` checks inside the database, in the caller's transaction (one
/// snapshot): chains, the log, notice numbers, and the projections rebuilt from the
/// records. Tests call it inside a transaction they roll back.
pub fn check_database(c: &mut dyn Conn) -> Result<Report, DbError> {
    let mut r = Report::default();
    chains(c, &mut r)?;
    log_against_records(c, &mut r)?;
    unlogged(c, &mut r)?;
    pending(c, &mut r)?;
    keys(c, &mut r)?;
    notice_numbers(c, &mut r)?;
    super::replay::check(c, &mut r)?;
    Ok(r)
}

/// Every device chain: seq 1, 2, 3 … without a hole, each body canonical and hashing
/// to its stored hash, each `prev_hash` the previous stored hash, and the device's
/// acknowledged position at the end of it.
fn chains(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let devices: Vec<String> = c
        .query("SELECT device_id, acked_seq, acked_hash FROM devices ORDER BY device_id", &[])?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    let chained: Vec<String> = c
        .query("SELECT DISTINCT device_id FROM records ORDER BY device_id", &[])?
        .iter()
        .map(|row| row.text(0))
        .collect::<Result<_, _>>()?;
    for d in &chained {
        if !devices.contains(d) {
            r.find(format!("device {d}: has records but no acknowledged position"));
        }
    }
    for d in devices {
        r.devices += 1;
        let (mut expect, mut prev) = (1i64, GENESIS_HASH.to_string());
        loop {
            let rows = c.query(
                "SELECT id, seq, author_id, kind, prev_hash, hash, body FROM records
                 WHERE device_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &params![&d, expect, PAGE],
            )?;
            for row in &rows {
                r.records += 1;
                let (id, seq, hash, body) = (row.text(0)?, row.int(1)?, row.text(5)?, row.text(6)?);
                if seq != expect {
                    r.find(format!("device {d}: records {expect}..{} are missing (deleted?)", seq - 1));
                }
                match serde_json::from_str::<Record>(&body) {
                    Err(e) => r.find(format!("record {id}: stored body is not a record ({e})")),
                    Ok(rec) => {
                        if rec.canonical_bytes() != body.as_bytes() || rec.hash() != hash {
                            r.find(format!(
                                "record {id} (device {d}, seq {seq}): body does not match its hash (edited)"
                            ));
                        }
                        let columns = (row.text(2)?, row.text(3)?, row.text(4)?);
                        if rec.id.to_string() != id
                            || rec.seq as i64 != seq
                            || rec.device.to_string() != d
                            || columns
                                != (rec.author.to_string(), rec.payload.kind_str().to_string(), rec.prev_hash.clone())
                        {
                            r.find(format!("record {id}: columns disagree with its body (edited)"));
                        }
                        if rec.prev_hash != prev {
                            r.find(format!(
                                "device {d}, seq {seq}: does not chain to the record before it (fork or edit)"
                            ));
                        }
                    }
                }
                prev = hash;
                expect = seq + 1;
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        let acked = c.query_one("SELECT acked_seq, acked_hash FROM devices WHERE device_id = $1", &params![&d])?;
        if acked.int(0)? != expect - 1 || acked.text(1)? != prev {
            r.find(format!(
                "device {d}: acknowledged seq {} but the stored chain ends at {} (records deleted or edited)",
                acked.int(0)?,
                expect - 1
            ));
        }
    }
    Ok(())
}

/// Streams the log: indexes without gaps, each leaf hashing to its stored hash, stored
/// subtrees and signed heads equal to what the leaves give, and every leaf agreeing
/// with the record or decision it logs.
fn log_against_records(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let size = log::size(c)?;
    let mut tree = CompactRange::default();
    let mut next = 0i64;
    loop {
        let rows = c.query(
            "SELECT leaf_index, kind, subject, leaf, leaf_hash FROM log_leaves WHERE leaf_index >= $1
             ORDER BY leaf_index LIMIT $2",
            &params![next, PAGE],
        )?;
        let page_end = rows.last().map_or(0, |row| row.int(0).unwrap_or(0) as u64 + 1);
        let mut heads = log::heads_between(c, tree.size(), page_end.max(tree.size() + rows.len() as u64))?.into_iter();
        let mut head = heads.next();
        for row in &rows {
            let (index, kind, subject, text, stored) =
                (row.int(0)?, row.text(1)?, row.text(2)?, row.text(3)?, row.text(4)?);
            r.leaves += 1;
            if index != next {
                r.find(format!("log: leaves {next}..{} are missing", index - 1));
            }
            let hash = leaf_hash(text.as_bytes());
            if hex::encode(hash) != stored {
                r.find(format!("log leaf {index}: content does not match its hash (edited)"));
            }
            for (level, node, h) in tree.push(hash) {
                let kept = c.query_opt(
                    "SELECT hash FROM log_nodes WHERE level = $1 AND node_index = $2",
                    &params![i64::from(level), node as i64],
                )?;
                if kept.map(|k| k.text(0)).transpose()?.as_deref() != Some(hex::encode(h).as_str()) {
                    r.find(format!("log subtree ({level}, {node}) is missing or differs from its leaves"));
                }
            }
            while let Some(h) = head.as_ref().filter(|h| h.head.tree_size <= tree.size()) {
                check_head(c, r, h, &tree)?;
                head = heads.next();
            }
            match serde_json::from_str::<Leaf>(&text) {
                Err(e) => r.find(format!("log leaf {index}: not a leaf ({e})")),
                Ok(leaf) => {
                    if leaf.bytes() != text.as_bytes() || leaf.kind_str() != kind || leaf.subject() != subject {
                        r.find(format!("log leaf {index}: columns disagree with its content"));
                    }
                    check_leaf(c, r, index, &leaf)?;
                }
            }
            next = index + 1;
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    if tree.size() != size || next as u64 != size {
        r.find(format!("log: the counter says {size} leaves, the table holds {} (truncated?)", tree.size()));
    }
    let beyond = log::heads_between(c, tree.size(), i64::MAX as u64)?;
    if let Some(h) = beyond.first() {
        r.find(format!(
            "log: a signed head of size {} exists but the log has {} leaves (truncated?)",
            h.head.tree_size,
            tree.size()
        ));
    }
    Ok(())
}

fn check_head(
    c: &mut dyn Conn,
    r: &mut Report,
    h: &patrol_protocol::audit::SignedTreeHead,
    tree: &CompactRange,
) -> Result<(), DbError> {
    r.heads += 1;
    if h.head.tree_size != tree.size() {
        return Ok(());
    }
    let size = h.head.tree_size;
    if !log::public_key(c, &h.key_id)?.is_some_and(|k| log::signature_ok(h, &k)) {
        r.find(format!("signed head of size {size}: the signature does not verify"));
    }
    if hex::encode(tree.root()) != h.head.root {
        r.find(format!("signed head of size {size}: its root is not the root of the stored leaves (log rewritten?)"));
    }
    Ok(())
}

/// The leaf against the row it logs.
fn check_leaf(c: &mut dyn Conn, r: &mut Report, index: i64, leaf: &Leaf) -> Result<(), DbError> {
    let ok = match leaf {
        Leaf::Record { record_id, device_id, seq, record_hash, received_ms, status, reason } => c
            .query_opt(
                "SELECT device_id, seq, hash, received_ms, status, reason FROM records WHERE id = $1",
                &params![*record_id],
            )?
            .map(|row| -> Result<bool, DbError> {
                Ok(row.text(0)? == device_id.to_string()
                    && row.int(1)? == *seq as i64
                    && &row.text(2)? == record_hash
                    && row.int(3)? == *received_ms
                    && &row.text(4)? == status
                    && &row.opt_text(5)? == reason)
            })
            .transpose()?,
        Leaf::NoticeNumbered { notice_id, record_id, site_id, number, year, counter, .. } => c
            .query_opt(
                "SELECT site_id, number, year, counter, raised_record_id FROM notices WHERE id = $1",
                &params![*notice_id],
            )?
            .map(|row| -> Result<bool, DbError> {
                Ok(row.text(0)? == site_id.to_string()
                    && row.opt_text(1)?.as_ref() == Some(number)
                    && row.int(2)? == *year
                    && row.int(3)? == *counter
                    && row.text(4)? == record_id.to_string())
            })
            .transpose()?,
        Leaf::FaultNumbered { fault_id, record_id, site_id, person_id, number, year, counter, .. } => c
            .query_opt(
                "SELECT site_id, number, year, counter, issued_record_id, person_id FROM faults WHERE id = $1",
                &params![*fault_id],
            )?
            .map(|row| -> Result<bool, DbError> {
                Ok(row.text(0)? == site_id.to_string()
                    && &row.text(1)? == number
                    && row.int(2)? == *year
                    && row.int(3)? == *counter
                    && row.text(4)? == record_id.to_string()
                    && row.text(5)? == person_id.to_string())
            })
            .transpose()?,
        Leaf::NoticeRouted { notice_id, record_id, .. } => c
            .query_opt(
                "SELECT 1 FROM notice_events WHERE notice_id = $1 AND record_id = $2 AND applied = 1",
                &params![*notice_id, *record_id],
            )?
            .map(|_| true),
        Leaf::ForkFlagged { device_id, seq, offered_hash, .. } => c
            .query_opt(
                "SELECT 1 FROM forks WHERE device_id = $1 AND seq = $2 AND offered_hash = $3",
                &params![*device_id, *seq as i64, offered_hash],
            )?
            .map(|_| true),
        Leaf::PhotoCompleted { sha256, size, .. } => c
            .query_opt("SELECT size, complete FROM photos WHERE sha256 = $1", &params![sha256])?
            .map(|row| -> Result<bool, DbError> { Ok(row.int(0)? == *size as i64 && row.bool(1)?) })
            .transpose()?,
        // The row may hold a newer thumbnail's hash (made again after a swap); the
        // newest leaf must be the row's, which `photo_bytes` checks.
        Leaf::ThumbnailMade { sha256, .. } => {
            c.query_opt("SELECT 1 FROM photos WHERE sha256 = $1", &params![sha256])?.map(|_| true)
        }
        Leaf::MonthIndexed { .. } => Some(super::archive::index_still_matches(c, index as u64, leaf)?),
        Leaf::DailyLogSigned { record_id, site_id, day, content_hash, .. } => c
            .query_opt(
                "SELECT site_id, day, content_hash FROM daily_log_signatures WHERE record_id = $1",
                &params![*record_id],
            )?
            .map(|row| -> Result<bool, DbError> {
                Ok(row.text(0)? == site_id.to_string() && &row.text(1)? == day && &row.text(2)? == content_hash)
            })
            .transpose()?,
    };
    match ok {
        None => r.find(format!("log leaf {index} ({}): what it logs is gone from the database", leaf.kind_str())),
        Some(false) => r.find(format!(
            "log leaf {index} ({} {}): the database no longer says what was logged (edited)",
            leaf.kind_str(),
            leaf.subject()
        )),
        Some(true) => {}
    }
    Ok(())
}

/// Run where the key file is (the server, `patrol-server audit verify`): every log key
/// of the table must be one of the file's, and none may keep its secret in the table.
/// A key row added by someone with only the database would let them sign heads the
/// table's public keys accept; this is where it shows.
fn keys(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let held = log::held_key_ids();
    for row in c.query("SELECT key_id, secret_hex FROM log_keys ORDER BY created_ms", &[])? {
        let id = row.text(0)?;
        if !row.text(1)?.is_empty() {
            r.find(format!("log key {id}: its secret is in the database"));
        }
        if !held.is_empty() && !held.contains(&id) {
            r.find(format!("log key {id} is in the database but not in the key file (added around the server?)"));
        }
    }
    if held.is_empty() {
        r.notes.push("no key file was read: the log keys of the database were not checked against it".into());
    }
    Ok(())
}

/// Leaves waiting for the sequencer: normal within the merge delay. One older than the
/// merge delay at the time of the newest signed head was passed over (or written around
/// the server): found, by the log's own clock, whenever this runs.
fn pending(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let waiting = c.query_one("SELECT COUNT(*) FROM log_pending", &[])?.int(0)?;
    if waiting > 0 {
        r.notes.push(format!("{waiting} leaf(s) wait for the sequencer"));
    }
    let stale = c.query(
        "SELECT kind, subject, at_ms FROM log_pending
         WHERE at_ms + $1 < (SELECT COALESCE(MAX(timestamp_ms), 0) FROM tree_heads) ORDER BY pending_id LIMIT 20",
        &params![crate::sequencer::MAX_MERGE_DELAY_MS],
    )?;
    for row in stale {
        r.find(format!(
            "log: the {} leaf of {} (committed at {} ms) waited past the merge delay: a later head leaves it out",
            row.text(0)?,
            row.text(1)?,
            row.int(2)?
        ));
    }
    Ok(())
}

/// What is stored but was never logged: rows written around the server's code.
fn unlogged(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    let checks: [(&str, &str); 4] = [
        (
            "record {} has no log leaf (inserted around the server?)",
            "SELECT id FROM records x WHERE NOT EXISTS
               (SELECT 1 FROM log_leaves l WHERE l.subject = x.id AND l.kind = 'record')
               AND NOT EXISTS (SELECT 1 FROM log_pending l WHERE l.subject = x.id AND l.kind = 'record') LIMIT 20",
        ),
        (
            "notice {} has no numbering leaf",
            "SELECT COALESCE(number, id) FROM notices x WHERE NOT EXISTS
               (SELECT 1 FROM log_leaves l WHERE l.subject = x.raised_record_id AND l.kind = 'notice_numbered')
               AND NOT EXISTS (SELECT 1 FROM log_pending l WHERE l.subject = x.raised_record_id AND l.kind = 'notice_numbered') LIMIT 20",
        ),
        (
            "photo {} is complete but its arrival was never logged",
            "SELECT sha256 FROM photos x WHERE complete = 1 AND NOT EXISTS
               (SELECT 1 FROM log_leaves l WHERE l.subject = x.sha256 AND l.kind = 'photo_completed')
               AND NOT EXISTS (SELECT 1 FROM log_pending l WHERE l.subject = x.sha256 AND l.kind = 'photo_completed') LIMIT 20",
        ),
        (
            "daily-log signature {} has no log leaf",
            "SELECT record_id FROM daily_log_signatures x WHERE NOT EXISTS
               (SELECT 1 FROM log_leaves l WHERE l.subject = x.record_id AND l.kind = 'daily_log_signed')
               AND NOT EXISTS (SELECT 1 FROM log_pending l WHERE l.subject = x.record_id AND l.kind = 'daily_log_signed') LIMIT 20",
        ),
    ];
    for (message, sql) in checks {
        for row in c.query(sql, &[])? {
            r.find(message.replace("{}", &row.text(0)?));
        }
    }
    let forks = c.query("SELECT device_id, seq FROM forks ORDER BY at_ms LIMIT 1000", &[])?;
    if !forks.is_empty() {
        r.notes.push(format!("{} offered fork(s) were refused and are kept in `forks`", forks.len()));
    }
    for f in forks {
        let subject = format!("{}/{}", f.text(0)?, f.int(1)?);
        if c.query_opt(
            "SELECT 1 FROM log_leaves WHERE subject = $1 AND kind = 'fork_flagged'
             UNION ALL SELECT 1 FROM log_pending WHERE subject = $1 AND kind = 'fork_flagged'",
            &params![&subject],
        )?
        .is_none()
        {
            r.find(format!("fork {subject} was never logged"));
        }
    }
    Ok(())
}

/// Notice numbers per site and year: 1, 2, 3 … up to the counter, none twice, each
/// written as SITE-YEAR-NNNNNN.
fn notice_numbers(c: &mut dyn Conn, r: &mut Report) -> Result<(), DbError> {
    numbers(c, r, "notices", "notice_counters", "notice", crate::notices::notice_number)?;
    numbers(c, r, "faults", "fault_counters", "fault notice", crate::faults::fault_number)
}

/// One numbering: `table`'s rows per site and year against `counters`.
fn numbers(
    c: &mut dyn Conn,
    r: &mut Report,
    table: &str,
    counters: &str,
    what: &str,
    written: fn(&str, i64, i64) -> String,
) -> Result<(), DbError> {
    let orphans = c.query(
        &format!(
            "SELECT DISTINCT n.site_id, n.year FROM {table} n WHERE NOT EXISTS
               (SELECT 1 FROM {counters} k WHERE k.site_id = n.site_id AND k.year = n.year)"
        ),
        &[],
    )?;
    for o in orphans {
        r.find(format!("{what}s of site {} in {} have no counter", o.text(0)?, o.int(1)?));
    }
    let counters = c.query(
        &format!(
            "SELECT k.site_id, k.year, k.value, s.code FROM {counters} k JOIN sites s ON s.id = k.site_id
             ORDER BY k.site_id, k.year"
        ),
        &[],
    )?;
    for k in counters {
        let (site, year, value, code) = (k.text(0)?, k.int(1)?, k.int(2)?, k.text(3)?);
        let (mut expect, mut last, mut offset) = (1i64, 0i64, 0i64);
        loop {
            // OFFSET inside one snapshot is stable; a site has thousands a year, not millions.
            let rows = c.query(
                &format!(
                    "SELECT counter, number, id FROM {table} WHERE site_id = $1 AND year = $2
                     ORDER BY counter, id LIMIT $3 OFFSET $4"
                ),
                &params![&site, year, PAGE, offset],
            )?;
            for row in &rows {
                let (counter, number, id) = (row.int(0)?, row.opt_text(1)?, row.text(2)?);
                if table == "notices" {
                    r.notices += 1;
                }
                if counter == last {
                    r.find(format!("{code} {year}: {what} number {counter} is used twice ({id})"));
                } else if counter > expect {
                    r.find(format!("{code} {year}: {what} numbers {expect}..{} are missing", counter - 1));
                }
                let written = written(&code, year, counter);
                if number.as_deref() != Some(written.as_str()) {
                    r.find(format!("{what} {id}: number {number:?} is not {written} (renumbered?)"));
                }
                last = counter;
                expect = counter + 1;
            }
            offset += rows.len() as i64;
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        if last != value {
            r.find(format!("{code} {year}: the {what} counter gave out {value} numbers, the last kept is {last}"));
        }
    }
    Ok(())
}

/// Every complete photo's bytes in the object store hash to its name.
async fn photo_bytes(store: &Store, photos: &Photos, r: &mut Report) -> Result<(), DbError> {
    let mut after = String::new();
    loop {
        let a = after.clone();
        type Row = (String, i64, Option<String>, Option<String>);
        let page: Vec<Row> = store
            .read(move |c| {
                c.query(
                    "SELECT p.sha256, p.size, p.thumb_sha256,
                            (SELECT l.leaf FROM log_leaves l WHERE l.subject = p.sha256 AND l.kind = 'thumbnail_made'
                             ORDER BY l.leaf_index DESC LIMIT 1)
                     FROM photos p WHERE p.complete = 1 AND p.sha256 > $1 ORDER BY p.sha256 LIMIT $2",
                    &params![a, PAGE],
                )?
                .iter()
                .map(|row| Ok((row.text(0)?, row.int(1)?, row.opt_text(2)?, row.opt_text(3)?)))
                .collect()
            })
            .await?;
        for (sha, size, thumb_sha, thumb_leaf) in &page {
            r.photos += 1;
            let key = object_store::path::Path::from(format!("photos/{}/{sha}.jpg", &sha[..2.min(sha.len())]));
            match photos.get(&key).await {
                Err(e) => r.find(format!("photo {sha}: cannot be read from the object store ({e})")),
                Ok(got) => match got.bytes().await {
                    Err(e) => r.find(format!("photo {sha}: cannot be read from the object store ({e})")),
                    Ok(bytes) => {
                        if hex::encode(Sha256::digest(&bytes)) != *sha || bytes.len() as i64 != *size {
                            r.find(format!("photo {sha}: the stored file is not this photo (swapped or damaged)"));
                        }
                    }
                },
            }
            thumbnail(photos, r, sha, thumb_sha.as_deref(), thumb_leaf.as_deref()).await;
        }
        match page.last() {
            Some((sha, ..)) if page.len() as i64 == PAGE => after = sha.clone(),
            _ => break,
        }
    }
    Ok(())
}

/// A stored thumbnail must be the one logged for its photo (issue 17, hole 7): its
/// hash the row's, the row's the newest `thumbnail_made` leaf's. A thumbnail made
/// before thumbnails were logged (no hash on the row) is made again and compared.
async fn thumbnail(photos: &Photos, r: &mut Report, sha: &str, bound: Option<&str>, leaf: Option<&str>) {
    let key = crate::photos::thumb_key(sha);
    let stored = match photos.get(&key).await {
        Err(object_store::Error::NotFound { .. }) => return,
        Err(e) => return r.find(format!("thumbnail of {sha}: cannot be read from the object store ({e})")),
        Ok(got) => match got.bytes().await {
            Ok(b) => b,
            Err(e) => return r.find(format!("thumbnail of {sha}: cannot be read from the object store ({e})")),
        },
    };
    let logged = leaf.and_then(|l| match serde_json::from_str::<Leaf>(l) {
        Ok(Leaf::ThumbnailMade { thumbnail_sha256, .. }) => Some(thumbnail_sha256),
        _ => None,
    });
    let stored_sha = hex::encode(Sha256::digest(&stored));
    match (bound, logged) {
        (Some(b), Some(l)) if b == l && b == stored_sha => {}
        (Some(b), Some(l)) if b == l => {
            r.find(format!("thumbnail of {sha}: the stored file is not the thumbnail made of it (swapped)"))
        }
        (Some(_), _) => {
            r.find(format!("thumbnail of {sha}: its hash on the photo's row is not the logged one (edited)"))
        }
        (None, _) => {
            let key = crate::photos::photo_key(sha);
            let remade = match photos.get(&key).await {
                Ok(got) => got.bytes().await.ok().and_then(|b| crate::photos::make_thumbnail(&b).ok()),
                Err(_) => None,
            };
            if remade.as_deref() != Some(&stored[..]) {
                r.find(format!("thumbnail of {sha}: not the thumbnail of the photo (swapped)"));
            }
        }
    }
}

/// The notice ids a verification might name, for tests.
pub fn notice_id_of(c: &mut dyn Conn, number: &str) -> Result<Option<Id>, DbError> {
    c.query_opt("SELECT id FROM notices WHERE number = $1", &params![number])?.map(|r| r.uuid(0)).transpose()
}
