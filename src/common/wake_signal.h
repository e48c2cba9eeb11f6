// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A value that one thread sets once and another thread waits for: the hand-off between a
// caller blocked on its own stack and the thread that carries its request (TicketBatcher).
// A std::condition_variable needs its mutex for that, and the waiter takes the mutex again
// when it wakes: with many callers on few cores the woken caller then finds the mutex still
// held by the thread waking the others, and sleeps and wakes once more. Here the waiter
// sleeps on the value itself (a futex on Linux): set, then one wake, and the waiter returns
// without taking any lock. On other systems it falls back to a mutex and condition variable
// of its own.
//
// Lifetime: the waiter may return, and the signal go away with its stack frame, as soon as
// the value is stored, i.e. possibly before Set's wake-up call. On Linux that call then lands
// on memory that is no longer this signal, which is harmless: a futex wake only wakes threads
// sleeping on that address, and every futex sleeper must expect spurious wakes anyway (it is
// what pthread_mutex_unlock does too, as POSIX lets a mutex be destroyed once it is unlocked).
#ifndef ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_
#define ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#else
#include <chrono>
#include <condition_variable>
#include <mutex>
#endif

namespace admission::internal {

class WakeSignal {
 public:
  // The value before Set.
  static constexpr uint32_t kUnset = 0;

  WakeSignal() = default;
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;

  // Stores `value` (not kUnset), which publishes everything this thread wrote before, and
  // wakes the waiter. At most once per signal.
  void Set(uint32_t value) {
#if defined(__linux__)
    value_.store(value, std::memory_order_release);
    syscall(SYS_futex, Word(), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#else
    std::lock_guard<std::mutex> lock(mu_);
    value_.store(value, std::memory_order_release);
    cv_.notify_one();
#endif
  }

  // The value once Set (what the setter wrote before is then visible), or kUnset if that did
  // not happen within `timeout` (InfiniteDuration: waits for it).
  uint32_t WaitFor(absl::Duration timeout) {
#if defined(__linux__)
    const bool forever = timeout == absl::InfiniteDuration();
    timespec deadline{};
    if (!forever) {
      // An absolute deadline on the monotonic clock, so that a spurious wake does not extend
      // the wait.
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      const timespec add = absl::ToTimespec(std::max(timeout, absl::ZeroDuration()));
      deadline.tv_sec += add.tv_sec;
      deadline.tv_nsec += add.tv_nsec;
      if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_nsec -= 1000000000L;
        ++deadline.tv_sec;
      }
    }
    for (;;) {
      if (const uint32_t v = value(); v != kUnset) return v;
      // Sleeps only while the word still reads kUnset (no lost wake-up).
      const long rc = syscall(SYS_futex, Word(), FUTEX_WAIT_BITSET_PRIVATE, kUnset,
                              forever ? nullptr : &deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
      if (rc != 0 && errno == ETIMEDOUT) return value();
    }
#else
    // Always under the mutex: the setter may still hold it after storing the value, so the
    // waiter must not return (and end the signal) before it can take the mutex.
    std::unique_lock<std::mutex> lock(mu_);
    auto set = [this] { return value() != kUnset; };
    if (timeout == absl::InfiniteDuration()) {
      cv_.wait(lock, set);
    } else {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), set);
    }
    return value();
#endif
  }

 private:
  uint32_t value() const { return value_.load(std::memory_order_acquire); }

#if defined(__linux__)
  // The futex word: the atomic's own storage.
  uint32_t* Word() { return reinterpret_cast<uint32_t*>(&value_); }
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                    std::atomic<uint32_t>::is_always_lock_free,
                "a futex needs a plain 32-bit word");
#else
  std::mutex mu_;
  std::condition_variable cv_;
#endif
  std::atomic<uint32_t> value_{kUnset};
};

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_
