//! The extractors handlers read requests with — `Json`, `Path` and `Query`, in place of
//! axum's — whose refusals are `ApiError`s with a typed reason naming the field, not
//! axum's English plain text ("Failed to deserialize the JSON body …").

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_protocol::reason::Reason;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body (request) or answer (response), like `axum::Json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
        if !is_json {
            return Err(ApiError::BadRequest(Reason::NeedsJson));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(Reason::RequestTooLarge)
            } else {
                ApiError::BadRequest(Reason::MalformedRequest)
            }
        })?;
        parse(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON body of type `T` taken as its bytes, for a handler that bounds or counts
/// them before it parses (the push). Documented as `T`.
pub struct JsonBytes<T>(pub Bytes, pub std::marker::PhantomData<T>);

impl<T, S: Send + Sync> FromRequest<S> for JsonBytes<T> {
    type Rejection = axum::extract::rejection::BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBytes(Bytes::from_request(req, state).await?, std::marker::PhantomData))
    }
}

/// Reads JSON, answering as axum's `Json` would (400 for text that is not JSON, 422
/// for JSON of the wrong shape) but with a reason naming where it went wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_located(bytes).map_err(|(field, reason)| match field {
        Some(field) => ApiError::Invalid { field, reason },
        None => ApiError::BadRequest(reason),
    })
}

/// Reads JSON; a refusal says which field (`None` when the text is not JSON at all)
/// and why.
pub fn parse_located<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, (Option<String>, Reason)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let (field, reason) = json_refusal(path.clone(), e.into_inner());
        // An unknown field's path ends with its own name: the field is where it sits.
        let field = field.map(|f| match &reason {
            Reason::JsonUnknownField { name } if f == *name => String::new(),
            Reason::JsonUnknownField { name } => f.strip_suffix(&format!(".{name}")).unwrap_or(&f).to_string(),
            _ => f,
        });
        let field = field.map(|f| if f == "." || f.is_empty() { "body".to_string() } else { f });
        (field, reason)
    })?;
    de.end().map_err(|e| json_refusal("body".into(), e))?;
    Ok(value)
}

fn json_refusal(field: String, e: serde_json::Error) -> (Option<String>, Reason) {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Io => (None, Reason::JsonSyntax { line: e.line(), column: e.column() }),
        Category::Eof => (None, Reason::JsonCutShort),
        Category::Data => {
            let text = e.to_string();
            // serde's words, without the position it appends.
            let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(t, _)| t);
            (Some(field), data_reason(text))
        }
    }
}

/// Why a value does not fit, from serde's words (`missing field `code``, `unknown
/// variant `x`, expected …`); the rest is a wrong type, with serde's words in English.
fn data_reason(text: &str) -> Reason {
    let quoted = || text.split('`').nth(1).unwrap_or("").chars().take(64).collect::<String>();
    if text.starts_with("missing field") {
        Reason::JsonMissingField { name: quoted() }
    } else if text.starts_with("unknown field") {
        Reason::JsonUnknownField { name: quoted() }
    } else if text.starts_with("unknown variant") {
        Reason::JsonUnknownChoice { value: quoted() }
    } else {
        Reason::WrongType { detail: text.chars().take(200).collect() }
    }
}

/// Path parameters, like `axum::extract::Path`; a malformed one (an id that is not a
/// UUID) is refused naming it.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let name = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "id".to_string(),
                };
                Err(ApiError::BadRequest(Reason::BadPathPart { name }))
            }
            Err(other) => Err(ApiError::Internal(other.body_text())),
        }
    }
}

/// The query string, like `axum::extract::Query`; a parameter that does not fit is
/// refused naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." || path.is_empty() { "query".to_string() } else { path };
            let reason = data_reason(&e.into_inner().to_string());
            ApiError::Invalid { field, reason }
        })
    }
}

/// The media types a JSON body may be sent as, as axum's `Json` takes them:
/// `application/json` and `application/…+json`, parameters (a charset) allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Site {
        code: String,
        radius: u32,
    }

    #[test]
    fn json_is_json_whatever_its_charset() {
        assert!(is_json("application/json") && is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json") && !is_json("text/plain") && !is_json("application/jsonx"));
    }

    #[test]
    fn a_json_body_that_does_not_fit_is_refused_naming_where() {
        let located = |text: &str| parse_located::<Site>(text.as_bytes()).unwrap_err();
        assert_eq!(located("{not json"), (None, Reason::JsonSyntax { line: 1, column: 2 }));
        assert_eq!(located("{\"code\": \"A\""), (None, Reason::JsonCutShort));
        assert_eq!(
            located("{\"code\": \"A\"}"),
            (Some("body".into()), Reason::JsonMissingField { name: "radius".into() })
        );
        assert_eq!(
            located("{\"code\": \"A\", \"radius\": 1, \"colour\": 2}"),
            (Some("body".into()), Reason::JsonUnknownField { name: "colour".into() })
        );
        let (field, reason) = located("{\"code\": 5, \"radius\": 1}");
        assert_eq!(field.as_deref(), Some("code"));
        assert!(matches!(reason, Reason::WrongType { .. }), "{reason:?}");
        assert_eq!(located("{\"code\": \"A\", \"radius\": 1} x"), (None, Reason::JsonSyntax { line: 1, column: 28 }));
    }
}
