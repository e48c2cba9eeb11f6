// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "operator_routes.h"

#include <string>
#include <utility>
#include <vector>

#include "http_toolkit.h"

namespace admission::gateway {
namespace {

void GetSeries(const RouteContext& ctx, const EventSeries* series, const Request& req,
               Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  const std::string event_id = req.matches[0];
  if (series == nullptr) {
    return ReplyError(res, 404, "not_found",
                      "this gateway keeps no series (--series_interval_ms=0)");
  }
  std::optional<std::vector<SeriesSample>> samples = series->Get(event_id);
  if (!samples) {
    // Not sampled (yet, or not among the busiest): an empty series if the event exists.
    absl::StatusOr<Policy> policy = ctx.room.GetPolicy(event_id);
    if (!policy.ok()) return ReplyStatus(res, policy.status(), ctx.metrics);
    samples.emplace();
  }
  Reply(res, 200, SeriesToJson(event_id, series->options(), *samples));
}

// The value of the sold places at their prices: the revenue, as far as the inventory knows it
// (seats are sold at their price; a hold is paid in full or not at all).
int64_t SoldValue(const Availability& a) {
  if (a.general_admission) return a.counts.sold * a.price;
  int64_t sum = 0;
  for (const SeatInfo& seat : a.seats) {
    if (seat.state == SeatState::kSold) sum += seat.price;
  }
  return sum;
}

void GetSale(const RouteContext& ctx, TicketingRoutes& ticketing, const Request& req,
             Response& res) {
  if (!CheckAdmin(req, res, ctx.flags.admin_token)) return;
  const std::string event_id = req.matches[0];
  absl::StatusOr<Availability> a = ticketing.inventory().GetAvailability(event_id, true);
  if (!a.ok()) {
    if (absl::IsNotFound(a.status())) {
      return ReplyError(res, 404, "not_found", "this event has no inventory");
    }
    return ReplyStatus(res, a.status(), ctx.metrics);
  }
  absl::StatusOr<QueueStats> queue = ticketing.events().Stats();
  if (!queue.ok()) return ReplyStatus(res, queue.status(), ctx.metrics);
  const TicketingCounts c = ticketing.Counts();
  Json j{
      {"event_id", event_id},
      {"kind", a->general_admission ? "general_admission" : "seats"},
      {"total", a->counts.total},
      {"available", a->counts.available},
      {"held", a->counts.held},
      {"sold", a->counts.sold},
      {"currency", a->currency},
      {"revenue", SoldValue(*a)},
      // This gateway's counters since it started, every event together (as in /metrics).
      {"gateway",
       {{"holds", c.holds},
        {"payment_intents", c.payment_intents},
        {"confirmed", c.confirmed},
        {"cancelled", c.cancelled},
        {"holds_expired", c.expired},
        {"worker_applied", c.worker.succeeded},
        {"worker_retried", c.worker.retried},
        {"worker_parked", c.worker.parked}}},
      {"queue",
       {{"ready", queue->ready},
        {"delayed", queue->delayed},
        {"in_flight", queue->in_flight},
        {"dead", queue->dead}}},
  };
  Reply(res, 200, j);
}

}  // namespace

Json SeriesToJson(std::string_view event_id, const EventSeriesOptions& options,
                  const std::vector<SeriesSample>& samples) {
  Json t = Json::array(), waiting = Json::array(), prequeued = Json::array(),
       active = Json::array(), capacity = Json::array(), admitted = Json::array(),
       policy_rate = Json::array(), paused = Json::array(), eta = Json::array(),
       ghosts = Json::array(), refused = Json::array(), available = Json::array(),
       held = Json::array(), sold = Json::array();
  for (const SeriesSample& s : samples) {
    t.push_back(absl::ToDoubleSeconds(s.at - absl::UnixEpoch()));
    waiting.push_back(s.waiting);
    prequeued.push_back(s.prequeued);
    active.push_back(s.active);
    capacity.push_back(s.capacity);
    admitted.push_back(s.admitted_per_sec);
    policy_rate.push_back(s.policy_rate);
    paused.push_back(s.paused);
    eta.push_back(s.eta_back_sec ? Json(*s.eta_back_sec) : Json(nullptr));
    ghosts.push_back(s.ghosts_removed);
    refused.push_back(s.joins_refused);
    available.push_back(s.has_sale ? Json(s.seats_available) : Json(nullptr));
    held.push_back(s.has_sale ? Json(s.seats_held) : Json(nullptr));
    sold.push_back(s.has_sale ? Json(s.seats_sold) : Json(nullptr));
  }
  return Json{
      {"event_id", std::string(event_id)},
      {"interval_sec", absl::ToDoubleSeconds(options.interval)},
      {"max_samples", options.samples},
      {"t", std::move(t)},
      {"waiting", std::move(waiting)},
      {"prequeued", std::move(prequeued)},
      {"active", std::move(active)},
      {"capacity", std::move(capacity)},
      {"admitted_per_sec", std::move(admitted)},
      {"policy_rate", std::move(policy_rate)},
      {"paused", std::move(paused)},
      {"eta_back_sec", std::move(eta)},
      {"ghosts_removed", std::move(ghosts)},
      {"joins_refused", std::move(refused)},
      {"seats_available", std::move(available)},
      {"seats_held", std::move(held)},
      {"seats_sold", std::move(sold)},
  };
}

void AddOperatorRoutes(const RouteContext& ctx, TicketingRoutes& ticketing,
                       const EventSeries* series, RouteTable& routes) {
  const RouteTable::Guards none;
  routes.Add(
      RouteId::kAdminSeries, "GET", "/admin/v1/events/{event_id}/series", none,
      [ctx, series](const Request& req, Response& res) { GetSeries(ctx, series, req, res); });
  routes.Add(
      RouteId::kAdminSale, "GET", "/admin/v1/events/{event_id}/sale", none,
      [ctx, &ticketing](const Request& req, Response& res) { GetSale(ctx, ticketing, req, res); });
}

}  // namespace admission::gateway
