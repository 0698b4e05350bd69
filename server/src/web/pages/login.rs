//! Signing in and out of the console: the login form with its double-submit CSRF
//! cookie, the shared password check and rate limit, and the session cookie.

use crate::api::extract::Query;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::auth::{self, ClientAddr};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout;
use crate::web::session::{
    self, CSRF_FIELD, FormData, LOGIN_CSRF_COOKIE, Posted, SESSION_COOKIE, cookie, lang_of, origin_ok, same_secret,
};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn render(state: &AppState, lang: Lang, next: &str, login: &str, problem: Option<K>, status: StatusCode) -> Response {
    let t = |k| lang.t(k);
    // A fresh token per form shown; the cookie and the hidden field must match.
    let token = session::random_token();
    let body = layout::bare(
        lang,
        &format!("/login?next={next}"),
        t(K::SignIn),
        html! {
            main.narrow {
                section.card.login-card {
                    h1 { (t(K::SignInTitle)) }
                    p.muted { (t(K::SignInHint)) }
                    @if let Some(p) = problem { p.error role="alert" { (t(p)) } }
                    form method="post" action="/login" {
                        input type="hidden" name=(CSRF_FIELD) value=(token);
                        input type="hidden" name="next" value=(next);
                        label.field { span { (t(K::Login)) }
                            input type="text" name="login" value=(login) autocomplete="username" required autofocus; }
                        label.field { span { (t(K::Password)) }
                            input type="password" name="password" autocomplete="current-password" required; }
                        button.primary.wide type="submit" { (t(K::SignIn)) }
                    }
                }
            }
        },
    );
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::SET_COOKIE, session::set_cookie(state, LOGIN_CSRF_COOKIE, &token, 3600));
    r
}

/// `GET /login`
pub async fn form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = layout::local_path(q.next.as_deref().unwrap_or("/")).to_string();
    render(&state, lang_of(&headers), &next, "", None, StatusCode::OK)
}

/// `POST /login`
pub async fn submit(State(state): State<AppState>, addr: ClientAddr, req: Request) -> Result<Response, WebError> {
    let headers = req.headers().clone();
    let lang = lang_of(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("").to_string();
    if !origin_ok(&headers) {
        return Err(WebError::Csrf);
    }
    let form = FormData::read(req).await?;
    if expected.is_empty() || !same_secret(form.get(CSRF_FIELD), &expected) {
        return Err(WebError::Csrf);
    }
    let next = layout::local_path(form.get("next")).to_string();
    let login = form.get("login").to_string();
    // Passwords are not trimmed: spaces may be part of one.
    let password = form.fields.iter().find(|(k, _)| k == "password").map_or("", |(_, v)| v.as_str());
    match auth::verify_credentials(&state, &login, password, &addr.0, None).await {
        Ok(person) => {
            let token = session::start(&state, person.id).await?;
            tracing::info!(person = %person.id, "signed in to the console");
            let mut r = Redirect::to(&next).into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                session::set_cookie(&state, SESSION_COOKIE, &token, session::MAX_AGE_MS / 1000),
            );
            h.append(header::SET_COOKIE, session::set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0));
            Ok(r)
        }
        Err(ApiError::TooManyRequests(_)) => {
            Ok(render(&state, lang, &next, &login, Some(K::TooManyAttempts), StatusCode::TOO_MANY_REQUESTS))
        }
        Err(ApiError::Unauthorized(..) | ApiError::Invalid { .. }) => {
            Ok(render(&state, lang, &next, &login, Some(K::WrongPassword), StatusCode::UNAUTHORIZED))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /logout`: ends the session server-side and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Result<Response, WebError> {
    tracing::info!(person = %posted.page.actor.person.id, "signed out of the console");
    session::end(&state, &headers).await?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, session::set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(r)
}
