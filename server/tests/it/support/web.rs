//! The web console as a browser sees it: sign in through the form, keep the session
//! cookie, GET and POST with the CSRF token.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;

use super::TestServer;

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as sent (downloads).
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    /// The CSRF token in the page's first form.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"_csrf\" value=\"").expect("a form with a token") + 20;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

pub async fn send(s: &TestServer, req: Request<Body>) -> Answer {
    let resp = s.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
}

pub async fn get(s: &TestServer, path: &str, cookie: &str) -> Answer {
    let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    send(s, req).await
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

pub async fn post(s: &TestServer, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "patrol.test")
        .body(Body::from(encode(fields)))
        .unwrap();
    send(s, req).await
}

/// Signs in through the login form; returns the session cookie and its CSRF token.
pub async fn sign_in(s: &TestServer, login: &str) -> (String, String) {
    let form = get(s, "/login", "").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = form.csrf();
    let login_cookie = format!("patrol_login_csrf={token}");
    let password = s.password(login);
    let answer = post(
        s,
        "/login",
        &login_cookie,
        &[("_csrf", &token), ("login", login), ("password", &password), ("next", "/")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let set = answer.set_cookies().into_iter().find(|c| c.starts_with("patrol_session=")).expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let home = get(s, "/", &cookie).await;
    assert_eq!(home.status, StatusCode::OK);
    (cookie, home.csrf())
}
