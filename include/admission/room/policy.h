// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The per-event policy: every knob an operator can turn while a room runs. Defaults are the
// values in the field initialisers; a default-constructed Policy is a sensible room for a
// large sale.
#ifndef ADMISSION_ROOM_POLICY_H_
#define ADMISSION_ROOM_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {

// Users at positions up to `max_position` (inclusive, and beyond the previous tier) must have
// waited at least `min_wait` since they joined before they may enter. The last tier of a
// policy covers every position: its max_position is kUnboundedPosition.
struct WaitTier {
  static constexpr int64_t kUnboundedPosition = std::numeric_limits<int64_t>::max();

  int64_t max_position = kUnboundedPosition;
  absl::Duration min_wait = absl::ZeroDuration();
};

// [1-10: 0 s; 11-50: 2 s; 51 and beyond: 5 s]
std::vector<WaitTier> DefaultWaitTiers();

// How an open event treats its line (docs/rules.md, "Queueing methods" says when to use each).
// The numbers are stable: stores and bindings may carry them.
enum class QueueMethod : int8_t {
  // Strict order: pre-queued users in their drawn order, then arrivals in arrival order.
  kFifo = 0,
  // Every admission goes to a user drawn uniformly at random among those still waiting; a user
  // not drawn yet is shown a range of places (and of ETAs) rather than one.
  kRandom = 1,
  // Everyone is admitted at once, ignoring the bucket, the capacity and the tiers (but not a
  // pause): for quiet times, when the line should exist but stay empty.
  kPassthrough = 2,
  // Nobody new may join (Join fails with the policy's reject_message); users already in line
  // are still served, in line order.
  kReject = 3,
};
// "fifo", "random", "passthrough", "reject".
std::string_view QueueMethodName(QueueMethod method);
// The inverse of QueueMethodName; InvalidArgument for any other name.
absl::StatusOr<QueueMethod> ParseQueueMethod(std::string_view name);

// Every member has an entry in the table of fields (admission/room/policy_fields.h), which the
// validation, the stores' encodings, the gateway and the bindings walk.
struct Policy {
  // Token bucket that paces admissions: whole tokens accrue at this rate up to `burst`.
  // [100/s, burst 100]
  double admit_rate_per_sec = 100.0;
  int64_t burst = 100;

  // Positions 1..bypass_top_n may be granted even when the bucket has no whole token: they
  // borrow one, and the debt (at most bypass_top_n tokens) is repaid from the refill before
  // anyone further back is granted. So the bypass keeps the front moving without defeating the
  // pace: grants over any interval T stay within rate * T + burst + bypass_top_n. [10]
  int64_t bypass_top_n = 10;

  // Admitted users who are not done yet (no Complete/Leave, active TTL not run out) never
  // exceed this. [50,000]
  int64_t active_capacity = 50000;

  // A waiting user who sends no heartbeat (Status/Enter) for this long is a ghost and loses
  // their place. (Long before that, an absent user is passed over by the grants and keeps
  // the place only for when they come back.) [5 min]
  absl::Duration heartbeat_ttl = absl::Minutes(5);
  // An admitted user stops counting against the capacity after this long. [10 min]
  absl::Duration active_ttl = absl::Minutes(10);
  // Lifetime of the reservation token handed out at admission. [30 s]
  absl::Duration reservation_ttl = absl::Seconds(30);
  // How long a token that left the room (expired, left, completed) still answers Status with
  // that state before it is forgotten (NotFound). Bounds the memory of departed users. [10 min]
  absl::Duration ended_ttl = absl::Minutes(10);

  // Tier waits by position; positions must increase and waits must not decrease, so the users
  // who may enter always form a prefix of the line. Empty means no tier waits.
  std::vector<WaitTier> wait_tiers = DefaultWaitTiers();

  // Sliding windows over which the admission rate (and so the ETA) is measured; strictly
  // increasing, 1 to 4 of them, each 1 s to 1 h. [10 s, 60 s, 300 s]
  std::vector<absl::Duration> rate_windows = {absl::Seconds(10), absl::Seconds(60),
                                              absl::Seconds(300)};

  // A paused room admits nobody; the line keeps its order and heartbeats still count.
  bool paused = false;
  // Shown to users while paused (at most 200 printable characters).
  std::string paused_reason;

  // The schedule (docs/rules.md, "Fair openings"). Unset times impose nothing, so the default
  // is a room that is open from the start and never closes. When set they must satisfy
  // prequeue_opens_at <= opens_at < closes_at (prequeue_opens_at needs opens_at).
  //
  // Joins before prequeue_opens_at are refused (FailedPrecondition, naming the time). From
  // prequeue_opens_at (or from the start, when it is unset) until opens_at, joins enter the
  // pre-queue: a token and the state kPrequeue, but no position and no admission. The event
  // opens at opens_at: every pre-queued user still there gets a place drawn uniformly at
  // random, and later arrivals queue behind all of them. An event opens once; after that, the
  // two opening times are ignored.
  std::optional<absl::Time> prequeue_opens_at;
  std::optional<absl::Time> opens_at;
  // From closes_at on, joins are refused (FailedPrecondition); users already in line are still
  // served.
  std::optional<absl::Time> closes_at;

  // How the open event treats its line. [kFifo]
  QueueMethod method = QueueMethod::kFifo;
  // The message of a Join refused by kReject (at most 200 printable characters; empty: a
  // generic one).
  std::string reject_message;

  // Safety net: when nobody waits in line, a new arrival who would be ready at once at
  // position 1 (not paused, below capacity, a bucket token or bypass credit, no tier wait for
  // position 1) is admitted by Join itself, so a quiet sale shows no waiting room at all. Off
  // by default: Join then always queues. [false]
  bool safety_net = false;

  // Admissions are granted at the rate to the first present users in line (docs/rules.md,
  // "Presence, the cursor and grants"); a grant waits this long for its user to enter, then
  // lapses and its token passes to the next present user. It is also the shortest time a user
  // counts as present after a call: WaitingRoom's poll advice keeps live clients well within
  // it. [5 s]
  absl::Duration claim_window = absl::Seconds(5);

  // A message from the operator to everyone in line and in the pre-queue ("Sales resume at
  // 10:30"), shown on the visitor page and in the room status API; empty: none. Plain text
  // (shells must escape it): valid UTF-8, at most kMaxQueueMessageChars code points (so a
  // Korean or German message gets the same room as an English one), no control characters.
  static constexpr std::size_t kMaxQueueMessageChars = 280;
  std::string queue_message;
};

// OK, or InvalidArgument naming the first field that is out of range.
absl::Status ValidatePolicy(const Policy& policy);

// The wait a user at `position` (1-based) must have served before entering.
absl::Duration TierWait(const std::vector<WaitTier>& tiers, int64_t position);

bool operator==(const WaitTier& a, const WaitTier& b);
bool operator==(const Policy& a, const Policy& b);
inline bool operator!=(const Policy& a, const Policy& b) { return !(a == b); }

}  // namespace admission

#endif  // ADMISSION_ROOM_POLICY_H_
