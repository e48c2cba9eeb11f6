// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What orchestrators and scrapers call:
//
//   GET /healthz   the process serves
//   GET /readyz    the store answers (one cheap round trip); 503 otherwise, and 503 "draining"
//                  once the gateway is stopping (SIGTERM; Gateway::BeginDrain)
//   GET /metrics   Prometheus text: the HTTP series (metrics.h), the room's per-event series
//                  and the ticket sale's (ticketing_routes.h)
#ifndef ADMISSION_EXAMPLES_GATEWAY_METRICS_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_METRICS_ROUTES_H_

#include <atomic>

#include "route_context.h"
#include "route_table.h"
#include "ticketing_routes.h"

namespace admission::gateway {

// Adds the routes; `ctx`'s objects, `ticketing`, `draining` (true once the gateway is
// stopping) and `routes` (whose labels the metrics carry) must outlive the handlers.
void AddMetricsRoutes(const RouteContext& ctx, TicketingRoutes& ticketing,
                      const std::atomic<bool>& draining, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_METRICS_ROUTES_H_
