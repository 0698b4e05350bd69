// People come and go: an administrator creates a person, deactivates them (their
// console session and API token stop working at once), reactivates them, resets the
// password to a one-time one, and the person is made to change it before anything else.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, demoSiteId, BASE } from "./browser.mjs";

let browser, context, page, siteId;
const LOGIN = `temp.${Date.now() % 100000}`;
const FIRST = "Temp2026-pass";

before(async () => {
  ({ browser, context, page } = await launch());
  await signIn(page, "admin", "/admin/sites");
  siteId = await demoSiteId(page);
});
after(async () => {
  await browser?.close();
});

/** Signs `login` in through the login form in a page of its own. */
async function signInAs(login, password) {
  const other = await browser.newContext({ baseURL: BASE, locale: "zh-CN" });
  const p = await other.newPage();
  await p.goto("/login");
  await p.fill('input[name="login"]', login);
  await p.fill('input[name="password"]', password);
  await Promise.all([p.waitForURL((u) => u.pathname !== "/login"), p.click('button[type="submit"]')]);
  return { other, p };
}

async function apiToken(request, login, password) {
  const r = await request.post(`${BASE}/api/v1/auth/login`, {
    data: { login, password, device_id: crypto.randomUUID() },
  });
  return { status: r.status(), body: r.status() === 200 ? await r.json() : null };
}

test("a person deactivated is signed out everywhere, a reset password must be changed first", async () => {
  await page.goto("/admin/people");
  const form = page.locator('form[action="/admin/people"]');
  await form.locator('input[name="login"]').fill(LOGIN);
  await form.locator('input[name="display_name"]').fill("临时工王");
  await form.locator('input[name="password"]').fill(FIRST);
  await form.locator('select[name="role"]').selectOption("patrol_staff");
  await form.locator('select[name="site_id"]').selectOption(siteId);
  await Promise.all([page.waitForURL(/saved=1/), form.locator('button[type="submit"]').click()]);

  const { other, p } = await signInAs(LOGIN, FIRST);
  assert.equal(new URL(p.url()).pathname, "/", "the new person is in");
  const { body } = await apiToken(p.request, LOGIN, FIRST);
  const me = async () =>
    (await p.request.get(`${BASE}/api/v1/me`, { headers: { authorization: `Bearer ${body.access_token}` } })).status();
  assert.equal(await me(), 200);

  // Deactivate: the console session and the API token stop at once.
  const row = page.locator(`tr[data-login="${LOGIN}"]`);
  await Promise.all([page.waitForURL(/saved=1/), row.locator('button[data-action="toggle-active"]').click()]);
  assert.match(await page.locator(`tr[data-login="${LOGIN}"]`).textContent(), /停用/);
  await p.goto("/");
  assert.equal(new URL(p.url()).pathname, "/login", "the console session ended");
  assert.equal(await me(), 401, "the access token ended");
  assert.equal((await apiToken(p.request, LOGIN, FIRST)).status, 401, "no new sign-in either");

  // Reactivate, then reset the password.
  await Promise.all([
    page.waitForURL(/saved=1/),
    page.locator(`tr[data-login="${LOGIN}"] button[data-action="toggle-active"]`).click(),
  ]);
  await Promise.all([
    page.waitForURL(/password-reset/),
    page.locator(`tr[data-login="${LOGIN}"] button[data-action="reset-password"]`).click(),
  ]);
  const oneTime = (await page.locator("#one-time-password").textContent()).trim();
  assert.ok(oneTime.length >= 12, oneTime);
  await other.close();

  const again = await signInAs(LOGIN, oneTime);
  assert.equal(new URL(again.p.url()).pathname, "/account/password", "made to change it first");
  assert.ok(await again.p.locator("#must-change").isVisible());
  await again.p.goto("/");
  assert.equal(new URL(again.p.url()).pathname, "/account/password", "every page leads back to it");
  // A weak password is refused with a reason in Chinese, and nothing changes.
  await again.p.fill('input[name="current_password"]', oneTime);
  await again.p.fill('input[name="new_password"]', "12345678");
  const change = 'form[action="/account/password"] button[type="submit"]';
  await again.p.click(change);
  assert.match(await again.p.locator('[role="alert"]').textContent(), /密码/);
  await again.p.fill('input[name="current_password"]', oneTime);
  await again.p.fill('input[name="new_password"]', "Gate-2026-night");
  await Promise.all([again.p.waitForURL(/saved=1/), again.p.click(change)]);
  assert.ok(await again.p.locator("#password-changed").isVisible());
  await again.p.goto("/");
  assert.equal(new URL(again.p.url()).pathname, "/", "the console opens once the password is changed");
  await again.other.close();
  assert.equal((await apiToken(page.request, LOGIN, "Gate-2026-night")).status, 200);
});
