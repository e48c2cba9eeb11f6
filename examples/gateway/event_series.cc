// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "event_series.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace admission::gateway {
namespace {

// Events weighed at most per sample to pick the busiest (one store call each), as /metrics.
constexpr std::size_t kMaxEventsWeighed = 10000;

}  // namespace

EventSeries::EventSeries(WaitingRoom& room, Inventory* inventory, Clock& clock,
                         EventSeriesOptions options)
    : room_(room), inventory_(inventory), clock_(clock), options_(options) {}

EventSeries::~EventSeries() { Stop(); }

absl::StatusOr<bool> EventSeries::SampleIfDue() {
  const absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_sample_ && now - *last_sample_ < options_.interval) return false;
  }
  if (absl::Status s = Sample(); !s.ok()) return s;
  return true;
}

absl::Status EventSeries::Sample() {
  std::lock_guard<std::mutex> sampling(sample_mu_);
  const absl::Time now = clock_.Now();
  {
    // Set first: a failing store is retried at the next interval, not at every wake-up.
    std::lock_guard<std::mutex> lock(mu_);
    last_sample_ = now;
  }
  absl::StatusOr<std::vector<std::string>> events = room_.Events();
  if (!events.ok()) return events.status();
  std::sort(events->begin(), events->end());
  if (events->size() > kMaxEventsWeighed) events->resize(kMaxEventsWeighed);

  absl::Status first_error;
  std::vector<EventStats> stats;
  for (const std::string& e : *events) {
    absl::StatusOr<EventStats> s = room_.Stats(e);
    if (s.ok()) {
      stats.push_back(*std::move(s));
    } else if (!absl::IsNotFound(s.status()) && first_error.ok()) {
      first_error = s.status();
    }
  }
  auto people = [](const EventStats& s) { return s.waiting + s.prequeued + s.active; };
  const std::size_t keep =
      std::min(stats.size(), static_cast<std::size_t>(std::max<int64_t>(0, options_.max_events)));
  std::partial_sort(stats.begin(), stats.begin() + keep, stats.end(),
                    [&people](const EventStats& a, const EventStats& b) {
                      const int64_t pa = people(a), pb = people(b);
                      return pa != pb ? pa > pb : a.event_id < b.event_id;
                    });
  stats.resize(keep);

  // Read everything first, then swap the rings in under the lock: readers never wait for the
  // store.
  struct Reading {
    EventStats stats;
    Policy policy;
    std::optional<SeatCounts> seats;
  };
  std::vector<Reading> readings;
  for (EventStats& s : stats) {
    absl::StatusOr<Policy> policy = room_.GetPolicy(s.event_id);
    if (!policy.ok()) {
      if (!absl::IsNotFound(policy.status()) && first_error.ok()) first_error = policy.status();
      continue;
    }
    std::optional<SeatCounts> seats;
    if (inventory_ != nullptr) {
      absl::StatusOr<Availability> a = inventory_->GetAvailability(s.event_id, false);
      if (a.ok()) {
        seats = a->counts;
      } else if (!absl::IsNotFound(a.status()) && first_error.ok()) {
        first_error = a.status();
      }
    }
    readings.push_back({std::move(s), *std::move(policy), seats});
  }

  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, Ring, std::less<>> next;
  for (Reading& r : readings) {
    const EventStats& s = r.stats;
    Ring ring;
    if (auto it = rings_.find(s.event_id); it != rings_.end()) ring = std::move(it->second);
    const bool first = ring.samples.empty();
    SeriesSample x;
    x.at = now;
    x.waiting = s.waiting;
    x.prequeued = s.prequeued;
    x.active = s.active;
    x.capacity = r.policy.active_capacity;
    x.policy_rate = r.policy.admit_rate_per_sec;
    x.paused = r.policy.paused;
    if (first) {
      x.admitted_per_sec = s.admission_rate_per_sec;
    } else {
      const double dt = absl::ToDoubleSeconds(now - ring.samples.back().at);
      x.admitted_per_sec =
          dt > 0
              ? static_cast<double>(std::max<int64_t>(0, s.admitted_total - ring.admitted_total)) /
                    dt
              : 0;
      x.ghosts_removed = std::max<int64_t>(0, s.expired_total - ring.expired_total);
      x.joins_refused = std::max<int64_t>(0, s.refused_total - ring.refused_total);
    }
    const double rate =
        s.admission_rate_per_sec > 0 ? s.admission_rate_per_sec : r.policy.admit_rate_per_sec;
    const int64_t in_line = s.waiting + s.prequeued;
    if (in_line == 0) {
      x.eta_back_sec = 0.0;
    } else if (!r.policy.paused && rate > 0) {
      x.eta_back_sec = static_cast<double>(in_line) / rate;
    }
    if (r.seats) {
      x.has_sale = true;
      x.seats_available = r.seats->available;
      x.seats_held = r.seats->held;
      x.seats_sold = r.seats->sold;
    }
    ring.admitted_total = s.admitted_total;
    ring.expired_total = s.expired_total;
    ring.refused_total = s.refused_total;
    ring.samples.push_back(x);
    while (static_cast<int64_t>(ring.samples.size()) > std::max<int64_t>(1, options_.samples)) {
      ring.samples.pop_front();
    }
    next.emplace(s.event_id, std::move(ring));
  }
  rings_ = std::move(next);
  return first_error;
}

std::optional<std::vector<SeriesSample>> EventSeries::Get(std::string_view event_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(event_id);
  if (it == rings_.end()) return std::nullopt;
  return std::vector<SeriesSample>(it->second.samples.begin(), it->second.samples.end());
}

std::vector<std::string> EventSeries::Tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, ring] : rings_) out.push_back(id);
  return out;
}

void EventSeries::Start() {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void EventSeries::Stop() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventSeries::Loop() {
  const absl::Duration tick =
      std::clamp(options_.interval / 4, absl::Milliseconds(10), absl::Seconds(1));
  const auto wait = std::chrono::microseconds(absl::ToInt64Microseconds(tick));
  std::unique_lock<std::mutex> lock(thread_mu_);
  while (!stop_) {
    lock.unlock();
    if (absl::StatusOr<bool> sampled = SampleIfDue(); !sampled.ok()) {
      std::fprintf(stderr, "warning: event series: %s\n", sampled.status().ToString().c_str());
    }
    lock.lock();
    wake_.wait_for(lock, wait, [this] { return stop_; });
  }
}

}  // namespace admission::gateway
