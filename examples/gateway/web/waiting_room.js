// The waiting room a ticket buyer sees. It joins the line, polls its status at the interval the
// server suggests (poll_after_ms), shows the position, the ETA with its confidence and a
// progress bar, and enters as soon as the server says the user is ready. Once in, it offers the
// demo sale behind the room: hold one seat and pay with the simulated provider's "approve"
// (docs/gateway.md, "The ticket flow"). No build step, no dependencies. URL parameters:
// ?event=ID (else the gateway's default event), ?user=ID (read only by a gateway started with
// --identity=trusted; the default mode gives each browser an identity of its own in a cookie),
// ?auto_enter=0 to wait for a click on Enter, ?auto_buy=1 to hold and pay as soon as admitted.
// With --identity=jwt the site's sign-in passes its identity token in the fragment,
// /#id_token=JWT: the page keeps it in sessionStorage, removes it from the address bar and
// sends it as Authorization: Bearer; the gateway's own tokens go in X-Admission-Token.
// When the gateway asks a proof of work for the join (pow_required and friends, with a
// challenge inside), a Web Worker (pow_worker.js) solves it while a bar shows the work done
// against the expected 2^difficulty hashes; the join is then sent again with the solution.
//
// Every string comes from strings.js, in the language of ?lang= or else the browser's
// (Accept-Language); <html lang> follows. Screen readers hear changes of place and state through
// one aria-live region (#announcer), at most one announcement per ANNOUNCE_GAP_MS, never a
// repeat. The tab title carries the place ("(#12) Waiting room"). When the turn comes the title
// changes, a short tone plays if the page was clicked or typed in (browsers allow sound only
// after a gesture), and a notification shows if the visitor allowed them (asked only from the
// "Alert me" button). The operator's message (policy queue_message) has a region of its own,
// set with textContent.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);
  const autoEnter = params.get('auto_enter') !== '0';
  const autoBuy = params.get('auto_buy') === '1';
  const S = window.AdmissionStrings;
  const lang = S.pickLanguage(params.get('lang'), navigator.languages || [navigator.language]);
  const t = S.translator(lang);
  // The shortest gap between two announcements, so that a fast-moving line is not read out at
  // every poll; the latest place is said when the gap has passed.
  const ANNOUNCE_GAP_MS = 3000;

  const state = {
    eventId: params.get('event'),
    userId: params.get('user'),
    token: null,
    firstPosition: null,
    timer: null,
    busy: false,
    expiresAt: 0,
    reservation: null,
    // The solution ("CHALLENGE;NONCE") the next join sends, and the proofs refused in a row.
    pow: null,
    powFailures: 0,
    // What was last said aloud (announce), and when; a place waiting for the gap to pass.
    announced: { position: null, view: null, message: null, at: 0 },
    pendingAnnounce: null,
    alerted: false,     // the "your turn" alert went off
    audio: null,        // an AudioContext, made on the first user gesture
    lastPosition: null,
  };

  // --- Language, announcements and the turn alert -------------------------------------------

  function applyStaticStrings() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) {
      el.textContent = t(el.dataset.i18n);
    }
    for (const el of document.querySelectorAll('[data-i18n-label]')) {
      el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    }
    document.title = t('page_title');
  }

  // Says `text` through the live region now, or after the gap when one was said just before.
  function say(text) {
    const now = Date.now();
    const wait = state.announced.at + ANNOUNCE_GAP_MS - now;
    clearTimeout(state.pendingAnnounce);
    if (wait > 0) {
      state.pendingAnnounce = setTimeout(() => say(text), wait);
      return;
    }
    state.announced.at = now;
    $('announcer').textContent = text;
  }

  // Announces what changed since the last announcement: the view (state) first, then the place.
  function announce(view, headline, position) {
    const parts = [];
    if (view !== state.announced.view) {
      state.announced.view = view;
      if (headline) parts.push(headline);
    }
    if (position !== null && position !== state.announced.position) {
      state.announced.position = position;
      parts.push(position <= 1 ? t('announce_next')
        : t('announce_position', { position: position.toLocaleString(lang) }));
    }
    if (parts.length) say(parts.join(' '));
  }

  function setTitle(position) {
    document.title = position ? t('title_position', { position: position.toLocaleString(lang) })
      : t('page_title');
  }

  // The operator's message (the status's "message"): plain text in its own region.
  function showQueueMessage(message) {
    const text = message || '';
    $('notice').hidden = text === '';
    if ($('queue-message').textContent !== text) $('queue-message').textContent = text;
    if (text !== '' && text !== state.announced.message) {
      say(t('announce_message', { message: text }));
    }
    state.announced.message = text;
  }

  // Browsers let a page make sound only after the visitor clicked or typed in it.
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!state.audio) {
      try {
        state.audio = new Ctx();
      } catch (e) {
        return;
      }
    }
    if (state.audio.state === 'suspended') state.audio.resume();
  }

  function chime() {
    const ctx = state.audio;
    if (!ctx || ctx.state !== 'running') return;
    const now = ctx.currentTime;
    [880, 1320].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.18);
      osc.stop(now + i * 0.18 + 0.17);
    });
  }

  // The turn came (ready, or admitted): title, tone, notification; once.
  function alertTurn(titleKey) {
    document.title = t(titleKey);
    if (state.alerted) return;
    state.alerted = true;
    chime();
    if (window.Notification && Notification.permission === 'granted') {
      try {
        new Notification(t('ready_headline'), { body: t('notify_body'), tag: 'admission-turn' });
      } catch (e) {
        // Some browsers allow notifications only from a service worker: the title still shows.
      }
    }
  }

  // The "Alert me" button: asks for notifications (only on this click) and unlocks the tone.
  function setupAlertButton() {
    const button = $('alert-me');
    const canNotify = window.Notification && Notification.permission === 'default';
    button.hidden = !canNotify;
    button.addEventListener('click', async () => {
      unlockAudio();
      try {
        await Notification.requestPermission();
      } catch (e) {
        // Old browsers take a callback instead; the tone and the title still alert.
      }
      button.hidden = true;
      $('alert-state').hidden = false;
      $('alert-state').textContent = t('alert_on');
    });
  }

  // The identity provider's token (--identity=jwt), from the fragment or an earlier load.
  const idToken = (function () {
    const m = /(?:^#|&)id_token=([^&]+)/.exec(window.location.hash);
    if (m) {
      sessionStorage.setItem('admission.id_token', decodeURIComponent(m[1]));
      history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    return sessionStorage.getItem('admission.id_token');
  })();

  // The headers of a call as the user: the identity token if any, the gateway's own admission
  // or reservation token if given, and `extra`.
  function auth(gatewayToken, extra) {
    const h = Object.assign({}, extra);
    if (idToken) h.Authorization = 'Bearer ' + idToken;
    if (gatewayToken) h['X-Admission-Token'] = gatewayToken;
    return h;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  async function api(method, path, body, headers) {
    const options = { method, headers: Object.assign({ Accept: 'application/json' }, headers) };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, options);
    } catch (e) {
      return { status: 0, data: null, retryAfter: 3 };
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    return { status: res.status, data, retryAfter: Number(res.headers.get('Retry-After')) || 0 };
  }

  function storageKey() {
    return 'admission.room.' + state.eventId;
  }
  function save() {
    sessionStorage.setItem(storageKey(), JSON.stringify({
      token: state.token, firstPosition: state.firstPosition,
    }));
  }
  function forget() {
    sessionStorage.removeItem(storageKey());
    state.token = null;
    state.firstPosition = null;
  }

  function schedule(fn, ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(fn, Math.max(250, ms));
  }

  // The view (a state name for the CSS and the announcements), its headline and message. The
  // headline is announced when the view changes; `position` (waiting views) when it changes.
  function setView(name, headline, message, position) {
    $('room').dataset.state = name;
    if (headline !== undefined) $('headline').textContent = headline;
    $('message').textContent = message || '';
    announce(name, headline !== undefined ? headline : $('headline').textContent,
      position === undefined ? null : position);
  }

  function formatDuration(sec) {
    if (sec === null || sec === undefined || !isFinite(sec)) return t('unknown');
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return t('seconds', { n: sec });
    const min = Math.round(sec / 60);
    if (min < 60) return t('minutes', { n: min });
    return t('hours', { h: Math.floor(min / 60), m: min % 60 });
  }

  function confidenceWords(c) {
    if (c >= 0.7) return t('confidence_high');
    if (c >= 0.4) return t('confidence_medium');
    return t('confidence_low');
  }

  function setProgress(position) {
    let pct = 0;
    if (position <= 1) {
      pct = 100;
    } else if (state.firstPosition && state.firstPosition > 1) {
      pct = 100 * (state.firstPosition - position) / (state.firstPosition - 1);
    }
    pct = Math.max(0, Math.min(100, pct));
    $('progress-bar').style.width = pct.toFixed(1) + '%';
    $('progress').setAttribute('aria-valuenow', String(Math.round(pct)));
  }

  function showButtons(which) {
    for (const id of ['enter', 'buy', 'complete', 'leave', 'rejoin']) {
      $(id).hidden = !which.includes(id);
    }
  }

  function formatClock(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
  }

  // Before the opening: no place yet. Everyone here before the opening gets a place drawn at
  // random when it opens, so there is nothing to gain by hurrying or refreshing.
  function renderPrequeue(s) {
    $('position').textContent = t('drawn_at', { time: formatClock(s.opens_at) });
    $('eta').textContent = t('opens_in', { duration: formatDuration(s.opens_in_sec) });
    $('confidence').textContent = '';
    $('waited').textContent = formatDuration(s.waiting_time);
    setProgress(0);
    $('enter').disabled = true;
    showButtons(['enter', 'leave']);
    setTitle(null);
    const others = Math.max(0, (s.position_high || 1) - 1);
    setView('prequeue', t('prequeue_headline'),
      t('prequeue_text', { time: formatClock(s.opens_at) }) +
      (others > 0 ? ' ' + t('prequeue_others', { n: others.toLocaleString(lang) }) : ''));
  }

  function renderWaiting(s) {
    showQueueMessage(s.message);
    if (s.status === 'prequeue') return renderPrequeue(s);
    if (state.firstPosition === null || s.position > state.firstPosition) {
      state.firstPosition = s.position;
      save();
    }
    // A place known only as a range (random method): show both ends.
    const ranged = s.position_high && s.position_high > s.position;
    $('position').textContent = s.position <= 0 ? t('dash')
      : '#' + s.position.toLocaleString(lang) +
        (ranged ? '–' + s.position_high.toLocaleString(lang) : '');
    if (s.ready_for_entry) {
      $('eta').textContent = t('now');
      $('confidence').textContent = '';
    } else {
      $('eta').textContent = s.eta_sec === null ? t('unknown')
        : ranged && s.eta_high_sec !== null && s.eta_high_sec !== undefined
          ? t('range', { low: formatDuration(s.eta_low_sec), high: formatDuration(s.eta_high_sec) })
          : t('about', { duration: formatDuration(s.eta_sec) });
      const c = s.eta_confidence || 0;
      $('confidence').textContent =
        t('confidence', { level: confidenceWords(c), percent: Math.round(c * 100) });
    }
    $('waited').textContent = formatDuration(s.waiting_time);
    setProgress(s.position);
    $('enter').disabled = !s.ready_for_entry;
    showButtons(['enter', 'leave']);
    const place = s.position > 0 ? s.position : null;
    if (s.ready_for_entry) {
      setView('ready', t('ready_headline'), autoEnter ? t('entering') : t('press_enter'), place);
      alertTurn('title_ready');
    } else if (s.reason === 'paused') {
      // The operator's pause reason is their own text, in their language.
      setTitle(place);
      setView('paused', t('paused_headline'), s.paused_reason || t('paused_text'), place);
    } else if (s.reason === 'capacity_full') {
      setTitle(place);
      setView('waiting', t('in_line'), t('capacity_full'), place);
    } else if (ranged) {
      setTitle(place);
      setView('waiting', t('in_line'), t('ranged_text'), place);
    } else {
      setTitle(place);
      const ahead = s.ahead !== undefined ? s.ahead : Math.max(0, s.position - 1);
      setView('waiting', t('in_line'),
        ahead === 0 ? t('you_are_next')
          : ahead === 1 ? t('one_ahead') : t('people_ahead', { n: ahead.toLocaleString(lang) }),
        place);
    }
  }

  function renderEnded(status) {
    clearTimeout(state.timer);
    forget();
    $('enter').disabled = true;
    showButtons(['rejoin']);
    const text = {
      expired: [t('expired_headline'), t('expired_text')],
      left: [t('left_headline'), t('rejoin_text')],
      completed: [t('completed_headline'), t('completed_text')],
      gone: [t('gone_headline'), t('rejoin_text')],
    }[status] || [t('gone_headline'), t('rejoin_text')];
    setTitle(null);
    showQueueMessage('');
    setView(status, text[0], text[1]);
  }

  function renderAdmitted(grant) {
    clearTimeout(state.timer);
    state.reservation = grant.reservation_token;
    state.expiresAt = Date.now() + grant.ttl_sec * 1000;
    $('reservation').textContent = grant.reservation_token.slice(0, 24) + '…';
    $('admitted').hidden = false;
    $('position').textContent = t('dash');
    $('eta').textContent = t('now');
    $('confidence').textContent = '';
    setProgress(1);
    showButtons(['buy', 'complete', 'leave']);
    $('leave').textContent = t('button_give_up');
    showQueueMessage('');
    setView('admitted', t('welcome_in'), '');
    alertTurn('title_admitted');
    tickReservation();
    if (autoBuy) buy();
  }

  function errorText(r, fallback) {
    return (r.data && r.data.error) ? r.data.error.message : fallback;
  }

  function showOrder(title, detail) {
    $('order').hidden = false;
    $('order-title').textContent = title;
    $('order-detail').textContent = detail;
  }

  function seatsText(res) {
    return res.seat_ids && res.seat_ids.length ? t('seat_list', { seats: res.seat_ids.join(', ') })
      : t('places', { n: res.quantity });
  }

  // The demo sale: hold one seat (with the admission token), pay with the simulated provider's
  // "approve" (with the token scoped to that reservation), then wait for the worker's outcome.
  async function buy() {
    if (!state.reservation || state.busy) return;
    state.busy = true;
    $('buy').disabled = true;
    const held = await api('POST', '/api/v1/reservations', { event_id: state.eventId, quantity: 1 },
      auth(state.reservation, { 'Idempotency-Key': uuid() }));
    state.busy = false;
    if (held.status !== 201) {
      $('buy').disabled = false;
      if (held.status === 410) return renderEnded('gone');
      const why = {
        404: t('no_sale'),
        409: t('sold_out', { detail: errorText(held, t('no_seat_left')) }),
        401: t('token_expired_rejoin'),
      }[held.status] || errorText(held, t('hold_failed'));
      $('message').textContent = why;
      return;
    }
    const res = held.data;
    clearTimeout(state.timer);
    $('admitted').hidden = true;
    showButtons([]);
    showOrder(t('held', { what: seatsText(res) }), t('paying'));
    setView('admitted', t('paying'), '');
    // The hold's total when the event has prices (the gateway refuses any other amount).
    const paid = await api('POST', '/api/v1/payment/intent',
      { reservation_id: res.reservation_id, amount: res.total || 1000,
        currency: res.currency || 'EUR', scenario: 'approve' },
      auth(res.reservation_token, { 'Idempotency-Key': uuid() }));
    if (paid.status !== 202) {
      showOrder(t('held', { what: seatsText(res) }), errorText(paid, t('payment_failed')));
      return;
    }
    state.reservation = null;
    forget();
    awaitOutcome(res.reservation_id, res.reservation_token, 0);
  }

  async function awaitOutcome(id, token, tries) {
    const r = await api('GET', '/api/v1/reservations/' + encodeURIComponent(id), undefined,
      auth(token));
    const res = r.status === 200 ? r.data : null;
    if (res && res.status === 'CONFIRMED') {
      const yours = t('order_yours', { what: seatsText(res), id });
      showOrder(t('order_confirmed'), yours.charAt(0).toUpperCase() + yours.slice(1));
      return setView('purchased', t('order_confirmed'), t('thank_you'));
    }
    if (res && res.status !== 'HOLD') {
      showOrder(t('no_order'), t('order_ended', { status: res.status.toLowerCase() }));
      showButtons(['rejoin']);
      return setView('not-purchased', t('purchase_failed'), '');
    }
    if (tries >= 60) {
      return showOrder(t('payment_pending'), t('payment_pending_text'));
    }
    schedule(() => awaitOutcome(id, token, tries + 1), 500);
  }

  function tickReservation() {
    if (!state.reservation) return;
    const left = Math.max(0, (state.expiresAt - Date.now()) / 1000);
    $('admitted-valid').textContent = t('admitted_valid', { ttl: formatDuration(left) });
    if (left > 0) {
      schedule(tickReservation, 1000);
    } else {
      $('message').textContent = t('token_expired');
    }
  }

  // Shows the proof-of-work bar: `hashes` tried of the 2^difficulty expected (the search may
  // take longer than expected, so the bar stops short of the end until it is done).
  function showPow(difficulty, hashes, done) {
    const expected = Math.pow(2, difficulty);
    const share = done ? 1 : Math.min(hashes / expected, 0.99);
    $('pow').hidden = false;
    $('pow-bar').style.width = (share * 100).toFixed(1) + '%';
    $('pow-progress').setAttribute('aria-valuenow', String(Math.round(share * 100)));
    $('pow-text').textContent = done
      ? t('pow_done', { n: hashes.toLocaleString(lang) })
      : t('pow_progress', { n: hashes.toLocaleString(lang), expected: expected.toLocaleString(lang) });
  }

  // Finds the nonce of `challenge` ({challenge, difficulty}) in a worker; resolves to the
  // header value of the join. Without workers it hashes on this thread, in slices.
  function solvePow(challenge) {
    setView('verifying', t('verifying'), t('verifying_text'));
    showPow(challenge.difficulty, 0, false);
    return new Promise((resolve) => {
      const finish = (nonce, hashes, ms) => {
        showPow(challenge.difficulty, hashes, true);
        $('pow').dataset.ms = String(Math.round(ms));
        $('pow').dataset.hashes = String(hashes);
        $('pow').dataset.difficulty = String(challenge.difficulty);
        resolve(challenge.challenge + ';' + nonce);
      };
      if (window.Worker) {
        const worker = new Worker('/static/pow_worker.js');
        worker.onmessage = (e) => {
          if (e.data.type === 'progress') return showPow(challenge.difficulty, e.data.hashes, false);
          worker.terminate();
          finish(e.data.nonce, e.data.hashes, e.data.ms);
        };
        worker.postMessage({ challenge: challenge.challenge, difficulty: challenge.difficulty });
        return;
      }
      const solver = new window.AdmissionSha256.Solver(challenge.challenge);
      const start = performance.now();
      let n = 0;
      const slice = () => {
        for (const end = n + 20000; n < end; n++) {
          if (solver.zeroBits(String(n)) >= challenge.difficulty) {
            return finish(String(n), n + 1, performance.now() - start);
          }
        }
        showPow(challenge.difficulty, n, false);
        setTimeout(slice, 0);
      };
      slice();
    });
  }

  async function join() {
    setView('joining', t('joining'), '');
    const body = { event_id: state.eventId };
    if (state.userId) body.user_id = state.userId;
    const headers = { 'Idempotency-Key': uuid() };
    if (state.pow) headers['X-Admission-PoW'] = state.pow;
    state.pow = null;
    const r = await api('POST', '/api/v1/queue/join', body, auth(null, headers));
    const powError = r.data && r.data.error && r.data.error.challenge &&
      String(r.data.error.code).startsWith('pow_') ? r.data.error : null;
    if (powError) {
      // A fresh challenge came with the refusal: solve it and join again. Several refusals in
      // a row mean something is off (a clock, a proxy): slow down rather than spin.
      state.powFailures += 1;
      if (state.powFailures > 3) {
        state.powFailures = 0;
        setView('error', t('joining'), t('retrying_in', { detail: powError.message, n: 5 }));
        schedule(join, 5000);
        return;
      }
      if (powError.challenge.required) state.pow = await solvePow(powError.challenge);
      return join();
    }
    state.powFailures = 0;
    // 200: this identity already had a place (another tab): it is the same one.
    if (r.status === 202 || r.status === 200) {
      $('pow').hidden = true;  // the check is done; its figures stay in its data-* attributes
      state.token = r.data.waiting_token;
      state.firstPosition = r.data.position_hint;
      save();
      if (r.data.status === 'active') return enter();  // admitted at once: no line today
      renderWaiting({
        status: r.data.status, position: r.data.position_hint,
        position_high: r.data.position_high, eta_sec: r.data.eta_sec,
        eta_confidence: r.data.eta_confidence, waiting_time: 0,
        ready_for_entry: r.data.ready_for_entry,
        opens_at: r.data.opens_at, opens_in_sec: r.data.opens_in_sec,
        message: r.data.message,
      });
      schedule(poll, r.data.ready_for_entry ? 0 : r.data.poll_after_ms);
    } else if (r.status === 409) {
      const error = (r.data && r.data.error) || {};
      showButtons([]);
      if (error.code === 'not_open_yet') {
        // Come back by ourselves when the pre-queue opens.
        setView('closed', t('opens_at_headline', { time: formatClock(error.opens_at) }),
          t('opens_at_text'));
        schedule(join, (error.retry_after_sec || r.retryAfter || 5) * 1000);
      } else if (error.code === 'closed') {
        setView('closed', t('closed_headline'), t('closed_text'));
      } else if (error.code === 'rejected') {
        // The reject method's message is the operator's own text.
        setView('closed', t('rejected_headline'), error.message || '');
      } else {
        setView('error', t('already_headline'), t('already_text'));
      }
    } else if (r.status === 401) {
      // --identity=jwt without a valid identity token: only the site's sign-in can help.
      sessionStorage.removeItem('admission.id_token');
      setView('error', t('sign_in_headline'), t('sign_in_text'));
    } else {
      const retry = r.retryAfter || 5;
      setView('error', t('joining'), t('retrying_in', {
        detail: r.status === 0 ? t('connection_problem')
          : (r.data && r.data.error ? r.data.error.message : t('connection_problem')),
        n: retry,
      }));
      schedule(join, retry * 1000);
    }
  }

  async function poll() {
    if (!state.token) return;
    const r = await api('GET', '/api/v1/queue/status?token=' + encodeURIComponent(state.token));
    if (r.status === 200) {
      const s = r.data;
      if (s.status === 'waiting' || s.status === 'ready' || s.status === 'prequeue') {
        renderWaiting(s);
        if (s.ready_for_entry && autoEnter) return enter();
        schedule(poll, s.poll_after_ms);
      } else if (s.status === 'active') {
        // Admitted earlier (say, before a reload): Enter hands back the same grant.
        enter();
      } else {
        renderEnded(s.status);
      }
    } else if (r.status === 404) {
      renderEnded('expired');
    } else {
      $('message').textContent = t('connection_retrying');
      schedule(poll, (r.retryAfter || 3) * 1000);
    }
  }

  async function enter() {
    if (state.busy || !state.token) return;
    state.busy = true;
    $('enter').disabled = true;
    const r = await api('POST', '/api/v1/queue/enter', { waiting_token: state.token },
      auth(null, { 'Idempotency-Key': uuid() }));
    state.busy = false;
    if (r.status === 200 && r.data.admission === 'granted') {
      renderAdmitted(r.data);
    } else if (r.status === 429 && r.data && r.data.admission === 'denied') {
      $('message').textContent = t('not_yet', { n: r.data.retry_after_sec });
      schedule(poll, r.data.retry_after_sec * 1000);
    } else if (r.status === 410 || r.status === 404) {
      renderEnded('gone');
    } else {
      $('message').textContent = t('enter_retrying');
      schedule(poll, (r.retryAfter || 3) * 1000);
    }
  }

  async function complete() {
    if (!state.reservation) return;
    const r = await api('POST', '/api/v1/queue/complete', undefined,
      auth(state.reservation, { 'Idempotency-Key': uuid() }));
    if (r.status === 200) {
      state.reservation = null;
      $('admitted').hidden = true;
      renderEnded('completed');
    } else {
      $('message').textContent = (r.data && r.data.error) ? r.data.error.message : t('finish_failed');
    }
  }

  async function leave() {
    clearTimeout(state.timer);
    if (state.token) {
      await api('DELETE', '/api/v1/queue/leave?token=' + encodeURIComponent(state.token),
        undefined, auth(null));
    }
    state.reservation = null;
    $('admitted').hidden = true;
    renderEnded('left');
  }

  async function start() {
    if (!state.eventId) {
      const r = await api('GET', '/api/v1/config');
      state.eventId = (r.data && r.data.default_event) || 'demo';
    }
    $('event-title').textContent = state.eventId;
    // Any click or key may be the gesture that lets the turn's tone play later.
    document.addEventListener('click', unlockAudio);
    document.addEventListener('keydown', unlockAudio);
    setupAlertButton();
    $('enter').addEventListener('click', enter);
    $('complete').addEventListener('click', complete);
    $('buy').addEventListener('click', buy);
    $('leave').addEventListener('click', leave);
    $('rejoin').addEventListener('click', () => {
      $('admitted').hidden = true;
      $('order').hidden = true;
      join();
    });
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(storageKey()) || 'null');
    } catch (e) {
      saved = null;
    }
    if (saved && saved.token) {
      state.token = saved.token;
      state.firstPosition = saved.firstPosition;
      setView('waiting', t('welcome_back'), t('checking_place'));
      poll();
    } else {
      join();
    }
  }

  applyStaticStrings();
  start();
})();
