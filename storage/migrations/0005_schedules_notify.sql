-- Schedules, lateness, escalation and notifications (issue 7).
-- Number 5: number 4 is taken by the audit log on another branch.

-- What the server needs to judge a record's time: the device's clock offset measured
-- at the push that carried it (server time minus the phone's send time).
ALTER TABLE records ADD COLUMN clock_offset_ms BIGINT;
ALTER TABLE runs ADD COLUMN start_record_id TEXT;
ALTER TABLE runs ADD COLUMN finish_record_id TEXT;
ALTER TABLE runs ADD COLUMN finished_received_ms BIGINT;
-- The phone's own due time; `due_ms` becomes the effective one (capped by site rules).
ALTER TABLE notices ADD COLUMN requested_due_ms BIGINT;

-- Per-site rules for time limits, audits and messages. A site without a row uses the
-- defaults written in `schedules::rules::SiteRules::default`.
CREATE TABLE site_rules (
    site_id TEXT PRIMARY KEY REFERENCES sites(id),
    rules_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- Days on which the regular schedules expect nothing (public holidays, 春节 …).
CREATE TABLE holidays (
    site_id TEXT NOT NULL REFERENCES sites(id),
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (site_id, day)
);

-- A stretch of days (move-in 入伙期 …) during which a route follows another schedule,
-- holidays included.
CREATE TABLE special_periods (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    route_id TEXT NOT NULL REFERENCES routes(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    days_json TEXT NOT NULL,
    windows_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX special_periods_site ON special_periods (site_id, first_day);

-- "Won't do" for one expected window, with the supervisor's decision.
CREATE TABLE run_waivers (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    person_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_ms BIGINT,
    decision_note TEXT
);
CREATE INDEX run_waivers_window ON run_waivers (route_id, window_start_ms);
CREATE INDEX run_waivers_site ON run_waivers (site_id, state);

-- Windows the audit job has announced as missed: once each.
CREATE TABLE missed_windows (
    route_id TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    site_id TEXT NOT NULL,
    marked_ms BIGINT NOT NULL,
    PRIMARY KEY (route_id, window_start_ms)
);

-- Escalation steps of notices that fired: once each (the key includes the
-- department for "not delivered", so a reassignment starts that clock again).
CREATE TABLE notice_escalations (
    notice_id TEXT NOT NULL,
    step TEXT NOT NULL,
    fired_ms BIGINT NOT NULL,
    PRIMARY KEY (notice_id, step)
);

-- In-app messages for one person; the phone's pull and the console read them.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    site_id TEXT,
    event TEXT NOT NULL,
    event_key TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    body_zh TEXT NOT NULL,
    body_en TEXT NOT NULL,
    notice_id TEXT,
    created_ms BIGINT NOT NULL,
    UNIQUE (person_id, event_key)
);
CREATE INDEX notifications_person ON notifications (person_id, created_ms);

-- Where a site's events go. `secret` is write-only through the API.
CREATE TABLE notify_channels (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT NOT NULL,
    events_json TEXT NOT NULL,
    language TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX notify_channels_site ON notify_channels (site_id);

-- The outbox: one row per event and channel, written in the transaction that decided
-- the event, delivered by the job with retries. Never deleted.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES notify_channels(id),
    event TEXT NOT NULL,
    event_key TEXT NOT NULL,
    message_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    last_error TEXT,
    UNIQUE (channel_id, event_key)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);

CREATE TABLE delivery_attempts (
    outbox_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    PRIMARY KEY (outbox_id, attempt)
);

-- Background jobs: whoever holds a job's lease runs it; the lease lasts one period,
-- so with several instances on one database each job runs once a period.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    runs BIGINT NOT NULL
);
