-- Organisation, reference data, people, roles and authentication.
-- Times are milliseconds since the Unix epoch (BIGINT in both databases).

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    utc_offset_minutes BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (site_id, name_zh)
);

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE role_assignments (
    person_id TEXT NOT NULL REFERENCES people(id),
    role TEXT NOT NULL,
    site_id TEXT REFERENCES sites(id),
    department_id TEXT REFERENCES departments(id),
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX role_assignments_unique
    ON role_assignments (person_id, role, COALESCE(site_id, ''), COALESCE(department_id, ''));

CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    radius_m DOUBLE PRECISION NOT NULL,
    qr_token TEXT NOT NULL UNIQUE,
    nfc_tag_id TEXT,
    checklist_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (site_id, code)
);

CREATE TABLE routes (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    checkpoint_ids_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    route_id TEXT NOT NULL REFERENCES routes(id),
    days_json TEXT NOT NULL,
    windows_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Ed25519 keys that sign access tokens; `kid` goes into each token's header.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    secret_hex TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    retired_ms BIGINT
);

-- Refresh tokens are stored hashed; a family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id),
    device_id TEXT NOT NULL,
    issued_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT,
    revoked_ms BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE login_failures (
    login TEXT NOT NULL,
    address TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at_ms);
CREATE INDEX login_failures_address ON login_failures (address, at_ms);
