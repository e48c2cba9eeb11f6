#!/usr/bin/env bash
# The crowd figure of the gateway (docs/benchmarks.md, "Crowd"; issue 14): starts
# admission-gateway on a free port with its default flags, the per-client rate limits off (every
# client here is 127.0.0.1), then holds 10,000 keep-alive pollers (each joins, then polls its
# status once a second), 1,000 slowloris sockets and 1,000 idle sockets for 60 s while a probe
# times a fresh client's GET /healthz and POST join every 100 ms. Prints the crowd tool's
# summary (latencies, failures, slowloris and idle closes, the gateway's RSS and bytes per open
# connection) and the gateway's connection counters from /metrics.
#
#   examples/gateway/load/crowd.sh BUILD_DIR [extra gateway flags...]
#   POLLERS=2000 SLOWLORIS=200 IDLE=200 DURATION=20 examples/gateway/load/crowd.sh build/release
#   JSON_OUT=/tmp/crowd.json examples/gateway/load/crowd.sh build/release
#   CROWD_FLAGS="--source_addresses=4" ...   more flags for admission-gateway-crowd
#
# One flag differs from the defaults besides the rate limits, on purpose (--max_connections
# stays at its default, the open-file limit less 1,000: 19,000 on the project's machine):
#   --access_log=false: 10,000 lines a second to a file would measure the disk as much as the
#     server; ACCESS_LOG=true puts it back (the log goes to a file in the work directory).
# Needs `ulimit -n` above the crowd's size for both processes (20,000 on the project's machine).
set -euo pipefail
build="${1:?usage: crowd.sh BUILD_DIR [extra gateway flags...]}"
shift
gateway="${build}/examples/gateway/admission-gateway"
crowd="${build}/examples/gateway/load/admission-gateway-crowd"
for b in "${gateway}" "${crowd}"; do
  [[ -x "${b}" ]] || { echo "crowd.sh: ${b} not built" >&2; exit 2; }
done
pollers="${POLLERS:-10000}"
slowloris="${SLOWLORIS:-1000}"
idle="${IDLE:-1000}"
duration="${DURATION:-60}"
access_log="${ACCESS_LOG:-false}"
total=$((pollers + slowloris + idle))
if (($(ulimit -n) < total + 500)); then
  echo "crowd.sh: ulimit -n is $(ulimit -n); the crowd needs about $((total + 500))" >&2
  exit 2
fi

work="$(mktemp -d)"
pid=""
trap '[[ -z "${pid}" ]] || { kill "${pid}" 2>/dev/null; wait "${pid}" 2>/dev/null; }; rm -rf "${work}"' EXIT

"${gateway}" --listen=127.0.0.1:0 --create_events_on_join --pow=off --rate_limit_ip_per_sec=0 --rate_limit_token_per_sec=0 \
  --access_log="${access_log}" "$@" \
  >"${work}/out" 2>"${work}/err" &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "${work}/out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/.*listening on \(http:[^ ]*\)$/\1/p' "${work}/out" | head -n 1)"
base="${base%/}"
if [[ -z "${base}" ]]; then
  echo "crowd.sh: the gateway did not start:" >&2
  cat "${work}/err" >&2
  exit 1
fi
echo "gateway ${base} (pid ${pid}); flags: defaults, rate limits off," \
  "--access_log=${access_log} $*"

read -r -a crowd_flags <<<"${CROWD_FLAGS:-}"
status=0
"${crowd}" --url="${base}" --pollers="${pollers}" --slowloris="${slowloris}" --idle="${idle}" \
  --duration_sec="${duration}" --pid="${pid}" ${JSON_OUT:+--json_out="${JSON_OUT}"} \
  "${crowd_flags[@]}" ||
  status=$?

echo "gateway counters:"
counters="$(curl -s -m 5 "${base}/metrics" |
  grep -E '^admission_(http_connections|http_timeouts|http_requests_refused|store_deadline)' || true)"
if [[ -n "${counters}" ]]; then
  while IFS= read -r line; do echo "  ${line}"; done <<<"${counters}"
else
  echo "  (none: /metrics did not answer in 5 s, or has no connection counters)"
fi
if ! kill -0 "${pid}" 2>/dev/null; then
  echo "crowd.sh: the gateway died during the run; its stderr:" >&2
  tail -n 20 "${work}/err" >&2
  status=1
fi
exit "${status}"
