// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "store_backend.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admission/room/memory_store.h"
#include "ticketing_routes.h"

#if defined(ADMISSION_GATEWAY_WITH_REDIS)
#include "admission/redis/open.h"
#endif

namespace admission::gateway {

bool HaveRedisStore() {
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  return true;
#else
  return false;
#endif
}

absl::StatusOr<Stores> OpenStores(const GatewayFlags& flags, Clock* sale_clock) {
  const std::string& spec = flags.store;
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  StoreUrlOptions options;
  options.ticketing = TicketingOptionsFromFlags(flags, sale_clock);
  // Every worker thread may call the stores at once; a small pool would serialise them.
  options.redis.pool_size = flags.redis_pool_size;
  options.redis.key_prefix = flags.redis_key_prefix;
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl(spec, options);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("--store=", spec, ": ", opened.status().message()));
  }
  return Stores{std::move(opened->room), std::move(opened->sale)};
#else
  if (spec == "memory") {
    absl::StatusOr<Ticketing> sale =
        NewMemoryTicketing(TicketingOptionsFromFlags(flags, sale_clock));
    if (!sale.ok()) return sale.status();
    return Stores{NewMemoryStore(), std::move(sale).value()};
  }
  return absl::UnimplementedError(
      absl::StrCat("--store=", spec,
                   ": this admission-gateway was built without the Redis store (the CMake target "
                   "admission::redis was not available); use --store=memory or rebuild with it"));
#endif
}

}  // namespace admission::gateway
