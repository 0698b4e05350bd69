-- The transparency log and the pull feed are ordered by one sequencer (issue 16), not
-- inside each writing transaction: writers add pending rows, which take no lock anyone
-- else waits for; the sequencer gives them their leaf indexes and feed positions in
-- batches (cases/src/sequencer.rs).
CREATE TABLE log_pending (
    pending_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    leaf TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX log_pending_subject ON log_pending (subject, kind);

CREATE TABLE feed_pending (
    pending_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    site_id TEXT,
    department_id TEXT,
    person_id TEXT,
    notice_id TEXT,
    record_id TEXT
);

-- A feed entry's id: its position for entries made before the sequencer, its pending
-- id after (what a notice event names as its entry). Pending ids start above every
-- position made so far, so a notice's events keep their order.
ALTER TABLE feed ADD COLUMN entry_id BIGINT;
UPDATE feed SET entry_id = position;
CREATE UNIQUE INDEX feed_entry ON feed (entry_id);
INSERT INTO sqlite_sequence (name, seq) VALUES ('feed_pending', (SELECT COALESCE(MAX(position), 0) FROM feed));
