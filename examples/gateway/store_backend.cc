// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "store_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "admission/memory_store.h"

#if defined(ADMISSION_GATEWAY_WITH_REDIS)
#include "admission/redis_store.h"
#endif

namespace admission::gateway {

bool HaveRedisStore() {
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  return true;
#else
  return false;
#endif
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const GatewayFlags& flags) {
  const std::string& spec = flags.store;
  if (spec == "memory") return NewMemoryStore();
  if (spec.rfind("redis-cluster://", 0) == 0) {
    // hiredis 0.14 as Debian ships it has no cluster support, and neither has the store yet.
    return absl::UnimplementedError(absl::StrCat(
        "--store=", spec,
        ": Redis Cluster is not supported by this build's Redis store; use redis://HOST:PORT"));
  }
  if (spec.rfind("redis://", 0) == 0) {
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
    RedisStoreOptions options;
    if (absl::Status s = ParseRedisUrl(spec, &options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--store=", spec, ": ", s.message()));
    }
    // Every worker thread may call the store at once; a small pool would serialise them.
    options.pool_size = flags.redis_pool_size;
    options.key_prefix = flags.redis_key_prefix;
    return NewRedisStore(options);
#else
    return absl::UnimplementedError(
        absl::StrCat("--store=", spec,
                     ": this admission-gateway was built without the Redis store (the CMake target "
                     "admission::redis was not available); use --store=memory or rebuild with it"));
#endif
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown --store=", spec));
}

}  // namespace admission::gateway
