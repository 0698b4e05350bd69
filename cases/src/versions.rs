//! Editing and retiring reference data, with history (issue 13, item 1).
//!
//! Sites, departments, checkpoints, routes and schedules are never deleted: an edit is
//! a new version, a retirement is a last version, and records keep pointing at the
//! object, whose history says how it stood at any time (`reference::as_of`). Every
//! change, from the JSON API, the console or a CSV import, goes through [`change`]:
//! it checks the change against the object's site and kind, validates the new state
//! the same way creation does, applies the retirement rules, keeps the version
//! (`reference::write_version`) and tells phones to pull the reference data again.

use patrol_protocol::model::check_text;
use patrol_protocol::{ChecklistItem, Id, Schedule, TimeWindow, limits};
use serde::{Deserialize, Serialize};

use patrol_protocol::reason::{Reason, Thing};

use crate::error::{DomainError, DomainResult};
use crate::policy::Actor;
use crate::store::reference::{self, Body, RefKind, Version, VersionRefusal};
use crate::store::{Conn, DbError, Store};
use crate::sync::feed;

/// What to do to an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Its new state (the editable part).
    Edit(Body),
    Retire,
}

/// The site an object belongs to (a schedule's is its route's).
fn site_of(c: &mut dyn Conn, kind: RefKind, id: Id) -> Result<Option<Id>, DbError> {
    Ok(match kind {
        RefKind::Site => reference::get_site(c, id)?.map(|s| s.id),
        RefKind::Department => reference::get_department(c, id)?.map(|d| d.site_id),
        RefKind::Checkpoint => reference::get_checkpoint(c, id)?.map(|x| x.site_id),
        RefKind::Route => reference::get_route(c, id)?.map(|r| r.site_id),
        RefKind::Schedule => match reference::get_schedule(c, id)? {
            Some(s) => reference::get_route(c, s.route_id)?.map(|r| r.site_id),
            None => None,
        },
    })
}

fn thing(kind: RefKind) -> Thing {
    match kind {
        RefKind::Site => Thing::Site,
        RefKind::Department => Thing::Department,
        RefKind::Checkpoint => Thing::Checkpoint,
        RefKind::Route => Thing::Route,
        RefKind::Schedule => Thing::Schedule,
    }
}

fn not_found(kind: RefKind) -> DomainError {
    DomainError::NotFound(Reason::NotFound { thing: thing(kind) })
}

/// Checks the new state the way creation checks a new object.
fn validate(c: &mut dyn Conn, site_id: Id, id: Id, body: &Body) -> Result<Result<(), DomainError>, DbError> {
    let names = |zh: &str, en: &str| -> Result<(), DomainError> {
        check_text("name_zh", zh, limits::NAME_MAX, true)?;
        check_text("name_en", en, limits::NAME_MAX, false)?;
        Ok(())
    };
    Ok(match body {
        Body::Site { name_zh, name_en } | Body::Department { name_zh, name_en } => names(name_zh, name_en),
        Body::Checkpoint { .. } => {
            let Some(mut cp) = reference::get_checkpoint(c, id)? else {
                return Ok(Err(not_found(RefKind::Checkpoint)));
            };
            if let Body::Checkpoint { name_zh, name_en, latitude, longitude, radius_m, nfc_tag_id, checklist } = body {
                cp.name_zh = name_zh.clone();
                cp.name_en = name_en.clone();
                cp.latitude = *latitude;
                cp.longitude = *longitude;
                cp.radius_m = *radius_m;
                cp.nfc_tag_id = nfc_tag_id.clone();
                cp.checklist = checklist.clone();
            }
            cp.validate().map_err(DomainError::from)
        }
        Body::Route { name_zh, name_en, checkpoint_ids } => match names(name_zh, name_en) {
            Err(e) => Err(e),
            Ok(()) => match crate::admin::check_route_checkpoints(c, site_id, checkpoint_ids)? {
                Some(e) => Err(e.into()),
                None => Ok(()),
            },
        },
        Body::Schedule { days_of_week, windows } => {
            let Some(s) = reference::get_schedule(c, id)? else { return Ok(Err(not_found(RefKind::Schedule))) };
            Schedule { days_of_week: days_of_week.clone(), windows: windows.clone(), ..s }
                .validate()
                .map_err(DomainError::from)
        }
    })
}

/// What stops a retirement, if anything; a route's retirement also retires its
/// schedules (returned, to be retired in the same transaction).
fn retirement(c: &mut dyn Conn, site_id: Id, kind: RefKind, id: Id) -> Result<Result<Vec<Id>, DomainError>, DbError> {
    Ok(match kind {
        RefKind::Site => Err(DomainError::Conflict(Reason::SiteNotRetiredHere)),
        RefKind::Checkpoint => {
            let on: Vec<String> = reference::list_routes(c, site_id)?
                .into_iter()
                .filter(|r| r.checkpoint_ids.contains(&id))
                .map(|r| r.name_zh)
                .collect();
            if on.is_empty() {
                Ok(vec![])
            } else {
                Err(DomainError::Conflict(Reason::CheckpointOnRoutes { routes: on.join("、"), count: on.len() }))
            }
        }
        RefKind::Department => {
            let open = c
                .query_one(
                    "SELECT COUNT(*) FROM notices WHERE department_id = $1 AND state NOT IN ('closed', 'voided')",
                    &crate::params![id],
                )?
                .int(0)?;
            if open > 0 { Err(DomainError::Conflict(Reason::DepartmentHasOpenNotices { open })) } else { Ok(vec![]) }
        }
        RefKind::Route => {
            Ok(reference::list_schedules(c, site_id)?.into_iter().filter(|s| s.route_id == id).map(|s| s.id).collect())
        }
        RefKind::Schedule => Ok(vec![]),
    })
}

/// Makes one change of an object of `site_id`, in the caller's transaction. Returns
/// the object's version after it (an edit that changes nothing makes no version and
/// returns the current one). A refusal changes nothing.
pub fn change(
    c: &mut dyn Conn,
    site_id: Id,
    kind: RefKind,
    id: Id,
    what: &Change,
    actor: Id,
    now: i64,
) -> Result<Result<i64, DomainError>, DbError> {
    if site_of(c, kind, id)? != Some(site_id) {
        return Ok(Err(not_found(kind)));
    }
    let Some((current, _, _)) = reference::live(c, kind, id)? else { return Ok(Err(not_found(kind))) };
    let (body, retire, cascade) = match what {
        Change::Edit(body) => {
            if body.kind() != kind {
                return Ok(Err(DomainError::invalid("kind", Reason::KindMismatch)));
            }
            if let Err(e) = validate(c, site_id, id, body)? {
                return Ok(Err(e));
            }
            (body.clone(), false, vec![])
        }
        Change::Retire => match retirement(c, site_id, kind, id)? {
            Ok(cascade) => (current, true, cascade),
            Err(e) => return Ok(Err(e)),
        },
    };
    let version = match reference::write_version(c, id, &body, retire, Some(actor), now)? {
        Ok(v) => v,
        Err(VersionRefusal::Unchanged) => return Ok(Ok(reference::history(c, kind, id)?.len() as i64)),
        Err(VersionRefusal::Retired) => {
            return Ok(Err(DomainError::Conflict(Reason::ObjectRetired { thing: thing(kind) })));
        }
        Err(VersionRefusal::NotFound) => return Ok(Err(not_found(kind))),
    };
    for schedule in cascade {
        if let Some((b, None, _)) = reference::live(c, RefKind::Schedule, schedule)? {
            if let Err(r) = reference::write_version(c, schedule, &b, true, Some(actor), now)? {
                return Err(DbError::Data(format!("retiring schedule {schedule} with its route: {r:?}")));
            }
        }
    }
    feed::reference_changed(c, site_id, now)?;
    Ok(Ok(version))
}

/// Runs [`change`] in one write transaction; a refusal rolls back whatever it began.
pub async fn change_now(
    store: &Store,
    actor: &Actor,
    site_id: Id,
    kind: RefKind,
    id: Id,
    what: Change,
    now: i64,
) -> DomainResult<i64> {
    crate::admin::administered_site(store, actor, site_id).await?;
    let me = actor.person.id;
    store.write_or_refuse(move |c| change(c, site_id, kind, id, &what, me, now)).await?
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Changed {
    pub version: i64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditNames {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditChecklistItem {
    /// Kept for an item that stays (results recorded against it keep their meaning);
    /// absent for a new item.
    #[serde(default)]
    pub id: Option<Id>,
    pub text_zh: String,
    #[serde(default)]
    pub text_en: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCheckpoint {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
    #[serde(default)]
    pub nfc_tag_id: Option<String>,
    #[serde(default)]
    pub checklist: Vec<EditChecklistItem>,
}

impl EditCheckpoint {
    pub fn body(self) -> Body {
        Body::Checkpoint {
            name_zh: self.name_zh,
            name_en: self.name_en,
            latitude: self.latitude,
            longitude: self.longitude,
            radius_m: self.radius_m,
            nfc_tag_id: self.nfc_tag_id.filter(|t| !t.is_empty()),
            checklist: self
                .checklist
                .into_iter()
                .map(|i| ChecklistItem { id: i.id.unwrap_or_else(Id::now_v7), text_zh: i.text_zh, text_en: i.text_en })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRoute {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub checkpoint_ids: Vec<Id>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditSchedule {
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
}

/// The history of an object of one kind: every version, oldest first.
pub async fn history(store: &Store, actor: &Actor, site_id: Id, id: Id, kind: RefKind) -> DomainResult<Vec<Version>> {
    crate::admin::readable_site(store, actor, site_id).await?;
    let versions = store
        .read(move |c| {
            if site_of(c, kind, id)? != Some(site_id) {
                return Ok(None);
            }
            reference::history(c, kind, id).map(Some)
        })
        .await?;
    versions.ok_or_else(|| not_found(kind))
}
