// The operator console: live stats of one event and the valve (rate, capacity, pause), through
// the admin API. The admin token stays in this tab's sessionStorage only. A change sends only
// the fields that differ from the policy last read, so two operators editing different knobs
// do not undo each other.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem('admission.admin') || '', event: '', policy: null,
    timer: null };

  async function admin(method, path, body) {
    const options = { method, headers: { Authorization: 'Bearer ' + state.token,
      Accept: 'application/json' } };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, options);
    } catch (e) {
      return { status: 0, data: { error: { message: 'gateway unreachable' } } };
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    return { status: res.status, data };
  }

  function say(text, isError) {
    $('op-message').textContent = text || '';
    $('op-message').classList.toggle('error', !!isError);
  }

  function errorText(r) {
    return (r.data && r.data.error) ? r.data.error.message : 'HTTP ' + r.status;
  }

  function tiersToText(tiers) {
    return tiers.map((t) => (t.max_position === null ? 'inf' : t.max_position) + ':' + t.wait_sec)
      .join(', ');
  }

  function textToTiers(text) {
    if (!text.trim()) return [];
    return text.split(',').map((item) => {
      const [max, wait] = item.split(':').map((x) => x.trim());
      return { max_position: max === 'inf' ? null : Number(max), wait_sec: Number(wait) };
    });
  }

  // The schedule is edited in local time (datetime-local) and sent as RFC 3339 UTC, in the
  // exact form the gateway writes, so that an untouched field never shows up as a change.
  function isoToLocal(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function localToIso(value) {
    if (!value) return null;
    const d = new Date(value);
    return isNaN(d) ? value : d.toISOString();
  }

  function fillPolicy(p) {
    state.policy = p;
    $('p-rate').value = p.admit_rate_per_sec;
    $('p-burst').value = p.burst;
    $('p-capacity').value = p.active_capacity;
    $('p-bypass').value = p.bypass_top_n;
    $('p-heartbeat').value = p.heartbeat_ttl_sec;
    $('p-active-ttl').value = p.active_ttl_sec;
    $('p-reservation-ttl').value = p.reservation_ttl_sec;
    $('p-tiers').value = tiersToText(p.wait_tiers);
    $('p-paused').checked = p.paused;
    $('p-paused-reason').value = p.paused_reason;
    $('p-method').value = p.method;
    $('p-reject-message').value = p.reject_message;
    $('p-queue-message').value = p.queue_message || '';
    $('p-safety-net').checked = p.safety_net;
    $('p-prequeue-opens').value = isoToLocal(p.prequeue_opens_at);
    $('p-opens').value = isoToLocal(p.opens_at);
    $('p-closes').value = isoToLocal(p.closes_at);
  }

  function formPolicy() {
    return {
      admit_rate_per_sec: Number($('p-rate').value),
      burst: Number($('p-burst').value),
      active_capacity: Number($('p-capacity').value),
      bypass_top_n: Number($('p-bypass').value),
      heartbeat_ttl_sec: Number($('p-heartbeat').value),
      active_ttl_sec: Number($('p-active-ttl').value),
      reservation_ttl_sec: Number($('p-reservation-ttl').value),
      wait_tiers: textToTiers($('p-tiers').value),
      paused: $('p-paused').checked,
      paused_reason: $('p-paused-reason').value,
      method: $('p-method').value,
      reject_message: $('p-reject-message').value,
      queue_message: $('p-queue-message').value,
      safety_net: $('p-safety-net').checked,
      prequeue_opens_at: localToIso($('p-prequeue-opens').value),
      opens_at: localToIso($('p-opens').value),
      closes_at: localToIso($('p-closes').value),
    };
  }

  async function loadPolicy() {
    const r = await admin('GET', '/admin/v1/events/' + encodeURIComponent(state.event) + '/policy');
    if (r.status === 200) {
      fillPolicy(r.data);
      return true;
    }
    say(r.status === 404 ? 'No such event yet: applying a change will create it.' : errorText(r),
      r.status !== 404);
    return r.status === 404;
  }

  async function refreshStats() {
    clearTimeout(state.timer);
    const r = await admin('GET', '/admin/v1/events/' + encodeURIComponent(state.event) + '/stats');
    if (r.status === 200) {
      const s = r.data;
      $('s-waiting').textContent = s.waiting.toLocaleString();
      $('s-active').textContent = s.active.toLocaleString();
      $('s-rate').textContent = s.admission_rate.toFixed(1) + ' /s';
      $('s-rate-conf').textContent = 'confidence ' + Math.round(s.admission_rate_confidence * 100) + '%';
      $('s-admitted').textContent = s.admitted_total.toLocaleString();
      $('s-bypass').textContent = s.admitted_by_bypass.toLocaleString() + ' by bypass';
      $('s-expired').textContent = s.expired_total.toLocaleString();
      $('s-left').textContent = s.left_total.toLocaleString() + ' / ' + s.completed_total.toLocaleString();
      $('s-prequeued').textContent = s.prequeued.toLocaleString();
      $('s-opened').textContent = s.opened
        ? 'opened; ' + s.shuffled_at_opening.toLocaleString() + ' drawn at the opening'
        : 'not open yet';
      $('s-refused').textContent = s.refused_total.toLocaleString();
      $('s-instant').textContent = (s.admitted_by_safety_net + s.admitted_by_passthrough)
        .toLocaleString() + ' admitted without waiting';
      $('s-updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    } else if (r.status !== 404) {
      say(errorText(r), true);
    }
    state.timer = setTimeout(refreshStats, 2000);
  }

  async function apply(patch) {
    if (Object.keys(patch).length === 0) {
      say('Nothing changed.');
      return;
    }
    const r = await admin('PUT', '/admin/v1/events/' + encodeURIComponent(state.event) + '/policy',
      patch);
    if (r.status === 200) {
      fillPolicy(r.data);
      say('Applied: ' + Object.keys(patch).join(', ') + '.');
      refreshStats();
    } else {
      say(errorText(r), true);
    }
  }

  function changedFields() {
    const wanted = formPolicy();
    const patch = {};
    for (const [key, value] of Object.entries(wanted)) {
      const before = state.policy ? state.policy[key] : undefined;
      if (JSON.stringify(before) !== JSON.stringify(value)) patch[key] = value;
    }
    return patch;
  }

  async function open(e) {
    e.preventDefault();
    state.token = $('admin-token').value;
    state.event = $('event').value;
    sessionStorage.setItem('admission.admin', state.token);
    const events = await admin('GET', '/admin/v1/events');
    if (events.status !== 200) {
      say(errorText(events), true);
      return;
    }
    $('events').replaceChildren(...events.data.events.map((id) => {
      const o = document.createElement('option');
      o.value = id;
      return o;
    }));
    say('');
    if (await loadPolicy()) {
      $('dashboard').hidden = false;
      const url = new URL(window.location.href);
      url.searchParams.set('event', state.event);
      history.replaceState(null, '', url);
      refreshStats();
    }
  }

  // A link of the form /admin?event=ID#token=SECRET opens the console at once. The token rides
  // in the fragment, which browsers never send to the server (so it stays out of access logs),
  // and is removed from the address bar straight away.
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.get('token')) {
    state.token = fragment.get('token');
    sessionStorage.setItem('admission.admin', state.token);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  $('admin-token').value = state.token;
  $('event').value = new URLSearchParams(window.location.search).get('event') || '';
  $('login').addEventListener('submit', open);
  if (state.token && $('event').value) $('login').requestSubmit();
  $('policy').addEventListener('submit', (e) => {
    e.preventDefault();
    apply(changedFields());
  });
  $('pause').addEventListener('click', () => apply({ paused: true,
    paused_reason: $('p-paused-reason').value }));
  $('resume').addEventListener('click', () => apply({ paused: false }));
})();
