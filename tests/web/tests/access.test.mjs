// The console asks the same policy as the API: a patrol officer who opens an
// administrator's page by URL gets the 403 page, and forms need their CSRF token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, screenshot, demoSiteId } from "./browser.mjs";

let browser, context, page;
before(async () => ({ browser, context, page } = await launch()));
after(async () => browser?.close());

test("a patrol officer opening an administrator's page gets the 403 page", async () => {
  await signIn(page, "patrol");
  const response = await page.goto("/admin/sites");
  assert.equal(response.status(), 403);
  assert.equal(await page.textContent("h1"), "无权访问");
  assert.match(await page.textContent("main"), /没有权限/);
  await screenshot(page, "forbidden");
  const people = await page.goto("/admin/people");
  assert.equal(people.status(), 403);
  await page.goto("/");
  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
});

test("a form posted without its CSRF token is refused and changes nothing", async () => {
  await signIn(page, "admin", "/admin/sites");
  const sitesBefore = await page.locator("tbody tr").count();
  // A form that lost its hidden token, as a forged form from elsewhere would be.
  await page.evaluate(() => document.querySelector('form[action="/admin/sites"] input[name="_csrf"]').remove());
  await page.fill('form[action="/admin/sites"] input[name="code"]', "FORGED");
  await page.fill('form[action="/admin/sites"] input[name="name_zh"]', "伪造项目");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/sites") && r.request().method() === "POST"),
    page.click('form[action="/admin/sites"] button[type="submit"]'),
  ]);
  assert.equal(response.status(), 403);
  assert.equal(await page.textContent("h1"), "请求已被拒绝");
  await screenshot(page, "csrf-refused");

  // A wrong token and a foreign Origin are refused too, even with the cookie.
  const siteId = await demoSiteId(page);
  const token = await page.getAttribute('input[name="_csrf"]', "value");
  const wrong = await context.request.post("/admin/sites", {
    form: { _csrf: "x".repeat(token.length), code: "FORGED", name_zh: "伪造" },
    maxRedirects: 0,
  });
  assert.equal(wrong.status(), 403);
  const foreign = await context.request.post("/admin/sites", {
    form: { _csrf: token, code: "FORGED", name_zh: "伪造" },
    headers: { origin: "http://evil.example" },
    maxRedirects: 0,
  });
  assert.equal(foreign.status(), 403);

  await page.goto("/admin/sites");
  assert.equal(await page.locator("tbody tr").count(), sitesBefore);
  assert.equal(await page.locator("text=FORGED").count(), 0);
  assert.ok(siteId.length > 30);
});
