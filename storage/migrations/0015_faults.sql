-- Service-quality assessment (服务质量考核, issue 19): the organisation's catalogue of
-- rules and its scale, each edit a new version (nothing is overwritten); staff fault
-- notices (员工过失通知单) numbered per site and year like rectification notices; and
-- what happened to each (signed for, refused, appealed, decided, voided).

-- One row per version of a rule of the catalogue (考核条款); the newest is in force.
CREATE TABLE fault_rules (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    org_id TEXT NOT NULL,
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    points BIGINT NOT NULL,
    retired BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    author_id TEXT,
    PRIMARY KEY (id, version)
);
CREATE INDEX fault_rules_org ON fault_rules (org_id, code);

-- One row per version of an organisation's scale (what a month's points mean).
CREATE TABLE fault_scales (
    org_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    author_id TEXT,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE fault_counters (
    site_id TEXT NOT NULL,
    year BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (site_id, year)
);

-- A fault notice as it stands. `points` is what was deducted when issued, `points_now`
-- what counts after an appeal's decision (0 when cancelled or voided); `superior_id`
-- is the person's direct superior at the site when it was issued (who shares the
-- liability of a repeated rule); `deciders_json` who may decide its appeal.
CREATE TABLE faults (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    year BIGINT NOT NULL,
    counter BIGINT NOT NULL,
    month TEXT NOT NULL,
    person_id TEXT NOT NULL,
    superior_id TEXT,
    rule_id TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    points BIGINT NOT NULL,
    points_now BIGINT NOT NULL,
    seen TEXT NOT NULL,
    location TEXT NOT NULL,
    run_id TEXT,
    notice_id TEXT,
    photos_json TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    issued_record_id TEXT NOT NULL,
    seen_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    appeal TEXT,
    deciders_json TEXT,
    voided BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX faults_site_month ON faults (site_id, month);
CREATE INDEX faults_person ON faults (person_id, month);

CREATE TABLE fault_events (
    record_id TEXT PRIMARY KEY,
    fault_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    points BIGINT,
    applied BIGINT NOT NULL,
    refusal TEXT,
    device_time_ms BIGINT NOT NULL,
    server_ms BIGINT NOT NULL
);
CREATE INDEX fault_events_fault ON fault_events (fault_id, server_ms);

-- Root-cause notes on a month's repeated problems (整改措施), by the site's supervisors.
CREATE TABLE fault_month_notes (
    site_id TEXT NOT NULL,
    month TEXT NOT NULL,
    person_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    note TEXT NOT NULL,
    author_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (site_id, month, person_id, rule_id, at_ms)
);
