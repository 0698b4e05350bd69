-- The web console: cookie sessions (stored hashed, with their CSRF token) and each
-- site's plan image with the latitude/longitude of its edges.

CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    ended_ms BIGINT
);
CREATE INDEX web_sessions_person ON web_sessions (person_id);

CREATE TABLE site_plans (
    site_id TEXT PRIMARY KEY REFERENCES sites(id),
    content_type TEXT NOT NULL,
    image BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    width_px BIGINT NOT NULL,
    height_px BIGINT NOT NULL,
    north DOUBLE PRECISION NOT NULL,
    south DOUBLE PRECISION NOT NULL,
    west DOUBLE PRECISION NOT NULL,
    east DOUBLE PRECISION NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES people(id),
    uploaded_ms BIGINT NOT NULL
);
