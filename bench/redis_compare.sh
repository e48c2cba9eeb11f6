#!/usr/bin/env bash
# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#
# Joins/s and status/s through the Redis store against redis-benchmark running the store's own
# EVALSHA (same script, KEYS and ARGV; see admission_redis_bench prepare) on the same
# redis-server in the same session, plus the unpipelined baselines, and the ratios. Starts its
# own redis-server (no persistence) on a free loopback port and stops it at the end. Figures go
# in docs/benchmarks.md (section "Redis store").
#
#   bench/redis_compare.sh [BUILD_DIR]      # default build/release; about 5 minutes
#
# Environment: CONNECTIONS (4) pooled connections = redis-benchmark clients, THREADS (64)
# calling threads, RUN_SECONDS (5) per store run, REQUESTS (200000) per redis-benchmark run, LINE
# (100000) waiting users for status, REPEAT (3) rounds (the table shows medians), MEMORY_USERS
# (300000, 0 to skip) for the memory measurement.
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) stops the script too

BUILD=${1:-build/release}
BENCH=$BUILD/bench/admission_redis_bench
C=${CONNECTIONS:-4}
T=${THREADS:-64}
SECONDS_PER_RUN=${RUN_SECONDS:-5}
N=${REQUESTS:-200000}
LINE=${LINE:-100000}
REPEAT=${REPEAT:-3}
MEMORY_USERS=${MEMORY_USERS:-300000}
if [[ ! -x $BENCH ]]; then
  echo "redis_compare.sh: $BENCH not built (ninja -C $BUILD admission_redis_bench)" >&2
  exit 2
fi
if (( T % C != 0 )); then
  echo "redis_compare.sh: THREADS must be a multiple of CONNECTIONS" >&2
  exit 2
fi
PIPELINE=$(( T / C ))  # requests in flight per connection when T threads share C connections

# A free loopback port: ask the kernel for one, then hand it to redis-server.
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
  --logfile "$DIR/redis.log" --daemonize yes --pidfile "$DIR/redis.pid"
cleanup() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "# $(date -u +%FT%TZ) $(redis-server --version | cut -d' ' -f3) port $PORT"
echo "# nproc $(nproc); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# connections $C, threads $T, store runs ${SECONDS_PER_RUN}s, redis-benchmark -n $N," \
  "status line $LINE, $REPEAT rounds"

RESULTS=$DIR/results
: >"$RESULTS"
record() { echo "$1 $2 $3" >>"$RESULTS"; printf '  %-7s %-34s %9.0f/s\n' "$1" "$2" "$3"; }

# redis-benchmark running the store's EVALSHA for OP on EVENT; prints requests/s.
rb() {
  local op=$1 event=$2 clients=$3 pipeline=$4 args
  "$BENCH" --port="$PORT" prepare --op="$op" --event="$event" --line="$LINE" >"$DIR/args"
  mapfile -t args <"$DIR/args"
  redis-benchmark -p "$PORT" -c "$clients" -P "$pipeline" -n "$N" -r "$RANGE" --csv "${args[@]}" \
    2>/dev/null | tail -1 | awk -F'","' '{print $2}'
}

# The store: THREADS threads over POOL connections for SECONDS_PER_RUN; prints calls/s.
store() {
  local op=$1 event=$2 threads=$3 pool=$4
  "$BENCH" --port="$PORT" prepare --op="$op" --event="$event" --line="$LINE" >/dev/null
  "$BENCH" --port="$PORT" run --op="$op" --event="$event" --threads="$threads" --pool="$pool" \
    --seconds="$SECONDS_PER_RUN" --line="$LINE" | sed -n 's/.*ops_per_sec=\([0-9.]*\).*/\1/p'
}

for op in join status; do
  if [[ $op == join ]]; then
    RANGE=2147483647  # fresh users: see admission_redis_bench prepare
  else
    RANGE=$LINE  # the prepared users
    "$BENCH" --port="$PORT" prepare --op=status --event=status --line="$LINE" >/dev/null
  fi
  for round in $(seq "$REPEAT"); do
    echo "$op, round $round (load $(cut -d' ' -f1 /proc/loadavg))"
    e() { if [[ $op == join ]]; then echo "$op-$round-$1"; else echo status; fi; }
    # Interleaved, so that a burst of load elsewhere on the machine hits both sides.
    v=$(rb "$op" "$(e rbP)" "$C" "$PIPELINE"); record "$op" "redis-benchmark -c $C -P $PIPELINE" "$v"
    v=$(store "$op" "$(e st)" "$T" "$C"); record "$op" "store $T threads / $C conns" "$v"
    v=$(rb "$op" "$(e rb1)" "$C" 1); record "$op" "redis-benchmark -c $C -P 1" "$v"
    v=$(rb "$op" "$(e rbT)" "$T" 1); record "$op" "redis-benchmark -c $T -P 1" "$v"
    v=$(store "$op" "$(e stC)" "$C" "$C"); record "$op" "store $C threads / $C conns" "$v"
    v=$(store "$op" "$(e st1)" 1 1); record "$op" "store 1 thread / 1 conn" "$v"
  done
done

echo
echo "# medians of $REPEAT rounds; load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$RESULTS" "$C" "$T" "$PIPELINE" <<'EOF'
import statistics, sys
path, c, t, p = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
runs = {}
for line in open(path):
    op, rest = line.split(' ', 1)
    what, value = rest.rsplit(' ', 1)
    runs.setdefault((op, what), []).append(float(value))
med = {k: statistics.median(v) for k, v in runs.items()}
spread = {k: (min(v), max(v)) for k, v in runs.items()}
print('| op | run | calls/s (median) | min-max | vs redis-benchmark -c %s -P %s |' % (c, p))
print('|---|---|---|---|---|')
for (op, what), m in med.items():
    ref = med[(op, 'redis-benchmark -c %s -P %s' % (c, p))]
    lo, hi = spread[(op, what)]
    print('| %s | %s | %.0f | %.0f-%.0f | %.2f |' % (op, what, m, lo, hi, m / ref))
for op in ('join', 'status'):
    s = med[(op, 'store %s threads / %s conns' % (t, c))]
    print('%s: store / redis-benchmark (-c %s -P %s) = %.2f; / (-c %s -P 1) = %.2f; '
          '/ (-c %s -P 1) = %.2f; / unpipelined store (%s threads, %s conns) = %.1fx; '
          '/ one thread = %.1fx' % (
              op, c, p, s / med[(op, 'redis-benchmark -c %s -P %s' % (c, p))], c,
              s / med[(op, 'redis-benchmark -c %s -P 1' % c)], t,
              s / med[(op, 'redis-benchmark -c %s -P 1' % t)], c, c,
              s / med[(op, 'store %s threads / %s conns' % (c, c))],
              s / med[(op, 'store 1 thread / 1 conn')]))
EOF

if (( MEMORY_USERS > 0 )); then
  echo
  echo "# memory, $MEMORY_USERS users in one event (fresh server state: FLUSHALL first)"
  redis-cli -p "$PORT" flushall >/dev/null
  for ids in short uuid; do
    "$BENCH" --port="$PORT" memory --users="$MEMORY_USERS" --ids="$ids"
  done
fi
