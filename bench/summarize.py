#!/usr/bin/env python3
# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""Turns admission_bench's JSON output into the Markdown tables of docs/benchmarks.md.

    admission_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
        --benchmark_min_time=0.2 --benchmark_out=bench.json --benchmark_out_format=json
    python3 bench/summarize.py bench.json

Uses the median of the repetitions (or the single run when there are no aggregates) and
quotes every operation as a ratio to Baseline/MapInsertFind of the same line size, measured in
the same run. Standard library only.
"""
import json
import re
import sys

SIZES = [1000, 100000, 1000000]
OPS = ["Join", "Status", "Enter", "Leave"]
TARGET_NS = 1000  # Status and Join, single thread, 1M waiting


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}
    cv = {}
    for b in data["benchmarks"]:
        kind = b.get("run_type")
        agg = b.get("aggregate_name")
        name = b.get("run_name", b["name"])
        if kind == "aggregate" and agg == "median":
            rows[name] = b
        elif kind == "aggregate" and agg == "cv":
            cv[name] = b
        elif kind == "iteration" and name not in rows:
            rows[name] = b
    return data.get("context", {}), rows, cv


def ns(b, field="real_time"):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b[field] * scale


def fmt_ns(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_rate(v):
    return f"{v / 1e3:,.0f}k"


def key(api, op, size, threads):
    return f"{api}/{op}/{size}/real_time/threads:{threads}"


def cv_pct(cv, name):
    b = cv.get(name)
    if b is None:
        return ""
    return f"{100 * b['real_time']:.0f}%"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py bench.json")
    context, rows, cv = load(sys.argv[1])
    print(f"<!-- from {sys.argv[1]}, run {context.get('date', '?')}, "
          f"{context.get('num_cpus', '?')} CPUs, clock: {context.get('admission.clock', '?')} -->")
    print()

    base = {}
    print("### Baselines (1 thread, median ns per iteration)")
    print()
    print("| line size | MapInsertFind | cv | RandomRead (one cache miss) |")
    print("|---:|---:|---:|---:|")
    for size in SIZES:
        m = rows.get(f"Baseline/MapInsertFind/{size}/real_time/threads:1")
        r = rows.get(f"Baseline/RandomRead/{size}/real_time/threads:1")
        if m:
            base[size] = ns(m)
        mk = f"Baseline/MapInsertFind/{size}/real_time/threads:1"
        print(f"| {size:,} | {fmt_ns(ns(m)) if m else '-'} | {cv_pct(cv, mk)} "
              f"| {fmt_ns(ns(r)) if r else '-'} |")
    t = rows.get("Baseline/NewToken/real_time")
    if t:
        print()
        print(f"Baseline/NewToken: {fmt_ns(ns(t))} ns per token.")
    print()

    for api in ["Facade", "Store"]:
        title = "through WaitingRoom" if api == "Facade" else "directly through the Store"
        print(f"### {api}: {title}")
        print()
        print("| op | line size | 1 thread: ns/call | cv | CPU ns/call | x baseline "
              "| 1 thread: calls/s | 2 threads: ns/call (wall / calls) | cv | 2 threads: calls/s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for op in OPS:
            for size in SIZES:
                k1, k2 = key(api, op, size, 1), key(api, op, size, 2)
                b1, b2 = rows.get(k1), rows.get(k2)
                cells = [op, f"{size:,}"]
                if b1:
                    ratio = f"{ns(b1) / base[size]:.1f}" if size in base else "-"
                    cells += [fmt_ns(ns(b1)), cv_pct(cv, k1), fmt_ns(ns(b1, "cpu_time")), ratio,
                              fmt_rate(b1.get("items_per_second", 0))]
                else:
                    cells += ["-", "", "-", "-", "-"]
                if b2:
                    cells += [fmt_ns(ns(b2)), cv_pct(cv, k2),
                              fmt_rate(b2.get("items_per_second", 0))]
                else:
                    cells += ["-", "", "-"]
                print("| " + " | ".join(cells) + " |")
        print()

    print("### Targets (WaitingRoom, 1 thread, 1M waiting)")
    print()
    print("| target | measured median | met? |")
    print("|---|---:|---|")
    for op in ["Status", "Join"]:
        b = rows.get(key("Facade", op, 1000000, 1))
        if b is None:
            print(f"| {op} <= 1 us | - | not measured |")
            continue
        v = ns(b)
        verdict = "yes" if v <= TARGET_NS else f"no: {v / TARGET_NS:.1f}x the target"
        print(f"| {op} <= {TARGET_NS:,} ns | {fmt_ns(v)} ns | {verdict} |")


if __name__ == "__main__":
    main()
