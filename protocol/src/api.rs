//! Request and response shapes of the HTTP API shared by server and clients.

use serde::{Deserialize, Serialize};

use crate::Id;
use crate::model::{Role, Site};

/// Version of the API and sync protocol; a client speaking another one is told to update.
pub const PROTOCOL_VERSION: u32 = 1;
/// Header in which clients announce the protocol version they speak.
pub const PROTOCOL_HEADER: &str = "x-patrol-protocol";

/// Every error the API returns: `{ "error": "<code>", "message": "<human text>" }`,
/// with the text in both languages beside it. `message` is in the language the request
/// asked for with `Accept-Language` (Chinese unless English is preferred);
/// `message_zh` and `message_en` are always both there, and `reason` is the finer
/// code of why (`reason::Reason::code`), for programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    /// The offending field, for invalid input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, as a stable code (`too_long`, `sync_gap` …); empty from older servers.
    #[serde(default)]
    pub reason: String,
    /// The message in Chinese; empty from older servers.
    #[serde(default)]
    pub message_zh: String,
    /// The message in English; empty from older servers.
    #[serde(default)]
    pub message_en: String,
    /// The request's id (`x-request-id`), to find it in the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// The Chinese text, or `message` from a server that sent no `message_zh`.
    pub fn text_zh(&self) -> &str {
        if self.message_zh.is_empty() { &self.message } else { &self.message_zh }
    }

    /// The English text, or `message` from a server that sent no `message_en`.
    pub fn text_en(&self) -> &str {
        if self.message_en.is_empty() { &self.message } else { &self.message_en }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    /// The app installation or browser the tokens are bound to.
    pub device_id: Id,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
    pub device_id: Id,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogoutRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub person_id: Id,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Signed in with a one-time password (an administrator's reset): the app must
    /// have the person choose a new one (`POST /api/v1/me/password`) before anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// What the signed-in person may see: their roles and sites.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    pub person_id: Id,
    pub org_id: Id,
    pub login: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub sites: Vec<Site>,
}
