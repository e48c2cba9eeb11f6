// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's one list of routes. Every route module (room_routes.h, ticketing_routes.h,
// admin_routes.h, page_routes.h, metrics_routes.h) adds its routes here once: method, path
// pattern, route class and handler. The server (server.h) finds each request's handler in this
// table and classifies it through the same table (the metrics label, the access log's "route",
// the rate limits, the Allow header of a 405), so the two can never disagree.
//
// Patterns are paths with placeholders standing for whole segments:
//   {event_id}  an event id: 1 to 64 of [A-Za-z0-9_-] (ValidateEventId's rule)
//   {NAME}      any other id: 1 to 200 characters without a slash; the handler leaves its form
//               to the library, so that a malformed id is a 400 naming the problem, not a 404
//   {NAME...}   the rest of the path, whatever it is; only in Claim()ed patterns
#ifndef ADMISSION_EXAMPLES_GATEWAY_ROUTE_TABLE_H_
#define ADMISSION_EXAMPLES_GATEWAY_ROUTE_TABLE_H_

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http_message.h"

namespace admission::gateway {

// The class of a request: what metrics count it under and what the access log calls it. The
// order is that of the metrics exposition.
enum class RouteId : int {
  kJoin,
  kStatus,
  kEnter,
  kLeave,
  kComplete,
  kConfig,
  kHealthz,
  kReadyz,
  kMetrics,
  kAdminPolicyGet,
  kAdminPolicyPut,
  kAdminStats,
  kAdminEvents,
  // The ticket sale (ticketing_routes.h).
  kSeats,
  kReservationCreate,
  kReservationGet,
  kReservationConfirm,
  kReservationCancel,
  kPaymentIntent,
  kAdminReservationConfirm,
  kAdminInventoryPut,
  kAdminDeadLetters,
  kAdminDeadLetterReplay,
  // The operator page's reads (operator_routes.h).
  kAdminSeries,
  kAdminSale,
  // The proof of work on join (pow_routes.h).
  kChallenge,
  // The public room status (room_status_routes.h).
  kRoomStatus,
  kPage,   // the HTML pages and their assets
  kOther,  // anything unmatched (404/405)
  kCount,
};

// A route class's labels: its pattern (never the raw path, so that label cardinality stays
// bounded whatever clients send) and its method.
struct RouteLabel {
  std::string pattern;
  std::string method;
};

class RouteTable {
 public:
  using Handler = std::function<void(const Request&, Response&)>;

  // What the server wraps around a handler besides the last-resort catch.
  struct Guards {
    bool limit_address = false;  // the per-address rate limit
    bool idempotent = false;     // Idempotency-Key replays
    // The handler never touches the store (pages, /healthz): it runs on the I/O thread at once.
    // Every other handler runs on the store-call threads, under the store deadline.
    bool io_thread = false;
  };

  struct Route {
    RouteId id;
    std::string method;  // GET (which answers HEAD too), POST, PUT or DELETE
    std::string pattern;
    Guards guards;
    Handler handler;  // empty for Claim()ed patterns
  };

  // Knows kOther ("other", no method) from the start.
  RouteTable();

  // Adds a route. `label` names the route class in metrics and logs; empty means the pattern.
  // Aborts on a malformed pattern: routes are fixed at startup.
  void Add(RouteId id, std::string_view method, std::string_view pattern, Guards guards,
           Handler handler, std::string_view label = {});
  // Puts the paths `pattern` matches in class `id` without serving them: only routes added
  // with a handler answer, the others are that class's 404 (or 405).
  void Claim(RouteId id, std::string_view method, std::string_view pattern,
             std::string_view label = {});

  // The class of the first route matching the method (HEAD as GET) and path; kOther if none.
  RouteId Classify(std::string_view method, std::string_view path) const;
  // The route with a handler that serves the method (HEAD as GET) and path, its placeholders
  // in `matches`; nullptr if none (a claimed path included).
  const Route* Find(std::string_view method, std::string_view path,
                    std::vector<std::string>* matches) const;
  // The methods `path` is served with ("GET, POST"), for the Allow header of a 405; empty if
  // none.
  std::string AllowedMethods(std::string_view path) const;
  const RouteLabel& LabelOf(RouteId id) const { return labels_[static_cast<int>(id)]; }

  // The routes in the order they were added.
  const std::vector<Route>& routes() const { return routes_; }

 private:
  // One piece of a pattern: literal text, or a placeholder of some kind.
  struct Piece {
    enum Kind { kLiteral, kEventId, kId, kRest } kind;
    std::string text;  // kLiteral only
  };
  static std::vector<Piece> Parse(std::string_view pattern);
  // Whether `path` matches; the placeholders' segments are appended to `matches` if not null.
  static bool Matches(const std::vector<Piece>& pieces, std::string_view path,
                      std::vector<std::string>* matches = nullptr);
  void Insert(RouteId id, std::string_view method, std::string_view pattern, Guards guards,
              Handler handler, std::string_view label);

  std::vector<Route> routes_;
  std::vector<std::vector<Piece>> pieces_;  // routes_[i]'s pattern, parsed
  std::array<RouteLabel, static_cast<int>(RouteId::kCount)> labels_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ROUTE_TABLE_H_
