//! Photo evidence: one call takes the camera's image and its context, runs the pipeline,
//! stores `<data_dir>/photos/<sha256>.jpg` and its thumbnail, and records PhotoTaken.

pub mod header;
pub mod pipeline;
pub mod watermark;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use patrol_protocol::reason::Reason;
use patrol_protocol::record::PhotoContext;
use patrol_protocol::{Checkpoint, Id, Mark, Record, RecordPayload, Site};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use crate::core::{Core, CoreConfig, signed_in};
use crate::error::{Error, Result};
use crate::{notices, patrols, reference, store};

pub use watermark::FontCache;

/// The largest camera file accepted (a 50 MP JPEG is ~25 MB).
pub const INPUT_MAX_BYTES: u64 = 64 * 1024 * 1024;
pub const DEFAULT_LONG_EDGE: u32 = 2048;
pub const DEFAULT_QUALITY: u8 = 80;

#[derive(Debug, Clone)]
pub struct PhotoSettings {
    pub options: pipeline::Options,
    pub font_path: Option<PathBuf>,
}

impl PhotoSettings {
    pub fn from_config(c: &CoreConfig) -> Result<Self> {
        let max_long_edge = c.photo_max_long_edge.unwrap_or(DEFAULT_LONG_EDGE);
        if !(pipeline::THUMB_LONG_EDGE..=8192).contains(&max_long_edge) {
            return Err(Error::invalid(
                "photo_max_long_edge",
                Reason::OutOfRange { min: f64::from(pipeline::THUMB_LONG_EDGE), max: 8192.0 },
            ));
        }
        let quality = c.jpeg_quality.unwrap_or(DEFAULT_QUALITY);
        if !(1..=100).contains(&quality) {
            return Err(Error::invalid("jpeg_quality", Reason::OutOfRange { min: 1.0, max: 100.0 }));
        }
        Ok(PhotoSettings {
            options: pipeline::Options { max_long_edge, quality },
            font_path: c.font_path.as_ref().filter(|p| !p.trim().is_empty()).map(PathBuf::from),
        })
    }
}

/// Where the camera's image is.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum PhotoSource {
    Bytes { data: Vec<u8> },
    File { path: String },
}

/// A photo to keep as evidence, and what it is evidence of.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PhotoInput {
    pub source: PhotoSource,
    pub context: PhotoContext,
    /// The site for the watermark when the context names no run, checkpoint or notice.
    pub site_id: Option<Id>,
    /// When the picture was taken (defaults to now).
    pub captured_at_ms: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StoredPhoto {
    /// Lower-case hex SHA-256 of the stored JPEG: the photo's name everywhere.
    pub sha256: String,
    pub path: String,
    pub thumb_path: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// False only when the app configured no font; the photo then carries no strip.
    pub watermarked: bool,
    /// The same photo (same bytes) was stored before; no second record was made.
    pub already_stored: bool,
}

pub fn photo_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("photos").join(format!("{sha}.jpg"))
}

pub fn thumb_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("photos").join("thumbs").join(format!("{sha}.jpg"))
}

/// Makes the photo directories and removes half-written files a kill left behind.
pub fn prepare_dirs(dir: &Path) -> Result<()> {
    for d in [dir.join("photos"), dir.join("photos").join("thumbs")] {
        std::fs::create_dir_all(&d).map_err(Error::io(&d))?;
        for entry in std::fs::read_dir(&d).map_err(Error::io(&d))? {
            let path = entry.map_err(Error::io(&d))?.path();
            if path.extension().is_some_and(|e| e == "partial") {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    Ok(())
}

/// Writes a file so that it either exists complete or not at all, and survives a kill
/// once this returns: temp file, fsync, rename, fsync of the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("photo paths have a parent");
    let tmp = path.with_extension(format!("{}.partial", Id::now_v7().simple()));
    let mut f = std::fs::File::create(&tmp).map_err(Error::io(&tmp))?;
    f.write_all(bytes).map_err(Error::io(&tmp))?;
    f.sync_all().map_err(Error::io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(Error::io(path))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir))?;
    Ok(())
}

fn read_source(source: PhotoSource) -> Result<Vec<u8>> {
    let too_big = || Error::invalid("photo", Reason::PhotoTooLarge { max_mb: (INPUT_MAX_BYTES >> 20) as usize });
    match source {
        PhotoSource::Bytes { data } => {
            if data.len() as u64 > INPUT_MAX_BYTES {
                return Err(too_big());
            }
            Ok(data)
        }
        PhotoSource::File { path } => {
            let unreadable = |e: std::io::Error| {
                Error::invalid("path", Reason::PhotoFileUnreadable { detail: format!("{path}: {e}") })
            };
            let f = std::fs::File::open(&path).map_err(unreadable)?;
            if f.metadata().map_err(unreadable)?.len() > INPUT_MAX_BYTES {
                return Err(too_big());
            }
            let mut data = vec![];
            f.take(INPUT_MAX_BYTES + 1).read_to_end(&mut data).map_err(unreadable)?;
            if data.len() as u64 > INPUT_MAX_BYTES {
                return Err(too_big());
            }
            Ok(data)
        }
    }
}

/// The photo projection: one row per stored photo.
pub(crate) fn project(tx: &Transaction<'_>, r: &Record) -> Result<()> {
    if let RecordPayload::PhotoTaken { sha256, bytes, width, height, captured_at_ms, latitude, longitude, context } =
        &r.payload
    {
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, captured_at_ms, latitude, longitude,
                run_id, checkpoint_id, notice_id, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                sha256,
                *bytes as i64,
                width,
                height,
                captured_at_ms,
                latitude,
                longitude,
                context.run_id.map(|i| i.to_string()),
                context.checkpoint_id.map(|i| i.to_string()),
                context.notice_id.map(|i| i.to_string()),
                r.seq as i64
            ],
        )?;
    }
    if let RecordPayload::PhotoMarked { photo, marks } = &r.payload {
        tx.execute(
            "INSERT INTO photo_marks (seq, record_id, sha256, marks_json) VALUES (?1, ?2, ?3, ?4)",
            params![r.seq as i64, r.id.to_string(), photo, serde_json::to_string(marks)?],
        )?;
    }
    Ok(())
}

/// Whether a photo with this name is recorded on this device.
pub(crate) fn exists(conn: &rusqlite::Connection, sha: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT 1 FROM photos WHERE sha256 = ?1", [sha], |_| Ok(())).optional()?.is_some())
}

/// The watermark's words, worked out from the context before any pixel is touched.
struct Caption {
    site: Option<Site>,
    place: String,
    person: String,
    offset_minutes: i32,
}

fn caption_lines(c: &Caption, captured_at_ms: i64, lat: Option<f64>, lon: Option<f64>) -> Vec<String> {
    let offset = chrono::FixedOffset::east_opt(c.offset_minutes * 60).expect("offset checked at load");
    let when = chrono::DateTime::from_timestamp_millis(captured_at_ms)
        .map(|t| t.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    let sign = if c.offset_minutes < 0 { '-' } else { '+' };
    let off = c.offset_minutes.abs();
    let site = c.site.as_ref().map(|s| s.name_zh.clone()).unwrap_or_else(|| "未指定项目".into());
    let position = match (lat, lon) {
        (Some(la), Some(lo)) => format!(
            "{} {:.6}°  {} {:.6}°",
            if la < 0.0 { "S" } else { "N" },
            la.abs(),
            if lo < 0.0 { "W" } else { "E" },
            lo.abs()
        ),
        _ => "位置未知 (no position)".into(),
    };
    vec![
        format!("{when} (UTC{sign}{:02}:{:02})  巡检人 {}", off / 60, off % 60, c.person),
        format!("{site} · {}", c.place),
        position,
    ]
}

impl Core {
    /// Records a markup layer over a photo of this phone (arrows, circles, short texts
    /// in `MARK_SCALE` coordinates): the whole layer, replacing the earlier one where
    /// it is shown; an empty list clears it. The photo's file and its record are not
    /// touched, and every layer stays in the log. Returns the record's id.
    pub fn mark_photo(&self, sha256: &str, marks: Vec<Mark>) -> Result<Id> {
        let payload = RecordPayload::PhotoMarked { photo: sha256.to_string(), marks };
        // Shapes and bounds first, with the field that is wrong, before the store.
        payload.validate().map_err(Error::from)?;
        self.store.write(|tx| {
            if !exists(tx, sha256)? {
                return Err(Error::not_found("photo", sha256));
            }
            let (_, by) = self.author(tx)?;
            Ok(store::append(tx, by, payload)?.id)
        })
    }

    /// The layer shown over a photo: the newest recorded here (empty if none, or if
    /// the newest cleared it).
    pub fn photo_marks(&self, sha256: &str) -> Result<Vec<Mark>> {
        self.store.read(|conn| {
            if !exists(conn, sha256)? {
                return Err(Error::not_found("photo", sha256));
            }
            let json: Option<String> = conn
                .query_row(
                    "SELECT marks_json FROM photo_marks WHERE sha256 = ?1 ORDER BY seq DESC LIMIT 1",
                    [sha256],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match json {
                Some(j) => serde_json::from_str(&j)?,
                None => Vec::new(),
            })
        })
    }

    /// The whole photo pipeline in one call; see the module comment. Heavy (hundreds of
    /// milliseconds on a phone): call it off the UI thread. The store is locked only
    /// for the final record.
    pub fn add_photo(&self, input: PhotoInput) -> Result<StoredPhoto> {
        let (lat, lon) = match (input.latitude, input.longitude) {
            (Some(la), Some(lo)) if la.is_finite() && lo.is_finite() && la.abs() <= 90.0 && lo.abs() <= 180.0 => {
                (Some(la), Some(lo))
            }
            (None, None) => (None, None),
            _ => {
                return Err(Error::invalid("position", Reason::LatLonPair));
            }
        };
        let captured_at_ms = input.captured_at_ms.unwrap_or_else(|| self.now_ms());
        if captured_at_ms <= 0 {
            return Err(Error::invalid("captured_at_ms", Reason::NotATime));
        }
        let caption = self.store.read(|conn| {
            let person = signed_in(conn)?.ok_or(Error::NotSignedIn)?;
            let ctx = &input.context;
            let run = ctx.run_id.map(|id| patrols::get_run(conn, id)).transpose()?;
            let checkpoint: Option<Checkpoint> = ctx.checkpoint_id.map(|id| reference::get(conn, id)).transpose()?;
            let notice = ctx.notice_id.map(|id| notices::get_notice_row(conn, id)).transpose()?;
            let site_id = run
                .as_ref()
                .map(|r| r.site_id)
                .or(checkpoint.as_ref().map(|c| c.site_id))
                .or(notice.as_ref().map(|n| n.site_id))
                .or(input.site_id);
            let site: Option<Site> = site_id.map(|id| reference::get(conn, id)).transpose()?;
            let place = match (&checkpoint, &notice) {
                (Some(c), _) => format!("{} ({})", c.name_zh, c.code),
                (None, Some(n)) if !n.location.is_empty() => n.location.clone(),
                _ => "—".into(),
            };
            Ok(Caption {
                offset_minutes: site.as_ref().map_or(0, |s| s.utc_offset_minutes),
                site,
                place,
                person: person.display_name,
            })
        })?;

        let bytes = read_source(input.source)?;
        let font = match &self.photo.font_path {
            Some(path) => Some(self.font.get(path)?),
            None => None,
        };
        let lines = caption_lines(&caption, captured_at_ms, lat, lon);
        let processed = pipeline::process(&bytes, self.photo.options, font.as_ref().map(|f| (f, lines.as_slice())))?;
        drop(bytes);

        let sha = hex::encode(Sha256::digest(&processed.jpeg));
        let (path, thumb) = (photo_path(&self.dir, &sha), thumb_path(&self.dir, &sha));
        // Files first, record second: a kill in between leaves an unreferenced file
        // (harmless), never a record that points at nothing.
        if !path.exists() {
            write_durably(&path, &processed.jpeg)?;
        }
        if !thumb.exists() {
            write_durably(&thumb, &processed.thumb)?;
        }
        let already_stored = self.store.write(|tx| {
            if exists(tx, &sha)? {
                return Ok(true);
            }
            let (_, by) = self.author(tx)?;
            store::append(
                tx,
                by,
                RecordPayload::PhotoTaken {
                    sha256: sha.clone(),
                    bytes: processed.jpeg.len() as u64,
                    width: processed.width,
                    height: processed.height,
                    captured_at_ms,
                    latitude: lat,
                    longitude: lon,
                    context: input.context.clone(),
                },
            )?;
            Ok(false)
        })?;
        Ok(StoredPhoto {
            path: path.to_string_lossy().into_owned(),
            thumb_path: thumb.to_string_lossy().into_owned(),
            sha256: sha,
            width: processed.width,
            height: processed.height,
            bytes: processed.jpeg.len() as u64,
            watermarked: font.is_some(),
            already_stored,
        })
    }
}
