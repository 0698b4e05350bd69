-- Witness cosignatures (c2sp.org/tlog-cosignature) of the log's checkpoints, as the
-- witnesses returned them to add-checkpoint (c2sp.org/tlog-witness): served beside the
-- checkpoint, required by the k-of-n policy when one is configured (docs/audit.md).
-- A witness signs with its own key, which no one at the operator holds: a row here
-- can be deleted by an insider, not forged.
CREATE TABLE witness_cosignatures (
    witness TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    root TEXT NOT NULL,
    cosigned_s BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (witness, tree_size, root)
);
CREATE INDEX witness_cosignatures_size ON witness_cosignatures (tree_size);

-- The thumbnail made of each photo, by its SHA-256, as logged by a thumbnail_made leaf
-- when it was made: a swapped thumbnail object is neither served nor passes
-- `audit verify` (issue 17, hole 7).
ALTER TABLE photos ADD COLUMN thumb_sha256 TEXT;
