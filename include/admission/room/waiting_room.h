// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// WaitingRoom is the library's front door. It validates input, makes unguessable tokens,
// applies each user action to the Store in one atomic call, and turns the store's raw facts
// into what a person in line is shown: a position, an honest ETA with a confidence, and how
// often to poll. It is thread-safe.
//
// Example:
//   auto room = admission::WaitingRoom::CreateInMemory();
//   auto joined = (*room)->Join("concert-2026", "user-42");   // token + position
//   auto status = (*room)->Status(joined->token);             // heartbeat; ETA
//   if (status->ready_for_entry) auto entry = (*room)->Enter(joined->token);
#ifndef ADMISSION_ROOM_WAITING_ROOM_H_
#define ADMISSION_ROOM_WAITING_ROOM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/policy.h"
#include "admission/room/room_outlook.h"
#include "admission/room/store.h"

namespace admission {
namespace internal {
class FacadeCalls;
}  // namespace internal

struct Options {
  // Policy given to an event the first time somebody joins it.
  Policy default_policy;
  // When false, Join on an event nobody created with SetPolicy is NotFound. Turn it off when
  // event ids come from untrusted input and you do not want strangers to open rooms.
  bool create_events_on_join = true;

  // A background thread sweeps every event this often, so that no ghost is counted longer
  // than the heartbeat TTL plus this interval even in a quiet room. Zero turns the thread off
  // (call SweepAll() yourself). [1 s]
  absl::Duration sweep_interval = absl::Seconds(1);
  // Deadlines applied per store call while sweeping (the sweeper loops until done). [1000]
  int64_t sweep_batch = 1000;

  // Bounds of the poll interval suggested to waiting users. The upper bound is also kept
  // below a third of the heartbeat TTL so that a user who follows the advice never expires.
  absl::Duration min_poll_interval = absl::Seconds(1);
  absl::Duration max_poll_interval = absl::Seconds(60);
};

// What a user in line is shown (the answer to Join, Status, Leave and Complete).
struct QueueStatus {
  std::string event_id;
  std::string user_id;
  std::string token;
  UserState state = UserState::kWaiting;
  bool ready_for_entry = false;
  // 1-based, counting only live users ahead; 0 when not waiting (or pre-queued).
  int64_t position = 0;
  // The place is only known to lie in [position, position_high] for a user of the random
  // method who has not been drawn yet, and in [1, position_high] for a pre-queued user (the
  // pre-queue's size so far); otherwise position_high == position.
  int64_t position_high = 0;
  // Waiting users ahead whom the grants have not reached yet: the users still to be granted
  // or passed over before this user's turn. Absent users ahead are passed over at once, so this
  // is the honest "people ahead of you" (docs/rules.md, "Presence, the cursor and grants").
  int64_t ahead_unreached = 0;
  // While the user holds a grant (ready_for_entry): when it lapses unless they enter.
  // InfiniteFuture otherwise.
  absl::Time grant_expires_at = absl::InfiniteFuture();
  // Estimated time until the user may enter, and how much to trust it (0..1). When the place
  // is a range, eta is the middle of [eta_low, eta_high], the ETAs of its two ends; otherwise
  // the three are equal. Poll advice follows eta (eta_low for a pre-queued user).
  absl::Duration eta = absl::ZeroDuration();
  absl::Duration eta_low = absl::ZeroDuration();
  absl::Duration eta_high = absl::ZeroDuration();
  double eta_confidence = 0;
  // Pre-queued users: when the event opens (and their place is drawn). InfiniteFuture
  // otherwise.
  absl::Time opens_at = absl::InfiniteFuture();
  absl::Duration waited = absl::ZeroDuration();
  absl::Duration poll_after = absl::Seconds(1);
  // Why the user may not enter yet (kNone when ready), and the earliest useful retry.
  EntryBlock blocked_by = EntryBlock::kNotWaiting;
  absl::Duration retry_after = absl::ZeroDuration();
  std::string paused_reason;
  // The operator's message to the line (Policy::queue_message) while waiting or pre-queued;
  // empty otherwise. Plain text: escape it when showing it.
  std::string queue_message;
  // Set once admitted.
  std::string reservation_token;
  absl::Time reservation_expires_at = absl::InfinitePast();
  absl::Time now;

  // "prequeue", "waiting", "ready", "active", "expired", "left" or "completed".
  std::string_view status_name() const;
};

struct EnterResult {
  bool granted = false;
  bool by_bypass = false;  // the grant was made on credit (top-N bypass, empty bucket)
  bool repeated = false;   // the user had already been admitted; the first grant is returned
  std::string reservation_token;
  absl::Time reservation_expires_at = absl::InfinitePast();
  // On denial: why, in words a user can be shown, and when to try again.
  EntryBlock reason = EntryBlock::kNone;
  std::string message;
  absl::Duration retry_after = absl::ZeroDuration();
  QueueStatus status;
};

struct EventStats {
  std::string event_id;
  int64_t waiting = 0;    // in line with a place
  int64_t prequeued = 0;  // in the pre-queue, before the opening
  int64_t drawn = 0;      // random method: drawn, not entered yet (part of `waiting`)
  int64_t granted = 0;    // holding a grant, not entered yet (part of `waiting`)
  int64_t active = 0;
  int64_t joined_total = 0;
  int64_t admitted_total = 0;
  int64_t admitted_by_bypass = 0;
  int64_t admitted_by_safety_net = 0;   // admitted by Join into an empty line
  int64_t admitted_by_passthrough = 0;  // admitted by the passthrough method
  int64_t refused_total = 0;            // joins refused by the schedule or the reject method
  bool opened = false;                  // see docs/rules.md, "Fair openings"
  int64_t shuffled_at_opening = 0;      // pre-queued users placed by the opening's shuffle
  int64_t expired_total = 0;
  int64_t active_timed_out_total = 0;
  int64_t left_total = 0;
  int64_t completed_total = 0;
  int64_t passed_total = 0;  // absent users passed over by the grants (they keep their place)
  int64_t lapsed_total = 0;  // grants not claimed within the claim window
  double bucket_tokens = 0;
  double admission_rate_per_sec = 0;  // measured over the sliding windows
  double rate_confidence = 0;
  absl::Time now;
};

class WaitingRoom {
 public:
  // A room over any store. InvalidArgument when the options or their policy are invalid.
  static absl::StatusOr<std::unique_ptr<WaitingRoom>> Create(std::unique_ptr<Store> store,
                                                             Options options = {});
  // A room over a new in-memory store that reads `clock` (not owned; SystemClock if null).
  static absl::StatusOr<std::unique_ptr<WaitingRoom>> CreateInMemory(Options options = {},
                                                                     Clock* clock = nullptr);

  WaitingRoom(const WaitingRoom&) = delete;
  WaitingRoom& operator=(const WaitingRoom&) = delete;
  ~WaitingRoom();  // stops the sweeper

  // Joins the line (or the pre-queue), or is admitted at once by the passthrough method or the
  // safety net (the status is then active, with its reservation token). AlreadyExists when
  // the user already waits or is active in the event; FailedPrecondition, with a message for
  // the user, when the event's schedule or its reject method refuses new arrivals.
  absl::StatusOr<QueueStatus> Join(std::string_view event_id, std::string_view user_id);
  // The user's place; this is the heartbeat. NotFound for unknown tokens.
  absl::StatusOr<QueueStatus> Status(std::string_view token);
  // The place of a user who already joined, found by user id rather than token: for a shell
  // that authenticated the user (a second tab, a lost token) and hands the place back instead
  // of refusing a second Join. A heartbeat, like Status. NotFound when the user has no place
  // in the event (never joined, or it ended: left, completed, expired).
  absl::StatusOr<QueueStatus> Find(std::string_view event_id, std::string_view user_id);
  // Admission, or a denial with a reason and a retry-after.
  absl::StatusOr<EnterResult> Enter(std::string_view token);
  // Leaves the room at once (waiting or active).
  absl::StatusOr<QueueStatus> Leave(std::string_view token);
  // An admitted user is done: frees their place in the active set.
  absl::StatusOr<QueueStatus> Complete(std::string_view token);

  // The operator's valve: creates the event or changes its policy, effective at once.
  absl::Status SetPolicy(std::string_view event_id, const Policy& policy);
  absl::StatusOr<Policy> GetPolicy(std::string_view event_id);
  absl::StatusOr<EventStats> Stats(std::string_view event_id);
  // What anyone may know about the event's room (room_outlook.h): two store reads (the
  // counters, then the policy). NotFound for an unknown event.
  absl::StatusOr<RoomOutlook> Outlook(std::string_view event_id);
  absl::StatusOr<std::vector<std::string>> Events();

  // Applies every passed deadline of every event; returns how many were applied. The
  // background sweeper calls this every sweep_interval.
  absl::StatusOr<int64_t> SweepAll();

  Store& store() { return *store_; }
  const Options& options() const { return options_; }

 private:
  class Sweeper;
  WaitingRoom(std::unique_ptr<Store> store, Options options);

  std::unique_ptr<Store> store_;
  // The store's short way for Join and Status, when it has one (the in-memory store's); null
  // otherwise. Internal: src/room/facade_calls.h.
  internal::FacadeCalls* facade_calls_ = nullptr;
  Options options_;
  std::unique_ptr<Sweeper> sweeper_;
};

}  // namespace admission

#endif  // ADMISSION_ROOM_WAITING_ROOM_H_
