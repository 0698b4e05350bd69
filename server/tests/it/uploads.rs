//! The resumable photo upload, as a protocol: many generated sessions of chunks of
//! random sizes, stale and future offsets, chunks past the end, status questions,
//! two phones' worth of the same last chunk at once, a photo store that goes away
//! at the last chunk, and damaged bytes. After every step the server's answer must
//! match a model of the upload and no photo byte is in the database (chunks wait in
//! the photo store), and at the end the photo is complete exactly once: its bytes
//! served back under its hash, nothing left staged or in the database, one
//! `photo_completed` leaf in the log.

use crate::support;

use axum::http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::phone::{Phone, jpeg, photo_taken};
use support::{Backend, TestServer};

/// Sessions per database: each a different photo and a different walk.
const SESSIONS: u64 = 12;

async fn status(s: &TestServer, phone: &Phone, sha: &str) -> (StatusCode, Value) {
    s.call(Method::GET, &format!("/api/v1/photos/{sha}/upload"), Some(&phone.token), None).await
}

/// (received, complete) in the database, the chunk rows kept and the log's leaves
/// for the photo.
async fn stored(s: &TestServer, sha: &str) -> (i64, bool, i64, i64) {
    s.sequenced().await;
    let sha = sha.to_string();
    s.state
        .store
        .read(move |c| {
            let p = c.query_one(
                "SELECT received, complete FROM photos WHERE sha256 = $1",
                &patrol_server::params![sha.clone()],
            )?;
            let chunks = c
                .query_one("SELECT COUNT(*) FROM photo_chunks WHERE sha256 = $1", &patrol_server::params![sha.clone()])?
                .int(0)?;
            let leaves = c
                .query_one(
                    "SELECT COUNT(*) FROM log_leaves WHERE kind = 'photo_completed' AND subject = $1",
                    &patrol_server::params![sha],
                )?
                .int(0)?;
            Ok((p.int(0)?, p.bool(1)?, chunks, leaves))
        })
        .await
        .unwrap()
}

/// The chunks staged for the photo in the (local) photo store.
fn staged(s: &TestServer, sha: &str) -> usize {
    let dir = s.dir.0.join("objects").join("staging").join(&sha[..2]).join(sha);
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Moves the photo store away (its directory replaced by a plain file) or back.
fn photo_store(s: &TestServer, present: bool) {
    let (objects, away) = (s.dir.0.join("objects"), s.dir.0.join("objects.away"));
    if present {
        std::fs::remove_file(&objects).unwrap();
        std::fs::rename(&away, &objects).unwrap();
    } else {
        std::fs::rename(&objects, &away).unwrap();
        std::fs::write(&objects, b"not a directory").unwrap();
    }
}

async fn one_session(s: &TestServer, phone: &mut Phone, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (bytes, sha) = jpeg(seed as u8 ^ 0xA5);
    phone.record(s, photo_taken(&sha, bytes.len(), None, None));
    phone.push(s).await;
    let size = bytes.len();
    let mut received = 0usize;
    let mut steps = 0;
    let outage_at_last = rng.gen_bool(0.3);
    let twin_last = rng.gen_bool(0.3);
    let damage_once = rng.gen_bool(0.3);
    let mut damaged = false;
    loop {
        steps += 1;
        assert!(steps < 200, "seed {seed}: the upload never finished");
        let remaining = size - received;
        match rng.gen_range(0..10) {
            // A chunk at a stale offset (one already sent) or a future one.
            0 if received > 0 => {
                let at = rng.gen_range(0..received);
                let (st, body) = phone.upload(s, &sha, &bytes[at..received], at).await;
                assert_eq!(st, StatusCode::CONFLICT, "seed {seed}: stale offset {at}: {body}");
                assert_eq!(body["reason"], "offset_mismatch", "{body}");
            }
            1 => {
                let at = received + rng.gen_range(1..=remaining);
                let (st, body) = phone.upload(s, &sha, &bytes[..1], at).await;
                assert_eq!(st, StatusCode::CONFLICT, "seed {seed}: future offset {at}: {body}");
            }
            // A chunk that would run past the photo's size.
            2 => {
                let mut over = bytes[received..].to_vec();
                over.extend_from_slice(b"extra");
                let (st, body) = phone.upload(s, &sha, &over, received).await;
                assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "seed {seed}: {body}");
            }
            3 => {
                let (st, body) = status(s, phone, &sha).await;
                assert_eq!(st, StatusCode::OK, "{body}");
                assert_eq!(body["received"].as_u64(), Some(received as u64), "seed {seed}: {body}");
                assert_eq!(body["complete"], false);
            }
            // The next chunk, of a random size; the last one may meet trouble.
            _ => {
                let len = rng.gen_range(1..=remaining.min(1 + size / 3).max(1));
                let len = if rng.gen_bool(0.3) { remaining } else { len };
                let last = received + len == size;
                if last && damage_once && !damaged {
                    damaged = true;
                    let mut bad = bytes[received..].to_vec();
                    let i = bad.len() / 2;
                    bad[i] ^= 0x55;
                    let (st, body) = phone.upload(s, &sha, &bad, received).await;
                    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "seed {seed}: damaged: {body}");
                    assert_eq!(body["field"], "hash_mismatch", "{body}");
                    // The upload starts over: nothing kept.
                    assert_eq!(stored(s, &sha).await, (0, false, 0, 0), "seed {seed}");
                    assert_eq!(staged(s, &sha), 0, "seed {seed}: staged chunks forgotten");
                    received = 0;
                    continue;
                }
                if last && outage_at_last {
                    photo_store(s, false);
                    let (st, body) = phone.upload(s, &sha, &bytes[received..], received).await;
                    photo_store(s, true);
                    assert!(st.is_server_error(), "seed {seed}: store away: {st} {body}");
                    assert_eq!(body["reason"], "photo_store_down", "{body}");
                    // Everything is kept: the next status question finishes the photo.
                    let (st, body) = status(s, phone, &sha).await;
                    assert_eq!((st, body["complete"].as_bool()), (StatusCode::OK, Some(true)), "seed {seed}: {body}");
                    break;
                }
                if last && twin_last {
                    let (a, b) = tokio::join!(
                        phone.upload(s, &sha, &bytes[received..], received),
                        phone.upload(s, &sha, &bytes[received..], received)
                    );
                    let done =
                        [&a, &b].iter().filter(|(st, body)| *st == StatusCode::OK && body["complete"] == true).count();
                    assert!(done >= 1, "seed {seed}: one of two equal last chunks completes: {a:?} {b:?}");
                    for (st, body) in [&a, &b] {
                        assert!(
                            *st == StatusCode::OK
                                || body["reason"] == "offset_moved_on"
                                || body["reason"] == "offset_mismatch",
                            "seed {seed}: {st} {body}"
                        );
                    }
                    break;
                }
                let (st, body) = phone.upload(s, &sha, &bytes[received..received + len], received).await;
                assert_eq!(st, StatusCode::OK, "seed {seed}: chunk at {received}+{len} of {size}: {body}");
                received += len;
                assert_eq!(body["received"].as_u64(), Some(received as u64), "{body}");
                if last {
                    assert_eq!(body["complete"], true, "{body}");
                    break;
                }
                let (r, complete, rows, _) = stored(s, &sha).await;
                assert_eq!((r as usize, complete), (received, false), "seed {seed}");
                assert_eq!(rows, 0, "seed {seed}: no photo byte in the database");
                assert!(staged(s, &sha) >= 1, "seed {seed}: an early chunk is staged in the store");
            }
        }
    }
    // Complete exactly once, nothing left behind, the bytes are the photo's.
    let (r, complete, chunks, leaves) = stored(s, &sha).await;
    assert_eq!((r as usize, complete, chunks, leaves), (size, true, 0, 1), "seed {seed}");
    assert_eq!(staged(s, &sha), 0, "seed {seed}: nothing left staged");
    let (st, body) = phone.upload(s, &sha, &bytes[..1], 0).await;
    assert_eq!((st, body["complete"].as_bool()), (StatusCode::OK, Some(true)), "a complete photo stays complete");
    let req = axum::http::Request::builder()
        .uri(format!("/api/v1/photos/{sha}"))
        .header("authorization", format!("Bearer {}", phone.token))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    let got = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&got)), sha, "seed {seed}: the stored bytes");
}

async fn generated_upload_sessions_end_with_the_photo_complete_once(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut phone = Phone::sign_in(&s, "patrol").await;
    for seed in 0..SESSIONS {
        one_session(&s, &mut phone, seed).await;
    }
    // Someone who never cited a photo learns nothing of it.
    let other = Phone::sign_in(&s, "eng.head").await;
    let (bytes, sha) = jpeg(0xA5);
    let (st, body) = other.upload(&s, &sha, &bytes, 0).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["reason"], "photo_not_cited", "{body}");
}

/// An upload abandoned for a month: the sweep (a job) deletes its staged chunks and
/// leaves a fresh upload's alone; the phone that comes back is told to start over,
/// and does, and the photo completes.
async fn staged_chunks_of_an_abandoned_upload_are_swept_and_the_photo_starts_over(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut phone = Phone::sign_in(&s, "patrol").await;
    let (old_bytes, old_sha) = jpeg(201);
    let (new_bytes, new_sha) = jpeg(202);
    phone.record(&s, photo_taken(&old_sha, old_bytes.len(), None, None));
    phone.record(&s, photo_taken(&new_sha, new_bytes.len(), None, None));
    phone.push(&s).await;
    for (bytes, sha) in [(&old_bytes, &old_sha), (&new_bytes, &new_sha)] {
        let (st, body) = phone.upload(&s, sha, &bytes[..100], 0).await;
        assert_eq!((st, body["received"].as_u64()), (StatusCode::OK, Some(100)), "{body}");
        assert_eq!(staged(&s, sha), 1);
    }
    // The first upload's chunk was written 31 days ago.
    let dir = s.dir.0.join("objects").join("staging").join(&old_sha[..2]).join(&old_sha);
    let chunk = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let month_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(31 * 86_400);
    std::fs::File::options().write(true).open(&chunk).unwrap().set_modified(month_ago).unwrap();
    let tick = patrol_server::jobs::run_due(&s.state).await.unwrap();
    assert!(tick.ran.contains(&"sweep_staged"), "{tick:?}");
    assert_eq!(tick.staged_swept, 1, "{tick:?}");
    assert_eq!((staged(&s, &old_sha), staged(&s, &new_sha)), (0, 1), "only the abandoned chunk went");
    // The phone comes back with the rest: the kept piece is gone, so it starts over.
    let (st, body) = phone.upload(&s, &old_sha, &old_bytes[100..], 100).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["reason"], "offset_mismatch", "{body}");
    let (st, body) = status(&s, &phone, &old_sha).await;
    assert_eq!((st, body["received"].as_u64()), (StatusCode::OK, Some(0)), "{body}");
    let (st, body) = phone.upload(&s, &old_sha, &old_bytes, 0).await;
    assert_eq!((st, body["complete"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    // The fresh upload goes on where it stood.
    let (st, body) = phone.upload(&s, &new_sha, &new_bytes[100..], 100).await;
    assert_eq!((st, body["complete"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    assert_eq!((staged(&s, &old_sha), staged(&s, &new_sha)), (0, 0));
}

both_backends!(
    generated_upload_sessions_end_with_the_photo_complete_once,
    staged_chunks_of_an_abandoned_upload_are_swept_and_the_photo_starts_over
);
