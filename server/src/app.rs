//! Application state and the router. Every route is declared once in `routes()`,
//! which builds both the router and the OpenAPI document.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Json, Router};
use patrol_protocol::api::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use patrol_protocol::reason::{Reason, Thing};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::{account, admin, doc, health, versions};
use crate::auth::{self};
use crate::error::{ApiError, Reader};
use crate::state::AppState;
use crate::{audit, faults, notices, notify, patrols, photos, schedules, sync};

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
    /// What the handler takes and gives, read off its signature (`api::doc`).
    pub document: fn(&mut doc::Schemas, &mut doc::Operation),
}

/// One route: the handler is named once, and both serves the route and documents it.
fn route<H, T, A>(
    method: Method,
    path: &'static str,
    tag: &'static str,
    audience: Audience,
    summary: &'static str,
    handler: H,
) -> ApiRoute
where
    H: Handler<T, AppState> + doc::Documented<A>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("the table uses GET, POST and PUT");
    ApiRoute {
        method,
        path,
        summary,
        tag,
        audience,
        handler: on(filter, handler),
        document: <H as doc::Documented<A>>::document,
    }
}

/// Every route of the server. Kept as a table: one line a route.
#[rustfmt::skip]
pub fn routes() -> Vec<ApiRoute> {
    use Audience::*;
    use Method as M;
    vec![
        route(M::GET, "/healthz", "operations", Public, "Liveness: the process answers", health::healthz),
        route(M::GET, "/readyz", "operations", Public, "Readiness: the database answers", health::readyz),
        route(M::GET, "/metrics", "operations", Public, "Prometheus metrics", health::metrics),
        route(M::GET, "/api/v1/openapi.json", "operations", Public, "This document", openapi),
        route(M::POST, "/api/v1/auth/login", "auth", Public, "Sign in: access token and refresh token bound to a device", auth::login),
        route(M::POST, "/api/v1/auth/refresh", "auth", Public, "Rotate a refresh token; a reused one revokes its family", auth::refresh),
        route(M::POST, "/api/v1/auth/logout", "auth", Public, "End the login a refresh token belongs to", auth::logout),
        route(M::GET, "/api/v1/me", "people", SignedIn, "The signed-in person, roles and visible sites", admin::me),
        route(M::GET, "/api/v1/sites", "sites", SignedIn, "Sites the caller may see", admin::list_sites),
        route(M::POST, "/api/v1/sites", "sites", Administrator, "Create a site", admin::create_site),
        route(M::GET, "/api/v1/sites/{site_id}", "sites", SignedIn, "One site", admin::get_site),
        route(M::PUT, "/api/v1/sites/{site_id}", "sites", Administrator, "Edit a site's names (a new version)", versions::edit_site),
        route(M::GET, "/api/v1/sites/{site_id}/history", "sites", SignedIn, "Every version of a site", versions::site_history),
        route(M::PUT, "/api/v1/sites/{site_id}/departments/{department_id}", "sites", Administrator, "Edit a department (a new version)", versions::edit_department),
        route(M::POST, "/api/v1/sites/{site_id}/departments/{department_id}/retire", "sites", Administrator, "Retire a department with no open notices", versions::retire_department),
        route(M::GET, "/api/v1/sites/{site_id}/departments/{department_id}/history", "sites", SignedIn, "Every version of a department", versions::department_history),
        route(M::PUT, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}", "sites", Administrator, "Edit a checkpoint and its checklist (a new version)", versions::edit_checkpoint),
        route(M::POST, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/retire", "sites", Administrator, "Retire a checkpoint no route uses", versions::retire_checkpoint),
        route(M::GET, "/api/v1/sites/{site_id}/checkpoints/{checkpoint_id}/history", "sites", SignedIn, "Every version of a checkpoint", versions::checkpoint_history),
        route(M::PUT, "/api/v1/sites/{site_id}/routes/{route_id}", "sites", Administrator, "Edit a route (a new version)", versions::edit_route),
        route(M::POST, "/api/v1/sites/{site_id}/routes/{route_id}/retire", "sites", Administrator, "Retire a route and its schedules", versions::retire_route),
        route(M::GET, "/api/v1/sites/{site_id}/routes/{route_id}/history", "sites", SignedIn, "Every version of a route", versions::route_history),
        route(M::PUT, "/api/v1/sites/{site_id}/schedules/{schedule_id}", "sites", Administrator, "Edit a schedule (a new version, counted from the windows that end after it)", versions::edit_schedule),
        route(M::POST, "/api/v1/sites/{site_id}/schedules/{schedule_id}/retire", "sites", Administrator, "Retire a schedule", versions::retire_schedule),
        route(M::GET, "/api/v1/sites/{site_id}/schedules/{schedule_id}/history", "sites", SignedIn, "Every version of a schedule", versions::schedule_history),
        route(M::GET, "/api/v1/sites/{site_id}/departments", "sites", SignedIn, "Departments of a site", admin::list_departments),
        route(M::POST, "/api/v1/sites/{site_id}/departments", "sites", Administrator, "Create a department", admin::create_department),
        route(M::GET, "/api/v1/sites/{site_id}/checkpoints", "sites", SignedIn, "Checkpoints of a site with checklists", admin::list_checkpoints),
        route(M::POST, "/api/v1/sites/{site_id}/checkpoints", "sites", Administrator, "Create a checkpoint", admin::create_checkpoint),
        route(M::GET, "/api/v1/sites/{site_id}/routes", "sites", SignedIn, "Routes of a site", admin::list_routes),
        route(M::POST, "/api/v1/sites/{site_id}/routes", "sites", Administrator, "Create a route", admin::create_route),
        route(M::GET, "/api/v1/sites/{site_id}/schedules", "sites", SignedIn, "Schedules of a site's routes", admin::list_schedules),
        route(M::POST, "/api/v1/sites/{site_id}/schedules", "sites", Administrator, "Create a schedule", admin::create_schedule),
        route(M::GET, "/api/v1/sites/{site_id}/rules", "schedules", SignedIn, "Time limits, escalation steps and audit bounds of a site", schedules::api::get_rules),
        route(M::PUT, "/api/v1/sites/{site_id}/rules", "schedules", Administrator, "Set a site's time limits and escalation steps", schedules::api::put_rules),
        route(M::GET, "/api/v1/sites/{site_id}/holidays", "schedules", SignedIn, "Holidays: regular schedules expect nothing", schedules::api::list_holidays),
        route(M::POST, "/api/v1/sites/{site_id}/holidays", "schedules", Administrator, "Add a holiday", schedules::api::create_holiday),
        route(M::GET, "/api/v1/sites/{site_id}/special-periods", "schedules", SignedIn, "Special periods (move-in) with their own schedules", schedules::api::list_periods),
        route(M::POST, "/api/v1/sites/{site_id}/special-periods", "schedules", Administrator, "Add a special period for a route", schedules::api::create_period),
        route(M::GET, "/api/v1/sites/{site_id}/audit/{day}", "schedules", Supervisor, "Expected patrols of a day and how each went", schedules::api::get_audit),
        route(M::GET, "/api/v1/sites/{site_id}/waivers", "schedules", SignedIn, "Won't-do requests for expected patrols, newest first, a page at a time (Link: rel=next)", schedules::api::list_waivers),
        route(M::POST, "/api/v1/waivers/{waiver_id}/decision", "schedules", Supervisor, "Accept or reject a won't-do request", schedules::api::decide),
        route(M::GET, "/api/v1/sites/{site_id}/channels", "notifications", Administrator, "Where a site's events go (secrets never shown)", notify::api::list),
        route(M::POST, "/api/v1/sites/{site_id}/channels", "notifications", Administrator, "Add a WeCom, DingTalk, webhook or e-mail channel", notify::api::create),
        route(M::PUT, "/api/v1/sites/{site_id}/channels/{channel_id}", "notifications", Administrator, "Change a channel; an absent secret is kept", notify::api::update),
        route(M::GET, "/api/v1/sites/{site_id}/outbox", "notifications", Administrator, "Messages to a site's channels and their delivery, newest first, a page at a time (Link: rel=next)", notify::api::outbox),
        route(M::GET, "/api/v1/notifications", "notifications", SignedIn, "The caller's in-app messages, newest first, a page at a time (Link: rel=next)", notify::api::mine),
        route(M::GET, "/api/v1/people", "people", SignedIn, "People and roles (administrators and supervisors)", admin::list_people),
        route(M::POST, "/api/v1/people", "people", Administrator, "Create a person with roles", admin::create_person),
        route(M::POST, "/api/v1/people/{person_id}/roles", "people", Administrator, "Give a person a role", admin::add_role),
        route(M::POST, "/api/v1/people/{person_id}/roles/remove", "people", Administrator, "Take a role away from a person", account::remove_role),
        route(M::PUT, "/api/v1/people/{person_id}/active", "people", Administrator, "Deactivate (signs out everywhere) or reactivate a person", account::set_active),
        route(M::POST, "/api/v1/people/{person_id}/password-reset", "people", Administrator, "A one-time password to be changed at the next sign-in", account::reset_password),
        route(M::POST, "/api/v1/me/password", "people", SignedIn, "Change one's own password", account::change_password),
        route(M::POST, "/api/v1/sync/push", "sync", SignedIn, "Push a device's records in seq order", sync::push_handler),
        route(M::GET, "/api/v1/sync/status", "sync", SignedIn, "The device's acknowledged position", sync::status_handler),
        route(M::GET, "/api/v1/sync/pull", "sync", SignedIn, "Changes for the caller after a cursor", sync::pull_handler),
        route(M::GET, "/api/v1/photos/{sha256}/upload", "photos", SignedIn, "How much of a photo has arrived", photos::upload_status),
        route(M::PUT, "/api/v1/photos/{sha256}/upload", "photos", SignedIn, "Append a chunk at the offset", photos::upload_chunk),
        route(M::GET, "/api/v1/photos/{sha256}", "photos", SignedIn, "A photo", photos::get_photo),
        route(M::GET, "/api/v1/photos/{sha256}/thumb", "photos", SignedIn, "A photo's thumbnail", photos::get_thumb),
        route(M::GET, "/api/v1/notices", "notices", SignedIn, "Notices the caller may see, open first by due time, a page at a time (Link: rel=next)", notices::api::list),
        route(M::GET, "/api/v1/notices/{notice_id}", "notices", SignedIn, "A notice with its timeline", notices::api::get),
        route(M::POST, "/api/v1/notices/{notice_id}/actions", "notices", SignedIn, "Act on a notice: sign, dispute, fix, verify, reassign, void", notices::api::act),
        route(M::GET, "/api/v1/faults", "faults", SignedIn, "Staff fault notices the caller may read, newest first (at most 500)", faults::api::list),
        route(M::POST, "/api/v1/faults", "faults", SignedIn, "Issue a staff fault notice with points deducted", faults::api::issue),
        route(M::GET, "/api/v1/faults/{fault_id}", "faults", SignedIn, "A fault notice with its timeline", faults::api::get),
        route(M::POST, "/api/v1/faults/{fault_id}/actions", "faults", SignedIn, "Sign for, refuse, appeal or void a fault notice", faults::api::act),
        route(M::POST, "/api/v1/faults/{fault_id}/decision", "faults", SignedIn, "Decide a fault notice's appeal (one level up the chain)", faults::api::decide),
        route(M::GET, "/api/v1/fault-rules", "faults", SignedIn, "The organisation's catalogue of rules with default points", faults::api::rules),
        route(M::POST, "/api/v1/fault-rules", "faults", Administrator, "Add a rule to the catalogue", faults::api::create_rule),
        route(M::PUT, "/api/v1/fault-rules/{rule_id}", "faults", Administrator, "Edit or retire a rule (a new version)", faults::api::edit_rule),
        route(M::GET, "/api/v1/fault-rules/{rule_id}/history", "faults", SignedIn, "Every version of a rule", faults::api::rule_history),
        route(M::GET, "/api/v1/fault-scale", "faults", SignedIn, "The organisation's scale: fines, bands, publish list, joint liability", faults::api::get_scale),
        route(M::PUT, "/api/v1/fault-scale", "faults", Administrator, "Set the scale from now on (a new version)", faults::api::put_scale),
        route(M::GET, "/api/v1/sites/{site_id}/fault-months/{month}", "faults", Supervisor, "A site's month of fault notices: points, bands, fines, joint liability, publish list", faults::api::month_sheet),
        route(M::GET, "/api/v1/runs/{run_id}", "patrols", SignedIn, "A patrol run as the server saw it", patrols::api::get_run),
        route(M::GET, "/api/v1/sites/{site_id}/daily-logs/{day}", "patrols", SignedIn, "A site's patrol log of one day (supervisors)", patrols::api::get_daily_log),
        route(M::POST, "/api/v1/sites/{site_id}/daily-logs/{day}/sign", "patrols", SignedIn, "Sign a day's patrol log", patrols::api::sign_daily_log),
        // Public: witnesses hold no employee login; answers are hashes, sizes and times (docs/audit.md).
        route(M::GET, "/api/v1/audit/tree-head", "audit", Public, "The newest signed tree head of the transparency log", audit::api::tree_head),
        route(M::GET, "/api/v1/audit/public-key", "audit", Public, "The log's Ed25519 public key", audit::api::public_key),
        route(M::GET, "/api/v1/audit/checkpoint", "audit", Public, "The newest head as a C2SP checkpoint (signed note)", audit::api::checkpoint),
        route(M::GET, "/api/v1/audit/checkpoint/witnessed", "audit", Public, "The newest checkpoint cosigned as the witness policy requires", audit::api::witnessed_checkpoint),
        route(M::GET, "/api/v1/audit/checkpoint-key", "audit", Public, "The note verifier key of the checkpoints", audit::api::checkpoint_key),
        route(M::GET, "/api/v1/audit/consistency", "audit", Public, "Consistency proof between tree sizes first and second", audit::api::consistency),
        route(M::GET, "/api/v1/audit/leaves", "audit", Public, "Leaves as logged, from start (at most 1000), for monitors", audit::api::leaves),
        route(M::GET, "/api/v1/audit/inclusion", "audit", Public, "Inclusion proof of a leaf (index or record_id) in a tree size", audit::api::inclusion),
        route(M::GET, "/api/v1/audit/check-code", "audit", Public, "Check a printed notice's number and verification code", audit::api::check_code_handler),
    ]
}

/// The content security policy of every answer: the console's pages load their own
/// stylesheet and script only, and are never framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
        // Headers every answer carries, pages and API alike: no framing, no script but
        // the console's own file, no guessing of content types, no referrer elsewhere.
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
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
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let wrong_version = req
        .headers()
        .get(PROTOCOL_HEADER)
        .is_some_and(|v| v.to_str().map_or(true, |v| v.trim() != PROTOCOL_VERSION.to_string()));
    let response = if wrong_version {
        ApiError::UpgradeRequired(Reason::UpdateApp { version: PROTOCOL_VERSION }).into_response()
    } else {
        next.run(req).await
    };
    let response = crate::error::answer_in_reader_language(reader, request_id, response).await;
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

/// The OpenAPI 3.1 document, generated from `routes()`: each operation from its
/// handler's types (`api::doc`), the audience's security and refusals from the table.
pub fn openapi_document() -> serde_json::Value {
    use serde_json::{Map, json};
    let mut schemas = doc::Schemas::default();
    let error_schema = schemas.written::<patrol_protocol::api::ErrorBody>();
    let mut paths = json!({});
    for r in routes() {
        let mut op = doc::Operation::default();
        (r.document)(&mut schemas, &mut op);
        let names: Vec<&str> =
            r.path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(
            names.len(),
            op.path.len(),
            "{} {}: the path names {} parameters, the handler takes {}",
            r.method,
            r.path,
            names.len(),
            op.path.len()
        );
        let mut params: Vec<_> = names
            .iter()
            .zip(&op.path)
            .map(|(name, schema)| json!({"name": name, "in": "path", "required": true, "schema": doc::path_parameter(name, schema)}))
            .collect();
        // Every operation reads the protocol header when it is there (`observe`).
        params.push(json!({
            "name": PROTOCOL_HEADER, "in": "header", "required": false,
            "schema": {"type": "string", "enum": [PROTOCOL_VERSION.to_string()]},
            "description": format!("The client's protocol version; this server speaks {PROTOCOL_VERSION} and answers another with 426"),
        }));
        for (name, required, schema, description) in &op.query {
            let mut p = json!({"name": name, "in": "query", "required": required, "schema": schema});
            if let Some(d) = description {
                p["description"] = json!(d);
            }
            params.push(p);
        }
        let mut responses = Map::new();
        for a in &op.answers {
            let mut answer = json!({"description": a.description});
            if let Some((media, schema)) = &a.content {
                answer["content"] = json!({ *media: {"schema": schema} });
            }
            if !a.headers.is_empty() {
                answer["headers"] = a
                    .headers
                    .iter()
                    .map(|(name, description)| {
                        (name.to_string(), json!({"description": description, "schema": {"type": "string"}}))
                    })
                    .collect::<Map<_, _>>()
                    .into();
            }
            responses.insert(a.status.to_string(), answer);
        }
        let error = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error_schema}}});
        let with_header = |mut answer: serde_json::Value, name: &str, description: &str| {
            answer["headers"] =
                json!({ name: {"description": description, "required": true, "schema": {"type": "string"}} });
            answer
        };
        responses.insert("4XX".into(), error("refused: the reason is in the body"));
        responses.insert("426".into(), error("the client speaks another protocol version: update the app"));
        if r.audience != Audience::Public {
            responses.insert(
                "401".into(),
                with_header(
                    error("no valid access token"),
                    "WWW-Authenticate",
                    "`Bearer`, with the error when a token was given",
                ),
            );
            responses.insert("403".into(), error("the caller's roles do not allow this"));
        }
        responses.insert("429".into(), with_header(error("too many attempts"), "Retry-After", "Seconds to wait"));
        responses.insert("5XX".into(), error("a fault of the server"));
        responses.insert(
            "503".into(),
            with_header(error("a store is unavailable or the request took too long"), "Retry-After", "Seconds to wait"),
        );
        let mut operation = json!({
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": operation_id(&r),
            "parameters": params,
            "responses": responses,
        });
        if let Some((media, schema)) = &op.body {
            operation["requestBody"] = json!({"required": true, "content": { *media: {"schema": schema} }});
        }
        if r.audience != Audience::Public {
            operation["security"] = json!([{"bearer": []}]);
        }
        match r.audience {
            Audience::Administrator => operation["description"] = json!("Administrators only; others get 403."),
            Audience::Supervisor => operation["description"] = json!("Supervisors and administrators; others get 403."),
            _ => {}
        }
        paths[r.path][r.method.as_str().to_lowercase()] = operation;
    }
    let mut components = schemas.finish(&mut paths);
    components["ErrorBody"]["description"] = json!(
        "Every error. `message` is in the language the request prefers by `Accept-Language` (Chinese, zh-CN, unless English is preferred); `message_zh` and `message_en` always carry both; `reason` is a stable code for programs; `request_id` is the request's `x-request-id`, to find it in the server's log."
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Patrol API", "version": env!("CARGO_PKG_VERSION"), "description": format!("Protocol version {PROTOCOL_VERSION}. Every error is an `ErrorBody` whose `message` is in the language of the request's `Accept-Language` (Chinese unless English is preferred), with `message_zh` and `message_en` beside it.")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": components,
        }
    })
}

/// `sync_push`, `get_sites_site_id_departments` …: the last words of the path after
/// `/api/v1/`, prefixed by the method where one path has several.
fn operation_id(r: &ApiRoute) -> String {
    let words: Vec<&str> = r
        .path
        .trim_start_matches("/api/v1/")
        .trim_start_matches('/')
        .split(['/', '.', '-'])
        .map(|w| w.trim_start_matches('{').trim_end_matches('}'))
        .filter(|w| !w.is_empty())
        .collect();
    format!("{}_{}", r.method.as_str().to_lowercase(), words.join("_"))
}

/// The document's answer type.
pub struct OpenApiDocument(serde_json::Value);

impl IntoResponse for OpenApiDocument {
    fn into_response(self) -> Response {
        let mut r = Json(self.0).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
        r
    }
}

async fn openapi() -> OpenApiDocument {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    OpenApiDocument(DOCUMENT.get_or_init(openapi_document).clone())
}
