// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "calendar.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace admission {
namespace python {

Calendar::Calendar(int64_t last_tick, int kinds, double tick_sec)
    : last_tick_(last_tick < 0 ? -1 : last_tick),
      kinds_(kinds < 1 ? 1 : kinds),
      tick_sec_(tick_sec > 0 ? tick_sec : 1.0),
      buckets_(static_cast<size_t>((last_tick_ + 1) * kinds_)) {}

absl::Status Calendar::Push(const int64_t* ticks, const int64_t* users, size_t n, int kind) {
  if (kind < 0 || kind >= kinds_) {
    return absl::InvalidArgumentError(absl::StrCat("kind ", kind, " is not in 0..", kinds_ - 1));
  }
  // Check everything first, so that a bad batch files nothing.
  for (size_t i = 0; i < n; ++i) {
    if (ticks[i] < next_tick_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tick ", ticks[i], " has already been played (the next tick is ", next_tick_, ")"));
    }
  }
  for (size_t i = 0; i < n; ++i) File(ticks[i], kind, users[i]);
  return absl::OkStatus();
}

absl::Status Calendar::PushTimes(const double* times, const int64_t* users, size_t n, int kind) {
  if (kind < 0 || kind >= kinds_) {
    return absl::InvalidArgumentError(absl::StrCat("kind ", kind, " is not in 0..", kinds_ - 1));
  }
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(times[i])) return absl::InvalidArgumentError("a time is NaN");
  }
  // Times beyond the last tick are dropped; compare as doubles, before any integer conversion.
  const double beyond = static_cast<double>(last_tick_) + 1;
  for (size_t i = 0; i < n; ++i) {
    // A time a hair past a tick (rounding) belongs to that tick, not the next one.
    const double tick = std::ceil(times[i] / tick_sec_ - 1e-9);
    if (tick >= beyond) {
      ++dropped_;
      continue;
    }
    File(tick <= static_cast<double>(next_tick_) ? next_tick_ : static_cast<int64_t>(tick), kind,
         users[i]);
  }
  return absl::OkStatus();
}

void Calendar::File(int64_t tick, int kind, int64_t user) {
  if (tick > last_tick_) {
    ++dropped_;
    return;
  }
  buckets_[static_cast<size_t>(tick * kinds_ + kind)].push_back(user);
  ++pending_;
}

absl::Status Calendar::Pop(int64_t tick, std::vector<std::vector<int64_t>>* out) {
  if (tick < next_tick_ || tick > last_tick_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot pop tick ", tick, ": ticks ", next_tick_,
                                                   "..", last_tick_, " are left"));
  }
  out->assign(static_cast<size_t>(kinds_), {});
  for (int64_t t = next_tick_; t <= tick; ++t) {
    for (int k = 0; k < kinds_; ++k) {
      std::vector<int64_t>& bucket = buckets_[static_cast<size_t>(t * kinds_ + k)];
      std::vector<int64_t>& into = (*out)[static_cast<size_t>(k)];
      pending_ -= static_cast<int64_t>(bucket.size());
      if (into.empty()) {
        into.swap(bucket);  // the common case: no copy
      } else {
        into.insert(into.end(), bucket.begin(), bucket.end());
      }
      std::vector<int64_t>().swap(bucket);  // give the memory back
    }
  }
  next_tick_ = tick + 1;
  return absl::OkStatus();
}

}  // namespace python
}  // namespace admission
