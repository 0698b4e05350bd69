-- The notice register (整改通知台账): its lists follow one order (open first, by due
-- time, then id) within a site, a department or a found-date range, so these keep a
-- busy site's pages from scanning every notice it ever had.
CREATE INDEX notices_site_due ON notices (site_id, due_ms, id);
CREATE INDEX notices_dept_due ON notices (department_id, due_ms, id);
CREATE INDEX notices_site_raised ON notices (site_id, raised_device_ms);
