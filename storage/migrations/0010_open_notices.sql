-- Open notices are the few that every desk counts (the inbox's figures, the dashboard's
-- per department, the escalation job): a partial index over them alone, with the state
-- and the due time, lets both databases count and list them without reading the
-- closed ones, which are most of a year's notices (docs/benchmarks.md).
CREATE INDEX notices_open ON notices (site_id, state, due_ms) WHERE state NOT IN ('closed', 'voided');
-- The audit reads a site's waivers for a range of days at once (schedules::Ledger).
CREATE INDEX run_waivers_site_window ON run_waivers (site_id, window_start_ms);
