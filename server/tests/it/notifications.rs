//! Stories of the server watching the clock: a notice's escalation ladder fires each
//! step once and stops when the notice moves; WeCom, DingTalk and signed webhooks get
//! every event exactly once through an outage and a restart; two instances on one
//! database run each job once.

use crate::support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use patrol_protocol::Id;
use patrol_protocol::notice::Severity;
use patrol_protocol::record::RecordPayload;
use patrol_server::jobs;
use patrol_server::notices::escalation;
use serde_json::{Value, json};
use sha2::Sha256;
use support::phone::{Demo, Phone, notice};
use support::{Backend, START_MS, TestServer};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

async fn fired(s: &TestServer, id: Id) -> Vec<(String, i64)> {
    s.state.store.read(move |c| escalation::fired(c, id)).await.unwrap()
}

async fn inbox(s: &TestServer, login: &str, event: &str) -> Vec<Value> {
    let t = s.token(login).await;
    let (_, all) = s.call(Method::GET, "/api/v1/notifications", Some(&t), None).await;
    all.as_array().unwrap().iter().filter(|n| n["event"] == event).cloned().collect()
}

/// Ticks the jobs every `step` until `until`.
async fn tick_until(s: &TestServer, until: i64, step: i64) {
    while s.clock_now() + step <= until {
        s.clock.advance_ms(step);
        jobs::run_due(&s.state).await.unwrap();
    }
}

async fn escalation_steps_fire_once_each_at_their_times_and_stop_when_the_notice_moves(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (site, eng) = (demo.site(), demo.dept("engineering"));
    // A: asks for a week; the site allows 48 h for a general notice. B: asks for 10 h.
    let (a, pa) = notice(site, eng, "3号楼消防门闭门器损坏", vec![], START_MS + 7 * 24 * HOUR);
    let (b, pb) = notice(site, eng, "地下车库照明不亮", vec![], START_MS + 10 * HOUR);
    officer.record(&s, pa);
    officer.record(&s, pb);
    officer.push(&s).await;
    let head = s.token("eng.head").await;
    let (_, view) = s.call(Method::GET, &format!("/api/v1/notices/{a}"), Some(&head), None).await;
    assert_eq!(
        (view["due_ms"].as_i64(), view["requested_due_ms"].as_i64()),
        (Some(START_MS + 48 * HOUR), Some(START_MS + 7 * 24 * HOUR))
    );
    let (_, view) = s.call(Method::GET, &format!("/api/v1/notices/{b}"), Some(&head), None).await;
    assert_eq!(view["due_ms"].as_i64(), Some(START_MS + 10 * HOUR), "a shorter due time stands");
    // Hour by hour (and minute by minute around the edges) for four days.
    tick_until(&s, START_MS + 4 * HOUR - MINUTE, 30 * MINUTE).await;
    assert!(fired(&s, a).await.is_empty());
    tick_until(&s, START_MS + 4 * HOUR, MINUTE).await;
    // Nobody signed for either within 4 h of routing.
    let nd = format!("not_delivered:{eng}");
    assert_eq!(fired(&s, a).await, [(nd.clone(), START_MS + 4 * HOUR)]);
    // The head signs for A at 5 h: A has moved, its later steps are only due ones.
    let head = s.token("eng.head").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{a}/actions"),
            Some(&head),
            Some(json!({"action": "acknowledge"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tick_until(&s, START_MS + 10 * HOUR, 30 * MINUTE).await;
    // B: reminder 4 h before its due, the supervisor at due.
    assert_eq!(
        fired(&s, b).await,
        [
            (nd.clone(), START_MS + 4 * HOUR),
            ("reminder".into(), START_MS + 6 * HOUR),
            ("overdue".into(), START_MS + 10 * HOUR)
        ]
    );
    // The supervisor voids B at 11 h: the manager's step (due + 24 h) never comes.
    s.clock.advance_ms(HOUR);
    let boss = s.token("supervisor").await;
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/notices/{b}/actions"),
            Some(&boss),
            Some(json!({"action": "void", "reason": "重复下发"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tick_until(&s, START_MS + 96 * HOUR, HOUR).await;
    assert_eq!(fired(&s, b).await.len(), 3, "nothing after B was voided");
    assert_eq!(
        fired(&s, a).await,
        [
            (nd, START_MS + 4 * HOUR),
            ("reminder".into(), START_MS + 44 * HOUR),
            ("overdue".into(), START_MS + 48 * HOUR),
            ("escalated".into(), START_MS + 72 * HOUR),
        ]
    );
    // In the app: the manager heard once, of A only; the supervisor of A and B overdue.
    let escalated = inbox(&s, "manager", "notice_escalated").await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["notice_id"], json!(a));
    assert_eq!(inbox(&s, "supervisor", "notice_overdue").await.len(), 2);
    assert_eq!(inbox(&s, "eng.head", "notice_reminder").await.len(), 2);
    assert!(inbox(&s, "clean.head", "notice_reminder").await.is_empty(), "another department hears nothing");
}

/// What the test's receiver got: (path, query, headers, body).
type Received = Arc<Mutex<Vec<(String, String, HeaderMap, Bytes)>>>;

async fn receive(
    State(got): State<Received>,
    Path(path): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    got.lock().unwrap().push((path, q.unwrap_or_default(), headers, body));
    axum::Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// Starts the receiver on `port`, which was free a moment ago.
async fn start_receiver(port: u16, got: Received) -> tokio::task::JoinHandle<()> {
    let app = Router::new().route("/{path}", axum::routing::post(receive)).with_state(got);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() })
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn query_param(q: &str, name: &str) -> String {
    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

async fn webhooks_get_every_event_exactly_once_through_an_outage_and_a_restart(backend: Backend) {
    let Some(mut s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let site = demo.site();
    // A port that is free now; the receiver is down until it binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let admin = s.token("admin").await;
    let events = json!(["run_missed"]);
    let channels = [
        json!({"name": "客服群", "kind": "wecom", "target": format!("{base}/wecom?key=robot-key"), "events": events}),
        json!({"name": "Managers", "kind": "dingtalk", "target": format!("{base}/dingtalk?access_token=tok"),
               "secret": "SECdingtalk", "events": events, "language": "en"}),
        json!({"name": "ERP", "kind": "webhook", "target": format!("{base}/hook"), "secret": "hook-secret", "events": events}),
    ];
    for ch in &channels {
        let (status, body) =
            s.call(Method::POST, &format!("/api/v1/sites/{site}/channels"), Some(&admin), Some(ch.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(
            body.get("secret").is_none()
                && !body.to_string().contains("SECdingtalk")
                && !body.to_string().contains("robot-key")
        );
    }
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/sites/{site}/channels"),
            Some(&admin),
            Some(json!({"name": "x", "kind": "webhook", "target": "ftp://x", "events": events})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("target")));
    let (_, listed) = s.call(Method::GET, &format!("/api/v1/sites/{site}/channels"), Some(&admin), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert!(!listed.to_string().contains("hook-secret") && listed.to_string().contains("\"has_secret\":true"));

    // 10:00: both morning rounds were missed while the receiver is down.
    tick_until(&s, START_MS + HOUR, MINUTE).await;
    tick_until(&s, START_MS + 2 * HOUR, 10 * MINUTE).await;
    // The server restarts in the middle of the outage.
    s.restart().await;
    // 16:00: both afternoon rounds missed too; still down.
    tick_until(&s, START_MS + 7 * HOUR, 10 * MINUTE).await;
    let got: Received = Arc::default();
    assert!(got.lock().unwrap().is_empty());
    let attempts = s
        .state
        .store
        .read(|c| {
            c.query_one("SELECT COUNT(*), COALESCE(MAX(ok), 0) FROM delivery_attempts", &[])
                .map(|r| (r.int(0).unwrap(), r.int(1).unwrap()))
        })
        .await
        .unwrap();
    assert!(attempts.0 >= 12 && attempts.1 == 0, "every failed attempt is recorded: {attempts:?}");
    // The receiver comes back; within the longest backoff everything arrives.
    let receiver = start_receiver(port, got.clone()).await;
    tick_until(&s, START_MS + 9 * HOUR, 5 * MINUTE).await;
    receiver.abort();
    let got = got.lock().unwrap().clone();
    let by = |p: &str| got.iter().filter(|g| g.0 == p).cloned().collect::<Vec<_>>();
    let (wecom, ding, hook) = (by("wecom"), by("dingtalk"), by("hook"));
    assert_eq!((wecom.len(), ding.len(), hook.len()), (4, 4, 4), "each of 4 events once per channel");
    for (_, q, _, body) in &wecom {
        assert_eq!(q, "key=robot-key");
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["msgtype"], "markdown");
        assert!(v["markdown"]["content"].as_str().unwrap().contains("漏巡"), "{v}");
    }
    for (_, q, _, body) in &ding {
        let ts = query_param(q, "timestamp");
        let expect = base64::engine::general_purpose::STANDARD
            .encode(hmac_sha256("SECdingtalk", format!("{ts}\nSECdingtalk").as_bytes()));
        assert_eq!(query_param(q, "sign"), expect, "DingTalk signature");
        assert_eq!(query_param(q, "access_token"), "tok");
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["msgtype"], "markdown");
        assert!(v["markdown"]["title"].as_str().unwrap().starts_with("Patrol missed"), "in English as configured: {v}");
    }
    let mut keys = std::collections::BTreeSet::new();
    for (_, _, headers, body) in &hook {
        let ts = headers["x-patrol-timestamp"].to_str().unwrap();
        let mut signed = format!("{ts}.").into_bytes();
        signed.extend_from_slice(body);
        assert_eq!(
            headers["x-patrol-signature"].to_str().unwrap(),
            format!("sha256={}", hex::encode(hmac_sha256("hook-secret", &signed)))
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["event"], "run_missed");
        keys.insert(v["key"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 4, "four different events");
    // Nothing is left to send, and nothing is sent twice later.
    let admin = s.token("admin").await;
    let (_, outbox) = s.call(Method::GET, &format!("/api/v1/sites/{site}/outbox"), Some(&admin), None).await;
    assert_eq!(outbox.as_array().unwrap().len(), 12);
    assert!(outbox.as_array().unwrap().iter().all(|o| o["state"] == "delivered"), "{outbox}");
}

async fn two_instances_on_one_database_run_each_job_once(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let other = s.another_instance().await;
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (id, p) = notice(demo.site(), demo.dept("cleaning"), "垃圾桶满溢", vec![], START_MS + 2 * HOUR);
    if let RecordPayload::NoticeRaised { severity, .. } = &p {
        assert_eq!(*severity, Severity::General);
    }
    officer.record(&s, p);
    officer.push(&s).await;
    let mut ran_total = 0;
    for _ in 0..10 {
        s.clock.advance_ms(HOUR);
        let (x, y) = tokio::join!(jobs::run_due(&s.state), jobs::run_due(&other));
        let (x, y) = (x.unwrap(), y.unwrap());
        for job in ["audit_runs", "escalate_notices", "deliver_outbox", "index_months"] {
            let n = x.ran.iter().chain(y.ran.iter()).filter(|j| **j == job).count();
            assert_eq!(n, 1, "{job} ran once this tick: {x:?} {y:?}");
        }
        let sweeps = x.ran.iter().chain(y.ran.iter()).filter(|j| **j == "sweep_staged").count();
        assert!(sweeps <= 1, "the sweep ran at most once this tick: {x:?} {y:?}");
        ran_total += x.ran.len() + y.ran.len() - sweeps;
    }
    assert_eq!(ran_total, 40);
    // The notice's steps fired once each, whoever ran them.
    let mut steps: Vec<String> =
        fired(&s, id).await.into_iter().map(|f| f.0.split(':').next().unwrap().to_string()).collect();
    steps.sort();
    assert_eq!(steps, ["not_delivered", "overdue", "reminder"]);
    assert_eq!(inbox(&s, "clean.head", "notice_reminder").await.len(), 1);
    assert_eq!(inbox(&s, "manager", "notice_escalated").await.len(), 0, "due + 24 h is not yet");
    assert_eq!(inbox(&s, "supervisor", "run_missed").await.len(), 4, "four windows, once each");
    tokio::task::spawn_blocking(move || drop(other)).await.unwrap();
}

/// The text of the one message in an SMTP dialogue (or a stored message), decoded from
/// its transfer encoding (base64 or quoted-printable).
fn mail_text(said: &str) -> String {
    let (head, rest) = said.split_once("\r\n\r\n").expect("a message with a body");
    let body: Vec<&str> = rest.split("\r\n").take_while(|l| *l != ".").collect();
    let encoding = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-transfer-encoding:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    match encoding.as_str() {
        "base64" => {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body.concat()).unwrap()).unwrap()
        }
        "quoted-printable" => {
            let joined = body.join("\r\n").replace("=\r\n", "");
            let (mut out, bytes) = (Vec::new(), joined.as_bytes());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }
        _ => body.join("\n"),
    }
}

/// A one-connection SMTP receiver: answers the dialogue and returns what it was told.
fn smtp_receiver() -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        let mut said = String::new();
        out.write_all(b"220 test ESMTP\r\n").unwrap();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap() == 0 {
                break;
            }
            said.push_str(&line);
            let reply: &[u8] = if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    b"250 queued\r\n"
                } else {
                    continue;
                }
            } else if line.starts_with("EHLO") {
                b"250-test\r\n250 AUTH PLAIN\r\n"
            } else if line.starts_with("AUTH PLAIN") {
                b"235 ok\r\n"
            } else if line.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if line.starts_with("QUIT") {
                out.write_all(b"221 bye\r\n").unwrap();
                break;
            } else {
                b"250 ok\r\n"
            };
            out.write_all(reply).unwrap();
        }
        said
    });
    (addr, handle)
}

async fn a_missed_patrol_reaches_the_supervisors_mailbox(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let officer = Phone::sign_in(&s, "patrol").await;
    let site = Demo { reference: officer.pull(&s, "").await["reference"].clone() }.site();
    let (addr, receiver) = smtp_receiver();
    let mailer = s
        .instance_with(|settings| {
            settings.smtp_server = addr.clone();
            // The fake receiver speaks plain SMTP; a password goes plain to this machine only.
            settings.smtp_tls = "none".into();
            settings.smtp_from = "patrol@example.com".into();
            settings.smtp_user = "patrol".into();
            settings.smtp_password = "mail-pass".into();
        })
        .await;
    let admin = s.token("admin").await;
    let ch = json!({"name": "主管邮箱", "kind": "email", "target": "boss@example.com", "events": ["run_missed"]});
    let (status, body) = s.call(Method::POST, &format!("/api/v1/sites/{site}/channels"), Some(&admin), Some(ch)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // 10:00: the morning rounds were missed; one e-mail per window, through the relay.
    s.clock.advance_ms(HOUR);
    let report = jobs::run_due(&mailer).await.unwrap();
    assert_eq!((report.missed_windows, report.delivery.delivered), (2, 1), "one connection accepted: {report:?}");
    let said = tokio::task::spawn_blocking(move || receiver.join().unwrap()).await.unwrap();
    assert!(said.contains("MAIL FROM:<patrol@example.com>") && said.contains("RCPT TO:<boss@example.com>"), "{said}");
    let plain = base64::engine::general_purpose::STANDARD.encode("\0patrol\0mail-pass");
    assert!(said.contains(&format!("AUTH PLAIN {plain}")));
    assert!(said.to_ascii_lowercase().contains("subject: =?utf-8?b?"), "Chinese subject encoded: {said}");
    let text = mail_text(&said);
    assert!(text.contains("应巡 1 次，缺 1 次"), "{text}");
    // The second window's mail failed (the receiver took one connection) and waits to retry.
    let states = s
        .state
        .store
        .read(|c| c.query("SELECT state, attempts FROM outbox ORDER BY state", &[]))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.text(0).unwrap(), r.int(1).unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(states, [("delivered".to_string(), 1), ("pending".to_string(), 1)]);
    tokio::task::spawn_blocking(move || drop(mailer)).await.unwrap();
}

/// A message about a notice carries the link to its console page (which the phones open
/// in the app) on every kind of channel, in the channel's language; a message about no
/// notice carries none.
async fn a_notices_messages_link_to_it_on_every_channel(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (site, eng) = (demo.site(), demo.dept("engineering"));
    let (smtp, mailbox) = smtp_receiver();
    let sender = s
        .instance_with(|settings| {
            settings.public_url = "https://patrol.example.com/".into();
            settings.smtp_server = smtp.clone();
            settings.smtp_tls = "none".into();
        })
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let got: Received = Arc::default();
    let receiver = start_receiver(port, got.clone()).await;
    let admin = s.token("admin").await;
    let events = json!(["notice_not_delivered", "run_missed"]);
    for ch in [
        json!({"name": "工程群", "kind": "wecom", "target": format!("{base}/wecom?key=k"), "events": events}),
        json!({"name": "Eng", "kind": "dingtalk", "target": format!("{base}/dingtalk?access_token=t"), "events": events,
               "language": "en"}),
        json!({"name": "ERP", "kind": "webhook", "target": format!("{base}/hook"), "events": events}),
        json!({"name": "工程邮箱", "kind": "email", "target": "eng@example.com", "events": ["notice_not_delivered"]}),
    ] {
        let (status, body) =
            s.call(Method::POST, &format!("/api/v1/sites/{site}/channels"), Some(&admin), Some(ch)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (a, pa) = notice(site, eng, "5号楼电梯按钮失灵", vec![], START_MS + 7 * 24 * HOUR);
    officer.record(&s, pa);
    officer.push(&s).await;
    // Nobody signs for it: at 4 h the heads and the supervisor hear, and so do the channels.
    while s.clock_now() + 10 * MINUTE <= START_MS + 4 * HOUR + 10 * MINUTE {
        s.clock.advance_ms(10 * MINUTE);
        jobs::run_due(&sender).await.unwrap();
    }
    receiver.abort();
    let link = format!("https://patrol.example.com/notices/{a}");
    let got = got.lock().unwrap().clone();
    let bodies = |p: &str| -> Vec<Value> {
        got.iter().filter(|g| g.0 == p).map(|g| serde_json::from_slice(&g.3).unwrap()).collect()
    };
    let about_notice = |v: &Value| v.to_string().contains("5号楼电梯按钮失灵");
    let wecom = bodies("wecom");
    let w = wecom.iter().find(|v| about_notice(v)).expect("WeCom got the notice");
    assert!(w["markdown"]["content"].as_str().unwrap().ends_with(&format!("[查看通知单]({link})")), "{w}");
    let ding = bodies("dingtalk");
    let d = ding.iter().find(|v| about_notice(v)).expect("DingTalk got the notice");
    assert!(d["markdown"]["text"].as_str().unwrap().ends_with(&format!("[Open the notice]({link})")), "{d}");
    let hook = bodies("hook");
    let h = hook.iter().find(|v| v["event"] == "notice_not_delivered").expect("the webhook got the notice");
    assert_eq!(h["url"], json!(link));
    // The morning rounds were missed too: those messages name no notice and link nowhere.
    let missed: Vec<&Value> = hook.iter().filter(|v| v["event"] == "run_missed").collect();
    assert!(!missed.is_empty() && missed.iter().all(|v| v["url"].is_null()), "{hook:?}");
    assert!(wecom.iter().filter(|v| !about_notice(v)).all(|v| !v.to_string().contains("/notices/")), "{wecom:?}");
    let said = tokio::task::spawn_blocking(move || mailbox.join().unwrap()).await.unwrap();
    let text = mail_text(&said);
    assert!(text.contains("5号楼电梯按钮失灵") && text.ends_with(&format!("查看通知单：{link}")), "{text}");
    tokio::task::spawn_blocking(move || drop(sender)).await.unwrap();
}

both_backends!(
    a_notices_messages_link_to_it_on_every_channel,
    a_missed_patrol_reaches_the_supervisors_mailbox,
    escalation_steps_fire_once_each_at_their_times_and_stop_when_the_notice_moves,
    webhooks_get_every_event_exactly_once_through_an_outage_and_a_restart,
    two_instances_on_one_database_run_each_job_once,
);

/// E-mail over TLS to a real relay (aiosmtpd, started by `scripts/test`): STARTTLS on
/// one port and implicit TLS on another, each with AUTH only after TLS and the
/// password checked; a long Chinese subject encoded and folded. Refused: a server
/// whose certificate nobody vouches for, a wrong password, and plain SMTP to a relay
/// that requires STARTTLS. Skipped when no relay was started (run `scripts/test`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_over_tls_to_a_relay_that_checks_the_password() {
    let (Ok(starttls), Ok(tls)) = (std::env::var("PATROL_TEST_SMTP_STARTTLS"), std::env::var("PATROL_TEST_SMTP_TLS"))
    else {
        eprintln!("no SMTP relay (PATROL_TEST_SMTP_STARTTLS): skipped; scripts/test starts one");
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap();
    let maildir = std::path::PathBuf::from(var("PATROL_TEST_SMTP_MAILDIR"));
    let kept = || {
        std::fs::read_dir(&maildir)
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml")).count())
            .unwrap_or(0)
    };
    let settings = |server: &str, mode: &str| patrol_server::settings::Settings {
        smtp_server: server.to_string(),
        smtp_tls: mode.into(),
        smtp_ca_file: var("PATROL_TEST_SMTP_CA"),
        smtp_from: "patrol@example.com".into(),
        smtp_user: var("PATROL_TEST_SMTP_LOGIN"),
        smtp_password: var("PATROL_TEST_SMTP_PASSWORD"),
        ..Default::default()
    };
    let subject = "【巡检】3号楼地下车库消防通道被占用，整改通知单JY-2026-000123已逾期未签收，请立即处理并回复";
    let send = |s: patrol_server::settings::Settings| {
        tokio::task::spawn_blocking(move || {
            patrol_server::notify::smtp::send(&s, &["boss@example.com"], subject, "正文：请于今日内处理。")
        })
    };
    let before = kept();
    send(settings(&starttls, "starttls")).await.unwrap().expect("STARTTLS with the password");
    send(settings(&tls, "tls")).await.unwrap().expect("implicit TLS with the password");
    assert_eq!(kept(), before + 2, "both kept by the relay");
    let last = format!("{:04}", before + 1);
    let meta = std::fs::read_to_string(maildir.join(format!("{last}.meta"))).unwrap();
    assert_eq!(meta.lines().collect::<Vec<_>>(), ["patrol@example.com", "boss@example.com", "patrol"], "{meta}");
    let raw = std::fs::read_to_string(maildir.join(format!("{last}.eml"))).unwrap().replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap();
    assert!(head.lines().all(|l| l.len() <= 78), "header lines are folded: {head}");
    assert!(head.to_ascii_lowercase().contains("subject: =?utf-8?"), "{head}");
    assert!(mail_text(&raw.replace('\n', "\r\n")).contains("请于今日内处理"));
    // Refused, and nothing kept.
    let mut untrusted = settings(&starttls, "starttls");
    untrusted.smtp_ca_file = String::new();
    let e = send(untrusted).await.unwrap().unwrap_err();
    assert!(e.to_lowercase().contains("certificate") || e.to_lowercase().contains("tls"), "{e}");
    let mut wrong = settings(&tls, "tls");
    wrong.smtp_password = "not-the-password".into();
    let e = send(wrong).await.unwrap().unwrap_err();
    assert!(!e.contains("not-the-password"), "the password is never in an error: {e}");
    let e = send(settings(&starttls, "none")).await.unwrap().unwrap_err();
    assert!(!e.is_empty());
    assert_eq!(kept(), before + 2, "no refused message was kept");
}
