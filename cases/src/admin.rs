//! Reference data as use cases: administrators create sites, departments,
//! checkpoints, routes, schedules and people; everyone reads what the policy lets them.

use patrol_protocol::api::Me;
use patrol_protocol::model::check_text;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Person, Role, RoleAssignment, Route, Schedule, Site,
    TimeWindow, check_site_code, limits,
};
use serde::Deserialize;

use crate::error::{DomainError, DomainResult};
use crate::password;
use crate::policy::{Access, Actor};
use crate::store::{Conn, DbError, Store, people, reference};
use crate::sync::feed;

/// Loads a site the actor may read, or answers 404 / 403.
pub async fn readable_site(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Site> {
    let site = store
        .read(move |c| reference::get_site(c, site_id))
        .await?
        .ok_or_else(|| DomainError::not_found(Thing::Site))?;
    actor.require(Access::ReadSite(&site))?;
    Ok(site)
}

/// Loads a site for an administrator of its organisation.
pub async fn administered_site(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Site> {
    actor.require(Access::Administer)?;
    readable_site(store, actor, site_id).await
}

pub async fn me(store: &Store, actor: &Actor) -> DomainResult<Me> {
    let org = actor.person.org_id;
    let all = store.read(move |c| reference::list_sites(c, org)).await?;
    let sites = all.into_iter().filter(|s| actor.may(Access::ReadSite(s))).collect();
    Ok(Me {
        person_id: actor.person.id,
        org_id: actor.person.org_id,
        login: actor.person.login.clone(),
        display_name: actor.person.display_name.clone(),
        roles: actor.roles.clone(),
        sites,
    })
}

pub async fn list_sites(store: &Store, actor: &Actor) -> DomainResult<Vec<Site>> {
    let org = actor.person.org_id;
    let all = store.read(move |c| reference::list_sites(c, org)).await?;
    Ok(all.into_iter().filter(|s| actor.may(Access::ReadSite(s))).collect())
}

#[derive(Deserialize, schemars::JsonSchema)]
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

pub async fn create_site(store: &Store, actor: &Actor, req: NewSite, now: i64) -> DomainResult<Site> {
    actor.require(Access::Administer)?;
    check_site_code(&req.code)?;
    check_text("name_zh", &req.name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    if !(-720..=840).contains(&req.utc_offset_minutes) {
        return Err(DomainError::invalid("utc_offset_minutes", Reason::OutOfRange { min: -720.0, max: 840.0 }));
    }
    let site = Site {
        id: Id::now_v7(),
        org_id: actor.person.org_id,
        code: req.code,
        name_zh: req.name_zh,
        name_en: req.name_en,
        utc_offset_minutes: req.utc_offset_minutes,
    };
    let s = site.clone();
    store
        .write(move |c| reference::insert_site(c, &s, now).and_then(|_| feed::reference_changed(c, s.id, now)))
        .await?;
    Ok(site)
}

pub async fn get_site(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Site> {
    Ok(readable_site(store, actor, site_id).await?)
}

pub async fn list_departments(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Vec<Department>> {
    readable_site(store, actor, site_id).await?;
    Ok(store.read(move |c| reference::list_departments(c, site_id)).await?)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    pub kind: DepartmentKind,
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

pub async fn create_department(
    store: &Store,
    actor: &Actor,
    site_id: Id,
    req: NewDepartment,
    now: i64,
) -> DomainResult<Department> {
    administered_site(store, actor, site_id).await?;
    let name_zh = if req.name_zh.trim().is_empty() { req.kind.name_zh().to_string() } else { req.name_zh };
    check_text("name_zh", &name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    let dept = Department { id: Id::now_v7(), site_id, kind: req.kind, name_zh, name_en: req.name_en };
    let d = dept.clone();
    store
        .write(move |c| reference::insert_department(c, &d, now).and_then(|_| feed::reference_changed(c, site_id, now)))
        .await?;
    Ok(dept)
}

pub async fn list_checkpoints(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Vec<Checkpoint>> {
    readable_site(store, actor, site_id).await?;
    let all = store.read(move |c| reference::list_checkpoints(c, site_id)).await?;
    // Label secrets go only to those who print labels (docs/audit.md).
    let prints_labels = actor.may(Access::PrintLabels);
    Ok(all.into_iter().map(|cp| if prints_labels { cp } else { cp.without_secret() }).collect())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChecklistItem {
    pub text_zh: String,
    #[serde(default)]
    pub text_en: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
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
    pub fn into_checkpoint(self, site_id: Id) -> Result<Checkpoint, DomainError> {
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
    store: &Store,
    actor: &Actor,
    site_id: Id,
    req: NewCheckpoint,
    now: i64,
) -> DomainResult<Checkpoint> {
    administered_site(store, actor, site_id).await?;
    let cp = req.into_checkpoint(site_id)?;
    let stored = cp.clone();
    store
        .write(move |c| {
            reference::insert_checkpoint(c, &stored, now).and_then(|_| feed::reference_changed(c, site_id, now))
        })
        .await?;
    Ok(cp)
}

pub async fn list_routes(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Vec<Route>> {
    readable_site(store, actor, site_id).await?;
    Ok(store.read(move |c| reference::list_routes(c, site_id)).await?)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoute {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub checkpoint_ids: Vec<Id>,
}

/// Checks that every id names a checkpoint of the site, once.
pub fn check_route_checkpoints(c: &mut dyn Conn, site_id: Id, ids: &[Id]) -> Result<Option<DomainError>, DbError> {
    if ids.is_empty() || ids.len() > limits::ROUTE_CHECKPOINTS_MAX {
        return Ok(Some(DomainError::invalid("checkpoint_ids", Reason::CountBetween { min: 1, max: 500 })));
    }
    let known: Vec<Id> = reference::list_checkpoints(c, site_id)?.into_iter().map(|cp| cp.id).collect();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !known.contains(id) {
            return Ok(Some(DomainError::invalid(
                "checkpoint_ids",
                Reason::CheckpointNotOfSite { id: id.to_string() },
            )));
        }
        if !seen.insert(id) {
            return Ok(Some(DomainError::invalid("checkpoint_ids", Reason::AppearsTwice { what: id.to_string() })));
        }
    }
    Ok(None)
}

pub async fn create_route(store: &Store, actor: &Actor, site_id: Id, req: NewRoute, now: i64) -> DomainResult<Route> {
    administered_site(store, actor, site_id).await?;
    check_text("name_zh", &req.name_zh, limits::NAME_MAX, true)?;
    check_text("name_en", &req.name_en, limits::NAME_MAX, false)?;
    let route = Route {
        id: Id::now_v7(),
        site_id,
        name_zh: req.name_zh,
        name_en: req.name_en,
        checkpoint_ids: req.checkpoint_ids,
    };
    let r = route.clone();
    let refused = store
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
        None => Ok(route),
    }
}

pub async fn list_schedules(store: &Store, actor: &Actor, site_id: Id) -> DomainResult<Vec<Schedule>> {
    readable_site(store, actor, site_id).await?;
    Ok(store.read(move |c| reference::list_schedules(c, site_id)).await?)
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub route_id: Id,
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
}

pub async fn create_schedule(
    store: &Store,
    actor: &Actor,
    site_id: Id,
    req: NewSchedule,
    now: i64,
) -> DomainResult<Schedule> {
    administered_site(store, actor, site_id).await?;
    let schedule =
        Schedule { id: Id::now_v7(), route_id: req.route_id, days_of_week: req.days_of_week, windows: req.windows };
    schedule.validate()?;
    let route_id = schedule.route_id;
    let route = store.read(move |c| reference::get_route(c, route_id)).await?;
    if route.is_none_or(|r| r.site_id != site_id) {
        return Err(DomainError::invalid("route_id", Reason::RouteNotOfSite));
    }
    let s = schedule.clone();
    store
        .write(move |c| reference::insert_schedule(c, &s, now).and_then(|_| feed::reference_changed(c, site_id, now)))
        .await?;
    Ok(schedule)
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct PersonWithRoles {
    #[serde(flatten)]
    pub person: Person,
    pub roles: Vec<Role>,
}

pub async fn list_people(store: &Store, actor: &Actor) -> DomainResult<Vec<PersonWithRoles>> {
    actor.require(Access::ReadPeople)?;
    let org = actor.person.org_id;
    let all = store
        .read(move |c| {
            people::list_people(c, org)?
                .into_iter()
                .map(|p| Ok(PersonWithRoles { roles: people::roles_of(c, p.id)?, person: p }))
                .collect::<Result<Vec<_>, DbError>>()
        })
        .await?;
    if actor.is_org_wide() {
        return Ok(all);
    }
    // A site supervisor sees the people who hold a role at one of their sites.
    let mine = |r: &Role| r.site_id().is_some_and(|s| actor.is_supervisor_of(s));
    Ok(all.into_iter().filter(|p| p.roles.iter().any(mine)).collect())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub login: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub roles: Vec<Role>,
}

pub fn check_login(login: &str) -> DomainResult<()> {
    let ok = (2..=64).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok { Ok(()) } else { Err(DomainError::invalid("login", Reason::LoginFormat)) }
}

/// Checks that a role's site and department belong to the organisation.
pub fn role_problem(c: &mut dyn Conn, org: Id, role: &Role) -> Result<Option<DomainError>, DbError> {
    if let Some(site_id) = role.site_id() {
        if reference::get_site(c, site_id)?.is_none_or(|s| s.org_id != org) {
            return Ok(Some(DomainError::invalid("roles.site_id", Reason::SiteNotOfOrg { id: site_id.to_string() })));
        }
    }
    if let Role::DepartmentHead { site_id, department_id } = role {
        if reference::get_department(c, *department_id)?.is_none_or(|d| d.site_id != *site_id) {
            return Ok(Some(DomainError::invalid("roles.department_id", Reason::DepartmentNotOfSite)));
        }
    }
    Ok(None)
}

/// Checks a new person's fields (the roles are checked against the database when
/// stored). Shared by the API, the console form and the CSV import.
pub fn check_new_person(req: &NewPerson) -> DomainResult<()> {
    check_login(&req.login)?;
    check_text("display_name", &req.display_name, limits::NAME_MAX, true)?;
    if req.password.chars().count() < password::MIN_LEN || req.password.len() > password::MAX_LEN {
        return Err(DomainError::invalid("password", Reason::PasswordLength));
    }
    if req.roles.len() > 50 {
        return Err(DomainError::invalid("roles", Reason::TooMany { max: 50 }));
    }
    Ok(())
}

/// Stores a person and their roles inside the caller's transaction; `Some(error)`
/// when a role names a site or department outside the organisation (the caller
/// then rolls back by returning an error of its own, or stores nothing).
pub fn insert_person_with_roles(
    c: &mut dyn Conn,
    p: &Person,
    password_hash: &str,
    roles: &[Role],
    now: i64,
) -> Result<Option<DomainError>, DbError> {
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

pub async fn create_person(store: &Store, actor: &Actor, req: NewPerson, now: i64) -> DomainResult<PersonWithRoles> {
    actor.require(Access::Administer)?;
    check_new_person(&req)?;
    let pw = req.password;
    let hash = password::hash_bounded(pw).await?;
    let person = Person {
        id: Id::now_v7(),
        org_id: actor.person.org_id,
        login: req.login,
        display_name: req.display_name,
        active: true,
    };
    let (p, roles) = (person.clone(), req.roles.clone());
    let refused = store.write(move |c| insert_person_with_roles(c, &p, &hash, &roles, now)).await?;
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(PersonWithRoles { person, roles: req.roles })
}

pub async fn add_role(
    store: &Store,
    actor: &Actor,
    person_id: Id,
    role: Role,
    now: i64,
) -> DomainResult<PersonWithRoles> {
    actor.require(Access::Administer)?;
    let org = actor.person.org_id;
    let outcome = store
        .write(move |c| {
            let Some(person) = people::get_person(c, person_id)?.filter(|p| p.org_id == org) else {
                return Ok(Err(DomainError::not_found(Thing::Person)));
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
    Ok(outcome)
}
