//! Wire types of the sync protocol (docs/sync-protocol.md): push, pull, photo upload
//! status, and the views of notices and runs that clients receive.

use serde::{Deserialize, Serialize};

use crate::notice::{NoticeAction, NoticeState, Severity};
use crate::record::Record;
use crate::{Checkpoint, Department, Id, Route, Schedule, Site};

pub const MAX_PUSH_RECORDS: usize = 500;
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_PULL_LIMIT: u32 = 500;
pub const PHOTO_CHUNK_MAX: usize = 1024 * 1024;
pub const PHOTO_MAX_BYTES: u64 = 15 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: Id,
    /// The device's clock when it sent the request.
    pub sent_at_ms: i64,
    pub records: Vec<Record>,
    /// What anchors the device's clock to the server's: a time the server gave out
    /// and the phone's monotonic time since (docs/audit.md, "Device clocks").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockEvidence>,
}

/// The server's own time, as it signed it in an earlier answer (`time_token`), and
/// how long the phone's monotonic clock says has passed since it received that
/// answer. The server trusts its own time and bounds the elapsed time by its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClockEvidence {
    pub time_token: String,
    pub elapsed_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Applied,
    Rejected,
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RecordOutcome {
    pub record_id: Id,
    pub seq: u64,
    pub status: RecordStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushResponse {
    pub acked_seq: u64,
    pub acked_hash: String,
    pub server_time_ms: i64,
    /// `server_time_ms` signed for this device, to be returned as [`ClockEvidence`].
    #[serde(default)]
    pub time_token: String,
    pub results: Vec<RecordOutcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SyncStatus {
    pub acked_seq: u64,
    pub acked_hash: String,
    pub server_time_ms: i64,
    /// `server_time_ms` signed for this device, to be returned as [`ClockEvidence`].
    #[serde(default)]
    pub time_token: String,
}

/// A person as others see them: a name, no contact details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PersonName {
    pub id: Id,
    pub display_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReferenceBundle {
    pub sites: Vec<Site>,
    pub departments: Vec<Department>,
    pub checkpoints: Vec<Checkpoint>,
    pub routes: Vec<Route>,
    pub schedules: Vec<Schedule>,
    pub people: Vec<PersonName>,
    /// The organisation's assessment rules in force (for fault notices issued offline).
    #[serde(default)]
    pub fault_rules: Vec<crate::fault::FaultRule>,
}

/// One entry of a notice's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NoticeEvent {
    pub record_id: Id,
    /// `raised` or an action name.
    pub action: String,
    pub actor_id: Id,
    pub actor_name: String,
    pub reason: String,
    pub photos: Vec<String>,
    pub reassign_to: Option<Id>,
    pub from_state: Option<NoticeState>,
    pub to_state: Option<NoticeState>,
    pub applied: bool,
    pub refusal: Option<String>,
    pub device_time_ms: i64,
    pub server_time_ms: i64,
    /// Hash of the notice's view as it stood when this event was applied.
    pub notice_hash: String,
}

/// A rectification notice as people see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NoticeView {
    pub id: Id,
    /// `JY-2026-000123`; set by the server when it first receives the notice.
    pub number: Option<String>,
    pub site_id: Id,
    pub department_id: Id,
    pub checkpoint_id: Option<Id>,
    pub run_id: Option<Id>,
    pub location: String,
    pub description: String,
    pub severity: Severity,
    /// The effective due time: the issuer's, capped by the site's default for the
    /// severity counted from when the server received the notice.
    pub due_ms: i64,
    /// The due time the issuer's phone asked for (absent on notices from before).
    #[serde(default)]
    pub requested_due_ms: Option<i64>,
    pub state: NoticeState,
    pub issuer_id: Id,
    pub issuer_name: String,
    pub raised_device_ms: i64,
    pub received_ms: i64,
    pub has_corrective_action: bool,
    pub photos: Vec<String>,
    pub after_photos: Vec<String>,
    /// Every photo cited has reached the server.
    pub photos_complete: bool,
    pub events: Vec<NoticeEvent>,
}

impl NoticeView {
    /// Open and past its due time, by the given (server-trusted) clock.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.state.is_open() && now_ms > self.due_ms
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Rejection {
    pub record_id: Id,
    pub seq: u64,
    pub kind: String,
    pub reason: String,
    pub reason_zh: String,
    pub notice_id: Option<Id>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PullResponse {
    pub cursor: String,
    pub more: bool,
    pub server_time_ms: i64,
    pub reference: Option<ReferenceBundle>,
    pub notices: Vec<NoticeView>,
    pub rejections: Vec<Rejection>,
    /// In-app messages for the caller (reminders, escalations, missed patrols).
    #[serde(default)]
    pub notifications: Vec<InAppNotification>,
    /// Fault notices of the caller, those they issued and those whose appeal they are
    /// to decide, that changed in this page.
    #[serde(default)]
    pub faults: Vec<crate::fault::FaultView>,
}

/// A message the server sent one person in the app, in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InAppNotification {
    pub id: Id,
    /// `notice_reminder`, `notice_overdue`, `notice_escalated`, `notice_not_delivered`,
    /// `run_missed`, `waiver_requested`, `waiver_decided`.
    pub event: String,
    pub site_id: Option<Id>,
    pub notice_id: Option<Id>,
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PhotoStatus {
    pub sha256: String,
    pub size: u64,
    pub received: u64,
    pub complete: bool,
}

/// An action on a notice through the JSON API (web console, scripts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NoticeActionRequest {
    pub action: NoticeAction,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub reassign_to: Option<Id>,
    /// For `verify_fail` (a second rectification): the new due time (capped by the
    /// site's limit).
    #[serde(default)]
    pub new_due_ms: Option<i64>,
    /// For `close_with_points`: who is issued the fault notice, for which rule; the
    /// action's reason is what the fault notice says was seen.
    #[serde(default)]
    pub fault: Option<crate::fault::ClosingFault>,
}

/// One checkpoint visit of a run, as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VisitView {
    pub visit_id: Id,
    pub checkpoint_id: Id,
    pub method: String,
    pub device_time_ms: i64,
    pub received_ms: i64,
    pub out_of_order: bool,
    pub problems: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunView {
    pub run_id: Id,
    pub site_id: Id,
    pub route_id: Id,
    pub person_id: Id,
    pub person_name: String,
    pub started_device_ms: i64,
    pub finished_device_ms: Option<i64>,
    pub received_ms: i64,
    pub missed_reason: Option<String>,
    pub visits: Vec<VisitView>,
    pub missed_checkpoints: Vec<Id>,
    pub out_of_order: u32,
    pub track_points: u32,
    pub photos: Vec<String>,
    pub photos_complete: bool,
    /// Finished, and every photo it cites has arrived.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DailyLogSignature {
    pub person_id: Id,
    pub person_name: String,
    pub comment: String,
    pub server_time_ms: i64,
    /// Hash of the log's content as it was signed.
    pub content_hash: String,
}

/// A site's patrol log of one day (巡检记录), for the supervisor's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DailyLog {
    pub site_id: Id,
    pub day: String,
    pub expected_runs: u32,
    pub runs: Vec<RunView>,
    pub notices_raised: Vec<NoticeView>,
    pub signatures: Vec<DailyLogSignature>,
    /// Hash of runs and notices as listed, what a signature covers.
    pub content_hash: String,
}
