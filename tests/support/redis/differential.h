// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The differential driver: random operations run against a reference store (the MemoryStore)
// and a store under test, both reading one SimulatedClock, with every returned field compared
// (statuses with their messages, positions, states, times, readiness, retry_after, bucket
// tokens, rate windows, counters). The memory store is the reference implementation of
// docs/rules.md, so any difference is a bug in the store under test.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_DIFFERENTIAL_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_DIFFERENTIAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "admission/clock.h"
#include "admission/room/store.h"

namespace admission {
namespace testing {

// The event secret both stores of a run with fair openings must use (MemoryStoreOptions and
// RedisStoreOptions::event_secret), so that their shuffles and draws agree.
uint64_t DifferentialSecret(std::string_view event_id);

// Runs `operations` random operations (joins, heartbeats, entries, leaves, completions,
// sweeps, policy changes, stats, clock steps) on `events`, reporting every difference as a
// gtest failure (it stops at the first failing operation). With `fair_openings` the random
// policies also carry schedules, queueing methods and the safety net (both stores must then
// use DifferentialSecret). Returns the reference's counters summed over the events, to check
// that the run reached the interesting paths.
EventCounters RunDifferential(Store& reference, Store& subject, SimulatedClock& clock,
                              uint64_t seed, int operations, const std::vector<std::string>& events,
                              bool fair_openings = false);

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_DIFFERENTIAL_H_
