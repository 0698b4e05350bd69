//! In-app messages: a row per person and a feed entry, so the phone's pull and the
//! console's live pages see them like any other change. Kept forever, like the feed.

use patrol_protocol::Id;
use patrol_protocol::sync::InAppNotification;

use super::Message;
use crate::paging;
use crate::params;
use crate::store::{Conn, DbError, Row};
use crate::sync::feed::{self, Entry, Kind};

const COLUMNS: &str = "id, event, site_id, notice_id, title_zh, title_en, body_zh, body_en, created_ms";

fn notification(r: &Row) -> Result<InAppNotification, DbError> {
    Ok(InAppNotification {
        id: r.uuid(0)?,
        event: r.text(1)?,
        site_id: r.opt_uuid(2)?,
        notice_id: r.opt_uuid(3)?,
        title_zh: r.text(4)?,
        title_en: r.text(5)?,
        body_zh: r.text(6)?,
        body_en: r.text(7)?,
        created_ms: r.int(8)?,
    })
}

pub fn store(c: &mut dyn Conn, msg: &Message, recipients: &[Id], now: i64) -> Result<(), DbError> {
    for person in recipients {
        let id = Id::now_v7();
        let fresh = c.execute(
            "INSERT INTO notifications (id, person_id, site_id, event, event_key, title_zh, title_en, body_zh, body_en,
                 notice_id, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (person_id, event_key) DO NOTHING",
            &params![
                id,
                *person,
                msg.site_id,
                &msg.event,
                &msg.key,
                &msg.title_zh,
                &msg.title_en,
                &msg.body_zh,
                &msg.body_en,
                msg.notice_id,
                now
            ],
        )?;
        if fresh == 1 {
            // The feed's record column names the notification for this kind.
            let entry = Entry {
                site_id: Some(msg.site_id),
                person_id: Some(*person),
                notice_id: msg.notice_id,
                record_id: Some(id),
                ..Entry::default()
            };
            feed::append(c, Kind::Notification, entry, now)?;
        }
    }
    Ok(())
}

/// The caller's messages among a page of the feed.
pub fn for_feed_rows(c: &mut dyn Conn, me: Id, rows: &[feed::Row]) -> Result<Vec<InAppNotification>, DbError> {
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| r.kind == Kind::Notification.as_str() && r.entry.person_id == Some(me)) {
        if let Some(id) = row.entry.record_id {
            if let Some(r) = c.query_opt(&format!("SELECT {COLUMNS} FROM notifications WHERE id = $1"), &params![id])? {
                out.push(notification(&r)?);
            }
        }
    }
    Ok(out)
}

/// A person's messages, newest first, `limit` of them older than `before` (one more
/// is read to tell whether another page follows: see `api::paging`).
pub fn latest(
    c: &mut dyn Conn,
    person: Id,
    before: Option<paging::Before>,
    limit: i64,
) -> Result<(Vec<InAppNotification>, Option<paging::Before>), DbError> {
    let mut args = params![person];
    let older = paging::older_than(before, "created_ms", "id", &mut args);
    args.push((limit + 1).into());
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM notifications WHERE person_id = $1{older} ORDER BY created_ms DESC, id DESC LIMIT ${}",
                args.len()
            ),
            &args,
        )?
        .iter()
        .map(notification)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paging::split(rows, limit, |n| (n.created_ms, n.id)))
}
