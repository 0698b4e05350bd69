//! The organisation's catalogue of rules (考核条款) and its scale: each edit is a new
//! version, nothing is overwritten, and a fault notice keeps the version it cited.
//! Nothing here knows the regulations' figures: an organisation sets its own (the
//! demo's are the regulations').

use patrol_protocol::Id;
use patrol_protocol::fault::{FaultRule, FaultScale};
use patrol_protocol::reason::Reason;

use crate::error::{DomainError, DomainResult};
use crate::params;
use crate::policy::{Access, Actor};
use crate::store::{Conn, DbError, Row};

const RULE_COLUMNS: &str = "id, code, name_zh, name_en, points, retired, version, created_ms";

fn rule_row(r: &Row) -> Result<FaultRule, DbError> {
    Ok(FaultRule {
        id: r.uuid(0)?,
        code: r.text(1)?,
        name_zh: r.text(2)?,
        name_en: r.text(3)?,
        points: r.int(4)? as u32,
        retired: r.bool(5)?,
        version: r.int(6)? as u32,
        valid_from_ms: r.int(7)?,
    })
}

/// Every rule of the organisation as it stands, retired ones included, by code.
pub fn rules(c: &mut dyn Conn, org_id: Id) -> Result<Vec<FaultRule>, DbError> {
    c.query(
        &format!(
            "SELECT {RULE_COLUMNS} FROM fault_rules r WHERE org_id = $1
             AND version = (SELECT MAX(x.version) FROM fault_rules x WHERE x.id = r.id)
             ORDER BY code, id"
        ),
        &params![org_id],
    )?
    .iter()
    .map(rule_row)
    .collect()
}

/// One rule of the organisation as it stands.
pub fn rule(c: &mut dyn Conn, org_id: Id, id: Id) -> Result<Option<FaultRule>, DbError> {
    c.query_opt(
        &format!("SELECT {RULE_COLUMNS} FROM fault_rules WHERE id = $1 AND org_id = $2 ORDER BY version DESC LIMIT 1"),
        &params![id, org_id],
    )?
    .map(|r| rule_row(&r))
    .transpose()
}

/// A rule as it stood at one version (what a fault notice cited).
pub fn rule_version(c: &mut dyn Conn, id: Id, version: i64) -> Result<Option<FaultRule>, DbError> {
    c.query_opt(
        &format!("SELECT {RULE_COLUMNS} FROM fault_rules WHERE id = $1 AND version = $2"),
        &params![id, version],
    )?
    .map(|r| rule_row(&r))
    .transpose()
}

/// Every version of a rule, oldest first.
pub fn history(c: &mut dyn Conn, id: Id) -> Result<Vec<FaultRule>, DbError> {
    c.query(&format!("SELECT {RULE_COLUMNS} FROM fault_rules WHERE id = $1 ORDER BY version"), &params![id])?
        .iter()
        .map(rule_row)
        .collect()
}

/// What an administrator sets on a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub points: u32,
    #[serde(default)]
    pub retired: bool,
}

/// Adds a rule (`id` None) or a new version of one. Administrators only; a code is
/// one rule's among the organisation's rules in force.
pub fn save_rule(
    c: &mut dyn Conn,
    actor: &Actor,
    id: Option<Id>,
    input: &RuleInput,
    now: i64,
) -> DomainResult<FaultRule> {
    actor.require(Access::Administer)?;
    let org = actor.person.org_id;
    let (id, version) = match id {
        Some(id) => {
            let Some(old) = rule(c, org, id)? else {
                return Err(DomainError::NotFound(Reason::FaultRuleUnknown));
            };
            (id, old.version + 1)
        }
        None => (Id::now_v7(), 1),
    };
    let new = FaultRule {
        id,
        code: input.code.trim().to_string(),
        name_zh: input.name_zh.trim().to_string(),
        name_en: input.name_en.trim().to_string(),
        points: input.points,
        retired: input.retired,
        version,
        valid_from_ms: now,
    };
    new.validate().map_err(|e| DomainError::invalid(e.field, e.reason))?;
    if !new.retired && rules(c, org)?.iter().any(|r| r.id != id && !r.retired && r.code == new.code) {
        return Err(DomainError::invalid("code", Reason::AppearsTwice { what: new.code.clone() }));
    }
    insert_rule(c, org, &new, Some(actor.person.id))?;
    // Phones keep the rules to issue fault notices offline: they pull again.
    for site in crate::store::reference::list_sites(c, org)? {
        crate::sync::feed::reference_changed(c, site.id, now)?;
    }
    Ok(new)
}

/// Writes one version of a rule (set up by `save_rule`, or by the demo).
pub fn insert_rule(c: &mut dyn Conn, org: Id, r: &FaultRule, author: Option<Id>) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO fault_rules (id, version, org_id, code, name_zh, name_en, points, retired, created_ms, author_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &params![
            r.id,
            i64::from(r.version),
            org,
            &r.code,
            &r.name_zh,
            &r.name_en,
            i64::from(r.points),
            r.retired,
            r.valid_from_ms,
            author
        ],
    )?;
    Ok(())
}

/// Writes the next version of an organisation's scale (from `save_scale`, or the demo).
pub fn insert_scale(
    c: &mut dyn Conn,
    org: Id,
    scale: &FaultScale,
    author: Option<Id>,
    now: i64,
) -> Result<u32, DbError> {
    let version =
        c.query_one("SELECT COALESCE(MAX(version), 0) FROM fault_scales WHERE org_id = $1", &params![org])?.int(0)? + 1;
    c.execute(
        "INSERT INTO fault_scales (org_id, version, body_json, created_ms, author_id) VALUES ($1, $2, $3, $4, $5)",
        &params![org, version, serde_json::to_string(scale).expect("scale serialises"), now, author],
    )?;
    Ok(version as u32)
}

/// The organisation's scale in force at `at_ms` (the newest if none was yet), with
/// its version.
pub fn scale(c: &mut dyn Conn, org_id: Id, at_ms: Option<i64>) -> Result<Option<(FaultScale, u32)>, DbError> {
    let at = at_ms.unwrap_or(i64::MAX);
    let row = match c.query_opt(
        "SELECT body_json, version FROM fault_scales WHERE org_id = $1 AND created_ms <= $2
         ORDER BY version DESC LIMIT 1",
        &params![org_id, at],
    )? {
        Some(r) => Some(r),
        None => c.query_opt(
            "SELECT body_json, version FROM fault_scales WHERE org_id = $1 ORDER BY version LIMIT 1",
            &params![org_id],
        )?,
    };
    row.map(|r| {
        let body: FaultScale =
            serde_json::from_str(&r.text(0)?).map_err(|e| DbError::Data(format!("stored scale: {e}")))?;
        Ok((body, r.int(1)? as u32))
    })
    .transpose()
}

/// Every version of the organisation's scale, oldest first: (version, from, scale).
pub fn scale_history(c: &mut dyn Conn, org_id: Id) -> Result<Vec<(u32, i64, FaultScale)>, DbError> {
    c.query(
        "SELECT version, created_ms, body_json FROM fault_scales WHERE org_id = $1 ORDER BY version",
        &params![org_id],
    )?
    .iter()
    .map(|r| {
        let body = serde_json::from_str(&r.text(2)?).map_err(|e| DbError::Data(format!("stored scale: {e}")))?;
        Ok((r.int(0)? as u32, r.int(1)?, body))
    })
    .collect()
}

/// Sets the organisation's scale from now on (a new version). Administrators only.
pub fn save_scale(c: &mut dyn Conn, actor: &Actor, scale: &FaultScale, now: i64) -> DomainResult<u32> {
    actor.require(Access::Administer)?;
    scale.validate().map_err(|e| DomainError::invalid(e.field, e.reason))?;
    Ok(insert_scale(c, actor.person.org_id, scale, Some(actor.person.id), now)?)
}
