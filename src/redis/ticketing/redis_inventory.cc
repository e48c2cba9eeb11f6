// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis Inventory: every call is one run of lua/ticketing/inventory.lua on the event's
// keys; this side encodes arguments (already checked by the Inventory front) and decodes
// replies.
#include <hiredis.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "redis/client/event_registry.h"
#include "redis/client/reply_reader.h"
#include "redis/ticketing/functions.h"
#include "redis/ticketing/redis_ticketing_internal.h"
#include "ticketing/ticketing_internal.h"

namespace admission::redis_internal {
namespace {

using internal::DurationToMicros;
using internal::kMaxExactMicros;
using internal::MicrosToTime;
using internal::TimeToMicros;

using ticketing_internal::InventoryErrorStatus;

constexpr InventoryError kErrors[] = {
    InventoryError::kSoldOut,         InventoryError::kSeatUnavailable,
    InventoryError::kHoldExpired,     InventoryError::kInvalidTransition,
    InventoryError::kInventoryInUse,  InventoryError::kHoldTooLarge,
    InventoryError::kHoldLimit,       InventoryError::kUserLimit,
    InventoryError::kPaymentMismatch, InventoryError::kRequestKeyReused,
    InventoryError::kPaymentExists,
};

// The script reports refusals as FailedPrecondition("<inventory error>: message").
absl::Status MapError(absl::Status status) {
  if (status.code() != absl::StatusCode::kFailedPrecondition) return status;
  const absl::string_view message = status.message();
  for (InventoryError error : kErrors) {
    const std::string prefix = absl::StrCat(AbslView(InventoryErrorName(error)), ": ");
    if (absl::StartsWith(message, prefix)) {
      const absl::string_view rest = message.substr(prefix.size());
      return InventoryErrorStatus(error, std::string_view(rest.data(), rest.size()));
    }
  }
  return status;
}

absl::StatusOr<ReservationStatus> StatusOfLetter(std::string_view letter) {
  if (letter == "H") return ReservationStatus::kHold;
  if (letter == "C") return ReservationStatus::kConfirmed;
  if (letter == "X") return ReservationStatus::kCancelled;
  if (letter == "E") return ReservationStatus::kExpired;
  return absl::InternalError("unknown reservation status");
}

class RedisInventory final : public Inventory {
 public:
  explicit RedisInventory(std::shared_ptr<TicketingContext> c)
      : Inventory(c->options.default_hold_ttl),
        c_(std::move(c)),
        registry_(absl::StrCat(c_->prefix, ":tk:events")) {}

 private:
  absl::Status DoSetInventory(std::string_view event_id, const InventorySpec& spec) override;
  absl::StatusOr<Availability> DoGetAvailability(std::string_view event_id,
                                                 bool with_seats) override;
  absl::StatusOr<Reservation> DoHold(const HoldRequest& request, int64_t quantity,
                                     absl::Duration ttl) override;
  absl::StatusOr<ReservationChange> DoConfirm(std::string_view event_id,
                                              std::string_view reservation_id,
                                              const Payment* paid) override {
    if (paid == nullptr) return Transition("confirm", event_id, reservation_id);
    return Transition("confirm", event_id, reservation_id,
                      {"1", absl::StrCat(paid->amount), paid->currency});
  }
  absl::StatusOr<PaymentIntentRecord> DoRecordPaymentIntent(std::string_view event_id,
                                                            std::string_view reservation_id,
                                                            std::string_view intent) override;
  absl::StatusOr<ReservationChange> DoCancel(std::string_view event_id,
                                             std::string_view reservation_id) override {
    return Transition("cancel", event_id, reservation_id);
  }
  absl::StatusOr<ReservationChange> DoExpire(std::string_view event_id,
                                             std::string_view reservation_id) override {
    return Transition("expire", event_id, reservation_id);
  }
  absl::StatusOr<Reservation> DoGet(std::string_view event_id,
                                    std::string_view reservation_id) override;
  absl::StatusOr<std::vector<std::string>> DoListExpiredHolds(std::string_view event_id,
                                                              int64_t max) override;
  absl::StatusOr<HoldSweep> DoSweepExpiredHolds(std::string_view event_id, int64_t max) override;
  absl::StatusOr<std::vector<std::string>> DoListEvents() override;

  std::string Base(std::string_view event_id) const {
    return absl::StrCat(c_->prefix, ":tk:{", AbslView(event_id), "}:");
  }
  std::string Context() const { return absl::StrCat(c_->runner->router().name(), " (inventory)"); }

  // One run of the script on the event: operation, then the common arguments, then `args`.
  // The time given to the script goes to *now_us when asked for. `request_key`: a hold's
  // request key record (KEYS[10]), in the event's slot.
  absl::StatusOr<ReplyPtr> Run(std::string_view op, std::string_view event_id,
                               std::vector<std::string> args, int64_t* now_us = nullptr,
                               std::string request_key = {});
  // A reservation reply; *changed gets its flag.
  absl::StatusOr<ReservationChange> ReadReservation(const redisReply* reply,
                                                    std::string_view event_id);
  // `extra`: arguments after the reservation id (a confirm's payment).
  absl::StatusOr<ReservationChange> Transition(std::string_view op, std::string_view event_id,
                                               std::string_view reservation_id,
                                               std::vector<std::string> extra = {});

  const std::shared_ptr<TicketingContext> c_;
  const std::string registry_;
};

absl::StatusOr<ReplyPtr> RedisInventory::Run(std::string_view op, std::string_view event_id,
                                             std::vector<std::string> args, int64_t* now_us,
                                             std::string request_key) {
  const std::string base = Base(event_id);
  const int64_t now = TimeToMicros(c_->clock->Now());
  if (now_us != nullptr) *now_us = now;
  std::vector<std::string> keys = {base + "inv",   base + "seats",  base + "avail",
                                   base + "holds", base + "res",    base + "ended",
                                   base + "users", base + "prices", base + "pays"};
  if (!request_key.empty()) keys.push_back(std::move(request_key));
  std::vector<std::string> all = {std::string(op), absl::StrCat(now),
                                  absl::StrCat(std::max<int64_t>(c_->options.expire_per_call, 0)),
                                  absl::StrCat(DurationToMicros(c_->options.reservation_retention)),
                                  std::string(event_id)};
  all.reserve(all.size() + args.size());
  for (std::string& arg : args) all.push_back(std::move(arg));
  // What a buyer was told about must survive a failover: a hold (with its request key), a
  // payment intent and a confirm. A retry of any of them is safe when WAIT falls short.
  const bool durable = op == "hold" || op == "pay" || op == "confirm";
  absl::StatusOr<ReplyPtr> reply =
      c_->runner->Run(GetTicketingFunction(TicketingFunction::kInventory), keys, all,
                      durable ? Durability::kReplicated : Durability::kPrimary);
  if (!reply.ok()) return MapError(reply.status());
  return reply;
}

absl::StatusOr<ReservationChange> RedisInventory::ReadReservation(const redisReply* reply,
                                                                  std::string_view event_id) {
  ReplyReader r(reply, Context());
  ReservationChange out;
  Reservation& res = out.reservation;
  out.changed = r.IntIn("changed", 0, 1) == 1;
  res.reservation_id = std::string(r.String("reservation_id"));
  res.event_id = std::string(event_id);
  res.user_id = std::string(r.String("user_id"));
  res.external_ref = std::string(r.String("external_ref"));
  const std::string_view letter = r.String("status");
  const std::string_view seats = r.String("seats");
  res.quantity = r.IntIn("quantity", 0, kMaxSeatsPerHold);
  res.created_at = MicrosToTime(r.IntIn("created", 0, kMaxExactMicros));
  res.hold_expires_at = MicrosToTime(r.IntIn("expires", 0, kMaxExactMicros));
  res.updated_at = MicrosToTime(r.IntIn("updated", 0, kMaxExactMicros));
  res.total = r.IntIn("total", 0, kMaxReservationTotal);
  res.currency = std::string(r.String("currency"));
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  absl::StatusOr<ReservationStatus> status = StatusOfLetter(letter);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("malformed reply from ", Context(), ": status"));
  }
  res.status = *status;
  if (!seats.empty()) {
    res.seat_ids = absl::StrSplit(AbslView(seats), ',');
  }
  return out;
}

absl::Status RedisInventory::DoSetInventory(std::string_view event_id, const InventorySpec& spec) {
  // The registry first, so an inventory never exists without its entry (ListEvents skips
  // entries whose script never ran). On a cluster it lives in another slot than the event.
  absl::StatusOr<ReplyPtr> added =
      c_->runner->router().Execute(registry_, Command{"SADD", registry_, event_id});
  if (!added.ok()) return added.status();
  if ((*added)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(c_->runner->router().name(), "SADD",
                            std::string_view((*added)->str, (*added)->len));
  }
  std::vector<std::string> args;
  args.reserve(8 + 2 * spec.seat_prices.size() + spec.seat_ids.size());
  args.push_back(spec.seat_ids.empty() ? "ga" : "named");
  args.push_back(absl::StrCat(spec.general_admission));
  args.push_back(spec.currency);
  args.push_back(absl::StrCat(spec.price));
  args.push_back(absl::StrCat(spec.limits.seats_per_hold));
  args.push_back(absl::StrCat(spec.limits.holds_per_user));
  args.push_back(absl::StrCat(spec.limits.seats_per_user));
  args.push_back(absl::StrCat(spec.seat_prices.size()));
  for (const SeatPrice& p : spec.seat_prices) {
    args.push_back(p.seat_id);
    args.push_back(absl::StrCat(p.price));
  }
  for (const std::string& seat : spec.seat_ids) args.push_back(seat);
  absl::StatusOr<ReplyPtr> reply = Run("set", event_id, std::move(args));
  if (!reply.ok()) return reply.status();
  return absl::OkStatus();
}

absl::StatusOr<Availability> RedisInventory::DoGetAvailability(std::string_view event_id,
                                                               bool with_seats) {
  int64_t now_us = 0;
  absl::StatusOr<ReplyPtr> reply = Run("avail", event_id, {with_seats ? "1" : "0"}, &now_us);
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context());
  Availability out;
  out.event_id = std::string(event_id);
  const std::string_view kind = r.String("kind");
  out.general_admission = kind == "ga";
  if (r.ok() && kind != "ga" && kind != "named") r.Invalid("kind", "is unknown");
  out.counts.total = r.IntIn("total", 0, kMaxGeneralAdmission);
  out.counts.held = r.IntIn("held", 0, kMaxGeneralAdmission);
  out.counts.sold = r.IntIn("sold", 0, kMaxGeneralAdmission);
  out.counts.available = out.counts.total - out.counts.held - out.counts.sold;
  out.currency = std::string(r.String("currency"));
  out.price = r.IntIn("price", 0, kMaxPrice);
  out.limits.seats_per_hold = r.IntIn("seats_per_hold", 1, kMaxSeatsPerHold);
  out.limits.holds_per_user = r.IntIn("holds_per_user", 1, kMaxHoldsPerUser);
  out.limits.seats_per_user = r.IntIn("seats_per_user", 1, kMaxGeneralAdmission);
  while (r.ok() && r.remaining() > 0) {
    SeatInfo seat;
    seat.seat_id = std::string(r.String("seat_id"));
    const std::string_view state = r.String("seat_state");
    seat.price = r.IntIn("seat_price", 0, kMaxPrice);
    if (state == "A") {
      seat.state = SeatState::kAvailable;
    } else if (state == "H") {
      seat.state = SeatState::kHeld;
    } else if (state == "S") {
      seat.state = SeatState::kSold;
    } else {
      r.Invalid("seat_state", "is unknown");
    }
    out.seats.push_back(std::move(seat));
  }
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  out.now = MicrosToTime(now_us);
  return out;
}

absl::StatusOr<Reservation> RedisInventory::DoHold(const HoldRequest& request, int64_t quantity,
                                                   absl::Duration ttl) {
  const bool keyed = !request.request_key.empty();
  std::vector<std::string> args = {
      NewReservationId(request.event_id),
      request.user_id,
      absl::StrCat(quantity),
      absl::StrCat(DurationToMicros(ttl)),
      request.external_ref,
      keyed ? ticketing_internal::HoldFingerprint(request, quantity, ttl) : std::string(),
      absl::StrCat(DurationToMicros(c_->options.idempotency_ttl))};
  for (const std::string& seat : request.seat_ids) args.push_back(seat);
  // Per user, so that one buyer's key never answers another's hold.
  std::string request_key;
  if (keyed) {
    request_key = absl::StrCat(Base(request.event_id), "rk:", request.user_id.size(), ":",
                               request.user_id, ":", request.request_key);
  }
  absl::StatusOr<ReplyPtr> reply =
      Run("hold", request.event_id, std::move(args), nullptr, std::move(request_key));
  if (!reply.ok()) return reply.status();
  absl::StatusOr<ReservationChange> change = ReadReservation(reply->get(), request.event_id);
  if (!change.ok()) return change.status();
  return std::move(change->reservation);
}

absl::StatusOr<ReservationChange> RedisInventory::Transition(std::string_view op,
                                                             std::string_view event_id,
                                                             std::string_view reservation_id,
                                                             std::vector<std::string> extra) {
  std::vector<std::string> args = {std::string(reservation_id)};
  for (std::string& arg : extra) args.push_back(std::move(arg));
  absl::StatusOr<ReplyPtr> reply = Run(op, event_id, std::move(args));
  if (!reply.ok()) return reply.status();
  return ReadReservation(reply->get(), event_id);
}

absl::StatusOr<PaymentIntentRecord> RedisInventory::DoRecordPaymentIntent(
    std::string_view event_id, std::string_view reservation_id, std::string_view intent) {
  absl::StatusOr<ReplyPtr> reply =
      Run("pay", event_id, {std::string(reservation_id), std::string(intent)});
  if (!reply.ok()) return reply.status();
  const redisReply* top = reply->get();
  if (top->type != REDIS_REPLY_ARRAY || top->elements != 3 ||
      top->element[1]->type != REDIS_REPLY_STRING || top->element[2]->type != REDIS_REPLY_STRING) {
    return absl::InternalError(absl::StrCat("malformed reply from ", Context(), ": pay"));
  }
  absl::StatusOr<ReservationChange> change = ReadReservation(top->element[0], event_id);
  if (!change.ok()) return change.status();
  int64_t at = 0;
  if (!absl::SimpleAtoi(absl::string_view(top->element[2]->str, top->element[2]->len), &at) ||
      at < 0 || at > kMaxExactMicros) {
    return absl::InternalError(absl::StrCat("malformed reply from ", Context(), ": pay time"));
  }
  PaymentIntentRecord out;
  out.reservation = std::move(change->reservation);
  out.changed = change->changed;
  out.intent = std::string(top->element[1]->str, top->element[1]->len);
  out.recorded_at = MicrosToTime(at);
  return out;
}

absl::StatusOr<Reservation> RedisInventory::DoGet(std::string_view event_id,
                                                  std::string_view reservation_id) {
  absl::StatusOr<ReservationChange> change = Transition("get", event_id, reservation_id);
  if (!change.ok()) return change.status();
  return std::move(change->reservation);
}

absl::StatusOr<std::vector<std::string>> RedisInventory::DoListExpiredHolds(
    std::string_view event_id, int64_t max) {
  // At least one, so that an event without inventory is NotFound here too.
  absl::StatusOr<ReplyPtr> reply =
      Run("list_expired", event_id, {absl::StrCat(std::max<int64_t>(max, 1))});
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context());
  std::vector<std::string> ids;
  while (r.ok() && r.remaining() > 0) ids.emplace_back(r.String("reservation_id"));
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  if (static_cast<int64_t>(ids.size()) > max) ids.resize(static_cast<std::size_t>(max));
  return ids;
}

absl::StatusOr<HoldSweep> RedisInventory::DoSweepExpiredHolds(std::string_view event_id,
                                                              int64_t max) {
  absl::StatusOr<ReplyPtr> reply = Run("sweep", event_id, {absl::StrCat(max)});
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context());
  HoldSweep out;
  out.expired = r.IntIn("expired", 0, max);
  out.done = r.IntIn("done", 0, 1) == 1;
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisInventory::DoListEvents() {
  return ListRegisteredEvents(c_->runner->router(), registry_,
                              [this](std::string_view id) { return Base(id) + "inv"; });
}

}  // namespace

std::unique_ptr<Inventory> NewRedisInventory(std::shared_ptr<TicketingContext> c) {
  return std::make_unique<RedisInventory>(std::move(c));
}

}  // namespace admission::redis_internal
