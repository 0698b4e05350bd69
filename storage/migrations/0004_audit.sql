-- The transparency log (docs/audit.md): one leaf per accepted record and per server
-- decision, appended in the transaction that stores it; interior hashes of complete
-- subtrees; signed tree heads; the log's own Ed25519 key.

INSERT INTO counters (name, value) VALUES ('log', 0);

-- leaf_index comes from counters.log under its row lock: gapless, committed in order.
CREATE TABLE log_leaves (
    leaf_index BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- What the leaf is about: a record id, a photo's SHA-256, or device/seq of a fork.
    subject TEXT NOT NULL,
    leaf TEXT NOT NULL,
    leaf_hash TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX log_leaves_subject ON log_leaves (subject, kind);
CREATE INDEX log_leaves_at ON log_leaves (at_ms);

-- The hash of every complete subtree of 2^level leaves (level >= 1) starting at
-- leaf node_index << level: any proof is then a bounded number of lookups.
CREATE TABLE log_nodes (
    level BIGINT NOT NULL,
    node_index BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, node_index)
);

CREATE TABLE log_keys (
    key_id TEXT PRIMARY KEY,
    secret_hex TEXT NOT NULL,
    public_hex TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE tree_heads (
    tree_size BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    root TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tree_size, timestamp_ms, key_id)
);
