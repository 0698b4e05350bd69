//! Sign-in, token rotation and sign-out, and the extractor that turns a bearer token
//! into an `Actor` for the policy to judge.

pub use patrol_cases::password;
pub use patrol_cases::tokens;

use crate::api::extract::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use base64::Engine;
use patrol_protocol::api::{LoginRequest, LogoutRequest, RefreshRequest, TokenResponse};
use patrol_protocol::{Id, Person};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::policy::Actor;
use crate::state::AppState;
use crate::store::people;
use patrol_protocol::reason::Reason;
use tokens::{Claims, TokenError};

const WINDOW_MS: i64 = 60_000;

fn unauthorized(code: &'static str, reason: Reason) -> ApiError {
    ApiError::Unauthorized(code, reason)
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
///
/// Behind `trusted_proxies` proxies (`PATROL_TRUST_FORWARDED_FOR` counts as one), the
/// client is the address the outermost trusted proxy saw: the entry that many places
/// from the right of `X-Forwarded-For` (each proxy appends the peer it saw, so entries
/// further left were written by the client and prove nothing). With fewer entries
/// than proxies the header was not written by our proxies and the peer is used.
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn from_forwarded(header: Option<&str>, trusted_proxies: usize, peer: &str) -> String {
        if trusted_proxies == 0 {
            return peer.to_string();
        }
        let Some(header) = header else {
            return peer.to_string();
        };
        let entries: Vec<&str> = header.split(',').map(str::trim).collect();
        if entries.len() < trusted_proxies || entries.len() > 64 {
            return peer.to_string();
        }
        let chosen = entries[entries.len() - trusted_proxies];
        match chosen.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => peer.to_string(),
        }
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        // Several X-Forwarded-For headers count as one list, in order.
        let joined: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let header = if joined.is_empty() { None } else { Some(joined.join(",")) };
        Ok(ClientAddr(ClientAddr::from_forwarded(header.as_deref(), state.settings.trusted_proxies(), &peer)))
    }
}

/// How long after a refresh token was rotated the same device may present it again
/// and receive the same successor: the answer to a refresh can be lost on a bad
/// network, and the phone then retries with the token it still holds.
pub const REFRESH_GRACE_MS: i64 = 2 * 60_000;

/// An access token for `person` on `device_id` in login family `family`.
fn access_token(state: &AppState, person: Id, device_id: Id, family: &str) -> String {
    let now = state.clock.now_ms();
    let claims = Claims {
        iss: tokens::ISSUER.into(),
        sub: person,
        dev: device_id,
        fam: Some(family.to_string()),
        iat: now / 1000,
        exp: now / 1000 + state.settings.access_token_seconds,
    };
    state.keys.read().expect("keys lock").sign(&claims)
}

async fn token_response(
    state: &AppState,
    person: Person,
    device_id: Id,
    family: &str,
    refresh_token: String,
) -> ApiResult<TokenResponse> {
    let person_id = person.id;
    let (roles, must_change_password) = state
        .store
        .read(move |c| Ok((people::roles_of(c, person_id)?, people::must_change_password(c, person_id)?)))
        .await?;
    Ok(TokenResponse {
        must_change_password,
        access_token: access_token(state, person.id, device_id, family),
        token_type: "Bearer".into(),
        expires_in: state.settings.access_token_seconds,
        refresh_token,
        person_id: person.id,
        display_name: person.display_name,
        roles,
    })
}

/// Starts a new login family for `person` on `device_id`.
async fn issue(state: &AppState, person: Person, device_id: Id) -> ApiResult<TokenResponse> {
    let now = state.clock.now_ms();
    let refresh_token = new_refresh_token();
    let token_hash = hash_refresh(&refresh_token);
    let family = Id::now_v7().to_string();
    let refresh_expires = now + state.settings.refresh_token_seconds * 1000;
    let (person_id, fam) = (person.id, family.clone());
    state
        .store
        .write(move |c| people::insert_refresh(c, &token_hash, &fam, person_id, device_id, now, refresh_expires))
        .await?;
    token_response(state, person, device_id, &family, refresh_token).await
}

/// The budgets one sign-in attempt draws on (docs/operations.md, "Sign-in
/// throttling"). A device the login has signed in on before has its own budget, so
/// nobody elsewhere, nor a crowd behind the same address, can lock the owner's phone
/// out; any other attempt draws on the login-from-this-address budget and on the
/// address's budget. No budget is per login alone: guessing at a login from one place
/// never refuses its owner in another.
fn budgets(state: &AppState, login: &str, address: &str, known_device: Option<Id>) -> Vec<(String, i64)> {
    let per_login = i64::from(state.settings.login_failures_per_account);
    match known_device {
        Some(device) => vec![(format!("device\n{login}\n{device}"), per_login)],
        None => vec![
            (format!("login\n{login}\n{address}"), per_login),
            (format!("address\n{address}"), i64::from(state.settings.login_failures_per_address)),
        ],
    }
}

/// Checks a login and password for the API and the web console alike: bounded
/// input, the sign-in budgets (taken atomically before any hashing, so concurrent
/// guesses cannot exceed them; a right password gives its attempt back), argon2
/// verification under the server-wide hashing bound that takes as long for an
/// unknown login. `device` is the app installation signing in (none for a browser).
pub async fn verify_credentials(
    state: &AppState,
    login: &str,
    password: &str,
    address: &str,
    device: Option<Id>,
) -> ApiResult<Person> {
    if login.is_empty() || login.len() > 100 {
        return Err(ApiError::invalid("login", Reason::LengthBetween { min: 1, max: 100 }));
    }
    if password.len() > password::MAX_LEN {
        return Err(ApiError::invalid("password", Reason::TooLong { max: 256 }));
    }
    let now = state.clock.now_ms();
    let (l, a) = (login.to_string(), address.to_string());
    let st = state.clone();
    let taken = state
        .store
        .write(move |c| {
            let creds = people::credentials(c, &l)?;
            let known = match (&creds, device) {
                (Some((p, _)), Some(d)) if people::signed_in_before(c, p.id, d)? => Some(d),
                _ => None,
            };
            let buckets = budgets(&st, &l, &a, known);
            let mut over = false;
            for (bucket, limit) in &buckets {
                over |= people::take_login_budget(c, bucket, now, now - WINDOW_MS)? > *limit;
            }
            Ok((creds, buckets, over))
        })
        .await?;
    let (creds, buckets, over) = taken;
    if over {
        crate::metrics::login("throttled");
        return Err(ApiError::TooManyRequests(Reason::TooManyWrongPasswords));
    }
    let password = password.to_string();
    let stored = creds.as_ref().map(|(_, h)| h.clone());
    let ok = password::bounded(move || {
        let ok = password::verify(stored.as_deref().unwrap_or(password::dummy_hash()), &password);
        ok && stored.is_some()
    })
    .await
    .map_err(|password::Busy| busy())?;
    match creds {
        Some((person, _)) if ok && person.active => {
            state
                .store
                .write(move |c| {
                    for (bucket, _) in &buckets {
                        people::refund_login_budget(c, bucket)?;
                    }
                    Ok(())
                })
                .await?;
            crate::metrics::login("ok");
            Ok(person)
        }
        _ => {
            crate::metrics::login("wrong");
            Err(unauthorized("invalid_credentials", Reason::WrongCredentials))
        }
    }
}

/// The answer when every password-hashing slot is taken and the queue is full.
pub fn busy() -> ApiError {
    crate::error::DomainError::from(password::Busy).into()
}

/// `POST /api/v1/auth/login`
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let person = verify_credentials(&state, &req.login, &req.password, &addr.0, Some(req.device_id)).await?;
    tracing::info!(person = %person.id, device = %req.device_id, "signed in");
    Ok(Json(issue(&state, person, req.device_id).await?))
}

/// What a refresh came to, decided in one transaction.
enum Refreshed {
    /// A successor (new, or the same one again within the grace).
    Rotated {
        family: String,
        person: Option<Person>,
        token: String,
    },
    Refused(&'static str),
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token, in one transaction that
/// marks the old token used and stores its successor, so a revocation of the family
/// always sees the successor (exactly one rotation wins, whatever the concurrency).
/// The successor is derived from the old token with a server key, so the same
/// device presenting the old token again within [`REFRESH_GRACE_MS`] — a retry after
/// a lost answer — receives the same successor, as long as that successor has not
/// been used. Any other reuse (later, from another device, or after the successor
/// was used) means someone else holds a copy: the whole family is revoked.
pub async fn refresh(State(state): State<AppState>, Json(req): Json<RefreshRequest>) -> ApiResult<Json<TokenResponse>> {
    if req.refresh_token.is_empty() || req.refresh_token.len() > 200 {
        return Err(ApiError::invalid("refresh_token", Reason::LengthBetween { min: 1, max: 200 }));
    }
    let now = state.clock.now_ms();
    let token_hash = hash_refresh(&req.refresh_token);
    let successor = state.keys.read().expect("keys lock").successor_token(&req.refresh_token);
    let successor_hash = hash_refresh(&successor);
    let device_id = req.device_id;
    let refresh_expires = now + state.settings.refresh_token_seconds * 1000;
    let outcome = state
        .store
        .write(move |c| {
            let Some(mut t) = people::get_refresh(c, &token_hash)? else {
                return Ok(Refreshed::Refused("invalid_refresh"));
            };
            // Revocation belongs to the family: a successor stored by a rotation that
            // raced the revoking statement is dead too, whether or not its own row
            // was marked.
            if t.revoked_ms.is_some() || people::family_revoked(c, &t.family_id)? {
                return Ok(Refreshed::Refused("refresh_revoked"));
            }
            if t.device_id != device_id {
                people::revoke_family(c, &t.family_id, now)?;
                return Ok(Refreshed::Refused("refresh_reused"));
            }
            if t.expires_ms <= now {
                return Ok(Refreshed::Refused("refresh_expired"));
            }
            if t.used_ms.is_none() {
                if people::mark_refresh_used(c, &token_hash, now)? {
                    people::insert_refresh(
                        c,
                        &successor_hash,
                        &t.family_id,
                        t.person_id,
                        device_id,
                        now,
                        refresh_expires,
                    )?;
                    let person = people::get_person(c, t.person_id)?;
                    return Ok(Refreshed::Rotated { family: t.family_id, person, token: successor });
                }
                // Another request rotated it first: judge this one as a resend.
                match people::get_refresh(c, &token_hash)? {
                    Some(again) => t = again,
                    None => return Ok(Refreshed::Refused("invalid_refresh")),
                }
                if t.revoked_ms.is_some() || people::family_revoked(c, &t.family_id)? {
                    return Ok(Refreshed::Refused("refresh_revoked"));
                }
            }
            let used = t.used_ms.unwrap_or(now);
            if now - used <= REFRESH_GRACE_MS {
                if let Some(next) = people::get_refresh(c, &successor_hash)? {
                    if next.used_ms.is_none() && next.revoked_ms.is_none() && next.family_id == t.family_id {
                        let person = people::get_person(c, t.person_id)?;
                        return Ok(Refreshed::Rotated { family: t.family_id, person, token: successor });
                    }
                }
            }
            people::revoke_family(c, &t.family_id, now)?;
            Ok(Refreshed::Refused("refresh_reused"))
        })
        .await?;
    match outcome {
        Refreshed::Rotated { family, person: Some(person), token } if person.active => {
            Ok(Json(token_response(&state, person, device_id, &family, token).await?))
        }
        Refreshed::Rotated { .. } => Err(unauthorized("account_disabled", Reason::AccountDisabled)),
        Refreshed::Refused(code) => {
            if code == "refresh_reused" {
                tracing::warn!("a used refresh token was presented again; its family is revoked");
            }
            Err(unauthorized(code, Reason::SignInAgain))
        }
    }
}

/// `POST /api/v1/auth/logout`: ends the login the refresh token belongs to: its
/// refresh tokens at once, and its access tokens at their next request.
pub async fn logout(
    State(state): State<AppState>,
    Json(req): Json<LogoutRequest>,
) -> ApiResult<axum::http::StatusCode> {
    if req.refresh_token.len() > 200 {
        return Err(ApiError::invalid("refresh_token", Reason::TooLong { max: 200 }));
    }
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
        // The route's gate (`app::gate`) already signed the caller in.
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(actor.clone());
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("unauthenticated", Reason::SignInFirst))?;
        let token =
            header.strip_prefix("Bearer ").ok_or_else(|| unauthorized("unauthenticated", Reason::BearerExpected))?;
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
            TokenError::Expired => unauthorized("token_expired", Reason::TokenExpired),
            _ => unauthorized("invalid_token", Reason::TokenInvalid),
        })?;
        let person_id = claims.sub;
        // Tokens from before families were named carry none: refused, the phone
        // refreshes (at most one access-token lifetime after an upgrade).
        let family = claims.fam.clone().ok_or_else(|| unauthorized("invalid_token", Reason::TokenInvalid))?;
        // Two statements outside a transaction (each its own snapshot, and none needs the
        // other's): the person with roles, password state and the family's revocation in
        // one, the organisation's sites in the other.
        let found = state
            .store
            .read_each(move |c| {
                let Some(found) = people::signed_in(c, person_id, Some(&family))? else { return Ok(None) };
                let sites = if found.person.active {
                    crate::store::reference::org_site_ids(c, found.person.org_id)?
                } else {
                    vec![]
                };
                Ok(Some((found, sites)))
            })
            .await?;
        let Some((people::SignedIn { person, roles, must_change_password, family_revoked }, org_sites)) = found else {
            return Err(unauthorized("account_disabled", Reason::AccountDisabled));
        };
        if !person.active {
            return Err(unauthorized("account_disabled", Reason::AccountDisabled));
        }
        if family_revoked {
            return Err(unauthorized("signed_out", Reason::SignedOut));
        }
        // A one-time password opens only the way to changing it.
        if must_change_password && !matches!(parts.uri.path(), "/api/v1/me/password" | "/api/v1/me") {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(Actor { person, roles, device_id: claims.dev, org_sites })
    }
}

/// Shared by the API and the console: checks the current password (through the
/// sign-in budgets), the policy, then stores the new hash.
pub async fn change_own_password(
    state: &AppState,
    actor: &Actor,
    address: &str,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    if let Err(why) = password::check_policy(&actor.person.login, new) {
        return Err(ApiError::invalid("new_password", why));
    }
    if current == new {
        return Err(ApiError::invalid("new_password", Reason::PasswordUnchanged));
    }
    verify_credentials(state, &actor.person.login, current, address, Some(actor.device_id)).await.map_err(
        |e| match e {
            ApiError::Unauthorized(..) => ApiError::invalid("current_password", Reason::CurrentPasswordWrong),
            other => other,
        },
    )?;
    let hash = password::hash_bounded(new.to_string()).await.map_err(|password::Busy| busy())?;
    let (person, device, now) = (actor.person.id, actor.device_id, state.clock.now_ms());
    state
        .store
        .write(move |c| {
            people::set_password(c, person, &hash, false)?;
            // Other phones and browsers sign in again with the new password.
            people::revoke_other_devices(c, person, device, now).map(|_| ())
        })
        .await?;
    tracing::info!(person = %person, "password changed");
    Ok(())
}
