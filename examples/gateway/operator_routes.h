// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the operator page reads besides the admin API of admin_routes.h, behind the same admin
// token:
//
//   GET /admin/v1/events/{event_id}/series   the last hour of the event (event_series.h), as
//                                            JSON columns: {"t":[unix seconds...],
//                                            "waiting":[...], ...}
//   GET /admin/v1/events/{event_id}/sale     seats available/held/sold, revenue at the sold
//                                            seats' prices, this gateway's outcome counters
//                                            (paid, cancelled, expired, parked) and the queue
#ifndef ADMISSION_EXAMPLES_GATEWAY_OPERATOR_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_OPERATOR_ROUTES_H_

#include "event_series.h"
#include "json_codec.h"
#include "route_context.h"
#include "route_table.h"
#include "ticketing_routes.h"

namespace admission::gateway {

// The samples as JSON columns (one array per field, oldest first).
Json SeriesToJson(std::string_view event_id, const EventSeriesOptions& options,
                  const std::vector<SeriesSample>& samples);

// Adds the routes; `ctx`'s objects, `ticketing` and `series` (null: no series kept, the route
// answers 404) must outlive `routes`' handlers.
void AddOperatorRoutes(const RouteContext& ctx, TicketingRoutes& ticketing,
                       const EventSeries* series, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_OPERATOR_ROUTES_H_
