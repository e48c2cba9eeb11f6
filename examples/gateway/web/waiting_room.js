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
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);
  const autoEnter = params.get('auto_enter') !== '0';
  const autoBuy = params.get('auto_buy') === '1';

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
  };

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

  function setView(name, headline, message) {
    $('room').dataset.state = name;
    if (headline !== undefined) $('headline').textContent = headline;
    $('message').textContent = message || '';
  }

  function formatDuration(sec) {
    if (sec === null || sec === undefined || !isFinite(sec)) return 'unknown';
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    const min = Math.round(sec / 60);
    if (min < 60) return min + ' min';
    return Math.floor(min / 60) + ' h ' + (min % 60) + ' min';
  }

  function confidenceWords(c) {
    if (c >= 0.7) return 'high';
    if (c >= 0.4) return 'medium';
    return 'low';
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
    return isNaN(d) ? iso : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // Before the opening: no place yet. Everyone here before the opening gets a place drawn at
  // random when it opens, so there is nothing to gain by hurrying or refreshing.
  function renderPrequeue(s) {
    $('position').textContent = 'drawn at ' + formatClock(s.opens_at);
    $('eta').textContent = 'opens in ' + formatDuration(s.opens_in_sec);
    $('confidence').textContent = '';
    $('waited').textContent = formatDuration(s.waiting_time);
    setProgress(0);
    $('enter').disabled = true;
    showButtons(['enter', 'leave']);
    const others = Math.max(0, (s.position_high || 1) - 1);
    setView('prequeue', 'You’re in the pre-queue',
      'The sale opens at ' + formatClock(s.opens_at) + '. Everyone who arrives before then ' +
      'gets a place in line drawn at random at the opening' +
      (others > 0 ? ' (' + others.toLocaleString() + ' others so far)' : '') +
      ', so there is no need to hurry. Keep this tab open.');
  }

  function renderWaiting(s) {
    if (s.status === 'prequeue') return renderPrequeue(s);
    if (state.firstPosition === null || s.position > state.firstPosition) {
      state.firstPosition = s.position;
      save();
    }
    // A place known only as a range (random method): show both ends.
    const ranged = s.position_high && s.position_high > s.position;
    $('position').textContent = s.position <= 0 ? '–'
      : '#' + s.position.toLocaleString() + (ranged ? '–' + s.position_high.toLocaleString() : '');
    if (s.ready_for_entry) {
      $('eta').textContent = 'now';
      $('confidence').textContent = '';
    } else {
      $('eta').textContent = s.eta_sec === null ? 'unknown'
        : ranged && s.eta_high_sec !== null && s.eta_high_sec !== undefined
          ? formatDuration(s.eta_low_sec) + ' to ' + formatDuration(s.eta_high_sec)
          : 'about ' + formatDuration(s.eta_sec);
      const c = s.eta_confidence || 0;
      $('confidence').textContent =
        'confidence: ' + confidenceWords(c) + ' (' + Math.round(c * 100) + '%)';
    }
    $('waited').textContent = formatDuration(s.waiting_time);
    setProgress(s.position);
    $('enter').disabled = !s.ready_for_entry;
    showButtons(['enter', 'leave']);
    if (s.ready_for_entry) {
      setView('ready', 'It’s your turn!', autoEnter ? 'Entering…' : 'Press Enter to continue.');
    } else if (s.reason === 'paused') {
      setView('paused', 'Admissions are paused',
        s.paused_reason || 'The organiser paused admissions for a moment. You keep your place.');
    } else if (s.reason === 'capacity_full') {
      setView('waiting', 'You’re in line',
        'The sale is full right now; places free up as other buyers finish.');
    } else if (ranged) {
      setView('waiting', 'You’re in line',
        'Places are drawn at random among everyone waiting, so yours lies in this range.');
    } else {
      const ahead = s.ahead !== undefined ? s.ahead : Math.max(0, s.position - 1);
      setView('waiting', 'You’re in line',
        ahead === 0 ? 'You are next.' : ahead.toLocaleString() + ' people are ahead of you.');
    }
  }

  function renderEnded(status) {
    clearTimeout(state.timer);
    forget();
    $('enter').disabled = true;
    showButtons(['rejoin']);
    const text = {
      expired: ['Your place expired',
        'We did not hear from this page for too long, so the place was given up. You can join again at the back of the line.'],
      left: ['You left the line', 'You can join again at the back of the line.'],
      completed: ['All done', 'Thank you! Your visit is complete.'],
      gone: ['Your place is no longer valid', 'You can join again at the back of the line.'],
    }[status] || ['Your place is no longer valid', 'You can join again.'];
    setView(status, text[0], text[1]);
  }

  function renderAdmitted(grant) {
    clearTimeout(state.timer);
    state.reservation = grant.reservation_token;
    state.expiresAt = Date.now() + grant.ttl_sec * 1000;
    $('reservation').textContent = grant.reservation_token.slice(0, 24) + '…';
    $('admitted').hidden = false;
    $('position').textContent = '–';
    $('eta').textContent = 'now';
    $('confidence').textContent = '';
    setProgress(1);
    showButtons(['buy', 'complete', 'leave']);
    $('leave').textContent = 'Give up my place';
    setView('admitted', 'Welcome in!', '');
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
    return res.seat_ids && res.seat_ids.length ? 'seat ' + res.seat_ids.join(', ')
      : res.quantity + ' place' + (res.quantity === 1 ? '' : 's');
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
        404: 'Nothing is on sale for this event yet (the organiser sets the seats).',
        409: 'Sold out: ' + errorText(held, 'no seat is left.'),
        401: 'Your reservation token expired; join the line again.',
      }[held.status] || errorText(held, 'Could not hold a seat.');
      $('message').textContent = why;
      return;
    }
    const res = held.data;
    clearTimeout(state.timer);
    $('admitted').hidden = true;
    showButtons([]);
    showOrder('Held: ' + seatsText(res), 'Paying…');
    setView('admitted', 'Paying…', '');
    // The hold's total when the event has prices (the gateway refuses any other amount).
    const paid = await api('POST', '/api/v1/payment/intent',
      { reservation_id: res.reservation_id, amount: res.total || 1000,
        currency: res.currency || 'EUR', scenario: 'approve' },
      auth(res.reservation_token, { 'Idempotency-Key': uuid() }));
    if (paid.status !== 202) {
      showOrder('Held: ' + seatsText(res), errorText(paid, 'The payment did not go through.'));
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
      const what = seatsText(res);
      showOrder('Order confirmed',
        what.charAt(0).toUpperCase() + what.slice(1) + ' is yours. Reservation ' + id + '.');
      return setView('purchased', 'Order confirmed', 'Thank you!');
    }
    if (res && res.status !== 'HOLD') {
      showOrder('No order', 'The reservation ended ' + res.status.toLowerCase() +
        '; its seats went back on sale.');
      showButtons(['rejoin']);
      return setView('not-purchased', 'The purchase did not complete', '');
    }
    if (tries >= 60) {
      return showOrder('Payment pending', 'The result has not arrived yet; check again later.');
    }
    schedule(() => awaitOutcome(id, token, tries + 1), 500);
  }

  function tickReservation() {
    if (!state.reservation) return;
    const left = Math.max(0, (state.expiresAt - Date.now()) / 1000);
    $('ttl').textContent = formatDuration(left);
    if (left > 0) {
      schedule(tickReservation, 1000);
    } else {
      $('message').textContent = 'Your reservation token expired.';
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
      ? 'Check done (' + hashes.toLocaleString() + ' tries).'
      : hashes.toLocaleString() + ' of about ' + expected.toLocaleString() + ' tries';
  }

  // Finds the nonce of `challenge` ({challenge, difficulty}) in a worker; resolves to the
  // header value of the join. Without workers it hashes on this thread, in slices.
  function solvePow(challenge) {
    setView('verifying', 'Checking your browser…',
      'A short puzzle keeps bots from flooding the line. It runs by itself.');
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
    setView('joining', 'Joining the line…', '');
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
        setView('error', 'Joining the line…', powError.message + ' — retrying in 5 s.');
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
      });
      schedule(poll, r.data.ready_for_entry ? 0 : r.data.poll_after_ms);
    } else if (r.status === 409) {
      const error = (r.data && r.data.error) || {};
      showButtons([]);
      if (error.code === 'not_open_yet') {
        // Come back by ourselves when the pre-queue opens.
        setView('closed', 'The waiting room opens at ' + formatClock(error.opens_at),
          'Keep this page open: it joins by itself when the waiting room opens.');
        schedule(join, (error.retry_after_sec || r.retryAfter || 5) * 1000);
      } else if (error.code === 'closed') {
        setView('closed', 'This sale has closed', 'No new arrivals are accepted.');
      } else if (error.code === 'rejected') {
        setView('closed', 'The waiting room is not accepting visitors', error.message || '');
      } else {
        setView('error', 'You are already in this line',
          'This account already holds a place (perhaps in another tab or device).');
      }
    } else if (r.status === 401) {
      // --identity=jwt without a valid identity token: only the site's sign-in can help.
      sessionStorage.removeItem('admission.id_token');
      setView('error', 'Please sign in first',
        (r.data && r.data.error ? r.data.error.message : '') +
        ' — sign in on the site, then come back to this page.');
    } else {
      const retry = r.retryAfter || 5;
      setView('error', 'Joining the line…',
        (r.data && r.data.error ? r.data.error.message : 'Connection problem') +
        ' — retrying in ' + retry + ' s.');
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
      $('message').textContent = 'Connection problem — retrying…';
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
      $('message').textContent = 'Not yet: ' + (r.data.message || r.data.reason) +
        ' Trying again in ' + r.data.retry_after_sec + ' s.';
      schedule(poll, r.data.retry_after_sec * 1000);
    } else if (r.status === 410 || r.status === 404) {
      renderEnded('gone');
    } else {
      $('message').textContent = 'Could not enter just now — retrying…';
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
      $('message').textContent = (r.data && r.data.error) ? r.data.error.message : 'Could not finish.';
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
    document.title = 'Waiting room · ' + state.eventId;
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
      setView('waiting', 'Welcome back', 'Checking your place…');
      poll();
    } else {
      join();
    }
  }

  start();
})();
