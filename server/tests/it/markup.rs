//! Markup layers over photos (issue 14, item 10) on the server: a `photo_marked`
//! record from someone who may see the photo is kept beside it and drawn over it on
//! the notice page; from anyone else it is refused and nothing is drawn; the audit
//! rebuilds the layers from the log and finds them equal. Against both databases.

use crate::support;

use patrol_protocol::{Mark, RecordPayload};
use support::phone::{Demo, Phone, jpeg, notice, photo_taken};
use support::{Backend, TestServer, web};

async fn a_layer_is_drawn_over_the_photo_for_those_who_may_see_it(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else { return };
    let mut officer = Phone::sign_in(&s, "patrol").await;
    let demo = Demo { reference: officer.pull(&s, "").await["reference"].clone() };
    let (bytes, sha) = jpeg(40);
    officer.record(&s, photo_taken(&sha, bytes.len(), None, None));
    let due = s.clock_now() + 48 * 3_600_000;
    let (notice_id, raise) = notice(demo.site(), demo.dept("engineering"), "地下车库顶板渗水", vec![sha.clone()], due);
    officer.record(&s, raise);
    let marks = vec![
        Mark::Arrow { from_x: 1000, from_y: 1200, to_x: 4000, to_y: 4500 },
        Mark::Circle { x: 4200, y: 4700, radius: 800 },
        Mark::Text { x: 500, y: 8000, text: "渗水点<script>".into() },
    ];
    officer.record(&s, RecordPayload::PhotoMarked { photo: sha.clone(), marks: marks.clone() });
    let resp = officer.push(&s).await;
    let results = resp["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["status"] == "applied"), "{resp}");
    let (status, _) = officer.upload(&s, &sha, &bytes, 0).await;
    assert_eq!(status, axum::http::StatusCode::OK);

    // The cleaning head may not see an engineering notice's photo: their layer over it
    // is kept in the log and refused, and adds nothing to the page.
    let mut cleaner = Phone::sign_in(&s, "clean.head").await;
    let refused = cleaner.record(
        &s,
        RecordPayload::PhotoMarked { photo: sha.clone(), marks: vec![Mark::Circle { x: 1, y: 1, radius: 1 }] },
    );
    let resp = cleaner.push(&s).await;
    let r = resp["results"].as_array().unwrap().iter().find(|r| r["record_id"] == refused.id.to_string()).unwrap();
    assert_eq!(r["status"], "rejected", "{resp}");
    assert!(r["reason_zh"].as_str().unwrap().contains("无权查看此照片"), "{r}");

    // The engineering head sees the notice and adds a layer of their own.
    let mut head = Phone::sign_in(&s, "eng.head").await;
    head.record(
        &s,
        RecordPayload::PhotoMarked { photo: sha.clone(), marks: vec![Mark::Circle { x: 9000, y: 500, radius: 300 }] },
    );
    let resp = head.push(&s).await;
    assert!(resp["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{resp}");

    // The page draws both layers (3 + 1 marks) over the photo, the text escaped.
    let (cookie, _) = web::sign_in(&s, "supervisor").await;
    let page = web::get(&s, &format!("/notices/{notice_id}"), &cookie).await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    let at = page.body.find("class=\"thumb marked\"").expect("the photo is drawn with its markup");
    let tag = &page.body[at..at + page.body[at..].find('>').unwrap()];
    assert!(tag.contains("data-marks=\"4\""), "{tag}");
    assert!(page.body.contains("渗水点&lt;script&gt;"), "the text is escaped");
    assert!(!page.body.contains("渗水点<script>"));
    let svg_at = page.body.find("<svg class=\"markup\"").expect("the layer's drawing");
    let svg = &page.body[svg_at..svg_at + page.body[svg_at..].find("</svg>").unwrap()];
    assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
    assert_eq!(svg.matches("<line").count(), 1, "{svg}");
    assert_eq!(svg.matches("<text").count(), 1, "{svg}");

    // The printed notice draws them too, in the marks' red over the photo: two strokes
    // for the arrow (shaft, head), a circle each, the text in red.
    let pdf = web::get(&s, &format!("/notices/{notice_id}/notice.pdf"), &cookie).await;
    assert_eq!(pdf.status, axum::http::StatusCode::OK);
    let content = pdf_content(&pdf.bytes);
    let red_strokes = content.lines().filter(|l| l.starts_with("0.898 ") && l.ends_with(" RG")).count();
    let red_fills = content.lines().filter(|l| l.starts_with("0.898 ") && l.ends_with(" rg")).count();
    assert_eq!((red_strokes, red_fills), (4, 1), "marks drawn on the print");

    // The officer clears their layer: the head's stays; both are still in the log.
    officer.record(&s, RecordPayload::PhotoMarked { photo: sha.clone(), marks: vec![] });
    officer.push(&s).await;
    let page = web::get(&s, &format!("/notices/{notice_id}"), &cookie).await;
    assert!(page.body.contains("data-marks=\"1\""), "only the head's layer is drawn");
    assert!(!page.body.contains("渗水点"));
    let kept = s
        .state
        .store
        .read(move |c| c.query_one("SELECT COUNT(*) FROM records WHERE kind = 'photo_marked'", &[])?.int(0))
        .await
        .unwrap();
    assert_eq!(kept, 4, "every layer, and the refused one, is in the log");

    // The audit rebuilds the layers from the log and finds them equal.
    let report = patrol_server::audit::verify::verify(&s.state.store, &s.state.photos).await.unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

/// Every compressed stream of a PDF, inflated and joined: its drawing operators.
fn pdf_content(pdf: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = pdf;
    while let Some(at) = rest.windows(6).position(|w| w == b"stream") {
        let mut start = at + 6;
        while matches!(rest.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let Some(len) = rest[start..].windows(9).position(|w| w == b"endstream") else { break };
        if let Ok(data) = miniz_oxide::inflate::decompress_to_vec_zlib(&rest[start..start + len]) {
            out.push_str(&String::from_utf8_lossy(&data));
            out.push('\n');
        }
        rest = &rest[start + len + 9..];
    }
    out
}

both_backends!(a_layer_is_drawn_over_the_photo_for_those_who_may_see_it);
