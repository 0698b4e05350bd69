-- Markup layers drawn over photos (photo_marked records): arrows, circles and short
-- texts in the photo's own 0–10 000 coordinates. The photo's bytes never change; a
-- person's newer layer of a photo replaces their older one where it is shown, and
-- every layer stays here and in the log.
CREATE TABLE photo_markups (
    record_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    author_id TEXT NOT NULL,
    marks_json TEXT NOT NULL,
    device_time_ms BIGINT NOT NULL,
    server_ms BIGINT NOT NULL
);
CREATE INDEX photo_markups_photo ON photo_markups (sha256, author_id, server_ms);
