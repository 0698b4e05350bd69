//! Stories of the web console's sessions: signing in at a desk and out again, forms
//! refused without their CSRF token, idle sessions ending, the 403 page, and the
//! administrator's uploads and imports leaving nothing half-done.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use patrol_protocol::record::{CheckIn, RecordPayload};
use patrol_server::clock::Clock;
use patrol_server::web::session::{IDLE_MS, MAX_AGE_MS};
use patrol_server::web::stats;
use support::phone::{Demo, Phone, jpeg, notice, photo_taken};
use support::web::{Answer, encode, get, post, send, sign_in};
use support::{Backend, TestServer};
use tower::ServiceExt;

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
    assert!(gif.body.contains("plan.png：不是 JPEG 或 PNG 图片"), "in Chinese, naming the file: {}", gif.body);
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
    assert!(again.body.contains("登录名 wang.li 已被占用"), "in Chinese: {}", again.body);
}

/// A patrol officer's phone raises a notice to a department with one photo, pushes
/// it and uploads the photo; returns the notice id, its number and the photo.
async fn raised_notice(s: &TestServer, kind: &str, text: &str) -> (String, String, String) {
    let mut officer = Phone::sign_in(s, "patrol").await;
    let demo = Demo { reference: officer.pull(s, "").await["reference"].clone() };
    let (bytes, sha) = jpeg(kind.len() as u8 * 7);
    officer.record(s, photo_taken(&sha, bytes.len(), None, None));
    let due = s.clock.now_ms() + 24 * 3_600_000;
    let (id, p) = notice(demo.site(), demo.dept(kind), text, vec![sha.clone()], due);
    officer.record(s, p);
    let resp = officer.push(s).await;
    let number = resp["results"][1]["notice_number"].as_str().expect("numbered").to_string();
    let (status, _) = officer.upload(s, &sha, &bytes, 0).await;
    assert_eq!(status, StatusCode::OK);
    (id.to_string(), number, sha)
}

async fn notice_json(s: &TestServer, id: &str) -> serde_json::Value {
    let token = s.token("supervisor").await;
    let (status, body) = s.call(Method::GET, &format!("/api/v1/notices/{id}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A real PNG of a solid colour, as a browser would upload from a screenshot.
fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 80, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn a_head_signs_for_receipt_and_reports_the_fix_with_a_browser_photo(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (id, number, before) = raised_notice(&s, "engineering", "3号楼电梯厅灯具损坏").await;
    let (cookie, csrf) = sign_in(&s, "eng.head").await;
    let inbox = get(&s, "/notices", &cookie).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains(&number), "the inbox lists the department's notice");
    let page = get(&s, &format!("/notices/{id}"), &cookie).await;
    assert!(page.body.contains("3号楼电梯厅灯具损坏"));
    assert!(page.body.contains(&format!("/photos/{before}/thumb")));
    assert!(page.body.contains("data-action=\"acknowledge\""));
    assert!(!page.body.contains("data-action=\"void\""), "a head may not void");
    let thumb = get(&s, &format!("/photos/{before}/thumb"), &cookie).await;
    assert_eq!(thumb.status, StatusCode::OK);
    assert_eq!(thumb.headers[header::CONTENT_TYPE], "image/jpeg");

    let action = format!("/notices/{id}/actions");
    // Reporting the fix before signing for receipt is refused, and nothing is stored.
    let early = post_multipart(
        &s,
        &action,
        &cookie,
        &[("_csrf", &csrf), ("action", "report_fix")],
        ("photos", "fix.png", &png(40, 30)),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(notice_json(&s, &id).await["state"], "issued");

    let signed = post(&s, &action, &cookie, &[("_csrf", &csrf), ("action", "acknowledge")]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(notice_json(&s, &id).await["state"], "acknowledged");

    // Not an image: refused with a clear message, the notice unchanged.
    let gif = post_multipart(
        &s,
        &action,
        &cookie,
        &[("_csrf", &csrf), ("action", "report_fix")],
        ("photos", "fix.gif", b"GIF89a\x01\x00\x01\x00"),
    )
    .await;
    assert_eq!(gif.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gif.body.contains("fix.gif：不是 JPEG 或 PNG 图片"), "in Chinese, naming the file: {}", gif.body);
    // A header that claims a huge canvas is refused before decoding.
    let mut bomb = png(4, 4);
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    let bomb = post_multipart(
        &s,
        &action,
        &cookie,
        &[("_csrf", &csrf), ("action", "report_fix")],
        ("photos", "bomb.png", &bomb),
    )
    .await;
    assert_eq!(bomb.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(notice_json(&s, &id).await["state"], "acknowledged");

    let fixed = post_multipart(
        &s,
        &action,
        &cookie,
        &[("_csrf", &csrf), ("action", "report_fix"), ("reason", "已更换灯管")],
        ("photos", "fix.png", &png(3000, 1500)),
    )
    .await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
    let view = notice_json(&s, &id).await;
    assert_eq!(view["state"], "rectified");
    assert_eq!(view["photos_complete"], true);
    let after = view["after_photos"][0].as_str().expect("an after photo").to_string();
    let full = get(&s, &format!("/photos/{after}"), &cookie).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.headers[header::CONTENT_TYPE], "image/jpeg");
    let stored = {
        let req = Request::get(format!("/photos/{after}")).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
        let resp = s.router.clone().oneshot(req).await.unwrap();
        axum::body::to_bytes(resp.into_body(), 16 << 20).await.unwrap()
    };
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]), "stored as JPEG");
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (2048, 1024), "the long edge is bounded");
    let events = view["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["reason"], "已更换灯管");
    assert_eq!(events.iter().filter(|e| e["applied"] == false).count(), 0, "refused uploads stored nothing");
}

async fn a_head_of_cleaning_cannot_open_an_engineering_notice(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (id, number, photo) = raised_notice(&s, "engineering", "消防通道灯不亮").await;
    let (cookie, csrf) = sign_in(&s, "clean.head").await;
    for path in [format!("/notices/{id}"), format!("/notices/{id}/notice.pdf"), format!("/photos/{photo}/thumb")] {
        let page = get(&s, &path, &cookie).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("无权访问"), "{path}");
    }
    let act =
        post(&s, &format!("/notices/{id}/actions"), &cookie, &[("_csrf", &csrf), ("action", "acknowledge")]).await;
    assert_eq!(act.status, StatusCode::FORBIDDEN);
    assert_eq!(notice_json(&s, &id).await["state"], "issued");
    assert!(!get(&s, "/notices", &cookie).await.body.contains(&number));
    // Nor may a head use the supervisors' pages.
    let site = s.site_id().await;
    for path in [
        "/dashboard".to_string(),
        format!("/sites/{site}/daily-logs/2026-11-23"),
        format!("/sites/{site}/monthly/2026-11"),
        format!("/sites/{site}/monthly/2026-11/summary.xlsx"),
    ] {
        assert_eq!(get(&s, &path, &cookie).await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

async fn a_supervisor_signs_the_day_voids_a_notice_and_exports_the_month(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (id, number, _) = raised_notice(&s, "cleaning", "垃圾站垃圾桶满溢").await;
    let site = s.site_id().await;
    let (cookie, csrf) = sign_in(&s, "supervisor").await;
    let dashboard = get(&s, "/dashboard", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("data-live"));
    // The site was set up this morning: yesterday has no log to sign (issue 13).
    assert!(!dashboard.body.contains("daily-logs/2026-11-22"), "the day before the site is not an unsigned log");

    let log_path = format!("/sites/{site}/daily-logs/2026-11-23");
    let log = get(&s, &log_path, &cookie).await;
    assert!(log.body.contains(&number), "the day's log lists what was found");
    assert!(log.body.contains("尚未审阅签字"));
    let bad_day = post(&s, &format!("/sites/{site}/daily-logs/2026-13-40/sign"), &cookie, &[("_csrf", &csrf)]).await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    let signed = post(&s, &format!("{log_path}/sign"), &cookie, &[("_csrf", &csrf), ("comment", "已审阅")]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let log = get(&s, &log_path, &cookie).await;
    assert!(log.body.contains("已审阅") && log.body.contains("王敏"));
    assert!(!log.body.contains("尚未审阅签字"));

    let action = format!("/notices/{id}/actions");
    let no_reason = post(&s, &action, &cookie, &[("_csrf", &csrf), ("action", "void")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "a void needs its reason");
    assert_eq!(notice_json(&s, &id).await["state"], "issued");
    let voided = post(&s, &action, &cookie, &[("_csrf", &csrf), ("action", "void"), ("reason", "重复下发")]).await;
    assert_eq!(voided.status, StatusCode::SEE_OTHER, "{}", voided.body);
    let view = notice_json(&s, &id).await;
    assert_eq!(view["state"], "voided");
    assert_eq!(view["number"], number.as_str(), "a voided notice keeps its number");

    let month = get(&s, &format!("/sites/{site}/monthly/2026-11"), &cookie).await;
    assert_eq!(month.status, StatusCode::OK);
    assert!(month.body.contains("<svg"), "charts are drawn on the server");
    assert_eq!(
        get(&s, &format!("/sites/{site}/monthly/2026-13"), &cookie).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let xlsx = get(&s, &format!("/sites/{site}/monthly/2026-11/summary.xlsx"), &cookie).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.headers[header::CONTENT_TYPE].to_str().unwrap().contains("spreadsheetml"));
    assert!(xlsx.body.starts_with("PK"), "an xlsx is a zip");
}

async fn the_live_stream_reports_the_feed_head(backend: Backend) {
    use futures_util::StreamExt;
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, _) = sign_in(&s, "eng.head").await;
    let req = Request::get("/live").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut stream = resp.into_body().into_data_stream();
    let first = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("event: feed"), "{first}");
    let head: i64 = first.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
    raised_notice(&s, "engineering", "水泵房漏水").await;
    let next =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.expect("an event within 10 s");
    let next = String::from_utf8(next.unwrap().unwrap().to_vec()).unwrap();
    let moved: i64 = next.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
    assert!(moved > head, "{head} → {moved}");
    let anonymous = get(&s, "/live", "").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "no stream without a session");
}

/// Open live pages on one instance share one watcher: five pages open for three polls
/// cost a handful of reads of the feed head, not one per page per poll; a record wakes
/// every page; and once the pages close the watcher stops reading.
async fn open_live_pages_share_one_watcher(backend: Backend) {
    use futures_util::StreamExt;
    use patrol_server::web::live::POLL;
    use std::sync::atomic::Ordering::Relaxed;
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let (cookie, _) = sign_in(&s, "eng.head").await;
    let mut pages = Vec::new();
    for _ in 0..5 {
        let req = Request::get("/live").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
        let resp = s.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut stream = resp.into_body().into_data_stream();
        let first = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
        let head: i64 = first.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
        pages.push((stream, head));
    }
    let reads = || s.state.live.reads.load(Relaxed);
    let before = reads();
    tokio::time::sleep(POLL * 3 + std::time::Duration::from_millis(500)).await;
    let during = reads() - before;
    assert!(
        (1..=5).contains(&during),
        "five pages for three polls: {during} reads (one per page per poll would be 15)"
    );
    raised_notice(&s, "engineering", "消防通道堆物").await;
    for (stream, head) in &mut pages {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("every page hears of the record within 10 s");
        let next = String::from_utf8(next.unwrap().unwrap().to_vec()).unwrap();
        let moved: i64 = next.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
        assert!(moved > *head, "{head} → {moved}");
    }
    drop(pages);
    tokio::time::sleep(POLL * 2 + std::time::Duration::from_millis(500)).await;
    let stopped = reads();
    tokio::time::sleep(POLL * 2).await;
    assert_eq!(reads(), stopped, "no page open, no reads");
}

/// A desk signed in on one instance watches /live on another (behind a balancer a
/// browser's requests land anywhere): a notice pushed to the first instance moves the
/// stream the second serves, since the stream follows the shared database.
async fn the_live_stream_on_another_instance_reports_records_pushed_to_the_first(backend: Backend) {
    use futures_util::StreamExt;
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let other = patrol_server::router(s.another_instance().await);
    let (cookie, _) = sign_in(&s, "eng.head").await;
    let req = Request::get("/live").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    let resp = other.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the session made on the first instance holds on the second");
    let mut stream = resp.into_body().into_data_stream();
    let first = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    let head: i64 = first.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
    raised_notice(&s, "engineering", "地库排水沟堵塞").await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .expect("the other instance's stream moves within 10 s");
    let next = String::from_utf8(next.unwrap().unwrap().to_vec()).unwrap();
    let moved: i64 = next.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().parse().unwrap();
    assert!(moved > head, "{head} → {moved}");
}

/// Walks one whole route now: started, every checkpoint by QR, finished.
async fn walk(s: &TestServer, officer: &mut Phone, demo: &Demo, route: usize) {
    let route = demo.route(route).clone();
    let labels = s.qr_labels().await;
    let run = patrol_protocol::Id::now_v7();
    officer.record(
        s,
        RecordPayload::RunStarted {
            run_id: run,
            route_id: route["id"].as_str().unwrap().parse().unwrap(),
            site_id: demo.site(),
        },
    );
    for id in route["checkpoint_ids"].as_array().unwrap() {
        let cp = demo.checkpoint(id);
        officer.record(
            s,
            RecordPayload::CheckpointVisited {
                run_id: run,
                visit_id: patrol_protocol::Id::now_v7(),
                checkpoint_id: id.as_str().unwrap().parse().unwrap(),
                check_in: CheckIn::Qr { token: labels[cp["id"].as_str().unwrap()].clone() },
                out_of_order: false,
            },
        );
    }
    officer.record(s, RecordPayload::RunFinished { run_id: run, missed_reason: None });
    officer.push(s).await;
}

async fn a_day_counts_runs_done_late_and_missed_per_window(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site_id = demo.site();
    let site =
        s.state.store.read(move |c| patrol_server::store::reference::get_site(c, site_id)).await.unwrap().unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let status = |now: i64| {
        let site = site.clone();
        let store = s.state.store.clone();
        async move { store.read(move |c| stats::day_status(c, &site, day, now)).await.unwrap() }
    };
    // 09:00, the demo was set up just now: both morning and afternoon windows count.
    let at_nine = status(s.clock.now_ms()).await;
    assert_eq!((at_nine.expected, at_nine.pending, at_nine.done), (4, 4, 0));
    s.clock.advance_ms(10 * 60_000);
    walk(&s, &mut officer, &demo, 0).await;
    // 17:00: route 0's morning walk was done, the rest missed; then route 1 is walked late.
    s.clock.advance_ms(7 * 3_600_000 + 50 * 60_000);
    let evening = status(s.clock.now_ms()).await;
    assert_eq!((evening.done, evening.late, evening.missed, evening.pending), (1, 0, 3, 0));
    // Signed in again: access tokens last minutes, not a day.
    let mut evening_phone = Phone::sign_in(&s, "patrol").await;
    walk(&s, &mut evening_phone, &demo, 1).await;
    let after = status(s.clock.now_ms()).await;
    assert_eq!((after.done, after.late, after.missed), (1, 1, 2));
    assert_eq!(after.checkpoints_covered, after.checkpoints_total, "both routes walked");
    // The day before the demo existed expects nothing.
    let before = s.state.store.clone();
    let (site2, now) = (site.clone(), s.clock.now_ms());
    let yesterday =
        before.read(move |c| stats::day_status(c, &site2, day - chrono::Duration::days(1), now)).await.unwrap();
    assert_eq!((yesterday.expected, yesterday.missed), (0, 0));
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
    a_head_signs_for_receipt_and_reports_the_fix_with_a_browser_photo,
    a_head_of_cleaning_cannot_open_an_engineering_notice,
    a_supervisor_signs_the_day_voids_a_notice_and_exports_the_month,
    the_live_stream_reports_the_feed_head,
    open_live_pages_share_one_watcher,
    the_live_stream_on_another_instance_reports_records_pushed_to_the_first,
    a_day_counts_runs_done_late_and_missed_per_window,
);
