// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The waiting room over HTTP: each handler parses the request, makes one WaitingRoom call and
// renders the answer; the room's rules all live in the library.
//
//   POST   /api/v1/queue/join       {"event_id","user_id"?} -> a waiting token (who joins is
//                                   the identity's to say: identity.h)
//   GET    /api/v1/queue/status     ?token=...
//   POST   /api/v1/queue/enter      {"waiting_token"} -> a signed reservation token, or 429
//   DELETE /api/v1/queue/leave      ?token=...
//   POST   /api/v1/queue/complete   X-Admission-Token: <reservation token>
#ifndef ADMISSION_EXAMPLES_GATEWAY_ROOM_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_ROOM_ROUTES_H_

#include "route_context.h"
#include "route_table.h"

namespace admission::gateway {

// Adds the room's routes; `ctx`'s objects must outlive `routes`' handlers.
void AddRoomRoutes(const RouteContext& ctx, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ROOM_ROUTES_H_
