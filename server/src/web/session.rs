//! Browser sessions: the HttpOnly cookie, the session row behind it, the CSRF token
//! every form carries, and the extractors that turn a request into a policy `Actor`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::error::{FormSlot, WebError};
use super::i18n::{LANG_COOKIE, Lang};
use crate::error::ApiError;
use crate::policy::Actor;
use crate::state::AppState;
use crate::store::people;
use crate::store::web::{self as store, WebSession};
use patrol_protocol::reason::Reason;

pub const SESSION_COOKIE: &str = "patrol_session";
/// Before sign-in there is no session to hold a CSRF token, so the login form is
/// protected by a double-submit cookie instead.
pub const LOGIN_CSRF_COOKIE: &str = "patrol_login_csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// A session ends after this long without a request (a desk left unattended)…
pub const IDLE_MS: i64 = 2 * 3600 * 1000;
/// …and in any case after one working day.
pub const MAX_AGE_MS: i64 = 12 * 3600 * 1000;
/// `last_seen` is written at most this often, so reading pages is not a write each.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// Largest url-encoded form (a route of 500 checkpoints fits comfortably).
pub const FORM_MAX: usize = 256 * 1024;
/// Largest multipart form: a 5 MB plan image, a CSV file, or a fix report's phone
/// photos (8 MB each at most), plus the other fields.
pub const MULTIPART_MAX: usize = 20 * 1024 * 1024;
const FIELDS_MAX: usize = 2000;
const FIELD_TEXT_MAX: usize = 64 * 1024;

pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of one cookie.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: never readable by scripts, not sent on cross-site POSTs.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"))
        .expect("cookie values are URL-safe base64 or fixed words")
}

/// Starts a session for a person who just proved their password; returns the
/// cookie token (only its hash is stored).
pub async fn start(state: &AppState, person_id: patrol_protocol::Id) -> Result<String, WebError> {
    let token = random_token();
    let now = state.clock.now_ms();
    let session = WebSession {
        token_hash: hash_token(&token),
        person_id,
        csrf_token: random_token(),
        created_ms: now,
        last_seen_ms: now,
        expires_ms: now + MAX_AGE_MS,
        ended_ms: None,
    };
    state.store.write(move |c| store::insert_session(c, &session)).await?;
    Ok(token)
}

/// Ends the session a cookie names, if any.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<(), WebError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let hash = hash_token(token);
        let now = state.clock.now_ms();
        state.store.write(move |c| store::end_session(c, &hash, now)).await?;
    }
    Ok(())
}

/// Whether a session may still be used at `now`.
pub fn is_live(s: &WebSession, now: i64) -> bool {
    s.ended_ms.is_none() && now < s.expires_ms && now < s.last_seen_ms + IDLE_MS
}

/// A signed-in page request: who is asking (for the policy), their session (for
/// the CSRF token) and the language to answer in.
pub struct Page {
    pub actor: Actor,
    pub session: WebSession,
    pub lang: Lang,
    /// The path and query asked for, for the language switch to come back to.
    pub here: String,
    /// Signed in with a one-time password: every page but the password page redirects.
    pub must_change_password: bool,
}

/// The language of a request, signed in or not.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(cookie(headers, LANG_COOKIE))
}

fn to_login(parts: &Parts) -> Response {
    let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let next: String = percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Page, Response> {
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        let hash = hash_token(token);
        let now = state.clock.now_ms();
        // As the API's sign-in check: each answer valid alone, so no transaction.
        let found = state
            .store
            .read_each(move |c| {
                let Some(s) = store::get_session(c, &hash)? else {
                    return Ok(None);
                };
                if !is_live(&s, now) {
                    return Ok(None);
                }
                let Some(found) = people::signed_in(c, s.person_id, None)?.filter(|f| f.person.active) else {
                    return Ok(None);
                };
                let org_sites = crate::store::reference::org_site_ids(c, found.person.org_id)?;
                Ok(Some((s, found.person, found.roles, org_sites, found.must_change_password)))
            })
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let Some((session, person, roles, org_sites, must_change_password)) = found else {
            return Err(to_login(parts));
        };
        // A one-time password opens only the page that changes it.
        if must_change_password && !matches!(parts.uri.path(), "/account/password" | "/logout") {
            return Err(axum::response::Redirect::to("/account/password").into_response());
        }
        if now - session.last_seen_ms > TOUCH_EVERY_MS {
            let hash = session.token_hash.clone();
            state
                .store
                .write(move |c| store::touch_session(c, &hash, now))
                .await
                .map_err(|e| WebError::from(e).into_response())?;
        }
        let here = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let actor = Actor {
            person,
            roles,
            // A browser is not a recording device; the console signs nothing into a
            // device chain.
            device_id: patrol_protocol::Id::nil(),
            org_sites,
        };
        // Who the page is for, by role (set on each route by `web::router`), before
        // the handler reads anything: someone outside it is told so, and a form's
        // fields are not even read. The handler still checks site and department.
        if let Some(audience) = parts.extensions.get::<crate::app::Audience>()
            && !in_audience(&actor, *audience)
        {
            return Err(WebError::Api(ApiError::forbidden()).into_response());
        }
        Ok(Page { actor, session, lang, here, must_change_password })
    }
}

/// An uploaded file from a multipart form.
pub struct Upload {
    pub filename: String,
    pub bytes: Bytes,
}

/// The fields of a posted form, url-encoded or multipart.
#[derive(Default)]
pub struct FormData {
    pub fields: Vec<(String, String)>,
    pub files: Vec<(String, Upload)>,
}

impl FormData {
    /// The first value of a field, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files.iter().find(|(k, f)| k == name && !f.bytes.is_empty()).map(|(_, f)| f)
    }

    /// Reads a url-encoded or multipart body within the bounds above.
    pub async fn read(req: Request) -> Result<FormData, WebError> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let mut form = FormData::default();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let body = axum::body::to_bytes(req.into_body(), FORM_MAX).await.map_err(|_| too_large(FORM_MAX))?;
            form.fields = form_urlencoded::parse(&body).into_owned().collect();
            if form.fields.len() > FIELDS_MAX {
                return Err(ApiError::invalid("form", Reason::TooManyFields).into());
            }
        } else if content_type.starts_with("multipart/form-data") {
            let mut multipart =
                Multipart::from_request(req, &()).await.map_err(|_| ApiError::BadRequest(Reason::FormUnreadable))?;
            let mut total = 0usize;
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                let name = field.name().unwrap_or("").to_string();
                let filename = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(multipart_error)?;
                total += bytes.len();
                if total > MULTIPART_MAX {
                    return Err(too_large(MULTIPART_MAX));
                }
                if form.fields.len() + form.files.len() >= FIELDS_MAX {
                    return Err(ApiError::invalid("form", Reason::TooManyFields).into());
                }
                match filename {
                    Some(filename) => form.files.push((name, Upload { filename, bytes })),
                    None => {
                        if bytes.len() > FIELD_TEXT_MAX {
                            return Err(too_large(FIELD_TEXT_MAX));
                        }
                        let text = String::from_utf8(bytes.to_vec())
                            .map_err(|_| ApiError::invalid(name.clone(), Reason::NotUtf8Text))?;
                        form.fields.push((name, text));
                    }
                }
            }
        } else {
            return Err(ApiError::BadRequest(Reason::ExpectedForm).into());
        }
        Ok(form)
    }
}

fn too_large(limit: usize) -> WebError {
    ApiError::TooLarge(Reason::BodyTooLarge { max_kb: limit / 1024 }).into()
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(MULTIPART_MAX)
    } else {
        tracing::debug!(error = %e.body_text(), "a multipart form did not read");
        ApiError::BadRequest(Reason::FormUnreadable).into()
    }
}

/// Defence in depth beside the token: a browser's POST names its origin, which
/// must be this server. (Requests without the header, from old clients or tests,
/// still need the token.)
pub fn origin_ok(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or("null");
    let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// A form posted by a signed-in person, with its CSRF token and origin checked
/// before the handler sees it: every console POST takes this extractor, so none
/// can forget the check.
pub struct Posted {
    pub page: Page,
    pub form: FormData,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        let slot = parts.extensions.get::<FormSlot>().cloned();
        let page = Page::from_request_parts(&mut parts, state).await?;
        if !origin_ok(&parts.headers) {
            return Err(WebError::Csrf.into_response());
        }
        let form = FormData::read(Request::from_parts(parts, body)).await.map_err(IntoResponse::into_response)?;
        if !same_secret(form.get(CSRF_FIELD), &page.session.csrf_token) {
            tracing::warn!(person = %page.actor.person.id, "a form without a valid CSRF token was refused");
            return Err(WebError::Csrf.into_response());
        }
        // Kept for the page to be rendered again with them, should the form be refused.
        if let Some(slot) = slot
            && let Ok(mut kept) = slot.0.lock()
        {
            *kept = Some((form.fields.clone(), state.clone()));
        }
        Ok(Posted { page, form })
    }
}

/// The coarse, role-only gate of a page's audience.
fn in_audience(actor: &Actor, audience: crate::app::Audience) -> bool {
    use crate::app::Audience;
    match audience {
        Audience::Public | Audience::SignedIn => true,
        Audience::Administrator => actor.is_admin(),
        Audience::Supervisor => actor.supervises_somewhere(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("xpatrol_session=bad; patrol_session=good; patrol_lang=en"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("good"));
        assert_eq!(cookie(&h, LANG_COOKIE), Some("en"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn an_origin_must_name_this_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(origin_ok(&h), "no Origin header: the token decides");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_ok(&h));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "x"));
    }
}
