// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What anyone may know about an event's room without a place in it: whether it is open, how
// many wait, how long a newcomer would wait, and the operator's message. For public status
// pages and apps deciding when to send their users (WaitingRoom::Outlook; the gateway's
// GET /api/v1/events/{id}/room). Counts and ETA are estimates: they come from the same
// counters and rate windows that a user's own ETA comes from, at one instant.
#ifndef ADMISSION_ROOM_ROOM_OUTLOOK_H_
#define ADMISSION_ROOM_ROOM_OUTLOOK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"

namespace admission {

// The room as a newcomer meets it, from the policy's schedule, method and pause.
enum class RoomState : int8_t {
  // Before prequeue_opens_at: joins are refused (not open yet).
  kNotOpen = 0,
  // From prequeue_opens_at (or the start) until the opening: joins enter the pre-queue.
  kPrequeue = 1,
  // Open: joins queue (or pass at once: passthrough, safety net).
  kQueueing = 2,
  // Open but paused: joins queue, nobody is admitted.
  kPaused = 3,
  // From closes_at on, or under the reject method: joins are refused; the line is still
  // served. Reported before a pause (it says whether a newcomer can join at all).
  kClosed = 4,
};
// "not_open", "prequeue", "queueing", "paused", "closed".
std::string_view RoomStateName(RoomState state);

struct RoomOutlook {
  std::string event_id;
  RoomState state = RoomState::kQueueing;
  // Users in line with a place plus the pre-queue's users.
  int64_t waiting = 0;
  // Admitted users not done yet.
  int64_t active = 0;
  // The ETA a user joining now at the back of the line would be shown: the far end of the
  // range for a place not drawn yet (random method, pre-queue), the time to the opening
  // included before it. InfiniteDuration when the line does not move (rate 0).
  absl::Duration eta_back = absl::ZeroDuration();
  double eta_confidence = 0;  // 0..1, as a user's eta_confidence
  // The policy's queue_message ('' none): plain text.
  std::string queue_message;
  absl::Time now;  // the store's instant of the counters
};

// The outlook from an event's policy and counters (read at counters.now).
RoomOutlook MakeRoomOutlook(std::string_view event_id, const Policy& policy,
                            const EventCounters& counters);

}  // namespace admission

#endif  // ADMISSION_ROOM_ROOM_OUTLOOK_H_
