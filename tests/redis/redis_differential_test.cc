// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Differential test on one redis-server: thousands of random operations against a MemoryStore
// and a RedisStore driven by the same SimulatedClock must give identical results, field by
// field (see differential.h). The same driver runs against a cluster in redis_cluster_test.cc.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "admission/clock.h"
#include "admission/redis/room_store.h"
#include "admission/room/memory_store.h"
#include "admission/room/store.h"
#include "gtest/gtest.h"
#include "support/redis/differential.h"
#include "support/redis/redis_server.h"
#include "support/redis/redis_store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

// A small sweep_per_call, so that the bounded sweep (and a ghost's own deadline applied after
// it) is exercised, not just "everything expired is swept".
constexpr int64_t kSweepPerCall = 3;

class DifferentialTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DifferentialTest, RandomOperationsGiveIdenticalResults) {
  SimulatedClock clock;
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock, kSweepPerCall, nullptr});
  absl::StatusOr<RedisServer*> server = SharedRedisServer();
  ASSERT_OK(server);
  RedisTestConfig options = RedisTestOptions(**server, &clock);
  options.store.sweep_per_call = kSweepPerCall;
  auto redis = NewRedisTestStore(options);
  ASSERT_OK(redis);

  const EventCounters total =
      RunDifferential(*memory, **redis, clock, GetParam(), 4000, {"e1", "e2", "e-3"});
  // The sequence must have reached the interesting paths, or equality proves little.
  std::cout << "joined " << total.joined_total << " admitted " << total.admitted_total
            << " (bypass " << total.admitted_by_bypass << ") expired " << total.expired_total
            << " timed out " << total.active_timed_out_total << " left " << total.left_total
            << " completed " << total.completed_total << "\n";
  EXPECT_GT(total.admitted_total, 10);
  EXPECT_GT(total.admitted_by_bypass, 0);
  EXPECT_GT(total.expired_total, 10);
  EXPECT_GT(total.active_timed_out_total, 0);
  EXPECT_GT(total.left_total, 0);
  EXPECT_GT(total.completed_total, 0);
}

// The same with fair openings in the random policies: schedules (pre-queue, opening, closing),
// the four queueing methods and the safety net, both stores drawing with the same secrets.
TEST_P(DifferentialTest, FairOpeningsGiveIdenticalResults) {
  SimulatedClock clock;
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock, kSweepPerCall, DifferentialSecret});
  absl::StatusOr<RedisServer*> server = SharedRedisServer();
  ASSERT_OK(server);
  RedisTestConfig options = RedisTestOptions(**server, &clock);
  options.store.sweep_per_call = kSweepPerCall;
  options.store.event_secret = DifferentialSecret;
  auto redis = NewRedisTestStore(options);
  ASSERT_OK(redis);

  const EventCounters total = RunDifferential(*memory, **redis, clock, GetParam() + 100, 4000,
                                              {"e1", "e2", "e-3"}, /*fair_openings=*/true);
  std::cout << "joined " << total.joined_total << " admitted " << total.admitted_total
            << " (bypass " << total.admitted_by_bypass << ", safety net "
            << total.admitted_by_safety_net << ", passthrough " << total.admitted_by_passthrough
            << ") refused " << total.refused_total << " shuffled " << total.shuffled_at_opening
            << " expired " << total.expired_total << "\n";
  EXPECT_GT(total.admitted_total, 10);
  EXPECT_GT(total.expired_total, 10);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace testing
}  // namespace admission
