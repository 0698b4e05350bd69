//! Photos over HTTP: resumable uploads in chunks, serving photos and thumbnails to
//! whoever may see them, and the object store the settings name. What a photo record
//! does to the projections is the use case `patrol_cases::photos`, re-exported here.

pub use patrol_cases::photos::*;

use std::sync::Arc;

use crate::api::extract::Json;
use crate::api::extract::{Path, Query};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use patrol_protocol::reason::Reason;
use patrol_protocol::sync::{PHOTO_CHUNK_MAX, PhotoStatus};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::params;
use crate::policy::Actor;
use crate::state::AppState;
use crate::store::DbError;

/// The photo store the settings name: S3-compatible for `s3://…`, else the local
/// directory `<data_dir>/objects`.
pub fn open_store(settings: &crate::settings::Settings) -> Result<Photos, String> {
    let url = settings.object_store_url.trim();
    if url.is_empty() {
        return local_store(&settings.data_dir.join("objects"));
    }
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(format!("PATROL_OBJECT_STORE_URL must be empty or s3://bucket[/prefix], not {url:?}"));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    // Bounded retries: while the store is down an upload fails within seconds (the
    // phone keeps the photo and retries) instead of holding the request for minutes.
    let retry = object_store::RetryConfig {
        backoff: object_store::BackoffConfig::default(),
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(10),
    };
    // Timeouts through `with_config`, so the client options read from the environment
    // (AWS_ALLOW_HTTP, proxies) are kept rather than replaced.
    use object_store::ClientConfigKey as Key;
    use object_store::aws::AmazonS3ConfigKey::Client;
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_retry(retry)
        .with_config(Client(Key::ConnectTimeout), "5s")
        .with_config(Client(Key::Timeout), "60s")
        .with_bucket_name(bucket)
        .build()
        .map_err(|e| format!("object store {url}: {e}"))?;
    let store: Photos = if prefix.trim_matches('/').is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.trim_matches('/')))
    };
    Ok(store)
}

/// `GET /api/v1/photos/{sha256}/upload`
pub async fn upload_status(
    State(state): State<AppState>,
    actor: Actor,
    Path(sha): Path<String>,
) -> ApiResult<Json<PhotoStatus>> {
    check_sha(&sha)?;
    let (sha_owned, me) = (sha.clone(), actor.person.id);
    let status = state
        .store
        .read_each(move |c| cited_status(c, &sha_owned, me))
        .await?
        .ok_or(ApiError::NotFound(Reason::PhotoNotCited))?;
    if !status.complete && status.received == status.size {
        // Every byte kept but never finished (the store was away at the last chunk,
        // or a crash): finish now.
        return match kept_bytes(&state, &sha, status.size).await? {
            Some(whole) => Ok(Json(complete(&state, &sha, Bytes::from(whole), status.size).await?)),
            None => {
                start_over(&state, &sha).await?;
                Ok(Json(PhotoStatus { received: 0, ..status }))
            }
        };
    }
    Ok(Json(status))
}

/// Where a chunk of an unfinished upload waits: an object of its own in the photo
/// store, named by its offset, so the bytes never pass through the database and any
/// instance sharing the store can go on with the upload.
fn staged_key(sha: &str, offset: u64) -> ObjectPath {
    ObjectPath::from(format!("staging/{}/{sha}/{offset:015}", &sha[..2]))
}

fn staging_prefix(sha: &str) -> ObjectPath {
    ObjectPath::from(format!("staging/{}/{sha}", &sha[..2]))
}

fn store_down(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(Reason::PhotoStoreDown, format!("{what}: {e}"))
}

/// The chunks staged for a photo, by offset.
async fn staged_chunks(state: &AppState, sha: &str) -> ApiResult<Vec<(u64, ObjectPath)>> {
    use futures_util::StreamExt;
    let prefix = staging_prefix(sha);
    let mut listed = state.photos.list(Some(&prefix));
    let mut found = Vec::new();
    while let Some(meta) = listed.next().await {
        let meta = meta.map_err(|e| store_down("staged chunks", e))?;
        if let Some(offset) = meta.location.filename().and_then(|f| f.parse::<u64>().ok()) {
            found.push((offset, meta.location));
        }
    }
    Ok(found)
}

/// The bytes kept of an upload, from 0 up to `upto`: chunks staged in the photo store,
/// and chunk rows in the database (an upload begun by an older release, or a last chunk
/// kept while the store was away). `None` when a piece is missing or does not end where
/// the next begins: the upload must start over.
async fn kept_bytes(state: &AppState, sha: &str, upto: u64) -> ApiResult<Option<Vec<u8>>> {
    if upto == 0 {
        return Ok(Some(Vec::new()));
    }
    let sha_owned = sha.to_string();
    let rows: Vec<(u64, Vec<u8>)> = state
        .store
        .read(move |c| {
            c.query("SELECT start_offset, data FROM photo_chunks WHERE sha256 = $1", &params![sha_owned])?
                .into_iter()
                .map(|r| {
                    let at = r.int(0)? as u64;
                    match r.0.into_iter().nth(1) {
                        Some(crate::store::Value::Blob(b)) => Ok((at, b)),
                        other => Err(DbError::Data(format!("photo chunk is not bytes: {other:?}"))),
                    }
                })
                .collect()
        })
        .await?;
    let mut rows: std::collections::HashMap<u64, Vec<u8>> = rows.into_iter().collect();
    let staged: std::collections::HashMap<u64, ObjectPath> = staged_chunks(state, sha).await?.into_iter().collect();
    let mut whole = Vec::with_capacity(upto as usize);
    while (whole.len() as u64) < upto {
        let at = whole.len() as u64;
        if let Some(piece) = rows.remove(&at) {
            whole.extend_from_slice(&piece);
        } else if let Some(key) = staged.get(&at) {
            match fetch(state, key).await? {
                Some(piece) if !piece.is_empty() => whole.extend_from_slice(&piece),
                _ => return Ok(None),
            }
        } else {
            return Ok(None);
        }
    }
    Ok((whole.len() as u64 == upto).then_some(whole))
}

/// Forgets what was kept of an upload (its staged chunks, its chunk rows) and starts
/// it again from byte 0.
async fn start_over(state: &AppState, sha: &str) -> ApiResult<()> {
    let sha_owned = sha.to_string();
    state
        .store
        .write(move |c| {
            c.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &params![sha_owned.clone()])?;
            c.execute("UPDATE photos SET received = 0 WHERE sha256 = $1 AND complete = 0", &params![sha_owned])?;
            Ok(())
        })
        .await?;
    forget_staged(state, sha).await;
    Ok(())
}

/// Deletes a photo's staged chunks. A failure only leaves bytes behind that the next
/// upload of the photo overwrites, so it is logged, not answered.
async fn forget_staged(state: &AppState, sha: &str) {
    match staged_chunks(state, sha).await {
        Ok(staged) => {
            for (_, key) in staged {
                if let Err(e) = state.photos.delete(&key).await {
                    tracing::warn!(%sha, error = %e, "a staged chunk could not be deleted");
                }
            }
        }
        Err(e) => tracing::warn!(%sha, error = %e, "staged chunks could not be listed"),
    }
}

/// How long a staged chunk may wait for the rest of its upload before the sweep
/// deletes it (a phone lost before it synced). A phone that comes back later is told
/// to start that photo over; it still holds it.
pub const STAGED_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// Deletes staged chunks older than `max_age` by the store's own clock (the time each
/// was written), whichever upload they belong to. Returns how many went.
pub async fn sweep_staged(state: &AppState, max_age: std::time::Duration) -> ApiResult<u32> {
    use futures_util::StreamExt;
    let cutoff = chrono::Utc::now() - max_age;
    let mut listed = state.photos.list(Some(&ObjectPath::from("staging")));
    let mut old = Vec::new();
    while let Some(meta) = listed.next().await {
        let meta = meta.map_err(|e| store_down("staged chunks", e))?;
        if meta.last_modified < cutoff {
            old.push(meta.location);
        }
    }
    for key in &old {
        state.photos.delete(key).await.map_err(|e| store_down("sweeping a staged chunk", e))?;
    }
    if !old.is_empty() {
        tracing::info!(deleted = old.len(), "staged chunks of abandoned uploads swept");
    }
    Ok(old.len() as u32)
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct Offset {
    offset: u64,
}

/// `PUT /api/v1/photos/{sha256}/upload?offset=N`: appends a chunk at `received`. A
/// chunk before the last is staged in the photo store, then `received` advances; the
/// last finishes the photo (`complete`) from the staged chunks and itself. No photo
/// byte is written to the database (unless the store is away at the last chunk).
pub async fn upload_chunk(
    State(state): State<AppState>,
    actor: Actor,
    Path(sha): Path<String>,
    Query(Offset { offset }): Query<Offset>,
    body: Bytes,
) -> ApiResult<Json<PhotoStatus>> {
    check_sha(&sha)?;
    if body.len() > PHOTO_CHUNK_MAX {
        return Err(ApiError::TooLarge(Reason::ChunkTooLarge { max: PHOTO_CHUNK_MAX }));
    }
    crate::metrics::photo_bytes(body.len());
    let (sha_owned, me, len) = (sha.clone(), actor.person.id, body.len() as u64);
    let status = state
        .store
        .read_each(move |c| cited_status(c, &sha_owned, me))
        .await?
        .ok_or(ApiError::NotFound(Reason::PhotoNotCited))?;
    if status.complete {
        return Ok(Json(status));
    }
    if offset != status.received {
        let (received, size) = (status.received, status.size);
        return Err(ApiError::Conflict(Reason::OffsetMismatch { received, size }));
    }
    if offset + len > status.size {
        return Err(ApiError::invalid("body", Reason::ChunkPastEnd { size: status.size }));
    }
    if offset + len == status.size {
        let kept = match kept_bytes(&state, &sha, offset).await {
            Err(down @ ApiError::Unavailable(..)) => {
                keep_last_chunk(&state, &sha, offset, body).await?;
                return Err(down);
            }
            other => other?,
        };
        let Some(mut whole) = kept else {
            tracing::warn!(%sha, offset, "a kept piece of an upload is missing; it starts over");
            start_over(&state, &sha).await?;
            return Err(ApiError::Conflict(Reason::OffsetMismatch { received: 0, size: status.size }));
        };
        // A photo sent whole (the common case) is the request's body as received: no copy.
        let whole = if whole.is_empty() {
            body
        } else {
            whole.extend_from_slice(&body);
            Bytes::from(whole)
        };
        return Ok(Json(complete(&state, &sha, whole, offset).await?));
    }
    if len == 0 {
        return Ok(Json(status));
    }
    // Staged first, then counted: `received` never names bytes that are not kept.
    state.photos.put(&staged_key(&sha, offset), body.into()).await.map_err(|e| store_down("staged chunk", e))?;
    let sha_owned = sha.clone();
    let advanced = state
        .store
        .write(move |c| {
            // Only the first of two racing uploads of the same chunk advances.
            c.execute(
                "UPDATE photos SET received = received + $3 WHERE sha256 = $1 AND received = $2 AND complete = 0",
                &params![sha_owned, offset as i64, len as i64],
            )
        })
        .await?;
    if advanced != 1 {
        return Err(ApiError::Conflict(Reason::UploadMovedOn));
    }
    Ok(Json(PhotoStatus { received: offset + len, ..status }))
}

/// The photo store is away at the last chunk: the chunk is kept in the database with
/// `received` at the size, so once the store is back the phone's next status question
/// finishes the photo (`upload_status`) and nothing is sent again. The one case where
/// photo bytes are written to the database.
async fn keep_last_chunk(state: &AppState, sha: &str, offset: u64, last: Bytes) -> ApiResult<()> {
    if last.is_empty() {
        return Ok(());
    }
    let sha_owned = sha.to_string();
    state
        .store
        .write(move |c| {
            let n = c.execute(
                "UPDATE photos SET received = size WHERE sha256 = $1 AND received = $2 AND complete = 0",
                &params![sha_owned.clone(), offset as i64],
            )?;
            if n == 1 {
                c.execute(
                    "INSERT INTO photo_chunks (sha256, start_offset, data) VALUES ($1, $2, $3)",
                    &params![sha_owned, offset as i64, last.to_vec()],
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Checks the whole photo's hash and type, stores it, and marks it complete, provided
/// the upload still stands where it did (`received` is `received_before`). A photo
/// that fails the checks starts over from nothing.
async fn complete(state: &AppState, sha: &str, data: Bytes, received_before: u64) -> ApiResult<PhotoStatus> {
    let actual = hex::encode(Sha256::digest(&data));
    let problem = if actual != sha {
        // The field names what went wrong, as the phones have read it from the start.
        Some(("hash_mismatch", Reason::HashMismatch))
    } else if let Some(why) = not_a_stored_jpeg(&data) {
        Some(("not_an_image", why))
    } else {
        None
    };
    if let Some((code, why)) = problem {
        start_over(state, sha).await?;
        return Err(ApiError::invalid(code, why));
    }
    let size = data.len() as u64;
    if let Err(down) = store_bytes(state, sha, data.clone()).await {
        keep_last_chunk(state, sha, received_before, data.slice(received_before as usize..)).await?;
        return Err(down);
    }
    let now = state.clock.now_ms();
    if !patrol_cases::photos::complete_upload_at_once(&state.store, sha, received_before, size, now).await? {
        // A racing upload of the same last chunk finished first (the same bytes), or
        // the upload moved on meanwhile.
        let sha_owned = sha.to_string();
        match state.store.read_each(move |c| status_of(c, &sha_owned)).await? {
            Some(s) if s.complete => {}
            _ => return Err(ApiError::Conflict(Reason::UploadMovedOn)),
        }
    }
    crate::metrics::photo_completed();
    // A photo sent whole in one request staged nothing: no listing of the store for it.
    if received_before > 0 {
        forget_staged(state, sha).await;
    }
    Ok(PhotoStatus { sha256: sha.to_string(), size, received: size, complete: true })
}

/// Writes a verified photo (its SHA-256 checked, a JPEG) to the object store. Done
/// before the database marks it complete, so "complete" never names missing bytes.
pub async fn store_bytes(state: &AppState, sha: &str, data: impl Into<Bytes>) -> ApiResult<()> {
    state
        .photos
        .put(&photo_key(sha), data.into().into())
        .await
        .map_err(|e| ApiError::Unavailable(Reason::PhotoStoreDown, format!("photo: {e}")))?;
    Ok(())
}

async fn viewable(state: &AppState, actor: &Actor, sha: &str) -> ApiResult<()> {
    check_sha(sha)?;
    let (a, s) = (actor.clone(), sha.to_string());
    if state.store.read(move |c| may_view(c, &a, &s)).await? { Ok(()) } else { Err(ApiError::forbidden()) }
}

fn jpeg(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=31536000, immutable")], bytes)
        .into_response()
}

async fn fetch(state: &AppState, key: &ObjectPath) -> Result<Option<Bytes>, ApiError> {
    match state.photos.get(key).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(|e| store_down("reading", e))?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        // The store is away (or refuses us): the reader may try again later.
        Err(e) => Err(store_down("reading", e)),
    }
}

/// A photo or its thumbnail for someone who may see it; the API (Bearer token)
/// and the console (session) both serve through here.
pub async fn serve(state: &AppState, actor: &Actor, sha: &str, thumb: bool) -> ApiResult<Response> {
    viewable(state, actor, sha).await?;
    if !thumb {
        let bytes = fetch(state, &photo_key(sha)).await?.ok_or_else(|| ApiError::NotFound(Reason::PhotoNotArrived))?;
        return Ok(jpeg(bytes));
    }
    // A stored thumbnail is served only if it is the one bound to the photo (its hash on
    // the row and in the log); anything else is made again from the photo's checked
    // bytes (issue 17, hole 7).
    let bound = |state: &AppState| {
        let (store, sha) = (state.store.clone(), sha.to_string());
        async move { store.read(move |c| patrol_cases::photos::bound_thumbnail(c, &sha)).await }
    };
    let is_bound = |t: &Bytes, b: &Option<String>| b.as_deref() == Some(hex::encode(Sha256::digest(t)).as_str());
    let held = bound(state).await?;
    if let Some(t) = fetch(state, &thumb_key(sha)).await?
        && is_bound(&t, &held)
    {
        return Ok(jpeg(t));
    }
    // One decode per photo however many ask at once: the first caller makes the
    // thumbnail under the photo's lock, the others wait and read what it stored.
    let lock = thumb_lock(sha);
    let _made = lock.lock().await;
    let held = bound(state).await?;
    if let Some(t) = fetch(state, &thumb_key(sha)).await?
        && is_bound(&t, &held)
    {
        forget_thumb_lock(sha);
        return Ok(jpeg(t));
    }
    let photo = fetch(state, &photo_key(sha)).await?.ok_or_else(|| ApiError::NotFound(Reason::PhotoNotArrived))?;
    // At most two decodes at once per instance, whatever the photos: each may take
    // tens of MB for a moment.
    let _slot = DECODES.acquire().await.map_err(|e| ApiError::Internal(e.to_string()))?;
    THUMBNAILS_MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::metrics::thumbnail_made();
    let made = tokio::task::spawn_blocking(move || make_thumbnail(&photo))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let thumb = match made {
        Ok(t) => Bytes::from(t),
        Err(e) => {
            tracing::warn!(%sha, error = %e, "a stored photo does not decode; no thumbnail");
            forget_thumb_lock(sha);
            return Err(ApiError::NotFound(Reason::NoThumbnail));
        }
    };
    state
        .photos
        .put(&thumb_key(sha), thumb.clone().into())
        .await
        .map_err(|e| ApiError::Unavailable(Reason::PhotoStoreDown, format!("thumbnail: {e}")))?;
    let (made_sha, sha_owned, now) = (hex::encode(Sha256::digest(&thumb)), sha.to_string(), state.clock.now_ms());
    if held.as_deref() != Some(made_sha.as_str()) {
        if held.is_some() {
            tracing::warn!(%sha, "a stored thumbnail was not the one bound to its photo; made again");
        }
        state.store.write(move |c| patrol_cases::photos::bind_thumbnail(c, &sha_owned, &made_sha, now)).await?;
    }
    forget_thumb_lock(sha);
    Ok(jpeg(thumb))
}

/// Concurrent thumbnail decodes per instance.
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Thumbnails decoded by this process (`patrol_thumbnails_made_total` in /metrics).
pub static THUMBNAILS_MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

type ThumbLocks = std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

static THUMB_LOCKS: std::sync::LazyLock<ThumbLocks> = std::sync::LazyLock::new(Default::default);

fn thumb_lock(sha: &str) -> Arc<tokio::sync::Mutex<()>> {
    THUMB_LOCKS.lock().expect("thumbnail locks").entry(sha.to_string()).or_default().clone()
}

/// Drops the photo's lock once nobody else holds it (the map stays as small as the
/// number of thumbnails being made right now).
fn forget_thumb_lock(sha: &str) {
    let mut locks = THUMB_LOCKS.lock().expect("thumbnail locks");
    if locks.get(sha).is_some_and(|l| Arc::strong_count(l) <= 2) {
        locks.remove(sha);
    }
}

/// The stored JPEG of a photo the actor may see, for embedding (PDF exports).
pub async fn bytes_for(state: &AppState, actor: &Actor, sha: &str) -> ApiResult<Option<Bytes>> {
    viewable(state, actor, sha).await?;
    fetch(state, &photo_key(sha)).await
}

/// `GET /api/v1/photos/{sha256}`
pub async fn get_photo(State(state): State<AppState>, actor: Actor, Path(sha): Path<String>) -> ApiResult<Jpeg> {
    serve(&state, &actor, &sha, false).await.map(Jpeg)
}

/// `GET /api/v1/photos/{sha256}/thumb`: 320 px on the long edge, made on first use.
pub async fn get_thumb(State(state): State<AppState>, actor: Actor, Path(sha): Path<String>) -> ApiResult<Jpeg> {
    serve(&state, &actor, &sha, true).await.map(Jpeg)
}

/// A photo's or thumbnail's answer (`serve`): the JPEG, or 304 (documented in `api::doc`).
pub struct Jpeg(pub Response);

impl IntoResponse for Jpeg {
    fn into_response(self) -> Response {
        self.0
    }
}
