// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticket sale behind the waiting room, over HTTP: seats and prices, holds within the
// limits per person, cancel, payment intents that must pay the hold's total, the worker that
// applies payment outcomes and hold expiries, and the dead-letter admin routes. Like the rest of
// the gateway it is a shell: the rules (no oversell, hold TTLs, idempotent transitions, retries,
// dead letters) are the library's (admission/ticketing/ticketing.h); this file parses,
// authenticates, calls and renders.
//
//   PUT  /admin/v1/events/{event_id}/inventory      {"seat_ids":[...]} | {"general_admission":N},
//                                                   prices and limits per person
//   GET  /api/v1/events/{event_id}/seats            counts, prices, limits, and per seat
//   POST /api/v1/reservations                       hold (admission token, Idempotency-Key)
//   GET  /api/v1/reservations/{id}
//   POST /api/v1/reservations/{id}/cancel
//   POST /api/v1/reservations/{id}/confirm          403: a reservation is confirmed by its payment
//   POST /api/v1/payment/intent                     approve | fail | delay -> an event
//   POST /admin/v1/reservations/{id}/confirm        the operator confirms by hand (logged)
//   GET  /admin/v1/dead-letters, POST /admin/v1/dead-letters/{id}/replay
//
// Who may act on a reservation: the bearer of a signed token (signer.h) naming its user and
// event. A hold needs the admission token that enter hands out, and a place that is still
// active in the waiting room; the 201 answer carries a token scoped to that one reservation
// that outlives the hold, for paying, cancelling and reading it. Only a payment of the hold's
// total (applied by the worker) or the operator confirms a reservation. Cancelling and making
// a payment intent end the buyer's place in the waiting room
// (WaitingRoom::Complete), which lets the next buyer in; a hold that just expires leaves the
// place to the room's active TTL (see docs/gateway.md, "The ticket flow").
#ifndef ADMISSION_EXAMPLES_GATEWAY_TICKETING_ROUTES_H_
#define ADMISSION_EXAMPLES_GATEWAY_TICKETING_ROUTES_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/ticketing.h"
#include "admission/ticketing/worker.h"
#include "flags.h"
#include "http_message.h"
#include "metrics.h"
#include "route_context.h"
#include "route_table.h"
#include "signer.h"

namespace admission::gateway {

// The options the gateway gives the ticketing bundle: its flags' TTLs and `clock`. The bundle
// itself is opened next to the room's store (OpenStores in store_backend.h).
TicketingOptions TicketingOptionsFromFlags(const GatewayFlags& flags, Clock* clock);

// How long after its hold ends a reservation-scoped token still reads the reservation (the
// outcome of a payment, say). [15 min]
inline constexpr absl::Duration kScopedTokenGrace = absl::Minutes(15);

// This process's counts of the sale's outcomes (the /metrics counters), for the operator page.
struct TicketingCounts {
  uint64_t holds = 0;
  uint64_t confirmed = 0;  // paid (approved payments applied by the worker) or by the operator
  uint64_t cancelled = 0;  // failed payments applied by the worker, and buyers' cancels
  uint64_t expired = 0;    // holds that ran out
  uint64_t payment_intents = 0;
  WorkerCounts worker;
};

class TicketingRoutes {
 public:
  // `ctx`'s objects must outlive it.
  TicketingRoutes(const RouteContext& ctx, Ticketing ticketing);
  ~TicketingRoutes();  // Stop()s
  TicketingRoutes(const TicketingRoutes&) = delete;
  TicketingRoutes& operator=(const TicketingRoutes&) = delete;

  // Adds the routes; this object must outlive `routes`' handlers.
  void AddRoutes(RouteTable& routes);

  // Starts the worker thread (at --worker_pace_per_sec) and the hold-expiry scan (every
  // --hold_expiry_scan_ms). Stop is idempotent.
  absl::Status Start();
  void Stop();

  // One pass of the expiry scan: a hold_expired event for every hold past its expiry, in every
  // event with an inventory (up to 1,000 per event). Returns how many were published.
  absl::StatusOr<int64_t> PublishExpiredHolds();
  // One step of the worker (tests that do not Start() step it after moving their clock).
  absl::StatusOr<WorkerStep> StepWorker();

  // The ticketing series of /metrics: this process's counters, the queue's state and the
  // seat counts of up to `max_events` events (sorted by id), both from the store.
  std::string RenderMetrics(int64_t max_events);
  // This process's counters (the ones RenderMetrics writes).
  TicketingCounts Counts() const;

  IdempotencyStore* idempotency_store() { return ticketing_.idempotency.get(); }
  Inventory& inventory() { return *ticketing_.inventory; }
  OutcomeQueue& events() { return *ticketing_.outcomes; }

 private:
  // Handlers.
  void PutInventory(const Request& req, Response& res);
  void GetSeats(const Request& req, Response& res);
  void CreateReservation(const Request& req, Response& res);
  void GetReservation(const Request& req, Response& res);
  void ConfirmReservation(const Request& req, Response& res);
  void AdminConfirmReservation(const Request& req, Response& res);
  void CancelReservation(const Request& req, Response& res);
  void PaymentIntent(const Request& req, Response& res);
  void ListDeadLetters(const Request& req, Response& res);
  void ReplayDeadLetter(const Request& req, Response& res);

  // The claims of the request's bearer token; 401 written and nullopt when it is missing,
  // tampered with or expired.
  std::optional<ReservationClaims> Authenticate(const Request& req, Response& res);
  // Reservation `id` if the claims may act on it (their user's, in their event, and the
  // token's own reservation when the token is scoped); the error written and nullopt else.
  std::optional<Reservation> OwnReservation(const ReservationClaims& claims, std::string_view id,
                                            Response& res);
  // Writes the error of a failed library call: inventory refusals as 409 with their own code
  // (sold_out, seat_unavailable, hold_expired, ...), the rest as the gateway does.
  void ReplyLibraryError(Response& res, const absl::Status& status);
  // Ends the buyer's place in the waiting room. Best effort: the purchase step it follows
  // has happened whatever the room answers.
  void EndAdmission(const ReservationClaims& claims);
  // Counts a transition that changed a reservation.
  void CountChange(const ReservationChange& change);
  void ScanLoop();

  const RouteContext ctx_;
  const GatewayFlags& flags_;
  Clock* const clock_;
  Ticketing ticketing_;
  std::unique_ptr<Worker> worker_;

  std::mutex scan_mu_;
  std::condition_variable scan_wake_;
  bool scan_stop_ = false;  // guarded by scan_mu_
  std::thread scan_thread_;

  // This process's counters (the store's truth is in the queue stats and seat counts).
  std::atomic<uint64_t> holds_{0};
  std::atomic<uint64_t> confirmed_{0};
  std::atomic<uint64_t> cancelled_{0};
  std::atomic<uint64_t> expired_{0};
  std::atomic<uint64_t> payment_intents_{0};
  std::atomic<uint64_t> expiries_published_{0};
  std::atomic<uint64_t> scan_errors_{0};
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_TICKETING_ROUTES_H_
