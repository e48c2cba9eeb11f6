// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Small helpers the Redis benchmarks share (bench/redis_store_bench.cc, bench/naive_layout.cc).
#ifndef ADMISSION_BENCH_BENCH_UTIL_H_
#define ADMISSION_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace admission_bench {

// User and system CPU time of this process so far, in seconds.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// The i-th prepared user's status key: what redis-benchmark -r N makes of "tk____rand_int__".
inline std::string StatusKey(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "tk__%012lld", static_cast<long long>(i));
  return buf;
}

// What a timed run measured: its length and the client's CPU (user + system, all threads) per
// call: on a machine whose cores the client shares with redis-server, what the client takes
// the server cannot use.
struct TimedRun {
  double elapsed_seconds = 0;
  double cpu_us_per_call = 0;
};

// Lets `threads` (already started, counting their calls into `calls` when they stop) run for
// `seconds`, then sets `stop` and joins them.
inline TimedRun RunFor(double seconds, std::atomic<bool>& stop, std::vector<std::thread>& threads,
                       const std::atomic<int64_t>& calls) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  TimedRun run;
  run.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.cpu_us_per_call =
      (CpuSeconds() - cpu_start) * 1e6 / static_cast<double>(std::max<int64_t>(1, calls.load()));
  return run;
}

}  // namespace admission_bench

#endif  // ADMISSION_BENCH_BENCH_UTIL_H_
