// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admission/redis/ticketing.h"
#include "redis/client/router.h"
#include "redis/client/script_runner.h"
#include "redis/ticketing/redis_ticketing_internal.h"
#include "redis/ticketing/scripts.h"

namespace admission {

absl::StatusOr<Ticketing> NewRedisTicketing(const RedisStoreOptions& redis,
                                            const TicketingOptions& options) {
  if (absl::Status s = ValidateTicketingOptions(options); !s.ok()) return s;
  if (redis.host.empty()) return absl::InvalidArgumentError("redis host is empty");
  if (redis.port < 1 || redis.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("redis port ", redis.port, " is out of range"));
  }
  if (redis.pool_size < 1) return absl::InvalidArgumentError("pool_size must be at least 1");
  if (redis.connect_timeout <= absl::ZeroDuration() ||
      redis.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis timeouts must be positive");
  }
  if (redis.key_prefix.empty() || redis.key_prefix.find_first_of("{}") != std::string::npos) {
    // Braces would change the keys' hash tag and split an event over several slots.
    return absl::InvalidArgumentError("key_prefix must be non-empty and contain no '{' or '}'");
  }
  const redis_internal::Endpoint seed{redis.host, redis.port, redis.connect_timeout,
                                      redis.command_timeout};
  absl::StatusOr<std::unique_ptr<redis_internal::Router>> router =
      redis_internal::Router::Connect(seed, redis.pool_size);
  if (!router.ok()) return router.status();

  auto context = std::make_shared<redis_internal::TicketingContext>();
  context->runner = std::make_shared<redis_internal::ScriptRunner>(
      std::shared_ptr<redis_internal::Router>(std::move(router).value()));
  if (absl::Status s = context->runner->Load(redis_internal::AllTicketingScripts()); !s.ok()) {
    return s;
  }
  context->prefix = redis.key_prefix;
  context->clock = options.clock != nullptr ? options.clock : SystemClock();
  context->options = options;

  Ticketing t;
  t.idempotency = redis_internal::NewRedisIdempotencyStore(context);
  t.inventory = redis_internal::NewRedisInventory(context);
  t.outcomes = redis_internal::NewRedisEventQueue(context);
  return t;
}

}  // namespace admission
