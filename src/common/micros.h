// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Times and durations as whole microseconds: what the stores keep, and what the Lua scripts
// hold in doubles. Every conversion clamps to [0, kMaxExactMicros], the range a Lua number
// holds exactly, so an infinite or pre-epoch value can never become a number Redis rounds or a
// negative deadline; validated inputs (policies, options, clocks after 1970) are far inside it.
#ifndef ADMISSION_SRC_COMMON_MICROS_H_
#define ADMISSION_SRC_COMMON_MICROS_H_

#include <cstdint>

#include "absl/time/time.h"

namespace admission::internal {

// 2^53: the largest integer a double (a Lua number) holds exactly.
inline constexpr int64_t kMaxExactMicros = int64_t{1} << 53;

// Microseconds since the Unix epoch; InfinitePast and anything before the epoch are 0,
// InfiniteFuture and anything past 2^53 us (year 2255) are kMaxExactMicros.
inline int64_t TimeToMicros(absl::Time t) {
  if (t <= absl::UnixEpoch()) return 0;
  if (t >= absl::FromUnixMicros(kMaxExactMicros)) return kMaxExactMicros;
  return absl::ToUnixMicros(t);
}

inline absl::Time MicrosToTime(int64_t us) { return absl::FromUnixMicros(us); }

// Non-negative durations in microseconds (floored); negative ones are 0, infinite ones
// kMaxExactMicros.
inline int64_t DurationToMicros(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  if (d >= absl::Microseconds(kMaxExactMicros)) return kMaxExactMicros;
  return absl::ToInt64Microseconds(d);
}

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_MICROS_H_
