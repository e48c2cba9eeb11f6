// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The differential driver: random operations run against a reference store (the MemoryStore)
// and a store under test, both reading one SimulatedClock, with every returned field compared
// (statuses with their messages, positions, states, times, readiness, retry_after, bucket
// tokens, rate windows, counters). The memory store is the reference implementation of
// docs/rules.md, so any difference is a bug in the store under test.
#ifndef ADMISSION_TESTS_REDIS_DIFFERENTIAL_H_
#define ADMISSION_TESTS_REDIS_DIFFERENTIAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "admission/clock.h"
#include "admission/store.h"

namespace admission {
namespace testing {

// Runs `operations` random operations (joins, heartbeats, entries, leaves, completions,
// sweeps, policy changes, stats, clock steps) on `events`, reporting every difference as a
// gtest failure (it stops at the first failing operation). Returns the reference's counters
// summed over the events, to check that the run reached the interesting paths.
EventCounters RunDifferential(Store& reference, Store& subject, SimulatedClock& clock,
                              uint64_t seed, int operations,
                              const std::vector<std::string>& events);

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_REDIS_DIFFERENTIAL_H_
