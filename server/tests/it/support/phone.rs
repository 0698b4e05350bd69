//! A minimal phone for API-level tests: a signed-in person with a record chain and
//! the HTTP calls of the sync protocol, plus the demo's reference data and photos.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::notice::{NoticeAction, Severity};
use patrol_protocol::record::{GENESIS_HASH, PhotoContext, Record, RecordPayload};
use patrol_server::clock::Clock;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::TestServer;

/// A phone as far as the protocol cares: a signed-in person and a record chain.
pub struct Phone {
    pub login: String,
    pub token: String,
    pub person: Id,
    pub device: Id,
    pub seq: u64,
    pub prev: String,
    pub queued: Vec<Record>,
}

impl Phone {
    pub async fn sign_in(s: &TestServer, login: &str) -> Phone {
        Self::sign_in_with(s, login, &s.password(login)).await
    }

    pub async fn sign_in_with(s: &TestServer, login: &str, password: &str) -> Phone {
        let device = Id::now_v7();
        let (status, body) = s
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"login": login, "password": password, "device_id": device})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        Phone {
            login: login.into(),
            token: body["access_token"].as_str().unwrap().into(),
            person: body["person_id"].as_str().unwrap().parse().unwrap(),
            device,
            seq: 0,
            prev: GENESIS_HASH.into(),
            queued: vec![],
        }
    }

    /// Signs in again on the same device: access tokens last minutes, tests skip hours.
    pub async fn renew(&mut self, s: &TestServer) {
        let (status, body) = s
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(
                    json!({"login": self.login.clone(), "password": s.password(&self.login), "device_id": self.device}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.token = body["access_token"].as_str().unwrap().into();
    }

    pub fn record(&mut self, s: &TestServer, payload: RecordPayload) -> Record {
        self.record_at(s.clock.now_ms(), payload)
    }

    /// A record made when the phone's own clock read `device_time_ms`.
    pub fn record_at(&mut self, device_time_ms: i64, payload: RecordPayload) -> Record {
        self.seq += 1;
        let r = Record {
            id: Id::now_v7(),
            author: self.person,
            device: self.device,
            seq: self.seq,
            device_time_ms,
            prev_hash: self.prev.clone(),
            payload,
        };
        self.prev = r.hash();
        self.queued.push(r.clone());
        r
    }

    /// A push body with clock evidence, as the phone core sends it: the server's
    /// signed time from `/sync/status` just before, no time elapsed since.
    pub async fn push_body(&self, s: &TestServer, records: &[Record], behind_ms: i64) -> Value {
        let (status, st) = s
            .call(Method::GET, &format!("/api/v1/sync/status?device_id={}", self.device), Some(&self.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{st}");
        json!({
            "device_id": self.device,
            "sent_at_ms": s.clock.now_ms() - behind_ms,
            "records": records,
            "clock": {"time_token": st["time_token"], "elapsed_ms": 0},
        })
    }

    pub async fn push_records(&self, s: &TestServer, records: &[Record]) -> (StatusCode, Value) {
        let body = self.push_body(s, records, 0).await;
        s.call(Method::POST, "/api/v1/sync/push", Some(&self.token), Some(body)).await
    }

    /// Pushes everything queued; returns the response.
    pub async fn push(&mut self, s: &TestServer) -> Value {
        let (status, body) = self.push_records(s, &self.queued.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.queued.clear();
        body
    }

    /// Pushes everything queued from a phone whose clock is `behind_ms` behind the server's.
    pub async fn push_skewed(&mut self, s: &TestServer, behind_ms: i64) -> Value {
        let body = self.push_body(s, &self.queued.clone(), behind_ms).await;
        let (status, body) = s.call(Method::POST, "/api/v1/sync/push", Some(&self.token), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.queued.clear();
        body
    }

    pub async fn pull(&self, s: &TestServer, cursor: &str) -> Value {
        let (status, body) =
            s.call(Method::GET, &format!("/api/v1/sync/pull?cursor={cursor}"), Some(&self.token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn upload(&self, s: &TestServer, sha: &str, bytes: &[u8], offset: usize) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/photos/{sha}/upload?offset={offset}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/octet-stream")
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        s.send(req).await
    }
}

/// A small real JPEG of a solid colour, different per `seed`.
pub fn jpeg(seed: u8) -> (Vec<u8>, String) {
    // The seed's eight bits as eight 8-pixel stripes: every seed gives a different
    // image after JPEG quantisation (a flat colour per seed did not: neighbouring
    // seeds could encode to the same bytes, and so the same photo).
    let img = image::RgbImage::from_fn(64, 48, |x, _| {
        if (seed >> (x / 8)) & 1 == 1 { image::Rgb([230, 60, 60]) } else { image::Rgb([20, 120, 200]) }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    let sha = hex::encode(Sha256::digest(&out));
    (out, sha)
}

pub fn photo_taken(sha: &str, bytes: usize, run: Option<Id>, notice: Option<Id>) -> RecordPayload {
    RecordPayload::PhotoTaken {
        sha256: sha.into(),
        bytes: bytes as u64,
        width: 64,
        height: 48,
        captured_at_ms: 0,
        latitude: Some(31.23),
        longitude: Some(121.47),
        context: PhotoContext { run_id: run, checkpoint_id: None, notice_id: notice },
    }
}

pub struct Demo {
    pub reference: Value,
}

impl Demo {
    pub fn dept(&self, kind: &str) -> Id {
        let d = self.reference["departments"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap();
        d["id"].as_str().unwrap().parse().unwrap()
    }
    pub fn site(&self) -> Id {
        self.reference["sites"][0]["id"].as_str().unwrap().parse().unwrap()
    }
    pub fn route(&self, i: usize) -> &Value {
        &self.reference["routes"][i]
    }
    pub fn checkpoint(&self, id: &Value) -> &Value {
        self.reference["checkpoints"].as_array().unwrap().iter().find(|c| &c["id"] == id).unwrap()
    }
}

pub fn notice(site: Id, dept: Id, text: &str, photos: Vec<String>, due_ms: i64) -> (Id, RecordPayload) {
    let id = Id::now_v7();
    let p = RecordPayload::NoticeRaised {
        notice_id: id,
        site_id: site,
        department_id: dept,
        checkpoint_id: None,
        run_id: None,
        location: "3号楼".into(),
        description: text.into(),
        severity: Severity::General,
        due_ms,
        photos,
    };
    (id, p)
}

pub fn act(
    notice_id: Id,
    action: NoticeAction,
    reason: &str,
    photos: Vec<String>,
    reassign_to: Option<Id>,
) -> RecordPayload {
    RecordPayload::NoticeActed { notice_id, action, reason: reason.into(), photos, reassign_to, new_due_ms: None }
}
