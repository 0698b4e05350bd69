//! People and their roles for the administrator: the list, a new person, another
//! role for someone, and a CSV import that creates everyone or no one.

use std::collections::HashSet;

use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Department, DepartmentKind, Id, Person, Role, Site};

use super::{Saved, saved};
use crate::auth::password;
use crate::error::ApiError;
use crate::policy::Access;
use crate::state::AppState;
use crate::store::{DbError, people, reference};
use crate::web::csv_import::{self, CsvRow, RowError};
use crate::web::echo;
use crate::web::error::WebError;
use crate::web::i18n::{K, Lang};
use crate::web::layout::{self, FieldKind, create_card, csrf, field, flash, import_card, role_label};
use crate::web::session::{Page, Posted};
use patrol_cases::admin::{self, NewPerson};

/// Most people one CSV file may bring: each password is hashed with argon2, which
/// is deliberately slow.
pub const IMPORT_ROWS_MAX: usize = 200;

const CSV_COLUMNS: &[&str] = &["login", "display_name", "password", "role", "site_code", "department_kind"];

const ROLE_KINDS: &[(&str, K)] = &[
    ("patrol_staff", K::RolePatrolStaff),
    ("department_head", K::RoleDepartmentHead),
    ("department_staff", K::RoleDepartmentStaff),
    ("site_supervisor", K::RoleSiteSupervisor),
    ("org_supervisor", K::RoleOrgSupervisor),
    ("administrator", K::RoleAdministrator),
];

/// A role from its kind, site and department, as chosen in a form or a CSV row.
fn role_from(kind: &str, site: Option<Id>, department: Option<Id>) -> Result<Role, ApiError> {
    let need_site = || ApiError::invalid("site_id", Reason::RoleNeedsSite { role: kind.to_string() });
    Ok(match kind {
        "administrator" => Role::Administrator,
        "org_supervisor" => Role::OrgSupervisor,
        "site_supervisor" => Role::SiteSupervisor { site_id: site.ok_or_else(need_site)? },
        "patrol_staff" => Role::PatrolStaff { site_id: site.ok_or_else(need_site)? },
        "department_head" => Role::DepartmentHead {
            site_id: site.ok_or_else(need_site)?,
            department_id: department.ok_or_else(|| ApiError::invalid("department", Reason::HeadNeedsDepartment))?,
        },
        "department_staff" => Role::DepartmentStaff {
            site_id: site.ok_or_else(need_site)?,
            department_id: department.ok_or_else(|| ApiError::invalid("department", Reason::HeadNeedsDepartment))?,
        },
        other => {
            let allowed = ROLE_KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
            let value = other.chars().take(40).collect();
            return Err(ApiError::invalid("role", Reason::UnknownValue { value, allowed }));
        }
    })
}

/// The form's role: kind, a site, and for heads a department given as
/// "site_id:department_id".
fn role_from_form(form: &crate::web::session::FormData) -> Result<Role, ApiError> {
    let kind = form.get("role");
    let parse = |v: &str, field: &'static str| -> Result<Option<Id>, ApiError> {
        if v.is_empty() {
            Ok(None)
        } else {
            v.parse().map(Some).map_err(|_| ApiError::invalid(field, Reason::NotAChoice))
        }
    };
    let (site, department) = match form.get("department").split_once(':') {
        Some((s, d)) if kind == "department_head" || kind == "department_staff" => {
            (parse(s, "department")?, parse(d, "department")?)
        }
        _ => (parse(form.get("site_id"), "site_id")?, None),
    };
    role_from(kind, site, department)
}

struct Org {
    sites: Vec<Site>,
    departments: Vec<Department>,
}

async fn org_of(state: &AppState, org: Id) -> Result<Org, WebError> {
    Ok(state
        .store
        .read(move |c| {
            let sites = reference::list_sites(c, org)?;
            let mut departments = Vec::new();
            for s in &sites {
                departments.extend(reference::list_departments_all(c, s.id)?);
            }
            Ok(Org { sites, departments })
        })
        .await?)
}

/// A role with its site and department spelled out.
fn describe(lang: Lang, org: &Org, role: &Role) -> String {
    let site = role
        .site_id()
        .and_then(|id| org.sites.iter().find(|s| s.id == id))
        .map(|s| lang.pick(&s.name_zh, &s.name_en).to_string());
    let dept = match role {
        Role::DepartmentHead { department_id, .. } | Role::DepartmentStaff { department_id, .. } => org
            .departments
            .iter()
            .find(|d| d.id == *department_id)
            .map(|d| lang.pick(&d.name_zh, &d.name_en).to_string()),
        _ => None,
    };
    [Some(role_label(lang, role).to_string()), site, dept].into_iter().flatten().collect::<Vec<_>>().join(" · ")
}

fn role_fields(lang: Lang, org: &Org) -> Markup {
    let t = |k| lang.t(k);
    html! {
        label.field { span { (t(K::Role)) }
            select name="role" {
                @for (kind, label) in ROLE_KINDS {
                    option value=(kind) selected[layout::chosen("role", kind, false)] { (t(*label)) }
                }
            }
            (layout::field_error("role", echo::error_for("role")))
        }
        label.field { span { (t(K::Site)) }
            select name="site_id" {
                option value="" { (t(K::NoSiteNeeded)) }
                @for s in &org.sites {
                    option value=(s.id) selected[layout::chosen("site_id", &s.id.to_string(), false)] {
                        (s.code) " " (lang.pick(&s.name_zh, &s.name_en))
                    }
                }
            }
            (layout::field_error("site_id", echo::error_for("site_id")))
        }
        label.field { span { (t(K::Department)) " (" (t(K::RoleDepartmentHead)) " / " (t(K::RoleDepartmentStaff)) ")" }
            select name="department" {
                option value="" { (t(K::NoDepartment)) }
                @for d in &org.departments {
                    @let site = org.sites.iter().find(|s| s.id == d.site_id).map_or("", |s| s.code.as_str());
                    @let value = format!("{}:{}", d.site_id, d.id);
                    option value=(value) selected[layout::chosen("department", &value, false)] {
                        (site) " · " (lang.pick(&d.name_zh, &d.name_en))
                    }
                }
            }
            (layout::field_error("department", echo::error_for("department")))
        }
    }
}

/// `GET /admin/people`
pub async fn list(State(state): State<AppState>, page: Page, Query(q): Query<Saved>) -> Result<Response, WebError> {
    page.actor.require(Access::Administer)?;
    Ok(render(&state, &page, q.yes(), None).await?.into_response())
}

async fn render(
    state: &AppState,
    page: &Page,
    was_saved: bool,
    problems: Option<&[RowError]>,
) -> Result<Markup, WebError> {
    let org_id = page.actor.person.org_id;
    let everyone = state
        .store
        .read(move |c| {
            people::list_people(c, org_id)?
                .into_iter()
                .map(|p| Ok((people::roles_of(c, p.id)?, p)))
                .collect::<Result<Vec<(Vec<Role>, Person)>, DbError>>()
        })
        .await?;
    let org = org_of(state, org_id).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        h1 { (t(K::People)) }
        (flash(was_saved, lang))
        @if let Some(p) = problems { (csv_import::report(lang, p)) }
        div.grid {
            section.card.span2 {
                table #people {
                    thead { tr { th { (t(K::Login)) } th { (t(K::DisplayName)) } th { (t(K::Roles)) } th { (t(K::Active)) } th { (t(K::AddRole)) } } }
                    tbody {
                        @for (roles, p) in &everyone {
                            tr data-login=(p.login) {
                                td.code { (p.login) }
                                td { (p.display_name) }
                                td { ul.tags { @for r in roles { li { (describe(lang, &org, r)) } } } }
                                td {
                                    @if p.active { span.ok { (t(K::Enabled)) } } @else { span.muted { (t(K::Disabled)) } }
                                    @if p.id != page.actor.person.id {
                                        form.inline method="post" action={ "/admin/people/" (p.id) "/active" } {
                                            (csrf(page))
                                            input type="hidden" name="active" value=(if p.active { "0" } else { "1" });
                                            button type="submit" data-action="toggle-active" {
                                                (if p.active { t(K::Deactivate) } else { t(K::Reactivate) })
                                            }
                                        }
                                        form.inline method="post" action={ "/admin/people/" (p.id) "/password-reset" } {
                                            (csrf(page))
                                            button type="submit" data-action="reset-password" { (t(K::ResetPassword)) }
                                        }
                                    }
                                }
                                td {
                                    details {
                                        summary { (t(K::AddRole)) }
                                        @let action = format!("/admin/people/{}/roles", p.id);
                                        form method="post" action=(action) {
                                            (csrf(page))
                                            (echo::form(&action, None, || role_fields(lang, &org)))
                                            button type="submit" { (t(K::Save)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.stack {
                (create_card(page, t(K::NewPerson), "/admin/people", || html! {
                    (field(t(K::Login), "login", "", FieldKind::Required))
                    (field(t(K::DisplayName), "display_name", "", FieldKind::Required))
                    (field(t(K::Password), "password", "", FieldKind::Password))
                    (role_fields(lang, &org))
                }))
                (import_card(page, "/admin/people/import", K::PeopleCsvHint))
            }
        }
    };
    Ok(layout::chrome(page, t(K::People), body))
}

/// `POST /admin/people`: the JSON API's `create_person` checks and stores.
pub async fn create(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    let f = &posted.form;
    let req = NewPerson {
        login: f.get("login").to_string(),
        display_name: f.get("display_name").to_string(),
        password: f.fields.iter().find(|(k, _)| k == "password").map(|(_, v)| v.clone()).unwrap_or_default(),
        roles: vec![role_from_form(f)?],
    };
    let _created = admin::create_person(&state.store, &posted.page.actor, req, state.clock.now_ms()).await?;
    Ok(saved("/admin/people"))
}

/// `POST /admin/people/{person_id}/active`: the JSON API's `set_active`.
pub async fn set_active(
    State(state): State<AppState>,
    Path(person_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let active = match posted.form.get("active") {
        "1" => true,
        "0" => false,
        _ => return Err(ApiError::invalid("active", Reason::ZeroOrOne).into()),
    };
    let req = patrol_cases::account::ActiveRequest { active };
    patrol_cases::account::set_active(&state.store, &posted.page.actor, person_id, req, state.clock.now_ms()).await?;
    Ok(saved("/admin/people"))
}

/// `POST /admin/people/{person_id}/password-reset`: shows the one-time password once.
pub async fn reset_password(
    State(state): State<AppState>,
    Path(person_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let page = posted.page;
    let answer =
        patrol_cases::account::reset_password(&state.store, &page.actor, person_id, state.clock.now_ms()).await?;
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        h1 { (t(K::ResetPassword)) }
        section.card {
            p { (t(K::OneTimePassword)) "：" code #one-time-password { (answer.one_time_password) } }
            p.muted { (t(K::OneTimePasswordHint)) }
            p { a href="/admin/people" { (t(K::People)) } }
        }
    };
    let mut r = layout::chrome(&page, t(K::ResetPassword), body).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

fn password_page(page: &Page, problem: Option<&str>, done: bool) -> Markup {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let body = html! {
        h1 { (t(K::ChangePassword)) }
        section.card {
            @if page.must_change_password { p.warn #must-change { (t(K::MustChangePassword)) } }
            @if done { p.ok #password-changed { (t(K::PasswordChanged)) } }
            @if let Some(why) = problem { p.error role="alert" { (why) } }
            form method="post" action="/account/password" {
                (csrf(page))
                label.field { span { (t(K::CurrentPassword)) }
                    input type="password" name="current_password" autocomplete="current-password" required; }
                label.field { span { (t(K::NewPassword)) }
                    input type="password" name="new_password" autocomplete="new-password" required minlength="8"; }
                p.muted { (t(K::PasswordPolicyHint)) }
                button type="submit" { (t(K::ChangePassword)) }
            }
        }
    };
    layout::chrome(page, t(K::ChangePassword), body)
}

/// `GET /account/password`
pub async fn password_form(page: Page, Query(q): Query<Saved>) -> Result<Response, WebError> {
    Ok(password_page(&page, None, q.yes()).into_response())
}

/// `POST /account/password`: a refusal comes back on the same page, in the reader's
/// language, with nothing stored.
pub async fn change_password(
    State(state): State<AppState>,
    addr: crate::auth::ClientAddr,
    posted: Posted,
) -> Result<Response, WebError> {
    let value = |k: &str| posted.form.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let (current, new) = (value("current_password"), value("new_password"));
    let page = posted.page;
    match crate::auth::change_own_password(&state, &page.actor, &addr.0, &current, &new).await {
        Ok(()) => Ok(saved("/account/password")),
        Err(ApiError::Invalid { reason, .. }) => {
            let shown = crate::web::error::say(page.lang, &reason);
            let mut r = password_page(&page, Some(&shown), false).into_response();
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/people/{person_id}/roles`
pub async fn add_role(
    State(state): State<AppState>,
    Path(person_id): Path<Id>,
    posted: Posted,
) -> Result<Response, WebError> {
    let role = role_from_form(&posted.form)?;
    let _created = admin::add_role(&state.store, &posted.page.actor, person_id, role, state.clock.now_ms()).await?;
    Ok(saved("/admin/people"))
}

/// A CSV row as a new person, with the site and department looked up by code and kind.
fn person_from_row(row: &CsvRow, org: &Org) -> Result<NewPerson, ApiError> {
    let site = match row.get("site_code") {
        "" => None,
        code => Some(org.sites.iter().find(|s| s.code == code).ok_or_else(|| {
            ApiError::invalid("site_code", Reason::NoSiteWithCode { code: code.chars().take(40).collect() })
        })?),
    };
    let department = match row.get("department_kind") {
        "" => None,
        kind => {
            let kind = DepartmentKind::parse(kind).ok_or_else(|| {
                ApiError::invalid(
                    "department_kind",
                    Reason::UnknownValue {
                        value: kind.chars().take(40).collect(),
                        allowed: DepartmentKind::ALL.map(DepartmentKind::as_str).join(", "),
                    },
                )
            })?;
            let site = site.ok_or_else(|| ApiError::invalid("site_code", Reason::DepartmentNeedsSite))?;
            Some(
                org.departments
                    .iter()
                    .find(|d| d.site_id == site.id && d.kind == kind)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "department_kind",
                            Reason::SiteLacksDepartment { site: site.code.clone(), kind },
                        )
                    })?
                    .id,
            )
        }
    };
    let req = NewPerson {
        login: row.get("login").to_string(),
        display_name: row.get("display_name").to_string(),
        password: row.get("password").to_string(),
        roles: vec![role_from(row.get("role"), site.map(|s| s.id), department)?],
    };
    admin::check_new_person(&req)?;
    Ok(req)
}

/// `POST /admin/people/import`: every row valid, or no one is created.
pub async fn import(State(state): State<AppState>, posted: Posted) -> Result<Response, WebError> {
    let page = &posted.page;
    page.actor.require(Access::Administer)?;
    let file = posted.form.file("file").ok_or_else(|| ApiError::invalid("file", Reason::ChooseFile))?;
    let org = org_of(&state, page.actor.person.org_id).await?;
    let rows = match csv_import::read(
        &file.bytes,
        CSV_COLUMNS,
        &["login", "display_name", "password", "role"],
        IMPORT_ROWS_MAX,
    ) {
        Ok(rows) => rows,
        Err(problems) => return refused(&state, page, &problems).await,
    };
    let mut problems = Vec::new();
    let mut accepted = Vec::new();
    let mut logins = HashSet::new();
    for row in &rows {
        match person_from_row(row, &org) {
            Ok(p) if !logins.insert(p.login.clone()) => {
                problems.push(RowError::about(row.line, "login", Reason::LoginTwiceInFile { login: p.login.clone() }))
            }
            Ok(p) => accepted.push((row.line, p)),
            Err(e) => problems.push(csv_import::row_refused(row.line, &e)),
        }
    }
    if !problems.is_empty() {
        return refused(&state, page, &problems).await;
    }
    // Hash only once every row is known to be good: argon2 is slow on purpose.
    let passwords = accepted.iter().map(|(_, p)| p.password.clone()).collect();
    let hashes = password::hash_all_bounded(passwords).await.map_err(|password::Busy| crate::auth::busy())?;
    let hashed: Vec<_> = accepted.into_iter().zip(hashes).map(|((line, p), hash)| (line, p, hash)).collect();
    let org_id = page.actor.person.org_id;
    let now = state.clock.now_ms();
    let outcome = state
        .store
        .write(move |c| {
            let mut problems = Vec::new();
            for (line, p, _) in &hashed {
                if people::credentials(c, &p.login)?.is_some() {
                    problems.push(RowError::about(*line, "login", Reason::LoginTaken { login: p.login.clone() }));
                }
            }
            if !problems.is_empty() {
                return Ok(Err(problems));
            }
            for (line, p, hash) in &hashed {
                let person = Person {
                    id: Id::now_v7(),
                    org_id,
                    login: p.login.clone(),
                    display_name: p.display_name.clone(),
                    active: true,
                };
                if let Some(e) = admin::insert_person_with_roles(c, &person, hash, &p.roles, now)? {
                    // The row's problem, and the rows already written undone: the
                    // import is all or nothing.
                    return Ok(Err(vec![RowError::about(*line, "roles", e.reason().clone())]));
                }
            }
            Ok(Ok(hashed.len()))
        })
        .await?;
    match outcome {
        Ok(n) => {
            tracing::info!(people = n, "people imported");
            Ok(saved("/admin/people"))
        }
        Err(problems) => refused(&state, page, &problems).await,
    }
}

async fn refused(state: &AppState, page: &Page, problems: &[RowError]) -> Result<Response, WebError> {
    let body = render(state, page, false, Some(problems)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_needs_the_scope_its_kind_names() {
        let site = Id::now_v7();
        let dept = Id::now_v7();
        assert_eq!(role_from("administrator", None, None).unwrap(), Role::Administrator);
        assert_eq!(role_from("patrol_staff", Some(site), None).unwrap(), Role::PatrolStaff { site_id: site });
        assert!(role_from("patrol_staff", None, None).is_err());
        assert!(role_from("department_head", Some(site), None).is_err());
        assert_eq!(
            role_from("department_head", Some(site), Some(dept)).unwrap(),
            Role::DepartmentHead { site_id: site, department_id: dept }
        );
        assert!(role_from("janitor", Some(site), None).is_err());
    }
}
