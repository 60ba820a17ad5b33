// Drives kanaded's control page in a real headless Chromium (playwright-core) and prints
// what it saw as one JSON line for tests/daemon/test_kanaded_control_page.cpp to judge:
//   node control_page_check.cjs PAGE_URL OSC_PORT PLAYWRIGHT_CORE_DIR CHROMIUM [SCREENSHOT.png]
// Beside the page it is an OSC client on UDP 127.0.0.1: it subscribes to /kanade/planned
// (to compare with what the page drew), reads settings with /kanade/get and /kanade/status,
// and changes one to see the page follow.
"use strict";
const dgram = require("dgram");
const [url, oscPort, playwrightDir, chromiumPath, screenshot] = process.argv.slice(2);
const { chromium } = require(playwrightDir);

// ---- OSC 1.0, the little of it needed here.
function pad(text) { const b = Buffer.from(text + "\0"); return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]); }
function encode(address, args) {
  let tags = ",";
  const values = args.map((a) => {
    if (typeof a === "string") { tags += "s"; return pad(a); }
    const b = Buffer.alloc(4); tags += "f"; b.writeFloatBE(a); return b;
  });
  return Buffer.concat([pad(address), pad(tags), ...values]);
}
function decode(buffer) {
  let at = 0;
  const text = () => { const end = buffer.indexOf(0, at); const s = buffer.toString("utf8", at, end);
                       at = (end + 4) & ~3; return s; };
  const address = text(), tags = text(), args = [];
  for (const t of tags.slice(1)) {
    if (t === "i") { args.push(buffer.readInt32BE(at)); at += 4; }
    else if (t === "f") { args.push(buffer.readFloatBE(at)); at += 4; }
    else if (t === "s") args.push(text());
  }
  return { address, args };
}

const osc = dgram.createSocket("udp4");
const replies = [];
const subscribedPlanned = [];  // "step/channel/pitch"
osc.on("message", (packet) => {
  const m = decode(packet);
  if (m.address === "/kanade/planned") subscribedPlanned.push(`${m.args[3]}/${m.args[0]}/${m.args[1]}`);
  else replies.push(m);
});
const sendOsc = (address, args = []) => osc.send(encode(address, args), Number(oscPort), "127.0.0.1");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function ask(address, args, replyAddress) {
  replies.length = 0;
  sendOsc(address, args);
  for (let i = 0; i < 100; i++) {
    const found = replies.find((r) => r.address === replyAddress);
    if (found) return found;
    await sleep(20);
  }
  return null;
}
const statusValue = (status, key) => { const i = status.args.indexOf(key); return i < 0 ? null : status.args[i + 1]; };

async function until(page, test, limitMs) {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await page.evaluate(test)) return Date.now() - start;
    await sleep(10);
  }
  return null;
}

(async () => {
  const result = {};
  await new Promise((r) => osc.bind(0, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 760 } });
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(url);
    result.title = await page.title();
    result.connected_ms = await until(page, () => document.getElementById("connection").textContent === "connected", 10000);
    sendOsc("/kanade/subscribe");
    // Planned notes, drawn ahead of the play line, then played.
    result.planned_then_played_ms = await until(page, () => window.kanade.plannedThenPlayed >= 8, 20000);
    await sleep(4000);  // a stretch long enough to compare with what /kanade/subscribe got
    const seen = await page.evaluate(() => ({
      plannedSeen: window.kanade.plannedSeen, plannedAhead: window.kanade.plannedAhead,
      plannedThenPlayed: window.kanade.plannedThenPlayed, keys: [...window.kanade.planned.keys()],
      firstStep: Math.min(...[...window.kanade.planned.values()].map((n) => n.step)), step: window.kanade.step,
      device: window.kanade.status.device }));
    Object.assign(result, { planned_seen: seen.plannedSeen, planned_ahead: seen.plannedAhead,
                            planned_then_played: seen.plannedThenPlayed, device: seen.device });
    // What /kanade/subscribe planned, inside the stretch the page has watched, the page drew too.
    const pageKeys = new Set(seen.keys);
    const inside = subscribedPlanned.filter((k) => { const s = Number(k.split("/")[0]);
                                                     return s > seen.firstStep + 8 && s < seen.step - 8; });
    result.subscribed_planned = inside.length;
    result.subscribed_planned_on_page = inside.filter((k) => pageKeys.has(k)).length;

    // Moving controls on the page changes the daemon.
    await page.selectOption("#control-mode", "accompany");
    await page.evaluate(() => { const e = document.getElementById("control-temperature");
                                e.focus(); e.value = "1.5"; e.dispatchEvent(new Event("input"));
                                e.dispatchEvent(new Event("change")); e.blur(); });
    await sleep(300);
    const status = await ask("/kanade/status", [], "/kanade/status");
    result.status_mode = status && statusValue(status, "mode");
    const temperature = await ask("/kanade/get", ["/kanade/temperature"], "/kanade/get");
    result.get_temperature = temperature && temperature.args[1];

    // A change over OSC moves the page's control.
    const sent = Date.now();
    sendOsc("/kanade/temperature", [0.45]);
    await until(page, () => Math.abs(Number(document.getElementById("control-temperature").value) - 0.45) < 1e-6, 5000);
    result.osc_to_page_ms = Date.now() - sent;
    result.page_temperature = Number(await page.evaluate(() => document.getElementById("control-temperature").value));
    result.page_errors = pageErrors;
    if (screenshot) await page.screenshot({ path: screenshot });
  } finally {
    await browser.close();
    osc.close();
  }
  console.log("RESULT " + JSON.stringify(result));
})().catch((e) => { console.log("FAILED " + String(e && e.stack || e)); process.exit(1); });
