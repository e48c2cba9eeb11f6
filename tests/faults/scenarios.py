# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""The fault scenarios: each starts its processes (cluster.py), runs buyers and waiting users
(history.py) against two gateways, injects its faults, lets the worker and the hold expiry
settle, and checks the invariants (checker.py). Each returns a `Result`; the pytest file
(test_faults.py) and the runner (run_faults.py) decide what must pass.

Scale: $ADMISSION_FAULTS_SCALE = "ci" (the default: a few buyers, seconds of load, the whole
suite in about three minutes on two cores) or "full" (more buyers, longer load and faults).
"""

import os
import signal
import threading
import time
import uuid

import checker
from checker import Check, StoreView
from cluster import Cluster, gateway_refuses_store, redis_command, wait_until
from history import Balancer, Buyer, Client, History, Waiter, admin_put_inventory
from proxy import FaultProxy

SCALES = {
    # buyers and waiting users per scenario, seats, seconds of load around each fault, the
    # drain time of the rolling restart, acknowledged holds replayed at the end
    "ci": {"buyers": 4, "waiters": 3, "capacity": 600, "calm_sec": 1.5, "drain_sec": 1.5,
           "replays": 20},
    "full": {"buyers": 24, "waiters": 30, "capacity": 6000, "calm_sec": 6.0, "drain_sec": 5,
             "replays": 200},
}


def scale():
    name = os.environ.get("ADMISSION_FAULTS_SCALE", "ci")
    if name not in SCALES:
        raise ValueError(f"ADMISSION_FAULTS_SCALE must be one of {sorted(SCALES)}")
    return name, SCALES[name]


class Result:
    def __init__(self, name):
        self.name = name
        self.checks = []
        self.summary = {}
        self.skipped = None  # the reason, when the scenario could not run

    def failed(self, ignore=()):
        return [c for c in self.checks if not c.ok and c.name not in ignore]

    def check(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        return None

    def __repr__(self):
        if self.skipped:
            return f"{self.name}: skipped ({self.skipped})"
        lines = [f"{self.name}: {self.summary}"]
        lines += [f"  {c!r}" for c in self.checks]
        return "\n".join(lines)


class Load:
    """Buyers and waiting users on one event, over a Balancer of `gateways`."""

    def __init__(self, history, gateways, abandon=True, retry_budget=45.0, poll_sec=0.2):
        _, p = scale()
        self.history = history
        self.balancer = Balancer(gateways, poll_sec=poll_sec).start()
        self.event_id = "fault-" + uuid.uuid4().hex[:8]
        self.capacity = p["capacity"]
        self.seat_ids = [f"S-{i:05d}" for i in range(self.capacity)]
        self.stop = threading.Event()
        admin = Client("admin", history, self.balancer, retry_budget=30)
        op = admin_put_inventory(admin, self.event_id, self.seat_ids)
        if op.outcome != "ok":
            raise AssertionError(f"inventory not set: {op.status} {op.response}")
        self.buyers = [Buyer(f"buyer{i}", Client(f"buyer{i}", history, self.balancer,
                                                 retry_budget=retry_budget),
                             self.event_id, self.seat_ids, self.stop, abandon=abandon)
                       for i in range(p["buyers"])]
        self.waiters = [Waiter(f"waiter{i}-{uuid.uuid4().hex[:6]}",
                               Client(f"waiter{i}", history, self.balancer,
                                      retry_budget=retry_budget),
                               self.event_id, self.stop)
                        for i in range(p["waiters"])]
        self.reader = Client("checker", history, self.balancer, retry_budget=30)

    def start(self):
        for t in self.buyers + self.waiters:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.buyers + self.waiters:
            t.join(timeout=60)
        stuck = [t.name for t in self.buyers + self.waiters if t.is_alive()]
        if stuck:
            raise AssertionError(f"clients did not finish: {stuck}")

    def close(self):
        self.stop.set()
        self.balancer.stop()


def calm(seconds=None):
    time.sleep(scale()[1]["calm_sec"] if seconds is None else seconds)


def settle_and_check(result, load, history, settle_timeout, want_no_holds, strict_5xx=False,
                     final=True):
    view = StoreView(load.reader, load.event_id)
    avail, reads = checker.wait_settled(view, history, settle_timeout, want_no_holds)
    result.checks = checker.check_all(history, view, reads, avail, load.capacity,
                                      waiters=load.waiters, strict_5xx=strict_5xx, final=final,
                                      replay_probe=scale()[1]["replays"])
    result.summary = checker.report(history, result.checks, avail, reads)
    result.summary["buyer_errors"] = sum(len(b.errors) for b in load.buyers)
    if os.environ.get("ADMISSION_FAULTS_HISTORY_DIR"):
        history.dump(os.path.join(os.environ["ADMISSION_FAULTS_HISTORY_DIR"],
                                  f"{result.name}.jsonl"))
    return result


# Holds that outlive the worker's lease on a claimed event (WorkerOptions::lease, 30 s): a
# payment approval claimed by a worker that then lost its store (or its process) is
# redelivered to another worker after the lease, and must still find its hold. With shorter
# holds the hold expires first and the approval is parked as a dead letter (a refund), which
# is the documented outcome but not what these scenarios test.
HOLD_TTL_PAST_LEASE = 35


def gateway_flags(hold_ttl, drain_sec=None):
    # --drain_sec only where a scenario drains (the others end their gateways with SIGKILL).
    flags = [f"--hold_ttl_sec={hold_ttl}", "--max_body_bytes=262144"]
    if drain_sec is not None:
        flags.append(f"--drain_sec={drain_sec}")
    return flags


# --- the scenarios ------------------------------------------------------------------------


def gateway_kill9_mid_payment():
    """Two gateways; each in turn is killed with SIGKILL while buyers pay, then restarted.
    The hold TTL outlives the worker's lease (30 s), so an event a dead worker had claimed is
    redelivered before its hold runs out."""
    r = Result("gateway_kill9_mid_payment")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        flags = gateway_flags(hold_ttl=45)
        gws = [c.start_gateway(redis.url, n, flags) for n in ("a", "b")]
        # A payment cut short by the kill holds the reservation's payment lock for its lease
        # (30 s): retries answer "409 in progress" until then, so clients retry for longer
        # (Load's default budget, 45 s).
        load = Load(h, gws, abandon=False).start()
        try:
            calm()
            for g in gws + gws[:1]:
                # Mid-payment: wait for a payment attempt to be on its way to this gateway.
                mid = _wait_for_inflight(h, ("pay_approve", "pay_fail"), g.url, timeout=5)
                g.kill9()
                h.fault(f"kill -9 gateway {g.name}" + (" mid-payment" if mid else ""))
                calm(0.5)
                g.restart()
                h.fault(f"restarted gateway {g.name}")
                calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=45, want_no_holds=False)
        finally:
            load.close()
        c.failed = bool(r.failed())
    return r


def _wait_for_inflight(history, names, url, timeout):
    """Polls (bounded) until an operation named in `names` is on its way to `url`: True then;
    False at the deadline (the kill then lands mid-load rather than mid-payment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if history.inflight_to(names, url):
            return True
        time.sleep(0.001)
    return False


def redis_stall_3s():
    """Redis stopped for 3 s (SIGSTOP/SIGCONT), later paused for 3 s (CLIENT PAUSE), under
    buyers who never walk away: afterwards the seats held and sold are exactly those of the
    holds the buyers were told about (after their retries)."""
    r = Result("redis_stall_3s")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        # Long holds: a hold made for a request answered 503 (a phantom) is still there when
        # the check runs.
        flags = gateway_flags(hold_ttl=120)
        gws = [c.start_gateway(redis.url, n, flags) for n in ("a", "b")]
        load = Load(h, gws, abandon=False).start()
        try:
            calm()
            redis.signal(signal.SIGSTOP)
            h.fault("SIGSTOP redis for 3 s")
            time.sleep(3)
            redis.signal(signal.SIGCONT)
            calm()
            redis.command("CLIENT", "PAUSE", "3000", "ALL")
            h.fault("CLIENT PAUSE 3000 ALL")
            time.sleep(3)
            calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=30, want_no_holds=False)
        finally:
            load.close()
        c.failed = bool(r.failed())
    return r


def redis_stall_10s():
    """Redis blocked for 10 s (DEBUG SLEEP 10): longer than the store deadline and many
    client retries; short holds, some walked away from, must still all end."""
    r = Result("redis_stall_10s")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        flags = gateway_flags(hold_ttl=HOLD_TTL_PAST_LEASE)
        gws = [c.start_gateway(redis.url, n, flags) for n in ("a", "b")]
        load = Load(h, gws, abandon=True).start()
        try:
            calm()
            sleeper = threading.Thread(
                target=lambda: redis_command(redis.port, "DEBUG", "SLEEP", "10", timeout=20),
                daemon=True)
            sleeper.start()
            h.fault("DEBUG SLEEP 10")
            sleeper.join(timeout=20)
            calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=60, want_no_holds=True)
        finally:
            load.close()
        c.failed = bool(r.failed())
    return r


SENTINEL_MASTER = "faults"


def sentinel_url(sentinels):
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in sentinels)
    return f"redis-sentinel://{SENTINEL_MASTER}@{hosts}"


def sentinel_support():
    """None when the gateway takes redis-sentinel:// store URLs, else why not."""
    return gateway_refuses_store(f"redis-sentinel://{SENTINEL_MASTER}@127.0.0.1:1")


def primary_kill9_failover():
    """A primary, a replica and three sentinels; the primary is killed with SIGKILL under
    load, the sentinels promote the replica, the gateways follow (redis-sentinel:// URL)."""
    r = Result("primary_kill9_failover")
    refused = sentinel_support()
    if refused:
        r.skipped = ("the gateway refuses redis-sentinel:// store URLs (sentinel support not "
                     f"merged yet): {refused}")
        return r
    h = History()
    with Cluster(r.name) as c:
        primary = c.start_redis("primary")
        replica = c.start_redis("replica", replica_of=primary.port)
        wait_until(lambda: "master_link_status:up" in replica.command("INFO", "replication"),
                   15, what="the replica to sync")
        sentinels = c.start_sentinels(SENTINEL_MASTER, primary.port)
        wait_until(lambda: _sentinels_see_replica(sentinels), 15,
                   what="the sentinels to find the replica")
        flags = gateway_flags(hold_ttl=45)
        gws = [c.start_gateway(sentinel_url(sentinels), n, flags) for n in ("a", "b")]
        load = Load(h, gws, abandon=False).start()
        try:
            calm()
            primary.kill9()
            h.fault("kill -9 the primary")
            wait_until(lambda: _master_port(sentinels[0]) == replica.port, 30,
                       interval=0.2, what="the sentinels to promote the replica")
            h.fault("sentinels promoted the replica")
            calm()
            # And back: the old primary returns as a replica; a manual failover moves the
            # primary role to it under load (SENTINEL FAILOVER).
            primary.start()  # empty (no persistence): it must not be taken for the primary
            primary.command("REPLICAOF", "127.0.0.1", str(replica.port))
            wait_until(lambda: "master_link_status:up" in primary.command("INFO", "replication"),
                       20, what="the old primary to sync as a replica")
            sentinels[0].command("SENTINEL", "FAILOVER", SENTINEL_MASTER)
            h.fault("SENTINEL FAILOVER back to the first server")
            wait_until(lambda: _master_port(sentinels[0]) == primary.port, 30, interval=0.2,
                       what="the manual failover")
            calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=45, want_no_holds=False)
        finally:
            load.close()
        c.failed = bool(r.failed())
    return r


def _sentinels_see_replica(sentinels):
    try:
        return all(len(s.command("SENTINEL", "REPLICAS", SENTINEL_MASTER) or []) >= 1
                   for s in sentinels)
    except (OSError, RuntimeError):
        return False


def _master_port(sentinel):
    try:
        addr = sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
        return int(addr[1]) if addr else None
    except (OSError, RuntimeError):
        return None


def network_cut():
    """Gateway a reaches Redis through a proxy; b directly. The proxy cuts every connection
    (and refuses new ones) for 3 s, then black-holes traffic for 3 s, then delays it."""
    r = Result("network_cut")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        proxy = c.add_proxy(FaultProxy(("127.0.0.1", redis.port)).start())
        flags = gateway_flags(hold_ttl=HOLD_TTL_PAST_LEASE)
        a = c.start_gateway(f"redis://127.0.0.1:{proxy.port}", "a", flags)
        b = c.start_gateway(redis.url, "b", flags)
        load = Load(h, [a, b], abandon=True).start()
        try:
            calm()
            proxy.cut()
            h.fault("cut gateway a <-> redis for 3 s")
            time.sleep(3)
            proxy.heal()
            calm()
            proxy.drop()
            h.fault("black hole gateway a <-> redis for 3 s")
            time.sleep(3)
            proxy.heal()
            calm()
            proxy.delay(300)
            h.fault("300 ms per chunk gateway a <-> redis for 2 s")
            time.sleep(2)
            proxy.heal()
            calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=60, want_no_holds=True)
        finally:
            load.close()
        c.failed = bool(r.failed())
    return r


def rolling_restart():
    """Two gateways restarted one after the other with SIGTERM under load: each drains
    (/readyz 503 first, the balancer moves away, in-flight requests finish) and exits 0; no
    client sees a 5xx."""
    r = Result("rolling_restart")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        flags = gateway_flags(hold_ttl=4, drain_sec=scale()[1]["drain_sec"])
        gws = [c.start_gateway(redis.url, n, flags) for n in ("a", "b")]
        load = Load(h, gws, abandon=True, poll_sec=0.1).start()
        exits, not_ready_seen = {}, {}
        try:
            calm()
            for g in gws:
                g.signal(signal.SIGTERM)
                h.fault(f"SIGTERM gateway {g.name}")
                t0 = time.monotonic()
                not_ready_seen[g.name] = wait_until(lambda: g.readyz() == 503, 2, interval=0.02,
                                                    what="/readyz 503")
                exits[g.name] = (g.wait(20), round(time.monotonic() - t0, 2))
                g.restart()
                h.fault(f"restarted gateway {g.name}")
                wait_until(lambda: g.readyz() == 200, 10, what="/readyz 200 again")
                calm()
            load.finish()
            settle_and_check(r, load, h, settle_timeout=45, want_no_holds=True, strict_5xx=True)
        finally:
            load.close()
        r.checks.append(Check("drained_gateways_exit_0",
                              all(code == 0 for code, _ in exits.values()) and
                              all(not_ready_seen.values()),
                              f"exit codes and seconds after SIGTERM: {exits}"))
        r.summary["drain_exits"] = exits
        c.failed = bool(r.failed())
    return r


def drain_answers_in_flight():
    """A request already read when SIGTERM comes is still answered: Redis is stopped so that
    a join waits in its store call, the gateway gets SIGTERM (no drain time), Redis resumes;
    the join is answered 2xx, the gateway exits 0 and then refuses connections."""
    r = Result("drain_answers_in_flight")
    h = History()
    with Cluster(r.name) as c:
        redis = c.start_redis()
        g = c.start_gateway(redis.url, "a", ["--drain_sec=0", "--store_deadline_ms=10000"])
        client = Client("inflight", h, Balancer([g]), timeout=15)
        redis.signal(signal.SIGSTOP)
        h.fault("SIGSTOP redis")
        answer = {}
        t = threading.Thread(target=lambda: answer.setdefault("op", client.call(
            "join", "POST", "/api/v1/queue/join",
            body={"event_id": "drain-" + uuid.uuid4().hex[:6], "user_id": "ina"}, retry=False)))
        t.start()
        wait_until(lambda: h.inflight_to(("join",), g.url), 5, interval=0.01,
                   what="the join to be sent")
        time.sleep(0.3)  # read by the gateway and waiting on the stopped Redis
        g.signal(signal.SIGTERM)
        h.fault("SIGTERM gateway with a join in flight")
        time.sleep(0.5)
        redis.signal(signal.SIGCONT)
        h.fault("SIGCONT redis")
        t.join(timeout=20)
        op = answer.get("op")
        code = g.wait(15)
        refused = g.readyz() is None
        r.checks = [
            Check("in_flight_request_answered", op is not None and op.outcome == "ok",
                  f"join: {op.status if op else None} {op.response if op else None}"),
            Check("drained_gateway_exits_0", code == 0, f"exit code {code}"),
            Check("stopped_gateway_refuses_connections", refused, "after exit"),
        ]
        r.summary = {"operations": len(h.ops), "faults": [d for _, d in h.faults]}
        c.failed = bool(r.failed())
    return r


ALL = [drain_answers_in_flight, gateway_kill9_mid_payment, redis_stall_3s, redis_stall_10s, primary_kill9_failover,
       network_cut, rolling_restart]
