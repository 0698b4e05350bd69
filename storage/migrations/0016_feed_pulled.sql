-- The feed entries a phone's pull sends (cases/src/sync/feed.rs, PULLED_KINDS), by
-- position: a pull's page reads through these and never steps over the `run` entries
-- (one per patrol record of every site), which this index does not hold, so adding one
-- costs nothing more. The predicate is the pull query's own, word for word.
CREATE INDEX feed_pulled ON feed (position)
    WHERE kind IN ('reference', 'notice', 'rejection', 'notification', 'fault');
