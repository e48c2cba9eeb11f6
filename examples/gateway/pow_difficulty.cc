// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "pow_difficulty.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace admission::gateway {

std::string_view PowModeName(PowMode mode) {
  switch (mode) {
    case PowMode::kOff:
      return "off";
    case PowMode::kOn:
      return "on";
    case PowMode::kAuto:
      return "auto";
  }
  return "off";
}

absl::StatusOr<PowMode> ParsePowMode(std::string_view text) {
  if (text == "off") return PowMode::kOff;
  if (text == "on") return PowMode::kOn;
  if (text == "auto") return PowMode::kAuto;
  return absl::InvalidArgumentError("expected off, on or auto");
}

int AutoDifficulty(const PowAutoRule& rule, double joins_per_sec) {
  if (!(joins_per_sec >= rule.threshold_per_sec) || rule.threshold_per_sec <= 0) return 0;
  // floor(log2) of the ratio: each doubling above the threshold adds one bit. The ratio is
  // at least 1 here; a huge one is capped before the cast.
  const double doublings = std::floor(std::log2(joins_per_sec / rule.threshold_per_sec));
  const double bits = std::min<double>(rule.max_difficulty, rule.min_difficulty + doublings);
  return std::max(0, static_cast<int>(bits));
}

JoinRateMeter::JoinRateMeter(Clock& clock, ReadCount read, absl::Duration interval,
                             std::size_t max_events)
    : clock_(clock), read_(std::move(read)), interval_(interval), max_events_(max_events) {}

double JoinRateMeter::RatePerSec(std::string_view event_id) {
  const absl::Time now = clock_.Now();
  // Abseil's own string_view is the map's lookup type here.
  const absl::string_view key(event_id.data(), event_id.size());
  {
    absl::MutexLock lock(&mu_);
    auto it = samples_.find(key);
    if (it == samples_.end()) {
      if (samples_.size() >= max_events_) samples_.clear();
      it = samples_.emplace(std::string(event_id), Sample{}).first;
    }
    Sample& s = it->second;
    if (s.reading || now - s.at < interval_) return s.rate;
    s.reading = true;
  }
  // The store call runs outside the lock: other events (and other callers) do not wait.
  const absl::StatusOr<int64_t> count = read_(event_id);
  absl::MutexLock lock(&mu_);
  auto it = samples_.find(key);
  if (it == samples_.end()) return 0;  // forgotten meanwhile (max_events)
  Sample& s = it->second;
  s.reading = false;
  if (!count.ok()) {
    // An unknown event has had no joins and is not remembered: made-up event ids (one per
    // request, from a bot) must never fill the table and make it forget the real events'
    // rates, which would take the proof of work away from a busy sale. A store that did not
    // answer tells nothing new.
    if (absl::IsNotFound(count.status())) {
      samples_.erase(it);
      return 0;
    }
    return s.rate;
  }
  if (s.at != absl::InfinitePast() && now > s.at) {
    s.rate = std::max<double>(0, static_cast<double>(*count - s.count)) /
             absl::ToDoubleSeconds(now - s.at);
  }
  s.at = now;
  s.count = *count;
  return s.rate;
}

}  // namespace admission::gateway
