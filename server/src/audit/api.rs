//! The log's public API: tree heads, the public key, inclusion and consistency proofs,
//! and the check of a printed notice's verification code.
//!
//! Public on purpose (docs/audit.md): a witness run by the owners' committee holds no
//! employee login. The answers are hashes, sizes and times; no record content, no
//! names. The one lookup by content (`check-code`) needs the notice number AND the
//! code, and answers only whether they match.

use crate::api::extract::Json;
use crate::api::extract::Query;
use axum::extract::State;
use patrol_protocol::Id;
use patrol_protocol::audit::{ConsistencyProof, InclusionProof, Leaf, LeafRange, LogPublicKey, SignedTreeHead};
use patrol_protocol::reason::Reason;
use patrol_protocol::transparency::{self, Hash};
use serde::{Deserialize, Serialize};

use super::log;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::DbError;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, DbError> + Send + 'static) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(format!("audit task failed: {e}")))??)
}

fn hexes(proof: Vec<Hash>) -> Vec<String> {
    proof.into_iter().map(hex::encode).collect()
}

/// `GET /api/v1/audit/tree-head`: the newest signed head, signed now if the log grew.
pub async fn tree_head(State(state): State<AppState>) -> ApiResult<Json<SignedTreeHead>> {
    state.caught_up().await?;
    let (store, now) = (state.store.clone(), state.clock.now_ms());
    Ok(Json(blocking(move || log::current_head(&store, now)).await?))
}

/// A C2SP note or key, as text.
pub struct NoteText(pub String);

impl axum::response::IntoResponse for NoteText {
    fn into_response(self) -> axum::response::Response {
        ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.0).into_response()
    }
}

/// `GET /api/v1/audit/checkpoint`: the newest head as a C2SP tlog-checkpoint, signed
/// as a C2SP signed note by the log key, with the witnesses' cosignatures of it so far
/// (docs/audit.md, "Checkpoints").
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<NoteText> {
    state.caught_up().await?;
    let (store, now) = (state.store.clone(), state.clock.now_ms());
    let head = blocking(move || log::current_head(&store, now)).await?;
    let note = state.store.read(move |c| super::witnessed::checkpoint_of(c, &head.head)).await?;
    Ok(NoteText(note.render()))
}

/// `GET /api/v1/audit/checkpoint/witnessed`: the newest checkpoint cosigned by as many
/// of the configured witnesses as the policy requires (`PATROL_WITNESS_QUORUM`).
pub async fn witnessed_checkpoint(State(state): State<AppState>) -> ApiResult<NoteText> {
    let policy = state.witness_policy.clone();
    // Nothing without a policy: `newest_witnessed` requires one.
    match state.store.read(move |c| super::witnessed::newest_witnessed(c, &policy)).await? {
        Some(cp) => Ok(NoteText(cp.render())),
        None => Err(ApiError::NotFound(Reason::NotWitnessed)),
    }
}

/// `GET /api/v1/audit/checkpoint-key`: the note verifier key of the checkpoints'
/// signature (`origin+keyid+base64(0x01 ‖ Ed25519 key)`), for a witness to pin.
pub async fn checkpoint_key(State(state): State<AppState>) -> ApiResult<NoteText> {
    let key = state
        .store
        .read(|c| {
            let origin = log::origin(c)?;
            Ok(log::signing_key(c)?.note_verifier_key(&origin))
        })
        .await?;
    Ok(NoteText(key))
}

/// `GET /api/v1/audit/public-key`
pub async fn public_key(State(state): State<AppState>) -> ApiResult<Json<LogPublicKey>> {
    Ok(Json(state.store.read(log::newest_public_key).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// `GET /api/v1/audit/consistency?first=&second=`
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    state.caught_up().await?;
    let (first, second) = (q.first, q.second);
    let proof = state
        .store
        .read(move |c| {
            let size = log::size(c)?;
            if first == 0 || first > second || second > size {
                return Ok(Err(size));
            }
            log::Reader::new(c).consistency(first, second).map(Ok)
        })
        .await?
        .map_err(|size| ApiError::invalid("first", Reason::ConsistencyBounds { size }))?;
    Ok(Json(ConsistencyProof { first, second, proof: hexes(proof) }))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct LeavesQuery {
    start: u64,
    /// At most 1000; defaults to 1000.
    count: Option<u64>,
}

/// The most leaves one answer carries.
pub const MAX_LEAVES: u64 = 1000;

/// `GET /api/v1/audit/leaves?start=&count=`: leaves as logged, for monitors (hashes,
/// ids, sizes, notice numbers; no record content, no names).
pub async fn leaves(State(state): State<AppState>, Query(q): Query<LeavesQuery>) -> ApiResult<Json<LeafRange>> {
    state.caught_up().await?;
    let count = q.count.unwrap_or(MAX_LEAVES);
    if count == 0 || count > MAX_LEAVES {
        return Err(ApiError::invalid("count", Reason::OutOfRange { min: 1.0, max: MAX_LEAVES as f64 }));
    }
    let start = q.start;
    let leaves = state
        .store
        .read(move |c| {
            let size = log::size(c)?;
            if start > size {
                return Ok(Err(size));
            }
            let rows = c.query(
                "SELECT leaf_index, leaf FROM log_leaves WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index",
                &crate::params![start as i64, (start + count).min(size) as i64],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for (k, r) in rows.iter().enumerate() {
                if r.int(0)? as u64 != start + k as u64 {
                    return Err(DbError::Data(format!("transparency log: leaf {} is missing", start + k as u64)));
                }
                out.push(r.text(1)?);
            }
            Ok(Ok(out))
        })
        .await?
        .map_err(|size| ApiError::invalid("start", Reason::InclusionBounds { size }))?;
    Ok(Json(LeafRange { start, leaves }))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct InclusionQuery {
    index: Option<u64>,
    record_id: Option<Id>,
    tree_size: Option<u64>,
}

/// `GET /api/v1/audit/inclusion?index=&tree_size=` or `?record_id=&tree_size=`; the
/// tree size defaults to the whole log.
pub async fn inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    state.caught_up().await?;
    if q.index.is_some() == q.record_id.is_some() {
        return Err(ApiError::invalid("index", Reason::IndexOrRecordId));
    }
    let answer = state
        .store
        .read(move |c| {
            let size = log::size(c)?;
            let index = match (q.index, q.record_id) {
                (Some(i), _) => i,
                (_, Some(id)) => match log::record_leaf(c, id, "record")? {
                    Some(i) => i,
                    None => return Ok(Err(ApiError::NotFound(Reason::NoLeaf))),
                },
                _ => unreachable!("checked above"),
            };
            let tree_size = q.tree_size.unwrap_or(size);
            if index >= tree_size || tree_size > size {
                return Ok(Err(ApiError::invalid("tree_size", Reason::InclusionBounds { size })));
            }
            let leaf = log::perfect(c, 0, index)?;
            let proof = log::Reader::new(c).inclusion(index, tree_size)?;
            Ok(Ok(InclusionProof { leaf_index: index, tree_size, leaf_hash: hex::encode(leaf), proof: hexes(proof) }))
        })
        .await??;
    Ok(Json(answer))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CodeQuery {
    number: String,
    code: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CodeCheck {
    pub valid: bool,
    pub reason: String,
    pub reason_zh: String,
    /// The signed head the code names, and the full proof: anyone can re-check it.
    pub tree_head: Option<SignedTreeHead>,
    pub inclusion: Option<InclusionProof>,
    /// With a witness policy: the cosigned checkpoint the head was checked against.
    pub witnessed_checkpoint: Option<String>,
}

impl CodeCheck {
    fn no(en: &str, zh: &str) -> CodeCheck {
        CodeCheck {
            valid: false,
            reason: en.into(),
            reason_zh: zh.into(),
            tree_head: None,
            inclusion: None,
            witnessed_checkpoint: None,
        }
    }
}

/// Checks a printed code against the log, in one read transaction. With a witness
/// policy the head the code names must be a prefix of a checkpoint the policy's
/// witnesses cosigned, and the database's tree must still have that checkpoint's root:
/// an insider who rewrote the log below it cannot make the witnesses' roots match.
pub fn check_code(
    c: &mut dyn crate::store::Conn,
    number: &str,
    code: &str,
    policy: &super::cosign::Policy,
) -> Result<Option<CodeCheck>, DbError> {
    let Some((index, size, prefix)) = log::parse_code(code) else { return Ok(None) };
    let Some(head) = log::head_of_size(c, size)? else {
        return Ok(Some(CodeCheck::no("no signed tree head of that size", "没有该大小的签名树头")));
    };
    if !head.head.root.starts_with(&prefix) {
        return Ok(Some(CodeCheck::no("the root does not match the code", "树根与验证码不符")));
    }
    let key_ok = log::public_key(c, &head.key_id)?.is_some_and(|k| log::signature_ok(&head, &k));
    if !key_ok {
        return Ok(Some(CodeCheck::no("the tree head's signature is not valid", "树头签名无效")));
    }
    let Some(row) = c.query_opt("SELECT leaf FROM log_leaves WHERE leaf_index = $1", &crate::params![index as i64])?
    else {
        return Ok(Some(CodeCheck::no("no such leaf", "日志中没有该条目")));
    };
    let leaf_text = row.text(0)?;
    match serde_json::from_str::<Leaf>(&leaf_text) {
        Ok(Leaf::NoticeNumbered { number: n, .. }) if n == number => {}
        _ => return Ok(Some(CodeCheck::no("the code is not this notice's", "验证码与该通知单编号不符"))),
    }
    let leaf = transparency::leaf_hash(leaf_text.as_bytes());
    let proof = log::Reader::new(c).inclusion(index, size)?;
    let root = transparency::parse_hash(&head.head.root).unwrap_or_default();
    let valid = transparency::verify_inclusion(index, size, &leaf, &proof, &root);
    // The number is proven; what the notice says must be what was recorded and logged.
    if valid && let Some((en, zh)) = content_differs(c, number)? {
        return Ok(Some(CodeCheck::no(en, zh)));
    }
    let mut witnessed_checkpoint = None;
    if valid && policy.required() {
        // The leaf must be under a checkpoint the witnesses cosigned, and provably so
        // from the database as it is now.
        let Some(cp) = super::witnessed::newest_witnessed(c, policy)?.filter(|cp| cp.size > index) else {
            return Ok(Some(CodeCheck::no(
                "the log is not yet witnessed this far: no checkpoint covering the notice is cosigned as the policy requires",
                "该通知单所在的日志尚未获得见证策略要求的联署",
            )));
        };
        let proof = log::Reader::new(c).inclusion(index, cp.size)?;
        if !transparency::verify_inclusion(index, cp.size, &leaf, &proof, &cp.root) {
            return Ok(Some(CodeCheck::no(
                "the log differs from what the witnesses cosigned",
                "审计日志与见证方联署的检查点不一致",
            )));
        }
        witnessed_checkpoint = Some(cp.render());
    }
    let (en, zh) = if valid {
        ("the notice is in the log as numbered", "该通知单已按此编号记入审计日志")
    } else {
        ("the log does not prove this notice", "审计日志无法证明该通知单")
    };
    Ok(Some(CodeCheck {
        valid,
        reason: en.into(),
        reason_zh: zh.into(),
        tree_head: Some(head),
        inclusion: Some(InclusionProof {
            leaf_index: index,
            tree_size: size,
            leaf_hash: hex::encode(leaf),
            proof: hexes(proof),
        }),
        witnessed_checkpoint,
    }))
}

/// Whether the notice as stored (what a printout shows) differs from the record that
/// raised it, or that record from the one the log holds: the code is bound to the
/// content, not only to the number (issue 17, hole 3). Compares the raise record's
/// hash with its row and its log leaf, and the notice's site, location, description
/// and severity with the record. (Its later actions and photos are not compared here;
/// `audit verify` replays those.)
fn content_differs(
    c: &mut dyn crate::store::Conn,
    number: &str,
) -> Result<Option<(&'static str, &'static str)>, DbError> {
    use patrol_protocol::record::{Record, RecordPayload};
    let Some(n) = c.query_opt(
        "SELECT n.site_id, n.location, n.description, n.severity, r.body, r.hash, n.raised_record_id
         FROM notices n LEFT JOIN records r ON r.id = n.raised_record_id WHERE n.number = $1",
        &crate::params![number],
    )?
    else {
        return Ok(Some(("no notice has this number", "没有该编号的通知单")));
    };
    let altered = Some(("the notice's record was altered", "该通知单的原始记录已被改动"));
    let Some(body) = n.opt_text(4)? else { return Ok(altered) };
    let Ok(record) = serde_json::from_str::<Record>(&body) else { return Ok(altered) };
    if Some(record.hash()) != n.opt_text(5)? {
        return Ok(altered);
    }
    let logged = c.query_opt(
        "SELECT leaf FROM log_leaves WHERE subject = $1 AND kind = 'record' ORDER BY leaf_index LIMIT 1",
        &crate::params![n.text(6)?],
    )?;
    let logged_hash =
        logged.map(|l| l.text(0)).transpose()?.and_then(|t| serde_json::from_str::<Leaf>(&t).ok()).and_then(
            |l| match l {
                Leaf::Record { record_hash, .. } => Some(record_hash),
                _ => None,
            },
        );
    if logged_hash.as_deref() != Some(record.hash().as_str()) {
        return Ok(Some(("the notice's record is not the one logged", "该通知单的记录与审计日志不符")));
    }
    let RecordPayload::NoticeRaised { site_id, location, description, severity, .. } = &record.payload else {
        return Ok(altered);
    };
    let severity = serde_json::to_value(severity).ok().and_then(|v| v.as_str().map(str::to_string));
    let same = n.text(0)? == site_id.to_string()
        && n.text(1)? == *location
        && n.text(2)? == *description
        && Some(n.text(3)?) == severity;
    if !same {
        return Ok(Some((
            "the notice as stored differs from what was recorded (edited)",
            "该通知单内容与原始记录不符（已被改动）",
        )));
    }
    actions_differ(c, number, record.id)
}

/// The notice's actions as its timeline keeps them, against their records and the log:
/// each action's record hashes to its row and to its leaf and says what the timeline
/// says (action, reason, photos by hash); the applied ones walk the state machine from
/// `issued`, each move one the table allows, to the state the notice shows. A state,
/// a timeline row or an action record changed in the database no longer checks out.
fn actions_differ(
    c: &mut dyn crate::store::Conn,
    number: &str,
    raised: Id,
) -> Result<Option<(&'static str, &'static str)>, DbError> {
    use patrol_protocol::notice::{NoticeAction, NoticeState, TRANSITIONS};
    use patrol_protocol::record::{Record, RecordPayload};
    let n = c.query_one("SELECT id, state FROM notices WHERE number = $1", &crate::params![number])?;
    let (notice_id, shown) = (n.uuid(0)?, n.text(1)?);
    let events = c.query(
        "SELECT e.record_id, e.action, e.reason, e.photos_json, e.from_state, e.to_state, e.applied, r.body, r.hash,
                (SELECT l.leaf FROM log_leaves l WHERE l.subject = e.record_id AND l.kind = 'record'
                 ORDER BY l.leaf_index LIMIT 1)
         FROM notice_events e LEFT JOIN records r ON r.id = e.record_id
         WHERE e.notice_id = $1 ORDER BY e.position",
        &crate::params![notice_id],
    )?;
    let edited = Some((
        "the notice's actions or state differ from what was recorded (edited)",
        "该通知单的处理记录或状态与原始记录不符（已被改动）",
    ));
    let mut state = NoticeState::Issued;
    for e in &events {
        if e.uuid(0)? == raised {
            continue;
        }
        let (Some(body), Some(hash)) = (e.opt_text(7)?, e.opt_text(8)?) else { return Ok(edited) };
        let Ok(record) = serde_json::from_str::<Record>(&body) else { return Ok(edited) };
        let logged = e.opt_text(9)?.and_then(|t| serde_json::from_str::<Leaf>(&t).ok()).and_then(|l| match l {
            Leaf::Record { record_hash, .. } => Some(record_hash),
            _ => None,
        });
        if record.hash() != hash || logged.as_deref() != Some(hash.as_str()) {
            return Ok(edited);
        }
        let RecordPayload::NoticeActed { notice_id: acted_on, action, reason, photos, .. } = &record.payload else {
            return Ok(edited);
        };
        let photos_json = serde_json::to_string(photos).unwrap_or_default();
        let said = serde_json::from_str::<serde_json::Value>(&e.text(3)?).ok()
            == serde_json::from_str::<serde_json::Value>(&photos_json).ok();
        if *acted_on != notice_id || NoticeAction::parse(&e.text(1)?) != Some(*action) || e.text(2)? != *reason || !said
        {
            return Ok(edited);
        }
        if e.int(6)? == 1 {
            let (from, to) = (e.opt_text(4)?, e.opt_text(5)?);
            let to_state = to.as_deref().and_then(NoticeState::parse);
            let allowed =
                to_state.is_some_and(|to| TRANSITIONS.iter().any(|t| t.0 == state && t.1 == *action && t.3 == to));
            if from.as_deref() != Some(state.as_str()) || !allowed {
                return Ok(edited);
            }
            state = to_state.expect("checked");
        }
    }
    Ok((shown != state.as_str()).then_some(edited).flatten())
}

/// `GET /api/v1/audit/check-code?number=&code=`
pub async fn check_code_handler(
    State(state): State<AppState>,
    Query(q): Query<CodeQuery>,
) -> ApiResult<Json<CodeCheck>> {
    state.caught_up().await?;
    if q.number.len() > 64 || q.code.len() > 64 {
        return Err(ApiError::invalid("code", Reason::TooLong { max: 64 }));
    }
    if log::parse_code(&q.code).is_none() {
        return Err(ApiError::invalid("code", Reason::VerificationCodeFormat));
    }
    let policy = state.witness_policy.clone();
    let checked = state.store.read(move |c| check_code(c, &q.number, &q.code, &policy)).await?;
    Ok(Json(checked.expect("parsed above")))
}
