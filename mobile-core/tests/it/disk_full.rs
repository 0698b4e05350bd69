//! A phone whose storage fills up: a child process (this test binary again) is given
//! a file-size limit (RLIMIT_FSIZE, what a full disk looks like to a writer), records
//! notices until a call fails, and gets the limit lifted again. Every call that
//! failed must have written nothing; every call that succeeded must be on disk with
//! the chain intact; and once space is back, recording works again.

use std::process::Command;

use crate::common::*;
use patrol_core::PatrolError;
use patrol_core::notices::NoticeDraft;
use patrol_protocol::notice::Severity;

const CHILD: &str = "PATROL_DISK_FULL_CHILD";

fn draft(i: usize) -> NoticeDraft {
    NoticeDraft {
        site_id: site(),
        department_id: engineering(),
        checkpoint_id: Some(cp(1)),
        location: String::new(),
        run_id: None,
        // Long texts fill pages quickly.
        description: format!("{i}: {}", "墙面渗水，需排查上层管道。".repeat(280)),
        severity: Severity::General,
        due_ms: MORNING_MS + 86_400_000,
        photos: vec![],
    }
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn child(dir: &std::path::Path) {
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir, &clock, None);
    for i in 0..3 {
        core.create_notice(draft(i)).unwrap();
    }
    // From now on no file may grow past what it is plus a little.
    let biggest = std::fs::read_dir(dir).unwrap().filter_map(Result::ok).map(|e| file_size(&e.path())).max().unwrap();
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit { rlim_cur: biggest + 64 * 1024, rlim_max: libc::RLIM_INFINITY };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let mut ok = 3;
    let failure = loop {
        match core.create_notice(draft(ok)).map_err(PatrolError::from) {
            Ok(_) => ok += 1,
            Err(e) => break e,
        }
        assert!(ok < 10_000, "the limit never bit");
    };
    println!("saved {ok}");
    println!("failure {failure:?}");
    let after_failure = core.queue_status().unwrap().last_seq;
    println!("last_seq {after_failure}");
    // Space is freed.
    unsafe {
        let limit = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    core.create_notice(draft(ok)).unwrap();
    println!("recovered");
}

#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_nothing_half_written() {
    if let Ok(dir) = std::env::var(CHILD) {
        child(std::path::Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test_name("a_full_disk_gives_a_clear_error_and_leaves_nothing_half_written"), "--nocapture"])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let line = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {text}")).to_string()
    };
    let saved: u64 = line("saved ").trim().parse().unwrap();
    let failure = line("failure ");
    let last_seq: u64 = line("last_seq ").trim().parse().unwrap();
    assert!(text.contains("recovered"), "{text}");
    println!("{saved} notices saved before the disk filled; the next call failed with {failure}");
    assert!(failure.starts_with("Storage"), "a storage error the app can show: {failure}");
    assert!(failure.contains("存储空间"), "in Chinese too: {failure}");
    assert_eq!(last_seq, saved, "the failed call left no record behind");

    // Reopened: every reported save is there, the chain holds, and the one made after
    // space came back follows without a gap.
    let clock = TestClock::at(MORNING_MS);
    let core = open_world(dir.path(), &clock, None);
    assert_eq!(core.verify_log().unwrap(), saved + 1);
    assert_eq!(core.list_notices(500).unwrap().len() as u64, saved + 1);
}

/// The full name libtest lists this module's test `name` under (`disk_full::name` in the
/// `it` binary), for re-running it alone in a child process.
fn test_name(name: &str) -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    if module.is_empty() { name.to_string() } else { format!("{module}::{name}") }
}
