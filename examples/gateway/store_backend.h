// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Opens what --store names: the room's store and the sale (seats, holds, the outcome queue and
// the Idempotency-Keys), both in memory, or, when this binary was built with the Redis store
// (CMake target admission::redis), both on Redis over one client: "redis://HOST:PORT" (one
// server, or any node of a cluster: the client detects cluster mode) or
// "redis-cluster://HOST:PORT[,HOST:PORT...]" (seeds tried in order; the first cluster node that
// answers is used; a standalone server there is refused, see docs/gateway.md). The URL is read
// by the library (admission/redis/open.h), as the Python bindings read theirs.
#ifndef ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_
#define ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/clock.h"
#include "admission/room/store.h"
#include "admission/ticketing/ticketing.h"
#include "flags.h"

namespace admission::gateway {

struct Stores {
  std::unique_ptr<Store> room;
  Ticketing sale;
  // What was opened, for the start-up line: "memory", "redis://HOST:PORT", ... (never with
  // credentials).
  std::string name;
};

// The room's store on the server's clock (Redis) or the system clock (memory); the sale with
// TicketingOptionsFromFlags(flags, sale_clock) (ticketing_routes.h). `sale_clock` is not
// owned; nullptr means SystemClock().
absl::StatusOr<Stores> OpenStores(const GatewayFlags& flags, Clock* sale_clock = nullptr);

// `url` with its credentials (up to the last '@' after the scheme) replaced by "<credentials>",
// for messages.
std::string RedactStoreUrl(std::string_view url);

// True when this binary can open redis:// and redis-cluster:// stores.
bool HaveRedisStore();

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_
