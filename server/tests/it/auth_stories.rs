//! Signing in on an unlucky network and against an attacker (issue 12, item 5): a
//! lost refresh answer, concurrent refreshes, guessing that must not lock the owner
//! out, an atomic guessing budget, the forwarded client address, and sign-out that
//! takes effect on the access token at once.

use crate::support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Backend, TestServer};
use tower::ServiceExt;

/// A JSON call from the client address `peer`, with optional extra headers.
async fn call_from(
    router: &axum::Router,
    peer: &str,
    headers: &[(&str, &str)],
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn sign_in(s: &TestServer, peer: &str, login: &str, password: &str, device: uuid::Uuid) -> (StatusCode, Value) {
    call_from(
        &s.router,
        peer,
        &[],
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"login": login, "password": password, "device_id": device})),
    )
    .await
}

async fn refresh(s: &TestServer, token: &str, device: uuid::Uuid) -> (StatusCode, Value) {
    s.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": token, "device_id": device}))).await
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// (a) The answer to a refresh is lost; the phone presents the old token again.
async fn a_refresh_whose_answer_was_lost_can_be_asked_again(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let device = uuid::Uuid::now_v7();
    let (_, first) = sign_in(&s, "10.1.0.1", "patrol", &s.password("patrol"), device).await;
    let r1 = text(&first, "refresh_token");
    let (status, lost) = refresh(&s, &r1, device).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    // The answer never arrived; 30 s later the phone tries again with what it holds.
    s.clock.advance_ms(30_000);
    let (status, again) = refresh(&s, &r1, device).await;
    assert_eq!(status, StatusCode::OK, "a retry within the grace is not theft: {again}");
    assert_eq!(text(&again, "refresh_token"), text(&lost, "refresh_token"), "the same successor");
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&text(&again, "access_token")), None).await;
    assert_eq!(status, StatusCode::OK);
    // The successor is used: from now on the old token is a stolen copy.
    let (status, third) = refresh(&s, &text(&again, "refresh_token"), device).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = refresh(&s, &r1, device).await;
    assert_eq!((status, text(&body, "error")), (StatusCode::UNAUTHORIZED, "refresh_reused".into()));
    let (status, _) = refresh(&s, &text(&third, "refresh_token"), device).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the family was revoked");

    // After the grace, a resend is reuse, even from the same device.
    let (_, login) = sign_in(&s, "10.1.0.1", "patrol", &s.password("patrol"), device).await;
    let r = text(&login, "refresh_token");
    let (status, next) = refresh(&s, &r, device).await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance_ms(patrol_server::auth::REFRESH_GRACE_MS + 1_000);
    let (status, body) = refresh(&s, &r, device).await;
    assert_eq!((status, text(&body, "error")), (StatusCode::UNAUTHORIZED, "refresh_reused".into()));
    let (status, _) = refresh(&s, &text(&next, "refresh_token"), device).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // And from another device, within the grace, it is theft at once.
    let (_, login) = sign_in(&s, "10.1.0.1", "patrol", &s.password("patrol"), device).await;
    let r = text(&login, "refresh_token");
    let (_, next) = refresh(&s, &r, device).await;
    let (status, _) = refresh(&s, &r, uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = refresh(&s, &text(&next, "refresh_token"), device).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a copy on another device revokes the family");
}

/// (b) Eight concurrent refreshes of one token, several times over: from one device
/// they all get the one successor; with a copy on another device in the race, no
/// token issued by the race stays valid.
async fn concurrent_refreshes_have_exactly_one_winner(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    for trial in 0..5 {
        let device = uuid::Uuid::now_v7();
        let (_, login) = sign_in(&s, "10.2.0.1", "patrol", &s.password("patrol"), device).await;
        let r = text(&login, "refresh_token");
        let thief = trial % 2 == 1;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let router = s.router.clone();
                let (r, dev) = (r.clone(), if thief && i == 3 { uuid::Uuid::now_v7() } else { device });
                tokio::spawn(async move {
                    call_from(
                        &router,
                        "10.2.0.1",
                        &[],
                        Method::POST,
                        "/api/v1/auth/refresh",
                        None,
                        Some(json!({"refresh_token": r, "device_id": dev})),
                    )
                    .await
                })
            })
            .collect();
        let mut issued = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == StatusCode::OK {
                issued.push((text(&body, "refresh_token"), text(&body, "access_token")));
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            }
        }
        let successors: std::collections::BTreeSet<&String> = issued.iter().map(|(r, _)| r).collect();
        assert!(successors.len() <= 1, "trial {trial}: one successor at most, got {}", successors.len());
        if thief {
            // Whoever won, the family is dead: nothing the race issued still works.
            for (refresh_token, access) in &issued {
                let (status, _) = s.call(Method::GET, "/api/v1/me", Some(access), None).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "trial {trial}: an access token outlived its family");
                let (status, _) = refresh(&s, refresh_token, device).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "trial {trial}: a refresh token outlived its family");
            }
        } else {
            assert_eq!(issued.len(), 8, "trial {trial}: the same device's retries all succeed");
            let (status, _) = refresh(&s, issued[0].0.as_str(), device).await;
            assert_eq!(status, StatusCode::OK, "trial {trial}: the one successor works");
        }
    }
}

/// (c) Guessing at a login from one address never refuses its owner elsewhere, and a
/// crowd of failures behind one address does not lock out a phone that signed in before.
async fn guessing_does_not_lock_the_owner_out(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let pw = s.password("patrol");
    let phone = uuid::Uuid::now_v7();
    let (status, _) = sign_in(&s, "10.3.0.9", "patrol", &pw, phone).await;
    assert_eq!(status, StatusCode::OK, "the owner's phone signs in once");
    for _ in 0..5 {
        let (status, _) = sign_in(&s, "203.0.113.5", "patrol", "guess-guess", uuid::Uuid::now_v7()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = sign_in(&s, "203.0.113.5", "patrol", "guess-again", uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the guesser is throttled");
    let (status, _) = sign_in(&s, "198.51.100.7", "patrol", &pw, uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::OK, "the owner at another address is not");
    // 40 failures over many logins from one office address (one NAT).
    for i in 0..40 {
        let _ = sign_in(&s, "10.3.0.1", &format!("nobody{i}"), "wrong-password", uuid::Uuid::now_v7()).await;
    }
    let (status, _) = sign_in(&s, "10.3.0.1", "supervisor", &s.password("supervisor"), uuid::Uuid::now_v7()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a new device behind a guessing address waits");
    let (status, _) = sign_in(&s, "10.3.0.1", "patrol", &pw, phone).await;
    assert_eq!(status, StatusCode::OK, "the phone that signed in before does not");
    // The known phone has a budget of its own, not an unlimited one.
    for _ in 0..5 {
        let (status, _) = sign_in(&s, "10.3.0.1", "patrol", "wrong-password", phone).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = sign_in(&s, "10.3.0.1", "patrol", &pw, phone).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    s.clock.advance_ms(61_000);
    let (status, _) = sign_in(&s, "10.3.0.1", "patrol", &pw, phone).await;
    assert_eq!(status, StatusCode::OK, "budgets refill after the minute");
}

/// (d) 100 concurrent wrong passwords for one login from one address: exactly the
/// budget is checked, the rest are refused before any hashing.
async fn a_guessing_budget_holds_under_concurrency(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let router = s.router.clone();
            tokio::spawn(async move {
                call_from(
                    &router,
                    "192.0.2.50",
                    &[],
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"login": "patrol", "password": "wrong-password", "device_id": uuid::Uuid::now_v7()})),
                )
                .await
                .0
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 5, "exactly the per-login-and-address budget was checked");
}

/// (e) Behind one trusted proxy, the client is the entry the proxy appended (the
/// rightmost), not whatever the client wrote to the left of it.
async fn a_forged_forwarded_for_does_not_buy_more_guesses(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let behind_proxy = s.instance_with(|st| st.trust_forwarded_for = true).await;
    let router = patrol_server::router(behind_proxy);
    let guess =
        |i: usize| json!({"login": "patrol", "password": format!("guess-{i}"), "device_id": uuid::Uuid::now_v7()});
    let mut statuses = Vec::new();
    for i in 0..7 {
        let forged = format!("10.9.9.{i}, 203.0.113.77");
        let (status, _) = call_from(
            &router,
            "127.0.0.1",
            &[("x-forwarded-for", forged.as_str())],
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(guess(i)),
        )
        .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429], "rotating the leftmost entry changes nothing");
    use patrol_server::auth::ClientAddr;
    assert_eq!(ClientAddr::from_forwarded(Some("1.1.1.1, 2.2.2.2"), 1, "9.9.9.9"), "2.2.2.2");
    assert_eq!(ClientAddr::from_forwarded(Some("1.1.1.1, 2.2.2.2, 3.3.3.3"), 2, "9.9.9.9"), "2.2.2.2");
    assert_eq!(ClientAddr::from_forwarded(Some("2.2.2.2"), 2, "9.9.9.9"), "9.9.9.9", "fewer entries than proxies");
    assert_eq!(ClientAddr::from_forwarded(Some("not-an-ip"), 1, "9.9.9.9"), "9.9.9.9");
    assert_eq!(ClientAddr::from_forwarded(Some("1.1.1.1"), 0, "9.9.9.9"), "9.9.9.9", "no proxy trusted");
    assert_eq!(ClientAddr::from_forwarded(None, 1, "9.9.9.9"), "9.9.9.9");
}

/// (f) Signing out ends the access token at its next request, not 15 minutes later;
/// so does deactivation.
async fn sign_out_and_deactivation_end_access_tokens_at_once(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let login = s.login("patrol").await;
    let access = text(&login, "access_token");
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&access), None).await;
    assert_eq!(status, StatusCode::OK);
    let other = s.login("patrol").await;
    let (status, _) = s
        .call(Method::POST, "/api/v1/auth/logout", None, Some(json!({"refresh_token": text(&login, "refresh_token")})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&access), None).await;
    assert_eq!((status, text(&body, "error")), (StatusCode::UNAUTHORIZED, "signed_out".into()));
    let (status, _) = s.call(Method::GET, "/api/v1/me", Some(&text(&other, "access_token")), None).await;
    assert_eq!(status, StatusCode::OK, "another login of the same person goes on");
    // Deactivated: every token of the person stops working at once.
    let person: uuid::Uuid = other["person_id"].as_str().unwrap().parse().unwrap();
    s.state
        .store
        .write(move |c| c.execute("UPDATE people SET active = 0 WHERE id = $1", &patrol_server::params![person]))
        .await
        .unwrap();
    let (status, body) = s.call(Method::GET, "/api/v1/me", Some(&text(&other, "access_token")), None).await;
    assert_eq!((status, text(&body, "error")), (StatusCode::UNAUTHORIZED, "account_disabled".into()));
}

both_backends!(
    a_refresh_whose_answer_was_lost_can_be_asked_again,
    concurrent_refreshes_have_exactly_one_winner,
    guessing_does_not_lock_the_owner_out,
    a_guessing_budget_holds_under_concurrency,
    a_forged_forwarded_for_does_not_buy_more_guesses,
    sign_out_and_deactivation_end_access_tokens_at_once,
);
