//! The `Link: <…>; rel="next"` header of a keyset page; the cursor and the SQL are
//! `patrol_cases::paging`, re-exported here.

pub use patrol_cases::paging::*;

use axum::http::{HeaderMap, HeaderValue, header};

use crate::error::{ApiError, ApiResult};

/// `Link: <path?limit=…&before=…>; rel="next"` when another page follows.
pub fn next_link(path: &str, limit: i64, next: Option<Before>) -> ApiResult<HeaderMap> {
    let mut headers = HeaderMap::new();
    if let Some(n) = next {
        let link = format!("<{path}?limit={limit}&before={n}>; rel=\"next\"");
        headers.insert(header::LINK, HeaderValue::from_str(&link).map_err(|e| ApiError::Internal(e.to_string()))?);
    }
    Ok(headers)
}
