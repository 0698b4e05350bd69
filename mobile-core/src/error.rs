//! The two error types of the core: the rich internal `Error` every module returns,
//! and the small `PatrolError` the apps see, with the one function that maps them.

use std::path::PathBuf;

use patrol_protocol::model::FieldError;
use patrol_protocol::notice::Refusal;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the core, with enough detail to debug it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("stored data does not parse: {0}")]
    StoredJson(#[from] serde_json::Error),
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    #[error("{field}: {en}")]
    Invalid { field: String, en: String, zh: String },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{en}")]
    Conflict { en: String, zh: String },
    #[error("notice action refused: {0}")]
    Refused(#[from] Refusal),
    #[error("nobody is signed in on this device")]
    NotSignedIn,
    #[error("the image does not decode: {0}")]
    Image(#[from] image::ImageError),
    #[error("a lock was poisoned by a panic on another thread")]
    Poisoned,
    #[error("network: {0}")]
    Network(String),
    #[error("the server refused the session: {0}")]
    Unauthorized(String),
    #[error("the server speaks another protocol version: {0}")]
    Outdated(String),
    #[error("the server answered {status} {code}: {detail}")]
    Server { status: u16, code: String, detail: String },
}

impl Error {
    /// Bad input from the app or the person, in both languages.
    pub fn invalid(field: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), en: en.into(), zh: zh.into() }
    }

    pub fn conflict(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Error::Conflict { en: en.into(), zh: zh.into() }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Error::NotFound { what, id: id.to_string() }
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

impl Error {
    /// The disk (or the app's quota) is full: SQLite reports SQLITE_FULL or a failed
    /// write, the file system ENOSPC / EFBIG / EDQUOT.
    pub fn is_storage_full(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            Error::Sql(rusqlite::Error::SqliteFailure(f, _)) => {
                matches!(f.code, ErrorCode::DiskFull | ErrorCode::SystemIoFailure)
            }
            Error::Io { source, .. } => matches!(source.raw_os_error(), Some(28 | 27 | 122)),
            _ => false,
        }
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        // The protocol's bounds speak English only; the field name tells the UI where.
        Error::Invalid { field: e.field.into(), zh: format!("输入不符合要求：{}", e.reason), en: e.reason }
    }
}

/// What the apps see. Few variants, each one a UI can act on. No field is called
/// `message`: Kotlin exceptions already have one and the generated code breaks.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PatrolError {
    /// The server could not be reached (used by the sync, later).
    #[error("network: {detail}")]
    Network { detail: String },
    /// Nobody is signed in, or the server no longer accepts the session.
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: String },
    /// The input was refused; `field` says which, `reason` and `reason_zh` say why.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String, reason_zh: String },
    #[error("{what} not found: {id}")]
    NotFound { what: String, id: String },
    /// The request clashes with the current state (a finished run, a notice in
    /// another state); nothing was changed.
    #[error("conflict: {reason}")]
    Conflict { reason: String, reason_zh: String },
    /// The device's storage failed; the app should tell the person and not retry blindly.
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// The server speaks another protocol version: the app must be updated.
    #[error("update the app: {detail}")]
    Outdated { detail: String },
}

/// The error an app gets for an id argument that is not a UUID, whatever function or
/// record carried it: registered with the protocol crate's id conversion
/// ([`register_ffi_errors`]), so uniffi hands it over as `PatrolError`.
fn malformed_id(text: &str) -> uniffi::deps::anyhow::Error {
    let shown: String = text.chars().take(40).collect();
    uniffi::deps::anyhow::Error::new(PatrolError::InvalidInput {
        field: "id".into(),
        reason: format!("{shown:?} is not an id (a UUID such as 0190f1c2-…)"),
        reason_zh: "编号格式不正确".into(),
    })
}

/// Makes every id conversion at the FFI answer with [`PatrolError`]. Idempotent; run
/// by every entry point that may receive an id before anything else.
pub fn register_ffi_errors() {
    let _ = patrol_protocol::ffi::MALFORMED_ID.set(malformed_id);
}

/// The one place internal errors become public ones, and where we decide what to log:
/// storage failures are logged (they are our bugs or a dying disk), user errors not.
impl From<Error> for PatrolError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { field, en, zh } => PatrolError::InvalidInput { field, reason: en, reason_zh: zh },
            Error::Image(err) => PatrolError::InvalidInput {
                field: "photo".into(),
                reason: format!("the image cannot be read: {err}"),
                reason_zh: "照片无法读取".into(),
            },
            Error::NotFound { what, id } => PatrolError::NotFound { what: what.into(), id },
            Error::Conflict { en, zh } => PatrolError::Conflict { reason: en, reason_zh: zh },
            Error::Refused(r) => PatrolError::Conflict { reason: r.to_string(), reason_zh: r.message_zh() },
            Error::NotSignedIn => PatrolError::Unauthorized { detail: "nobody is signed in on this device".into() },
            Error::Network(detail) => PatrolError::Network { detail },
            Error::Unauthorized(detail) => PatrolError::Unauthorized { detail },
            Error::Outdated(detail) => PatrolError::Outdated { detail },
            // A server fault is worth retrying later, like a network fault.
            Error::Server { status, code, detail } if status >= 500 => {
                PatrolError::Network { detail: format!("{status} {code}: {detail}") }
            }
            Error::Server { code, detail, .. } => {
                PatrolError::Conflict { reason: format!("{code}: {detail}"), reason_zh: detail }
            }
            e if e.is_storage_full() => {
                tracing::warn!(error = %e, "storage full");
                PatrolError::Storage {
                    detail: format!(
                        "the phone's storage is full; nothing of this action was saved. Free some space and try \
                         again / 手机存储空间不足，本次操作未保存，请清理空间后重试 ({e})"
                    ),
                }
            }
            e @ (Error::Sql(_) | Error::Io { .. } | Error::StoredJson(_) | Error::Corrupt(_) | Error::Poisoned) => {
                tracing::error!(error = %e, "storage failure");
                PatrolError::Storage { detail: e.to_string() }
            }
        }
    }
}

#[cfg(test)]
mod ffi_error_tests {
    use super::*;

    #[test]
    fn a_malformed_id_becomes_the_apps_invalid_input_error() {
        register_ffi_errors();
        let make = patrol_protocol::ffi::MALFORMED_ID.get().expect("registered");
        let e = make("not-a-uuid").downcast::<PatrolError>().expect("uniffi downcasts it to the function's error type");
        assert!(
            matches!(e, PatrolError::InvalidInput { ref field, ref reason_zh, .. } if field == "id" && reason_zh.contains("编号")),
            "{e:?}"
        );
    }
}
