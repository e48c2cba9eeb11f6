// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "rules.h"

#include <algorithm>
#include <cmath>

namespace admission::rules {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void Roll(WindowCounter& w, int64_t now_us) {
  const int64_t period = FloorDiv(now_us, w.length_us);
  if (period <= w.period) return;  // same period (or time went back: keep what we have)
  w.previous = (period == w.period + 1) ? w.current : 0;
  w.current = 0;
  w.period = period;
}

}  // namespace

void Refill(Bucket& bucket, double rate_per_sec, int64_t burst, int64_t now_us) {
  if (now_us > bucket.refilled_at_us) {
    const double elapsed_sec = static_cast<double>(now_us - bucket.refilled_at_us) / 1e6;
    bucket.tokens =
        std::min(static_cast<double>(burst), bucket.tokens + rate_per_sec * elapsed_sec);
    bucket.refilled_at_us = now_us;
  }
  bucket.tokens = std::min(bucket.tokens, static_cast<double>(burst));
}

void RecordAdmission(WindowCounter& window, int64_t now_us) {
  Roll(window, now_us);
  window.current += 1;
}

double EstimatedAdmissions(const WindowCounter& window, int64_t now_us) {
  WindowCounter w = window;
  Roll(w, now_us);
  const double into_period =
      static_cast<double>(now_us - w.period * w.length_us) / static_cast<double>(w.length_us);
  const double previous_weight = std::clamp(1.0 - into_period, 0.0, 1.0);
  return w.previous * previous_weight + w.current;
}

Readiness CheckReadiness(const Policy& policy, int64_t position, int64_t joined_us, int64_t now_us,
                         double tokens, int64_t active) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  if (active >= policy.active_capacity) return {EntryBlock::kCapacityFull, kCapacityRetry};

  const int64_t whole_tokens = static_cast<int64_t>(std::floor(tokens));
  if (position > policy.bypass_top_n + whole_tokens) {
    absl::Duration retry = absl::Seconds(60);
    if (policy.admit_rate_per_sec > 0) {
      const double needed =
          static_cast<double>(std::min<int64_t>(position - policy.bypass_top_n, policy.burst));
      retry = absl::Seconds((needed - tokens) / policy.admit_rate_per_sec);
    }
    return {EntryBlock::kNotYourTurn, std::max(retry, absl::Seconds(1))};
  }

  const int64_t wait_us = ToMicros(TierWait(policy.wait_tiers, position));
  const int64_t waited_us = now_us - joined_us;
  if (waited_us < wait_us) return {EntryBlock::kTierWait, absl::Microseconds(wait_us - waited_us)};

  return {EntryBlock::kNone, absl::ZeroDuration()};
}

}  // namespace admission::rules
