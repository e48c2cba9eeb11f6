// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "common/random.h"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace admission::internal {
namespace {

std::atomic<uint64_t> fork_generation{1};

uint64_t ForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

// getrandom() only fails on exotic systems (before the pool is initialised it blocks instead);
// a token we cannot make unguessable must never be handed out, so that case aborts rather than
// degrading silently.
void KernelRandomBytes(uint8_t* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    done += static_cast<std::size_t>(got);
  }
}

// One system call per token cost more than the rest of a Join, so each thread draws kernel
// randomness 4 KiB at a time and hands it out once. A forked child must not hand out the
// bytes its parent also holds, hence the fork generation (getpid() is a system call too).
void RandomBytes(uint8_t* out, std::size_t n) {
  struct Pool {
    uint8_t bytes[4096];
    std::size_t used = sizeof(bytes);
    uint64_t generation = 0;
  };
  thread_local Pool pool;
  const uint64_t generation = ForkGeneration();
  if (pool.generation != generation) {
    pool.used = sizeof(pool.bytes);
    pool.generation = generation;
  }
  while (n > 0) {
    if (pool.used == sizeof(pool.bytes)) {
      KernelRandomBytes(pool.bytes, sizeof(pool.bytes));
      pool.used = 0;
    }
    const std::size_t take = std::min(n, sizeof(pool.bytes) - pool.used);
    std::memcpy(out, pool.bytes + pool.used, take);
    std::memset(pool.bytes + pool.used, 0, take);  // never hand out a byte twice, nor leave it
    pool.used += take;
    out += take;
    n -= take;
  }
}

void RandomHexTo(char* out, std::size_t n_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t chunk[32];
  while (n_bytes > 0) {
    const std::size_t n = n_bytes < sizeof(chunk) ? n_bytes : sizeof(chunk);
    RandomBytes(chunk, n);
    for (std::size_t i = 0; i < n; ++i) {
      *out++ = kHex[chunk[i] >> 4];
      *out++ = kHex[chunk[i] & 0xf];
    }
    n_bytes -= n;
  }
}

std::string RandomHex(std::size_t n_bytes) {
  std::string hex(2 * n_bytes, '0');
  RandomHexTo(hex.data(), n_bytes);
  return hex;
}

}  // namespace admission::internal
