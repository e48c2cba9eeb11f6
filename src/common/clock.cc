// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/clock.h"

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"

namespace admission {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

}  // namespace

Clock* SystemClock() {
  static RealClock* const clock = new RealClock();  // never destroyed: usable at exit
  return clock;
}

SimulatedClock::SimulatedClock()
    : SimulatedClock(absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone())) {
}

SimulatedClock::SimulatedClock(absl::Time start) : now_(start) {}

absl::Time SimulatedClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void SimulatedClock::Advance(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return;
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

void SimulatedClock::AdvanceTo(absl::Time t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (t > now_) now_ = t;
}

}  // namespace admission
