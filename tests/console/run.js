// Drives the loaxa console in Debian's headless Chromium as an operator would, on a real
// daemon that tests/console.rs started (it checks what this cannot: what the audio rig
// heard, the XLSX read back, the airtime log and the audit trail). Prints one JSON line
// per step; any failed check throws, with a screenshot of the page as it was.
//
// Env: LOAXA_URL, LOAXA_USER, LOAXA_PASSWORD, WORK (files to upload), MIC (the WAV the
// fake microphone plays), OUT (screenshots and downloads).
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

const URL = process.env.LOAXA_URL.replace(/\/$/, "");
const OUT = process.env.OUT;
const WORK = process.env.WORK;
const log = (o) => console.log(JSON.stringify(o));
const check = (ok, what) => { if (!ok) throw new Error(what); };
const T = 30_000;

async function status(page) {
  const r = await page.request.get(`${URL}/api/v1/status`);
  check(r.ok(), `status answered ${r.status()}`);
  return r.json();
}

// Waits until `title` is on air, then until nothing is: it has been heard to its end.
async function aired(page, title) {
  const t = Date.now();
  let started = false;
  for (;;) {
    const s = await status(page);
    if (s.on_air && s.on_air.title.includes(title)) started = true;
    else if (started && !s.on_air && !s.emergency_active) return;
    check(Date.now() - t < 60_000, `${title} not aired to its end within 60 s: ${JSON.stringify(s.on_air)}`);
    await page.waitForTimeout(100);
  }
}

async function login(page) {
  await page.goto(`${URL}/`);
  await page.fill("#login-user", process.env.LOAXA_USER);
  await page.fill("#login-password", "not the password");
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#login-error:text('Sai tên đăng nhập hoặc mật khẩu.')", { timeout: T });
  await page.fill("#login-password", process.env.LOAXA_PASSWORD);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#on-air-title", { timeout: T });
  check((await page.textContent("#who")).includes("Quản trị"), "the header names the role in Vietnamese");
}

async function upload(page, category, file, state) {
  await page.goto(`${URL}/#thu-vien`);
  await page.selectOption("#category", category);
  const before = await page.locator(".up").count();
  await page.setInputFiles("#up-files", path.join(WORK, file));
  const up = page.locator(".up").first();
  await page.waitForFunction((n) => document.querySelectorAll(".up").length > n, before, { timeout: T });
  await page.waitForFunction(() => {
    const u = document.querySelector(".up");
    return u && u.dataset.state;
  }, null, { timeout: T });
  const got = await up.getAttribute("data-state");
  check(got === state, `${file} became ${got} (${await up.textContent()}), not ${state}`);
  const row = page.locator(`tr[data-item="${category}/${file}"]`);
  await row.locator(`.state.${state}`).waitFor({ timeout: T });
  log({ step: "upload", file, state });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${process.env.MIC}`,
      "--autoplay-policy=no-user-gesture-required",
      "--disable-dev-shm-usage",
      "--lang=vi",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "vi-VN", acceptDownloads: true });
  await context.grantPermissions(["microphone"], { origin: URL });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await login(page);
    log({ step: "login" });

    // Upload a Vietnamese-named file: ready in the library.
    await upload(page, "tin", "Bản tin thử nghiệm.wav", "ready");

    // Record from the (fake) microphone: the recording uploads and becomes ready.
    await page.selectOption("#category", "tin");
    const before = await page.locator(".up").count();
    await page.click("#record");
    await page.waitForSelector("#rec-state.rec", { timeout: T });
    await page.waitForTimeout(3000); // three seconds of speech into the microphone
    await page.click("#record");
    await page.waitForFunction((n) => document.querySelectorAll(".up").length > n, before, { timeout: T });
    await page.waitForFunction(() => document.querySelector(".up").dataset.state, null, { timeout: T });
    const rec = page.locator(".up").first();
    const recState = await rec.getAttribute("data-state");
    check(recState === "ready", `the recording became ${recState}: ${await rec.textContent()}`);
    const recName = (await rec.locator("div").first().textContent()).trim();
    check(/^Ghi âm .*\.webm$/.test(recName), `the recording's name: ${recName}`);
    log({ step: "record", item: `tin/${recName}` });

    // A category that needs approval: the upload waits, the approver approves it.
    await upload(page, "duyet", "can duyet.wav", "pending");
    await page.click(`tr[data-item="duyet/can duyet.wav"] button[data-action=approve]`);
    await page.locator(`tr[data-item="duyet/can duyet.wav"] .state.ready`).waitFor({ timeout: T });
    log({ step: "approve", item: "duyet/can duyet.wav" });

    // Play: the 500 Hz item, then the recording (700 Hz), each heard to its end.
    await page.goto(`${URL}/#phat-ngay`);
    await page.selectOption("#play-item", "tin/2026-01-01 ban tin.wav");
    log({ step: "play", item: "tin/2026-01-01 ban tin.wav", at: new Date().toISOString() });
    await page.click("#play-item-btn");
    await page.waitForSelector("#toast:not([hidden])", { timeout: T });
    // Đang phát follows it live: title and progress, no reload.
    await page.goto(`${URL}/#dang-phat`);
    await page.waitForSelector("#on-air-title:text('ban tin')", { timeout: T });
    await page.waitForFunction(() => parseFloat(document.querySelector("#on-air .progress > div").style.width) > 0, null, { timeout: T });
    await page.screenshot({ path: path.join(OUT, "phone-dang-phat-on-air.png") });
    await aired(page, "ban tin");
    await page.waitForSelector("#on-air-title:text('Không phát gì')", { timeout: T });
    await page.goto(`${URL}/#phat-ngay`);
    await page.selectOption("#play-item", `tin/${recName}`);
    await page.click("#play-item-btn");
    log({ step: "play", item: `tin/${recName}` });
    await aired(page, "Ghi âm");

    // Emergency: cancelled at the confirmation, nothing airs; confirmed, it airs at once
    // under a banner that stays until it ends.
    await page.selectOption("#emergency-item", "khan-cap/bao lu.wav");
    await page.click("#emergency-btn");
    await page.waitForSelector("dialog#confirm[open]", { timeout: T });
    await page.screenshot({ path: path.join(OUT, "phone-phat-ngay-xac-nhan.png") });
    await page.click("dialog#confirm button[value=cancel]");
    await page.waitForSelector("dialog#confirm:not([open])", { state: "attached", timeout: T });
    const s0 = await status(page);
    check(!s0.emergency_active && !s0.on_air, "a cancelled emergency airs nothing");
    const confirmedAt = new Date().toISOString();
    await page.click("#emergency-btn");
    await page.waitForSelector("dialog#confirm[open]", { timeout: T });
    await page.click("dialog#confirm button[value=ok]");
    await page.waitForSelector("#emergency-banner:not([hidden])", { timeout: T });
    // The banner names what airs as soon as the status does.
    await page.waitForFunction(() => document.querySelector("#emergency-banner").textContent.includes("bao lu"), null, { timeout: T });
    const banner = await page.textContent("#emergency-banner");
    check(banner.includes("ĐANG PHÁT KHẨN CẤP") && banner.includes("bao lu"), `banner: ${banner}`);
    await page.screenshot({ path: path.join(OUT, "phone-khan-cap.png") });
    log({ step: "emergency", confirmed_at: confirmedAt, banner });
    await aired(page, "bao lu");
    await page.waitForSelector("#emergency-banner[hidden]", { state: "attached", timeout: T });

    // The schedule editor: a typo is shown at its line and cannot be saved; fixed, the
    // saved schedule changes the plan.
    await page.goto(`${URL}/#lich`);
    await page.waitForSelector("#problems li.ok", { timeout: T });
    const text = await page.inputValue("#schedule-text");
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.includes("segments:"));
    check(at >= 0, "the schedule has a segments: line");
    lines[at] = lines[at].replace("segments:", "segmnets:");
    await page.fill("#schedule-text", lines.join("\n"));
    await page.waitForSelector("#problems li[data-line]", { timeout: T });
    const shown = await page.locator("#problems li[data-line]").evaluateAll((ls) => ls.map((l) => [Number(l.dataset.line), l.textContent]));
    check(shown.some(([l]) => l === at + 1), `the typo on line ${at + 1} is shown there: ${JSON.stringify(shown)}`);
    check(await page.isDisabled("#save-schedule"), "a schedule with errors cannot be saved");
    check((await page.locator(".gutter .err").count()) >= 1, "the gutter marks the line");
    await page.screenshot({ path: path.join(OUT, "phone-lich-loi.png") });
    // On a phone the long lines are wider than the screen: a sideways swipe reaches their ends.
    const box = await page.locator("#schedule-text").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + 40);
    await page.mouse.wheel(300, 0);
    await page.waitForFunction(() => document.querySelector("#schedule-text").scrollLeft > 0, null, { timeout: T });
    log({ step: "schedule-typo", line: at + 1, problems: shown.map(([, t]) => t) });
    lines[at] = lines[at].replace("segmnets:", "segments:");
    const fixed = lines.join("\n").replace('name: "Sáng"', 'name: "Bản tin trưa"');
    check(fixed.includes("Bản tin trưa"), "the programme was renamed");
    await page.fill("#schedule-text", fixed);
    await page.waitForSelector("#problems li.ok", { timeout: T });
    await page.waitForSelector("#save-schedule:not([disabled])", { timeout: T });
    await page.click("#save-schedule");
    await page.waitForSelector(`.plan-row[data-programme="Bản tin trưa"]`, { timeout: T });
    await page.waitForSelector("#history tr", { timeout: T });
    log({ step: "schedule-saved" });

    // The log and the month's report; the XLSX as the CLI makes it.
    await page.goto(`${URL}/#nhat-ky`);
    await page.waitForSelector("#airings table", { timeout: T });
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: T }),
      page.click("#downloads a[data-format=xlsx]"),
    ]);
    const xlsx = path.join(OUT, "nhat-ky.xlsx");
    await download.saveAs(xlsx);
    log({ step: "xlsx", path: xlsx });
    const frame = page.frameLocator("#report");
    await frame.locator("text=BÁO CÁO KẾT QUẢ PHÁT THANH").waitFor({ timeout: T });

    // Every page at phone and desktop width.
    for (const [w, h, tag] of [[390, 844, "phone"], [1280, 900, "desktop"]]) {
      await page.setViewportSize({ width: w, height: h });
      // What shows that each page has drawn its data.
      const drawn = {
        "dang-phat": "#library-counts li", "thu-vien": "#items table", "phat-ngay": "#emergency-btn",
        lich: "#history table", "nhat-ky": "#audit table",
      };
      for (const p of Object.keys(drawn)) {
        await page.goto(`${URL}/#${p}`);
        await page.waitForSelector(drawn[p], { timeout: T });
        if (p === "lich") await page.waitForSelector("#plan .plan-day", { timeout: T });
        if (p === "nhat-ky") {
          await page.waitForSelector("#airings table", { timeout: T });
          await page.frameLocator("#report").locator("text=BÁO CÁO KẾT QUẢ PHÁT THANH").waitFor({ timeout: T });
        }
        await page.screenshot({ path: path.join(OUT, `${tag}-${p}.png`), fullPage: tag === "desktop" });
      }
    }
    check(errors.length === 0, `script errors in the page: ${errors.join("; ")}`);
    log({ step: "done" });
  } catch (e) {
    await page.screenshot({ path: path.join(OUT, "failure.png"), fullPage: true }).catch(() => {});
    log({ step: "failed", error: String(e && e.stack || e), page_errors: errors });
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
