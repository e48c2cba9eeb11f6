// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Redis ticketing bundles for the shared ticketing suites (tests/ticketing_factory.h): on the
// process-wide redis-server or 3-master cluster of redis_store_factory.h, each with a fresh
// key prefix.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_REDIS_TICKETING_FACTORY_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_REDIS_TICKETING_FACTORY_H_

#include "absl/status/statusor.h"
#include "admission/redis/ticketing.h"
#include "admission/ticketing/ticketing.h"

namespace admission {
namespace testing {

// Errors (no redis-server, a server that did not start) come back as the status; the suites
// ASSERT_OK on them, so a missing server fails the tests rather than skipping them.
absl::StatusOr<Ticketing> MakeRedisTicketingForTest(const TicketingOptions& options);
absl::StatusOr<Ticketing> MakeRedisClusterTicketingForTest(const TicketingOptions& options);

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_REDIS_TICKETING_FACTORY_H_
