#!/usr/bin/python3
"""A small sale against a running gateway, for the operator page to show (docs/gateway.md's
screenshot was taken during one).

    admission-gateway --admin_token=demo-admin --identity=trusted --pow=off \\
        --rate_limit_ip_per_sec=0 --rate_limit_token_per_sec=0 --access_log=false \\
        --series_interval_ms=2000 --hold_ttl_sec=20 --payment_delay_sec=25
    /usr/bin/python3 bench/operator_demo.py PORT [SECONDS] [ADMIN_TOKEN]
    # then open http://127.0.0.1:PORT/admin?event=spring-gala#token=demo-admin

Makes event spring-gala (4 admissions/s, capacity 40, 400 places at 45.00 EUR) and sends 700
people: a surge, then a trickle. Each polls its status as told (at most every 5 s), enters
when ready, holds one or two places a few seconds later and pays: most approve, some fail,
some never pay (the hold expires), and a few pay with a delay that outlasts the hold (parked
as dead letters). About 12% vanish while waiting (ghosts). One thread per person, a new
connection per call (the gateway closes idle keep-alive connections): a demo, not a load test.
"""

import http.client
import json
import random
import sys
import threading
import time

PORT = int(sys.argv[1])
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 200
ADMIN = sys.argv[3] if len(sys.argv) > 3 else "demo-admin"
EVENT = "spring-gala"
STOP = time.time() + DURATION


def call(method, path, body=None, token=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    try:
        conn.request(method, path, None if body is None else json.dumps(body), h)
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, {}


def person(i):
    st, j = call("POST", "/api/v1/queue/join", {"event_id": EVENT, "user_id": f"fan-{i}"})
    if st != 202:
        return
    tok = j["waiting_token"]
    ghost = random.random() < 0.12
    gives_up_at = time.time() + random.uniform(5, 40)
    while time.time() < STOP:
        if ghost and time.time() > gives_up_at:
            return  # closes the tab: the heartbeat TTL removes the place
        st, j = call("GET", f"/api/v1/queue/status?token={tok}", headers={"X-Admission-Token": tok})
        if st == 200 and j.get("ready_for_entry"):
            st, j = call("POST", "/api/v1/queue/enter", {"waiting_token": tok})
            if st != 200:
                return
            time.sleep(random.uniform(2, 8))  # choosing
            st, r = call("POST", "/api/v1/reservations",
                         {"event_id": EVENT, "quantity": random.choice([1, 2])},
                         j["reservation_token"], {"Idempotency-Key": f"hold-{i}"})
            if st != 201:
                return
            time.sleep(random.uniform(1, 4))
            if random.random() < 0.15:
                return  # never pays: the hold expires
            scenario = ("fail" if random.random() < 0.1
                        else "delay" if random.random() < 0.05 else "approve")
            call("POST", "/api/v1/payment/intent",
                 {"reservation_id": r["reservation_id"], "amount": r["total"], "currency": "EUR",
                  "scenario": scenario}, r["reservation_token"])
            return
        wait = j.get("poll_after_ms", 2000) / 1000 if st == 200 else 2
        time.sleep(min(5, max(1, wait)))


def safe(i):
    try:
        person(i)
    except OSError:
        pass  # the gateway went away: the demo is over


def main():
    print(call("PUT", f"/admin/v1/events/{EVENT}/policy",
               {"admit_rate_per_sec": 4, "burst": 4, "bypass_top_n": 2, "active_capacity": 40,
                "heartbeat_ttl_sec": 15, "active_ttl_sec": 60, "wait_tiers": []}, ADMIN)[0])
    print(call("PUT", f"/admin/v1/events/{EVENT}/inventory",
               {"general_admission": 400, "currency": "EUR", "price": 4500}, ADMIN)[0])
    for i in range(700):
        threading.Thread(target=safe, args=(i,), daemon=True).start()
        time.sleep(0.03 if i < 450 else 0.25)  # a surge, then a trickle
        if time.time() > STOP:
            break
    while time.time() < STOP:
        time.sleep(1)


if __name__ == "__main__":
    main()
