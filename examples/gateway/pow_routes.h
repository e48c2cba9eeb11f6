// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The proof of work over HTTP (pow_gate.h): the challenge route, and the check that
// POST /api/v1/queue/join makes before anything else of the join.
//
//   GET /api/v1/queue/challenge?event_id=E -> 200 {"required":false,"difficulty":0,...} when a
//     join of E needs no proof now, else {"required":true,"challenge","difficulty",
//     "expires_at_unix","ttl_sec","event_id","header"}.
//   A join sends the solution as the header X-Admission-PoW: CHALLENGE;NONCE (a header, so that
//   the join's body and its Idempotency-Key fingerprint stay what they are). When the join
//   needs a proof and has none, or a wrong one, the error carries a fresh challenge
//   ("error":{"challenge":{...}}), which saves the client a round trip:
//     429 pow_required  no header while a proof is required
//     400 pow_invalid   malformed, tampered with, for another event, or a nonce that fails
//     429 pow_expired   the challenge is past its expiry
//     409 pow_replayed  the challenge was spent already (by any gateway on the store)
//   429 for "pay first" and "too late" (both normal in a crowd, and never kept for an
//   Idempotency-Key replay, so a retry with the same key runs); 400 and 409 as everywhere in
//   the API for a bad request and a clash with the store's state.
#ifndef ADMISSION_EXAMPLES_GATEWAY_POW_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_POW_ROUTES_H_

#include <string_view>

#include "http_message.h"
#include "route_context.h"
#include "route_table.h"

namespace admission::gateway {

// The request header of a join's solution.
inline constexpr std::string_view kPowHeader = "X-Admission-PoW";

// Whether a join of `event_id` (a valid event id) may go on: true when no proof is required
// now or `req` carries a valid one, which is then spent. Otherwise answers `res` with one of
// the errors above and returns false.
bool CheckJoinPow(const RouteContext& ctx, std::string_view event_id, const Request& req,
                  Response& res);

// GET /api/v1/queue/challenge.
void AddPowRoutes(const RouteContext& ctx, RouteTable& routes);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_POW_ROUTES_H_
