// Service-quality assessment in the console: fault notices issued offline on a patrol
// (pushed as records) and at the desk; the person signs and appeals in the browser;
// the manager, one level above the issuer, reduces the points; the month-end summary
// totals each person's points with the head's joint liability, takes a root-cause
// note, and is downloaded as Excel and PDF for finance; the administrator edits a
// rule (a new version). Screenshots of the fault notice's PDF and the month summary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, signIn, screenshot } from "./browser.mjs";
import { Phone, api, uuidv7, walkStart } from "./records.mjs";

const ARTIFACTS = process.env.PATROL_WEB_ARTIFACTS ?? "test-artifacts";
let browser, context, page, work, site, month, people, appealed, ruleIds;

/** A PDF's first page as a PNG under the screenshots. */
function pdfShot(pdfPath, name) {
  execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", pdfPath, join(work, name)]);
  const rendered = readdirSync(work).find((f) => f.startsWith(name) && f.endsWith(".png"));
  mkdirSync(join(ARTIFACTS, "screenshots"), { recursive: true });
  copyFileSync(join(work, rendered), join(ARTIFACTS, "screenshots", `${name}.png`));
}

async function signInAs(login, next) {
  await context.clearCookies();
  await signIn(page, login, next);
}

before(async () => {
  ({ browser, context, page } = await launch());
  work = mkdtempSync(join(tmpdir(), "patrol-faults-"));
  // The supervisor's phone, offline on the morning patrol: two findings about the
  // officer, three about the cleaner's lobby, pushed when it finds a signal.
  const sup = await Phone.signIn("supervisor");
  const ref = await sup.reference();
  site = ref.sites[0].id;
  const rules = await api("GET", "/api/v1/fault-rules", sup.token);
  const list = await api("GET", "/api/v1/people", sup.token);
  people = Object.fromEntries(list.map((p) => [p.login, p.id]));
  ruleIds = Object.fromEntries(rules.map((r) => [r.code, r.id]));
  const rule = (code) => ruleIds[code];
  const start = walkStart(ref.sites[0], 20 * 60e3);
  month = new Date(start + 8 * 3600e3).toISOString().slice(0, 7);
  const issue = (login, code, points, seen, at) => {
    const fault_id = uuidv7();
    sup.record({
      kind: "fault_issued", fault_id, site_id: site, person_id: people[login], rule_id: rule(code), points, seen,
      location: "1号楼大堂", run_id: null, notice_id: null, photos: [],
    }, at);
    return fault_id;
  };
  appealed = issue("patrol", "MN-01", 3, "对业主态度生硬", start);
  issue("patrol", "SE-01", 3, "岗亭无人", start + 60e3);
  for (let i = 0; i < 3; i++) issue("cleaner", "CL-01", 1, "大堂地面有污渍", start + (2 + i) * 60e3);
  const resp = await sup.push();
  assert.deepEqual(resp.results.map((r) => r.notice_number.replace(/^.*-F-\d{4}-/, "")), ["000001", "000002", "000003", "000004", "000005"]);
});

after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the supervisor issues a fault notice at the desk and prints its paper form", async () => {
  await signInAs("supervisor", "/faults");
  assert.equal(await page.locator("tr[data-fault]").count(), 5, "the five synced from the patrol");
  await page.selectOption('select[name="person_id"]', people.patrol);
  await page.selectOption('select[name="rule_id"]', ruleIds["SE-01"]);
  await page.fill('input[name="seen"]', "夜班睡岗，呼叫无应答");
  await page.fill('input[name="location"]', "北门岗亭");
  await Promise.all([page.waitForURL(/\/faults\/[0-9a-f-]+\?saved=1/), page.click("#issue")]);
  assert.match((await page.textContent("#fault-number")).trim(), /-F-\d{4}-000006$/);
  assert.equal((await page.textContent("#fault-person")).trim(), "张伟");
  await screenshot(page, "fault-notice");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#fault-pdf")]);
  const pdfPath = join(work, "fault.pdf");
  await download.saveAs(pdfPath);
  const text = execFileSync("pdftotext", ["-layout", pdfPath, "-"]).toString();
  assert.match(text, /员工过失通知单/);
  assert.match(text, /-F-\d{4}-000006/);
  assert.match(text, /夜班睡岗/);
  assert.match(text, /被通知人签字/);
  pdfShot(pdfPath, "fault-notice-pdf");
});

test("the person signs and appeals; the issuer may not decide; the manager reduces the points", async () => {
  await signInAs("patrol", "/faults");
  assert.equal(await page.locator("tr[data-fault]").count(), 3, "a person reads their own fault notices only");
  await page.goto(`/faults/${appealed}`);
  await Promise.all([page.waitForURL(/saved=1/), page.click("#sign")]);
  assert.equal((await page.textContent("#fault-receipt")).trim(), "已签收");
  await page.fill('#appeal input[name="reason"]', "业主先辱骂，我已克制");
  await Promise.all([page.waitForURL(/saved=1/), page.click("#submit-appeal")]);
  assert.equal((await page.textContent("#fault-appeal")).trim(), "申诉待处理");
  assert.equal(await page.locator("#decide").count(), 0, "nobody decides their own appeal");

  await signInAs("supervisor", "/faults");
  await page.goto(`/faults/${appealed}`);
  assert.equal(await page.locator("#decide").count(), 0, "the issuer does not decide the appeal against them");

  await signInAs("manager", "/faults");
  await page.goto(`/faults/${appealed}`);
  await page.selectOption('#decide select[name="decision"]', "reduced");
  await page.fill('#decide input[name="points"]', "1");
  await page.fill('#decide input[name="reason"]', "情有可原，减为 1 分");
  await Promise.all([page.waitForURL(/saved=1/), page.click("#submit-decision")]);
  assert.equal((await page.textContent("#fault-points")).trim(), "3 → 1");
  assert.equal((await page.textContent("#fault-appeal")).trim(), "减轻");
});

test("the month-end summary totals points with joint liability and goes to finance as Excel and PDF", async () => {
  await signInAs("supervisor", "/faults");
  await page.goto(`/sites/${site}/faults/${month}`);
  const total = async (name) => (await page.textContent(`tr[data-person="${name}"] td.total`)).trim();
  // 张伟: 3 + 3 + 3, one reduced to 1: 7 points, the first band. 周洁: CL-01 three
  // times, 3 points of which 30 % go to her head, 陈芳.
  assert.equal(await total("张伟"), "7");
  assert.equal((await page.textContent('tr[data-person="张伟"] td.band')).trim(), "加罚");
  assert.equal(await total("周洁"), "2.1");
  assert.equal(await total("陈芳"), "0.9");
  assert.match(await page.textContent("#charges"), /陈芳[\s\S]*周洁[\s\S]*CL-01/);
  await page.fill('#repeats input[name="note"]', "保洁排班与大堂高峰错开，增加午间巡查");
  await Promise.all([page.waitForURL(/saved=1/), page.click('#repeats button[type="submit"]')]);
  assert.match(await page.textContent("#repeats"), /增加午间巡查/);
  await screenshot(page, "fault-month");

  const [xlsx] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
  const xlsxPath = join(work, "faults.xlsx");
  await xlsx.saveAs(xlsxPath);
  const unzip = (part) => execFileSync("unzip", ["-p", xlsxPath, part]).toString();
  const strings = [...unzip("xl/sharedStrings.xml").matchAll(/<t[^>]*>([^<]*)<\/t>/g)].map((m) => m[1]);
  const sheet = unzip("xl/worksheets/sheet1.xml");
  const row = [...sheet.matchAll(/<row [^>]*>([\s\S]*?)<\/row>/g)]
    .map((m) => [...m[1].matchAll(/<c r="([A-Z]+)\d+"([^>]*)>(?:<f>[^<]*<\/f>)?<v>([^<]*)<\/v>/g)]
      .map((c) => [c[1], c[2].includes('t="s"') ? strings[Number(c[3])] : c[3]]))
    .map((cells) => Object.fromEntries(cells))
    .find((r) => r.B === "张伟");
  assert.ok(row, "张伟 has a line in the workbook");
  assert.equal(Number(row.F), 7, "total points");
  assert.equal(Number(row.H), 7 * 10 + 100, "fine in yuan: 10 a point and the first band's 100");
  assert.match(unzip("xl/sharedStrings.xml"), /保洁排班与大堂高峰错开/, "the root-cause note goes to finance too");

  const [pdf] = await Promise.all([page.waitForEvent("download"), page.click("#export-pdf")]);
  const pdfPath = join(work, "faults.pdf");
  await pdf.saveAs(pdfPath);
  const text = execFileSync("pdftotext", ["-layout", pdfPath, "-"]).toString();
  assert.match(text, /违规处理情况汇总/);
  assert.match(text, /张伟/);
  assert.match(text, /连带责任/);
  assert.match(text, /通报名单/);
  pdfShot(pdfPath, "fault-month-pdf");
});

test("the administrator edits a rule: a new version, the old one kept", async () => {
  await signInAs("admin", "/admin/fault-rules");
  const row = page.locator('tr[data-rule="FD-01"]');
  await row.locator('input[name="points"]').fill("3");
  await Promise.all([page.waitForURL(/saved=1/), row.locator('button[type="submit"]').click()]);
  const edited = page.locator('tr[data-rule="FD-01"]');
  assert.equal(await edited.locator('input[name="points"]').inputValue(), "3");
  assert.equal((await edited.locator("td.num").last().textContent()).trim(), "2");
});
