//! Newest-first pages of lists that grow without end (waivers, in-app messages, the
//! outbox): `?before=<ms>.<id>&limit=n`, answered with `Link: <…>; rel="next"` while
//! more follow. Keyset, not OFFSET: rows that arrive while someone pages move no
//! other row onto a second page or off every page. No list is cut silently: a page
//! that is not the last says so in its `Link` header (`next_link`, in the server).

use patrol_protocol::Id;
use patrol_protocol::reason::Reason;
use serde::Deserialize;

use crate::error::{DomainError, DomainResult};
use crate::store::Value;

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct PageQuery {
    /// Continue with rows older than this: the `before` of the `Link` header.
    pub before: Option<String>,
    /// Rows per page.
    pub limit: Option<i64>,
}

/// The newest row of the next page is older than this (time, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before {
    pub ms: i64,
    pub id: Id,
}

impl std::fmt::Display for Before {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.ms, self.id)
    }
}

impl PageQuery {
    /// The cursor and the page size (`default` unless asked, 1 to `max`).
    pub fn read(&self, default: i64, max: i64) -> DomainResult<(Option<Before>, i64)> {
        let before = match self.before.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let bad = || DomainError::invalid("before", Reason::NotAPlaceInList);
                let (ms, id) = text.split_once('.').ok_or_else(bad)?;
                Some(Before { ms: ms.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? })
            }
        };
        let limit = self.limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(DomainError::invalid("limit", Reason::OutOfRange { min: 1.0, max: max as f64 }));
        }
        Ok((before, limit))
    }
}

/// ` AND (<ms> < $a OR (<ms> = $a AND <id> < $b))` for a cursor (nothing without
/// one), its values appended to `args`. Pair it with `ORDER BY <ms> DESC, <id> DESC
/// LIMIT <limit + 1>`.
pub fn older_than(before: Option<Before>, ms_column: &str, id_column: &str, args: &mut Vec<Value>) -> String {
    let Some(b) = before else { return String::new() };
    args.push(b.ms.into());
    args.push(b.id.into());
    let (m, i) = (args.len() - 1, args.len());
    format!(" AND ({ms_column} < ${m} OR ({ms_column} = ${m} AND {id_column} < ${i}))")
}

/// Cuts the one row fetched beyond the page and names where the next page starts.
pub fn split<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> (i64, Id)) -> (Vec<T>, Option<Before>) {
    if rows.len() as i64 <= limit {
        return (rows, None);
    }
    rows.truncate(limit as usize);
    let next = rows.last().map(|r| {
        let (ms, id) = key(r);
        Before { ms, id }
    });
    (rows, next)
}
