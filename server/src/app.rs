//! Application state and the router. Every route is declared once in `routes()`,
//! which builds both the router and the OpenAPI document.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use axum::{Json, Router};
use patrol_protocol::api::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use patrol_protocol::reason::{Reason, Thing};

use crate::api::{account, admin, health, versions};
use crate::auth::{self};
use crate::error::{ApiError, Reader};
use crate::state::AppState;
use crate::{audit, notices, notify, patrols, photos, schedules, sync};

/// Who may call a route, as documented; the handlers enforce it through the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    SignedIn,
    /// Supervisors of a site or of the organisation (console pages about sites' patrols).
    Supervisor,
    Administrator,
}

pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub audience: Audience,
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    tag: &'static str,
    audience: Audience,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute { method, path, summary, tag, audience, handler }
}

/// Every route of the server. Kept as a table: one line a route.
#[rustfmt::skip]
pub fn routes() -> Vec<ApiRoute> {
    use Audience::*;
    use Method as M;
    vec![
        route(M::GET, "/healthz", "operations", Public, "Liveness: the process answers", get(health::healthz)),
        route(M::GET, "/readyz", "operations", Public, "Readiness: the database answers", get(health::readyz)),
        route(M::GET, "/metrics", "operations", Public, "Prometheus metrics", get(health::metrics)),
        route(M::GET, "/api/v1/openapi.json", "operations", Public, "This document", get(openapi)),
        route(M::POST, "/api/v1/auth/login", "auth", Public, "Sign in: access token and refresh token bound to a device", post(auth::login)),
        route(M::POST, "/api/v1/auth/refresh", "auth", Public, "Rotate a refresh token; a reused one revokes its family", post(auth::refresh)),
        route(M::POST, "/api/v1/auth/logout", "auth", Public, "End the login a refresh token belongs to", post(auth::logout)),
        route(M::GET, "/api/v1/me", "people", SignedIn, "The signed-in person, roles and visible sites", get(admin::me)),
        route(M::GET, "/api/v1/sites", "sites", SignedIn, "Sites the caller may see", get(admin::list_sites)),
        route(M::POST, "/api/v1/sites", "sites", Administrator, "Create a site", post(admin::create_site)),
        route(M::GET, "/api/v1/sites/{site_id}", "sites", SignedIn, "One site", get(admin::get_site)),
        route(M::PUT, "/api/v1/sites/{site_id}", "sites", Administrator, "Edit a site's names (a new version)", put(versions::edit_site)),
        route(M::GET, "/api/v1/sites/{site_id}/history", "sites", SignedIn, "Every version of a site", get(versions::site_history)),
        route(M::PUT, "/api/v1/sites/{site_id}/departments/{department_id}", "sites", Administrator, "Edit a department (a new version)", put(versions::edit_department)),
        route(M::POST, "/api/v1/sites/{site_id}/departments/{department_id}/retire", "sites", Administrator, "Retire a department with no open notices", post(versions::retire_department)),
        route(M::GET, "/api/v1/sites/{site_id}/departments/{department_id}/history", "sites", SignedIn, "Every version of a department", get(versions::department_history)),
        route(M::PUT, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}", "sites", Administrator, "Edit a checkpoint and its checklist (a new version)", put(versions::edit_checkpoint)),
        route(M::POST, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/retire", "sites", Administrator, "Retire a checkpoint no route uses", post(versions::retire_checkpoint)),
        route(M::GET, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/history", "sites", SignedIn, "Every version of a checkpoint", get(versions::checkpoint_history)),
        route(M::PUT, "/api/v1/sites/{site_id}/routes/{route_id}", "sites", Administrator, "Edit a route (a new version)", put(versions::edit_route)),
        route(M::POST, "/api/v1/sites/{site_id}/routes/{route_id}/retire", "sites", Administrator, "Retire a route and its schedules", post(versions::retire_route)),
        route(M::GET, "/api/v1/sites/{site_id}/routes/{route_id}/history", "sites", SignedIn, "Every version of a route", get(versions::route_history)),
        route(M::PUT, "/api/v1/sites/{site_id}/schedules/{schedule_id}", "sites", Administrator, "Edit a schedule (a new version, counted from the windows that end after it)", put(versions::edit_schedule)),
        route(M::POST, "/api/v1/sites/{site_id}/schedules/{schedule_id}/retire", "sites", Administrator, "Retire a schedule", post(versions::retire_schedule)),
        route(M::GET, "/api/v1/sites/{site_id}/schedules/{schedule_id}/history", "sites", SignedIn, "Every version of a schedule", get(versions::schedule_history)),
        route(M::GET, "/api/v1/sites/{site_id}/departments", "sites", SignedIn, "Departments of a site", get(admin::list_departments)),
        route(M::POST, "/api/v1/sites/{site_id}/departments", "sites", Administrator, "Create a department", post(admin::create_department)),
        route(M::GET, "/api/v1/sites/{site_id}/checkpoints", "sites", SignedIn, "Checkpoints of a site with checklists", get(admin::list_checkpoints)),
        route(M::POST, "/api/v1/sites/{site_id}/checkpoints", "sites", Administrator, "Create a checkpoint", post(admin::create_checkpoint)),
        route(M::GET, "/api/v1/sites/{site_id}/routes", "sites", SignedIn, "Routes of a site", get(admin::list_routes)),
        route(M::POST, "/api/v1/sites/{site_id}/routes", "sites", Administrator, "Create a route", post(admin::create_route)),
        route(M::GET, "/api/v1/sites/{site_id}/schedules", "sites", SignedIn, "Schedules of a site's routes", get(admin::list_schedules)),
        route(M::POST, "/api/v1/sites/{site_id}/schedules", "sites", Administrator, "Create a schedule", post(admin::create_schedule)),
        route(M::GET, "/api/v1/sites/{site_id}/rules", "schedules", SignedIn, "Time limits, escalation steps and audit bounds of a site", get(schedules::api::get_rules)),
        route(M::PUT, "/api/v1/sites/{site_id}/rules", "schedules", Administrator, "Set a site's time limits and escalation steps", put(schedules::api::put_rules)),
        route(M::GET, "/api/v1/sites/{site_id}/holidays", "schedules", SignedIn, "Holidays: regular schedules expect nothing", get(schedules::api::list_holidays)),
        route(M::POST, "/api/v1/sites/{site_id}/holidays", "schedules", Administrator, "Add a holiday", post(schedules::api::create_holiday)),
        route(M::GET, "/api/v1/sites/{site_id}/special-periods", "schedules", SignedIn, "Special periods (move-in) with their own schedules", get(schedules::api::list_periods)),
        route(M::POST, "/api/v1/sites/{site_id}/special-periods", "schedules", Administrator, "Add a special period for a route", post(schedules::api::create_period)),
        route(M::GET, "/api/v1/sites/{site_id}/audit/{day}", "schedules", Supervisor, "Expected patrols of a day and how each went", get(schedules::api::get_audit)),
        route(M::GET, "/api/v1/sites/{site_id}/waivers", "schedules", SignedIn, "Won't-do requests for expected patrols, newest first, a page at a time (Link: rel=next)", get(schedules::api::list_waivers)),
        route(M::POST, "/api/v1/waivers/{waiver_id}/decision", "schedules", Supervisor, "Accept or reject a won't-do request", post(schedules::api::decide)),
        route(M::GET, "/api/v1/sites/{site_id}/channels", "notifications", Administrator, "Where a site's events go (secrets never shown)", get(notify::api::list)),
        route(M::POST, "/api/v1/sites/{site_id}/channels", "notifications", Administrator, "Add a WeCom, DingTalk, webhook or e-mail channel", post(notify::api::create)),
        route(M::PUT, "/api/v1/sites/{site_id}/channels/{channel_id}", "notifications", Administrator, "Change a channel; an absent secret is kept", put(notify::api::update)),
        route(M::GET, "/api/v1/sites/{site_id}/outbox", "notifications", Administrator, "Messages to a site's channels and their delivery, newest first, a page at a time (Link: rel=next)", get(notify::api::outbox)),
        route(M::GET, "/api/v1/notifications", "notifications", SignedIn, "The caller's in-app messages, newest first, a page at a time (Link: rel=next)", get(notify::api::mine)),
        route(M::GET, "/api/v1/people", "people", SignedIn, "People and roles (administrators and supervisors)", get(admin::list_people)),
        route(M::POST, "/api/v1/people", "people", Administrator, "Create a person with roles", post(admin::create_person)),
        route(M::POST, "/api/v1/people/{person_id}/roles", "people", Administrator, "Give a person a role", post(admin::add_role)),
        route(M::POST, "/api/v1/people/{person_id}/roles/remove", "people", Administrator, "Take a role away from a person", post(account::remove_role)),
        route(M::PUT, "/api/v1/people/{person_id}/active", "people", Administrator, "Deactivate (signs out everywhere) or reactivate a person", put(account::set_active)),
        route(M::POST, "/api/v1/people/{person_id}/password-reset", "people", Administrator, "A one-time password to be changed at the next sign-in", post(account::reset_password)),
        route(M::POST, "/api/v1/me/password", "people", SignedIn, "Change one's own password", post(account::change_password)),
        route(M::POST, "/api/v1/sync/push", "sync", SignedIn, "Push a device's records in seq order", post(sync::push_handler)),
        route(M::GET, "/api/v1/sync/status", "sync", SignedIn, "The device's acknowledged position", get(sync::status_handler)),
        route(M::GET, "/api/v1/sync/pull", "sync", SignedIn, "Changes for the caller after a cursor", get(sync::pull_handler)),
        route(M::GET, "/api/v1/photos/{sha256}/upload", "photos", SignedIn, "How much of a photo has arrived", get(photos::upload_status)),
        route(M::PUT, "/api/v1/photos/{sha256}/upload", "photos", SignedIn, "Append a chunk at the offset", put(photos::upload_chunk)),
        route(M::GET, "/api/v1/photos/{sha256}", "photos", SignedIn, "A photo", get(photos::get_photo)),
        route(M::GET, "/api/v1/photos/{sha256}/thumb", "photos", SignedIn, "A photo's thumbnail", get(photos::get_thumb)),
        route(M::GET, "/api/v1/notices", "notices", SignedIn, "Notices the caller may see, open first by due time, a page at a time (Link: rel=next)", get(notices::api::list)),
        route(M::GET, "/api/v1/notices/{notice_id}", "notices", SignedIn, "A notice with its timeline", get(notices::api::get)),
        route(M::POST, "/api/v1/notices/{notice_id}/actions", "notices", SignedIn, "Act on a notice: sign, dispute, fix, verify, reassign, void", post(notices::api::act)),
        route(M::GET, "/api/v1/runs/{run_id}", "patrols", SignedIn, "A patrol run as the server saw it", get(patrols::api::get_run)),
        route(M::GET, "/api/v1/sites/{site_id}/daily-logs/{day}", "patrols", SignedIn, "A site's patrol log of one day (supervisors)", get(patrols::api::get_daily_log)),
        route(M::POST, "/api/v1/sites/{site_id}/daily-logs/{day}/sign", "patrols", SignedIn, "Sign a day's patrol log", post(patrols::api::sign_daily_log)),
        // Public: witnesses hold no employee login; answers are hashes, sizes and times (docs/audit.md).
        route(M::GET, "/api/v1/audit/tree-head", "audit", Public, "The newest signed tree head of the transparency log", get(audit::api::tree_head)),
        route(M::GET, "/api/v1/audit/public-key", "audit", Public, "The log's Ed25519 public key", get(audit::api::public_key)),
        route(M::GET, "/api/v1/audit/consistency", "audit", Public, "Consistency proof between tree sizes first and second", get(audit::api::consistency)),
        route(M::GET, "/api/v1/audit/inclusion", "audit", Public, "Inclusion proof of a leaf (index or record_id) in a tree size", get(audit::api::inclusion)),
        route(M::GET, "/api/v1/audit/check-code", "audit", Public, "Check a printed notice's number and verification code", get(audit::api::check_code_handler)),
    ]
}

pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The route table with `extra` routes beside it, under the same layers (the tests
/// add routes that misbehave on purpose, to show what the layers do with them).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let body_limit = state.settings.max_body_bytes;
    let mut router = Router::new();
    for r in routes() {
        let handler = match r.audience {
            Audience::Public => r.handler,
            audience => r.handler.route_layer(middleware::from_fn_with_state((state.clone(), audience), gate)),
        };
        router = router.route(r.path, handler);
    }
    router
        .merge(crate::web::router())
        .merge(extra)
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        // Inside `observe`, so a panic is counted and answered like any other fault.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        // Outside `observe`, which may reword an error's body: gzip when the client
        // takes it (pulls and lists go to phones on mobile data), not for event
        // streams, images or bodies too small to gain.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        // Every request gets an id (or keeps the one a proxy gave it): in its log
        // span, and back in the answer's `x-request-id`, so a person's report of a
        // failure can be found in the log.
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(tower_http::request_id::MakeRequestUuid))
        .with_state(state)
}

/// Decides the route's audience before anything else of the request is read: a
/// caller without a valid token gets 401 and one whose roles can never use the route
/// gets 403, whatever the body holds (the body's schema is nobody else's business).
/// The handler then judges the particular site, notice or person through the policy;
/// the signed-in actor is handed on so it is not looked up twice.
async fn gate(State((state, audience)): State<(AppState, Audience)>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let actor = match <crate::policy::Actor as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    let allowed = match audience {
        Audience::Public | Audience::SignedIn => true,
        Audience::Supervisor => actor.is_admin() || actor.supervises_somewhere(),
        Audience::Administrator => actor.is_admin(),
    };
    if !allowed {
        return ApiError::forbidden().into_response();
    }
    parts.extensions.insert(actor);
    next.run(Request::from_parts(parts, body)).await
}

/// Counts requests for `/metrics`, refuses clients of another protocol version, and
/// answers every error in the reader's language, axum's own plain-text rejections
/// (bad JSON, body too large, wrong method) included (`error::answer_in_reader_language`).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let reader = Reader::of(req.headers());
    let wrong_version = req
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != PROTOCOL_VERSION.to_string());
    let response = if wrong_version {
        ApiError::UpgradeRequired(Reason::UpdateApp { version: PROTOCOL_VERSION }).into_response()
    } else {
        next.run(req).await
    };
    let response = crate::error::answer_in_reader_language(reader, response).await;
    state.metrics.observe(method.as_str(), &path, response.status().as_u16(), started.elapsed());
    response
}

/// Gives up on a request that takes longer than `request_timeout_seconds` (but `/live`,
/// a stream that lasts minutes on purpose), with a 503 the reader can act on. What a
/// given-up handler had begun in the database commits or rolls back on its own, and
/// every write a phone retries is idempotent (records by id, chunks by offset).
async fn time_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = std::time::Duration::from_secs(state.settings.request_timeout_seconds);
    if req.uri().path() == "/live" {
        return next.run(req).await;
    }
    // Kept for the answer only a browser's page needs (its language).
    let page_headers = wants_page(&req).then(|| req.headers().clone());
    let path = req.uri().path().to_string();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let seconds = limit.as_secs();
            let e =
                ApiError::Unavailable(Reason::TookTooLong { seconds }, format!("{path} took longer than {seconds} s"));
            if let Some(headers) = page_headers {
                let mut page = crate::web::error::page(&headers, &path, &e);
                *page.status_mut() = e.status();
                page
            } else {
                e.into_response()
            }
        }
    }
}

/// The log span of a request: method, path and the request's id.
fn request_span(req: &Request) -> tracing::Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}

/// A handler that panicked: the person gets the usual 500 (`Reason::Internal`, in
/// their language), the log gets what the panic said, and the connection and the
/// server go on. Whatever the handler held is dropped while unwinding; database work
/// runs in the store's own tasks, whose transactions roll back (`store`).
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let said = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ApiError::Internal(format!("handler panicked: {said}")).into_response()
}

/// A path no route serves: a page for a browser outside the API, JSON for the rest.
/// A browser asking for something outside the API: answered with a page, not JSON.
fn wants_page(req: &Request) -> bool {
    !req.uri().path().starts_with("/api/")
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

async fn unknown_path(req: Request) -> Response {
    if wants_page(&req) {
        return crate::web::error::page(req.headers(), req.uri().path(), &ApiError::not_found(Thing::Page));
    }
    ApiError::not_found(Thing::Endpoint).into_response()
}

/// The OpenAPI 3.1 document, generated from `routes()`.
pub fn openapi_document() -> serde_json::Value {
    use serde_json::{Map, json};
    let mut paths = Map::new();
    for r in routes() {
        let params: Vec<_> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": format!("{}_{}", r.method.as_str().to_lowercase(), r.path.trim_start_matches('/').replace(['/', '{', '}', '.'], "_")),
            "parameters": params,
            "responses": {
                "200": {"description": "success"},
                "4XX": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "5XX": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if r.audience != Audience::Public {
            op["security"] = json!([{"bearer": []}]);
        }
        if r.audience == Audience::Administrator {
            op["description"] = json!("Administrators only; others get 403.");
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Patrol API", "version": env!("CARGO_PKG_VERSION"), "description": format!("Protocol version {PROTOCOL_VERSION}. Every error is an `Error` object whose `message` is in the language of the request's `Accept-Language` (Chinese unless English is preferred), with `message_zh` and `message_en` beside it.")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {
                "type": "object",
                "description": "Every error. `message` is in the language the request prefers by `Accept-Language` (Chinese, zh-CN, unless English is preferred); `message_zh` and `message_en` always carry both.",
                "required": ["error", "message", "message_zh", "message_en", "reason"],
                "properties": {
                    "error": {"type": "string", "description": "The kind of error: bad_request, invalid_input, not_found, conflict, forbidden, too_large, too_many_requests, unavailable, internal, protocol_version, password_change_required, or for 401 why (unauthenticated, token_expired, invalid_token, signed_out, account_disabled, invalid_credentials, refresh_*)"},
                    "message": {"type": "string", "description": "Why, in the reader's language"},
                    "message_zh": {"type": "string", "description": "Why, in Chinese"},
                    "message_en": {"type": "string", "description": "Why, in English"},
                    "reason": {"type": "string", "description": "Why, as a stable code (required, too_long, json_syntax, sync_gap …)"},
                    "field": {"type": "string", "description": "The field refused, for invalid_input"}
                }
            }}
        }
    })
}

async fn openapi() -> impl IntoResponse {
    let mut r = Json(openapi_document()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}
