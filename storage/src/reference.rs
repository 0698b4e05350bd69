//! Reference data an administrator sets up: organisations, sites, departments,
//! checkpoints, routes and schedules.

use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Organisation, Route, Schedule, Site, TimeWindow,
};

use std::collections::HashMap;

use super::db::{Conn, DbError, Row, Value};
use crate::params;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("reference data serialises")
}

fn from_json<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> Result<T, DbError> {
    serde_json::from_str(&row.text(i)?).map_err(|e| DbError::Data(format!("stored JSON in column {i}: {e}")))
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

/// Every site of every organisation (what the background jobs go over).
pub fn list_all_sites(c: &mut dyn Conn) -> Result<Vec<Site>, DbError> {
    c.query(&format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY id"), &[])?.iter().map(site).collect()
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
            .ok_or_else(|| DbError::Data(format!("unknown department kind {kind:?} in database")))?,
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

/// The departments of a site still in use (what pickers and phones are offered).
pub fn list_departments(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Department>, DbError> {
    departments_where(c, site_id, "AND retired_ms IS NULL")
}

/// Every department a site ever had, retired ones too (names on old notices).
pub fn list_departments_all(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Department>, DbError> {
    departments_where(c, site_id, "")
}

/// Every department an organisation's sites ever had, retired ones too, in one
/// statement (the register names the departments of every site it lists).
pub fn list_departments_all_of_org(c: &mut dyn Conn, org_id: Id) -> Result<Vec<Department>, DbError> {
    c.query(
        "SELECT d.id, d.site_id, d.kind, d.name_zh, d.name_en FROM departments d
         WHERE d.site_id IN (SELECT s.id FROM sites s WHERE s.org_id = $1) ORDER BY d.site_id, d.created_ms, d.id",
        &params![org_id],
    )?
    .iter()
    .map(department)
    .collect()
}

fn departments_where(c: &mut dyn Conn, site_id: Id, and: &str) -> Result<Vec<Department>, DbError> {
    c.query(
        &format!("SELECT id, site_id, kind, name_zh, name_en FROM departments WHERE site_id = $1 {and} ORDER BY created_ms, id"),
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

/// The checkpoints of a site still in use.
pub fn list_checkpoints(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Checkpoint>, DbError> {
    checkpoints_where(c, site_id, "AND retired_ms IS NULL")
}

/// Every checkpoint a site ever had, retired ones too.
pub fn list_checkpoints_all(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Checkpoint>, DbError> {
    checkpoints_where(c, site_id, "")
}

fn checkpoints_where(c: &mut dyn Conn, site_id: Id, and: &str) -> Result<Vec<Checkpoint>, DbError> {
    c.query(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE site_id = $1 {and} ORDER BY code"),
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

/// The routes of a site still in use.
pub fn list_routes(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Route>, DbError> {
    routes_where(c, site_id, "AND retired_ms IS NULL")
}

/// Every route a site ever had, retired ones too (past days' plans and names).
pub fn list_routes_all(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Route>, DbError> {
    routes_where(c, site_id, "")
}

/// Every route of several sites (retired ones too), each site's in the order it made
/// them: one statement for a manager's fifty sites.
pub fn list_routes_all_of(c: &mut dyn Conn, site_ids: &[Id]) -> Result<Vec<Route>, DbError> {
    if site_ids.is_empty() {
        return Ok(Vec::new());
    }
    c.query(
        &format!(
            "SELECT id, site_id, name_zh, name_en, checkpoint_ids_json FROM routes WHERE site_id IN ({})
             ORDER BY created_ms, id",
            crate::marks(1, site_ids.len())
        ),
        &site_ids.iter().map(|id| Value::from(*id)).collect::<Vec<_>>(),
    )?
    .iter()
    .map(route)
    .collect()
}

fn routes_where(c: &mut dyn Conn, site_id: Id, and: &str) -> Result<Vec<Route>, DbError> {
    c.query(
        &format!("SELECT id, site_id, name_zh, name_en, checkpoint_ids_json FROM routes WHERE site_id = $1 {and} ORDER BY created_ms, id"),
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

/// Every schedule still in use of the routes of one site.
pub fn list_schedules(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Schedule>, DbError> {
    schedules_where(c, site_id, "AND s.retired_ms IS NULL")
}

/// Every schedule the routes of one site ever had, retired ones too.
pub fn list_schedules_all(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Schedule>, DbError> {
    schedules_where(c, site_id, "")
}

fn schedules_where(c: &mut dyn Conn, site_id: Id, and: &str) -> Result<Vec<Schedule>, DbError> {
    c.query(
        &format!(
            "SELECT s.id, s.route_id, s.days_json, s.windows_json FROM schedules s JOIN routes r ON r.id = s.route_id
             WHERE r.site_id = $1 {and} ORDER BY s.created_ms, s.id"
        ),
        &params![site_id],
    )?
    .iter()
    .map(schedule)
    .collect()
}

/// When each retired object of a kind at a site was retired (what the console marks).
pub fn retired_at(c: &mut dyn Conn, kind: RefKind, site_id: Id) -> Result<std::collections::HashMap<Id, i64>, DbError> {
    let sql = match kind {
        RefKind::Site => "SELECT id, retired_ms FROM sites WHERE id = $1 AND retired_ms IS NOT NULL",
        RefKind::Schedule => {
            "SELECT s.id, s.retired_ms FROM schedules s JOIN routes r ON r.id = s.route_id
             WHERE r.site_id = $1 AND s.retired_ms IS NOT NULL"
        }
        RefKind::Department => "SELECT id, retired_ms FROM departments WHERE site_id = $1 AND retired_ms IS NOT NULL",
        RefKind::Checkpoint => "SELECT id, retired_ms FROM checkpoints WHERE site_id = $1 AND retired_ms IS NOT NULL",
        RefKind::Route => "SELECT id, retired_ms FROM routes WHERE site_id = $1 AND retired_ms IS NOT NULL",
    };
    c.query(sql, &params![site_id])?.iter().map(|r| Ok((r.uuid(0)?, r.int(1)?))).collect()
}

// ---------------------------------------------------------------------------------
// Versions: reference data edited and retired over time, never deleted.
//
// Every change of a site, department, checkpoint, route or schedule goes through
// [`write_version`]: it keeps the change as a new row of `reference_versions` and
// sets the live row to it with [`apply_version`], in the caller's transaction. The
// live row is therefore always the latest version, the history is complete, and
// `audit verify` replays the versions at their instants with the same
// [`apply_version`] (so records are judged by the data as it stood when they came).
// ---------------------------------------------------------------------------------

/// A kind of reference object that has versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    Site,
    Department,
    Checkpoint,
    Route,
    Schedule,
}

impl RefKind {
    pub const ALL: [RefKind; 5] =
        [RefKind::Site, RefKind::Department, RefKind::Checkpoint, RefKind::Route, RefKind::Schedule];

    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Site => "site",
            RefKind::Department => "department",
            RefKind::Checkpoint => "checkpoint",
            RefKind::Route => "route",
            RefKind::Schedule => "schedule",
        }
    }

    pub fn parse(s: &str) -> Option<RefKind> {
        RefKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn table(self) -> &'static str {
        match self {
            RefKind::Site => "sites",
            RefKind::Department => "departments",
            RefKind::Checkpoint => "checkpoints",
            RefKind::Route => "routes",
            RefKind::Schedule => "schedules",
        }
    }

    /// What people call it, Chinese first.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            RefKind::Site => ("项目", "site"),
            RefKind::Department => ("部门", "department"),
            RefKind::Checkpoint => ("巡检点", "checkpoint"),
            RefKind::Route => ("巡检线路", "route"),
            RefKind::Schedule => ("巡检计划", "schedule"),
        }
    }
}

/// The editable part of an object: what a version records. Identity (id, site, code,
/// department kind, the QR secret) never changes; an object that must change those is
/// a new object, and the old one is retired.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Site {
        name_zh: String,
        name_en: String,
    },
    Department {
        name_zh: String,
        name_en: String,
    },
    Checkpoint {
        name_zh: String,
        name_en: String,
        latitude: f64,
        longitude: f64,
        radius_m: f64,
        nfc_tag_id: Option<String>,
        checklist: Vec<ChecklistItem>,
    },
    Route {
        name_zh: String,
        name_en: String,
        checkpoint_ids: Vec<Id>,
    },
    Schedule {
        days_of_week: Vec<u8>,
        windows: Vec<TimeWindow>,
    },
}

impl Body {
    pub fn kind(&self) -> RefKind {
        match self {
            Body::Site { .. } => RefKind::Site,
            Body::Department { .. } => RefKind::Department,
            Body::Checkpoint { .. } => RefKind::Checkpoint,
            Body::Route { .. } => RefKind::Route,
            Body::Schedule { .. } => RefKind::Schedule,
        }
    }

    pub fn of_site(s: &Site) -> Body {
        Body::Site { name_zh: s.name_zh.clone(), name_en: s.name_en.clone() }
    }
    pub fn of_department(d: &Department) -> Body {
        Body::Department { name_zh: d.name_zh.clone(), name_en: d.name_en.clone() }
    }
    pub fn of_checkpoint(c: &Checkpoint) -> Body {
        Body::Checkpoint {
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            latitude: c.latitude,
            longitude: c.longitude,
            radius_m: c.radius_m,
            nfc_tag_id: c.nfc_tag_id.clone(),
            checklist: c.checklist.clone(),
        }
    }
    pub fn of_route(r: &Route) -> Body {
        Body::Route { name_zh: r.name_zh.clone(), name_en: r.name_en.clone(), checkpoint_ids: r.checkpoint_ids.clone() }
    }
    pub fn of_schedule(s: &Schedule) -> Body {
        Body::Schedule { days_of_week: s.days_of_week.clone(), windows: s.windows.clone() }
    }

    /// One line for a history table: the fields that make this version.
    pub fn summary(&self) -> String {
        let names = |zh: &str, en: &str| if en.trim().is_empty() { zh.to_string() } else { format!("{zh} / {en}") };
        match self {
            Body::Site { name_zh, name_en } | Body::Department { name_zh, name_en } => names(name_zh, name_en),
            Body::Checkpoint { name_zh, name_en, latitude, longitude, radius_m, nfc_tag_id, checklist } => format!(
                "{} · {latitude:.6}, {longitude:.6} · {radius_m} m · NFC {} · 检查项 {}",
                names(name_zh, name_en),
                nfc_tag_id.as_deref().unwrap_or("—"),
                checklist.iter().map(|i| i.text_zh.as_str()).collect::<Vec<_>>().join("；")
            ),
            Body::Route { name_zh, name_en, checkpoint_ids } => {
                format!("{} · {} 个巡检点", names(name_zh, name_en), checkpoint_ids.len())
            }
            Body::Schedule { days_of_week, windows } => format!(
                "周 {} · {}",
                days_of_week.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","),
                windows
                    .iter()
                    .map(|w| format!(
                        "{:02}:{:02}–{:02}:{:02}×{}",
                        w.start_minute / 60,
                        w.start_minute % 60,
                        w.end_minute / 60,
                        w.end_minute % 60,
                        w.runs
                    ))
                    .collect::<Vec<_>>()
                    .join("，")
            ),
        }
    }
}

/// One version of an object, as its history shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Version {
    pub version: i64,
    pub valid_from_ms: i64,
    /// Who made it; `None` for the first version of an object made before versions
    /// were kept, or by an import.
    pub actor_id: Option<Id>,
    pub body: Body,
    /// Set on the version that retired the object.
    pub retired_ms: Option<i64>,
}

/// Sets the live row of `id` to `body` (and its retirement), on any connection: the
/// database's own (from [`write_version`]) or the audit's scratch copy (the replay).
/// The one place a reference row is changed after it was inserted.
pub fn apply_version(c: &mut dyn Conn, id: Id, body: &Body, retired_ms: Option<i64>) -> Result<(), DbError> {
    let n = match body {
        Body::Site { name_zh, name_en } => c.execute(
            "UPDATE sites SET name_zh = $2, name_en = $3, retired_ms = $4 WHERE id = $1",
            &params![id, name_zh, name_en, retired_ms],
        )?,
        Body::Department { name_zh, name_en } => c.execute(
            "UPDATE departments SET name_zh = $2, name_en = $3, retired_ms = $4 WHERE id = $1",
            &params![id, name_zh, name_en, retired_ms],
        )?,
        Body::Checkpoint { name_zh, name_en, latitude, longitude, radius_m, nfc_tag_id, checklist } => c.execute(
            "UPDATE checkpoints SET name_zh = $2, name_en = $3, latitude = $4, longitude = $5, radius_m = $6,
             nfc_tag_id = $7, checklist_json = $8, retired_ms = $9 WHERE id = $1",
            &params![
                id,
                name_zh,
                name_en,
                *latitude,
                *longitude,
                *radius_m,
                nfc_tag_id.clone(),
                json(checklist),
                retired_ms
            ],
        )?,
        Body::Route { name_zh, name_en, checkpoint_ids } => c.execute(
            "UPDATE routes SET name_zh = $2, name_en = $3, checkpoint_ids_json = $4, retired_ms = $5 WHERE id = $1",
            &params![id, name_zh, name_en, json(checkpoint_ids), retired_ms],
        )?,
        Body::Schedule { days_of_week, windows } => c.execute(
            "UPDATE schedules SET days_json = $2, windows_json = $3, retired_ms = $4 WHERE id = $1",
            &params![id, json(days_of_week), json(windows), retired_ms],
        )?,
    };
    if n != 1 {
        return Err(DbError::Data(format!("no {} {id} to apply a version to", body.kind().as_str())));
    }
    Ok(())
}

/// The live state of an object: its body, retirement and creation time.
pub fn live(c: &mut dyn Conn, kind: RefKind, id: Id) -> Result<Option<(Body, Option<i64>, i64)>, DbError> {
    let table = kind.table();
    let Some(meta) = c.query_opt(&format!("SELECT retired_ms, created_ms FROM {table} WHERE id = $1"), &params![id])?
    else {
        return Ok(None);
    };
    let (retired, created) = (meta.opt_int(0)?, meta.int(1)?);
    let body = match kind {
        RefKind::Site => get_site(c, id)?.map(|s| Body::of_site(&s)),
        RefKind::Department => get_department(c, id)?.map(|d| Body::of_department(&d)),
        RefKind::Checkpoint => get_checkpoint(c, id)?.map(|x| Body::of_checkpoint(&x)),
        RefKind::Route => get_route(c, id)?.map(|r| Body::of_route(&r)),
        RefKind::Schedule => get_schedule(c, id)?.map(|s| Body::of_schedule(&s)),
    };
    Ok(body.map(|b| (b, retired, created)))
}

/// Keeps a change of an object as its next version and makes it the live state:
/// `body` is the new state, `retire` retires the object at `now`. The first change of
/// an object also keeps the state it was created with, as version 1. Returns the new
/// version's number. The caller checks the change is allowed and valid; this only
/// refuses an object that does not exist or is already retired.
pub fn write_version(
    c: &mut dyn Conn,
    id: Id,
    body: &Body,
    retire: bool,
    actor: Option<Id>,
    now: i64,
) -> Result<Result<i64, VersionRefusal>, DbError> {
    let kind = body.kind();
    let Some((old, retired, created)) = live(c, kind, id)? else { return Ok(Err(VersionRefusal::NotFound)) };
    if retired.is_some() {
        return Ok(Err(VersionRefusal::Retired));
    }
    if !retire && old == *body {
        return Ok(Err(VersionRefusal::Unchanged));
    }
    let mut last = c
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM reference_versions WHERE kind = $1 AND object_id = $2",
            &params![kind.as_str(), id],
        )?
        .int(0)?;
    if last == 0 {
        insert_version(c, kind, id, 1, created, None, &old, None)?;
        last = 1;
    }
    let retired_ms = retire.then_some(now);
    // A version never starts before the one it follows (a clock stepped back).
    let prev_from = c
        .query_one(
            "SELECT valid_from_ms FROM reference_versions WHERE kind = $1 AND object_id = $2 AND version = $3",
            &params![kind.as_str(), id, last],
        )?
        .int(0)?;
    insert_version(c, kind, id, last + 1, now.max(prev_from), actor, body, retired_ms)?;
    apply_version(c, id, body, retired_ms)?;
    Ok(Ok(last + 1))
}

/// Why [`write_version`] made no version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRefusal {
    NotFound,
    Retired,
    Unchanged,
}

#[allow(clippy::too_many_arguments)]
fn insert_version(
    c: &mut dyn Conn,
    kind: RefKind,
    id: Id,
    version: i64,
    valid_from: i64,
    actor: Option<Id>,
    body: &Body,
    retired_ms: Option<i64>,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO reference_versions (kind, object_id, version, valid_from_ms, actor_id, body_json, retired_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &params![kind.as_str(), id, version, valid_from, actor, json(body), retired_ms],
    )?;
    Ok(())
}

fn version_row(r: &Row) -> Result<Version, DbError> {
    Ok(Version {
        version: r.int(0)?,
        valid_from_ms: r.int(1)?,
        actor_id: r.opt_uuid(2)?,
        body: from_json(r, 3)?,
        retired_ms: r.opt_int(4)?,
    })
}

/// Every version of an object, oldest first. An object never changed has one: the
/// state it was created with.
pub fn history(c: &mut dyn Conn, kind: RefKind, id: Id) -> Result<Vec<Version>, DbError> {
    let kept: Vec<Version> = c
        .query(
            "SELECT version, valid_from_ms, actor_id, body_json, retired_ms FROM reference_versions
             WHERE kind = $1 AND object_id = $2 ORDER BY version",
            &params![kind.as_str(), id],
        )?
        .iter()
        .map(version_row)
        .collect::<Result<_, _>>()?;
    if !kept.is_empty() {
        return Ok(kept);
    }
    Ok(live(c, kind, id)?
        .map(|(body, retired_ms, created)| {
            vec![Version { version: 1, valid_from_ms: created, actor_id: None, body, retired_ms }]
        })
        .unwrap_or_default())
}

/// The state of an object at `t`: the version in force then (the first one for a time
/// before its creation).
pub fn as_of(c: &mut dyn Conn, kind: RefKind, id: Id, t: i64) -> Result<Option<Body>, DbError> {
    let versions = history(c, kind, id)?;
    Ok(in_force(&versions, t).cloned())
}

/// Versions that took effect in `(after, upto]`, in the order they were made: what the
/// audit's replay applies as it reaches their time.
pub fn versions_between(c: &mut dyn Conn, after: i64, upto: i64) -> Result<Vec<(Id, Version)>, DbError> {
    c.query(
        "SELECT version, valid_from_ms, actor_id, body_json, retired_ms, object_id FROM reference_versions
         WHERE valid_from_ms > $1 AND valid_from_ms <= $2 ORDER BY valid_from_ms, kind, object_id, version",
        &params![after, upto],
    )?
    .iter()
    .map(|r| Ok((r.uuid(5)?, version_row(r)?)))
    .collect()
}

pub fn get_checkpoint(c: &mut dyn Conn, id: Id) -> Result<Option<Checkpoint>, DbError> {
    c.query_opt(&format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = $1"), &params![id])?
        .as_ref()
        .map(checkpoint)
        .transpose()
}

/// A checkpoint that is not retired.
pub fn get_live_checkpoint(c: &mut dyn Conn, id: Id) -> Result<Option<Checkpoint>, DbError> {
    c.query_opt(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = $1 AND retired_ms IS NULL"),
        &params![id],
    )?
    .as_ref()
    .map(checkpoint)
    .transpose()
}

/// The live checkpoints among `ids` (at most a few hundred: one statement).
pub fn live_checkpoints(c: &mut dyn Conn, ids: &[Id]) -> Result<Vec<Checkpoint>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (marks, values) = super::db::in_list(ids);
    c.query(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE id IN ({marks}) AND retired_ms IS NULL"),
        &values,
    )?
    .iter()
    .map(checkpoint)
    .collect()
}

pub fn get_schedule(c: &mut dyn Conn, id: Id) -> Result<Option<Schedule>, DbError> {
    c.query_opt("SELECT id, route_id, days_json, windows_json FROM schedules WHERE id = $1", &params![id])?
        .as_ref()
        .map(schedule)
        .transpose()
}

fn schedule(r: &Row) -> Result<Schedule, DbError> {
    Ok(Schedule {
        id: r.uuid(0)?,
        route_id: r.uuid(1)?,
        days_of_week: from_json(r, 2)?,
        windows: from_json::<Vec<TimeWindow>>(r, 3)?,
    })
}

/// The versions of the objects of one kind at a site, oldest first per object: one
/// query for a page that shows many objects as they stood at some time.
fn site_versions(c: &mut dyn Conn, kind: RefKind, site_id: Id) -> Result<HashMap<Id, Vec<Version>>, DbError> {
    let table = kind.table();
    let mut out: HashMap<Id, Vec<Version>> = HashMap::new();
    for r in c.query(
        &format!(
            "SELECT v.version, v.valid_from_ms, v.actor_id, v.body_json, v.retired_ms, v.object_id
             FROM reference_versions v JOIN {table} o ON o.id = v.object_id
             WHERE v.kind = $1 AND o.site_id = $2 ORDER BY v.object_id, v.version"
        ),
        &params![kind.as_str(), site_id],
    )? {
        out.entry(r.uuid(5)?).or_default().push(version_row(&r)?);
    }
    Ok(out)
}

/// The version of `versions` in force at `t` (the first one before it existed).
fn in_force(versions: &[Version], t: i64) -> Option<&Body> {
    versions.iter().rev().find(|v| v.valid_from_ms <= t).or(versions.first()).map(|v| &v.body)
}

/// Every checkpoint a site ever had, each as it stood at `t` (a past run's page).
pub fn checkpoints_as_of(c: &mut dyn Conn, site_id: Id, t: i64) -> Result<Vec<Checkpoint>, DbError> {
    let versions = site_versions(c, RefKind::Checkpoint, site_id)?;
    let mut all = list_checkpoints_all(c, site_id)?;
    for cp in &mut all {
        if let Some(Body::Checkpoint { name_zh, name_en, latitude, longitude, radius_m, nfc_tag_id, checklist }) =
            versions.get(&cp.id).and_then(|v| in_force(v, t))
        {
            cp.name_zh = name_zh.clone();
            cp.name_en = name_en.clone();
            cp.latitude = *latitude;
            cp.longitude = *longitude;
            cp.radius_m = *radius_m;
            cp.nfc_tag_id = nfc_tag_id.clone();
            cp.checklist = checklist.clone();
        }
    }
    Ok(all)
}

/// Every route a site ever had, each as it stood at `t`.
pub fn routes_as_of(c: &mut dyn Conn, site_id: Id, t: i64) -> Result<Vec<Route>, DbError> {
    let versions = site_versions(c, RefKind::Route, site_id)?;
    let mut all = list_routes_all(c, site_id)?;
    for r in &mut all {
        if let Some(Body::Route { name_zh, name_en, checkpoint_ids }) = versions.get(&r.id).and_then(|v| in_force(v, t))
        {
            r.name_zh = name_zh.clone();
            r.name_en = name_en.clone();
            r.checkpoint_ids = checkpoint_ids.clone();
        }
    }
    Ok(all)
}

/// Whether an object was retired (an unknown one is not).
pub fn is_retired(c: &mut dyn Conn, kind: RefKind, id: Id) -> Result<bool, DbError> {
    Ok(c.query_opt(&format!("SELECT retired_ms FROM {} WHERE id = $1", kind.table()), &params![id])?
        .map(|r| r.opt_int(0))
        .transpose()?
        .flatten()
        .is_some())
}
