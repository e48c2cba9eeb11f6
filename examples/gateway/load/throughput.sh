#!/usr/bin/env bash
# The gateway's throughput figures in one run (docs/benchmarks.md, "Gateway: throughput"):
# hello-world on cpp-httplib (configured as the gateway was before http_server.h), hello-world
# on the gateway's event-driven server, and admission-gateway's join and status, each at 32 and
# at 1,000 connections. wrk at both counts (the lua scripts of run_scenarios.sh); the load
# generator (one thread per connection) at 32 only. One server is loaded at a time, the others
# idle; ROUNDS rounds, the servers' order rotated each round; medians by throughput_table.py.
#
# Every row also records the server's CPU time per request (steadier than req/s when the client
# shares the cores) and the CPU that other processes of the machine took meanwhile (in cores):
# a run with other load is not comparable.
#
#   BUILD=build/release DUR=8 ROUNDS=3 examples/gateway/load/throughput.sh [OUT_DIR]
#   /usr/bin/python3 examples/gateway/load/throughput_table.py OUT_DIR   # the table
set -euo pipefail
build="${BUILD:-build/dev}"
gateway="${build}/examples/gateway/admission-gateway"
hello="${build}/examples/gateway/load/admission-hello-server"
load="${build}/examples/gateway/load/admission-gateway-load"
here="examples/gateway/load"
out="${1:-$(mktemp -d /tmp/throughput-XXXXXX)}"
dur="${DUR:-8}"
rounds="${ROUNDS:-3}"
counts="${COUNTS:-32 1000}"
targets=(hello_httplib hello_beast gateway)
mkdir -p "${out}"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "${p}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "${p}" 2>/dev/null || true; done
}
trap cleanup EXIT
declare -A port pid
start() {  # NAME BINARY FLAGS...
  local name="$1" binary="$2"
  shift 2
  "${binary}" --listen=127.0.0.1:0 "$@" >"${out}/${name}.out" 2>/dev/null &
  pid[${name}]=$!
  pids+=("$!")
  for _ in $(seq 200); do
    # The file may not exist yet: the shell of the background job makes it.
    port[${name}]="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/$/\1/p' \
      "${out}/${name}.out" 2>/dev/null || true)"
    [[ -n "${port[${name}]}" ]] && return 0
    sleep 0.05
  done
  echo "${name} did not start" >&2
  exit 1
}
tick_ms() { echo $((1000 / $(getconf CLK_TCK))); }
cpu_ms() { awk -v k="$(tick_ms)" '{print ($14 + $15) * k}' "/proc/$1/stat"; }
busy_ms() { awk -v k="$(tick_ms)" '/^cpu / {print ($2 + $3 + $4 + $7 + $8 + $9) * k}' /proc/stat; }

{
  echo "date: $(date -u +%FT%TZ); uptime: $(uptime)"
  echo "cpus: $(nproc); ulimit -n: $(ulimit -n); commit: $(git rev-parse --short HEAD)"
} | tee "${out}/machine.txt"

start hello_httplib "${hello}" --server=httplib --threads=64 --keep_alive_timeout_sec=2
start hello_beast "${hello}" --server=beast
# As run_scenarios.sh runs it: access log on (to /dev/null), per-client limits on, each
# simulated user with an address of its own in X-Real-IP.
start gateway "${gateway}" --create_events_on_join --pow=off --client_address_header=X-Real-IP --admin_token=load-admin
head -q -n 2 "${out}"/*.out | tee -a "${out}/machine.txt"

# Waiting users for the status runs (a closed-loop burst of joins on the gateway).
"${load}" --mode=closed --url="http://127.0.0.1:${port[gateway]}" --connections=32 \
  --request=join --requests="${TOKENS_N:-100000}" --event=tokens --tokens_out="${out}/tokens" \
  >"${out}/tokens.txt"

# measure ROUND TOOL CONNECTIONS TARGET ROUTE: one run; appends a row to rows.txt.
measure() {
  local round="$1" tool="$2" c="$3" t="$4" route="$5"
  local f="${out}/r${round}_${tool}_${c}_${t}_${route}"
  local url="http://127.0.0.1:${port[${t}]}"
  if [[ "${tool}" == wrk ]] && ((c > 100)); then
    # A warm-up first, so that the run measures serving connections, not opening 1,000.
    wrk -t2 -c"${c}" -d3s "${url}/healthz" >"${f}.warmup" 2>&1
  fi
  # Fresh clients during the run, from its 2nd second: a new connection every second (5), each
  # one GET /healthz (hello servers answer any GET). Their times show starvation that the
  # latencies of answered requests cannot.
  (
    sleep 2
    for i in 1 2 3 4 5; do
      curl -s -o /dev/null -m 20 -w "%{time_total}\n" "${url}/healthz" >"${f}.probe${i}" &
      sleep 1
    done
    wait
  ) &
  local probe=$! server0 busy0 server1 busy1
  server0="$(cpu_ms "${pid[${t}]}")"
  busy0="$(busy_ms)"
  local TIMEFORMAT="%3U %3S"
  {
    time if [[ "${tool}" == lg ]]; then
      local args=(--request="${route}")
      [[ "${route}" == status ]] && args+=(--tokens_in="${out}/tokens")
      [[ "${route}" == join ]] && args+=(--event="lg-${t}-${round}")
      "${load}" --mode=closed --url="${url}" --connections="${c}" --duration_sec="${dur}" \
        --json_out="${f}.json" "${args[@]}" >"${f}.txt" 2>&1
    elif [[ "${route}" == status ]]; then
      TOKENS="${out}/tokens" wrk -t2 -c"${c}" -d"${dur}s" --latency \
        -s "${here}/wrk_status.lua" "${url}/" >"${f}.txt" 2>&1
    else
      EVENT="wrk-${c}-${t}-${round}" wrk -t2 -c"${c}" -d"${dur}s" --latency \
        -s "${here}/wrk_join.lua" "${url}/" >"${f}.txt" 2>&1
    fi
  } 2>"${f}.client_time"
  server1="$(cpu_ms "${pid[${t}]}")"
  busy1="$(busy_ms)"
  wait "${probe}" || true
  if [[ "${tool}" == lg ]]; then
    /usr/bin/python3 -c '
import json, sys
r = next(iter(json.load(open(sys.argv[1]))["routes"].values()))
bad = sum(n for code, n in r["codes"].items() if not code.startswith("2"))
print("RESULT %.1f %.3f %.3f %.3f %d 0" % (r["per_sec"], r["p50_ms"], r["p95_ms"], r["p99_ms"], bad))' \
      "${f}.json" >"${f}.result"
  else
    grep '^RESULT' "${f}.txt" >"${f}.result"
  fi
  local rps p50 p95 p99 non2xx errors
  read -r _ rps p50 p95 p99 non2xx errors <"${f}.result"
  local server_ms=$((server1 - server0)) busy=$((busy1 - busy0)) client_ms probe_max
  client_ms="$(awk '{print int(($1 + $2) * 1000)}' "${f}.client_time")"
  probe_max="$(sort -g "${f}".probe? | tail -n 1)"
  # server CPU us per request; CPU of every other process meanwhile, in cores.
  local us other
  us="$(awk -v ms="${server_ms}" -v r="${rps}" -v d="${dur}" 'BEGIN {printf "%.0f", ms * 1000 / (r * d)}')"
  other="$(awk -v b="${busy}" -v s="${server_ms}" -v c="${client_ms}" -v d="${dur}" \
    'BEGIN {o = (b - s - c) / (d * 1000); printf "%.2f", o < 0 ? 0 : o}')"
  echo "${round} ${tool} ${c} ${t} ${route} ${rps} ${p50} ${p99} ${non2xx} ${errors} ${us} ${other} ${probe_max}" |
    tee -a "${out}/rows.txt"
}

echo "round tool conns target route req/s p50_ms p99_ms non2xx errors server_us/req other_cores fresh_healthz_max_s" |
  tee "${out}/rows.txt"
for round in $(seq "${rounds}"); do
  # Rotate the servers' order each round, so that drift in the machine's load spreads evenly.
  order=("${targets[@]:$(((round - 1) % 3))}" "${targets[@]:0:$(((round - 1) % 3))}")
  for t in "${order[@]}"; do
    for route in status join; do measure "${round}" lg 32 "${t}" "${route}"; done
  done
  for c in ${counts}; do
    for t in "${order[@]}"; do
      for route in status join; do measure "${round}" wrk "${c}" "${t}" "${route}"; done
    done
  done
done
for t in "${targets[@]}"; do
  echo "${t}: cpu $(cpu_ms "${pid[${t}]}") ms, rss $(awk '/VmRSS/ {print $2, $3}' \
    "/proc/${pid[${t}]}/status")"
done | tee "${out}/servers.txt"
echo "uptime at the end: $(uptime)" | tee -a "${out}/machine.txt"
echo "results in ${out}"
