// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Prometheus metrics in the text exposition format (version 0.0.4). Request counters and
// latency histograms are lock-free atomics indexed by route, so recording costs a few atomic
// adds per request. Per-event gauges and counters are not kept here at all: they are read from
// the library's Stats when /metrics is scraped, so they are always the store's truth (and, on
// a shared store, the same from every gateway).
#ifndef ADMISSION_EXAMPLES_GATEWAY_METRICS_H_
#define ADMISSION_EXAMPLES_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "admission/room/waiting_room.h"
#include "http_server.h"
#include "route_table.h"

namespace admission::gateway {

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void ObserveRequest(RouteId route, int status, absl::Duration latency);
  void CountStoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }
  void CountRateLimited() { rate_limited_.fetch_add(1, std::memory_order_relaxed); }
  void CountIdempotentReplay() { replays_.fetch_add(1, std::memory_order_relaxed); }
  void CountStoreDeadline() { store_deadlines_.fetch_add(1, std::memory_order_relaxed); }
  // The HTTP server's counters, rendered with the rest; not owned.
  void set_http_stats(const HttpServerStats* stats) { http_ = stats; }

  // The whole exposition. Routes are labelled as `routes` names their classes. Per-event series
  // come from `room` for at most `max_events` events (sorted by id); a failing store call is
  // counted as a store error and skipped.
  std::string Render(WaitingRoom& room, int64_t max_events, const RouteTable& routes);
  // Its two parts: the gateway's own series (never touching the store) and the events'.
  std::string RenderLocal(const RouteTable& routes);
  std::string RenderEvents(WaitingRoom& room, int64_t max_events);
  // The series last read from the store, for an exposition made while the store stalls.
  void RememberStoreSeries(std::string text);
  // RenderLocal() and the remembered store series.
  std::string RenderWithoutStore(const RouteTable& routes);

  // Histogram upper bounds, in seconds.
  static constexpr std::array<double, 15> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  struct RouteMetrics {
    std::array<std::atomic<uint64_t>, kMaxStatus - kMinStatus + 1> by_status{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> sum_ns{0};
    std::atomic<uint64_t> count{0};
  };

  std::array<RouteMetrics, static_cast<int>(RouteId::kCount)> routes_;
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> rate_limited_{0};
  std::atomic<uint64_t> replays_{0};
  std::atomic<uint64_t> store_deadlines_{0};
  const HttpServerStats* http_ = nullptr;
  absl::Mutex mu_;
  std::string store_series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_METRICS_H_
