//! Background jobs inside the server: the patrol audit (missed windows), the notice
//! escalation ladder, the notification outbox, and the sweep of abandoned uploads. A tick runs each job whose lease it
//! can take; the lease lasts the job's period, so with several instances on one
//! database each job runs once a period, whoever gets there first.

use std::time::Duration;

use crate::params;
use crate::state::AppState;
use crate::store::{Conn, DbError};

/// A job's name and how often it runs.
pub struct Job {
    pub name: &'static str,
    pub period_ms: i64,
}

pub const AUDIT_RUNS: Job = Job { name: "audit_runs", period_ms: 60_000 };
pub const ESCALATE_NOTICES: Job = Job { name: "escalate_notices", period_ms: 60_000 };
pub const DELIVER_OUTBOX: Job = Job { name: "deliver_outbox", period_ms: 10_000 };
/// Staged photo chunks of uploads abandoned for a month (`photos::sweep_staged`).
pub const SWEEP_STAGED: Job = Job { name: "sweep_staged", period_ms: 6 * 3_600_000 };

/// The newest checkpoint submitted to the configured witnesses for cosigning.
pub const WITNESS: Job = Job { name: "witness", period_ms: 10_000 };
/// Each site's last month indexed in the log once it is over everywhere (docs/audit.md,
/// "Retention and archives"), so the index is witnessed long before anyone archives it.
pub const INDEX_MONTHS: Job = Job { name: "index_months", period_ms: 3_600_000 };

/// Every job, for the metrics.
pub const ALL: [&Job; 6] = [&AUDIT_RUNS, &ESCALATE_NOTICES, &DELIVER_OUTBOX, &SWEEP_STAGED, &WITNESS, &INDEX_MONTHS];

/// What one tick of this instance did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickReport {
    /// Jobs this instance ran (it held their lease).
    pub ran: Vec<&'static str>,
    pub missed_windows: u32,
    pub escalations: u32,
    pub delivery: crate::notify::deliver::DeliveryReport,
    /// Staged chunks deleted by the sweep.
    pub staged_swept: u32,
    /// Witnesses that cosigned a new checkpoint.
    pub cosigned: u32,
    /// Site months indexed in the log.
    pub months_indexed: u32,
}

/// Takes `job`'s lease for one period if it has expired. Taken with a conditional
/// UPDATE: PostgreSQL re-checks the condition after a concurrent holder commits and
/// SQLite serialises writers, so exactly one instance wins.
pub fn take_lease(c: &mut dyn Conn, job: &Job, holder: &str, now: i64) -> Result<bool, DbError> {
    c.execute(
        "INSERT INTO job_leases (name, holder, expires_ms, runs) VALUES ($1, '', 0, 0) ON CONFLICT (name) DO NOTHING",
        &params![job.name],
    )?;
    let won = c.execute(
        "UPDATE job_leases SET holder = $2, expires_ms = $3, runs = runs + 1 WHERE name = $1 AND expires_ms <= $4",
        &params![job.name, holder, now + job.period_ms, now],
    )?;
    Ok(won == 1)
}

async fn lease(state: &AppState, job: &'static Job) -> Result<bool, DbError> {
    let now = state.clock.now_ms();
    let holder = state.instance_id.clone();
    state.store.write(move |c| take_lease(c, job, &holder, now)).await
}

/// Runs every job that is due, by the state's clock. Tests with a `ManualClock` call
/// this directly instead of waiting for the timer.
pub async fn run_due(state: &AppState) -> Result<TickReport, DbError> {
    let mut report = TickReport::default();
    // Audit and escalation first: the messages they queue go out in the same tick.
    if lease(state, &AUDIT_RUNS).await? {
        let now = state.clock.now_ms();
        report.missed_windows = state.store.write(move |c| crate::schedules::announce_missed(c, now)).await?;
        report.ran.push(AUDIT_RUNS.name);
    }
    if lease(state, &ESCALATE_NOTICES).await? {
        let now = state.clock.now_ms();
        report.escalations = state.store.write(move |c| crate::notices::escalation::run(c, now)).await?;
        report.ran.push(ESCALATE_NOTICES.name);
    }
    // Sign-in budgets whose minute is over: every instance may prune, it is idempotent.
    let floor = state.clock.now_ms() - 2 * 60_000;
    state.store.write(move |c| crate::store::people::prune_login_budgets(c, floor)).await?;
    if lease(state, &DELIVER_OUTBOX).await? {
        report.delivery = crate::notify::deliver::deliver_due(state).await?;
        report.ran.push(DELIVER_OUTBOX.name);
    }
    if lease(state, &SWEEP_STAGED).await? {
        // The photo store being away fails only the sweep, which tries again next period.
        match crate::photos::sweep_staged(state, crate::photos::STAGED_MAX_AGE).await {
            Ok(n) => report.staged_swept = n,
            Err(e) => tracing::warn!(error = %e, "staged chunks could not be swept"),
        }
        report.ran.push(SWEEP_STAGED.name);
    }
    if lease(state, &INDEX_MONTHS).await? {
        let now = state.clock.now_ms();
        report.months_indexed = state.store.write(move |c| index_last_months(c, now)).await?;
        report.ran.push(INDEX_MONTHS.name);
    }
    if !state.witnesses.is_empty() && lease(state, &WITNESS).await? {
        report.cosigned = submit_to_witnesses(state).await;
        report.ran.push(WITNESS.name);
    }
    Ok(report)
}

/// Indexes each site's previous month (UTC), once it is over everywhere and not yet
/// indexed. Returns how many were indexed now.
pub fn index_last_months(c: &mut dyn Conn, now: i64) -> Result<u32, DbError> {
    use chrono::Datelike;
    let Some(today) = chrono::DateTime::from_timestamp_millis(now) else { return Ok(0) };
    let first = today.date_naive().with_day(1).expect("day 1");
    let previous = (first - chrono::Duration::days(1)).format("%Y-%m").to_string();
    let mut n = 0;
    for site in c.query("SELECT id FROM sites ORDER BY id", &[])? {
        if let Ok(true) = crate::audit::archive::index_month(c, site.uuid(0)?, &previous, now)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Submits the newest checkpoint to every configured witness; a witness that is away
/// or refuses is logged and asked again next period. Returns how many cosigned anew.
pub async fn submit_to_witnesses(state: &AppState) -> u32 {
    if let Err(e) = state.caught_up().await {
        tracing::warn!(error = %e, "the log could not catch up before witnessing");
    }
    let (store, witnesses, now) = (state.store.clone(), state.witnesses.clone(), state.clock.now_ms());
    let results =
        tokio::task::spawn_blocking(move || crate::audit::witnessed::submit_blocking(&store, &witnesses, now))
            .await
            .unwrap_or_default();
    let mut cosigned = 0;
    for r in results {
        match r {
            Ok(crate::audit::witnessed::Submitted::Cosigned(_)) => cosigned += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a witness did not cosign"),
        }
    }
    cosigned
}

/// The timer in `serve`: a tick every `jobs_interval_seconds` (0: no timer). A failed
/// tick is logged and the next one tries again; nothing is lost, the work is in tables.
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let seconds = state.settings.jobs_interval_seconds;
    if seconds == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(seconds));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match run_due(&state).await {
                Ok(r) if !r.ran.is_empty() => tracing::debug!(?r, "background jobs ran"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "background jobs failed; retrying next tick"),
            }
        }
    }))
}

/// The sequencer's lease: held while its holder runs, renewed every half period; a
/// holder that dies loses it after one period and another instance takes over.
pub const SEQUENCE: Job = Job { name: "sequence", period_ms: 5_000 };

/// Takes the sequencer's lease if it has expired, or renews it for its holder.
pub fn hold_lease(c: &mut dyn Conn, job: &Job, holder: &str, now: i64) -> Result<bool, DbError> {
    c.execute(
        "INSERT INTO job_leases (name, holder, expires_ms, runs) VALUES ($1, '', 0, 0) ON CONFLICT (name) DO NOTHING",
        &params![job.name],
    )?;
    let won = c.execute(
        "UPDATE job_leases SET holder = $2, expires_ms = $3, runs = runs + 1
         WHERE name = $1 AND (expires_ms <= $4 OR holder = $2)",
        &params![job.name, holder, now + job.period_ms, now],
    )?;
    Ok(won == 1)
}

/// The sequencer of this instance (`patrol_cases::sequencer`): a loop that, while this
/// instance holds the `sequence` lease, integrates what is pending every half merge
/// delay, and at once when a push has just committed (`nudge`). Started on first use
/// (a nudge, or `serve`), so every state that takes pushes runs one; it stops when the
/// last state holding it is dropped.
#[derive(Default)]
pub struct Sequencer {
    nudge: tokio::sync::Notify,
    started: std::sync::OnceLock<()>,
    /// Integrations this instance ran, for tests and metrics.
    pub runs: std::sync::atomic::AtomicU64,
}

impl Sequencer {
    /// A push (or another write with entries) committed: integrate now.
    pub fn nudge(self: &std::sync::Arc<Self>, state: &AppState) {
        self.start(state);
        self.nudge.notify_one();
    }

    pub fn start(self: &std::sync::Arc<Self>, state: &AppState) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.started.get_or_init(|| {
            let weak = std::sync::Arc::downgrade(self);
            let (store, clock, holder) = (state.store.clone(), state.clock.clone(), state.instance_id.clone());
            let tick = Duration::from_millis((state.settings.merge_delay_ms / 2).max(10));
            tokio::spawn(sequencer_loop(weak, store, clock, holder, tick));
        });
    }
}

async fn sequencer_loop(
    weak: std::sync::Weak<Sequencer>,
    store: crate::store::Store,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    holder: String,
    tick: Duration,
) {
    let mut held_until = 0i64;
    loop {
        {
            let Some(me) = weak.upgrade() else { return };
            let _ = tokio::time::timeout(tick, me.nudge.notified()).await;
        }
        let now = clock.now_ms();
        if now >= held_until - SEQUENCE.period_ms / 2 {
            let h = holder.clone();
            held_until = match store.write(move |c| hold_lease(c, &SEQUENCE, &h, now)).await {
                Ok(true) => now + SEQUENCE.period_ms,
                Ok(false) => 0,
                Err(e) => {
                    tracing::warn!(error = %e, "the sequencer's lease could not be taken");
                    0
                }
            };
        }
        if held_until == 0 {
            continue;
        }
        match patrol_cases::sequencer::catch_up(&store, now).await {
            Ok(done) if done.entries + done.leaves > 0 => {
                if let Some(me) = weak.upgrade() {
                    me.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::debug!(entries = done.entries, leaves = done.leaves, "sequenced");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "the sequencer failed; retrying next tick"),
        }
    }
}
