// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Redis stores for the shared conformance and property suites: each test process starts one
// redis-server (or one 3-master cluster) lazily, on the first store, and gives every store a
// key prefix of its own, so stores never see each other's events and nothing needs flushing
// between tests. With $ADMISSION_TEST_REDIS_PASSWORD set, the server and the cluster require
// that password and every store authenticates with it.
//
//   factories.push_back(StoreFactory{"Redis", [](Clock* clock) {
//     return MakeRedisStoreForTest(clock);
//   }});
//   factories.push_back(StoreFactory{"RedisCluster", [](Clock* clock) {
//     return MakeRedisClusterStoreForTest(clock);
//   }});
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_REDIS_STORE_FACTORY_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_REDIS_STORE_FACTORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/clock.h"
#include "admission/redis/client.h"
#include "admission/redis/room_store.h"
#include "admission/room/store.h"
#include "support/redis/redis_cluster.h"
#include "support/redis/redis_server.h"

namespace admission {
namespace testing {

// The process-wide server, started on first use (and stopped at exit).
absl::StatusOr<RedisServer*> SharedRedisServer();

// What a test sets for a Redis store: its client's connection and the store's own options.
struct RedisTestConfig {
  RedisClientOptions client;
  RedisStoreOptions store;
};

// Options for a store on `server` with a fresh key prefix and the server's password (if any);
// `clock` may be nullptr (the server's clock).
RedisTestConfig RedisTestOptions(const RedisServer& server, Clock* clock);

// A store on a client of its own: RedisClient::Connect(config.client), then NewRedisStore.
absl::StatusOr<std::unique_ptr<Store>> NewRedisTestStore(const RedisTestConfig& config);

// A store over an empty keyspace on the shared server, reading `clock`. On failure (no
// redis-server installed, server did not start) it records a test failure with the reason and
// returns nullptr.
std::unique_ptr<Store> MakeRedisStoreForTest(Clock* clock);
// The same with every event's secret fixed by `event_secret` (RedisStoreOptions::event_secret).
std::unique_ptr<Store> MakeSeededRedisStoreForTest(
    Clock* clock, std::function<uint64_t(std::string_view)> event_secret);

// The same on a process-wide 3-master Redis Cluster (started on first use).
absl::StatusOr<RedisCluster*> SharedRedisCluster();
std::unique_ptr<Store> MakeRedisClusterStoreForTest(Clock* clock);
std::unique_ptr<Store> MakeSeededRedisClusterStoreForTest(
    Clock* clock, std::function<uint64_t(std::string_view)> event_secret);

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_REDIS_STORE_FACTORY_H_
