// The visitor page (examples/gateway/web/index.html) in headless Chromium, against a running
// gateway (tests/gateway/visitor_page_test.cc starts one and runs this script):
//   - in every language of strings.js, chosen by ?lang= and by the browser's Accept-Language:
//     <html lang> is set and no English string of the table is left on the page;
//   - the operator's queue_message (set through the admin API) appears within one poll, as
//     text (never as HTML);
//   - the aria-live region says the new place when users ahead leave;
//   - at 360 px wide nothing scrolls sideways, and the buttons are reached by the keyboard.
//
//   node visitor_page_test.js BASE_URL ADMIN_TOKEN STRINGS_JS [SCREENSHOT.png]
//
// Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe, as
// bench/pow_browser.js does). Prints one line per check; exit status 0 when all passed.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const vm = require('vm');

const [base, adminToken, stringsFile, screenshot] = process.argv.slice(2);
if (!base || !adminToken || !stringsFile) {
  console.error('usage: node visitor_page_test.js BASE_URL ADMIN_TOKEN STRINGS_JS [SCREENSHOT]');
  process.exit(2);
}

// The page's own table, read the way the page reads it.
const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(stringsFile, 'utf8'), sandbox);
const { STRINGS } = sandbox.window.AdmissionStrings;
const LANGUAGES = Object.keys(STRINGS);
const EVENT = 'visitor-page';

// --- Chromium over a pipe --------------------------------------------------------------------

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'admission-visitor-chromium-'));
const chromium = spawn('/usr/bin/chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-dev-shm-usage', '--no-first-run', '--remote-debugging-pipe',
  '--hide-scrollbars', '--user-data-dir=' + profile, 'about:blank',
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
    pending.set(id, (m) => (m.error ? reject(new Error(method + ': ' + JSON.stringify(m.error)))
      : resolve(m.result)));
  });
}

let failures = 0;
let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
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

function check(ok, what, detail) {
  console.log((ok ? 'ok    ' : 'FAIL  ') + what + (detail ? ': ' + detail : ''));
  if (!ok) failures += 1;
  return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A tab of its own (its own sessionStorage), optionally with the browser's languages and a
// viewport; navigates to `url`.
async function openPage(url, options = {}) {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  if (options.acceptLanguage) {
    const { userAgent } = await send('Browser.getVersion');
    // Sets both the Accept-Language header and navigator.languages, as a browser set up in
    // that language would send them.
    await send('Emulation.setUserAgentOverride',
      { userAgent, acceptLanguage: options.acceptLanguage }, sessionId);
  }
  if (options.width) {
    await send('Emulation.setDeviceMetricsOverride', {
      width: options.width, height: options.height || 800, deviceScaleFactor: 1,
      mobile: !!options.mobile,
    }, sessionId);
  }
  await send('Page.enable', {}, sessionId);
  await send('Page.navigate', { url }, sessionId);
  return { targetId, sessionId };
}

async function evaluate(page, expression) {
  const r = await send('Runtime.evaluate',
    { expression, returnByValue: true, awaitPromise: true }, page.sessionId);
  if (r.exceptionDetails) throw new Error('page error: ' + JSON.stringify(r.exceptionDetails));
  return r.result.value;
}

// Polls `expression` in the page until it is truthy; its value, or null at the deadline.
async function waitFor(page, expression, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await evaluate(page, expression).catch(() => null);
    if (v) return v;
    await sleep(50);
  }
  return null;
}

async function closePage(page) {
  await send('Target.closeTarget', { targetId: page.targetId }).catch(() => null);
}

// --- The gateway ----------------------------------------------------------------------------

async function api(method, pathname, body, admin) {
  const headers = { 'Content-Type': 'application/json' };
  if (admin) headers.Authorization = 'Bearer ' + adminToken;
  const r = await fetch(base + pathname,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch (e) {
    data = text;
  }
  return { status: r.status, data };
}

function pageUrl(user, lang) {
  return base + '/?event=' + EVENT + '&user=' + encodeURIComponent(user) + '&auto_enter=0' +
    (lang ? '&lang=' + lang : '');
}

// English text of the table left on a page in another language: the pieces (between
// placeholders) of every English string that this language translates differently, long enough
// not to be a shared word or a unit.
function englishLeft(text, lang) {
  const left = [];
  for (const [key, en] of Object.entries(STRINGS.en)) {
    const own = STRINGS[lang][key];
    if (own === undefined) {
      left.push(key + ' (missing)');
      continue;
    }
    if (own === en) continue;
    for (const piece of en.split(/\{\w+\}/)) {
      const p = piece.trim();
      if (p.length >= 6 && text.includes(p)) left.push(key + ': "' + p + '"');
    }
  }
  return left;
}

const VISIBLE_TEXT = `(() => {
  const labels = Array.from(document.querySelectorAll('[aria-label]'))
    .map((e) => e.getAttribute('aria-label'));
  return { lang: document.documentElement.lang, title: document.title,
           text: document.body.innerText + '\\n' + labels.join('\\n'),
           state: document.getElementById('room').dataset.state };
})()`;
const IN_LINE = `document.getElementById('room').dataset.state === 'waiting' &&
  /#/.test(document.getElementById('position').textContent)`;

async function checkLanguages() {
  for (const lang of LANGUAGES) {
    for (const mode of ['param', 'header']) {
      const started = Date.now();
      const page = mode === 'param'
        ? await openPage(pageUrl('lang-' + lang + '-' + mode, lang))
        : await openPage(pageUrl('lang-' + lang + '-' + mode),
          { acceptLanguage: lang === 'en' ? 'en-US,en;q=0.9' : lang + '-XX,' + lang + ';q=0.9,en;q=0.5' });
      const ready = await waitFor(page, IN_LINE, 10000);
      const seen = await evaluate(page, VISIBLE_TEXT);
      const what = lang + ' by ' + (mode === 'param' ? '?lang=' : 'Accept-Language');
      check(ready, what + ': in line', seen.state);
      check(seen.lang === lang, what + ': <html lang>', seen.lang);
      check(/^\(#\d/.test(seen.title), what + ': the title shows the place', seen.title);
      if (lang !== 'en') {
        const left = englishLeft(seen.text, lang);
        check(left.length === 0, what + ': no English left', left.join('; '));
        check(seen.text.includes(STRINGS[lang].label_position),
          what + ': strings switched', STRINGS[lang].label_position);
      }
      console.log('      (' + (Date.now() - started) + ' ms)');
      await closePage(page);
    }
  }
}

// The operator's message and the live region, on one page in line behind three users.
async function checkMessageAndAnnouncements() {
  const ahead = [];
  for (const user of ['ahead-1', 'ahead-2', 'ahead-3']) {
    const r = await api('POST', '/api/v1/queue/join', { event_id: EVENT, user_id: user });
    check(r.status === 202 || r.status === 200, 'join ' + user, String(r.status));
    if (r.data && r.data.waiting_token) ahead.push(r.data.waiting_token);
  }
  const page = await openPage(pageUrl('listener', 'en'));
  check(await waitFor(page, IN_LINE, 10000), 'listener in line');
  const token = await evaluate(page,
    `JSON.parse(sessionStorage.getItem('admission.room.${EVENT}') || '{}').token`);
  const status = await api('GET', '/api/v1/queue/status?token=' + encodeURIComponent(token));
  const pollMs = status.data.poll_after_ms;
  const positionBefore = status.data.position;
  check(positionBefore >= 4, 'listener behind the three', String(positionBefore));
  // Let the first announcement of the place go out, then note it.
  await waitFor(page, `/\\d/.test(document.getElementById('announcer').textContent)`, 10000);
  await sleep(3100);
  const before = await evaluate(page, `document.getElementById('announcer').textContent`);

  // The message, as an operator sets it (markup in it stays text).
  const message = 'Sales resume at 10:30 <b>sharp</b>';
  const set = Date.now();
  const put = await api('PUT', '/admin/v1/events/' + EVENT + '/policy',
    { queue_message: message }, true);
  check(put.status === 200, 'set queue_message', JSON.stringify(put.data).slice(0, 200));
  const shown = await waitFor(page,
    `!document.getElementById('notice').hidden &&
     document.getElementById('queue-message').textContent === ${JSON.stringify(message)} &&
     document.getElementById('queue-message').children.length === 0`, pollMs + 5000);
  const took = Date.now() - set;
  check(shown && took <= pollMs + 1500, 'queue_message shown within one poll',
    took + ' ms, poll ' + pollMs + ' ms');

  if (screenshot) {
    const clean = 'Sales resume at 10:30. Thank you for your patience!';
    await api('PUT', '/admin/v1/events/' + EVENT + '/policy', { queue_message: clean }, true);
    await waitFor(page, `document.getElementById('queue-message').textContent === ${JSON.stringify(clean)}`,
      pollMs + 5000);
    await send('Emulation.setDeviceMetricsOverride',
      { width: 720, height: 860, deviceScaleFactor: 1, mobile: false }, page.sessionId);
    await sleep(300);
    const shot = await send('Page.captureScreenshot', { format: 'png' }, page.sessionId);
    fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
    console.log('      screenshot: ' + screenshot);
  }

  // Users ahead leave: the place changes, and the live region says so.
  for (const t of ahead.slice(0, 2)) {
    await api('DELETE', '/api/v1/queue/leave?token=' + encodeURIComponent(t));
  }
  const want = String(positionBefore - 2);
  const sentence = STRINGS.en.announce_position.replace('{position}', want);
  const moved = Date.now();
  const said = await waitFor(page,
    `(() => { const t = document.getElementById('announcer').textContent;
              return t !== ${JSON.stringify(before)} && t.includes(${JSON.stringify(sentence)}) && t; })()`,
    pollMs + 8000);
  check(!!said, 'aria-live region says the new place',
    JSON.stringify(before) + ' -> ' + JSON.stringify(said) + ' in ' + (Date.now() - moved) + ' ms');
  const live = await evaluate(page, `(() => { const a = document.getElementById('announcer');
    return a.getAttribute('aria-live') + '/' + a.getAttribute('role'); })()`);
  check(live === 'polite/status', 'the live region is polite', live);
  const title = await evaluate(page, 'document.title');
  check(title.startsWith('(#' + want + ')'), 'the title follows the place', title);
  // Cleared: the region goes away.
  await api('PUT', '/admin/v1/events/' + EVENT + '/policy', { queue_message: '' }, true);
  check(await waitFor(page, `document.getElementById('notice').hidden`, pollMs + 5000),
    'cleared message hidden');
  await closePage(page);
}

// A phone: 360 px wide, no sideways scroll; and the keyboard reaches the buttons.
async function checkPhoneAndKeyboard() {
  // A message with a long word, which must wrap rather than widen the page.
  await api('PUT', '/admin/v1/events/' + EVENT + '/policy',
    { queue_message: 'Verkaufsstart verschoben: Donaudampfschifffahrtsgesellschaftskapitän' }, true);
  for (const lang of LANGUAGES) {
    const page = await openPage(pageUrl('phone-' + lang, lang),
      { width: 360, height: 740, mobile: true });
    await waitFor(page, IN_LINE + ` && !document.getElementById('notice').hidden`, 10000);
    const width = await evaluate(page, `document.scrollingElement.scrollWidth`);
    check(width <= 360, lang + ' at 360 px: no horizontal scroll', 'scrollWidth ' + width);
    if (lang === 'en') {
      // Tab until a button has the focus; it must be a real <button> with a visible outline.
      let focused = null;
      for (let i = 0; i < 12 && !focused; i++) {
        for (const type of ['rawKeyDown', 'keyUp']) {
          await send('Input.dispatchKeyEvent', {
            type, key: 'Tab', code: 'Tab', windowsVirtualKeyCode: 9, nativeVirtualKeyCode: 9,
          }, page.sessionId);
        }
        focused = await evaluate(page, `(() => { const e = document.activeElement;
          if (!e || e.tagName !== 'BUTTON') return null;
          const s = getComputedStyle(e);
          return e.id + ' ' + s.outlineStyle + ' ' + s.outlineWidth; })()`);
      }
      check(focused && !/ none /.test(focused), 'keyboard reaches a button, focus visible',
        String(focused));
    }
    await closePage(page);
  }
  await api('PUT', '/admin/v1/events/' + EVENT + '/policy', { queue_message: '' }, true);
}

async function main() {
  const started = Date.now();
  // Nobody is admitted; the rate makes the page poll about once a second (half the ETA), as
  // it would near the front of a real line.
  const put = await api('PUT', '/admin/v1/events/' + EVENT + '/policy',
    { active_capacity: 0, admit_rate_per_sec: 5, burst: 1, queue_message: '' }, true);
  if (!check(put.status === 200, 'event set up', JSON.stringify(put.data).slice(0, 200))) {
    return finish(1);
  }
  await checkLanguages();
  await checkMessageAndAnnouncements();
  await checkPhoneAndKeyboard();
  console.log((failures ? failures + ' check(s) failed' : 'all checks passed') + ' in ' +
    (Date.now() - started) + ' ms');
  finish(failures ? 1 : 0);
}

chromium.on('exit', () => {
  if (!finished) {
    console.log('FAIL  chromium exited');
    finish(1);
  }
});
setTimeout(() => {
  console.log('FAIL  timeout');
  finish(1);
}, 120000);
main().catch((e) => {
  console.log('FAIL  ' + (e && e.stack ? e.stack : String(e)));
  finish(1);
});
