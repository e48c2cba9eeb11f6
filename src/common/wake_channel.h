// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Where many threads sleep, each until a state word of its own is set, so that one call
// wakes a whole group of them: a futex "event count" on Linux (common/futex.h). TicketBatcher
// answers a batch of a dozen callers or more at once, and on a virtual machine each wake-up
// system call costs about a microsecond: one per group instead of one per caller. A thread
// woken for another's state (the channel is shared) checks its own and sleeps again.
//
// The channel outlives its sleepers (it belongs to the object they call), so a waker may
// touch it after their states are set; each state lives on its waiter's stack, and a waker
// must not touch it after storing it. On other systems: a mutex and condition variable.
#ifndef ADMISSION_SRC_COMMON_WAKE_CHANNEL_H_
#define ADMISSION_SRC_COMMON_WAKE_CHANNEL_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "common/futex.h"

#if !defined(__linux__)
#include <condition_variable>
#include <mutex>
#endif

namespace admission::internal {

class WakeChannel {
 public:
  // A state's value before it is set.
  static constexpr uint32_t kUnset = 0;

  WakeChannel() = default;
  WakeChannel(const WakeChannel&) = delete;
  WakeChannel& operator=(const WakeChannel&) = delete;

  // Sets `state` (to a value other than kUnset), publishing everything this thread wrote
  // before; its waiter wakes at the next WakeAll. The state may be gone once this returns.
  static void Publish(std::atomic<uint32_t>& state, uint32_t value) {
    state.store(value, std::memory_order_release);
  }

  // Wakes every thread asleep on the channel, after their states were published.
  void WakeAll() {
#if defined(__linux__)
    epoch_.fetch_add(1, std::memory_order_release);
    futex::Wake(&epoch_, futex::kAll);
#else
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
#endif
  }

  // Sleeps on the channel until `state` is set (then what its setter wrote before is
  // visible) and returns it, or returns kUnset if that did not happen within `timeout`
  // (InfiniteDuration: waits for it).
  uint32_t WaitFor(const std::atomic<uint32_t>& state, absl::Duration timeout) {
#if defined(__linux__)
    const futex::Deadline deadline = futex::After(timeout);
    for (;;) {
      // The epoch first: a WakeAll after this load changes it, so the sleep below does not
      // miss the wake-up that follows the state's Publish.
      const uint32_t seen = epoch_.load(std::memory_order_acquire);
      if (const uint32_t v = state.load(std::memory_order_acquire); v != kUnset) return v;
      if (!futex::Wait(&epoch_, seen, deadline)) return state.load(std::memory_order_acquire);
    }
#else
    // Publish stores without the mutex and WakeAll takes it, so a waiter that checked the
    // state under the mutex is asleep before the notification.
    std::unique_lock<std::mutex> lock(mu_);
    auto set = [&state] { return state.load(std::memory_order_acquire) != kUnset; };
    if (timeout == absl::InfiniteDuration()) {
      cv_.wait(lock, set);
    } else {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), set);
    }
    return state.load(std::memory_order_acquire);
#endif
  }

 private:
#if defined(__linux__)
  std::atomic<uint32_t> epoch_{0};  // the futex word: bumped by every WakeAll
#else
  std::mutex mu_;
  std::condition_variable cv_;
#endif
};

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_WAKE_CHANNEL_H_
