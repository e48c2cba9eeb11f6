// Opens the operator page in headless Chromium and checks what an operator sees, then prints
// one JSON line:
//   {"charts":6,"chart_points":12,"sold":"1","replayed":"<dead letter id>",
//    "created":"made-by-page-<ms>","wall_ms":2100}
// Used by tests/gateway/gateway_operator_test.cc, which starts a gateway with traffic first.
//
//   node tests/gateway/operator_page_test.js URL SCREENSHOT.png [TIMEOUT_SEC]
//
// URL opens the console at once (/admin?event=ID#token=ADMIN_TOKEN). The script waits until
// every chart has data points (read from the page's Chart.js instances), the sale panel shows
// a seat sold and the dead-letter list an entry; writes the screenshot; clicks the entry's
// Replay button and waits until the page says it was replayed and the list changed; then
// creates an event with 50 places through the form and waits until the events list shows it. Chromium is driven over the
// DevTools protocol on a pipe, as bench/pow_browser.js does. Exit status 0 on success.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const url = process.argv[2];
const screenshot = process.argv[3];
const timeoutSec = Number(process.argv[4] || 30);
if (!url || !screenshot) {
  console.error('usage: node operator_page_test.js URL SCREENSHOT.png [TIMEOUT_SEC]');
  process.exit(2);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'admission-operator-chromium-'));
const chromium = spawn('/usr/bin/chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-dev-shm-usage', '--no-first-run', '--remote-debugging-pipe', '--hide-scrollbars',
  '--user-data-dir=' + profile, 'about:blank',
], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
const toBrowser = chromium.stdio[3];
const fromBrowser = chromium.stdio[4];

let nextId = 1;
const pending = new Map();
let buffered = '';
fromBrowser.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let nul;
  while ((nul = buffered.indexOf('\0')) >= 0) {
    const message = JSON.parse(buffered.slice(0, nul));
    buffered = buffered.slice(nul + 1);
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  }
});

function send(method, params, sessionId) {
  const id = nextId++;
  const message = { id, method, params: params || {} };
  if (sessionId) message.sessionId = sessionId;
  toBrowser.write(JSON.stringify(message) + '\0');
  return new Promise((resolve, reject) => {
    pending.set(id, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result)));
  });
}

let finished = false;
function finish(code, line) {
  if (finished) return;
  finished = true;
  if (line) console.log(JSON.stringify(line));
  const cleanUp = () => {
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      // A leftover temporary directory is not worth failing a run for.
    }
    process.exit(code);
  };
  if (chromium.exitCode !== null || chromium.signalCode !== null) return cleanUp();
  chromium.once('exit', cleanUp);
  chromium.kill('SIGKILL');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What the page shows, read in the page.
const probe = `(() => {
  const charts = window.admissionCharts || {};
  const names = Object.keys(charts);
  // The fewest data points of any chart (its longest dataset), so every chart must have some.
  let fewest = names.length ? Infinity : 0;
  for (const name of names) {
    const sets = charts[name].data.datasets;
    const points = Math.max(...sets.map((d) => d.data.filter((v) => v !== null).length));
    fewest = Math.min(fewest, points);
  }
  const dead = document.getElementById('dead-letters');
  const rows = dead ? [...dead.querySelectorAll('tbody tr')]
    .map((tr) => ({ id: tr.dataset.id, parkedAt: tr.dataset.parkedAt })) : [];
  return { charts: names.length, fewest, sold: document.getElementById('sale-sold').textContent,
           saleShown: !document.getElementById('sale').hidden, rows,
           replayed: dead ? dead.dataset.replayed || null : null,
           message: document.getElementById('op-message').textContent };
})()`;

async function main() {
  const start = Date.now();
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Emulation.setDeviceMetricsOverride',
    { width: 1280, height: 1700, deviceScaleFactor: 1, mobile: false }, sessionId);
  await send('Page.enable', {}, sessionId);
  await send('Page.navigate', { url }, sessionId);
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)
      .catch(() => null);
    return r && r.result ? r.result.value : null;
  };

  let seen = null;
  while (Date.now() - start < timeoutSec * 1000) {
    seen = await evaluate(probe);
    if (seen && seen.charts >= 6 && seen.fewest >= 3 && seen.saleShown && seen.sold !== '–' &&
        Number(seen.sold) >= 1 && seen.rows.length >= 1) break;
    await sleep(100);
  }
  if (!seen || !(seen.charts >= 6 && seen.fewest >= 3 && seen.rows.length >= 1)) {
    return finish(1, { error: 'the page never showed charts, the sale and a dead letter', seen });
  }
  const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
  fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));

  const id = seen.rows[0].id;
  const parkedAt = seen.rows[0].parkedAt;
  await evaluate(`document.querySelector('#dead-letters button[data-id="${id}"]').click()`);
  let after = null;
  while (Date.now() - start < timeoutSec * 1000) {
    after = await evaluate(probe);
    // The list changed: the entry left it, or came back parked anew (a payment for seats that
    // went back cannot succeed on a retry either).
    const row = after && after.rows.find((r) => r.id === id);
    if (after && after.replayed === id && (!row || row.parkedAt !== parkedAt)) break;
    await sleep(50);
  }
  const row = after && after.rows.find((r) => r.id === id);
  if (!after || after.replayed !== id || (row && row.parkedAt === parkedAt)) {
    return finish(1, { error: 'the replay did not go through', seen: after });
  }
  // The form makes an event and loads its inventory; the list of events shows it.
  const created = 'made-by-page-' + Date.now();
  await evaluate(`(() => {
    document.getElementById('n-event').value = '${created}';
    document.getElementById('n-places').value = '50';
    document.getElementById('n-currency').value = 'EUR';
    document.getElementById('n-price').value = '1000';
    document.getElementById('create').requestSubmit();
  })()`);
  let listed = false;
  while (Date.now() - start < timeoutSec * 1000) {
    listed = await evaluate(`[...document.querySelectorAll('#event-list tbody tr td:first-child')]
      .some((td) => td.textContent === '${created}')`);
    if (listed) break;
    await sleep(50);
  }
  if (!listed) return finish(1, { error: 'the created event is not listed', created });
  finish(0, { charts: seen.charts, chart_points: seen.fewest, sold: seen.sold, replayed: id,
    created,
    list_after: after.rows.length, message: after.message, wall_ms: Date.now() - start });
}

chromium.on('exit', () => finish(1, { error: 'chromium exited' }));
setTimeout(() => finish(1, { error: 'timeout' }), (timeoutSec + 10) * 1000);
main().catch((e) => finish(1, { error: String(e) }));
