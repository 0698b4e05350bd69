//! The domain model of DOMAIN.md: organisations, sites, departments, people, roles,
//! checkpoints, routes and schedules, as the server stores and the phone receives them.

use serde::{Deserialize, Serialize};

use crate::Id;
use crate::reason::Reason;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Organisation {
    pub id: Id,
    pub name: String,
}

/// A compound or building the company manages (在管楼盘 / 小区 / 项目).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Site {
    pub id: Id,
    pub org_id: Id,
    /// Short upper-case code used in notice numbers, e.g. `JY` in `JY-2026-000123`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Offset of the site's local time from UTC in minutes (China: +480). Sites in
    /// regions with daylight saving are out of scope for now; see docs/architecture.md.
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DepartmentKind {
    /// 客服部
    CustomerService,
    /// 工程部
    Engineering,
    /// 保洁部
    Cleaning,
    /// 秩序维护部 (安保)
    Security,
    /// 绿化部
    Landscaping,
    /// 行政部 (质检)
    Administration,
    Other,
}

impl DepartmentKind {
    pub const ALL: [DepartmentKind; 7] = [
        Self::CustomerService,
        Self::Engineering,
        Self::Cleaning,
        Self::Security,
        Self::Landscaping,
        Self::Administration,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerService => "customer_service",
            Self::Engineering => "engineering",
            Self::Cleaning => "cleaning",
            Self::Security => "security",
            Self::Landscaping => "landscaping",
            Self::Administration => "administration",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::CustomerService => "客服部",
            Self::Engineering => "工程部",
            Self::Cleaning => "保洁部",
            Self::Security => "秩序维护部",
            Self::Landscaping => "绿化部",
            Self::Administration => "行政部",
            Self::Other => "其他",
        }
    }
}

/// A department of one site's service centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Department {
    pub id: Id,
    pub site_id: Id,
    pub kind: DepartmentKind,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Person {
    pub id: Id,
    pub org_id: Id,
    pub login: String,
    pub display_name: String,
    pub active: bool,
}

/// What a person may do, and where. A person may hold several assignments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "role", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// 客服人员 / 房管员 / 楼宇助理: walks the routes of a site.
    PatrolStaff { site_id: Id },
    /// 部门负责人 of one department at one site.
    DepartmentHead { site_id: Id, department_id: Id },
    /// 员工 of one department at one site (a technician, a cleaner, a guard): their
    /// department's head there is their direct superior.
    DepartmentStaff { site_id: Id, department_id: Id },
    /// 主管 / 经理 of one site.
    SiteSupervisor { site_id: Id },
    /// Supervisor over every site of the organisation (管理处经理 and above).
    OrgSupervisor,
    /// Sets up sites, departments, people, checkpoints, routes and schedules.
    Administrator,
}

impl Role {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Role::PatrolStaff { .. } => "patrol_staff",
            Role::DepartmentStaff { .. } => "department_staff",
            Role::DepartmentHead { .. } => "department_head",
            Role::SiteSupervisor { .. } => "site_supervisor",
            Role::OrgSupervisor => "org_supervisor",
            Role::Administrator => "administrator",
        }
    }

    pub fn site_id(&self) -> Option<Id> {
        match self {
            Role::PatrolStaff { site_id }
            | Role::DepartmentHead { site_id, .. }
            | Role::DepartmentStaff { site_id, .. }
            | Role::SiteSupervisor { site_id } => Some(*site_id),
            Role::OrgSupervisor | Role::Administrator => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RoleAssignment {
    pub person_id: Id,
    pub role: Role,
}

/// One line of a checkpoint's checklist ("灯具是否完好").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChecklistItem {
    pub id: Id,
    pub text_zh: String,
    pub text_en: String,
}

/// A place on a route that must be proven visited (重点部位).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Checkpoint {
    pub id: Id,
    pub site_id: Id,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: f64,
    /// The secret printed in the checkpoint's QR label. Only the server and the
    /// administrators who print labels hold it: phones receive it empty and check a
    /// scan against `qr_digest` instead (docs/audit.md, "Checkpoint codes").
    pub qr_token: String,
    /// `qr_digest(id, qr_token)`: proves a scanned label offline without being able
    /// to make one.
    #[serde(default)]
    pub qr_digest: String,
    pub nfc_tag_id: Option<String>,
    /// Responsible department by default for findings here (may be overridden).
    pub checklist: Vec<ChecklistItem>,
}

/// An ordered walk through checkpoints of one site (巡检线路).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Route {
    pub id: Id,
    pub site_id: Id,
    pub name_zh: String,
    pub name_en: String,
    pub checkpoint_ids: Vec<Id>,
}

/// A window of the day in site-local time during which `runs` patrols are expected.
/// A night window may cross midnight: 23:00–01:00 is `start_minute` 1380,
/// `end_minute` 60, and belongs to the day it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeWindow {
    /// Minutes after local midnight, below 1440.
    pub start_minute: u32,
    /// Minutes after local midnight, at most 1440: greater than `start_minute` for a
    /// window within the day, smaller for one that ends on the next day.
    pub end_minute: u32,
    pub runs: u32,
}

impl TimeWindow {
    /// The window ends on the next day (23:00–01:00).
    pub fn crosses_midnight(&self) -> bool {
        self.end_minute < self.start_minute
    }

    /// Minutes from the midnight starting the window's day to its end: past 1440 when
    /// it ends on the next day (23:00–01:00 ends at 1500).
    pub fn end_offset_minutes(&self) -> u32 {
        if self.crosses_midnight() { self.end_minute + 1440 } else { self.end_minute }
    }
}

/// When a route must be walked (日常 2 次/天 …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Schedule {
    pub id: Id,
    pub route_id: Id,
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
}

/// Why a piece of reference data is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: Reason,
}

fn field(field: &'static str, reason: Reason) -> FieldError {
    FieldError { field, reason }
}

/// Checks a human-entered text: trimmed non-empty (when required) and bounded.
pub fn check_text(name: &'static str, value: &str, max: usize, required: bool) -> Result<(), FieldError> {
    if required && value.trim().is_empty() {
        return Err(field(name, Reason::Required));
    }
    if value.chars().count() > max {
        return Err(field(name, Reason::TooLong { max }));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(field(name, Reason::ControlCharacters));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A site code: 1–8 upper-case ASCII letters or digits, since it is printed in numbers.
pub fn check_site_code(code: &str) -> Result<(), FieldError> {
    let ok = (1..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok { Ok(()) } else { Err(field("code", Reason::SiteCode)) }
}

/// The one-way image of a checkpoint's QR secret that phones hold: SHA-256 over a
/// domain tag, the checkpoint id and the scanned text, hex. Matching it proves the
/// scanned label is the checkpoint's; knowing it does not let anyone print one.
pub fn qr_digest(checkpoint_id: Id, token: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"patrol qr label v1\0");
    h.update(checkpoint_id.as_bytes());
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

impl Checkpoint {
    /// The checkpoint as a phone (or anyone who does not print labels) receives it:
    /// the QR secret replaced by its digest. Every path that hands checkpoints to
    /// such a reader goes through here.
    pub fn without_secret(mut self) -> Checkpoint {
        if !self.qr_token.is_empty() {
            self.qr_digest = qr_digest(self.id, &self.qr_token);
        }
        self.qr_token = String::new();
        self
    }

    /// Whether `scanned` is this checkpoint's label: against the digest when the
    /// secret is withheld, else against the secret itself (the server's side).
    pub fn label_matches(&self, scanned: &str) -> bool {
        if !self.qr_token.is_empty() {
            return constant_time_eq(self.qr_token.as_bytes(), scanned.as_bytes());
        }
        !self.qr_digest.is_empty() && qr_digest(self.id, scanned) == self.qr_digest
    }

    pub fn validate(&self) -> Result<(), FieldError> {
        use crate::limits::*;
        check_text("code", &self.code, CODE_MAX, true)?;
        check_text("name_zh", &self.name_zh, NAME_MAX, true)?;
        check_text("name_en", &self.name_en, NAME_MAX, false)?;
        if !(-90.0..=90.0).contains(&self.latitude) {
            return Err(field("latitude", Reason::OutOfRange { min: -90.0, max: 90.0 }));
        }
        if !(-180.0..=180.0).contains(&self.longitude) {
            return Err(field("longitude", Reason::OutOfRange { min: -180.0, max: 180.0 }));
        }
        if !(1.0..=5000.0).contains(&self.radius_m) {
            return Err(field("radius_m", Reason::OutOfRange { min: 1.0, max: 5000.0 }));
        }
        if self.qr_token.is_empty() {
            // A reader's copy: the digest stands in for the withheld secret.
            if self.qr_digest.len() != 64 || !self.qr_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(field("qr_digest", Reason::QrDigest));
            }
        } else if self.qr_token.len() < 8 || self.qr_token.len() > 128 {
            return Err(field("qr_token", Reason::LengthBetween { min: 8, max: 128 }));
        }
        if let Some(tag) = &self.nfc_tag_id {
            check_text("nfc_tag_id", tag, 64, true)?;
        }
        if self.checklist.len() > CHECKLIST_MAX {
            return Err(field("checklist", Reason::TooMany { max: CHECKLIST_MAX }));
        }
        for item in &self.checklist {
            check_text("checklist.text_zh", &item.text_zh, NAME_MAX, true)?;
            check_text("checklist.text_en", &item.text_en, NAME_MAX, false)?;
        }
        Ok(())
    }
}

impl Schedule {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.days_of_week.is_empty() || self.days_of_week.iter().any(|d| !(1..=7).contains(d)) {
            return Err(field("days_of_week", Reason::Weekdays));
        }
        if self.windows.is_empty() || self.windows.len() > 24 {
            return Err(field("windows", Reason::CountBetween { min: 1, max: 24 }));
        }
        for w in &self.windows {
            // An end before the start is on the next day; an end equal to it is nothing.
            if w.start_minute >= 1440 || w.end_minute > 1440 || w.start_minute == w.end_minute {
                return Err(field("windows", Reason::WindowSpan));
            }
            if !(1..=24).contains(&w.runs) {
                return Err(field("windows.runs", Reason::OutOfRange { min: 1.0, max: 24.0 }));
            }
        }
        Ok(())
    }
}

/// NFC ids arrive as "04:A2:…", "04a2…" or "04-A2-…" depending on the platform; phone
/// and server compare them in this one spelling.
pub fn normalise_nfc_tag(tag: &str) -> String {
    tag.chars().filter(|c| !matches!(c, ':' | '-' | ' ')).flat_map(char::to_uppercase).collect()
}

/// Great-circle distance in metres (haversine; plenty for checkpoint radii).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_of_one_thousandth_degree_latitude_is_about_111_metres() {
        let d = distance_m(31.0, 121.0, 31.001, 121.0);
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }

    #[test]
    fn site_codes_are_short_upper_case() {
        assert!(check_site_code("JY").is_ok());
        assert!(check_site_code("jy").is_err());
        assert!(check_site_code("").is_err());
        assert!(check_site_code("ABCDEFGHI").is_err());
        assert!(check_site_code("J-Y").is_err());
    }

    #[test]
    fn a_schedule_window_is_shorter_than_a_day_and_may_cross_midnight() {
        let mut s = Schedule {
            id: Id::nil(),
            route_id: Id::nil(),
            days_of_week: vec![1, 2, 3, 4, 5, 6, 7],
            windows: vec![TimeWindow { start_minute: 480, end_minute: 600, runs: 1 }],
        };
        assert!(s.validate().is_ok());
        s.windows[0].end_minute = 1500;
        assert_eq!(s.validate().unwrap_err().field, "windows");
        s.windows[0].end_minute = 480;
        assert_eq!(s.validate().unwrap_err().field, "windows", "an empty window");
        // 23:00–01:00: ends on the next day.
        s.windows[0] = TimeWindow { start_minute: 1380, end_minute: 60, runs: 1 };
        assert!(s.validate().is_ok());
        assert!(s.windows[0].crosses_midnight());
        assert_eq!(s.windows[0].end_offset_minutes(), 1500);
        s.windows[0].start_minute = 1440;
        assert_eq!(s.validate().unwrap_err().field, "windows", "a start at 24:00 is the next day's 00:00");
        s.windows[0] = TimeWindow { start_minute: 480, end_minute: 600, runs: 1 };
        assert!(!s.windows[0].crosses_midnight());
        assert_eq!(s.windows[0].end_offset_minutes(), 600);
        s.days_of_week = vec![0];
        assert_eq!(s.validate().unwrap_err().field, "days_of_week");
    }
}
