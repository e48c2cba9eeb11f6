// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A value that one thread sets once and another thread waits for: the hand-off between a
// caller blocked on its own stack and the thread that carries its request (TicketBatcher).
// A std::condition_variable needs its mutex for that, and the waiter takes the mutex again
// when it wakes: with many callers on few cores the woken caller then finds the mutex still
// held by the thread waking the others, and sleeps and wakes once more. Here the waiter
// sleeps on the value itself (a futex on Linux, common/futex.h): set, then one wake, and the
// waiter returns without taking any lock. On other systems it falls back to a mutex and
// condition variable of its own.
//
// Lifetime: the waiter may return, and the signal go away with its stack frame, as soon as
// the value is stored, i.e. possibly before Set's wake-up call. On Linux that call then lands
// on memory that is no longer this signal, which is harmless: a futex wake only wakes threads
// sleeping on that address, and every futex sleeper must expect spurious wakes anyway (it is
// what pthread_mutex_unlock does too, as POSIX lets a mutex be destroyed once it is unlocked).
#ifndef ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_
#define ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "common/futex.h"

#if !defined(__linux__)
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
    futex::Wake(&value_, 1);
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
    if (const uint32_t v = value(); v != kUnset) return v;
    const futex::Deadline deadline = futex::After(timeout);
    for (;;) {
      if (const uint32_t v = value(); v != kUnset) return v;
      if (!futex::Wait(&value_, kUnset, deadline)) return value();
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

#if !defined(__linux__)
  std::mutex mu_;
  std::condition_variable cv_;
#endif
  std::atomic<uint32_t> value_{kUnset};  // the futex word
};

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_WAKE_SIGNAL_H_
