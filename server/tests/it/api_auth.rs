//! Stories of signing in and being kept out: tokens, refresh rotation, rate limits,
//! and the policy's site and role scopes, over the real router.

use crate::support;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;
use support::{Backend, TestServer};

async fn demo_patrol_officer_reads_their_site_but_not_the_admin_api(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let site = s.site_id().await;
    let login = s.login("patrol").await;
    assert_eq!(login["token_type"], "Bearer");
    assert!(login["refresh_token"].as_str().unwrap().len() >= 40);
    let token = login["access_token"].as_str().unwrap();
    let (status, cps) = s.call(Method::GET, &format!("/api/v1/sites/{site}/checkpoints"), Some(token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cps.as_array().unwrap().len(), 14);
    assert!(cps[0]["checklist"].as_array().unwrap().len() >= 2);
    let (status, body) =
        s.call(Method::POST, "/api/v1/sites", Some(token), Some(json!({"code": "XY", "name_zh": "新园"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "forbidden");
    assert!(body["message"].as_str().unwrap().len() > 5);
}

async fn a_head_of_cleaning_at_site_a_cannot_read_site_b(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let site_a = s.site_id().await;
    let admin = s.token("admin").await;
    let (status, b) = s
        .call(
            Method::POST,
            "/api/v1/sites",
            Some(&admin),
            Some(json!({"code": "HY", "name_zh": "华苑", "name_en": "Hua Court"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let site_b = b["id"].as_str().unwrap();
    let head = s.token("clean.head").await;
    for what in ["checkpoints", "routes", "departments", "schedules"] {
        let (ok, _) = s.call(Method::GET, &format!("/api/v1/sites/{site_a}/{what}"), Some(&head), None).await;
        assert_eq!(ok, StatusCode::OK, "{what} of A");
        let (denied, body) = s.call(Method::GET, &format!("/api/v1/sites/{site_b}/{what}"), Some(&head), None).await;
        assert_eq!(denied, StatusCode::FORBIDDEN, "{what} of B");
        assert_eq!(body["error"], "forbidden");
    }
    let (_, visible) = s.call(Method::GET, "/api/v1/sites", Some(&head), None).await;
    assert_eq!(visible.as_array().unwrap().len(), 1);
    assert_eq!(visible[0]["id"].as_str().unwrap(), site_a);
    let (status, _) = s.call(Method::GET, "/api/v1/people", Some(&head), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The organisation supervisor sees both.
    let manager = s.token("manager").await;
    let (_, visible) = s.call(Method::GET, "/api/v1/sites", Some(&manager), None).await;
    assert_eq!(visible.as_array().unwrap().len(), 2);
}

async fn an_expired_or_foreign_token_is_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let token = s.token("supervisor").await;
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    // Signed by a key this server never had, with the server's own key id.
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let other =
        patrol_server::auth::tokens::Keys::from_stored(&[(kid, patrol_server::auth::tokens::Keys::new_seed_hex())])
            .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let forged = other.sign(&serde_json::from_value(claims).unwrap());
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&forged), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    // Fifteen minutes later the real one has expired.
    s.clock.advance_ms(15 * 60 * 1000 + 1);
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_expired")));
}

async fn alg_none_and_hs256_with_the_public_key_are_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let token = s.token("supervisor").await;
    let payload = token.split('.').nth(1).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let none_header = B64.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&format!("{none_header}.{payload}.")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let public = s.state.keys.read().unwrap().public_key_bytes();
    assert_eq!(public.len(), 32);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let claims: serde_json::Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    let forged = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(&public)).unwrap();
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&forged), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
}

async fn a_reused_refresh_token_revokes_the_family(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let device = uuid::Uuid::now_v7();
    let (_, first) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "patrol", "password": s.password("patrol"), "device_id": device})),
        )
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let (status, second) = s
        .call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": r1, "device_id": device})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    // Someone replays the first token after the retry grace: refused, and the family
    // dies with it.
    s.clock.advance_ms(patrol_server::auth::REFRESH_GRACE_MS + 1);
    let (status, body) = s
        .call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": r1, "device_id": device})))
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("refresh_reused")));
    let (status, body) = s
        .call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": r2, "device_id": device})))
        .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("refresh_revoked")));
    // A token bound to one device does not work from another.
    let (_, other) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "patrol", "password": s.password("patrol"), "device_id": device})),
        )
        .await;
    let r3 = other["refresh_token"].as_str().unwrap();
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r3, "device_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Logging out ends a fresh login's family.
    let (_, fresh) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "patrol", "password": s.password("patrol"), "device_id": device})),
        )
        .await;
    let r4 = fresh["refresh_token"].as_str().unwrap();
    let (status, _) = s.call(Method::POST, "/api/v1/auth/logout", None, Some(json!({"refresh_token": r4}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": r4, "device_id": device})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn the_sixth_wrong_password_in_a_minute_is_answered_429(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let wrong = json!({"login": "patrol", "password": "not-the-password", "device_id": uuid::Uuid::now_v7()});
    for i in 1..=5 {
        let (status, body) = s.call(Method::POST, "/api/v1/auth/login", None, Some(wrong.clone())).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
            "attempt {i}"
        );
    }
    let (status, body) = s.call(Method::POST, "/api/v1/auth/login", None, Some(wrong.clone())).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")));
    // Even the right password waits until the minute is over, from the same address
    // on a new device (auth_stories: the owner elsewhere or on a known phone is not).
    let right = json!({"login": "patrol", "password": s.password("patrol"), "device_id": uuid::Uuid::now_v7()});
    let (status, _) = s.call(Method::POST, "/api/v1/auth/login", None, Some(right.clone())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not locked out by someone guessing at this one.
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "admin", "password": s.password("admin"), "device_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance_ms(61_000);
    let (status, _) = s.call(Method::POST, "/api/v1/auth/login", None, Some(right)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn bad_input_gets_a_clear_json_error_and_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let admin = s.token("admin").await;
    let (status, body) =
        s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(json!({"code": "jy-1", "name_zh": "小区"}))).await;
    assert_eq!(
        (status, body["error"].as_str(), body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"), Some("code"))
    );
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sites")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let (status, body) = s.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request");
    let huge = "x".repeat(6 * 1024 * 1024);
    let (status, body) =
        s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(json!({"code": "AB", "name_zh": huge}))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    let (status, body) = s.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let site = s.site_id().await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/routes"),
            Some(&admin),
            Some(json!({"name_zh": "线路", "checkpoint_ids": [uuid::Uuid::now_v7()]})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("checkpoint_ids")));
    let (_, sites) = s.call(Method::GET, "/api/v1/sites", Some(&admin), None).await;
    assert_eq!(sites.as_array().unwrap().len(), 1, "nothing was created");
    let (_, routes) = s.call(Method::GET, &format!("/api/v1/sites/{site}/routes"), Some(&admin), None).await;
    assert_eq!(routes.as_array().unwrap().len(), 2);
    let (status, body) = s.call(Method::GET, "/api/v1/nowhere", Some(&admin), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, _) = s.call(Method::GET, &format!("/api/v1/sites/{}", uuid::Uuid::now_v7()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn an_administrator_sets_up_a_site_end_to_end(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let admin = s.token("admin").await;
    let (status, site) = s
        .call(
            Method::POST,
            "/api/v1/sites",
            Some(&admin),
            Some(json!({"code": "HY", "name_zh": "华苑", "name_en": "Hua Court"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let site_id = site["id"].as_str().unwrap();
    let (status, dept) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/departments"),
            Some(&admin),
            Some(json!({"kind": "engineering"})),
        )
        .await;
    assert_eq!((status, dept["name_zh"].as_str()), (StatusCode::CREATED, Some("工程部")));
    let (status, cp) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/checkpoints"),
            Some(&admin),
            Some(json!({"code": "GATE", "name_zh": "大门", "latitude": 31.2, "longitude": 121.4, "checklist": [{"text_zh": "道闸正常"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    assert_eq!(cp["qr_token"].as_str().unwrap().len(), 24);
    let (status, route) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/routes"),
            Some(&admin),
            Some(json!({"name_zh": "大门线路", "checkpoint_ids": [cp["id"]]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site_id}/schedules"),
            Some(&admin),
            Some(json!({"route_id": route["id"], "days_of_week": [1,2,3,4,5], "windows": [{"start_minute": 480, "end_minute": 600, "runs": 2}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, person) = s
        .call(
            Method::POST,
            "/api/v1/people",
            Some(&admin),
            Some(json!({"login": "zhou.jie", "display_name": "周杰", "password": "walk-the-round-2x",
                        "roles": [{"role": "department_head", "site_id": site_id, "department_id": dept["id"]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"login": "zhou.jie", "password": "walk-the-round-2x", "device_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/people",
            Some(&admin),
            Some(json!({"login": "zhou.jie", "display_name": "重名", "password": "another-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn operations_endpoints_answer(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (status, _) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = s.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for r in patrol_server::app::routes() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        assert!(op["summary"].is_string(), "{} {} is missing from the OpenAPI document", r.method, r.path);
    }
    let req = axum::http::Request::builder().uri("/metrics").body(axum::body::Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    let text = String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(
        text.contains("patrol_http_requests_total{method=\"GET\",path=\"/api/v1/openapi.json\",status=\"200\"} 1"),
        "{text}"
    );
    // A phone speaking another protocol version is told to update.
    let req = axum::http::Request::builder()
        .uri("/api/v1/me")
        .header("x-patrol-protocol", "99")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = s.send(req).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UPGRADE_REQUIRED, Some("protocol_version")));
}

both_backends!(
    demo_patrol_officer_reads_their_site_but_not_the_admin_api,
    a_head_of_cleaning_at_site_a_cannot_read_site_b,
    an_expired_or_foreign_token_is_refused,
    alg_none_and_hs256_with_the_public_key_are_refused,
    a_reused_refresh_token_revokes_the_family,
    the_sixth_wrong_password_in_a_minute_is_answered_429,
    bad_input_gets_a_clear_json_error_and_changes_nothing,
    an_administrator_sets_up_a_site_end_to_end,
    operations_endpoints_answer,
);
