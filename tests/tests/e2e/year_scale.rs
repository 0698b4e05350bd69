//! The year-at-a-compound story at the scale CI can afford (issue 13): a month at five
//! sites, bulk-loaded by the console benchmark's loader (staff turnover, a moved
//! checkpoint, a changed schedule, notices in every state, the escalation job run over
//! them), more than 500 notices in the busiest department of one site. The real server
//! binary then serves it: every live head signs in and their inbox's open figure and
//! "matching" count equal the database's count of their department's open notices, and
//! the manager pages the register of every site to its end and sees each notice exactly
//! once; the register's search counts, organisation-wide and within a site, equal a
//! reading of every notice. The full year at 50 sites is the benchmark (`scripts/bench-console`).

use std::process::Command;

use patrol_e2e::*;

const SITES: &str = "5";
const DAYS: &str = "30";
/// About 1 400 a site: engineering takes 38 % of them, so its head at each site has
/// more than 500 (the number at which the old inbox went silent).
const NOTICES: &str = "7000";

fn month_at_five_sites(backend: Backend, name: &str) {
    if backend == Backend::Postgres && std::env::var("PATROL_TEST_POSTGRES_URL").is_err() {
        eprintln!("PATROL_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_console-bench"))
        .args([name, "--sites", SITES, "--days", DAYS, "--notices", NOTICES, "--samples", "1", "--warmup", "0"])
        .env("PATROL_SERVER_BIN", server_binary())
        .output()
        .expect("run console-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // What was loaded and checked, for the reader of the test log.
    for line in stderr.lines().chain(stdout.lines()) {
        if line.contains("notices,")
            || line.contains("busiest department")
            || line.contains("inboxes:")
            || line.contains("paging:")
            || line.contains("search:")
            || line.starts_with("checks:")
        {
            println!("{line}");
        }
    }
    assert!(out.status.success(), "console-bench {name} failed:\n{stderr}\n{stdout}");
    let checks = stdout.lines().find(|l| l.starts_with("checks:")).expect("a checks line");
    assert!(
        checks.contains("inbox counts ok")
            && checks.contains("register paging ok")
            && checks.contains("register search ok"),
        "checks did not pass: {checks}"
    );
    // The busiest head must be past the old inbox's 500: the story is about lists that
    // outgrow a page, and a loader change that thinned them would make it vacuous.
    let busiest: u64 = stderr
        .lines()
        .find_map(|l| l.split("with ").nth(1)?.split(" open").next()?.parse().ok())
        .expect("the busiest head's open count in the log");
    let total: u64 = stderr
        .lines()
        .find_map(|l| l.split(" notices,").next()?.trim().parse().ok())
        .expect("the notice total in the log");
    println!("busiest head: {busiest} open; {total} notices in all");
    assert!(total >= 5_000, "only {total} notices were loaded");
    let paged: u64 = checks
        .split("register paging ok (")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("listed count");
    assert_eq!(paged, total, "the register listed {paged} of {total} notices");
    let dept: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("busiest department: ")?.split(' ').next()?.parse().ok())
        .expect("the busiest department's notice count in the log");
    assert!(dept > 500, "the busiest department has {dept} notices, not more than 500");
}

#[test]
fn a_month_at_five_sites_on_sqlite() {
    month_at_five_sites(Backend::Sqlite, "sqlite");
}

#[test]
fn a_month_at_five_sites_on_postgres() {
    month_at_five_sites(Backend::Postgres, "postgres");
}
