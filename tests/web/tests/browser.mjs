// What every browser test shares: the running demo server, its logins, Debian's
// chromium started headless and fresh, signing in, and screenshots.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const BASE = process.env.PATROL_WEB_URL;
if (!BASE) throw new Error("PATROL_WEB_URL is not set: run tests/web/run.sh");
const LOGINS = JSON.parse(readFileSync(process.env.PATROL_WEB_LOGINS, "utf8"));
const ARTIFACTS = process.env.PATROL_WEB_ARTIFACTS ?? "test-artifacts";

export function password(login) {
  const pw = LOGINS[login];
  if (!pw) throw new Error(`no demo login ${login} in ${JSON.stringify(Object.keys(LOGINS))}`);
  return pw;
}

/** Starts chromium; playwright gives it a fresh temporary profile each time. */
export async function launch(baseURL = BASE) {
  const browser = await chromium.launch({
    executablePath: process.env.PATROL_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--lang=zh-CN",
    ],
  });
  const context = await browser.newContext({
    baseURL,
    viewport: { width: 1280, height: 860 },
    locale: "zh-CN",
    acceptDownloads: true,
  });
  const page = await context.newPage();
  return { browser, context, page };
}

/** Signs in through the login form and waits for the page it leads to. */
export async function signIn(page, login, next = "/") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', password(login));
  await Promise.all([
    page.waitForURL((url) => url.pathname === next),
    page.click('button[type="submit"]'),
  ]);
}

export async function screenshot(page, name) {
  const dir = join(ARTIFACTS, "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** The demo site's id, from the administrator's site list. */
export async function demoSiteId(page) {
  await page.goto("/admin/sites");
  const href = await page.locator('td a[href^="/admin/sites/"]').first().getAttribute("href");
  return href.split("/").pop();
}
