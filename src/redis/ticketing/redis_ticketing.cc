// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include <memory>
#include <utility>

#include "admission/redis/ticketing.h"
#include "redis/client/client_internal.h"
#include "redis/client/function_runner.h"
#include "redis/ticketing/functions.h"
#include "redis/ticketing/redis_ticketing_internal.h"

namespace admission {

absl::StatusOr<Ticketing> NewRedisTicketing(std::shared_ptr<RedisClient> client,
                                            const TicketingOptions& options) {
  if (client == nullptr) return absl::InvalidArgumentError("NewRedisTicketing: no client");
  if (absl::Status s = ValidateTicketingOptions(options); !s.ok()) return s;
  auto context = std::make_shared<redis_internal::TicketingContext>();
  context->runner = &redis_internal::ClientAccess::Runner(*client);
  if (absl::Status s = context->runner->Load(redis_internal::TicketingLibrary()); !s.ok()) {
    return s;
  }
  context->prefix = client->options().key_prefix;
  context->client = std::move(client);
  context->clock = options.clock != nullptr ? options.clock : SystemClock();
  context->options = options;

  Ticketing t;
  t.idempotency = redis_internal::NewRedisIdempotencyStore(context);
  t.inventory = redis_internal::NewRedisInventory(context);
  t.outcomes = redis_internal::NewRedisOutcomeQueue(context);
  return t;
}

}  // namespace admission
