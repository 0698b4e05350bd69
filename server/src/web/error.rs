//! Failures of console pages. Handlers return `WebError` with `?`; one middleware
//! turns it into an HTML page in the reader's language (403, 404, 422 …).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::i18n::{K, Lang};
use super::layout;
use super::session::lang_of;
use crate::error::ApiError;
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

impl From<DbError> for WebError {
    fn from(e: DbError) -> Self {
        WebError::Api(e.into())
    }
}

/// Carried from the handler to the rendering middleware inside the response.
#[derive(Clone)]
struct ErrorPage {
    title: K,
    text: Option<K>,
    detail: Option<String>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            WebError::Csrf => {
                (StatusCode::FORBIDDEN, ErrorPage { title: K::SessionRefused, text: Some(K::CsrfText), detail: None })
            }
            WebError::Api(e) => {
                if let ApiError::Internal(detail) = &e {
                    tracing::error!(%detail, "page failed");
                }
                let status = e.status();
                let (title, text, detail) = match &e {
                    ApiError::Forbidden(_) => (K::Forbidden, Some(K::ForbiddenText), None),
                    ApiError::NotFound(m) => (K::NotFound, None, Some(m.clone())),
                    ApiError::TooLarge(m) => (K::TooLarge, None, Some(m.clone())),
                    ApiError::Internal(_) => (K::ServerError, Some(K::ServerErrorText), None),
                    ApiError::TooManyRequests(m) => (K::TooManyAttempts, None, Some(m.clone())),
                    other => (K::BadInput, None, Some(other.to_string())),
                };
                (status, ErrorPage { title, text, detail })
            }
        };
        let mut r = status.into_response();
        r.extensions_mut().insert(page);
        r
    }
}

/// Renders the error pages of the console's routes, in the request's language.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let lang = lang_of(req.headers());
    let here = req.uri().path().to_string();
    let response = next.run(req).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    (status, error_page(lang, &here, &page)).into_response()
}

fn error_page(lang: Lang, here: &str, page: &ErrorPage) -> maud::Markup {
    let t = |k| lang.t(k);
    layout::bare(
        lang,
        here,
        t(page.title),
        html! {
            main.narrow {
                section.card.error-card {
                    h1 { (t(page.title)) }
                    @if let Some(text) = page.text { p { (t(text)) } }
                    @if let Some(detail) = &page.detail { p.detail { (detail) } }
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
