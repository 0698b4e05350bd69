//! Staff fault notices (员工过失通知单) on the server: who may issue one to whom,
//! gapless numbering per site and year, the person's answer, appeals one level up the
//! chain and their decisions, and who may read them. The month's totals are `month`;
//! the organisation's rules and scale are `catalogue`.
//!
//! The chain of superiors comes from the people's roles at the site, never from what
//! a form says: a department's staff answer to its heads there, patrol staff and heads
//! to the site's supervisors (管理处主任), site supervisors to the organisation's
//! (管理处经理). It is worked out when a notice is issued (its `superior_id`, who
//! shares a repeated rule's liability) and when it is appealed (who may decide).

pub mod catalogue;
pub mod desk;
pub mod month;

use patrol_protocol::audit::Leaf;
use patrol_protocol::fault::{AppealDecision, FaultAction, FaultEvent, FaultView};
use patrol_protocol::reason::Reason;
use patrol_protocol::record::{Record, RecordPayload};
use patrol_protocol::{Id, Role};

use crate::params;
use crate::policy::Actor;
use crate::store::{Conn, DbError, Row, Value, people, reference};
use crate::sync::feed::{self, Entry, Kind};
use crate::sync::outcome::{Outcome, local_date};

const COLUMNS: &str = "id, site_id, number, month, person_id, superior_id, rule_id, rule_version, points, points_now,
    seen, location, run_id, notice_id, photos_json, issuer_id, seen_ms, received_ms, receipt, appeal, deciders_json,
    voided, year, counter";

/// A fault notice as stored.
#[derive(Debug, Clone)]
pub struct FaultRow {
    pub id: Id,
    pub site_id: Id,
    pub number: String,
    pub month: String,
    pub person_id: Id,
    pub superior_id: Option<Id>,
    pub rule_id: Id,
    pub rule_version: i64,
    pub points: i64,
    pub points_now: i64,
    pub seen: String,
    pub location: String,
    pub run_id: Option<Id>,
    pub notice_id: Option<Id>,
    pub photos: Vec<String>,
    pub issuer_id: Id,
    pub seen_ms: i64,
    pub received_ms: i64,
    pub receipt: String,
    pub appeal: Option<String>,
    pub deciders: Vec<Id>,
    pub voided: bool,
    pub year: i64,
    pub counter: i64,
}

fn row(r: &Row) -> Result<FaultRow, DbError> {
    let ids = |s: Option<String>| -> Result<Vec<Id>, DbError> {
        Ok(match s {
            Some(s) => serde_json::from_str(&s).map_err(|_| DbError::Data("fault deciders".into()))?,
            None => Vec::new(),
        })
    };
    Ok(FaultRow {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        number: r.text(2)?,
        month: r.text(3)?,
        person_id: r.uuid(4)?,
        superior_id: r.opt_uuid(5)?,
        rule_id: r.uuid(6)?,
        rule_version: r.int(7)?,
        points: r.int(8)?,
        points_now: r.int(9)?,
        seen: r.text(10)?,
        location: r.text(11)?,
        run_id: r.opt_uuid(12)?,
        notice_id: r.opt_uuid(13)?,
        photos: serde_json::from_str(&r.text(14)?).map_err(|_| DbError::Data("fault photos".into()))?,
        issuer_id: r.uuid(15)?,
        seen_ms: r.int(16)?,
        received_ms: r.int(17)?,
        receipt: r.text(18)?,
        appeal: r.opt_text(19)?,
        deciders: ids(r.opt_text(20)?)?,
        voided: r.bool(21)?,
        year: r.int(22)?,
        counter: r.int(23)?,
    })
}

pub fn get(c: &mut dyn Conn, id: Id) -> Result<Option<FaultRow>, DbError> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM faults WHERE id = $1"), &params![id])?.map(|r| row(&r)).transpose()
}

/// A site's fault notices of a month, by number.
pub fn of_month(c: &mut dyn Conn, site_id: Id, month: &str) -> Result<Vec<FaultRow>, DbError> {
    c.query(
        &format!("SELECT {COLUMNS} FROM faults WHERE site_id = $1 AND month = $2 ORDER BY year, counter"),
        &params![site_id, month],
    )?
    .iter()
    .map(row)
    .collect()
}

// ---------------------------------------------------------------------------
// The chain of superiors.

/// A person's place at a site: 0 staff (patrol or a department's), 1 a department's
/// head, 2 the site's supervisor, 3 the organisation's; `None` without a role there.
fn level(roles: &[Role], site_id: Id) -> Option<u8> {
    roles
        .iter()
        .filter_map(|r| match r {
            Role::PatrolStaff { site_id: s } | Role::DepartmentStaff { site_id: s, .. } if *s == site_id => Some(0),
            Role::DepartmentHead { site_id: s, .. } if *s == site_id => Some(1),
            Role::SiteSupervisor { site_id: s } if *s == site_id => Some(2),
            Role::OrgSupervisor => Some(3),
            _ => None,
        })
        .max()
}

/// The active holders of a role, in the order they got it.
fn holders(c: &mut dyn Conn, condition: &str, args: Vec<Value>) -> Result<Vec<Id>, DbError> {
    c.query(
        &format!(
            "SELECT ra.person_id FROM role_assignments ra JOIN people p ON p.id = ra.person_id
             WHERE ra.removed_ms IS NULL AND p.active = 1 AND {condition}
             ORDER BY ra.created_ms, ra.person_id"
        ),
        &args,
    )?
    .iter()
    .map(|r| r.uuid(0))
    .collect()
}

/// The levels above `person` at `site_id`, nearest first, each the people who hold it
/// (never the person themselves); levels nobody holds are left out.
pub fn levels_above(c: &mut dyn Conn, org_id: Id, site_id: Id, person: Id) -> Result<Vec<Vec<Id>>, DbError> {
    let roles = people::roles_of(c, person)?;
    let Some(lv) = level(&roles, site_id) else { return Ok(Vec::new()) };
    let mut out: Vec<Vec<Id>> = Vec::new();
    if lv == 0 {
        let mut heads = Vec::new();
        for r in &roles {
            if let Role::DepartmentStaff { site_id: s, department_id } = r {
                if *s == site_id {
                    for h in holders(
                        c,
                        "ra.role = 'department_head' AND ra.site_id = $1 AND ra.department_id = $2",
                        params![site_id, *department_id],
                    )? {
                        if !heads.contains(&h) {
                            heads.push(h);
                        }
                    }
                }
            }
        }
        out.push(heads);
    }
    if lv <= 1 {
        out.push(holders(c, "ra.role = 'site_supervisor' AND ra.site_id = $1", params![site_id])?);
    }
    if lv <= 2 {
        out.push(holders(c, "ra.role = 'org_supervisor' AND p.org_id = $1", params![org_id])?);
    }
    for set in &mut out {
        set.retain(|p| *p != person);
    }
    out.retain(|s| !s.is_empty());
    Ok(out)
}

/// The person's direct superior at the site: the first holder of the nearest level.
pub fn direct_superior(c: &mut dyn Conn, org_id: Id, site_id: Id, person: Id) -> Result<Option<Id>, DbError> {
    Ok(levels_above(c, org_id, site_id, person)?.first().and_then(|s| s.first().copied()))
}

/// Who decides an appeal against a notice `issuer` issued to `appellant`: one level
/// above the issuer, and one higher still for anyone who would decide their own
/// appeal or their own notice. The organisation's administrators when the chain ends.
pub fn deciders(c: &mut dyn Conn, org_id: Id, site_id: Id, issuer: Id, appellant: Id) -> Result<Vec<Id>, DbError> {
    for mut set in levels_above(c, org_id, site_id, issuer)? {
        set.retain(|p| *p != appellant && *p != issuer);
        if !set.is_empty() {
            return Ok(set);
        }
    }
    let mut admins = holders(c, "ra.role = 'administrator' AND p.org_id = $1", params![org_id])?;
    admins.retain(|p| *p != appellant && *p != issuer);
    Ok(admins)
}

// ---------------------------------------------------------------------------
// Who may issue and read.

/// The departments `person` is staff of at `site_id`.
fn staff_departments(roles: &[Role], site_id: Id) -> Vec<Id> {
    roles
        .iter()
        .filter_map(|r| match r {
            Role::DepartmentStaff { site_id: s, department_id } if *s == site_id => Some(*department_id),
            _ => None,
        })
        .collect()
}

/// Supervisors of the site for anyone with a role there; department heads for their
/// department's staff there.
pub fn may_issue(actor: &Actor, site_id: Id, person_roles: &[Role]) -> bool {
    if actor.is_supervisor_of(site_id) {
        return true;
    }
    let headed = actor.headed_departments(site_id);
    staff_departments(person_roles, site_id).iter().any(|d| headed.contains(d))
}

/// May `actor` read a fault notice of `site_id` (of organisation `site_org`) issued to
/// `person` (who holds `person_roles`) by `issuer`? The person, the issuer, the heads of
/// the person's department at the site, the site's supervisors, the organisation's
/// administrators, and whoever is asked to decide its appeal. Every path that shows
/// one asks here, or in [`scope_sql`], its twin for lists.
pub fn may_view(actor: &Actor, site_org: Id, f: &FaultRow, person_roles: &[Role]) -> bool {
    if site_org != actor.person.org_id {
        return false;
    }
    let me = actor.person.id;
    me == f.person_id
        || me == f.issuer_id
        || actor.is_admin()
        || actor.is_supervisor_of(f.site_id)
        || f.deciders.contains(&me)
        || staff_departments(person_roles, f.site_id).iter().any(|d| actor.headed_departments(f.site_id).contains(d))
}

/// [`may_view`] as an SQL condition on `faults f`, parameters numbered from `$first`.
pub fn scope_sql(actor: &Actor, first: usize) -> (String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value| {
        args.push(v);
        format!("${}", first + args.len() - 1)
    };
    let org = arg(actor.person.org_id.into());
    let in_org = format!("f.site_id IN (SELECT s.id FROM sites s WHERE s.org_id = {org})");
    if actor.is_admin() || actor.supervises_org() {
        return (in_org, args);
    }
    let me = arg(actor.person.id.into());
    let mut any = vec![
        format!("f.person_id = {me}"),
        format!("f.issuer_id = {me}"),
        // The deciders are a JSON list of ids; an id is 36 characters, no quoting issue.
        format!("f.deciders_json LIKE '%' || {me} || '%'"),
    ];
    for r in &actor.roles {
        match r {
            Role::SiteSupervisor { site_id } => any.push(format!("f.site_id = {}", arg((*site_id).into()))),
            Role::DepartmentHead { site_id, department_id } => {
                let (s, d) = (arg((*site_id).into()), arg((*department_id).into()));
                any.push(format!(
                    "(f.site_id = {s} AND EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.person_id = f.person_id
                       AND ra.role = 'department_staff' AND ra.site_id = {s} AND ra.department_id = {d}
                       AND ra.removed_ms IS NULL))"
                ));
            }
            _ => {}
        }
    }
    (format!("{in_org} AND ({})", any.join(" OR ")), args)
}

/// Is the fault notice one the actor may read?
pub fn visible(c: &mut dyn Conn, actor: &Actor, f: &FaultRow) -> Result<bool, DbError> {
    let Some(site) = reference::get_site(c, f.site_id)? else { return Ok(false) };
    let roles = people::roles_of(c, f.person_id)?;
    Ok(may_view(actor, site.org_id, f, &roles))
}

/// The fault notices the actor may read: of a site (or all), a month (or all), a
/// person (or all), newest first, at most `limit`.
pub fn list_visible(
    c: &mut dyn Conn,
    actor: &Actor,
    site: Option<Id>,
    month: Option<&str>,
    person: Option<Id>,
    limit: i64,
) -> Result<Vec<FaultRow>, DbError> {
    let (scope, mut args) = scope_sql(actor, 1);
    let mut sql = format!("SELECT {COLUMNS} FROM faults f WHERE {scope}");
    if let Some(s) = site {
        args.push(s.into());
        sql += &format!(" AND f.site_id = ${}", args.len());
    }
    if let Some(m) = month {
        args.push(m.into());
        sql += &format!(" AND f.month = ${}", args.len());
    }
    if let Some(p) = person {
        args.push(p.into());
        sql += &format!(" AND f.person_id = ${}", args.len());
    }
    args.push(limit.into());
    sql += &format!(" ORDER BY f.received_ms DESC, f.id DESC LIMIT ${}", args.len());
    c.query(&sql, &args)?.iter().map(row).collect()
}

// ---------------------------------------------------------------------------
// Applying records.

fn event(
    c: &mut dyn Conn,
    rec: &Record,
    fault_id: Id,
    action: &str,
    reason: &str,
    points: Option<i64>,
    refusal: Option<&Reason>,
    now: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO fault_events (record_id, fault_id, action, actor_id, reason, points, applied, refusal,
             device_time_ms, server_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &params![
            rec.id,
            fault_id,
            action,
            rec.author,
            reason,
            points,
            refusal.is_none(),
            refusal.map(|r| r.en()),
            rec.device_time_ms,
            now
        ],
    )?;
    Ok(())
}

/// Tells the pull feed a fault notice of `person` changed (the person's and the
/// issuer's phones show it).
fn changed(c: &mut dyn Conn, site: Id, person: Id, rec: &Record, now: i64) -> Result<(), DbError> {
    let entry = Entry { site_id: Some(site), person_id: Some(person), record_id: Some(rec.id), ..Entry::default() };
    feed::append(c, Kind::Fault, entry, now).map(|_| ())
}

/// The fault notices a pull shows its reader among `record_ids` (the records of its
/// page's fault entries): their own, those they issued, and those whose appeal they
/// are to decide.
pub fn pulled(c: &mut dyn Conn, me: Id, record_ids: &[Id]) -> Result<Vec<FaultView>, DbError> {
    let mut ids: Vec<Id> = Vec::new();
    for r in record_ids {
        if let Some(row) = c.query_opt("SELECT fault_id FROM fault_events WHERE record_id = $1", &params![*r])? {
            let id = row.uuid(0)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut views = Vec::new();
    for id in ids {
        if let Some(f) = get(c, id)? {
            if f.person_id == me || f.issuer_id == me || f.deciders.contains(&me) {
                views.push(view(c, &f)?);
            }
        }
    }
    Ok(views)
}

/// The month (YYYY-MM, site time) a fault seen at `ms` counts in.
pub fn month_of(ms: i64, utc_offset_minutes: i32) -> String {
    local_date(ms, utc_offset_minutes).format("%Y-%m").to_string()
}

/// Applies a `FaultIssued` record: checks who issues to whom, numbers it per site and
/// year, and fixes the person's direct superior as it stands now.
pub fn apply_issued(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::FaultIssued {
        fault_id,
        site_id,
        person_id,
        rule_id,
        points,
        seen,
        location,
        run_id,
        notice_id,
        photos,
    } = &rec.payload
    else {
        unreachable!("dispatched by kind")
    };
    let Some(site) = reference::get_site(c, *site_id)?.filter(|s| s.org_id == actor.person.org_id) else {
        return Ok(Outcome::rejected(Reason::SiteUnknown));
    };
    if get(c, *fault_id)?.is_some() {
        return Ok(Outcome::rejected(Reason::FaultExists));
    }
    if *person_id == rec.author {
        return Ok(Outcome::rejected(Reason::FaultToSelf));
    }
    let person = people::get_person(c, *person_id)?.filter(|p| p.org_id == site.org_id);
    let person_roles = match &person {
        Some(_) => people::roles_of(c, *person_id)?,
        None => Vec::new(),
    };
    if level(&person_roles, site.id).is_none() {
        return Ok(Outcome::rejected(Reason::PersonNotAtSite));
    }
    if !may_issue(actor, site.id, &person_roles) {
        return Ok(Outcome::rejected(Reason::NoRoleToIssueFault));
    }
    let Some(rule) = catalogue::rule(c, site.org_id, *rule_id)?.filter(|r| !r.retired) else {
        return Ok(Outcome::rejected(Reason::FaultRuleUnknown));
    };
    if let Some(run) = run_id {
        if !crate::notices::run_is_of_site(c, *run, site.id)? {
            return Ok(Outcome::rejected(Reason::RunOfOtherSite));
        }
    }
    if let Some(n) = notice_id {
        if crate::notices::get(c, *n)?.is_none_or(|n| n.site_id != site.id) {
            return Ok(Outcome::rejected(Reason::NoticeUnknown));
        }
    }
    if let Some(o) = crate::notices::uncited_photo(c, rec, photos)? {
        return Ok(o);
    }
    // Seen when the phone says, never after the server had it.
    let seen_ms = rec.device_time_ms.min(now);
    let month = month_of(seen_ms, site.utc_offset_minutes);
    let (year, counter) = crate::notices::next_number(c, "fault_counters", &site, now)?;
    let number = fault_number(&site.code, year, counter);
    let superior = direct_superior(c, site.org_id, site.id, *person_id)?;
    c.execute(
        "INSERT INTO faults (id, site_id, number, year, counter, month, person_id, superior_id, rule_id, rule_version,
             points, points_now, seen, location, run_id, notice_id, photos_json, issuer_id, issued_record_id, seen_ms,
             received_ms, receipt, appeal, deciders_json, voided, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
             'pending', NULL, NULL, $22, $23)",
        &params![
            *fault_id,
            site.id,
            number.clone(),
            year,
            counter,
            month,
            *person_id,
            superior,
            *rule_id,
            i64::from(rule.version),
            i64::from(*points),
            i64::from(*points),
            seen,
            location,
            *run_id,
            *notice_id,
            serde_json::to_string(photos).expect("photos serialise"),
            rec.author,
            rec.id,
            seen_ms,
            now,
            false,
            now
        ],
    )?;
    for p in photos {
        crate::notices::cite_photo(c, p, rec, *run_id, None)?;
    }
    event(c, rec, *fault_id, "issued", "", Some(i64::from(*points)), None, now)?;
    changed(c, site.id, *person_id, rec, now)?;
    let leaf = Leaf::FaultNumbered {
        fault_id: *fault_id,
        record_id: rec.id,
        record_hash: rec.hash(),
        site_id: site.id,
        person_id: *person_id,
        number: number.clone(),
        year,
        counter,
        at_ms: now,
    };
    crate::audit::log::append(c, &leaf, now)?;
    Ok(Outcome { notice_number: Some(number), ..Outcome::applied() })
}

/// SITE-F-YEAR-NNNNNN: a fault notice's number, beside the notices' SITE-YEAR-NNNNNN.
pub fn fault_number(site_code: &str, year: i64, counter: i64) -> String {
    format!("{site_code}-F-{year}-{counter:06}")
}

/// A refusal kept on the notice's own timeline (its author may see the notice).
fn refuse(
    c: &mut dyn Conn,
    rec: &Record,
    f: &FaultRow,
    action: &str,
    reason: &str,
    why: Reason,
    now: i64,
) -> Result<Outcome, DbError> {
    event(c, rec, f.id, action, reason, None, Some(&why), now)?;
    Ok(Outcome::rejected(why))
}

/// Applies a `FaultActed` record: the person signs, refuses or appeals; a supervisor
/// voids.
pub fn apply_acted(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::FaultActed { fault_id, action, reason } = &rec.payload else {
        unreachable!("dispatched by kind")
    };
    let Some(f) = get(c, *fault_id)?.map(|f| visible(c, actor, &f).map(|v| v.then_some(f))).transpose()?.flatten()
    else {
        return Ok(Outcome::rejected(Reason::FaultUnknown));
    };
    let name = action.as_str();
    if f.voided {
        return refuse(c, rec, &f, name, reason, Reason::FaultVoided, now);
    }
    match action {
        FaultAction::Acknowledge | FaultAction::Refuse => {
            if actor.person.id != f.person_id {
                return refuse(c, rec, &f, name, reason, Reason::FaultNotYours, now);
            }
            if f.receipt != "pending" {
                return refuse(c, rec, &f, name, reason, Reason::FaultAnswered, now);
            }
            let receipt = if *action == FaultAction::Acknowledge { "signed" } else { "refused" };
            c.execute("UPDATE faults SET receipt = $2, updated_ms = $3 WHERE id = $1", &params![f.id, receipt, now])?;
        }
        FaultAction::Appeal => {
            if actor.person.id != f.person_id {
                return refuse(c, rec, &f, name, reason, Reason::FaultNotYours, now);
            }
            if f.appeal.is_some() {
                return refuse(c, rec, &f, name, reason, Reason::AppealAlreadyMade, now);
            }
            let site = reference::get_site(c, f.site_id)?.ok_or_else(|| DbError::Data("fault of no site".into()))?;
            let who = deciders(c, site.org_id, site.id, f.issuer_id, f.person_id)?;
            c.execute(
                "UPDATE faults SET appeal = 'open', deciders_json = $2, updated_ms = $3 WHERE id = $1",
                &params![f.id, serde_json::to_string(&who).expect("ids serialise"), now],
            )?;
        }
        FaultAction::Void => {
            if !actor.is_supervisor_of(f.site_id) {
                return refuse(c, rec, &f, name, reason, Reason::OnlySupervisorVoidsFault, now);
            }
            c.execute(
                "UPDATE faults SET voided = $2, points_now = 0, updated_ms = $3 WHERE id = $1",
                &params![f.id, true, now],
            )?;
        }
    }
    event(c, rec, f.id, name, reason, None, None, now)?;
    changed(c, f.site_id, f.person_id, rec, now)?;
    Ok(Outcome::applied())
}

/// Applies an `AppealDecided` record: only a decider named when the appeal was made,
/// never the appellant; the points follow the decision.
pub fn apply_decided(c: &mut dyn Conn, actor: &Actor, rec: &Record, now: i64) -> Result<Outcome, DbError> {
    let RecordPayload::AppealDecided { fault_id, decision, points, reason } = &rec.payload else {
        unreachable!("dispatched by kind")
    };
    let Some(f) = get(c, *fault_id)?.map(|f| visible(c, actor, &f).map(|v| v.then_some(f))).transpose()?.flatten()
    else {
        return Ok(Outcome::rejected(Reason::FaultUnknown));
    };
    let name = decision.as_str();
    if f.voided {
        return refuse(c, rec, &f, name, reason, Reason::FaultVoided, now);
    }
    if f.appeal.is_none() {
        return refuse(c, rec, &f, name, reason, Reason::NoOpenAppeal, now);
    }
    // Who decides was fixed when the appeal was made; nobody else, and never the
    // appellant, even once it is decided.
    if actor.person.id == f.person_id || !f.deciders.contains(&actor.person.id) {
        return refuse(c, rec, &f, name, reason, Reason::NotTheAppealDecider, now);
    }
    if f.appeal.as_deref() != Some("open") {
        return refuse(c, rec, &f, name, reason, Reason::NoOpenAppeal, now);
    }
    let now_points = match decision {
        AppealDecision::Upheld => f.points_now,
        AppealDecision::Cancelled => 0,
        AppealDecision::Reduced => {
            let p = i64::from(*points);
            if p >= f.points_now {
                let max = u32::try_from(f.points_now - 1).unwrap_or(0);
                return refuse(c, rec, &f, name, reason, Reason::ReducedPoints { max }, now);
            }
            p
        }
    };
    c.execute(
        "UPDATE faults SET appeal = $2, points_now = $3, updated_ms = $4 WHERE id = $1",
        &params![f.id, name, now_points, now],
    )?;
    event(c, rec, f.id, name, reason, Some(now_points), None, now)?;
    changed(c, f.site_id, f.person_id, rec, now)?;
    Ok(Outcome::applied())
}

// ---------------------------------------------------------------------------
// Views.

/// The fault notice with names, its rule and its timeline.
pub fn view(c: &mut dyn Conn, f: &FaultRow) -> Result<FaultView, DbError> {
    let name = |c: &mut dyn Conn, id: Id| crate::notices::name_of(c, id);
    let rule = catalogue::rule_version(c, f.rule_id, f.rule_version)?;
    let mut events = Vec::new();
    for r in c.query(
        "SELECT record_id, action, actor_id, reason, points, applied, refusal, server_ms FROM fault_events
         WHERE fault_id = $1 ORDER BY server_ms, record_id",
        &params![f.id],
    )? {
        let actor_id = r.uuid(2)?;
        events.push(FaultEvent {
            record_id: r.uuid(0)?,
            action: r.text(1)?,
            actor_id,
            actor_name: name(c, actor_id)?,
            reason: r.text(3)?,
            points: r.opt_int(4)?.map(|p| p as u32),
            applied: r.bool(5)?,
            refusal: r.opt_text(6)?,
            at_ms: r.int(7)?,
        });
    }
    let superior_name = match f.superior_id {
        Some(s) => Some(name(c, s)?),
        None => None,
    };
    Ok(FaultView {
        id: f.id,
        number: f.number.clone(),
        site_id: f.site_id,
        month: f.month.clone(),
        person_id: f.person_id,
        person_name: name(c, f.person_id)?,
        superior_id: f.superior_id,
        superior_name,
        rule_id: f.rule_id,
        rule_code: rule.as_ref().map(|r| r.code.clone()).unwrap_or_default(),
        rule_name_zh: rule.as_ref().map(|r| r.name_zh.clone()).unwrap_or_default(),
        rule_name_en: rule.as_ref().map(|r| r.name_en.clone()).unwrap_or_default(),
        points: f.points as u32,
        points_now: f.points_now as u32,
        seen: f.seen.clone(),
        location: f.location.clone(),
        photos: f.photos.clone(),
        run_id: f.run_id,
        notice_id: f.notice_id,
        issuer_id: f.issuer_id,
        issuer_name: name(c, f.issuer_id)?,
        seen_ms: f.seen_ms,
        received_ms: f.received_ms,
        receipt: f.receipt.clone(),
        appeal: f.appeal.clone(),
        deciders: f.deciders.clone(),
        voided: f.voided,
        events,
    })
}
