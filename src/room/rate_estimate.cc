// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room/rate_estimate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

namespace admission {
namespace {

// The windows' rates, in place for the few windows a policy has (rate_windows holds at most 4),
// so that an estimate, made on every call, allocates nothing.
class Rates {
 public:
  explicit Rates(std::size_t n) {
    if (n > kInline) heap_.reserve(n);
  }
  void push_back(double rate) {
    if (heap_.capacity() > 0) {
      heap_.push_back(rate);
    } else {
      inline_[size_] = rate;
    }
    ++size_;
  }
  double* begin() { return heap_.capacity() > 0 ? heap_.data() : inline_.data(); }
  double* end() { return begin() + size_; }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::size_t kInline = 8;
  std::array<double, kInline> inline_;
  std::vector<double> heap_;
  std::size_t size_ = 0;
};

// The median of the windows' rates (0 when there are none); sorts them.
double Median(Rates& rates) {
  if (rates.empty()) return 0;
  std::sort(rates.begin(), rates.end());
  const std::size_t mid = rates.size() / 2;
  const double* r = rates.begin();
  return rates.size() % 2 == 1 ? r[mid] : (r[mid - 1] + r[mid]) / 2;
}

}  // namespace

RateView RateView::Of(const RateSample& sample) {
  RateView view;
  view.windows = sample.windows.data();
  view.window_count = sample.windows.size();
  view.first_admission = sample.first_admission;
  view.unreached = sample.unreached;
  view.policy_rate_per_sec = sample.policy_rate_per_sec;
  view.at_capacity = sample.at_capacity;
  view.paused = sample.paused;
  return view;
}

RateEstimate EstimateRate(const RateSample& sample, absl::Time now) {
  return EstimateRate(RateView::Of(sample), now);
}

LineSpeed EstimateLineSpeed(const RateSample& sample, absl::Time now) {
  return EstimateLineSpeed(RateView::Of(sample), now);
}

RateEstimate EstimateRate(const RateView& sample, absl::Time now) {
  RateEstimate estimate;
  Rates rates(sample.window_count);
  double longest_samples = 0;
  double coverage = 0;  // how much of the longest window has history behind it
  if (sample.first_admission != absl::InfiniteFuture()) {
    // A window that reaches back before the first admission would dilute the rate with time
    // in which nobody could have been admitted: measure over the part that has history.
    const absl::Duration history = now - sample.first_admission;
    for (const RateSample::Window& w : sample.span()) {
      const absl::Duration span = std::max(absl::Seconds(1), std::min(w.length, history));
      rates.push_back(w.admissions / absl::ToDoubleSeconds(span));
      longest_samples = w.admissions;  // windows are ordered by length
      coverage = std::min(1.0, absl::ToDoubleSeconds(history) / absl::ToDoubleSeconds(w.length));
    }
  }
  const double median = Median(rates);
  if (median > 0) {
    const auto [lo, hi] = std::minmax_element(rates.begin(), rates.end());
    const double agreement = *hi > 0 ? *lo / *hi : 0;
    // Over time admissions cannot outrun the bucket (only the bounded burst and bypass debt
    // can), so a measurement above the policy's rate is the opening burst talking.
    estimate.per_sec =
        sample.policy_rate_per_sec > 0 ? std::min(median, sample.policy_rate_per_sec) : median;
    // Young history (the first burst of a sale) makes all windows agree for the wrong reason:
    // until the longest window is full, confidence is scaled down towards one half.
    estimate.confidence =
        agreement * (longest_samples / (longest_samples + 10.0)) * (0.5 + 0.5 * coverage);
    estimate.measured = true;
  } else {
    estimate.per_sec = sample.policy_rate_per_sec;
    estimate.confidence = kUnmeasuredConfidence;
  }
  if (sample.paused) estimate.confidence = 0;
  estimate.confidence = std::clamp(estimate.confidence, 0.0, 1.0);
  return estimate;
}

LineSpeed EstimateLineSpeed(const RateView& sample, absl::Time now) {
  LineSpeed speed;
  speed.cursor_per_sec = sample.policy_rate_per_sec;
  if (sample.window_count == 0 || sample.first_admission == absl::InfiniteFuture()) return speed;
  // Until the shortest window has history, a measurement is mostly the opening's burst or the
  // lag between the first grants and their claims: the policy's rate says more.
  const absl::Duration history = now - sample.first_admission;
  if (history < sample.windows[0].length) return speed;
  // The cursor's speed through present users: the bucket's rate, which grants follow whenever
  // somebody present waits, whatever the windows saw while the line was short (a second wave
  // finds a speed measured on a trickle) or while the rate was another (an operator's change
  // takes effect at once). Only a room at its capacity grants more slowly, as users finish:
  // then the grants the windows measured. The passes are counted below, as users who vanish.
  if (sample.at_capacity) {
    Rates rates(sample.window_count);
    for (const RateSample::Window& w : sample.span()) {
      const absl::Duration span = std::max(absl::Seconds(1), std::min(w.length, history));
      rates.push_back(std::max(0.0, w.reached - w.passes) / absl::ToDoubleSeconds(span));
    }
    speed.cursor_per_sec = Median(rates);
  }
  // The hazards, over the longest window (the most samples): users who leave or expire before
  // the cursor reaches them, per unreached user; users who vanish while waiting (the absent
  // ones the cursor passes over), per second waited; and how long those reached had waited.
  const RateSample::Window& longest = sample.windows[sample.window_count - 1];
  const double span =
      absl::ToDoubleSeconds(std::max(absl::Seconds(1), std::min(longest.length, history)));
  if (sample.unreached > 0) {
    speed.departure_per_sec = longest.departures / span / static_cast<double>(sample.unreached);
  }
  if (longest.exposure_sec > 0) speed.vanish_per_sec = longest.passes / longest.exposure_sec;
  if (longest.reached > 0) speed.front_wait_sec = longest.exposure_sec / longest.reached;
  return speed;
}

absl::Duration TimeToReach(const LineSpeed& speed, int64_t ahead, absl::Duration waited) {
  if (ahead <= 0) return absl::ZeroDuration();
  if (speed.cursor_per_sec <= 0) return absl::InfiniteDuration();
  const double waited_ahead =
      (std::max(0.0, absl::ToDoubleSeconds(waited)) + speed.front_wait_sec) / 2;
  const double a = static_cast<double>(ahead) * std::exp(-speed.vanish_per_sec * waited_ahead);
  const double hazard = speed.departure_per_sec + speed.vanish_per_sec;
  const double x = hazard * a / speed.cursor_per_sec;
  if (x < 1e-6) return absl::Seconds(a / speed.cursor_per_sec);
  return absl::Seconds(std::log1p(x) / hazard);
}

}  // namespace admission
