// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_ticketing_factory.h"

#include <memory>

#include "admission/redis/client.h"
#include "support/redis/redis_store_factory.h"

namespace admission {
namespace testing {

absl::StatusOr<Ticketing> MakeRedisTicketingForTest(const TicketingOptions& options) {
  absl::StatusOr<RedisServer*> server = SharedRedisServer();
  if (!server.ok()) return server.status();
  // RedisTestOptions gives a fresh key prefix.
  absl::StatusOr<std::shared_ptr<RedisClient>> client =
      RedisClient::Connect(RedisTestOptions(**server, nullptr).client);
  if (!client.ok()) return client.status();
  return NewRedisTicketing(*std::move(client), options);
}

absl::StatusOr<Ticketing> MakeRedisClusterTicketingForTest(const TicketingOptions& options) {
  absl::StatusOr<RedisCluster*> cluster = SharedRedisCluster();
  if (!cluster.ok()) return cluster.status();
  absl::StatusOr<std::shared_ptr<RedisClient>> client =
      RedisClient::Connect(RedisTestOptions((*cluster)->node(0), nullptr).client);
  if (!client.ok()) return client.status();
  return NewRedisTicketing(*std::move(client), options);
}

}  // namespace testing
}  // namespace admission
