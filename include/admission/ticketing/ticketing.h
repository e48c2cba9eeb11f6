// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticketing flow after admission, as reusable parts with two stores behind them:
//   - an IdempotencyStore (idempotency.h): Idempotency-Key handling shared by every process;
//   - an Inventory (inventory.h): seats, holds with a TTL, reservations that cannot oversell;
//   - an OutcomeQueue (outcome_queue.h) and a Worker (worker.h): outcome messages (a hold
//     expired, a payment was approved or failed) applied at a set pace, with retries and a
//     dead-letter list.
// This header bundles them (Ticketing), makes the in-memory bundle, and wires the standard
// messages to the inventory (MakeTicketingHandler). The Redis bundle is in
// admission/redis/ticketing.h.
//
// Example:
//   absl::StatusOr<admission::Ticketing> t = admission::NewMemoryTicketing();
//   admission::InventorySpec spec;
//   spec.seat_ids = {"A-1", "A-2"};
//   absl::Status installed = t->inventory->SetInventory("concert", spec);
//   admission::HoldRequest request;
//   request.event_id = "concert";
//   request.user_id = "user-42";
//   request.seat_ids = {"A-1"};
//   absl::StatusOr<admission::Reservation> hold = t->inventory->Hold(request);  // 60 s
//   // The payment provider said yes: queue the outcome, a worker applies it.
//   auto queued = t->outcomes->Publish(
//       admission::PaymentApprovedMessage(hold->reservation_id, 4999, "EUR"));
//   admission::Worker worker(t->outcomes.get(),
//                            admission::MakeTicketingHandler(t->inventory.get()));
//   auto step = worker.Step();  // the reservation is CONFIRMED, seat A-1 SOLD
#ifndef ADMISSION_TICKETING_TICKETING_H_
#define ADMISSION_TICKETING_TICKETING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/idempotency.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/outcome_queue.h"
#include "admission/ticketing/worker.h"

namespace admission {

struct TicketingOptions {
  // Source of time for every part; not owned, must outlive the bundle. nullptr means
  // SystemClock(). (Also on Redis: the ticketing scripts take the time from the caller, so
  // that tests drive them with a SimulatedClock; processes sharing a Redis should keep their
  // clocks in sync, a skew of d moves hold expiries and leases by d.)
  Clock* clock = nullptr;

  // Idempotency: how long a finished response replays, how long a started request holds its
  // key, and the largest response stored. [5 min, 30 s, 64 KiB]
  absl::Duration idempotency_ttl = absl::Minutes(5);
  absl::Duration idempotency_lease = absl::Seconds(30);
  std::size_t max_idempotent_response_bytes = 64 * 1024;

  // Inventory: a hold's duration when the request names none; how long ended reservations
  // stay readable; holds past expiry given back at the start of each Hold, SetInventory and
  // GetAvailability on an event. [60 s, 24 h, 16]
  absl::Duration default_hold_ttl = absl::Seconds(60);
  absl::Duration reservation_retention = absl::Hours(24);
  int64_t expire_per_call = 16;

  // Queue: its name (processes using the same name share it), and how long the ids of
  // completed messages are remembered to drop duplicates. [ticketing, 24 h]
  std::string queue_name = "ticketing";
  absl::Duration queue_dedupe_window = absl::Hours(24);
};

// The three parts over one store. Each is thread-safe; they share the store's connections
// (Redis) and clock.
struct Ticketing {
  std::unique_ptr<IdempotencyStore> idempotency;
  std::unique_ptr<Inventory> inventory;
  std::unique_ptr<OutcomeQueue> outcomes;
};

// The in-memory bundle, for one process (state is lost with it). InvalidArgument for bad
// options (non-positive durations, a bad queue name).
absl::StatusOr<Ticketing> NewMemoryTicketing(const TicketingOptions& options = {});

// Checks the options (shared by both stores).
absl::Status ValidateTicketingOptions(const TicketingOptions& options);

// --- The standard outcome messages ---------------------------------------------------------
// Their payload is the reservation id (payment_approved: "<reservation id> <amount>
// <currency>", what was paid); their id is "<type>:<reservation id>", so each happens at most
// once per reservation however often it is published.
inline constexpr std::string_view kHoldExpired = "hold_expired";          // -> Expire
inline constexpr std::string_view kPaymentApproved = "payment_approved";  // -> Confirm
inline constexpr std::string_view kPaymentFailed = "payment_failed";      // -> Cancel
inline constexpr std::string_view kCancelRequested = "cancel_requested";  // -> Cancel

OutcomeMessage HoldExpiredMessage(std::string_view reservation_id);
// A payment of `amount` minor units of `currency` was approved. `not_before`: when the outcome
// may be applied (a payment provider that answers later).
OutcomeMessage PaymentApprovedMessage(std::string_view reservation_id, int64_t amount,
                                      std::string_view currency,
                                      absl::Time not_before = absl::InfinitePast());
// What a payment_approved payload says. A bare reservation id (as queued by earlier versions)
// reads as amount 0 and currency "": a payment of unstated amount. InvalidArgument for
// anything else that is not "<reservation id> <amount> <currency>".
struct PaymentApproval {
  std::string reservation_id;
  int64_t amount = 0;
  std::string currency;
};
absl::StatusOr<PaymentApproval> ParsePaymentApproval(std::string_view payload);
OutcomeMessage PaymentFailedMessage(std::string_view reservation_id,
                                    absl::Time not_before = absl::InfinitePast());
OutcomeMessage CancelRequestedMessage(std::string_view reservation_id);

struct TicketingHandlerOptions {
  // Called after a message was applied (also when it changed nothing), e.g. to end the buyer's
  // place in the waiting room once the reservation is CONFIRMED, CANCELLED or EXPIRED, or to
  // count. Not called when the handler fails. Must be thread-safe.
  std::function<void(const Delivery& delivery, const ReservationChange& change)> on_applied;
};

// A handler for the standard messages: hold_expired -> Expire, payment_approved -> Confirm,
// payment_failed and cancel_requested -> Cancel. A payment_approved goes to ConfirmPaid with
// the amount it carries: a priced reservation is confirmed only by its total in its currency,
// otherwise kPaymentMismatch (FailedPrecondition: parked, the reservation left as it is; money
// taken for the wrong total needs a person). A reservation without prices takes any payment. An
// unknown type or a malformed reservation id is InvalidArgument, so the Worker parks it at once; so
// is FailedPrecondition from the inventory (a payment approved after the hold expired: it needs a
// refund, not a retry). An unknown reservation (NotFound: never existed, or ended longer ago than
// the retention) is applied (nothing to change, on_applied is not called) for hold_expired,
// payment_failed and cancel_requested, and parked (FailedPrecondition) for payment_approved, where
// money was taken for it. Other errors (Unavailable, ...) are retried by the Worker. `inventory` is
// not owned and must outlive the handler.
OutcomeHandler MakeTicketingHandler(Inventory* inventory, TicketingHandlerOptions options = {});

// Publishes a hold_expired message for each of up to `max` holds of the sale event that are
// past their expiry (Inventory::ListExpiredHolds), and returns how many it published
// (duplicates of messages already queued are not counted). A gateway calls this for every sale
// event (Inventory::ListEvents) every second or so; the Worker then applies the expiries at its
// pace.
absl::StatusOr<int64_t> PublishExpiredHolds(Inventory& inventory, OutcomeQueue& outcomes,
                                            std::string_view event_id, int64_t max);

}  // namespace admission

#endif  // ADMISSION_TICKETING_TICKETING_H_
