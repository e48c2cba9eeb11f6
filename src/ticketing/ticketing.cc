// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ticketing/ticketing.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace {

using internal::AbslView;

// A standard message: its id is "<type>:<reservation id>", so that it happens at most once per
// reservation however often it is published.
OutcomeMessage MakeMessage(std::string_view type, std::string_view reservation_id,
                           absl::Time not_before) {
  OutcomeMessage m;
  m.id = absl::StrCat(AbslView(type), ":", AbslView(reservation_id));
  m.type = std::string(type);
  m.payload = std::string(reservation_id);
  m.not_before = not_before;
  return m;
}

}  // namespace

absl::Status ValidateTicketingOptions(const TicketingOptions& o) {
  if (o.idempotency_ttl <= absl::ZeroDuration() || o.idempotency_lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idempotency_ttl and idempotency_lease must be positive");
  }
  if (o.default_hold_ttl <= absl::ZeroDuration() || o.default_hold_ttl > absl::Hours(1)) {
    return absl::InvalidArgumentError("default_hold_ttl must be positive and at most 1 hour");
  }
  if (o.reservation_retention <= absl::ZeroDuration() ||
      o.queue_dedupe_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "reservation_retention and queue_dedupe_window must be positive");
  }
  if (o.expire_per_call < 0) return absl::InvalidArgumentError("expire_per_call must be >= 0");
  if (o.max_idempotent_response_bytes < 1 || o.max_idempotent_response_bytes > 16 * 1024 * 1024) {
    return absl::InvalidArgumentError("max_idempotent_response_bytes must be 1 byte to 16 MiB");
  }
  return ValidateQueueName(o.queue_name);
}

absl::StatusOr<Ticketing> NewMemoryTicketing(const TicketingOptions& options) {
  if (absl::Status s = ValidateTicketingOptions(options); !s.ok()) return s;
  Ticketing t;
  t.idempotency = ticketing_internal::NewMemoryIdempotencyStore(options);
  t.inventory = ticketing_internal::NewMemoryInventory(options);
  t.outcomes = ticketing_internal::NewMemoryOutcomeQueue(options);
  return t;
}

OutcomeMessage HoldExpiredMessage(std::string_view reservation_id) {
  return MakeMessage(kHoldExpired, reservation_id, absl::InfinitePast());
}
OutcomeMessage PaymentApprovedMessage(std::string_view reservation_id, int64_t amount,
                                      std::string_view currency, absl::Time not_before) {
  OutcomeMessage m = MakeMessage(kPaymentApproved, reservation_id, not_before);
  m.payload = absl::StrCat(AbslView(reservation_id), " ", amount, " ", AbslView(currency));
  return m;
}

absl::StatusOr<PaymentApproval> ParsePaymentApproval(std::string_view payload) {
  const std::vector<absl::string_view> parts = absl::StrSplit(AbslView(payload), ' ');
  PaymentApproval out;
  out.reservation_id = std::string(parts[0]);
  if (!EventIdOfReservation(out.reservation_id).ok()) {
    return absl::InvalidArgumentError("the payment's reservation id is malformed");
  }
  if (parts.size() == 1) return out;  // queued before payments carried their amount
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &out.amount) || out.amount < 1 ||
      out.amount > kMaxReservationTotal ||
      !ValidateCurrency(std::string_view(parts[2].data(), parts[2].size())).ok()) {
    return absl::InvalidArgumentError(
        "a payment approval is \"<reservation id> <amount> <currency>\"");
  }
  out.currency = std::string(parts[2]);
  return out;
}
OutcomeMessage PaymentFailedMessage(std::string_view reservation_id, absl::Time not_before) {
  return MakeMessage(kPaymentFailed, reservation_id, not_before);
}
OutcomeMessage CancelRequestedMessage(std::string_view reservation_id) {
  return MakeMessage(kCancelRequested, reservation_id, absl::InfinitePast());
}

OutcomeHandler MakeTicketingHandler(Inventory* inventory, TicketingHandlerOptions options) {
  return [inventory, options = std::move(options)](const Delivery& d) -> absl::Status {
    const std::string& type = d.message.type;
    std::string rid = d.message.payload;
    std::optional<PaymentApproval> paid;
    if (type == kPaymentApproved) {
      absl::StatusOr<PaymentApproval> parsed = ParsePaymentApproval(d.message.payload);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(type, " event '", d.message.id, "': ", parsed.status().message()));
      }
      paid = *std::move(parsed);
      rid = paid->reservation_id;
    }
    if (absl::StatusOr<std::string_view> event = EventIdOfReservation(rid); !event.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, " event '", d.message.id, "': the payload is not a reservation id"));
    }
    absl::StatusOr<ReservationChange> change;
    if (type == kHoldExpired) {
      change = inventory->Expire(rid);
    } else if (type == kPaymentApproved) {
      // A wrong amount is FailedPrecondition (kPaymentMismatch): parked, nothing confirmed.
      Payment payment;
      payment.amount = paid->amount;
      payment.currency = paid->currency;
      change = inventory->ConfirmPaid(rid, payment);
    } else if (type == kPaymentFailed || type == kCancelRequested) {
      change = inventory->Cancel(rid);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown event type '", type, "'"));
    }
    if (change.status().code() == absl::StatusCode::kNotFound) {
      if (type == kPaymentApproved) {
        return absl::FailedPreconditionError(
            absl::StrCat("payment approved for unknown reservation ", rid));
      }
      return absl::OkStatus();
    }
    if (!change.ok()) return change.status();
    if (options.on_applied) options.on_applied(d, *change);
    return absl::OkStatus();
  };
}

absl::StatusOr<int64_t> PublishExpiredHolds(Inventory& inventory, OutcomeQueue& outcomes,
                                            std::string_view event_id, int64_t max) {
  absl::StatusOr<std::vector<std::string>> ids = inventory.ListExpiredHolds(event_id, max);
  if (!ids.ok()) return ids.status();
  int64_t published = 0;
  for (const std::string& id : *ids) {
    absl::StatusOr<bool> queued = outcomes.Publish(HoldExpiredMessage(id));
    if (!queued.ok()) return queued.status();
    if (*queued) ++published;
  }
  return published;
}

}  // namespace admission
