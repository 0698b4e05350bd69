// Signing in and out of the console, in Chinese by default and in English on request.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, screenshot, password } from "./browser.mjs";

let browser, context, page;
before(async () => ({ browser, context, page } = await launch()));
after(async () => browser?.close());

test("the login page is in Chinese and refuses a wrong password", async () => {
  await page.goto("/login");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal(await page.textContent("h1"), "登录巡检管理平台");
  await screenshot(page, "login");
  await page.fill('input[name="login"]', "admin");
  await page.fill('input[name="password"]', "not the password");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/login") && r.request().method() === "POST"),
    page.click('button[type="submit"]'),
  ]);
  assert.equal(response.status(), 401);
  assert.match(await page.textContent(".error"), /用户名或密码错误/);
});

test("an administrator signs in, switches to English and back, and signs out", async () => {
  await signIn(page, "admin");
  assert.match(await page.textContent("h1"), /您好，系统管理员/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "patrol_session");
  assert.ok(session, "a session cookie is set");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Lax");
  await screenshot(page, "home");

  await page.click("a.lang-switch");
  await page.waitForURL((url) => url.pathname === "/");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.match(await page.textContent("h1"), /Hello, 系统管理员/);
  await page.click("a.lang-switch");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");

  await Promise.all([page.waitForURL(/\/login$/), page.click("text=退出登录")]);
  // The old cookie no longer opens anything: the session ended on the server.
  await context.addCookies([{ ...session }]);
  await page.goto("/admin/sites");
  assert.match(new URL(page.url()).pathname, /^\/login$/);
  assert.equal(new URL(page.url()).searchParams.get("next"), "/admin/sites");
});

test("a signed-out visitor is sent to the login page and comes back after", async () => {
  await page.goto("/admin/people");
  assert.equal(new URL(page.url()).pathname, "/login");
  await page.fill('input[name="login"]', "admin");
  await page.fill('input[name="password"]', password("admin"));
  await Promise.all([page.waitForURL(/\/admin\/people$/), page.click('button[type="submit"]')]);
  assert.equal(await page.textContent("h1"), "人员");
});
