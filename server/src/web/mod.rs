//! The web console served by `patrol-server` itself: server-rendered pages for people
//! at desks. Every page is declared once in `pages()`, which builds the router.

pub mod charts;
pub mod csv_import;
pub mod csv_read;
pub mod echo;
pub mod error;
pub mod exports;
pub mod i18n;
pub mod labels;
pub mod layout;
pub mod live;
pub mod pages;
pub mod pdf;
pub mod session;
pub mod stats;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use crate::app::Audience;
use crate::state::AppState;
use pages::{
    checkpoints, departments, faults, home, login, monthly, notices, objects, people, routes, sites, supervise,
};

/// One console page or form target: who may use it, for the authorization matrix.
pub struct WebRoute {
    pub method: Method,
    pub path: &'static str,
    pub audience: Audience,
    pub summary: &'static str,
    pub handler: MethodRouter<AppState>,
}

fn page(
    method: Method,
    path: &'static str,
    audience: Audience,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> WebRoute {
    WebRoute { method, path, audience, summary, handler }
}

/// Every route of the console. Handlers enforce the audience through the policy
/// (`Actor::require` for the access); the audience itself is checked by role when
/// the session is read (`session::Page`), before a handler or a form reader runs.
pub fn pages() -> Vec<WebRoute> {
    use Audience::*;
    use Method as M;
    vec![
        page(M::GET, "/static/console.css", Public, "Style sheet", get(stylesheet)),
        page(M::GET, "/static/console.js", Public, "Script", get(script)),
        page(M::GET, "/lang/{lang}", Public, "Switch language", get(switch_lang)),
        page(M::GET, "/login", Public, "Sign-in form", get(login::form)),
        page(M::POST, "/login", Public, "Sign in", post(login::submit)),
        page(M::POST, "/logout", SignedIn, "Sign out", post(login::logout)),
        page(M::GET, "/", SignedIn, "Home: roles and sites", get(home::home)),
        page(M::GET, "/admin/sites", Administrator, "Sites", get(sites::list)),
        page(M::POST, "/admin/sites", Administrator, "Create a site", post(sites::create)),
        page(M::GET, "/admin/sites/{site_id}", Administrator, "One site and its plan", get(sites::show)),
        page(M::POST, "/admin/sites/{site_id}/plan", Administrator, "Upload the site plan", post(sites::upload_plan)),
        page(
            M::GET,
            "/sites/{site_id}/plan",
            SignedIn,
            "The site plan image (readers of the site)",
            get(sites::plan_image),
        ),
        page(
            M::GET,
            "/admin/sites/{site_id}/objects/{kind}/{id}",
            Administrator,
            "One site, department, checkpoint, route or schedule: edit, retire, history",
            get(objects::show),
        ),
        page(
            M::POST,
            "/admin/sites/{site_id}/objects/{kind}/{id}/edit",
            Administrator,
            "Edit a reference object (a new version)",
            post(objects::edit),
        ),
        page(
            M::POST,
            "/admin/sites/{site_id}/objects/{kind}/{id}/retire",
            Administrator,
            "Retire a reference object",
            post(objects::retire),
        ),
        page(M::GET, "/admin/sites/{site_id}/departments", Administrator, "Departments", get(departments::list)),
        page(
            M::POST,
            "/admin/sites/{site_id}/departments",
            Administrator,
            "Create a department",
            post(departments::create),
        ),
        page(M::GET, "/admin/sites/{site_id}/checkpoints", Administrator, "Checkpoints", get(checkpoints::list)),
        page(
            M::POST,
            "/admin/sites/{site_id}/checkpoints",
            Administrator,
            "Create a checkpoint",
            post(checkpoints::create),
        ),
        page(
            M::POST,
            "/admin/sites/{site_id}/checkpoints/import",
            Administrator,
            "Import checkpoints from CSV",
            post(checkpoints::import),
        ),
        page(
            M::GET,
            "/admin/sites/{site_id}/checkpoints/labels.pdf",
            Administrator,
            "QR labels of every checkpoint (PDF)",
            get(checkpoints::labels),
        ),
        page(
            M::GET,
            "/admin/sites/{site_id}/checkpoints/{checkpoint_id}/label.pdf",
            Administrator,
            "QR label of one checkpoint (PDF)",
            get(checkpoints::label),
        ),
        page(M::GET, "/admin/sites/{site_id}/routes", Administrator, "Routes", get(routes::list)),
        page(M::POST, "/admin/sites/{site_id}/routes", Administrator, "Create a route", post(routes::create)),
        page(M::GET, "/admin/sites/{site_id}/schedules", Administrator, "Schedules", get(routes::schedules)),
        page(
            M::POST,
            "/admin/sites/{site_id}/schedules",
            Administrator,
            "Create a schedule",
            post(routes::create_schedule),
        ),
        page(M::GET, "/admin/people", Administrator, "People and roles", get(people::list)),
        page(M::POST, "/admin/people", Administrator, "Create a person", post(people::create)),
        page(M::POST, "/admin/people/import", Administrator, "Import people from CSV", post(people::import)),
        page(M::POST, "/admin/people/{person_id}/roles", Administrator, "Give a person a role", post(people::add_role)),
        page(
            M::POST,
            "/admin/people/{person_id}/active",
            Administrator,
            "Deactivate or reactivate a person",
            post(people::set_active),
        ),
        page(
            M::POST,
            "/admin/people/{person_id}/password-reset",
            Administrator,
            "Reset a person's password to a one-time one",
            post(people::reset_password),
        ),
        page(M::GET, "/account/password", SignedIn, "Change one's own password", get(people::password_form)),
        page(M::POST, "/account/password", SignedIn, "Change one's own password", post(people::change_password)),
        page(M::GET, "/live", SignedIn, "Server-sent events when the change feed moves", get(live::events)),
        page(
            M::GET,
            "/photos/{sha256}",
            SignedIn,
            "A photo (who may see a run or notice citing it)",
            get(notices::photo),
        ),
        page(M::GET, "/photos/{sha256}/thumb", SignedIn, "A photo's thumbnail", get(notices::photo_thumb)),
        page(
            M::GET,
            "/notices",
            SignedIn,
            "Notice register: the notices the person may see, searched and filtered; unfiltered, the inbox (open, overdue first)",
            get(notices::inbox),
        ),
        page(
            M::GET,
            "/notices/export.xlsx",
            SignedIn,
            "The notice register as filtered, as an Excel workbook",
            get(notices::export_register),
        ),
        page(M::GET, "/notices/{notice_id}", SignedIn, "A notice: photos, timeline, actions", get(notices::show)),
        page(
            M::POST,
            "/notices/{notice_id}/actions",
            SignedIn,
            "Act on a notice (sign, dispute, fix with photos, verify, reassign, void, CAR)",
            post(notices::act),
        ),
        page(
            M::GET,
            "/notices/{notice_id}/notice.pdf",
            SignedIn,
            "The rectification notice as a printable PDF",
            get(notices::notice_pdf),
        ),
        page(M::GET, "/dashboard", Supervisor, "Today per supervised site", get(supervise::dashboard)),
        page(
            M::GET,
            "/runs/{run_id}",
            SignedIn,
            "A patrol run on the site plan (walker, supervisors)",
            get(supervise::run),
        ),
        page(
            M::GET,
            "/sites/{site_id}/daily-logs/{day}",
            Supervisor,
            "A day's patrol log for review",
            get(supervise::daily_log),
        ),
        page(
            M::POST,
            "/sites/{site_id}/daily-logs/{day}/sign",
            Supervisor,
            "Sign a day's patrol log (审阅签字)",
            post(supervise::sign_daily_log),
        ),
        page(M::GET, "/sites/{site_id}/monthly/{month}", Supervisor, "Monthly summary of a site", get(monthly::show)),
        page(
            M::GET,
            "/faults",
            SignedIn,
            "Fault notices the reader may read; the form to issue one",
            get(faults::list),
        ),
        page(M::POST, "/faults", SignedIn, "Issue a fault notice", post(faults::issue)),
        page(
            M::GET,
            "/faults/{fault_id}",
            SignedIn,
            "A fault notice: timeline, sign, appeal, decide, void",
            get(faults::show),
        ),
        page(
            M::POST,
            "/faults/{fault_id}/actions",
            SignedIn,
            "Sign for, refuse, appeal or void a fault notice",
            post(faults::act),
        ),
        page(M::POST, "/faults/{fault_id}/decision", SignedIn, "Decide a fault notice's appeal", post(faults::decide)),
        page(
            M::GET,
            "/faults/{fault_id}/fault.pdf",
            SignedIn,
            "A fault notice as its paper form (PDF)",
            get(faults::fault_pdf),
        ),
        page(
            M::GET,
            "/sites/{site_id}/faults/{month}",
            SignedIn,
            "A site's month of fault notices (违规处理情况汇总)",
            get(faults::month_page),
        ),
        page(
            M::POST,
            "/sites/{site_id}/faults/{month}/notes",
            SignedIn,
            "A root-cause note on a repeated problem",
            post(faults::add_note),
        ),
        page(
            M::GET,
            "/sites/{site_id}/faults/{month}/summary.xlsx",
            SignedIn,
            "The month's fault summary as Excel",
            get(faults::month_xlsx),
        ),
        page(
            M::GET,
            "/sites/{site_id}/faults/{month}/summary.pdf",
            SignedIn,
            "The month's fault summary as PDF",
            get(faults::month_pdf),
        ),
        page(M::GET, "/admin/fault-rules", Administrator, "The assessment rules and scale", get(faults::rules_page)),
        page(M::POST, "/admin/fault-rules", Administrator, "Add an assessment rule", post(faults::create_rule)),
        page(
            M::POST,
            "/admin/fault-rules/{rule_id}",
            Administrator,
            "Edit an assessment rule (a new version)",
            post(faults::edit_rule),
        ),
        page(
            M::POST,
            "/admin/fault-scale",
            Administrator,
            "Set the assessment scale (a new version)",
            post(faults::save_scale),
        ),
        page(
            M::GET,
            "/sites/{site_id}/monthly/{month}/summary.xlsx",
            Supervisor,
            "Monthly summary as Excel",
            get(monthly::xlsx),
        ),
        page(
            M::GET,
            "/sites/{site_id}/monthly/{month}/summary.pdf",
            Supervisor,
            "Monthly summary as PDF",
            get(monthly::pdf),
        ),
    ]
}

/// The console's router, merged into the server's by `app::router`.
pub fn router() -> Router<AppState> {
    use tower_http::set_header::SetResponseHeaderLayer;
    let mut router = Router::new();
    for p in pages() {
        // The page's audience travels with the request for `session::Page` to check.
        router = router.route(p.path, p.handler.route_layer(axum::Extension(p.audience)));
    }
    router
        .layer(middleware::from_fn(error::render_errors))
        // Pages show people's data: not kept by browsers or proxies (the static files
        // say otherwise themselves). The security headers are the whole server's
        // (`app::security_headers`).
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // Uploads (plan images, CSV files) need more than the API's body limit; the
        // form reader bounds each part itself.
        .layer(DefaultBodyLimit::max(session::MULTIPART_MAX))
}

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", include_str!("assets/console.css"))
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", include_str!("assets/console.js"))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

#[derive(serde::Deserialize)]
struct Next_ {
    next: Option<String>,
}

/// `GET /lang/{zh|en}`: remembers the language for a year and goes back.
async fn switch_lang(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(lang): Path<String>,
    Query(q): Query<Next_>,
) -> Response {
    let lang = i18n::Lang::from_cookie(Some(lang.as_str()));
    let next = q.next.unwrap_or_else(|| "/".into());
    let mut r = Redirect::to(layout::local_path(&next)).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, i18n::LANG_COOKIE, lang.cookie_value(), 365 * 86400));
    r
}
