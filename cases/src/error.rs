//! A use case's refusal: a kind and a typed `Reason` (worded in Chinese and English in
//! `patrol_protocol::reason`). The server maps each kind to its HTTP status (4xx for
//! every refusal, 5xx only for `Unavailable` and `Internal`); the use cases know
//! nothing of HTTP.

use patrol_protocol::model::FieldError;
use patrol_protocol::reason::{Reason, Texts, Thing};

use crate::store::DbError;

#[derive(Debug, Clone)]
pub enum DomainError {
    /// The request cannot be read as asked.
    BadRequest(Reason),
    /// The actor may not do this.
    Forbidden(Reason),
    NotFound(Reason),
    /// The stored state does not allow it (a gap, a fork, a taken name).
    Conflict(Reason),
    TooLarge(Reason),
    /// One field of the input is wrong; `field` names it.
    Invalid {
        field: String,
        reason: Reason,
    },
    TooManyRequests(Reason),
    /// A store the use case needs is down for now; the caller may retry. The detail
    /// is for the log.
    Unavailable(Reason, String),
    /// A fault of ours; the detail is for the log, people read `Reason::Internal`.
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn forbidden() -> DomainError {
        DomainError::Forbidden(Reason::Forbidden)
    }

    pub fn not_found(thing: Thing) -> DomainError {
        DomainError::NotFound(Reason::NotFound { thing })
    }

    pub fn invalid(field: impl Into<String>, reason: Reason) -> DomainError {
        DomainError::Invalid { field: field.into(), reason }
    }

    /// Why, as the typed reason every text is made from.
    pub fn reason(&self) -> &Reason {
        match self {
            DomainError::BadRequest(r)
            | DomainError::Forbidden(r)
            | DomainError::NotFound(r)
            | DomainError::Conflict(r)
            | DomainError::TooLarge(r)
            | DomainError::Invalid { reason: r, .. }
            | DomainError::TooManyRequests(r)
            | DomainError::Unavailable(r, _) => r,
            DomainError::Internal(_) => &Reason::Internal,
        }
    }

    /// The field of the input that is wrong, for invalid input.
    pub fn field(&self) -> Option<&str> {
        match self {
            DomainError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The text people read, in both languages (with the field for invalid input).
    pub fn texts(&self) -> Texts {
        match self {
            DomainError::Invalid { field, reason } => reason.about(field),
            other => other.reason().texts(),
        }
    }
}

impl std::fmt::Display for DomainError {
    /// The English text, for logs and tests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.texts().en)
    }
}

impl std::error::Error for DomainError {}

impl From<DbError> for DomainError {
    fn from(e: DbError) -> Self {
        match e {
            // The database's own words stay in the log: they name tables and columns.
            DbError::Unique(what) => {
                tracing::info!(detail = %what, "unique constraint refused a write");
                DomainError::Conflict(Reason::Conflict)
            }
            other => DomainError::Internal(other.to_string()),
        }
    }
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        DomainError::Invalid { field: e.field.into(), reason: e.reason }
    }
}
