//! The measuring half: the release server on the loaded database, the console's pages
//! timed over HTTP with cookie sessions as a browser has them, and the two claims
//! checked through the pages against the database.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use patrol_e2e::Server;
use patrol_server::store::Store;

use super::load::{Loaded, OFFSET_MINUTES};

pub struct Options {
    pub warmup: usize,
    pub samples: usize,
    /// Run the server's background jobs (missed patrols, escalation) as in production.
    pub jobs: bool,
    /// What the figures are printed under (sqlite, postgres).
    pub label: String,
    /// Time only the pages whose name contains one of these (comma-separated).
    pub only: Option<String>,
    /// Leave out the pages whose name contains one of these (comma-separated).
    pub skip: Option<String>,
    /// Skip the two correctness checks (every head's inbox, the register's paging).
    pub checks: bool,
}

/// A browser: a signed-in console session.
struct Web {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

impl Web {
    /// Signs in through the login form: its CSRF token comes as a hidden field and a
    /// cookie (double submit); the answer sets the session cookie.
    fn sign_in(base: &str, login: &str, password: &str) -> Result<Web, String> {
        let a = agent();
        let mut form = a.get(format!("{base}/login")).call().map_err(|e| e.to_string())?;
        let page = form.body_mut().read_to_string().map_err(|e| e.to_string())?;
        let at = page.find("name=\"_csrf\" value=\"").ok_or("no login form")? + 20;
        let token = page[at..].split('"').next().unwrap_or_default().to_string();
        let resp = a
            .post(format!("{base}/login"))
            .header("cookie", format!("patrol_login_csrf={token}"))
            .send_form([("_csrf", token.as_str()), ("login", login), ("password", password), ("next", "/")])
            .map_err(|e| e.to_string())?;
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("patrol_session="))
            .ok_or_else(|| format!("{login}: no session ({})", resp.status()))?
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Web { agent: a, base: base.to_string(), cookie })
    }

    /// (status, body, seconds from sending to the last byte).
    fn get(&self, path: &str) -> (u16, Vec<u8>, f64) {
        let t0 = Instant::now();
        match self.agent.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).call() {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let body = r.body_mut().with_config().limit(512 << 20).read_to_vec().unwrap_or_default();
                (status, body, t0.elapsed().as_secs_f64())
            }
            Err(e) => {
                eprintln!("GET {path}: {e}");
                (0, Vec::new(), t0.elapsed().as_secs_f64())
            }
        }
    }

    fn page(&self, path: &str) -> Result<(String, f64), String> {
        let (status, body, secs) = self.get(path);
        if status != 200 {
            return Err(format!("GET {path}: {status} {}", String::from_utf8_lossy(&body[..body.len().min(300)])));
        }
        Ok((String::from_utf8_lossy(&body).into_owned(), secs))
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub struct Stat {
    pub name: String,
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
    pub bytes: usize,
    pub errors: usize,
}

impl Stat {
    fn of(name: &str, mut times: Vec<f64>, bytes: usize, errors: usize) -> Stat {
        times.sort_by(f64::total_cmp);
        Stat {
            name: name.to_string(),
            n: times.len(),
            p50: percentile(&times, 0.5) * 1e3,
            p95: percentile(&times, 0.95) * 1e3,
            max: times.last().copied().unwrap_or(f64::NAN) * 1e3,
            bytes,
            errors,
        }
    }
}

/// `warmup` requests, then `samples` timed ones, one after another.
fn bench(name: &str, web: &Web, path: &str, o: &Options) -> Stat {
    let (mut times, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for i in 0..o.warmup + o.samples {
        let (status, body, secs) = web.get(path);
        if status != 200 {
            errors += 1;
            if errors == 1 {
                eprintln!(
                    "{name}: GET {path} answered {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
            }
            continue;
        }
        bytes = body.len();
        if i >= o.warmup {
            times.push(secs);
        }
    }
    let s = Stat::of(name, times, bytes, errors);
    eprintln!("  {:<58} p50 {:>7.1} ms  p95 {:>7.1} ms  max {:>7.1} ms", s.name, s.p50, s.p95, s.max);
    s
}

fn attr_after<'a>(html: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    tag[v..].split('"').next()
}

/// The register's "next page" link, unescaped.
fn next_link(html: &str) -> Option<String> {
    attr_after(html, "id=\"next-page\"", "href").map(|h| h.replace("&amp;", "&"))
}

/// The ids of the notices listed on a register page.
fn listed(html: &str) -> Vec<String> {
    html.match_indices("data-notice=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap_or("").to_string())
        .collect()
}

/// The first figure of the inbox's live part: open notices.
fn open_figure(html: &str) -> Option<u64> {
    let live = html.find("id=\"live\"")?;
    let v = live + html[live..].find("class=\"value\">")? + "class=\"value\">".len();
    html[v..].split('<').next()?.trim().parse().ok()
}

/// "Matching N" under the list.
fn matching_figure(html: &str) -> Option<u64> {
    let at = html.find("id=\"list-total\"")?;
    let v = at + html[at..].find('>')? + 1;
    html[v..].split('<').next()?.split_whitespace().last()?.parse().ok()
}

/// A query string's value, percent-encoded byte by byte (letters and digits kept).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn last_full_month(now: i64) -> String {
    let today = chrono::DateTime::from_timestamp_millis(now + i64::from(OFFSET_MINUTES) * 60_000).unwrap().date_naive();
    let first = today.with_day0(0).unwrap();
    let prev = first - chrono::Duration::days(1);
    prev.format("%Y-%m").to_string()
}

use chrono::Datelike;

pub fn run(loaded: &Loaded, data_dir: &std::path::Path, o: &Options) -> Result<bool, String> {
    let mut env = vec![("RUST_LOG".to_string(), "warn".to_string())];
    if !o.jobs {
        env.push(("PATROL_JOBS_INTERVAL_SECONDS".into(), "0".into()));
    }
    let t0 = Instant::now();
    let server = Server::start_with(&loaded.url, data_dir, env);
    eprintln!("server ready in {:.1} s ({})", t0.elapsed().as_secs_f64(), patrol_e2e::server_binary().display());
    let base = server.url();
    let store = Store::open(&loaded.url, 2).map_err(|e| e.to_string())?;
    let password = |login: &str| {
        if login.starts_with('s') && login[1..].starts_with(|c: char| c.is_ascii_digit()) || login.contains(".patrol") {
            loaded.password.clone()
        } else {
            server.password(login)
        }
    };
    let e = |e: patrol_server::store::DbError| e.to_string();
    // Every live head with the open notices of their department, most first.
    let heads: Vec<(String, String, String, i64)> = store
        .tx_blocking(false, |c| {
            c.query(
                "SELECT p.login, ra.site_id, ra.department_id,
                        (SELECT COUNT(*) FROM notices n WHERE n.site_id = ra.site_id AND n.department_id = ra.department_id
                           AND n.state NOT IN ('closed', 'voided'))
                 FROM role_assignments ra JOIN people p ON p.id = ra.person_id
                 WHERE ra.role = 'department_head' AND ra.removed_ms IS NULL AND p.active = 1
                 ORDER BY 4 DESC, p.login",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.int(3)?)))
            .collect()
        })
        .map_err(e)?;
    let sites: Vec<(String, String)> = store
        .tx_blocking(false, |c| {
            c.query("SELECT id, code FROM sites ORDER BY code", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect()
        })
        .map_err(e)?;
    let (open_total, overdue_total, all_total) = store
        .tx_blocking(false, |c| {
            let now = chrono::Utc::now().timestamp_millis();
            let r = c.query_one(
                "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN due_ms < $1 THEN 1 ELSE 0 END), 0) AS BIGINT)
                 FROM notices WHERE state NOT IN ('closed', 'voided')",
                &patrol_server::params![now],
            )?;
            let all = c.query_one("SELECT COUNT(*) FROM notices", &[])?.int(0)?;
            Ok((r.int(0)?, r.int(1)?, all))
        })
        .map_err(e)?;
    eprintln!(
        "{} notices, {} open ({:.1} %), {} of them overdue; {} live heads; {} sites",
        all_total,
        open_total,
        open_total as f64 * 100.0 / all_total.max(1) as f64,
        overdue_total,
        heads.len(),
        sites.len()
    );

    let busiest_department = store
        .tx_blocking(false, |c| {
            c.query_one("SELECT COUNT(*) FROM notices GROUP BY site_id, department_id ORDER BY 1 DESC LIMIT 1", &[])?
                .int(0)
        })
        .map_err(e)?;
    eprintln!("busiest department: {busiest_department} notices at one site");

    let manager = Web::sign_in(&base, "manager", &server.password("manager"))?;
    let supervisor = Web::sign_in(&base, &loaded.busy_supervisor, &password(&loaded.busy_supervisor))?;
    let (busiest, _, _, busiest_open) = heads.first().cloned().ok_or("no heads")?;
    let head = Web::sign_in(&base, &busiest, &password(&busiest))?;
    let month = last_full_month(chrono::Utc::now().timestamp_millis());
    let yesterday = (chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() + i64::from(OFFSET_MINUTES) * 60_000,
    )
    .unwrap()
    .date_naive()
        - chrono::Duration::days(1))
    .to_string();
    let site = loaded.busy_site;
    eprintln!(
        "timing {} requests per page after {} warm-up ({}; site supervisor {}, head {} with {} open, month {month})",
        o.samples, o.warmup, o.label, loaded.busy_supervisor, busiest, busiest_open
    );
    let search = "%E6%B8%97%E6%BC%8F"; // 渗漏 (leaks): a word in about one notice in fifty
    let pages: Vec<(String, &Web, String)> = vec![
        ("dashboard: site supervisor (1 site)".into(), &supervisor, "/dashboard".into()),
        (format!("dashboard: manager ({} sites)", sites.len()), &manager, "/dashboard".into()),
        (format!("inbox: busiest head ({busiest_open} open)"), &head, "/notices".into()),
        ("register search q=渗漏, all states: manager".into(), &manager, format!("/notices?q={search}&state=all")),
        (
            "register search q=渗漏, all states: site supervisor".into(),
            &supervisor,
            format!("/notices?q={search}&state=all"),
        ),
        (
            format!("daily log {yesterday} (a whole day's runs)"),
            &supervisor,
            format!("/sites/{site}/daily-logs/{yesterday}"),
        ),
        (format!("monthly summary {month}"), &supervisor, format!("/sites/{site}/monthly/{month}")),
        (format!("monthly summary {month} .xlsx"), &supervisor, format!("/sites/{site}/monthly/{month}/summary.xlsx")),
        (
            "register export .xlsx: site, all states (all days loaded)".into(),
            &supervisor,
            format!("/notices/export.xlsx?site={site}&state=all"),
        ),
    ];
    let mut stats = Vec::new();
    for (name, web, path) in &pages {
        let any = |list: &Option<String>| list.as_ref().map(|l| l.split(',').any(|w| name.contains(w)));
        if any(&o.only) != Some(false) && any(&o.skip) != Some(true) {
            stats.push(bench(name, web, path, o));
        }
    }
    if !o.checks {
        print_table(o, loaded, &stats, (all_total, open_total, overdue_total), sites.len());
        println!("checks: skipped");
        return Ok(stats.iter().all(|s| s.errors == 0));
    }

    // Claim 1: every head's inbox shows the database's count of their open notices.
    let mut inbox_times = Vec::new();
    let mut mismatches = Vec::new();
    for (login, _, _, open) in &heads {
        let web = Web::sign_in(&base, login, &password(login))?;
        let (html, secs) = web.page("/notices")?;
        inbox_times.push(secs);
        let (shown, matching) = (open_figure(&html), matching_figure(&html));
        if shown != Some(*open as u64) || matching != Some(*open as u64) {
            mismatches.push(format!("{login}: page {shown:?} / matching {matching:?}, database {open}"));
        }
    }
    stats.push(Stat::of(&format!("inbox: every live head once ({})", heads.len()), inbox_times, 0, 0));
    eprintln!("  inboxes: {} heads, {} mismatches", heads.len(), mismatches.len());
    for m in mismatches.iter().take(10) {
        eprintln!("    {m}");
    }

    // Claim 2: paging the register through every notice of each site (the manager,
    // filtered by site, every state) lists each exactly once.
    let mut page_times = Vec::new();
    let (mut pages_seen, mut listed_total, mut bad_sites) = (0usize, 0usize, Vec::new());
    for (id, code) in &sites {
        let expected: BTreeSet<String> = store
            .tx_blocking(false, |c| {
                c.query("SELECT id FROM notices WHERE site_id = $1", &patrol_server::params![id.clone()])?
                    .iter()
                    .map(|r| r.text(0))
                    .collect()
            })
            .map_err(e)?;
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut path = Some(format!("/notices?site={id}&state=all"));
        while let Some(p) = path {
            let (html, secs) = manager.page(&p)?;
            page_times.push(secs);
            pages_seen += 1;
            for n in listed(&html) {
                *seen.entry(n).or_default() += 1;
            }
            path = next_link(&html);
        }
        listed_total += seen.values().sum::<usize>();
        let doubled = seen.values().filter(|v| **v > 1).count();
        let got: BTreeSet<String> = seen.into_keys().collect();
        let missing = expected.difference(&got).count();
        let extra = got.difference(&expected).count();
        if doubled + missing + extra > 0 {
            bad_sites.push(format!("{code}: {doubled} listed twice, {missing} missing, {extra} not of the site"));
        }
    }
    stats.push(Stat::of(
        &format!("register page, site filter, all states (every page: {pages_seen})"),
        page_times,
        0,
        0,
    ));
    eprintln!(
        "  register paging: {} sites, {pages_seen} pages, {listed_total} notices listed of {all_total}, {} sites wrong",
        sites.len(),
        bad_sites.len()
    );
    for b in bad_sites.iter().take(10) {
        eprintln!("    {b}");
    }

    // Claim 3: the register's search finds what a reading of every notice finds. Each
    // query's "matching" figure, organisation-wide and within one site, equals the
    // count of notices whose number, description and location (lower-cased) hold
    // every word, counted here in Rust over all of them.
    let all: Vec<(String, String, String)> = store
        .tx_blocking(false, |c| {
            c.query(
                "SELECT site_id, COALESCE(number, '') || ' ' || description || ' ' || location, id FROM notices",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?.to_lowercase(), r.text(2)?)))
            .collect()
        })
        .map_err(e)?;
    let code = sites.iter().find(|(id, _)| id == &site.to_string()).map(|(_, c)| c.clone()).unwrap_or_default();
    let queries = [
        "渗漏".to_string(),
        "楼道".into(),
        "灯".into(),
        "渗漏 地下室".into(),
        "大堂 业主投诉".into(),
        code.to_lowercase(),
        code.clone(),
        format!("{code}-20"),
        "不存在的词".into(),
        "100%".into(),
    ];
    let mut search_bad = Vec::new();
    for q in &queries {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        let matches = |only: Option<&str>| -> BTreeSet<String> {
            all.iter()
                .filter(|(s, body, _)| only.is_none_or(|o| o == s) && words.iter().all(|w| body.contains(w.as_str())))
                .map(|(_, _, id)| id.clone())
                .collect()
        };
        let hits = |only: Option<&str>| matches(only).len() as u64;
        let encoded: String = url_encode(q);
        for (scope, only) in [("organisation", None), ("site", Some(site.to_string()))] {
            let path = match &only {
                None => format!("/notices?q={encoded}&state=all"),
                Some(s) => format!("/notices?q={encoded}&state=all&site={s}"),
            };
            let (html, _) = manager.page(&path)?;
            let (shown, expected) = (matching_figure(&html), hits(only.as_deref()));
            if shown != Some(expected) {
                search_bad.push(format!("{q:?} ({scope}): page {shown:?}, notices {expected}"));
            }
            // Paged to the end (up to 2 000 matches), the search lists exactly them, once each.
            if expected <= 2_000 {
                let (mut seen, mut twice, mut next) = (BTreeSet::new(), 0, Some(path.clone()));
                while let Some(p) = next {
                    let (html, _) = manager.page(&p)?;
                    for id in listed(&html) {
                        if !seen.insert(id) {
                            twice += 1;
                        }
                    }
                    next = next_link(&html);
                }
                if seen != matches(only.as_deref()) || twice > 0 {
                    search_bad.push(format!(
                        "{q:?} ({scope}): paging listed {} ({twice} twice), {expected} match",
                        seen.len()
                    ));
                }
            }
        }
    }
    // And the search rows agree with their notices on everything a list filters by
    // (state and department move with every action).
    let drifted = store.tx_blocking(false, patrol_server::notices::search_rows_out_of_step).map_err(e)?;
    if drifted != 0 {
        search_bad.push(format!("{drifted} notices whose search row differs or is missing"));
    }
    eprintln!("  register search: {} queries, {} wrong", queries.len(), search_bad.len());
    for b in &search_bad {
        eprintln!("    {b}");
    }

    print_table(o, loaded, &stats, (all_total, open_total, overdue_total), sites.len());
    let ok =
        mismatches.is_empty() && bad_sites.is_empty() && listed_total == all_total as usize && search_bad.is_empty();
    println!(
        "checks: inbox counts {} ({} heads); register paging {} ({} notices in {pages_seen} pages); register search {} ({} queries)",
        if mismatches.is_empty() { "ok" } else { "FAILED" },
        heads.len(),
        if bad_sites.is_empty() && listed_total == all_total as usize { "ok" } else { "FAILED" },
        listed_total,
        if search_bad.is_empty() { "ok" } else { "FAILED" },
        queries.len()
    );
    drop(server);
    Ok(ok && stats.iter().all(|s| s.errors == 0))
}

fn print_table(o: &Options, loaded: &Loaded, stats: &[Stat], (all, open, overdue): (i64, i64, i64), sites: usize) {
    println!();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let local = chrono::Utc::now() + chrono::Duration::minutes(i64::from(OFFSET_MINUTES));
    println!(
        "{} — {all} notices ({open} open, {overdue} overdue), {sites} sites, {} days; server {}; sites' local time {}; load average {}",
        o.label,
        loaded.days,
        patrol_e2e::server_binary().display(),
        local.format("%H:%M"),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| page | n | p50 ms | p95 ms | max ms | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    for s in stats {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            s.name,
            s.n,
            s.p50,
            s.p95,
            s.max,
            if s.bytes > 0 { s.bytes.to_string() } else { "".into() }
        );
        if s.errors > 0 {
            println!("|   errors | {} | | | | |", s.errors);
        }
    }
}
