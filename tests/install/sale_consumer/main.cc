// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The install test's sale-only consumer: holds a seat on the in-memory sale, then opens the
// Redis sale against a port nobody listens on, which must fail cleanly (Unavailable). Proves
// that admission::ticketing and admission::redis link on their own. Exits 0 on success.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "admission/redis/client.h"
#include "admission/redis/ticketing.h"
#include "admission/ticketing/ticketing.h"
#include "admission/version.h"

int main() {
  absl::StatusOr<admission::Ticketing> sale = admission::NewMemoryTicketing();
  if (!sale.ok()) {
    std::fprintf(stderr, "NewMemoryTicketing: %s\n", sale.status().ToString().c_str());
    return 1;
  }
  admission::InventorySpec spec;
  spec.seat_ids = {"A-1", "A-2"};
  if (absl::Status s = sale->inventory->SetInventory("install-test", spec); !s.ok()) {
    std::fprintf(stderr, "SetInventory: %s\n", s.ToString().c_str());
    return 1;
  }
  admission::HoldRequest request;
  request.event_id = "install-test";
  request.user_id = "user-1";
  request.seat_ids = {"A-1"};
  auto hold = sale->inventory->Hold(request);
  if (!hold.ok() || hold->seat_ids.size() != 1) {
    std::fprintf(stderr, "Hold: %s\n", hold.status().ToString().c_str());
    return 1;
  }

  admission::RedisClientOptions redis;
  redis.host = "127.0.0.1";
  redis.port = 1;  // nobody listens there
  absl::StatusOr<std::shared_ptr<admission::RedisClient>> client =
      admission::RedisClient::Connect(redis);
  absl::StatusOr<admission::Ticketing> on_redis =
      client.ok() ? admission::NewRedisTicketing(*client) : client.status();
  if (on_redis.ok() || !absl::IsUnavailable(on_redis.status())) {
    std::fprintf(stderr, "Redis sale: %s\n", on_redis.status().ToString().c_str());
    return 1;
  }
  std::printf("admission %s: held %s as %s; redis: UNAVAILABLE\n", ADMISSION_VERSION_STRING,
              hold->seat_ids[0].c_str(), hold->user_id.c_str());
  return 0;
}
