//! Reference data an administrator sets up: organisations, sites, departments,
//! checkpoints, routes and schedules.

use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Organisation, Route, Schedule, Site, TimeWindow,
};

use super::db::{Conn, DbError, Row};
use crate::params;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("reference data serialises")
}

fn from_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> Result<T, DbError> {
    serde_json::from_str(&row.text(i)?).map_err(|e| DbError::Backend(format!("stored JSON in column {i}: {e}")))
}

pub fn insert_organisation(c: &mut dyn Conn, org: &Organisation, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO organisations (id, name, created_ms) VALUES ($1, $2, $3)",
        &params![org.id, &org.name, now],
    )?;
    Ok(())
}

pub fn first_organisation(c: &mut dyn Conn) -> Result<Option<Organisation>, DbError> {
    c.query_opt("SELECT id, name FROM organisations ORDER BY created_ms, id LIMIT 1", &[])?
        .map(|r| Ok(Organisation { id: r.uuid(0)?, name: r.text(1)? }))
        .transpose()
}

const SITE_COLUMNS: &str = "id, org_id, code, name_zh, name_en, utc_offset_minutes";

fn site(r: &Row) -> Result<Site, DbError> {
    Ok(Site {
        id: r.uuid(0)?,
        org_id: r.uuid(1)?,
        code: r.text(2)?,
        name_zh: r.text(3)?,
        name_en: r.text(4)?,
        utc_offset_minutes: r.int(5)? as i32,
    })
}

pub fn insert_site(c: &mut dyn Conn, s: &Site, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sites (id, org_id, code, name_zh, name_en, utc_offset_minutes, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &params![s.id, s.org_id, &s.code, &s.name_zh, &s.name_en, s.utc_offset_minutes, now],
    )?;
    Ok(())
}

pub fn list_sites(c: &mut dyn Conn, org_id: Id) -> Result<Vec<Site>, DbError> {
    c.query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE org_id = $1 ORDER BY code"), &params![org_id])?
        .iter()
        .map(site)
        .collect()
}

/// Ids of every site of an organisation (what organisation-wide roles reach).
pub fn org_site_ids(c: &mut dyn Conn, org_id: Id) -> Result<Vec<Id>, DbError> {
    c.query("SELECT id FROM sites WHERE org_id = $1", &params![org_id])?.iter().map(|r| r.uuid(0)).collect()
}

pub fn get_site(c: &mut dyn Conn, id: Id) -> Result<Option<Site>, DbError> {
    c.query_opt(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1"), &params![id])?
        .as_ref()
        .map(site)
        .transpose()
}

fn department(r: &Row) -> Result<Department, DbError> {
    let kind = r.text(2)?;
    Ok(Department {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        kind: DepartmentKind::parse(&kind)
            .ok_or_else(|| DbError::Backend(format!("unknown department kind {kind:?} in database")))?,
        name_zh: r.text(3)?,
        name_en: r.text(4)?,
    })
}

pub fn insert_department(c: &mut dyn Conn, d: &Department, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO departments (id, site_id, kind, name_zh, name_en, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![d.id, d.site_id, d.kind.as_str(), &d.name_zh, &d.name_en, now],
    )?;
    Ok(())
}

pub fn list_departments(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Department>, DbError> {
    c.query(
        "SELECT id, site_id, kind, name_zh, name_en FROM departments WHERE site_id = $1 ORDER BY created_ms, id",
        &params![site_id],
    )?
    .iter()
    .map(department)
    .collect()
}

pub fn get_department(c: &mut dyn Conn, id: Id) -> Result<Option<Department>, DbError> {
    c.query_opt("SELECT id, site_id, kind, name_zh, name_en FROM departments WHERE id = $1", &params![id])?
        .as_ref()
        .map(department)
        .transpose()
}

const CHECKPOINT_COLUMNS: &str =
    "id, site_id, code, name_zh, name_en, latitude, longitude, radius_m, qr_token, nfc_tag_id, checklist_json";

fn checkpoint(r: &Row) -> Result<Checkpoint, DbError> {
    Ok(Checkpoint {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        code: r.text(2)?,
        name_zh: r.text(3)?,
        name_en: r.text(4)?,
        latitude: r.real(5)?,
        longitude: r.real(6)?,
        radius_m: r.real(7)?,
        qr_token: r.text(8)?,
        qr_digest: String::new(),
        nfc_tag_id: r.opt_text(9)?,
        checklist: from_json::<Vec<ChecklistItem>>(r, 10)?,
    })
}

pub fn insert_checkpoint(c: &mut dyn Conn, cp: &Checkpoint, now: i64) -> Result<(), DbError> {
    c.execute(
        &format!("INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        &params![
            cp.id,
            cp.site_id,
            &cp.code,
            &cp.name_zh,
            &cp.name_en,
            cp.latitude,
            cp.longitude,
            cp.radius_m,
            &cp.qr_token,
            cp.nfc_tag_id.clone(),
            json(&cp.checklist),
            now
        ],
    )?;
    Ok(())
}

pub fn list_checkpoints(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Checkpoint>, DbError> {
    c.query(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE site_id = $1 ORDER BY code"),
        &params![site_id],
    )?
    .iter()
    .map(checkpoint)
    .collect()
}

fn route(r: &Row) -> Result<Route, DbError> {
    Ok(Route {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        name_zh: r.text(2)?,
        name_en: r.text(3)?,
        checkpoint_ids: from_json(r, 4)?,
    })
}

pub fn insert_route(c: &mut dyn Conn, rt: &Route, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO routes (id, site_id, name_zh, name_en, checkpoint_ids_json, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![rt.id, rt.site_id, &rt.name_zh, &rt.name_en, json(&rt.checkpoint_ids), now],
    )?;
    Ok(())
}

pub fn list_routes(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Route>, DbError> {
    c.query(
        "SELECT id, site_id, name_zh, name_en, checkpoint_ids_json FROM routes WHERE site_id = $1 ORDER BY created_ms, id",
        &params![site_id],
    )?
    .iter()
    .map(route)
    .collect()
}

pub fn get_route(c: &mut dyn Conn, id: Id) -> Result<Option<Route>, DbError> {
    c.query_opt("SELECT id, site_id, name_zh, name_en, checkpoint_ids_json FROM routes WHERE id = $1", &params![id])?
        .as_ref()
        .map(route)
        .transpose()
}

pub fn insert_schedule(c: &mut dyn Conn, s: &Schedule, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO schedules (id, route_id, days_json, windows_json, created_ms) VALUES ($1, $2, $3, $4, $5)",
        &params![s.id, s.route_id, json(&s.days_of_week), json(&s.windows), now],
    )?;
    Ok(())
}

/// Every schedule of the routes of one site.
pub fn list_schedules(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Schedule>, DbError> {
    c.query(
        "SELECT s.id, s.route_id, s.days_json, s.windows_json FROM schedules s JOIN routes r ON r.id = s.route_id
         WHERE r.site_id = $1 ORDER BY s.created_ms, s.id",
        &params![site_id],
    )?
    .iter()
    .map(|r| {
        Ok(Schedule {
            id: r.uuid(0)?,
            route_id: r.uuid(1)?,
            days_of_week: from_json(r, 2)?,
            windows: from_json::<Vec<TimeWindow>>(r, 3)?,
        })
    })
    .collect()
}
