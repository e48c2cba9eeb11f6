// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The per-event policy: every knob an operator can turn while a room runs. Defaults are the
// values in the field initialisers; a default-constructed Policy is a sensible room for a
// large sale.
#ifndef ADMISSION_POLICY_H_
#define ADMISSION_POLICY_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace admission {

// Users at positions up to `max_position` (inclusive, and beyond the previous tier) must have
// waited at least `min_wait` since they joined before they may enter. The last tier of a
// policy covers every position: its max_position is kUnboundedPosition.
struct WaitTier {
  static constexpr int64_t kUnboundedPosition = std::numeric_limits<int64_t>::max();

  int64_t max_position = kUnboundedPosition;
  absl::Duration min_wait = absl::ZeroDuration();
};

// [1-10: 0 s; 11-50: 2 s; 51 and beyond: 5 s]
std::vector<WaitTier> DefaultWaitTiers();

struct Policy {
  // Token bucket that paces admissions: whole tokens accrue at this rate up to `burst`.
  // [100/s, burst 100]
  double admit_rate_per_sec = 100.0;
  int64_t burst = 100;

  // Positions 1..bypass_top_n may enter even when the bucket has no whole token: they borrow
  // one, and the debt (at most bypass_top_n tokens) is repaid from the refill before anyone
  // further back is let in. So the bypass keeps the front moving without defeating the pace:
  // admissions over any interval T stay within rate * T + burst + bypass_top_n. [10]
  int64_t bypass_top_n = 10;

  // Admitted users who are not done yet (no Complete/Leave, active TTL not run out) never
  // exceed this. [50,000]
  int64_t active_capacity = 50000;

  // A waiting user who sends no heartbeat (Status/Enter) for this long is a ghost and loses
  // their place. [5 min]
  absl::Duration heartbeat_ttl = absl::Minutes(5);
  // An admitted user stops counting against the capacity after this long. [10 min]
  absl::Duration active_ttl = absl::Minutes(10);
  // Lifetime of the reservation token handed out at admission. [30 s]
  absl::Duration reservation_ttl = absl::Seconds(30);
  // How long a token that left the room (expired, left, completed) still answers Status with
  // that state before it is forgotten (NotFound). Bounds the memory of departed users. [10 min]
  absl::Duration ended_ttl = absl::Minutes(10);

  // Tier waits by position; positions must increase and waits must not decrease, so the users
  // who may enter always form a prefix of the line. Empty means no tier waits.
  std::vector<WaitTier> wait_tiers = DefaultWaitTiers();

  // Sliding windows over which the admission rate (and so the ETA) is measured; strictly
  // increasing, 1 to 4 of them, each 1 s to 1 h. [10 s, 60 s, 300 s]
  std::vector<absl::Duration> rate_windows = {absl::Seconds(10), absl::Seconds(60),
                                              absl::Seconds(300)};

  // A paused room admits nobody; the line keeps its order and heartbeats still count.
  bool paused = false;
  // Shown to users while paused (at most 200 printable characters).
  std::string paused_reason;
};

// OK, or InvalidArgument naming the first field that is out of range.
absl::Status ValidatePolicy(const Policy& policy);

// The wait a user at `position` (1-based) must have served before entering.
absl::Duration TierWait(const std::vector<WaitTier>& tiers, int64_t position);

bool operator==(const WaitTier& a, const WaitTier& b);
bool operator==(const Policy& a, const Policy& b);
inline bool operator!=(const Policy& a, const Policy& b) { return !(a == b); }

}  // namespace admission

#endif  // ADMISSION_POLICY_H_
