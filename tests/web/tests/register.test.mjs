// The notice register (整改通知台账) at a supervisor's desk and on a head's phone: notices
// pushed by an officer, then searched by text, by number and by department and
// severity through the filter form; the Excel download holds what the filter shows.
// At 390 px the register's page does not overflow sideways (the table scrolls in its
// own box).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, screenshot } from "./browser.mjs";
import { Phone, noticeRaised } from "./records.mjs";

let browser, context, page, tag, numbers;

before(async () => {
  ({ browser, context, page } = await launch());
  const officer = await Phone.signIn("patrol");
  const ref = await officer.reference();
  const site = ref.sites[0].id;
  const dept = (kind) => ref.departments.find((d) => d.kind === kind).id;
  // A tag no other test writes, so the searches below find only these.
  tag = `R${Date.now().toString(36)}`;
  const due = Date.now() + 48 * 3600e3;
  officer.record(noticeRaised({ site, department: dept("engineering"), location: "5号楼地库",
    description: `${tag} 地库入口漏水`, photos: [], dueMs: due }));
  officer.record(noticeRaised({ site, department: dept("cleaning"), location: "中心花园",
    description: `${tag} 垃圾桶满溢`, photos: [], dueMs: due }));
  officer.record(noticeRaised({ site, department: dept("engineering"), location: "2号楼电梯",
    description: `${tag} 电梯困人报警无响应`, photos: [], dueMs: due, severity: "serious" }));
  const resp = await officer.push();
  numbers = resp.results.map((r) => r.notice_number);
  assert.equal(numbers.filter(Boolean).length, 3, "three notices numbered");
});

after(async () => {
  await browser?.close();
});

/** Opens the filter form (it starts open once a filter is set). */
async function openFilter() {
  await page.evaluate(() => { document.querySelector("details.filter").open = true; });
}

async function listedDescriptions() {
  return page.locator("table.notices tbody tr[data-notice]").allTextContents();
}

test("the supervisor searches, filters and exports the register", async () => {
  await signIn(page, "supervisor", "/notices");
  await openFilter();
  await page.fill('input[name="q"]', tag);
  await Promise.all([page.waitForURL(/q=/), page.click("#apply-filter")]);
  let rows = await listedDescriptions();
  assert.equal(rows.length, 3, rows.join(" | "));
  assert.match(await page.textContent("#list-total"), /3/);

  // Two words: both must appear.
  await page.fill('input[name="q"]', `${tag} 漏水`);
  await Promise.all([page.waitForURL(/%E6%BC%8F/), page.click("#apply-filter")]);
  rows = await listedDescriptions();
  assert.equal(rows.length, 1);
  assert.match(rows[0], /地库入口漏水/);

  // By number alone.
  await page.goto(`/notices?q=${encodeURIComponent(numbers[1])}`);
  rows = await listedDescriptions();
  assert.equal(rows.length, 1);
  assert.match(rows[0], /垃圾桶满溢/);

  // Serious engineering notices carrying the tag.
  await page.goto(`/notices?q=${tag}`);
  await openFilter();
  await page.selectOption('select[name="severity"]', "serious");
  await Promise.all([page.waitForURL(/severity=serious/), page.click("#apply-filter")]);
  rows = await listedDescriptions();
  assert.equal(rows.length, 1);
  assert.match(rows[0], /电梯困人/);
  await screenshot(page, "register-filtered");

  // The export is the filter's: a workbook, downloaded with the session.
  const href = await page.getAttribute("#export-register", "href");
  assert.match(href, /severity=serious/);
  const download = await page.request.get(href);
  assert.equal(download.status(), 200);
  assert.match(download.headers()["content-type"], /spreadsheetml/);
  const bytes = await download.body();
  assert.equal(bytes.subarray(0, 2).toString(), "PK", "an xlsx is a zip");

  // A wrong filter is refused with the field named, in Chinese first.
  const refused = await page.goto("/notices?from=2026-02-30");
  assert.equal(refused.status(), 422);
  assert.match(await page.textContent("body"), /from/);
  assert.match(await page.textContent("body"), /日期/);
});

test("the engineering head's register at phone width shows their notices and no sideways scroll", async () => {
  const phone = await browser.newContext({ baseURL: process.env.PATROL_WEB_URL, viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const p = await phone.newPage();
  await signIn(p, "eng.head", "/notices");
  await p.goto(`/notices?q=${tag}`);
  const rows = await p.locator("table.notices tbody tr[data-notice]").allTextContents();
  assert.equal(rows.length, 2, "engineering's two, not cleaning's");
  assert.ok(rows.every((r) => !r.includes("垃圾桶")));
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width} px wide at a 390 px viewport`);
  await screenshot(p, "register-phone-390");
  await phone.close();
});
