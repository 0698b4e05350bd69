//! Stories of the web console's sessions: signing in at a desk and out again, forms
//! refused without their CSRF token, idle sessions ending, the 403 page, and the
//! administrator's uploads and imports leaving nothing half-done.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use patrol_server::web::session::{IDLE_MS, MAX_AGE_MS};
use support::{Backend, TestServer};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    /// The CSRF token in the page's first form.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"_csrf\" value=\"").expect("a form with a token") + 20;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

async fn send(s: &TestServer, req: Request<Body>) -> Answer {
    let resp = s.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(s: &TestServer, path: &str, cookie: &str) -> Answer {
    let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    send(s, req).await
}

fn encode(fields: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

async fn post(s: &TestServer, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "patrol.test")
        .body(Body::from(encode(fields)))
        .unwrap();
    send(s, req).await
}

/// Signs in through the login form; returns the session cookie and its CSRF token.
async fn sign_in(s: &TestServer, login: &str) -> (String, String) {
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

/// Signs in over the JSON API, as the app does.
async fn api_login(s: &TestServer, login: &str, password: &str) -> (StatusCode, serde_json::Value) {
    s.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(serde_json::json!({"login": login, "password": password, "device_id": uuid::Uuid::now_v7()})),
    )
    .await
}

async fn site_codes(s: &TestServer) -> Vec<String> {
    let token = s.token("admin").await;
    let (_, sites) = s.call(Method::GET, "/api/v1/sites", Some(&token), None).await;
    sites.as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap().to_string()).collect()
}

async fn a_desk_session_signs_in_and_out(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, csrf) = sign_in(&s, "supervisor").await;
    let home = get(&s, "/", &cookie).await;
    assert!(home.body.contains("王敏"), "the home page greets the supervisor");
    assert!(home.body.contains("lang=\"zh-CN\""));

    let out = post(&s, "/logout", &cookie, &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    // The cookie the browser may still hold opens nothing any more.
    let after = get(&s, "/", &cookie).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().starts_with("/login?next="));
}

async fn a_sign_in_form_without_its_token_is_refused(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let password = s.password("admin");
    let fields = [("login", "admin"), ("password", password.as_str())];
    let no_cookie = post(&s, "/login", "", &[&fields[..], &[("_csrf", "abc")]].concat()).await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    let mismatch = post(&s, "/login", "patrol_login_csrf=abc", &[&fields[..], &[("_csrf", "abd")]].concat()).await;
    assert_eq!(mismatch.status, StatusCode::FORBIDDEN);
    assert!(mismatch.body.contains("请求已被拒绝"));
    assert!(mismatch.set_cookies().iter().all(|c| !c.starts_with("patrol_session=")), "no session was started");
}

async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, csrf) = sign_in(&s, "admin").await;
    let before = site_codes(&s).await;
    let site = [("code", "NEW"), ("name_zh", "新园"), ("utc_offset_minutes", "480")];

    let missing = post(&s, "/admin/sites", &cookie, &site).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(missing.body.contains("请求已被拒绝"));

    let wrong = post(&s, "/admin/sites", &cookie, &[&site[..], &[("_csrf", "x")]].concat()).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // Another signed-in person's token does not fit this session either.
    let (_, other_csrf) = sign_in(&s, "manager").await;
    let foreign_token =
        post(&s, "/admin/sites", &cookie, &[&site[..], &[("_csrf", other_csrf.as_str())]].concat()).await;
    assert_eq!(foreign_token.status, StatusCode::FORBIDDEN);

    let req = Request::post("/admin/sites")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "patrol.test")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(encode(&[&site[..], &[("_csrf", csrf.as_str())]].concat())))
        .unwrap();
    assert_eq!(send(&s, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(site_codes(&s).await, before, "nothing was created");

    let ok = post(&s, "/admin/sites", &cookie, &[&site[..], &[("_csrf", csrf.as_str())]].concat()).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(site_codes(&s).await.contains(&"NEW".to_string()));
}

async fn an_unattended_desk_is_signed_out(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, _) = sign_in(&s, "admin").await;
    s.clock.advance_ms(IDLE_MS - 60_000);
    assert_eq!(get(&s, "/", &cookie).await.status, StatusCode::OK, "still within the idle time");
    // Each visit keeps it alive, but never past one working day.
    let mut elapsed = IDLE_MS - 60_000;
    while elapsed + IDLE_MS / 2 < MAX_AGE_MS {
        s.clock.advance_ms(IDLE_MS / 2);
        elapsed += IDLE_MS / 2;
        assert_eq!(get(&s, "/", &cookie).await.status, StatusCode::OK, "at {elapsed} ms");
    }
    s.clock.advance_ms(MAX_AGE_MS - elapsed);
    assert_eq!(get(&s, "/", &cookie).await.status, StatusCode::SEE_OTHER, "a day is the limit");

    let (cookie, _) = sign_in(&s, "admin").await;
    s.clock.advance_ms(IDLE_MS + 1);
    let idle = get(&s, "/admin/sites", &cookie).await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER);
    assert_eq!(idle.location(), "/login?next=%2Fadmin%2Fsites");
}

async fn a_patrol_officer_gets_the_403_page_in_their_language(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, _) = sign_in(&s, "patrol").await;
    for path in ["/admin/sites", "/admin/people"] {
        let page = get(&s, path, &cookie).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("无权访问"), "{path}");
    }
    let english = get(&s, "/admin/sites", &format!("{cookie}; patrol_lang=en")).await;
    assert_eq!(english.status, StatusCode::FORBIDDEN);
    assert!(english.body.contains("Access denied"));
    assert!(english.body.contains("lang=\"en\""));
}

async fn wrong_passwords_at_the_desk_count_against_the_app_too(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    for _ in 0..5 {
        let wrong = post(
            &s,
            "/login",
            "patrol_login_csrf=t",
            &[("_csrf", "t"), ("login", "eng.head"), ("password", "wrong password")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("用户名或密码错误"));
    }
    let (status, body) = api_login(&s, "eng.head", &s.password("eng.head")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----patrol-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    let (name, filename, bytes) = file;
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    s: &TestServer,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &[u8]),
) -> Answer {
    let (content_type, body) = multipart(fields, file);
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    send(s, req).await
}

fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(800u32.to_be_bytes());
    png.extend(600u32.to_be_bytes());
    png.extend([8, 6, 0, 0, 0]);
    png
}

async fn a_site_plan_is_an_image_within_bounds(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let site = s.site_id().await;
    let (cookie, csrf) = sign_in(&s, "admin").await;
    let path = format!("/admin/sites/{site}/plan");
    let corners =
        [("_csrf", csrf.as_str()), ("north", "31.232"), ("south", "31.228"), ("west", "121.471"), ("east", "121.476")];
    let gif = post_multipart(&s, &path, &cookie, &corners, ("plan", "plan.png", b"GIF89a\x01\x00\x01\x00")).await;
    assert_eq!(gif.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gif.body.contains("not a PNG or JPEG"), "{}", gif.body);
    let mut swapped = corners;
    swapped[1] = ("north", "31.200");
    let upside_down = post_multipart(&s, &path, &cookie, &swapped, ("plan", "plan.png", &tiny_png())).await;
    assert_eq!(upside_down.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_token = post_multipart(&s, &path, &cookie, &corners[1..], ("plan", "plan.png", &tiny_png())).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let patrol = sign_in(&s, "patrol").await.0;
    assert_eq!(get(&s, &format!("/sites/{site}/plan"), &patrol).await.status, StatusCode::NOT_FOUND, "none stored yet");

    let ok = post_multipart(&s, &path, &cookie, &corners, ("plan", "plan.png", &tiny_png())).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // Anyone who may read the site sees its plan.
    let image = get(&s, &format!("/sites/{site}/plan"), &patrol).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.headers[header::CONTENT_TYPE], "image/png");
    let overview = get(&s, &format!("/admin/sites/{site}"), &cookie).await;
    assert!(overview.body.contains("800 × 600 px"));
}

async fn import_people(s: &TestServer, cookie: &str, csrf: &str, csv: &str) -> Answer {
    let file = ("file", "people.csv", csv.as_bytes());
    post_multipart(s, "/admin/people/import", cookie, &[("_csrf", csrf)], file).await
}

async fn a_people_import_creates_everyone_or_no_one(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, csrf) = sign_in(&s, "admin").await;
    let bad = "login,display_name,password,role,site_code,department_kind\n\
        wang.li,王丽,correct-horse-1,patrol_staff,JY,\n\
        zhao.qiang,赵强,short,department_head,JY,engineering\n\
        liu.bo,刘波,correct-horse-3,department_head,JY,plumbing\n";
    let refused = import_people(&s, &cookie, &csrf, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("未导入任何数据"));
    assert!(refused.body.contains("password"), "row 3's password is named");
    assert!(refused.body.contains("plumbing"), "row 4's department is named");
    let people = get(&s, "/admin/people", &cookie).await;
    assert!(!people.body.contains("wang.li"), "the good row was not imported alone");

    let good = bad.replace(",short,", ",correct-horse-2,").replace("plumbing", "cleaning");
    let done = import_people(&s, &cookie, &csrf, &good).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (status, body) = api_login(&s, "zhao.qiang", "correct-horse-2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"][0]["role"], "department_head");

    let again = import_people(&s, &cookie, &csrf, &good).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("already taken"));
}

both_backends!(
    a_desk_session_signs_in_and_out,
    a_sign_in_form_without_its_token_is_refused,
    a_form_without_its_csrf_token_is_refused_and_changes_nothing,
    an_unattended_desk_is_signed_out,
    a_patrol_officer_gets_the_403_page_in_their_language,
    wrong_passwords_at_the_desk_count_against_the_app_too,
    a_site_plan_is_an_image_within_bounds,
    a_people_import_creates_everyone_or_no_one,
);
