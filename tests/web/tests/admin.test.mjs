// An administrator's day of setting up: a new checkpoint with its printed QR label
// (the QR must scan back to the checkpoint's token), a CSV import that is refused
// whole when one row is wrong, and the main pages, photographed in Chinese.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { launch, signIn, screenshot, demoSiteId } from "./browser.mjs";

let browser, context, page, siteId, work;
before(async () => {
  ({ browser, context, page } = await launch());
  work = mkdtempSync(join(tmpdir(), "patrol-web-"));
  await signIn(page, "admin", "/admin/sites");
  siteId = await demoSiteId(page);
});
after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Renders the first page of a PDF and reads the QR code on it. */
function decodeQr(pdfPath) {
  const prefix = join(work, "page");
  execFileSync("pdftoppm", ["-png", "-r", "150", "-f", "1", "-l", "1", pdfPath, prefix]);
  const png = readdirSync(work).find((f) => f.startsWith("page") && f.endsWith(".png"));
  const image = PNG.sync.read(readFileSync(join(work, png)));
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  return code?.data;
}

test("an administrator creates a checkpoint and its QR label scans back to its token", async () => {
  await page.goto(`/admin/sites/${siteId}/checkpoints`);
  const form = page.locator("form:has(textarea[name=\"checklist\"])");
  await form.locator('input[name="code"]').fill("BIKE-1");
  await form.locator('input[name="name_zh"]').fill("非机动车棚");
  await form.locator('input[name="name_en"]').fill("Bicycle shed");
  await form.locator('input[name="latitude"]').fill("31.2311");
  await form.locator('input[name="longitude"]').fill("121.4741");
  await form.locator('textarea[name="checklist"]').fill("车辆停放整齐 / Bikes parked in order\n照明正常");
  await Promise.all([page.waitForURL(/saved=1/), form.locator('button[type="submit"]').click()]);
  assert.match(await page.textContent(".flash"), /已保存/);

  const row = page.locator('tr[data-code="BIKE-1"]');
  assert.match(await row.textContent(), /非机动车棚/);
  const token = (await row.locator("code.token").textContent()).trim();
  assert.ok(token.length >= 20, `a generated token, got ${token}`);

  const [download] = await Promise.all([page.waitForEvent("download"), row.locator("a.label-link").click()]);
  const pdfPath = join(work, "label.pdf");
  await download.saveAs(pdfPath);
  assert.equal(readFileSync(pdfPath).subarray(0, 5).toString(), "%PDF-");
  assert.equal(decodeQr(pdfPath), token);
  // The label shows the Chinese name: the PDF's text layer maps back to it.
  const text = execFileSync("pdftotext", [pdfPath, "-"]).toString();
  assert.match(text, /非机动车棚/);
  assert.match(text, /BIKE-1/);
});

test("the sheet of all labels is a PDF with every checkpoint", async () => {
  const response = await context.request.get(`/admin/sites/${siteId}/checkpoints/labels.pdf`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()["content-type"], "application/pdf");
  const pdfPath = join(work, "labels.pdf");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(pdfPath, await response.body());
  const text = execFileSync("pdftotext", [pdfPath, "-"]).toString();
  for (const name of ["北门岗亭", "水泵房", "非机动车棚"]) assert.match(text, new RegExp(name));
});

test("a refused checkpoint comes back as typed, the reason in Chinese beside the latitude", async () => {
  await page.goto(`/admin/sites/${siteId}/checkpoints`);
  const before = await page.locator("tbody tr").count();
  const form = page.locator("form:has(textarea[name=\"checklist\"])");
  await form.locator('input[name="code"]').fill("RAMP-9");
  await form.locator('input[name="name_zh"]').fill("地库坡道");
  await form.locator('input[name="latitude"]').fill("north");
  await form.locator('input[name="longitude"]').fill("121.4731");
  await form.locator("textarea[name=\"checklist\"]").fill("坡道防滑\n照明正常");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    form.locator('button[type="submit"]').click(),
  ]);
  assert.equal(response.status(), 422);
  const again = page.locator("form:has(textarea[name=\"checklist\"])");
  assert.equal(await again.locator('input[name="code"]').inputValue(), "RAMP-9");
  assert.equal(await again.locator('input[name="name_zh"]').inputValue(), "地库坡道");
  assert.equal(await again.locator("textarea[name=\"checklist\"]").inputValue(), "坡道防滑\n照明正常");
  assert.equal(await again.locator('input[name="latitude"]').getAttribute("aria-invalid"), "true");
  assert.match(await again.locator(".field-error").textContent(), /须为数字/);
  await screenshot(page, "checkpoint-refused");
  // Corrected, it is stored.
  await again.locator('input[name="latitude"]').fill("31.2302");
  await Promise.all([page.waitForURL(/saved=1/), again.locator('button[type="submit"]').click()]);
  assert.equal(await page.locator("tbody tr").count(), before + 1);
});

test("a checkpoint CSV with one bad row imports nothing and says which row", async () => {
  await page.goto(`/admin/sites/${siteId}/checkpoints`);
  const before = await page.locator("tbody tr").count();
  const bad = "code,name_zh,name_en,latitude,longitude,checklist\n" +
    "B2-EXIT,地下车库出口,Car park exit,31.2301,121.4731,道闸正常|照明正常\n" +
    "B2-RAMP,坡道,,north,121.4731,\n";
  const importForm = page.locator('form[action$="/checkpoints/import"]');
  await importForm.locator('input[type="file"]').setInputFiles({ name: "cp.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/checkpoints/import")),
    importForm.locator('button[type="submit"]').click(),
  ]);
  assert.equal(response.status(), 422);
  const report = await page.textContent(".import-report");
  assert.match(report, /未导入任何数据/);
  assert.match(report, /3\s*latitude/);
  await screenshot(page, "checkpoint-import-refused");
  await page.goto(`/admin/sites/${siteId}/checkpoints`);
  assert.equal(await page.locator("tbody tr").count(), before);

  const good = bad.replace("north", "31.2302");
  await page.locator('form[action$="/checkpoints/import"] input[type="file"]')
    .setInputFiles({ name: "cp.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await Promise.all([page.waitForURL(/saved=1/), page.locator('form[action$="/checkpoints/import"] button[type="submit"]').click()]);
  assert.equal(await page.locator("tbody tr").count(), before + 2);
  assert.match(await page.locator('tr[data-code="B2-EXIT"]').textContent(), /地下车库出口/);
});

test("the administrator's main pages render in Chinese", async () => {
  const pages = [
    ["sites", "/admin/sites", "项目"],
    ["site-plan", `/admin/sites/${siteId}`, "锦园"],
    ["departments", `/admin/sites/${siteId}/departments`, "锦园"],
    ["checkpoints", `/admin/sites/${siteId}/checkpoints`, "锦园"],
    ["routes", `/admin/sites/${siteId}/routes`, "锦园"],
    ["schedules", `/admin/sites/${siteId}/schedules`, "锦园"],
    ["people", "/admin/people", "人员"],
  ];
  for (const [name, path, heading] of pages) {
    const response = await page.goto(path);
    assert.equal(response.status(), 200, path);
    assert.match(await page.textContent("h1"), new RegExp(heading), path);
    await screenshot(page, name);
  }
});
