// The console's weight and first render, in Debian's headless Chromium at phone size:
// bytes transferred for the page, and the time from navigation to the login form, and
// from pressing "Đăng nhập" to "Đang phát" showing what airs (with a slowed network like
// a weak Wi-Fi: 2 Mbit/s, 50 ms). Needs a running daemon with the console and an account:
//   LOAXA_URL=http://127.0.0.1:8080 LOAXA_USER=admin LOAXA_PASSWORD=… \
//     NODE_PATH=tests/console/node_modules node bench/console.js
"use strict";
const { chromium } = require("playwright-core");

const URL = process.env.LOAXA_URL.replace(/\/$/, "");
const RUNS = Number(process.env.RUNS || 10);
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  for (const [label, net] of [["loopback", null], ["2 Mbit/s, 50 ms", { latency: 50, downloadThroughput: 250_000, uploadThroughput: 125_000 }]]) {
    const form = [], live = [], bytes = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      if (net) await cdp.send("Network.emulateNetworkConditions", { offline: false, ...net });
      let total = 0;
      cdp.on("Network.loadingFinished", (e) => { total += e.encodedDataLength; });
      const t0 = Date.now();
      await page.goto(`${URL}/`);
      await page.waitForSelector("#login-user");
      form.push(Date.now() - t0);
      await page.fill("#login-user", process.env.LOAXA_USER);
      await page.fill("#login-password", process.env.LOAXA_PASSWORD);
      const t1 = Date.now();
      await page.click("#login button[type=submit]");
      await page.waitForSelector("#library-counts li, #library-counts .muted");
      live.push(Date.now() - t1);
      bytes.push(total);
      await ctx.close();
    }
    console.log(JSON.stringify({ network: label, runs: RUNS, login_form_ms: median(form), live_page_after_login_ms: median(live), bytes_to_login_form: median(bytes) }));
  }
  await browser.close();
})();
