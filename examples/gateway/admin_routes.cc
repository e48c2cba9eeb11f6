// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admin_routes.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "http_toolkit.h"
#include "json_codec.h"

namespace admission::gateway {
namespace {

void GetPolicy(const RouteContext& ctx, const Request& req, Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  const std::string event_id = req.matches[0];
  absl::StatusOr<Policy> policy = ctx.room.GetPolicy(event_id);
  if (!policy.ok()) return ReplyStatus(res, policy.status(), ctx.metrics);
  Json j = PolicyToJson(*policy);
  j["event_id"] = event_id;
  Reply(res, 200, j);
}

void PutPolicy(const RouteContext& ctx, const Request& req, Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  const std::string event_id = req.matches[0];
  absl::StatusOr<Json> patch = ParseObject(req.body);
  if (!patch.ok()) return ReplyStatus(res, patch.status(), ctx.metrics);
  // Read, merge, validate, write: a PUT may name only the fields it changes. An unknown
  // event starts from the default policy, so operators can open a room before the sale.
  absl::StatusOr<Policy> current = ctx.room.GetPolicy(event_id);
  Policy policy = ctx.flags.default_policy;
  if (current.ok()) {
    policy = *std::move(current);
  } else if (!absl::IsNotFound(current.status())) {
    return ReplyStatus(res, current.status(), ctx.metrics);
  }
  if (absl::Status s = MergePolicyJson(*patch, &policy); !s.ok()) {
    return ReplyStatus(res, s, ctx.metrics);
  }
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return ReplyStatus(res, s, ctx.metrics);
  if (absl::Status s = ctx.room.SetPolicy(event_id, policy); !s.ok()) {
    return ReplyStatus(res, s, ctx.metrics);
  }
  Json j = PolicyToJson(policy);
  j["event_id"] = event_id;
  Reply(res, 200, j);
}

void GetStats(const RouteContext& ctx, const Request& req, Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  absl::StatusOr<EventStats> stats = ctx.room.Stats(std::string(req.matches[0]));
  if (!stats.ok()) return ReplyStatus(res, stats.status(), ctx.metrics);
  Reply(res, 200, StatsToJson(*stats));
}

// The state of an event as the operator page lists it, from its policy and stats at `now`.
std::string EventState(const Policy& policy, const EventStats& stats, absl::Time now) {
  if (policy.paused) return "paused";
  if (policy.closes_at && now >= *policy.closes_at) return "closed";
  if (policy.method == QueueMethod::kReject) return "rejecting";
  if (policy.prequeue_opens_at && now < *policy.prequeue_opens_at) return "scheduled";
  if (policy.opens_at && !stats.opened) return "prequeue";
  return "open";
}

void ListEvents(const RouteContext& ctx, const Request& req, Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  absl::StatusOr<std::vector<std::string>> events = ctx.room.Events();
  if (!events.ok()) return ReplyStatus(res, events.status(), ctx.metrics);
  std::sort(events->begin(), events->end());
  Json j{{"events", *events}};
  // ?details=true: the state and head counts of the first kMaxEventDetails (by id), for the
  // operator page's list. Two store calls per event, hence the bound.
  if (req.get_param_value("details") == "true") {
    constexpr std::size_t kMaxEventDetails = 200;
    Json details = Json::array();
    for (std::size_t i = 0; i < events->size() && i < kMaxEventDetails; ++i) {
      const std::string& id = (*events)[i];
      absl::StatusOr<Policy> policy = ctx.room.GetPolicy(id);
      absl::StatusOr<EventStats> stats = ctx.room.Stats(id);
      if (absl::IsNotFound(policy.status()) || absl::IsNotFound(stats.status())) continue;
      if (!policy.ok()) return ReplyStatus(res, policy.status(), ctx.metrics);
      if (!stats.ok()) return ReplyStatus(res, stats.status(), ctx.metrics);
      details.push_back({{"event_id", id},
                         {"state", EventState(*policy, *stats, stats->now)},
                         {"method", std::string(QueueMethodName(policy->method))},
                         {"admit_rate_per_sec", policy->admit_rate_per_sec},
                         {"waiting", stats->waiting},
                         {"prequeued", stats->prequeued},
                         {"active", stats->active},
                         {"admitted_total", stats->admitted_total}});
    }
    j["details"] = std::move(details);
    j["details_truncated"] = events->size() > kMaxEventDetails;
  }
  Reply(res, 200, j);
}

}  // namespace

void AddAdminRoutes(const RouteContext& ctx, RouteTable& routes) {
  // Operators' calls: no per-address limit (the token is the gate), no Idempotency-Key.
  const RouteTable::Guards none;
  routes.Add(RouteId::kAdminEvents, "GET", "/admin/v1/events", none, WithContext(ctx, ListEvents));
  routes.Add(RouteId::kAdminPolicyGet, "GET", "/admin/v1/events/{event_id}/policy", none,
             WithContext(ctx, GetPolicy));
  routes.Add(RouteId::kAdminPolicyPut, "PUT", "/admin/v1/events/{event_id}/policy", none,
             WithContext(ctx, PutPolicy));
  routes.Add(RouteId::kAdminStats, "GET", "/admin/v1/events/{event_id}/stats", none,
             WithContext(ctx, GetStats));
}

}  // namespace admission::gateway
