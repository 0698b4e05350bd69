//! The object the apps hold: `PatrolCore`, a thin uniffi wrapper that forwards to the
//! inner `Core` and turns its errors into `PatrolError`. Nothing else lives here.

use std::sync::Arc;

use patrol_protocol::fault::{AppealDecision, FaultAction, FaultRule, FaultView};
use patrol_protocol::notice::{NoticeAction, NoticeState};
use patrol_protocol::record::{ItemOutcome, TrackPoint};
use patrol_protocol::{Checkpoint, Department, Id, Mark, Record, Route, Site};

use crate::core::{Core, CoreConfig, QueueStatus, SignedInPerson};
use crate::error::PatrolError;
use crate::faults::{FaultDraft, FaultMonth};
use crate::notices::{NoticeDraft, NoticeView};
use crate::patrols::plan::PlannedRun;
use crate::patrols::{CheckInMethod, RunDetail, RunListItem, RunSummary, Visit};
use crate::photos::{PhotoInput, StoredPhoto};
use crate::reference::ReferenceCounts;
use crate::sync::{RejectionLine, SyncCancel, SyncListener, SyncReport, SyncState};

type R<T> = Result<T, PatrolError>;

#[derive(uniffi::Object)]
pub struct PatrolCore {
    inner: Core,
}

impl PatrolCore {
    /// The inner core, for Rust callers (the CLI, tests) that want plain `Result`s.
    pub fn inner(&self) -> &Core {
        &self.inner
    }
}

#[uniffi::export]
impl PatrolCore {
    #[uniffi::constructor]
    pub fn open(config: CoreConfig) -> R<Arc<Self>> {
        crate::error::register_ffi_errors();
        Ok(Arc::new(PatrolCore { inner: Core::open(config)? }))
    }

    pub fn device_id(&self) -> Id {
        self.inner.device_id()
    }
    pub fn sign_in_locally(&self, person: SignedInPerson) -> R<()> {
        Ok(self.inner.sign_in_locally(person)?)
    }
    pub fn sign_out_locally(&self) -> R<()> {
        Ok(self.inner.sign_out_locally()?)
    }
    pub fn signed_in_person(&self) -> R<Option<SignedInPerson>> {
        Ok(self.inner.signed_in()?)
    }

    pub fn load_reference_json(&self, bundle_json: String) -> R<ReferenceCounts> {
        Ok(self.inner.load_reference_json(&bundle_json)?)
    }
    pub fn sites(&self) -> R<Vec<Site>> {
        Ok(self.inner.sites()?)
    }
    pub fn departments(&self, site_id: Id) -> R<Vec<Department>> {
        Ok(self.inner.departments(site_id)?)
    }
    pub fn routes(&self, site_id: Id) -> R<Vec<Route>> {
        Ok(self.inner.routes(site_id)?)
    }
    pub fn route_checkpoints(&self, route_id: Id) -> R<Vec<Checkpoint>> {
        Ok(self.inner.route_checkpoints(route_id)?)
    }

    pub fn today_plan(&self) -> R<Vec<PlannedRun>> {
        Ok(self.inner.today_plan()?)
    }
    pub fn start_run(&self, route_id: Id) -> R<RunDetail> {
        Ok(self.inner.start_run(route_id)?)
    }
    pub fn check_in(&self, run_id: Id, checkpoint_id: Id, method: CheckInMethod) -> R<Visit> {
        Ok(self.inner.check_in(run_id, checkpoint_id, method)?)
    }
    pub fn record_item(&self, run_id: Id, checkpoint_id: Id, item_id: Id, outcome: ItemOutcome, note: String) -> R<()> {
        Ok(self.inner.record_item(run_id, checkpoint_id, item_id, outcome, &note)?)
    }
    pub fn append_track_points(&self, run_id: Id, points: Vec<TrackPoint>) -> R<u64> {
        Ok(self.inner.append_track_points(run_id, points)?)
    }
    pub fn finish_run(&self, run_id: Id, missed_reason: Option<String>) -> R<RunSummary> {
        Ok(self.inner.finish_run(run_id, missed_reason)?)
    }
    pub fn list_runs(&self, limit: u32) -> R<Vec<RunListItem>> {
        Ok(self.inner.list_runs(limit)?)
    }
    pub fn run_detail(&self, run_id: Id) -> R<RunDetail> {
        Ok(self.inner.run_detail(run_id)?)
    }
    pub fn track_points(&self, run_id: Id) -> R<Vec<TrackPoint>> {
        Ok(self.inner.track_points(run_id)?)
    }

    pub fn add_photo(&self, input: PhotoInput) -> R<StoredPhoto> {
        Ok(self.inner.add_photo(input)?)
    }

    /// Records a markup layer over a photo of this phone (the whole layer; an empty
    /// list clears it). The photo itself is never changed. Returns the record's id.
    pub fn mark_photo(&self, sha256: String, marks: Vec<Mark>) -> R<Id> {
        Ok(self.inner.mark_photo(&sha256, marks)?)
    }

    /// The markup layer shown over a photo (the newest; empty if none).
    pub fn photo_marks(&self, sha256: String) -> R<Vec<Mark>> {
        Ok(self.inner.photo_marks(&sha256)?)
    }

    pub fn create_notice(&self, draft: NoticeDraft) -> R<NoticeView> {
        Ok(self.inner.create_notice(draft)?)
    }
    pub fn act_on_notice(
        &self,
        notice_id: Id,
        action: NoticeAction,
        reason: String,
        photos: Vec<String>,
        reassign_to: Option<Id>,
    ) -> R<NoticeView> {
        Ok(self.inner.act_on_notice(notice_id, action, &reason, photos, reassign_to)?)
    }
    pub fn notice(&self, notice_id: Id) -> R<NoticeView> {
        Ok(self.inner.notice(notice_id)?)
    }
    pub fn list_notices(&self, limit: u32) -> R<Vec<NoticeView>> {
        Ok(self.inner.list_notices(limit)?)
    }

    /// The organisation's assessment rules in force (from the last sync), by code.
    pub fn fault_rules(&self) -> R<Vec<FaultRule>> {
        Ok(self.inner.fault_rules()?)
    }
    /// Issues a staff fault notice offline; the server numbers it on the next sync.
    /// Returns its id.
    pub fn issue_fault(&self, draft: FaultDraft) -> R<Id> {
        Ok(self.inner.issue_fault(draft)?)
    }
    /// Sign for, refuse or appeal (the person named), or void (a supervisor).
    pub fn act_on_fault(&self, fault_id: Id, action: FaultAction, reason: String) -> R<()> {
        Ok(self.inner.act_on_fault(fault_id, action, &reason)?)
    }
    /// Decides an appeal; `points` is what remains when reduced (ignored otherwise).
    pub fn decide_appeal(&self, fault_id: Id, decision: AppealDecision, points: u32, reason: String) -> R<()> {
        Ok(self.inner.decide_appeal(fault_id, decision, points, &reason)?)
    }
    pub fn fault(&self, fault_id: Id) -> R<FaultView> {
        Ok(self.inner.fault(fault_id)?)
    }
    /// Fault notices on this phone, of one month (YYYY-MM) or all, newest first.
    pub fn list_faults(&self, month: Option<String>, limit: u32) -> R<Vec<FaultView>> {
        Ok(self.inner.list_faults(month, limit)?)
    }
    /// The signed-in person's month: notices counted, points, open appeals.
    pub fn my_fault_month(&self, month: String) -> R<FaultMonth> {
        Ok(self.inner.my_fault_month(&month)?)
    }

    pub fn queue_status(&self) -> R<QueueStatus> {
        Ok(self.inner.queue_status()?)
    }
    pub fn records_after(&self, seq: u64, limit: u32) -> R<Vec<Record>> {
        Ok(self.inner.records_after(seq, limit)?)
    }
    pub fn verify_log(&self) -> R<u64> {
        Ok(self.inner.verify_log()?)
    }

    /// Re-encrypts the store with `new_key` (32 bytes). Keep the old key until this
    /// returns: a kill before the end leaves the store under the old key. Blocks every
    /// other call while it copies the store: call it off the UI thread.
    pub fn rekey_store(&self, new_key: Vec<u8>) -> R<()> {
        Ok(self.inner.rekey_store(&new_key)?)
    }

    /// Signs in on the server; blocks on the network: call it off the UI thread.
    pub fn login(&self, server_url: String, login: String, password: String) -> R<SignedInPerson> {
        Ok(self.inner.login(&server_url, &login, &password)?)
    }
    /// Changes the signed-in person's password (required first after a reset).
    pub fn change_password(&self, current_password: String, new_password: String) -> R<()> {
        Ok(self.inner.change_password(&current_password, &new_password)?)
    }
    pub fn logout(&self) -> R<()> {
        Ok(self.inner.logout()?)
    }
    /// Push, photo uploads, pull. Blocks on the network: call it from a background
    /// thread (WorkManager, BGTaskScheduler). Safe to call repeatedly and concurrently.
    pub fn sync(&self, listener: Option<Arc<dyn SyncListener>>, cancel: Option<Arc<SyncCancel>>) -> R<SyncReport> {
        Ok(self.inner.sync(listener.as_deref(), cancel.as_deref())?)
    }
    pub fn sync_state(&self) -> R<SyncState> {
        Ok(self.inner.sync_state()?)
    }
    pub fn rejections(&self, limit: u32) -> R<Vec<RejectionLine>> {
        Ok(self.inner.rejections(limit)?)
    }
}

/// The Chinese name of a notice state, for lists that only hold the state.
/// Whether a scanned QR text is `checkpoint`'s label. Phones hold only the label's
/// digest, so apps ask here instead of comparing texts.
#[uniffi::export]
pub fn qr_label_matches(checkpoint: Checkpoint, payload: String) -> bool {
    crate::error::register_ffi_errors();
    checkpoint.label_matches(payload.trim())
}

#[uniffi::export]
pub fn notice_state_name_zh(state: NoticeState) -> String {
    state.name_zh().to_string()
}
