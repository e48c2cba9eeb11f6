# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""The invariants of the fault suite, checked on a history (history.py) and a final read of
the store through the gateways' API (seat map, each known reservation, dead letters).

Each check is a `Check(name, ok, detail)`; `report()` sums up the run: operations by outcome,
HTTP attempts, 5xx answers seen, faults injected, and what was lost.
"""

import json
import random
import time

from cluster import ADMIN_TOKEN
from history import FINAL_STATES

# The invariants by name (docs/reliability.md, "Fault suite", lists them).
SOLD_WITHIN_CAPACITY = "sold_within_capacity"
NO_SEAT_SOLD_TWICE = "no_seat_sold_twice"
CONFIRMED_STAYS_CONFIRMED = "confirmed_stays_confirmed"
HOLDS_END_FINAL = "holds_end_final"
PAYMENTS_APPLIED_ONCE = "payments_applied_once"
RETRIES_CONSISTENT = "retries_consistent"
TAKEN_SEATS_MATCH_ACKNOWLEDGED = "taken_seats_match_acknowledged_holds"
WAITERS_TOLD = "waiting_users_never_silently_dropped"
NO_5XX_SEEN = "no_5xx_seen_by_retrying_clients"
NO_UNKNOWN_OUTCOMES = "no_unknown_outcomes_after_retries"

# The status of an acknowledged reservation the store answers 404 for.
MISSING = "MISSING"


class Check:
    def __init__(self, name, ok, detail=""):
        self.name, self.ok, self.detail = name, bool(ok), detail

    def __repr__(self):
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


class StoreView:
    """What the store says now, read through a gateway (with the suite's retries)."""

    def __init__(self, client, event_id):
        self.client = client
        self.event_id = event_id

    def availability(self):
        op = self.client.call("final_seats", "GET",
                              f"/api/v1/events/{self.event_id}/seats?seats=true", budget=30)
        if op.outcome != "ok":
            raise AssertionError(f"cannot read the seats: {op.status} {op.response}")
        return op.response

    def reservation(self, hold_op):
        res = hold_op.response
        op = self.client.call("final_read", "GET", f"/api/v1/reservations/{res['reservation_id']}",
                              headers={"X-Admission-Token": res["reservation_token"]}, budget=30)
        if op.status == 404 and op.error_code() == "not_found":
            # An acknowledged hold the store no longer knows (say, lost in a failover): the
            # checks count it as lost rather than stop here.
            return {"reservation_id": res["reservation_id"], "status": MISSING, "seat_ids": []}
        if op.outcome != "ok":
            raise AssertionError(f"cannot read {res['reservation_id']}: {op.status} {op.response}")
        return op.response

    def dead_letters(self):
        op = self.client.call("dead_letters", "GET", "/admin/v1/dead-letters?limit=1000",
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, budget=30)
        if op.outcome != "ok":
            return None
        body = op.response
        if isinstance(body, dict):
            for k in ("dead_letters", "items", "messages"):
                if isinstance(body.get(k), list):
                    return body[k]
        return body if isinstance(body, list) else None


def acked_holds(history):
    return [o for o in history.of("hold") if o.outcome == "ok"]


def wait_settled(view, history, timeout, want_no_holds=False):
    """Waits (polling, bounded) until every acknowledged hold with an acknowledged payment or
    cancel is final, and (want_no_holds) no seat is held any more: the worker and the expiry
    scan have run. Returns (availability, {reservation_id: reservation}) of the last read."""
    holds = acked_holds(history)
    settled_ids = set()
    for name in ("pay_approve", "pay_fail", "cancel"):
        for o in history.of(name):
            if o.outcome == "ok":
                settled_ids.add(o.request[1].split("/")[4] if name == "cancel"
                                else _json_field(o.request[2], "reservation_id"))
    deadline = time.monotonic() + timeout
    while True:
        reads = {h.response["reservation_id"]: view.reservation(h) for h in holds}
        avail = view.availability()
        # With want_no_holds every hold must have ended (its expiry applied by the worker, not
        # only its seats counted free); otherwise those the buyers paid for or cancelled.
        waited = reads.keys() if want_no_holds else settled_ids
        pending = [rid for rid in waited
                   if reads.get(rid, {}).get("status") not in FINAL_STATES + (MISSING,)]
        holding = avail["held"] > 0 if want_no_holds else False
        if (not pending and not holding) or time.monotonic() > deadline:
            return avail, reads
        time.sleep(0.3)


def _json_field(payload, field):
    try:
        return json.loads(payload).get(field)
    except (TypeError, ValueError):
        return None


def check_all(history, view, reads, avail, capacity, waiters=(), strict_5xx=False,
              replay_probe=20, final=True):
    """The invariants on `history` and the store's state (`avail`, `reads`: one read of each
    acknowledged hold). `final`: holds are expected to have ended (after TTL and worker)."""
    checks = []
    holds = acked_holds(history)
    by_id = {h.response["reservation_id"]: h for h in holds}

    # sold <= capacity, and the counts add up.
    total = avail["total"]
    checks.append(Check(
        SOLD_WITHIN_CAPACITY,
        avail["sold"] <= capacity and total == capacity
        and avail["available"] + avail["held"] + avail["sold"] == total,
        f"sold {avail['sold']}, held {avail['held']}, available {avail['available']}, "
        f"capacity {capacity}"))

    # No seat in two CONFIRMED reservations; each of their seats is SOLD in the seat map.
    owner = {}
    twice = []
    for rid, r in reads.items():
        if r.get("status") != "CONFIRMED":
            continue
        for seat in r.get("seat_ids", []):
            if seat in owner:
                twice.append((seat, owner[seat], rid))
            owner[seat] = rid
    seat_state = {s["seat_id"]: s["state"] for s in avail.get("seats", [])}
    not_sold = [s for s in owner if seat_state.get(s) != "SOLD"]
    checks.append(Check(NO_SEAT_SOLD_TWICE, not twice and not not_sold,
                        f"{len(owner)} seats sold to known buyers; sold twice: {twice[:5]}; "
                        f"confirmed but not SOLD in the seat map: {not_sold[:5]}"))

    # Every CONFIRMED a buyer was told is still CONFIRMED.
    told = set()
    for o in history.of("read"):
        if o.outcome == "ok" and o.response.get("status") == "CONFIRMED":
            told.add(o.response["reservation_id"])
    lost_confirmed = sorted(rid for rid in told if reads.get(rid, {}).get("status") != "CONFIRMED")
    checks.append(Check(CONFIRMED_STAYS_CONFIRMED, not lost_confirmed,
                        f"{len(told)} confirmations told to buyers; no longer CONFIRMED: "
                        f"{lost_confirmed[:5]}"))

    # Every acknowledged hold ended CONFIRMED, CANCELLED or EXPIRED.
    if final:
        open_holds = sorted(rid for rid, r in reads.items() if r.get("status") not in FINAL_STATES)
        missing = sorted(rid for rid, r in reads.items() if r.get("status") == MISSING)
        checks.append(Check(HOLDS_END_FINAL, not open_holds,
                            f"{len(reads)} acknowledged holds; not final: {open_holds[:5]}; of "
                            f"them lost (404): {len(missing)}"))

    # Each acknowledged payment applied as reported, exactly once: approve -> CONFIRMED,
    # fail -> CANCELLED, no dead letter, and the seats sold are those of CONFIRMED holds.
    wrong = []
    for name, want in (("pay_approve", "CONFIRMED"), ("pay_fail", "CANCELLED")):
        for o in history.of(name):
            if o.outcome != "ok":
                continue
            rid = o.response.get("reservation_id")
            got = reads.get(rid, {}).get("status")
            if final and got != want:
                wrong.append((rid, name, got))
    letters = view.dead_letters()
    sold_known = sum(len(r.get("seat_ids", [])) for r in reads.values()
                     if r.get("status") == "CONFIRMED")
    checks.append(Check(
        PAYMENTS_APPLIED_ONCE,
        not wrong and not letters and sold_known == avail["sold"],
        f"payments not applied as reported: {wrong[:5]}; dead letters: "
        f"{len(letters) if letters is not None else 'unreadable'} "
        f"{[(d.get('type'), d.get('error')) for d in (letters or [])[:3]]}; "
        f"seats sold {avail['sold']}, in CONFIRMED holds {sold_known}"))

    # Every retry consistent with its first definite answer: all 2xx attempts of one key name
    # one reservation; a same-body retry is never called "a different request"; and replaying
    # a sample of acknowledged keys now gives the same reservation back.
    inconsistent = []
    for o in history.of("hold"):
        ids = {a.json().get("reservation_id") for a in o.attempts
               if a.status is not None and 200 <= a.status < 300 and a.json()}
        if len(ids) > 1:
            inconsistent.append((o.key, "two reservations", sorted(ids)))
        for a in o.attempts:
            j = a.json() or {}
            msg = ((j.get("error") or {}).get("message") or "") if isinstance(j, dict) else ""
            code = ((j.get("error") or {}).get("code") or "") if isinstance(j, dict) else ""
            if a.status == 409 and ("different request" in msg or code == "request_key_reused"):
                inconsistent.append((o.key, "same body called a different request", a.gateway))
    # Duplicates the buyers sent right after their hold's answer, with the same key and body.
    dups = history.of("hold_dup")
    for d in dups:
        rid = (d.response or {}).get("reservation_id") if d.outcome == "ok" else None
        if rid != d.original:
            inconsistent.append((d.key, "duplicate differs", d.status, rid))
    sample = random.sample(holds, min(replay_probe, len(holds)))
    # A replay sent after the buyer's admission ended (payment and cancel end it; 410 `gone`)
    # or after its admission token expired (401) may be refused before the key is looked at
    # (so on main since the exactly-once holds): no other reservation is made or named, so it
    # is counted apart, not as inconsistent. A real client's retries (above) come sooner.
    gone_after_admission = 0
    for h in sample:
        method, path, payload = h.request
        headers = {"X-Admission-Token": _admission_token_of(h)}
        again = view.client.call("replay_probe", method, path, body=json.loads(payload),
                                 headers=headers, key=h.key, budget=30)
        rid = (again.response or {}).get("reservation_id") if again.outcome == "ok" else None
        if (again.status, again.error_code()) in ((410, "gone"), (401, "unauthorized")):
            gone_after_admission += 1
        elif rid != h.response["reservation_id"]:
            inconsistent.append((h.key, "replay differs", again.status, rid))
    checks.append(Check(RETRIES_CONSISTENT, not inconsistent,
                        f"{sum(len(o.attempts) > 1 for o in history.of('hold'))} holds retried, "
                        f"{len(dups)} sent twice at once, {len(sample)} replayed at the end ({gone_after_admission} refused 401/410: the "
                        f"admission or its token had ended); inconsistent: {inconsistent[:5]}"))

    # The seats taken (held + sold) are exactly those of the acknowledged holds that still
    # hold or were bought: a hold made for a request the buyer was told failed (a phantom)
    # shows up here.
    taken_known = sum(len(r.get("seat_ids", [])) for r in reads.values()
                      if r.get("status") in ("HOLD", "CONFIRMED"))
    taken_store = avail["held"] + avail["sold"]
    # The evidence, when there is some: a retried hold refused because of an open reservation
    # (hold_limit names it) that no buyer was ever given: made by an attempt answered 5xx.
    phantoms = []
    for o in history.of("hold"):
        if len(o.attempts) > 1 and o.error_code() == "hold_limit":
            msg = (o.response.get("error") or {}).get("message", "")
            named = [w for w in msg.split() if "." in w and w.split(".")[0] and w not in by_id]
            phantoms += [(o.key, n, [a.status for a in o.attempts]) for n in named]
    checks.append(Check(TAKEN_SEATS_MATCH_ACKNOWLEDGED, taken_store == taken_known,
                        f"held+sold in the store {taken_store}, in acknowledged holds "
                        f"{taken_known} (held {avail['held']}); retried holds refused for a "
                        f"reservation never acknowledged: {phantoms[:5]}"))

    # Waiting users: each status answer is the place, or an error that says what happened.
    silent, lost_places = [], 0
    for w in waiters:
        seen_place = False
        for status, body, outcome in w.answers:
            if outcome == "ok" and isinstance(body, dict) and body.get("status"):
                seen_place = True
                continue
            if outcome == "fail" and isinstance(body, dict) and (body.get("error") or {}).get(
                    "code"):
                lost_places += seen_place
                seen_place = False
                continue
            silent.append((w.name, status, outcome))
        if w.token is None:
            silent.append((w.name, "never joined"))
    if waiters:
        checks.append(Check(WAITERS_TOLD, not silent,
                            f"{len(waiters)} waiting users, {sum(len(w.answers) for w in waiters)}"
                            f" polls; places lost and reported: {lost_places}; silent or "
                            f"unanswered: {silent[:5]}"))

    attempts = history.attempts()
    fivexx = [a for a in attempts if a.status is not None and a.status >= 500]
    if strict_5xx:
        checks.append(Check(NO_5XX_SEEN, not fivexx,
                            f"{len(attempts)} attempts, {len(fivexx)} answered 5xx "
                            f"{sorted({(a.status, a.gateway) for a in fivexx})[:5]}"))
    unknown = [o for o in history.ops if o.outcome == "unknown" and o.name == "hold"]
    checks.append(Check(NO_UNKNOWN_OUTCOMES, not unknown,
                        f"holds without a definite answer after retries: {len(unknown)}"))
    return checks


def _admission_token_of(hold_op):
    # The hold was sent with the admission token in X-Admission-Token; the attempts keep the
    # request only as (method, path, body), so the Buyer stores the header on the op.
    return hold_op.admission_token


def confirmed_lost(history, reads):
    """Reservations a buyer was told were CONFIRMED and that are not CONFIRMED now."""
    told = {o.response["reservation_id"] for o in history.of("read")
            if o.outcome == "ok" and o.response.get("status") == "CONFIRMED"}
    return sum(1 for rid in told if reads.get(rid, {}).get("status") != "CONFIRMED")


def report(history, checks, avail, reads):
    ops = history.ops
    outcomes = {}
    for o in ops:
        outcomes[o.outcome] = outcomes.get(o.outcome, 0) + 1
    attempts = history.attempts()
    failed = [c for c in checks if not c.ok]
    return {
        "operations": len(ops),
        "outcomes": outcomes,
        "attempts": len(attempts),
        "5xx": sum(1 for a in attempts if a.status is not None and a.status >= 500),
        "connection_errors": sum(1 for a in attempts if a.error),
        "unknown_ops": sorted({o.name for o in ops if o.outcome == "unknown"}),
        "holds_acknowledged": len(acked_holds(history)),
        "seats_sold": avail["sold"],
        "holds_lost": sum(1 for r in reads.values() if r.get("status") == MISSING),
        "confirmed_lost": confirmed_lost(history, reads),
        "faults": [d for _, d in history.faults],
        "checks": len(checks),
        "failed_checks": [c.name for c in failed],
    }
