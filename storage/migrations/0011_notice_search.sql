-- The register's text search (整改通知台账 搜索): one narrow row per notice with what
-- the register filters and orders by (site, department, issuer, state, severity, due
-- and raised times) and its number, description and location lower-cased. A search
-- reads these rows, a tenth of a notice row's bytes, to count and order the matches,
-- and then only the page's notices: at a year of 50 sites the organisation-wide search
-- read 100 000 wide rows twice, and then 6 000 matches by key (docs/benchmarks.md).
-- Written in the transaction that numbers the notice; state and department follow the
-- notice in the transaction that changes them (notices::apply_acted); the text never
-- changes. The key is named `id`, as the notice's, so a list's conditions read the
-- same over either table.
CREATE TABLE notice_search (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    raised_device_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notice_search_site ON notice_search (site_id, due_ms);
-- Everyone sees the notices they raised (the policy): the scope's other branch.
CREATE INDEX notice_search_issuer ON notice_search (issuer_id);
INSERT INTO notice_search (id, site_id, department_id, issuer_id, state, severity, due_ms, raised_device_ms, body)
SELECT id, site_id, department_id, issuer_id, state, severity, due_ms, raised_device_ms,
       LOWER(COALESCE(number, '') || ' ' || description || ' ' || location)
FROM notices;
