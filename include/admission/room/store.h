// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Store is where a waiting room's state lives and where its rules are applied. Each user
// action is one atomic call on one event: the in-memory store takes the event's lock, the Redis
// store runs one Lua script. Both stores implement exactly the same behaviour (the conformance
// tests in tests/ run against each), so anything an embedder observes through WaitingRoom is
// the same whichever store is behind it.
//
// Callers normally use WaitingRoom (waiting_room.h), which validates input, makes tokens and
// turns the raw facts below into ETAs and poll intervals. Store implementations may assume that
// every id and token they are given has been validated (see ids.h).
//
// Time: a store reads the time once per call, from its own source (a Clock for the in-memory
// store; the Redis server's clock or an injected Clock for the Redis store), and reports that
// instant back as `now` so that callers never need a second clock.
#ifndef ADMISSION_ROOM_STORE_H_
#define ADMISSION_ROOM_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"

namespace admission {

enum class UserState {
  kWaiting,    // in line (WaitingRoom reports "ready" when ready_for_entry is also true)
  kActive,     // admitted and not done yet
  kExpired,    // a ghost: heartbeat (or active TTL) ran out
  kLeft,       // left by Leave
  kCompleted,  // admitted, then done by Complete
  // In the pre-queue of an event that has not opened yet: no position until the opening draws
  // one (Ticket::opens_at says when). Last so that the numbers above stay what stores and
  // bindings already carry.
  kPrequeue,
};
std::string_view UserStateName(UserState state);

// Why Enter would be refused at this instant. Checked in this order.
enum class EntryBlock {
  kNone,          // Enter would succeed now
  kPaused,        // the operator paused the room
  kCapacityFull,  // active users are at the capacity
  kNotYourTurn,   // position is beyond bypass_top_n + whole tokens in the bucket
  kTierWait,      // has not yet waited the tier's time for this position
  kNotWaiting,    // not in line with a place: pre-queued (until opens_at; retry_after says
                  // how long), active, expired, left, completed
};
std::string_view EntryBlockName(EntryBlock block);

// Estimated admissions in each of the policy's sliding windows, ending now.
struct RateSample {
  struct Window {
    absl::Duration length;
    double admissions = 0;  // estimated count over the window (may be fractional)
    double reached = 0;     // users the grants' cursor reached (granted or passed over)
    double passes = 0;      // of those, absent users it passed over
    // The seconds the users it reached had waited since they joined: with `passes`, the rate
    // at which waiting users vanish (passes per second of waiting).
    double exposure_sec = 0;
    double departures = 0;  // users not reached yet who left or expired
  };
  std::vector<Window> windows;
  // When this event first admitted somebody; InfiniteFuture if never.
  absl::Time first_admission = absl::InfiniteFuture();
  // Waiting users the grants have not reached yet (the population `departures` come from).
  int64_t unreached = 0;
  double policy_rate_per_sec = 0;  // the configured admit_rate_per_sec
  // Active and granted users fill the capacity: grants wait for users to finish, not for the
  // bucket.
  bool at_capacity = false;
  int64_t bypass_top_n = 0;
  bool paused = false;
};

// A user's place in an event, as one store call left it.
struct Ticket {
  std::string event_id;
  std::string user_id;
  std::string token;
  UserState state = UserState::kWaiting;
  // 1 + live waiting users ahead in line order; 0 when not waiting (and when pre-queued).
  // Random method, users not drawn yet: the first place a draw can give, see position_high.
  int64_t position = 0;
  // The last place the user can have: equal to `position` when the place is known, larger for
  // a user of the random method not drawn yet (drawn users + pool size), and the pre-queue's
  // size for a pre-queued user (whose place will be drawn in 1..position_high). 0 means the
  // same as `position`.
  int64_t position_high = 0;
  // Pre-queued users: when the event opens. InfiniteFuture otherwise.
  absl::Time opens_at = absl::InfiniteFuture();
  // Waiting users ahead whom the grants have not reached yet: the grants and passes still to
  // come before this user's turn (docs/rules.md, "Presence, the cursor and grants"). 0 once
  // reached, and when not waiting. For a user not drawn yet, the unreached drawn users.
  int64_t ahead_unreached = 0;
  // Waiting and pre-queued users: until when the user counts as present (a poll after this is
  // too late to be granted in turn). InfinitePast otherwise.
  absl::Time present_until = absl::InfinitePast();
  // While the user holds a grant: when it lapses unless the user enters. InfiniteFuture
  // otherwise.
  absl::Time grant_expires_at = absl::InfiniteFuture();

  absl::Time now;        // the instant the store applied this call at
  absl::Time joined_at;  // when the user joined
  // When the user left the line (admitted or ended); InfiniteFuture while waiting.
  absl::Time left_line_at = absl::InfiniteFuture();
  // Waiting: the heartbeat deadline. Active: when the active TTL runs out. Ended: when the
  // record is forgotten.
  absl::Time deadline;

  // True exactly when Enter would succeed at `now` (a grant is held, or passthrough).
  bool ready_for_entry = false;
  EntryBlock blocked_by = EntryBlock::kNotWaiting;
  // Earliest useful retry when blocked (exact for tier waits, a lower bound otherwise).
  absl::Duration retry_after = absl::ZeroDuration();
  // The tier wait that applies at this position.
  absl::Duration tier_wait = absl::ZeroDuration();
  std::string paused_reason;
  // Waiting and pre-queued users: the policy's queue_message ('' otherwise).
  std::string queue_message;

  // Set once admitted (also on tombstones of users who were admitted).
  std::string reservation_token;
  absl::Time reservation_expires_at = absl::InfinitePast();

  RateSample rate;
};

struct JoinRequest {
  std::string_view event_id;
  std::string_view user_id;
  std::string_view token;  // the new waiting token, made by the caller
  // The reservation token handed out if the join admits the user at once (passthrough, safety
  // net), made by the caller like `token`. Required when the policy may admit on arrival: a
  // join that would admit without one is InvalidArgument.
  std::string_view reservation_token;
  // Used to create the event when it does not exist yet; nullptr: unknown events are NotFound.
  const Policy* create_with = nullptr;
};

struct EnterOutcome {
  bool granted = false;
  // The grant was made on credit (to a position within bypass_top_n while the bucket had no
  // whole token).
  bool by_bypass = false;
  // Enter was repeated by a user who was already admitted: the first grant is returned again.
  bool repeated = false;
  Ticket ticket;  // on denial, ticket.blocked_by and ticket.retry_after say why
};

struct EventCounters {
  absl::Time now;
  int64_t waiting = 0;    // in line with a place (pre-queued users are counted apart)
  int64_t prequeued = 0;  // in the pre-queue of an event that has not opened yet
  int64_t drawn = 0;      // random method: drawn users who have not entered yet (in `waiting`)
  int64_t granted = 0;    // waiting users holding a grant (in `waiting`)
  int64_t active = 0;
  int64_t joined_total = 0;  // joins accepted (refused ones are in refused_total)
  int64_t admitted_total = 0;
  int64_t admitted_by_bypass = 0;
  // Admitted by Join itself: by the safety net (also in admitted_by_bypass when on credit) and
  // by the passthrough method (which also admits waiting users through Enter; counted here).
  int64_t admitted_by_safety_net = 0;
  int64_t admitted_by_passthrough = 0;
  int64_t refused_total = 0;  // joins refused by the schedule or the reject method
  // Whether the event has opened (docs/rules.md), and how many pre-queued users were in line
  // when it did (they were placed by the shuffle).
  bool opened = false;
  int64_t shuffled_at_opening = 0;
  int64_t expired_total = 0;  // waiting users lost to the heartbeat TTL (ghosts)
  int64_t active_timed_out_total = 0;
  int64_t left_total = 0;
  int64_t completed_total = 0;
  int64_t passed_total = 0;  // absent users the grants passed over (they keep their place)
  int64_t lapsed_total = 0;  // grants not claimed within the claim window
  double bucket_tokens = 0;  // negative while bypass admissions are being repaid
  RateSample rate;
};

struct SweepOutcome {
  int64_t removed = 0;  // ghosts expired, active users timed out, records forgotten
  bool done = true;     // false when `max_entries` stopped the sweep early
};

class Store {
 public:
  virtual ~Store() = default;

  // Puts the user at the back of the line (or in the pre-queue) and starts the heartbeat, or
  // admits them at once (passthrough, safety net: the ticket is then active). AlreadyExists
  // when the user is waiting, pre-queued or active in that event; NotFound for an unknown
  // event without create_with; FailedPrecondition when the schedule or the reject method
  // refuses new arrivals. The token must be fresh (it never collides with 128 random bits).
  virtual absl::StatusOr<Ticket> Join(const JoinRequest& request) = 0;

  // The user's ticket; a waiting user's heartbeat is renewed. NotFound for unknown (or
  // forgotten) tokens.
  virtual absl::StatusOr<Ticket> Status(std::string_view event_id, std::string_view token) = 0;

  // The token of the user's place in the event (waiting, pre-queued or active), for a user
  // who comes back without it (a second tab, a reloaded page). Changes nothing: a place whose
  // heartbeat deadline has passed but was not applied yet is still found (the Status that
  // follows applies it). NotFound when the user has no place, or the event is unknown.
  virtual absl::StatusOr<std::string> FindToken(std::string_view event_id,
                                                std::string_view user_id) = 0;

  // Admits the user if ready_for_entry, handing out `reservation_token`; otherwise a denial
  // (and the heartbeat is renewed; pre-queued users are denied with kNotWaiting until the
  // opening). A user already admitted gets their first grant again. FailedPrecondition when
  // the user is no longer in the room.
  virtual absl::StatusOr<EnterOutcome> Enter(std::string_view event_id, std::string_view token,
                                             std::string_view reservation_token) = 0;

  // Removes the user at once, wherever they are. Repeating it is harmless.
  virtual absl::StatusOr<Ticket> Leave(std::string_view event_id, std::string_view token) = 0;

  // Ends an admitted user's active time. FailedPrecondition unless admitted (repeats are OK).
  virtual absl::StatusOr<Ticket> Complete(std::string_view event_id, std::string_view token) = 0;

  // Applies deadlines that have passed (ghosts, active TTLs, forgotten records), oldest first,
  // at most `max_entries` of them. Every other call also sweeps a few, so this is only needed
  // to bound how long a ghost is counted when the event is otherwise quiet.
  virtual absl::StatusOr<SweepOutcome> Sweep(std::string_view event_id, int64_t max_entries) = 0;

  // Creates the event or replaces its policy; takes effect at once (the bucket keeps its
  // tokens, capped at the new burst). The policy must be valid (ValidatePolicy).
  virtual absl::Status SetPolicy(std::string_view event_id, const Policy& policy) = 0;
  virtual absl::StatusOr<Policy> GetPolicy(std::string_view event_id) = 0;

  virtual absl::StatusOr<EventCounters> Stats(std::string_view event_id) = 0;

  // Every event the store knows, in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListEvents() = 0;
};

}  // namespace admission

#endif  // ADMISSION_ROOM_STORE_H_
