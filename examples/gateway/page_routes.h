// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The pages, compiled into the binary (web_assets.h), and the configuration they read:
//
//   GET /, /index.html           the waiting room
//   GET /admin, /operator.html   the operator's page
//   GET /static/{asset}          their scripts and style sheet
//   GET /api/v1/config           {"default_event"}: the event a page joins when its URL names none
#ifndef ADMISSION_EXAMPLES_GATEWAY_PAGE_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_PAGE_ROUTES_H_

#include "route_context.h"
#include "route_table.h"

namespace admission::gateway {

// Adds the routes; `ctx`'s objects must outlive `routes`' handlers.
void AddPageRoutes(const RouteContext& ctx, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_PAGE_ROUTES_H_
