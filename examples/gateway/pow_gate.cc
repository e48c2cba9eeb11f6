// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "pow_gate.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace admission::gateway {
namespace {

// Events whose join rate is remembered; beyond, the meter starts afresh.
constexpr std::size_t kMaxMeteredEvents = 10000;

}  // namespace

PowOptions PowOptionsOf(const GatewayFlags& flags) {
  PowOptions o;
  // The flags were checked by ParseFlags; an unknown mode cannot reach here.
  o.mode = ParsePowMode(flags.pow).value_or(PowMode::kOff);
  o.difficulty = flags.pow_difficulty;
  o.rule.threshold_per_sec = flags.pow_auto_threshold;
  o.rule.min_difficulty = flags.pow_auto_min_difficulty;
  o.rule.max_difficulty = flags.pow_auto_max_difficulty;
  o.challenge_ttl = absl::Seconds(flags.pow_challenge_ttl_sec);
  o.rate_interval = absl::Milliseconds(flags.pow_rate_interval_ms);
  return o;
}

PowGate::PowGate(const PowOptions& options, std::string secret, Clock& clock,
                 JoinRateMeter::ReadCount read_joins, IdempotencyStore* spent)
    : options_(options),
      clock_(clock),
      work_(std::move(secret), options.challenge_ttl),
      rate_(clock, std::move(read_joins), options.rate_interval, kMaxMeteredEvents),
      spent_(spent) {}

int PowGate::Difficulty(std::string_view event_id) {
  switch (options_.mode) {
    case PowMode::kOff:
      return 0;
    case PowMode::kOn:
      return options_.difficulty;
    case PowMode::kAuto:
      return AutoDifficulty(options_.rule, rate_.RatePerSec(event_id));
  }
  return 0;
}

PowChallenge PowGate::Issue(std::string_view event_id, int difficulty) {
  return work_.Issue(event_id, difficulty, clock_.Now());
}

absl::Status PowGate::Redeem(std::string_view solution, std::string_view event_id) {
  absl::StatusOr<PowChallenge> challenge = work_.Verify(solution, event_id, clock_.Now());
  if (!challenge.ok()) return challenge.status();
  // The salt names the challenge: 128 random bits, signed, so no two challenges share one.
  absl::StatusOr<IdempotencyBegin> begun = spent_->Begin(kScope, challenge->salt, "spent");
  if (!begun.ok()) return begun.status();
  if (begun->outcome != IdempotencyOutcome::kStarted) {
    return absl::AlreadyExistsError(
        "this proof of work's challenge was used already; solve a fresh one");
  }
  // Finish keeps the entry for the store's TTL (an unfinished one would be free again once its
  // lease passed, well within a challenge's life).
  if (absl::Status s = spent_->Finish(kScope, challenge->salt, begun->lease, "1"); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the proof of work could not be recorded as used: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace admission::gateway
