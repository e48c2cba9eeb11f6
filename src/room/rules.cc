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

void RecordAdmission(WindowCounter& window, int64_t now_us) {
  Roll(window, now_us);
  window.current += 1;
}

double EstimatedAdmissions(const WindowCounter& window, int64_t now_us) {
  WindowCounter w = window;
  Roll(w, now_us);
  const double into_period =
      static_cast<double>(now_us - w.period * w.length_us) / static_cast<double>(w.length_us);
  const double previous_weight = std::clamp(1.0 - into_period, 0.0, 1.0);
  return w.previous * previous_weight + w.current;
}

Readiness CheckReadiness(const Policy& policy, int64_t position, int64_t joined_us, int64_t now_us,
                         double tokens, int64_t active) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  if (active >= policy.active_capacity) return {EntryBlock::kCapacityFull, kCapacityRetry};

  const int64_t whole_tokens = static_cast<int64_t>(std::floor(tokens));
  if (position > policy.bypass_top_n + whole_tokens) {
    absl::Duration retry = absl::Seconds(60);
    if (policy.admit_rate_per_sec > 0) {
      const double needed =
          static_cast<double>(std::min<int64_t>(position - policy.bypass_top_n, policy.burst));
      retry = absl::Seconds((needed - tokens) / policy.admit_rate_per_sec);
    }
    return {EntryBlock::kNotYourTurn, std::max(retry, absl::Seconds(1))};
  }

  const int64_t wait_us = DurationToMicros(TierWait(policy.wait_tiers, position));
  const int64_t waited_us = now_us - joined_us;
  if (waited_us < wait_us) return {EntryBlock::kTierWait, absl::Microseconds(wait_us - waited_us)};

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

int64_t DrawTarget(const Policy& policy, double tokens, int64_t active) {
  if (policy.paused) return 0;
  const int64_t window = policy.bypass_top_n + static_cast<int64_t>(std::floor(tokens));
  return std::min(window, policy.active_capacity - active);
}

Readiness CheckUndrawn(const Policy& policy, int64_t drawn, double tokens, int64_t active) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  if (active >= policy.active_capacity) return {EntryBlock::kCapacityFull, kCapacityRetry};
  absl::Duration retry = absl::Seconds(60);
  if (policy.admit_rate_per_sec > 0) {
    const double needed =
        static_cast<double>(std::min<int64_t>(drawn + 1 - policy.bypass_top_n, policy.burst));
    retry = absl::Seconds((needed - tokens) / policy.admit_rate_per_sec);
  }
  return {EntryBlock::kNotYourTurn, std::max(retry, absl::Seconds(1))};
}

Readiness CheckPassthrough(const Policy& policy) {
  if (policy.paused) return {EntryBlock::kPaused, kPausedRetry};
  return {EntryBlock::kNone, absl::ZeroDuration()};
}

bool SafetyNetAdmits(const Policy& policy, int64_t now_us, double tokens, int64_t active) {
  return policy.safety_net &&
         CheckReadiness(policy, 1, now_us, now_us, tokens, active).block == EntryBlock::kNone;
}

}  // namespace admission::rules
