//! JSON API of notifications: a site's channels (administrators; secrets write-only),
//! the outbox's recent deliveries, and the signed-in person's in-app messages.

use crate::api::extract::Json;
use crate::api::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use patrol_protocol::Id;
use patrol_protocol::model::check_text;
use patrol_protocol::reason::{Reason, Thing};
use patrol_protocol::sync::InAppNotification;
use serde::{Deserialize, Serialize};

use super::{Channel, ChannelKind, EVENTS, get_channel, insert_channel, list_channels, update_channel};
use crate::api::admin::administered_site;
use crate::api::paging::{self, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::params;
use crate::policy::Actor;
use crate::schedules::rules::Language;
use crate::state::AppState;

/// A channel as the API shows it: whether a secret is set, never the secret.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ChannelView {
    pub id: Id,
    pub site_id: Id,
    pub name: String,
    pub kind: ChannelKind,
    pub target: String,
    pub has_secret: bool,
    pub events: Vec<String>,
    pub language: Language,
    pub active: bool,
}

impl From<Channel> for ChannelView {
    fn from(c: Channel) -> Self {
        // A robot's URL carries its key: show only where it points.
        let target = match c.kind {
            ChannelKind::Email => c.target,
            _ => c.target.split('?').next().unwrap_or_default().to_string(),
        };
        ChannelView {
            id: c.id,
            site_id: c.site_id,
            name: c.name,
            kind: c.kind,
            target,
            has_secret: !c.secret.is_empty(),
            events: c.events,
            language: c.language,
            active: c.active,
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: String,
    pub kind: ChannelKind,
    /// The webhook URL, or comma-separated e-mail addresses.
    pub target: String,
    /// Write-only: absent keeps the stored one on update; "" clears it.
    pub secret: Option<String>,
    pub events: Vec<String>,
    #[serde(default)]
    pub language: Language,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

fn check(req: &ChannelInput) -> ApiResult<()> {
    check_text("name", &req.name, 100, true)?;
    check_text("target", &req.target, 2000, true)?;
    match req.kind {
        ChannelKind::Email => {
            let addrs: Vec<&str> = req.target.split(',').map(str::trim).collect();
            if addrs.len() > 20 || addrs.iter().any(|a| !a.contains('@') || a.contains(['<', '>', ' '])) {
                return Err(ApiError::invalid("target", Reason::EmailList));
            }
        }
        _ => {
            if !(req.target.starts_with("https://") || req.target.starts_with("http://")) {
                return Err(ApiError::invalid("target", Reason::HttpUrl));
            }
        }
    }
    if let Some(s) = &req.secret {
        check_text("secret", s, 200, false)?;
    }
    if req.events.is_empty()
        || req.events.len() > EVENTS.len()
        || req.events.iter().any(|e| !EVENTS.contains(&e.as_str()))
    {
        return Err(ApiError::invalid("events", Reason::OneOrMoreOf { allowed: EVENTS.join(", ") }));
    }
    Ok(())
}

/// `GET /api/v1/sites/{site_id}/channels`
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
) -> ApiResult<Json<Vec<ChannelView>>> {
    administered_site(&state.store, &actor, site_id).await?;
    let all = state.store.read(move |c| list_channels(c, site_id)).await?;
    Ok(Json(all.into_iter().map(ChannelView::from).collect()))
}

/// `POST /api/v1/sites/{site_id}/channels`
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Json(req): Json<ChannelInput>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    administered_site(&state.store, &actor, site_id).await?;
    check(&req)?;
    let ch = Channel {
        id: Id::now_v7(),
        site_id,
        name: req.name,
        kind: req.kind,
        target: req.target,
        secret: req.secret.unwrap_or_default(),
        events: req.events,
        language: req.language,
        active: req.active,
    };
    let now = state.clock.now_ms();
    let stored = ch.clone();
    state.store.write(move |c| insert_channel(c, &stored, now)).await?;
    Ok((StatusCode::CREATED, Json(ch.into())))
}

/// `PUT /api/v1/sites/{site_id}/channels/{channel_id}`
pub async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path((site_id, channel_id)): Path<(Id, Id)>,
    Json(req): Json<ChannelInput>,
) -> ApiResult<Json<ChannelView>> {
    administered_site(&state.store, &actor, site_id).await?;
    check(&req)?;
    let old = state
        .store
        .read(move |c| get_channel(c, channel_id))
        .await?
        .filter(|c| c.site_id == site_id)
        .ok_or_else(|| ApiError::not_found(Thing::Channel))?;
    if old.kind != req.kind {
        return Err(ApiError::invalid("kind", Reason::ChannelKindFixed));
    }
    let ch = Channel {
        name: req.name,
        target: req.target,
        secret: req.secret.unwrap_or(old.secret.clone()),
        events: req.events,
        language: req.language,
        active: req.active,
        ..old
    };
    let stored = ch.clone();
    state.store.write(move |c| update_channel(c, &stored)).await?;
    Ok(Json(ch.into()))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OutboxRow {
    pub id: Id,
    pub channel_id: Id,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub delivered_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
}

/// `GET /api/v1/sites/{site_id}/outbox`: messages to the site's channels, newest
/// first, a page at a time (`api::paging`: `Link: rel="next"` while more follow).
pub async fn outbox(
    State(state): State<AppState>,
    actor: Actor,
    Path(site_id): Path<Id>,
    Query(q): Query<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<OutboxRow>>)> {
    administered_site(&state.store, &actor, site_id).await?;
    let (before, limit) = q.read(200, 500)?;
    let (rows, next) = state
        .store
        .read(move |c| {
            let mut args = params![site_id];
            let older = paging::older_than(before, "o.created_ms", "o.id", &mut args);
            args.push((limit + 1).into());
            let rows = c
                .query(
                    &format!(
                        "SELECT o.id, o.channel_id, o.event, o.state, o.attempts, o.next_attempt_ms, o.delivered_ms,
                                o.last_error, o.created_ms
                         FROM outbox o JOIN notify_channels ch ON ch.id = o.channel_id WHERE ch.site_id = $1{older}
                         ORDER BY o.created_ms DESC, o.id DESC LIMIT ${}",
                        args.len()
                    ),
                    &args,
                )?
                .iter()
                .map(|r| {
                    Ok(OutboxRow {
                        id: r.uuid(0)?,
                        channel_id: r.uuid(1)?,
                        event: r.text(2)?,
                        state: r.text(3)?,
                        attempts: r.int(4)?,
                        next_attempt_ms: r.int(5)?,
                        delivered_ms: r.opt_int(6)?,
                        last_error: r.opt_text(7)?,
                        created_ms: r.int(8)?,
                    })
                })
                .collect::<Result<Vec<_>, crate::store::DbError>>()?;
            Ok(paging::split(rows, limit, |o| (o.created_ms, o.id)))
        })
        .await?;
    Ok((paging::next_link(&format!("/api/v1/sites/{site_id}/outbox"), limit, next)?, Json(rows)))
}

/// `GET /api/v1/notifications`: the caller's in-app messages, newest first, a page
/// at a time (`api::paging`: `Link: rel="next"` while more follow).
pub async fn mine(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<InAppNotification>>)> {
    let me = actor.person.id;
    let (before, limit) = q.read(100, 500)?;
    let (rows, next) = state.store.read(move |c| super::in_app::latest(c, me, before, limit)).await?;
    Ok((paging::next_link("/api/v1/notifications", limit, next)?, Json(rows)))
}
