-- Sign-in guessing budgets (docs/operations.md, "Sign-in throttling"): one row per
-- bucket (a login from an address, a login on a device it signed in on before, an
-- address), counting attempts in the current minute. Taken and refunded with single
-- atomic statements, so concurrent guesses cannot overdraw a budget.
CREATE TABLE login_budgets (
    bucket TEXT PRIMARY KEY,
    window_start_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX login_budgets_window ON login_budgets (window_start_ms);
-- Access tokens name their login family; sign-out revokes the family, and every
-- request looks it up.
CREATE INDEX refresh_tokens_person_device ON refresh_tokens (person_id, device_id);
-- An administrator's reset gives a one-time password that must be changed at the
-- next sign-in (on the phone too).
ALTER TABLE people ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
-- A role taken away keeps its row with the time it ended, so `audit verify` can judge
-- older records by the roles their author held then. Only live roles are unique.
ALTER TABLE role_assignments ADD COLUMN removed_ms BIGINT;
DROP INDEX role_assignments_unique;
CREATE UNIQUE INDEX role_assignments_unique
    ON role_assignments (person_id, role, COALESCE(site_id, ''), COALESCE(department_id, ''))
    WHERE removed_ms IS NULL;
