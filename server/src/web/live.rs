//! Live pages: a server-sent event stream that says "something changed" whenever the
//! change feed's head moves. It polls the database, not this process's memory, so a
//! record taken by any instance behind the same database wakes every open page.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use crate::state::AppState;
use crate::store::DbError;
use crate::web::error::WebError;
use crate::web::session::Page;

/// How often each open page's stream looks at the feed head.
pub const POLL: Duration = Duration::from_secs(2);
/// A stream ends after this long; the browser reconnects by itself, and the
/// reconnection checks the session again (it may have expired meanwhile).
pub const STREAM_MAX: Duration = Duration::from_secs(15 * 60);

/// The feed's current position: every accepted record that changes a view moves it.
pub async fn feed_head(state: &AppState) -> Result<i64, DbError> {
    state.store.read(|c| c.query_one("SELECT value FROM counters WHERE name = 'feed'", &[])?.int(0)).await
}

/// `GET /live`: `event: feed`, `data: <position>` now and whenever it moves.
pub async fn events(
    State(state): State<AppState>,
    _page: Page,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let first = feed_head(&state).await?;
    let deadline = tokio::time::Instant::now() + STREAM_MAX;
    // (state, last position sent, whether the first event went out)
    let stream = stream::unfold((state, first, false), move |(state, last, started)| async move {
        if !started {
            let e = Event::default().event("feed").data(last.to_string());
            return Some((Ok(e), (state, last, true)));
        }
        loop {
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
            match feed_head(&state).await {
                Ok(head) if head != last => {
                    let e = Event::default().event("feed").data(head.to_string());
                    return Some((Ok(e), (state, head, true)));
                }
                Ok(_) => {}
                Err(e) => {
                    // The page keeps what it shows; the browser retries the stream.
                    tracing::warn!(error = %e, "live stream cannot read the feed head");
                    return None;
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}
