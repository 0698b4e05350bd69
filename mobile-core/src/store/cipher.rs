//! Encryption at rest: the store is a SQLCipher file keyed with 32 random bytes the app
//! keeps in the Android Keystore / iOS Keychain (docs/mobile-core.md, "Encryption at
//! rest"). Here: the key, applying it to a connection, telling a wrong key from a
//! damaged file, and writing a copy of the store under another key (used to encrypt a
//! store left plain by an older app and to change the key) that is swapped in by one
//! rename, so a kill at any moment leaves either the old file or the new one whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use patrol_protocol::reason::Reason;
use rusqlite::{Connection, ErrorCode};

use crate::error::{Error, Result};

/// The first 16 bytes of every plain SQLite file; an encrypted one starts with its
/// random salt instead.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The store's key: exactly 32 bytes, used as SQLCipher's raw key (no passphrase
/// derivation: the bytes are random already, and opening stays fast). Its bytes are
/// overwritten when it is dropped; its `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// The key from the app's bytes; any other length is refused as `field`.
    pub fn from_bytes(field: &str, bytes: &[u8]) -> Result<StoreKey> {
        let raw: [u8; 32] =
            bytes.try_into().map_err(|_| Error::invalid(field, Reason::StoreKeyLength { len: bytes.len() }))?;
        Ok(StoreKey(raw))
    }

    /// SQLCipher's raw-key spelling, `x'<64 hex digits>'`, as a value to bind or quote.
    fn raw_key_text(&self) -> String {
        format!("x'{}'", hex::encode(self.0))
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        // Best effort: the compiler may have copied the bytes elsewhere, and SQLCipher
        // keeps its own copy for the life of the connection.
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference to a u8.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// Gives `conn` its key. Must come before anything reads the file: nothing is read or
/// written until the first statement that needs the schema.
pub fn apply_key(conn: &Connection, key: Option<&StoreKey>) -> Result<()> {
    if let Some(key) = key {
        // Hex digits only: nothing here can break out of the quotes.
        conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.raw_key_text()))?;
    }
    Ok(())
}

/// Reads the schema once, which is where a wrong key shows: SQLCipher cannot
/// authenticate page 1 and answers "file is not a database". That read writes nothing.
pub fn check_key(conn: &Connection) -> Result<()> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::NotADatabase => Err(Error::WrongKey),
        Err(e) => Err(e.into()),
    }
}

/// Whether the file at `path` is a plain (unencrypted) SQLite database: a store made
/// by an app version before encryption. A missing or empty file is not.
pub fn is_plain(path: &Path) -> Result<bool> {
    let mut head = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut f) => match f.read_exact(&mut head) {
            Ok(()) => Ok(&head == PLAIN_HEADER),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(Error::io(path)(e)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// Where a copy of the store under a new key is written before it replaces the store.
pub fn copy_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().expect("the store has a file name").to_os_string();
    name.push(".rekeying");
    path.with_file_name(name)
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().expect("the store has a file name").to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Removes what a kill during [`export_copy`] may have left: the copy and its journal.
/// The store itself was not touched before the swap, so it is still whole.
pub fn remove_stale_copy(path: &Path) -> Result<()> {
    let copy = copy_path(path);
    for p in [sidecar(&copy, "-journal"), copy] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(p)(e)),
        }
    }
    Ok(())
}

/// Writes every table, index, row and the schema version the connection `from` sees
/// into a new file beside `path`, encrypted with `to` (SQLCipher's `sqlcipher_export`),
/// and makes it durable. The caller keeps others from writing meanwhile.
pub fn export_copy(from: &Connection, path: &Path, to: &StoreKey) -> Result<PathBuf> {
    remove_stale_copy(path)?;
    let copy = copy_path(path);
    let copy_text = copy.to_str().ok_or_else(|| Error::Corrupt(format!("path {} is not UTF-8", copy.display())))?;
    let version: i64 = from.pragma_query_value(None, "user_version", |r| r.get(0))?;
    from.execute("ATTACH DATABASE ?1 AS rekeyed KEY ?2", [copy_text, &to.raw_key_text()])?;
    let exported = (|| -> Result<()> {
        from.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))?;
        // sqlcipher_export copies the schema and rows; the version is set here.
        from.execute_batch(&format!("PRAGMA rekeyed.user_version = {version};"))?;
        Ok(())
    })();
    let detached = from.execute_batch("DETACH DATABASE rekeyed;");
    exported?;
    detached?;
    std::fs::File::open(&copy).and_then(|f| f.sync_all()).map_err(Error::io(&copy))?;
    Ok(copy)
}

/// Puts the copy in the store's place with one rename. Every connection to the store
/// must be closed: the last close folds the write-ahead log into the file and removes
/// it, and a log left beside the new file would belong to the old one, so an old log
/// with frames in it stops the swap (the old store stays, whole).
pub fn swap_in(copy: &Path, path: &Path) -> Result<()> {
    let wal = sidecar(path, "-wal");
    match std::fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => {
            return Err(Error::Corrupt(format!(
                "{} still holds {} bytes; the store was not replaced",
                wal.display(),
                m.len()
            )));
        }
        Ok(_) => std::fs::remove_file(&wal).map_err(Error::io(&wal))?,
        Err(_) => {}
    }
    let shm = sidecar(path, "-shm");
    if shm.exists() {
        std::fs::remove_file(&shm).map_err(Error::io(&shm))?;
    }
    std::fs::rename(copy, path).map_err(Error::io(path))?;
    let dir = path.parent().expect("the store lives in a directory");
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir))?;
    Ok(())
}

/// A store left plain by an app version before encryption, encrypted in place with
/// `key` on the first open that has one: an encrypted copy, then the swap. A kill
/// before the swap leaves the plain store (the next open starts again); after it, the
/// encrypted one. The plain bytes are unlinked, not wiped: flash storage keeps no
/// promise about overwriting, so they are gone only as far as the file system says.
pub fn encrypt_plain_store(path: &Path, key: &StoreKey) -> Result<()> {
    let copy = {
        let plain = Connection::open(path)?;
        check_key(&plain)?;
        export_copy(&plain, path, key)?
        // `plain` closes here: its log is folded in and removed.
    };
    swap_in(&copy, path)?;
    tracing::info!(store = %path.display(), "a plain store was encrypted");
    Ok(())
}
