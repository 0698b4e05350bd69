-- The register's text search (整改通知台账 搜索): each notice's number, description and
-- location, lower-cased, in one narrow row beside the notice. A search reads these
-- rows (about a tenth of a notice row's bytes) instead of every notice, then only the
-- notices that match: at a year of 50 sites the organisation-wide search read 100 000
-- wide rows twice (docs/benchmarks.md). Keyed by site first, so a site's search reads
-- only its own rows. Written in the transaction that numbers the notice; the text
-- never changes after (a correction is a new record, the notice keeps its words).
CREATE TABLE notice_search (
    site_id TEXT NOT NULL,
    notice_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    PRIMARY KEY (site_id, notice_id)
);
INSERT INTO notice_search (site_id, notice_id, body)
SELECT site_id, id, LOWER(COALESCE(number, '') || ' ' || description || ' ' || location) FROM notices;
