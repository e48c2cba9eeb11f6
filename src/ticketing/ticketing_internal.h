// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the ticketing stores (memory here, Redis in src/redis/ticketing/) share below the
// public fronts: time conversions, random ids, the inventory's refusal statuses and the
// in-memory parts' factories. Input checks are not here: the public calls (inventory.cc,
// idempotency.cc, outcome_queue.cc) make them before a store is called.
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
#include "common/micros.h"

namespace admission::ticketing_internal {

// Times as microseconds since the epoch, what the Lua scripts store (common/micros.h).
using internal::DurationToMicros;
using internal::kMaxExactMicros;
using internal::MicrosToTime;
using internal::TimeToMicros;

// A FailedPrecondition status carrying `error`, which InventoryErrorOf reads back: how a store
// says why it refused a Hold or a transition.
absl::Status InventoryErrorStatus(InventoryError error, std::string_view message);

// The message of a kPaymentMismatch refusal (the Lua script writes the same words).
std::string PaymentMismatchMessage(std::string_view reservation_id, const Payment& paid,
                                   int64_t total, std::string_view currency);

// What makes two holds with one request_key the same request (HoldRequest::request_key): the
// places asked for, the hold's duration and the reference, as the store records them.
std::string HoldFingerprint(const HoldRequest& request, int64_t quantity, absl::Duration ttl);
// The messages of kRequestKeyReused and kPaymentExists refusals (the Lua script writes the same
// words).
std::string RequestKeyReusedMessage();
std::string PaymentExistsMessage(std::string_view reservation_id);

// The in-memory parts (ticketing.cc bundles them). Options must have been validated.
std::unique_ptr<IdempotencyStore> NewMemoryIdempotencyStore(const TicketingOptions& options);
std::unique_ptr<Inventory> NewMemoryInventory(const TicketingOptions& options);
std::unique_ptr<OutcomeQueue> NewMemoryOutcomeQueue(const TicketingOptions& options);

}  // namespace admission::ticketing_internal

#endif  // ADMISSION_SRC_TICKETING_TICKETING_INTERNAL_H_
