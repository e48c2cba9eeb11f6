// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Opens the store named by --store: "memory", or, when this binary was built with the Redis
// store (CMake target admission::redis), "redis://HOST:PORT" (one server, or any node of a
// cluster: the store detects cluster mode) or "redis-cluster://HOST:PORT[,HOST:PORT...]"
// (seeds tried in order; the first cluster node that answers is used; a standalone server
// there is refused, see docs/gateway.md).
#ifndef ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_
#define ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "admission/room/store.h"
#include "flags.h"

namespace admission::gateway {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const GatewayFlags& flags);

// True when this binary can open redis:// and redis-cluster:// stores.
bool HaveRedisStore();

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_STORE_BACKEND_H_
