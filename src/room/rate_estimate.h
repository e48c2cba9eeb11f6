// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// How fast the line moves, and how sure we are: the basis of every ETA a user is shown.
#ifndef ADMISSION_SRC_ROOM_RATE_ESTIMATE_H_
#define ADMISSION_SRC_ROOM_RATE_ESTIMATE_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "admission/room/store.h"

namespace admission {

struct RateEstimate {
  double per_sec = 0;     // admissions per second
  double confidence = 0;  // 0..1
  bool measured = false;  // false: the policy's rate stands in for a measurement
};

// The median of the windows' rates; confidence is how well the windows agree times how many
// admissions they rest on. Before any admission (or when the line has stalled) the policy's
// rate stands in, with low confidence; a paused room gets confidence 0. See docs/rules.md.
RateEstimate EstimateRate(const RateSample& sample, absl::Time now);

// A RateSample's fields with its windows in an array that someone else holds (the in-memory
// store's own, on the stack), so that an estimate needs no RateSample and no allocation. The
// estimates below give exactly what they give for the RateSample it stands for.
struct RateView {
  struct Span {
    const RateSample::Window* b;
    const RateSample::Window* e;
    const RateSample::Window* begin() const { return b; }
    const RateSample::Window* end() const { return e; }
  };
  static RateView Of(const RateSample& sample);
  Span span() const { return Span{windows, windows + window_count}; }

  const RateSample::Window* windows = nullptr;
  std::size_t window_count = 0;
  absl::Time first_admission = absl::InfiniteFuture();
  int64_t unreached = 0;
  double policy_rate_per_sec = 0;
  bool at_capacity = false;
  bool paused = false;
};
RateEstimate EstimateRate(const RateView& sample, absl::Time now);

inline constexpr double kUnmeasuredConfidence = 0.1;

// How fast the line ahead of a waiting user shrinks (docs/rules.md, "What WaitingRoom adds"):
// the grants' cursor reaches present users at `cursor_per_sec` (the policy's rate; the
// measured grants when the room is at its capacity); each user it has not reached yet leaves
// or expires at `departure_per_sec` and vanishes (closes the page, to be passed over) at
// `vanish_per_sec` per second of waiting; the users it reaches had waited `front_wait_sec`.
struct LineSpeed {
  double cursor_per_sec = 0;
  double departure_per_sec = 0;
  double vanish_per_sec = 0;
  double front_wait_sec = 0;
};
LineSpeed EstimateLineSpeed(const RateSample& sample, absl::Time now);
LineSpeed EstimateLineSpeed(const RateView& sample, absl::Time now);

// The time the cursor needs to reach a user who has waited `waited` with `ahead` unreached
// users ahead. Those ahead have waited about (waited + front_wait) / 2 on average, so that
// share of them has vanished already and will be passed at once; the others are granted at
// the cursor's speed while they keep leaving and vanishing: da/dt = -cursor - hazard * a.
// Infinite when the cursor stands still.
absl::Duration TimeToReach(const LineSpeed& speed, int64_t ahead, absl::Duration waited);

}  // namespace admission

#endif  // ADMISSION_SRC_ROOM_RATE_ESTIMATE_H_
