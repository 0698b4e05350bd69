//! Audit over HTTP and in the background: the log's public API and the periodic
//! signing of tree heads. The log, verifier, replay, witness and archives are the use
//! case `patrol_cases::audit`, re-exported here (docs/audit.md).

pub use patrol_cases::audit::*;

pub mod api;
pub mod witness_server;

use crate::state::AppState;

/// Signs a tree head every `every` while the server runs, when the log grew: each
/// instance does it (heads are idempotent per size and time), so witnesses see fresh
/// heads even when nobody asks.
pub async fn sign_heads_periodically(state: AppState, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (store, now) = (state.store.clone(), state.clock.now_ms());
        match tokio::task::spawn_blocking(move || log::current_head(&store, now)).await {
            Ok(Ok(h)) => tracing::debug!(size = h.head.tree_size, "tree head"),
            Ok(Err(e)) => tracing::warn!("cannot sign a tree head: {e}"),
            Err(e) => tracing::warn!("tree head task failed: {e}"),
        }
    }
}
