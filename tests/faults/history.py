# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""The clients of the fault suite and the history they write.

Every logical operation (join, enter, hold, pay, cancel, read ...) is one `Op`: its client,
name, Idempotency-Key, invocation and completion times, its outcome (ok: a 2xx answer;
fail: a definite refusal, a 4xx; unknown: no definite answer within the retry budget) and
the answer, plus every HTTP attempt it took. A client behaves as a real one should: on a
connection error, a timeout, a 5xx, a 429 or "409 conflict: in progress" it retries with the
same key and body, on another gateway when there is one, with a growing pause.

A `Balancer` stands for the load balancer in front of the gateways: it polls /readyz and
sends requests to the ready gateways only (all of them when none says ready, e.g. while the
store stalls), so that a draining gateway stops getting new requests.

A `Buyer` runs the purchase flow in a loop, a new user each time: join, poll the status
until admitted, enter, hold seats, then pay (approve or fail), cancel, or walk away, and read
the reservation back until the worker has settled it.
"""

import http.client
import json
import random
import threading
import time
import uuid

from cluster import ADMIN_TOKEN

FINAL_STATES = ("CONFIRMED", "CANCELLED", "EXPIRED")


class Attempt:
    __slots__ = ("gateway", "t0", "t1", "status", "body", "error")

    def __init__(self, gateway, t0):
        self.gateway, self.t0 = gateway, t0
        self.t1 = None
        self.status = None
        self.body = None
        self.error = None

    def json(self):
        try:
            return json.loads(self.body)
        except (TypeError, ValueError):
            return None


class Op:
    def __init__(self, client, name, key, request):
        self.client = client
        self.name = name
        self.key = key
        self.request = request  # (method, path, body)
        self.t_invoke = time.monotonic()
        self.t_complete = None
        self.outcome = None  # ok | fail | unknown
        self.status = None
        self.response = None  # parsed JSON of the definite answer
        self.attempts = []
        self.admission_token = None  # a hold's X-Admission-Token (for replays)

    def error_code(self):
        if isinstance(self.response, dict):
            err = self.response.get("error")
            if isinstance(err, dict):
                return err.get("code")
        return None

    def to_dict(self):
        return {
            "client": self.client, "op": self.name, "key": self.key,
            "invoked": self.t_invoke, "completed": self.t_complete,
            "outcome": self.outcome, "status": self.status, "response": self.response,
            "attempts": [(a.gateway, a.status, a.error) for a in self.attempts],
        }


class History:
    """Thread-safe list of operations, and the notes of the faults injected."""

    def __init__(self):
        self._lock = threading.Lock()
        self.ops = []
        self.faults = []  # (time, description)
        self.t0 = time.monotonic()
        self.inflight = {}  # client -> (op name, gateway url) of the attempt on its way

    def sending(self, client, op_name, url):
        with self._lock:
            if url is None:
                self.inflight.pop(client, None)
            else:
                self.inflight[client] = (op_name, url)

    def inflight_to(self, names, url):
        with self._lock:
            return [c for c, (n, u) in self.inflight.items() if n in names and u == url]

    def add(self, op):
        with self._lock:
            self.ops.append(op)

    def fault(self, description):
        with self._lock:
            self.faults.append((time.monotonic() - self.t0, description))

    def of(self, name):
        with self._lock:
            return [o for o in self.ops if o.name == name]

    def attempts(self):
        with self._lock:
            return [a for o in self.ops for a in o.attempts]

    def dump(self, path):
        with self._lock:
            with open(path, "w") as f:
                for o in self.ops:
                    f.write(json.dumps(o.to_dict()) + "\n")


class Balancer:
    """Picks a gateway for each attempt: a ready one (by its last /readyz), another one than
    the attempt before when it can."""

    def __init__(self, gateways, poll_sec=0.2):
        self.gateways = list(gateways)
        self._ready = {g.url: True for g in self.gateways}
        self._stop = threading.Event()
        self._poll_sec = poll_sec
        self._thread = threading.Thread(target=self._poll, name="balancer", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()

    def _poll(self):
        while not self._stop.is_set():
            for g in self.gateways:
                self._ready[g.url] = g.readyz() == 200
            self._stop.wait(self._poll_sec)

    def pick(self, avoid=None):
        urls = [g.url for g in self.gateways]
        ready = [u for u in urls if self._ready.get(u)]
        pool = ready or urls
        if avoid is not None and len(pool) > 1:
            pool = [u for u in pool if u != avoid] or pool
        return random.choice(pool)


def _retryable(status, body):
    if status is None or status >= 500 or status == 429:
        return True
    if status == 409 and isinstance(body, dict):
        err = body.get("error") or {}
        # The key's first request still runs (or its store answer was lost): ask again.
        return err.get("code") == "conflict" and "in progress" in (err.get("message") or "")
    return False


class Client:
    """One HTTP client (a thread's): calls with retries, written to the history."""

    def __init__(self, name, history, balancer, timeout=3.0, retry_budget=20.0):
        self.name = name
        self.history = history
        self.balancer = balancer
        self.timeout = timeout
        self.retry_budget = retry_budget

    def call(self, op_name, method, path, body=None, headers=None, key=None, retry=True,
             budget=None, gateway=None):
        headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":"))
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        op = Op(self.name, op_name, key, (method, path, payload))
        deadline = time.monotonic() + (self.retry_budget if budget is None else budget)
        last = None
        pause = 0.05
        while True:
            url = gateway or self.balancer.pick(avoid=last)
            last = url
            self.history.sending(self.name, op_name, url)
            a = self._send(url, method, path, payload, headers)
            self.history.sending(self.name, op_name, None)
            op.attempts.append(a)
            parsed = a.json()
            if not (retry and _retryable(a.status, parsed)):
                if a.status is not None and not _retryable(a.status, parsed):
                    op.outcome = "ok" if 200 <= a.status < 300 else "fail"
                    op.status = a.status
                    op.response = parsed
                else:
                    op.outcome = "unknown"
                    op.status = a.status
                    op.response = parsed
                break
            if time.monotonic() + pause > deadline:
                op.outcome = "unknown"
                op.status = a.status
                op.response = parsed
                break
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.5)
        op.t_complete = time.monotonic()
        self.history.add(op)
        return op

    def _send(self, url, method, path, payload, headers):
        host, port = url.rsplit("/", 1)[-1].split(":")
        a = Attempt(url, time.monotonic())
        conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            r = conn.getresponse()
            a.body = r.read().decode(errors="replace")
            a.status = r.status
        except (OSError, http.client.HTTPException) as e:
            a.error = type(e).__name__
        finally:
            conn.close()
            a.t1 = time.monotonic()
        return a


def admin_put_inventory(client, event_id, seat_ids):
    return client.call("inventory", "PUT", f"/admin/v1/events/{event_id}/inventory",
                       body={"seat_ids": seat_ids,
                             "limits": {"seats_per_hold": 4, "holds_per_user": 1,
                                        "seats_per_user": 4}},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


class Buyer(threading.Thread):
    """Buys in a loop until `stop` is set: one user per round."""

    def __init__(self, name, client, event_id, seat_ids, stop, abandon=True, choices=None,
                 rounds_out=None):
        super().__init__(name=name, daemon=True)
        self.client = client
        self.event_id = event_id
        self.seat_ids = seat_ids
        self.stop = stop
        self.abandon = abandon
        self.choices = choices or {"approve": 6, "fail": 2, "cancel": 1, "abandon": 1}
        if not abandon:
            self.choices = {k: v for k, v in self.choices.items() if k != "abandon"}
        self.rounds = 0
        self.holds = []  # the hold ops answered 201 (with their reservation)
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            try:
                self.one_round()
            except Exception as e:  # noqa: BLE001 - a broken round must not end the buyer
                self.errors.append(repr(e))
                time.sleep(0.1)
            self.rounds += 1

    def one_round(self):
        c = self.client
        user = f"{self.name}-{self.rounds}-{uuid.uuid4().hex[:6]}"
        join = c.call("join", "POST", "/api/v1/queue/join",
                      body={"event_id": self.event_id, "user_id": user})
        if join.outcome != "ok":
            return
        token = join.response["waiting_token"]
        ready = join.response.get("ready_for_entry") or join.response.get("status") == "active"
        deadline = time.monotonic() + 10
        while not ready and time.monotonic() < deadline and not self.stop.is_set():
            st = c.call("status", "GET", f"/api/v1/queue/status?token={token}")
            if st.outcome != "ok":
                return
            ready = st.response.get("ready_for_entry") or st.response.get("status") == "active"
            if not ready:
                time.sleep(0.05)
        if not ready:
            return
        enter = c.call("enter", "POST", "/api/v1/queue/enter", body={"waiting_token": token},
                       key="enter-" + uuid.uuid4().hex)
        if enter.outcome != "ok" or enter.response.get("admission") != "granted":
            return
        admission = enter.response["reservation_token"]
        body = {"event_id": self.event_id}
        if random.random() < 0.3:
            body["seat_ids"] = random.sample(self.seat_ids, 1)
        else:
            body["quantity"] = random.randint(1, 2)
        hold = c.call("hold", "POST", "/api/v1/reservations", body=body,
                      headers={"X-Admission-Token": admission}, key="hold-" + uuid.uuid4().hex)
        hold.admission_token = admission
        if hold.outcome != "ok":
            if hold.error_code() == "sold_out":
                time.sleep(0.1)
            return
        self.holds.append(hold)
        res = hold.response
        if random.random() < 0.2:
            # The same request delivered again (a retry whose first answer was in fact
            # received, a proxy's duplicate): it must name the same reservation.
            dup = c.call("hold_dup", "POST", "/api/v1/reservations", body=body,
                         headers={"X-Admission-Token": admission}, key=hold.key)
            dup.original = res["reservation_id"]
        rid, scoped = res["reservation_id"], res["reservation_token"]
        auth = {"X-Admission-Token": scoped}
        choice = random.choices(list(self.choices), weights=list(self.choices.values()))[0]
        if choice in ("approve", "fail"):
            c.call("pay_" + choice, "POST", "/api/v1/payment/intent",
                   body={"reservation_id": rid, "amount": 100, "currency": "EUR",
                         "scenario": choice},
                   headers=auth, key="pay-" + uuid.uuid4().hex)
        elif choice == "cancel":
            c.call("cancel", "POST", f"/api/v1/reservations/{rid}/cancel", body={},
                   headers=auth)
        else:
            return  # walks away: the hold must expire
        # Read it back until the worker settled it (what the buyer is told).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            r = c.call("read", "GET", f"/api/v1/reservations/{rid}", headers=auth, budget=5)
            if r.outcome == "ok" and r.response.get("status") in FINAL_STATES:
                return
            time.sleep(0.1)


class Waiter(threading.Thread):
    """A user who joined and keeps polling the status of the place (never enters): what it
    is told, every time, must be its place or an error that says so."""

    def __init__(self, name, client, event_id, stop, poll_sec=0.3):
        super().__init__(name=name, daemon=True)
        self.client = client
        self.event_id = event_id
        self.stop = stop
        self.poll_sec = poll_sec
        self.token = None
        self.answers = []  # (status, parsed body) of each status poll's definite answer

    def run(self):
        join = self.client.call("waiter_join", "POST", "/api/v1/queue/join",
                                body={"event_id": self.event_id, "user_id": self.name})
        if join.outcome != "ok":
            return
        self.token = join.response["waiting_token"]
        while not self.stop.is_set():
            st = self.client.call("waiter_status", "GET",
                                  f"/api/v1/queue/status?token={self.token}")
            self.answers.append((st.status, st.response, st.outcome))
            self.stop.wait(self.poll_sec)
