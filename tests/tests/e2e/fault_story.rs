//! The fault stories: connections cut at random byte offsets in both directions, and
//! the server killed with SIGKILL and restarted in the middle of pushes and photo
//! uploads. Afterwards the server must hold every record exactly once, every photo
//! with the right hash, and notice numbers without gaps.

use std::time::{Duration, Instant};

use patrol_core::Core;
use patrol_e2e::*;
use patrol_protocol::DepartmentKind;
use rand::{Rng, SeedableRng};

/// Syncs until a sync succeeds with nothing left queued; returns the failed attempts.
fn sync_until_done(core: &Core, limit: usize) -> usize {
    for failures in 0..limit {
        if let Ok(report) = core.sync(None, None) {
            let st = core.sync_state().unwrap();
            if !report.cancelled && st.queued_records == 0 && st.queued_photos == 0 {
                return failures;
            }
        }
    }
    panic!("no clean sync after {limit} attempts: {:?}", core.sync_state().unwrap());
}

fn connections_cut_at_random_offsets_lose_and_double_nothing(backend: Backend) {
    let data = TempDir::new("cuts");
    let Some(url) = database_url(backend, &data) else { return };
    let server = Server::start(&url, &data.0.join("data"));
    let seed: u64 = std::env::var("PATROL_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("cutting proxy seed {seed} (replay with PATROL_FAULT_SEED={seed})");
    let proxy = CuttingProxy::start(server.port, 0.6, 4000, seed);
    let phone_dir = TempDir::new("cuts-phone");
    let core = phone(&phone_dir.0);
    let mut tries = 0;
    while core.login(&proxy.url(), "patrol", &server.password("patrol")).is_err() {
        tries += 1;
        assert!(tries < 100, "could not sign in through the proxy");
    }
    sync_until_done(&core, 200);
    let started = Instant::now();
    let mut notices = 0;
    let mut failed_syncs = 0;
    while proxy.cuts() < 200 || notices < 10 {
        assert!(started.elapsed() < Duration::from_secs(240), "took too long: {} cuts", proxy.cuts());
        raise_with_photo(&core, DepartmentKind::Cleaning, notices);
        notices += 1;
        failed_syncs += sync_until_done(&core, 200);
        // Two more syncs with nothing to send: their pulls are cut too, and they cost
        // no photo to make (the slow part of this story in a debug build).
        failed_syncs += sync_until_done(&core, 200) + sync_until_done(&core, 200);
    }
    println!(
        "injected {} cuts over {} connections; {notices} notices with photos; {failed_syncs} syncs failed and were retried",
        proxy.cuts(),
        proxy.connections.load(std::sync::atomic::Ordering::Relaxed)
    );
    check_server_holds_everything_once(&server, &core, notices);
    println!("checked: every record once, {notices} photos by hash, numbers 1..{notices} without gaps");
}

/// A link that drops every 100–150 KB sent (a phone on a train): with chunks that
/// adapt to the link, a batch of phone-sized photos completes within a bounded number
/// of sync attempts, and nothing is lost or doubled.
fn photos_complete_on_a_link_that_drops_every_hundred_kilobytes(backend: Backend) {
    let data = TempDir::new("train");
    let Some(url) = database_url(backend, &data) else { return };
    let server = Server::start(&url, &data.0.join("data"));
    let seed: u64 = std::env::var("PATROL_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("link seed {seed} (replay with PATROL_FAULT_SEED={seed})");
    let proxy = CuttingProxy::every(server.port, 100_000, 150_000, seed);
    let phone_dir = TempDir::new("train-phone");
    let core = phone(&phone_dir.0);
    core.login(&proxy.url(), "patrol", &server.password("patrol")).expect("a sign-in fits in 100 KB");
    sync_until_done(&core, 20);
    // Photos the size of a phone's stored ones (hundreds of KB each), on notices.
    const PHOTOS: usize = 8;
    for i in 0..PHOTOS {
        raise_with_photo_of(&core, DepartmentKind::Cleaning, i, textured_jpeg(i as u32, 1280, 960));
    }
    let bytes = core.sync_state().unwrap().queued_photo_bytes;
    assert!(bytes > 1_500_000, "photos of a realistic size: {bytes} bytes");
    let failed = sync_until_done(&core, 200);
    println!(
        "{PHOTOS} photos ({} KB) through a link cut every 100–150 KB: done after {} sync attempts ({failed} cut short), {} cuts",
        bytes / 1024,
        failed + 1,
        proxy.cuts()
    );
    assert!(failed + 1 <= 60, "{} attempts: the chunks do not adapt to the link", failed + 1);
    check_server_holds_everything_once(&server, &core, PHOTOS);
}

fn a_server_killed_mid_sync_loses_and_doubles_nothing(backend: Backend) {
    let data = TempDir::new("kills");
    let Some(url) = database_url(backend, &data) else { return };
    let mut server = Server::start(&url, &data.0.join("data"));
    let seed: u64 = std::env::var("PATROL_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("kill timing seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let phone_dir = TempDir::new("kills-phone");
    let core = std::sync::Arc::new(phone(&phone_dir.0));
    core.login(&server.url(), "patrol", &server.password("patrol")).unwrap();
    sync_until_done(&core, 10);
    let mut notices = 0;
    // Kill until at least 20 kills cut a sync short (a kill that lands after the sync
    // finished proves nothing), within a bound.
    let mut kills = 0;
    let mut interrupted = 0;
    while interrupted < 20 {
        assert!(kills < 60, "only {interrupted} of {kills} kills landed during a sync");
        let k = kills;
        kills += 1;
        for _ in 0..3 {
            raise_with_photo(&core, DepartmentKind::Cleaning, notices);
            notices += 1;
        }
        let c = core.clone();
        let syncing = std::thread::spawn(move || c.sync(None, None).is_ok());
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
        server.kill();
        if !syncing.join().unwrap() {
            interrupted += 1;
        }
        server.restart();
        assert_eq!(server.url(), format!("http://127.0.0.1:{}", server.port), "restart {k} kept the address");
    }
    sync_until_done(&core, 20);
    println!(
        "killed the server {kills} times with SIGKILL; {interrupted} syncs were cut short; {notices} notices with photos"
    );
    check_server_holds_everything_once(&server, &core, notices);
    println!("checked: every record once, {notices} photos by hash, numbers 1..{notices} without gaps");
}

#[test]
fn sqlite_cut_connections() {
    connections_cut_at_random_offsets_lose_and_double_nothing(Backend::Sqlite);
}

#[test]
fn postgres_cut_connections() {
    connections_cut_at_random_offsets_lose_and_double_nothing(Backend::Postgres);
}

#[test]
fn sqlite_link_drops_every_hundred_kilobytes() {
    photos_complete_on_a_link_that_drops_every_hundred_kilobytes(Backend::Sqlite);
}

#[test]
fn postgres_link_drops_every_hundred_kilobytes() {
    photos_complete_on_a_link_that_drops_every_hundred_kilobytes(Backend::Postgres);
}

#[test]
fn sqlite_server_killed() {
    a_server_killed_mid_sync_loses_and_doubles_nothing(Backend::Sqlite);
}

#[test]
fn postgres_server_killed() {
    a_server_killed_mid_sync_loses_and_doubles_nothing(Backend::Postgres);
}
