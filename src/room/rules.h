// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The waiting-room rules that are pure arithmetic: the token bucket, the sliding-window
// admission counters and the readiness decision. docs/rules.md states them in prose; the
// in-memory store calls these functions and the Lua scripts in lua/ mirror them line by line,
// so a change here is a change there too (the conformance tests hold the two together).
//
// Times are integer microseconds since the Unix epoch, as in the Redis scripts.
#ifndef ADMISSION_SRC_ROOM_RULES_H_
#define ADMISSION_SRC_ROOM_RULES_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "admission/room/join_refusal.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "common/micros.h"

namespace admission::rules {

using internal::DurationToMicros;
using internal::MicrosToTime;
using internal::TimeToMicros;

// Token bucket: `tokens` in [0, burst], refilled lazily at `rate` per second.
struct Bucket {
  double tokens = 0;
  int64_t refilled_at_us = 0;
};
void Refill(Bucket& bucket, double rate_per_sec, int64_t burst, int64_t now_us);

// Two-period sliding-window counter of admissions for one window length.
struct WindowCounter {
  int64_t length_us = 0;
  int64_t period = 0;  // floor(now / length) of the current period
  double current = 0;
  double previous = 0;
};
void RecordAdmission(WindowCounter& window, int64_t now_us);
// Adds `amount` (a count, or seconds of waiting) to the window's current period.
void RecordAmount(WindowCounter& window, int64_t now_us, double amount);
// Estimated admissions in the window of `length_us` ending at `now_us`.
double EstimatedAdmissions(const WindowCounter& window, int64_t now_us);
// The same for several counters of one length: the period and the previous period's weight
// at `now_us` computed once (WindowClockOf), then EstimatedAdmissions(counter, now_us, clock)
// for each, which answers exactly what EstimatedAdmissions(counter, now_us) does.
struct WindowClock {
  int64_t length_us = 0;
  int64_t period = 0;
  double previous_weight = 0;
};
WindowClock WindowClockOf(int64_t length_us, int64_t now_us);
// EstimatedAdmissions itself (a roll on a copy), for the case the clock does not cover.
double EstimatedAdmissionsRolled(const WindowCounter& window, int64_t now_us);
// Inline: the rate sample makes five of these per window on every call.
inline double EstimatedAdmissions(const WindowCounter& window, int64_t now_us,
                                  const WindowClock& clock) {
  // The clock's period is the one a roll at now_us gives, unless time went back.
  if (clock.length_us != window.length_us || clock.period < window.period) {
    return EstimatedAdmissionsRolled(window, now_us);
  }
  if (clock.period == window.period)
    return window.previous * clock.previous_weight + window.current;
  // A roll: the current period becomes the previous one if it was the one before, else 0.
  const double previous = clock.period == window.period + 1 ? window.current : 0;
  return previous * clock.previous_weight + 0.0;  // + the rolled current period, 0
}

struct Readiness {
  EntryBlock block = EntryBlock::kNone;
  absl::Duration retry_after = absl::ZeroDuration();
};

// ---------------------------------------------------------------------------------------------
// Presence, the cursor and grants (docs/rules.md).

// The most grants, candidates passed over (or dropped from the returned set) and lapses one
// call makes, so that every call does bounded work.
inline constexpr int64_t kMaxGrantsPerCall = 64;
inline constexpr int64_t kMaxPassesPerCall = 128;
inline constexpr int64_t kMaxLapsesPerCall = 64;

// The most stale deadline entries one call moves or drops on its way to the passed deadlines
// (the deadline queues are lazy: a heartbeat leaves its entry early), so that a call after a
// quiet spell does bounded work; the rest wait for the next calls.
inline constexpr int64_t kMaxStaleMovesPerCall = 128;

// How long after a call a waiting user counts as present, with `ahead` unreached users ahead
// (the middle of the range for a user not drawn yet): clamp(ahead / rate, claim_window,
// heartbeat_ttl), heartbeat_ttl at rate 0. In microseconds.
int64_t PresenceWindowUs(const Policy& policy, int64_t ahead);
// The same for a pre-queued user: clamp(opens_at - now, claim_window, heartbeat_ttl).
int64_t PrequeuePresenceWindowUs(const Policy& policy, int64_t now_us);

// Where a waiting user stands for the tier waits and the credit: the users who will still be
// ahead when the grants reach them (those holding grants and the unreached ahead), not the
// absent users passed over, who count in the position until they expire:
// min(position, 1 + granted + ahead_unreached).
int64_t TurnPlace(int64_t position, int64_t granted, int64_t ahead_unreached);

// Whether the tier wait at `position` has been served by a user who joined at `joined_us`.
bool TierServed(const Policy& policy, int64_t position, int64_t joined_us, int64_t now_us);

// Whether a grant may go to a candidate at `position` (whose tier wait is served): a whole
// token, or credit for positions within bypass_top_n + floor(tokens).
bool MayGrant(const Policy& policy, int64_t position, double tokens);

// Why a waiting user who holds no grant may not enter (the fifo rules; random's users, drawn
// or not): paused, capacity_full (active + granted at the capacity), tier_wait (next in turn
// with the tier wait at its TurnPlace not served), else not_your_turn, retrying when the bucket
// could hold ahead_unreached + 1 tokens (at least 1 s; 60 s at rate 0).
Readiness CheckWaiting(const Policy& policy, int64_t position, int64_t ahead_unreached,
                       int64_t joined_us, int64_t now_us, double tokens, int64_t active,
                       int64_t granted);

// A granted user may enter unless the room is paused.
Readiness CheckGranted(const Policy& policy);

// Retry-after when the room is paused or full: no better estimate exists.
inline constexpr absl::Duration kPausedRetry = absl::Seconds(5);
inline constexpr absl::Duration kCapacityRetry = absl::Seconds(1);

// ---------------------------------------------------------------------------------------------
// Fair openings: the schedule, the queueing methods and the safety net (docs/rules.md).

// A policy time in microseconds (floored, as TimeToMicros), or nullopt when unset.
std::optional<int64_t> MicrosOf(const std::optional<absl::Time>& t);

// Why a Join is refused (checked in the order rejected, closed, not open yet), or nullopt when
// the join may go ahead.
std::optional<JoinRefusal::Reason> CheckJoin(const Policy& policy, bool opened, int64_t now_us);
// The FailedPrecondition a refused Join returns (OK when `refusal` is nullopt). `at_us` is the time
// the message names (closes_at for kClosed, prequeue_opens_at for kNotOpenYet; unused for
// kRejected). A store that cannot format times (a Lua script) returns the refusal and the time, and
// its C++ side calls this, so both stores say exactly the same.
absl::Status JoinRefusedError(std::optional<JoinRefusal::Reason> refusal, std::string_view event_id,
                              int64_t at_us, std::string_view reject_message);
// The time JoinRefusedError names for `refusal` under `policy` (0 when none).
int64_t RefusalTime(const Policy& policy, JoinRefusal::Reason refusal);

// Whether an accepted join goes to the pre-queue: the event has not opened and opens_at is
// set and still ahead.
bool JoinsPrequeue(const Policy& policy, bool opened, int64_t now_us);

// Whether the event opens at this call (applied after the call's sweep): it has not opened,
// and opens_at has passed, or opens_at is unset and somebody is pre-queued (a policy change
// removed the opening time). An event without schedule also opens at its first accepted join.
bool OpensNow(const Policy& policy, bool opened, int64_t prequeued, int64_t now_us);

// Random method: how many unreached drawn users the front is refilled to, so that the draws run
// kDrawLead of grants ahead of the cursor: 0 while paused, else bypass_top_n + burst +
// ceil(rate * kDrawLead).
int64_t DrawTarget(const Policy& policy);
// Longer than the longest poll interval WaitingRoom advises by default (60 s) with its jitter,
// so that a user learns they were drawn before the grants reach them.
inline constexpr absl::Duration kDrawLead = absl::Seconds(90);
// The most draws one call makes, so that every call does bounded work (a larger target is
// reached over the next calls).
inline constexpr int64_t kMaxDrawsPerCall = 64;

// Passthrough method: every waiting user is ready unless the room is paused.
Readiness CheckPassthrough(const Policy& policy);

// Safety net: a new arrival into an empty line is admitted by Join when the policy asks for it
// and they would be granted at once at position 1: not paused, below the capacity, a token or
// credit for position 1, no tier wait at position 1.
bool SafetyNetAdmits(const Policy& policy, int64_t now_us, double tokens, int64_t active);

}  // namespace admission::rules

#endif  // ADMISSION_SRC_ROOM_RULES_H_
