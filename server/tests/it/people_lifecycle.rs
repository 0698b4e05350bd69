//! People come and go (issue 13, item 2): deactivation signs a person out everywhere
//! at once and keeps their records; reactivation lets them back; an administrator's
//! reset gives a one-time password that opens nothing but changing it; a changed
//! password ends the person's other logins; roles can be taken away.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, TestServer};

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

async fn login_as(s: &TestServer, login: &str, password: &str, device: uuid::Uuid) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"login": login, "password": password, "device_id": device})),
    )
    .await
}

async fn deactivation_signs_out_everywhere_and_reactivation_lets_back_in(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let phone = s.login("patrol").await;
    let person = text(&phone, "person_id");
    let records_before = s.numbers(&["SELECT COUNT(*) FROM records"]).await;
    let path = format!("/api/v1/people/{person}/active");
    // Nobody but an administrator may, and bad input changes nothing.
    let (status, _) =
        s.call(Method::PUT, &path, Some(&text(&phone, "access_token")), Some(json!({"active": false}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call(Method::PUT, &path, Some(&admin), Some(json!({"active": "no"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&text(&phone, "access_token")), None).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = s.call(Method::PUT, &path, Some(&admin), Some(json!({"active": false}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&text(&phone, "access_token")), None).await;
    assert_eq!((status, text(&body, "error")), (StatusCode::UNAUTHORIZED, "account_disabled".into()));
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": text(&phone, "refresh_token"), "device_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = login_as(&s, "patrol", &s.password("patrol"), uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a deactivated person cannot sign in");
    assert_eq!(s.numbers(&["SELECT COUNT(*) FROM records"]).await, records_before, "their records stay");
    let (_, people) = s.call(Method::GET, "/api/v1/people", Some(&admin), None).await;
    let listed = people.as_array().unwrap().iter().find(|p| p["id"] == person.as_str()).unwrap().clone();
    assert_eq!(listed["active"], false);

    let (status, _) = s.call(Method::PUT, &path, Some(&admin), Some(json!({"active": true}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = login_as(&s, "patrol", &s.password("patrol"), uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::OK, "reactivated");
    // An administrator cannot lock themself out.
    let me = text(&s.login("admin").await, "person_id");
    let (status, _) =
        s.call(Method::PUT, &format!("/api/v1/people/{me}/active"), Some(&admin), Some(json!({"active": false}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_reset_password_opens_only_the_way_to_changing_it(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let other_phone = s.login("patrol").await;
    let person = text(&other_phone, "person_id");
    let (status, reset) =
        s.call(Method::POST, &format!("/api/v1/people/{person}/password-reset"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    let one_time = text(&reset, "one_time_password");
    assert!(one_time.len() >= 12);
    let (status, _) = login_as(&s, "patrol", &s.password("patrol"), uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&text(&other_phone, "access_token")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a reset ends every login");

    let device = uuid::Uuid::now_v7();
    let (status, t) = login_as(&s, "patrol", &one_time, device).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["must_change_password"], true);
    let token = text(&t, "access_token");
    let site = s.site_id().await;
    for path in [format!("/api/v1/sites/{site}"), "/api/v1/sync/pull".to_string(), "/api/v1/sites".to_string()] {
        let (status, body) = s.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(
            (status, text(&body, "error")),
            (StatusCode::FORBIDDEN, "password_change_required".into()),
            "{path}"
        );
    }
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    for (current, new, field) in [
        (one_time.as_str(), "12345678", "new_password"),
        (one_time.as_str(), "patrol-patrol-1", "new_password"),
        ("not-the-one", "Hua2026-gate", "current_password"),
    ] {
        let (status, body) =
            s.call(Method::POST, "/api/v1/me/password", Some(&token), Some(change(current, new))).await;
        assert_eq!((status, text(&body, "field")), (StatusCode::UNPROCESSABLE_ENTITY, field.into()), "{body}");
        assert!(text(&body, "message").chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "bilingual: {body}");
    }
    let (status, body) =
        s.call(Method::POST, "/api/v1/me/password", Some(&token), Some(change(&one_time, "Hua2026-gate"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = s.call(Method::GET, &format!("/api/v1/sites/{site}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "the same login goes on once the password is changed");
    let (status, t) = login_as(&s, "patrol", "Hua2026-gate", uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["must_change_password"], false);
}

async fn a_role_taken_away_takes_its_access_with_it(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let head = s.login("eng.head").await;
    let person = text(&head, "person_id");
    let role = head["roles"][0].clone();
    let site = role["site_id"].as_str().unwrap().to_string();
    let (status, _) =
        s.call(Method::GET, &format!("/api/v1/sites/{site}"), Some(&text(&head, "access_token")), None).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/people/{person}/roles/remove");
    let (status, body) = s.call(Method::POST, &path, Some(&admin), Some(role.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) =
        s.call(Method::GET, &format!("/api/v1/sites/{site}"), Some(&text(&head, "access_token")), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call(Method::POST, &path, Some(&admin), Some(role)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a role not held cannot be removed twice");
}

both_backends!(
    deactivation_signs_out_everywhere_and_reactivation_lets_back_in,
    a_reset_password_opens_only_the_way_to_changing_it,
    a_role_taken_away_takes_its_access_with_it,
);
