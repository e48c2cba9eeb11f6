// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "metrics_routes.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "http_toolkit.h"
#include "json_codec.h"
#include "signer.h"

namespace admission::gateway {
void AddMetricsRoutes(const RouteContext& ctx, TicketingRoutes& ticketing,
                      const std::atomic<bool>& draining, RouteTable& routes) {
  const RouteTable::Guards none;
  RouteTable::Guards io_thread;
  io_thread.io_thread = true;
  // Liveness: answered by the I/O threads, whatever the store does.
  routes.Add(RouteId::kHealthz, "GET", "/healthz", io_thread, [](const Request&, Response& res) {
    Reply(res, 200, Json{{"status", "ok"}});
  });
  auto readyz = [ctx, &draining](const Request&, Response& res) {
    // Stopping (SIGTERM): load balancers must send new requests elsewhere, though this
    // gateway still serves what reaches it until its drain time ends.
    if (draining.load()) {
      res.set_header("Retry-After", "1");
      return ReplyError(res, 503, "draining",
                        "the gateway is shutting down; send requests to another one");
    }
    // One cheap store round trip; "no such event" still proves the store answers.
    absl::StatusOr<Policy> probe = ctx.room.GetPolicy("readyz-probe");
    if (probe.ok() || absl::IsNotFound(probe.status())) {
      return Reply(res, 200, Json{{"status", "ready"}});
    }
    ctx.metrics.CountStoreError();
    ReplyError(res, 503, "unavailable",
               absl::StrCat("the store is not answering: ", probe.status().message()));
  };
  routes.Add(RouteId::kReadyz, "GET", "/readyz", none, std::move(readyz));
  const RouteTable* table = &routes;
  routes.Add(RouteId::kMetrics, "GET", "/metrics", none,
             [ctx, &ticketing, table](const Request& req, Response& res) {
               // Event ids and counts are the operator's business: a scraper may be asked
               // for a token of its own (not the admin token, which can change the room).
               const std::string& token = ctx.flags.metrics_token;
               if (!token.empty() && !ConstantTimeEquals(BearerToken(req), token)) {
                 res.set_header("WWW-Authenticate", "Bearer realm=\"admission-metrics\"");
                 return ReplyError(res, 401, "unauthorized",
                                   "/metrics needs Authorization: Bearer <metrics token>");
               }
               std::string from_store =
                   ctx.metrics.RenderEvents(ctx.room, ctx.flags.metrics_max_events) +
                   ticketing.RenderMetrics(ctx.flags.metrics_max_events);
               ctx.metrics.RememberStoreSeries(from_store);
               res.status = 200;
               res.set_content(ctx.metrics.RenderLocal(*table) + from_store,
                               "text/plain; version=0.0.4; charset=utf-8");
             });
}

}  // namespace admission::gateway
