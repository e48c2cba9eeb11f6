// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticketing suites (tests/ticketing/) are value-parameterized over
// TicketingFactory, so the in-memory and the Redis bundles are held to the same behaviour, as
// store_factory.h does for the waiting room's stores.
#ifndef ADMISSION_TESTS_SUPPORT_TICKETING_FACTORY_H_
#define ADMISSION_TESTS_SUPPORT_TICKETING_FACTORY_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "admission/ticketing/ticketing.h"

namespace admission {
namespace testing {

struct TicketingFactory {
  // Test-name friendly: [A-Za-z0-9_] only.
  std::string name;
  // Makes a new, empty bundle with `options` (whose clock outlives it). Redis bundles get a
  // key prefix of their own, so they never see each other's keys.
  std::function<absl::StatusOr<Ticketing>(const TicketingOptions& options)> make;
  // Rough cost of one call relative to memory (a network round trip is ~100x); suites scale
  // their loops by it.
  double relative_cost = 1;
};

inline void PrintTo(const TicketingFactory& factory, std::ostream* os) { *os << factory.name; }

// Memory, and with ADMISSION_TEST_REDIS a Redis server and a 3-master Redis Cluster.
std::vector<TicketingFactory> AllTicketingFactories();

struct TicketingFactoryName {
  template <typename ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return info.param.name;
  }
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_TICKETING_FACTORY_H_
