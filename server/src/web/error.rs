//! Failures of console pages. Handlers return `WebError` with `?`; one middleware
//! turns every refusal into something a person can act on, in their language: a
//! refused form comes back filled in with the reason beside the field (`echo`), and
//! anything else is a page (403, 404, 422 …) saying why, with a way back and home.
//! axum's own refusals inside the console (a malformed id in a path, a wrong method)
//! get the same page instead of English plain text.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;
use patrol_protocol::reason::Reason;
use tower::ServiceExt;

use super::echo::{self, Echo};
use super::i18n::{K, Lang};
use super::layout;
use super::session::lang_of;
use crate::error::{ApiError, Cause};
use crate::state::AppState;
use crate::store::DbError;

#[derive(Debug)]
pub enum WebError {
    /// Whatever the API would have answered; the policy's refusals come as 403.
    Api(ApiError),
    /// A form without the session's CSRF token, or from another origin.
    Csrf,
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

impl From<crate::error::DomainError> for WebError {
    fn from(e: crate::error::DomainError) -> Self {
        WebError::Api(e.into())
    }
}

impl From<DbError> for WebError {
    fn from(e: DbError) -> Self {
        WebError::Api(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Csrf => ApiError::Forbidden(Reason::StaleForm).into_response(),
            WebError::Api(e) => e.into_response(),
        }
    }
}

/// Where a posted form's fields are left for the middleware, should it be refused:
/// put into the request by `render_errors`, filled by the `Posted` extractor (with the
/// state, to render the form's page again).
#[derive(Clone, Default)]
pub struct FormSlot(pub Arc<Mutex<Option<PostedForm>>>);

/// A posted form's fields, and the state to render its page again with.
pub type PostedForm = (Vec<(String, String)>, AppState);

/// The hidden field every console form carries: the page it was on, to render again
/// when the form is refused.
pub const FROM_FIELD: &str = "_from";

/// Renders the refusals of the console's routes, in the request's language.
pub async fn render_errors(mut req: Request, next: Next) -> Response {
    let lang = lang_of(req.headers());
    let here = req.uri().path().to_string();
    let is_post = req.method() == Method::POST;
    let headers = req.headers().clone();
    let slot = FormSlot::default();
    if is_post {
        req.extensions_mut().insert(slot.clone());
    }
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match response.extensions().get::<Cause>() {
        Some(Cause(e)) => e.clone(),
        None => {
            let is_page =
                response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
            if is_page {
                // A page of its own (a CSV import's report, the sign-in form).
                return response;
            }
            let text = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
            ApiError::from_status(status, &String::from_utf8_lossy(&text))
        }
    };
    if is_post && refills_form(&error) {
        let posted = slot.0.lock().ok().and_then(|mut f| f.take());
        if let Some((fields, state)) = posted
            && let Some(filled) = refill(state, lang, &headers, &here, fields, &error).await
        {
            let mut r = filled;
            *r.status_mut() = status;
            return r;
        }
    }
    let mut page = page_in(lang, &here, &error);
    *page.status_mut() = status;
    page
}

/// Refusals of what was typed: the form comes back. Anything else (no access, a
/// stale form, a fault of ours) is a page.
fn refills_form(e: &ApiError) -> bool {
    matches!(e, ApiError::Invalid { .. } | ApiError::BadRequest(_) | ApiError::Conflict(_) | ApiError::TooLarge(_))
        && !matches!(e.reason(), Reason::MethodNotAllowed | Reason::StaleForm)
}

/// The page the form was on, rendered again (a GET of it through the console's
/// routes) with the echo in scope.
async fn refill(
    state: AppState,
    lang: Lang,
    headers: &HeaderMap,
    action: &str,
    fields: Vec<(String, String)>,
    error: &ApiError,
) -> Option<Response> {
    let from = fields.iter().find(|(k, _)| k == FROM_FIELD).map(|(_, v)| v.clone())?;
    if layout::local_path(&from) != from {
        return None;
    }
    let mut get = Request::get(&from).body(Body::empty()).ok()?;
    *get.headers_mut() = headers.clone();
    for h in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::ORIGIN] {
        get.headers_mut().remove(h);
    }
    let reason = say(lang, error.reason());
    let texts = error.texts();
    let whole = if lang == Lang::En { texts.en } else { texts.zh };
    let kept = fields.into_iter().filter(|(k, _)| echo::may_echo(k)).collect();
    let echo = Echo::new(action.to_string(), kept, error.field().map(str::to_string), reason, whole);
    let pages = super::router().with_state(state);
    let (response, shown) = echo.scope(pages.oneshot(get)).await;
    let response = response.ok()?;
    let is_page = response.status() == StatusCode::OK
        && response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    // A page that did not show the reason (its form is not one that comes back) would
    // leave the person without it: the refusal is then a page of its own.
    (is_page && shown).then_some(response)
}

/// A reason in the reader's language.
pub fn say(lang: Lang, reason: &Reason) -> String {
    if lang == Lang::En { reason.en() } else { reason.zh() }
}

/// The refusal page for a request outside the console's router (an unknown path).
pub fn page(headers: &HeaderMap, here: &str, error: &ApiError) -> Response {
    let mut r = page_in(lang_of(headers), here, error);
    *r.status_mut() = error.status();
    r
}

/// The page of a refusal (its detail was logged when the error became a response).
fn page_in(lang: Lang, here: &str, error: &ApiError) -> Response {
    let title = match (error, error.reason()) {
        (_, Reason::StaleForm) => K::SessionRefused,
        (ApiError::Forbidden(_) | ApiError::PasswordChangeRequired, _) => K::Forbidden,
        (ApiError::NotFound(_), _) => K::NotFound,
        (ApiError::TooLarge(_), _) => K::TooLarge,
        (ApiError::TooManyRequests(_), _) => K::TooManyAttempts,
        (ApiError::Internal(_) | ApiError::Unavailable(..), _) => K::ServerError,
        (ApiError::Unauthorized(..), _) => K::SignInAgainTitle,
        _ => K::BadInput,
    };
    let text = match (error, error.reason()) {
        (_, Reason::StaleForm) => Some(K::CsrfText),
        (ApiError::Forbidden(_), _) => Some(K::ForbiddenText),
        (ApiError::Internal(_), _) => Some(K::ServerErrorText),
        _ => None,
    };
    // The policy's refusal and a fault of ours say all in their own text.
    let detail = match error {
        ApiError::Forbidden(Reason::Forbidden) | ApiError::Internal(_) => None,
        _ if text.is_some() => None,
        _ => Some(if lang == Lang::En { error.texts().en } else { error.texts().zh }),
    };
    let mut r = error_page(lang, here, title, text, detail.as_deref()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error_page(lang: Lang, here: &str, title: K, text: Option<K>, detail: Option<&str>) -> maud::Markup {
    let t = |k| lang.t(k);
    layout::bare(
        lang,
        here,
        t(title),
        html! {
            main.narrow {
                section.card.error-card {
                    h1 { (t(title)) }
                    @if let Some(text) = text { p { (t(text)) } }
                    @if let Some(detail) = detail { p.detail { (detail) } }
                    p.actions {
                        a.button.secondary href="/" data-back { (t(K::Back)) }
                        " "
                        a.button href="/" { (t(K::GoHome)) }
                        " "
                        a href="/login" { (t(K::SignInAgain)) }
                    }
                }
            }
        },
    )
}
