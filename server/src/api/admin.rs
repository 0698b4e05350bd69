//! The administrator's JSON API for reference data, and the scoped reads that
//! supervisors, heads and patrol staff make of it.

use crate::api::extract::Json;
use crate::api::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use patrol_protocol::api::Me;
use patrol_protocol::model::check_text;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Person, Role, RoleAssignment, Route, Schedule, Site,
    TimeWindow, check_site_code, limits,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::password;
use crate::error::{ApiError, ApiResult};
use crate::policy::{Access, Actor};
use crate::store::{Conn, DbError, people, reference};
use crate::sync::feed;

/// Loads a site the actor may read, or answers 404 / 403.
pub(crate) async fn readable_site(state: &AppState, actor: &Actor, site_id: Id) -> ApiResult<Site> {
    let site = state
        .store
        .read(move |c| reference::get_site(c, site_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Site))?;
    actor.require(Access::ReadSite(&site))?;
    Ok(site)
}

/// Loads a site for an administrator of its organisation.
pub(crate) async fn administered_site(state: &AppState, actor: &Actor, site_id: Id) -> ApiResult<Site> {
    actor.require(Access::Administer)?;
    readable_site(state, actor, site_id).await
}

pub async fn me(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Me>> {
    let org = actor.person.org_id;
    let all = state.store.read(move |c| reference::list_sites(c, org)).await?;
    let sites = all.into_iter().filter(|s| actor.may(Access::ReadSite(s))).collect();
    Ok(Json(Me {
        person_id: actor.person.id,
        org_id: actor.person.org_id,
        login: actor.person.login,
        display_name: actor.person.display_name,
        roles: actor.roles,
        sites,
    }))
}

pub async fn list_sites(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Vec<Site>>> {
    let org = actor.person.org_id;
    let all = state.store.read(move |c| reference::list_sites(c, org)).await?;
    Ok(Json(all.into_iter().filter(|s| actor.may(Access::ReadSite(s))).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default = "china_offset")]
    pub utc_offset_minutes: i32,
}

fn china_offset() -> i32 {
    480
}

pub async fn create_site(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<NewSite>,
) -> ApiResult<(StatusCode, Json<Site>)> {
    actor.require(Access::Administer)?;
    check_site_code(&req.code)?;
    check_text("name_zh", &req.name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    if !(-720..=840).contains(&req.utc_offset_minutes) {
        return Err(ApiError::invalid("utc_offset_minutes", Reason::OutOfRange { min: -720.0, max: 840.0 }));
    }
    let site = Site {
        id: Id::now_v7(),
        org_id: actor.person.org_id,
        code: req.code,
        name_zh: req.name_zh,
        name_en: req.name_en,
        utc_offset_minutes: req.utc_offset_minutes,
    };
    let now = state.clock.now_ms();
    let s = site.clone();
    state
        .store
        .write(move |c| reference::insert_site(c, &s, now).and_then(|_| feed::reference_changed(c, s.id, now)))
        .await?;
    Ok((StatusCode::CREATED, Json(site)))
}

pub async fn get_site(State(state): State<AppState>, actor: Actor, Path(site_id): Path<Id>) -> ApiResult<Json<Site>> {
    Ok(Json(readable_site(&state, &actor, site_id).await?))
}

pub async fn list_departments(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Department>>> {
    readable_site(&state, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| reference::list_departments(c, site_id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    pub kind: DepartmentKind,
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

pub async fn create_department(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewDepartment>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    administered_site(&state, &actor, site_id).await?;
    let name_zh = if req.name_zh.trim().is_empty() { req.kind.name_zh().to_string() } else { req.name_zh };
    check_text("name_zh", &name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    let dept = Department { id: Id::now_v7(), site_id, kind: req.kind, name_zh, name_en: req.name_en };
    let now = state.clock.now_ms();
    let d = dept.clone();
    state
        .store
        .write(move |c| reference::insert_department(c, &d, now).and_then(|_| feed::reference_changed(c, site_id, now)))
        .await?;
    Ok((StatusCode::CREATED, Json(dept)))
}

pub async fn list_checkpoints(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Checkpoint>>> {
    readable_site(&state, &actor, site_id).await?;
    let all = state.store.read(move |c| reference::list_checkpoints(c, site_id)).await?;
    // Label secrets go only to those who print labels (docs/audit.md).
    let prints_labels = actor.may(Access::PrintLabels);
    Ok(Json(all.into_iter().map(|cp| if prints_labels { cp } else { cp.without_secret() }).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChecklistItem {
    pub text_zh: String,
    #[serde(default)]
    pub text_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCheckpoint {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default = "default_radius")]
    pub radius_m: f64,
    /// Generated when absent.
    pub qr_token: Option<String>,
    pub nfc_tag_id: Option<String>,
    #[serde(default)]
    pub checklist: Vec<NewChecklistItem>,
}

fn default_radius() -> f64 {
    30.0
}

/// A random token for a QR label: 24 URL-safe characters, unguessable.
pub fn new_qr_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl NewCheckpoint {
    pub fn into_checkpoint(self, site_id: Id) -> Result<Checkpoint, ApiError> {
        let cp = Checkpoint {
            id: Id::now_v7(),
            site_id,
            code: self.code,
            name_zh: self.name_zh,
            name_en: self.name_en,
            latitude: self.latitude,
            longitude: self.longitude,
            radius_m: self.radius_m,
            qr_token: self.qr_token.unwrap_or_else(new_qr_token),
            qr_digest: String::new(),
            nfc_tag_id: self.nfc_tag_id.filter(|t| !t.is_empty()),
            checklist: self
                .checklist
                .into_iter()
                .map(|i| ChecklistItem { id: Id::now_v7(), text_zh: i.text_zh, text_en: i.text_en })
                .collect(),
        };
        cp.validate()?;
        Ok(cp)
    }
}

pub async fn create_checkpoint(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewCheckpoint>,
) -> ApiResult<(StatusCode, Json<Checkpoint>)> {
    administered_site(&state, &actor, site_id).await?;
    let cp = req.into_checkpoint(site_id)?;
    let now = state.clock.now_ms();
    let stored = cp.clone();
    state
        .store
        .write(move |c| {
            reference::insert_checkpoint(c, &stored, now).and_then(|_| feed::reference_changed(c, site_id, now))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(cp)))
}

pub async fn list_routes(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Route>>> {
    readable_site(&state, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| reference::list_routes(c, site_id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoute {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub checkpoint_ids: Vec<Id>,
}

/// Checks that every id names a checkpoint of the site, once.
pub(crate) fn check_route_checkpoints(c: &mut dyn Conn, site_id: Id, ids: &[Id]) -> Result<Option<ApiError>, DbError> {
    if ids.is_empty() || ids.len() > limits::ROUTE_CHECKPOINTS_MAX {
        return Ok(Some(ApiError::invalid("checkpoint_ids", Reason::CountBetween { min: 1, max: 500 })));
    }
    let known: Vec<Id> = reference::list_checkpoints(c, site_id)?.into_iter().map(|cp| cp.id).collect();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !known.contains(id) {
            return Ok(Some(ApiError::invalid("checkpoint_ids", Reason::CheckpointNotOfSite { id: id.to_string() })));
        }
        if !seen.insert(id) {
            return Ok(Some(ApiError::invalid("checkpoint_ids", Reason::AppearsTwice { what: id.to_string() })));
        }
    }
    Ok(None)
}

pub async fn create_route(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewRoute>,
) -> ApiResult<(StatusCode, Json<Route>)> {
    administered_site(&state, &actor, site_id).await?;
    check_text("name_zh", &req.name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    let route = Route {
        id: Id::now_v7(),
        site_id,
        name_zh: req.name_zh,
        name_en: req.name_en,
        checkpoint_ids: req.checkpoint_ids,
    };
    let now = state.clock.now_ms();
    let r = route.clone();
    let refused = state
        .store
        .write(move |c| {
            if let Some(e) = check_route_checkpoints(c, site_id, &r.checkpoint_ids)? {
                return Ok(Some(e));
            }
            reference::insert_route(c, &r, now)?;
            feed::reference_changed(c, site_id, now)?;
            Ok(None)
        })
        .await?;
    match refused {
        Some(e) => Err(e),
        None => Ok((StatusCode::CREATED, Json(route))),
    }
}

pub async fn list_schedules(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Schedule>>> {
    readable_site(&state, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| reference::list_schedules(c, site_id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub route_id: Id,
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
}

pub async fn create_schedule(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewSchedule>,
) -> ApiResult<(StatusCode, Json<Schedule>)> {
    administered_site(&state, &actor, site_id).await?;
    let schedule =
        Schedule { id: Id::now_v7(), route_id: req.route_id, days_of_week: req.days_of_week, windows: req.windows };
    schedule.validate()?;
    let route_id = schedule.route_id;
    let route = state.store.read(move |c| reference::get_route(c, route_id)).await?;
    if route.is_none_or(|r| r.site_id != site_id) {
        return Err(ApiError::invalid("route_id", Reason::RouteNotOfSite));
    }
    let now = state.clock.now_ms();
    let s = schedule.clone();
    state
        .store
        .write(move |c| reference::insert_schedule(c, &s, now).and_then(|_| feed::reference_changed(c, site_id, now)))
        .await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

#[derive(serde::Serialize)]
pub struct PersonWithRoles {
    #[serde(flatten)]
    pub person: Person,
    pub roles: Vec<Role>,
}

pub async fn list_people(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Vec<PersonWithRoles>>> {
    actor.require(Access::ReadPeople)?;
    let org = actor.person.org_id;
    let all = state
        .store
        .read(move |c| {
            people::list_people(c, org)?
                .into_iter()
                .map(|p| Ok(PersonWithRoles { roles: people::roles_of(c, p.id)?, person: p }))
                .collect::<Result<Vec<_>, DbError>>()
        })
        .await?;
    if actor.is_org_wide() {
        return Ok(Json(all));
    }
    // A site supervisor sees the people who hold a role at one of their sites.
    let mine = |r: &Role| r.site_id().is_some_and(|s| actor.is_supervisor_of(s));
    Ok(Json(all.into_iter().filter(|p| p.roles.iter().any(mine)).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub login: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub roles: Vec<Role>,
}

pub(crate) fn check_login(login: &str) -> ApiResult<()> {
    let ok = (2..=64).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok { Ok(()) } else { Err(ApiError::invalid("login", Reason::LoginFormat)) }
}

/// Checks that a role's site and department belong to the organisation.
pub(crate) fn role_problem(c: &mut dyn Conn, org: Id, role: &Role) -> Result<Option<ApiError>, DbError> {
    if let Some(site_id) = role.site_id() {
        if reference::get_site(c, site_id)?.is_none_or(|s| s.org_id != org) {
            return Ok(Some(ApiError::invalid("roles.site_id", Reason::SiteNotOfOrg { id: site_id.to_string() })));
        }
    }
    if let Role::DepartmentHead { site_id, department_id } = role {
        if reference::get_department(c, *department_id)?.is_none_or(|d| d.site_id != *site_id) {
            return Ok(Some(ApiError::invalid("roles.department_id", Reason::DepartmentNotOfSite)));
        }
    }
    Ok(None)
}

/// Checks a new person's fields (the roles are checked against the database when
/// stored). Shared by the API, the console form and the CSV import.
pub(crate) fn check_new_person(req: &NewPerson) -> ApiResult<()> {
    check_login(&req.login)?;
    check_text("display_name", &req.display_name, limits::NAME_MAX, true)?;
    if req.password.chars().count() < password::MIN_LEN || req.password.len() > password::MAX_LEN {
        return Err(ApiError::invalid("password", Reason::PasswordLength));
    }
    if req.roles.len() > 50 {
        return Err(ApiError::invalid("roles", Reason::TooMany { max: 50 }));
    }
    Ok(())
}

/// Stores a person and their roles inside the caller's transaction; `Some(error)`
/// when a role names a site or department outside the organisation (the caller
/// then rolls back by returning an error of its own, or stores nothing).
pub(crate) fn insert_person_with_roles(
    c: &mut dyn Conn,
    p: &Person,
    password_hash: &str,
    roles: &[Role],
    now: i64,
) -> Result<Option<ApiError>, DbError> {
    for role in roles {
        if let Some(e) = role_problem(c, p.org_id, role)? {
            return Ok(Some(e));
        }
    }
    people::insert_person(c, p, password_hash, now)?;
    for role in roles {
        if let Some(site) = role.site_id() {
            feed::reference_changed(c, site, now)?;
        }
        people::insert_role(c, &RoleAssignment { person_id: p.id, role: role.clone() }, now)?;
    }
    Ok(None)
}

pub async fn create_person(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<NewPerson>,
) -> ApiResult<(StatusCode, Json<PersonWithRoles>)> {
    actor.require(Access::Administer)?;
    check_new_person(&req)?;
    let pw = req.password;
    let hash = password::hash_bounded(pw).await.map_err(|password::Busy| crate::auth::busy())?;
    let person = Person {
        id: Id::now_v7(),
        org_id: actor.person.org_id,
        login: req.login,
        display_name: req.display_name,
        active: true,
    };
    let now = state.clock.now_ms();
    let (p, roles) = (person.clone(), req.roles.clone());
    let refused = state.store.write(move |c| insert_person_with_roles(c, &p, &hash, &roles, now)).await?;
    if let Some(e) = refused {
        return Err(e);
    }
    Ok((StatusCode::CREATED, Json(PersonWithRoles { person, roles: req.roles })))
}

pub async fn add_role(
    State(state): State<AppState>,
    actor: Actor,
    Path(person_id): Path<Id>,
    Json(role): Json<Role>,
) -> ApiResult<(StatusCode, Json<PersonWithRoles>)> {
    actor.require(Access::Administer)?;
    let org = actor.person.org_id;
    let now = state.clock.now_ms();
    let outcome = state
        .store
        .write(move |c| {
            let Some(person) = people::get_person(c, person_id)?.filter(|p| p.org_id == org) else {
                return Ok(Err(ApiError::not_found(Thing::Person)));
            };
            if let Some(e) = role_problem(c, org, &role)? {
                return Ok(Err(e));
            }
            if let Some(site) = role.site_id() {
                feed::reference_changed(c, site, now)?;
            }
            people::insert_role(c, &RoleAssignment { person_id, role }, now)?;
            Ok(Ok(PersonWithRoles { roles: people::roles_of(c, person_id)?, person }))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(outcome)))
}
