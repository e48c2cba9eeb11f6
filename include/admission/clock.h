// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Time is injected. The library never asks the operating system for the time behind the
// caller's back: every TTL, tier wait, bucket refill and ETA is computed from a Clock, so tests
// drive a SimulatedClock and get exact answers without sleeping. (The Redis store can instead
// take time from the Redis server so that many gateway processes agree on it.)
#ifndef ADMISSION_CLOCK_H_
#define ADMISSION_CLOCK_H_

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace admission {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Implementations must be thread-safe and should never go backwards;
  // the stores treat a step backwards as "no time has passed".
  virtual absl::Time Now() = 0;
};

// The wall clock (absl::Now()). A process-wide singleton; never delete it.
Clock* SystemClock();

// A clock that only moves when told to. Thread-safe, so concurrent tests can share one.
// (std::mutex rather than absl::Mutex throughout the library's concurrent parts: ThreadSanitizer
// understands it even against Debian's uninstrumented Abseil build.)
class SimulatedClock final : public Clock {
 public:
  // Starts at a fixed, arbitrary instant (2026-01-01 00:00:00 UTC) so runs are repeatable.
  SimulatedClock();
  explicit SimulatedClock(absl::Time start);

  absl::Time Now() override;
  // Moves time forward; a negative duration is ignored (time never goes back).
  void Advance(absl::Duration d);
  // Jumps to `t` if it is later than the current time.
  void AdvanceTo(absl::Time t);

 private:
  std::mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission

#endif  // ADMISSION_CLOCK_H_
