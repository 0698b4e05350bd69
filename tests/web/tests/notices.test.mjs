// A day at the desks after the patrol synced: the head of engineering signs for a
// notice and reports the fix with a photo from the browser; the head of cleaning
// cannot open engineering's notice; the supervisor reviews the run on the site plan,
// signs the daily log, voids a notice and downloads the Excel summary and the notice
// PDF, and checks what is inside them. The patrol itself is pushed through the JSON
// API by records.mjs, hashed as the protocol hashes them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { launch, signIn, screenshot, demoSiteId } from "./browser.mjs";
import { Phone, noticeRaised, photoTaken, sha256, uuidv7, walkStart } from "./records.mjs";

const ARTIFACTS = process.env.PATROL_WEB_ARTIFACTS ?? "test-artifacts";
let browser, context, page, work, siteId, engNotice, cleanNotice, runId;
const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
const month = today.slice(0, 7);

/** A PNG drawn pixel by pixel: a background with rectangles (buildings, roads). */
function drawPng(width, height, background, rects) {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const hit = rects.find(([rx, ry, rw, rh]) => x >= rx && x < rx + rw && y >= ry && y < ry + rh);
      const [r, g, b] = hit ? hit[4] : background;
      const i = (y * width + x) * 4;
      png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A JPEG "photo" of a finding, taken with the browser (the protocol stores JPEGs). */
async function photo(caption, colour) {
  const p = await context.newPage();
  await p.setContent(`<body style="margin:0"><div style="width:640px;height:480px;background:${colour};
    display:grid;place-items:center;font:bold 56px 'WenQuanYi Micro Hei',sans-serif;color:#fff">${caption}</div></body>`);
  const bytes = await p.screenshot({ type: "jpeg", quality: 80, clip: { x: 0, y: 0, width: 640, height: 480 } });
  await p.close();
  return bytes;
}

/** The officer's patrol and findings, pushed as records, photos uploaded. */
async function patrolAndFindings() {
  const officer = await Phone.signIn("patrol");
  const ref = await officer.reference();
  const site = ref.sites[0].id;
  const dept = (kind) => ref.departments.find((d) => d.kind === kind).id;
  const route = ref.routes[0];
  const cps = route.checkpoint_ids.map((id) => ref.checkpoints.find((c) => c.id === id));
  const labels = await Phone.labels(site);
  const start = walkStart(ref.sites[0], 30 * 60e3);
  runId = uuidv7();
  officer.record({ kind: "run_started", run_id: runId, route_id: route.id, site_id: site }, start);
  const walked = cps.slice(0, -1);
  const points = [];
  walked.forEach((cp, i) => {
    const t = start + (i + 1) * 120e3;
    officer.record({
      kind: "checkpoint_visited", run_id: runId, visit_id: uuidv7(), checkpoint_id: cp.id,
      check_in: { method: "qr", token: labels[cp.id] }, out_of_order: false,
    }, t);
    const next = walked[i + 1] ?? cp;
    for (let k = 0; k < 6; k++) {
      const f = k / 6;
      points.push({
        time_ms: t + k * 20e3,
        latitude: Number((cp.latitude + (next.latitude - cp.latitude) * f + 0.00002 * Math.sin(k)).toFixed(6)),
        longitude: Number((cp.longitude + (next.longitude - cp.longitude) * f).toFixed(6)),
        accuracy_m: 5.5,
      });
    }
  });
  officer.record({ kind: "track_points", run_id: runId, points }, start + 25 * 60e3);
  const before = await photo("3号楼灯具损坏", "#5b6770");
  const bins = await photo("垃圾桶满溢", "#6d7b4f");
  const [s1, s2] = [sha256(before), sha256(bins)];
  officer.record(photoTaken(s1, before, 640, 480));
  officer.record(photoTaken(s2, bins, 640, 480));
  const due = Date.now() + 24 * 3600e3;
  const eng = noticeRaised({ site, department: dept("engineering"), location: "3号楼电梯厅",
    description: "3号楼电梯厅顶灯不亮，影响夜间通行。", photos: [s1], dueMs: due });
  const clean = noticeRaised({ site, department: dept("cleaning"), location: "垃圾站",
    description: "垃圾站垃圾桶满溢，周边有异味。", photos: [s2], dueMs: due });
  officer.record(eng);
  officer.record(clean);
  officer.record({ kind: "run_finished", run_id: runId, missed_reason: "泳池维修，无法进入" }, start + 26 * 60e3);
  const resp = await officer.push();
  await officer.upload(s1, before);
  await officer.upload(s2, bins);
  const numbers = resp.results.filter((r) => r.notice_number).map((r) => r.notice_number);
  return [{ id: eng.notice_id, number: numbers[0] }, { id: clean.notice_id, number: numbers[1] }];
}

before(async () => {
  ({ browser, context, page } = await launch());
  work = mkdtempSync(join(tmpdir(), "patrol-notices-"));
  [engNotice, cleanNotice] = await patrolAndFindings();
  // The administrator puts up a site plan so the run is drawn on it.
  await signIn(page, "admin", "/admin/sites");
  siteId = await demoSiteId(page);
  const plan = drawPng(450, 500, [232, 238, 230], [
    [0, 240, 450, 18, [255, 255, 255]], [215, 0, 18, 500, [255, 255, 255]],
    [60, 60, 110, 120, [200, 204, 210]], [270, 60, 120, 120, [200, 204, 210]],
    [60, 300, 110, 140, [200, 204, 210]], [270, 300, 120, 70, [170, 205, 225]],
  ]);
  await page.goto(`/admin/sites/${siteId}`);
  await page.setInputFiles('input[name="plan"]', { name: "plan.png", mimeType: "image/png", buffer: plan });
  for (const [k, v] of [["north", "31.2324"], ["south", "31.2284"], ["west", "121.4716"], ["east", "121.4758"]]) {
    await page.fill(`input[name="${k}"]`, v);
  }
  await Promise.all([page.waitForURL(/saved=1/), page.click('form[action$="/plan"] button[type="submit"]')]);
  await page.goto("/");
  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
});
after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("a head signs for receipt and reports the fix with a photo uploaded from the browser", async () => {
  await signIn(page, "eng.head", "/notices");
  const row = page.locator(`tr[data-notice="${engNotice.id}"]`);
  assert.match(await row.textContent(), /3号楼电梯厅/);
  await screenshot(page, "inbox");
  await Promise.all([page.waitForURL(/\/notices\/[0-9a-f-]+$/), row.locator("a").first().click()]);
  assert.equal((await page.textContent("#notice-number")).trim(), engNotice.number);
  assert.equal(await page.locator("#before-photos img").count(), 1);
  await screenshot(page, "notice");

  await Promise.all([page.waitForURL(/saved=1/), page.click('[data-action="acknowledge"] button[type="submit"]')]);
  assert.match(await page.textContent(".notice-head"), /已签收/);

  const fix = drawPng(800, 600, [90, 160, 120], [[300, 200, 200, 200, [250, 250, 230]]]);
  const form = page.locator('[data-action="report_fix"] form');
  await form.locator('input[type="file"]').setInputFiles({ name: "fixed.png", mimeType: "image/png", buffer: fix });
  await form.locator('textarea[name="reason"]').fill("已更换灯管并测试正常");
  await Promise.all([page.waitForURL(/saved=1/), form.locator('button[type="submit"]').click()]);
  assert.match(await page.textContent(".notice-head"), /已整改待验证/);
  const after = page.locator("#after-photos img");
  assert.equal(await after.count(), 1);
  await page.waitForFunction(() => document.querySelector("#after-photos img")?.naturalWidth > 0);
  assert.match(await page.textContent("table.timeline"), /已更换灯管并测试正常/);
  await screenshot(page, "notice-fixed");
  await page.goto("/");
  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
});

test("a head of cleaning opening an engineering notice by URL gets the 403 page", async () => {
  await signIn(page, "clean.head", "/notices");
  assert.equal(await page.locator(`tr[data-notice="${engNotice.id}"]`).count(), 0);
  assert.equal(await page.locator(`tr[data-notice="${cleanNotice.id}"]`).count(), 1);
  const response = await page.goto(`/notices/${engNotice.id}`);
  assert.equal(response.status(), 403);
  assert.equal(await page.textContent("h1"), "无权访问");
  const pdf = await context.request.get(`/notices/${engNotice.id}/notice.pdf`);
  assert.equal(pdf.status(), 403);
  await page.goto("/");
  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
});

test("the inbox shows a new notice without a reload", async () => {
  await signIn(page, "eng.head", "/notices");
  const officer = await Phone.signIn("patrol");
  const ref = await officer.reference();
  const n = noticeRaised({ site: ref.sites[0].id, department: ref.departments.find((d) => d.kind === "engineering").id,
    location: "水泵房", description: "水泵房地面积水", photos: [], dueMs: Date.now() + 3600e3 });
  officer.record(n);
  const resp = await officer.push();
  const number = resp.results[0].notice_number;
  await page.locator(`tr[data-notice="${n.notice_id}"]`).waitFor({ timeout: 15000 });
  assert.match(await page.textContent(`tr[data-notice="${n.notice_id}"]`), new RegExp(number));
  await page.goto("/");
  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
});

test("a supervisor reviews the run, signs the log, voids a notice and checks the downloads", async () => {
  await signIn(page, "supervisor", "/dashboard");
  assert.match(await page.textContent("main"), /今日巡检看板/);
  await screenshot(page, "dashboard");

  await page.goto(`/runs/${runId}`);
  assert.equal(await page.locator("svg.run-map polyline.track").count(), 1);
  assert.ok((await page.locator("svg.run-map .cp.visited").count()) >= 3);
  assert.match(await page.textContent("main"), /泳池维修/);
  await screenshot(page, "run");

  await page.goto(`/sites/${siteId}/daily-logs/${today}`);
  assert.match(await page.textContent("main"), new RegExp(cleanNotice.number));
  await page.fill('#signatures textarea[name="comment"]', "已审阅，3号楼灯具跟进整改。");
  await Promise.all([page.waitForURL(/saved=1/), page.click('#signatures button[type="submit"]')]);
  assert.match(await page.textContent("#signatures"), /王敏/);
  assert.match(await page.textContent("#signatures"), /已审阅/);
  await screenshot(page, "daily-log");

  await page.goto(`/notices/${cleanNotice.id}`);
  await page.fill('[data-action="void"] textarea[name="reason"]', "与上午工单重复");
  await Promise.all([page.waitForURL(/saved=1/), page.click('[data-action="void"] button[type="submit"]')]);
  assert.match(await page.textContent(".notice-head"), /已作废/);
  assert.equal((await page.textContent("#notice-number")).trim(), cleanNotice.number);

  // The notice with photos before and after, as the paper form.
  await page.goto(`/notices/${engNotice.id}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('a[href$="/notice.pdf"]')]);
  const pdfPath = join(work, "notice.pdf");
  await download.saveAs(pdfPath);
  const text = execFileSync("pdftotext", ["-layout", pdfPath, "-"]).toString();
  assert.match(text, new RegExp(engNotice.number));
  assert.match(text, /整改通知单/);
  assert.match(text, /3号楼电梯厅顶灯不亮/);
  assert.match(text, /李强/, "the head's receipt and fix are signed with his name");
  const images = execFileSync("pdfimages", ["-list", pdfPath]).toString().trim().split("\n").length - 2;
  assert.equal(images, 2, "the before and after photos are embedded");
  execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", pdfPath, join(work, "notice")]);
  const rendered = readdirSync(work).find((f) => f.startsWith("notice") && f.endsWith(".png"));
  // Look at the rendered page: both photos are drawn (their colours cover part of the
  // page) and the text is drawn with an embedded CJK font, not as empty boxes.
  const page1 = PNG.sync.read(readFileSync(join(work, rendered)));
  let beforePx = 0, afterPx = 0, inkPx = 0;
  for (let i = 0; i < page1.data.length; i += 4) {
    const [r, g, b] = [page1.data[i], page1.data[i + 1], page1.data[i + 2]];
    const near = (c) => Math.abs(r - c[0]) < 14 && Math.abs(g - c[1]) < 14 && Math.abs(b - c[2]) < 14;
    if (near([0x5b, 0x67, 0x70])) beforePx++;
    if (near([90, 160, 120])) afterPx++;
    if (r < 80 && g < 80 && b < 80) inkPx++;
  }
  const pagePx = page1.width * page1.height;
  assert.ok(beforePx > pagePx * 0.005, `the before photo is drawn (${beforePx} of ${pagePx} pixels)`);
  assert.ok(afterPx > pagePx * 0.005, `the after photo is drawn (${afterPx} of ${pagePx} pixels)`);
  assert.ok(inkPx > pagePx * 0.002, `text is drawn (${inkPx} dark pixels)`);
  const fonts = execFileSync("pdffonts", [pdfPath]).toString();
  // A CID font (the server's CJK face, subset as PATROL+CJK), embedded, with a map
  // back to Unicode: the glyphs on paper are the characters pdftotext read above.
  assert.match(fonts, /CJK\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/, `a CJK font is embedded:\n${fonts}`);
  mkdirSync(join(ARTIFACTS, "screenshots"), { recursive: true });
  copyFileSync(join(work, rendered), join(ARTIFACTS, "screenshots", "notice-pdf.png"));

  await page.goto(`/sites/${siteId}/monthly/${month}`);
  assert.equal(await page.locator("figure.chart svg").count() >= 1, true);
  await screenshot(page, "monthly");
  const [xlsx] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
  const xlsxPath = join(work, "summary.xlsx");
  await xlsx.saveAs(xlsxPath);
  const unzip = (part) => execFileSync("unzip", ["-p", xlsxPath, part]).toString();
  const strings = unzip("xl/sharedStrings.xml");
  for (const s of ["月度汇总", "工程部", "保洁部", "张伟", "李强"]) assert.match(strings, new RegExp(s));
  // Departments sheet: cleaning raised 1 and voided 1; people sheet: 张伟 walked 1 run.
  // Read the sheets as rows of values, shared strings resolved.
  const shared = [...strings.matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) =>
    [...m[1].matchAll(/<t[^>]*>([^<]*)<\/t>/g)].map((t) => t[1]).join(""));
  const rowsOf = (xml) => [...xml.matchAll(/<row[^>]*>([\s\S]*?)<\/row>/g)].map((row) =>
    [...row[1].matchAll(/<c r="[A-Z]+\d+"([^>]*?)(?:\/>|>(?:<v>([^<]*)<\/v>)?<\/c>)/g)].map(([, attrs, v]) =>
      / t="s"/.test(attrs) ? shared[Number(v)] : v === undefined ? "" : Number(v)));
  const rowNamed = (rows, name) => rows.find((r) => r[0] === name) ?? assert.fail(`no row ${name}: ${JSON.stringify(rows)}`);
  // Departments: name, raised, closed, closed on time, overdue, voided, median hours.
  const cleaning = rowNamed(rowsOf(unzip("xl/worksheets/sheet2.xml")), "保洁部");
  assert.deepEqual([cleaning[1], cleaning[5]], [1, 1], `cleaning raised one notice and it was voided: ${cleaning}`);
  const engineering = rowNamed(rowsOf(unzip("xl/worksheets/sheet2.xml")), "工程部");
  assert.ok(engineering[1] >= 1, `engineering's notices are counted: ${engineering}`);
  // People: name, runs, checkpoints visited, notices raised, notice actions.
  const zhang = rowNamed(rowsOf(unzip("xl/worksheets/sheet3.xml")), "张伟");
  assert.equal(zhang[3], 3, `张伟 raised three notices this month (two here, one in the live-inbox test): ${zhang}`);
  const li = rowNamed(rowsOf(unzip("xl/worksheets/sheet3.xml")), "李强");
  assert.ok(li[4] >= 2, `李强's receipt and fix are counted as actions: ${li}`);
  const [pdf] = await Promise.all([page.waitForEvent("download"), page.click("#export-pdf")]);
  const summaryPath = join(work, "summary.pdf");
  await pdf.saveAs(summaryPath);
  const summary = execFileSync("pdftotext", ["-layout", summaryPath, "-"]).toString();
  assert.match(summary, /月度汇总/);
  assert.match(summary, /张伟/);
});
