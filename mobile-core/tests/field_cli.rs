//! `patrol-field`, the terminal client on the core: a patrol walked from the command
//! line (each call a new process, as a person at a terminal makes them), a wrong QR
//! and a finish without a reason refused with their reasons, then the store opened
//! through the Rust API finds every step with an unbroken chain.

#[path = "it/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use patrol_core::Core;

fn field(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patrol-field"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("PATROL_FONT")
        // The store the Rust API opens below with the tests' key: encrypted.
        .env("PATROL_STORE_KEY", hex::encode(TEST_KEY))
        .output()
        .expect("patrol-field runs")
}

/// Runs a command that must succeed; its standard output.
fn ok(data: &Path, args: &[&str]) -> String {
    let out = field(data, args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "patrol-field {args:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

/// Runs a command that must be refused; its standard error.
fn refused(data: &Path, args: &[&str]) -> String {
    let out = field(data, args);
    assert!(!out.status.success(), "patrol-field {args:?} should have been refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_patrol_walked_from_the_terminal_is_in_the_store_the_apps_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let bundle = dir.path().join("bundle.json");
    std::fs::write(&bundle, bundle_json()).unwrap();
    let photo_file = dir.path().join("camera.jpg");
    std::fs::write(&photo_file, jpeg(800, 600)).unwrap();
    let (cp1, cp2, cp3, wrong) = (cp(1).to_string(), cp(2).to_string(), cp(3).to_string(), qr(4));

    assert!(
        ok(
            &data,
            &[
                "sign-in",
                "--person",
                &patrol_person().to_string(),
                "--name",
                "张伟",
                "--patrol-site",
                &site().to_string()
            ]
        )
        .contains("signed in on device")
    );
    ok(&data, &["load", bundle.to_str().unwrap()]);
    let routes = ok(&data, &["routes"]);
    assert!(routes.contains("锦园小区"), "{routes}");
    assert!(!routes.contains(&qr(1)), "the phone keeps no label secret, even one a server sent: {routes}");

    let started = ok(&data, &["start", &route().to_string()]);
    let run = started.split_whitespace().nth(1).expect("run id").to_string();
    assert!(started.contains("(5 checkpoints)"), "{started}");

    assert!(ok(&data, &["check-in", &run, &cp1, "--qr", &qr(1)]).contains("checked in by qr"));
    let why = refused(&data, &["check-in", &run, &cp2, "--qr", &wrong]);
    assert!(why.contains("refused (qr)"), "a wrong QR is refused with its field: {why}");
    assert!(ok(&data, &["check-in", &run, &cp2, "--nfc", "04:A2:19:02"]).contains("checked in by nfc"));
    let (lat, lon) = cp_position(3);
    let gps = format!("{lat},{lon},8");
    assert!(ok(&data, &["check-in", &run, &cp3, "--gps", &gps]).contains("checked in by gps"));
    ok(&data, &["item", &run, &cp1, &item(1, 1).to_string(), "problem", "--note", "灯不亮"]);

    let photo = ok(&data, &["photo", photo_file.to_str().unwrap(), "--run", &run, "--checkpoint", &cp1]);
    let sha = photo.split_whitespace().next().unwrap().to_string();
    assert_eq!(sha.len(), 64, "{photo}");
    let notice = ok(
        &data,
        &[
            "notice-create",
            "--site",
            &site().to_string(),
            "--department",
            &engineering().to_string(),
            "--checkpoint",
            &cp1,
            "--run",
            &run,
            "--description",
            "北门岗亭照明损坏",
            "--photo",
            &sha,
        ],
    );
    assert!(notice.contains("编号待定") && notice.contains("photos 1"), "{notice}");

    let why = refused(&data, &["finish", &run]);
    assert!(why.contains("refused"), "two checkpoints missed and no reason: {why}");
    let finished = ok(&data, &["finish", &run, "--missed-reason", "4号楼施工封闭"]);
    assert!(finished.contains("visited 3/5, missed 2"), "{finished}");
    let queue = ok(&data, &["queue"]);
    assert!(queue.contains("photos 1"), "{queue}");

    // The same store through the API the apps use.
    let core = Core::open(config(&data, None)).unwrap();
    let records = core.verify_log().unwrap();
    assert!(queue.contains(&format!("chain verified: {records} records")), "{queue}");
    let detail = core.run_detail(run.parse().unwrap()).unwrap();
    let methods: Vec<String> =
        detail.checkpoints.iter().filter_map(|c| c.visit.as_ref().map(|v| v.method.to_string())).collect();
    assert_eq!(methods.len(), 3, "{methods:?}");
    assert_eq!(detail.summary.missed_reason.as_deref(), Some("4号楼施工封闭"));
    assert_eq!(detail.photos.len(), 1);
    let notices = core.list_notices(10).unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!((notices[0].number.as_deref(), notices[0].photos.len()), (None, 1));
    drop(core);

    // The store is encrypted: another key, or a key that is not hex, is refused.
    let why = refused(&data, &["--store-key", &hex::encode([9u8; 32]), "queue"]);
    assert!(why.contains("密钥") && why.contains("nothing was changed"), "{why}");
    let why = refused(&data, &["--store-key", "not-hex", "queue"]);
    assert!(why.contains("store_key") && why.contains("十六进制"), "{why}");
    assert!(ok(&data, &["queue"]).contains(&format!("chain verified: {records} records")));
}
