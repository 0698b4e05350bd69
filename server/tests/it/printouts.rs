//! Printouts that never lose text: a notice whose head wrote a 4 000-character fix
//! note, a long dispute and a long corrective-action report prints every character of
//! them over as many pages as it needs, with the signature lines together on one page
//! and the number and verification code on every page; an emoji prints as a marker
//! and stays in the text layer; the monthly PDF keeps each label apart from its value.

use crate::support;

use std::process::Command;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use patrol_protocol::Id;
use patrol_protocol::notice::NoticeAction;
use support::phone::{Demo, Phone, act, jpeg, notice, photo_taken};
use support::web::sign_in;
use support::{Backend, TestServer};
use tower::ServiceExt;

/// The text of a PDF as poppler's `pdftotext` reads it, pages separated by form
/// feeds. `None` when poppler-utils is missing outside CI (scripts/test installs it).
fn pdftotext(s: &TestServer, pdf: &[u8], layout: bool) -> Option<String> {
    let path = s.dir.0.join(format!("{}.pdf", Id::now_v7()));
    std::fs::write(&path, pdf).unwrap();
    let mut cmd = Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    match cmd.args(["-enc", "UTF-8"]).arg(&path).arg("-").output() {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("pdftotext: {e}; skipping (apt-get install poppler-utils)");
            None
        }
        Err(e) => panic!("pdftotext: {e}"),
    }
}

/// A file as the browser downloads it, byte for byte.
async fn download(s: &TestServer, path: &str, cookie: &str) -> Vec<u8> {
    let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20).await.unwrap().to_vec();
    assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&bytes));
    bytes
}

/// Exactly `chars` characters of the kind heads type: Chinese with its punctuation,
/// English sentences, numbers, a word longer than a printed line, paragraphs.
fn long_text(tag: &str, chars: usize) -> String {
    let parts = [
        "检查发现B2层消防通道应急照明灯具损坏，已更换为LED灯管（共3支）。",
        "Replaced the emergency lights in the B2 fire lane; tested for 2 hours, all OK. ",
        "接线盒进水导致短路：已做防水密封处理，「后续每周巡查一次」；",
        "Junction box JB-07 took in water and was sealed with silicone, see ticket ",
        "MAINT-2026-11-000123/B2-fire-lane-emergency-lighting-replacement-and-waterproofing ",
        "\n",
        "工程部、保洁部、秩序维护部联合复查，结论：符合《消防设施维护保养规范》要求！",
        "Next check on 2026-11-30 at 09:30 by the night-shift electrician (Li Qiang). ",
        "备注——费用由物业维修基金支出，金额¥1,280.00元……",
    ];
    let mut out = format!("【{tag}】");
    let mut i = 0;
    while out.chars().count() < chars {
        out.push_str(parts[i % parts.len()]);
        i += 1;
    }
    let mut out: String = out.chars().take(chars - 1).collect();
    // The last character is one no other part has, so the end is seen to be there.
    out.push('终');
    out
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether a line says "第 n / N 页" (pdftotext may drop the spaces).
fn is_page_number(line: &str) -> bool {
    let line = squeeze(line);
    let Some(inner) = line.strip_suffix('页').and_then(|l| l.rsplit_once('第')).map(|(_, n)| n) else {
        return false;
    };
    inner.split_once('/').is_some_and(|(n, total)| n.parse::<u32>().is_ok() && total.parse::<u32>().is_ok())
}

/// The extracted text without the footers (page number, and the notice number with
/// its verification code), which land between the parts of a text that goes on to
/// the next page.
fn body_text(text: &str, number: &str) -> String {
    text.lines()
        .filter(|l| !(is_page_number(l) || (l.contains(number) && l.contains("审计验证码"))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many characters from the start of `written` appear in `printed` in one piece.
fn printed_prefix(written: &str, printed: &str) -> usize {
    let chars: Vec<char> = written.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if printed.contains(&chars[..mid].iter().collect::<String>()) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// A notice raised by the patrol officer to engineering, disputed by the head of
/// engineering, reassigned by the supervisor to cleaning, where the head signs for
/// it, files a corrective-action report and reports the fix: every step through the
/// phones' real push. Returns the notice's id.
async fn a_long_story(s: &TestServer, description: &str, dispute: &str, report: &str, fix: &str) -> Id {
    let mut officer = Phone::sign_in(s, "patrol").await;
    let demo = Demo { reference: officer.pull(s, "").await["reference"].clone() };
    let (before, before_sha) = jpeg(11);
    officer.record(s, photo_taken(&before_sha, before.len(), None, None));
    let due = s.clock_now() + 48 * 3_600_000;
    let (id, raised) = notice(demo.site(), demo.dept("engineering"), description, vec![before_sha.clone()], due);
    officer.record(s, raised);
    officer.push(s).await;
    assert_eq!(officer.upload(s, &before_sha, &before, 0).await.0, StatusCode::OK);

    s.clock.advance_ms(600_000);
    let mut eng = Phone::sign_in(s, "eng.head").await;
    eng.record(s, act(id, NoticeAction::Dispute, dispute, vec![], None));
    let resp = eng.push(s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");

    s.clock.advance_ms(600_000);
    let mut supervisor = Phone::sign_in(s, "supervisor").await;
    supervisor.record(s, act(id, NoticeAction::Reassign, "转保洁部处理", vec![], Some(demo.dept("cleaning"))));
    supervisor.push(s).await;

    s.clock.advance_ms(600_000);
    let mut clean = Phone::sign_in(s, "clean.head").await;
    clean.record(s, act(id, NoticeAction::Acknowledge, "", vec![], None));
    clean.record(s, act(id, NoticeAction::CorrectiveAction, report, vec![], None));
    let (after, after_sha) = jpeg(12);
    clean.record(s, photo_taken(&after_sha, after.len(), None, Some(id)));
    clean.record(s, act(id, NoticeAction::ReportFix, fix, vec![after_sha.clone()], None));
    clean.push(s).await;
    assert_eq!(clean.upload(s, &after_sha, &after, 0).await.0, StatusCode::OK);

    let token = s.token("supervisor").await;
    let (status, view) = s.call(Method::GET, &format!("/api/v1/notices/{id}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "rectified", "every step took effect: {}", view["events"]);
    id
}

async fn a_four_thousand_character_fix_note_prints_in_full_with_the_signatures_on_one_page(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let description = long_text("问题描述", 300);
    let dispute = long_text("异议理由", 900);
    let report = long_text("纠正措施报告", 1500);
    let fix = long_text("整改说明", 4000);
    assert_eq!(fix.chars().count(), 4000);
    let id = a_long_story(&s, &description, &dispute, &report, &fix).await;

    let (cookie, _) = sign_in(&s, "supervisor").await;
    let started = std::time::Instant::now();
    let pdf = download(&s, &format!("/notices/{id}/notice.pdf"), &cookie).await;
    let took = started.elapsed();
    let Some(text) = pdftotext(&s, &pdf, false) else {
        return;
    };
    let pages: Vec<&str> = text.trim_end_matches('\u{c}').split('\u{c}').collect();
    assert!(pages.len() >= 3, "{} pages: 6 700 characters of notes do not fit on two", pages.len());

    let token = s.token("supervisor").await;
    let (_, view) = s.call(Method::GET, &format!("/api/v1/notices/{id}"), Some(&token), None).await;
    let number = view["number"].as_str().unwrap();

    // Every character of every text, in order (line breaks aside).
    let body = squeeze(&body_text(&text, number));
    for (what, written) in [("description", &description), ("dispute", &dispute), ("report", &report), ("fix", &fix)] {
        let written = squeeze(written);
        let found = printed_prefix(&written, &body);
        assert_eq!(found, written.chars().count(), "the {what} is printed only up to character {found}");
    }

    // The number, the verification code and "page n of N" on every page.
    for (i, page) in pages.iter().enumerate() {
        let footer =
            page.lines().filter(|l| is_page_number(l) || l.contains("审计验证码")).collect::<Vec<_>>().join(" ");
        assert!(footer.contains(number), "page {}: {footer}", i + 1);
        assert!(footer.contains("审计验证码"), "page {}: {footer}", i + 1);
        assert!(squeeze(&footer).contains(&format!("第{}/{}页", i + 1, pages.len())), "page {}: {footer}", i + 1);
    }

    // The signature lines and the closing note together, on the last page.
    let signature_lines = ["责任部门签收：", "整改完成确认：", "验证人：", "由巡检管理平台生成，记录不可涂改"];
    let on: Vec<Vec<usize>> = signature_lines
        .iter()
        .map(|l| pages.iter().enumerate().filter(|(_, p)| p.contains(l)).map(|(i, _)| i).collect())
        .collect();
    assert!(on.iter().all(|p| p.len() == 1 && p[0] == on[0][0]), "signature lines on pages {on:?}");
    assert_eq!(on[0][0], pages.len() - 1, "the signatures close the form");
    assert!(pages[on[0][0]].lines().any(|l| l.trim() == "签字"), "the heading is with its lines");

    // Small and quick still: two photos, a subset font.
    assert!(pdf.len() < 400_000, "{} bytes", pdf.len());
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

async fn a_notice_with_emoji_prints_and_copies_back_what_was_written(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let description = "消防栓箱门损坏🔥，请尽快处理👍🏽 thanks";
    let fix = "已修好👨‍🔧，门锁换新";
    let id = a_long_story(&s, description, "不属于本部门", "加强日常巡查", fix).await;
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let pdf = download(&s, &format!("/notices/{id}/notice.pdf"), &cookie).await;
    let Some(text) = pdftotext(&s, &pdf, false) else {
        return;
    };
    // Copying from the PDF gives what was written: the emoji ride in ActualText.
    assert!(squeeze(&text).contains(&squeeze(description)), "{text}");
    assert!(squeeze(&text).contains(&squeeze(fix)), "{text}");
    // What is drawn in their place is the font's U+FFFD, not an empty box:
    // `web::pdf`'s tests compare the rendered page with one showing the marker.
}

async fn the_monthly_pdf_keeps_each_label_apart_from_its_value(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let site = s.site_id().await;
    let (cookie, _) = sign_in(&s, "supervisor").await;
    let pdf = download(&s, &format!("/sites/{site}/monthly/2026-11/summary.pdf"), &cookie).await;
    let Some(text) = pdftotext(&s, &pdf, true) else {
        return;
    };
    for label in ["巡检点覆盖率（%）", "完成率（%）", "下发通知单", "按期关闭", "应巡次数"] {
        let line = text.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label} in\n{text}"));
        let after = &line[line.find(label).unwrap() + label.len()..];
        let gap = after.len() - after.trim_start().len();
        let value: String =
            after.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '%').collect();
        assert!(gap >= 2 && !value.is_empty() && value.starts_with(|c: char| c.is_ascii_digit()), "{label}: {line:?}");
    }
    assert!(text.lines().any(|l| squeeze(l).ends_with("第1/1页")), "{text}");
}

both_backends!(
    a_four_thousand_character_fix_note_prints_in_full_with_the_signatures_on_one_page,
    a_notice_with_emoji_prints_and_copies_back_what_was_written,
    the_monthly_pdf_keeps_each_label_apart_from_its_value,
);
