// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Linux futexes on a std::atomic<uint32_t>: sleeping on a word while it holds a value, and
// waking the threads asleep on it, with no mutex (WakeSignal, WakeChannel). Only on Linux;
// those classes fall back to a mutex and condition variable elsewhere.
#ifndef ADMISSION_SRC_COMMON_FUTEX_H_
#define ADMISSION_SRC_COMMON_FUTEX_H_

#if defined(__linux__)

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "absl/time/time.h"

namespace admission::internal::futex {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "a futex is a plain 32-bit word");

// When a wait gives up: an absolute time on the monotonic clock, so that a spurious wake-up
// does not make the wait longer.
struct Deadline {
  bool forever = true;
  timespec at{};
};

inline Deadline After(absl::Duration timeout) {
  Deadline d;
  if (timeout == absl::InfiniteDuration()) return d;
  d.forever = false;
  clock_gettime(CLOCK_MONOTONIC, &d.at);
  const timespec add = absl::ToTimespec(std::max(timeout, absl::ZeroDuration()));
  d.at.tv_sec += add.tv_sec;
  d.at.tv_nsec += add.tv_nsec;
  if (d.at.tv_nsec >= 1000000000L) {
    d.at.tv_nsec -= 1000000000L;
    ++d.at.tv_sec;
  }
  return d;
}

inline uint32_t* Word(std::atomic<uint32_t>* word) { return reinterpret_cast<uint32_t*>(word); }

// Sleeps while `*word` holds `expected` (checked atomically with going to sleep, so a wake
// after the change is never lost), until woken, spuriously or not, or the deadline passes.
// False when the deadline passed.
inline bool Wait(std::atomic<uint32_t>* word, uint32_t expected, const Deadline& deadline) {
  const long rc =
      syscall(SYS_futex, Word(word), FUTEX_WAIT_BITSET_PRIVATE, expected,
              deadline.forever ? nullptr : &deadline.at, nullptr, FUTEX_BITSET_MATCH_ANY);
  return rc == 0 || errno != ETIMEDOUT;
}

// Wakes up to `count` threads asleep on `word` (INT_MAX: all).
inline void Wake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, Word(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

inline constexpr int kAll = INT_MAX;

}  // namespace admission::internal::futex

#endif  // defined(__linux__)

#endif  // ADMISSION_SRC_COMMON_FUTEX_H_
