// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The conformance and property suites are value-parameterized over StoreFactory, so every
// Store implementation is held to the same behaviour (docs/rules.md). To add a store, append
// a factory in AllStoreFactories() (store_factory.cc).
#ifndef ADMISSION_TESTS_SUPPORT_STORE_FACTORY_H_
#define ADMISSION_TESTS_SUPPORT_STORE_FACTORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "admission/clock.h"
#include "admission/room/store.h"

namespace admission {
namespace testing {

struct StoreFactory {
  // Test-name friendly: [A-Za-z0-9_] only.
  std::string name;
  // Makes a new, empty store that reads `clock` (not owned; outlives the store).
  std::function<std::unique_ptr<admission::Store>(admission::Clock* clock)> make;
  // Rough cost of one call relative to the memory store (a network round trip is ~100x); the
  // property test runs proportionally fewer random steps (at least a tenth) on costly stores.
  double relative_cost = 1;

  // Fair openings (schedule, pre-queue, queueing methods, safety net; docs/rules.md). A store
  // that implements them sets `supports_schedule` and `make_seeded`, and then runs
  // tests/schedule_conformance_test.cc and the property test's schedule operations.
  bool supports_schedule = false;
  // Like `make`, but every event's secret is SeededEventSecret(seed, event_id)
  // (admission/event_secret.h), so that the pre-queue's order and the draws are reproducible
  // (and predictable by a model).
  std::function<std::unique_ptr<admission::Store>(admission::Clock* clock, uint64_t seed)>
      make_seeded;
};

// The factories with supports_schedule, for the suites of fair openings.
std::vector<StoreFactory> ScheduleStoreFactories();

inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

// Every store the suites run against: the memory store, and the others enabled at build time.
std::vector<StoreFactory> AllStoreFactories();

// For INSTANTIATE_TEST_SUITE_P name generators.
struct StoreFactoryName {
  template <typename ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return info.param.name;
  }
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_STORE_FACTORY_H_
