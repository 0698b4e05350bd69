//! The inner core the exported object wraps: opening a data directory, the clock,
//! the signed-in person, reference data loading and the queue. Plain Rust `Result`s.

use std::path::PathBuf;
use std::sync::Arc;

use patrol_protocol::model::check_text;
use patrol_protocol::reason::Reason;
use patrol_protocol::{Id, Record, Role, limits};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::photos::{self, FontCache, PhotoSettings};
use crate::reference::{self, ReferenceCounts};
use crate::store::{self, Author, Store, StoreKey};

/// What the app passes when it opens the core.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CoreConfig {
    /// The app's private data directory; the core owns everything under it.
    pub data_dir: String,
    /// The installation's id, if the app already has one; otherwise the core makes
    /// one on first open and keeps it.
    pub device_id: Option<Id>,
    /// A TTF/OTF/TTC font with CJK glyphs for the photo watermark.
    pub font_path: Option<String>,
    /// Long edge of stored photos in pixels (default 2048).
    pub photo_max_long_edge: Option<u32>,
    /// JPEG quality of stored photos, 1 to 100 (default 80).
    pub jpeg_quality: Option<u8>,
    /// The store's key: 32 random bytes the app keeps in the Android Keystore / iOS
    /// Keychain. With it the store is a SQLCipher file (a plain one from an older app
    /// is encrypted on this open); a store that does not open with it is refused with
    /// `WrongKey` and left as it was. `None` keeps a plain store: for tools and tests
    /// only, the apps always pass a key.
    pub store_key: Option<Vec<u8>>,
}

impl CoreConfig {
    pub fn new(data_dir: impl Into<String>) -> Self {
        CoreConfig {
            data_dir: data_dir.into(),
            device_id: None,
            font_path: None,
            photo_max_long_edge: None,
            jpeg_quality: None,
            store_key: None,
        }
    }
}

/// The person the records are made by. Set by the app after login (the sync issue
/// adds the login itself); kept across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct SignedInPerson {
    pub person_id: Id,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Signed in with a one-time password: the app shows the change-password screen
    /// (`change_password`) before anything else; the server refuses all else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// What still waits for the server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueueStatus {
    /// Records made on this device and not yet acknowledged by the server.
    pub queued_records: u64,
    /// Photos not yet uploaded, and their total size.
    pub queued_photos: u64,
    pub queued_photo_bytes: u64,
    /// The newest record's seq, and the highest seq the server has acknowledged.
    pub last_seq: u64,
    pub acked_seq: u64,
}

pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp_millis())
}

/// The core. `Send + Sync`; see docs/mobile-core.md for which calls may block.
pub struct Core {
    pub(crate) store: Store,
    pub(crate) dir: PathBuf,
    pub(crate) photo: PhotoSettings,
    pub(crate) font: FontCache,
    clock: Clock,
    /// One sync at a time; a second caller waits for the first to finish.
    pub(crate) sync_lock: std::sync::Mutex<()>,
}

impl Core {
    pub fn open(config: CoreConfig) -> Result<Core> {
        Self::open_with_clock(config, system_clock())
    }

    /// Opens with an injected clock, so tests can walk a patrol at a chosen hour.
    pub fn open_with_clock(config: CoreConfig, clock: Clock) -> Result<Core> {
        if config.data_dir.trim().is_empty() {
            return Err(Error::invalid("data_dir", Reason::DataDirNeeded));
        }
        let photo = PhotoSettings::from_config(&config)?;
        let dir = PathBuf::from(&config.data_dir);
        let key = config.store_key.as_deref().map(|k| StoreKey::from_bytes("store_key", k)).transpose()?;
        let store = Store::open(&dir, config.device_id, key)?;
        photos::prepare_dirs(&dir)?;
        Ok(Core { store, dir, photo, font: FontCache::default(), clock, sync_lock: std::sync::Mutex::new(()) })
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    pub fn device_id(&self) -> Id {
        self.store.device()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn sign_in_locally(&self, person: SignedInPerson) -> Result<()> {
        check_text("display_name", &person.display_name, limits::NAME_MAX, true)?;
        if person.roles.len() > 100 {
            return Err(Error::invalid("roles", Reason::TooMany { max: 100 }));
        }
        let json = serde_json::to_string(&person)?;
        self.store.write(|tx| store::meta_set(tx, "person", &json))
    }

    pub fn sign_out_locally(&self) -> Result<()> {
        self.store.write(|tx| {
            tx.execute("DELETE FROM meta WHERE key = 'person'", [])?;
            Ok(())
        })
    }

    pub fn signed_in(&self) -> Result<Option<SignedInPerson>> {
        self.store.read(signed_in)
    }

    /// The person and envelope for a record made now, inside a write transaction.
    pub(crate) fn author(&self, conn: &Connection) -> Result<(SignedInPerson, Author)> {
        let person = signed_in(conn)?.ok_or(Error::NotSignedIn)?;
        let by = Author { person: person.person_id, device: self.store.device(), time_ms: self.now_ms() };
        Ok((person, by))
    }

    pub fn load_reference_json(&self, bundle_json: &str) -> Result<ReferenceCounts> {
        let bundle = reference::parse_bundle(bundle_json)?;
        self.store.write(|tx| reference::store_bundle(tx, &bundle))
    }

    pub fn sites(&self) -> Result<Vec<patrol_protocol::Site>> {
        self.store.read(|c| reference::list(c, None))
    }

    pub fn departments(&self, site_id: Id) -> Result<Vec<patrol_protocol::Department>> {
        self.store.read(|c| reference::list(c, Some(site_id)))
    }

    pub fn routes(&self, site_id: Id) -> Result<Vec<patrol_protocol::Route>> {
        self.store.read(|c| reference::list(c, Some(site_id)))
    }

    /// A route's checkpoints in walking order.
    pub fn route_checkpoints(&self, route_id: Id) -> Result<Vec<patrol_protocol::Checkpoint>> {
        self.store.read(|c| {
            let route: patrol_protocol::Route = reference::get(c, route_id)?;
            route.checkpoint_ids.iter().map(|id| reference::get(c, *id)).collect()
        })
    }

    pub fn queue_status(&self) -> Result<QueueStatus> {
        self.store.read(|c| {
            let (last, acked, photos, bytes) = store::queue(c)?;
            Ok(QueueStatus {
                queued_records: last.saturating_sub(acked),
                queued_photos: photos,
                queued_photo_bytes: bytes,
                last_seq: last,
                acked_seq: acked,
            })
        })
    }

    /// Records after `seq`, oldest first, at most `limit` (bounded to 1000), exactly as
    /// hashed: what the sync will push and what an auditor can check.
    pub fn records_after(&self, seq: u64, limit: u32) -> Result<Vec<Record>> {
        self.store.read(|c| store::records_after(c, seq, limit.clamp(1, 1000)))
    }

    /// Checks the whole log from the first record; returns how many records it holds.
    pub fn verify_log(&self) -> Result<u64> {
        self.store.read(store::verify_log)
    }

    /// Re-encrypts the store with `new_key` (32 bytes); afterwards only it opens the
    /// store. See `Store::rekey` for what a kill in the middle leaves.
    pub fn rekey_store(&self, new_key: &[u8]) -> Result<()> {
        self.store.rekey(StoreKey::from_bytes("new_key", new_key)?)
    }

    /// Throws the projections away and replays the log into them.
    pub fn rebuild_projections(&self) -> Result<u64> {
        self.store.write(store::projection::rebuild)
    }
}

pub(crate) fn signed_in(conn: &Connection) -> Result<Option<SignedInPerson>> {
    Ok(store::meta_get(conn, "person")?.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// A text a person typed: trimmed, and refused when required and empty or too long.
pub(crate) fn clean_text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(Error::invalid(field, Reason::Required));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(field, Reason::TooLong { max }));
    }
    check_text(field, v, max, required)?;
    Ok(v.to_string())
}
