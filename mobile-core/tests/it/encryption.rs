//! The phone's store encrypted at rest (SQLCipher): no record readable in the files, a
//! wrong key refused with nothing changed, the key changed, and a plain store from an
//! app version before encryption encrypted on its first open with a key.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use patrol_core::notices::NoticeDraft;
use patrol_core::{Core, CoreConfig, Error, PatrolCore, PatrolError};
use patrol_protocol::notice::Severity;

/// What a lost phone's files must not give away: a notice's description.
const SECRET: &str = "ZEBRA-7731 地下车库B1层消防门被堵住";
const OTHER_KEY: [u8; 32] = [0x5a; 32];
const THIRD_KEY: [u8; 32] = *b"another-32-byte-key-for-rotation";

fn keyed(dir: &Path, key: Option<&[u8]>) -> CoreConfig {
    CoreConfig { store_key: key.map(<[u8]>::to_vec), ..config(dir, None) }
}

/// A world on `dir` with one notice carrying [`SECRET`]; returns the open core.
fn world_with_secret(dir: &Path, key: Option<&[u8]>) -> Core {
    let clock = TestClock::at(MORNING_MS);
    let core = Core::open_with_clock(keyed(dir, key), clock.as_clock()).expect("open");
    core.load_reference_json(&bundle_json()).unwrap();
    core.sign_in_locally(patrol_staff()).unwrap();
    core.create_notice(NoticeDraft {
        site_id: site(),
        department_id: engineering(),
        checkpoint_id: Some(cp(2)),
        location: String::new(),
        run_id: None,
        description: SECRET.into(),
        severity: Severity::Serious,
        due_ms: MORNING_MS + 3_600_000,
        photos: vec![],
    })
    .unwrap();
    core
}

/// Every file of the store (the database, its log and shared memory) by name, with
/// its bytes: what someone who copied the phone's files would hold.
fn store_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Which of the files hold `needle` (in UTF-8, as SQLite stores text).
fn files_holding(files: &BTreeMap<String, Vec<u8>>, needle: &str) -> Vec<String> {
    let n = needle.as_bytes();
    files.iter().filter(|(_, bytes)| bytes.windows(n.len()).any(|w| w == n)).map(|(name, _)| name.clone()).collect()
}

/// The files that differ between two looks, by name.
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names.into_iter().filter(|n| a.get(*n) != b.get(*n)).cloned().collect()
}

fn starts_plain(dir: &Path) -> bool {
    std::fs::read(dir.join("patrol.sqlite")).unwrap().starts_with(b"SQLite format 3\0")
}

#[test]
fn an_encrypted_store_holds_no_plaintext_of_a_record() {
    // The same day on a plain store first: the search below finds the text there, so
    // it would find it in an encrypted store that leaked it.
    let plain = tempfile::tempdir().unwrap();
    let core = world_with_secret(plain.path(), None);
    let files = store_files(plain.path());
    assert!(files.contains_key("patrol.sqlite-wal"), "the log is there while the core is open: {:?}", files.keys());
    assert!(!files_holding(&files, SECRET).is_empty(), "a plain store shows the description");
    assert!(!files_holding(&files, "Jinyuan Garden").is_empty());
    drop(core);

    let dir = tempfile::tempdir().unwrap();
    let core = world_with_secret(dir.path(), Some(&TEST_KEY));
    // While open (the records sit in the write-ahead log) …
    let files = store_files(dir.path());
    assert!(
        files.get("patrol.sqlite-wal").is_some_and(|w| !w.is_empty()),
        "records wait in the log: {:?}",
        files.keys()
    );
    for needle in [SECRET, "ZEBRA-7731", "Jinyuan Garden", "锦园小区", "qr-token-cp1", "SQLite format 3", "device_id"]
    {
        assert_eq!(files_holding(&files, needle), Vec::<String>::new(), "{needle:?} readable in the files");
    }
    // … and after the last close has folded the log into the file.
    assert_eq!(core.verify_log().unwrap(), 1);
    drop(core);
    let files = store_files(dir.path());
    assert!(!files.contains_key("patrol.sqlite-wal"), "{:?}", files.keys());
    assert_eq!(files_holding(&files, SECRET), Vec::<String>::new());
    assert_eq!(files_holding(&files, "ZEBRA"), Vec::<String>::new());
    assert!(!starts_plain(dir.path()));

    // With the key it all reads back.
    let core = Core::open(config(dir.path(), None)).unwrap();
    assert_eq!(core.list_notices(10).unwrap()[0].description, SECRET);
    assert_eq!(core.verify_log().unwrap(), 1);
}

/// The store's data: the database and its write-ahead log. (`-shm` is SQLite's
/// shared-memory index of the log, rebuilt from the log whenever it is stale; an open
/// may rewrite it, which changes no data.)
fn data_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = store_files(dir);
    files.retain(|name, _| !name.ends_with("-shm"));
    files
}

#[test]
fn a_wrong_key_is_refused_clearly_and_changes_nothing() {
    // The files as a kill leaves them: records still in the log, not yet folded into
    // the database (a copy taken while a core is open; every call committed with
    // synchronous = FULL). The last close of a connection would fold them in: a
    // refused open must not.
    let live = tempfile::tempdir().unwrap();
    let open = world_with_secret(live.path(), Some(&TEST_KEY));
    open.sign_out_locally().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in ["patrol.sqlite", "patrol.sqlite-wal"] {
        std::fs::copy(live.path().join(name), dir.path().join(name)).unwrap();
    }
    drop(open);
    let before = data_files(dir.path());
    assert!(before["patrol.sqlite-wal"].len() > 4096, "the log holds the records");

    for key in [Some(&OTHER_KEY[..]), None, Some(&OTHER_KEY[..])] {
        let refused = Core::open(keyed(dir.path(), key)).err().expect("a wrong key does not open the store");
        assert!(matches!(refused, Error::WrongKey), "{refused:?}");
        match PatrolCore::open(keyed(dir.path(), key)).err().expect("refused through the FFI too") {
            PatrolError::WrongKey { detail, detail_zh } => {
                assert!(detail.contains("key") && detail.contains("nothing was changed"), "{detail}");
                assert!(detail_zh.contains("密钥") && detail_zh.contains("未作任何改动"), "{detail_zh}");
            }
            other => panic!("not WrongKey: {other:?}"),
        }
        assert_eq!(changed(&before, &data_files(dir.path())), Vec::<String>::new(), "a refused open changed files");
    }

    // A key of the wrong length is bad input, refused before the files are looked at.
    match PatrolCore::open(keyed(dir.path(), Some(&TEST_KEY[..16]))).err().unwrap() {
        PatrolError::InvalidInput { field, reason, reason_zh } => {
            assert_eq!(field, "store_key");
            assert!(reason.contains("32 bytes") && reason.contains("16"), "{reason}");
            assert!(reason_zh.contains("32 字节"), "{reason_zh}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(changed(&before, &data_files(dir.path())), Vec::<String>::new());

    // The right key still opens everything, the signed-out state in the log included.
    let core = Core::open(config(dir.path(), None)).unwrap();
    assert_eq!(core.list_notices(10).unwrap()[0].description, SECRET);
    assert_eq!(core.signed_in().unwrap(), None);
    assert_eq!(core.verify_log().unwrap(), 1);
}

#[test]
fn a_changed_key_opens_the_store_and_the_old_one_no_longer_does() {
    let dir = tempfile::tempdir().unwrap();
    let core = world_with_secret(dir.path(), Some(&TEST_KEY));
    let photo = core
        .add_photo(patrol_core::photos::PhotoInput {
            source: patrol_core::photos::PhotoSource::Bytes { data: jpeg(320, 240) },
            context: patrol_protocol::record::PhotoContext {
                run_id: None,
                checkpoint_id: Some(cp(1)),
                notice_id: None,
            },
            site_id: Some(site()),
            captured_at_ms: Some(MORNING_MS),
            latitude: None,
            longitude: None,
        })
        .unwrap();

    // The same key again, or a key of the wrong length: refused, nothing changes.
    assert!(matches!(core.rekey_store(&TEST_KEY), Err(Error::Invalid { ref field, .. }) if field == "new_key"));
    assert!(matches!(core.rekey_store(&[1, 2, 3]), Err(Error::Invalid { ref field, .. }) if field == "new_key"));

    core.rekey_store(&OTHER_KEY).unwrap();
    // The open core goes on, on the new key: reads and writes.
    assert_eq!(core.list_notices(10).unwrap()[0].description, SECRET);
    core.sign_out_locally().unwrap();
    core.sign_in_locally(patrol_staff()).unwrap();
    core.start_run(route()).unwrap();
    assert_eq!(core.verify_log().unwrap(), 3);
    drop(core);

    let files = store_files(dir.path());
    assert_eq!(files_holding(&files, SECRET), Vec::<String>::new());
    assert!(!files.keys().any(|f| f.contains("rekeying")), "{:?}", files.keys());
    assert!(
        matches!(Core::open(keyed(dir.path(), Some(&TEST_KEY))), Err(Error::WrongKey)),
        "the old key still opens it"
    );
    assert_eq!(changed(&files, &data_files(dir.path())), Vec::<String>::new(), "the refused old key changed files");

    let core = Core::open(keyed(dir.path(), Some(&OTHER_KEY))).unwrap();
    assert_eq!(core.verify_log().unwrap(), 3);
    assert_eq!(core.list_notices(10).unwrap()[0].description, SECRET);
    assert!(photo_file(dir.path(), &photo.sha256).exists());
    assert_eq!(core.queue_status().unwrap().queued_photos, 1);

    // And again, through the FFI, to a third key.
    drop(core);
    let core = PatrolCore::open(keyed(dir.path(), Some(&OTHER_KEY))).unwrap();
    core.rekey_store(THIRD_KEY.to_vec()).unwrap();
    match core.rekey_store(vec![0; 31]).unwrap_err() {
        PatrolError::InvalidInput { field, reason_zh, .. } => assert!(field == "new_key" && reason_zh.contains("32")),
        other => panic!("{other:?}"),
    }
    drop(core);
    assert!(matches!(Core::open(keyed(dir.path(), Some(&OTHER_KEY))), Err(Error::WrongKey)));
    assert_eq!(Core::open(keyed(dir.path(), Some(&THIRD_KEY))).unwrap().verify_log().unwrap(), 3);
}

#[test]
fn a_plain_store_from_an_older_app_is_encrypted_on_its_first_open_with_a_key() {
    // The older app, without a key; its last session was killed, so records still sit
    // in its log: the files as a kill leaves them are a copy taken while it is open
    // (every call was committed with synchronous = FULL).
    let older = tempfile::tempdir().unwrap();
    let old = world_with_secret(older.path(), None);
    let device = old.device_id();
    assert_eq!(old.verify_log().unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    for name in ["patrol.sqlite", "patrol.sqlite-wal"] {
        std::fs::copy(older.path().join(name), dir.path().join(name)).unwrap();
    }
    drop(old);
    assert!(std::fs::metadata(dir.path().join("patrol.sqlite-wal")).unwrap().len() > 0);
    assert!(starts_plain(dir.path()));
    // A copy a kill left behind during an earlier attempt is cleared, not trusted.
    std::fs::write(dir.path().join("patrol.sqlite.rekeying"), b"half a copy").unwrap();
    let before = store_files(dir.path());
    assert!(!files_holding(&before, SECRET).is_empty(), "the plain store shows the description");

    let core = Core::open(config(dir.path(), None)).expect("the new app opens the old store with its key");
    assert_eq!(core.device_id(), device);
    assert_eq!(core.verify_log().unwrap(), 1, "every record came over, the chain intact");
    assert_eq!(core.list_notices(10).unwrap()[0].description, SECRET);
    assert_eq!(core.signed_in().unwrap().unwrap().person_id, patrol_person());
    drop(core);

    assert!(!starts_plain(dir.path()));
    let files = store_files(dir.path());
    assert_eq!(files_holding(&files, SECRET), Vec::<String>::new(), "{:?}", files.keys());
    assert!(!files.keys().any(|f| f.contains("rekeying")), "{:?}", files.keys());
    assert!(matches!(Core::open(keyed(dir.path(), None)), Err(Error::WrongKey)), "no longer opens without the key");
    assert!(matches!(Core::open(keyed(dir.path(), Some(&OTHER_KEY))), Err(Error::WrongKey)));
    assert_eq!(Core::open(config(dir.path(), None)).unwrap().verify_log().unwrap(), 1);
}

#[test]
fn a_file_that_is_no_store_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("patrol.sqlite"), vec![0x42u8; 8192]).unwrap();
    let before = data_files(dir.path());
    assert!(matches!(Core::open(config(dir.path(), None)), Err(Error::WrongKey)));
    assert_eq!(changed(&before, &store_files(dir.path())), Vec::<String>::new());
}

#[test]
fn a_key_change_cut_short_before_the_swap_leaves_the_store_under_the_old_key() {
    use patrol_core::store::cipher::{StoreKey, apply_key, copy_path, export_copy};
    let dir = tempfile::tempdir().unwrap();
    drop(world_with_secret(dir.path(), Some(&TEST_KEY)));
    let path = dir.path().join("patrol.sqlite");
    // The copy under the new key was written and synced, then the phone died before
    // the rename (what `rekey` does first, done here by hand).
    let conn = rusqlite::Connection::open(&path).unwrap();
    apply_key(&conn, Some(&StoreKey::from_bytes("k", &TEST_KEY).unwrap())).unwrap();
    let copy = export_copy(&conn, &path, &StoreKey::from_bytes("k", &OTHER_KEY).unwrap()).unwrap();
    drop(conn);
    assert_eq!(copy, copy_path(&path));
    assert!(copy.exists());

    // The app tries its pending key after the current one: here the current one is
    // right, the new one does not open the store, and the half-done copy goes.
    assert!(matches!(Core::open(keyed(dir.path(), Some(&OTHER_KEY))), Err(Error::WrongKey)));
    assert!(copy.exists(), "a refused open removes nothing");
    let core = Core::open(config(dir.path(), None)).unwrap();
    assert_eq!(core.verify_log().unwrap(), 1);
    assert!(!copy.exists(), "the stale copy is removed at open");
}
