// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the three Redis ticketing parts share: the client (kept alive by them) and its script
// runner, the key prefix, the clock and the options. Each part turns its calls into one
// run of its script (lua/ticketing/) and decodes the reply; the rules live in the scripts.
#ifndef ADMISSION_SRC_REDIS_TICKETING_REDIS_TICKETING_INTERNAL_H_
#define ADMISSION_SRC_REDIS_TICKETING_REDIS_TICKETING_INTERNAL_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "admission/clock.h"
#include "admission/redis/client.h"
#include "admission/ticketing/idempotency.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/outcome_queue.h"
#include "admission/ticketing/ticketing.h"
#include "common/strings.h"
#include "redis/client/function_runner.h"

namespace admission::redis_internal {

struct TicketingContext {
  std::shared_ptr<RedisClient> client;
  FunctionRunner* runner = nullptr;  // client's
  std::string prefix;                // RedisClientOptions::key_prefix
  Clock* clock = nullptr;
  TicketingOptions options;
};

std::unique_ptr<IdempotencyStore> NewRedisIdempotencyStore(std::shared_ptr<TicketingContext> c);
std::unique_ptr<Inventory> NewRedisInventory(std::shared_ptr<TicketingContext> c);
std::unique_ptr<OutcomeQueue> NewRedisOutcomeQueue(std::shared_ptr<TicketingContext> c);

using internal::AbslView;

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_TICKETING_REDIS_TICKETING_INTERNAL_H_
