# Medians over the rounds of a throughput.sh run (rows.txt), as a markdown table: req/s of
# each server and the ratios to the cpp-httplib hello-world of the same run; p99, server CPU per
# request, the other processes' CPU, the worst fresh /healthz.
#   /usr/bin/python3 throughput_table.py OUT_DIR [MAX_OTHER_CORES]
import collections
import statistics
import sys

# Rows taken while other processes used more than this many cores are left out (argv[2]).
max_other = float(sys.argv[2]) if len(sys.argv) > 2 else 99
runs = collections.defaultdict(list)
dropped = 0
lines = open(sys.argv[1] + "/rows.txt").read().split("\n")[1:]
for line in filter(None, lines):
    rnd, tool, c, target, route, rps, p50, p99, non2xx, errors, us, other, probe = line.split()
    if float(other) > max_other:
        dropped += 1
        continue
    runs[(tool, int(c), route, target)].append(
        dict(rps=float(rps), p99=float(p99), bad=int(non2xx) + int(errors), us=float(us),
             other=float(other), probe=float(probe or "nan")))


def med(key, field):
    return statistics.median(r[field] for r in runs[key])


print("| tool | conns | route | hello httplib req/s | hello beast req/s (x httplib) "
      "| gateway req/s (x httplib; x beast) | p99 ms h / b / g | server CPU us/req h / b / g "
      "| worst fresh /healthz s h / b / g | errors h / b / g |")
print("|---|---|---|---|---|---|---|---|---|---|")
for tool, c, route in sorted({k[:3] for k in runs}, key=lambda k: (k[0] != "lg", k[1], k[2] != "status")):
    h, b, g = ((tool, c, route, t) for t in ("hello_httplib", "hello_beast", "gateway"))
    if not (runs[h] and runs[b] and runs[g]):
        print(f"| {tool} | {c} | {route} | (no run without other load in some column) |")
        continue
    rh, rb, rg = med(h, "rps"), med(b, "rps"), med(g, "rps")
    worst = lambda k: max(r["probe"] for r in runs[k])
    bad = lambda k: sum(r["bad"] for r in runs[k])
    print(f"| {tool} | {c} | {route} | {rh:,.0f} | {rb:,.0f} ({rb / rh:.2f}) "
          f"| {rg:,.0f} ({rg / rh:.2f}; {rg / rb:.2f}) "
          f"| {med(h, 'p99'):.1f} / {med(b, 'p99'):.1f} / {med(g, 'p99'):.1f} "
          f"| {med(h, 'us'):.0f} / {med(b, 'us'):.0f} / {med(g, 'us'):.0f} "
          f"| {worst(h):.2f} / {worst(b):.2f} / {worst(g):.2f} | {bad(h)} / {bad(b)} / {bad(g)} |")
others = [r["other"] for v in runs.values() for r in v]
print(f"\nOther processes' CPU during the runs (cores): median {statistics.median(others):.2f}, "
      f"max {max(others):.2f}; runs per cell: {min(len(v) for v in runs.values())}-"
      f"{max(len(v) for v in runs.values())}; left out (other > {max_other}): {dropped}")
