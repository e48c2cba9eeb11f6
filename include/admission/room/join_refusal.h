// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Why a Join was refused by the event's schedule or its queueing method. Join answers such a
// refusal with FailedPrecondition and a message meant for the person joining; a program that
// must tell the cases apart (an HTTP shell choosing its answer, a client computing when to
// retry) reads them here instead of parsing the message. Both stores attach the same facts.
//
// Example: a sale whose line opens in an hour refuses early joins.
//   #include <iostream>
//   #include "admission/room/waiting_room.h"
//   std::unique_ptr<WaitingRoom> room = *WaitingRoom::CreateInMemory();
//   Policy policy;
//   policy.prequeue_opens_at = absl::Now() + absl::Hours(1);
//   policy.opens_at = *policy.prequeue_opens_at + absl::Minutes(30);
//   if (!room->SetPolicy("concert", policy).ok()) return;
//   absl::StatusOr<QueueStatus> joined = room->Join("concert", "user-42");
//   if (std::optional<JoinRefusal> r = JoinRefusalOf(joined.status())) {
//     if (r->reason == JoinRefusal::kNotOpenYet) std::cout << "opens at " << r->at << "\n";
//   }
#ifndef ADMISSION_ROOM_JOIN_REFUSAL_H_
#define ADMISSION_ROOM_JOIN_REFUSAL_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace admission {

struct JoinRefusal {
  enum Reason {
    kRejected,    // the event's method is reject (its message is the operator's)
    kClosed,      // closes_at has passed: nobody new joins
    kNotOpenYet,  // before prequeue_opens_at
  };
  Reason reason = kRejected;
  // closes_at for kClosed, prequeue_opens_at for kNotOpenYet; InfinitePast for kRejected.
  absl::Time at = absl::InfinitePast();
};

// "rejected", "closed" or "not_open_yet".
std::string_view JoinRefusalName(JoinRefusal::Reason reason);

// The refusal a Join's status carries, or nullopt when `status` is not such a refusal.
std::optional<JoinRefusal> JoinRefusalOf(const absl::Status& status);

}  // namespace admission

#endif  // ADMISSION_ROOM_JOIN_REFUSAL_H_
