// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The proof of work on join, put together: what difficulty an event's join asks now
// (pow_difficulty.h), fresh challenges, and the check of a solution (proof_of_work.h) that
// also spends it.
//
// A challenge is spent in the store the gateway already shares between processes: the sale's
// IdempotencyStore (admission/ticketing/idempotency.h, memory or Redis), scope "pow", keyed by
// the challenge's salt. Its Begin is a "first one wins" and Finish keeps the entry for the
// store's idempotency TTL (--idempotency_ttl_sec), so that every gateway on the store agrees a
// challenge is used up. The entry must outlive the challenge, or a spent but unexpired one
// could be used again: the flags refuse --pow_challenge_ttl_sec above --idempotency_ttl_sec
// (the entry lives a TTL from its redemption, which comes after the issue).
#ifndef ADMISSION_EXAMPLES_GATEWAY_POW_GATE_H_
#define ADMISSION_EXAMPLES_GATEWAY_POW_GATE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/idempotency.h"
#include "flags.h"
#include "pow_difficulty.h"
#include "proof_of_work.h"

namespace admission::gateway {

struct PowOptions {
  PowMode mode = PowMode::kOff;
  // The difficulty of `on`.
  int difficulty = 16;
  // The rule of `auto`.
  PowAutoRule rule;
  // How long a challenge may be answered.
  absl::Duration challenge_ttl = absl::Seconds(120);
  // How often `auto` samples an event's join count.
  absl::Duration rate_interval = absl::Seconds(1);
};

// The options from the --pow* flags.
PowOptions PowOptionsOf(const GatewayFlags& flags);

class PowGate {
 public:
  // The IdempotencyStore scope of spent challenges.
  static constexpr std::string_view kScope = "pow";

  // `secret` signs the challenges (the gateway's --token_secret); `read_joins` gives an event's
  // count of accepted joins (for `auto`); `spent` is where challenges are redeemed. `clock` and
  // `spent` are not owned and must outlive the gate.
  PowGate(const PowOptions& options, std::string secret, Clock& clock,
          JoinRateMeter::ReadCount read_joins, IdempotencyStore* spent);

  PowMode mode() const { return options_.mode; }

  // The difficulty a join of `event_id` must prove now; 0 means none (no challenge needed).
  // `auto` may read the store (at most once per rate interval and event).
  int Difficulty(std::string_view event_id);

  // A fresh challenge for `event_id` (a valid event id) at `difficulty`.
  PowChallenge Issue(std::string_view event_id, int difficulty);

  // Verifies `solution` for a join of `event_id` (ProofOfWork::Verify) and spends its
  // challenge in the store. OK for the first use of an authentic, solved, unexpired challenge;
  // otherwise InvalidArgument (malformed, tampered with, other event, not solved), OutOfRange
  // (expired), AlreadyExists (spent before, by any gateway on the store), or the store's error
  // (Unavailable, DeadlineExceeded) when the spending could not be recorded. A challenge is
  // spent by its first verified use, whatever the join then answers.
  absl::Status Redeem(std::string_view solution, std::string_view event_id);

 private:
  const PowOptions options_;
  Clock& clock_;
  ProofOfWork work_;
  JoinRateMeter rate_;
  IdempotencyStore* const spent_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_POW_GATE_H_
