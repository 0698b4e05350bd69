//! Sign-in, token rotation and sign-out, and the extractor that turns a bearer token
//! into an `Actor` for the policy to judge.

pub mod password;
pub mod tokens;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use base64::Engine;
use patrol_protocol::api::{LoginRequest, LogoutRequest, RefreshRequest, TokenResponse};
use patrol_protocol::{Id, Person};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::policy::Actor;
use crate::store::people;
use tokens::{Claims, TokenError};

const WINDOW_MS: i64 = 60_000;

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::Unauthorized(code, message.into())
}

fn hash_refresh(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_refresh_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The address a request came from, for rate limiting.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if state.settings.trust_forwarded_for {
            if let Some(first) =
                parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
            {
                return Ok(ClientAddr(first.trim().to_string()));
            }
        }
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddr(addr))
    }
}

/// Issues an access token and a refresh token in `family` (new family if `None`).
async fn issue(state: &AppState, person: Person, device_id: Id, family: Option<String>) -> ApiResult<TokenResponse> {
    let now = state.clock.now_ms();
    let expires_in = state.settings.access_token_seconds;
    let claims = Claims {
        iss: tokens::ISSUER.into(),
        sub: person.id,
        dev: device_id,
        iat: now / 1000,
        exp: now / 1000 + expires_in,
    };
    let access_token = state.keys.read().expect("keys lock").sign(&claims);
    let refresh_token = new_refresh_token();
    let token_hash = hash_refresh(&refresh_token);
    let family = family.unwrap_or_else(|| Id::now_v7().to_string());
    let refresh_expires = now + state.settings.refresh_token_seconds * 1000;
    let person_id = person.id;
    let roles = state
        .store
        .write(move |c| {
            people::insert_refresh(c, &token_hash, &family, person_id, device_id, now, refresh_expires)?;
            people::roles_of(c, person_id)
        })
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token,
        person_id: person.id,
        display_name: person.display_name,
        roles,
    })
}

/// Checks a login and password for the API and the web console alike: bounded
/// input, the per-account and per-address rate limit, argon2 verification that
/// takes as long for an unknown login, and a recorded failure when wrong.
pub async fn verify_credentials(state: &AppState, login: &str, password: &str, address: &str) -> ApiResult<Person> {
    if login.is_empty() || login.len() > 100 {
        return Err(ApiError::invalid("login", "1 to 100 characters"));
    }
    if password.len() > password::MAX_LEN {
        return Err(ApiError::invalid("password", "at most 256 characters"));
    }
    let now = state.clock.now_ms();
    let (l, a) = (login.to_string(), address.to_string());
    let (by_login, by_address, creds) = state
        .store
        .read(move |c| {
            let (by_login, by_address) = people::login_failures_since(c, &l, &a, now - WINDOW_MS)?;
            Ok((by_login, by_address, people::credentials(c, &l)?))
        })
        .await?;
    if by_login >= i64::from(state.settings.login_failures_per_account)
        || by_address >= i64::from(state.settings.login_failures_per_address)
    {
        return Err(ApiError::TooManyRequests(
            "too many wrong passwords; wait a minute and try again / 密码错误次数过多，请一分钟后再试".into(),
        ));
    }
    let password = password.to_string();
    let stored = creds.as_ref().map(|(_, h)| h.clone());
    let ok = tokio::task::spawn_blocking(move || {
        let ok = password::verify(stored.as_deref().unwrap_or(password::dummy_hash()), &password);
        ok && stored.is_some()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    match creds {
        Some((person, _)) if ok && person.active => Ok(person),
        _ => {
            let (login, address) = (login.to_string(), address.to_string());
            state.store.write(move |c| people::record_login_failure(c, &login, &address, now)).await?;
            Err(unauthorized("invalid_credentials", "wrong login or password / 用户名或密码错误"))
        }
    }
}

/// `POST /api/v1/auth/login`
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let person = verify_credentials(&state, &req.login, &req.password, &addr.0).await?;
    tracing::info!(person = %person.id, device = %req.device_id, "signed in");
    Ok(Json(issue(&state, person, req.device_id, None).await?))
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token. Presenting one that was
/// already used revokes its whole family: someone else holds a copy.
pub async fn refresh(State(state): State<AppState>, Json(req): Json<RefreshRequest>) -> ApiResult<Json<TokenResponse>> {
    if req.refresh_token.len() > 200 {
        return Err(ApiError::invalid("refresh_token", "too long"));
    }
    let now = state.clock.now_ms();
    let token_hash = hash_refresh(&req.refresh_token);
    let device_id = req.device_id;
    let outcome = state
        .store
        .write(move |c| {
            let Some(t) = people::get_refresh(c, &token_hash)? else {
                return Ok(Err("invalid_refresh"));
            };
            if t.revoked_ms.is_some() {
                return Ok(Err("refresh_revoked"));
            }
            if t.used_ms.is_some() || t.device_id != device_id || !people::mark_refresh_used(c, &token_hash, now)? {
                people::revoke_family(c, &t.family_id, now)?;
                return Ok(Err("refresh_reused"));
            }
            if t.expires_ms <= now {
                return Ok(Err("refresh_expired"));
            }
            let person = people::get_person(c, t.person_id)?;
            Ok(Ok((t.family_id, person)))
        })
        .await?;
    match outcome {
        Ok((family, Some(person))) if person.active => Ok(Json(issue(&state, person, device_id, Some(family)).await?)),
        Ok(_) => Err(unauthorized("account_disabled", "this account is disabled / 账号已停用")),
        Err(code) => {
            if code == "refresh_reused" {
                tracing::warn!("a used refresh token was presented again; its family is revoked");
            }
            Err(unauthorized(code, "sign in again / 请重新登录"))
        }
    }
}

/// `POST /api/v1/auth/logout`: ends the login the refresh token belongs to.
pub async fn logout(
    State(state): State<AppState>,
    Json(req): Json<LogoutRequest>,
) -> ApiResult<axum::http::StatusCode> {
    let now = state.clock.now_ms();
    let token_hash = hash_refresh(&req.refresh_token);
    state
        .store
        .write(move |c| {
            if let Some(t) = people::get_refresh(c, &token_hash)? {
                people::revoke_family(c, &t.family_id, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Actor> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("unauthenticated", "sign in first / 请先登录"))?;
        let token =
            header.strip_prefix("Bearer ").ok_or_else(|| unauthorized("unauthenticated", "expected a Bearer token"))?;
        let now = state.clock.now_ms();
        let verified = state.keys.read().expect("keys lock").verify(token, now);
        let claims = match verified {
            Err(TokenError::UnknownKey) => {
                // Another instance may have rotated the key: reload once.
                state.reload_keys().await?;
                state.keys.read().expect("keys lock").verify(token, now)
            }
            other => other,
        }
        .map_err(|e| match e {
            TokenError::Expired => unauthorized("token_expired", "the access token has expired; refresh it"),
            _ => unauthorized("invalid_token", "the access token is not valid"),
        })?;
        let person_id = claims.sub;
        let (person, roles, org_sites) = state
            .store
            .read(move |c| {
                let person = people::get_person(c, person_id)?;
                let sites = match &person {
                    Some(p) => crate::store::reference::org_site_ids(c, p.org_id)?,
                    None => vec![],
                };
                Ok((person, people::roles_of(c, person_id)?, sites))
            })
            .await?;
        match person {
            Some(person) if person.active => Ok(Actor { person, roles, device_id: claims.dev, org_sites }),
            _ => Err(unauthorized("account_disabled", "this account is disabled / 账号已停用")),
        }
    }
}
