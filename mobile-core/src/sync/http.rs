//! The core's HTTP client: blocking (no async runtime in the apps' core), with
//! timeouts so a half-open connection cannot hang a sync, and JSON errors decoded.

use std::time::Duration;

use patrol_protocol::api::{ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION};
use patrol_protocol::reason::Reason;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest JSON answer the core reads (a pull page is far below this).
const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug)]
pub enum HttpError {
    /// No answer: connection refused or cut, timeout, or an unreadable answer.
    Network(String),
    /// The server answered with an error status and (usually) a JSON body.
    Status { status: u16, body: Box<ErrorBody> },
}

impl HttpError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            HttpError::Network(_) => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            HttpError::Network(m) => m.clone(),
            HttpError::Status { status, body } => format!("{status} {}: {}", body.error, body.message),
        }
    }
}

pub struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    pub fn new(base: &str) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("patrol-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, base: base.trim_end_matches('/').to_string() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn finish<R: DeserializeOwned>(
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<R, HttpError> {
        let mut resp = result.map_err(|e| HttpError::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_JSON_BYTES)
            .read_to_string()
            .map_err(|e| HttpError::Network(format!("reading the answer: {e}")))?;
        if (200..300).contains(&status) {
            let text = if text.is_empty() { "null" } else { text.as_str() };
            return serde_json::from_str(text).map_err(|e| HttpError::Network(format!("unreadable answer: {e}")));
        }
        // Not our JSON (a proxy's page): the status says what happened.
        let body = serde_json::from_str(&text).unwrap_or_else(|_| {
            let why = Reason::ServerAnswered { status: u32::from(status) };
            let shown: String = text.chars().take(200).collect();
            ErrorBody {
                error: format!("http_{status}"),
                message_en: format!("{}: {shown}", why.en()),
                message_zh: why.zh(),
                reason: why.code().into(),
                message: shown,
                field: None,
                request_id: None,
            }
        });
        Err(HttpError::Status { status, body: Box::new(body) })
    }

    pub fn post_json<T: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &T,
    ) -> Result<R, HttpError> {
        let mut req = self.agent.post(self.url(path)).header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        Self::finish(req.send_json(body))
    }

    pub fn get_json<R: DeserializeOwned>(&self, path: &str, token: &str) -> Result<R, HttpError> {
        let req = self
            .agent
            .get(self.url(path))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header("authorization", format!("Bearer {token}"));
        Self::finish(req.call())
    }

    pub fn put_bytes<R: DeserializeOwned>(&self, path: &str, token: &str, bytes: &[u8]) -> Result<R, HttpError> {
        let req = self
            .agent
            .put(self.url(path))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/octet-stream");
        Self::finish(req.send(bytes))
    }
}
