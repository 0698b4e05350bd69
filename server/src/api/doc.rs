//! The OpenAPI 3.1 document, read off the handlers' own signatures.
//!
//! Each route of `app::routes()` names its handler once; the handler's extractors and
//! answer type say what the operation takes and gives (`Documented`, implemented for
//! every handler function by its arguments), and the types' JSON Schemas come from
//! their serde definitions through schemars. So a handler that starts taking another
//! body or answering another type changes the document with it: nothing is typed twice.
//!
//! Why not aide or utoipa-axum: aide 0.15 is bound to schemars 0.9 (1.x only in its
//! alphas) and documents path parameters from a struct's field names, while every
//! handler here takes them by position; utoipa asks for each operation's types again in
//! an attribute, which can drift from the handler. The part that is hard to get right,
//! a schema that matches what serde writes and reads (tags, renames, defaults, skipped
//! fields, unknown fields refused), is schemars's, for both directions: request bodies
//! as serde reads them, answers as serde writes them.

use std::future::Future;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Schemas of the types an operation takes (as serde reads them) and gives (as serde
/// writes them), each kept once under `#/components/schemas`.
pub struct Schemas {
    reads: SchemaGenerator,
    writes: SchemaGenerator,
}

impl Default for Schemas {
    fn default() -> Self {
        let mut settings = SchemaSettings::draft2020_12();
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
        Schemas {
            reads: settings.clone().for_deserialize().into_generator(),
            writes: settings.for_serialize().into_generator(),
        }
    }
}

impl Schemas {
    /// The schema of a type the server reads (a body, a query).
    pub fn read<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.reads.subschema_for::<T>().to_value()
    }

    /// The schema of a type the server writes (an answer).
    pub fn written<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.writes.subschema_for::<T>().to_value()
    }

    /// An object schema of a type the server reads, with its `$ref` resolved.
    fn read_object<T: JsonSchema>(&mut self) -> Value {
        let schema = self.read::<T>();
        let name = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(str::to_string);
        match name {
            Some(name) => self.reads.definitions().get(&name).cloned().unwrap_or(schema),
            None => schema,
        }
    }

    /// Every named schema, for `components.schemas`. A type read and written alike is
    /// kept once; one whose written form differs (a field the server always writes but
    /// a client may leave out) is kept twice, the written one as `<Name>Answer`, and the
    /// answers' references (already in `paths`) are pointed at it.
    pub fn finish(mut self, paths: &mut Value) -> Map<String, Value> {
        let mut all = self.reads.take_definitions(true);
        let written = self.writes.take_definitions(true);
        let renamed: Vec<(String, String)> = written
            .iter()
            .filter(|(name, schema)| all.get(*name).is_some_and(|read| read != *schema))
            .map(|(name, _)| (name.clone(), format!("{name}Answer")))
            .collect();
        let mut written = Value::Object(written);
        for (from, to) in &renamed {
            rename_refs(&mut written, from, to);
        }
        // Answers' schemas are those under `responses`; requests' keep the read names.
        for_each_response(paths, &mut |v| {
            for (from, to) in &renamed {
                rename_refs(v, from, to);
            }
        });
        for (name, schema) in written.as_object().cloned().unwrap_or_default() {
            let name = renamed.iter().find(|(from, _)| *from == name).map(|(_, to)| to.clone()).unwrap_or(name);
            all.entry(name).or_insert(schema);
        }
        all.values_mut().for_each(plain_string_choices);
        plain_string_choices(paths);
        // Only what the operations refer to, directly or through other schemas (a
        // query's type is spelled out as parameters, not referred to).
        let mut kept = Map::new();
        let mut pending = Vec::new();
        collect_refs(paths, &mut pending);
        while let Some(name) = pending.pop() {
            if kept.contains_key(&name) {
                continue;
            }
            if let Some(schema) = all.remove(&name) {
                collect_refs(&schema, &mut pending);
                kept.insert(name, schema);
            }
        }
        kept
    }
}

fn rename_refs(v: &mut Value, from: &str, to: &str) {
    let old = format!("#/components/schemas/{from}");
    match v {
        Value::Object(map) => {
            if map.get("$ref").and_then(Value::as_str) == Some(old.as_str()) {
                map.insert("$ref".into(), Value::String(format!("#/components/schemas/{to}")));
            }
            map.values_mut().for_each(|v| rename_refs(v, from, to));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, from, to)),
        _ => {}
    }
}

/// A Rust enum of unit variants, some with doc comments, comes out of schemars as a
/// `oneOf` of `const`s (the described ones) and an `enum` (the rest). Equivalent, but
/// generators of clients read only the first choice of such a `oneOf` (openapi-python-
/// client #1044): written as one `enum` of strings, the variants' descriptions kept in
/// the schema's description.
fn plain_string_choices(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let choices = map.get("oneOf").and_then(Value::as_array).and_then(|items| {
                let mut values = Vec::new();
                let mut described = Vec::new();
                for item in items {
                    let item = item.as_object()?;
                    if item.get("type").is_some_and(|t| t != "string")
                        || item.keys().any(|k| !["const", "enum", "type", "description"].contains(&k.as_str()))
                    {
                        return None;
                    }
                    let these: Vec<Value> = match (item.get("const"), item.get("enum")) {
                        (Some(c), None) => vec![c.clone()],
                        (None, Some(Value::Array(e))) => e.clone(),
                        _ => return None,
                    };
                    if let Some(d) = item.get("description").and_then(Value::as_str) {
                        for value in &these {
                            described.push(format!("`{}`: {d}", value.as_str().unwrap_or_default()));
                        }
                    }
                    values.extend(these);
                }
                values.iter().all(Value::is_string).then_some((values, described))
            });
            if let Some((values, described)) = choices {
                map.remove("oneOf");
                map.insert("type".into(), json!("string"));
                map.insert("enum".into(), Value::Array(values));
                if !described.is_empty() {
                    let mut text = map.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
                    for line in described {
                        text.push_str(if text.is_empty() { "" } else { "\n" });
                        text.push_str(&line);
                    }
                    map.insert("description".into(), Value::String(text));
                }
            }
            map.values_mut().for_each(plain_string_choices);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_string_choices),
        _ => {}
    }
}

fn collect_refs(v: &Value, names: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                names.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, names));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, names)),
        _ => {}
    }
}

fn for_each_response(paths: &mut Value, f: &mut impl FnMut(&mut Value)) {
    for item in paths.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
        for op in item.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
            if let Some(responses) = op.get_mut("responses") {
                f(responses);
            }
        }
    }
}

/// What one operation takes and gives, gathered from its handler's types.
#[derive(Default)]
pub struct Operation {
    /// The schemas of the path's parameters, in the order the handler takes them.
    pub path: Vec<Value>,
    /// Query parameters: name, required, schema, description.
    pub query: Vec<(String, bool, Value, Option<String>)>,
    /// The body's media type and schema.
    pub body: Option<(&'static str, Value)>,
    /// Success answers by status: description, media type and schema, headers.
    pub answers: Vec<Answer>,
}

pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub content: Option<(&'static str, Value)>,
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Answer {
    pub fn new(status: u16, description: &'static str, content: Option<(&'static str, Value)>) -> Answer {
        Answer { status, description, content, headers: Vec::new() }
    }
}

/// An argument of a handler: what it adds to the operation (nothing, for the state and
/// the signed-in person, whom the route's audience documents).
pub trait DocIn {
    fn document(_schemas: &mut Schemas, _op: &mut Operation) {}
}

/// A handler's answer.
pub trait DocOut {
    fn document(schemas: &mut Schemas, op: &mut Operation);
}

/// A handler function, documented by its arguments and its answer.
pub trait Documented<Args> {
    fn document(schemas: &mut Schemas, op: &mut Operation);
}

macro_rules! documented {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Documented<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future<Output = R>,
            R: DocOut,
            $($arg: DocIn,)*
        {
            fn document(_schemas: &mut Schemas, op: &mut Operation) {
                $(<$arg as DocIn>::document(_schemas, op);)*
                R::document(_schemas, op);
            }
        }
    };
}
documented!();
documented!(A1);
documented!(A1, A2);
documented!(A1, A2, A3);
documented!(A1, A2, A3, A4);
documented!(A1, A2, A3, A4, A5);
documented!(A1, A2, A3, A4, A5, A6);

impl<S> DocIn for State<S> {}
impl DocIn for crate::policy::Actor {}
impl DocIn for crate::auth::ClientAddr {}

impl<T: JsonSchema> DocIn for super::extract::Json<T> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        op.body = Some(("application/json", schemas.read::<T>()));
    }
}

impl<T: JsonSchema> DocIn for super::extract::JsonBytes<T> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        op.body = Some(("application/json", schemas.read::<T>()));
    }
}

/// Raw bytes (a photo's chunk).
impl DocIn for axum::body::Bytes {
    fn document(_: &mut Schemas, op: &mut Operation) {
        // `format: binary` beside 3.1's `contentMediaType`: generators of clients read it
        // as "a file" (a caller hands bytes, not text).
        op.body = Some((
            "application/octet-stream",
            json!({"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}),
        ));
    }
}

/// The values of a path's parameters, in order.
pub trait PathParams {
    fn schemas(schemas: &mut Schemas) -> Vec<Value>;
}

impl PathParams for uuid::Uuid {
    fn schemas(schemas: &mut Schemas) -> Vec<Value> {
        vec![schemas.read::<uuid::Uuid>()]
    }
}

impl PathParams for String {
    fn schemas(schemas: &mut Schemas) -> Vec<Value> {
        vec![schemas.read::<String>()]
    }
}

impl<A: PathParams, B: PathParams> PathParams for (A, B) {
    fn schemas(schemas: &mut Schemas) -> Vec<Value> {
        let mut all = A::schemas(schemas);
        all.extend(B::schemas(schemas));
        all
    }
}

impl<T: PathParams> DocIn for super::extract::Path<T> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        op.path = T::schemas(schemas);
    }
}

impl<T: JsonSchema> DocIn for super::extract::Query<T> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        let object = schemas.read_object::<T>();
        let required: Vec<&str> =
            object.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, schema) in object.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let mut schema = schema.clone();
            // A parameter left out is how a query says "none": it is never `null`.
            if let Some(Value::Array(types)) = schema.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    schema["type"] = only;
                }
            }
            let description = schema.as_object_mut().and_then(|m| m.remove("description")).and_then(|d| match d {
                Value::String(s) => Some(s),
                _ => None,
            });
            op.query.push((name.clone(), required.contains(&name.as_str()), schema, description));
        }
    }
}

impl<T: JsonSchema> DocOut for super::extract::Json<T> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(200, "success", Some(("application/json", schemas.written::<T>()))));
    }
}

/// `(StatusCode::CREATED, Json(made))`: the thing made.
impl<T: JsonSchema> DocOut for (StatusCode, super::extract::Json<T>) {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(201, "created", Some(("application/json", schemas.written::<T>()))));
    }
}

/// A page of a list, with the next page's address in `Link` when there is one.
impl<T: JsonSchema> DocOut for (HeaderMap, super::extract::Json<T>) {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        let mut answer = Answer::new(200, "a page", Some(("application/json", schemas.written::<T>())));
        answer.headers.push(("Link", "The next page as `<…>; rel=\"next\"`, absent on the last page"));
        op.answers.push(answer);
    }
}

/// `StatusCode::NO_CONTENT`: done, nothing to say.
impl DocOut for StatusCode {
    fn document(_: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(204, "done", None));
    }
}

impl DocOut for &'static str {
    fn document(_: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(200, "success", Some(("text/plain", json!({"type": "string"})))));
    }
}

/// Errors are documented for every operation by the route table (`app::openapi_document`).
impl<T: DocOut> DocOut for Result<T, crate::error::ApiError> {
    fn document(schemas: &mut Schemas, op: &mut Operation) {
        T::document(schemas, op);
    }
}

/// A JPEG (a photo or its thumbnail), or 304 when the client's copy is current.
impl DocOut for crate::photos::Jpeg {
    fn document(_: &mut Schemas, op: &mut Operation) {
        let mut ok = Answer::new(
            200,
            "the JPEG",
            Some(("image/jpeg", json!({"type": "string", "format": "binary", "contentMediaType": "image/jpeg"}))),
        );
        ok.headers.push(("ETag", "The photo's SHA-256: a photo never changes"));
        op.answers.push(ok);
        op.answers.push(Answer::new(304, "the client's copy (If-None-Match) is this photo", None));
    }
}

/// A C2SP checkpoint note or note verifier key.
impl DocOut for crate::audit::api::NoteText {
    fn document(_: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(
            200,
            "C2SP text (c2sp.org/tlog-checkpoint, c2sp.org/signed-note)",
            Some(("text/plain", json!({"type": "string"}))),
        ));
    }
}

/// Prometheus's text exposition format.
impl DocOut for super::health::MetricsText {
    fn document(_: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(
            200,
            "metrics",
            Some(("text/plain", json!({"type": "string", "description": "Prometheus text format 0.0.4"}))),
        ));
    }
}

/// This document.
impl DocOut for crate::app::OpenApiDocument {
    fn document(_: &mut Schemas, op: &mut Operation) {
        op.answers.push(Answer::new(
            200,
            "an OpenAPI 3.1 document",
            Some(("application/json", json!({"type": "object"}))),
        ));
    }
}

/// Documents a handler.
pub fn operation<H: Documented<A>, A>(_: &H, schemas: &mut Schemas) -> Operation {
    let mut op = Operation::default();
    H::document(schemas, &mut op);
    op
}

/// The schema of a path parameter: the handler's type, narrowed by the parameter's
/// name where the handler takes text and checks it itself (a day, a photo's hash).
pub fn path_parameter(name: &str, of_handler: &Value) -> Value {
    match name {
        "day" => {
            json!({"type": "string", "format": "date", "description": "A day in the site's time zone, YYYY-MM-DD"})
        }
        "sha256" => {
            json!({"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The photo's SHA-256, 64 lowercase hex digits"})
        }
        "month" => {
            json!({"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "description": "A month in the site's time zone, YYYY-MM"})
        }
        _ => of_handler.clone(),
    }
}
