#!/usr/bin/env bash
# A quick load figure for admission-gateway on loopback (not the benchmark suite of bench/):
# starts the gateway on a free port, queues USERS users, then runs wrk for DURATION seconds
# against /healthz (the ceiling of this HTTP stack on this machine), GET status with one token
# and with USERS tokens, and POST join; prints requests/s, the ratio to /healthz and latencies.
#
#   examples/gateway/load/quick_load.sh BUILD_DIR/examples/gateway/admission-gateway
#   DURATION=10 CONNECTIONS=50 THREADS=2 USERS=10000 examples/gateway/load/quick_load.sh ...
#
# Needs wrk (apt-get install wrk) and /usr/bin/python3. The per-client rate limits are turned
# off: every wrk connection comes from 127.0.0.1 and would be limited as one client.
set -euo pipefail
gateway="${1:?usage: quick_load.sh PATH/TO/admission-gateway [extra gateway flags...]}"
shift
duration="${DURATION:-10}"
connections="${CONNECTIONS:-50}"
threads="${THREADS:-2}"
users="${USERS:-10000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'kill "${pid}" 2>/dev/null || true; wait "${pid}" 2>/dev/null || true; rm -rf "${work}"' EXIT

"${gateway}" --listen=127.0.0.1:0 --create_events_on_join --pow=off --access_log=false --rate_limit_ip_per_sec=0 \
  --rate_limit_token_per_sec=0 "$@" >"${work}/out" 2>"${work}/err" &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "${work}/out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/.*listening on \(http:[^ ]*\)$/\1/p' "${work}/out")"
base="${base%/}"
[[ -n "${base}" ]] || { cat "${work}/err"; exit 1; }

# Queue the users over one keep-alive connection; keep their tokens for the status runs.
/usr/bin/python3 - "${base}" "${users}" >"${work}/tokens" <<'PY'
import http.client, json, sys, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
for i in range(int(sys.argv[2])):
    body = json.dumps({"event_id": "load-status", "user_id": "user-%d" % i})
    conn.request("POST", "/api/v1/queue/join", body, {"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = json.loads(reply.read())
    print(data["waiting_token"])
PY
one_token="$(head -n 1 "${work}/tokens")"

run() {  # NAME WRK_ARGS...
  local name="$1"
  shift
  wrk -t"${threads}" -c"${connections}" -d"${duration}s" --latency "$@" >"${work}/${name}.txt"
}
run healthz "${base}/healthz"
run status_one "${base}/api/v1/queue/status?token=${one_token}"
TOKENS="${work}/tokens" run status_many -s "${here}/status_tokens.lua" "${base}/"
run join -s "${here}/join.lua" "${base}/"

ceiling="$(awk '/Requests\/sec/ {print $2}' "${work}/healthz.txt")"
printf '%-34s %10s %8s %9s %9s %9s %8s\n' route "req/s" ratio p50 p90 p99 non2xx
for name in healthz status_one status_many join; do
  f="${work}/${name}.txt"
  rps="$(awk '/Requests\/sec/ {print $2}' "${f}")"
  p50="$(awk '$1 == "50%" {print $2}' "${f}")"
  p90="$(awk '$1 == "90%" {print $2}' "${f}")"
  p99="$(awk '$1 == "99%" {print $2}' "${f}")"
  bad="$(awk '/Non-2xx/ {print $NF}' "${f}")"
  case "${name}" in
    healthz) label="GET /healthz" ;;
    status_one) label="GET status (1 token)" ;;
    status_many) label="GET status (${users} tokens)" ;;
    join) label="POST join (new user each)" ;;
  esac
  printf '%-34s %10s %7.0f%% %9s %9s %9s %8s\n' "${label}" "${rps}" \
    "$(awk -v a="${rps}" -v b="${ceiling}" 'BEGIN {print 100 * a / b}')" "${p50}" "${p90}" \
    "${p99}" "${bad:-0}"
done
