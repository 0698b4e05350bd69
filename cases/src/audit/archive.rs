//! Monthly archives for cold storage: one JSON Lines file per site and month with the
//! site's records and decisions of that month, each with its log leaf and inclusion
//! proof against a signed head, the head and the log's public key. `verify_archive`
//! checks one with no database and no server.
//!
//! Line 1 is the header, then one line per leaf, then a trailer with the count (a
//! truncated file fails). Sizes are bounded on both sides.

use std::io::{BufRead, Write};

use patrol_protocol::Id;
use patrol_protocol::audit::{Leaf, LogPublicKey, SignedTreeHead, retention_years};
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::transparency::{self, Hash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::log;
use crate::params;
use crate::store::{Conn, DbError, Store};

pub const FORMAT: &str = "patrol-archive/1";
/// Leaves scanned for one month, and entries written: a month of one site is far
/// below both; beyond them the archive is refused rather than made unbounded.
const MAX_SCANNED: usize = 2_000_000;
pub const MAX_ENTRIES: usize = 200_000;
/// The longest line the verifier reads (a record is at most a few hundred KB).
const MAX_LINE: u64 = 4 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub site_id: Id,
    pub site_code: String,
    pub month: String,
    pub created_ms: i64,
    pub tree_head: SignedTreeHead,
    pub public_key: LogPublicKey,
    /// DOMAIN.md: notices 10 years, other records 5.
    pub retention: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub leaf_index: u64,
    /// The leaf's bytes exactly as logged.
    pub leaf: String,
    /// For record leaves: the record's canonical body as stored.
    pub record: Option<String>,
    pub retain_until_year: i32,
    pub proof: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Trailer {
    pub end: bool,
    pub entries: u64,
    /// SHA-256 of every byte before the trailer, and the log key's signature over it:
    /// the header's words (site, month) and the order of lines are covered too.
    pub sha256: String,
    pub signature: String,
}

/// What the log key signs for a whole archive.
fn archive_message(digest: &[u8]) -> Vec<u8> {
    let mut m = b"patrol archive v1\0".to_vec();
    m.extend_from_slice(digest);
    m
}

/// The site a record belongs to, through the projections it fed.
fn record_site(c: &mut dyn Conn, rec: &Record, depth: u8) -> Result<Option<Id>, DbError> {
    let run_site = |c: &mut dyn Conn, run: Id| -> Result<Option<Id>, DbError> {
        c.query_opt("SELECT site_id FROM runs WHERE id = $1", &params![run])?.map(|r| r.uuid(0)).transpose()
    };
    let notice_site = |c: &mut dyn Conn, n: Id| -> Result<Option<Id>, DbError> {
        c.query_opt("SELECT site_id FROM notices WHERE id = $1", &params![n])?.map(|r| r.uuid(0)).transpose()
    };
    Ok(match &rec.payload {
        RecordPayload::RunStarted { site_id, .. }
        | RecordPayload::RunWaived { site_id, .. }
        | RecordPayload::NoticeRaised { site_id, .. }
        | RecordPayload::DailyLogSigned { site_id, .. } => Some(*site_id),
        RecordPayload::CheckpointVisited { run_id, .. }
        | RecordPayload::ItemRecorded { run_id, .. }
        | RecordPayload::TrackPoints { run_id, .. }
        | RecordPayload::RunFinished { run_id, .. } => run_site(c, *run_id)?,
        RecordPayload::NoticeActed { notice_id, .. } => notice_site(c, *notice_id)?,
        RecordPayload::PhotoTaken { context, .. } => match (context.run_id, context.notice_id) {
            (Some(r), _) => run_site(c, r)?,
            (_, Some(n)) => notice_site(c, n)?,
            _ => None,
        },
        // Where the photo it marks belongs: the notice or run that cites it.
        RecordPayload::PhotoMarked { photo, .. } => c
            .query_opt(
                "SELECT COALESCE(n.site_id, ru.site_id) FROM photo_citations pc
                 LEFT JOIN notices n ON n.id = pc.notice_id LEFT JOIN runs ru ON ru.id = pc.run_id
                 WHERE pc.sha256 = $1 AND COALESCE(n.site_id, ru.site_id) IS NOT NULL
                 ORDER BY pc.record_id LIMIT 1",
                &params![photo.clone()],
            )?
            .map(|r| r.uuid(0))
            .transpose()?,
        RecordPayload::Correction { corrects: earlier, .. }
        | RecordPayload::RunWaiverDecided { waiver_id: earlier, .. }
            if depth < 8 =>
        {
            // Belongs where the record it answers belongs.
            match c.query_opt("SELECT body FROM records WHERE id = $1", &params![*earlier])? {
                Some(r) => match serde_json::from_str::<Record>(&r.text(0)?) {
                    Ok(inner) => record_site(c, &inner, depth + 1)?,
                    Err(_) => None,
                },
                None => None,
            }
        }
        RecordPayload::Correction { .. } | RecordPayload::RunWaiverDecided { .. } => None,
    })
}

/// `YYYY-MM` → the month's first instant and the next month's, in site time.
pub fn month_bounds(month: &str, utc_offset_minutes: i32) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let first = chrono::NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 { chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)? } else { first.with_month0(m)? };
    let at = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis() - i64::from(utc_offset_minutes) * 60_000)
    };
    Some((at(first)?, at(next)?))
}

use chrono::Datelike;

/// Writes the archive of `site_code`'s `month` to `out`; returns the entry count.
pub fn write_archive(
    store: &Store,
    site_code: &str,
    month: &str,
    now: i64,
    out: &mut dyn Write,
) -> Result<u64, String> {
    let db = |e: DbError| e.to_string();
    crate::sequencer::catch_up_blocking(store, now).map_err(db)?;
    // A fresh head covers everything up to now; the month's leaves are all below it.
    let head = log::current_head(store, now).map_err(db)?;
    store
        .tx_blocking(false, |c| {
            let sites = c.query("SELECT id, utc_offset_minutes FROM sites WHERE code = $1", &params![site_code])?;
            let [site] = sites.as_slice() else {
                return Ok(Err(format!("{} sites have the code {site_code}", sites.len())));
            };
            let (site_id, offset) = (site.uuid(0)?, site.int(1)? as i32);
            let Some((from, to)) = month_bounds(month, offset) else {
                return Ok(Err(format!("{month} is not a month (YYYY-MM)")));
            };
            let signer = log::signing_key(c)?;
            let key = signer.public();
            let header = Header {
                format: FORMAT.into(),
                site_id,
                site_code: site_code.into(),
                month: month.into(),
                created_ms: now,
                tree_head: head.clone(),
                public_key: key,
                retention: serde_json::json!({ "notices_years": 10, "other_years": 5 }),
            };
            let mut lines = vec![serde_json::to_string(&header).expect("serialises")];
            let mut reader_rows: Vec<(u64, String, Option<String>, i32)> = Vec::new();
            let (mut after, mut scanned) = (-1i64, 0usize);
            loop {
                let rows = c.query(
                    "SELECT leaf_index, leaf, at_ms FROM log_leaves WHERE at_ms >= $1 AND at_ms < $2
                     AND leaf_index > $3 AND leaf_index < $4 ORDER BY leaf_index LIMIT 1000",
                    &params![from, to, after, head.head.tree_size as i64],
                )?;
                for row in &rows {
                    scanned += 1;
                    let (index, text, at) = (row.int(0)?, row.text(1)?, row.int(2)?);
                    after = index;
                    let Ok(leaf) = serde_json::from_str::<Leaf>(&text) else { continue };
                    let year = chrono::DateTime::from_timestamp_millis(at).map_or(0, |d| d.year());
                    let (belongs, record, kind) = match &leaf {
                        Leaf::Record { record_id, .. } => {
                            let body = c
                                .query_opt("SELECT body FROM records WHERE id = $1", &params![*record_id])?
                                .map(|r| r.text(0))
                                .transpose()?;
                            let rec = body.as_deref().and_then(|b| serde_json::from_str::<Record>(b).ok());
                            let site = match &rec {
                                Some(r) => record_site(c, r, 0)?,
                                None => None,
                            };
                            let kind = rec.as_ref().map_or("", |r| r.payload.kind_str());
                            (site == Some(site_id), body, kind)
                        }
                        Leaf::NoticeNumbered { site_id: s, .. } | Leaf::NoticeRouted { site_id: s, .. } => {
                            (*s == site_id, None, leaf.kind_str())
                        }
                        Leaf::DailyLogSigned { site_id: s, .. } => (*s == site_id, None, leaf.kind_str()),
                        Leaf::PhotoCompleted { sha256, .. } => {
                            let cited = c.query_opt(
                                "SELECT 1 FROM photo_citations pc LEFT JOIN runs r ON r.id = pc.run_id
                                 LEFT JOIN notices n ON n.id = pc.notice_id
                                 WHERE pc.sha256 = $1 AND (r.site_id = $2 OR n.site_id = $2)",
                                &params![sha256, site_id],
                            )?;
                            (cited.is_some(), None, leaf.kind_str())
                        }
                        // Forks belong to a device, not a site: `audit verify` reports them.
                        Leaf::ForkFlagged { .. } => (false, None, ""),
                    };
                    if belongs {
                        let until = year + retention_years(kind) as i32;
                        reader_rows.push((index as u64, text, record, until));
                    }
                }
                if scanned > MAX_SCANNED || reader_rows.len() > MAX_ENTRIES {
                    return Ok(Err(format!("more than {MAX_ENTRIES} entries in one month: archive refused")));
                }
                if rows.len() < 1000 {
                    break;
                }
            }
            let mut reader = log::Reader::new(c);
            for (index, leaf, record, until) in reader_rows {
                let proof = reader.inclusion(index, head.head.tree_size)?;
                let e = Entry {
                    leaf_index: index,
                    leaf,
                    record,
                    retain_until_year: until,
                    proof: proof.into_iter().map(hex::encode).collect(),
                };
                lines.push(serde_json::to_string(&e).expect("serialises"));
            }
            let n = (lines.len() - 1) as u64;
            let mut digest = Sha256::new();
            for l in &lines {
                digest.update(l.as_bytes());
                digest.update(b"\n");
            }
            let digest = digest.finalize();
            let trailer = Trailer {
                end: true,
                entries: n,
                sha256: hex::encode(digest),
                signature: signer.sign_bytes(&archive_message(&digest)),
            };
            lines.push(serde_json::to_string(&trailer).expect("serialises"));
            Ok(Ok((lines, n)))
        })
        .map_err(db)?
        .and_then(|(lines, n)| {
            for l in lines {
                writeln!(out, "{l}").map_err(|e| e.to_string())?;
            }
            Ok(n)
        })
}

/// What the offline check found.
#[derive(Debug, Default)]
pub struct ArchiveReport {
    pub site_code: String,
    pub month: String,
    pub key_id: String,
    pub public_key: String,
    pub tree_size: u64,
    pub entries: u64,
    pub records: u64,
    pub findings: Vec<String>,
}

impl ArchiveReport {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "archive {} {}: {} entries ({} records) proven against the signed head of {} leaves\n  log key {} ({})\n  compare this key with the one your witness pinned / 请与见证方保存的公钥核对\n",
            self.site_code, self.month, self.entries, self.records, self.tree_size, self.key_id, self.public_key
        );
        if self.ok() {
            s.push_str("OK / 核验通过\n");
        } else {
            s.push_str("FAILED / 核验失败\n");
            for f in &self.findings {
                s.push_str(&format!("  - {f}\n"));
            }
        }
        s
    }
}

fn read_line(input: &mut dyn BufRead, buf: &mut String) -> Result<bool, String> {
    buf.clear();
    let n = <&mut dyn BufRead as std::io::Read>::take(input, MAX_LINE)
        .read_line(buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if n as u64 >= MAX_LINE && !buf.ends_with('\n') {
        return Err(format!("a line is longer than {MAX_LINE} bytes"));
    }
    Ok(n > 0)
}

/// Checks an archive with nothing but its bytes: the head's signature, every leaf's
/// inclusion under that head, every record's hash against its leaf, the chain between
/// consecutive records of a device, and the trailer's count. `pinned_key` (hex) is
/// the log key a witness holds; without it the archive is only checked against itself.
pub fn verify_archive(input: &mut dyn BufRead, pinned_key: Option<&str>) -> Result<ArchiveReport, String> {
    let mut buf = String::new();
    if !read_line(input, &mut buf)? {
        return Err("empty file".into());
    }
    let mut digest = Sha256::new();
    digest.update(buf.as_bytes());
    let header: Header = serde_json::from_str(&buf).map_err(|e| format!("line 1 is not an archive header: {e}"))?;
    if header.format != FORMAT {
        return Err(format!("unknown format {}", header.format));
    }
    let mut r = ArchiveReport {
        site_code: header.site_code.clone(),
        month: header.month.clone(),
        key_id: header.public_key.key_id.clone(),
        public_key: header.public_key.public_key.clone(),
        tree_size: header.tree_head.head.tree_size,
        ..ArchiveReport::default()
    };
    if pinned_key.is_some_and(|p| !p.eq_ignore_ascii_case(&header.public_key.public_key)) {
        r.findings.push("the archive's log key is not the pinned key".into());
    }
    let key = hex::decode(&header.public_key.public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok());
    let head = &header.tree_head;
    let sig_ok = key.is_some_and(|k| super::log::signature_ok(head, &k));
    if !sig_ok || head.key_id != header.public_key.key_id {
        r.findings.push("the tree head's signature does not verify with the archive's key".into());
    }
    let root: Hash = transparency::parse_hash(&head.head.root).unwrap_or_default();
    let mut last_of_device: std::collections::HashMap<Id, (u64, String)> = Default::default();
    let mut line_no = 1u64;
    let mut trailer = None;
    while read_line(input, &mut buf)? {
        line_no += 1;
        if trailer.is_some() {
            r.findings.push(format!("line {line_no}: content after the trailer"));
            break;
        }
        if let Ok(t) = serde_json::from_str::<Trailer>(&buf) {
            trailer = Some(t);
            continue;
        }
        digest.update(buf.as_bytes());
        let e: Entry = match serde_json::from_str(&buf) {
            Ok(e) => e,
            Err(err) => {
                r.findings.push(format!("line {line_no}: not an entry ({err})"));
                continue;
            }
        };
        r.entries += 1;
        if r.entries > MAX_ENTRIES as u64 {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        let proof: Option<Vec<Hash>> = e.proof.iter().map(|h| transparency::parse_hash(h)).collect();
        let leaf = transparency::leaf_hash(e.leaf.as_bytes());
        if !proof.is_some_and(|p| transparency::verify_inclusion(e.leaf_index, head.head.tree_size, &leaf, &p, &root)) {
            r.findings.push(format!("line {line_no}: leaf {} is not in the signed log", e.leaf_index));
        }
        match (serde_json::from_str::<Leaf>(&e.leaf), &e.record) {
            (Ok(Leaf::Record { record_id, record_hash, device_id, seq, .. }), Some(body)) => {
                r.records += 1;
                match serde_json::from_str::<Record>(body) {
                    Ok(rec)
                        if rec.canonical_bytes() == body.as_bytes()
                            && rec.hash() == record_hash
                            && rec.id == record_id
                            && rec.device == device_id
                            && rec.seq == seq =>
                    {
                        let follows = last_of_device.get(&device_id).filter(|(prev_seq, _)| prev_seq + 1 == seq);
                        if follows.is_some_and(|(_, prev_hash)| rec.prev_hash != *prev_hash) {
                            r.findings.push(format!("line {line_no}: record {record_id} breaks its device chain"));
                        }
                        last_of_device.insert(device_id, (seq, record_hash));
                    }
                    _ => r.findings.push(format!("line {line_no}: record {record_id} does not match its leaf")),
                }
            }
            (Ok(Leaf::Record { record_id, .. }), None) => {
                r.findings.push(format!("line {line_no}: record {record_id} is missing its body"))
            }
            (Ok(_), _) => {}
            (Err(err), _) => r.findings.push(format!("line {line_no}: the leaf is not a leaf ({err})")),
        }
    }
    let digest = digest.finalize();
    match trailer {
        Some(t) => {
            if !t.end || t.entries != r.entries {
                r.findings.push(format!("the trailer counts {} entries, the file has {}", t.entries, r.entries));
            }
            let signed = hex::decode(&t.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()).is_some_and(|sig| {
                key.is_some_and(|k| {
                    k.verify_strict(&archive_message(&digest), &ed25519_dalek::Signature::from_bytes(&sig)).is_ok()
                })
            });
            if t.sha256 != hex::encode(digest) || !signed {
                r.findings.push("the file's bytes are not the ones the log key signed (altered)".into());
            }
        }
        None => r.findings.push("no trailer: the file is truncated".into()),
    }
    Ok(r)
}
