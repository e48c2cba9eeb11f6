// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the two ticketing stores share: input checks done before a store is touched (so both
// refuse the same things with the same messages), time conversions and the in-memory parts'
// factories.
#ifndef ADMISSION_SRC_TICKETING_TICKETING_INTERNAL_H_
#define ADMISSION_SRC_TICKETING_TICKETING_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "admission/ticketing/idempotency.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/outcome_queue.h"
#include "admission/ticketing/ticketing.h"

namespace admission::ticketing_internal {

// Times as microseconds since the epoch (what the Lua scripts store); InfinitePast and
// anything before the epoch become 0, InfiniteFuture the largest exact Lua integer.
int64_t ToMicros(absl::Time t);
absl::Time FromMicros(int64_t us);
int64_t DurationMicros(absl::Duration d);
// Largest integer a Lua number (a double) holds exactly.
inline constexpr int64_t kMaxExact = int64_t{1} << 53;

// 32 random lowercase hex digits (128 bits from the kernel's CSPRNG).
std::string RandomHex();

// Hold requests: ids, seats (distinct, valid, at most kMaxSeatsPerHold), quantity, TTL. Sets
// *quantity to the number of places wanted and *ttl to the hold's duration.
absl::Status ValidateHoldRequest(const HoldRequest& request, absl::Duration default_ttl,
                                 int64_t* quantity, absl::Duration* ttl);
// Inventory specs: exactly one of named seats (1..kMaxNamedSeats distinct valid ids) or
// general admission (1..kMaxGeneralAdmission).
absl::Status ValidateInventorySpec(const InventorySpec& spec);
// A reservation id's event, with the same message for every malformed id.
absl::StatusOr<std::string_view> ReservationEvent(std::string_view reservation_id);

absl::Status ValidateOutcomeMessage(const OutcomeMessage& event);
absl::Status ValidateFingerprint(std::string_view fingerprint);
// Cuts an error text to kMaxMessageErrorBytes.
std::string TruncateError(std::string_view error);

// The in-memory parts (ticketing.cc bundles them). Options must have been validated.
std::unique_ptr<IdempotencyStore> NewMemoryIdempotencyStore(const TicketingOptions& options);
std::unique_ptr<Inventory> NewMemoryInventory(const TicketingOptions& options);
std::unique_ptr<OutcomeQueue> NewMemoryEventQueue(const TicketingOptions& options);

}  // namespace admission::ticketing_internal

#endif  // ADMISSION_SRC_TICKETING_TICKETING_INTERNAL_H_
