// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// How hard the proof of work on join is (proof_of_work.h): never (`off`), always the same
// (`on`), or `auto`: nothing in calm times, then harder as an event's join rate climbs.
//
// The rate `auto` follows is the store's, not this process's: JoinRateMeter samples the
// event's count of accepted joins (WaitingRoom::Stats, joined_total) at most once per
// interval and per event, and divides the difference by the time between samples. Every
// gateway on a shared store then sees the same rate and asks the same difficulty, however a
// load balancer spreads the crowd (a per-process rate would be 1/N of it on N gateways, and a
// threshold would have to know N). Counting accepted joins rather than attempts also keeps the
// loop stable: only joins that paid the current price raise it, so a flood of unsolved
// attempts (each one cheap to refuse) cannot drive the difficulty up for everybody else.
#ifndef ADMISSION_EXAMPLES_GATEWAY_POW_DIFFICULTY_H_
#define ADMISSION_EXAMPLES_GATEWAY_POW_DIFFICULTY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "admission/clock.h"

namespace admission::gateway {

enum class PowMode { kOff, kOn, kAuto };
// "off", "on", "auto".
std::string_view PowModeName(PowMode mode);
// InvalidArgument for anything else.
absl::StatusOr<PowMode> ParsePowMode(std::string_view text);

// The rule of `auto`: 0 bits below `threshold_per_sec` joins per second; `min_difficulty` bits
// from the threshold up, plus one bit per doubling of the rate above it, at most
// `max_difficulty` (each bit doubles a visitor's expected work).
struct PowAutoRule {
  double threshold_per_sec = 50;
  int min_difficulty = 12;
  int max_difficulty = 20;
};

// The difficulty `rule` asks at `joins_per_sec`.
int AutoDifficulty(const PowAutoRule& rule, double joins_per_sec);

// The rate of accepted joins of each event, from a monotonic per-event count read from the
// store. Thread-safe.
class JoinRateMeter {
 public:
  // The count of accepted joins of an event so far; NotFound for an unknown event.
  using ReadCount = std::function<absl::StatusOr<int64_t>(std::string_view event_id)>;

  // `clock` is not owned. Each event is sampled at most once per `interval`; at most
  // `max_events` events are remembered (beyond, all are forgotten and measured afresh). An
  // event the store does not know is not remembered, so made-up event ids neither grow the
  // memory nor push the real events out.
  JoinRateMeter(Clock& clock, ReadCount read, absl::Duration interval, std::size_t max_events);

  // Joins per second of `event_id` between its last two samples; 0 until there are two (the
  // first call for an event takes the first), for an unknown event, and while the store fails
  // to answer from the start (a failed sample keeps the last rate). At most one caller at a
  // time reads the store for an event; the others get the last rate.
  double RatePerSec(std::string_view event_id);

 private:
  struct Sample {
    absl::Time at = absl::InfinitePast();
    int64_t count = 0;
    double rate = 0;
    bool reading = false;
  };

  Clock& clock_;
  const ReadCount read_;
  const absl::Duration interval_;
  const std::size_t max_events_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Sample> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_POW_DIFFICULTY_H_
