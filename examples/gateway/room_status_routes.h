// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The public room status, for status pages and apps (docs/gateway.md, "Room status API"):
//
//   GET /api/v1/events/{id}/room  -> {"event_id","state","waiting","active","eta_back_sec",
//                                     "eta_confidence","message","poll_after_sec","updated_at"}
//
// No token: it says nothing about any one user (WaitingRoom::Outlook). Each event's answer is
// kept in-process for kRoomStatusMaxAge and sent with Cache-Control: public, max-age of the
// same, so that a crowd of pages and CDNs asking costs the store two reads per event per
// period, whatever the crowd's size.
#ifndef ADMISSION_EXAMPLES_GATEWAY_ROOM_STATUS_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_ROOM_STATUS_ROUTES_H_

#include "absl/time/time.h"
#include "route_context.h"
#include "route_table.h"

namespace admission::gateway {

// How long an answer is reused (in-process and by caches on the way).
inline constexpr absl::Duration kRoomStatusMaxAge = absl::Seconds(2);
// How often apps are told to poll.
inline constexpr absl::Duration kRoomStatusPollAfter = absl::Seconds(5);

// Adds the route; `ctx`'s objects must outlive `routes`' handlers.
void AddRoomStatusRoutes(const RouteContext& ctx, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ROOM_STATUS_ROUTES_H_
