//! Per-site rules for time limits: notice due times by severity, reminders and
//! escalation steps, the patrol audit's grace and clock bounds, the message language.

use patrol_protocol::reason::Reason;
use serde::{Deserialize, Serialize};

use patrol_protocol::Id;
use patrol_protocol::notice::Severity;

use crate::error::DomainError;
use crate::params;
use crate::store::{Conn, DbError};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Zh,
    En,
}

/// Defaults follow the regulations in DOMAIN.md: a result is chased after 48 hours, a
/// difficult case followed up within 24.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SiteRules {
    /// Longest due time of a general notice, from when the server received it.
    pub general_due_hours: u32,
    /// Longest due time of a serious non-conformity.
    pub serious_due_hours: u32,
    /// Remind the department's heads this long before due (0: no reminder).
    pub reminder_before_hours: u32,
    /// Escalate to the site's supervisors this long after due (0: at due).
    pub supervisor_after_hours: u32,
    /// Escalate to the organisation's managers this long after due.
    pub manager_after_hours: u32,
    /// A notice not signed for this long after it was routed counts as not delivered.
    pub receipt_within_hours: u32,
    /// A run's records must reach the server before its day ends plus this grace to
    /// count on time; later, the device's word is no longer taken.
    pub audit_grace_hours: u32,
    /// A device whose clock was further off than this at the push is flagged.
    pub max_clock_offset_minutes: u32,
    /// Language of messages from this site (channels may choose their own).
    pub language: Language,
}

impl Default for SiteRules {
    fn default() -> Self {
        SiteRules {
            general_due_hours: 48,
            serious_due_hours: 24,
            reminder_before_hours: 4,
            supervisor_after_hours: 0,
            manager_after_hours: 24,
            receipt_within_hours: 4,
            audit_grace_hours: 24,
            max_clock_offset_minutes: 10,
            language: Language::Zh,
        }
    }
}

impl SiteRules {
    pub fn validate(&self) -> Result<(), DomainError> {
        let within = |field: &str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(DomainError::invalid(field, Reason::OutOfRange { min: f64::from(lo), max: f64::from(hi) }))
            }
        };
        within("general_due_hours", self.general_due_hours, 1, 720)?;
        within("serious_due_hours", self.serious_due_hours, 1, 720)?;
        within("reminder_before_hours", self.reminder_before_hours, 0, 168)?;
        within("supervisor_after_hours", self.supervisor_after_hours, 0, 720)?;
        within("manager_after_hours", self.manager_after_hours, 0, 720)?;
        within("receipt_within_hours", self.receipt_within_hours, 1, 168)?;
        within("audit_grace_hours", self.audit_grace_hours, 0, 720)?;
        within("max_clock_offset_minutes", self.max_clock_offset_minutes, 1, 720)?;
        if self.manager_after_hours < self.supervisor_after_hours {
            return Err(DomainError::invalid("manager_after_hours", Reason::ManagerBeforeSupervisor));
        }
        Ok(())
    }

    pub fn due_limit_ms(&self, severity: Severity) -> i64 {
        let hours = match severity {
            Severity::General => self.general_due_hours,
            Severity::Serious => self.serious_due_hours,
        };
        i64::from(hours) * HOUR_MS
    }

    pub fn hours_ms(hours: u32) -> i64 {
        i64::from(hours) * HOUR_MS
    }

    pub fn max_clock_offset_ms(&self) -> i64 {
        i64::from(self.max_clock_offset_minutes) * 60_000
    }
}

pub fn get(c: &mut dyn Conn, site_id: Id) -> Result<SiteRules, DbError> {
    match c.query_opt("SELECT rules_json FROM site_rules WHERE site_id = $1", &params![site_id])? {
        // Rules saved by an older version lack newer fields: `serde(default)` fills them.
        Some(r) => serde_json::from_str(&r.text(0)?).map_err(|e| DbError::Data(format!("stored site rules: {e}"))),
        None => Ok(SiteRules::default()),
    }
}

pub fn put(c: &mut dyn Conn, site_id: Id, rules: &SiteRules, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO site_rules (site_id, rules_json, updated_ms) VALUES ($1, $2, $3)
         ON CONFLICT (site_id) DO UPDATE SET rules_json = $2, updated_ms = $3",
        &params![site_id, serde_json::to_string(rules).expect("rules serialise"), now],
    )?;
    Ok(())
}
