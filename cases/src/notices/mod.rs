//! Rectification notices on the server: gapless numbering per site and year, routing
//! to the responsible department, actions checked against the state machine, views.

pub mod desk;
pub mod escalation;

use std::collections::BTreeMap;

use patrol_protocol::audit::Leaf;
use patrol_protocol::notice::{NoticeAction, NoticeRole, NoticeState, Refusal, Severity, decide};
use patrol_protocol::reason::Reason;
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::sync::{NoticeEvent, NoticeView};
use patrol_protocol::{Id, Role};
use sha2::{Digest, Sha256};

use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError, Row, reference};
use crate::sync::feed::{self, Entry, Kind};
use crate::sync::outcome::{Outcome, local_date};

/// Columns of `notices` read by `notice_row`.
pub(crate) const COLUMNS: &str =
    "id, site_id, number, department_id, checkpoint_id, run_id, location, description, severity,
    due_ms, state, issuer_id, raised_device_ms, received_ms, has_car, photos_json";

/// A notice's current projection, without its timeline.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct NoticeRow {
    pub id: Id,
    pub site_id: Id,
    pub number: Option<String>,
    pub department_id: Id,
    pub checkpoint_id: Option<Id>,
    pub run_id: Option<Id>,
    pub location: String,
    pub description: String,
    pub severity: Severity,
    pub due_ms: i64,
    pub state: NoticeState,
    pub issuer_id: Id,
    pub raised_device_ms: i64,
    pub received_ms: i64,
    pub has_car: bool,
    pub photos: Vec<String>,
}

impl NoticeRow {
    /// The hash of the notice as it stands: what a signature on it refers to.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(self).expect("notice serialises")))
    }
}

fn bad(what: &str) -> DbError {
    DbError::Data(format!("stored notice has an invalid {what}"))
}

pub(crate) fn notice_row(r: &Row) -> Result<NoticeRow, DbError> {
    Ok(NoticeRow {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        number: r.opt_text(2)?,
        department_id: r.uuid(3)?,
        checkpoint_id: r.opt_uuid(4)?,
        run_id: r.opt_uuid(5)?,
        location: r.text(6)?,
        description: r.text(7)?,
        severity: serde_json::from_value(serde_json::Value::String(r.text(8)?)).map_err(|_| bad("severity"))?,
        due_ms: r.int(9)?,
        state: NoticeState::parse(&r.text(10)?).ok_or_else(|| bad("state"))?,
        issuer_id: r.uuid(11)?,
        raised_device_ms: r.int(12)?,
        received_ms: r.int(13)?,
        has_car: r.bool(14)?,
        photos: serde_json::from_str(&r.text(15)?).map_err(|_| bad("photo list"))?,
    })
}

pub fn get(c: &mut dyn Conn, id: Id) -> Result<Option<NoticeRow>, DbError> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM notices WHERE id = $1"), &params![id])?
        .as_ref()
        .map(notice_row)
        .transpose()
}

/// When the closed ones among `ids` were closed (the server's time of the
/// verification that closed them), in one query.
pub fn closed_times(c: &mut dyn Conn, ids: &[Id]) -> Result<BTreeMap<Id, i64>, DbError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let args: Vec<crate::store::Value> = chunk.iter().map(|id| (*id).into()).collect();
        let rows = c.query(
            &format!("SELECT id, updated_ms FROM notices WHERE state = 'closed' AND id IN ({})", marks.join(", ")),
            &args,
        )?;
        for r in &rows {
            out.insert(r.text(0)?.parse().map_err(|_| bad("id"))?, r.int(1)?);
        }
    }
    Ok(out)
}

/// Which notices a list shows, within what its reader may see.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub site_id: Option<Id>,
    pub state: Option<NoticeState>,
    /// Only notices not yet closed or voided.
    pub open_only: bool,
    /// Only notices still open and past their due time at this instant.
    pub overdue_at: Option<i64>,
    pub department_id: Option<Id>,
    pub severity: Option<Severity>,
    /// Raised (the officer's time of raising) at or after this instant.
    pub raised_from_ms: Option<i64>,
    /// Raised before this instant.
    pub raised_before_ms: Option<i64>,
    /// Words in the number, the description or the location (all of them, any case).
    pub text: Option<String>,
}

/// The longest text a list may be searched for, in characters.
pub const SEARCH_MAX_CHARS: usize = 100;
/// The most words a search may hold.
pub const SEARCH_MAX_WORDS: usize = 8;

/// Writes notices' search rows from their rows (`… WHERE` chooses which): the
/// register's filter columns and what a notice is searched by (number, description,
/// location), lower-cased; the same expression as migration 11's backfill, so old and
/// new notices are found alike. Words are split at whitespace, so no word matches
/// across the spaces that join the three.
pub const SEARCH_ROW_SQL: &str = "INSERT INTO notice_search
     (id, site_id, department_id, issuer_id, state, severity, due_ms, raised_device_ms, body)
     SELECT id, site_id, department_id, issuer_id, state, severity, due_ms, raised_device_ms,
            LOWER(COALESCE(number, '') || ' ' || description || ' ' || location)
     FROM notices";

/// A search text as the words every match holds, lower-cased as the backend's `LOWER`
/// lower-cased the search rows (PostgreSQL: every letter; SQLite: ASCII letters only).
fn search_words(text: &str, pg: bool) -> Vec<String> {
    text.split_whitespace()
        .take(SEARCH_MAX_WORDS)
        .map(|w| if pg { w.to_lowercase() } else { w.to_ascii_lowercase() })
        .collect()
}

/// A place in the one order every notice list follows: open notices first, by due
/// time (so the overdue come first), then closed and voided ones by due time; the id
/// breaks ties. Lists continue *after* a cursor (keyset pagination), so a page never
/// repeats or skips a notice the way an offset does when notices arrive meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub finished: bool,
    pub due_ms: i64,
    pub id: Id,
}

impl Cursor {
    fn of(n: &NoticeRow) -> Cursor {
        Cursor { finished: !n.state.is_open(), due_ms: n.due_ms, id: n.id }
    }

    /// Parses the text `Display` writes (`o.<due_ms>.<id>` or `f.<due_ms>.<id>`).
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut parts = text.splitn(3, '.');
        let finished = match parts.next()? {
            "o" => false,
            "f" => true,
            _ => return None,
        };
        let due_ms = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        Some(Cursor { finished, due_ms, id })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", if self.finished { "f" } else { "o" }, self.due_ms, self.id)
    }
}

/// One page of a notice list, and where the next one starts (none: this is the last).
#[derive(Debug, Clone)]
pub struct NoticePage {
    pub rows: Vec<NoticeRow>,
    pub next: Option<Cursor>,
}

/// 1 for closed and voided notices, 0 for open ones: the first key of the list order.
const FINISHED_SQL: &str = "(CASE WHEN n.state IN ('closed', 'voided') THEN 1 ELSE 0 END)";

/// Does the list search text? Then it reads the notices' search rows (migration 11).
fn searches(filter: &ListFilter) -> bool {
    filter.text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// The table a list reads as `n`: the notices, or for a text search their search rows
/// (the same key and filter columns, a tenth of the bytes, and the text).
fn list_table(filter: &ListFilter) -> &'static str {
    if searches(filter) { "notice_search" } else { "notices" }
}

/// A page from `limit + 1` rows in list order: the extra row only says another page
/// follows, after the last row kept.
fn page_of(mut rows: Vec<NoticeRow>, limit: usize) -> NoticePage {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(Cursor::of)
    } else {
        None
    };
    NoticePage { rows, next }
}

/// The `WHERE` of a list over [`list_table`]: what the actor may see
/// (`Actor::notice_scope_sql`, the policy's rule in SQL) and the filter.
fn list_condition(actor: &Actor, filter: &ListFilter, pg: bool) -> (String, Vec<crate::store::Value>) {
    let (mut sql, mut args) = actor.notice_scope_sql(1);
    if let Some(site) = filter.site_id {
        args.push(site.into());
        sql.push_str(&format!(" AND n.site_id = ${}", args.len()));
    }
    if let Some(state) = filter.state {
        args.push(state.as_str().into());
        sql.push_str(&format!(" AND n.state = ${}", args.len()));
    }
    if filter.open_only || filter.overdue_at.is_some() {
        // Spelled as the partial index `notices_open` is (migration 10), so both
        // databases read only the open notices' index entries.
        sql.push_str(" AND n.state NOT IN ('closed', 'voided')");
    }
    if let Some(now) = filter.overdue_at {
        args.push(now.into());
        sql.push_str(&format!(" AND n.due_ms < ${}", args.len()));
    }
    if let Some(dept) = filter.department_id {
        args.push(dept.into());
        sql.push_str(&format!(" AND n.department_id = ${}", args.len()));
    }
    if let Some(sev) = filter.severity {
        let text = serde_json::to_value(sev).expect("severity serialises");
        args.push(text.as_str().unwrap_or("general").to_string().into());
        sql.push_str(&format!(" AND n.severity = ${}", args.len()));
    }
    if let Some(from) = filter.raised_from_ms {
        args.push(from.into());
        sql.push_str(&format!(" AND n.raised_device_ms >= ${}", args.len()));
    }
    if let Some(before) = filter.raised_before_ms {
        args.push(before.into());
        sql.push_str(&format!(" AND n.raised_device_ms < ${}", args.len()));
    }
    // A text search reads the narrow search rows (migration 11), which carry every
    // column named above under the same names (`list_table`), and matches their
    // lower-cased text by substring: `instr` in SQLite, `strpos` in PostgreSQL (the
    // same test, about twice as fast as `LIKE '%…%'`).
    let find = if pg { "strpos" } else { "instr" };
    for w in search_words(filter.text.as_deref().unwrap_or(""), pg) {
        args.push(w.into());
        sql.push_str(&format!(" AND {find}(n.body, ${}) > 0", args.len()));
    }
    (sql, args)
}

/// The notices the actor may see that pass the filter, `limit` of them after `after`
/// in the list order. Filtered in the database, so a department with few notices at
/// a site with thousands sees all of its own.
pub fn page_visible(
    c: &mut dyn Conn,
    actor: &Actor,
    filter: &ListFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<NoticePage, DbError> {
    let (mut sql, mut args) = list_condition(actor, filter, c.kind() == "postgres");
    if let Some(a) = after {
        args.extend(params![i64::from(a.finished), a.due_ms, a.id]);
        let (f, d, i) = (args.len() - 2, args.len() - 1, args.len());
        sql.push_str(&format!(
            " AND ({FINISHED_SQL} > ${f} OR ({FINISHED_SQL} = ${f} AND (n.due_ms > ${d} OR (n.due_ms = ${d} AND n.id > ${i}))))"
        ));
    }
    let limit = limit.max(1);
    // One more than asked tells whether another page follows.
    args.push((limit + 1).into());
    let order = format!("ORDER BY {FINISHED_SQL}, n.due_ms, n.id");
    let sql = if searches(filter) {
        // The page's keys from the search rows, then only those notices.
        format!(
            "SELECT {COLUMNS} FROM notices n WHERE n.id IN (SELECT n.id FROM notice_search n WHERE {sql} {order} LIMIT ${}) {order}",
            args.len()
        )
    } else {
        format!("SELECT {COLUMNS} FROM notices n WHERE {sql} {order} LIMIT ${}", args.len())
    };
    let rows = c.query(&sql, &args)?.iter().map(notice_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(rows, limit as usize))
}

/// How many notices have no search row, or one that differs from the notice in a
/// column the register filters by: 0 unless a path changed a notice without its row.
pub fn search_rows_out_of_step(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one(
        "SELECT COUNT(*) FROM notices n LEFT JOIN notice_search t ON t.id = n.id
         WHERE t.id IS NULL OR t.site_id <> n.site_id OR t.department_id <> n.department_id
            OR t.issuer_id <> n.issuer_id OR t.state <> n.state OR t.severity <> n.severity
            OR t.due_ms <> n.due_ms OR t.raised_device_ms <> n.raised_device_ms",
        &[],
    )?
    .int(0)
}

/// The most matches of a text search whose keys a list reads at once (about 5 MB);
/// past it, the database counts and pages them as any list.
pub const SEARCH_KEYS_MAX: usize = 50_000;

/// A page of a list and the counts of the whole list, together. A text search reads
/// its matches' keys from the search rows once, counts them and picks the page from
/// them (two scans of every search row were most of the organisation-wide search's
/// time), then reads only the page's notices; any other list, or a search with more
/// than `SEARCH_KEYS_MAX` matches, is counted and paged by the database through its
/// indexes. Either way the page follows the one list order and its cursor.
pub fn list_visible(
    c: &mut dyn Conn,
    actor: &Actor,
    filter: &ListFilter,
    after: Option<Cursor>,
    limit: i64,
    now: i64,
) -> Result<(NoticePage, Counts), DbError> {
    if searches(filter) {
        let (sql, mut args) = list_condition(actor, filter, c.kind() == "postgres");
        args.push((SEARCH_KEYS_MAX as i64 + 1).into());
        let rows = c.query(
            &format!("SELECT n.id, n.state, n.due_ms FROM notice_search n WHERE {sql} LIMIT ${}", args.len()),
            &args,
        )?;
        if rows.len() <= SEARCH_KEYS_MAX {
            let mut counts = Counts::default();
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                let state = NoticeState::parse(&r.text(1)?).ok_or_else(|| bad("state"))?;
                let due_ms = r.int(2)?;
                *counts.by_state.entry(state.as_str()).or_default() += 1;
                if state.is_open() && due_ms < now {
                    counts.overdue += 1;
                }
                // The list order: open first, by due time, then the id as text.
                keys.push((!state.is_open(), due_ms, r.text(0)?));
            }
            keys.sort_unstable();
            let start = after.map_or(0, |a| {
                let cursor = (a.finished, a.due_ms, a.id.to_string());
                keys.partition_point(|k| *k <= cursor)
            });
            let limit = limit.max(1) as usize;
            let wanted = &keys[start..keys.len().min(start + limit + 1)];
            let mut rows = Vec::with_capacity(wanted.len());
            if !wanted.is_empty() {
                let ids: Vec<crate::store::Value> = wanted.iter().map(|k| k.2.clone().into()).collect();
                let found = c.query(
                    &format!(
                        "SELECT {COLUMNS} FROM notices n WHERE n.id IN ({}) ORDER BY {FINISHED_SQL}, n.due_ms, n.id",
                        crate::store::marks(1, ids.len())
                    ),
                    &ids,
                )?;
                rows = found.iter().map(notice_row).collect::<Result<Vec<_>, _>>()?;
            }
            return Ok((page_of(rows, limit), counts));
        }
    }
    Ok((page_visible(c, actor, filter, after, limit)?, count_visible(c, actor, filter, now)?))
}

/// How many notices the actor may see, per state, and how many of the open ones are
/// past due at `now`: counted in the database over all of them, never over a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub by_state: BTreeMap<&'static str, u64>,
    pub overdue: u64,
}

impl Counts {
    pub fn of(&self, state: NoticeState) -> u64 {
        self.by_state.get(state.as_str()).copied().unwrap_or(0)
    }
    pub fn open(&self) -> u64 {
        NoticeState::ALL.iter().filter(|s| s.is_open()).map(|s| self.of(*s)).sum()
    }
    pub fn total(&self) -> u64 {
        self.by_state.values().sum()
    }
}

pub fn count_visible(c: &mut dyn Conn, actor: &Actor, filter: &ListFilter, now: i64) -> Result<Counts, DbError> {
    let (sql, mut args) = list_condition(actor, filter, c.kind() == "postgres");
    args.push(now.into());
    // SUM of integers is NUMERIC in PostgreSQL: cast so both databases answer one.
    let rows = c.query(
        &format!(
            "SELECT n.state, COUNT(*), CAST(COALESCE(SUM(CASE WHEN n.due_ms < ${} THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM {} n WHERE {sql} GROUP BY n.state",
            args.len(),
            list_table(filter)
        ),
        &args,
    )?;
    let mut out = Counts::default();
    for r in &rows {
        let state = NoticeState::parse(&r.text(0)?).ok_or_else(|| bad("state"))?;
        out.by_state.insert(state.as_str(), r.int(1)? as u64);
        if state.is_open() {
            out.overdue += r.int(2)? as u64;
        }
    }
    Ok(out)
}

/// The actor's relations to a notice, for the state machine.
pub fn roles_for(actor: &Actor, n: &NoticeRow) -> Vec<NoticeRole> {
    let mut roles = Vec::new();
    if n.issuer_id == actor.person.id {
        roles.push(NoticeRole::Issuer);
    }
    if actor.headed_departments(n.site_id).contains(&n.department_id) {
        roles.push(NoticeRole::Head);
    }
    if actor.is_supervisor_of(n.site_id) {
        roles.push(NoticeRole::Supervisor);
    }
    if roles.is_empty() {
        roles.push(NoticeRole::Other);
    }
    roles
}

/// Whether the actor may take `action` on the notice now, by the state machine;
/// `None` when there is no such notice. The API and the console both ask here.
pub fn check_action(
    c: &mut dyn Conn,
    actor: &Actor,
    id: Id,
    action: NoticeAction,
) -> Result<Option<Result<NoticeRow, Refusal>>, DbError> {
    let Some(n) = get(c, id)? else { return Ok(None) };
    let roles = roles_for(actor, &n);
    Ok(Some(decide(n.state, action, &roles, n.severity, n.has_car).map(|_| n)))
}

/// The name shown for a person; someone who left is shown as "已离职人员 #n" (their
/// records, which carry only the id, stay untouched: see docs/audit.md).
pub fn name_of(c: &mut dyn Conn, person: Id) -> Result<String, DbError> {
    let Some(r) = c.query_opt("SELECT display_name, active FROM people WHERE id = $1", &params![person])? else {
        return Ok(String::new());
    };
    Ok(if r.bool(1)? { r.text(0)? } else { crate::audit::departed_name(person) })
}

fn photos_complete(c: &mut dyn Conn, photos: &[String]) -> Result<bool, DbError> {
    for p in photos {
        let done = c
            .query_opt("SELECT complete FROM photos WHERE sha256 = $1", &params![p])?
            .map(|r| r.bool(0))
            .transpose()?;
        if done != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The full view of a notice, with its timeline.
pub fn view(c: &mut dyn Conn, n: NoticeRow) -> Result<NoticeView, DbError> {
    let rows = c.query(
        "SELECT record_id, action, actor_id, reason, photos_json, reassign_to, from_state, to_state, applied, refusal,
                device_time_ms, server_ms, notice_hash
         FROM notice_events WHERE notice_id = $1 ORDER BY position",
        &params![n.id],
    )?;
    let mut events = Vec::with_capacity(rows.len());
    let mut after_photos = Vec::new();
    for r in &rows {
        let actor_id = r.uuid(2)?;
        let photos: Vec<String> = serde_json::from_str(&r.text(4)?).map_err(|_| bad("event photos"))?;
        let action = r.text(1)?;
        let applied = r.bool(8)?;
        if applied && action == NoticeAction::ReportFix.as_str() {
            after_photos.extend(photos.iter().cloned());
        }
        events.push(NoticeEvent {
            record_id: r.uuid(0)?,
            action,
            actor_id,
            actor_name: name_of(c, actor_id)?,
            reason: r.text(3)?,
            photos,
            reassign_to: r.opt_uuid(5)?,
            from_state: r.opt_text(6)?.and_then(|s| NoticeState::parse(&s)),
            to_state: r.opt_text(7)?.and_then(|s| NoticeState::parse(&s)),
            applied,
            refusal: r.opt_text(9)?,
            device_time_ms: r.int(10)?,
            server_time_ms: r.int(11)?,
            notice_hash: r.text(12)?,
        });
    }
    let all: Vec<String> = n.photos.iter().chain(after_photos.iter()).cloned().collect();
    Ok(NoticeView {
        id: n.id,
        number: n.number.clone(),
        site_id: n.site_id,
        department_id: n.department_id,
        checkpoint_id: n.checkpoint_id,
        run_id: n.run_id,
        location: n.location.clone(),
        description: n.description.clone(),
        severity: n.severity,
        due_ms: n.due_ms,
        requested_due_ms: c
            .query_opt("SELECT requested_due_ms FROM notices WHERE id = $1", &params![n.id])?
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten(),
        state: n.state,
        issuer_name: name_of(c, n.issuer_id)?,
        issuer_id: n.issuer_id,
        raised_device_ms: n.raised_device_ms,
        received_ms: n.received_ms,
        has_corrective_action: n.has_car,
        photos_complete: photos_complete(c, &all)?,
        photos: n.photos,
        after_photos,
        events,
    })
}

/// May this person see this notice? The issuer, the heads of the department it is
/// addressed to at its site, and the site's supervisors.
pub fn visible(actor: &Actor, n: &NoticeRow, site_org: Id) -> bool {
    actor.may_view_notice(site_org, n.site_id, n.department_id, n.issuer_id)
}

/// Was the notice ever shown to this person: visible now, or addressed once to a
/// department they head (a reassignment took it away)? Only then may a refused action
/// of theirs enter its timeline, and the refusal's pull carry the notice.
pub fn involved(c: &mut dyn Conn, actor: &Actor, n: &NoticeRow) -> Result<bool, DbError> {
    let org = reference::get_site(c, n.site_id)?.map(|s| s.org_id).unwrap_or_default();
    if visible(actor, n, org) {
        return Ok(true);
    }
    if org != actor.person.org_id {
        return Ok(false);
    }
    for dept in actor.headed_departments(n.site_id) {
        if c.query_opt(
            "SELECT 1 FROM feed WHERE notice_id = $1 AND department_id = $2 AND kind = 'notice'",
            &params![n.id, dept],
        )?
        .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Anyone with a role at the site (or over the whole organisation) may raise one.
fn may_raise(actor: &Actor, site_id: Id) -> bool {
    actor.is_org_wide() || actor.roles.iter().any(|r| r.site_id() == Some(site_id))
}

/// Applies a `NoticeRaised` record: numbers the notice and routes it.
pub fn apply_raised(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::NoticeRaised {
        notice_id,
        site_id,
        department_id,
        checkpoint_id,
        run_id,
        location,
        description,
        severity,
        due_ms,
        photos,
    } = &rec.payload
    else {
        unreachable!("dispatched by kind")
    };
    let Some(site) = reference::get_site(c, *site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
        return Ok(Outcome::rejected(Reason::SiteUnknown));
    };
    if !may_raise(actor, site.id) {
        return Ok(Outcome::rejected(Reason::NoRoleToRaise));
    }
    let Some(dept) = reference::get_department(c, *department_id)?.filter(|d| d.site_id == site.id) else {
        return Ok(Outcome::rejected(Reason::DepartmentOfOtherSite));
    };
    if get(c, *notice_id)?.is_some() {
        return Ok(Outcome::rejected(Reason::NoticeExists));
    }
    if let Some(cp) = checkpoint_id {
        let cp_site = c
            .query_opt("SELECT site_id FROM checkpoints WHERE id = $1", &params![*cp])?
            .map(|r| r.uuid(0))
            .transpose()?;
        if cp_site != Some(site.id) {
            return Ok(Outcome::rejected(Reason::CheckpointOfOtherSite));
        }
    }
    if let Some(run) = run_id {
        if !run_is_of_site(c, *run, site.id)? {
            return Ok(Outcome::rejected(Reason::RunOfOtherSite));
        }
    }
    if let Some(o) = uncited_photo(c, rec, photos)? {
        return Ok(o);
    }
    let (year, counter) = next_number(c, "notice_counters", &site, now)?;
    let number = notice_number(&site.code, year, counter);
    // The effective due time: the issuer may shorten the site's limit for the
    // severity, never lengthen it; the limit counts from the server's receipt, so a
    // phone's clock cannot stretch it. The phone's own wish is kept beside it.
    let limit = crate::schedules::rules::get(c, site.id)?.due_limit_ms(*severity);
    let effective_due = (*due_ms).min(now + limit);
    let severity_str = serde_json::to_value(severity).expect("severity serialises");
    c.execute(
        &format!(
            "INSERT INTO notices ({COLUMNS}, year, counter, raised_record_id, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        ),
        &params![
            *notice_id,
            site.id,
            number.clone(),
            dept.id,
            *checkpoint_id,
            *run_id,
            location,
            description,
            severity_str.as_str().unwrap_or("general"),
            effective_due,
            NoticeState::Issued.as_str(),
            rec.author,
            rec.device_time_ms,
            now,
            false,
            serde_json::to_string(photos).expect("photos serialise"),
            year,
            counter,
            rec.id,
            now
        ],
    )?;
    c.execute("UPDATE notices SET requested_due_ms = $2 WHERE id = $1", &params![*notice_id, *due_ms])?;
    // The register's search row, from the row just written (the same expression as
    // migration 11's backfill, so old and new notices are found alike).
    c.execute(&format!("{SEARCH_ROW_SQL} WHERE id = $1"), &params![*notice_id])?;
    for p in photos {
        cite_photo(c, p, rec, None, Some(*notice_id))?;
    }
    let leaf = Leaf::NoticeNumbered {
        notice_id: *notice_id,
        record_id: rec.id,
        record_hash: rec.hash(),
        site_id: site.id,
        number: number.clone(),
        year,
        counter,
        department_id: dept.id,
        at_ms: now,
    };
    crate::audit::log::append(c, &leaf, now)?;
    let position = feed::append(
        c,
        Kind::Notice,
        Entry {
            site_id: Some(site.id),
            department_id: Some(dept.id),
            person_id: Some(rec.author),
            notice_id: Some(*notice_id),
            record_id: Some(rec.id),
        },
        now,
    )?;
    let n = get(c, *notice_id)?.expect("just inserted");
    insert_event(
        c,
        rec,
        *notice_id,
        position,
        "raised",
        "",
        photos,
        None,
        None,
        Some(NoticeState::Issued),
        None,
        &n,
        now,
    )?;
    Ok(Outcome { notice_number: Some(number), ..Outcome::applied() })
}

/// SITE-YEAR-NNNNNN: a rectification notice's number.
pub fn notice_number(site_code: &str, year: i64, counter: i64) -> String {
    format!("{site_code}-{year}-{counter:06}")
}

/// The next number of `site` for the year of receipt (`now`, in site time) from
/// `counters` (the notices' or the fault notices'), in the caller's transaction: the
/// counter row is locked until it commits, so numbers have no gaps. Returns the year
/// and the number.
pub(crate) fn next_number(
    c: &mut dyn Conn,
    counters: &str,
    site: &patrol_protocol::Site,
    now: i64,
) -> Result<(i64, i64), DbError> {
    let year = i64::from(chrono::Datelike::year(&local_date(now, site.utc_offset_minutes)));
    c.execute(
        &format!(
            "INSERT INTO {counters} (site_id, year, value) VALUES ($1, $2, 0) ON CONFLICT (site_id, year) DO NOTHING"
        ),
        &params![site.id, year],
    )?;
    let counter = c
        .query_one(
            &format!("UPDATE {counters} SET value = value + 1 WHERE site_id = $1 AND year = $2 RETURNING value"),
            &params![site.id, year],
        )?
        .int(0)?;
    Ok((year, counter))
}

/// Whether a run (named by a record) is one of `site`'s.
pub(crate) fn run_is_of_site(c: &mut dyn Conn, run: Id, site: Id) -> Result<bool, DbError> {
    let found = c.query_opt("SELECT site_id FROM runs WHERE id = $1", &params![run])?.map(|r| r.uuid(0)).transpose()?;
    Ok(found == Some(site))
}

/// A record may cite only photos its own device took (a `photo_taken` earlier in the
/// same chain): knowing a photo's hash gives no claim on it.
pub(crate) fn uncited_photo(c: &mut dyn Conn, rec: &Record, photos: &[String]) -> Result<Option<Outcome>, DbError> {
    for p in photos {
        if !crate::photos::taken_on_device(c, p, rec.device)? {
            return Ok(Some(Outcome::rejected(Reason::PhotoNotFromDevice { sha: p.to_string() })));
        }
    }
    Ok(None)
}

pub fn cite_photo(
    c: &mut dyn Conn,
    sha: &str,
    rec: &Record,
    run: Option<Id>,
    notice: Option<Id>,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO photo_citations (sha256, record_id, author_id, run_id, notice_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sha256, record_id) DO NOTHING",
        &params![sha, rec.id, rec.author, run, notice],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert_event(
    c: &mut dyn Conn,
    rec: &Record,
    notice_id: Id,
    position: i64,
    action: &str,
    reason: &str,
    photos: &[String],
    reassign_to: Option<Id>,
    from: Option<NoticeState>,
    to: Option<NoticeState>,
    refusal: Option<String>,
    before: &NoticeRow,
    now: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO notice_events (record_id, notice_id, position, action, actor_id, reason, photos_json, reassign_to,
             from_state, to_state, applied, refusal, device_time_ms, server_ms, notice_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &params![
            rec.id,
            notice_id,
            position,
            action,
            rec.author,
            reason,
            serde_json::to_string(photos).expect("photos serialise"),
            reassign_to,
            from.map(|s| s.as_str()),
            to.map(|s| s.as_str()),
            refusal.is_none(),
            refusal,
            rec.device_time_ms,
            now,
            before.hash()
        ],
    )?;
    Ok(())
}

/// The refusal in words, with what changed meanwhile when the actor lost the right.
fn explain(c: &mut dyn Conn, refusal: &Refusal, n: &NoticeRow, actor: &Actor) -> Result<Reason, DbError> {
    let dept = reference::get_department(c, n.department_id)?;
    let dept_zh = dept.as_ref().map(|d| d.name_zh.clone()).unwrap_or_default();
    let dept_en = dept.as_ref().map(|d| d.name_en.clone()).unwrap_or_default();
    let heads_another = matches!(refusal, Refusal::NotPermitted { .. })
        && actor.roles.iter().any(|r| matches!(r, Role::DepartmentHead { site_id, .. } if *site_id == n.site_id));
    if heads_another {
        return Ok(Reason::NoticeHeadedElsewhere { dept_zh, dept_en });
    }
    Ok(Reason::NoticeRefused { refusal: refusal.clone() })
}

/// Applies a `NoticeActed` record against the state machine; a refused action is
/// kept in the timeline and reported to its author.
pub fn apply_acted(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::NoticeActed { notice_id, action, reason, photos, reassign_to, new_due_ms } = &rec.payload else {
        unreachable!("dispatched by kind")
    };
    // A notice the author was never shown is answered as if it did not exist: its
    // timeline is not touched and nothing of it reaches the author.
    let Some(n) = get(c, *notice_id)?.map(|n| involved(c, actor, &n).map(|i| i.then_some(n))).transpose()?.flatten()
    else {
        return Ok(Outcome::rejected(Reason::NoticeUnknown));
    };
    let roles = roles_for(actor, &n);
    let decision = decide(n.state, *action, &roles, n.severity, n.has_car);
    if decision.is_ok() && *action == NoticeAction::Reassign {
        let target = reassign_to.expect("validated: reassign names a department");
        if reference::get_department(c, target)?.is_none_or(|d| d.site_id != n.site_id) {
            let outcome = Outcome::rejected(Reason::ReassignOfOtherSite);
            record_refusal(c, rec, &n, *action, reason, photos, *reassign_to, outcome.reason.clone(), now)?;
            return Ok(outcome.in_timeline());
        }
        if reference::is_retired(c, reference::RefKind::Department, target)? {
            let outcome = Outcome::rejected(Reason::ReassignRetired);
            record_refusal(c, rec, &n, *action, reason, photos, *reassign_to, outcome.reason.clone(), now)?;
            return Ok(outcome.in_timeline());
        }
    }
    // Closed with points deducted: the fault notice comes first, from the same person,
    // naming this notice (the desk writes both in one transaction, a phone in one push).
    if decision.is_ok() && *action == NoticeAction::CloseWithPoints {
        let fault = c.query_opt(
            "SELECT 1 FROM faults WHERE notice_id = $1 AND issuer_id = $2 AND voided = $3",
            &params![n.id, rec.author, false],
        )?;
        if fault.is_none() {
            let outcome = Outcome::rejected(Reason::CloseNeedsFault);
            record_refusal(c, rec, &n, *action, reason, photos, *reassign_to, outcome.reason.clone(), now)?;
            return Ok(outcome.in_timeline());
        }
    }
    if decision.is_ok() {
        if let Some(outcome) = uncited_photo(c, rec, photos)? {
            record_refusal(c, rec, &n, *action, reason, photos, *reassign_to, outcome.reason.clone(), now)?;
            return Ok(outcome.in_timeline());
        }
    }
    match decision {
        Err(refusal) => {
            let why = explain(c, &refusal, &n, actor)?;
            record_refusal(c, rec, &n, *action, reason, photos, *reassign_to, Some(why.en()), now)?;
            Ok(Outcome::rejected(why).in_timeline())
        }
        Ok(next) => {
            let new_dept =
                if *action == NoticeAction::Reassign { reassign_to.expect("validated") } else { n.department_id };
            let has_car = n.has_car || *action == NoticeAction::CorrectiveAction;
            c.execute(
                "UPDATE notices SET state = $2, department_id = $3, has_car = $4, updated_ms = $5 WHERE id = $1",
                &params![n.id, next.as_str(), new_dept, has_car, now],
            )?;
            // The search row follows (migration 11): what the register filters by.
            c.execute(
                "UPDATE notice_search SET state = $2, department_id = $3 WHERE id = $1",
                &params![n.id, next.as_str(), new_dept],
            )?;
            // A second rectification (二次整改) may set a new due time, capped by the
            // site's limit from now as a new notice's is.
            if let (NoticeAction::VerifyFail, Some(due)) = (action, new_due_ms) {
                let limit = crate::schedules::rules::get(c, n.site_id)?.due_limit_ms(n.severity);
                let due = (*due).min(now + limit);
                c.execute("UPDATE notices SET due_ms = $2 WHERE id = $1", &params![n.id, due])?;
                c.execute("UPDATE notice_search SET due_ms = $2 WHERE id = $1", &params![n.id, due])?;
            }
            for p in photos {
                cite_photo(c, p, rec, None, Some(n.id))?;
            }
            // The old department hears of a reassignment too, so its heads' phones converge.
            let mut departments = vec![new_dept];
            if new_dept != n.department_id {
                departments.push(n.department_id);
            }
            let mut position = 0;
            for d in departments {
                position = feed::append(
                    c,
                    Kind::Notice,
                    Entry {
                        site_id: Some(n.site_id),
                        department_id: Some(d),
                        person_id: Some(n.issuer_id),
                        notice_id: Some(n.id),
                        record_id: Some(rec.id),
                    },
                    now,
                )?;
            }
            if new_dept != n.department_id {
                let leaf = Leaf::NoticeRouted {
                    notice_id: n.id,
                    record_id: rec.id,
                    site_id: n.site_id,
                    department_id: new_dept,
                    at_ms: now,
                };
                crate::audit::log::append(c, &leaf, now)?;
            }
            insert_event(
                c,
                rec,
                n.id,
                position,
                action.as_str(),
                reason,
                photos,
                *reassign_to,
                Some(n.state),
                Some(next),
                None,
                &n,
                now,
            )?;
            Ok(Outcome::applied())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record_refusal(
    c: &mut dyn Conn,
    rec: &Record,
    n: &NoticeRow,
    action: NoticeAction,
    reason: &str,
    photos: &[String],
    reassign_to: Option<Id>,
    refusal: Option<String>,
    now: i64,
) -> Result<(), DbError> {
    let position = feed::append(
        c,
        Kind::Rejection,
        Entry {
            site_id: Some(n.site_id),
            person_id: Some(rec.author),
            notice_id: Some(n.id),
            record_id: Some(rec.id),
            ..Entry::default()
        },
        now,
    )?;
    insert_event(
        c,
        rec,
        n.id,
        position,
        action.as_str(),
        reason,
        photos,
        reassign_to,
        Some(n.state),
        None,
        refusal,
        n,
        now,
    )
}
