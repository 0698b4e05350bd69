//! How the apps call `sync`: from a background worker and the "sync now" button at the
//! same time, and cancelled (the person leaves the screen, the OS stops the worker).
//! Whatever the calls, the server ends with every record once, every photo by hash
//! and numbers without gaps.

use std::sync::Arc;

use patrol_core::Core;
use patrol_core::sync::{SyncCancel, SyncListener, SyncPhase, SyncProgress};
use patrol_e2e::*;
use patrol_protocol::DepartmentKind;

/// Cancels the sync as soon as it reaches the photos.
struct CancelAtPhotos(Arc<SyncCancel>);
impl SyncListener for CancelAtPhotos {
    fn on_progress(&self, p: SyncProgress) {
        if p.phase == SyncPhase::Photos {
            self.0.cancel();
        }
    }
}

fn server_counts(server: &Server, core: &Core) -> (i64, i64, i64) {
    let device = core.device_id();
    let url = &server.database_url;
    (
        count(url, &format!("SELECT COUNT(*) FROM records WHERE device_id = '{device}'")),
        count(url, &format!("SELECT COUNT(DISTINCT seq) FROM records WHERE device_id = '{device}'")),
        count(url, "SELECT COUNT(*) FROM photos WHERE complete = 1"),
    )
}

#[test]
fn cancelled_and_simultaneous_syncs_lose_and_double_nothing() {
    let data = TempDir::new("sync-calls");
    let Some(url) = database_url(Backend::Sqlite, &data) else { return };
    let server = Server::start(&url, &data.0.join("data"));
    let dir = TempDir::new("sync-calls-phone");
    let core = Arc::new(phone(&dir.0));
    core.login(&server.url(), "patrol", &server.password("patrol")).unwrap();
    core.sync(None, None).unwrap();
    let start = server_counts(&server, &core);

    // Cancelled before it starts: nothing is sent, everything stays queued.
    for i in 0..3 {
        raise_with_photo(&core, DepartmentKind::Cleaning, i);
    }
    let queued = core.sync_state().unwrap().queued_records;
    assert!(queued >= 6, "photo and notice records of three findings: {queued}");
    let cancel = SyncCancel::new();
    cancel.cancel();
    let report = core.sync(None, Some(&*cancel)).unwrap();
    assert!(report.cancelled);
    assert_eq!((report.records_sent, report.photos_sent), (0, 0), "{report:?}");
    assert_eq!(core.sync_state().unwrap().queued_records, queued);
    assert_eq!(server_counts(&server, &core), start, "the server saw nothing");

    // Cancelled when the photos begin: the records are up, the photos wait.
    let cancel = SyncCancel::new();
    let listener = CancelAtPhotos(cancel.clone());
    let report = core.sync(Some(&listener as &dyn SyncListener), Some(&*cancel)).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.records_sent, queued, "{report:?}");
    assert_eq!(report.photos_sent, 0, "{report:?}");
    let st = core.sync_state().unwrap();
    assert_eq!((st.queued_records, st.queued_photos), (0, 3), "{st:?}");

    // Two syncs at once (the worker and the button) on more work: they take turns,
    // and between them send everything exactly once.
    for i in 3..6 {
        raise_with_photo(&core, DepartmentKind::Engineering, i);
    }
    let more = core.sync_state().unwrap().queued_records;
    let (a, b) = (core.clone(), core.clone());
    let ta = std::thread::spawn(move || a.sync(None, None).unwrap());
    let tb = std::thread::spawn(move || b.sync(None, None).unwrap());
    let (ra, rb) = (ta.join().unwrap(), tb.join().unwrap());
    assert_eq!(ra.records_sent + rb.records_sent, more, "{ra:?} {rb:?}");
    assert_eq!(ra.photos_sent + rb.photos_sent, 6, "the three waiting photos and three new ones: {ra:?} {rb:?}");
    let st = core.sync_state().unwrap();
    assert_eq!((st.queued_records, st.queued_photos, st.last_error.as_deref()), (0, 0, None), "{st:?}");

    check_server_holds_everything_once(&server, &core, 6);
    for id in core.list_notices(10).unwrap() {
        assert!(id.number.is_some(), "every notice numbered on the phone too");
    }
}
