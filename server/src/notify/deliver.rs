//! The outbox's delivery: claim due rows, send each to its channel, record every
//! attempt, and retry failures with exponential backoff. Delivered rows are never sent
//! again; a row is claimed before sending, so two instances never send it at once.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use patrol_protocol::Id;
use serde_json::json;
use sha2::Sha256;

use super::{Channel, ChannelKind, Message, get_channel};
use crate::params;
use crate::schedules::rules::Language;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{Conn, DbError};

/// Rows sent per tick; the rest wait for the next one.
const BATCH: i64 = 20;
/// A claimed row is not due again for this long: longer than a batch can take
/// (20 × 10 s timeouts), so only a crashed sender's rows come back.
const CLAIM_MS: i64 = 5 * 60_000;
/// After this many failed attempts a row is given up as `failed` (kept for the record).
pub const MAX_ATTEMPTS: i64 = 15;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// 30 s, 1 min, 2 min … capped at an hour.
pub fn backoff_ms(attempt: i64) -> i64 {
    let shift = (attempt - 1).clamp(0, 20) as u32;
    (30_000i64 << shift).min(3_600_000)
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct DeliveryReport {
    pub delivered: u32,
    pub retrying: u32,
    pub given_up: u32,
}

struct Claimed {
    outbox_id: Id,
    attempt: i64,
    channel: Channel,
    message: Message,
}

fn claim(c: &mut dyn Conn, now: i64) -> Result<Vec<Claimed>, DbError> {
    let rows = c.query(
        "SELECT id, channel_id, attempts, message_json FROM outbox WHERE state = 'pending' AND next_attempt_ms <= $1
         ORDER BY next_attempt_ms, id LIMIT $2",
        &params![now, BATCH],
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let (id, attempts) = (r.uuid(0)?, r.int(2)?);
        // Optimistic claim: another instance that read the same row loses here.
        let won = c.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $3 WHERE id = $1 AND attempts = $2
               AND state = 'pending'",
            &params![id, attempts, now + CLAIM_MS],
        )?;
        if won != 1 {
            continue;
        }
        let Some(channel) = get_channel(c, r.uuid(1)?)? else { continue };
        let message: Message = serde_json::from_str(&r.text(3)?)
            .map_err(|e| DbError::Data(format!("outbox row {id} holds an invalid message: {e}")))?;
        out.push(Claimed { outbox_id: id, attempt: attempts + 1, channel, message });
    }
    Ok(out)
}

/// What one attempt came to: the HTTP status if there was one, and the error if not delivered.
type Attempt = (Option<u16>, Option<String>);

fn finish(c: &mut dyn Conn, claimed: &Claimed, result: &Attempt, now: i64) -> Result<(), DbError> {
    let (status, error) = result;
    c.execute(
        "INSERT INTO delivery_attempts (outbox_id, attempt, at_ms, ok, status, error) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (outbox_id, attempt) DO NOTHING",
        &params![claimed.outbox_id, claimed.attempt, now, error.is_none(), status.map(i64::from), error.clone()],
    )?;
    match error {
        None => c.execute(
            "UPDATE outbox SET state = 'delivered', delivered_ms = $2, last_error = NULL WHERE id = $1",
            &params![claimed.outbox_id, now],
        )?,
        Some(e) if claimed.attempt >= MAX_ATTEMPTS => c.execute(
            "UPDATE outbox SET state = 'failed', last_error = $2 WHERE id = $1",
            &params![claimed.outbox_id, e],
        )?,
        Some(e) => c.execute(
            "UPDATE outbox SET next_attempt_ms = $2, last_error = $3 WHERE id = $1",
            &params![claimed.outbox_id, now + backoff_ms(claimed.attempt), e],
        )?,
    };
    Ok(())
}

/// Sends what is due now. Sending happens outside any transaction: a slow receiver
/// holds no database lock.
pub async fn deliver_due(state: &AppState) -> Result<DeliveryReport, DbError> {
    let now = state.clock.now_ms();
    let claimed = state.store.write(move |c| claim(c, now)).await?;
    let mut report = DeliveryReport::default();
    for item in claimed {
        let settings = state.settings.clone();
        let sent_at = state.clock.now_ms();
        let (item, result) = tokio::task::spawn_blocking(move || {
            let r = send(&settings, &item.channel, &item.message, item.outbox_id, sent_at);
            (item, r)
        })
        .await
        .map_err(|e| DbError::Backend(format!("delivery task failed: {e}")))?;
        match (&result.1, item.attempt >= MAX_ATTEMPTS) {
            (None, _) => report.delivered += 1,
            (Some(_), true) => report.given_up += 1,
            (Some(e), false) => {
                tracing::warn!(outbox = %item.outbox_id, attempt = item.attempt, error = %e, "delivery failed; will retry");
                report.retrying += 1;
            }
        }
        let done = state.clock.now_ms();
        state.store.write(move |c| finish(c, &item, &result, done)).await?;
    }
    Ok(report)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// DingTalk's robot signature: base64 of HMAC-SHA256 over "timestamp\nsecret", keyed
/// with the secret, URL-encoded into the `sign` query parameter.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The generic webhook's signature: hex HMAC-SHA256 over "timestamp.body", so a
/// captured request cannot be replayed with another timestamp.
pub fn webhook_sign(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let mut data = format!("{timestamp_ms}.").into_bytes();
    data.extend_from_slice(body);
    hex::encode(hmac_sha256(secret.as_bytes(), &data))
}

/// The words under a message that link to its notice, in the channel's language.
fn link_label(lang: Language) -> &'static str {
    if lang == Language::En { "Open the notice" } else { "查看通知单" }
}

/// The JSON body a channel gets for a message. `link` is the notice's console page
/// (`Settings::notice_url`) when the message is about a notice: the robots show it as a
/// markdown link, the webhook gets it as `url`. The phones open the same address in the
/// app when it is installed (an App Link / universal link), the console otherwise.
pub fn payload(ch: &Channel, msg: &Message, outbox_id: Id, link: Option<&str>) -> serde_json::Value {
    let (title, body) = (msg.title(ch.language), msg.body(ch.language));
    let md_link = link.map(|u| format!("\n\n[{}]({u})", link_label(ch.language))).unwrap_or_default();
    match ch.kind {
        ChannelKind::Wecom => {
            json!({"msgtype": "markdown", "markdown": {"content": format!("**{title}**\n{body}{md_link}")}})
        }
        ChannelKind::Dingtalk => {
            json!({"msgtype": "markdown", "markdown": {"title": title, "text": format!("### {title}\n\n{body}{md_link}")}})
        }
        ChannelKind::Webhook | ChannelKind::Email => json!({
            "id": outbox_id,
            "event": msg.event,
            "key": msg.key,
            "site_id": msg.site_id,
            "notice_id": msg.notice_id,
            "url": link,
            "title": title,
            "text": body,
            "occurred_ms": msg.occurred_ms,
            "data": msg.data,
        }),
    }
}

/// The plain-text body of a notification e-mail: the message, then the link line.
pub fn email_text(ch: &Channel, msg: &Message, link: Option<&str>) -> String {
    let body = msg.body(ch.language);
    match link {
        Some(u) => {
            format!("{body}\n\n{}{}{u}", link_label(ch.language), if ch.language == Language::En { ": " } else { "：" })
        }
        None => body.to_string(),
    }
}

fn send(settings: &Settings, ch: &Channel, msg: &Message, outbox_id: Id, now: i64) -> Attempt {
    // Made at sending time, so rows queued before `public_url` was set get the new one.
    let link = msg.notice_id.map(|id| settings.notice_url(id));
    if ch.kind == ChannelKind::Email {
        let to: Vec<&str> = ch.target.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let text = email_text(ch, msg, link.as_deref());
        return match super::smtp::send(settings, &to, msg.title(ch.language), &text) {
            Ok(()) => (None, None),
            Err(e) => (None, Some(e)),
        };
    }
    let body = serde_json::to_vec(&payload(ch, msg, outbox_id, link.as_deref())).expect("payload serialises");
    let mut url = ch.target.clone();
    if ch.kind == ChannelKind::Dingtalk && !ch.secret.is_empty() {
        let sign = dingtalk_sign(&ch.secret, now);
        let sign: String = percent_encoding::utf8_percent_encode(&sign, percent_encoding::NON_ALPHANUMERIC).collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("timestamp={now}&sign={sign}"));
    }
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(HTTP_TIMEOUT)).http_status_as_error(false).build().into();
    let mut req = agent
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", concat!("patrol-server/", env!("CARGO_PKG_VERSION")));
    if ch.kind == ChannelKind::Webhook {
        req = req
            .header("x-patrol-event", &msg.event)
            .header("x-patrol-delivery", outbox_id.to_string())
            .header("x-patrol-timestamp", now.to_string());
        if !ch.secret.is_empty() {
            req = req.header("x-patrol-signature", format!("sha256={}", webhook_sign(&ch.secret, now, &body)));
        }
    }
    let mut resp = match req.send(&body[..]) {
        Ok(r) => r,
        Err(e) => return (None, Some(format!("cannot reach the receiver: {e}"))),
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    if !(200..300).contains(&status) {
        return (Some(status), Some(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>())));
    }
    // WeCom and DingTalk answer 200 with an error code in the body when they refuse.
    if matches!(ch.kind, ChannelKind::Wecom | ChannelKind::Dingtalk) {
        let code = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["errcode"].as_i64());
        if code != Some(0) {
            return (Some(status), Some(format!("robot refused: {}", text.chars().take(200).collect::<String>())));
        }
    }
    (Some(status), None)
}
