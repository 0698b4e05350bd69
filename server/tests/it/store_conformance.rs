//! The storage conformance suite: every test runs against SQLite and PostgreSQL, so
//! the two implementations of `Database` behave alike.

use crate::support;

use patrol_protocol::{
    ChecklistItem, Checkpoint, Department, DepartmentKind, Id, Organisation, Person, Role, RoleAssignment, Site,
};
use patrol_server::store::{DbError, Store, people, reference};
use support::{Backend, TempDir, open_store};

fn setup(backend: Backend) -> Option<(Store, TempDir)> {
    let dir = TempDir::new("store");
    let store = open_store(backend, &dir)?;
    Some((store, dir))
}

fn org_and_site(store: &Store, code: &str) -> (Organisation, Site) {
    let org = Organisation { id: Id::now_v7(), name: "锦园物业".into() };
    let site = Site {
        id: Id::now_v7(),
        org_id: org.id,
        code: code.into(),
        name_zh: "锦园小区".into(),
        name_en: "Jade Garden".into(),
        utc_offset_minutes: 480,
    };
    let (o, s) = (org.clone(), site.clone());
    store
        .tx_blocking(true, move |c| {
            reference::insert_organisation(c, &o, 1)?;
            reference::insert_site(c, &s, 1)
        })
        .unwrap();
    (org, site)
}

fn migrations_run_once(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    assert_eq!(store.migrate_blocking().unwrap(), 0, "a second migrate finds nothing to do");
}

fn sites_round_trip_and_codes_are_unique_per_organisation(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, site) = org_and_site(&store, "JY");
    let got = store.tx_blocking(false, |c| reference::get_site(c, site.id)).unwrap();
    assert_eq!(got, Some(site.clone()));
    let dup = Site { id: Id::now_v7(), ..site.clone() };
    let err = store.tx_blocking(true, |c| reference::insert_site(c, &dup, 2)).unwrap_err();
    assert!(matches!(err, DbError::Unique(_)), "{err:?}");
    let listed = store.tx_blocking(false, |c| reference::list_sites(c, org.id)).unwrap();
    assert_eq!(listed, vec![site]);
}

fn checkpoints_keep_chinese_text_and_exact_coordinates(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (_, site) = org_and_site(&store, "JY");
    let cp = Checkpoint {
        id: Id::now_v7(),
        site_id: site.id,
        code: "PUMP".into(),
        name_zh: "水泵房".into(),
        name_en: "Pump room".into(),
        latitude: 31.230_412_345_678,
        longitude: 121.473_701_234_567,
        radius_m: 25.5,
        qr_token: "token-0123456789".into(),
        qr_digest: String::new(),
        nfc_tag_id: Some("04:A2:10:5C:03:80".into()),
        checklist: vec![ChecklistItem {
            id: Id::now_v7(),
            text_zh: "水泵运行正常".into(),
            text_en: "Pumps run".into(),
        }],
    };
    let c2 = cp.clone();
    store.tx_blocking(true, move |c| reference::insert_checkpoint(c, &c2, 5)).unwrap();
    let got = store.tx_blocking(false, |c| reference::list_checkpoints(c, site.id)).unwrap();
    assert_eq!(got, vec![cp]);
}

fn every_kind_of_role_round_trips(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, site) = org_and_site(&store, "JY");
    let dept = Department {
        id: Id::now_v7(),
        site_id: site.id,
        kind: DepartmentKind::Cleaning,
        name_zh: "保洁部".into(),
        name_en: "Cleaning".into(),
    };
    let person = Person {
        id: Id::now_v7(),
        org_id: org.id,
        login: "chen.fang".into(),
        display_name: "陈芳".into(),
        active: true,
    };
    let roles = vec![
        Role::Administrator,
        Role::OrgSupervisor,
        Role::SiteSupervisor { site_id: site.id },
        Role::PatrolStaff { site_id: site.id },
        Role::DepartmentHead { site_id: site.id, department_id: dept.id },
    ];
    let (d, p, r) = (dept.clone(), person.clone(), roles.clone());
    store
        .tx_blocking(true, move |c| {
            reference::insert_department(c, &d, 1)?;
            people::insert_person(c, &p, "$argon2id$x", 1)?;
            for (i, role) in r.into_iter().enumerate() {
                people::insert_role(c, &RoleAssignment { person_id: p.id, role }, i as i64)?;
            }
            Ok(())
        })
        .unwrap();
    let got = store.tx_blocking(false, |c| people::roles_of(c, person.id)).unwrap();
    assert_eq!(got, roles);
    let dup = RoleAssignment { person_id: person.id, role: Role::Administrator };
    assert!(matches!(store.tx_blocking(true, |c| people::insert_role(c, &dup, 9)), Err(DbError::Unique(_))));
    let (found, hash) = store.tx_blocking(false, |c| people::credentials(c, "chen.fang")).unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (person, "$argon2id$x"));
}

fn a_failed_transaction_leaves_nothing_behind(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let org = Organisation { id: Id::now_v7(), name: "x".into() };
    let o = org.clone();
    let result: Result<(), DbError> = store.tx_blocking(true, move |c| {
        reference::insert_organisation(c, &o, 1)?;
        Err(DbError::Backend("the caller changed its mind".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.tx_blocking(false, reference::first_organisation).unwrap(), None);
}

/// A bug that panics inside a transaction (as a request's handler body may) gives its
/// connection back: more panics than the pool has connections (4, `open_store`),
/// each after a write, and then every ordinary transaction still gets a connection at
/// once (a leaked slot made it wait 30 s for `PoolTimeout`), and nothing the
/// panicking bodies wrote was committed.
fn a_panicking_transaction_leaves_the_pool_whole(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    for i in 0..12 {
        let s = store.clone();
        let panicked = std::thread::spawn(move || {
            let _: Result<(), DbError> = s.tx_blocking(true, move |c| {
                let org = Organisation { id: Id::now_v7(), name: format!("panic {i}") };
                reference::insert_organisation(c, &org, 1)?;
                panic!("a bug in request {i}");
            });
        })
        .join();
        assert!(panicked.is_err(), "the body panicked");
    }
    let t = std::time::Instant::now();
    for _ in 0..8 {
        assert_eq!(store.tx_blocking(false, reference::first_organisation).unwrap(), None, "nothing was committed");
    }
    // Through the async API the handlers use: a panic there is a failed task, the
    // next request is served.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for _ in 0..6 {
            let r: Result<(), DbError> = store.write(|_| panic!("a bug in a handler")).await;
            assert!(r.is_err());
        }
        assert_eq!(store.read(|c| c.query_one("SELECT 1", &[])?.int(0)).await.unwrap(), 1);
    });
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "a request waited for a leaked connection: {:?}",
        t.elapsed()
    );
}

/// However a transaction ends (committed, refused, failed in the database, a unique
/// violation, a body that panics), its connection goes back: the pool never holds more
/// than its size, and afterwards as many transactions as the pool has connections
/// (4, `open_store`) can be open at once.
fn every_way_a_transaction_ends_gives_the_connection_back(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, site) = org_and_site(&store, "PL");
    for round in 0..3 {
        store.tx_blocking(false, |c| c.query_one("SELECT 1", &[]).map(|_| ())).unwrap();
        let refused = store.tx_blocking_or_refuse(true, |c| {
            reference::insert_organisation(c, &Organisation { id: Id::now_v7(), name: "refused".into() }, 1)?;
            Ok(Err::<(), _>("no"))
        });
        assert!(matches!(refused, Ok(Err("no"))));
        let failed = store.tx_blocking(true, |c| c.execute("INSERT INTO no_such_table VALUES (1)", &[]));
        assert!(matches!(failed, Err(DbError::Backend(_))), "{failed:?}");
        let dup = Site { id: Id::now_v7(), ..site.clone() };
        let unique = store.tx_blocking(true, |c| reference::insert_site(c, &dup, 2));
        assert!(matches!(unique, Err(DbError::Unique(_))), "{unique:?}");
        for _ in 0..5 {
            let s = store.clone();
            let panicked = std::thread::spawn(move || {
                let _: Result<(), DbError> = s.tx_blocking(true, |_| panic!("a bug in round {round}"));
            })
            .join();
            assert!(panicked.is_err());
        }
        let (open, idle) = store.open_and_idle();
        assert!(open <= 4 && idle <= open as usize, "round {round}: {open} open, {idle} idle");
    }
    // Four transactions open at once, each waiting for the others: a lost connection
    // would leave one waiting for the pool's timeout.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let t = std::time::Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (s, b) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                s.tx_blocking(false, |c| {
                    b.wait();
                    c.query_one("SELECT 1", &[]).map(|_| ())
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "waited {:?}", t.elapsed());
    let listed = store.tx_blocking(false, |c| reference::list_sites(c, org.id)).unwrap();
    assert_eq!(listed, vec![site], "nothing the failed transactions wrote was kept");
    let orgs = store.tx_blocking(false, |c| c.query_one("SELECT COUNT(*) FROM organisations", &[])?.int(0)).unwrap();
    assert_eq!(orgs, 1, "the refused organisation was rolled back");
}

/// `n` read transactions, each holding its connection until `release`.
struct HeldReads {
    release: std::sync::mpsc::Sender<()>,
    holders: Vec<std::thread::JoinHandle<Result<(), DbError>>>,
}

impl HeldReads {
    /// Returns once all `n` hold a connection.
    fn new(store: &Store, n: usize) -> HeldReads {
        let (release, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let all_held = std::sync::Arc::new(std::sync::Barrier::new(n + 1));
        let holders = (0..n)
            .map(|_| {
                let (s, rx, b) = (store.clone(), rx.clone(), all_held.clone());
                std::thread::spawn(move || {
                    s.tx_blocking(false, |c| {
                        c.query_one("SELECT 1", &[])?;
                        b.wait();
                        let _ = rx.lock().unwrap().recv();
                        Ok(())
                    })
                })
            })
            .collect();
        all_held.wait();
        HeldReads { release, holders }
    }

    /// Lets every holder end its transaction, and checks each ended well.
    fn release(self) {
        for _ in &self.holders {
            self.release.send(()).unwrap();
        }
        for h in self.holders {
            h.join().unwrap().unwrap();
        }
    }
}

/// Those waiting for a connection are counted (`/metrics`' `patrol_db_waiting`): with
/// every connection of the pool (4) held, a fifth transaction waits and is counted
/// until one is given back, and then nobody waits.
fn transactions_waiting_for_a_connection_are_counted(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    assert_eq!(store.waiting(), 0);
    let held = HeldReads::new(&store, 4);
    let s = store.clone();
    let fifth = std::thread::spawn(move || s.tx_blocking(false, |c| c.query_one("SELECT 1", &[])?.int(0)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.waiting() != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(store.waiting(), 1, "the fifth transaction waits for a connection");
    assert!(!fifth.is_finished());
    held.release();
    assert_eq!(fifth.join().unwrap().unwrap(), 1);
    assert_eq!(store.waiting(), 0);
}

/// A placeholder is a placeholder only in the statement's code: the same characters in
/// a string literal, a quoted name or a comment are text (the drivers parse the SQL;
/// nothing rewrites it), and a value bound to `$1` comes back as it was sent.
fn placeholders_inside_literals_and_comments_are_text(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let values = ["$2 BLOB", "it's", "", "中文 -- /* */", "'$1'"];
    for v in values {
        let row = store
            .tx_blocking(false, |c| {
                c.query_one(
                    "SELECT '$1 BLOB' AS \"$2\", $1 /* $2 BLOB */ AS v, 'it''s $3' AS w -- $4 BYTEA\n",
                    &[v.into()],
                )
            })
            .unwrap();
        assert_eq!(row.text(0).unwrap(), "$1 BLOB");
        assert_eq!(row.text(1).unwrap(), v);
        assert_eq!(row.text(2).unwrap(), "it's $3");
    }
    // Every kind of value the store binds comes back as it went.
    let row = store
        .tx_blocking(false, |c| {
            c.query_one(
                "SELECT CAST($1 AS BIGINT) AS i, CAST($2 AS DOUBLE PRECISION) AS r, $3 AS t, $4 AS n",
                &[(-(1i64 << 53)).into(), 2.5f64.into(), "锦园".into(), patrol_server::store::Value::Null],
            )
        })
        .unwrap();
    assert_eq!(row.int(0).unwrap(), -(1i64 << 53));
    assert_eq!(row.real(1).unwrap(), 2.5);
    assert_eq!(row.text(2).unwrap(), "锦园");
    assert_eq!(row.opt_text(3).unwrap(), None);
}

/// A statement the store cannot run as written is refused with an error and changes
/// nothing: two statements where one is expected, a placeholder without a value, a
/// value the table refuses.
fn malformed_statements_are_refused_and_change_nothing(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, _) = org_and_site(&store, "MF");
    let attempts: [(&str, Vec<patrol_server::store::Value>); 5] = [
        ("UPDATE organisations SET name = 'x'; DELETE FROM organisations", vec![]),
        ("UPDATE organisations SET name = 'x'; -- and then\nDELETE FROM organisations", vec![]),
        ("UPDATE organisations SET name = $2 WHERE id = $1", vec![org.id.to_string().into()]),
        ("UPDATE organisations SET name = NULL WHERE id = $1", vec![org.id.to_string().into()]),
        ("INSERT INTO no_such_table (x) VALUES ($1)", vec![1i64.into()]),
    ];
    for (sql, params) in attempts {
        let r = store.tx_blocking(true, |c| c.execute(sql, &params));
        assert!(r.is_err(), "{sql} was accepted");
        let name = store
            .tx_blocking(false, |c| {
                c.query_one("SELECT name FROM organisations WHERE id = $1", &[org.id.to_string().into()])?.text(0)
            })
            .unwrap();
        assert_eq!(name, org.name, "{sql} changed the row");
    }
}

fn a_refresh_token_can_be_used_only_once(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, _) = org_and_site(&store, "JY");
    let person = Person { id: Id::now_v7(), org_id: org.id, login: "p".into(), display_name: "P".into(), active: true };
    let p = person.clone();
    store
        .tx_blocking(true, move |c| {
            people::insert_person(c, &p, "h", 1)?;
            people::insert_refresh(c, "hash-a", "fam", p.id, Id::nil(), 1, 100)?;
            people::insert_refresh(c, "hash-b", "fam", p.id, Id::nil(), 2, 100)
        })
        .unwrap();
    assert!(store.tx_blocking(true, |c| people::mark_refresh_used(c, "hash-a", 5)).unwrap());
    assert!(!store.tx_blocking(true, |c| people::mark_refresh_used(c, "hash-a", 6)).unwrap());
    assert_eq!(store.tx_blocking(true, |c| people::revoke_family(c, "fam", 7)).unwrap(), 2);
    let t = store.tx_blocking(false, |c| people::get_refresh(c, "hash-b")).unwrap().unwrap();
    assert_eq!(t.revoked_ms, Some(7));
    assert!(!store.tx_blocking(true, |c| people::mark_refresh_used(c, "hash-b", 8)).unwrap());
}

fn login_budgets_are_taken_atomically_and_refill(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    // Sixteen concurrent takers each see a count of their own: no two read the same.
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.tx_blocking(true, |c| people::take_login_budget(c, "pair:patrol", 1_000, 0))
            })
        })
        .collect();
    let mut seen: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (1..=16).collect::<Vec<i64>>());
    // A refund gives one back; another bucket is untouched.
    store.tx_blocking(true, |c| people::refund_login_budget(c, "pair:patrol")).unwrap();
    assert_eq!(store.tx_blocking(true, |c| people::take_login_budget(c, "pair:patrol", 2_000, 0)).unwrap(), 16);
    assert_eq!(store.tx_blocking(true, |c| people::take_login_budget(c, "addr:x", 2_000, 0)).unwrap(), 1);
    // Once the window has passed the budget starts again.
    assert_eq!(store.tx_blocking(true, |c| people::take_login_budget(c, "pair:patrol", 70_000, 1_000)).unwrap(), 1);
    assert_eq!(store.tx_blocking(true, |c| people::prune_login_budgets(c, 5_000)).unwrap(), 1);
}

fn concurrent_writers_all_land(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, _) = org_and_site(&store, "JY");
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let code = format!("S{t}{i}");
                    let s = Site {
                        id: Id::now_v7(),
                        org_id: org.id,
                        code,
                        name_zh: "x".into(),
                        name_en: String::new(),
                        utc_offset_minutes: 480,
                    };
                    store.tx_blocking(true, |c| reference::insert_site(c, &s, 1)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.tx_blocking(false, |c| reference::list_sites(c, org.id)).unwrap().len(), 81);
}

/// Reads outside a transaction (`Store::read_each`, the sign-in check of every request):
/// each statement sees what committed before it, even a commit made between two
/// statements of one body (inside a transaction SQLite would keep the first one's
/// snapshot); a body that fails or panics leaves no transaction open on its connection,
/// so afterwards every connection of the pool (4) reads, at once, what was committed.
fn reads_outside_a_transaction_see_each_commit_and_leave_nothing_open(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let count = |c: &mut dyn patrol_server::store::Conn| c.query_one("SELECT COUNT(*) FROM organisations", &[])?.int(0);
    for round in 0..3i64 {
        let writer = store.clone();
        let (before, after) = rt
            .block_on(store.read_each(move |c| {
                let before = count(c)?;
                writer.tx_blocking(true, |w| {
                    reference::insert_organisation(w, &Organisation { id: Id::now_v7(), name: "中途".into() }, 1)
                })?;
                Ok((before, count(c)?))
            }))
            .unwrap();
        assert_eq!((before, after), (round, round + 1), "round {round}: the second statement sees the commit");
        let failed = rt.block_on(store.read_each(|c| c.query_one("SELECT nothing FROM no_such_table", &[]).map(drop)));
        assert!(matches!(failed, Err(DbError::Backend(_))), "{failed:?}");
        let panicked = rt.block_on(store.read_each(move |c| -> Result<(), DbError> {
            count(c)?;
            panic!("a bug in round {round}")
        }));
        assert!(panicked.is_err());
    }
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let (s, b) = (store.clone(), barrier.clone());
            rt.spawn(async move {
                s.read_each(move |c| {
                    b.wait();
                    count(c)
                })
                .await
            })
        })
        .collect();
    for r in reads {
        assert_eq!(rt.block_on(r).unwrap().unwrap(), 3, "every pooled connection reads the three commits");
    }
}

/// A body asked for as a read cannot write, whatever it tries: every statement that
/// would change something (insert, update, delete, schema) is refused inside a read
/// transaction on both databases, and outside one (`read_each`) on SQLite, where a
/// pooled connection's write would go around the one writer; nothing of it is kept.
fn a_read_cannot_write(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (_org, site) = org_and_site(&store, "RO");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let writes = [
        "INSERT INTO organisations (id, name, created_ms) VALUES ('00000000-0000-7000-8000-000000000001', 'x', 1)",
        "UPDATE sites SET name_zh = '改过' WHERE code = 'RO'",
        "DELETE FROM sites WHERE code = 'RO'",
        "CREATE TABLE sneaky (a INTEGER)",
    ];
    let count = |c: &mut dyn patrol_server::store::Conn| c.query_one("SELECT COUNT(*) FROM organisations", &[])?.int(0);
    for sql in writes {
        let in_tx = store.tx_blocking(false, |c| c.execute(sql, &[]));
        assert!(in_tx.is_err(), "a read transaction ran {sql}: {in_tx:?}");
        if matches!(backend, Backend::Sqlite) {
            let each = rt.block_on(store.read_each(move |c| c.execute(sql, &[])));
            assert!(matches!(each, Err(DbError::Data(_))), "read_each ran {sql}: {each:?}");
        }
        // The connections stay usable for reads.
        assert_eq!(store.tx_blocking(false, count).unwrap(), 1);
        assert_eq!(rt.block_on(store.read_each(count)).unwrap(), 1);
    }
    let sites = store.tx_blocking(false, |c| reference::list_sites(c, site.org_id)).unwrap();
    assert_eq!(sites, vec![site], "nothing a read tried was kept");
}

/// The sign-in read (`people::signed_in`, one statement on every request) says what
/// its parts say read one by one, over a generated matrix of people: no role, one,
/// several (some removed since), active or not, with or without a one-time password,
/// their family ended or not (or another family ended), and no such person at all.
fn the_sign_in_read_says_what_its_parts_say(backend: Backend) {
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let (org, site) = org_and_site(&store, "SI");
    let dept = Department {
        id: Id::now_v7(),
        site_id: site.id,
        kind: DepartmentKind::Engineering,
        name_zh: "工程部".into(),
        name_en: "Engineering".into(),
    };
    let d = dept.clone();
    store.tx_blocking(true, move |c| reference::insert_department(c, &d, 1)).unwrap();
    let pool = [
        Role::PatrolStaff { site_id: site.id },
        Role::DepartmentHead { site_id: site.id, department_id: dept.id },
        Role::SiteSupervisor { site_id: site.id },
        Role::Administrator,
        Role::DepartmentStaff { site_id: site.id, department_id: dept.id },
        Role::OrgSupervisor,
    ];
    let mut checked = 0;
    for case in 0..48u32 {
        // Bits of the case pick the person's state; the role count and which are
        // removed follow from it too, so every combination of the flags meets several.
        let (active, must_change, revoked, other_revoked) =
            (case & 1 == 0, case & 2 != 0, case & 4 != 0, case & 8 != 0);
        let n_roles = (case / 16) as usize * 2 + (case as usize % 3); // 0..=6
        let person = Person {
            id: Id::now_v7(),
            org_id: org.id,
            login: format!("p{case}"),
            display_name: format!("人{case}"),
            active: true,
        };
        let family = format!("fam-{case}");
        let (p, f, roles) = (person.clone(), family.clone(), pool[..n_roles.min(pool.len())].to_vec());
        store
            .tx_blocking(true, move |c| {
                people::insert_person(c, &p, "h", 1)?;
                for (i, role) in roles.iter().enumerate() {
                    people::insert_role(c, &RoleAssignment { person_id: p.id, role: role.clone() }, 10 + i as i64)?;
                }
                // Every other role removed again (kept in the history, not live).
                for role in roles.iter().skip(1).step_by(2) {
                    people::remove_role(c, p.id, role, 50)?;
                }
                people::insert_refresh(c, &format!("{f}-a"), &f, p.id, Id::nil(), 1, 100)?;
                people::insert_refresh(c, &format!("{f}-x"), &format!("{f}-other"), p.id, Id::nil(), 1, 100)?;
                if revoked {
                    people::revoke_family(c, &f, 60)?;
                }
                if other_revoked {
                    people::revoke_family(c, &format!("{f}-other"), 60)?;
                }
                if must_change {
                    people::set_password(c, p.id, "h2", true)?;
                }
                if !active {
                    people::set_active(c, p.id, false, 70)?;
                }
                Ok(())
            })
            .unwrap();
        for fam in [Some(family.as_str()), None] {
            let fam_owned = fam.map(str::to_string);
            let id = person.id;
            let (one, parts) = store
                .tx_blocking(false, move |c| {
                    let one = people::signed_in(c, id, fam_owned.as_deref())?;
                    let parts = (
                        people::get_person(c, id)?,
                        people::roles_of(c, id)?,
                        people::must_change_password(c, id)?,
                        match &fam_owned {
                            Some(f) => people::family_revoked(c, f)?,
                            None => false,
                        },
                    );
                    Ok((one, parts))
                })
                .unwrap();
            let one = one.expect("the person exists");
            assert_eq!(Some(&one.person), parts.0.as_ref(), "case {case}");
            assert_eq!(one.person.active, active, "case {case}");
            assert_eq!(one.roles, parts.1, "case {case}: roles in assignment order, removed ones left out");
            assert_eq!(one.roles.len(), n_roles.min(pool.len()).div_ceil(2), "case {case}");
            assert_eq!(one.must_change_password, parts.2, "case {case}");
            assert_eq!(one.must_change_password, must_change, "case {case}");
            assert_eq!(one.family_revoked, parts.3, "case {case}");
            // Deactivating a person ends every login of theirs.
            assert_eq!(one.family_revoked, (revoked || !active) && fam.is_some(), "case {case}");
            checked += 1;
        }
    }
    assert_eq!(checked, 96);
    let nobody = store.tx_blocking(false, |c| people::signed_in(c, Id::now_v7(), Some("fam-1"))).unwrap();
    assert!(nobody.is_none());
}

/// A read that finds every connection busy for the acquire timeout fails with
/// `PoolTimeout` (a 503 to the caller), and the connections it waited for are whole
/// afterwards: none lost, none opened past the bound, reads go on.
fn a_read_finding_every_connection_busy_gives_up_at_the_timeout(backend: Backend) {
    let dir = TempDir::new("store");
    let Some(url) = support::fresh_database(backend, &dir) else {
        return;
    };
    let settings = patrol_server::store::PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_millis(300),
        idle_timeout: std::time::Duration::from_secs(60),
    };
    let store = Store::open_with(&url, &settings).unwrap();
    store.migrate_blocking().unwrap();
    let held = HeldReads::new(&store, 2);
    let started = std::time::Instant::now();
    let third = store.tx_blocking(false, |c| c.query_one("SELECT 1", &[])?.int(0));
    let waited = started.elapsed();
    assert!(matches!(third, Err(DbError::PoolTimeout)), "{third:?}");
    assert!(waited >= std::time::Duration::from_millis(250), "gave up after {waited:?}, not at the timeout");
    assert!(waited < std::time::Duration::from_secs(10), "waited {waited:?}");
    assert_eq!(store.waiting(), 0, "the one that gave up no longer counts as waiting");
    held.release();
    for _ in 0..5 {
        assert_eq!(store.tx_blocking(false, |c| c.query_one("SELECT 1", &[])?.int(0)).unwrap(), 1);
    }
    let (open, _idle) = store.open_and_idle();
    assert!(open <= 2, "{open} connections open for a pool of 2");
}

/// A photo's completion at once (`photos::complete_upload_at_once`: one data-modifying
/// statement in autocommit on PostgreSQL) leaves exactly the rows the transaction
/// (`photos::complete_upload`) leaves, in a generated matrix of uploads: where the
/// upload stands against where the caller saw it, complete or not, the size checked
/// or another, chunk rows kept or none, cited by no notice, by one, by one twice (one
/// feed entry per notice) or by several, and by a run. Each situation is made twice,
/// under two hashes: one completed each way; then the photo's row, its chunk rows, the
/// feed entries and the leaves are compared, and the outcome against what it must be.
fn a_photo_completes_alike_at_once_or_in_a_transaction(backend: Backend) {
    use patrol_server::params;
    use rand::{Rng, SeedableRng};
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let hex =
        |rng: &mut rand::rngs::StdRng| -> String { (0..32).map(|_| format!("{:02x}", rng.r#gen::<u8>())).collect() };
    let notice_columns = "id, site_id, year, counter, department_id, location, description, severity, due_ms, state,
                          issuer_id, raised_record_id, raised_device_ms, received_ms, updated_ms, has_car, photos_json";
    for case in 0..48 {
        let size: i64 = rng.gen_range(1..5_000);
        let received: i64 = match rng.gen_range(0..3) {
            0 => 0,
            1 => rng.gen_range(0..size),
            _ => size,
        };
        let complete = rng.gen_bool(0.2);
        let received_before = if rng.gen_bool(0.7) { received } else { rng.gen_range(0..=size) };
        let size_checked = if rng.gen_bool(0.85) { size } else { size + 1 };
        let chunk_rows = rng.gen_range(0..3);
        // (notice index, times cited) and whether a run cites it too.
        let notices: Vec<usize> = (0..rng.gen_range(0..4)).map(|_| rng.gen_range(1..3)).collect();
        let run_cites = rng.gen_bool(0.5);
        let (site, dept, issuer) = (Id::now_v7(), Id::now_v7(), Id::now_v7());
        let now = 1_000_000 + case;
        let shas = [hex(&mut rng), hex(&mut rng)];
        let mut notice_ids = [Vec::new(), Vec::new()];
        for (copy, sha) in shas.iter().enumerate() {
            let ids: Vec<Id> = notices.iter().map(|_| Id::now_v7()).collect();
            notice_ids[copy] = ids.clone();
            let (sha, notices) = (sha.clone(), notices.clone());
            store
                .tx_blocking(true, move |c| {
                    c.execute(
                        "INSERT INTO photos (sha256, size, received, complete, first_cited_ms) VALUES ($1, $2, $3, $4, 0)",
                        &params![sha.clone(), size, received, i64::from(complete)],
                    )?;
                    for k in 0..chunk_rows {
                        c.execute(
                            "INSERT INTO photo_chunks (sha256, start_offset, data) VALUES ($1, $2, $3)",
                            &params![sha.clone(), k, vec![7u8; 3]],
                        )?;
                    }
                    for (k, (id, times)) in ids.iter().zip(&notices).enumerate() {
                        c.execute(
                            &format!("INSERT INTO notices ({notice_columns}) VALUES ($1, $2, 2026, $3, $4, '北门', '漏水', 'normal', 0, 'open', $5, $6, 0, 0, 0, 0, '[]')"),
                            &params![*id, site, case * 100 + copy as i64 * 10 + k as i64, dept, issuer, Id::now_v7()],
                        )?;
                        for _ in 0..*times {
                            c.execute(
                                "INSERT INTO photo_citations (sha256, record_id, author_id, notice_id) VALUES ($1, $2, $3, $4)",
                                &params![sha.clone(), Id::now_v7(), issuer, *id],
                            )?;
                        }
                    }
                    if run_cites {
                        c.execute(
                            "INSERT INTO photo_citations (sha256, record_id, author_id, run_id) VALUES ($1, $2, $3, $4)",
                            &params![sha.clone(), Id::now_v7(), issuer, Id::now_v7()],
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        let (a, b) = (shas[0].clone(), shas[1].clone());
        let in_tx = store
            .tx_blocking(true, |c| {
                patrol_server::photos::complete_upload(c, &a, received_before as u64, size_checked as u64, now)
            })
            .unwrap();
        let at_once = rt
            .block_on(patrol_server::photos::complete_upload_at_once(
                &store,
                &b,
                received_before as u64,
                size_checked as u64,
                now,
            ))
            .unwrap();
        let must = received_before == received && !complete && size_checked == size;
        let what = format!(
            "case {case}: size {size} received {received}/{received_before} complete {complete} size checked {size_checked} chunks {chunk_rows} notices {notices:?} run {run_cites}"
        );
        assert_eq!((in_tx, at_once), (must, must), "{what}");
        // What each left, the hash and the notice ids written as the copy's own.
        let left = |copy: usize| {
            let (sha, ids) = (shas[copy].clone(), notice_ids[copy].clone());
            store
                .tx_blocking(false, move |c| {
                    let p = c.query_one(
                        "SELECT size, received, complete, completed_ms FROM photos WHERE sha256 = $1",
                        &params![sha.clone()],
                    )?;
                    let photo = (p.int(0)?, p.int(1)?, p.bool(2)?, p.opt_int(3)?);
                    let chunks = c
                        .query_one("SELECT COUNT(*) FROM photo_chunks WHERE sha256 = $1", &params![sha.clone()])?
                        .int(0)?;
                    let mut entries = Vec::new();
                    for (i, id) in ids.iter().enumerate() {
                        for r in c.query(
                            "SELECT at_ms, kind, site_id, department_id, person_id, record_id FROM feed_pending
                             WHERE notice_id = $1",
                            &params![*id],
                        )? {
                            entries.push((
                                i,
                                r.int(0)?,
                                r.text(1)?,
                                r.opt_uuid(2)?,
                                r.opt_uuid(3)?,
                                r.opt_uuid(4)?,
                                r.opt_uuid(5)?,
                            ));
                        }
                    }
                    entries.sort();
                    let leaves: Vec<(String, String, i64)> = c
                        .query("SELECT kind, leaf, at_ms FROM log_pending WHERE subject = $1", &params![sha.clone()])?
                        .iter()
                        .map(|r| Ok((r.text(0)?, r.text(1)?.replace(&sha, "<sha>"), r.int(2)?)))
                        .collect::<Result<_, DbError>>()?;
                    Ok((photo, chunks, entries, leaves))
                })
                .unwrap()
        };
        let (one, other) = (left(0), left(1));
        assert_eq!(one, other, "{what}");
        let (photo, chunks, entries, leaves) = one;
        if must {
            assert_eq!(photo, (size, size, true, Some(now)), "{what}");
            assert_eq!(chunks, if received_before > 0 { 0 } else { chunk_rows }, "{what}");
            assert_eq!(entries.len(), notices.len(), "one entry per citing notice: {what}");
            assert!(entries.iter().all(|e| e.2 == "notice" && e.3 == Some(site) && e.5 == Some(issuer)), "{what}");
            assert_eq!(leaves.len(), 1, "{what}");
            assert!(leaves[0].1.contains(&format!("\"size\":{size}")), "{what}: {leaves:?}");
        } else {
            assert_eq!(photo, (size, received, complete, None), "{what}");
            assert_eq!((chunks, entries.len(), leaves.len()), (chunk_rows, 0, 0), "{what}");
        }
    }
}

/// A pull's page of the feed (`feed::page_for_pull`): walking a generated feed from the
/// start with pages of random sizes yields exactly the entries of the kinds a pull acts
/// on, in order, each once, and none past the feed's head, though long stretches of
/// other kinds (a day of patrol records' `run` entries) lie between them; each page
/// looks through at most `PULL_SCAN` positions, and the walk ends.
fn a_pull_steps_over_what_it_does_not_send_and_never_past_the_head(backend: Backend) {
    use patrol_cases::sync::feed::{Kind, PULL_SCAN, PULLED_KINDS, page_for_pull};
    use rand::{Rng, SeedableRng};
    let Some((store, _dir)) = setup(backend) else {
        return;
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_000);
    let all =
        [Kind::Reference, Kind::Notice, Kind::Rejection, Kind::Run, Kind::DailyLog, Kind::Notification, Kind::Fault];
    // Stretches of one kind: mostly `run`, some long enough to fill a window.
    let mut kinds: Vec<Kind> = Vec::new();
    while kinds.len() < 3 * PULL_SCAN as usize {
        let kind = if rng.gen_bool(0.6) { Kind::Run } else { all[rng.gen_range(0..all.len())] };
        let stretch = if kind == Kind::Run && rng.gen_bool(0.1) {
            rng.gen_range(PULL_SCAN as usize / 2..PULL_SCAN as usize * 3 / 2)
        } else {
            rng.gen_range(1..40)
        };
        kinds.extend(std::iter::repeat_n(kind, stretch));
    }
    // Rows above the head stand for what no reader may see yet.
    let head = kinds.len() as i64 - 25;
    let rows: Vec<Vec<patrol_server::store::Value>> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| patrol_server::params![i as i64 + 1, i as i64 + 1, 0, k.as_str()])
        .collect();
    store
        .tx_blocking(true, |c| {
            for chunk in rows.chunks(5_000) {
                patrol_cases::audit::log::insert_rows(c, "feed (position, entry_id, at_ms, kind)", chunk)?;
            }
            c.execute("UPDATE counters SET value = $1 WHERE name = 'feed'", &patrol_server::params![head])?;
            Ok(())
        })
        .unwrap();
    let pulled = |k: &str| PULLED_KINDS.iter().any(|p| p.as_str() == k);
    let expected: Vec<i64> = (1..=head).filter(|p| pulled(kinds[*p as usize - 1].as_str())).collect();
    let (mut after, mut got, mut pages) = (0i64, Vec::new(), 0);
    loop {
        let limit = rng.gen_range(1..=500u32);
        let (rows, cursor, more) = store.tx_blocking(false, |c| page_for_pull(c, after, limit)).unwrap();
        pages += 1;
        assert!(rows.len() as u32 <= limit);
        assert!(cursor >= after && cursor <= head, "cursor {cursor} after {after}, head {head}");
        assert!(cursor - after <= PULL_SCAN, "a page looked through {} positions", cursor - after);
        for r in &rows {
            assert!(r.position > after && r.position <= cursor, "{} outside ({after}, {cursor}]", r.position);
            assert!(pulled(&r.kind), "{} sent", r.kind);
            got.push(r.position);
        }
        after = cursor;
        if !more {
            break;
        }
        assert!(pages < 10_000, "the walk does not end");
    }
    assert_eq!(after, head, "the walk ends at the head");
    assert_eq!(got, expected, "{} of {} entries sent", got.len(), expected.len());
    // A cursor from beyond the head (a restored database) stays where it is.
    let (rows, cursor, more) = store.tx_blocking(false, |c| page_for_pull(c, head + 1_000, 10)).unwrap();
    assert_eq!((rows.len(), cursor, more), (0, head + 1_000, false));
}

both_backends_sync!(
    migrations_run_once,
    sites_round_trip_and_codes_are_unique_per_organisation,
    checkpoints_keep_chinese_text_and_exact_coordinates,
    every_kind_of_role_round_trips,
    a_failed_transaction_leaves_nothing_behind,
    a_panicking_transaction_leaves_the_pool_whole,
    every_way_a_transaction_ends_gives_the_connection_back,
    transactions_waiting_for_a_connection_are_counted,
    placeholders_inside_literals_and_comments_are_text,
    malformed_statements_are_refused_and_change_nothing,
    a_refresh_token_can_be_used_only_once,
    login_budgets_are_taken_atomically_and_refill,
    concurrent_writers_all_land,
    reads_outside_a_transaction_see_each_commit_and_leave_nothing_open,
    a_read_cannot_write,
    the_sign_in_read_says_what_its_parts_say,
    a_read_finding_every_connection_busy_gives_up_at_the_timeout,
    a_photo_completes_alike_at_once_or_in_a_transaction,
    a_pull_steps_over_what_it_does_not_send_and_never_past_the_head,
);

/// TLS to PostgreSQL is what the URL asks for (`sslmode=`, `sslrootcert=`): the test
/// server (scripts/lib/env.sh) takes TLS with a certificate from a throwaway CA. With
/// `require` the connection is encrypted; with `verify-full` and that CA it is
/// encrypted and the server's name checked; `verify-full` without the CA (only the
/// public roots) refuses to connect; `disable` stays in the clear.
#[test]
fn postgres_tls_is_what_the_url_asks_for() {
    let Some(admin) = support::postgres_admin_url() else { return };
    let ca = match std::env::var("PATROL_TEST_POSTGRES_CA") {
        Ok(ca) if !ca.is_empty() => ca,
        _ => {
            assert!(std::env::var("CI").is_err(), "CI's PostgreSQL takes TLS (scripts/lib/env.sh)");
            eprintln!("PATROL_TEST_POSTGRES_CA is not set: skipping the TLS test");
            return;
        }
    };
    let base = admin.split('?').next().unwrap();
    let encrypted = |url: &str| -> bool {
        let store = Store::open(url, 1).unwrap_or_else(|e| panic!("{url}: {e}"));
        store
            .tx_blocking(false, |c| {
                c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?.bool(0)
            })
            .unwrap()
    };
    assert!(encrypted(&format!("{base}?sslmode=require")), "require");
    assert!(encrypted(&format!("{base}?sslmode=verify-full&sslrootcert={ca}")), "verify-full with the CA");
    assert!(!encrypted(&format!("{base}?sslmode=disable")), "disable");
    let unverified = Store::open(&format!("{base}?sslmode=verify-full"), 1);
    assert!(unverified.is_err(), "a certificate from an unknown CA was accepted");
}
