// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ticketing.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ticketing_internal.h"

namespace admission {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

QueuedEvent MakeEvent(std::string_view type, std::string_view reservation_id,
                      absl::Time not_before) {
  QueuedEvent e;
  e.id = absl::StrCat(AbslView(type), ":", AbslView(reservation_id));
  e.type = std::string(type);
  e.payload = std::string(reservation_id);
  e.not_before = not_before;
  return e;
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
  t.events = ticketing_internal::NewMemoryEventQueue(options);
  return t;
}

QueuedEvent HoldExpiredEvent(std::string_view reservation_id) {
  return MakeEvent(kHoldExpiredEvent, reservation_id, absl::InfinitePast());
}
QueuedEvent PaymentApprovedEvent(std::string_view reservation_id, absl::Time not_before) {
  return MakeEvent(kPaymentApprovedEvent, reservation_id, not_before);
}
QueuedEvent PaymentFailedEvent(std::string_view reservation_id, absl::Time not_before) {
  return MakeEvent(kPaymentFailedEvent, reservation_id, not_before);
}
QueuedEvent CancelRequestedEvent(std::string_view reservation_id) {
  return MakeEvent(kCancelRequestedEvent, reservation_id, absl::InfinitePast());
}

EventHandler MakeTicketingHandler(Inventory* inventory, TicketingHandlerOptions options) {
  return [inventory, options = std::move(options)](const Delivery& d) -> absl::Status {
    const std::string& type = d.event.type;
    const std::string& rid = d.event.payload;
    if (absl::StatusOr<std::string_view> event = EventIdOfReservation(rid); !event.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, " event '", d.event.id, "': the payload is not a reservation id"));
    }
    absl::StatusOr<ReservationChange> change;
    if (type == kHoldExpiredEvent) {
      change = inventory->Expire(rid);
    } else if (type == kPaymentApprovedEvent) {
      change = inventory->Confirm(rid);
    } else if (type == kPaymentFailedEvent || type == kCancelRequestedEvent) {
      change = inventory->Cancel(rid);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown event type '", type, "'"));
    }
    if (change.status().code() == absl::StatusCode::kNotFound) {
      if (type == kPaymentApprovedEvent) {
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

absl::StatusOr<int64_t> PublishExpiredHolds(Inventory& inventory, EventQueue& events,
                                            std::string_view event_id, int64_t max) {
  absl::StatusOr<std::vector<std::string>> ids = inventory.ListExpiredHolds(event_id, max);
  if (!ids.ok()) return ids.status();
  int64_t published = 0;
  for (const std::string& id : *ids) {
    absl::StatusOr<bool> queued = events.Publish(HoldExpiredEvent(id));
    if (!queued.ok()) return queued.status();
    if (*queued) ++published;
  }
  return published;
}

}  // namespace admission
