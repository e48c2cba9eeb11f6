// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/ticketing_factory.h"

#if defined(ADMISSION_TEST_REDIS)
#include "support/redis/redis_ticketing_factory.h"  // tests/redis
#endif

namespace admission {
namespace testing {

std::vector<TicketingFactory> AllTicketingFactories() {
  std::vector<TicketingFactory> factories;
  factories.push_back(
      {"Memory", [](const TicketingOptions& options) { return NewMemoryTicketing(options); }});
#if defined(ADMISSION_TEST_REDIS)
  factories.push_back({"Redis", MakeRedisTicketingForTest, 10});
  factories.push_back({"RedisCluster", MakeRedisClusterTicketingForTest, 30});
#endif
  return factories;
}

}  // namespace testing
}  // namespace admission
