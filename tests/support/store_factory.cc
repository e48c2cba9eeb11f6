// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/store_factory.h"

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/room/event_secret.h"
#include "admission/room/memory_store.h"

#if defined(ADMISSION_TEST_REDIS)
#include "support/redis/redis_store_factory.h"  // tests/redis
#endif

namespace admission {
namespace testing {

std::vector<StoreFactory> ScheduleStoreFactories() {
  // The stores that implement fair openings: all of them now (a new store would join by
  // setting supports_schedule and make_seeded on its factory below).
  std::vector<StoreFactory> out;
  for (StoreFactory& f : AllStoreFactories()) {
    if (f.supports_schedule && f.make_seeded) out.push_back(std::move(f));
  }
  return out;
}

std::vector<StoreFactory> AllStoreFactories() {
  std::vector<StoreFactory> factories;

  StoreFactory memory;
  memory.name = "Memory";
  memory.make = [](Clock* clock) -> std::unique_ptr<Store> {
    MemoryStoreOptions options;
    options.clock = clock;
    return NewMemoryStore(options);
  };
  memory.supports_schedule = true;
  memory.make_seeded = [](Clock* clock, uint64_t seed) -> std::unique_ptr<Store> {
    MemoryStoreOptions options;
    options.clock = clock;
    options.event_secret = SeededEventSecrets(seed);
    return NewMemoryStore(options);
  };
  factories.push_back(memory);

#if defined(ADMISSION_TEST_REDIS)
  // The Redis store (CMake option ADMISSION_TEST_REDIS): every store over a fresh key prefix on
  // one redis-server per test process, taking its time from the injected `clock` so that the
  // suites' exact time expectations hold.
  StoreFactory redis;
  redis.name = "Redis";
  redis.make = [](Clock* clock) -> std::unique_ptr<Store> { return MakeRedisStoreForTest(clock); };
  redis.relative_cost = 10;
  redis.supports_schedule = true;
  redis.make_seeded = [](Clock* clock, uint64_t seed) -> std::unique_ptr<Store> {
    return MakeSeededRedisStoreForTest(clock, SeededEventSecrets(seed));
  };
  factories.push_back(redis);

  // The same suites on a local 3-master Redis Cluster (events spread over the masters).
  StoreFactory cluster;
  cluster.name = "RedisCluster";
  cluster.make = [](Clock* clock) -> std::unique_ptr<Store> {
    return MakeRedisClusterStoreForTest(clock);
  };
  cluster.relative_cost = 30;
  cluster.supports_schedule = true;
  cluster.make_seeded = [](Clock* clock, uint64_t seed) -> std::unique_ptr<Store> {
    return MakeSeededRedisClusterStoreForTest(clock, SeededEventSecrets(seed));
  };
  factories.push_back(cluster);
#endif

  return factories;
}

}  // namespace testing
}  // namespace admission
