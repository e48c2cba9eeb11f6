// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The inventory's vocabulary (ids, names, error payloads) and its front: the public calls
// check their input here, once for every store, and hand only valid input to the store.
#include "admission/ticketing/inventory.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "admission/ids.h"
#include "admission/ticketing/idempotency.h"
#include "common/strings.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace {

// The payload type of an inventory refusal; its value is InventoryErrorName.
constexpr absl::string_view kInventoryErrorPayload = "admission.InventoryError";

using internal::AbslView;

bool IsSeatIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

constexpr InventoryError kAllErrors[] = {
    InventoryError::kSoldOut,         InventoryError::kSeatUnavailable,
    InventoryError::kHoldExpired,     InventoryError::kInvalidTransition,
    InventoryError::kInventoryInUse,  InventoryError::kHoldTooLarge,
    InventoryError::kHoldLimit,       InventoryError::kUserLimit,
    InventoryError::kPaymentMismatch, InventoryError::kRequestKeyReused,
    InventoryError::kPaymentExists,
};

// Seat ids are validated one by one and checked for duplicates.
absl::Status ValidateSeatList(const std::vector<std::string>& seat_ids, std::size_t max) {
  if (seat_ids.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", max, " seats"));
  }
  absl::flat_hash_set<absl::string_view> seen;
  seen.reserve(seat_ids.size());
  for (const std::string& seat : seat_ids) {
    if (absl::Status s = ValidateSeatId(seat); !s.ok()) return s;
    if (!seen.insert(seat).second) {
      return absl::InvalidArgumentError(absl::StrCat("seat '", seat, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

// Hold requests: ids, seats (distinct, valid, at most kMaxSeatsPerHold), quantity, TTL. Sets
// *quantity to the number of places wanted and *ttl to the hold's duration.
absl::Status ValidateHoldRequest(const HoldRequest& request, absl::Duration default_ttl,
                                 int64_t* quantity, absl::Duration* ttl) {
  if (absl::Status s = ValidateEventId(request.event_id); !s.ok()) return s;
  if (absl::Status s = ValidateUserId(request.user_id); !s.ok()) return s;
  if (absl::Status s = ValidateExternalRef(request.external_ref); !s.ok()) return s;
  if (!request.seat_ids.empty()) {
    if (absl::Status s = ValidateSeatList(request.seat_ids, kMaxSeatsPerHold); !s.ok()) return s;
    const auto wanted = static_cast<int64_t>(request.seat_ids.size());
    if (request.quantity != 0 && request.quantity != wanted) {
      return absl::InvalidArgumentError("quantity must match the number of seat ids");
    }
    *quantity = wanted;
  } else {
    if (request.quantity < 1 || request.quantity > kMaxSeatsPerHold) {
      return absl::InvalidArgumentError(
          absl::StrCat("ask for seat ids or a quantity of 1 to ", kMaxSeatsPerHold));
    }
    *quantity = request.quantity;
  }
  if (request.hold_ttl < absl::ZeroDuration() || request.hold_ttl > absl::Hours(1)) {
    return absl::InvalidArgumentError("hold_ttl must be between 0 (the default) and 1 hour");
  }
  *ttl = request.hold_ttl == absl::ZeroDuration() ? default_ttl : request.hold_ttl;
  if (!request.request_key.empty()) {
    if (absl::Status s = ValidateIdempotencyKey(request.request_key); !s.ok()) return s;
  }
  // Below a microsecond a hold would expire the instant it is made.
  *ttl = std::max(*ttl, absl::Microseconds(1));
  return absl::OkStatus();
}

absl::Status ValidateLimits(const SaleLimits& limits) {
  if (limits.seats_per_hold < 1 || limits.seats_per_hold > kMaxSeatsPerHold) {
    return absl::InvalidArgumentError(
        absl::StrCat("seats_per_hold must be 1 to ", kMaxSeatsPerHold));
  }
  if (limits.holds_per_user < 1 || limits.holds_per_user > kMaxHoldsPerUser) {
    return absl::InvalidArgumentError(
        absl::StrCat("holds_per_user must be 1 to ", kMaxHoldsPerUser));
  }
  if (limits.seats_per_user < 1 || limits.seats_per_user > kMaxGeneralAdmission) {
    return absl::InvalidArgumentError(
        absl::StrCat("seats_per_user must be 1 to ", kMaxGeneralAdmission));
  }
  return absl::OkStatus();
}

// Prices: none at all, or a currency and a price for every place (see InventorySpec).
absl::Status ValidatePrices(const InventorySpec& spec) {
  if (spec.currency.empty()) {
    if (spec.price != 0 || !spec.seat_prices.empty()) {
      return absl::InvalidArgumentError("prices need a currency");
    }
    return absl::OkStatus();
  }
  if (absl::Status s = ValidateCurrency(spec.currency); !s.ok()) return s;
  const bool named = !spec.seat_ids.empty();
  if (spec.price < 0 || spec.price > kMaxPrice || (!named && spec.price == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("price must be 1 to ", kMaxPrice, " (minor units, e.g. cents)"));
  }
  if (spec.seat_prices.empty()) {
    if (spec.price == 0) {
      return absl::InvalidArgumentError("give a price, or a price for every seat");
    }
    return absl::OkStatus();
  }
  if (!named) {
    return absl::InvalidArgumentError("seat prices are for named seats, not general admission");
  }
  const absl::flat_hash_set<absl::string_view> seats(spec.seat_ids.begin(), spec.seat_ids.end());
  absl::flat_hash_set<absl::string_view> priced;
  priced.reserve(spec.seat_prices.size());
  for (const SeatPrice& p : spec.seat_prices) {
    if (!seats.contains(p.seat_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("a price for seat '", p.seat_id, "', which is not in the seat list"));
    }
    if (!priced.insert(p.seat_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("seat '", p.seat_id, "' is priced twice"));
    }
    if (p.price < 1 || p.price > kMaxPrice) {
      return absl::InvalidArgumentError(
          absl::StrCat("the price of seat '", p.seat_id, "' must be 1 to ", kMaxPrice));
    }
  }
  if (spec.price == 0 && priced.size() != seats.size()) {
    return absl::InvalidArgumentError("give a price, or a price for every seat");
  }
  return absl::OkStatus();
}

// Inventory specs: exactly one of named seats (1..kMaxNamedSeats distinct valid ids) or
// general admission (1..kMaxGeneralAdmission); prices and limits.
absl::Status ValidateInventorySpec(const InventorySpec& spec) {
  if (!spec.seat_ids.empty()) {
    if (spec.general_admission != 0) {
      return absl::InvalidArgumentError("give either seat ids or general admission, not both");
    }
    if (absl::Status s = ValidateSeatList(spec.seat_ids, static_cast<std::size_t>(kMaxNamedSeats));
        !s.ok()) {
      return s;
    }
  } else if (spec.general_admission < 1 || spec.general_admission > kMaxGeneralAdmission) {
    return absl::InvalidArgumentError(absl::StrCat("give seat ids or a general admission of 1 to ",
                                                   kMaxGeneralAdmission, " places"));
  }
  if (absl::Status s = ValidatePrices(spec); !s.ok()) return s;
  return ValidateLimits(spec.limits);
}

}  // namespace

absl::Status ValidateSeatId(std::string_view seat_id) {
  if (seat_id.empty() || seat_id.size() > kMaxSeatIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("seat id must be 1 to ", kMaxSeatIdLength, " characters"));
  }
  for (char c : seat_id) {
    if (!IsSeatIdChar(c)) {
      return absl::InvalidArgumentError("seat id may only contain [A-Za-z0-9_.:-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExternalRef(std::string_view ref) {
  if (ref.size() > kMaxExternalRefLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("external_ref is longer than ", kMaxExternalRefLength, " characters"));
  }
  for (char c : ref) {
    if (!IsSeatIdChar(c) && c != '@') {
      return absl::InvalidArgumentError("external_ref may only contain [A-Za-z0-9_.:@-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCurrency(std::string_view currency) {
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return absl::InvalidArgumentError(
        "currency must be three capital letters (ISO 4217, e.g. EUR)");
  }
  return absl::OkStatus();
}

std::string NewReservationId(std::string_view event_id) { return NewToken(event_id); }

absl::StatusOr<std::string_view> EventIdOfReservation(std::string_view reservation_id) {
  absl::StatusOr<std::string_view> event = EventIdOfToken(reservation_id);
  if (!event.ok()) return absl::InvalidArgumentError("malformed reservation id");
  return event;
}

std::string_view ReservationStatusName(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kHold:
      return "HOLD";
    case ReservationStatus::kConfirmed:
      return "CONFIRMED";
    case ReservationStatus::kCancelled:
      return "CANCELLED";
    case ReservationStatus::kExpired:
      return "EXPIRED";
  }
  return "UNKNOWN";
}

std::string_view SeatStateName(SeatState state) {
  switch (state) {
    case SeatState::kAvailable:
      return "AVAILABLE";
    case SeatState::kHeld:
      return "HELD";
    case SeatState::kSold:
      return "SOLD";
  }
  return "UNKNOWN";
}

std::string_view InventoryErrorName(InventoryError error) {
  switch (error) {
    case InventoryError::kNone:
      return "";
    case InventoryError::kSoldOut:
      return "sold_out";
    case InventoryError::kSeatUnavailable:
      return "seat_unavailable";
    case InventoryError::kHoldExpired:
      return "hold_expired";
    case InventoryError::kInvalidTransition:
      return "invalid_transition";
    case InventoryError::kInventoryInUse:
      return "inventory_in_use";
    case InventoryError::kHoldTooLarge:
      return "hold_too_large";
    case InventoryError::kHoldLimit:
      return "hold_limit";
    case InventoryError::kUserLimit:
      return "user_limit";
    case InventoryError::kPaymentMismatch:
      return "payment_mismatch";
    case InventoryError::kRequestKeyReused:
      return "request_key_reused";
    case InventoryError::kPaymentExists:
      return "payment_exists";
  }
  return "";
}

InventoryError InventoryErrorOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return InventoryError::kNone;
  const absl::optional<absl::Cord> payload = status.GetPayload(kInventoryErrorPayload);
  if (!payload.has_value()) return InventoryError::kNone;
  for (InventoryError error : kAllErrors) {
    if (*payload == AbslView(InventoryErrorName(error))) return error;
  }
  return InventoryError::kNone;
}

Inventory::Inventory(absl::Duration default_hold_ttl) : default_hold_ttl_(default_hold_ttl) {}

absl::Status Inventory::SetInventory(std::string_view event_id, const InventorySpec& spec) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  if (absl::Status s = ValidateInventorySpec(spec); !s.ok()) return s;
  return DoSetInventory(event_id, spec);
}

absl::StatusOr<Availability> Inventory::GetAvailability(std::string_view event_id,
                                                        bool with_seats) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  return DoGetAvailability(event_id, with_seats);
}

absl::StatusOr<Reservation> Inventory::Hold(const HoldRequest& request) {
  int64_t quantity = 0;
  absl::Duration ttl;
  if (absl::Status s = ValidateHoldRequest(request, default_hold_ttl_, &quantity, &ttl); !s.ok()) {
    return s;
  }
  return DoHold(request, quantity, ttl);
}

absl::StatusOr<ReservationChange> Inventory::Confirm(std::string_view reservation_id) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  return DoConfirm(*event_id, reservation_id, nullptr);
}

absl::StatusOr<ReservationChange> Inventory::ConfirmPaid(std::string_view reservation_id,
                                                         const Payment& paid) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  const bool unstated = paid.amount == 0 && paid.currency.empty();
  if (!unstated) {
    if (paid.amount < 1 || paid.amount > kMaxReservationTotal) {
      return absl::InvalidArgumentError(
          absl::StrCat("a payment's amount must be 1 to ", kMaxReservationTotal));
    }
    if (absl::Status s = ValidateCurrency(paid.currency); !s.ok()) return s;
  }
  return DoConfirm(*event_id, reservation_id, &paid);
}

absl::StatusOr<PaymentIntentRecord> Inventory::RecordPaymentIntent(std::string_view reservation_id,
                                                                   std::string_view intent) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  if (intent.empty() || intent.size() > kMaxPaymentIntentLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a payment intent must be 1 to ", kMaxPaymentIntentLength, " bytes"));
  }
  return DoRecordPaymentIntent(*event_id, reservation_id, intent);
}

absl::StatusOr<ReservationChange> Inventory::Cancel(std::string_view reservation_id) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  return DoCancel(*event_id, reservation_id);
}

absl::StatusOr<ReservationChange> Inventory::Expire(std::string_view reservation_id) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  return DoExpire(*event_id, reservation_id);
}

absl::StatusOr<Reservation> Inventory::Get(std::string_view reservation_id) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(reservation_id);
  if (!event_id.ok()) return event_id.status();
  return DoGet(*event_id, reservation_id);
}

absl::StatusOr<std::vector<std::string>> Inventory::ListExpiredHolds(std::string_view event_id,
                                                                     int64_t max) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  return DoListExpiredHolds(event_id,
                            std::clamp<int64_t>(max, 0, ticketing_internal::kMaxExactMicros));
}

absl::StatusOr<HoldSweep> Inventory::SweepExpiredHolds(std::string_view event_id, int64_t max) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  return DoSweepExpiredHolds(event_id,
                             std::clamp<int64_t>(max, 0, ticketing_internal::kMaxExactMicros));
}

absl::StatusOr<std::vector<std::string>> Inventory::ListEvents() { return DoListEvents(); }

namespace ticketing_internal {

std::string PaymentMismatchMessage(std::string_view reservation_id, const Payment& paid,
                                   int64_t total, std::string_view currency) {
  const std::string what = paid.currency.empty()
                               ? std::string("a payment of unstated amount")
                               : absl::StrCat("a payment of ", paid.amount, " ", paid.currency);
  return absl::StrCat(what, " does not match the total of reservation ", AbslView(reservation_id),
                      ", ", total, " ", AbslView(currency),
                      ": not confirmed; refund or settle it, then confirm it by hand");
}

std::string HoldFingerprint(const HoldRequest& request, int64_t quantity, absl::Duration ttl) {
  // Seat ids and the reference cannot hold '|'; the seats are compared in the order asked.
  return absl::StrCat(quantity, "|", DurationToMicros(ttl), "|", request.external_ref, "|",
                      absl::StrJoin(request.seat_ids, ","));
}

std::string RequestKeyReusedMessage() {
  return "this request key was used for another hold; use a new key for a new request";
}

std::string PaymentExistsMessage(std::string_view reservation_id) {
  return absl::StrCat("another payment was already started for reservation ",
                      AbslView(reservation_id));
}

absl::Status InventoryErrorStatus(InventoryError error, std::string_view message) {
  absl::Status status = absl::FailedPreconditionError(AbslView(message));
  if (error != InventoryError::kNone) {
    status.SetPayload(kInventoryErrorPayload, absl::Cord(AbslView(InventoryErrorName(error))));
  }
  return status;
}

}  // namespace ticketing_internal
}  // namespace admission
