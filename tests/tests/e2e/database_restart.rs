//! PostgreSQL restarted (immediate shutdown: connections cut, no checkpoint) while
//! phones push and upload: the server reconnects, the phones retry, and afterwards
//! every record is there once, every photo by hash, and the numbers have no gaps.

use std::time::Duration;

use patrol_e2e::*;
use patrol_protocol::DepartmentKind;

#[test]
fn postgres_restarted_during_pushes() {
    let Some(pg) = OwnPostgres::start() else { return };
    let data = TempDir::new("pg-restart");
    let mut server = Server::start(&pg.url(), &data.0.join("data"));
    let phone_dir = TempDir::new("pg-restart-phone");
    let core = std::sync::Arc::new(phone(&phone_dir.0));
    core.login(&server.url(), "patrol", &server.password("patrol")).unwrap();
    core.sync(None, None).unwrap();
    let mut notices = 0;
    let restarts = 5;
    let mut failed = 0;
    for round in 0..restarts {
        for _ in 0..4 {
            raise_with_photo(&core, DepartmentKind::Security, notices);
            notices += 1;
        }
        let c = core.clone();
        let syncing = std::thread::spawn(move || c.sync(None, None).is_ok());
        std::thread::sleep(Duration::from_millis(15));
        pg.restart();
        if !syncing.join().unwrap() {
            failed += 1;
        }
        // Until the database is back, the phone is answered with errors and retries.
        let mut tries = 0;
        while core.sync(None, None).is_err() || core.sync_state().unwrap().queued_records > 0 {
            tries += 1;
            assert!(tries < 100, "round {round}: the phone never got through");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!(
        "restarted PostgreSQL {restarts} times (immediate) during syncs; {failed} syncs were cut; {notices} notices with photos"
    );
    let url = &pg.url();
    let device = core.device_id();
    let last = core.queue_status().unwrap().last_seq as i64;
    assert_eq!(count(url, &format!("SELECT COUNT(*) FROM records WHERE device_id = '{device}'")), last);
    let year = site_year();
    let numbers = texts(url, "SELECT number FROM notices ORDER BY counter");
    assert_eq!(numbers, (1..=notices).map(|n| format!("JY-{year}-{n:06}")).collect::<Vec<_>>());
    assert_eq!(count(url, "SELECT COUNT(*) FROM photos WHERE complete = 0"), 0);
    // The server is still the same process: it reconnected by itself.
    let desk = Desk::sign_in(&server.url(), "supervisor", &server.password("supervisor"));
    assert_eq!(desk.get("/readyz").0, 200);
    server.kill();
    println!("checked: every record once, numbers 1..{notices}, every photo complete, the server reconnected");
}
