//! JSON API of schedules beyond the weekly plan: site rules, holidays, special periods
//! (入伙期), a day's audit of expected patrols, and waivers with their decisions.

use crate::api::extract::Json;
use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use patrol_protocol::model::check_text;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::record::RecordPayload;
use patrol_protocol::sync::RecordStatus;
use patrol_protocol::{Id, Schedule, TimeWindow, limits};
use serde::Deserialize;

use super::rules::{self, SiteRules};
use super::waivers::{self, Waiver};
use super::{DayAudit, Holiday, SpecialPeriod, audit_day};
use crate::api::admin::{administered_site, readable_site};
use crate::api::paging::{self, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Access, Actor};
use crate::state::AppState;
use crate::store::reference;
use crate::sync::{append_server_record, feed};

fn parse_day(field: &str, text: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ApiError::invalid(field, Reason::DateFormat))
}

/// `GET /api/v1/sites/{site_id}/rules`
pub async fn get_rules(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<SiteRules>> {
    readable_site(&state.store, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| rules::get(c, site_id)).await?))
}

/// `PUT /api/v1/sites/{site_id}/rules`: the whole set; missing fields take defaults.
pub async fn put_rules(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<SiteRules>,
) -> ApiResult<Json<SiteRules>> {
    administered_site(&state.store, &actor, site_id).await?;
    req.validate()?;
    let now = state.clock.now_ms();
    let r = req.clone();
    state.store.write(move |c| rules::put(c, site_id, &r, now)).await?;
    Ok(Json(req))
}

/// `GET /api/v1/sites/{site_id}/holidays`
pub async fn list_holidays(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<Holiday>>> {
    readable_site(&state.store, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| super::list_holidays(c, site_id)).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoliday {
    pub day: String,
    pub name: String,
}

/// `POST /api/v1/sites/{site_id}/holidays`
pub async fn create_holiday(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewHoliday>,
) -> ApiResult<(StatusCode, Json<Holiday>)> {
    administered_site(&state.store, &actor, site_id).await?;
    let day = parse_day("day", &req.day)?;
    check_text("name", &req.name, limits::NAME_MAX, true)?;
    let h = Holiday { day, name: req.name };
    let now = state.clock.now_ms();
    let stored = h.clone();
    state
        .store
        .write(move |c| {
            super::insert_holiday(c, site_id, &stored, now).and_then(|_| feed::reference_changed(c, site_id, now))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(h)))
}

/// `GET /api/v1/sites/{site_id}/special-periods`
pub async fn list_periods(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<SpecialPeriod>>> {
    readable_site(&state.store, &actor, site_id).await?;
    Ok(Json(state.store.read(move |c| super::list_periods(c, site_id)).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeriod {
    pub route_id: Id,
    /// `move_in` (入伙期) or `other`.
    pub kind: String,
    pub name: String,
    pub first_day: String,
    pub last_day: String,
    pub days_of_week: Vec<u8>,
    pub windows: Vec<TimeWindow>,
}

/// Periods longer than this are schedules, not periods.
const PERIOD_MAX_DAYS: i64 = 366;

/// `POST /api/v1/sites/{site_id}/special-periods`
pub async fn create_period(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<NewPeriod>,
) -> ApiResult<(StatusCode, Json<SpecialPeriod>)> {
    administered_site(&state.store, &actor, site_id).await?;
    if !matches!(req.kind.as_str(), "move_in" | "other") {
        return Err(ApiError::invalid("kind", Reason::OneOf { allowed: "move_in, other".into() }));
    }
    check_text("name", &req.name, limits::NAME_MAX, true)?;
    let (first, last) = (parse_day("first_day", &req.first_day)?, parse_day("last_day", &req.last_day)?);
    if last < first || (last - first).num_days() >= PERIOD_MAX_DAYS {
        return Err(ApiError::invalid("last_day", Reason::LastDayRange));
    }
    // The same checks as a weekly schedule's.
    Schedule {
        id: Id::nil(),
        route_id: req.route_id,
        days_of_week: req.days_of_week.clone(),
        windows: req.windows.clone(),
    }
    .validate()?;
    let route_id = req.route_id;
    let route = state.store.read(move |c| reference::get_route(c, route_id)).await?;
    if route.is_none_or(|r| r.site_id != site_id) {
        return Err(ApiError::invalid("route_id", Reason::RouteNotOfSite));
    }
    let p = SpecialPeriod {
        id: Id::now_v7(),
        site_id,
        route_id,
        kind: req.kind,
        name: req.name,
        first_day: first,
        last_day: last,
        days_of_week: req.days_of_week,
        windows: req.windows,
        created_ms: state.clock.now_ms(),
    };
    let stored = p.clone();
    state
        .store
        .write(move |c| {
            super::insert_period(c, &stored).and_then(|_| feed::reference_changed(c, site_id, stored.created_ms))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// `GET /api/v1/sites/{site_id}/audit/{day}`: each expected window of the day and
/// how it went, for the site's supervisors.
pub async fn get_audit(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, day)): Path<(Id, String)>,
) -> ApiResult<Json<DayAudit>> {
    let day = parse_day("day", &day)?;
    let site = readable_site(&state.store, &actor, site_id).await?;
    actor.require(Access::Supervise(&site))?;
    let now = state.clock.now_ms();
    Ok(Json(state.store.read(move |c| audit_day(c, &site, day, now)).await?))
}

/// `GET /api/v1/sites/{site_id}/waivers`: everyone with a role at the site. Newest
/// first, a page at a time (`api::paging`: `Link: rel="next"` while more follow).
pub async fn list_waivers(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Query(q): Query<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Waiver>>)> {
    readable_site(&state.store, &actor, site_id).await?;
    let (before, limit) = q.read(200, 500)?;
    let (rows, next) = state.store.read(move |c| waivers::list(c, site_id, before, limit)).await?;
    Ok((paging::next_link(&format!("/api/v1/sites/{site_id}/waivers"), limit, next)?, Json(rows)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub accept: bool,
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/waivers/{waiver_id}/decision`: a supervisor accepts or rejects, as a
/// record on their server-kept chain. Checked first, so a refusal stores nothing.
pub async fn decide(
    State(state): State<AppState>,
    actor: Actor,
    Path(waiver_id): Path<Id>,
    Json(req): Json<Decision>,
) -> ApiResult<Json<Waiver>> {
    let payload = RecordPayload::RunWaiverDecided { waiver_id, accept: req.accept, note: req.note };
    payload.validate()?;
    let w = state
        .store
        .read(move |c| waivers::get(c, waiver_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Waiver))?;
    let site = readable_site(&state.store, &actor, w.site_id).await?;
    actor.require(Access::Supervise(&site))?;
    if w.state != waivers::PENDING {
        return Err(ApiError::Conflict(if w.state == waivers::ACCEPTED {
            Reason::WaiverAccepted
        } else {
            Reason::WaiverRejected
        }));
    }
    let now = state.clock.now_ms();
    let a = actor.clone();
    let outcome = state.store.write(move |c| append_server_record(c, &a, payload, now).map(|(_, o)| o)).await?;
    if outcome.status == RecordStatus::Rejected {
        return Err(ApiError::Conflict(outcome.why.unwrap_or(Reason::Conflict)));
    }
    let w = state
        .store
        .read(move |c| waivers::get(c, waiver_id))
        .await?
        .ok_or_else(|| ApiError::not_found(Thing::Waiver))?;
    Ok(Json(w))
}
