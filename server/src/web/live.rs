//! Live pages: a server-sent event stream that says "something changed" whenever the
//! change feed's head moves. One watcher per instance reads the head from the database
//! (not this process's memory, so a record taken by any instance behind the same
//! database wakes every open page) while at least one page listens; each page's stream
//! waits on that watcher instead of polling the database itself.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use crate::state::AppState;
use crate::store::{DbError, Store};
use crate::web::error::WebError;
use crate::web::session::Page;

/// How often each open page's stream looks at the feed head.
pub const POLL: Duration = Duration::from_secs(2);
/// A stream ends after this long; the browser reconnects by itself, and the
/// reconnection checks the session again (it may have expired meanwhile).
pub const STREAM_MAX: Duration = Duration::from_secs(15 * 60);

/// The feed's current position: every accepted record that changes a view moves it.
pub async fn feed_head(store: &Store) -> Result<i64, DbError> {
    store.read(|c| c.query_one("SELECT value FROM counters WHERE name = 'feed'", &[])?.int(0)).await
}

/// The instance's one reader of the feed head: it reads every `POLL` while at least
/// one stream listens and stops when the last one goes, so a hundred open pages cost
/// the database one read every two seconds, and none cost nothing.
#[derive(Debug)]
pub struct FeedWatch {
    head: tokio::sync::watch::Sender<i64>,
    running: AtomicBool,
    /// Reads of the head made by the watcher since the process started (tests and
    /// /metrics read it).
    pub reads: AtomicU64,
}

impl Default for FeedWatch {
    fn default() -> Self {
        FeedWatch { head: tokio::sync::watch::channel(0).0, running: AtomicBool::new(false), reads: AtomicU64::new(0) }
    }
}

impl FeedWatch {
    /// Listens to the head, starting the watcher if nobody was listening.
    pub fn subscribe(
        self: &Arc<Self>,
        store: &Store,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> tokio::sync::watch::Receiver<i64> {
        let listener = self.head.subscribe();
        if !self.running.swap(true, Ordering::AcqRel) {
            tokio::spawn(Arc::clone(self).watch(store.clone(), clock));
        }
        listener
    }

    async fn watch(self: Arc<Self>, store: Store, clock: Arc<dyn crate::clock::Clock>) {
        loop {
            tokio::time::sleep(POLL).await;
            if self.head.receiver_count() == 0 {
                self.running.store(false, Ordering::Release);
                // A page that subscribed between the count and the store found the
                // watcher still marked running and started none: go on for it.
                if self.head.receiver_count() == 0 || self.running.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
            self.reads.fetch_add(1, Ordering::Relaxed);
            // What committed since is shown now, not after the sequencer's next tick.
            if let Err(e) = patrol_cases::sequencer::catch_up(&store, clock.now_ms()).await {
                tracing::warn!(error = %e, "the live watcher could not catch the feed up");
            }
            match feed_head(&store).await {
                Ok(head) => {
                    self.head.send_if_modified(|h| std::mem::replace(h, head) != head);
                }
                // The pages keep what they show; the next read may work.
                Err(e) => tracing::warn!(error = %e, "the live watcher cannot read the feed head"),
            }
        }
    }
}

/// `GET /live`: `event: feed`, `data: <position>` now and whenever it moves.
pub async fn events(
    State(state): State<AppState>,
    _page: Page,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let first = feed_head(&state.store).await?;
    let listener = state.live.subscribe(&state.store, state.clock.clone());
    let deadline = tokio::time::Instant::now() + STREAM_MAX;
    // (listener, last position sent, whether the first event went out)
    let stream = stream::unfold((listener, first, false), move |(mut listener, last, started)| async move {
        if !started {
            let e = Event::default().event("feed").data(last.to_string());
            return Some((Ok(e), (listener, last, true)));
        }
        loop {
            match tokio::time::timeout_at(deadline, listener.changed()).await {
                // The stream's time is up; the browser reconnects.
                Err(_) => return None,
                // The watcher went away (the instance is stopping).
                Ok(Err(_)) => return None,
                Ok(Ok(())) => {
                    let head = *listener.borrow_and_update();
                    if head != last {
                        let e = Event::default().event("feed").data(head.to_string());
                        return Some((Ok(e), (listener, head, true)));
                    }
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}
