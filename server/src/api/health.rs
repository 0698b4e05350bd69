//! Probes and metrics for whoever runs the server.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Internal(format!("database unreachable: {e}"))
    })?;
    Ok("ready")
}

pub async fn metrics(State(state): State<AppState>) -> MetricsText {
    // The background work's state is in the database, shared by every instance: read
    // at each scrape (two small queries). A database that does not answer leaves
    // those gauges as they were; the rest is still served.
    let now = state.clock.now_ms();
    let backlog = state
        .store
        .read(move |c| {
            let r = c.query_one("SELECT COUNT(*), MIN(created_ms) FROM outbox WHERE state = 'pending'", &[])?;
            let (pending, oldest) = (r.int(0)?, r.opt_int(1)?);
            let leases = c
                .query("SELECT name, expires_ms FROM job_leases", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.int(1)?)))
                .collect::<Result<Vec<_>, crate::store::DbError>>()?;
            let sequencer = patrol_cases::sequencer::pending(c)?;
            Ok(crate::metrics::Backlog {
                now_ms: now,
                outbox_pending: pending,
                outbox_oldest_ms: oldest,
                leases,
                sequencer,
            })
        })
        .await;
    match backlog {
        Ok(b) => crate::metrics::backlog(&b),
        Err(e) => tracing::warn!(error = %e, "metrics: the job and outbox state could not be read"),
    }
    MetricsText(state.metrics.render(&state.store))
}

/// Prometheus's text exposition format.
pub struct MetricsText(pub String);

impl IntoResponse for MetricsText {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], self.0).into_response()
    }
}
