//! Marking up a photo (issue 14, item 10): arrows, circles and short texts recorded as
//! a layer beside the sealed original. The photo's file and its record never change;
//! each layer is a record of its own (the newest is shown, an empty one clears it);
//! every malformed mark is refused with the field named and nothing recorded.

use crate::common::*;
use patrol_core::Error;
use patrol_core::photos::{PhotoInput, PhotoSource};
use patrol_protocol::record::PhotoContext;
use patrol_protocol::{MARK_SCALE, MARK_TEXT_MAX, MARKS_MAX, Mark, RecordPayload};
use sha2::{Digest, Sha256};

fn photo(core: &patrol_core::Core) -> String {
    core.add_photo(PhotoInput {
        source: PhotoSource::Bytes { data: jpeg(1200, 900) },
        context: PhotoContext { run_id: None, checkpoint_id: Some(cp(2)), notice_id: None },
        site_id: None,
        captured_at_ms: Some(MORNING_MS + 60_000),
        latitude: None,
        longitude: None,
    })
    .expect("photo stored")
    .sha256
}

fn layer() -> Vec<Mark> {
    vec![
        Mark::Arrow { from_x: 1000, from_y: 1000, to_x: 4800, to_y: 5200 },
        Mark::Circle { x: 5000, y: 5400, radius: 900 },
        Mark::Text { x: 600, y: 8200, text: "此处渗水".into() },
    ]
}

fn record_count(core: &patrol_core::Core) -> usize {
    core.records_after(0, 10_000).unwrap().len()
}

/// A phone with the test world, the officer signed in, and one photo of theirs.
fn phone_with_photo() -> (tempfile::TempDir, patrol_core::Core, String) {
    let dir = tempfile::tempdir().unwrap();
    let core = open_world(dir.path(), &TestClock::at(MORNING_MS), None);
    let sha = photo(&core);
    (dir, core, sha)
}

#[test]
fn a_layer_is_recorded_beside_the_photo_and_the_newest_is_shown() {
    let (dir, core, sha) = phone_with_photo();
    let file = photo_file(dir.path(), &sha);
    let before = std::fs::read(&file).unwrap();
    assert!(core.photo_marks(&sha).unwrap().is_empty(), "no layer yet");

    let first = core.mark_photo(&sha, layer()).expect("marked");
    assert_eq!(core.photo_marks(&sha).unwrap(), layer());
    let recs = core.records_after(0, 100).unwrap();
    let rec = recs.iter().find(|r| r.id == first).expect("the layer is a record of the log");
    assert_eq!(rec.payload, RecordPayload::PhotoMarked { photo: sha.clone(), marks: layer() });

    // A newer layer replaces it where it is shown; an empty one clears it.
    let second = vec![Mark::Circle { x: 2000, y: 2000, radius: 500 }];
    core.mark_photo(&sha, second.clone()).unwrap();
    assert_eq!(core.photo_marks(&sha).unwrap(), second);
    core.mark_photo(&sha, vec![]).unwrap();
    assert!(core.photo_marks(&sha).unwrap().is_empty());

    // Every layer stays in the log; the sealed original is untouched, still named by its hash.
    let layers = core
        .records_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.payload, RecordPayload::PhotoMarked { .. }))
        .count();
    assert_eq!(layers, 3);
    let after = std::fs::read(&file).unwrap();
    assert_eq!(before, after, "the photo's bytes did not change");
    assert_eq!(hex::encode(Sha256::digest(&after)), sha);
    core.verify_log().expect("the chain holds");

    // The layer is a projection of the log: rebuilt, the same one is shown.
    core.mark_photo(&sha, layer()).unwrap();
    core.rebuild_projections().unwrap();
    assert_eq!(core.photo_marks(&sha).unwrap(), layer());
}

#[test]
fn every_malformed_layer_is_refused_with_its_field_and_records_nothing() {
    let (_dir, core, sha) = phone_with_photo();
    let past = MARK_SCALE + 1;
    let long: String = "长".repeat(MARK_TEXT_MAX + 1);
    let mut bad: Vec<(String, Vec<Mark>)> = Vec::new();
    // Each coordinate of each shape, one past the photo's edge.
    for i in 0..4 {
        let mut v = [100u16, 100, 900, 900];
        v[i] = past;
        bad.push((
            format!("arrow coordinate {i}"),
            vec![Mark::Arrow { from_x: v[0], from_y: v[1], to_x: v[2], to_y: v[3] }],
        ));
    }
    for i in 0..3 {
        let mut v = [100u16, 100, 50];
        v[i] = past;
        bad.push((format!("circle value {i}"), vec![Mark::Circle { x: v[0], y: v[1], radius: v[2] }]));
    }
    for i in 0..2 {
        let mut v = [100u16, 100];
        v[i] = past;
        bad.push((format!("text coordinate {i}"), vec![Mark::Text { x: v[0], y: v[1], text: "裂缝".into() }]));
    }
    bad.push(("zero radius".into(), vec![Mark::Circle { x: 10, y: 10, radius: 0 }]));
    bad.push(("arrow of no length".into(), vec![Mark::Arrow { from_x: 5, from_y: 5, to_x: 5, to_y: 5 }]));
    for text in ["", "   ", long.as_str(), "两行\n文字", "制表\t符", "响铃\u{7}"] {
        bad.push((format!("text {text:?}"), vec![Mark::Text { x: 1, y: 1, text: text.into() }]));
    }
    bad.push(("too many marks".into(), vec![Mark::Circle { x: 10, y: 10, radius: 5 }; MARKS_MAX + 1]));
    // A good mark does not carry a bad one through.
    bad.push((
        "one bad among good".into(),
        vec![Mark::Circle { x: 10, y: 10, radius: 5 }, Mark::Circle { x: 10, y: 10, radius: 0 }],
    ));

    let n = record_count(&core);
    for (what, marks) in bad {
        match core.mark_photo(&sha, marks) {
            Err(Error::Invalid { field, en, zh }) => {
                assert_eq!(field, "marks", "{what}");
                assert!(!en.is_empty() && !zh.is_empty(), "{what}: a reason in both languages");
                assert!(!zh.is_ascii(), "{what}: the Chinese reason is Chinese: {zh}");
            }
            other => panic!("{what}: expected a refusal of the marks, got {other:?}"),
        }
        assert_eq!(record_count(&core), n, "{what}: nothing recorded");
    }

    // At the bounds, accepted: the edges, the longest text, the most marks.
    let edge = vec![
        Mark::Arrow { from_x: 0, from_y: 0, to_x: MARK_SCALE, to_y: MARK_SCALE },
        Mark::Circle { x: MARK_SCALE, y: 0, radius: MARK_SCALE },
        Mark::Text { x: MARK_SCALE, y: MARK_SCALE, text: "长".repeat(MARK_TEXT_MAX) },
    ];
    core.mark_photo(&sha, edge.clone()).expect("marks at the bounds");
    assert_eq!(core.photo_marks(&sha).unwrap(), edge);
    core.mark_photo(&sha, vec![Mark::Circle { x: 10, y: 10, radius: 5 }; MARKS_MAX]).expect("the most marks");

    // A photo this phone does not hold, and a name that is no SHA-256.
    let unknown = "ab".repeat(32);
    assert!(matches!(core.mark_photo(&unknown, layer()), Err(Error::NotFound { what: "photo", .. })));
    assert!(matches!(core.photo_marks(&unknown), Err(Error::NotFound { what: "photo", .. })));
    match core.mark_photo("not-a-hash", layer()) {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "photo"),
        other => panic!("expected a refusal of the photo's name, got {other:?}"),
    }
    assert_eq!(record_count(&core), n + 2);
}
