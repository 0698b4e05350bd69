//! Reference data as the server delivers it (sites, departments, people, checkpoints,
//! routes, schedules): validated, stored as the server's JSON, and looked up by id.

use patrol_protocol::fault::FaultRule;
use patrol_protocol::model::{check_site_code, check_text};
use patrol_protocol::reason::Reason;
use patrol_protocol::{Checkpoint, Department, Id, Person, Route, Schedule, Site, limits};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The largest bundle accepted in one call (the whole reference data of a big site
/// is well under 1 MB).
pub const BUNDLE_MAX_BYTES: usize = 16 * 1024 * 1024;
/// At most this many items of each kind in one bundle.
pub const ITEMS_MAX: usize = 20_000;

/// The server's reference data in one object. Each array has exactly the shape the
/// server's list endpoints return (`/api/v1/sites/{id}/checkpoints` …); people may
/// carry extra fields (their roles), which are ignored here.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Bundle {
    pub sites: Vec<Site>,
    pub departments: Vec<Department>,
    pub checkpoints: Vec<Checkpoint>,
    pub routes: Vec<Route>,
    pub schedules: Vec<Schedule>,
    pub people: Vec<Person>,
    /// The organisation's assessment rules in force (fault notices are issued offline
    /// against them); absent from older servers and bundles.
    pub fault_rules: Vec<FaultRule>,
}

/// How many items of each kind a load stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct ReferenceCounts {
    pub sites: u32,
    pub departments: u32,
    pub checkpoints: u32,
    pub routes: u32,
    pub schedules: u32,
    pub people: u32,
    pub fault_rules: u32,
}

/// A kind of reference item and the table key it is stored under.
pub trait Kind: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn id(&self) -> Id;
}

macro_rules! kind {
    ($ty:ty, $name:literal) => {
        impl Kind for $ty {
            const KIND: &'static str = $name;
            fn id(&self) -> Id {
                self.id
            }
        }
    };
}
kind!(Site, "site");
kind!(Department, "department");
kind!(Checkpoint, "checkpoint");
kind!(Route, "route");
kind!(Schedule, "schedule");
kind!(Person, "person");
kind!(FaultRule, "fault_rule");

pub fn parse_bundle(json: &str) -> Result<Bundle> {
    if json.len() > BUNDLE_MAX_BYTES {
        return Err(Error::invalid("bundle", Reason::BundleTooLarge { max_mb: BUNDLE_MAX_BYTES >> 20 }));
    }
    let bundle: Bundle = serde_json::from_str(json)
        .map_err(|e| Error::invalid("bundle", Reason::BundleShape { detail: e.to_string() }))?;
    let lens = [
        bundle.sites.len(),
        bundle.departments.len(),
        bundle.checkpoints.len(),
        bundle.routes.len(),
        bundle.schedules.len(),
        bundle.people.len(),
        bundle.fault_rules.len(),
    ];
    if lens.iter().any(|&n| n > ITEMS_MAX) {
        return Err(Error::invalid("bundle", Reason::BundleTooMany { max: ITEMS_MAX }));
    }
    Ok(bundle)
}

/// Validates the whole bundle against itself and what is already stored, then stores
/// it; one transaction, so a bad bundle changes nothing.
///
/// A bundle is the whole of what the person may see: an item stored before and absent
/// now was retired (or moved out of reach). It is kept, marked retired, because a run
/// under way or an old notice still names it ([`get`]/[`find`] read it), but [`list`]
/// no longer offers it: no new plan, picker or route uses it (docs/sync-protocol.md).
pub fn store_bundle(tx: &Transaction<'_>, b: &Bundle) -> Result<ReferenceCounts> {
    tx.execute("UPDATE reference SET retired = 1", [])?;
    for s in &b.sites {
        check_site_code(&s.code)?;
        check_text("name_zh", &s.name_zh, limits::NAME_MAX, true)?;
        check_text("name_en", &s.name_en, limits::NAME_MAX, false)?;
        if !(-14 * 60..=14 * 60).contains(&s.utc_offset_minutes) {
            return Err(Error::invalid("utc_offset_minutes", Reason::UtcOffsetHours));
        }
        put(tx, s, Some(s.id))?;
    }
    for d in &b.departments {
        check_text("name_zh", &d.name_zh, limits::NAME_MAX, true)?;
        check_text("name_en", &d.name_en, limits::NAME_MAX, false)?;
        get::<Site>(tx, d.site_id)?;
        put(tx, d, Some(d.site_id))?;
    }
    for c in &b.checkpoints {
        c.validate()?;
        get::<Site>(tx, c.site_id)?;
        // Whatever a server sends, the phone keeps only the label's digest: nothing on
        // a phone can print a valid checkpoint code.
        put(tx, &c.clone().without_secret(), Some(c.site_id))?;
    }
    for r in &b.routes {
        check_text("name_zh", &r.name_zh, limits::NAME_MAX, true)?;
        check_text("name_en", &r.name_en, limits::NAME_MAX, false)?;
        if r.checkpoint_ids.is_empty() || r.checkpoint_ids.len() > limits::ROUTE_CHECKPOINTS_MAX {
            return Err(Error::invalid(
                "checkpoint_ids",
                Reason::RouteCheckpoints { max: limits::ROUTE_CHECKPOINTS_MAX },
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for id in &r.checkpoint_ids {
            let c = get::<Checkpoint>(tx, *id)?;
            if c.site_id != r.site_id {
                return Err(Error::invalid("checkpoint_ids", Reason::RouteCheckpointsOfSite));
            }
            if !seen.insert(*id) {
                return Err(Error::invalid("checkpoint_ids", Reason::RouteCheckpointTwice));
            }
        }
        put(tx, r, Some(r.site_id))?;
    }
    for s in &b.schedules {
        s.validate()?;
        let route = get::<Route>(tx, s.route_id)?;
        put(tx, s, Some(route.site_id))?;
    }
    for p in &b.people {
        check_text("display_name", &p.display_name, limits::NAME_MAX, true)?;
        put(tx, p, None)?;
    }
    for r in &b.fault_rules {
        r.validate()?;
        put(tx, r, None)?;
    }
    let n = |len: usize| len as u32;
    Ok(ReferenceCounts {
        sites: n(b.sites.len()),
        departments: n(b.departments.len()),
        checkpoints: n(b.checkpoints.len()),
        routes: n(b.routes.len()),
        schedules: n(b.schedules.len()),
        people: n(b.people.len()),
        fault_rules: n(b.fault_rules.len()),
    })
}

fn put<T: Kind>(conn: &Connection, item: &T, site: Option<Id>) -> Result<()> {
    conn.execute(
        "INSERT INTO reference (kind, id, site_id, body, retired) VALUES (?1, ?2, ?3, ?4, 0)
         ON CONFLICT (kind, id) DO UPDATE SET site_id = excluded.site_id, body = excluded.body, retired = 0",
        params![T::KIND, item.id().to_string(), site.map(|s| s.to_string()), serde_json::to_string(item)?],
    )?;
    Ok(())
}

pub fn find<T: Kind>(conn: &Connection, id: Id) -> Result<Option<T>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM reference WHERE kind = ?1 AND id = ?2", params![T::KIND, id.to_string()], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

pub fn get<T: Kind>(conn: &Connection, id: Id) -> Result<T> {
    find(conn, id)?.ok_or_else(|| Error::not_found(T::KIND, id))
}

/// An item still in use (not retired), or None.
pub fn find_in_use<T: Kind>(conn: &Connection, id: Id) -> Result<Option<T>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM reference WHERE kind = ?1 AND id = ?2 AND retired = 0",
            params![T::KIND, id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// All items of a kind still in use (not retired), optionally only one site's, in a
/// stable order.
pub fn list<T: Kind>(conn: &Connection, site: Option<Id>) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM reference WHERE kind = ?1 AND (?2 IS NULL OR site_id = ?2) AND retired = 0 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![T::KIND, site.map(|s| s.to_string())], |r| r.get::<_, String>(0))?;
    let mut out = vec![];
    for body in rows {
        out.push(serde_json::from_str(&body?)?);
    }
    Ok(out)
}
