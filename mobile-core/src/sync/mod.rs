//! Sync with the server (docs/sync-protocol.md): sign-in and token refresh, pushing
//! the record chain, uploading photos resumably, pulling decisions and reference data.
//! Safe to call at any time from a background thread; one sync runs at a time.

pub mod http;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use patrol_protocol::api::{LoginRequest, RefreshRequest, TokenResponse};
use patrol_protocol::notice::{self, NoticeRole};
use patrol_protocol::reason::{Reason, Texts};
use patrol_protocol::record::RecordPayload;
use patrol_protocol::sync::{
    ClockEvidence, PHOTO_CHUNK_MAX, PhotoStatus, PullResponse, PushRequest, PushResponse, RecordStatus, SyncStatus,
};
use patrol_protocol::{Id, Person};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::core::{Core, SignedInPerson};
use crate::error::{Error, Result};
use crate::store::{self, meta_get, meta_set};
use http::{Http, HttpError};

/// Records per push request (the server takes up to 500).
const PUSH_BATCH: u32 = 200;
/// Bytes per photo chunk.
/// Photo upload chunks adapt to the link (docs/mobile-core.md, "Uploads on a bad
/// link"): a phone starts at `CHUNK_START`, doubles the chunk after each one that gets
/// through up to the protocol's `PHOTO_CHUNK_MAX` (1 MiB) — after a cut in the same
/// sync only by `CHUNK_MIN` at a time — and halves it on a cut down to `CHUNK_MIN`.
/// The size is kept between syncs, since a cut may end the sync.
pub const CHUNK_START: usize = 64 * 1024;
pub const CHUNK_MIN: usize = 16 * 1024;
/// Cuts within one sync before it gives up and leaves the rest to the next sync.
const CUTS_PER_SYNC: u32 = 8;
/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// The server session, kept in the store so a restart needs no new sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    server_url: String,
    access_token: String,
    access_expires_ms: i64,
    refresh_token: String,
}

/// Which part of a sync is running, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Push,
    Photos,
    Pull,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub records_sent: u64,
    pub records_to_send: u64,
    pub photo_bytes_sent: u64,
    pub photo_bytes_to_send: u64,
    pub records_received: u64,
}

/// Told of progress during a sync; called on the syncing thread.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Lets the app stop a running sync between two requests; nothing is lost by it.
#[derive(Debug, Default, uniffi::Object)]
pub struct SyncCancel(AtomicBool);

#[uniffi::export]
impl SyncCancel {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncCancel::default())
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// An action of this device the server kept but did not apply, with its reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejectionLine {
    pub record_id: Id,
    pub seq: u64,
    pub kind: String,
    pub reason: String,
    pub reason_zh: String,
    pub notice_id: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NumberAssigned {
    pub notice_id: Id,
    pub number: String,
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct SyncReport {
    pub records_sent: u64,
    pub records_already_there: u64,
    pub photos_sent: u64,
    pub photo_bytes_sent: u64,
    pub notices_received: u64,
    /// Fault notices (the person's own, and those they issued) new or changed.
    pub faults_received: u64,
    pub reference_updated: bool,
    pub numbers: Vec<NumberAssigned>,
    pub rejections: Vec<RejectionLine>,
    /// Server clock minus device clock, estimated over the push round trip.
    pub clock_offset_ms: Option<i64>,
    pub cancelled: bool,
    /// Why photos stayed queued when the server could not take them (its photo store
    /// down, the connection lost mid-photo); records and the pull went ahead anyway,
    /// and the next sync sends the photos.
    pub photos_deferred: Option<String>,
    /// The same in Chinese.
    pub photos_deferred_zh: Option<String>,
}

/// What the sync screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncState {
    pub signed_in_to: Option<String>,
    pub last_success_ms: Option<i64>,
    /// Why the last sync failed (or what it left for later), in English…
    pub last_error: Option<String>,
    /// …and in Chinese.
    pub last_error_zh: Option<String>,
    pub queued_records: u64,
    pub queued_photos: u64,
    pub queued_photo_bytes: u64,
    pub clock_offset_ms: Option<i64>,
}

fn network(e: HttpError) -> Error {
    match e {
        HttpError::Network(m) => Error::Network(m),
        HttpError::Status { status: 401, body } => {
            Error::Unauthorized { en: body.text_en().to_string(), zh: body.text_zh().to_string() }
        }
        HttpError::Status { status: 426, body } => {
            Error::Outdated { en: body.text_en().to_string(), zh: body.text_zh().to_string() }
        }
        HttpError::Status { status, body } => Error::Server {
            status,
            en: body.text_en().to_string(),
            zh: body.text_zh().to_string(),
            code: body.error,
            reason: body.reason,
        },
    }
}

fn session(conn: &Connection) -> Result<Option<Session>> {
    Ok(meta_get(conn, "session")?.map(|j| serde_json::from_str(&j)).transpose()?)
}

fn save_session(tx: &Transaction<'_>, s: &Session) -> Result<()> {
    meta_set(tx, "session", &serde_json::to_string(s)?)
}

fn acked_seq(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT acked_seq FROM sync_state WHERE id = 1", [], |r| r.get::<_, i64>(0))? as u64)
}

impl Core {
    /// Signs in against the server; the device id binds the tokens to this phone.
    pub fn login(&self, server_url: &str, login: &str, password: &str) -> Result<SignedInPerson> {
        let url = server_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 {
            return Err(Error::invalid("server_url", Reason::ServerUrl));
        }
        let http = Http::new(url);
        let req = LoginRequest {
            login: login.trim().to_string(),
            password: password.to_string(),
            device_id: self.device_id(),
        };
        let t: TokenResponse = http.post_json("/api/v1/auth/login", None, &req).map_err(|e| match e.status() {
            Some(401) => Error::Unauthorized { en: Reason::WrongCredentials.en(), zh: Reason::WrongCredentials.zh() },
            Some(429) => Error::conflict(Reason::TooManyWrongPasswords),
            _ => network(e),
        })?;
        let person = SignedInPerson {
            person_id: t.person_id,
            display_name: t.display_name.clone(),
            roles: t.roles.clone(),
            must_change_password: t.must_change_password,
        };
        let s = Session {
            server_url: url.trim_end_matches('/').to_string(),
            access_token: t.access_token,
            access_expires_ms: self.now_ms() + t.expires_in * 1000,
            refresh_token: t.refresh_token,
        };
        self.store.write(|tx| {
            save_session(tx, &s)?;
            meta_set(tx, "person", &serde_json::to_string(&person)?)
        })?;
        Ok(person)
    }

    /// Changes the signed-in person's password (a one-time password after an
    /// administrator's reset must be changed before anything else). The server checks
    /// the current password and the policy; its refusal comes back as `InvalidInput`.
    pub fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let s = self.store.read(session)?.ok_or(Error::NotSignedIn)?;
        let http = Http::new(&s.server_url);
        let body = serde_json::json!({ "current_password": current, "new_password": new });
        self.call(&http, |t| http.post_json::<_, serde_json::Value>("/api/v1/me/password", Some(t), &body)).map_err(
            |e| match e {
                // The server's refusal in its two languages, without the field it names
                // (older servers sent one text, "field: 中文 / English").
                Error::Server { status: 422, code, en, zh, .. } if code == "invalid_input" => {
                    let cut =
                        |t: &str| t.split_once(": ").or_else(|| t.split_once('：')).map_or(t, |(_, r)| r).to_string();
                    let (en, zh) = if en == zh {
                        let whole = cut(&en);
                        match whole.split_once(" / ") {
                            Some((zh, en)) => (en.to_string(), zh.to_string()),
                            None => (whole.clone(), whole),
                        }
                    } else {
                        (cut(&en), cut(&zh))
                    };
                    Error::Invalid { field: "password".into(), en, zh }
                }
                other => other,
            },
        )?;
        self.store.write(|tx| {
            if let Some(v) = meta_get(tx, "person")? {
                let mut p: SignedInPerson = serde_json::from_str(&v)?;
                p.must_change_password = false;
                meta_set(tx, "person", &serde_json::to_string(&p)?)?;
            }
            Ok(())
        })
    }

    /// Forgets the server session (the records stay and sync after the next sign-in).
    pub fn logout(&self) -> Result<()> {
        if let Some(s) = self.store.read(session)? {
            let http = Http::new(&s.server_url);
            let body = serde_json::json!({ "refresh_token": s.refresh_token });
            let _ = http.post_json::<_, serde_json::Value>("/api/v1/auth/logout", None, &body);
        }
        self.store.write(|tx| {
            tx.execute("DELETE FROM meta WHERE key IN ('session', 'person')", [])?;
            Ok(())
        })
    }

    /// A valid access token, refreshed if it is about to expire.
    fn access(&self, http: &Http, force_refresh: bool) -> Result<String> {
        let s = self.store.read(session)?.ok_or(Error::NotSignedIn)?;
        if !force_refresh && s.access_expires_ms - REFRESH_MARGIN_MS > self.now_ms() {
            return Ok(s.access_token);
        }
        let req = RefreshRequest { refresh_token: s.refresh_token.clone(), device_id: self.device_id() };
        match http.post_json::<_, TokenResponse>("/api/v1/auth/refresh", None, &req) {
            Ok(t) => {
                let fresh = Session {
                    access_token: t.access_token.clone(),
                    access_expires_ms: self.now_ms() + t.expires_in * 1000,
                    refresh_token: t.refresh_token,
                    ..s
                };
                self.store.write(|tx| save_session(tx, &fresh))?;
                Ok(t.access_token)
            }
            Err(e) if e.status() == Some(401) => {
                // The login is over (revoked, reused, expired): the person signs in again.
                self.store.write(|tx| {
                    tx.execute("DELETE FROM meta WHERE key = 'session'", [])?;
                    Ok(())
                })?;
                let (en, zh) = match &e {
                    HttpError::Status { body, .. } => (body.text_en().to_string(), body.text_zh().to_string()),
                    HttpError::Network(m) => (m.clone(), String::new()),
                };
                let again = Reason::SignInAgain;
                Err(Error::Unauthorized {
                    en: format!("{} ({en})", again.en()), zh: format!("{}（{zh}）", again.zh())
                })
            }
            Err(e) => Err(network(e)),
        }
    }

    /// Calls the server with a token, refreshing once if it says the token expired.
    fn call<R>(&self, http: &Http, f: impl Fn(&str) -> std::result::Result<R, HttpError>) -> Result<R> {
        let token = self.access(http, false)?;
        match f(&token) {
            Err(e) if e.status() == Some(401) => {
                let token = self.access(http, true)?;
                f(&token).map_err(network)
            }
            other => other.map_err(network),
        }
    }

    /// Push, photo uploads and pull. Returns what went up and came down; an error
    /// leaves everything as it was (the next sync continues where this one stopped).
    pub fn sync(&self, listener: Option<&dyn SyncListener>, cancel: Option<&SyncCancel>) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().map_err(|_| Error::Poisoned)?;
        let mut report = SyncReport::default();
        let result = self.sync_inner(listener, cancel, &mut report).map(|()| report.clone());
        let now = self.now_ms();
        // The clock offset is kept from whatever exchange measured it, even when a
        // later step of the sync failed.
        let measured = report.clock_offset_ms;
        self.store.write(|tx| match &result {
            Ok(r) => {
                meta_set(tx, "last_success_ms", &now.to_string())?;
                match (&r.photos_deferred, &r.photos_deferred_zh) {
                    (Some(en), zh) => {
                        meta_set(tx, "last_error", &format!("photos wait: {en}"))?;
                        meta_set(tx, "last_error_zh", &format!("照片稍后上传：{}", zh.as_deref().unwrap_or(en)))?;
                    }
                    (None, _) => {
                        tx.execute("DELETE FROM meta WHERE key IN ('last_error', 'last_error_zh')", [])?;
                    }
                }
                if let Some(o) = r.clock_offset_ms {
                    meta_set(tx, "clock_offset_ms", &o.to_string())?;
                }
                Ok(())
            }
            Err(e) => {
                if let Some(o) = measured {
                    meta_set(tx, "clock_offset_ms", &o.to_string())?;
                }
                let Texts { en, zh } = e.texts();
                meta_set(tx, "last_error", &en)?;
                meta_set(tx, "last_error_zh", &zh)
            }
        })?;
        result
    }

    fn sync_inner(
        &self,
        listener: Option<&dyn SyncListener>,
        cancel: Option<&SyncCancel>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let s = self.store.read(session)?.ok_or(Error::NotSignedIn)?;
        let http = Http::new(&s.server_url);
        let cancelled = || cancel.is_some_and(|c| c.is_cancelled());
        let (last, acked, _, photo_bytes) = self.store.read(store::queue)?;
        let mut progress = SyncProgress {
            phase: SyncPhase::Push,
            records_sent: 0,
            records_to_send: last.saturating_sub(acked),
            photo_bytes_sent: 0,
            photo_bytes_to_send: photo_bytes,
            records_received: 0,
        };
        let tell = |p: &SyncProgress| {
            if let Some(l) = listener {
                l.on_progress(p.clone());
            }
        };
        tell(&progress);
        self.push_all(&http, report, &mut progress, &tell, &cancelled)?;
        if cancelled() {
            report.cancelled = true;
            return Ok(());
        }
        progress.phase = SyncPhase::Photos;
        tell(&progress);
        match self.upload_photos(&http, report, &mut progress, &tell, &cancelled) {
            Ok(()) => {}
            // A photo the server cannot take now must not keep the phone from learning
            // its numbers, decisions and rejections: pull anyway, photos stay queued.
            Err(e @ (Error::Network(_) | Error::Server { status: 500.., .. })) => {
                let Texts { en, zh } = e.texts();
                report.photos_deferred = Some(en);
                report.photos_deferred_zh = Some(zh);
            }
            Err(e) => return Err(e),
        }
        if cancelled() {
            report.cancelled = true;
            return Ok(());
        }
        progress.phase = SyncPhase::Pull;
        tell(&progress);
        self.pull_all(&http, report, &mut progress, &tell, &cancelled)?;
        report.cancelled = cancelled();
        Ok(())
    }

    fn push_all(
        &self,
        http: &Http,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        tell: &dyn Fn(&SyncProgress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<()> {
        let mut batch = PUSH_BATCH;
        let mut gap_retries = 0;
        // The server's signed time and when (by this process's monotonic clock) it
        // arrived: sent with each push so the server can anchor this phone's clock
        // with evidence of its own (docs/audit.md, "Device clocks").
        let mut evidence: Option<(String, std::time::Instant)> = None;
        while !cancelled() {
            let acked = self.store.read(acked_seq)?;
            let records = self.store.read(|c| store::records_after(c, acked, batch))?;
            if records.is_empty() {
                return Ok(());
            }
            if evidence.is_none() {
                let asked = self.now_ms();
                let st: SyncStatus = self
                    .call(http, |t| http.get_json(&format!("/api/v1/sync/status?device_id={}", self.device_id()), t))?;
                let answered = self.now_ms();
                report.clock_offset_ms = Some(st.server_time_ms - (asked + answered) / 2);
                if !st.time_token.is_empty() {
                    evidence = Some((st.time_token, std::time::Instant::now()));
                }
            }
            let clock = evidence.as_ref().map(|(token, at)| ClockEvidence {
                time_token: token.clone(),
                elapsed_ms: i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX),
            });
            let sent_at = self.now_ms();
            let req = PushRequest { device_id: self.device_id(), sent_at_ms: sent_at, records, clock };
            let result = self.call(http, |t| http.post_json::<_, PushResponse>("/api/v1/sync/push", Some(t), &req));
            let resp = match result {
                Ok(r) => r,
                Err(e) if e.is_server_reason("sync_gap") && gap_retries < 3 => {
                    // The server has less (or more) than we think: ask and continue from there.
                    gap_retries += 1;
                    let st: SyncStatus = self.call(http, |t| {
                        http.get_json(&format!("/api/v1/sync/status?device_id={}", self.device_id()), t)
                    })?;
                    self.store.write(|tx| {
                        tx.execute("UPDATE sync_state SET acked_seq = ?1 WHERE id = 1", [st.acked_seq as i64])?;
                        Ok(())
                    })?;
                    continue;
                }
                Err(e) if e.is_server_reason("sync_fork") => {
                    let detail = match e {
                        Error::Server { en, .. } => en,
                        other => other.to_string(),
                    };
                    return Err(Error::conflict(Reason::ServerHoldsOtherRecord { detail }));
                }
                Err(Error::Server { status: 413, .. }) if batch > 1 => {
                    batch = (batch / 2).max(1);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let received = self.now_ms();
            report.clock_offset_ms = Some(resp.server_time_ms - (sent_at + received) / 2);
            if !resp.time_token.is_empty() {
                evidence = Some((resp.time_token.clone(), std::time::Instant::now()));
            }
            let sent = req.records;
            self.store.write(|tx| {
                tx.execute(
                    "UPDATE sync_state SET acked_seq = max(acked_seq, ?1) WHERE id = 1",
                    [resp.acked_seq as i64],
                )?;
                for outcome in &resp.results {
                    let Some(rec) = sent.iter().find(|r| r.id == outcome.record_id) else { continue };
                    match outcome.status {
                        RecordStatus::Duplicate => report.records_already_there += 1,
                        RecordStatus::Applied => report.records_sent += 1,
                        RecordStatus::Rejected => {
                            report.records_sent += 1;
                            let notice_id = match &rec.payload {
                                RecordPayload::NoticeActed { notice_id, .. }
                                | RecordPayload::NoticeRaised { notice_id, .. } => Some(*notice_id),
                                _ => None,
                            };
                            let line = RejectionLine {
                                record_id: rec.id,
                                seq: rec.seq,
                                kind: rec.payload.kind_str().into(),
                                reason: outcome.reason.clone().unwrap_or_default(),
                                reason_zh: outcome.reason_zh.clone().unwrap_or_default(),
                                notice_id,
                            };
                            store_rejection(tx, &line, received)?;
                            report.rejections.push(line);
                        }
                    }
                    if let (Some(number), RecordPayload::NoticeRaised { notice_id, .. }) =
                        (&outcome.notice_number, &rec.payload)
                    {
                        tx.execute(
                            "UPDATE notices SET number = ?2 WHERE notice_id = ?1",
                            params![notice_id.to_string(), number],
                        )?;
                        report.numbers.push(NumberAssigned { notice_id: *notice_id, number: number.clone() });
                    }
                }
                Ok(())
            })?;
            progress.records_sent += sent.len() as u64;
            tell(progress);
        }
        Ok(())
    }

    fn upload_photos(
        &self,
        http: &Http,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        tell: &dyn Fn(&SyncProgress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<()> {
        // Only photos whose records the server has: it refuses uploads it cannot place.
        let pending: Vec<(String, i64)> = self.store.read(|c| {
            let acked = acked_seq(c)? as i64;
            let mut stmt = c.prepare(
                "SELECT sha256, bytes FROM photos WHERE seq <= ?1 AND sha256 NOT IN (SELECT sha256 FROM photo_uploads)
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map([acked], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        let mut chunk = self
            .store
            .read(|c| meta_get(c, "upload_chunk_bytes"))?
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(CHUNK_START)
            .clamp(CHUNK_MIN, PHOTO_CHUNK_MAX);
        let mut cuts = 0;
        let result = self.upload_pending(http, pending, &mut chunk, &mut cuts, report, progress, tell, cancelled);
        self.store.write(|tx| meta_set(tx, "upload_chunk_bytes", &chunk.to_string()))?;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn upload_pending(
        &self,
        http: &Http,
        pending: Vec<(String, i64)>,
        chunk: &mut usize,
        cuts: &mut u32,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        tell: &dyn Fn(&SyncProgress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<()> {
        for (sha, _) in pending {
            if cancelled() {
                return Ok(());
            }
            let path = crate::photos::photo_path(self.data_dir(), &sha);
            let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
            let status_path = format!("/api/v1/photos/{sha}/upload");
            let mut status: PhotoStatus = self.call(http, |t| http.get_json(&status_path, t))?;
            let mut restarts = 0;
            while !status.complete {
                if cancelled() {
                    return Ok(());
                }
                let start = status.received as usize;
                if start > bytes.len() {
                    return Err(Error::conflict(Reason::PhotoUploadState));
                }
                let end = (start + *chunk).min(bytes.len());
                let put_path = format!("/api/v1/photos/{sha}/upload?offset={start}");
                match self.call(http, |t| http.put_bytes::<PhotoStatus>(&put_path, t, &bytes[start..end])) {
                    Ok(s) => {
                        report.photo_bytes_sent += (end - start) as u64;
                        progress.photo_bytes_sent += (end - start) as u64;
                        tell(progress);
                        status = s;
                        // Double while the link holds; after a cut, creep up (a link that
                        // drops every N bytes is best used just under N).
                        if end - start == *chunk {
                            let grown = if *cuts == 0 { *chunk * 2 } else { *chunk + CHUNK_MIN };
                            *chunk = grown.min(PHOTO_CHUNK_MAX);
                        }
                    }
                    // The link dropped mid-chunk: smaller chunks, ask where the server
                    // stands (the cut chunk may or may not have landed), go on.
                    Err(Error::Network(detail)) => {
                        *chunk = (*chunk / 2).max(CHUNK_MIN);
                        *cuts += 1;
                        if *cuts > CUTS_PER_SYNC {
                            return Err(Error::Network(detail));
                        }
                        status = self.call(http, |t| http.get_json(&status_path, t))?;
                    }
                    // Someone (a cut retry) moved the offset, or the bytes went bad on
                    // the way: ask where the server stands and go on from there.
                    Err(Error::Server { status: 409 | 422, .. }) if restarts < 5 => {
                        restarts += 1;
                        status = self.call(http, |t| http.get_json(&status_path, t))?;
                    }
                    Err(e) => return Err(e),
                }
            }
            let now = self.now_ms();
            self.store.write(|tx| {
                tx.execute(
                    "INSERT OR IGNORE INTO photo_uploads (sha256, uploaded_ms) VALUES (?1, ?2)",
                    params![sha, now],
                )?;
                Ok(())
            })?;
            report.photos_sent += 1;
        }
        Ok(())
    }

    fn pull_all(
        &self,
        http: &Http,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        tell: &dyn Fn(&SyncProgress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<()> {
        for _ in 0..10_000 {
            if cancelled() {
                return Ok(());
            }
            let cursor = self.store.read(|c| meta_get(c, "pull_cursor"))?.unwrap_or_default();
            let path = format!("/api/v1/sync/pull?cursor={cursor}&limit=200");
            let asked = self.now_ms();
            let page: PullResponse = self.call(http, |t| http.get_json(&path, t))?;
            let now = self.now_ms();
            // Any exchange measures the offset; a sync with nothing to push still has one.
            if report.clock_offset_ms.is_none() {
                report.clock_offset_ms = Some(page.server_time_ms - (asked + now) / 2);
            }
            self.apply_pull_page(&page, report, now)?;
            progress.records_received += (page.notices.len() + page.rejections.len() + page.faults.len()) as u64;
            tell(progress);
            if !page.more {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Stores one pull page in one transaction: the reference data, the notices, the
    /// refusals, the fault notices, and the cursor after it. The sync calls it for each
    /// page; tests and tools feed it a page of their own (no server needed).
    #[doc(hidden)]
    pub fn apply_pull_page(&self, page: &PullResponse, report: &mut SyncReport, now: i64) -> Result<()> {
        self.store.write(|tx| {
            if let Some(bundle) = &page.reference {
                let org = bundle.sites.first().map(|s| s.org_id).unwrap_or_default();
                let b = crate::reference::Bundle {
                    sites: bundle.sites.clone(),
                    departments: bundle.departments.clone(),
                    checkpoints: bundle.checkpoints.clone(),
                    routes: bundle.routes.clone(),
                    schedules: bundle.schedules.clone(),
                    people: bundle
                        .people
                        .iter()
                        .map(|p| Person {
                            id: p.id,
                            org_id: org,
                            login: String::new(),
                            display_name: p.display_name.clone(),
                            active: true,
                        })
                        .collect(),
                    fault_rules: bundle.fault_rules.clone(),
                };
                crate::reference::store_bundle(tx, &b)?;
                report.reference_updated = true;
            }
            let acked = acked_seq(tx)?;
            for n in &page.notices {
                apply_server_notice(tx, n, acked)?;
            }
            for r in &page.rejections {
                let line = RejectionLine {
                    record_id: r.record_id,
                    seq: r.seq,
                    kind: r.kind.clone(),
                    reason: r.reason.clone(),
                    reason_zh: r.reason_zh.clone(),
                    notice_id: r.notice_id,
                };
                if store_rejection(tx, &line, now)? && !report.rejections.iter().any(|x| x.record_id == line.record_id)
                {
                    report.rejections.push(line);
                }
            }
            crate::faults::store_views(tx, &page.faults, now)?;
            meta_set(tx, "pull_cursor", &page.cursor)
        })?;
        report.notices_received += page.notices.len() as u64;
        report.faults_received += page.faults.len() as u64;
        Ok(())
    }

    /// What the sync screen shows.
    pub fn sync_state(&self) -> Result<SyncState> {
        self.store.read(|c| {
            let (last, acked, photos, bytes) = store::queue(c)?;
            let parse = |k: &str| -> Result<Option<i64>> { Ok(meta_get(c, k)?.and_then(|v| v.parse().ok())) };
            Ok(SyncState {
                signed_in_to: session(c)?.map(|s| s.server_url),
                last_success_ms: parse("last_success_ms")?,
                last_error: meta_get(c, "last_error")?,
                last_error_zh: meta_get(c, "last_error_zh")?,
                queued_records: last.saturating_sub(acked),
                queued_photos: photos,
                queued_photo_bytes: bytes,
                clock_offset_ms: parse("clock_offset_ms")?,
            })
        })
    }

    /// The server's refusals of this device's records, newest first.
    pub fn rejections(&self, limit: u32) -> Result<Vec<RejectionLine>> {
        self.store.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT record_id, seq, kind, reason, reason_zh, notice_id FROM rejections ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit.clamp(1, 1000)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, seq, kind, reason, reason_zh, notice)| {
                    Ok(RejectionLine {
                        record_id: store::parse_id(&id)?,
                        seq: seq as u64,
                        kind,
                        reason,
                        reason_zh,
                        notice_id: notice.as_deref().map(store::parse_id).transpose()?,
                    })
                })
                .collect()
        })
    }
}

/// Keeps a refusal; true if it was new.
fn store_rejection(tx: &Transaction<'_>, r: &RejectionLine, now: i64) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO rejections (record_id, seq, kind, reason, reason_zh, notice_id, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            r.record_id.to_string(),
            r.seq as i64,
            r.kind,
            r.reason,
            r.reason_zh,
            r.notice_id.map(|i| i.to_string()),
            now
        ],
    )?;
    Ok(n == 1)
}

/// Takes the server's view of a notice as the base of the local projection, then
/// replays this device's actions the server has not seen yet on top.
fn apply_server_notice(tx: &Transaction<'_>, v: &patrol_protocol::sync::NoticeView, acked: u64) -> Result<()> {
    let severity = if v.severity == patrol_protocol::Severity::Serious { "serious" } else { "general" };
    tx.execute(
        "INSERT INTO notices (notice_id, site_id, department_id, checkpoint_id, run_id, location, description, severity,
             due_ms, state, issuer_id, raised_ms, has_corrective_report, photos, seq, number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15)
         ON CONFLICT (notice_id) DO UPDATE SET department_id = excluded.department_id, state = excluded.state,
             due_ms = excluded.due_ms, has_corrective_report = excluded.has_corrective_report, number = excluded.number",
        params![
            v.id.to_string(),
            v.site_id.to_string(),
            v.department_id.to_string(),
            v.checkpoint_id.map(|i| i.to_string()),
            v.run_id.map(|i| i.to_string()),
            v.location,
            v.description,
            severity,
            v.due_ms,
            v.state.as_str(),
            v.issuer_id.to_string(),
            v.raised_device_ms,
            v.has_corrective_action,
            serde_json::to_string(&v.photos)?,
            v.number
        ],
    )?;
    tx.execute("DELETE FROM remote_events WHERE notice_id = ?1", [v.id.to_string()])?;
    for (i, e) in v.events.iter().enumerate() {
        tx.execute(
            "INSERT INTO remote_events (record_id, notice_id, position, actor_id, actor_name, action, reason, photos,
                 reassign_to, from_state, to_state, applied, refusal, device_time_ms, server_time_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                e.record_id.to_string(),
                v.id.to_string(),
                i as i64,
                e.actor_id.to_string(),
                e.actor_name,
                e.action,
                e.reason,
                serde_json::to_string(&e.photos)?,
                e.reassign_to.map(|i| i.to_string()),
                e.from_state.map(|s| s.as_str()),
                e.to_state.map(|s| s.as_str()),
                e.applied,
                e.refusal,
                e.device_time_ms,
                e.server_time_ms
            ],
        )?;
    }
    // Local actions still on their way: show them applied, as the phone did before.
    let pending: Vec<(String, Option<String>)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT action, reassign_to FROM notice_actions WHERE notice_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        stmt.query_map(params![v.id.to_string(), acked as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let (mut state, mut car) = (v.state, v.has_corrective_action);
    let mut department = v.department_id.to_string();
    for (action, reassign) in pending {
        let Some(action) = notice::NoticeAction::parse(&action) else { continue };
        if let Ok(next) = notice::decide(state, action, &NoticeRole::ALL, v.severity, car) {
            state = next;
            car |= action == notice::NoticeAction::CorrectiveAction;
            if let Some(d) = reassign {
                department = d;
            }
        }
    }
    tx.execute(
        "UPDATE notices SET state = ?2, has_corrective_report = ?3, department_id = ?4 WHERE notice_id = ?1",
        params![v.id.to_string(), state.as_str(), car, department],
    )?;
    Ok(())
}
