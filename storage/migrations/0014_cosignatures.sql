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
