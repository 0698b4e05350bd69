//! Two server instances behind a load balancer on one PostgreSQL and one shared
//! photo store: phones sync through whichever answers; one instance is killed during
//! the load and the other carries on; everything converges.

use std::time::Duration;

use patrol_e2e::*;
use patrol_protocol::DepartmentKind;

fn sync_until_clean(core: &patrol_core::Core) -> usize {
    for failures in 0..50 {
        if core.sync(None, None).is_ok() && core.sync_state().unwrap().queued_records == 0 {
            return failures;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no clean sync: {:?}", core.sync_state().unwrap());
}

#[test]
fn two_instances_on_one_postgres_and_a_shared_volume_survive_losing_one() {
    let data = TempDir::new("instances");
    let Some(url) = database_url(Backend::Postgres, &data) else { return };
    // Both instances share the data directory: the photo store is one shared volume.
    let a = Server::start(&url, &data.0.join("data"));
    let b = Server::start(&url, &data.0.join("data"));
    load_and_lose_one(url, a, b);
}

#[test]
fn two_instances_on_one_postgres_and_s3_survive_losing_one() {
    let data = TempDir::new("instances-s3");
    let Some(url) = database_url(Backend::Postgres, &data) else { return };
    let Some(s3) = s3_bucket() else { return };
    // Separate data directories: photos can only meet through the S3 store.
    let a = Server::start_with(&url, &data.0.join("a"), s3.clone());
    std::fs::copy(data.0.join("a/demo-logins.json"), {
        std::fs::create_dir_all(data.0.join("b")).unwrap();
        data.0.join("b/demo-logins.json")
    })
    .unwrap();
    let b = Server::start_with(&url, &data.0.join("b"), s3);
    load_and_lose_one(url, a, b);
}

fn load_and_lose_one(url: String, mut a: Server, b: Server) {
    let lb = Balancer::start(vec![a.port, b.port]);
    let dirs: Vec<TempDir> = (0..3).map(|i| TempDir::new(&format!("inst-phone{i}"))).collect();
    let phones: Vec<patrol_core::Core> = dirs.iter().map(|d| phone(&d.0)).collect();
    for p in &phones {
        p.login(&lb.url(), "patrol", &a.password("patrol")).unwrap();
        sync_until_clean(p);
    }
    let mut raised = 0;
    let mut failures = 0;
    for round in 0..8 {
        let killer = (round == 4).then_some(&mut a);
        std::thread::scope(|s| {
            if let Some(a) = killer {
                // While the phones are syncing.
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    a.kill();
                    println!("killed instance A (port {}) with SIGKILL during the load", a.port);
                });
            }
            let handles: Vec<_> = phones
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    s.spawn(move || {
                        raise_with_photo(p, DepartmentKind::Engineering, round * 10 + k);
                        raise_with_photo(p, DepartmentKind::Engineering, round * 10 + k + 5);
                        sync_until_clean(p)
                    })
                })
                .collect();
            for h in handles {
                failures += h.join().unwrap();
            }
        });
        raised += 2 * phones.len();
    }
    println!(
        "{raised} notices with photos from 3 phones through 2 instances; {failures} syncs failed and were retried"
    );
    let year = site_year();
    let numbers = texts(&url, "SELECT number FROM notices ORDER BY counter");
    assert_eq!(numbers, (1..=raised).map(|n| format!("JY-{year}-{n:06}")).collect::<Vec<_>>());
    for p in &phones {
        let last = p.queue_status().unwrap().last_seq as i64;
        let device = p.device_id();
        assert_eq!(count(&url, &format!("SELECT COUNT(*) FROM records WHERE device_id = '{device}'")), last);
    }
    assert_eq!(count(&url, "SELECT COUNT(*) FROM photos WHERE complete = 0"), 0);
    // Every photo is served, by hash, by the instance that is left.
    let desk = Desk::sign_in(&b.url(), "patrol", &b.password("patrol"));
    for sha in texts(&url, "SELECT sha256 FROM photos") {
        let (status, bytes) = desk.get_bytes(&format!("/api/v1/photos/{sha}"));
        assert_eq!(status, 200, "{sha}");
        assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), sha);
    }
    // Every phone sees every notice it raised numbered, through the surviving instance.
    for p in &phones {
        assert!(p.list_notices(500).unwrap().iter().all(|n| n.number.is_some()));
    }
    println!("checked: numbers 1..{raised} without gaps, every record once, every photo complete");
}
