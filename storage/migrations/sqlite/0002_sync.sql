-- Records pushed by devices, the projections built from them (runs, visits, notices),
-- photos and their upload chunks, daily-log signatures, and the change feed.

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('feed', 0);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    acked_seq BIGINT NOT NULL,
    acked_hash TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    clock_offset_ms BIGINT
);

-- Every record ever accepted, applied or rejected. Never updated, never deleted.
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    author_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    device_time_ms BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    reason_zh TEXT,
    UNIQUE (device_id, seq)
);
CREATE INDEX records_author ON records (author_id, received_ms);

-- Offered records that contradicted an accepted one: kept for the auditor.
CREATE TABLE forks (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    stored_hash TEXT,
    offered_hash TEXT NOT NULL,
    offered_body TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    local_day TEXT NOT NULL,
    started_device_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    finished_device_ms BIGINT,
    missed_reason TEXT
);
CREATE INDEX runs_site_day ON runs (site_id, local_day);

CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    checkpoint_id TEXT NOT NULL,
    method TEXT NOT NULL,
    device_time_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    out_of_order BIGINT NOT NULL,
    record_id TEXT NOT NULL
);
CREATE INDEX visits_run ON visits (run_id);

CREATE TABLE item_results (
    record_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX item_results_run ON item_results (run_id);

CREATE TABLE track_batches (
    record_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    points BIGINT NOT NULL
);
CREATE INDEX track_batches_run ON track_batches (run_id);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    received BIGINT NOT NULL,
    complete BIGINT NOT NULL,
    first_cited_ms BIGINT NOT NULL,
    completed_ms BIGINT
);

CREATE TABLE photo_chunks (
    sha256 TEXT NOT NULL,
    start_offset BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sha256, start_offset)
);

CREATE TABLE photo_citations (
    sha256 TEXT NOT NULL,
    record_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    run_id TEXT,
    notice_id TEXT,
    PRIMARY KEY (sha256, record_id)
);
CREATE INDEX photo_citations_run ON photo_citations (run_id);
CREATE INDEX photo_citations_notice ON photo_citations (notice_id);

CREATE TABLE notice_counters (
    site_id TEXT NOT NULL,
    year BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (site_id, year)
);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    number TEXT UNIQUE,
    year BIGINT NOT NULL,
    counter BIGINT NOT NULL,
    department_id TEXT NOT NULL,
    checkpoint_id TEXT,
    run_id TEXT,
    location TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    raised_record_id TEXT NOT NULL,
    raised_device_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    has_car BIGINT NOT NULL,
    photos_json TEXT NOT NULL
);
CREATE INDEX notices_site_dept ON notices (site_id, department_id);

CREATE TABLE notice_events (
    record_id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    photos_json TEXT NOT NULL,
    reassign_to TEXT,
    from_state TEXT,
    to_state TEXT,
    applied BIGINT NOT NULL,
    refusal TEXT,
    device_time_ms BIGINT NOT NULL,
    server_ms BIGINT NOT NULL,
    notice_hash TEXT NOT NULL
);
CREATE INDEX notice_events_notice ON notice_events (notice_id, position);

CREATE TABLE daily_log_signatures (
    record_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    day TEXT NOT NULL,
    person_id TEXT NOT NULL,
    comment TEXT NOT NULL,
    server_ms BIGINT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX daily_log_signatures_site_day ON daily_log_signatures (site_id, day);

-- The change feed that pulls read: a gapless position, assigned from `counters`
-- under a row lock, so positions become visible in order.
CREATE TABLE feed (
    position BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    site_id TEXT,
    department_id TEXT,
    person_id TEXT,
    notice_id TEXT,
    record_id TEXT
);
