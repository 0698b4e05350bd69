//! Photo evidence on the server: content-addressed by SHA-256, uploaded resumably in
//! chunks kept in the database, verified, then written to the object store.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use patrol_protocol::photo_header;
use patrol_protocol::reason::Reason;
use patrol_protocol::record::{Record, RecordPayload, check_sha256};
use patrol_protocol::sync::{PHOTO_MAX_BYTES, PhotoStatus};
use sha2::{Digest, Sha256};

use crate::error::{DomainError, DomainResult};
use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError, Store};
use crate::sync::feed::{self, Entry, Kind};
use crate::sync::outcome::Outcome;

/// The object store holding finished photos and thumbnails.
pub type Photos = Arc<dyn ObjectStore>;

/// A local directory through `object_store` (the embedded default). Every put is
/// flushed to disk (the file, then its directory) before it returns: a photo is marked
/// complete, and the phone may let its copy go, only after its bytes are stored, and
/// "stored" must outlive a power cut as the database's commit does (`synchronous = FULL`).
pub fn local_store(dir: &std::path::Path) -> Result<Photos, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?.with_fsync(true);
    Ok(Arc::new(fs))
}

pub fn photo_key(sha: &str) -> ObjectPath {
    ObjectPath::from(format!("photos/{}/{sha}.jpg", &sha[..2]))
}

pub fn thumb_key(sha: &str) -> ObjectPath {
    ObjectPath::from(format!("thumbs/{}/{sha}.jpg", &sha[..2]))
}

/// Applies a `PhotoTaken` record: the photo becomes expected, with its size.
pub fn apply_taken(c: &mut dyn Conn, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::PhotoTaken { sha256, bytes, context, .. } = &rec.payload else {
        unreachable!("dispatched by kind")
    };
    if *bytes == 0 || *bytes > PHOTO_MAX_BYTES {
        return Ok(Outcome::rejected(Reason::PhotoSizeRange { bytes: *bytes }));
    }
    // A photo's hash is no secret (it is printed, shown, logged): recording one that
    // another device took would make its author a viewer. Only the device that took
    // it may record it again; the server's own chains hold browser uploads, whose
    // bytes the server received, so they prove possession.
    if !taken_on_device(c, sha256, rec.device)?
        && rec.device != crate::sync::api_device(rec.author)
        && c.query_opt("SELECT 1 FROM photos WHERE sha256 = $1", &params![sha256])?.is_some()
    {
        return Ok(Outcome::rejected(Reason::PhotoOfOtherDevice));
    }
    match c.query_opt("SELECT size FROM photos WHERE sha256 = $1", &params![sha256])? {
        None => {
            c.execute(
                "INSERT INTO photos (sha256, size, received, complete, first_cited_ms) VALUES ($1, $2, 0, 0, $3)",
                &params![sha256, *bytes as i64, now],
            )?;
        }
        Some(r) if r.int(0)? != *bytes as i64 => {
            return Ok(Outcome::rejected(Reason::PhotoSizeChanged));
        }
        Some(_) => {}
    }
    crate::notices::cite_photo(c, sha256, rec, context.run_id, context.notice_id)?;
    Ok(Outcome::applied())
}

/// Applies a `PhotoMarked` record: a markup layer over a photo the author may see
/// (the photo's own bytes are untouched; the layer is drawn over them).
pub fn apply_marked(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::PhotoMarked { photo, marks } = &rec.payload else { unreachable!("dispatched by kind") };
    if !may_view(c, actor, photo)? {
        return Ok(Outcome::rejected(Reason::PhotoNotYoursToMark));
    }
    c.execute(
        "INSERT INTO photo_markups (record_id, sha256, author_id, marks_json, device_time_ms, server_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &params![
            rec.id,
            photo.clone(),
            rec.author,
            serde_json::to_string(marks).expect("marks serialise"),
            rec.device_time_ms,
            now
        ],
    )?;
    Ok(Outcome::applied())
}

/// One person's markup layer over a photo: their latest, as it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub author_id: patrol_protocol::Id,
    pub record_id: patrol_protocol::Id,
    pub marks: Vec<patrol_protocol::Mark>,
}

/// The layers shown over a photo: each author's latest (an empty latest layer
/// cleared theirs), oldest author first.
pub fn layers(c: &mut dyn Conn, sha: &str) -> Result<Vec<Layer>, DbError> {
    let rows = c.query(
        "SELECT m.author_id, m.record_id, m.marks_json FROM photo_markups m
         WHERE m.sha256 = $1 AND NOT EXISTS (
             SELECT 1 FROM photo_markups l WHERE l.sha256 = m.sha256 AND l.author_id = m.author_id
               AND (l.server_ms > m.server_ms OR (l.server_ms = m.server_ms AND l.record_id > m.record_id)))
         ORDER BY m.server_ms, m.record_id",
        &params![sha],
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let marks: Vec<patrol_protocol::Mark> =
            serde_json::from_str(&r.text(2)?).map_err(|e| DbError::Data(format!("photo_markups.marks_json: {e}")))?;
        if !marks.is_empty() {
            out.push(Layer { author_id: r.uuid(0)?, record_id: r.uuid(1)?, marks });
        }
    }
    Ok(out)
}

/// What is drawn over a photo where it is shown: its layers and its size in pixels
/// (marks are in `MARK_SCALE` units of each side; the size keeps circles round).
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    pub width: u32,
    pub height: u32,
    pub layers: Vec<Layer>,
}

/// The photo's overlay, if anyone's layer over it has marks.
pub fn overlay(c: &mut dyn Conn, sha: &str) -> Result<Option<Overlay>, DbError> {
    let layers = layers(c, sha)?;
    if layers.is_empty() {
        return Ok(None);
    }
    let taken = c.query_opt(
        "SELECT r.body FROM photo_citations pc JOIN records r ON r.id = pc.record_id
         WHERE pc.sha256 = $1 AND r.kind = 'photo_taken' ORDER BY r.received_ms LIMIT 1",
        &params![sha],
    )?;
    let size = match taken {
        Some(r) => match serde_json::from_str::<Record>(&r.text(0)?).map(|rec| rec.payload) {
            Ok(RecordPayload::PhotoTaken { width, height, .. }) => Some((width, height)),
            _ => None,
        },
        None => None,
    };
    let (width, height) = size.unwrap_or((4, 3));
    Ok(Some(Overlay { width, height, layers }))
}

pub fn status_of(c: &mut dyn Conn, sha: &str) -> Result<Option<PhotoStatus>, DbError> {
    let row = c.query_opt("SELECT size, received, complete FROM photos WHERE sha256 = $1", &params![sha])?;
    row.map(|r| status_row(sha, &r)).transpose()
}

/// The upload's state for someone who cited the photo in a record; `None` for anyone
/// else (who learns nothing of it). One statement: it is asked before every chunk.
pub fn cited_status(c: &mut dyn Conn, sha: &str, person: patrol_protocol::Id) -> Result<Option<PhotoStatus>, DbError> {
    let row = c.query_opt(
        "SELECT p.size, p.received, p.complete FROM photos p WHERE p.sha256 = $1
           AND EXISTS (SELECT 1 FROM photo_citations c WHERE c.sha256 = $1 AND c.author_id = $2)",
        &params![sha, person],
    )?;
    row.map(|r| status_row(sha, &r)).transpose()
}

/// A `(size, received, complete)` row of `photos`.
fn status_row(sha: &str, r: &crate::store::Row) -> Result<PhotoStatus, DbError> {
    Ok(PhotoStatus {
        sha256: sha.to_string(),
        size: r.int(0)? as u64,
        received: r.int(1)? as u64,
        complete: r.bool(2)?,
    })
}

/// Did `device` record taking this photo (an applied `photo_taken` in its chain)?
pub fn taken_on_device(c: &mut dyn Conn, sha: &str, device: patrol_protocol::Id) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT 1 FROM photo_citations pc JOIN records r ON r.id = pc.record_id
         WHERE pc.sha256 = $1 AND r.device_id = $2 AND r.kind = 'photo_taken' AND r.status = 'applied'",
        &params![sha, device],
    )?
    .is_some())
}

/// May the actor see this photo? The person who took it, and whoever the policy lets
/// see a notice or run that holds it. Citations come only from records of the
/// device that took the photo (`taken_on_device`), so naming a hash gives nothing.
pub fn may_view(c: &mut dyn Conn, actor: &Actor, sha: &str) -> Result<bool, DbError> {
    let cites = c.query(
        "SELECT pc.author_id, pc.run_id, pc.notice_id, r.kind FROM photo_citations pc
         JOIN records r ON r.id = pc.record_id WHERE pc.sha256 = $1 AND r.status = 'applied'",
        &params![sha],
    )?;
    for r in &cites {
        if r.uuid(0)? == actor.person.id && r.text(3)? == "photo_taken" {
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
            let holder = c.query_opt("SELECT site_id, person_id FROM runs WHERE id = $1", &params![run])?;
            if let Some(h) = holder {
                if actor.may_view_run(h.uuid(0)?, h.uuid(1)?) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

pub fn check_sha(sha: &str) -> DomainResult<()> {
    check_sha256("sha256", sha).map_err(DomainError::from)
}

/// Marks a stored photo complete and tells the feed that the notices citing it
/// changed (their photos may now be complete), in the caller's transaction.
pub fn mark_complete(c: &mut dyn Conn, sha: &str, now: i64) -> Result<(), DbError> {
    let before = c.query_opt("SELECT complete, size FROM photos WHERE sha256 = $1", &params![sha])?;
    c.execute("UPDATE photos SET complete = 1, completed_ms = $2 WHERE sha256 = $1", &params![sha, now])?;
    c.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &params![sha])?;
    let newly = before.filter(|r| !r.bool(0).unwrap_or(true)).map(|r| r.int(1)).transpose()?;
    completed(c, sha, newly.map(|s| s as u64), now)
}

/// An upload's last bytes arrived and checked out: the photo is complete, provided the
/// upload still stands where it did (`received` is `received_before`, not complete, its
/// size the `size` checked). One statement marks it (an upload of the whole photo in
/// one request writes no chunk rows, so none are deleted then). Whether this call
/// completed it.
pub fn complete_upload(
    c: &mut dyn Conn,
    sha: &str,
    received_before: u64,
    size: u64,
    now: i64,
) -> Result<bool, DbError> {
    let Some(row) = c.query_opt(
        "UPDATE photos SET received = size, complete = 1, completed_ms = $3
         WHERE sha256 = $1 AND received = $2 AND complete = 0 AND size = $4 RETURNING size",
        &params![sha, received_before as i64, now, size as i64],
    )?
    else {
        return Ok(false);
    };
    if received_before > 0 {
        c.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &params![sha])?;
    }
    completed(c, sha, Some(row.int(0)? as u64), now)?;
    Ok(true)
}

/// `complete_upload` as one statement of PostgreSQL (a data-modifying `WITH`): the
/// photo's row, its chunk rows, the feed entries of the notices citing it and its leaf,
/// atomic together, in autocommit: one round trip where the transaction takes five.
/// Returns one row (the size) when it completed the photo, none otherwise.
const COMPLETE_AT_ONCE: &str = "WITH done AS (
        UPDATE photos SET received = size, complete = 1, completed_ms = $3
        WHERE sha256 = $1 AND received = $2 AND complete = 0 AND size = $4 RETURNING size),
    chunks AS (DELETE FROM photo_chunks WHERE sha256 = $1 AND $2 > 0 AND EXISTS (SELECT 1 FROM done)),
    entries AS (
        INSERT INTO feed_pending (at_ms, kind, site_id, department_id, person_id, notice_id)
        SELECT DISTINCT $3, $7, n.site_id, n.department_id, n.issuer_id, c.notice_id
        FROM photo_citations c JOIN notices n ON n.id = c.notice_id
        WHERE c.sha256 = $1 AND EXISTS (SELECT 1 FROM done)),
    leaf AS (INSERT INTO log_pending (kind, subject, leaf, at_ms) SELECT $5, $1, $6, $3 FROM done)
    SELECT size FROM done";

/// `complete_upload` in the fewest round trips the database allows: on PostgreSQL the
/// one statement above; on SQLite (no data-modifying `WITH`, and no round trips to
/// save) `complete_upload` in a transaction of the one writer. Both leave the same rows
/// (`store_conformance::*::a_photo_completes_alike_at_once_or_in_a_transaction`).
pub async fn complete_upload_at_once(
    store: &Store,
    sha: &str,
    received_before: u64,
    size: u64,
    now: i64,
) -> Result<bool, DbError> {
    let sha = sha.to_string();
    if store.kind() != "postgres" {
        return store.write(move |c| complete_upload(c, &sha, received_before, size, now)).await;
    }
    let leaf = patrol_protocol::audit::Leaf::PhotoCompleted { sha256: sha.clone(), size, at_ms: now };
    let (kind, text) = (leaf.kind_str(), String::from_utf8(leaf.bytes()).expect("JSON is UTF-8"));
    let values = params![sha, received_before as i64, now, size as i64, kind, text, Kind::Notice.as_str()];
    Ok(!store.write_statement(COMPLETE_AT_ONCE.to_string(), values).await?.is_empty())
}

/// What a photo's completion tells: the notices citing it (their readers' phones), and
/// the log, once (`newly`: its size when it was not complete before).
fn completed(c: &mut dyn Conn, sha: &str, newly: Option<u64>, now: i64) -> Result<(), DbError> {
    let cites = c.query(
        "SELECT DISTINCT c.notice_id, n.site_id, n.department_id, n.issuer_id FROM photo_citations c
         JOIN notices n ON n.id = c.notice_id WHERE c.sha256 = $1",
        &params![sha],
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
    // Logged once, when the photo first became complete (a second upload of the same
    // bytes decides nothing new).
    if let Some(size) = newly {
        let leaf = patrol_protocol::audit::Leaf::PhotoCompleted { sha256: sha.to_string(), size, at_ms: now };
        crate::audit::log::append(c, &leaf, now)?;
    }
    Ok(())
}

/// Binds a thumbnail to its photo: its hash on the photo's row (checked when it is
/// served) and in the log (checked by `audit verify`). Called when a thumbnail was made
/// whose hash the row does not already hold.
pub fn bind_thumbnail(c: &mut dyn Conn, sha: &str, thumb_sha: &str, now: i64) -> Result<(), DbError> {
    let changed = c.execute(
        "UPDATE photos SET thumb_sha256 = $2 WHERE sha256 = $1 AND complete = 1
         AND (thumb_sha256 IS NULL OR thumb_sha256 <> $2)",
        &crate::params![sha, thumb_sha],
    )?;
    if changed == 1 {
        let leaf = patrol_protocol::audit::Leaf::ThumbnailMade {
            sha256: sha.to_string(),
            thumbnail_sha256: thumb_sha.to_string(),
            at_ms: now,
        };
        crate::audit::log::append(c, &leaf, now)?;
    }
    Ok(())
}

/// The thumbnail hash a photo's row holds.
pub fn bound_thumbnail(c: &mut dyn Conn, sha: &str) -> Result<Option<String>, DbError> {
    Ok(c.query_opt("SELECT thumb_sha256 FROM photos WHERE sha256 = $1", &crate::params![sha])?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten())
}

pub fn make_thumbnail(jpeg_bytes: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory_with_format(jpeg_bytes, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
    let thumb = img.thumbnail(320, 320).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&thumb).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes a whole image, refusing one that does not decode cleanly: JPEGs through the
/// protocol's `decode_jpeg_whole` (the phone's check too), so a file with corrupt
/// image data or cut short with an end marker glued on is an error, not a picture
/// with a grey lower part.
pub fn decode_whole(bytes: &[u8], header: &photo_header::Header) -> Result<image::DynamicImage, String> {
    match header.format {
        photo_header::Format::Jpeg => {
            let (pixels, w, h) = photo_header::decode_jpeg_whole(bytes, header, 1).map_err(|r| r.en())?;
            image::RgbImage::from_raw(w, h, pixels)
                .map(image::DynamicImage::ImageRgb8)
                .ok_or_else(|| "the decoder returned a short buffer".into())
        }
        photo_header::Format::Png => {
            let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
            let mut limits = image::Limits::default();
            limits.max_image_width = Some(photo_header::MAX_SIDE);
            limits.max_image_height = Some(photo_header::MAX_SIDE);
            limits.max_alloc = Some(u64::from(header.width) * u64::from(header.height) * 8 + (16 << 20));
            reader.limits(limits);
            reader.decode().map_err(|e| e.to_string())
        }
    }
}

/// Applies an EXIF orientation (1–8) so the pixels are upright.
fn orient(img: image::DynamicImage, orientation: u8) -> image::DynamicImage {
    match orientation {
        2 => img.fliph(),
        3 => img.rotate180(),
        4 => img.flipv(),
        5 => img.rotate90().fliph(),
        6 => img.rotate90(),
        7 => img.rotate270().fliph(),
        8 => img.rotate270(),
        _ => img,
    }
}

// Photos uploaded from a browser (a head's after-photos): checked by their bytes,
// re-encoded as JPEG (which also drops EXIF, such as a phone's GPS position), then
// stored through the same path as a finished phone upload.

/// Largest image file a browser may upload.
pub const UPLOAD_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Long edge of the stored JPEG: plenty for evidence, small enough to sync.
pub const STORED_LONG_EDGE: u32 = 2048;

/// What kind of image the bytes are, by their magic number, with the size from the
/// header, through the one header check shared with the phone core
/// (`patrol_protocol::photo_header`): nothing is decoded.
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    let h = photo_header::inspect(bytes).ok()?;
    let kind = match h.format {
        photo_header::Format::Jpeg => "image/jpeg",
        photo_header::Format::Png => "image/png",
    };
    Some((kind, h.width, h.height))
}

/// Why a phone's upload is not the JPEG the protocol promises, from its header, image
/// data and end marker (nothing is decoded: the server does not spend a core per
/// photo). The same check the phone's pipeline applies to its sources.
pub fn not_a_stored_jpeg(data: &[u8]) -> Option<Reason> {
    photo_header::inspect_stored_jpeg(data).err()
}

/// A browser upload made into the JPEG the protocol expects, not yet stored.
pub struct Prepared {
    pub sha256: String,
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Checks an uploaded file (JPEG or PNG by magic bytes, bounded size and sides),
/// decodes it and re-encodes it as a JPEG with the long edge at most 2048 px.
/// CPU-bound: call it off the async threads.
pub fn prepare_upload(name: &str, bytes: &[u8]) -> DomainResult<Prepared> {
    if bytes.len() > UPLOAD_MAX_BYTES {
        let why = Reason::FileTooLarge { max_mb: UPLOAD_MAX_BYTES >> 20 };
        return Err(DomainError::TooLarge(Reason::InFile { name: name.to_string(), why: Box::new(why) }));
    }
    let header = photo_header::inspect(bytes)
        .map_err(|r| DomainError::invalid("photos", Reason::InFile { name: name.to_string(), why: Box::new(r) }))?;
    let img = decode_whole(bytes, &header).map_err(|detail| {
        let why = Box::new(Reason::ImageUnreadable { detail });
        DomainError::invalid("photos", Reason::InFile { name: name.to_string(), why })
    })?;
    // Browsers send the camera's bytes; the pixels are turned upright here, as the
    // phone's pipeline does, since the stored JPEG carries no EXIF.
    let img = orient(img, header.orientation);
    let img = if img.width().max(img.height()) > STORED_LONG_EDGE {
        img.resize(STORED_LONG_EDGE, STORED_LONG_EDGE, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let rgb = img.to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .map_err(|e| DomainError::Internal(format!("jpeg encoding: {e}")))?;
    Ok(Prepared { sha256: hex::encode(Sha256::digest(&jpeg)), width: rgb.width(), height: rgb.height(), jpeg })
}

/// Records a prepared photo as the actor's `PhotoTaken` on their server-kept chain
/// and marks it complete, in the caller's transaction. Its bytes must already be in
/// the object store (`store_bytes`).
pub fn record_prepared(
    c: &mut dyn Conn,
    actor: &Actor,
    p: &Prepared,
    context: patrol_protocol::record::PhotoContext,
    now: i64,
) -> Result<Outcome, DbError> {
    let payload = RecordPayload::PhotoTaken {
        sha256: p.sha256.clone(),
        bytes: p.jpeg.len() as u64,
        width: p.width,
        height: p.height,
        captured_at_ms: now,
        latitude: None,
        longitude: None,
        context,
    };
    let (_, outcome) = crate::sync::append_server_record(c, actor, payload, now)?;
    if outcome.status == patrol_protocol::sync::RecordStatus::Applied {
        mark_complete(c, &p.sha256, now)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::not_a_stored_jpeg;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 120, 40]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
        out
    }

    #[test]
    fn a_phone_upload_must_be_a_whole_jpeg_with_a_sane_header() {
        let good = jpeg(64, 48);
        assert_eq!(not_a_stored_jpeg(&good), None);
        // The magic number alone, or random bytes behind it, are not a photo.
        let mut fake = vec![0xFF, 0xD8, 0xFF];
        fake.extend(std::iter::repeat_n(0x5A, 4000));
        assert!(not_a_stored_jpeg(&fake).is_some());
        // Cut off before its end marker.
        assert!(not_a_stored_jpeg(&good[..good.len() - 10]).unwrap().en().contains("cut short"));
        // Trailing bytes after the end marker: not the JPEG the pipeline wrote.
        let mut trailing = good.clone();
        trailing.extend([0, 0, 0]);
        assert!(not_a_stored_jpeg(&trailing).unwrap().en().contains("whole"));
        // A PNG is a fine upload from a browser, not what a phone promises to send.
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(image::RgbImage::new(4, 4))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(not_a_stored_jpeg(&png).is_some());
        // A header claiming 60000 × 48: edit the SOF width.
        let mut wide = good.clone();
        let sof = wide.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        wide[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
        assert!(not_a_stored_jpeg(&wide).unwrap().en().contains("12000"));
    }

    /// A camera-like JPEG: textured, so its entropy-coded data is most of the file.
    fn textured(w: u32, h: u32, exif_orientation: Option<u8>) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let v = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).rotate_left(x % 13) as u8;
            image::Rgb([v, v.wrapping_add(x as u8), (y as u8).wrapping_mul(3)])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
        if let Some(o) = exif_orientation {
            // APP1 "Exif\0\0", little-endian TIFF, IFD0 with one entry: Orientation (SHORT).
            let mut tiff = b"II".to_vec();
            tiff.extend(42u16.to_le_bytes());
            tiff.extend(8u32.to_le_bytes());
            tiff.extend(1u16.to_le_bytes());
            tiff.extend(0x0112u16.to_le_bytes());
            tiff.extend(3u16.to_le_bytes());
            tiff.extend(1u32.to_le_bytes());
            tiff.extend(u16::from(o).to_le_bytes());
            tiff.extend([0, 0, 0, 0, 0, 0]);
            let mut app1 = vec![0xFF, 0xE1];
            app1.extend(((tiff.len() + 8) as u16).to_be_bytes());
            app1.extend(b"Exif\0\0");
            app1.extend(tiff);
            out.splice(2..2, app1);
        }
        out
    }

    #[test]
    fn a_browser_photo_is_turned_upright_by_its_exif_orientation() {
        let sideways = textured(64, 48, Some(6));
        let p = super::prepare_upload("after.jpg", &sideways).unwrap();
        assert_eq!((p.width, p.height), (48, 64), "orientation 6: a quarter turn clockwise");
        let upright = super::prepare_upload("after.jpg", &textured(64, 48, None)).unwrap();
        assert_eq!((upright.width, upright.height), (64, 48));
    }

    #[test]
    fn a_damaged_or_cut_photo_is_refused_whole_not_greyed() {
        let good = textured(320, 240, None);
        assert!(super::prepare_upload("ok.jpg", &good).is_ok());
        // The file cut without an end marker never reaches the decoder: the header
        // check refuses it first (its own tests).
        for (what, bytes) in patrol_protocol::jpeg::damaged_copies(&good).into_iter().take(2) {
            let err = super::prepare_upload("bad.jpg", &bytes).err().unwrap_or_else(|| panic!("{what} was accepted"));
            assert!(err.texts().zh.contains("图片无法完整读取") && err.texts().zh.contains("bad.jpg"), "{what}: {err}");
        }
    }
}
