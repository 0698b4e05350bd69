//! The OpenAPI document: complete for every route, built from the handlers' types,
//! and a checker (`support::conformance`, run on every API answer of every test) that
//! refuses what the document does not describe.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestServer, conformance};

fn schema<'a>(doc: &'a Value, reference: &Value) -> &'a Value {
    let name = reference["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")).unwrap();
    &doc["components"]["schemas"][name]
}

#[test]
fn every_operation_documents_its_parameters_body_and_answers() {
    let doc = patrol_server::app::openapi_document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operation_ids = std::collections::HashSet::new();
    for r in patrol_server::app::routes() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        let what = format!("{} {}", r.method, r.path);
        assert!(operation_ids.insert(op["operationId"].as_str().unwrap().to_string()), "{what}: operationId repeated");
        // Every `{name}` of the path is a required path parameter with a real format.
        for name in r.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let p = op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == name && p["in"] == "path");
            let p = p.unwrap_or_else(|| panic!("{what}: no parameter {name}"));
            assert_eq!(p["required"], true, "{what} {name}");
            let expected = match name {
                "day" => json!("date"),
                "sha256" | "month" => Value::Null,
                _ => json!("uuid"),
            };
            assert_eq!(p["schema"]["format"], expected, "{what} {name}: {p}");
        }
        // Every success answer but 204/304 has a body with a schema; errors are ErrorBody.
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{what}: no success answer");
        for (status, answer) in responses {
            if status == "204" || status == "304" {
                assert!(answer.get("content").is_none(), "{what} {status}");
                continue;
            }
            let content = answer["content"].as_object().unwrap_or_else(|| panic!("{what} {status}: no content"));
            assert!(content.values().all(|c| c["schema"].is_object()), "{what} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(content["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody", "{what}");
            }
        }
        if r.method == Method::POST || r.method == Method::PUT {
            // Writes take a body, but for actions named by their path alone.
            let bodyless = ["/retire", "/password-reset", "/api/v1/auth/logout"];
            if !bodyless.iter().any(|b| r.path.ends_with(b)) {
                assert!(op["requestBody"]["content"].is_object(), "{what}: no request body");
            }
        }
        let secured = op.get("security").is_some();
        assert_eq!(secured, r.audience != patrol_server::app::Audience::Public, "{what}");
        if secured {
            assert_eq!(responses["401"]["headers"]["WWW-Authenticate"]["required"], true, "{what}");
        }
        assert_eq!(responses["429"]["headers"]["Retry-After"]["required"], true, "{what}");
        assert_eq!(responses["503"]["headers"]["Retry-After"]["required"], true, "{what}");
    }
    // The types come through whole: the push's records with their payload kinds, the
    // login with its fields, the photo's hash as 64 hex digits.
    let push = &doc["paths"]["/api/v1/sync/push"]["post"];
    let push_body = schema(&doc, &push["requestBody"]["content"]["application/json"]["schema"]);
    assert!(push_body["required"].as_array().unwrap().contains(&json!("records")), "{push_body}");
    let payload = &doc["components"]["schemas"]["RecordPayload"];
    let kinds: Vec<&str> =
        payload["oneOf"].as_array().unwrap().iter().filter_map(|v| v["properties"]["kind"]["const"].as_str()).collect();
    for kind in ["run_started", "checkpoint_visited", "photo_taken", "notice_raised", "notice_acted"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // A type that refuses unknown fields says so.
    assert_eq!(push_body["additionalProperties"], false, "{push_body}");
    let login = schema(
        &doc,
        &doc["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    assert_eq!(login["properties"]["device_id"]["format"], "uuid", "{login}");
    let upload = &doc["paths"]["/api/v1/photos/{sha256}/upload"]["put"];
    assert_eq!(upload["parameters"][0]["schema"]["pattern"], "^[0-9a-f]{64}$");
    assert!(upload["requestBody"]["content"]["application/octet-stream"].is_object());
    assert!(upload["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "offset" && p["required"] == true));
    let pull = &doc["paths"]["/api/v1/sync/pull"]["get"];
    let limit = pull["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!((limit["required"].clone(), limit["schema"]["type"].clone()), (json!(false), json!("integer")));
    // Every reference resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    out.push(r.to_string());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
    }
}

/// The checker every test's answers go through can fail: an answer of the wrong
/// shape, an unlisted status, a wrong media type are each refused.
#[test]
fn the_conformance_check_refuses_answers_the_document_does_not_describe() {
    let refused = |method: Method, path: &str, status: u16, media: &str, body: &str| {
        let (path, media, body) = (path.to_string(), media.to_string(), body.to_string());
        std::panic::catch_unwind(move || {
            conformance::check(&method, &path, StatusCode::from_u16(status).unwrap(), Some(&media), body.as_bytes())
        })
        .is_err()
    };
    let site = "/api/v1/sites/0193a0d4-0000-7000-8000-000000000001";
    // What the server really answers passes …
    assert!(!refused(Method::GET, "/api/v1/sites", 200, "application/json", "[]"));
    assert!(!refused(
        Method::GET,
        site,
        404,
        "application/json",
        r#"{"error":"not_found","message":"x","message_zh":"x","message_en":"x","reason":"not_found"}"#
    ));
    // … and each kind of drift is caught.
    assert!(refused(Method::GET, "/api/v1/sites", 200, "application/json", r#"{"sites":[]}"#));
    assert!(refused(Method::GET, site, 200, "application/json", r#"{"id":"not a uuid"}"#));
    assert!(refused(Method::GET, site, 404, "application/json", r#"{"error":"not_found"}"#));
    assert!(refused(Method::GET, site, 404, "text/plain", "Not Found"));
    assert!(refused(Method::GET, "/api/v1/sites", 302, "application/json", "[]"));
    assert!(refused(Method::POST, "/api/v1/me/password", 204, "application/json", "{}"));
}

async fn errors_carry_the_request_id_and_every_answer_the_security_headers(backend: Backend) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    for (uri, id) in [
        ("/api/v1/me", "req-test-1"),
        ("/api/v1/sites/not-a-uuid", "req-test-2"),
        ("/api/v1/nothing-here", "req-test-3"),
    ] {
        let req = Request::builder()
            .uri(uri)
            .header("x-request-id", id)
            .header("accept-language", "en")
            .body(Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
        assert!(resp.status().is_client_error(), "{uri}: {}", resp.status());
        let headers = resp.headers().clone();
        assert_eq!(headers["x-request-id"], id);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let body: Value =
            serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["request_id"], id, "{uri}: {body}");
        // English asked for, English given, Chinese beside it; on 401 too.
        assert_eq!(body["message"], body["message_en"], "{uri}: {body}");
        assert_ne!(body["message_zh"], body["message_en"], "{uri}: {body}");
    }
    // Without an id from a proxy, the server makes one, and the body carries it.
    let req = Request::builder().uri("/api/v1/me").body(Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"].to_str().unwrap().split(' ').next(), Some("Bearer"));
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!(body["request_id"], id.as_str());
    assert!(body["message_zh"].as_str().is_some_and(|m| !m.is_empty() && m != "unauthenticated"), "{body}");
    // A page of the console carries them too.
    let req = Request::builder().uri("/login").header("accept", "text/html").body(Body::empty()).unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

both_backends!(errors_carry_the_request_id_and_every_answer_the_security_headers);
