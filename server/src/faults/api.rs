//! The fault notices' JSON API: lists scoped by the policy, one notice with its
//! timeline, issuing and acting from scripts or the console (records on the person's
//! API chain), the organisation's catalogue and scale, and a site's month sheet.

use axum::extract::State;
use patrol_protocol::Id;
use patrol_protocol::fault::{
    AppealDecisionRequest, FaultActionRequest, FaultRule, FaultScale, FaultView, IssueFaultRequest, MonthSheet,
};
use patrol_protocol::reason::{Reason, Thing};
use serde::{Deserialize, Serialize};

use crate::api::extract::{Json, Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Access, Actor};
use crate::state::AppState;
use patrol_cases::faults::catalogue::{self, RuleInput};
use patrol_cases::faults::{desk, month};

/// Fault notices per answer of `GET /api/v1/faults`, at most.
pub const LIST_MAX: i64 = 500;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    site_id: Option<Id>,
    /// YYYY-MM (site time of when it was seen).
    month: Option<String>,
    person_id: Option<Id>,
    /// 1 to 500 (default 500), newest first.
    limit: Option<i64>,
}

fn month_param(m: Option<&str>) -> ApiResult<Option<String>> {
    match m {
        None | Some("") => Ok(None),
        Some(m) if month::month_ok(m) => Ok(Some(m.to_string())),
        Some(_) => Err(ApiError::invalid("month", Reason::MonthFormat)),
    }
}

/// `GET /api/v1/faults`: the fault notices the caller may read (filtered in the
/// database by the policy's rule), newest first.
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<FaultView>>> {
    let month = month_param(q.month.as_deref())?;
    let limit = q.limit.unwrap_or(LIST_MAX);
    if !(1..=LIST_MAX).contains(&limit) {
        return Err(ApiError::invalid("limit", Reason::OutOfRange { min: 1.0, max: LIST_MAX as f64 }));
    }
    let views = state
        .store
        .read(move |c| {
            let rows = patrol_cases::faults::list_visible(c, &actor, q.site_id, month.as_deref(), q.person_id, limit)?;
            rows.iter().map(|f| patrol_cases::faults::view(c, f)).collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(views))
}

/// `POST /api/v1/faults`
pub async fn issue(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<IssueFaultRequest>,
) -> ApiResult<Json<FaultView>> {
    Ok(Json(desk::issue(&state.store, &actor, req, state.clock.now_ms()).await?))
}

/// `GET /api/v1/faults/{fault_id}`
pub async fn get(State(state): State<AppState>, actor: Actor, Path(id): Path<Id>) -> ApiResult<Json<FaultView>> {
    Ok(Json(desk::visible_fault(&state.store, &actor, id).await?))
}

/// `POST /api/v1/faults/{fault_id}/actions`
pub async fn act(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
    Json(req): Json<FaultActionRequest>,
) -> ApiResult<Json<FaultView>> {
    Ok(Json(desk::act(&state.store, &actor, id, req, state.clock.now_ms()).await?))
}

/// `POST /api/v1/faults/{fault_id}/decision`
pub async fn decide(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
    Json(req): Json<AppealDecisionRequest>,
) -> ApiResult<Json<FaultView>> {
    Ok(Json(desk::decide(&state.store, &actor, id, req, state.clock.now_ms()).await?))
}

/// `GET /api/v1/fault-rules`: the organisation's catalogue, retired rules included.
pub async fn rules(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<Vec<FaultRule>>> {
    let org = actor.person.org_id;
    Ok(Json(state.store.read(move |c| catalogue::rules(c, org)).await?))
}

/// `POST /api/v1/fault-rules`
pub async fn create_rule(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<RuleInput>,
) -> ApiResult<Json<FaultRule>> {
    let now = state.clock.now_ms();
    Ok(Json(state.store.write_or_refuse(move |c| Ok(catalogue::save_rule(c, &actor, None, &req, now))).await??))
}

/// `PUT /api/v1/fault-rules/{rule_id}`: a new version.
pub async fn edit_rule(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
    Json(req): Json<RuleInput>,
) -> ApiResult<Json<FaultRule>> {
    let now = state.clock.now_ms();
    Ok(Json(state.store.write_or_refuse(move |c| Ok(catalogue::save_rule(c, &actor, Some(id), &req, now))).await??))
}

/// `GET /api/v1/fault-rules/{rule_id}/history`
pub async fn rule_history(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Id>,
) -> ApiResult<Json<Vec<FaultRule>>> {
    let org = actor.person.org_id;
    let versions = state
        .store
        .read(move |c| Ok(if catalogue::rule(c, org, id)?.is_some() { catalogue::history(c, id)? } else { Vec::new() }))
        .await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(Reason::FaultRuleUnknown));
    }
    Ok(Json(versions))
}

/// The organisation's scale as it stands.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ScaleAnswer {
    pub version: Option<u32>,
    pub scale: Option<FaultScale>,
}

/// `GET /api/v1/fault-scale`
pub async fn get_scale(State(state): State<AppState>, actor: Actor) -> ApiResult<Json<ScaleAnswer>> {
    let org = actor.person.org_id;
    let s = state.store.read(move |c| catalogue::scale(c, org, None)).await?;
    Ok(Json(ScaleAnswer { version: s.as_ref().map(|s| s.1), scale: s.map(|s| s.0) }))
}

/// `PUT /api/v1/fault-scale`: a new version from now on.
pub async fn put_scale(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<FaultScale>,
) -> ApiResult<Json<ScaleAnswer>> {
    let now = state.clock.now_ms();
    let s = req.clone();
    let version = state.store.write_or_refuse(move |c| Ok(catalogue::save_scale(c, &actor, &s, now))).await??;
    Ok(Json(ScaleAnswer { version: Some(version), scale: Some(req) }))
}

/// The month sheet of a site the actor supervises (or administers).
pub async fn sheet_for(
    state: &AppState,
    actor: &Actor,
    site_id: Id,
    m: &str,
) -> ApiResult<(patrol_protocol::Site, MonthSheet)> {
    let m = month_param(Some(m))?.ok_or_else(|| ApiError::invalid("month", Reason::MonthFormat))?;
    let a = actor.clone();
    let found = state
        .store
        .read(move |c| {
            let Some(site) = crate::store::reference::get_site(c, site_id)? else { return Ok(None) };
            if site.org_id != a.person.org_id || !(a.may(Access::Supervise(&site)) || a.is_admin()) {
                return Ok(Some(Err(())));
            }
            let sheet = month::sheet(c, &site, &m)?;
            Ok(Some(Ok((site, sheet))))
        })
        .await?;
    match found {
        None => Err(ApiError::not_found(Thing::Site)),
        Some(Err(())) => Err(ApiError::forbidden()),
        Some(Ok(x)) => Ok(x),
    }
}

/// `GET /api/v1/sites/{site_id}/fault-months/{month}`
pub async fn month_sheet(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, month)): Path<(Id, String)>,
) -> ApiResult<Json<MonthSheet>> {
    Ok(Json(sheet_for(&state, &actor, site_id, &month).await?.1))
}
