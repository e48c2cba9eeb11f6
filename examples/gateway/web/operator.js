// The operator console: live stats of one event and the valve (rate, capacity, pause), through
// the admin API. The admin token stays in this tab's sessionStorage only. A change sends only
// the fields that differ from the policy last read, so two operators editing different knobs
// do not undo each other. Also: charts of the last hour (the gateway's series of the event,
// drawn with Chart.js, which the gateway serves from its own binary), the sale (seats,
// revenue, outcomes, dead letters with a replay button), the list of events with their state,
// and a form that creates an event and loads its inventory.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem('admission.admin') || '', event: '', policy: null,
    timer: null, ticks: 0 };

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
    await Promise.all([refreshCharts(), refreshSale()]);
    if (++state.ticks % 5 === 1) refreshEvents();
    clearTimeout(state.timer);
    state.timer = setTimeout(refreshStats, 2000);
  }

  // --- Charts of the last hour -------------------------------------------------------------

  const charts = {};
  // For tests and the curious: the Chart instances, by name.
  window.admissionCharts = charts;
  const palette = ['#2f5bea', '#b76e00', '#1f8a4c', '#b42318', '#7a4fd1'];

  function makeChart(name, canvasId, datasets, options) {
    const config = {
      type: 'line',
      data: { labels: [], datasets: datasets.map((d, i) => ({
        label: d.label, data: [], borderColor: d.color || palette[i], backgroundColor: d.color ||
          palette[i], borderWidth: 2, pointRadius: 0, spanGaps: true, stepped: !!d.stepped,
        borderDash: d.dashed ? [6, 4] : [],
      })) },
      options: Object.assign({
        animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
        interaction: { mode: 'index', intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 5, maxRotation: 0, autoSkipPadding: 16 } },
          y: { beginAtZero: true } },
        plugins: { legend: { labels: { boxWidth: 12 } } },
      }, options || {}),
    };
    charts[name] = new window.Chart($(canvasId), config);
  }

  function setupCharts() {
    if (charts.line || !window.Chart) return !!charts.line;
    makeChart('line', 'c-line', [{ label: 'in line' }, { label: 'pre-queue' }]);
    makeChart('rate', 'c-rate', [{ label: 'admitted /s' },
      { label: "policy's rate", dashed: true, stepped: true }]);
    makeChart('active', 'c-active', [{ label: 'active' },
      { label: 'capacity', dashed: true, stepped: true }]);
    makeChart('eta', 'c-eta', [{ label: 'ETA, back of the line (s)' }]);
    makeChart('ghosts', 'c-ghosts', [{ label: 'ghosts removed' }, { label: 'joins refused' }]);
    makeChart('seats', 'c-seats', [{ label: 'available', color: palette[2] },
      { label: 'held', color: palette[1] }, { label: 'sold', color: palette[0] }]);
    return true;
  }

  function timeLabel(unixSec) {
    return new Date(unixSec * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit',
      second: '2-digit', hour12: false });
  }

  function fill(name, labels, columns) {
    const chart = charts[name];
    chart.data.labels = labels;
    columns.forEach((column, i) => { chart.data.datasets[i].data = column; });
    chart.update('none');
  }

  async function refreshCharts() {
    if (!setupCharts()) {
      $('charts-note').textContent = 'Chart.js did not load: no charts.';
      return;
    }
    const r = await admin('GET', '/admin/v1/events/' + encodeURIComponent(state.event) + '/series');
    if (r.status !== 200) {
      $('charts-note').textContent = r.status === 404 ? 'No series for this event.' : errorText(r);
      return;
    }
    const d = r.data;
    const labels = d.t.map(timeLabel);
    fill('line', labels, [d.waiting, d.prequeued]);
    fill('rate', labels, [d.admitted_per_sec, d.policy_rate]);
    fill('active', labels, [d.active, d.capacity]);
    fill('eta', labels, [d.eta_back_sec]);
    fill('ghosts', labels, [d.ghosts_removed, d.joins_refused]);
    fill('seats', labels, [d.seats_available, d.seats_held, d.seats_sold]);
    $('charts-note').textContent = d.t.length + ' samples, one every ' + d.interval_sec +
      ' s (the last ' + Math.round(d.max_samples * d.interval_sec / 60) + ' min are kept).';
  }

  // --- The sale -----------------------------------------------------------------------------

  function money(minor, currency) {
    if (!currency) return minor.toLocaleString();
    try {
      // Whole amounts without the cents, so that a large revenue fits its box.
      const digits = minor % 100 === 0 ? 0 : 2;
      return (minor / 100).toLocaleString(undefined, { style: 'currency', currency,
        minimumFractionDigits: digits, maximumFractionDigits: digits });
    } catch (e) {
      return (minor / 100).toFixed(2) + ' ' + currency;
    }
  }

  async function refreshSale() {
    const r = await admin('GET', '/admin/v1/events/' + encodeURIComponent(state.event) + '/sale');
    if (r.status !== 200) {
      $('sale').hidden = true;
      return;
    }
    const s = r.data;
    $('sale').hidden = false;
    $('sale-available').textContent = s.available.toLocaleString();
    $('sale-total').textContent = 'of ' + s.total.toLocaleString() +
      (s.kind === 'seats' ? ' seats' : ' places');
    $('sale-held').textContent = s.held.toLocaleString();
    $('sale-sold').textContent = String(s.sold);
    $('sale-revenue').textContent = money(s.revenue, s.currency);
    const g = s.gateway;
    $('sale-confirmed').textContent = g.confirmed.toLocaleString();
    $('sale-intents').textContent = g.payment_intents.toLocaleString() + ' payment intents';
    $('sale-cancelled').textContent = g.cancelled.toLocaleString();
    $('sale-expired').textContent = g.holds_expired.toLocaleString();
    $('sale-dead').textContent = s.queue.dead.toLocaleString();
    $('sale-queue').textContent = 'queue: ' + s.queue.ready + ' ready, ' + s.queue.delayed +
      ' delayed, ' + s.queue.in_flight + ' in flight';
    await refreshDeadLetters();
  }

  function cell(text) {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  }

  async function refreshDeadLetters() {
    const r = await admin('GET', '/admin/v1/dead-letters?limit=50');
    if (r.status !== 200) return;
    const list = r.data.dead_letters;
    $('dead-empty').hidden = list.length > 0;
    $('dead-letters').hidden = list.length === 0;
    $('dead-letters').querySelector('tbody').replaceChildren(...list.map((d) => {
      const tr = document.createElement('tr');
      tr.dataset.id = d.id;
      tr.dataset.parkedAt = d.parked_at;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = 'Replay';
      button.dataset.id = d.id;
      button.addEventListener('click', () => replay(d.id, button));
      const last = document.createElement('td');
      last.append(button);
      tr.append(cell(d.id), cell(d.type), cell(String(d.attempts)),
        cell(new Date(d.parked_at).toLocaleTimeString()), cell(d.error), last);
      return tr;
    }));
  }

  async function replay(id, button) {
    button.disabled = true;
    const r = await admin('POST', '/admin/v1/dead-letters/' + encodeURIComponent(id) + '/replay');
    if (r.status === 200) {
      say('Replayed ' + id + ': it is back in the queue for the worker.');
      $('dead-letters').dataset.replayed = id;
    } else {
      say(errorText(r), true);
      button.disabled = false;
    }
    await refreshSale();
  }

  // --- Events -------------------------------------------------------------------------------

  async function refreshEvents() {
    const r = await admin('GET', '/admin/v1/events?details=true');
    if (r.status !== 200) return;
    $('events').replaceChildren(...r.data.events.map((id) => {
      const o = document.createElement('option');
      o.value = id;
      return o;
    }));
    $('event-list').querySelector('tbody').replaceChildren(...r.data.details.map((e) => {
      const tr = document.createElement('tr');
      tr.classList.toggle('current', e.event_id === state.event);
      const link = document.createElement('a');
      link.href = '?event=' + encodeURIComponent(e.event_id);
      link.textContent = e.event_id;
      const first = document.createElement('td');
      first.append(link);
      const badge = document.createElement('span');
      badge.className = 'state ' + e.state;
      badge.textContent = e.state;
      const second = document.createElement('td');
      second.append(badge);
      tr.append(first, second, cell(e.method), cell(String(e.admit_rate_per_sec)),
        cell(e.waiting.toLocaleString()), cell(e.active.toLocaleString()),
        cell(e.admitted_total.toLocaleString()));
      return tr;
    }));
    $('event-list-note').textContent = r.data.details_truncated
      ? 'The first ' + r.data.details.length + ' of ' + r.data.events.length + ' events.' : '';
  }

  async function createEvent(e) {
    e.preventDefault();
    const id = $('n-event').value;
    const path = '/admin/v1/events/' + encodeURIComponent(id);
    let r = await admin('PUT', path + '/policy', {
      admit_rate_per_sec: Number($('n-rate').value), active_capacity: Number($('n-capacity').value),
    });
    if (r.status !== 200) return say('Event ' + id + ': ' + errorText(r), true);
    const seats = $('n-seats').value.split(',').map((x) => x.trim()).filter((x) => x);
    const places = Number($('n-places').value);
    if (seats.length || places) {
      const inventory = seats.length ? { seat_ids: seats } : { general_admission: places };
      if ($('n-currency').value) inventory.currency = $('n-currency').value.toUpperCase();
      if ($('n-price').value) inventory.price = Number($('n-price').value);
      r = await admin('PUT', path + '/inventory', inventory);
      if (r.status !== 200) return say('Event ' + id + ' created; inventory: ' + errorText(r), true);
      say('Event ' + id + ' created with ' + r.data.total + ' places.');
    } else {
      say('Event ' + id + ' created (no inventory).');
    }
    refreshEvents();
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
  $('create').addEventListener('submit', createEvent);
})();
