// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory Inventory. Each sale event is a shard with its own lock, holding what the
// Redis store keeps in its keys (lua/ticketing/inventory.lua, which this file mirrors step by
// step): the counts, prices and limits, the named seats with their positions and own prices,
// the available seats ordered by position, the live holds ordered by expiry, the reservations,
// the ended reservations ordered by when they ended (dropped after the retention), and each
// user's account (seats held or sold, open holds) for the limits per person. Orders are (score,
// member) pairs compared like a Redis sorted set compares them, so both stores pick the same seats
// and expire the same holds first.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/ticketing/inventory.h"
#include "common/strings.h"
#include "ticketing/ticketing_internal.h"

namespace admission::ticketing_internal {
namespace {

using internal::AbslView;

// Ended reservations dropped per call once past the retention.
constexpr int kPruneEndedPerCall = 16;
// Seats named in a seat_unavailable message.
constexpr std::size_t kSeatsInMessage = 10;

struct Seat {
  int64_t position = 0;
  SeatState state = SeatState::kAvailable;
  int64_t price = 0;  // its own price; 0: the event's
};

struct Record {
  std::string user_id;
  std::string external_ref;
  ReservationStatus status = ReservationStatus::kHold;
  std::vector<std::string> seat_ids;
  int64_t quantity = 0;
  int64_t total = 0;
  std::string currency;
  int64_t created_us = 0;
  int64_t expires_us = 0;
  int64_t updated_us = 0;
  // RecordPaymentIntent's record ("" until then).
  std::string payment_intent;
  int64_t payment_intent_us = 0;
};

// What a Hold with a request_key did (HoldRequest::request_key), kept until `until_us`.
struct RequestRecord {
  std::string fingerprint;
  std::string reservation_id;  // the hold made; empty when refused
  absl::Status refusal;
  int64_t until_us = 0;
};

using ScoreSet = std::set<std::pair<int64_t, std::string>>;

// What a user has in one event, for the limits per person. Kept while it is not empty.
struct UserAccount {
  int64_t seats = 0;              // held + sold
  std::vector<std::string> open;  // reservations in HOLD, oldest first
};

struct EventInventory {
  std::mutex mu;
  bool exists ABSL_GUARDED_BY(mu) = false;
  bool named ABSL_GUARDED_BY(mu) = false;
  int64_t total ABSL_GUARDED_BY(mu) = 0;
  int64_t held ABSL_GUARDED_BY(mu) = 0;
  int64_t sold ABSL_GUARDED_BY(mu) = 0;
  std::string currency ABSL_GUARDED_BY(mu);  // "" without prices
  int64_t price ABSL_GUARDED_BY(mu) = 0;
  SaleLimits limits ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, UserAccount> users ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, Seat> seats ABSL_GUARDED_BY(mu);
  std::vector<std::string> order ABSL_GUARDED_BY(mu);  // seat ids by position
  ScoreSet avail ABSL_GUARDED_BY(mu);                  // (position, seat id)
  ScoreSet holds ABSL_GUARDED_BY(mu);                  // (hold expiry, reservation id)
  absl::flat_hash_map<std::string, Record> reservations ABSL_GUARDED_BY(mu);
  ScoreSet ended ABSL_GUARDED_BY(mu);  // (ended at, reservation id)
  // Request keys by RequestKeyOf(user, key), and the same ordered by when they are forgotten.
  absl::flat_hash_map<std::string, RequestRecord> requests ABSL_GUARDED_BY(mu);
  ScoreSet request_expiry ABSL_GUARDED_BY(mu);  // (until, RequestKeyOf)
};

// Keys are recorded per user: one buyer's key never answers another's hold. User ids hold no
// newline (ValidateUserId).
std::string RequestKeyOf(std::string_view user_id, std::string_view key) {
  return absl::StrCat(AbslView(user_id), "\n", AbslView(key));
}

class MemoryInventory final : public Inventory {
 public:
  explicit MemoryInventory(const TicketingOptions& options)
      : Inventory(options.default_hold_ttl),
        clock_(options.clock != nullptr ? options.clock : SystemClock()),
        retention_us_(DurationToMicros(options.reservation_retention)),
        request_ttl_us_(DurationToMicros(options.idempotency_ttl)),
        expire_per_call_(std::max<int64_t>(options.expire_per_call, 0)) {}

 private:
  enum class Op { kConfirm, kCancel, kExpire };

  absl::Status DoSetInventory(std::string_view event_id, const InventorySpec& spec) override;
  absl::StatusOr<Availability> DoGetAvailability(std::string_view event_id,
                                                 bool with_seats) override;
  absl::StatusOr<Reservation> DoHold(const HoldRequest& request, int64_t quantity,
                                     absl::Duration ttl) override;
  absl::StatusOr<ReservationChange> DoConfirm(std::string_view event_id,
                                              std::string_view reservation_id,
                                              const Payment* paid) override {
    return Transition(event_id, reservation_id, Op::kConfirm, paid);
  }
  absl::StatusOr<PaymentIntentRecord> DoRecordPaymentIntent(std::string_view event_id,
                                                            std::string_view reservation_id,
                                                            std::string_view intent) override;
  absl::StatusOr<ReservationChange> DoCancel(std::string_view event_id,
                                             std::string_view reservation_id) override {
    return Transition(event_id, reservation_id, Op::kCancel);
  }
  absl::StatusOr<ReservationChange> DoExpire(std::string_view event_id,
                                             std::string_view reservation_id) override {
    return Transition(event_id, reservation_id, Op::kExpire);
  }
  absl::StatusOr<Reservation> DoGet(std::string_view event_id,
                                    std::string_view reservation_id) override;
  absl::StatusOr<std::vector<std::string>> DoListExpiredHolds(std::string_view event_id,
                                                              int64_t max) override;
  absl::StatusOr<HoldSweep> DoSweepExpiredHolds(std::string_view event_id, int64_t max) override;
  absl::StatusOr<std::vector<std::string>> DoListEvents() override;

  // The event's shard; nullptr if it was never created (and `create` is false).
  EventInventory* Find(std::string_view event_id, bool create);
  // `paid`: the payment a confirm must match (nullptr: none to check).
  absl::StatusOr<ReservationChange> Transition(std::string_view event_id,
                                               std::string_view reservation_id, Op op,
                                               const Payment* paid = nullptr);

  int64_t NowMicros() { return TimeToMicros(clock_->Now()); }

  // Takes the reservation off its user's open holds, and its seats off the user's count when
  // they go back.
  static void Settle(EventInventory& ev, const std::string& rid, const Record& r, bool seats_back)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // Expires the user's holds that are past expiry, so that they never count against a limit.
  void ExpireUserHolds(EventInventory& ev, const std::string& user_id, int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // The SaleLimits refusal of a hold of `quantity` by `user_id`, or OK.
  static absl::Status CheckLimits(EventInventory& ev, const std::string& user_id, int64_t quantity)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // Gives the reservation's seats back and ends it with `status`.
  void End(EventInventory& ev, const std::string& rid, Record& r, ReservationStatus status,
           int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // Expires up to `max` holds past expiry; true when none is left.
  bool ExpireDue(EventInventory& ev, int64_t now, int64_t max, int64_t* expired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // Drops a bounded number of reservations that ended longer ago than the retention, and of
  // request keys past their time.
  void PruneEnded(EventInventory& ev, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu);
  // The hold itself, once the request key (if any) is known to be new.
  absl::StatusOr<Reservation> Take(EventInventory* ev, const HoldRequest& request, int64_t quantity,
                                   absl::Duration ttl, int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev->mu);
  // Both, at the start of the calls that touch the event as a whole.
  void Prologue(EventInventory& ev, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev.mu) {
    int64_t ignored = 0;
    ExpireDue(ev, now, expire_per_call_, &ignored);
    PruneEnded(ev, now);
  }

  static Reservation ToReservation(std::string_view event_id, const std::string& rid,
                                   const Record& r);
  static absl::Status NoInventory(std::string_view event_id) {
    return absl::NotFoundError(absl::StrCat("event '", AbslView(event_id), "' has no inventory"));
  }
  static absl::Status UnknownReservation() { return absl::NotFoundError("unknown reservation"); }

  Clock* const clock_;
  const int64_t retention_us_;
  const int64_t request_ttl_us_;
  const int64_t expire_per_call_;

  std::mutex events_mu_;
  // Shards are never removed, so the pointers stay valid.
  absl::flat_hash_map<std::string, std::unique_ptr<EventInventory>> events_
      ABSL_GUARDED_BY(events_mu_);
};

EventInventory* MemoryInventory::Find(std::string_view event_id, bool create) {
  std::lock_guard<std::mutex> lock(events_mu_);
  auto it = events_.find(AbslView(event_id));
  if (it != events_.end()) return it->second.get();
  if (!create) return nullptr;
  auto inserted = events_.emplace(std::string(event_id), std::make_unique<EventInventory>());
  return inserted.first->second.get();
}

Reservation MemoryInventory::ToReservation(std::string_view event_id, const std::string& rid,
                                           const Record& r) {
  Reservation out;
  out.reservation_id = rid;
  out.event_id = std::string(event_id);
  out.user_id = r.user_id;
  out.external_ref = r.external_ref;
  out.status = r.status;
  out.seat_ids = r.seat_ids;
  out.quantity = r.quantity;
  out.total = r.total;
  out.currency = r.currency;
  out.created_at = MicrosToTime(r.created_us);
  out.hold_expires_at = MicrosToTime(r.expires_us);
  out.updated_at = MicrosToTime(r.updated_us);
  return out;
}

void MemoryInventory::Settle(EventInventory& ev, const std::string& rid, const Record& r,
                             bool seats_back) {
  auto user = ev.users.find(r.user_id);
  if (user == ev.users.end()) return;  // cannot happen: every hold is counted
  UserAccount& account = user->second;
  account.open.erase(std::remove(account.open.begin(), account.open.end(), rid),
                     account.open.end());
  if (seats_back) account.seats -= r.quantity;
  if (account.seats <= 0 && account.open.empty()) ev.users.erase(user);
}

void MemoryInventory::ExpireUserHolds(EventInventory& ev, const std::string& user_id, int64_t now) {
  auto user = ev.users.find(user_id);
  if (user == ev.users.end()) return;
  const std::vector<std::string> open = user->second.open;  // End edits the account
  for (const std::string& rid : open) {
    auto it = ev.reservations.find(rid);
    if (it == ev.reservations.end()) continue;
    Record& r = it->second;
    if (r.status == ReservationStatus::kHold && r.expires_us <= now) {
      End(ev, rid, r, ReservationStatus::kExpired, now);
    }
  }
}

absl::Status MemoryInventory::CheckLimits(EventInventory& ev, const std::string& user_id,
                                          int64_t quantity) {
  const SaleLimits& limits = ev.limits;
  if (quantity > limits.seats_per_hold) {
    return InventoryErrorStatus(
        InventoryError::kHoldTooLarge,
        absl::StrCat("at most ", limits.seats_per_hold, " seats per hold in this event"));
  }
  auto user = ev.users.find(user_id);
  if (user == ev.users.end()) {
    if (quantity > limits.seats_per_user) {
      return InventoryErrorStatus(
          InventoryError::kUserLimit,
          absl::StrCat("at most ", limits.seats_per_user, " seats per person in this event"));
    }
    return absl::OkStatus();
  }
  const UserAccount& account = user->second;
  if (static_cast<int64_t>(account.open.size()) >= limits.holds_per_user) {
    return InventoryErrorStatus(
        InventoryError::kHoldLimit,
        absl::StrCat("at most ", limits.holds_per_user,
                     " open holds per person in this event: pay for or cancel reservation ",
                     account.open.front(), " first"));
  }
  if (account.seats + quantity > limits.seats_per_user) {
    return InventoryErrorStatus(
        InventoryError::kUserLimit,
        absl::StrCat("at most ", limits.seats_per_user, " seats per person in this event; ",
                     account.seats, " are held or bought already"));
  }
  return absl::OkStatus();
}

void MemoryInventory::End(EventInventory& ev, const std::string& rid, Record& r,
                          ReservationStatus status, int64_t now) {
  Settle(ev, rid, r, /*seats_back=*/true);
  if (ev.named) {
    for (const std::string& seat_id : r.seat_ids) {
      auto seat = ev.seats.find(seat_id);
      if (seat == ev.seats.end()) continue;  // cannot happen: SetInventory keeps held seats
      seat->second.state = SeatState::kAvailable;
      ev.avail.insert({seat->second.position, seat_id});
    }
  }
  ev.held -= r.quantity;
  ev.holds.erase({r.expires_us, rid});
  r.status = status;
  r.updated_us = now;
  ev.ended.insert({now, rid});
}

bool MemoryInventory::ExpireDue(EventInventory& ev, int64_t now, int64_t max, int64_t* expired) {
  *expired = 0;
  while (!ev.holds.empty() && ev.holds.begin()->first <= now) {
    if (*expired >= max) return false;
    const std::string rid = ev.holds.begin()->second;
    auto it = ev.reservations.find(rid);
    if (it == ev.reservations.end()) {  // cannot happen; never loop on it
      ev.holds.erase(ev.holds.begin());
      continue;
    }
    End(ev, rid, it->second, ReservationStatus::kExpired, now);
    ++*expired;
  }
  return true;
}

void MemoryInventory::PruneEnded(EventInventory& ev, int64_t now) {
  for (int i = 0; i < kPruneEndedPerCall && !ev.ended.empty(); ++i) {
    auto first = ev.ended.begin();
    if (first->first > now - retention_us_) break;
    ev.reservations.erase(first->second);
    ev.ended.erase(first);
  }
  for (int i = 0; i < kPruneEndedPerCall && !ev.request_expiry.empty(); ++i) {
    auto first = ev.request_expiry.begin();
    if (first->first > now) break;
    ev.requests.erase(first->second);
    ev.request_expiry.erase(first);
  }
}

absl::Status MemoryInventory::DoSetInventory(std::string_view event_id, const InventorySpec& spec) {
  const bool named = !spec.seat_ids.empty();
  EventInventory& ev = *Find(event_id, /*create=*/true);
  std::lock_guard<std::mutex> lock(ev.mu);
  const int64_t now = NowMicros();
  if (ev.exists) Prologue(ev, now);
  const bool in_use = ev.exists && (ev.held > 0 || ev.sold > 0);
  if (in_use && ev.named != named) {
    return InventoryErrorStatus(
        InventoryError::kInventoryInUse,
        "cannot switch between named seats and general admission while seats are held or sold");
  }
  if (!named) {
    if (in_use && spec.general_admission < ev.held + ev.sold) {
      return InventoryErrorStatus(InventoryError::kInventoryInUse,
                                  absl::StrCat("general admission cannot shrink below the ",
                                               ev.held + ev.sold, " places held or sold"));
    }
    ev.seats.clear();
    ev.order.clear();
    ev.avail.clear();
    if (!ev.exists || ev.named) ev.held = ev.sold = 0;
    ev.currency = spec.currency;
    ev.price = spec.price;
    ev.limits = spec.limits;
    ev.named = false;
    ev.total = spec.general_admission;
    ev.exists = true;
    return absl::OkStatus();
  }
  // Named seats: every seat that is held or sold must stay.
  if (in_use) {
    absl::flat_hash_set<absl::string_view> wanted(spec.seat_ids.begin(), spec.seat_ids.end());
    std::vector<std::string> missing;
    for (const std::string& seat_id : ev.order) {
      if (ev.seats[seat_id].state != SeatState::kAvailable && !wanted.contains(seat_id)) {
        missing.push_back(seat_id);
      }
    }
    if (!missing.empty()) {
      if (missing.size() > kSeatsInMessage) missing.resize(kSeatsInMessage);
      return InventoryErrorStatus(
          InventoryError::kInventoryInUse,
          absl::StrCat("seats held or sold cannot be removed: ", absl::StrJoin(missing, ", ")));
    }
  }
  absl::flat_hash_map<std::string, Seat> seats;
  seats.reserve(spec.seat_ids.size());
  absl::flat_hash_map<absl::string_view, int64_t> own_prices;
  for (const SeatPrice& p : spec.seat_prices) own_prices[p.seat_id] = p.price;
  ScoreSet avail;
  for (std::size_t i = 0; i < spec.seat_ids.size(); ++i) {
    Seat seat;
    seat.position = static_cast<int64_t>(i);
    if (auto own = own_prices.find(spec.seat_ids[i]); own != own_prices.end()) {
      seat.price = own->second;
    }
    if (in_use) {
      auto old = ev.seats.find(spec.seat_ids[i]);
      if (old != ev.seats.end()) seat.state = old->second.state;
    }
    if (seat.state == SeatState::kAvailable) avail.insert({seat.position, spec.seat_ids[i]});
    seats.emplace(spec.seat_ids[i], seat);
  }
  if (!in_use) ev.held = ev.sold = 0;
  ev.seats = std::move(seats);
  ev.order = spec.seat_ids;
  ev.avail = std::move(avail);
  ev.currency = spec.currency;
  ev.price = spec.price;
  ev.limits = spec.limits;
  ev.named = true;
  ev.total = static_cast<int64_t>(spec.seat_ids.size());
  ev.exists = true;
  return absl::OkStatus();
}

absl::StatusOr<Availability> MemoryInventory::DoGetAvailability(std::string_view event_id,
                                                                bool with_seats) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return NoInventory(event_id);
  std::lock_guard<std::mutex> lock(ev->mu);
  if (!ev->exists) return NoInventory(event_id);
  const int64_t now = NowMicros();
  Prologue(*ev, now);
  Availability out;
  out.event_id = std::string(event_id);
  out.general_admission = !ev->named;
  out.counts.total = ev->total;
  out.counts.held = ev->held;
  out.counts.sold = ev->sold;
  out.counts.available = ev->total - ev->held - ev->sold;
  out.currency = ev->currency;
  out.price = ev->price;
  out.limits = ev->limits;
  out.now = MicrosToTime(now);
  if (with_seats && ev->named) {
    out.seats.reserve(ev->order.size());
    for (const std::string& seat_id : ev->order) {
      const Seat& seat = ev->seats[seat_id];
      out.seats.push_back({seat_id, seat.state, seat.price != 0 ? seat.price : ev->price});
    }
  }
  return out;
}

absl::StatusOr<Reservation> MemoryInventory::DoHold(const HoldRequest& request, int64_t quantity,
                                                    absl::Duration ttl) {
  EventInventory* ev = Find(request.event_id, /*create=*/false);
  if (ev == nullptr) return NoInventory(request.event_id);
  std::lock_guard<std::mutex> lock(ev->mu);
  if (!ev->exists) return NoInventory(request.event_id);
  const int64_t now = NowMicros();
  Prologue(*ev, now);
  if (request.request_key.empty()) return Take(ev, request, quantity, ttl, now);

  const std::string fingerprint = HoldFingerprint(request, quantity, ttl);
  const std::string key = RequestKeyOf(request.user_id, request.request_key);
  if (auto it = ev->requests.find(key); it != ev->requests.end() && now < it->second.until_us) {
    const RequestRecord& seen = it->second;
    if (seen.fingerprint != fingerprint) {
      return InventoryErrorStatus(InventoryError::kRequestKeyReused, RequestKeyReusedMessage());
    }
    if (!seen.refusal.ok()) return seen.refusal;
    auto r = ev->reservations.find(seen.reservation_id);
    if (r == ev->reservations.end()) return UnknownReservation();
    return ToReservation(request.event_id, r->first, r->second);
  }
  absl::StatusOr<Reservation> out = Take(ev, request, quantity, ttl, now);
  // Only what the event's state decided is kept: a refusal that depends on the input alone
  // (InvalidArgument) is answered the same way again anyway.
  if (!out.ok() && !absl::IsFailedPrecondition(out.status())) return out;
  if (auto old = ev->requests.find(key); old != ev->requests.end()) {
    ev->request_expiry.erase({old->second.until_us, key});
  }
  RequestRecord& record = ev->requests[key];
  record.fingerprint = fingerprint;
  record.reservation_id = out.ok() ? out->reservation_id : std::string();
  record.refusal = out.status();
  record.until_us = now + request_ttl_us_;
  ev->request_expiry.insert({record.until_us, key});
  return out;
}

absl::StatusOr<Reservation> MemoryInventory::Take(EventInventory* ev, const HoldRequest& request,
                                                  int64_t quantity, absl::Duration ttl,
                                                  int64_t now) {
  const std::string rid = NewReservationId(request.event_id);
  ExpireUserHolds(*ev, request.user_id, now);
  if (absl::Status s = CheckLimits(*ev, request.user_id, quantity); !s.ok()) return s;

  Record r;
  r.user_id = request.user_id;
  r.external_ref = request.external_ref;
  r.quantity = quantity;
  r.created_us = now;
  r.updated_us = now;
  r.expires_us = now + DurationToMicros(ttl);
  if (!ev->named) {
    if (!request.seat_ids.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event '", request.event_id, "' has general admission: ask for a quantity"));
    }
    const int64_t available = ev->total - ev->held - ev->sold;
    if (quantity > available) {
      return InventoryErrorStatus(InventoryError::kSoldOut,
                                  absl::StrCat("only ", available, " places left"));
    }
  } else if (!request.seat_ids.empty()) {
    std::vector<std::pair<int64_t, std::string>> wanted;
    std::vector<std::string> taken;
    for (const std::string& seat_id : request.seat_ids) {
      auto seat = ev->seats.find(seat_id);
      if (seat == ev->seats.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event '", request.event_id, "' has no seat '", seat_id, "'"));
      }
      if (seat->second.state != SeatState::kAvailable) {
        if (taken.size() < kSeatsInMessage) taken.push_back(seat_id);
      }
      wanted.push_back({seat->second.position, seat_id});
    }
    if (!taken.empty()) {
      return InventoryErrorStatus(
          InventoryError::kSeatUnavailable,
          absl::StrCat("seats not available: ", absl::StrJoin(taken, ", ")));
    }
    std::sort(wanted.begin(), wanted.end());
    for (auto& [position, seat_id] : wanted) r.seat_ids.push_back(std::move(seat_id));
  } else {
    if (quantity > static_cast<int64_t>(ev->avail.size())) {
      return InventoryErrorStatus(InventoryError::kSoldOut,
                                  absl::StrCat("only ", ev->avail.size(), " seats left"));
    }
    auto it = ev->avail.begin();
    for (int64_t i = 0; i < quantity; ++i, ++it) r.seat_ids.push_back(it->second);
  }
  // All available: take them, price them, count them for the user.
  if (!ev->currency.empty()) {
    r.currency = ev->currency;
    r.total = ev->named ? 0 : ev->price * quantity;
  }
  for (const std::string& seat_id : r.seat_ids) {
    Seat& seat = ev->seats[seat_id];
    ev->avail.erase({seat.position, seat_id});
    seat.state = SeatState::kHeld;
    if (!ev->currency.empty()) r.total += seat.price != 0 ? seat.price : ev->price;
  }
  ev->held += quantity;
  ev->holds.insert({r.expires_us, rid});
  UserAccount& account = ev->users[request.user_id];
  account.seats += quantity;
  account.open.push_back(rid);
  Reservation out = ToReservation(request.event_id, rid, r);
  ev->reservations.emplace(rid, std::move(r));
  return out;
}

absl::StatusOr<ReservationChange> MemoryInventory::Transition(std::string_view event_id,
                                                              std::string_view reservation_id,
                                                              Op op, const Payment* paid) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return UnknownReservation();
  std::lock_guard<std::mutex> lock(ev->mu);
  const int64_t now = NowMicros();
  PruneEnded(*ev, now);
  auto it = ev->reservations.find(AbslView(reservation_id));
  if (it == ev->reservations.end()) return UnknownReservation();
  const std::string& rid = it->first;
  Record& r = it->second;
  ReservationChange out;
  const bool live_hold = r.status == ReservationStatus::kHold && now < r.expires_us;
  const bool expired_hold = r.status == ReservationStatus::kHold && !live_hold;
  switch (op) {
    case Op::kConfirm:
      if (paid != nullptr && !r.currency.empty() &&
          (paid->amount != r.total || paid->currency != r.currency)) {
        return InventoryErrorStatus(InventoryError::kPaymentMismatch,
                                    PaymentMismatchMessage(rid, *paid, r.total, r.currency));
      }
      if (expired_hold) {
        End(*ev, rid, r, ReservationStatus::kExpired, now);
        return InventoryErrorStatus(InventoryError::kHoldExpired, "the hold has expired");
      }
      if (live_hold) {
        for (const std::string& seat_id : r.seat_ids) ev->seats[seat_id].state = SeatState::kSold;
        ev->held -= r.quantity;
        ev->sold += r.quantity;
        ev->holds.erase({r.expires_us, rid});
        Settle(*ev, rid, r, /*seats_back=*/false);
        r.status = ReservationStatus::kConfirmed;
        r.updated_us = now;
        ev->ended.insert({now, rid});
        out.changed = true;
      } else if (r.status != ReservationStatus::kConfirmed) {
        return InventoryErrorStatus(InventoryError::kInvalidTransition,
                                    absl::StrCat("cannot confirm a reservation that is ",
                                                 AbslView(ReservationStatusName(r.status))));
      }
      break;
    case Op::kCancel:
      if (r.status == ReservationStatus::kConfirmed) {
        return InventoryErrorStatus(InventoryError::kInvalidTransition,
                                    "cannot cancel a reservation that is CONFIRMED");
      }
      if (r.status == ReservationStatus::kHold) {
        End(*ev, rid, r, live_hold ? ReservationStatus::kCancelled : ReservationStatus::kExpired,
            now);
        out.changed = true;
      }
      break;
    case Op::kExpire:
      if (expired_hold) {
        End(*ev, rid, r, ReservationStatus::kExpired, now);
        out.changed = true;
      }
      break;
  }
  out.reservation = ToReservation(event_id, rid, r);
  return out;
}

absl::StatusOr<PaymentIntentRecord> MemoryInventory::DoRecordPaymentIntent(
    std::string_view event_id, std::string_view reservation_id, std::string_view intent) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return UnknownReservation();
  std::lock_guard<std::mutex> lock(ev->mu);
  const int64_t now = NowMicros();
  PruneEnded(*ev, now);
  auto it = ev->reservations.find(AbslView(reservation_id));
  if (it == ev->reservations.end()) return UnknownReservation();
  const std::string& rid = it->first;
  Record& r = it->second;
  PaymentIntentRecord out;
  if (!r.payment_intent.empty()) {
    if (r.payment_intent != intent) {
      return InventoryErrorStatus(InventoryError::kPaymentExists, PaymentExistsMessage(rid));
    }
  } else if (r.status != ReservationStatus::kHold) {
    return InventoryErrorStatus(InventoryError::kInvalidTransition,
                                absl::StrCat("cannot pay for a reservation that is ",
                                             AbslView(ReservationStatusName(r.status))));
  } else if (now >= r.expires_us) {
    End(*ev, rid, r, ReservationStatus::kExpired, now);
    return InventoryErrorStatus(InventoryError::kHoldExpired, "the hold has expired");
  } else {
    r.payment_intent = std::string(intent);
    r.payment_intent_us = now;
    out.changed = true;
  }
  out.reservation = ToReservation(event_id, rid, r);
  out.intent = r.payment_intent;
  out.recorded_at = MicrosToTime(r.payment_intent_us);
  return out;
}

absl::StatusOr<Reservation> MemoryInventory::DoGet(std::string_view event_id,
                                                   std::string_view reservation_id) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return UnknownReservation();
  std::lock_guard<std::mutex> lock(ev->mu);
  PruneEnded(*ev, NowMicros());
  auto it = ev->reservations.find(AbslView(reservation_id));
  if (it == ev->reservations.end()) return UnknownReservation();
  return ToReservation(event_id, it->first, it->second);
}

absl::StatusOr<std::vector<std::string>> MemoryInventory::DoListExpiredHolds(
    std::string_view event_id, int64_t max) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return NoInventory(event_id);
  std::lock_guard<std::mutex> lock(ev->mu);
  if (!ev->exists) return NoInventory(event_id);
  const int64_t now = NowMicros();
  std::vector<std::string> ids;
  for (auto it = ev->holds.begin();
       it != ev->holds.end() && it->first <= now && static_cast<int64_t>(ids.size()) < max; ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

absl::StatusOr<HoldSweep> MemoryInventory::DoSweepExpiredHolds(std::string_view event_id,
                                                               int64_t max) {
  EventInventory* ev = Find(event_id, /*create=*/false);
  if (ev == nullptr) return NoInventory(event_id);
  std::lock_guard<std::mutex> lock(ev->mu);
  if (!ev->exists) return NoInventory(event_id);
  const int64_t now = NowMicros();
  PruneEnded(*ev, now);
  HoldSweep out;
  out.done = ExpireDue(*ev, now, max, &out.expired);
  return out;
}

absl::StatusOr<std::vector<std::string>> MemoryInventory::DoListEvents() {
  std::vector<EventInventory*> shards;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    for (const auto& [name, shard] : events_) {
      names.push_back(name);
      shards.push_back(shard.get());
    }
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    std::lock_guard<std::mutex> lock(shards[i]->mu);
    if (shards[i]->exists) out.push_back(std::move(names[i]));
  }
  return out;
}

}  // namespace

std::unique_ptr<Inventory> NewMemoryInventory(const TicketingOptions& options) {
  return std::make_unique<MemoryInventory>(options);
}

}  // namespace admission::ticketing_internal
