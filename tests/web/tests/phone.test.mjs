// The console on a phone (390 × 844 CSS px, as an iPhone 12–14 shows it): department
// heads and supervisors open the inbox, a notice with its photos, timeline and action
// forms, the dashboard, a run, the daily log (巡检日志) and the monthly summary on
// their phones. On every page: the page does not scroll sideways, nothing sticks out
// past the screen's edge (tables that do not fit scroll inside their own box), no
// text is squeezed to one or two characters a line, cells are wider than two
// characters, photos fill the width, and buttons and fields are on screen and big
// enough to tap. The head signs for receipt and reports the fix, the supervisor
// verifies it and the organisation's supervisor signs the day's log, all at phone
// width; in Chinese, and the supervisor's pages again in English, then with the phone
// turned sideways and at a desk (where names in tables must not be squeezed either).
// Screenshots are saved as phone-*.png.
//
// The records are pushed through the JSON API by the patrol officer 张伟 (records.mjs).
// The node runner takes the files in name order, so these come after notices.test.mjs,
// whose monthly figures count the notices 张伟 raised before.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, signIn, screenshot, BASE } from "./browser.mjs";
import { Phone, noticeRaised, photoTaken, sha256, uuidv7, walkStart } from "./records.mjs";

const WIDTH = 390;
const HEIGHT = 844;
const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

let browser, context, siteId, notice, runId;
// Photos are identified by their bytes: a mark of this run makes them new ones.
const mark = Date.now().toString(36);

/** A JPEG "photo" of a finding, drawn by the browser (the protocol stores JPEGs). */
async function photo(caption, colour) {
  const p = await context.newPage();
  await p.setContent(`<body style="margin:0"><div style="width:640px;height:480px;background:${colour};
    display:grid;place-items:center;font:bold 56px 'WenQuanYi Micro Hei',sans-serif;color:#fff">${caption}
    <small style="font-size:16px">${mark}</small></div></body>`);
  const bytes = await p.screenshot({ type: "jpeg", quality: 80, clip: { x: 0, y: 0, width: 640, height: 480 } });
  await p.close();
  return bytes;
}

/** Today's run of the first route and a notice to engineering with two photos. */
async function patrolAndNotice() {
  const officer = await Phone.signIn("patrol");
  const ref = await officer.reference();
  const site = ref.sites[0].id;
  const route = ref.routes[0];
  const labels = await Phone.labels(site);
  const start = walkStart(ref.sites[0], 40 * 60e3);
  runId = uuidv7();
  officer.record({ kind: "run_started", run_id: runId, route_id: route.id, site_id: site }, start);
  route.checkpoint_ids.slice(0, -1).forEach((id, i) => {
    officer.record({
      kind: "checkpoint_visited", run_id: runId, visit_id: uuidv7(), checkpoint_id: id,
      check_in: { method: "qr", token: labels[id] }, out_of_order: false,
    }, start + (i + 1) * 90e3);
  });
  const pictures = [await photo("地库入口积水", "#4f6d7a"), await photo("排水沟堵塞", "#7a5c4f")];
  const shas = pictures.map(sha256);
  pictures.forEach((bytes, i) => officer.record(photoTaken(shas[i], bytes, 640, 480)));
  const raised = noticeRaised({
    site, department: ref.departments.find((d) => d.kind === "engineering").id,
    location: "7号楼地下车库B2层入口坡道",
    description: "地库入口坡道排水沟堵塞，雨后积水约10厘米，车辆进出溅水，请尽快疏通并检查集水井水泵。",
    photos: shas, dueMs: Date.now() + 24 * 3600e3,
  });
  officer.record(raised);
  officer.record({ kind: "run_finished", run_id: runId, missed_reason: "末站配电房上锁，无法进入" }, start + 20 * 60e3);
  const resp = await officer.push();
  for (const [i, bytes] of pictures.entries()) await officer.upload(shas[i], bytes);
  const number = resp.results.find((r) => r.notice_number)?.notice_number;
  assert.ok(number, "the notice is numbered");
  return [site, { id: raised.notice_id, number }];
}

before(async () => {
  ({ browser, context } = await launch());
  [siteId, notice] = await patrolAndNotice();
});

after(async () => {
  await browser?.close();
});

/** A fresh phone (its own session, 390 × 844 unless told, touch, Chinese), or a
 * desk's window when `mobile` is false. */
async function phone(width = WIDTH, height = HEIGHT, mobile = true) {
  const ctx = await browser.newContext({
    baseURL: BASE,
    viewport: { width, height },
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: "zh-CN",
  });
  return { ctx, p: await ctx.newPage() };
}

/** Everything wrong with the page at this width, as sentences (none when it fits). */
async function layoutProblems(p) {
  // Photos are loaded lazily: bring them in before measuring.
  await p.evaluate(() => document.querySelectorAll("img[loading=lazy]").forEach((i) => { i.loading = "eager"; }));
  await p.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10000 });
  return p.evaluate(() => {
    const problems = [];
    const vw = document.documentElement.clientWidth;
    const say = (el) => {
      const t = (el.textContent || el.getAttribute("alt") || "").replace(/\s+/g, " ").trim();
      return `<${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : ""}> “${t.slice(0, 24)}”`;
    };
    // Drawn on the page: not hidden, not inside a closed <details>.
    const shown = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && el.checkVisibility({ visibilityProperty: true });
    };
    // A box of its own that scrolls sideways (a wide table's wrapper).
    const scroller = (el) => {
      for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
        if (["auto", "scroll"].includes(getComputedStyle(e).overflowX)) return e;
      }
      return null;
    };

    const sw = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    if (sw > vw) problems.push(`the page is ${sw} px wide at a ${vw} px viewport`);
    if (getComputedStyle(document.body).overflowX !== "visible" || getComputedStyle(document.documentElement).overflowX !== "visible") {
      problems.push("the page hides what overflows sideways instead of fitting it");
    }

    const all = [...document.querySelectorAll("body *")].filter(shown);
    for (const el of all) {
      const r = el.getBoundingClientRect();
      const box = scroller(el);
      if (box) {
        // Inside a sideways-scrolling box only the box itself must fit.
        continue;
      }
      if (r.right > vw + 1 || r.left < -1) {
        problems.push(`${say(el)} reaches ${Math.round(r.left)}…${Math.round(r.right)} px, past the screen`);
      }
    }

    // Text squeezed into a narrow column: a run of text on several lines with fewer
    // than three characters a line (CJK breaks between any two characters).
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n; (n = walker.nextNode()); ) {
      const text = n.textContent.replace(/\s+/g, "");
      if (text.length < 2 || !n.parentElement || !shown(n.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      const lines = new Set([...range.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top))).size;
      if (lines >= 2 && text.length / lines < 3) {
        problems.push(`“${text.slice(0, 24)}” is squeezed onto ${lines} lines in a ${Math.round(n.parentElement.getBoundingClientRect().width)} px box`);
      }
    }

    // Table cells, definition lists, stat boxes: wider than two characters, and
    // their text stays inside them.
    for (const el of all.filter((e) => e.matches("td, th, dt, dd, .stat, .badge, button, .button"))) {
      const text = el.textContent.replace(/\s+/g, "");
      const r = el.getBoundingClientRect();
      if (text.length >= 2 && r.width < 32) problems.push(`${say(el)} is only ${Math.round(r.width)} px wide`);
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible") {
        problems.push(`${say(el)} spills out of its box (${el.scrollWidth} > ${el.clientWidth} px)`);
      }
    }

    // Photos are shown; on a phone they fill the width, two to a row of the card.
    for (const img of all.filter((e) => e.matches(".photos:not(.small) img"))) {
      const r = img.getBoundingClientRect();
      const card = img.closest(".card").getBoundingClientRect();
      if (!img.naturalWidth) problems.push(`${say(img)} did not load`);
      if (vw <= 640 && r.width < card.width * 0.4) {
        problems.push(`a photo is ${Math.round(r.width)} px wide in a ${Math.round(card.width)} px card`);
      }
    }

    // Buttons and the fields of forms: on the screen and big enough for a thumb (a
    // check box through its label).
    const controls = "main button, main .button, main select, main textarea, main label.check, "
      + "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])";
    for (const el of all.filter((e) => e.matches(controls))) {
      const r = el.getBoundingClientRect();
      if (r.height < 36) problems.push(`${say(el)} is ${Math.round(r.height)} px high, too small to tap`);
      if (r.right > vw || r.left < 0) problems.push(`${say(el)} is off the screen (${Math.round(r.left)}…${Math.round(r.right)} px)`);
    }
    return problems;
  });
}

async function assertFits(p, what) {
  const problems = await layoutProblems(p);
  assert.deepEqual(problems, [], `${what} at ${p.viewportSize().width} px:\n  ${problems.join("\n  ")}`);
}

/** Taps a button after checking it is on the screen and nothing covers its middle. */
async function tap(p, selector) {
  const button = p.locator(selector);
  await button.scrollIntoViewIfNeeded();
  const hit = await button.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return { left: r.left, right: r.right, own: el === top || el.contains(top) };
  });
  assert.ok(hit.left >= 0 && hit.right <= p.viewportSize().width, `${selector} is on the screen: ${JSON.stringify(hit)}`);
  assert.ok(hit.own, `nothing covers ${selector}`);
  // The page may already say saved=1 from the last action: wait for the new one.
  await Promise.all([p.waitForEvent("load"), button.tap()]);
  assert.match(p.url(), /saved=1/);
}

test("a department head on the phone: the inbox, the notice with its photos, signs for receipt and reports the fix", async () => {
  const { ctx, p } = await phone();
  await signIn(p, "eng.head", "/notices");
  const row = p.locator(`tr[data-notice="${notice.id}"]`);
  assert.match(await row.textContent(), /7号楼地下车库/);
  await assertFits(p, "the head's inbox");
  await screenshot(p, "phone-inbox");

  await Promise.all([p.waitForURL(/\/notices\/[0-9a-f-]+$/), row.locator("a").first().tap()]);
  assert.equal((await p.textContent("#notice-number")).trim(), notice.number);
  assert.equal(await p.locator("#before-photos img").count(), 2);
  await assertFits(p, "the notice");
  await screenshot(p, "phone-notice");

  await tap(p, '[data-action="acknowledge"] button[type="submit"]');
  assert.match(await p.textContent(".notice-head"), /已签收/);
  await assertFits(p, "the notice, signed for");

  const form = p.locator('[data-action="report_fix"] form');
  await form.locator('input[type="file"]').setInputFiles({
    name: "fixed.jpg", mimeType: "image/jpeg", buffer: await photo("已疏通", "#3f7a55"),
  });
  await form.locator('textarea[name="reason"]').fill("已疏通排水沟，集水井水泵运行正常");
  await tap(p, '[data-action="report_fix"] button[type="submit"]');
  assert.match(await p.textContent(".notice-head"), /已整改待验证/);
  assert.equal(await p.locator("#after-photos img").count(), 1);
  assert.match(await p.textContent("table.timeline"), /李强/);
  await assertFits(p, "the notice after the fix");
  await screenshot(p, "phone-notice-fixed");
  await ctx.close();
});

/** The supervisor's pages, each checked at phone width; a screenshot of the
 * dashboard when asked. */
async function supervisorPages(p, lang, shots) {
  await p.goto("/notices");
  await p.evaluate(() => { document.querySelector("details.filter").open = true; });
  await assertFits(p, `the register (${lang})`);
  await p.goto(`/notices/${notice.id}`);
  await assertFits(p, `the notice (${lang})`);
  await p.goto("/dashboard");
  assert.ok(await p.locator(`a[href="/runs/${runId}"]`).count() >= 1, "today's run is listed");
  await assertFits(p, `the dashboard (${lang})`);
  if (shots) await screenshot(p, "phone-dashboard");
  await p.goto(`/runs/${runId}`);
  await assertFits(p, `the run (${lang})`);
  await p.goto(`/sites/${siteId}/daily-logs/${today}`);
  assert.match(await p.textContent("main"), new RegExp(notice.number));
  await assertFits(p, `the daily log (${lang})`);
  await p.goto(`/sites/${siteId}/monthly/${today.slice(0, 7)}`);
  await assertFits(p, `the monthly summary (${lang})`);
}

test("a supervisor on the phone: the register, the notice (verified there), the dashboard, a run, the daily log and the month, in Chinese and English", async () => {
  const { ctx, p } = await phone();
  await signIn(p, "supervisor", "/dashboard");
  await p.goto(`/notices/${notice.id}`);
  await tap(p, '[data-action="verify_pass"] button[type="submit"]');
  assert.match(await p.textContent(".notice-head"), /已关闭/);
  await supervisorPages(p, "zh-CN", true);

  await p.goto(`/lang/en?next=${encodeURIComponent("/dashboard")}`);
  assert.match(await p.textContent("main"), /Dashboard|Today/);
  await supervisorPages(p, "en", false);
  await ctx.close();
});

test("the organisation's supervisor signs today's daily log on the phone", async () => {
  const { ctx, p } = await phone();
  await signIn(p, "manager", `/sites/${siteId}/daily-logs/${today}`);
  await assertFits(p, "the daily log before signing");
  await p.fill('#signatures textarea[name="comment"]', "已审阅，地库积水已整改关闭。");
  await tap(p, '#signatures button[type="submit"]');
  assert.match(await p.textContent("#signatures"), /赵刚/);
  await assertFits(p, "the daily log, signed");
  await screenshot(p, "phone-daily-log");
  await ctx.close();
});

test("the phone turned sideways (844 × 390) and a desk (1280 px): the supervisor's pages fit, no name squeezed", async () => {
  for (const [width, height, mobile] of [[844, 390, true], [1280, 860, false]]) {
    const { ctx, p } = await phone(width, height, mobile);
    await signIn(p, "supervisor", "/dashboard");
    await supervisorPages(p, `zh-CN, ${width} px`, false);
    await ctx.close();
  }
});
