// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The waiting-room rules that are pure arithmetic: the token bucket, the sliding-window
// admission counters and the readiness decision. docs/rules.md states them in prose; the
// in-memory store calls these functions and the Lua scripts in lua/ mirror them line by line,
// so a change here is a change there too (the conformance tests hold the two together).
//
// Times are integer microseconds since the Unix epoch, as in the Redis scripts.
#ifndef ADMISSION_SRC_RULES_H_
#define ADMISSION_SRC_RULES_H_

#include <cstdint>

#include "absl/time/time.h"
#include "admission/policy.h"
#include "admission/store.h"

namespace admission::rules {

inline int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }
inline int64_t ToMicros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// Token bucket: `tokens` in [0, burst], refilled lazily at `rate` per second.
struct Bucket {
  double tokens = 0;
  int64_t refilled_at_us = 0;
};
void Refill(Bucket& bucket, double rate_per_sec, int64_t burst, int64_t now_us);

// Two-period sliding-window counter of admissions for one window length.
struct WindowCounter {
  int64_t length_us = 0;
  int64_t period = 0;  // floor(now / length) of the current period
  double current = 0;
  double previous = 0;
};
void RecordAdmission(WindowCounter& window, int64_t now_us);
// Estimated admissions in the window of `length_us` ending at `now_us`.
double EstimatedAdmissions(const WindowCounter& window, int64_t now_us);

struct Readiness {
  EntryBlock block = EntryBlock::kNone;
  absl::Duration retry_after = absl::ZeroDuration();
};
// Whether a waiting user at `position` who joined at `joined_us` may enter at `now_us`, given
// the refilled bucket's `tokens` and the number of `active` users.
Readiness CheckReadiness(const Policy& policy, int64_t position, int64_t joined_us, int64_t now_us,
                         double tokens, int64_t active);

// Retry-after when the room is paused or full: no better estimate exists.
inline constexpr absl::Duration kPausedRetry = absl::Seconds(5);
inline constexpr absl::Duration kCapacityRetry = absl::Seconds(1);

}  // namespace admission::rules

#endif  // ADMISSION_SRC_RULES_H_
