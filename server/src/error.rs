//! The API's one error type: every failure becomes `{ "error", "message" }` JSON
//! with the right status, and internal details are logged, not sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patrol_protocol::api::ErrorBody;
use patrol_protocol::model::FieldError;

use crate::store::DbError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// The code (`token_expired`, `signed_out` …) and the message for people.
    #[error("{1}")]
    Unauthorized(&'static str, String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    UpgradeRequired(String),
    /// Signed in with a one-time password: only changing it is allowed.
    #[error("change the one-time password first / 请先修改临时密码")]
    PasswordChangeRequired,
    /// A store the request needs is down for now; the client retries later.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            ApiError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(code, _) => code,
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Invalid { .. } => "invalid_input",
            ApiError::TooManyRequests(_) => "too_many_requests",
            ApiError::UpgradeRequired(_) => "protocol_version",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn forbidden() -> ApiError {
        ApiError::Forbidden("you may not do this here / 您无权访问此内容".into())
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub fn body(&self) -> ErrorBody {
        let field = match self {
            ApiError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        ErrorBody { error: self.code().into(), message: self.to_string(), field }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            // The database's own words stay in the log: they name tables and columns.
            DbError::Unique(what) => {
                tracing::info!(detail = %what, "unique constraint refused a write");
                ApiError::Conflict(
                    "this conflicts with something already stored (sent twice at once?); nothing was changed / \
                     与已保存的内容冲突（可能重复提交），本次未作任何修改"
                        .into(),
                )
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid { field: e.field.into(), reason: e.reason }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "a store is unavailable"),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            // Sign-in budgets refill within a minute; a busy store or hasher within seconds.
            ApiError::TooManyRequests(_) => {
                headers.insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
            }
            ApiError::Unavailable(_) => {
                headers.insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
            }
            ApiError::Unauthorized(..) => {
                headers.insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
