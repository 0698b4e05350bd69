//! Photo evidence on the server: content-addressed by SHA-256, uploaded resumably in
//! chunks kept in the database, verified, then written to the object store.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use patrol_protocol::record::{Record, RecordPayload, check_sha256};
use patrol_protocol::sync::{PHOTO_CHUNK_MAX, PHOTO_MAX_BYTES, PhotoStatus};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError};
use crate::sync::feed::{self, Entry, Kind};
use crate::sync::outcome::Outcome;

/// The object store holding finished photos and thumbnails.
pub type Photos = Arc<dyn ObjectStore>;

/// A local directory through `object_store` (the embedded default).
pub fn local_store(dir: &std::path::Path) -> Result<Photos, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?;
    Ok(Arc::new(fs))
}

fn photo_key(sha: &str) -> ObjectPath {
    ObjectPath::from(format!("photos/{}/{sha}.jpg", &sha[..2]))
}

fn thumb_key(sha: &str) -> ObjectPath {
    ObjectPath::from(format!("thumbs/{}/{sha}.jpg", &sha[..2]))
}

/// Applies a `PhotoTaken` record: the photo becomes expected, with its size.
pub fn apply_taken(c: &mut dyn Conn, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::PhotoTaken { sha256, bytes, context, .. } = &rec.payload else {
        unreachable!("dispatched by kind")
    };
    if *bytes == 0 || *bytes > PHOTO_MAX_BYTES {
        return Ok(Outcome::rejected(
            format!("a photo of {bytes} bytes is outside 1 byte to 15 MiB"),
            "照片大小超出范围",
        ));
    }
    match c.query_opt("SELECT size FROM photos WHERE sha256 = $1", &params![sha256])? {
        None => {
            c.execute(
                "INSERT INTO photos (sha256, size, received, complete, first_cited_ms) VALUES ($1, $2, 0, 0, $3)",
                &params![sha256, *bytes as i64, now],
            )?;
        }
        Some(r) if r.int(0)? != *bytes as i64 => {
            return Ok(Outcome::rejected("this photo was recorded before with another size", "照片大小与此前记录不符"));
        }
        Some(_) => {}
    }
    crate::notices::cite_photo(c, sha256, rec, context.run_id, context.notice_id)?;
    Ok(Outcome::applied())
}

fn status_of(c: &mut dyn Conn, sha: &str) -> Result<Option<PhotoStatus>, DbError> {
    c.query_opt("SELECT size, received, complete FROM photos WHERE sha256 = $1", &params![sha])?
        .map(|r| {
            Ok(PhotoStatus {
                sha256: sha.to_string(),
                size: r.int(0)? as u64,
                received: r.int(1)? as u64,
                complete: r.bool(2)?,
            })
        })
        .transpose()
}

/// May the actor see this photo? Its author, and whoever may see a notice or run
/// that cites it.
pub fn may_view(c: &mut dyn Conn, actor: &Actor, sha: &str) -> Result<bool, DbError> {
    let cites = c.query("SELECT author_id, run_id, notice_id FROM photo_citations WHERE sha256 = $1", &params![sha])?;
    for r in &cites {
        if r.uuid(0)? == actor.person.id {
            return Ok(true);
        }
        if let Some(notice) = r.opt_uuid(2)? {
            if let Some(n) = crate::notices::get(c, notice)? {
                let org = crate::store::reference::get_site(c, n.site_id)?.map(|s| s.org_id);
                if org.is_some_and(|org| crate::notices::visible(actor, &n, org)) {
                    return Ok(true);
                }
            }
        }
        if let Some(run) = r.opt_uuid(1)? {
            let site =
                c.query_opt("SELECT site_id FROM runs WHERE id = $1", &params![run])?.map(|r| r.uuid(0)).transpose()?;
            if site.is_some_and(|s| actor.is_supervisor_of(s)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn check_sha(sha: &str) -> ApiResult<()> {
    check_sha256("sha256", sha).map_err(ApiError::from)
}

async fn uploader_status(state: &AppState, actor: &Actor, sha: &str) -> ApiResult<PhotoStatus> {
    let (sha_owned, me) = (sha.to_string(), actor.person.id);
    let status = state
        .store
        .read(move |c| {
            let cited = c
                .query_opt(
                    "SELECT 1 FROM photo_citations WHERE sha256 = $1 AND author_id = $2",
                    &params![sha_owned.clone(), me],
                )?
                .is_some();
            if cited { status_of(c, &sha_owned) } else { Ok(None) }
        })
        .await?;
    status.ok_or_else(|| ApiError::NotFound("no record of yours cites this photo; push the records first".into()))
}

/// `GET /api/v1/photos/{sha256}/upload`
pub async fn upload_status(
    State(state): State<AppState>,
    actor: Actor,
    Path(sha): Path<String>,
) -> ApiResult<Json<PhotoStatus>> {
    check_sha(&sha)?;
    let status = uploader_status(&state, &actor, &sha).await?;
    if !status.complete && status.received == status.size {
        // A crash between the last chunk and completion: finish now.
        return Ok(Json(complete(&state, &sha).await?));
    }
    Ok(Json(status))
}

#[derive(Deserialize)]
pub struct Offset {
    offset: u64,
}

/// `PUT /api/v1/photos/{sha256}/upload?offset=N`: appends a chunk at `received`.
pub async fn upload_chunk(
    State(state): State<AppState>,
    actor: Actor,
    Path(sha): Path<String>,
    Query(Offset { offset }): Query<Offset>,
    body: Bytes,
) -> ApiResult<Json<PhotoStatus>> {
    check_sha(&sha)?;
    if body.len() > PHOTO_CHUNK_MAX {
        return Err(ApiError::TooLarge(format!("a chunk carries at most {PHOTO_CHUNK_MAX} bytes")));
    }
    let status = uploader_status(&state, &actor, &sha).await?;
    if status.complete {
        return Ok(Json(status));
    }
    if offset != status.received {
        return Err(ApiError::Conflict(format!(
            "offset_mismatch: the server has {} of {} bytes",
            status.received, status.size
        )));
    }
    if offset + body.len() as u64 > status.size {
        return Err(ApiError::invalid(
            "body",
            format!("the photo has {} bytes; this chunk goes past its end", status.size),
        ));
    }
    if !body.is_empty() {
        let (sha2, data) = (sha.clone(), body.to_vec());
        let len = data.len() as i64;
        let advanced = state
            .store
            .write(move |c| {
                // Only the first of two racing uploads of the same chunk advances.
                let n = c.execute(
                    "UPDATE photos SET received = received + $3 WHERE sha256 = $1 AND received = $2 AND complete = 0",
                    &params![sha2.clone(), offset as i64, len],
                )?;
                if n == 1 {
                    c.execute(
                        "INSERT INTO photo_chunks (sha256, start_offset, data) VALUES ($1, $2, $3)",
                        &params![sha2, offset as i64, data],
                    )?;
                }
                Ok(n == 1)
            })
            .await?;
        if !advanced {
            return Err(ApiError::Conflict("offset_mismatch: another upload of this photo moved on; ask again".into()));
        }
    }
    if offset + body.len() as u64 == status.size {
        return Ok(Json(complete(&state, &sha).await?));
    }
    Ok(Json(PhotoStatus { received: offset + body.len() as u64, ..status }))
}

/// Assembles the chunks, checks hash and type, stores the photo, marks it complete.
async fn complete(state: &AppState, sha: &str) -> ApiResult<PhotoStatus> {
    let sha_owned = sha.to_string();
    let chunks: Vec<Vec<u8>> = state
        .store
        .read(move |c| {
            c.query("SELECT data FROM photo_chunks WHERE sha256 = $1 ORDER BY start_offset", &params![sha_owned])?
                .into_iter()
                .map(|r| match r.0.into_iter().next() {
                    Some(crate::store::Value::Blob(b)) => Ok(b),
                    other => Err(DbError::Backend(format!("photo chunk is not bytes: {other:?}"))),
                })
                .collect()
        })
        .await?;
    let data: Vec<u8> = chunks.concat();
    let actual = hex::encode(Sha256::digest(&data));
    let problem = if actual != sha {
        Some(("hash_mismatch", "the uploaded bytes do not have this SHA-256; upload again from the start"))
    } else if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("not_an_image", "the photo is not a JPEG"))
    } else {
        None
    };
    if let Some((code, message)) = problem {
        let sha_owned = sha.to_string();
        state
            .store
            .write(move |c| {
                c.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &params![sha_owned.clone()])?;
                c.execute("UPDATE photos SET received = 0 WHERE sha256 = $1", &params![sha_owned])?;
                Ok(())
            })
            .await?;
        return Err(ApiError::invalid(code, message));
    }
    let size = data.len() as u64;
    state
        .photos
        .put(&photo_key(sha), data.into())
        .await
        .map_err(|e| ApiError::Internal(format!("object store: {e}")))?;
    let (sha_owned, now) = (sha.to_string(), state.clock.now_ms());
    state
        .store
        .write(move |c| {
            c.execute(
                "UPDATE photos SET complete = 1, completed_ms = $2 WHERE sha256 = $1",
                &params![sha_owned.clone(), now],
            )?;
            c.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &params![sha_owned.clone()])?;
            // Views that cite the photo change: their photos are now complete.
            let cites = c.query(
                "SELECT DISTINCT c.notice_id, n.site_id, n.department_id, n.issuer_id FROM photo_citations c
                 JOIN notices n ON n.id = c.notice_id WHERE c.sha256 = $1",
                &params![sha_owned.clone()],
            )?;
            for r in &cites {
                let entry = Entry {
                    notice_id: r.opt_uuid(0)?,
                    site_id: r.opt_uuid(1)?,
                    department_id: r.opt_uuid(2)?,
                    person_id: r.opt_uuid(3)?,
                    record_id: None,
                };
                feed::append(c, Kind::Notice, entry, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(PhotoStatus { sha256: sha.to_string(), size, received: size, complete: true })
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
        Ok(r) => Ok(Some(r.bytes().await.map_err(|e| ApiError::Internal(e.to_string()))?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(ApiError::Internal(format!("object store: {e}"))),
    }
}

/// `GET /api/v1/photos/{sha256}`
pub async fn get_photo(State(state): State<AppState>, actor: Actor, Path(sha): Path<String>) -> ApiResult<Response> {
    viewable(&state, &actor, &sha).await?;
    let bytes = fetch(&state, &photo_key(&sha))
        .await?
        .ok_or_else(|| ApiError::NotFound("the photo has not arrived yet".into()))?;
    Ok(jpeg(bytes))
}

/// `GET /api/v1/photos/{sha256}/thumb`: 320 px on the long edge, made on first use.
pub async fn get_thumb(State(state): State<AppState>, actor: Actor, Path(sha): Path<String>) -> ApiResult<Response> {
    viewable(&state, &actor, &sha).await?;
    if let Some(t) = fetch(&state, &thumb_key(&sha)).await? {
        return Ok(jpeg(t));
    }
    let photo = fetch(&state, &photo_key(&sha))
        .await?
        .ok_or_else(|| ApiError::NotFound("the photo has not arrived yet".into()))?;
    let thumb = tokio::task::spawn_blocking(move || make_thumbnail(&photo))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    let thumb = Bytes::from(thumb);
    state.photos.put(&thumb_key(&sha), thumb.clone().into()).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(jpeg(thumb))
}

fn make_thumbnail(jpeg_bytes: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory_with_format(jpeg_bytes, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
    let thumb = img.thumbnail(320, 320).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&thumb).map_err(|e| e.to_string())?;
    Ok(out)
}
