//! What the web console keeps: cookie sessions (hashed, with their CSRF token) and
//! each site's plan image with the coordinates of its edges.

use patrol_protocol::Id;

use super::db::{Conn, DbError, Row, Value};
use crate::params;

/// A signed-in browser. The cookie holds a random token; only its hash is stored.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub token_hash: String,
    pub person_id: Id,
    pub csrf_token: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    pub ended_ms: Option<i64>,
}

pub fn insert_session(c: &mut dyn Conn, s: &WebSession) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO web_sessions (token_hash, person_id, csrf_token, created_ms, last_seen_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![&s.token_hash, s.person_id, &s.csrf_token, s.created_ms, s.last_seen_ms, s.expires_ms],
    )?;
    Ok(())
}

pub fn get_session(c: &mut dyn Conn, token_hash: &str) -> Result<Option<WebSession>, DbError> {
    c.query_opt(
        "SELECT token_hash, person_id, csrf_token, created_ms, last_seen_ms, expires_ms, ended_ms FROM web_sessions WHERE token_hash = $1",
        &params![token_hash],
    )?
    .map(|r| {
        Ok(WebSession {
            token_hash: r.text(0)?,
            person_id: r.uuid(1)?,
            csrf_token: r.text(2)?,
            created_ms: r.int(3)?,
            last_seen_ms: r.int(4)?,
            expires_ms: r.int(5)?,
            ended_ms: r.opt_int(6)?,
        })
    })
    .transpose()
}

pub fn touch_session(c: &mut dyn Conn, token_hash: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "UPDATE web_sessions SET last_seen_ms = $2 WHERE token_hash = $1 AND ended_ms IS NULL",
        &params![token_hash, now],
    )?;
    Ok(())
}

/// Ends a session (sign-out). Kept, not deleted, so that an audit can see it.
pub fn end_session(c: &mut dyn Conn, token_hash: &str, now: i64) -> Result<u64, DbError> {
    c.execute(
        "UPDATE web_sessions SET ended_ms = $2 WHERE token_hash = $1 AND ended_ms IS NULL",
        &params![token_hash, now],
    )
}

/// A site's plan image and where its edges lie on the map.
#[derive(Debug, Clone)]
pub struct SitePlan {
    pub site_id: Id,
    pub content_type: String,
    pub sha256: String,
    pub width_px: i64,
    pub height_px: i64,
    pub north: f64,
    pub south: f64,
    pub west: f64,
    pub east: f64,
    pub uploaded_by: Id,
    pub uploaded_ms: i64,
}

/// Stores or replaces a site's plan (reference data, not a record: a new drawing
/// simply supersedes the old one).
pub fn put_site_plan(c: &mut dyn Conn, p: &SitePlan, image: Vec<u8>) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO site_plans (site_id, content_type, image, sha256, width_px, height_px, north, south, west, east, uploaded_by, uploaded_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (site_id) DO UPDATE SET content_type = excluded.content_type, image = excluded.image,
           sha256 = excluded.sha256, width_px = excluded.width_px, height_px = excluded.height_px,
           north = excluded.north, south = excluded.south, west = excluded.west, east = excluded.east,
           uploaded_by = excluded.uploaded_by, uploaded_ms = excluded.uploaded_ms",
        &params![
            p.site_id,
            &p.content_type,
            image,
            &p.sha256,
            p.width_px,
            p.height_px,
            p.north,
            p.south,
            p.west,
            p.east,
            p.uploaded_by,
            p.uploaded_ms
        ],
    )?;
    Ok(())
}

const PLAN_COLUMNS: &str =
    "site_id, content_type, sha256, width_px, height_px, north, south, west, east, uploaded_by, uploaded_ms";

fn site_plan(r: &Row) -> Result<SitePlan, DbError> {
    Ok(SitePlan {
        site_id: r.uuid(0)?,
        content_type: r.text(1)?,
        sha256: r.text(2)?,
        width_px: r.int(3)?,
        height_px: r.int(4)?,
        north: r.real(5)?,
        south: r.real(6)?,
        west: r.real(7)?,
        east: r.real(8)?,
        uploaded_by: r.uuid(9)?,
        uploaded_ms: r.int(10)?,
    })
}

pub fn get_site_plan(c: &mut dyn Conn, site_id: Id) -> Result<Option<SitePlan>, DbError> {
    c.query_opt(&format!("SELECT {PLAN_COLUMNS} FROM site_plans WHERE site_id = $1"), &params![site_id])?
        .as_ref()
        .map(site_plan)
        .transpose()
}

/// The plan's bytes with its content type.
pub fn get_site_plan_image(c: &mut dyn Conn, site_id: Id) -> Result<Option<(String, Vec<u8>)>, DbError> {
    let Some(row) = c.query_opt("SELECT content_type, image FROM site_plans WHERE site_id = $1", &params![site_id])?
    else {
        return Ok(None);
    };
    let content_type = row.text(0)?;
    match row.0.into_iter().nth(1) {
        Some(Value::Blob(bytes)) => Ok(Some((content_type, bytes))),
        other => Err(DbError::Type { index: 1, expected: "blob", found: other.unwrap_or(Value::Null) }),
    }
}
