// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/room_outlook.h"

#include <algorithm>
#include <string>

#include "room/rate_estimate.h"

namespace admission {
namespace {

RoomState StateOf(const Policy& p, const EventCounters& c) {
  // An event opens once (at opens_at); before that the schedule says not_open or prequeue.
  if (!c.opened && p.opens_at.has_value() && c.now < *p.opens_at) {
    if (p.prequeue_opens_at.has_value() && c.now < *p.prequeue_opens_at) {
      return RoomState::kNotOpen;
    }
    return RoomState::kPrequeue;
  }
  if (p.method == QueueMethod::kReject || (p.closes_at.has_value() && c.now >= *p.closes_at)) {
    return RoomState::kClosed;
  }
  return p.paused ? RoomState::kPaused : RoomState::kQueueing;
}

}  // namespace

std::string_view RoomStateName(RoomState state) {
  switch (state) {
    case RoomState::kNotOpen:
      return "not_open";
    case RoomState::kPrequeue:
      return "prequeue";
    case RoomState::kQueueing:
      return "queueing";
    case RoomState::kPaused:
      return "paused";
    case RoomState::kClosed:
      return "closed";
  }
  return "unknown";
}

RoomOutlook MakeRoomOutlook(std::string_view event_id, const Policy& policy,
                            const EventCounters& c) {
  RoomOutlook o;
  o.event_id = std::string(event_id);
  o.state = StateOf(policy, c);
  o.waiting = c.waiting + c.prequeued;
  o.active = c.active;
  o.queue_message = policy.queue_message;
  o.now = c.now;

  const RateEstimate rate = EstimateRate(c.rate, c.now);
  const LineSpeed speed = EstimateLineSpeed(c.rate, c.now);
  o.eta_confidence = rate.confidence;
  if (o.state == RoomState::kNotOpen || o.state == RoomState::kPrequeue) {
    // A newcomer's place is drawn at the opening among the pre-queue (WaitingRoom's eta_high
    // for the last of them).
    const absl::Duration to_opening = std::max(absl::ZeroDuration(), *policy.opens_at - c.now);
    o.eta_back = to_opening + TimeToReach(speed, c.prequeued, absl::ZeroDuration());
  } else if (policy.method == QueueMethod::kPassthrough && !policy.paused) {
    o.eta_back = absl::ZeroDuration();
    o.eta_confidence = 1;
  } else {
    // Everyone in line who holds no grant yet is still to be reached before the newcomer
    // (absent users among them are passed over quickly, which TimeToReach models); the tier
    // wait at the newcomer's place is a floor.
    const int64_t ahead = std::max<int64_t>(0, c.waiting - c.granted);
    o.eta_back = std::max(TimeToReach(speed, ahead, absl::ZeroDuration()),
                          TierWait(policy.wait_tiers, c.waiting + 1));
  }
  if (o.eta_back == absl::InfiniteDuration()) o.eta_confidence = 0;
  return o;
}

}  // namespace admission
