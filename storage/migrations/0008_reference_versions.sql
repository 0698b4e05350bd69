-- Reference data edited and retired over time, never deleted (issue 13). Every change
-- of a site, department, checkpoint, route or schedule is kept as a version; the live
-- row holds the latest. `audit verify` replays the versions at their instants, so
-- records are judged by the data as it stood when they came.
ALTER TABLE sites ADD COLUMN retired_ms BIGINT;
ALTER TABLE departments ADD COLUMN retired_ms BIGINT;
ALTER TABLE checkpoints ADD COLUMN retired_ms BIGINT;
ALTER TABLE routes ADD COLUMN retired_ms BIGINT;
ALTER TABLE schedules ADD COLUMN retired_ms BIGINT;

CREATE TABLE reference_versions (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- When it took effect (server time). Version 1 is the state the object was
    -- created with, kept at its first change.
    valid_from_ms BIGINT NOT NULL,
    actor_id TEXT,
    body_json TEXT NOT NULL,
    -- Set on the version that retired the object.
    retired_ms BIGINT,
    PRIMARY KEY (kind, object_id, version)
);
CREATE INDEX reference_versions_time ON reference_versions (valid_from_ms);
