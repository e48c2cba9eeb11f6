// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The operator's API of the waiting room, behind the admin token (--admin_token; none
// disables it):
//
//   GET /admin/v1/events                       every event's id
//   GET /admin/v1/events/{event_id}/policy     the event's policy
//   PUT /admin/v1/events/{event_id}/policy     a partial policy, merged and validated
//   GET /admin/v1/events/{event_id}/stats      the event's counters and gauges
//
// The ticket sale's admin routes (inventory, dead letters) are in ticketing_routes.h.
#ifndef ADMISSION_EXAMPLES_GATEWAY_ADMIN_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_ADMIN_ROUTES_H_

#include "route_context.h"
#include "route_table.h"

namespace admission::gateway {

// Adds the admin routes; `ctx`'s objects must outlive `routes`' handlers.
void AddAdminRoutes(const RouteContext& ctx, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ADMIN_ROUTES_H_
