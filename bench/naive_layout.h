// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The seeds' naive Redis layout, as the same-run baseline of issue 16: what a user would write
// instead of the store (a sorted-set line, a dedupe hash, a record, a heartbeat set), as two
// small Lua scripts run with EVALSHA. admission_redis_bench's naive-prepare and naive-run modes
// (bench/redis_store_bench.cc) hand over to the functions here; bench/redis_compare.sh runs
// them next to the store so that its figures can be quoted as ratios to these scripts.
#ifndef ADMISSION_BENCH_NAIVE_LAYOUT_H_
#define ADMISSION_BENCH_NAIVE_LAYOUT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace admission_bench {

// The enqueue script: KEYS users, seq, line, rec, hb; ARGV user id, token, heartbeat ttl (ms).
// Returns the token's 0-based rank (the existing one's, for a user already in the line).
extern const std::string_view kNaiveJoinScript;
// The status script: KEYS line, hb; ARGV token, heartbeat ttl (ms). Returns the token's rank
// and pushes its heartbeat deadline; a NOT_FOUND error reply for a token not in the line.
extern const std::string_view kNaiveStatusScript;

// What the two modes use of admission_redis_bench's flags.
struct NaiveOptions {
  int port = 6379;
  std::string op;  // "join" or "status"
  std::string event;
  int64_t line = 100'000;
  int threads = 64;
  int pool = 4;
  double seconds = 5;
};

// naive-prepare: loads both scripts; for status, puts `line` users in the line (tokens
// "tk__%012d", what redis-benchmark -r line makes of "tk____rand_int__"); for join, empties
// the event. Prints the EVALSHA arguments for redis-benchmark, one per line. Exit code.
int NaivePrepare(const NaiveOptions& options);

// naive-run: `threads` threads call the script for `seconds` through the store's own client,
// a ConnectionPool of `pool` connections; prints the line admission_redis_bench run prints
// (ops_per_sec=, client_cpu_us_per_call=). Exit code: 1 if any call failed.
int NaiveRun(const NaiveOptions& options);

}  // namespace admission_bench

#endif  // ADMISSION_BENCH_NAIVE_LAYOUT_H_
