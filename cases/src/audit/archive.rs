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

/// Version 2 adds the checkpoint (with cosignatures) the archive was cut at and
/// bridge entries that make every device chain in it gapless; version 1 files are
/// still read (without those checks).
pub const FORMAT: &str = "patrol-archive/2";
const FORMAT_1: &str = "patrol-archive/1";
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
    /// The head as a C2SP checkpoint with the witnesses' cosignatures it had when the
    /// archive was cut (with a witness policy: a checkpoint the policy accepts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
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
    /// A record leaf of a device of this archive that belongs elsewhere (another site
    /// or month), between two of its records here: logged and proven, its body left
    /// out, so the device's chain in the archive has no gap to hide a dropped record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bridge: bool,
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
        | RecordPayload::FaultIssued { site_id, .. }
        | RecordPayload::DailyLogSigned { site_id, .. } => Some(*site_id),
        RecordPayload::CheckpointVisited { run_id, .. }
        | RecordPayload::ItemRecorded { run_id, .. }
        | RecordPayload::TrackPoints { run_id, .. }
        | RecordPayload::RunFinished { run_id, .. } => run_site(c, *run_id)?,
        RecordPayload::NoticeActed { notice_id, .. } => notice_site(c, *notice_id)?,
        RecordPayload::FaultActed { fault_id, .. } | RecordPayload::AppealDecided { fault_id, .. } => c
            .query_opt("SELECT site_id FROM faults WHERE id = $1", &params![*fault_id])?
            .map(|r| r.uuid(0))
            .transpose()?,
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

/// Rows of an archive: the leaves below `upto` logged in `from..to` that belong to the
/// site, with their record bodies and the year they may be discarded.
type Row = (u64, String, Option<String>, i32);

fn month_entries(
    c: &mut dyn Conn,
    site_id: Id,
    from: i64,
    to: i64,
    upto: u64,
) -> Result<Result<Vec<Row>, String>, DbError> {
    let mut reader_rows: Vec<(u64, String, Option<String>, i32)> = Vec::new();
    let (mut after, mut scanned) = (-1i64, 0usize);
    loop {
        let rows = c.query(
            "SELECT leaf_index, leaf, at_ms FROM log_leaves WHERE at_ms >= $1 AND at_ms < $2
             AND leaf_index > $3 AND leaf_index < $4 ORDER BY leaf_index LIMIT 1000",
            &params![from, to, after, upto as i64],
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
                Leaf::NoticeNumbered { site_id: s, .. }
                | Leaf::NoticeRouted { site_id: s, .. }
                | Leaf::FaultNumbered { site_id: s, .. } => (*s == site_id, None, leaf.kind_str()),
                Leaf::DailyLogSigned { site_id: s, .. } => (*s == site_id, None, leaf.kind_str()),
                Leaf::PhotoCompleted { sha256, .. } | Leaf::ThumbnailMade { sha256, .. } => {
                    let cited = c.query_opt(
                        "SELECT 1 FROM photo_citations pc LEFT JOIN runs r ON r.id = pc.run_id
                         LEFT JOIN notices n ON n.id = pc.notice_id
                         WHERE pc.sha256 = $1 AND (r.site_id = $2 OR n.site_id = $2)",
                        &params![sha256, site_id],
                    )?;
                    (cited.is_some(), None, leaf.kind_str())
                }
                // Forks belong to a device, not a site: `audit verify` reports them.
                Leaf::ForkFlagged { .. } | Leaf::MonthIndexed { .. } => (false, None, ""),
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
    Ok(Ok(reader_rows))
}

/// A month's leaves are final once it is over everywhere: two days after its end in
/// UTC (sites are at most 14 hours off). The writer and the offline check share it.
const CLOSED_AFTER_MS: i64 = 2 * 86_400_000;

pub fn month_closed(month: &str, at_ms: i64) -> bool {
    month_bounds(month, 0).is_some_and(|(_, to)| at_ms >= to + CLOSED_AFTER_MS)
}

fn index_subject(site_id: Id, month: &str) -> String {
    format!("{site_id}/{month}")
}

/// The digest a month index commits to: SHA-256 over `index:leaf hash` lines of the
/// month's own entries (not bridges, not the index), in leaf order.
fn entries_digest(entries: impl Iterator<Item = (u64, Hash)>) -> (u64, String) {
    let (mut n, mut d) = (0u64, Sha256::new());
    for (i, h) in entries {
        n += 1;
        d.update(format!("{i}:{}\n", hex::encode(h)).as_bytes());
    }
    (n, hex::encode(d.finalize()))
}

fn rows_digest(rows: &[Row]) -> (u64, String) {
    entries_digest(rows.iter().map(|(i, text, _, _)| (*i, transparency::leaf_hash(text.as_bytes()))))
}

fn index_matches(index_leaf: &str, rows: &[Row]) -> bool {
    let (n, digest) = rows_digest(rows);
    matches!(serde_json::from_str::<Leaf>(index_leaf),
        Ok(Leaf::MonthIndexed { entries, digest: d, .. }) if entries == n && d == digest)
}

/// The month's index leaf, logged (index, text) or still pending (`u64::MAX`).
fn logged_index(c: &mut dyn Conn, site_id: Id, month: &str) -> Result<Option<(u64, String, bool)>, DbError> {
    let subject = index_subject(site_id, month);
    if let Some(r) = c.query_opt(
        "SELECT leaf_index, leaf FROM log_leaves WHERE subject = $1 AND kind = 'month_indexed' ORDER BY leaf_index LIMIT 1",
        &params![subject.clone()],
    )? {
        return Ok(Some((r.int(0)? as u64, r.text(1)?, true)));
    }
    Ok(c.query_opt(
        "SELECT leaf FROM log_pending WHERE subject = $1 AND kind = 'month_indexed' LIMIT 1",
        &params![subject],
    )?
    .map(|r| r.text(0))
    .transpose()?
    .map(|t| (u64::MAX, t, false)))
}

/// Logs the index of a closed month of a site (once): how many leaves it has and a
/// digest of them, so an archive that leaves one out no longer matches a leaf the
/// witnesses saw. Returns whether it was logged now.
pub fn index_month(c: &mut dyn Conn, site_id: Id, month: &str, now: i64) -> Result<Result<bool, String>, DbError> {
    if !month_closed(month, now) {
        return Ok(Err(format!("{month} is not over everywhere yet: its index waits")));
    }
    if logged_index(c, site_id, month)?.is_some() {
        return Ok(Ok(false));
    }
    let Some((from, to)) = site_month(c, site_id, month)? else {
        return Ok(Err(format!("no such site, or {month} is not a month")));
    };
    let size = log::size(c)?;
    let rows = match month_entries(c, site_id, from, to, size)? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let (entries, digest) = rows_digest(&rows);
    let leaf = Leaf::MonthIndexed { site_id, month: month.into(), entries, digest, at_ms: now };
    log::append(c, &leaf, now)?;
    Ok(Ok(true))
}

/// A month's first instant and the next month's in the site's time; `None` for a site
/// that does not exist or a month that is not one.
fn site_month(c: &mut dyn Conn, site_id: Id, month: &str) -> Result<Option<(i64, i64)>, DbError> {
    let offset = c
        .query_opt("SELECT utc_offset_minutes FROM sites WHERE id = $1", &params![site_id])?
        .map(|r| r.int(0))
        .transpose()?;
    Ok(offset.and_then(|o| month_bounds(month, o as i32)))
}

/// For `audit verify`: the month's leaves as the database holds them now, below the
/// index leaf, against what the index logged.
pub fn index_still_matches(c: &mut dyn Conn, index: u64, leaf: &Leaf) -> Result<bool, DbError> {
    let Leaf::MonthIndexed { site_id, month, .. } = leaf else { return Ok(true) };
    let Some((from, to)) = site_month(c, *site_id, month)? else { return Ok(false) };
    let text = String::from_utf8(leaf.bytes()).expect("JSON");
    Ok(match month_entries(c, *site_id, from, to, index)? {
        Ok(rows) => index_matches(&text, &rows),
        Err(_) => false,
    })
}

/// Writes the archive of `site_code`'s `month` to `out`; returns the entry count.
pub fn write_archive(
    store: &Store,
    site_code: &str,
    month: &str,
    now: i64,
    policy: &super::cosign::Policy,
    out: &mut dyn Write,
) -> Result<u64, String> {
    let db = |e: DbError| e.to_string();
    crate::sequencer::catch_up_blocking(store, now).map_err(db)?;
    // A closed month is indexed in the log first (once), so the archive can prove it
    // left nothing out.
    if month_closed(month, now) {
        let site = store
            .tx_blocking(false, |c| {
                c.query_opt("SELECT id FROM sites WHERE code = $1", &params![site_code])?.map(|r| r.uuid(0)).transpose()
            })
            .map_err(db)?;
        if let Some(site_id) = site {
            store.tx_blocking(true, |c| index_month(c, site_id, month, now)).map_err(db)??;
            crate::sequencer::catch_up_blocking(store, now).map_err(db)?;
        }
    }
    // A fresh head covers everything up to now; the month's leaves are all below it.
    // With a witness policy the archive is cut at the newest witnessed checkpoint
    // instead, and refused while the month is not all under it.
    let (head, checkpoint) = if policy.required() {
        store
            .tx_blocking(false, |c| {
                let Some(cp) = super::witnessed::newest_witnessed(c, policy)? else { return Ok(Err(None)) };
                match log::head_of_size(c, cp.size)? {
                    Some(h) if transparency::parse_hash(&h.head.root) == Some(cp.root) => Ok(Ok((h, cp.render()))),
                    _ => Ok(Err(Some(cp.size))),
                }
            })
            .map_err(db)?
            .map_err(|size| match size {
                None => "no checkpoint is cosigned as the witness policy requires: the archive would not be anchored"
                    .to_string(),
                Some(n) => format!("the stored head of {n} leaves is not the witnessed checkpoint"),
            })?
    } else {
        let head = log::current_head(store, now).map_err(db)?;
        let cp = store.tx_blocking(false, |c| super::witnessed::checkpoint_of(c, &head.head)).map_err(db)?;
        (head, cp.render())
    };
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
                checkpoint: Some(checkpoint.clone()),
            };
            if policy.required() {
                let beyond = c.query_opt(
                    "SELECT leaf_index FROM log_leaves WHERE at_ms >= $1 AND at_ms < $2 AND leaf_index >= $3 LIMIT 1",
                    &params![from, to, head.head.tree_size as i64],
                )?;
                if beyond.is_some() {
                    return Ok(Err(format!(
                        "the month has leaves past the witnessed checkpoint of {} leaves: cut it after the witnesses cosign",
                        head.head.tree_size
                    )));
                }
            }
            let mut lines = vec![serde_json::to_string(&header).expect("serialises")];
            let reader_rows = match month_entries(c, site_id, from, to, head.head.tree_size)? {
                Ok(rows) => rows,
                Err(e) => return Ok(Err(e)),
            };
            let index_entry = if month_closed(month, now) {
                match logged_index(c, site_id, month)? {
                    Some((i, text, _)) if i < head.head.tree_size => {
                        if !index_matches(&text, &reader_rows) {
                            return Ok(Err(format!(
                                "the month's leaves are not those its index logged when it closed (leaf {i}): records were lost or added since"
                            )));
                        }
                        Some((i, text))
                    }
                    Some(_) => {
                        return Ok(Err(
                            "the month's index is not yet under the witnessed checkpoint: cut it after the witnesses cosign".into(),
                        ));
                    }
                    None => return Ok(Err("the month's index is missing from the log".into())),
                }
            } else {
                None
            };
            let bridges = bridges(c, &reader_rows, head.head.tree_size)?;
            let mut rows: Vec<(u64, String, Option<String>, i32, bool)> =
                reader_rows.into_iter().map(|(i, l, r, u)| (i, l, r, u, false)).collect();
            rows.extend(bridges.into_iter().map(|(i, l)| (i, l, None, 0, true)));
            rows.extend(index_entry.map(|(i, l)| (i, l, None, 0, false)));
            rows.sort_by_key(|r| r.0);
            if rows.len() > MAX_ENTRIES {
                return Ok(Err(format!("more than {MAX_ENTRIES} entries in one month: archive refused")));
            }
            let mut reader = log::Reader::new(c);
            for (index, leaf, record, until, bridge) in rows {
                let proof = reader.inclusion(index, head.head.tree_size)?;
                let e = Entry {
                    leaf_index: index,
                    leaf,
                    record,
                    retain_until_year: until,
                    proof: proof.into_iter().map(hex::encode).collect(),
                    bridge,
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

/// The record leaves that close the gaps of each device's chain among `rows`: for a
/// device whose records here have seqs 4 and 9, the leaves of its seqs 5 to 8.
fn bridges(
    c: &mut dyn Conn,
    rows: &[(u64, String, Option<String>, i32)],
    size: u64,
) -> Result<Vec<(u64, String)>, DbError> {
    let mut present: std::collections::BTreeMap<Id, std::collections::BTreeSet<u64>> = Default::default();
    for (_, text, _, _) in rows {
        if let Ok(Leaf::Record { device_id, seq, .. }) = serde_json::from_str::<Leaf>(text) {
            present.entry(device_id).or_default().insert(seq);
        }
    }
    let mut out = Vec::new();
    for (device, seqs) in present {
        let (Some(&lo), Some(&hi)) = (seqs.first(), seqs.last()) else { continue };
        if hi - lo + 1 == seqs.len() as u64 {
            continue;
        }
        let found = c.query(
            "SELECT r.seq, l.leaf_index, l.leaf FROM records r
             JOIN log_leaves l ON l.subject = r.id AND l.kind = 'record'
             WHERE r.device_id = $1 AND r.seq > $2 AND r.seq < $3 AND l.leaf_index < $4 ORDER BY r.seq",
            &params![device, lo as i64, hi as i64, size as i64],
        )?;
        for r in found {
            if !seqs.contains(&(r.int(0)? as u64)) {
                out.push((r.int(1)? as u64, r.text(2)?));
            }
            if out.len() > MAX_ENTRIES {
                return Ok(out);
            }
        }
    }
    Ok(out)
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
    /// The witnesses of the policy whose cosignature of the archive's checkpoint holds.
    pub witnessed_by: Vec<String>,
    /// Whether the month's index in the log proves nothing was left out.
    pub complete: bool,
}

impl ArchiveReport {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether a finding is a gap in a device's chain.
    pub fn mentions_chain_gap(&self) -> bool {
        self.findings.iter().any(|f| f.contains("records are missing from its chain"))
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "archive {} {}: {} entries ({} records) proven against the signed head of {} leaves\n  log key {} ({})\n  compare this key with the one your witness pinned / 请与见证方保存的公钥核对\n",
            self.site_code, self.month, self.entries, self.records, self.tree_size, self.key_id, self.public_key
        );
        s.push_str(if self.complete {
            "  complete: every leaf of the site's month, as its logged index says / 已按日志索引核对完整\n"
        } else {
            "  the month was not over when this was cut: completeness is not proven / 截取时该月未结束，完整性未证明\n"
        });
        if !self.witnessed_by.is_empty() {
            s.push_str(&format!("  cosigned by / 见证方联署: {}\n", self.witnessed_by.join(", ")));
        }
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
///
/// Version 2 files also carry the checkpoint they were cut at, which must be the
/// head's, signed by the archive's key and (given a `policy`) cosigned by its quorum
/// of witnesses; and every device chain in them must be gapless (bridge entries stand
/// for records that belong elsewhere), so a record dropped from the middle of a
/// chain is found even by someone who holds the log key and re-signs the file.
pub fn verify_archive(
    input: &mut dyn BufRead,
    pinned_key: Option<&str>,
    policy: &super::cosign::Policy,
) -> Result<ArchiveReport, String> {
    let mut buf = String::new();
    if !read_line(input, &mut buf)? {
        return Err("empty file".into());
    }
    let mut digest = Sha256::new();
    digest.update(buf.as_bytes());
    let header: Header = serde_json::from_str(&buf).map_err(|e| format!("line 1 is not an archive header: {e}"))?;
    if header.format != FORMAT && header.format != FORMAT_1 {
        return Err(format!("unknown format {}", header.format));
    }
    let v2 = header.format == FORMAT;
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
    check_checkpoint(&header, key.as_ref(), &root, v2, policy, &mut r);
    let mut last_of_device: std::collections::HashMap<Id, (u64, String)> = Default::default();
    let (mut own, mut index_leaf): (Vec<(u64, Hash)>, Option<Leaf>) = (Vec::new(), None);
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
        let parsed = serde_json::from_str::<Leaf>(&e.leaf);
        match &parsed {
            Ok(l @ Leaf::MonthIndexed { .. }) if !e.bridge => {
                if index_leaf.replace(l.clone()).is_some() {
                    r.findings.push(format!("line {line_no}: a second month index"));
                }
            }
            _ if !e.bridge => own.push((e.leaf_index, leaf)),
            _ => {}
        }
        match (parsed, &e.record) {
            (Ok(Leaf::Record { device_id, seq, record_hash, .. }), None) if e.bridge && v2 => {
                gaps(&mut last_of_device, device_id, seq, line_no, &mut r);
                last_of_device.insert(device_id, (seq, record_hash));
            }
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
                        if v2 {
                            gaps(&mut last_of_device, device_id, seq, line_no, &mut r);
                        }
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
    if v2 && month_closed(&header.month, header.created_ms) {
        let (n, d) = entries_digest(own.into_iter());
        match index_leaf {
            Some(Leaf::MonthIndexed { site_id, month, entries, digest, .. })
                if site_id == header.site_id && month == header.month =>
            {
                if entries == n && digest == d {
                    r.complete = true;
                } else {
                    r.findings.push(format!(
                        "the archive holds {n} of the month's leaves, not the {entries} its logged index names: entries were left out or added"
                    ));
                }
            }
            _ => r.findings.push("the month was over when this was cut, but its index is not in the archive".into()),
        }
    } else if index_leaf.is_some() {
        r.findings.push("a month index in an archive cut before the month was over".into());
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

/// A device's records in an archive (with bridges) follow each other seq by seq.
fn gaps(
    last: &mut std::collections::HashMap<Id, (u64, String)>,
    device: Id,
    seq: u64,
    line_no: u64,
    r: &mut ArchiveReport,
) {
    if let Some((prev, _)) = last.get(&device)
        && *prev + 1 != seq
    {
        r.findings.push(format!(
            "line {line_no}: device {device} goes from seq {prev} to {seq}: records are missing from its chain"
        ));
    }
}

/// The checkpoint a version 2 archive carries: the head's size and root, signed by the
/// archive's log key under the checkpoint's origin, and cosigned as `policy` requires.
fn check_checkpoint(
    header: &Header,
    key: Option<&ed25519_dalek::VerifyingKey>,
    root: &Hash,
    v2: bool,
    policy: &super::cosign::Policy,
    r: &mut ArchiveReport,
) {
    use super::cosign::{Checkpoint, ED25519, NoteKey};
    let Some(text) = &header.checkpoint else {
        if v2 || policy.required() {
            r.findings.push("the archive carries no checkpoint: it is not anchored to what witnesses saw".into());
        }
        return;
    };
    let cp = match Checkpoint::parse(text) {
        Ok(cp) => cp,
        Err(e) => {
            r.findings.push(format!("the archive's checkpoint is not a checkpoint: {e}"));
            return;
        }
    };
    if cp.size != header.tree_head.head.tree_size || cp.root != *root {
        r.findings.push("the archive's checkpoint is not its tree head".into());
    }
    if !key.is_some_and(|k| cp.signed_by(&NoteKey::new(&cp.origin, ED25519, *k))) {
        r.findings.push("the archive's checkpoint is not signed by its log key".into());
    }
    if policy.required() {
        match policy.check(&cp) {
            Ok(names) => r.witnessed_by = names,
            Err(e) => r.findings.push(e),
        }
    }
}
