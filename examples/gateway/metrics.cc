// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "metrics.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace admission::gateway {
namespace {

// /metrics weighs at most this many events to pick the busiest (one store call each).
constexpr int64_t kMaxEventsRead = 10000;

// Label values are escaped as the exposition format requires. Event ids cannot hold these
// characters today, but the renderer should not depend on that.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RouteLabels(const RouteTable& routes, RouteId id) {
  const RouteLabel& r = routes.LabelOf(id);
  return absl::StrCat("route=\"", r.pattern, "\",method=\"", r.method, "\"");
}

}  // namespace

void Metrics::ObserveRequest(RouteId route, int status, absl::Duration latency) {
  RouteMetrics& m = routes_[static_cast<int>(route)];
  const int s = std::clamp(status, kMinStatus, kMaxStatus);
  m.by_status[s - kMinStatus].fetch_add(1, std::memory_order_relaxed);
  const double sec = absl::ToDoubleSeconds(latency);
  std::size_t b = 0;
  while (b < kBuckets.size() && sec > kBuckets[b]) ++b;
  m.buckets[b].fetch_add(1, std::memory_order_relaxed);
  m.sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Nanoseconds(latency))),
                     std::memory_order_relaxed);
  m.count.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::RenderLocal(const RouteTable& routes) {
  std::string out;
  out +=
      "# HELP admission_gateway_http_requests_total HTTP requests by route, method and status.\n"
      "# TYPE admission_gateway_http_requests_total counter\n";
  for (int r = 0; r < static_cast<int>(RouteId::kCount); ++r) {
    const RouteMetrics& m = routes_[r];
    for (int s = kMinStatus; s <= kMaxStatus; ++s) {
      const uint64_t n = m.by_status[s - kMinStatus].load(std::memory_order_relaxed);
      if (n == 0) continue;
      absl::StrAppend(&out, "admission_gateway_http_requests_total{",
                      RouteLabels(routes, static_cast<RouteId>(r)), ",code=\"", s, "\"} ", n, "\n");
    }
  }
  out +=
      "# HELP admission_gateway_http_request_duration_seconds Time to handle a request.\n"
      "# TYPE admission_gateway_http_request_duration_seconds histogram\n";
  for (int r = 0; r < static_cast<int>(RouteId::kCount); ++r) {
    const RouteMetrics& m = routes_[r];
    const uint64_t count = m.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    const std::string labels = RouteLabels(routes, static_cast<RouteId>(r));
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += m.buckets[b].load(std::memory_order_relaxed);
      const std::string le = b < kBuckets.size() ? absl::StrFormat("%g", kBuckets[b]) : "+Inf";
      absl::StrAppend(&out, "admission_gateway_http_request_duration_seconds_bucket{", labels,
                      ",le=\"", le, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "admission_gateway_http_request_duration_seconds_sum{", labels, "} ",
                    absl::StrFormat("%.9f", m.sum_ns.load(std::memory_order_relaxed) / 1e9), "\n");
    // The +Inf bucket, not `count`, so that the series stay consistent while requests race.
    absl::StrAppend(&out, "admission_gateway_http_request_duration_seconds_count{", labels, "} ",
                    cumulative, "\n");
  }

  absl::StrAppend(
      &out,
      "# HELP admission_gateway_store_errors_total Store calls that failed (unavailable or "
      "internal).\n# TYPE admission_gateway_store_errors_total counter\n"
      "admission_gateway_store_errors_total ",
      store_errors_.load(std::memory_order_relaxed),
      "\n# HELP admission_gateway_rate_limited_total Requests refused by the per-client rate "
      "limits.\n# TYPE admission_gateway_rate_limited_total counter\n"
      "admission_gateway_rate_limited_total ",
      rate_limited_.load(std::memory_order_relaxed),
      "\n# HELP admission_gateway_idempotent_replays_total Responses replayed for an "
      "Idempotency-Key.\n# TYPE admission_gateway_idempotent_replays_total counter\n"
      "admission_gateway_idempotent_replays_total ",
      replays_.load(std::memory_order_relaxed),
      "\n# HELP admission_store_deadline_exceeded_total Requests answered 503 because the store "
      "missed --store_deadline_ms.\n# TYPE admission_store_deadline_exceeded_total counter\n"
      "admission_store_deadline_exceeded_total ",
      store_deadlines_.load(std::memory_order_relaxed), "\n");
  if (http_ != nullptr) {
    absl::StrAppend(
        &out,
        "# HELP admission_http_connections_open Connections open now.\n"
        "# TYPE admission_http_connections_open gauge\n"
        "admission_http_connections_open ",
        http_->open_connections.load(std::memory_order_relaxed),
        "\n# HELP admission_http_connections_accepted_total Connections accepted (refused ones "
        "included).\n# TYPE admission_http_connections_accepted_total counter\n"
        "admission_http_connections_accepted_total ",
        http_->accepted.load(std::memory_order_relaxed),
        "\n# HELP admission_http_connections_refused_total Connections closed at once because "
        "--max_connections were open.\n# TYPE admission_http_connections_refused_total counter\n"
        "admission_http_connections_refused_total ",
        http_->refused_connections.load(std::memory_order_relaxed),
        "\n# HELP admission_http_timeouts_total Connections closed for taking too long, by "
        "phase.\n# TYPE admission_http_timeouts_total counter\n",
        "admission_http_timeouts_total{phase=\"idle\"} ",
        http_->idle_timeouts.load(std::memory_order_relaxed), "\n",
        "admission_http_timeouts_total{phase=\"head\"} ",
        http_->head_timeouts.load(std::memory_order_relaxed), "\n",
        "admission_http_timeouts_total{phase=\"body\"} ",
        http_->body_timeouts.load(std::memory_order_relaxed), "\n",
        "admission_http_timeouts_total{phase=\"write\"} ",
        http_->write_timeouts.load(std::memory_order_relaxed),
        "\n# HELP admission_http_requests_refused_total Requests refused by the server's limits "
        "(400, 413, 414, 431).\n# TYPE admission_http_requests_refused_total counter\n"
        "admission_http_requests_refused_total ",
        http_->refused_requests.load(std::memory_order_relaxed), "\n");
  }
  return out;
}

std::string Metrics::RenderEvents(WaitingRoom& room, int64_t max_events) {
  std::string out;
  // Per-event series straight from the store.
  std::vector<EventStats> stats;
  absl::StatusOr<std::vector<std::string>> events = room.Events();
  if (!events.ok()) {
    CountStoreError();
  } else {
    // The busiest events, by the people in them: a sale keeps its series however many idle
    // (or junk) events there are. Reading them all costs a store call per event, so at most
    // kMaxEventsRead (in id order) are weighed.
    std::sort(events->begin(), events->end());
    if (static_cast<int64_t>(events->size()) > kMaxEventsRead) events->resize(kMaxEventsRead);
    for (const std::string& e : *events) {
      absl::StatusOr<EventStats> s = room.Stats(e);
      if (s.ok()) {
        stats.push_back(*std::move(s));
      } else if (!absl::IsNotFound(s.status())) {
        CountStoreError();
      }
    }
    auto people = [](const EventStats& s) { return s.waiting + s.prequeued + s.active; };
    const std::size_t keep = std::min(stats.size(), static_cast<std::size_t>(max_events));
    std::partial_sort(stats.begin(), stats.begin() + keep, stats.end(),
                      [&people](const EventStats& a, const EventStats& b) {
                        const int64_t pa = people(a), pb = people(b);
                        return pa != pb ? pa > pb : a.event_id < b.event_id;
                      });
    stats.resize(keep);
    // Series in event-id order, as before, so that a scrape reads the same from one to the next.
    std::sort(stats.begin(), stats.end(),
              [](const EventStats& a, const EventStats& b) { return a.event_id < b.event_id; });
  }
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const EventStats&);
  };
  static constexpr Series kSeries[] = {
      {"admission_event_waiting", "gauge", "Users waiting in line.",
       [](const EventStats& s) { return static_cast<double>(s.waiting); }},
      {"admission_event_prequeued", "gauge", "Users in the pre-queue, before the opening.",
       [](const EventStats& s) { return static_cast<double>(s.prequeued); }},
      {"admission_event_granted", "gauge",
       "Waiting users holding a grant (admitted once they enter).",
       [](const EventStats& s) { return static_cast<double>(s.granted); }},
      {"admission_event_active", "gauge", "Admitted users not done yet.",
       [](const EventStats& s) { return static_cast<double>(s.active); }},
      {"admission_event_admission_rate", "gauge", "Measured admissions per second.",
       [](const EventStats& s) { return s.admission_rate_per_sec; }},
      {"admission_event_joined_total", "counter", "Users who joined.",
       [](const EventStats& s) { return static_cast<double>(s.joined_total); }},
      {"admission_event_admitted_total", "counter", "Users admitted.",
       [](const EventStats& s) { return static_cast<double>(s.admitted_total); }},
      {"admission_event_admitted_by_bypass_total", "counter",
       "Users admitted on credit within the top-N bypass.",
       [](const EventStats& s) { return static_cast<double>(s.admitted_by_bypass); }},
      {"admission_event_admitted_by_safety_net_total", "counter",
       "Users admitted by their join into an empty line (safety net).",
       [](const EventStats& s) { return static_cast<double>(s.admitted_by_safety_net); }},
      {"admission_event_admitted_by_passthrough_total", "counter",
       "Users admitted at once by the passthrough method.",
       [](const EventStats& s) { return static_cast<double>(s.admitted_by_passthrough); }},
      {"admission_event_refused_total", "counter",
       "Joins refused by the schedule or the reject method.",
       [](const EventStats& s) { return static_cast<double>(s.refused_total); }},
      {"admission_event_expired_total", "counter", "Waiting users lost to the heartbeat TTL.",
       [](const EventStats& s) { return static_cast<double>(s.expired_total); }},
      {"admission_event_active_timed_out_total", "counter",
       "Admitted users whose active TTL ran out.",
       [](const EventStats& s) { return static_cast<double>(s.active_timed_out_total); }},
      {"admission_event_left_total", "counter", "Users who left.",
       [](const EventStats& s) { return static_cast<double>(s.left_total); }},
      {"admission_event_completed_total", "counter", "Admitted users who completed.",
       [](const EventStats& s) { return static_cast<double>(s.completed_total); }},
      {"admission_event_passed_total", "counter",
       "Absent users the grants passed over (they keep their place for when they return).",
       [](const EventStats& s) { return static_cast<double>(s.passed_total); }},
      {"admission_event_lapsed_total", "counter",
       "Grants not claimed within the claim window (their tokens passed on).",
       [](const EventStats& s) { return static_cast<double>(s.lapsed_total); }},
  };
  for (const Series& series : kSeries) {
    absl::StrAppend(&out, "# HELP ", series.name, " ", series.help, "\n# TYPE ", series.name, " ",
                    series.type, "\n");
    for (const EventStats& s : stats) {
      absl::StrAppend(&out, series.name, "{event=\"", Escape(s.event_id), "\"} ",
                      absl::StrFormat("%.17g", series.value(s)), "\n");
    }
  }

  // The valve's settings next to what it does, so that alerts can tell a stalled room from a
  // paused or full one (deploy/prometheus/alerts.yml). One more store call per kept event.
  std::vector<std::pair<std::string, Policy>> policies;
  for (const EventStats& s : stats) {
    absl::StatusOr<Policy> p = room.GetPolicy(s.event_id);
    if (p.ok()) {
      policies.emplace_back(s.event_id, *std::move(p));
    } else if (!absl::IsNotFound(p.status())) {
      CountStoreError();
    }
  }
  struct PolicySeries {
    const char* name;
    const char* help;
    double (*value)(const Policy&);
  };
  static constexpr PolicySeries kPolicySeries[] = {
      {"admission_event_paused", "1 while the operator has paused the room.",
       [](const Policy& p) { return p.paused ? 1.0 : 0.0; }},
      {"admission_event_policy_admit_rate", "The policy's admissions per second.",
       [](const Policy& p) { return p.admit_rate_per_sec; }},
      {"admission_event_active_capacity", "The policy's active capacity.",
       [](const Policy& p) { return static_cast<double>(p.active_capacity); }},
  };
  for (const PolicySeries& series : kPolicySeries) {
    absl::StrAppend(&out, "# HELP ", series.name, " ", series.help, "\n# TYPE ", series.name,
                    " gauge\n");
    for (const auto& [event_id, p] : policies) {
      absl::StrAppend(&out, series.name, "{event=\"", Escape(event_id), "\"} ",
                      absl::StrFormat("%.17g", series.value(p)), "\n");
    }
  }

  return out;
}

std::string Metrics::Render(WaitingRoom& room, int64_t max_events, const RouteTable& routes) {
  return RenderLocal(routes) + RenderEvents(room, max_events);
}

void Metrics::RememberStoreSeries(std::string text) {
  absl::MutexLock lock(&mu_);
  store_series_ = std::move(text);
}

std::string Metrics::RenderWithoutStore(const RouteTable& routes) {
  std::string out = RenderLocal(routes);
  absl::MutexLock lock(&mu_);
  return out + store_series_;
}

}  // namespace admission::gateway
