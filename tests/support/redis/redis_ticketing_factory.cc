// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_ticketing_factory.h"

#include "support/redis/redis_store_factory.h"

namespace admission {
namespace testing {

absl::StatusOr<Ticketing> MakeRedisTicketingForTest(const TicketingOptions& options) {
  absl::StatusOr<RedisServer*> server = SharedRedisServer();
  if (!server.ok()) return server.status();
  // RedisTestOptions gives a fresh key prefix; its clock is not used by the ticketing bundle.
  return NewRedisTicketing(RedisTestOptions(**server, nullptr), options);
}

absl::StatusOr<Ticketing> MakeRedisClusterTicketingForTest(const TicketingOptions& options) {
  absl::StatusOr<RedisCluster*> cluster = SharedRedisCluster();
  if (!cluster.ok()) return cluster.status();
  return NewRedisTicketing(RedisTestOptions((*cluster)->node(0), nullptr), options);
}

}  // namespace testing
}  // namespace admission
