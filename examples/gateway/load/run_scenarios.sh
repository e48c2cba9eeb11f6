#!/usr/bin/env bash
# The gateway's load figures (docs/benchmarks.md, "Gateway"): builds nothing, takes the
# binaries, starts the servers on free loopback ports, runs
#   (a) a burst of BURST_USERS joins into one event (closed loop, CONNECTIONS connections),
#       then status polls over those waiting users for THROUGHPUT_SEC seconds;
#   the ceiling: the same requests against admission-hello-server (a hello-world on the
#       gateway's HTTP server, configured like the gateway), in the same run; plus a wrk
#       cross-check of both;
#   (b) circulation: RATE users/s join, poll every 1-2 s, enter when ready, stay 5-30 s, then
#       complete or leave, for DURATION seconds (then the room drains), on a fresh gateway;
#       and the hello-world server at the same request rate, for its latencies;
# and prints markdown tables. Every server runs on the in-memory store unless STORE is set.
#
#   examples/gateway/load/run_scenarios.sh BUILD/examples/gateway/admission-gateway \
#       BUILD/examples/gateway/load/admission-hello-server \
#       BUILD/examples/gateway/load/admission-gateway-load [OUT_DIR]
#
# Knobs (environment): BURST_USERS=300000 CONNECTIONS=32 THROUGHPUT_SEC=10 RATE=2000
# DURATION=180 DRAIN=60 CIRC_CONNECTIONS=48 HELLO_RATE_SEC=30 WRK=1 (0: skip wrk)
# STORE=memory (e.g. redis://127.0.0.1:6379) GATEWAY_FLAGS="" (extra gateway flags)
# OPEN_CONNECTIONS=0 (during (b), admission-gateway-crowd, next to the load generator, holds
# this many more connections open and idle; give the gateway a keep-alive timeout longer than
# the run, GATEWAY_FLAGS="--keep_alive_timeout_sec=600", or they are closed and reopened)
# HELLO_FLAGS="" (e.g. "--server=httplib --threads=64 --keep_alive_timeout_sec=2": the
# cpp-httplib hello-world configured as the gateway was before its event-driven server)
# CIRC_POLICY="--admit_rate_per_sec=2500 --burst=5000 --reservation_ttl_sec=60" (the room's
# policy in (b): a user may enter once within bypass_top_n + whole tokens of the front, so with
# polls every 1.5 s admitting 2,000/s needs a window of over 3,000: burst 5000; reservations
# outlive the longest 30 s stay), POLL_AFTER_CAP_MS=2000 (30000: follow poll_after_ms as the
# page does).
#
# The gateways run as in production except that each simulated user names its own address in
# X-Real-IP (--client_address_header=X-Real-IP), so the per-client limits stay on; the access
# log is on and goes to /dev/null. Needs /usr/bin/python3 (tables) and, for the cross-check,
# wrk. Load generator and servers share this machine's cores: compare ratios within one run.
set -euo pipefail
gateway="${1:?usage: run_scenarios.sh GATEWAY HELLO_SERVER LOAD_GENERATOR [OUT_DIR]}"
hello="${2:?usage: run_scenarios.sh GATEWAY HELLO_SERVER LOAD_GENERATOR [OUT_DIR]}"
load="${3:?usage: run_scenarios.sh GATEWAY HELLO_SERVER LOAD_GENERATOR [OUT_DIR]}"
out="${4:-$(mktemp -d /tmp/gateway-load-XXXXXX)}"
mkdir -p "${out}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

burst_users="${BURST_USERS:-300000}"
connections="${CONNECTIONS:-32}"
throughput_sec="${THROUGHPUT_SEC:-10}"
rate="${RATE:-2000}"
duration="${DURATION:-180}"
drain="${DRAIN:-60}"
circ_connections="${CIRC_CONNECTIONS:-48}"
hello_rate_sec="${HELLO_RATE_SEC:-30}"
store="${STORE:-memory}"
circ_policy="${CIRC_POLICY:---admit_rate_per_sec=2500 --burst=5000 --reservation_ttl_sec=60}"
read -r -a extra_flags <<<"${GATEWAY_FLAGS:-}"
read -r -a hello_flags <<<"${HELLO_FLAGS:-}"
read -r -a policy_flags <<<"${circ_policy}"
admin="load-admin"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "${p}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "${p}" 2>/dev/null || true; done
}
trap cleanup EXIT

# start NAME BINARY FLAGS...: starts a server on a free port; sets PORT and PID.
start() {
  local name="$1" binary="$2"
  shift 2
  "${binary}" --listen=127.0.0.1:0 "$@" >"${out}/${name}.out" 2>/dev/null &
  PID=$!
  pids+=("${PID}")
  PORT=""
  for _ in $(seq 200); do
    PORT="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/$/\1/p' "${out}/${name}.out")"
    [[ -n "${PORT}" ]] && break
    sleep 0.05
  done
  [[ -n "${PORT}" ]] || { echo "${name} did not start" >&2; exit 1; }
}
stop() {  # PID
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure NAME PID LOAD_ARGS...: runs the load generator; records the server's CPU time.
measure() {
  local name="$1" pid="$2"
  shift 2
  local before after
  before="$(cpu_ticks "${pid}")"
  "${load}" --json_out="${out}/${name}.json" --label="${name}" "$@" | tee "${out}/${name}.txt"
  after="$(cpu_ticks "${pid}")"
  echo "$(( (after - before) * 1000 / $(getconf CLK_TCK) ))" >"${out}/${name}.cpu_ms"
}

gateway_flags=(--store="${store}" --create_events_on_join --pow=off --client_address_header=X-Real-IP --admin_token="${admin}"
  --redis_key_prefix="load$$" "${extra_flags[@]}")

{
  echo "date: $(date -u +%FT%TZ)"
  echo "uptime: $(uptime)"
  echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "store: ${store}; burst ${burst_users} joins, ${connections} connections; circulation" \
    "${rate} users/s for ${duration} s (+ drain ${drain} s), ${circ_connections} connections;" \
    "policy: ${circ_policy}"
} | tee "${out}/machine.txt"

# --- (a) the burst, status polls over the burst's users, and the same against hello -------
start hello "${hello}" "${hello_flags[@]}"
hello_pid="${PID}" hello_port="${PORT}"
start gateway-a "${gateway}" "${gateway_flags[@]}"
gw_pid="${PID}" gw_port="${PORT}"

measure a_join_gateway "${gw_pid}" --mode=closed --url="http://127.0.0.1:${gw_port}" \
  --connections="${connections}" --request=join --requests="${burst_users}" --event=burst \
  --tokens_out="${out}/tokens"
measure a_join_hello "${hello_pid}" --mode=closed --url="http://127.0.0.1:${hello_port}" \
  --connections="${connections}" --request=join --requests="${burst_users}" --event=burst
measure a_status_gateway "${gw_pid}" --mode=closed --url="http://127.0.0.1:${gw_port}" \
  --connections="${connections}" --request=status --duration_sec="${throughput_sec}" \
  --tokens_in="${out}/tokens"
measure a_status_hello "${hello_pid}" --mode=closed --url="http://127.0.0.1:${hello_port}" \
  --connections="${connections}" --request=status --duration_sec="${throughput_sec}" \
  --tokens_in="${out}/tokens"
curl -s -H "Authorization: Bearer ${admin}" \
  "http://127.0.0.1:${gw_port}/admin/v1/events/burst/stats" >"${out}/a_stats.json" || true

if [[ "${WRK:-1}" == 1 ]] && command -v wrk >/dev/null; then
  for target in gateway hello; do
    port="${gw_port}"
    [[ "${target}" == hello ]] && port="${hello_port}"
    EVENT="wrk-join" wrk -t2 -c"${connections}" -d"${throughput_sec}s" -s "${here}/wrk_join.lua" \
      "http://127.0.0.1:${port}/" | grep '^RESULT' >"${out}/wrk_join_${target}.txt"
    TOKENS="${out}/tokens" wrk -t2 -c"${connections}" -d"${throughput_sec}s" \
      -s "${here}/wrk_status.lua" "http://127.0.0.1:${port}/" |
      grep '^RESULT' >"${out}/wrk_status_${target}.txt"
  done
fi
stop "${gw_pid}"

# --- (b) circulation on a fresh gateway, then hello at the same request rate --------------
start gateway-b "${gateway}" "${gateway_flags[@]}" "${policy_flags[@]}"
gw_pid="${PID}" gw_port="${PORT}"
echo "uptime before circulation: $(uptime)" | tee -a "${out}/machine.txt"
crowd_pid=""
if ((${OPEN_CONNECTIONS:-0} > 0)); then
  "$(dirname "${load}")/admission-gateway-crowd" --url="http://127.0.0.1:${gw_port}" \
    --pollers=0 --slowloris=0 --idle="${OPEN_CONNECTIONS}" --probe_interval_ms=1000 \
    --duration_sec=$((duration + drain + 60)) >"${out}/b_crowd.txt" 2>&1 &
  crowd_pid=$!
  sleep $((OPEN_CONNECTIONS / 3000 + 3))  # its ramp opens 3,000 a second
  echo "connections open before the circulation: $(curl -s "http://127.0.0.1:${gw_port}/metrics" |
    sed -n 's/^admission_http_connections_open //p')" | tee -a "${out}/machine.txt"
fi
measure b_circulation_gateway "${gw_pid}" --mode=circulation --url="http://127.0.0.1:${gw_port}" \
  --connections="${circ_connections}" --rate="${rate}" --duration_sec="${duration}" \
  --drain_sec="${drain}" --poll_after_cap_ms="${POLL_AFTER_CAP_MS:-2000}" --event=circulation
curl -s -H "Authorization: Bearer ${admin}" \
  "http://127.0.0.1:${gw_port}/admin/v1/events/circulation/stats" >"${out}/b_stats.json" || true
curl -s "http://127.0.0.1:${gw_port}/metrics" >"${out}/b_metrics.txt" || true
if [[ -n "${crowd_pid}" ]]; then
  kill "${crowd_pid}" 2>/dev/null || true
  wait "${crowd_pid}" 2>/dev/null || true
fi
stop "${gw_pid}"
read -r hello_rate post_fraction < <(/usr/bin/python3 - "${out}/b_circulation_gateway.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
routes = r["routes"]
total = sum(v["requests"] for v in routes.values())
posts = sum(routes.get(k, {}).get("requests", 0) for k in ("join", "enter", "complete"))
print(round(r["requests_per_sec"]), round(posts / total, 3) if total else 0.3)
PY
)
measure b_rate_hello "${hello_pid}" --mode=rate --url="http://127.0.0.1:${hello_port}" \
  --connections="${circ_connections}" --rate="${hello_rate}" --post_fraction="${post_fraction}" \
  --duration_sec="${hello_rate_sec}"
echo "uptime at the end: $(uptime)" | tee -a "${out}/machine.txt"

/usr/bin/python3 "${here}/report.py" "${out}" | tee "${out}/report.md"
echo "results in ${out}"
