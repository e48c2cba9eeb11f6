#!/usr/bin/env bash
# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#
# Joins/s and status/s through the Redis store against redis-benchmark running the store's own
# EVALSHA (same script, KEYS and ARGV; see admission_redis_bench prepare) on the same
# redis-server in the same session, plus the unpipelined baselines, and the ratios. For join
# and status also the seeds' naive layout (admission_redis_bench naive-prepare / naive-run,
# bench/naive_layout.cc: a sorted-set enqueue script and a ZRANK status script), through the
# store's own client at the store's concurrency and through redis-benchmark: issue 16 quotes
# the store's calls/s as a ratio to "what a user would write instead", measured in the same
# run since this machine's figures drift by 15-25% within minutes. Starts its own redis-server
# (no persistence) on a free loopback port and stops it at the end. Figures go in
# docs/benchmarks.md (section "Redis store").
#
#   bench/redis_compare.sh [BUILD_DIR]      # default build/release; about 17 minutes
#
# Environment: CONNECTIONS (4) pooled connections = redis-benchmark clients, THREADS (64)
# calling threads, RUN_SECONDS (5) per store run, OPS ("noop join status": noop is the FCALL
# of a function that returns 1, through the store's connection pool, see admission_redis_bench),
# NOOP_REQUESTS (1000000), JOIN_REQUESTS (30000) and STATUS_REQUESTS (30000) per
# redis-benchmark run, LINE (100000) waiting users for status, REPEAT (3) rounds (the table
# shows medians), MEMORY_USERS (300000, 0 to skip; about 5 minutes) for the memory measurement.
# NAIVE (1; 0 skips the naive layout's rows), NAIVE_JOIN_REQUESTS (300000) and
# NAIVE_STATUS_REQUESTS (300000) per redis-benchmark run of the naive scripts (some 10x faster
# than the store's, hence more requests for a run of seconds). Issue 16 quotes status with
# 300,000 waiting users (LINE=300000): LINE stays 100000 here, the line of the earlier figures
# in docs/benchmarks.md, and since the store's line would take some 40 s more to prepare
# (joins at about 5k/s here). OTHER_BENCH: the
# admission_redis_bench of another build (say, with another connection pool); each round then
# also runs its store, THREADS threads over CONNECTIONS connections, for a same-run comparison.
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) stops the script too

BUILD=${1:-build/release}
BENCH=$BUILD/bench/admission_redis_bench
C=${CONNECTIONS:-4}
T=${THREADS:-64}
SECONDS_PER_RUN=${RUN_SECONDS:-5}
OPS=${OPS:-noop join status}
NOOP_N=${NOOP_REQUESTS:-1000000}
JOIN_N=${JOIN_REQUESTS:-30000}
STATUS_N=${STATUS_REQUESTS:-30000}
OTHER=${OTHER_BENCH:-}
LINE=${LINE:-100000}  # issue 16's status figure: LINE=300000 (see above)
NAIVE=${NAIVE:-1}
NAIVE_JOIN_N=${NAIVE_JOIN_REQUESTS:-300000}
NAIVE_STATUS_N=${NAIVE_STATUS_REQUESTS:-300000}
REPEAT=${REPEAT:-3}
MEMORY_USERS=${MEMORY_USERS:-300000}
if [[ ! -x $BENCH ]]; then
  echo "redis_compare.sh: $BENCH not built (ninja -C $BUILD admission_redis_bench)" >&2
  exit 2
fi
if [[ -n $OTHER && ! -x $OTHER ]]; then
  echo "redis_compare.sh: OTHER_BENCH=$OTHER is not an executable" >&2
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
echo "# connections $C, threads $T, store runs ${SECONDS_PER_RUN}s, redis-benchmark -n" \
  "$NOOP_N (noop) / $JOIN_N (join) / $STATUS_N (status), status line $LINE, $REPEAT rounds" \
  "${OTHER:+, other: $OTHER}"
if [[ $NAIVE != 0 ]]; then
  echo "# naive layout: store's client $T threads / $C conns and redis-benchmark -c $C -P" \
    "$PIPELINE -n $NAIVE_JOIN_N (join) / $NAIVE_STATUS_N (status)"
fi

RESULTS=$DIR/results
SERVER=$DIR/server  # "op run command us": Redis' time per call of each run, for the summary
: >"$RESULTS"
: >"$SERVER"
# Redis' own time per script call during the last run (INFO commandstats, reset by resetstat):
# the same script costs the same on both sides, unless one side's client takes the server's
# CPU. Prints "us command": FCALL when the run made any (the store's scripts as Redis
# functions, issue 16, and noop), else EVALSHA (the store's scripts before that, and the naive
# layout, which a user would run with EVALSHA).
# Redis' own CPU time per call too (INFO cpu, its main thread, user + system, before and after
# the run, over the calls the run served): on two shared cores the function's time above is
# wall time, which grows whenever the clients' threads take Redis' core in the middle of a
# call; the CPU time is what the calls cost Redis wherever it runs.
resetstat() {
  redis-cli -p "$PORT" config resetstat >/dev/null
  redis_cpu >"$DIR/cpu0"
}
redis_cpu() {
  redis-cli -p "$PORT" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user)_main_thread:/ {s += $2} END {printf "%.6f\n", s}'
}
# The requests a redis-benchmark run made ($DIR/requests); a store run's calls are its calls/s
# times its seconds.

server_us() {
  local stats command=evalsha
  stats=$(redis-cli -p "$PORT" info commandstats | tr -d '\r')
  if grep -q '^cmdstat_fcall:' <<<"$stats"; then command=fcall; fi
  local us
  us=$(sed -n "s/^cmdstat_$command:.*usec_per_call=\([0-9.]*\).*/\1/p" <<<"$stats")
  echo "${us:-?} $command"
}
record() {
  local us command calls cpu_us
  read -r us command <<<"$(server_us)"
  if [[ $2 == redis-benchmark* || $2 == naive\ redis-benchmark* ]]; then
    calls=$(cat "$DIR/requests")
  else
    calls=$(/usr/bin/python3 -c "print($3 * $SECONDS_PER_RUN)")
  fi
  cpu_us=$(/usr/bin/python3 -c "print('%.1f' % (($(redis_cpu) - $(cat "$DIR/cpu0")) * 1e6 / max(1, $calls)))")
  echo "$1 $2 cpu $cpu_us" >>"$DIR/redis_cpu"
  echo "$1 $2 $3" >>"$RESULTS"
  if [[ $2 == store* && -s $DIR/per_call ]]; then
    echo "$1 $2 fcall/call $(cat "$DIR/per_call")" >>"$SERVER"
  elif [[ $us != '?' ]]; then
    echo "$1 $2 $command $us" >>"$SERVER"
  fi
  local cpu=""
  if [[ $2 == store* || $2 == other* || $2 == naive\ client* ]]; then
    cpu=", client $(cat "$DIR/cpu") us/call"
  fi
  # The store coalesces status calls: Redis' time per call is its FCALL time over the calls.
  if [[ $2 == store* && -s $DIR/per_call ]]; then
    cpu="$cpu, server $(cat "$DIR/per_call") us per call in batches of $(cat "$DIR/batch")"
  fi
  printf '  %-7s %-38s %9.0f/s  (server %s us/%s, Redis CPU %s us/call%s)\n' "$1" "$2" "$3" \
    "$us" "$command" "$cpu_us" "$cpu"
}

# Creates EVENT for OP (a join event is fresh each time; the status line is prepared once,
# before the rounds; noop needs none) and leaves the FCALL arguments in $DIR/args.
prepare() {
  local op=$1 event=$2
  if [[ $op != status ]]; then
    "$BENCH" --port="$PORT" prepare --op="$op" --event="$event" >"$DIR/args"
  fi
}

# redis-benchmark running the store's EVALSHA for OP on EVENT; prints requests/s.
rb() {
  local op=$1 event=$2 clients=$3 pipeline=$4 n args
  prepare "$op" "$event"
  resetstat
  mapfile -t args <"$DIR/args"
  case $op in join) n=$JOIN_N ;; status) n=$STATUS_N ;; *) n=$NOOP_N ;; esac
  echo "$n" >"$DIR/requests"
  redis-benchmark -p "$PORT" -c "$clients" -P "$pipeline" -n "$n" -r "$RANGE" --csv "${args[@]}" \
    2>/dev/null | tail -1 | awk -F'","' '{print $2}'
}

# The store (of BENCH_BIN, default this build's): THREADS threads over POOL connections for
# SECONDS_PER_RUN; prints calls/s. A failed call fails the run (and the script).
store() {
  local op=$1 event=$2 threads=$3 pool=$4 bin=${5:-$BENCH}
  prepare "$op" "$event"
  resetstat
  "$bin" --port="$PORT" run --op="$op" --event="$event" --threads="$threads" --pool="$pool" \
    --seconds="$SECONDS_PER_RUN" --line="$LINE" >"$DIR/run"
  sed -n 's/.*client_cpu_us_per_call=\([0-9.]*\).*/\1/p' "$DIR/run" >"$DIR/cpu"
  sed -n 's/.*server_us_per_call=\([0-9.]*\).*/\1/p' "$DIR/run" >"$DIR/per_call"
  sed -n 's/.*calls_per_fcall=\([0-9.]*\).*/\1/p' "$DIR/run" >"$DIR/batch"
  sed -n 's/.*ops_per_sec=\([0-9.]*\).*/\1/p' "$DIR/run"
}

# The seeds' naive layout (admission_redis_bench naive-prepare; not for noop): a join event
# is fresh each time, the status line is prepared once, before the rounds. Leaves the EVALSHA
# arguments in $DIR/nargs.
naive_prepare() {
  local op=$1 event=$2
  if [[ $op != status ]]; then
    "$BENCH" --port="$PORT" naive-prepare --op="$op" --event="$event" >"$DIR/nargs"
  fi
}

# redis-benchmark running the naive script for OP on EVENT; prints requests/s.
naive_rb() {
  local op=$1 event=$2 clients=$3 pipeline=$4 n args
  naive_prepare "$op" "$event"
  resetstat
  mapfile -t args <"$DIR/nargs"
  case $op in join) n=$NAIVE_JOIN_N ;; *) n=$NAIVE_STATUS_N ;; esac
  echo "$n" >"$DIR/requests"
  redis-benchmark -p "$PORT" -c "$clients" -P "$pipeline" -n "$n" -r "$RANGE" --csv "${args[@]}" \
    2>/dev/null | tail -1 | awk -F'","' '{print $2}'
}

# The naive scripts through the store's own client (its ConnectionPool): THREADS threads over
# POOL connections for SECONDS_PER_RUN, as store() runs the store; prints calls/s.
naive_client() {
  local op=$1 event=$2 threads=$3 pool=$4
  naive_prepare "$op" "$event"
  resetstat
  "$BENCH" --port="$PORT" naive-run --op="$op" --event="$event" --threads="$threads" \
    --pool="$pool" --seconds="$SECONDS_PER_RUN" --line="$LINE" >"$DIR/run"
  sed -n 's/.*client_cpu_us_per_call=\([0-9.]*\).*/\1/p' "$DIR/run" >"$DIR/cpu"
  sed -n 's/.*ops_per_sec=\([0-9.]*\).*/\1/p' "$DIR/run"
}

for op in $OPS; do
  naive=0
  if [[ $NAIVE != 0 && ($op == join || $op == status) ]]; then naive=1; fi
  if [[ $op != status ]]; then
    RANGE=2147483647  # fresh users: see admission_redis_bench prepare (noop ignores it)
  else
    RANGE=$LINE  # the prepared users
    "$BENCH" --port="$PORT" prepare --op=status --event=status --line="$LINE" >"$DIR/args"
    # The other build's scripts may keep another layout: its own line, made by itself.
    if [[ -n $OTHER ]]; then
      "$OTHER" --port="$PORT" prepare --op=status --event=status-other --line="$LINE" >/dev/null
    fi
    if (( naive )); then
      "$BENCH" --port="$PORT" naive-prepare --op=status --event=status-naive --line="$LINE" \
        >"$DIR/nargs"
    fi
  fi
  for round in $(seq "$REPEAT"); do
    echo "$op, round $round (load $(cut -d' ' -f1 /proc/loadavg))"
    e() {
      if [[ $op != status ]]; then echo "$op-$round-$1"
      elif [[ $1 == sto ]]; then echo status-other
      elif [[ $1 == n* ]]; then echo status-naive
      else echo status; fi
    }
    # Interleaved, so that a burst of load elsewhere on the machine hits both sides; the naive
    # layout through the same client right after the store, the pair issue 16's ratio is of.
    v=$(rb "$op" "$(e rbP)" "$C" "$PIPELINE"); record "$op" "redis-benchmark -c $C -P $PIPELINE" "$v"
    v=$(store "$op" "$(e st)" "$T" "$C"); record "$op" "store $T threads / $C conns" "$v"
    if (( naive )); then
      v=$(naive_client "$op" "$(e nst)" "$T" "$C"); record "$op" "naive client $T threads / $C conns" "$v"
      v=$(naive_rb "$op" "$(e nrbP)" "$C" "$PIPELINE")
      record "$op" "naive redis-benchmark -c $C -P $PIPELINE" "$v"
    fi
    if [[ -n $OTHER ]]; then
      v=$(store "$op" "$(e sto)" "$T" "$C" "$OTHER"); record "$op" "other store $T threads / $C conns" "$v"
    fi
    v=$(rb "$op" "$(e rb1)" "$C" 1); record "$op" "redis-benchmark -c $C -P 1" "$v"
    v=$(rb "$op" "$(e rbT)" "$T" 1); record "$op" "redis-benchmark -c $T -P 1" "$v"
    v=$(store "$op" "$(e stC)" "$C" "$C"); record "$op" "store $C threads / $C conns" "$v"
    v=$(store "$op" "$(e st1)" 1 1); record "$op" "store 1 thread / 1 conn" "$v"
  done
done

echo
echo "# medians of $REPEAT rounds; load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$RESULTS" "$C" "$T" "$PIPELINE" "$SERVER" "$DIR/redis_cpu" <<'EOF'
import statistics, sys
path, c, t, p, server_path, cpu_path = sys.argv[1:7]
cpu = {}
for line in open(cpu_path):
    op, rest = line.split(' ', 1)
    what, _, us = rest.rsplit(' ', 2)
    cpu.setdefault((op, what), []).append(float(us))
runs = {}
for line in open(path):
    op, rest = line.split(' ', 1)
    what, value = rest.rsplit(' ', 1)
    runs.setdefault((op, what), []).append(float(value))
# Redis' time per call (EVALSHA or FCALL) of each run, where INFO commandstats had one.
server, command = {}, {}
for line in open(server_path):
    op, rest = line.split(' ', 1)
    what, cmd, us = rest.rsplit(' ', 2)
    server.setdefault((op, what), []).append(float(us))
    command.setdefault((op, what), set()).add(cmd)
med = {k: statistics.median(v) for k, v in runs.items()}
spread = {k: (min(v), max(v)) for k, v in runs.items()}
def us(key):
    return ('%.1f %s' % (statistics.median(server[key]), '/'.join(sorted(command[key])))
            if key in server else '?')
print('| op | run | calls/s (median) | min-max | vs redis-benchmark -c %s -P %s | '
      'Redis us/call (median) | Redis CPU us/call (median) |' % (c, p))
print('|---|---|---|---|---|---|---|')
for (op, what), m in med.items():
    ref = med[(op, 'redis-benchmark -c %s -P %s' % (c, p))]
    lo, hi = spread[(op, what)]
    print('| %s | %s | %.0f | %.0f-%.0f | %.2f | %s | %.1f |' % (
        op, what, m, lo, hi, m / ref, us((op, what)), statistics.median(cpu[(op, what)])))
for op in dict.fromkeys(op for op, _ in med):
    s = med[(op, 'store %s threads / %s conns' % (t, c))]
    print('%s: store / redis-benchmark (-c %s -P %s) = %.2f; / (-c %s -P 1) = %.2f; '
          '/ (-c %s -P 1) = %.2f; / unpipelined store (%s threads, %s conns) = %.1fx; '
          '/ one thread = %.1fx' % (
              op, c, p, s / med[(op, 'redis-benchmark -c %s -P %s' % (c, p))], c,
              s / med[(op, 'redis-benchmark -c %s -P 1' % c)], t,
              s / med[(op, 'redis-benchmark -c %s -P 1' % t)], c, c,
              s / med[(op, 'store %s threads / %s conns' % (c, c))],
              s / med[(op, 'store 1 thread / 1 conn')]))
    # Each round's runs are adjacent in time, so a round's own ratio is less exposed to the
    # machine's other load than the ratio of the medians.
    def per_round(name, ref):
        ratios = [a / b for a, b in zip(runs[(op, name)], runs[(op, ref)])]
        return '%s; median %.2f' % (' '.join('%.2f' % r for r in ratios),
                                    statistics.median(ratios))
    store_run, rb_run = 'store %s threads / %s conns' % (t, c), 'redis-benchmark -c %s -P %s' % (c, p)
    print('%s: store / redis-benchmark (-c %s -P %s), round by round: %s' % (
        op, c, p, per_round(store_run, rb_run)))
    other = med.get((op, 'other store %s threads / %s conns' % (t, c)))
    if other:
        print('%s: store / other store (both %s threads, %s conns) = %.2f; round by round: %s' % (
            op, t, c, s / other, per_round(store_run, 'other store %s threads / %s conns' % (t, c))))
    # Issue 16: the store's calls/s as a ratio to the seeds' naive scripts through the same
    # client (ConnectionPool, same threads and connections), and Redis' time per call of each.
    naive_run = 'naive client %s threads / %s conns' % (t, c)
    naive = med.get((op, naive_run))
    if naive:
        target = {'join': 0.4, 'status': 0.5}.get(op)
        verdict = ''
        if target is not None:
            verdict = ' (issue 16: >= %.2f, %s)' % (target, 'met' if s / naive >= target
                                                    else 'not met')
        print('%s: store / naive layout (same client, %s threads, %s conns) = %.2f%s; '
              'round by round: %s' % (op, t, c, s / naive, verdict,
                                      per_round(store_run, naive_run)))
        naive_rb = med.get((op, 'naive redis-benchmark -c %s -P %s' % (c, p)))
        if naive_rb:
            print('%s: naive layout, same client / redis-benchmark (-c %s -P %s) = %.2f' % (
                op, c, p, naive / naive_rb))
        if (op, store_run) in server and (op, naive_run) in server:
            a = statistics.median(server[(op, store_run)])
            b = statistics.median(server[(op, naive_run)])
            print('%s: Redis us per call (medians): store %s, naive %s: %.1fx' % (
                op, us((op, store_run)), us((op, naive_run)), a / b))
        target_us = {'join': 25, 'status': 15}.get(op)
        a, b = statistics.median(cpu[(op, store_run)]), statistics.median(cpu[(op, naive_run)])
        print('%s: Redis CPU us per call (medians): store %.1f, naive %.1f: %.1fx%s' % (
            op, a, b, a / b, '' if target_us is None else ' (issue 16: store <= %d, %s)' % (
                target_us, 'met' if a <= target_us else 'not met')))
EOF

if (( MEMORY_USERS > 0 )); then
  echo
  echo "# memory, $MEMORY_USERS users in one event (fresh server state: FLUSHALL first)"
  redis-cli -p "$PORT" flushall >/dev/null
  for ids in short uuid; do
    "$BENCH" --port="$PORT" memory --users="$MEMORY_USERS" --ids="$ids"
  done
fi
