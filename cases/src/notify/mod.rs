//! Notifications: events the server decides (reminders, escalations, missed patrols,
//! waivers) become in-app messages for people and outbox rows for each site channel
//! (WeCom and DingTalk robots, signed JSON webhooks, e-mail), in the same transaction.

pub mod events;
pub mod in_app;

use patrol_protocol::Id;
use serde::{Deserialize, Serialize};

use crate::params;
use crate::schedules::rules::Language;
use crate::store::{Conn, DbError, Row};

/// What happened, as channels subscribe to it.
pub const EVENTS: &[&str] = &[
    "notice_reminder",
    "notice_overdue",
    "notice_escalated",
    "notice_not_delivered",
    "run_missed",
    "waiver_requested",
    "waiver_decided",
];

/// One event, in both languages; each channel picks its language when it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub event: String,
    /// Unique per event: the same key twice is the same event, sent once.
    pub key: String,
    pub site_id: Id,
    pub notice_id: Option<Id>,
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    /// Facts for machines (the generic webhook sends them as they are).
    pub data: serde_json::Value,
    pub occurred_ms: i64,
}

impl Message {
    pub fn title(&self, lang: Language) -> &str {
        if lang == Language::En { &self.title_en } else { &self.title_zh }
    }
    pub fn body(&self, lang: Language) -> &str {
        if lang == Language::En { &self.body_en } else { &self.body_zh }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// 企业微信 group robot: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`
    Wecom,
    /// 钉钉 robot: `https://oapi.dingtalk.com/robot/send?access_token=…`, signed when a
    /// secret is set.
    Dingtalk,
    /// Any HTTP endpoint; the body is signed with HMAC-SHA256 of the secret.
    Webhook,
    /// E-mail to the comma-separated addresses in `target`, through the SMTP settings.
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }
    pub fn parse(s: &str) -> Option<ChannelKind> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// A channel as stored. `secret` never leaves the server: see `api::ChannelView`.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: Id,
    pub site_id: Id,
    pub name: String,
    pub kind: ChannelKind,
    pub target: String,
    pub secret: String,
    pub events: Vec<String>,
    pub language: Language,
    pub active: bool,
}

const CHANNEL_COLUMNS: &str = "id, site_id, name, kind, target, secret, events_json, language, active";

fn channel(r: &Row) -> Result<Channel, DbError> {
    let bad = |w: &str| DbError::Data(format!("stored channel has an invalid {w}"));
    Ok(Channel {
        id: r.uuid(0)?,
        site_id: r.uuid(1)?,
        name: r.text(2)?,
        kind: ChannelKind::parse(&r.text(3)?).ok_or_else(|| bad("kind"))?,
        target: r.text(4)?,
        secret: r.text(5)?,
        events: serde_json::from_str(&r.text(6)?).map_err(|_| bad("event list"))?,
        language: serde_json::from_value(serde_json::Value::String(r.text(7)?)).map_err(|_| bad("language"))?,
        active: r.bool(8)?,
    })
}

pub fn insert_channel(c: &mut dyn Conn, ch: &Channel, now: i64) -> Result<(), DbError> {
    c.execute(
        &format!("INSERT INTO notify_channels ({CHANNEL_COLUMNS}, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        &params![
            ch.id,
            ch.site_id,
            &ch.name,
            ch.kind.as_str(),
            &ch.target,
            &ch.secret,
            serde_json::to_string(&ch.events).expect("events serialise"),
            if ch.language == Language::En { "en" } else { "zh" },
            ch.active,
            now
        ],
    )?;
    Ok(())
}

pub fn update_channel(c: &mut dyn Conn, ch: &Channel) -> Result<(), DbError> {
    c.execute(
        "UPDATE notify_channels SET name = $2, target = $3, secret = $4, events_json = $5, language = $6, active = $7
         WHERE id = $1",
        &params![
            ch.id,
            &ch.name,
            &ch.target,
            &ch.secret,
            serde_json::to_string(&ch.events).expect("events serialise"),
            if ch.language == Language::En { "en" } else { "zh" },
            ch.active
        ],
    )?;
    Ok(())
}

pub fn get_channel(c: &mut dyn Conn, id: Id) -> Result<Option<Channel>, DbError> {
    c.query_opt(&format!("SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE id = $1"), &params![id])?
        .as_ref()
        .map(channel)
        .transpose()
}

pub fn list_channels(c: &mut dyn Conn, site_id: Id) -> Result<Vec<Channel>, DbError> {
    c.query(
        &format!("SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE site_id = $1 ORDER BY created_ms, id"),
        &params![site_id],
    )?
    .iter()
    .map(channel)
    .collect()
}

/// Records an event: in-app messages for `recipients`, and one outbox row per active
/// channel of the site that takes this event. Called in the transaction that decided
/// the event, so either both the decision and its messages are stored or neither is;
/// the keys make a repeated event a no-op.
pub fn emit(c: &mut dyn Conn, msg: &Message, recipients: &[Id], now: i64) -> Result<(), DbError> {
    in_app::store(c, msg, recipients, now)?;
    let body = serde_json::to_string(msg).expect("messages serialise");
    for ch in list_channels(c, msg.site_id)? {
        if !ch.active || !ch.events.iter().any(|e| *e == msg.event) {
            continue;
        }
        c.execute(
            "INSERT INTO outbox (id, channel_id, event, event_key, message_json, created_ms, state, attempts, next_attempt_ms)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)
             ON CONFLICT (channel_id, event_key) DO NOTHING",
            &params![Id::now_v7(), ch.id, &msg.event, &msg.key, &body, now],
        )?;
    }
    Ok(())
}

/// Active people holding a role, at a site (and department) when given.
pub fn people_with_role(
    c: &mut dyn Conn,
    role: &str,
    site_id: Option<Id>,
    department_id: Option<Id>,
    org_id: Id,
) -> Result<Vec<Id>, DbError> {
    // Conditions are added only when given: PostgreSQL cannot type a bare `$2 IS NULL`.
    let mut sql = String::from(
        "SELECT DISTINCT a.person_id FROM role_assignments a JOIN people p ON p.id = a.person_id
         WHERE a.role = $1 AND p.active = 1 AND p.org_id = $2",
    );
    let mut args = params![role, org_id];
    if let Some(s) = site_id {
        args.push(s.into());
        sql.push_str(&format!(" AND a.site_id = ${}", args.len()));
    }
    if let Some(d) = department_id {
        args.push(d.into());
        sql.push_str(&format!(" AND a.department_id = ${}", args.len()));
    }
    // Every one of them: a message that reaches only the first few is lost for the rest.
    sql.push_str(" ORDER BY a.person_id");
    c.query(&sql, &args)?.iter().map(|r| r.uuid(0)).collect()
}
