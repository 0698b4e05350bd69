//! The API's one error type: every failure carries a typed `Reason` (worded in
//! Chinese and English in `patrol_protocol::reason`) and becomes
//! `{ "error", "message", "message_zh", "message_en", "reason", "field" }` JSON with the
//! right status; `message` is in the reader's language (`Accept-Language`, Chinese
//! unless English is preferred). Internal details are logged, not sent.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_protocol::api::ErrorBody;
use patrol_protocol::model::FieldError;
use patrol_protocol::reason::{Reason, Texts, Thing};

use crate::store::DbError;
pub use patrol_cases::error::{DomainError, DomainResult};

#[derive(Debug, Clone)]
pub enum ApiError {
    BadRequest(Reason),
    /// The code (`token_expired`, `signed_out` …) and why.
    Unauthorized(&'static str, Reason),
    Forbidden(Reason),
    NotFound(Reason),
    Conflict(Reason),
    TooLarge(Reason),
    Invalid {
        field: String,
        reason: Reason,
    },
    TooManyRequests(Reason),
    UpgradeRequired(Reason),
    /// Signed in with a one-time password: only changing it is allowed.
    PasswordChangeRequired,
    /// A store the request needs is down for now; the client retries later. The
    /// detail goes to the log.
    Unavailable(Reason, String),
    /// A fault of ours; the detail goes to the log, the person reads `Reason::Internal`.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Display for ApiError {
    /// The English text, for logs and tests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.texts().en)
    }
}

impl std::error::Error for ApiError {}

/// The language an API caller reads: English when `Accept-Language` prefers it to
/// Chinese, else Chinese (the default, also without the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Zh,
    En,
}

impl Reader {
    pub fn of(headers: &HeaderMap) -> Reader {
        let Some(v) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Reader::Zh;
        };
        let mut best: Option<(f32, Reader)> = None;
        for (i, part) in v.split(',').enumerate().take(20) {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let reader = if tag == "zh" || tag.starts_with("zh-") {
                Reader::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Reader::En
            } else {
                continue;
            };
            // Earlier entries win ties, as the header lists them in preference order.
            let q = q - i as f32 * 1e-4;
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, reader));
            }
        }
        best.map_or(Reader::Zh, |(_, r)| r)
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(Reason::MethodNotAllowed) => StatusCode::METHOD_NOT_ALLOWED,
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
            ApiError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::Unavailable(..) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Why, as the typed reason every text is made from.
    pub fn reason(&self) -> &Reason {
        match self {
            ApiError::BadRequest(r)
            | ApiError::Unauthorized(_, r)
            | ApiError::Forbidden(r)
            | ApiError::NotFound(r)
            | ApiError::Conflict(r)
            | ApiError::TooLarge(r)
            | ApiError::Invalid { reason: r, .. }
            | ApiError::TooManyRequests(r)
            | ApiError::UpgradeRequired(r)
            | ApiError::Unavailable(r, _) => r,
            ApiError::PasswordChangeRequired => &Reason::PasswordChangeRequired,
            ApiError::Internal(_) => &Reason::Internal,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The text people read, in both languages (with the field for invalid input).
    pub fn texts(&self) -> Texts {
        match self.field() {
            Some(field) => self.reason().about(field),
            None => self.reason().texts(),
        }
    }

    pub fn forbidden() -> ApiError {
        ApiError::Forbidden(Reason::Forbidden)
    }

    pub fn not_found(thing: Thing) -> ApiError {
        ApiError::NotFound(Reason::NotFound { thing })
    }

    pub fn invalid(field: impl Into<String>, reason: Reason) -> ApiError {
        ApiError::Invalid { field: field.into(), reason }
    }

    pub fn body(&self, reader: Reader) -> ErrorBody {
        let Texts { zh, en } = self.texts();
        ErrorBody {
            error: self.code().into(),
            message: if reader == Reader::En { en.clone() } else { zh.clone() },
            field: self.field().map(str::to_string),
            reason: self.reason().code().into(),
            message_zh: zh,
            message_en: en,
            request_id: None,
        }
    }

    /// An error response of axum or tower (an extractor's rejection, a body limit, an
    /// unknown path, a wrong method) that carries no reason of ours, by its status; the
    /// plain-text detail (always English) is kept for the English text where it helps.
    pub fn from_status(status: StatusCode, detail: &str) -> ApiError {
        let detail: String = detail.chars().take(300).collect();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(Reason::RequestTooLarge),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::BadRequest(Reason::NeedsJson),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::BadRequest(Reason::MethodNotAllowed),
            StatusCode::NOT_FOUND => ApiError::not_found(Thing::Endpoint),
            StatusCode::UNPROCESSABLE_ENTITY => {
                ApiError::invalid("body", Reason::WrongType { detail: detail.trim().to_string() })
            }
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized("unauthenticated", Reason::SignInFirst),
            StatusCode::FORBIDDEN => ApiError::forbidden(),
            StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests(Reason::TooManyWrongPasswords),
            s if s.is_server_error() => ApiError::Internal(format!("{s}: {detail}")),
            _ => ApiError::BadRequest(Reason::MalformedRequest),
        }
    }
}

/// The use cases' mapping (a unique violation is 409, anything else a fault of ours).
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        DomainError::from(e).into()
    }
}

/// Every refusal of a use case is a 4xx; only a store that is down or a fault of
/// ours is a 5xx.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::BadRequest(r) => ApiError::BadRequest(r),
            DomainError::Forbidden(r) => ApiError::Forbidden(r),
            DomainError::NotFound(r) => ApiError::NotFound(r),
            DomainError::Conflict(r) => ApiError::Conflict(r),
            DomainError::TooLarge(r) => ApiError::TooLarge(r),
            DomainError::Invalid { field, reason } => ApiError::Invalid { field, reason },
            DomainError::TooManyRequests(r) => ApiError::TooManyRequests(r),
            DomainError::Unavailable(r, detail) => ApiError::Unavailable(r, detail),
            DomainError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        DomainError::from(e).into()
    }
}

/// The error behind a response, kept in its extensions: the API's middleware answers
/// in the reader's language from it, and the console renders its page from it.
#[derive(Debug, Clone)]
pub struct Cause(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(detail) => tracing::error!(%detail, "request failed"),
            ApiError::Unavailable(_, detail) => tracing::warn!(%detail, "a store is unavailable"),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body(Reader::Zh))).into_response();
        let headers = response.headers_mut();
        match &self {
            // Sign-in budgets refill within a minute; a busy store or hasher within seconds.
            ApiError::TooManyRequests(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            }
            ApiError::Unavailable(..) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Unauthorized(..) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response.extensions_mut().insert(Cause(self));
        response
    }
}

/// Gives every error response of the API its JSON body in the reader's language:
/// ours are re-worded when English is asked for, and axum's own plain-text or empty
/// refusals (bad JSON, a missing content type, a wrong method, an unknown path, a
/// body over the limit) are replaced by ours, so no client ever gets English-only text.
pub async fn answer_in_reader_language(reader: Reader, request_id: Option<String>, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let response = if response.extensions().get::<Cause>().is_some() {
        response
    } else {
        let content_type = response.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes().to_vec());
        // Pages (the console's) and JSON of some other kind are left alone.
        if content_type.is_some_and(|t| t.starts_with(b"text/html") || t.starts_with(b"application/json")) {
            return response;
        }
        framework_refusal(response).await
    };
    match response.extensions().get::<Cause>().cloned() {
        // Ours are written in Chinese without the request's id: written again when
        // English is asked for or the request has an id (always, behind `app::router`).
        Some(Cause(error)) if reader == Reader::En || request_id.is_some() => {
            let (mut parts, _) = response.into_parts();
            let body = ErrorBody { request_id, ..error.body(reader) };
            let body = serde_json::to_vec(&body).unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(body))
        }
        _ => response,
    }
}

/// A refusal of axum or tower (plain text or empty) as ours, same status.
pub async fn framework_refusal(response: Response) -> Response {
    let status = response.status();
    let allow = response.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).into_owned();
    tracing::debug!(%status, %detail, "a framework refusal answered with a reason");
    let mut r = ApiError::from_status(status, &detail).into_response();
    *r.status_mut() = status;
    if let Some(allow) = allow {
        r.headers_mut().insert(header::ALLOW, allow);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_is_chinese_unless_english_is_preferred() {
        let reader = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
            Reader::of(&h)
        };
        assert_eq!(Reader::of(&HeaderMap::new()), Reader::Zh);
        assert_eq!(reader("en-US,en;q=0.9"), Reader::En);
        assert_eq!(reader("zh-CN,zh;q=0.9,en;q=0.8"), Reader::Zh);
        assert_eq!(reader("en;q=0.5,zh;q=0.8"), Reader::Zh);
        assert_eq!(reader("fr-FR,en;q=0.7"), Reader::En);
        assert_eq!(reader("fr-FR"), Reader::Zh);
        assert_eq!(reader("en;q=0"), Reader::Zh);
        assert_eq!(reader("*"), Reader::Zh);
    }

    #[test]
    fn an_error_body_carries_both_languages_and_the_readers_as_message() {
        let e = ApiError::invalid("name_zh", Reason::Required);
        let zh = e.body(Reader::Zh);
        assert_eq!(zh.message, "name_zh（中文名称）：不能为空");
        assert_eq!(zh.message_en, "name_zh: must not be empty");
        assert_eq!(zh.reason, "required");
        assert_eq!(zh.field.as_deref(), Some("name_zh"));
        assert_eq!(e.body(Reader::En).message, "name_zh: must not be empty");
        assert_eq!(ApiError::Internal("secret table name".into()).body(Reader::En).message_en, Reason::Internal.en());
    }
}
