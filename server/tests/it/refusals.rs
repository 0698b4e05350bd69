//! Every refusal a person can see is in Chinese and English and leads somewhere: the
//! API's JSON errors (ours and axum's own: bad JSON, a wrong content type, a wrong
//! method, an unknown path, a body over the limit, a malformed id) carry both texts
//! with `message` in the reader's language, console refusals are pages with a way
//! back, and a refused console form comes back with what was typed and the reason
//! beside the field.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use support::web::{Answer, encode, get, send, sign_in};
use support::{Backend, TestServer};

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

/// An API error body as every client may read it: both texts, `message` in the
/// reader's language, a reason code.
fn assert_bilingual(what: &str, status: StatusCode, content_type: &str, body: &Value, english: bool) {
    assert!(status.is_client_error() || status.is_server_error(), "{what}: {status} {body}");
    assert!(content_type.starts_with("application/json"), "{what}: {status} answered {content_type:?}, not JSON");
    let text = |k: &str| body[k].as_str().unwrap_or_else(|| panic!("{what}: no {k} in {body}")).to_string();
    let (zh, en, message) = (text("message_zh"), text("message_en"), text("message"));
    assert!(!text("error").is_empty() && !text("reason").is_empty(), "{what}: {body}");
    assert!(zh.chars().any(is_cjk), "{what}: message_zh has no Chinese: {body}");
    assert!(!en.trim().is_empty() && !en.chars().any(is_cjk), "{what}: message_en is not English: {body}");
    assert_eq!(message, if english { en } else { zh }, "{what}: message is not in the reader's language");
}

async fn raw(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    language: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, Value) {
    let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    if let Some(l) = language {
        req = req.header(header::ACCEPT_LANGUAGE, l);
    }
    let a = send(s, req.body(Body::from(body)).unwrap()).await;
    let ct = a.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (a.status, ct, serde_json::from_slice(&a.bytes).unwrap_or(Value::Null))
}

/// What is sent: what it is, method, path, content type, body.
type Case<'a> = (String, Method, String, Option<&'a str>, Vec<u8>);

/// A route's path with its parameters filled in: ids with one nothing has, a photo's
/// hash, a day; the first of them `not-an-id` when `malformed`.
fn fill(template: &str, id: &str, malformed: bool) -> String {
    let mut first = malformed;
    template
        .split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(_) if std::mem::take(&mut first) => "not-an-id".to_string(),
            Some("sha256") => "ab".repeat(32),
            Some("day") => "2026-11-23".to_string(),
            Some(_) => id.to_string(),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of the API, fed every kind of bad input a client can send, answers
/// with a JSON error in both languages; English when the request prefers it.
async fn every_api_route_refuses_bad_input_in_both_languages(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let nobody = uuid::Uuid::now_v7().to_string();
    let huge = vec![b' '; s.state.settings.max_body_bytes + 1024];
    let mut checked = 0;
    for r in patrol_server::app::routes() {
        if !r.path.starts_with("/api/") {
            continue;
        }
        let path = fill(r.path, &nobody, false);
        let mut cases: Vec<Case> = vec![
            // A method the route does not take.
            (format!("DELETE {path}"), Method::DELETE, path.clone(), None, vec![]),
        ];
        // The path with its first parameter malformed (an id that is not one).
        if r.path.contains('{') {
            let malformed = fill(r.path, &nobody, true);
            cases.push((
                format!("{} {malformed}", r.method),
                r.method.clone(),
                malformed,
                Some("application/json"),
                b"{}".to_vec(),
            ));
        }
        if r.method == Method::POST || r.method == Method::PUT {
            let bodies: [(&str, Option<&str>, &[u8]); 6] = [
                ("not JSON", Some("application/json"), b"{not json"),
                ("cut short", Some("application/json"), b"{\"a\": [1, 2"),
                ("JSON of the wrong shape", Some("application/json"), b"[1, 2, 3]"),
                ("no content type", None, b"{}"),
                ("text, not JSON", Some("text/plain"), b"hello"),
                ("over the body limit", Some("application/json"), &huge),
            ];
            for (what, ct, body) in bodies {
                cases.push((format!("{} {path}: {what}", r.method), r.method.clone(), path.clone(), ct, body.to_vec()));
            }
        }
        for (what, method, path, ct, body) in cases {
            for (language, english) in
                [(None, false), (Some("en-US,en;q=0.9"), true), (Some("zh-CN,zh;q=0.9,en;q=0.8"), false)]
            {
                let (status, content_type, answer) =
                    raw(&s, method.clone(), &path, &admin, ct, language, body.clone()).await;
                if status.is_success() {
                    // A route that takes anything here (an empty upload chunk) is no refusal.
                    continue;
                }
                assert_bilingual(&what, status, &content_type, &answer, english);
                checked += 1;
            }
        }
    }
    // Paths no route serves, with and without a token.
    for (path, token) in [("/api/v1/nowhere", admin.as_str()), ("/api/v2/sites", ""), ("/nowhere.json", "")] {
        let (status, ct, answer) = raw(&s, Method::GET, path, token, None, None, vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_bilingual(path, status, &ct, &answer, false);
        checked += 1;
    }
    // A caller without a token, and a client of another protocol version.
    let (status, ct, answer) = raw(&s, Method::GET, "/api/v1/me", "", None, Some("en"), vec![]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_bilingual("no token", status, &ct, &answer, true);
    let old = Request::get("/api/v1/me").header("x-patrol-protocol", "0").body(Body::empty()).unwrap();
    let a = send(&s, old).await;
    assert_eq!(a.status, StatusCode::UPGRADE_REQUIRED);
    assert_bilingual("protocol 0", a.status, "application/json", &serde_json::from_slice(&a.bytes).unwrap(), false);
    println!("{checked} refusals checked, each in both languages");
    assert!(checked > 300, "only {checked} refusals were checked");
}

/// What is refused names the field in Chinese and in English, and the texts are
/// the reason's, not a mix of the two.
async fn an_invalid_field_is_named_in_both_languages(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let admin = s.token("admin").await;
    let body = json!({"code": "jy", "name_zh": "锦园", "name_en": "", "utc_offset_minutes": 480});
    let (status, answer) = s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "code");
    assert_eq!(answer["error"], "invalid_input");
    assert_eq!(answer["reason"], "site_code");
    assert_eq!(answer["message"], "code（编号）：须为 1 至 8 位大写字母或数字");
    assert_eq!(answer["message_en"], "code: 1 to 8 upper-case letters or digits");
    // Control characters: once answered as "输入不符合要求：contains control characters".
    let body = json!({"code": "JY2", "name_zh": "锦\u{7}园", "name_en": "", "utc_offset_minutes": 480});
    let (_, answer) = s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(body)).await;
    assert_eq!(answer["message_zh"], "name_zh（中文名称）：含有不可见的控制字符", "{answer}");
    assert_eq!(answer["message_en"], "name_zh: contains control characters");
    // A JSON field of the wrong type is named where it sits.
    let body = json!({"code": 7, "name_zh": "锦园", "name_en": "", "utc_offset_minutes": 480});
    let (status, answer) = s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(body)).await;
    assert_eq!((status, answer["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")), "{answer}");
    assert_bilingual("a number for a code", status, "application/json", &answer, false);
    let body = json!({"name_zh": "锦园", "name_en": "", "utc_offset_minutes": 480});
    let (_, answer) = s.call(Method::POST, "/api/v1/sites", Some(&admin), Some(body)).await;
    assert_eq!(answer["reason"], "missing_field", "{answer}");
    assert!(answer["message_zh"].as_str().unwrap().contains("缺少字段 code"), "{answer}");
}

/// The page a form is on, as the browser has it: the hidden fields of the form
/// posting to `action`.
fn hidden_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let at = page.find(&format!("action=\"{action}\"")).unwrap_or_else(|| panic!("no form posting to {action}"));
    let form = &page[at..page[at..].find("</form>").map_or(page.len(), |e| at + e)];
    form.split("<input")
        .skip(1)
        .filter(|i| i.contains("type=\"hidden\""))
        .filter_map(|i| {
            let attr = |name: &str| {
                let start = i.find(&format!("{name}=\""))? + name.len() + 2;
                Some(i[start..].split('"').next()?.replace("&amp;", "&"))
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

/// Posts a form from its page as a browser would: the page's hidden fields, then
/// what the person typed.
async fn submit(s: &TestServer, cookie: &str, page: &str, action: &str, typed: &[(&str, &str)]) -> Answer {
    let here = get(s, page, cookie).await;
    assert_eq!(here.status, StatusCode::OK, "{page}");
    let hidden = hidden_fields(&here.body, action);
    let mut fields: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.extend_from_slice(typed);
    let req = Request::post(action)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "patrol.test")
        .body(Body::from(encode(&fields)))
        .unwrap();
    send(s, req).await
}

/// The value an input named `name` shows in the page.
fn input_value<'p>(page: &'p str, name: &str) -> Option<&'p str> {
    let at = page.find(&format!("name=\"{name}\""))?;
    let tag_start = page[..at].rfind('<')?;
    let tag = &page[tag_start..at + page[at..].find('>')?];
    let v = tag.find("value=\"")? + 7;
    tag[v..].split('"').next()
}

async fn a_refused_console_form_comes_back_with_what_was_typed(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (cookie, _) = sign_in(&s, "admin").await;

    // A site code in lower case: the page again, the name as typed, the reason beside
    // the code, in Chinese; nothing stored.
    let refused = submit(
        &s,
        &cookie,
        "/admin/sites",
        "/admin/sites",
        &[("code", "jy-9"), ("name_zh", "锦绣花园二期"), ("name_en", "Jinxiu II"), ("utc_offset_minutes", "480")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let page = &refused.body;
    assert!(page.contains("<h1>项目</h1>"), "the sites page itself, not an error page: {page}");
    assert_eq!(input_value(page, "name_zh"), Some("锦绣花园二期"), "{page}");
    assert_eq!(input_value(page, "name_en"), Some("Jinxiu II"));
    assert_eq!(input_value(page, "code"), Some("jy-9"));
    let beside = page.find("name=\"code\"").unwrap();
    let reason = page.find("须为 1 至 8 位大写字母或数字").expect("the reason, in Chinese");
    assert!(reason > beside && reason < page.find("name=\"name_zh\"").unwrap(), "the reason sits beside the code");
    let input = page[..beside].rfind("<input").unwrap();
    assert!(page[input..].split('>').next().unwrap().contains("aria-invalid=\"true\""), "the code is marked invalid");
    assert!(!page.contains("upper-case"), "no English in the Chinese page");
    let sites = get(&s, "/admin/sites", &cookie).await;
    assert!(!sites.body.contains("锦绣花园二期"), "nothing was stored");

    // In English for a reader who chose English.
    let english = format!("{cookie}; patrol_lang=en");
    let refused = submit(
        &s,
        &english,
        "/admin/sites",
        "/admin/sites",
        &[("code", "jy-9"), ("name_zh", "锦绣花园二期"), ("name_en", ""), ("utc_offset_minutes", "eight")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("is not a number"), "{}", refused.body);
    assert_eq!(input_value(&refused.body, "utc_offset_minutes"), Some("eight"));

    // A checkpoint with a latitude that is a word: every typed value back, the
    // checklist too, and the reason beside the latitude.
    let site = s.site_id().await;
    let form = format!("/admin/sites/{site}/checkpoints");
    let refused = submit(
        &s,
        &cookie,
        &form,
        &form,
        &[
            ("code", "B2-RAMP"),
            ("name_zh", "地库坡道"),
            ("name_en", ""),
            ("latitude", "north"),
            ("longitude", "121.4731"),
            ("radius_m", "25"),
            ("qr_token", ""),
            ("nfc_tag_id", ""),
            ("checklist", "坡道防滑\n照明正常"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let page = &refused.body;
    assert_eq!(input_value(page, "code"), Some("B2-RAMP"));
    assert_eq!(input_value(page, "longitude"), Some("121.4731"));
    assert_eq!(input_value(page, "radius_m"), Some("25"));
    assert!(page.contains("坡道防滑\n照明正常"), "the checklist as typed");
    let latitude = page.find("name=\"latitude\"").unwrap();
    assert!(page[latitude..].find("须为数字").is_some_and(|d| d < 400), "the reason beside the latitude");

    // A new person refused for a weak password: the login and name back, the password
    // never sent back into the page.
    let refused = submit(
        &s,
        &cookie,
        "/admin/people",
        "/admin/people",
        &[("login", "li.na"), ("display_name", "李娜"), ("password", "short"), ("role", "administrator")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(input_value(&refused.body, "login"), Some("li.na"));
    assert_eq!(input_value(&refused.body, "display_name"), Some("李娜"));
    assert!(!refused.body.contains("value=\"short\""), "a password is never echoed");
    assert!(refused.body.contains("密码须为 8 至 256 个字符"), "{}", refused.body);
}

async fn console_refusals_are_pages_with_a_way_back_in_the_readers_language(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let (cookie, _) = sign_in(&s, "admin").await;
    let html =
        |req: axum::http::request::Builder| req.header(header::COOKIE, &cookie).header(header::ACCEPT, "text/html");
    for (what, req, status) in [
        ("a malformed id", html(Request::get("/notices/not-a-notice")), StatusCode::BAD_REQUEST),
        ("an unknown notice", html(Request::get(format!("/notices/{}", uuid::Uuid::now_v7()))), StatusCode::NOT_FOUND),
        ("an unknown page", html(Request::get("/admin/nowhere")), StatusCode::NOT_FOUND),
        ("a wrong method", html(Request::put("/admin/sites")), StatusCode::METHOD_NOT_ALLOWED),
        (
            "a filter day that is not one",
            html(Request::get("/notices?from=2026-02-30")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let a = send(&s, req.body(Body::empty()).unwrap()).await;
        assert_eq!(a.status, status, "{what}: {}", a.body);
        let ct = a.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with("text/html"), "{what}: a page, not {ct:?}: {}", a.body);
        assert!(a.body.contains("<html lang=\"zh-CN\""), "{what}: in Chinese");
        assert!(a.body.contains("回到首页") && a.body.contains("data-back"), "{what}: a way back and home");
        let text: String = a.body.split('<').filter_map(|t| t.split_once('>').map(|(_, x)| x)).collect();
        assert!(!text.contains("Failed") && !text.contains("Invalid URL"), "{what}: axum's English: {text}");
    }
    // A refusal of a form that does not come back (deactivating oneself, which no
    // page offers): a page with the reason, never the form's page silent about it.
    let me = s.call(Method::GET, "/api/v1/me", Some(&s.token("admin").await), None).await.1;
    let own = format!("/admin/people/{}/active", me["person_id"].as_str().unwrap());
    let people = get(&s, "/admin/people", &cookie).await;
    let mut fields = hidden_fields(&people.body, "/admin/people");
    fields.push(("active".into(), "0".into()));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let req = Request::post(&own)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(encode(&fields)))
        .unwrap();
    let a = send(&s, req).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("不能停用自己的账号") && a.body.contains("回到首页"), "{}", a.body);

    // The same page in English for a reader who chose it.
    let req = Request::get("/notices/not-a-notice").header(header::COOKIE, format!("{cookie}; patrol_lang=en"));
    let a = send(&s, req.body(Body::empty()).unwrap()).await;
    assert!(a.body.contains("<html lang=\"en\"") && a.body.contains("Go to the home page"), "{}", a.body);
    assert!(a.body.contains("notice_id in the address is not valid"), "{}", a.body);

    // A CSV import's refused rows, in the reader's language.
    let site = s.site_id().await;
    let csv = "code,name_zh,latitude,longitude\nB2-EXIT,出口,31.23,121.47\nB2-RAMP,坡道,north,121.47\n";
    for (cookie, expected) in [
        (cookie.clone(), "latitude（纬度）：须为数字"),
        (format!("{cookie}; patrol_lang=en"), "latitude: is not a number"),
    ] {
        let boundary = "----refusals";
        let page = get(&s, &format!("/admin/sites/{site}/checkpoints"), &cookie).await;
        let mut body = Vec::new();
        for (k, v) in hidden_fields(&page.body, &format!("/admin/sites/{site}/checkpoints/import")) {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cp.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::post(format!("/admin/sites/{site}/checkpoints/import"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        let a = send(&s, req).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains(expected), "{expected}: {}", a.body);
    }
}

both_backends!(
    every_api_route_refuses_bad_input_in_both_languages,
    an_invalid_field_is_named_in_both_languages,
    a_refused_console_form_comes_back_with_what_was_typed,
    console_refusals_are_pages_with_a_way_back_in_the_readers_language,
);
