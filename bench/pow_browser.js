// Opens a waiting-room page in headless Chromium and waits, in real time, until the page
// reaches a state (data-state of <main id="room">), then prints one JSON line:
//   {"state":"admitted","pow_ms":123,"pow_hashes":4567,"pow_difficulty":14,"wall_ms":900}
// (pow_* are absent when the page solved no proof of work). Used by the proof-of-work
// browser test (tests/gateway/gateway_pow_test.cc) and to measure solve times
// (docs/benchmarks.md, "Proof of work on join").
//
//   node bench/pow_browser.js URL [STATE] [TIMEOUT_SEC]     (STATE: admitted by default)
//
// `--dump-dom` with `--virtual-time-budget` cannot wait for a Web Worker (virtual time does not
// count its work), so this drives Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe: fd 3 in, fd 4 out, messages separated by NUL): no port, no
// WebSocket library. Exit status 0 when the state was reached, 1 otherwise.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const url = process.argv[2];
const want = process.argv[3] || 'admitted';
const timeoutSec = Number(process.argv[4] || 60);
if (!url) {
  console.error('usage: node pow_browser.js URL [STATE] [TIMEOUT_SEC]');
  process.exit(2);
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'admission-pow-chromium-'));
const chromium = spawn('/usr/bin/chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-dev-shm-usage', '--no-first-run', '--remote-debugging-pipe',
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
  // The profile goes once Chromium is gone (it writes to it until then).
  const cleanUp = () => {
    try {
      // Chromium's helper processes may still be writing for a moment after it exits.
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

async function main() {
  const start = Date.now();
  const { targetId } = await send('Target.createTarget', { url });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const probe = `(() => {
    const room = document.getElementById('room');
    const pow = document.getElementById('pow');
    if (!room) return null;
    return { state: room.dataset.state, ms: pow && pow.dataset.ms, hashes: pow && pow.dataset.hashes,
             difficulty: pow && pow.dataset.difficulty };
  })()`;
  let last = null;
  while (Date.now() - start < timeoutSec * 1000) {
    const r = await send('Runtime.evaluate', { expression: probe, returnByValue: true }, sessionId)
      .catch(() => null);
    last = r && r.result ? r.result.value : null;
    if (last && last.state === want) {
      const line = { state: last.state, wall_ms: Date.now() - start };
      if (last.ms !== undefined) {
        line.pow_ms = Number(last.ms);
        line.pow_hashes = Number(last.hashes);
        line.pow_difficulty = Number(last.difficulty);
      }
      return finish(0, line);
    }
    await sleep(50);
  }
  finish(1, { state: last ? last.state : null, timeout: true });
}

chromium.on('exit', () => finish(1, { error: 'chromium exited' }));
setTimeout(() => finish(1, { error: 'timeout' }), (timeoutSec + 10) * 1000);
main().catch((e) => finish(1, { error: String(e) }));
