//! The two error types of the core: the rich internal `Error` every module returns,
//! and the small `PatrolError` the apps see, with the one function that maps them.

use std::path::PathBuf;

use patrol_protocol::model::FieldError;
use patrol_protocol::notice::Refusal;
use patrol_protocol::reason::{Reason, Texts, Thing};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the core, with enough detail to debug it. What
/// a person reads is made from a typed `Reason` (`patrol_protocol::reason`), or comes
/// from the server already in both languages.
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
    /// The store does not open with the key given (or is no store at all); nothing
    /// was read or written.
    #[error("the store does not open with this key")]
    WrongKey,
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
    /// The server no longer accepts the session (or the password), in its words.
    #[error("the server refused the session: {en}")]
    Unauthorized { en: String, zh: String },
    #[error("the server speaks another protocol version: {en}")]
    Outdated { en: String, zh: String },
    /// Any other refusal of the server: its status, its codes (`error` and the finer
    /// `reason`) and its texts in both languages.
    #[error("the server answered {status} {code}: {en}")]
    Server { status: u16, code: String, reason: String, en: String, zh: String },
}

impl Error {
    /// Bad input from the app or the person, worded from its reason in both languages.
    pub fn invalid(field: &str, why: Reason) -> Self {
        Error::Invalid { field: field.into(), en: why.en(), zh: why.zh() }
    }

    pub fn conflict(why: Reason) -> Self {
        Error::Conflict { en: why.en(), zh: why.zh() }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Error::NotFound { what, id: id.to_string() }
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// The server's refusal of this kind (`sync_gap`, `sync_fork` …): by its reason
    /// code, or, from a server older than reason codes, by the code its text starts with.
    pub fn is_server_reason(&self, code: &str) -> bool {
        matches!(self, Error::Server { reason, en, .. } if reason == code || (reason.is_empty() && en.starts_with(code)))
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
        // The field name tells the UI where; the reason says why, in both languages.
        Error::invalid(e.field, e.reason)
    }
}

/// What the apps see. Few variants, each one a UI can act on, each with its text in
/// English and in Chinese (`…_zh`). No field is called `message`: Kotlin exceptions
/// already have one and the generated code breaks.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PatrolError {
    /// The server could not be reached (or failed); the sync tries again later.
    #[error("network: {detail}")]
    Network { detail: String, detail_zh: String },
    /// Nobody is signed in, or the server no longer accepts the session.
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: String, detail_zh: String },
    /// The input was refused; `field` says which, `reason` and `reason_zh` say why.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String, reason_zh: String },
    /// `what` (`run`, `notice`, `photo`, `checkpoint` …) with this id is not known here.
    #[error("{what} not found: {id}")]
    NotFound { what: String, id: String, reason: String, reason_zh: String },
    /// The request clashes with the current state (a finished run, a notice in
    /// another state); nothing was changed.
    #[error("conflict: {reason}")]
    Conflict { reason: String, reason_zh: String },
    /// The device's storage failed; the app should tell the person and not retry blindly.
    #[error("storage: {detail}")]
    Storage { detail: String, detail_zh: String },
    /// The server speaks another protocol version: the app must be updated.
    #[error("update the app: {detail}")]
    Outdated { detail: String, detail_zh: String },
    /// The store does not open with the key in `CoreConfig` (or is not a store):
    /// nothing on disk was changed. The app must not make a new key or delete the data
    /// (the records may not be on the server yet); it tries the key it kept from before
    /// a key change, else tells the person to contact the administrator.
    #[error("wrong store key: {detail}")]
    WrongKey { detail: String, detail_zh: String },
}

/// The error an app gets for an id argument that is not a UUID, whatever function or
/// record carried it: registered with the protocol crate's id conversion
/// ([`register_ffi_errors`]), so uniffi hands it over as `PatrolError`.
fn malformed_id(text: &str) -> uniffi::deps::anyhow::Error {
    let why = Reason::NotAnId { shown: format!("{:?}", text.chars().take(40).collect::<String>()) };
    uniffi::deps::anyhow::Error::new(PatrolError::InvalidInput {
        field: "id".into(),
        reason: why.en(),
        reason_zh: why.zh(),
    })
}

/// Makes every id conversion at the FFI answer with [`PatrolError`]. Idempotent; run
/// by every entry point that may receive an id before anything else.
pub fn register_ffi_errors() {
    let _ = patrol_protocol::ffi::MALFORMED_ID.set(malformed_id);
}

/// What a `NotFound`'s `what` is called.
fn thing(what: &str) -> Thing {
    match what {
        "site" => Thing::Site,
        "department" => Thing::Department,
        "checkpoint" => Thing::Checkpoint,
        "route" => Thing::Route,
        "notice" => Thing::Notice,
        "run" => Thing::Run,
        "photo" => Thing::Photo,
        "person" => Thing::Person,
        _ => Thing::Record,
    }
}

impl Error {
    /// What a person reads about this error, in English and Chinese: the one place the
    /// texts of the public errors are made (from a `Reason`, or the server's own two).
    pub fn texts(&self) -> Texts {
        let both = |en: &str, zh: &str| Texts { en: en.to_string(), zh: zh.to_string() };
        match self {
            Error::Invalid { en, zh, .. }
            | Error::Conflict { en, zh }
            | Error::Unauthorized { en, zh }
            | Error::Outdated { en, zh } => both(en, zh),
            Error::Server { status, code, en, zh, .. } if *status >= 500 => both(&format!("{status} {code}: {en}"), zh),
            Error::Server { code, en, zh, .. } => both(&format!("{code}: {en}"), zh),
            Error::Image(err) => Reason::PhotoUnreadable { detail: err.to_string() }.texts(),
            Error::NotFound { what, id } => Reason::NotFoundHere { thing: thing(what), id: id.clone() }.texts(),
            Error::Refused(refusal) => Reason::NoticeRefused { refusal: refusal.clone() }.texts(),
            Error::NotSignedIn => Reason::NotSignedIn.texts(),
            Error::WrongKey => Reason::StoreKeyWrong.texts(),
            Error::Network(detail) => Reason::NoConnection { detail: detail.clone() }.texts(),
            e if e.is_storage_full() => Reason::StorageFull { detail: e.to_string() }.texts(),
            e @ (Error::Sql(_) | Error::Io { .. } | Error::StoredJson(_) | Error::Corrupt(_) | Error::Poisoned) => {
                Reason::StorageFailed { detail: e.to_string() }.texts()
            }
        }
    }
}

/// The one place internal errors become public ones, and where we decide what to log:
/// storage failures are logged (they are our bugs or a dying disk), user errors not.
impl From<Error> for PatrolError {
    fn from(e: Error) -> Self {
        let Texts { en, zh } = e.texts();
        match e {
            Error::Invalid { field, .. } => PatrolError::InvalidInput { field, reason: en, reason_zh: zh },
            Error::Image(_) => PatrolError::InvalidInput { field: "photo".into(), reason: en, reason_zh: zh },
            Error::NotFound { what, id } => PatrolError::NotFound { what: what.into(), id, reason: en, reason_zh: zh },
            Error::Conflict { .. } | Error::Refused(_) => PatrolError::Conflict { reason: en, reason_zh: zh },
            Error::NotSignedIn | Error::Unauthorized { .. } => PatrolError::Unauthorized { detail: en, detail_zh: zh },
            Error::Outdated { .. } => PatrolError::Outdated { detail: en, detail_zh: zh },
            Error::WrongKey => {
                tracing::warn!("the store does not open with the key given");
                PatrolError::WrongKey { detail: en, detail_zh: zh }
            }
            // A server fault is worth retrying later, like a network fault.
            Error::Network(_) => PatrolError::Network { detail: en, detail_zh: zh },
            Error::Server { status, .. } if status >= 500 => PatrolError::Network { detail: en, detail_zh: zh },
            Error::Server { .. } => PatrolError::Conflict { reason: en, reason_zh: zh },
            e if e.is_storage_full() => {
                tracing::warn!(error = %e, "storage full");
                PatrolError::Storage { detail: en, detail_zh: zh }
            }
            e @ (Error::Sql(_) | Error::Io { .. } | Error::StoredJson(_) | Error::Corrupt(_) | Error::Poisoned) => {
                tracing::error!(error = %e, "storage failure");
                PatrolError::Storage { detail: en, detail_zh: zh }
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

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
    }

    /// Every public error an app can get carries its text in Chinese and in English,
    /// never the one language inside the other ("输入不符合要求：contains control
    /// characters" was once shown).
    #[test]
    fn every_public_error_reads_in_chinese_and_in_english() {
        let field = patrol_protocol::model::check_text("note", "a\u{7}b", 100, true).unwrap_err();
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error { code: rusqlite::ErrorCode::DiskFull, extended_code: 13 },
            None,
        );
        let internal = vec![
            Error::from(field),
            Error::invalid("qr", Reason::QrEmptyOrLong),
            Error::not_found("run", "0190"),
            Error::conflict(Reason::RunOver),
            Error::Refused(Refusal::NeedsCorrectiveActionReport),
            Error::NotSignedIn,
            Error::WrongKey,
            Error::invalid("store_key", Reason::StoreKeyLength { len: 16 }),
            Error::Image(image::ImageError::Unsupported(image::error::UnsupportedError::from(
                image::error::ImageFormatHint::Unknown,
            ))),
            Error::Poisoned,
            Error::Corrupt("a stored id".into()),
            Error::Sql(full),
            Error::Network("connection refused".into()),
            Error::Unauthorized { en: "sign in again".into(), zh: "请重新登录".into() },
            Error::Outdated { en: "please update the app".into(), zh: "请更新应用".into() },
            Error::Server {
                status: 409,
                code: "conflict".into(),
                reason: "x".into(),
                en: "refused".into(),
                zh: "已拒绝".into(),
            },
            Error::Server {
                status: 503,
                code: "unavailable".into(),
                reason: "x".into(),
                en: "busy".into(),
                zh: "繁忙".into(),
            },
        ];
        for e in internal {
            let shown = format!("{e:?}");
            let (en, zh) = match PatrolError::from(e) {
                PatrolError::Network { detail, detail_zh }
                | PatrolError::Unauthorized { detail, detail_zh }
                | PatrolError::Storage { detail, detail_zh }
                | PatrolError::Outdated { detail, detail_zh }
                | PatrolError::WrongKey { detail, detail_zh } => (detail, detail_zh),
                PatrolError::InvalidInput { reason, reason_zh, .. }
                | PatrolError::NotFound { reason, reason_zh, .. }
                | PatrolError::Conflict { reason, reason_zh } => (reason, reason_zh),
            };
            assert!(has_cjk(&zh) && !zh.contains("contains"), "{shown}: the Chinese text is not Chinese: {zh}");
            assert!(!en.trim().is_empty() && !has_cjk(&en), "{shown}: the English text is not English: {en}");
        }
    }
}
