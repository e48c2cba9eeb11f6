// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room/rules.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "admission/room/join_refusal.h"
#include "room/join_refusal_internal.h"

namespace admission::rules {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void Roll(WindowCounter& w, int64_t now_us) {
  const int64_t period = FloorDiv(now_us, w.length_us);
  if (period <= w.period) return;  // same period (or time went back: keep what we have)
  w.previous = (period == w.period + 1) ? w.current : 0;
  w.current = 0;
  w.period = period;
}

}  // namespace

void Refill(Bucket& bucket, double rate_per_sec, int64_t burst, int64_t now_us) {
  if (now_us > bucket.refilled_at_us) {
    const double elapsed_sec = static_cast<double>(now_us - bucket.refilled_at_us) / 1e6;
    bucket.tokens =
        std::min(static_cast<double>(burst), bucket.tokens + rate_per_sec * elapsed_sec);
    bucket.refilled_at_us = now_us;
  }
  bucket.tokens = std::min(bucket.tokens, static_cast<double>(burst));
}

void RecordAmount(WindowCounter& window, int64_t now_us, double amount) {
  Roll(window, now_us);
  window.current += amount;
}

void RecordAdmission(WindowCounter& window, int64_t now_us) {
  Roll(window, now_us);
  window.current += 1;
}

namespace {

double PreviousWeight(int64_t length_us, int64_t period, int64_t now_us) {
  const double into_period =
      static_cast<double>(now_us - period * length_us) / static_cast<double>(length_us);
  return std::clamp(1.0 - into_period, 0.0, 1.0);
}

}  // namespace

double EstimatedAdmissions(const WindowCounter& window, int64_t now_us) {
  return EstimatedAdmissionsRolled(window, now_us);
}

double EstimatedAdmissionsRolled(const WindowCounter& window, int64_t now_us) {
  WindowCounter w = window;
  Roll(w, now_us);
  return w.previous * PreviousWeight(w.length_us, w.period, now_us) + w.current;
}

WindowClock WindowClockOf(int64_t length_us, int64_t now_us) {
  WindowClock clock;
  clock.length_us = length_us;
  clock.period = FloorDiv(now_us, length_us);
  clock.previous_weight = PreviousWeight(length_us, clock.period, now_us);
  return clock;
}

int64_t PresenceWindowUs(const Policy& policy, int64_t ahead) {
  const int64_t floor_us = DurationToMicros(policy.claim_window);
  const int64_t ceiling_us = std::max(floor_us, DurationToMicros(policy.heartbeat_ttl));
  if (policy.admit_rate_per_sec <= 0) return ceiling_us;
  // In double seconds, then whole microseconds (floored), as the scripts compute it.
  const double us = std::floor(static_cast<double>(std::max<int64_t>(ahead, 0)) /
                               policy.admit_rate_per_sec * 1e6);
  if (us >= static_cast<double>(ceiling_us)) return ceiling_us;
  return std::max(floor_us, static_cast<int64_t>(us));
}

int64_t PrequeuePresenceWindowUs(const Policy& policy, int64_t now_us) {
  const int64_t floor_us = DurationToMicros(policy.claim_window);
  const int64_t ceiling_us = std::max(floor_us, DurationToMicros(policy.heartbeat_ttl));
  const std::optional<int64_t> opens = MicrosOf(policy.opens_at);
  if (!opens.has_value()) return floor_us;
  return std::clamp(*opens - now_us, floor_us, ceiling_us);
}

int64_t TurnPlace(int64_t position, int64_t granted, int64_t ahead_unreached) {
  return std::min(position, 1 + granted + ahead_unreached);
}

bool TierServed(const Policy& policy, int64_t position, int64_t joined_us, int64_t now_us) {
  return now_us - joined_us >= DurationToMicros(TierWait(policy.wait_tiers, position));
}

bool MayGrant(const Policy& policy, int64_t position, double tokens) {
  return tokens >= 1.0 ||
         position <= policy.bypass_top_n + static_cast<int64_t>(std::floor(tokens));
}

Readiness CheckWaiting(const Policy& policy, int64_t position, int64_t ahead_unreached,
                       int64_t joined_us, int64_t now_us, double tokens, int64_t active,
                       int64_t granted) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  if (active + granted >= policy.active_capacity) {
    return {EntryBlock::kCapacityFull, kCapacityRetry};
  }
  if (ahead_unreached == 0) {
    const int64_t place = TurnPlace(position, granted, ahead_unreached);
    const int64_t wait_us = DurationToMicros(TierWait(policy.wait_tiers, place));
    const int64_t waited_us = now_us - joined_us;
    if (waited_us < wait_us) {
      return {EntryBlock::kTierWait, absl::Microseconds(wait_us - waited_us)};
    }
  }
  absl::Duration retry = absl::Seconds(60);
  if (policy.admit_rate_per_sec > 0) {
    const double needed = static_cast<double>(ahead_unreached + 1);
    retry = absl::Seconds((needed - tokens) / policy.admit_rate_per_sec);
  }
  return {EntryBlock::kNotYourTurn, std::max(retry, absl::Seconds(1))};
}

Readiness CheckGranted(const Policy& policy) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  return {EntryBlock::kNone, absl::ZeroDuration()};
}

std::optional<int64_t> MicrosOf(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return std::nullopt;
  return TimeToMicros(*t);
}

std::optional<JoinRefusal::Reason> CheckJoin(const Policy& policy, bool opened, int64_t now_us) {
  if (policy.method == QueueMethod::kReject) return JoinRefusal::kRejected;
  const std::optional<int64_t> closes = MicrosOf(policy.closes_at);
  if (closes.has_value() && now_us >= *closes) return JoinRefusal::kClosed;
  const std::optional<int64_t> prequeue_opens = MicrosOf(policy.prequeue_opens_at);
  if (!opened && prequeue_opens.has_value() && now_us < *prequeue_opens) {
    return JoinRefusal::kNotOpenYet;
  }
  return std::nullopt;
}

int64_t RefusalTime(const Policy& policy, JoinRefusal::Reason refusal) {
  switch (refusal) {
    case JoinRefusal::kClosed:
      return MicrosOf(policy.closes_at).value_or(0);
    case JoinRefusal::kNotOpenYet:
      return MicrosOf(policy.prequeue_opens_at).value_or(0);
    default:
      return 0;
  }
}

absl::Status JoinRefusedError(std::optional<JoinRefusal::Reason> refusal, std::string_view event_id,
                              int64_t at_us, std::string_view reject_message) {
  const absl::string_view id(event_id.data(), event_id.size());
  const std::string at =
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", MicrosToTime(at_us), absl::UTCTimeZone());
  if (!refusal.has_value()) return absl::OkStatus();
  absl::Status status;
  JoinRefusal facts;
  facts.reason = *refusal;
  switch (*refusal) {
    case JoinRefusal::kRejected:
      status = absl::FailedPreconditionError(
          reject_message.empty() ? absl::StrCat("event '", id, "' is not accepting new arrivals")
                                 : std::string(reject_message));
      break;
    case JoinRefusal::kClosed:
      status = absl::FailedPreconditionError(absl::StrCat("event '", id, "' closed at ", at));
      facts.at = MicrosToTime(at_us);
      break;
    case JoinRefusal::kNotOpenYet:
      status = absl::FailedPreconditionError(
          absl::StrCat("event '", id, "' is not open yet: the pre-queue opens at ", at));
      facts.at = MicrosToTime(at_us);
      break;
  }
  // The facts travel with the status, so that shells need not parse the message.
  internal::AttachJoinRefusal(facts, &status);
  return status;
}

bool JoinsPrequeue(const Policy& policy, bool opened, int64_t now_us) {
  const std::optional<int64_t> opens = MicrosOf(policy.opens_at);
  return !opened && opens.has_value() && now_us < *opens;
}

bool OpensNow(const Policy& policy, bool opened, int64_t prequeued, int64_t now_us) {
  if (opened) return false;
  const std::optional<int64_t> opens = MicrosOf(policy.opens_at);
  return opens.has_value() ? now_us >= *opens : prequeued > 0;
}

int64_t DrawTarget(const Policy& policy) {
  if (policy.paused) return 0;
  const double lead = std::ceil(policy.admit_rate_per_sec * absl::ToDoubleSeconds(kDrawLead));
  return policy.bypass_top_n + policy.burst + static_cast<int64_t>(lead);
}

Readiness CheckPassthrough(const Policy& policy) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  return {EntryBlock::kNone, absl::ZeroDuration()};
}

bool SafetyNetAdmits(const Policy& policy, int64_t now_us, double tokens, int64_t active) {
  return policy.safety_net && !policy.paused && active < policy.active_capacity &&
         MayGrant(policy, 1, tokens) && TierServed(policy, 1, now_us, now_us);
}

}  // namespace admission::rules
