// The demo as `patrol-server demo` serves it, with its month of history: every console
// page each role has opens without a server error and shows work, not empty pages —
// the administrator's set-up, the supervisor's and the manager's dashboard, register,
// notices, runs on the plan, daily logs and monthly summaries, each head's inbox and
// notices, the patrol officer's notices and runs. tests/web/run.sh starts this demo
// beside the empty one the other files use (PATROL_WEB_DEMO_URL, PATROL_WEB_DEMO_LOGINS).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launch, screenshot } from "./browser.mjs";

const BASE = process.env.PATROL_WEB_DEMO_URL;
const LOGINS = BASE ? JSON.parse(readFileSync(process.env.PATROL_WEB_DEMO_LOGINS, "utf8")) : {};
const skip = BASE ? false : "PATROL_WEB_DEMO_URL is not set: tests/web/run.sh starts the month-long demo for this file";

const browsers = [];
after(async () => Promise.all(browsers.map((b) => b.close())));

/** A fresh browser signed in as `login`; every answer of 500 or more is kept in `errors`. */
async function as(login) {
  const { browser, page } = await launch(BASE);
  browsers.push(browser);
  const errors = [];
  page.on("response", (r) => {
    if (r.status() >= 500) errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto("/login?next=/");
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', LOGINS[login]);
  await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.click('button[type="submit"]')]);
  return { page, errors };
}

/** Opens a console page: 200, and every image on it (photos, plans) loaded whole. */
async function open(page, path) {
  const r = await page.goto(path);
  assert.equal(r.status(), 200, path);
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 15000 });
  const broken = await page.$$eval("img", (imgs) => imgs.filter((i) => i.naturalWidth === 0).map((i) => i.src));
  assert.deepEqual(broken, [], `${path}: images that did not load`);
}

const count = (page, selector) => page.locator(selector).count();

async function atLeast(page, selector, n, what) {
  const found = await count(page, selector);
  assert.ok(found >= n, `${what}: ${found} (${selector}), expected at least ${n}`);
  return found;
}

/** The figures of a page's `div.stat` boxes, by label. */
async function figures(page) {
  return page.$$eval(".stat", (boxes) =>
    Object.fromEntries(
      boxes.map((b) => [b.querySelector(".label")?.textContent.trim(), b.querySelector(".value")?.textContent.trim()]),
    ),
  );
}

const NOTICE_ROWS = "table.notices tbody tr[data-notice]";

function shiftDay(day, by) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + by);
  return d.toISOString().slice(0, 10);
}

// Found by the supervisor, opened by the officer who walked it.
let runPath;

test("the administrator's pages show the compound as it was set up", { skip }, async () => {
  const { page, errors } = await as("admin");
  await atLeast(page, ".site-list li", 1, "sites on the home page");
  await open(page, "/admin/sites");
  await atLeast(page, "tbody tr", 1, "sites");
  const site = (await page.locator('td a[href^="/admin/sites/"]').first().getAttribute("href")).split("/").pop();
  await open(page, `/admin/sites/${site}`);
  await atLeast(page, `img[src^="/sites/${site}/plan"]`, 1, "the site plan");
  await screenshot(page, "demo-admin-site");
  for (const [path, rows] of [
    ["departments", 6],
    ["checkpoints", 14],
    ["routes", 2],
    ["schedules", 2],
  ]) {
    await open(page, `/admin/sites/${site}/${path}`);
    await atLeast(page, "tbody tr", rows, path);
  }
  await open(page, "/admin/people");
  await atLeast(page, "tbody tr", 8, "people");
  // The register opens; an administrator sees only notices they raised (none), by the policy.
  await open(page, "/notices");
  await open(page, "/account/password");
  assert.deepEqual(errors, []);
});

test("the supervisor sees the month: dashboard, register, notices, runs, daily logs, summaries", { skip }, async () => {
  const { page, errors } = await as("supervisor");
  await open(page, "/dashboard");
  const stats = await figures(page);
  assert.equal(stats["应巡次数"], "4", JSON.stringify(stats));
  await atLeast(page, ".site-today table >> nth=0 >> tbody tr", 4, "today's windows");
  const departments = page.locator(".site-today .stack table").first();
  assert.equal(await departments.locator("tbody tr").count(), 6, "open notices per department");
  const open_ = await departments.locator("tbody tr td:nth-child(2)").allTextContents();
  assert.ok(open_.map(Number).reduce((a, b) => a + b, 0) >= 8, `open notices per department: ${open_}`);
  await atLeast(page, "ul.days li", 4, "unsigned daily logs");
  await screenshot(page, "demo-dashboard");
  const logHref = await page.locator('a[href*="/daily-logs/"]').first().getAttribute("href");
  const [, , site, , today] = logHref.split("/");

  await open(page, "/notices");
  const openCount = await atLeast(page, NOTICE_ROWS, 8, "open notices in the inbox");
  assert.equal(Number((await figures(page))["未关闭"]), openCount, "the inbox figure counts its rows");
  await atLeast(page, "tr.overdue", 1, "overdue notices");
  await screenshot(page, "demo-inbox");
  await open(page, "/notices?state=all");
  await atLeast(page, NOTICE_ROWS, 25, "all notices of the month");
  for (const state of ["issued", "acknowledged", "disputed", "rectified", "closed", "voided"]) {
    await open(page, `/notices?state=${state}`);
    await atLeast(page, NOTICE_ROWS, 1, `${state} notices`);
    const href = await page.locator(`${NOTICE_ROWS} a`).first().getAttribute("href");
    await open(page, href);
    await atLeast(page, "table.timeline tbody tr", 1, `the timeline of a ${state} notice`);
    await atLeast(page, ".photos img", state === "closed" || state === "rectified" ? 2 : 1, `photos of a ${state} notice`);
    if (state === "closed") await screenshot(page, "demo-notice-closed");
  }
  await open(page, "/notices?severity=serious&state=all");
  await atLeast(page, NOTICE_ROWS, 2, "serious notices");

  const yesterday = shiftDay(today, -1);
  await open(page, `/sites/${site}/daily-logs/${yesterday}`);
  await atLeast(page, 'a[href^="/runs/"]', 4, "yesterday's runs");
  await atLeast(page, "#signatures .bad", 1, "yesterday's log waiting for its signature");
  runPath = await page.locator('a[href^="/runs/"]').first().getAttribute("href");
  await open(page, `/sites/${site}/daily-logs/${shiftDay(today, -10)}`);
  await atLeast(page, 'a[href^="/runs/"]', 4, "runs ten days ago");
  await atLeast(page, "#signatures .signature", 1, "the log signed ten days ago");
  await screenshot(page, "demo-daily-log");

  await open(page, runPath);
  await atLeast(page, "table.visits tbody tr", 6, "visits of a run");
  await atLeast(page, "svg image", 1, "the plan under the run");
  await atLeast(page, "svg polyline.track", 1, "the GPS track");
  await screenshot(page, "demo-run");

  // The month holding the middle of the history has its figures whatever today is.
  const middle = shiftDay(today, -15).slice(0, 7);
  for (const month of new Set([today.slice(0, 7), middle])) {
    await open(page, `/sites/${site}/monthly/${month}`);
    await atLeast(page, ".stat", 5, `figures of ${month}`);
    if (month === middle) {
      await atLeast(page, "#departments tbody tr td.num", 6, `notices by department in ${month}`);
      await atLeast(page, "#people tbody tr td.num", 4, `people in ${month}`);
      await atLeast(page, "svg", 1, `charts of ${month}`);
      await screenshot(page, "demo-monthly");
    }
  }
  assert.deepEqual(errors, []);
});

test("the manager sees the organisation's site: dashboard and register", { skip }, async () => {
  const { page, errors } = await as("manager");
  await open(page, "/dashboard");
  assert.equal((await figures(page))["应巡次数"], "4");
  await open(page, "/notices");
  await atLeast(page, NOTICE_ROWS, 8, "the manager's open notices");
  await open(page, await page.locator(`${NOTICE_ROWS} a`).first().getAttribute("href"));
  await atLeast(page, "table.timeline tbody tr", 1, "a notice's timeline");
  assert.deepEqual(errors, []);
});

for (const [login, department] of [
  ["eng.head", "工程部"],
  ["clean.head", "保洁部"],
  ["security.head", "秩序维护部"],
  ["garden.head", "绿化部"],
]) {
  test(`${login} finds the department's inbox and its notices`, { skip }, async () => {
    const { page, errors } = await as(login);
    await open(page, "/notices");
    const rows = await atLeast(page, NOTICE_ROWS, 2, `${login}'s open notices`);
    assert.equal(Number((await figures(page))["未关闭"]), rows, "the inbox figure counts its rows");
    const departments = await page.locator(`${NOTICE_ROWS} td:nth-child(2)`).allTextContents();
    assert.deepEqual([...new Set(departments.map((d) => d.trim()))], [department]);
    if (login === "eng.head") await screenshot(page, "demo-head-inbox");
    for (const href of await page.locator(`${NOTICE_ROWS} a`).evaluateAll((as) => as.map((a) => a.getAttribute("href")))) {
      await open(page, href);
      await atLeast(page, "table.timeline tbody tr", 1, `the timeline of ${href}`);
      await atLeast(page, ".photos img", 1, `photos of ${href}`);
    }
    await open(page, "/notices?state=all");
    await atLeast(page, NOTICE_ROWS, rows + 1, `${login}'s notices of the month`);
    assert.deepEqual(errors, []);
  });
}

test("the patrol officer finds the notices they raised and the runs they walked", { skip }, async () => {
  const { page, errors } = await as("patrol");
  await open(page, "/notices");
  await atLeast(page, NOTICE_ROWS, 8, "open notices the officer raised");
  await open(page, "/notices?state=all");
  await atLeast(page, NOTICE_ROWS, 25, "notices the officer raised this month");
  await open(page, await page.locator(`${NOTICE_ROWS} a`).first().getAttribute("href"));
  await atLeast(page, "table.timeline tbody tr", 1, "a notice's timeline");
  assert.ok(runPath, "the supervisor's test found a run");
  await open(page, runPath);
  await atLeast(page, "table.visits tbody tr", 6, "visits of the officer's run");
  await atLeast(page, "svg polyline.track", 1, "the GPS track");
  assert.deepEqual(errors, []);
});
