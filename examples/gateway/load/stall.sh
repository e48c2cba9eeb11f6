#!/usr/bin/env bash
# The store-stall figure of the gateway (docs/benchmarks.md, "Gateway: a stalled store"):
# admission-gateway on a redis-server of its own, CLIENTS keep-alive clients polling their
# status once a second (admission-gateway-crowd), and a probe that every 100 ms opens a fresh
# connection for GET /healthz and another for a POST join. STALL_AT seconds into the run the
# redis-server is stopped (SIGSTOP: it accepts but never answers) for STALL seconds, then
# resumed. Prints, from the probes' time line: /healthz before, during and after the stall;
# how long the joins sent during the stall took to be answered 503 (against the gateway's
# --store_deadline_ms); and how long after the resume the first join, and every join after it,
# succeeded again.
#
#   examples/gateway/load/stall.sh BUILD_DIR [extra gateway flags...]
#   CLIENTS=1000 STALL=10 STALL_AT=10 DURATION=30 examples/gateway/load/stall.sh build/release
set -euo pipefail
build="${1:?usage: stall.sh BUILD_DIR [extra gateway flags...]}"
shift
gateway="${build}/examples/gateway/admission-gateway"
crowd="${build}/examples/gateway/load/admission-gateway-crowd"
clients="${CLIENTS:-1000}"
stall="${STALL:-10}"
stall_at="${STALL_AT:-10}"
duration="${DURATION:-30}"
command -v redis-server >/dev/null || { echo "stall.sh: needs redis-server" >&2; exit 2; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "${p}" 2>/dev/null || true; kill "${p}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "${p}" 2>/dev/null || true; done
  rm -rf "${work}"
}
trap cleanup EXIT

redis_port="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --port "${redis_port}" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "${work}" >"${work}/redis.log" 2>&1 &
redis_pid=$!
pids+=("${redis_pid}")
for _ in $(seq 100); do
  redis-cli -p "${redis_port}" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done

"${gateway}" --listen=127.0.0.1:0 --create_events_on_join --pow=off --store="redis://127.0.0.1:${redis_port}" \
  --rate_limit_ip_per_sec=0 --rate_limit_token_per_sec=0 --access_log=false "$@" \
  >"${work}/out" 2>"${work}/err" &
gateway_pid=$!
pids+=("${gateway_pid}")
for _ in $(seq 100); do
  grep -q "listening on" "${work}/out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/.*listening on \(http:[^ ]*\)$/\1/p' "${work}/out" | head -n 1)"
base="${base%/}"
[[ -n "${base}" ]] || { echo "stall.sh: the gateway did not start:" >&2; cat "${work}/err" >&2; exit 1; }
echo "gateway ${base} on redis 127.0.0.1:${redis_port}; flags: defaults, rate limits off," \
  "--access_log=false $*; ${clients} clients; redis stopped ${stall} s from ${stall_at} s"

"${crowd}" --url="${base}" --pollers="${clients}" --slowloris=0 --idle=0 \
  --duration_sec="${duration}" --pid="${gateway_pid}" --request_timeout_ms=5000 \
  --probes_out="${work}/probes.csv" >"${work}/crowd.txt" 2>&1 &
crowd_pid=$!
pids+=("${crowd_pid}")
# The stall, on the probes' clock (CLOCK_MONOTONIC, as the crowd tool prints it).
for _ in $(seq 600); do
  grep -q "^ramp:\|^probes:" "${work}/crowd.txt" 2>/dev/null && break
  sleep 0.1
done
sleep $((clients / 3000 + 2 + stall_at))
stop_s="$(/usr/bin/python3 -c 'import time; print(time.monotonic())')"
kill -STOP "${redis_pid}"
sleep "${stall}"
kill -CONT "${redis_pid}"
resume_s="$(/usr/bin/python3 -c 'import time; print(time.monotonic())')"
wait "${crowd_pid}" || true
grep -v "^probes:" "${work}/crowd.txt" | sed -n '1,/^failures/p'
echo "redis stopped at ${stop_s}, resumed at ${resume_s} (CLOCK_MONOTONIC, s)"

/usr/bin/python3 - "${work}/crowd.txt" "${work}/probes.csv" "${stop_s}" "${resume_s}" <<'PY'
import csv, re, sys
crowd, probes, stop, resume = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
origin = float(re.search(r"CLOCK_MONOTONIC ([0-9.]+) s", open(crowd).read()).group(1))
stop_ms, resume_ms = (stop - origin) * 1000, (resume - origin) * 1000
rows = [dict(r, sent=float(r["sent_ms"]), took=float(r["took_ms"]), status=int(r["status"]))
        for r in csv.DictReader(open(probes))]

def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

def summary(name, rs):
    t = [r["took"] for r in rs]
    codes = {}
    for r in rs:
        codes[r["status"]] = codes.get(r["status"], 0) + 1
    print(f"  {name:<44} {len(t):>5} {pct(t, .5):>8.2f} {pct(t, .99):>8.2f} {max(t or [0]):>8.2f}  {codes}")

print(f"  {'probe (ms)':<44} {'count':>5} {'p50':>8} {'p99':>8} {'max':>8}  statuses")
for what in sorted({r["what"] for r in rows}):
    rs = [r for r in rows if r["what"] == what]
    summary(f"{what}, before the stall", [r for r in rs if r["sent"] + r["took"] < stop_ms])
    summary(f"{what}, during the stall", [r for r in rs if r["sent"] >= stop_ms and r["sent"] < resume_ms])
    summary(f"{what}, after the resume", [r for r in rs if r["sent"] >= resume_ms])
joins = sorted((r for r in rows if "join" in r["what"]), key=lambda r: r["sent"])
late = [r for r in joins if r["sent"] >= resume_ms]
first_ok = next((r for r in late if r["status"] < 300), None)
last_bad = max((r["sent"] + r["took"] for r in late if r["status"] >= 300), default=None)
if first_ok:
    print(f"first successful join answered {first_ok['sent'] + first_ok['took'] - resume_ms:.0f} ms after the resume")
print("every join succeeded after the resume" if last_bad is None else
      f"last failed join answered {last_bad - resume_ms:.0f} ms after the resume")
PY
echo "gateway counters:"
curl -s "${base}/metrics" | grep -E "^admission_store_deadline_exceeded_total|^admission_gateway_store_errors_total" | sed 's/^/  /'
