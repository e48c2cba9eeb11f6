#!/usr/bin/python3
"""Markdown tables from the results run_scenarios.sh leaves in OUT_DIR (its JSON and text files).

    /usr/bin/python3 examples/gateway/load/report.py OUT_DIR
"""
import json
import os
import sys


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f) if name.endswith(".json") else f.read().strip()


def cpu_us_per_request(out, name, requests):
    text = load(out, name + ".cpu_ms")
    if text is None or not requests:
        return None
    return int(text) * 1000.0 / requests


def wrk(out, name):
    text = load(out, name)
    if not text:
        return None
    f = text.split()
    return {"per_sec": float(f[1]), "p50_ms": float(f[2]), "p95_ms": float(f[3]),
            "p99_ms": float(f[4]), "non2xx": int(f[5]), "errors": int(f[6])}


def server_p95(metrics, route):
    """The histogram bucket of /metrics holding the p95 of `route`, as "(lo, hi] ms"."""
    prefix = ('admission_gateway_http_request_duration_seconds_bucket{route="/api/v1/queue/%s"'
              % route)
    buckets = []
    for line in metrics.splitlines():
        if line.startswith(prefix):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), int(line.split()[-1])))
    if not buckets or buckets[-1][1] == 0:
        return "-"
    rank = 0.95 * buckets[-1][1]
    lo = 0.0
    for le, count in buckets:
        if count >= rank:
            return "(%g, %g] ms" % (lo * 1000, le * 1000)
        lo = le
    return "-"


def lat(r):
    return "%.2f / %.2f / %.2f" % (r["p50_ms"], r["p95_ms"], r["p99_ms"])


def pct(a, b):
    return "%.0f%%" % (100.0 * a / b) if b else "-"


def main(out):
    print(load(out, "machine.txt") or "")
    print()
    print("### Closed loop: the burst (a), status polls, and the hello-world ceiling")
    print()
    print("| requests | gateway req/s | hello req/s | gateway / hello | gateway p50 / p95 / p99 ms"
          " | hello p50 / p95 / p99 ms | server CPU per request, gateway / hello |")
    print("|---|---|---|---|---|---|---|")
    rows = [("POST join: burst of the (a) users, admission-gateway-load", "a_join", "join"),
            ("GET status over the burst's users, admission-gateway-load", "a_status", "status")]
    for title, prefix, route in rows:
        g = load(out, prefix + "_gateway.json")
        h = load(out, prefix + "_hello.json")
        if not g or not h:
            continue
        gr, hr = g["routes"][route], h["routes"][route]
        gc = cpu_us_per_request(out, prefix + "_gateway", gr["requests"])
        hc = cpu_us_per_request(out, prefix + "_hello", hr["requests"])
        cpu = "%.0f / %.0f us" % (gc, hc) if gc and hc else "-"
        print("| %s | %.0f | %.0f | **%s** | %s | %s | %s |" % (
            title, gr["per_sec"], hr["per_sec"], pct(gr["per_sec"], hr["per_sec"]), lat(gr),
            lat(hr), cpu))
    for title, name in (("POST join, wrk (2 threads)", "wrk_join"),
                        ("GET status, wrk (2 threads)", "wrk_status")):
        g, h = wrk(out, name + "_gateway.txt"), wrk(out, name + "_hello.txt")
        if g and h:
            print("| %s | %.0f | %.0f | **%s** | %s | %s | - |" % (
                title, g["per_sec"], h["per_sec"], pct(g["per_sec"], h["per_sec"]), lat(g),
                lat(h)))
    g = load(out, "a_join_gateway.json")
    if g:
        r = g["routes"]["join"]
        print()
        print("Burst: %d joins in %.1f s (%.0f/s); answers %s." % (
            r["requests"], g["seconds"], r["per_sec"], json.dumps(r["codes"])))
    stats = load(out, "a_stats.json")
    if stats:
        print("Event `burst` afterwards: waiting %s, joined_total %s." % (
            stats.get("waiting"), stats.get("joined_total")))

    c = load(out, "b_circulation_gateway.json")
    if not c:
        return
    h = load(out, "b_rate_hello.json")
    print()
    print("### Circulation (b): %.0f users/s for %.0f s, %d connections" % (
        c["arrival_rate"], c["seconds"], c["connections"]))
    print()
    print("| route | requests | per s | p50 ms | p95 ms | p99 ms | max ms | answers |")
    print("|---|---|---|---|---|---|---|---|")
    for route in ("join", "status", "enter", "complete", "leave"):
        r = c["routes"].get(route)
        if not r:
            continue
        print("| %s | %d | %.0f | %.2f | **%.2f** | %.2f | %.1f | %s |" % (
            route, r["requests"], r["per_sec"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
            r["max_ms"], ", ".join("%s: %s" % kv for kv in r["codes"].items())))
    if h:
        for route, shape in (("join", "POST"), ("status", "GET")):
            r = h["routes"].get(route)
            if r:
                print("| hello-world, %s at the same total rate | %d | %.0f | %.2f | %.2f | %.2f |"
                      " %.1f | %s |" % (shape, r["requests"], r["per_sec"], r["p50_ms"],
                                       r["p95_ms"], r["p99_ms"], r["max_ms"],
                                       ", ".join("%s: %s" % kv for kv in r["codes"].items())))
    w = c["activation_wait"]
    print()
    print("- requests: %.0f/s in the window; generator lag p99 %.2f ms (how late requests started"
          " against their schedule)" % (c["requests_per_sec"], c["lag"]["p99_ms"]))
    print("- activation wait (join sent -> grant received): p50 %.2f s, **p95 %.2f s**, p99 %.2f s"
          % (w["p50_ms"] / 1000, w["p95_ms"] / 1000, w["p99_ms"] / 1000))
    print("- entries / exits: whole window %d / %d = %.3f; steady state (from %.0f s) %d / %d ="
          " **%.3f**; after the drain %d / %d" % (
              c["entries_window"], c["exits_window"], c["entries_to_exits_window"],
              c["steady_from_sec"], c["entries_steady"], c["exits_steady"],
              c["entries_to_exits_steady"], c["entries_total"], c["exits_total"]))
    print("- users %d, joined %d, denied entries %d, lost (expired/gone) %d, errors %d,"
          " still in the room at the end %d" % (
              c["users"], c["joined"], c["denied"], c["lost"], c["errors"], c["still_in_room"]))
    cpu_ms = load(out, "b_circulation_gateway.cpu_ms")
    if cpu_ms:
        print("- gateway CPU: %.0f%% of one core on average over the run (window and drain)"
              % (int(cpu_ms) / 10.0 / c["ran_sec"]))
    metrics = load(out, "b_metrics.txt")
    if metrics:
        print("- inside the gateway (its own histogram, from the request read to the answer"
              " written; window and drain), p95 lies in: %s" % ", ".join(
                  "%s %s" % (route, server_p95(metrics, route))
                  for route in ("join", "status", "enter", "complete", "leave")))
    stats = load(out, "b_stats.json")
    if stats:
        print("- the gateway's stats afterwards: %s" % json.dumps(
            {k: stats.get(k) for k in ("waiting", "active", "joined_total", "admitted_total",
                                       "completed_total", "left_total", "expired_total",
                                       "active_timed_out_total")}))


if __name__ == "__main__":
    main(sys.argv[1])
