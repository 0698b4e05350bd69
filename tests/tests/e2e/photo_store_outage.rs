//! The photo store (S3) out of reach for a minute while a patrol officer keeps raising
//! notices with photos: the records are still accepted and numbered, the phone still
//! pulls its numbers, the photos wait on the phone, and every one arrives by its hash
//! once the store is back.

use std::time::{Duration, Instant};

use patrol_e2e::*;
use patrol_protocol::DepartmentKind;

#[test]
fn the_photo_store_down_for_a_minute_loses_nothing() {
    let data = TempDir::new("s3-outage");
    let Some(url) = database_url(Backend::Sqlite, &data) else { return };
    let Some(mut s3) = s3_bucket() else { return };
    // The server reaches S3 through a switch that can cut it off.
    let endpoint = s3.iter().find(|(k, _)| k == "AWS_ENDPOINT_URL").unwrap().1.clone();
    let s3_port: u16 = endpoint.trim_end_matches('/').rsplit(':').next().unwrap().parse().unwrap();
    let switch = Balancer::start(vec![s3_port]);
    for (k, v) in &mut s3 {
        if k == "AWS_ENDPOINT_URL" {
            *v = switch.url();
        }
    }
    let server = Server::start_with(&url, &data.0.join("data"), s3);
    let phone_dir = TempDir::new("s3-outage-phone");
    let core = phone(&phone_dir.0);
    core.login(&server.url(), "patrol", &server.password("patrol")).unwrap();
    core.sync(None, None).unwrap();

    let outage =
        Duration::from_secs(std::env::var("PATROL_OUTAGE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60));
    switch.set_down(true);
    let started = Instant::now();
    let mut raised = Vec::new();
    let mut syncs = 0;
    while started.elapsed() < outage {
        raised.push(raise_with_photo(&core, DepartmentKind::Engineering, raised.len()));
        let report = core.sync(None, None).expect("records and the pull go through while the photo store is down");
        syncs += 1;
        assert_eq!(report.photos_sent, 0, "no photo can be stored now");
        assert!(report.photos_deferred.is_some(), "the report says why the photos wait: {report:?}");
        let st = core.sync_state().unwrap();
        assert_eq!(st.queued_records, 0, "every record accepted during the outage");
        assert_eq!(st.queued_photos, raised.len() as u64, "the photos wait on the phone");
        assert!(st.last_error.as_deref().is_some_and(|e| e.contains("photos wait")), "{st:?}");
        for id in &raised {
            assert!(core.notice(*id).unwrap().number.is_some(), "numbered and pulled during the outage");
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let waiting = count(&url, "SELECT COUNT(*) FROM photos WHERE complete = 0");
    assert_eq!(waiting, raised.len() as i64, "the server knows every photo it still expects");
    println!(
        "injected: the photo store unreachable for {:?}; {} notices with photos raised and {syncs} syncs made meanwhile",
        started.elapsed(),
        raised.len()
    );

    switch.set_down(false);
    let report = core.sync(None, None).unwrap();
    assert_eq!(report.photos_sent, raised.len() as u64, "{report:?}");
    assert_eq!(report.photos_deferred, None);
    let st = core.sync_state().unwrap();
    assert_eq!((st.queued_records, st.queued_photos, st.last_error), (0, 0, None));
    check_server_holds_everything_once(&server, &core, raised.len());
    println!(
        "checked: every record accepted and numbered during the outage, {} photos complete by hash after it",
        raised.len()
    );
}
