// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Calendar: the queue of future actions of a simulation on a fixed time step (admission.Calendar
// in Python, used by admission.simulate).
#ifndef ADMISSION_BINDINGS_CALENDAR_H_
#define ADMISSION_BINDINGS_CALENDAR_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace admission {
namespace python {

// A calendar queue of (tick, kind, user) actions: users are small integers, ticks count the
// simulation's time steps (tick k is the instant k * tick_sec) from 0 to `last_tick`, kinds are
// 0..kinds-1. There is one bucket per tick and kind, made up front, so filing an action and
// handing it out cost O(1) whatever the horizon: a simulation never sorts or scans its future.
// Ticks are played in increasing order.
//
// Not thread-safe; the Python binding calls it with the GIL held.
class Calendar {
 public:
  Calendar(int64_t last_tick, int kinds, double tick_sec);

  int64_t last_tick() const { return last_tick_; }
  int kinds() const { return kinds_; }
  double tick_sec() const { return tick_sec_; }
  // The first tick that may still be filed into or popped.
  int64_t next_tick() const { return next_tick_; }
  // Actions filed and not handed out yet.
  int64_t pending() const { return pending_; }
  // Actions filed after last_tick (never due within the simulation, so not kept).
  int64_t dropped() const { return dropped_; }

  // Files users[i] to act (`kind`) at ticks[i], after the actions already filed there.
  // InvalidArgument for a bad kind or a tick before next_tick(); nothing is filed then.
  absl::Status Push(const int64_t* ticks, const int64_t* users, size_t n, int kind);

  // Files users[i] to act (`kind`) at the first tick at or after times[i] (seconds; tick k is
  // k * tick_sec), or at next_tick() if that is later: what is due now happens in the next step.
  // InvalidArgument for a bad kind or a NaN time; nothing is filed then.
  absl::Status PushTimes(const double* times, const int64_t* users, size_t n, int kind);

  // Moves every action due by `tick` (filed at next_tick() .. tick) into `out`: one vector per
  // kind, in tick order and then filing order. `tick` + 1 becomes the next tick.
  // InvalidArgument if `tick` is before next_tick() or after last_tick.
  absl::Status Pop(int64_t tick, std::vector<std::vector<int64_t>>* out);

 private:
  const int64_t last_tick_;
  const int kinds_;
  const double tick_sec_;
  int64_t next_tick_ = 0;
  int64_t pending_ = 0;
  int64_t dropped_ = 0;
  std::vector<std::vector<int64_t>> buckets_;  // [tick * kinds_ + kind]

  void File(int64_t tick, int kind, int64_t user);
};

}  // namespace python
}  // namespace admission

#endif  // ADMISSION_BINDINGS_CALENDAR_H_
