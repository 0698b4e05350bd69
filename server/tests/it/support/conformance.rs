//! Every answer an API test receives is checked against the OpenAPI document the
//! server serves (`app::openapi_document`): the status is one it lists for the
//! operation, the media type is the listed one, and a JSON body validates against the
//! listed schema. So the document is tested by every test of the API, not by a list of
//! examples of its own; a handler whose answer drifts from its type's schema, or an
//! error answered in another shape, fails whichever test meets it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

struct Document {
    doc: Value,
    /// Path templates split into segments, with the template itself.
    templates: Vec<(Vec<String>, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = patrol_server::app::openapi_document();
        let templates = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(|t| (t.split('/').map(str::to_string).collect(), t.clone()))
            .collect();
        Document { doc, templates, validators: Mutex::new(HashMap::new()) }
    })
}

/// The document's template for a concrete path (`/api/v1/sites/{site_id}` for
/// `/api/v1/sites/0193…`), preferring literal segments over parameters.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    document()
        .templates
        .iter()
        .filter(|(t, _)| {
            t.len() == segments.len()
                && t.iter().zip(&segments).all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
        .max_by_key(|(t, _)| t.iter().filter(|s| !s.starts_with('{')).count())
        .map(|(_, template)| template.as_str())
}

/// Panics when the answer is not one the document describes for the operation.
pub fn check(method: &Method, path: &str, status: StatusCode, content_type: Option<&str>, body: &[u8]) {
    let Some(template) = template_of(path) else { return };
    let d = document();
    let Some(op) = d.doc["paths"][template].get(method.as_str().to_lowercase()) else {
        // A method the path does not have: refused (405) as JSON like any error.
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: not in the document, answered {status}");
        return;
    };
    let code = status.as_u16().to_string();
    let range = format!("{}XX", status.as_u16() / 100);
    let (key, answer) = match op["responses"].get(&code) {
        Some(a) => (code.clone(), a),
        None => match op["responses"].get(&range) {
            Some(a) => (range.clone(), a),
            None => panic!("{method} {template}: answered {status}, which the document does not list"),
        },
    };
    let Some(content) = answer.get("content").and_then(Value::as_object) else {
        assert!(body.is_empty(), "{method} {template} {status}: the document lists no body, got {} bytes", body.len());
        return;
    };
    let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    let Some(listed) = content.get(&media) else {
        panic!(
            "{method} {template} {status}: answered as {media:?}, the document lists {:?}",
            content.keys().collect::<Vec<_>>()
        );
    };
    if media != "application/json" {
        return;
    }
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{method} {template} {status}: the body is not JSON ({e})"));
    let validator = {
        let id = format!("{} {template} {key}", method.as_str());
        let mut cache = d.validators.lock().unwrap();
        cache
            .entry(id)
            .or_insert_with(|| {
                let root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "allOf": [listed["schema"]],
                    "components": d.doc["components"],
                });
                Arc::new(jsonschema::validator_for(&root).expect("the document's schemas compile"))
            })
            .clone()
    };
    let errors: Vec<String> =
        validator.iter_errors(&value).take(5).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: the answer does not match the document: {errors:#?}\n{value:#}"
    );
}
