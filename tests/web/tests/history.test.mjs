// Reference data over time: an administrator edits a checkpoint and a department,
// sees every version on the object's page, retires them, and finds them gone from
// the lists while their pages keep the history, read-only. Objects of its own, so the
// demo's routes and schedules that later files count stay as they are.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, screenshot, demoSiteId } from "./browser.mjs";

let browser, page, siteId;
before(async () => {
  ({ browser, page } = await launch());
  await signIn(page, "admin", "/admin/sites");
  siteId = await demoSiteId(page);
});
after(async () => {
  await browser?.close();
});

async function historyRows() {
  return page.locator("#history tbody tr").count();
}

test("a checkpoint is edited, its history shows each version, and once retired it leaves the list", async () => {
  await page.goto(`/admin/sites/${siteId}/checkpoints`);
  const form = page.locator('form:has(textarea[name="checklist"])').first();
  await form.locator('input[name="code"]').fill("HIST-1");
  await form.locator('input[name="name_zh"]').fill("临时岗亭");
  await form.locator('input[name="latitude"]').fill("31.2312");
  await form.locator('input[name="longitude"]').fill("121.4742");
  await form.locator('textarea[name="checklist"]').fill("灯具完好");
  await Promise.all([page.waitForURL(/saved=1/), form.locator('button[type="submit"]').click()]);

  await page.locator('tr[data-code="HIST-1"] a', { hasText: "修改 · 历史" }).click();
  await page.waitForURL(/\/objects\/checkpoint\//);
  const objectUrl = page.url().split("?")[0];
  assert.equal(await historyRows(), 1, "a new checkpoint has one version");
  assert.equal(await page.inputValue('input[name="name_zh"]'), "临时岗亭", "the form holds the current state");

  await page.fill('input[name="name_zh"]', "东门临时岗亭");
  await page.fill('input[name="radius_m"]', "40");
  await page.fill('textarea[name="checklist"]', "灯具完好\n消防器材在位 / Extinguisher in place");
  await Promise.all([page.waitForURL(/saved=1/), page.click('button:has-text("保存修改")')]);
  assert.equal(await historyRows(), 2, "the created state and the edit");
  const newest = await page.locator("#history tbody tr").first().textContent();
  assert.match(newest, /东门临时岗亭/);
  assert.match(newest, /40 m/);
  assert.match(newest, /消防器材在位/);
  const oldest = await page.locator("#history tbody tr").last().textContent();
  assert.match(oldest, /临时岗亭/);
  assert.doesNotMatch(oldest, /东门/, "version 1 is kept as it was");
  await screenshot(page, "history");

  // A wrong latitude is refused and nothing is kept.
  await page.fill('input[name="latitude"]', "north");
  await page.click('button:has-text("保存修改")');
  await page.goto(objectUrl);
  assert.equal(await historyRows(), 2, "a refused edit makes no version");

  await Promise.all([page.waitForURL(/\/checkpoints\?saved=1/), page.click('button.danger:has-text("停用")')]);
  assert.equal(await page.locator('tr[data-code="HIST-1"]').count(), 0, "a retired checkpoint leaves the list");
  await page.goto(objectUrl);
  assert.match(await page.textContent("h2"), /已停用/);
  assert.equal(await page.locator('button:has-text("保存修改")').count(), 0, "read-only once retired");
  assert.equal(await historyRows(), 3);
});

test("a department is renamed and retired; its history names who changed it", async () => {
  await page.goto(`/admin/sites/${siteId}/departments`);
  const form = page.locator('form:has(select[name="kind"])');
  await form.locator('select[name="kind"]').selectOption("other");
  await form.locator('input[name="name_zh"]').fill("绿化外包组");
  await Promise.all([page.waitForURL(/saved=1/), form.locator('button[type="submit"]').click()]);
  await page.locator("tr", { hasText: "绿化外包组" }).locator("a", { hasText: "修改 · 历史" }).click();
  await page.waitForURL(/\/objects\/department\//);
  await page.fill('input[name="name_zh"]', "园林外包组");
  await page.fill('input[name="name_en"]', "Gardening contractor");
  await Promise.all([page.waitForURL(/saved=1/), page.click('button:has-text("保存修改")')]);
  const newest = await page.locator("#history tbody tr").first().textContent();
  assert.match(newest, /园林外包组 \/ Gardening contractor/);
  assert.doesNotMatch(newest, /—/, "the edit names who made it");
  await Promise.all([page.waitForURL(/\/departments\?saved=1/), page.click('button.danger:has-text("停用")')]);
  assert.equal(await page.locator("tr", { hasText: "园林外包组" }).count(), 0);
});
