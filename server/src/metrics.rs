//! Metrics through the `metrics` facade and its Prometheus exporter: request latency
//! histograms by route and status, sync, photo and sign-in series, the database pool
//! and the process's memory. Per instance, by design: Prometheus scrapes each instance
//! and adds them up. One recorder per process (the facade's global one), so every
//! `AppState` of a process reports into it.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds of the request latency buckets, in seconds: from a cached page to a
/// push of a day's work over a slow link.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("patrol_http_request_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (a test harness, an embedding program)
        // keeps its place; this handle then renders what it was given.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        // Counters without labels are shown from the start, at 0, so a rate over a
        // scrape before the first event is 0 rather than missing.
        for name in ["patrol_photo_bytes_total", "patrol_photos_completed_total", "patrol_thumbnails_made_total"] {
            counter!(name).increment(0);
        }
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("patrol_http_requests_total", "HTTP requests answered.");
    describe_histogram!(
        "patrol_http_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's arrival to its answer's head."
    );
    describe_counter!(
        "patrol_sync_pushes_total",
        "Pushes answered, by outcome (accepted, refused) and refusal reason."
    );
    describe_counter!(
        "patrol_sync_records_total",
        "Records of accepted pushes, by status (applied, rejected, duplicate)."
    );
    describe_counter!("patrol_photo_bytes_total", Unit::Bytes, "Photo bytes received in upload chunks.");
    describe_counter!("patrol_photos_completed_total", "Photos checked and put in the store.");
    describe_counter!("patrol_thumbnails_made_total", "Photos decoded to make a thumbnail.");
    describe_counter!("patrol_logins_total", "Sign-ins, by outcome (ok, wrong, throttled).");
    describe_gauge!("patrol_outbox_pending", "Channel messages waiting to be delivered (all instances).");
    describe_gauge!(
        "patrol_outbox_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest message waiting to be delivered (0 when none waits)."
    );
    describe_gauge!(
        "patrol_job_seconds_since_run",
        Unit::Seconds,
        "Time since a background job last ran on any instance."
    );
    describe_gauge!("patrol_log_pending_leaves", "Log leaves committed and waiting for the sequencer (all instances).");
    describe_gauge!(
        "patrol_feed_pending_entries",
        "Feed entries committed and waiting for the sequencer (all instances)."
    );
    describe_gauge!(
        "patrol_log_merge_delay_seconds",
        Unit::Seconds,
        "How long the oldest pending leaf or entry has waited (0 when none waits); the merge delay bounds it."
    );
    describe_gauge!("patrol_db_connections", "Database connections of this instance, by state (open, idle, in_use).");
    describe_gauge!("patrol_db_waiting", "Transactions of this instance waiting for a database connection now.");
    describe_counter!(
        "patrol_db_writer_bodies_total",
        "SQLite: write transactions run through the one writer connection."
    );
    describe_counter!(
        "patrol_db_writer_commits_total",
        "SQLite: commits of the one writer (several write transactions share one under load)."
    );
    describe_counter!(
        "patrol_db_writer_delayed_commits_total",
        "SQLite: groups whose last write waited a moment under load for others to share its commit."
    );
    describe_counter!(
        "patrol_db_wal_checkpoints_total",
        "SQLite: WAL checkpoints, by who ran them (checkpointer: its own thread; writer: the WAL had grown past its bound)."
    );
    describe_counter!(
        "patrol_db_wal_checkpoint_failures_total",
        "SQLite: WAL checkpoints of the checkpointer's thread that failed (each tried again at its next wake)."
    );
    describe_gauge!(
        "patrol_db_writer_busy_seconds_total",
        "SQLite: seconds the one writer connection was held (bodies, commits, fsyncs) since the start."
    );
    describe_gauge!("patrol_process_resident_bytes", Unit::Bytes, "Resident memory of the process.");
    describe_gauge!("patrol_build_info", "The running version and database kind.");
}

/// Label values come from fixed sets only (a method a client makes up is "other", an
/// unrouted path "unmatched"), so no caller can grow the series.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[derive(Default)]
pub struct Metrics;

impl Metrics {
    /// One answered request. `path` is the route's pattern (or "unmatched").
    pub fn observe(&self, method: &str, path: &str, status: u16, elapsed: Duration) {
        handle();
        let labels =
            [("method", method_label(method).to_string()), ("path", path.to_string()), ("status", status.to_string())];
        counter!("patrol_http_requests_total", &labels).increment(1);
        histogram!("patrol_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    }

    /// Everything recorded, in Prometheus text format, with the gauges read now.
    pub fn render(&self, store: &crate::store::Store) -> String {
        let handle = handle();
        let (open, idle) = store.open_and_idle();
        gauge!("patrol_db_connections", "state" => "open").set(open as f64);
        gauge!("patrol_db_connections", "state" => "idle").set(idle as f64);
        gauge!("patrol_db_connections", "state" => "in_use").set(open.saturating_sub(idle as u32) as f64);
        gauge!("patrol_db_waiting").set(store.waiting() as f64);
        if let Some(w) = store.writer_stats() {
            counter!("patrol_db_writer_bodies_total").absolute(w.bodies);
            counter!("patrol_db_writer_commits_total").absolute(w.commits);
            counter!("patrol_db_writer_delayed_commits_total").absolute(w.delayed);
            counter!("patrol_db_wal_checkpoints_total", "by" => "checkpointer").absolute(w.checkpoints);
            counter!("patrol_db_wal_checkpoints_total", "by" => "writer").absolute(w.writer_checkpoints);
            counter!("patrol_db_wal_checkpoint_failures_total").absolute(w.failed_checkpoints);
            gauge!("patrol_db_writer_busy_seconds_total").set(w.busy_seconds);
        }
        if let Some(rss) = resident_bytes() {
            gauge!("patrol_process_resident_bytes").set(rss as f64);
        }
        gauge!("patrol_build_info", "version" => env!("CARGO_PKG_VERSION"), "database" => store.kind()).set(1.0);
        handle.render()
    }
}

/// The background work as the database holds it, read at a scrape.
pub struct Backlog {
    pub now_ms: i64,
    pub outbox_pending: i64,
    pub outbox_oldest_ms: Option<i64>,
    /// Each job's lease: its name and when it expires (the job ran one period before).
    pub leases: Vec<(String, i64)>,
    /// What waits for the sequencer.
    pub sequencer: patrol_cases::sequencer::Pending,
}

pub fn backlog(b: &Backlog) {
    handle();
    gauge!("patrol_outbox_pending").set(b.outbox_pending as f64);
    let oldest = b.outbox_oldest_ms.map_or(0.0, |ms| (b.now_ms - ms).max(0) as f64 / 1000.0);
    gauge!("patrol_outbox_oldest_pending_seconds").set(oldest);
    gauge!("patrol_log_pending_leaves").set(b.sequencer.leaves as f64);
    gauge!("patrol_feed_pending_entries").set(b.sequencer.entries as f64);
    let waited = b.sequencer.oldest_ms.map_or(0.0, |ms| (b.now_ms - ms).max(0) as f64 / 1000.0);
    gauge!("patrol_log_merge_delay_seconds").set(waited);
    for job in crate::jobs::ALL {
        // A lease row is taken when the job runs and lasts one period.
        if let Some((_, expires)) = b.leases.iter().find(|(name, _)| name == job.name) {
            let since = (b.now_ms - (expires - job.period_ms)).max(0) as f64 / 1000.0;
            gauge!("patrol_job_seconds_since_run", "job" => job.name).set(since);
        }
    }
}

/// A push accepted, with its records' statuses.
pub fn push_accepted(resp: &patrol_protocol::sync::PushResponse) {
    handle();
    counter!("patrol_sync_pushes_total", "outcome" => "accepted", "reason" => "").increment(1);
    for r in &resp.results {
        let status = match r.status {
            patrol_protocol::sync::RecordStatus::Applied => "applied",
            patrol_protocol::sync::RecordStatus::Rejected => "rejected",
            patrol_protocol::sync::RecordStatus::Duplicate => "duplicate",
        };
        counter!("patrol_sync_records_total", "status" => status).increment(1);
    }
}

/// A push refused whole, by its reason's code (a fixed set: `Reason`'s variants).
pub fn push_refused(reason: &patrol_protocol::reason::Reason) {
    handle();
    counter!("patrol_sync_pushes_total", "outcome" => "refused", "reason" => reason.code()).increment(1);
}

pub fn photo_bytes(n: usize) {
    handle();
    counter!("patrol_photo_bytes_total").increment(n as u64);
}

pub fn photo_completed() {
    handle();
    counter!("patrol_photos_completed_total").increment(1);
}

pub fn thumbnail_made() {
    handle();
    counter!("patrol_thumbnails_made_total").increment(1);
}

/// A sign-in: "ok", "wrong" (password or login) or "throttled".
pub fn login(outcome: &'static str) {
    handle();
    counter!("patrol_logins_total", "outcome" => outcome).increment(1);
}

/// The process's resident memory, from `/proc` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
