//! People, their roles, and what authentication keeps: signing keys, refresh-token
//! families, and failed logins for rate limiting.

use patrol_protocol::{Id, Person, Role, RoleAssignment};

use super::db::{Conn, DbError, Row};
use crate::params;

fn person(r: &Row) -> Result<Person, DbError> {
    Ok(Person { id: r.uuid(0)?, org_id: r.uuid(1)?, login: r.text(2)?, display_name: r.text(3)?, active: r.bool(4)? })
}

pub fn insert_person(c: &mut dyn Conn, p: &Person, password_hash: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO people (id, org_id, login, display_name, password_hash, active, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &params![p.id, p.org_id, &p.login, &p.display_name, password_hash, p.active, now],
    )?;
    Ok(())
}

pub fn list_people(c: &mut dyn Conn, org_id: Id) -> Result<Vec<Person>, DbError> {
    c.query(
        "SELECT id, org_id, login, display_name, active FROM people WHERE org_id = $1 ORDER BY login",
        &params![org_id],
    )?
    .iter()
    .map(person)
    .collect()
}

pub fn get_person(c: &mut dyn Conn, id: Id) -> Result<Option<Person>, DbError> {
    c.query_opt("SELECT id, org_id, login, display_name, active FROM people WHERE id = $1", &params![id])?
        .as_ref()
        .map(person)
        .transpose()
}

/// The person and stored password hash for a login name.
pub fn credentials(c: &mut dyn Conn, login: &str) -> Result<Option<(Person, String)>, DbError> {
    c.query_opt(
        "SELECT id, org_id, login, display_name, active, password_hash FROM people WHERE login = $1",
        &params![login],
    )?
    .map(|r| Ok((person(&r)?, r.text(5)?)))
    .transpose()
}

pub fn count_people(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one("SELECT COUNT(*) FROM people", &[])?.int(0)
}

/// A role as its stored columns: kind, site, department.
fn role_columns(role: &Role) -> (&'static str, Option<Id>, Option<Id>) {
    let (site, dept) = match role {
        Role::PatrolStaff { site_id } | Role::SiteSupervisor { site_id } => (Some(*site_id), None),
        Role::DepartmentHead { site_id, department_id } | Role::DepartmentStaff { site_id, department_id } => {
            (Some(*site_id), Some(*department_id))
        }
        Role::OrgSupervisor | Role::Administrator => (None, None),
    };
    (role.kind_str(), site, dept)
}

pub fn insert_role(c: &mut dyn Conn, a: &RoleAssignment, now: i64) -> Result<(), DbError> {
    let (kind, site, dept) = role_columns(&a.role);
    c.execute(
        "INSERT INTO role_assignments (person_id, role, site_id, department_id, created_ms) VALUES ($1, $2, $3, $4, $5)",
        &params![a.person_id, kind, site, dept, now],
    )?;
    Ok(())
}

pub fn roles_of(c: &mut dyn Conn, person_id: Id) -> Result<Vec<Role>, DbError> {
    c.query(
        "SELECT role, site_id, department_id FROM role_assignments WHERE person_id = $1 AND removed_ms IS NULL
         ORDER BY created_ms, role",
        &params![person_id],
    )?
    .iter()
    .map(|r| role_at(r, 0))
    .collect()
}

/// The role stored in columns `at` (kind), `at + 1` (site) and `at + 2` (department).
fn role_at(r: &Row, at: usize) -> Result<Role, DbError> {
    let kind = r.text(at)?;
    let site = r.opt_uuid(at + 1)?;
    let dept = r.opt_uuid(at + 2)?;
    let bad = || DbError::Data(format!("role {kind:?} stored without its site or department"));
    Ok(match kind.as_str() {
        "patrol_staff" => Role::PatrolStaff { site_id: site.ok_or_else(bad)? },
        "department_head" => {
            Role::DepartmentHead { site_id: site.ok_or_else(bad)?, department_id: dept.ok_or_else(bad)? }
        }
        "department_staff" => {
            Role::DepartmentStaff { site_id: site.ok_or_else(bad)?, department_id: dept.ok_or_else(bad)? }
        }
        "site_supervisor" => Role::SiteSupervisor { site_id: site.ok_or_else(bad)? },
        "org_supervisor" => Role::OrgSupervisor,
        "administrator" => Role::Administrator,
        _ => return Err(DbError::Data(format!("unknown role {kind:?} in database"))),
    })
}

/// What a request's sign-in check needs of a person, in one statement (one snapshot,
/// one round trip): the person, their live roles in assignment order, whether they
/// must change a one-time password first, and whether the login family `family` was
/// ended (`None`: no family to check, a console session). `None` when no such person.
pub struct SignedIn {
    pub person: Person,
    pub roles: Vec<Role>,
    pub must_change_password: bool,
    pub family_revoked: bool,
}

pub fn signed_in(c: &mut dyn Conn, person_id: Id, family: Option<&str>) -> Result<Option<SignedIn>, DbError> {
    let rows = c.query(
        "SELECT p.id, p.org_id, p.login, p.display_name, p.active, p.must_change_password,
                EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = $2 AND t.revoked_ms IS NOT NULL),
                r.role, r.site_id, r.department_id
         FROM people p LEFT JOIN role_assignments r ON r.person_id = p.id AND r.removed_ms IS NULL
         WHERE p.id = $1 ORDER BY r.created_ms, r.role",
        &params![person_id, family.unwrap_or("")],
    )?;
    let Some(first) = rows.first() else { return Ok(None) };
    let mut roles = Vec::with_capacity(rows.len());
    for r in &rows {
        if !r.is_null(7) {
            roles.push(role_at(r, 7)?);
        }
    }
    Ok(Some(SignedIn {
        person: person(first)?,
        roles,
        must_change_password: first.int(5)? != 0,
        family_revoked: family.is_some() && first.bool(6)?,
    }))
}

/// The signing keys: `(kid, secret seed hex)`, newest first; the first one signs.
pub fn signing_keys(c: &mut dyn Conn) -> Result<Vec<(String, String)>, DbError> {
    c.query("SELECT kid, secret_hex FROM signing_keys WHERE retired_ms IS NULL ORDER BY created_ms DESC, kid", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect()
}

pub fn insert_signing_key(c: &mut dyn Conn, kid: &str, secret_hex: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO signing_keys (kid, secret_hex, created_ms) VALUES ($1, $2, $3)",
        &params![kid, secret_hex, now],
    )?;
    Ok(())
}

pub struct RefreshToken {
    pub family_id: String,
    pub person_id: Id,
    pub device_id: Id,
    pub expires_ms: i64,
    pub used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

pub fn insert_refresh(
    c: &mut dyn Conn,
    token_hash: &str,
    family_id: &str,
    person_id: Id,
    device_id: Id,
    now: i64,
    expires_ms: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, person_id, device_id, issued_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![token_hash, family_id, person_id, device_id, now, expires_ms],
    )?;
    Ok(())
}

pub fn get_refresh(c: &mut dyn Conn, token_hash: &str) -> Result<Option<RefreshToken>, DbError> {
    c.query_opt(
        "SELECT family_id, person_id, device_id, expires_ms, used_ms, revoked_ms FROM refresh_tokens WHERE token_hash = $1",
        &params![token_hash],
    )?
    .map(|r| {
        Ok(RefreshToken {
            family_id: r.text(0)?,
            person_id: r.uuid(1)?,
            device_id: r.uuid(2)?,
            expires_ms: r.int(3)?,
            used_ms: r.opt_int(4)?,
            revoked_ms: r.opt_int(5)?,
        })
    })
    .transpose()
}

/// Marks a token used; false if someone else used it first (a race is a reuse too).
pub fn mark_refresh_used(c: &mut dyn Conn, token_hash: &str, now: i64) -> Result<bool, DbError> {
    let n = c.execute(
        "UPDATE refresh_tokens SET used_ms = $2 WHERE token_hash = $1 AND used_ms IS NULL AND revoked_ms IS NULL",
        &params![token_hash, now],
    )?;
    Ok(n == 1)
}

pub fn revoke_family(c: &mut dyn Conn, family_id: &str, now: i64) -> Result<u64, DbError> {
    c.execute(
        "UPDATE refresh_tokens SET revoked_ms = $2 WHERE family_id = $1 AND revoked_ms IS NULL",
        &params![family_id, now],
    )
}

/// Takes one attempt from `bucket`'s budget for the minute starting at or after
/// `window_floor_ms`, atomically (one statement: concurrent callers each see their
/// own count), and returns the attempts taken in the current window including this
/// one. A window older than `window_floor_ms` starts again at 1.
pub fn take_login_budget(c: &mut dyn Conn, bucket: &str, now: i64, window_floor_ms: i64) -> Result<i64, DbError> {
    c.query_one(
        "INSERT INTO login_budgets (bucket, window_start_ms, attempts) VALUES ($1, $2, 1)
         ON CONFLICT (bucket) DO UPDATE SET
             attempts = CASE WHEN login_budgets.window_start_ms <= $3 THEN 1 ELSE login_budgets.attempts + 1 END,
             window_start_ms = CASE WHEN login_budgets.window_start_ms <= $3 THEN $2 ELSE login_budgets.window_start_ms END
         RETURNING attempts",
        &params![bucket, now, window_floor_ms],
    )?
    .int(0)
}

/// Gives back an attempt that turned out to be the right password: only wrong
/// guesses use up a budget.
pub fn refund_login_budget(c: &mut dyn Conn, bucket: &str) -> Result<(), DbError> {
    c.execute("UPDATE login_budgets SET attempts = attempts - 1 WHERE bucket = $1 AND attempts > 0", &params![bucket])?;
    Ok(())
}

/// Forgets budgets whose window ended before `before_ms` (the jobs tick).
pub fn prune_login_budgets(c: &mut dyn Conn, before_ms: i64) -> Result<u64, DbError> {
    c.execute("DELETE FROM login_budgets WHERE window_start_ms < $1", &params![before_ms])
}

/// Whether `person` has signed in on `device` before (a refresh token was ever issued
/// for the pair).
pub fn signed_in_before(c: &mut dyn Conn, person: Id, device: Id) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT 1 FROM refresh_tokens WHERE person_id = $1 AND device_id = $2 LIMIT 1",
        &params![person, device],
    )?
    .is_some())
}

/// Whether the login family was ended (sign-out, a reused token, deactivation).
pub fn family_revoked(c: &mut dyn Conn, family_id: &str) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_ms IS NOT NULL LIMIT 1",
        &params![family_id],
    )?
    .is_some())
}

/// Sets a person's password hash; `must_change` makes it a one-time password.
pub fn set_password(c: &mut dyn Conn, person: Id, hash: &str, must_change: bool) -> Result<(), DbError> {
    c.execute(
        "UPDATE people SET password_hash = $2, must_change_password = $3 WHERE id = $1",
        &params![person, hash, i64::from(must_change)],
    )?;
    Ok(())
}

/// Whether the person signs in with a one-time password that must be changed first.
pub fn must_change_password(c: &mut dyn Conn, person: Id) -> Result<bool, DbError> {
    Ok(c.query_opt("SELECT must_change_password FROM people WHERE id = $1", &params![person])?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0)
        != 0)
}

/// The stored password hash of a person.
pub fn password_hash(c: &mut dyn Conn, person: Id) -> Result<Option<String>, DbError> {
    c.query_opt("SELECT password_hash FROM people WHERE id = $1", &params![person])?.map(|r| r.text(0)).transpose()
}

/// Activates or deactivates a person; deactivation ends every login they have
/// (refresh tokens, console sessions; access tokens are refused at their next request).
pub fn set_active(c: &mut dyn Conn, person: Id, active: bool, now: i64) -> Result<(), DbError> {
    c.execute("UPDATE people SET active = $2 WHERE id = $1", &params![person, i64::from(active)])?;
    if !active {
        end_everywhere(c, person, now)?;
    }
    Ok(())
}

/// Ends every login of a person: refresh-token families and console sessions.
pub fn end_everywhere(c: &mut dyn Conn, person: Id, now: i64) -> Result<(), DbError> {
    revoke_person(c, person, now)?;
    c.execute(
        "UPDATE web_sessions SET ended_ms = $2 WHERE person_id = $1 AND ended_ms IS NULL",
        &params![person, now],
    )?;
    Ok(())
}

/// Ends one role assignment at `now`, keeping its row (history for `audit verify`);
/// whether there was a live one.
pub fn remove_role(c: &mut dyn Conn, person: Id, role: &Role, now: i64) -> Result<bool, DbError> {
    let (kind, site, dept) = role_columns(role);
    let n = c.execute(
        "UPDATE role_assignments SET removed_ms = $5 WHERE person_id = $1 AND role = $2
             AND COALESCE(site_id, '') = COALESCE($3, '') AND COALESCE(department_id, '') = COALESCE($4, '')
             AND removed_ms IS NULL",
        &params![person, kind, site, dept, now],
    )?;
    Ok(n > 0)
}

/// Ends the person's logins on every device but `keep` (a changed password).
pub fn revoke_other_devices(c: &mut dyn Conn, person: Id, keep: Id, now: i64) -> Result<u64, DbError> {
    c.execute(
        "UPDATE refresh_tokens SET revoked_ms = $2 WHERE person_id = $1 AND device_id <> $3 AND revoked_ms IS NULL",
        &params![person, now, keep],
    )
}

/// Ends every login of a person (deactivation, password reset).
pub fn revoke_person(c: &mut dyn Conn, person: Id, now: i64) -> Result<u64, DbError> {
    c.execute(
        "UPDATE refresh_tokens SET revoked_ms = $2 WHERE person_id = $1 AND revoked_ms IS NULL",
        &params![person, now],
    )
}
