// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory store's short way for WaitingRoom's hot calls, Join and Status (the
// heartbeat). Not part of the Store interface: WaitingRoom finds it on a store that implements
// it, and takes Store's way otherwise. What it saves over Store's way:
//   - the token is parsed once: WaitingRoom reads the event id and the key together (Join
//     makes the token, so it knows the key) and the store does not read the digits again;
//   - the ticket carries no RateSample: the store makes the two estimates WaitingRoom shows
//     (EstimateRate and EstimateLineSpeed at the ticket's `now`) from its windows in place,
//     and only for a waiting or pre-queued user, the only ones whose answer uses them.
// Everything else, and every answer, is what Store's way gives.
#ifndef ADMISSION_SRC_ROOM_FACADE_CALLS_H_
#define ADMISSION_SRC_ROOM_FACADE_CALLS_H_

#include <string_view>

#include "absl/status/status.h"
#include "admission/room/store.h"
#include "common/tokens.h"
#include "room/rate_estimate.h"

namespace admission::internal {

// A ticket's estimates, made under the store's lock: exactly EstimateRate(ticket.rate,
// ticket.now) and EstimateLineSpeed(ticket.rate, ticket.now) of the RateSample Store's way
// would have given. Set for waiting and pre-queued users only.
struct TicketEstimates {
  bool set = false;
  RateEstimate rate;
  LineSpeed speed;
};

class FacadeCalls {
 public:
  // Store::Join, `key` being the key of request.token, the ticket made in `*ticket` (a fresh
  // Ticket: the caller's, so that it is not moved from frame to frame). Its `rate` is left
  // empty.
  virtual absl::Status JoinParsed(const JoinRequest& request, const TokenKey& key, Ticket* ticket,
                                  TicketEstimates* estimates) = 0;
  // Store::Status, `key` being the key of `token`; the ticket as for JoinParsed.
  virtual absl::Status StatusParsed(std::string_view event_id, std::string_view token,
                                    const TokenKey& key, Ticket* ticket,
                                    TicketEstimates* estimates) = 0;

 protected:
  ~FacadeCalls() = default;
};

}  // namespace admission::internal

#endif  // ADMISSION_SRC_ROOM_FACADE_CALLS_H_
