// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the gateway's route modules share, handed to each explicitly: the flags, the waiting
// room, the time of the ticket sale and of token checks, the token signer, the metrics, the
// per-token rate limit and who the user is. The Gateway (server.h) owns all of it and outlives
// every module.
#ifndef ADMISSION_EXAMPLES_GATEWAY_ROUTE_CONTEXT_H_
#define ADMISSION_EXAMPLES_GATEWAY_ROUTE_CONTEXT_H_

#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "flags.h"
#include "http_message.h"
#include "identity.h"
#include "metrics.h"
#include "pow_gate.h"
#include "rate_limiter.h"
#include "route_table.h"
#include "signer.h"

namespace admission::gateway {

struct RouteContext {
  const GatewayFlags& flags;
  WaitingRoom& room;
  Clock& clock;
  const TokenSigner& signer;
  Metrics& metrics;
  // The bucket of every call naming one waiting token (or user id).
  RateLimiter& token_limiter;
  // The proof of work on join (pow_gate.h).
  PowGate& pow;
  // Who the user is (--identity): the join's user, and who may act on a place after it.
  const Identity& identity;
};

// A handler of the route table that calls `handler` with (a copy of) `ctx`.
inline RouteTable::Handler WithContext(const RouteContext& ctx,
                                       void (*handler)(const RouteContext&, const Request&,
                                                       Response&)) {
  return [ctx, handler](const Request& req, Response& res) { handler(ctx, req, res); };
}

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ROUTE_CONTEXT_H_
