// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Seat inventory with holds: what a ticket sale sells once the waiting room lets a buyer in.
//
// Each sale event has an inventory, either
//   - named seats ("A-1", "A-2", ...), each AVAILABLE, HELD (by one reservation) or SOLD; or
//   - general admission: N interchangeable places, counted as available, held and sold.
// A buyer's Hold takes seats for a short time (60 s by default) as a reservation in status
// HOLD; Confirm sells them (CONFIRMED, after payment), Cancel gives them back (CANCELLED), and
// a hold whose time ran out is given back by Expire (EXPIRED). A reservation is never
// half-applied: a Hold takes ALL the requested seats or none, in one atomic conditional update
// (the event's lock in memory, one Lua script on Redis), so no seat is ever held or sold twice
// and an event never sells more than it has, whatever the concurrency.
//
//        Hold            Confirm
//   ---------> HOLD ------------------> CONFIRMED      seats SOLD
//               |  \------ Cancel -----> CANCELLED     seats back to AVAILABLE
//               \--- (hold_expires_at) -> EXPIRED      seats back to AVAILABLE
//
// Every transition can be applied again without effect, so that outcome messages delivered
// twice (outcome_queue.h) change nothing: confirming a CONFIRMED reservation returns it unchanged
// (changed == false), cancelling a CANCELLED or EXPIRED one too, and expiring anything but a
// HOLD past its expiry does nothing. A transition that contradicts the reservation's state
// (confirming a CANCELLED one, cancelling a CONFIRMED one) is FailedPrecondition.
//
// Time comes from the store's Clock. A hold is live while now < hold_expires_at. Past that
// instant it can no longer be confirmed: Confirm (and Cancel) apply the expiry first, so the
// reservation ends EXPIRED either way. Holds past expiry are found by ListExpiredHolds (oldest
// first, bounded work per call; ticketing.h's PublishExpiredHolds turns them into hold_expired
// messages for the worker) or given back directly by SweepExpiredHolds. Every Hold, SetInventory
// and GetAvailability call on an event also gives back up to
// TicketingOptions::expire_per_call of its holds past expiry first, so that expired holds
// seldom stand in a buyer's way even before the worker gets to them.
//
// Errors: InvalidArgument for malformed ids and requests (ValidateSeatId, HoldRequest rules,
// a seat the event does not have, seat ids for a general-admission event);
// NotFound for an event without inventory or an unknown reservation; FailedPrecondition for
// a Hold that cannot be served and for transitions the state forbids, with an
// InventoryError (InventoryErrorOf) that says which, so that a shell can answer 409 with the
// right code; Unavailable / DeadlineExceeded from a remote store.
//
// Prices (optional): an inventory may carry prices in one currency, in minor units (cents): a
// price for every place, and for named seats their own prices where they differ. A Hold then
// answers the reservation's total and currency, stored with it, so that a later price change
// does not change what a hold costs. An inventory without prices sells at no stated price
// (Reservation::currency is empty) and a payment of any amount is taken for it.
//
// Limits per person (SaleLimits, set with the inventory, defaults fit a concert sale): seats
// per hold, open holds per user, and seats per user counting held and sold. A Hold checks them
// in the same atomic step that takes the seats, so concurrent holds of one user cannot pass
// them (FailedPrecondition kHoldTooLarge, kHoldLimit, kUserLimit). A cancelled or expired hold
// gives its seats back to the user's allowance; sold seats count for good.
//
// Implementations: NewMemoryTicketing (ticketing.h) and NewRedisTicketing
// (admission/redis/ticketing.h). Both are thread-safe and behave the same (tests/ticketing/ run
// against both). The public calls check their input and pass only valid input on to the
// implementation (the private Do... calls), so every store refuses the same things with the same
// messages.
#ifndef ADMISSION_TICKETING_INVENTORY_H_
#define ADMISSION_TICKETING_INVENTORY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {

// Seat ids: 1..64 characters of [A-Za-z0-9_.:-].
inline constexpr std::size_t kMaxSeatIdLength = 64;
// Named seats per event: at most 100,000. General admission: at most 10,000,000 places.
inline constexpr int64_t kMaxNamedSeats = 100000;
inline constexpr int64_t kMaxGeneralAdmission = 10000000;
// Seats per reservation: 1..100.
inline constexpr int64_t kMaxSeatsPerHold = 100;
// A reservation's external reference: 0..200 characters of [A-Za-z0-9_.:@-].
inline constexpr std::size_t kMaxExternalRefLength = 200;
// A price: 1..10^12 minor units (10 billion in major units); a hold's total is at most
// kMaxSeatsPerHold of them, well inside the integers a Lua number holds exactly.
inline constexpr int64_t kMaxPrice = 1'000'000'000'000;
inline constexpr int64_t kMaxReservationTotal = kMaxSeatsPerHold * kMaxPrice;
// Open holds per user and event: 1..100.
inline constexpr int64_t kMaxHoldsPerUser = 100;

absl::Status ValidateSeatId(std::string_view seat_id);
absl::Status ValidateExternalRef(std::string_view ref);
// Three capital letters (ISO 4217: "EUR", "USD", ...).
absl::Status ValidateCurrency(std::string_view currency);

// A reservation id is "<event_id>.<32 lowercase hex digits>", like a waiting token (ids.h):
// the event rides along, so any process routes it to its event (and on Redis Cluster to its
// shard) without a lookup, and 128 random bits make it unguessable.
std::string NewReservationId(std::string_view event_id);
// The event id inside a well-formed reservation id; InvalidArgument otherwise.
absl::StatusOr<std::string_view> EventIdOfReservation(std::string_view reservation_id);

enum class ReservationStatus { kHold, kConfirmed, kCancelled, kExpired };
// "HOLD", "CONFIRMED", "CANCELLED", "EXPIRED".
std::string_view ReservationStatusName(ReservationStatus status);

enum class SeatState { kAvailable, kHeld, kSold };
// "AVAILABLE", "HELD", "SOLD".
std::string_view SeatStateName(SeatState state);

// Why a Hold could not be served or a transition was refused: the payload of the
// FailedPrecondition status, for a shell that maps each to its own error code.
enum class InventoryError {
  kNone,               // not an inventory refusal (OK, or another kind of error)
  kSoldOut,            // fewer places available than requested ("sold_out")
  kSeatUnavailable,    // a requested named seat is held or sold ("seat_unavailable")
  kHoldExpired,        // Confirm after hold_expires_at: the hold is now EXPIRED ("hold_expired")
  kInvalidTransition,  // the reservation's status forbids it ("invalid_transition")
  kInventoryInUse,     // SetInventory would drop or shrink below held or sold seats
                       // ("inventory_in_use")
  kHoldTooLarge,       // more seats than the event's seats_per_hold ("hold_too_large")
  kHoldLimit,          // the user has holds_per_user open holds in the event ("hold_limit")
  kUserLimit,          // the hold would take the user past seats_per_user ("user_limit")
  kPaymentMismatch,    // ConfirmPaid with another amount or currency than the total
                       // ("payment_mismatch")
  kRequestKeyReused,   // a Hold's request_key was used before for another request
                       // ("request_key_reused")
  kPaymentExists,      // RecordPaymentIntent with another intent than the one recorded
                       // ("payment_exists")
};
// "sold_out", "seat_unavailable", ... ("" for kNone): usable as API error codes.
std::string_view InventoryErrorName(InventoryError error);
// The InventoryError a status carries (kNone if none).
InventoryError InventoryErrorOf(const absl::Status& status);

// A named seat's own price (minor units, 1..kMaxPrice).
struct SeatPrice {
  std::string seat_id;
  int64_t price = 0;
};

// Limits per person in one event. The defaults let a buyer take a group of friends to a
// concert, once, and stop one admission from hoarding the hall.
struct SaleLimits {
  int64_t seats_per_hold = 10;  // 1..kMaxSeatsPerHold
  int64_t holds_per_user = 1;   // open (HOLD) reservations at a time: 1..kMaxHoldsPerUser
  int64_t seats_per_user = 10;  // held + sold: 1..kMaxGeneralAdmission
};

// What SetInventory installs: named seats (seat_ids, in display order, no duplicates) or, when
// seat_ids is empty, general_admission places; their prices, and the limits per person.
struct InventorySpec {
  std::vector<std::string> seat_ids;
  int64_t general_admission = 0;
  // Empty: no prices (then price and seat_prices must be empty too). Else ValidateCurrency,
  // and every place has a price: `price` (1..kMaxPrice) for each place or named seat without
  // its own, `seat_prices` for named seats of the spec (each at most once). On a named-seat
  // event price may be 0 when every seat has its own.
  std::string currency;
  int64_t price = 0;
  std::vector<SeatPrice> seat_prices;
  SaleLimits limits;
};

struct SeatCounts {
  int64_t total = 0;
  int64_t available = 0;
  int64_t held = 0;
  int64_t sold = 0;
};

struct SeatInfo {
  std::string seat_id;
  SeatState state = SeatState::kAvailable;
  int64_t price = 0;  // its price (0 when the event has no prices)
};

struct Availability {
  std::string event_id;
  bool general_admission = false;
  SeatCounts counts;
  // As the inventory was set: currency ("" without prices) and the price of a place without
  // its own; the limits per person.
  std::string currency;
  int64_t price = 0;
  SaleLimits limits;
  // Named seats only, in the order SetInventory gave them (empty unless asked for).
  std::vector<SeatInfo> seats;
  absl::Time now;  // the store's time of the reading
};

struct HoldRequest {
  std::string event_id;
  std::string user_id;  // ValidateUserId (ids.h)
  // Either the named seats wanted (1..kMaxSeatsPerHold distinct ids; quantity 0 or equal to
  // their number) or, with seat_ids empty, a quantity (1..kMaxSeatsPerHold). A quantity on a
  // named-seat event takes the first available seats in inventory order; seat ids on a
  // general-admission event are InvalidArgument.
  std::vector<std::string> seat_ids;
  int64_t quantity = 0;
  // How long the hold lasts; zero means TicketingOptions::default_hold_ttl (60 s). At most
  // one hour.
  absl::Duration hold_ttl = absl::ZeroDuration();
  // Optional, opaque to the library, kept with the reservation (ValidateExternalRef): e.g.
  // the buyer's waiting-room token, so that whoever sees the reservation end (an outcome
  // handler's on_applied) can end the buyer's place in the waiting room.
  std::string external_ref;
  // Optional: makes the hold exactly-once per key (the client's Idempotency-Key;
  // ValidateIdempotencyKey in idempotency.h). The store records the key, for this user, with
  // what the hold did (the reservation it made, or its refusal) in the same atomic step that
  // takes the seats, and keeps it for TicketingOptions::idempotency_ttl. A Hold that finds its
  // key recorded takes nothing: with the same request (seats or quantity, hold_ttl,
  // external_ref) it answers the first outcome again (the reservation as it is now, or the same
  // refusal); with another request it is FailedPrecondition kRequestKeyReused. So a client
  // that lost the answer (a timeout, a 503, a dropped connection, a crashed server) retries
  // with the same key and gets the hold it made, or the one hold if the first never ran.
  // Refusals that leave no trace (InvalidArgument, NotFound, Unavailable) are not recorded.
  std::string request_key;
};

struct Reservation {
  std::string reservation_id;
  std::string event_id;
  std::string user_id;
  std::string external_ref;  // as given to Hold
  ReservationStatus status = ReservationStatus::kHold;
  // The seats taken: their ids on a named-seat event (in inventory order), empty for general
  // admission.
  std::vector<std::string> seat_ids;
  int64_t quantity = 0;
  // What the seats cost when the hold was made (minor units of `currency`); 0 and "" when the
  // event has no prices.
  int64_t total = 0;
  std::string currency;
  absl::Time created_at;
  absl::Time hold_expires_at;
  absl::Time updated_at;  // the last transition (created_at while HOLD)
};

// What a payment paid, as ConfirmPaid checks it against a reservation's total. A payment of
// unstated amount (amount 0, currency "") pays only for a reservation without prices.
struct Payment {
  int64_t amount = 0;  // minor units
  std::string currency;
};

// The answer to a transition: the reservation after it, and whether this call changed it
// (false when the transition had already been applied, or Expire found a live hold).
struct ReservationChange {
  Reservation reservation;
  bool changed = false;
};

// A buyer's payment intent on a reservation, as RecordPaymentIntent keeps it.
struct PaymentIntentRecord {
  Reservation reservation;  // as it is now
  std::string intent;       // the intent recorded first
  absl::Time recorded_at;   // when it was recorded
  bool changed = false;     // true: this call recorded it; false: it was recorded before
};

// Payment intents: 1..256 bytes, opaque to the library.
inline constexpr std::size_t kMaxPaymentIntentLength = 256;

struct HoldSweep {
  int64_t expired = 0;  // holds given back by this call
  bool done = false;    // no hold past expiry is left in the event
};

class Inventory {
 public:
  virtual ~Inventory() = default;
  Inventory(const Inventory&) = delete;
  Inventory& operator=(const Inventory&) = delete;

  // Installs or replaces an event's inventory. Replacing keeps every held and sold seat as it
  // is: for named seats the new list must contain every seat that is held or sold (the others
  // are AVAILABLE, new ones come in AVAILABLE, missing available ones are removed); for
  // general admission the new N must be at least held + sold. Switching between named seats
  // and general admission needs nothing held or sold. Otherwise FailedPrecondition with
  // kInventoryInUse and nothing changes. Prices and limits are replaced: they apply to the
  // holds that follow (a hold keeps its total). InvalidArgument for bad or duplicate seat ids,
  // an empty spec or one over the limits, prices or limits out of range.
  absl::Status SetInventory(std::string_view event_id, const InventorySpec& spec);

  // Counts, and the per-seat states of a named-seat event when `with_seats`. NotFound for an
  // event without inventory.
  absl::StatusOr<Availability> GetAvailability(std::string_view event_id, bool with_seats);

  // Takes the seats for a new reservation in status HOLD, all or none, and prices it.
  // FailedPrecondition with kHoldTooLarge, kHoldLimit or kUserLimit when the user's hold would
  // break the event's SaleLimits (the user's own holds past expiry are given back first),
  // kSoldOut when fewer places are available than asked for, kSeatUnavailable when a named
  // seat asked for is held or sold (the message names them).
  absl::StatusOr<Reservation> Hold(const HoldRequest& request);

  // HOLD -> CONFIRMED (seats SOLD). CONFIRMED: unchanged. A HOLD past its expiry becomes
  // EXPIRED (seats back) and the call fails with kHoldExpired; CANCELLED or EXPIRED:
  // kInvalidTransition.
  absl::StatusOr<ReservationChange> Confirm(std::string_view reservation_id);
  // Confirm from a payment, in the same atomic step as the check: a reservation with a price
  // is confirmed only when `paid` is its total in its currency, else FailedPrecondition
  // kPaymentMismatch and nothing changes (whatever its status: money taken for the wrong
  // total needs a person). A reservation without prices takes any payment.
  absl::StatusOr<ReservationChange> ConfirmPaid(std::string_view reservation_id,
                                                const Payment& paid);
  // Records, once, that the buyer started paying for a live hold: `intent` names the payment
  // (say "approve 4999 EUR"; 1..kMaxPaymentIntentLength bytes) and stays with the reservation
  // for as long as it is kept. The same intent again changes nothing and answers the first
  // record (changed == false), whatever the reservation's status since, so that a retried
  // request gets the first answer; another intent is FailedPrecondition kPaymentExists. A
  // first intent needs a live HOLD: kHoldExpired past its expiry (the hold becomes EXPIRED),
  // kInvalidTransition for an ended reservation. The seats do not change.
  absl::StatusOr<PaymentIntentRecord> RecordPaymentIntent(std::string_view reservation_id,
                                                          std::string_view intent);
  // HOLD -> CANCELLED (seats back); a HOLD past its expiry becomes EXPIRED instead (the seats
  // come back either way). CANCELLED or EXPIRED: unchanged. CONFIRMED: kInvalidTransition.
  absl::StatusOr<ReservationChange> Cancel(std::string_view reservation_id);
  // A HOLD past its expiry -> EXPIRED (seats back). Anything else: unchanged (a live hold is
  // left alone; a CONFIRMED reservation stays sold).
  absl::StatusOr<ReservationChange> Expire(std::string_view reservation_id);

  // A reservation as it is now. Ended reservations (CONFIRMED, CANCELLED, EXPIRED) stay
  // readable for at least TicketingOptions::reservation_retention; then NotFound.
  absl::StatusOr<Reservation> Get(std::string_view reservation_id);

  // Up to `max` reservations of the event whose hold has expired but that are still HOLD,
  // earliest expiry first. Read-only: the same ids come back until they are expired.
  absl::StatusOr<std::vector<std::string>> ListExpiredHolds(std::string_view event_id, int64_t max);
  // Expires up to `max` holds past expiry, earliest first.
  absl::StatusOr<HoldSweep> SweepExpiredHolds(std::string_view event_id, int64_t max);

  // Events that have an inventory, in no particular order.
  absl::StatusOr<std::vector<std::string>> ListEvents();

 protected:
  // `default_hold_ttl`: how long a hold lasts when its request names no hold_ttl
  // (TicketingOptions::default_hold_ttl).
  explicit Inventory(absl::Duration default_hold_ttl);

 private:
  // The store behind the calls above, with their contracts. Each is called only with input
  // the public call has checked: event ids pass ValidateEventId (ids.h), specs and requests
  // follow the rules of InventorySpec and HoldRequest (valid, distinct seat ids within the
  // limits), limits are clamped. An implementation checks only what depends on its state (an
  // event without inventory, a seat the event does not have, seat ids for a general-admission
  // event) and applies each call atomically.
  virtual absl::Status DoSetInventory(std::string_view event_id, const InventorySpec& spec) = 0;
  virtual absl::StatusOr<Availability> DoGetAvailability(std::string_view event_id,
                                                         bool with_seats) = 0;
  // `quantity`: the places wanted (the number of seat ids when the request names seats), in
  // 1..kMaxSeatsPerHold; `ttl`: the hold's duration, at least a microsecond and at most an
  // hour. A request_key is valid; HoldFingerprint (ticketing_internal.h) says which requests
  // are the same.
  virtual absl::StatusOr<Reservation> DoHold(const HoldRequest& request, int64_t quantity,
                                             absl::Duration ttl) = 0;
  // `event_id` is the event of the well-formed `reservation_id`. `paid`: nullptr for Confirm,
  // the payment for ConfirmPaid.
  virtual absl::StatusOr<ReservationChange> DoConfirm(std::string_view event_id,
                                                      std::string_view reservation_id,
                                                      const Payment* paid) = 0;
  // `intent` is 1..kMaxPaymentIntentLength bytes.
  virtual absl::StatusOr<PaymentIntentRecord> DoRecordPaymentIntent(std::string_view event_id,
                                                                    std::string_view reservation_id,
                                                                    std::string_view intent) = 0;
  virtual absl::StatusOr<ReservationChange> DoCancel(std::string_view event_id,
                                                     std::string_view reservation_id) = 0;
  virtual absl::StatusOr<ReservationChange> DoExpire(std::string_view event_id,
                                                     std::string_view reservation_id) = 0;
  virtual absl::StatusOr<Reservation> DoGet(std::string_view event_id,
                                            std::string_view reservation_id) = 0;
  // `max` is in 0..2^53 (the largest integer a Lua number holds exactly).
  virtual absl::StatusOr<std::vector<std::string>> DoListExpiredHolds(std::string_view event_id,
                                                                      int64_t max) = 0;
  virtual absl::StatusOr<HoldSweep> DoSweepExpiredHolds(std::string_view event_id, int64_t max) = 0;
  virtual absl::StatusOr<std::vector<std::string>> DoListEvents() = 0;

  const absl::Duration default_hold_ttl_;
};

}  // namespace admission

#endif  // ADMISSION_TICKETING_INVENTORY_H_
