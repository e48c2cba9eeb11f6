// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "ticketing_routes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "http_toolkit.h"
#include "json_codec.h"

namespace admission::gateway {
namespace {

// Holds past expiry published per event and scan; the rest come at the next scan.
constexpr int64_t kExpiryBatch = 1000;
// /metrics weighs at most this many sales to pick the busiest (one store call each).
constexpr int64_t kMaxEventsWeighed = 10000;
// Dead letters listed at most per call.
constexpr int64_t kMaxDeadLettersListed = 1000;
// A reservation id is "<event id>.<32 hex digits>"; a dead letter's id at most 200 characters.
// Route patterns take a little more and leave the judgement to the library, so that a
// malformed id is a 400 naming the problem rather than a bare 404.
constexpr std::size_t kMaxReservationIdLength = kMaxEventIdLength + 1 + 32;

// An integer member in [min, max]. NotFound when absent (or null); InvalidArgument otherwise.
absl::StatusOr<int64_t> GetInt(const Json& object, const std::string& key, int64_t min,
                               int64_t max) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return absl::NotFoundError(absl::StrCat("field '", key, "' is missing"));
  }
  if (!it->is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be an integer"));
  }
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", key, "' must be between ", min, " and ", max));
  }
  return v;
}

// An array of strings, each at most `max_length` long, at most `max_items` of them.
absl::StatusOr<std::vector<std::string>> GetStringArray(const Json& object, const std::string& key,
                                                        std::size_t max_items,
                                                        std::size_t max_length) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return absl::NotFoundError(absl::StrCat("field '", key, "' is missing"));
  }
  if (!it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must be an array"));
  }
  if (it->size() > max_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", key, "' holds more than ", max_items, " items"));
  }
  std::vector<std::string> out;
  out.reserve(it->size());
  for (const Json& item : *it) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("field '", key, "' must hold strings"));
    }
    std::string s = item.get<std::string>();
    if (s.size() > max_length) {
      return absl::InvalidArgumentError(
          absl::StrCat("an item of '", key, "' is longer than ", max_length, " characters"));
    }
    out.push_back(std::move(s));
  }
  return out;
}

Json ReservationJson(const Reservation& r) {
  Json j{
      {"reservation_id", r.reservation_id},
      {"event_id", r.event_id},
      {"user_id", r.user_id},
      {"status", std::string(ReservationStatusName(r.status))},
      {"seat_ids", r.seat_ids},
      {"quantity", r.quantity},
      {"hold_expires_at", TimeText(r.hold_expires_at)},
      {"created_at", TimeText(r.created_at)},
      {"updated_at", TimeText(r.updated_at)},
  };
  // What to pay, when the event has prices.
  if (!r.currency.empty()) {
    j["total"] = r.total;
    j["currency"] = r.currency;
  }
  return j;
}

Json AvailabilityJson(const Availability& a) {
  Json j = {
      {"event_id", a.event_id},
      {"kind", a.general_admission ? "general_admission" : "seats"},
      {"total", a.counts.total},
      {"available", a.counts.available},
      {"held", a.counts.held},
      {"sold", a.counts.sold},
      {"limits",
       {{"seats_per_hold", a.limits.seats_per_hold},
        {"holds_per_user", a.limits.holds_per_user},
        {"seats_per_user", a.limits.seats_per_user}}},
  };
  const bool priced = !a.currency.empty();
  if (priced) {
    j["currency"] = a.currency;
    if (a.price != 0) j["price"] = a.price;
  }
  if (!a.general_admission && !a.seats.empty()) {
    Json seats = Json::array();
    for (const SeatInfo& seat : a.seats) {
      Json s{{"seat_id", seat.seat_id}, {"state", std::string(SeatStateName(seat.state))}};
      if (priced) s["price"] = seat.price;
      seats.push_back(std::move(s));
    }
    j["seats"] = std::move(seats);
  }
  return j;
}

// The prices and limits of a PUT inventory body into `spec` (see docs/gateway.md).
absl::Status ReadSaleSettings(const Json& body, InventorySpec& spec) {
  if (auto it = body.find("currency"); it != body.end() && !it->is_null()) {
    absl::StatusOr<std::string> currency = GetString(body, "currency", 3);
    if (!currency.ok()) return currency.status();
    spec.currency = *std::move(currency);
    if (absl::Status s = ValidateCurrency(spec.currency); !s.ok()) return s;
  }
  absl::StatusOr<int64_t> price = GetInt(body, "price", 1, kMaxPrice);
  if (price.ok()) {
    spec.price = *price;
  } else if (!absl::IsNotFound(price.status())) {
    return price.status();
  }
  if (auto it = body.find("seat_prices"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("'seat_prices' must be an object of seat id -> price");
    }
    if (it->size() > static_cast<std::size_t>(kMaxNamedSeats)) {
      return absl::InvalidArgumentError("'seat_prices' names more seats than an event has");
    }
    for (const auto& [seat, value] : it->items()) {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > kMaxPrice) {
        return absl::InvalidArgumentError(
            absl::StrCat("the price of seat '", seat, "' must be an integer of 1 to ", kMaxPrice));
      }
      spec.seat_prices.push_back({seat, value.get<int64_t>()});
    }
  }
  if ((spec.price != 0 || !spec.seat_prices.empty()) && spec.currency.empty()) {
    return absl::InvalidArgumentError("give the prices' 'currency' (ISO 4217, e.g. EUR)");
  }
  if (auto it = body.find("limits"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("'limits' must be an object");
    if (absl::Status s = CheckFields(*it, {"seats_per_hold", "holds_per_user", "seats_per_user"});
        !s.ok()) {
      return s;
    }
    for (const auto& [key, max, field] :
         {std::tuple<const char*, int64_t, int64_t*>{"seats_per_hold", kMaxSeatsPerHold,
                                                     &spec.limits.seats_per_hold},
          {"holds_per_user", kMaxHoldsPerUser, &spec.limits.holds_per_user},
          {"seats_per_user", kMaxGeneralAdmission, &spec.limits.seats_per_user}}) {
      absl::StatusOr<int64_t> v = GetInt(*it, key, 1, max);
      if (v.ok()) {
        *field = *v;
      } else if (!absl::IsNotFound(v.status())) {
        return v.status();
      }
    }
  }
  return absl::OkStatus();
}

// The text form of a query flag: true/false/1/0; nullopt for anything else.
std::optional<bool> QueryBool(const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

}  // namespace

TicketingOptions TicketingOptionsFromFlags(const GatewayFlags& flags, Clock* clock) {
  TicketingOptions options;
  options.clock = clock;
  options.idempotency_ttl = absl::Seconds(flags.idempotency_ttl_sec);
  options.default_hold_ttl = absl::Seconds(flags.hold_ttl_sec);
  return options;
}

TicketingRoutes::TicketingRoutes(const RouteContext& ctx, Ticketing ticketing)
    : ctx_(ctx), flags_(ctx.flags), clock_(&ctx.clock), ticketing_(std::move(ticketing)) {
  TicketingHandlerOptions handler_options;
  handler_options.on_applied = [this](const Delivery&, const ReservationChange& change) {
    CountChange(change);
  };
  WorkerOptions worker_options;
  worker_options.clock = clock_;
  // Unique per process: every gateway on a shared store takes its share of the queue.
  worker_options.consumer = "gateway-" + RandomHex(8);
  worker_options.events_per_sec = flags_.worker_pace_per_sec;
  worker_ = std::make_unique<Worker>(
      ticketing_.outcomes.get(),
      MakeTicketingHandler(ticketing_.inventory.get(), std::move(handler_options)), worker_options);
}

TicketingRoutes::~TicketingRoutes() { Stop(); }

void TicketingRoutes::AddRoutes(RouteTable& routes) {
  auto bind = [this](void (TicketingRoutes::*handler)(const Request&, Response&)) {
    return [this, handler](const Request& req, Response& res) { (this->*handler)(req, res); };
  };
  // Buyers' calls are under the per-address limit, and those that change state replay an
  // Idempotency-Key; operators' calls have the admin token as their gate.
  const RouteTable::Guards admin;
  const RouteTable::Guards limited{true, false};
  // Holds, payments, confirms and cancels are exactly-once in the library itself (a hold's
  // request key and a payment intent are recorded in the same atomic step as their effect;
  // confirm and cancel are transitions that apply once), so they skip the gateway's generic
  // Idempotency-Key replay, whose lease would answer "in progress" to a retry after a lost reply.
  routes.Add(RouteId::kAdminInventoryPut, "PUT", "/admin/v1/events/{event_id}/inventory", admin,
             bind(&TicketingRoutes::PutInventory));
  routes.Add(RouteId::kSeats, "GET", "/api/v1/events/{event_id}/seats", limited,
             bind(&TicketingRoutes::GetSeats));
  routes.Add(RouteId::kReservationCreate, "POST", "/api/v1/reservations", limited,
             bind(&TicketingRoutes::CreateReservation));
  routes.Add(RouteId::kReservationGet, "GET", "/api/v1/reservations/{reservation_id}", limited,
             bind(&TicketingRoutes::GetReservation));
  routes.Add(RouteId::kReservationConfirm, "POST", "/api/v1/reservations/{reservation_id}/confirm",
             limited, bind(&TicketingRoutes::ConfirmReservation));
  routes.Add(RouteId::kReservationCancel, "POST", "/api/v1/reservations/{reservation_id}/cancel",
             limited, bind(&TicketingRoutes::CancelReservation));
  routes.Add(RouteId::kPaymentIntent, "POST", "/api/v1/payment/intent", limited,
             bind(&TicketingRoutes::PaymentIntent));
  routes.Add(RouteId::kAdminDeadLetters, "GET", "/admin/v1/dead-letters", admin,
             bind(&TicketingRoutes::ListDeadLetters));
  routes.Add(RouteId::kAdminDeadLetterReplay, "POST", "/admin/v1/dead-letters/{id}/replay", admin,
             bind(&TicketingRoutes::ReplayDeadLetter));
  routes.Add(RouteId::kAdminReservationConfirm, "POST",
             "/admin/v1/reservations/{reservation_id}/confirm", admin,
             bind(&TicketingRoutes::AdminConfirmReservation));
}

absl::Status TicketingRoutes::Start() {
  if (absl::Status s = worker_->Start(); !s.ok()) return s;
  if (flags_.hold_expiry_scan_ms > 0) {
    std::lock_guard<std::mutex> lock(scan_mu_);
    if (!scan_thread_.joinable()) {
      scan_stop_ = false;
      scan_thread_ = std::thread([this] { ScanLoop(); });
    }
  }
  return absl::OkStatus();
}

void TicketingRoutes::Stop() {
  {
    std::lock_guard<std::mutex> lock(scan_mu_);
    scan_stop_ = true;
  }
  scan_wake_.notify_all();
  if (scan_thread_.joinable()) scan_thread_.join();
  worker_->Stop();
}

void TicketingRoutes::ScanLoop() {
  const auto interval = std::chrono::milliseconds(flags_.hold_expiry_scan_ms);
  std::unique_lock<std::mutex> lock(scan_mu_);
  while (!scan_stop_) {
    lock.unlock();
    if (absl::StatusOr<int64_t> n = PublishExpiredHolds(); !n.ok()) {
      std::fprintf(stderr, "warning: hold-expiry scan: %s\n", n.status().ToString().c_str());
    }
    lock.lock();
    scan_wake_.wait_for(lock, interval, [this] { return scan_stop_; });
  }
}

absl::StatusOr<int64_t> TicketingRoutes::PublishExpiredHolds() {
  absl::StatusOr<std::vector<std::string>> events = ticketing_.inventory->ListEvents();
  if (!events.ok()) {
    scan_errors_.fetch_add(1, std::memory_order_relaxed);
    return events.status();
  }
  int64_t published = 0;
  absl::Status first_error;
  for (const std::string& event_id : *events) {
    absl::StatusOr<int64_t> n = admission::PublishExpiredHolds(
        *ticketing_.inventory, *ticketing_.outcomes, event_id, kExpiryBatch);
    if (n.ok()) {
      published += *n;
    } else {
      // One event's failure must not stop the others' expiries.
      scan_errors_.fetch_add(1, std::memory_order_relaxed);
      if (first_error.ok()) first_error = n.status();
    }
  }
  expiries_published_.fetch_add(static_cast<uint64_t>(published), std::memory_order_relaxed);
  if (!first_error.ok() && published == 0) return first_error;
  return published;
}

absl::StatusOr<WorkerStep> TicketingRoutes::StepWorker() { return worker_->Step(); }

void TicketingRoutes::CountChange(const ReservationChange& change) {
  if (!change.changed) return;
  switch (change.reservation.status) {
    case ReservationStatus::kConfirmed:
      confirmed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case ReservationStatus::kCancelled:
      cancelled_.fetch_add(1, std::memory_order_relaxed);
      break;
    case ReservationStatus::kExpired:
      expired_.fetch_add(1, std::memory_order_relaxed);
      break;
    case ReservationStatus::kHold:
      break;
  }
}

std::optional<ReservationClaims> TicketingRoutes::Authenticate(const Request& req, Response& res) {
  // X-Admission-Token (or Bearer outside jwt mode), and in jwt mode the admitted user's JWT.
  return ctx_.identity.Authorize(req, res, ctx_.signer, clock_->Now());
}

std::optional<Reservation> TicketingRoutes::OwnReservation(const ReservationClaims& claims,
                                                           std::string_view id, Response& res) {
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(id);
  if (!event_id.ok()) {
    ReplyError(res, 400, "invalid_argument", Msg(event_id.status()));
    return std::nullopt;
  }
  if (!claims.scope_reservation_id.empty() && claims.scope_reservation_id != id) {
    ReplyError(res, 403, "forbidden", "this token is for another reservation");
    return std::nullopt;
  }
  // Another user's reservation is "not found" rather than "forbidden": ids are secrets, and
  // the answer must not confirm that one exists.
  constexpr std::string_view kNotYours = "no such reservation for this user";
  if (*event_id != claims.event_id) {
    ReplyError(res, 404, "not_found", kNotYours);
    return std::nullopt;
  }
  absl::StatusOr<Reservation> r = ticketing_.inventory->Get(id);
  if (!r.ok()) {
    if (absl::IsNotFound(r.status())) {
      ReplyError(res, 404, "not_found", kNotYours);
    } else {
      ReplyLibraryError(res, r.status());
    }
    return std::nullopt;
  }
  if (r->user_id != claims.user_id) {
    ReplyError(res, 404, "not_found", kNotYours);
    return std::nullopt;
  }
  return *std::move(r);
}

void TicketingRoutes::ReplyLibraryError(Response& res, const absl::Status& status) {
  const InventoryError error = InventoryErrorOf(status);
  if (error != InventoryError::kNone) {
    return ReplyError(res, 409, InventoryErrorName(error), Msg(status));
  }
  ReplyStatus(res, status, ctx_.metrics);
}

void TicketingRoutes::EndAdmission(const ReservationClaims& claims) {
  absl::StatusOr<QueueStatus> done = ctx_.room.Complete(claims.waiting_token);
  // Already over (completed, left, timed out) or forgotten: nothing left to end.
  if (done.ok() || absl::IsFailedPrecondition(done.status()) || absl::IsNotFound(done.status())) {
    return;
  }
  ctx_.metrics.CountStoreError();
  std::fprintf(stderr, "warning: could not end the admission of a buyer in %s: %s\n",
               claims.event_id.c_str(), done.status().ToString().c_str());
}

void TicketingRoutes::PutInventory(const Request& req, Response& res) {
  if (!CheckAdmin(req, res, flags_.admin_token)) return;
  const std::string event_id = req.matches[0];
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyLibraryError(res, body.status());
  if (absl::Status s = CheckFields(
          *body, {"seat_ids", "general_admission", "currency", "price", "seat_prices", "limits"});
      !s.ok()) {
    return ReplyLibraryError(res, s);
  }
  InventorySpec spec;
  absl::StatusOr<std::vector<std::string>> seats =
      GetStringArray(*body, "seat_ids", kMaxNamedSeats, kMaxSeatIdLength);
  absl::StatusOr<int64_t> places = GetInt(*body, "general_admission", 1, kMaxGeneralAdmission);
  const bool has_seats = !absl::IsNotFound(seats.status());
  const bool has_places = !absl::IsNotFound(places.status());
  if (has_seats == has_places) {
    return ReplyError(res, 400, "invalid_argument",
                      "give either 'seat_ids' (named seats) or 'general_admission' (a number)");
  }
  if (has_seats) {
    if (!seats.ok()) return ReplyError(res, 400, "invalid_argument", Msg(seats.status()));
    if (seats->empty()) return ReplyError(res, 400, "invalid_argument", "'seat_ids' is empty");
    spec.seat_ids = *std::move(seats);
  } else {
    if (!places.ok()) return ReplyError(res, 400, "invalid_argument", Msg(places.status()));
    spec.general_admission = *places;
  }
  if (absl::Status s = ReadSaleSettings(*body, spec); !s.ok()) {
    return ReplyError(res, 400, "invalid_argument", Msg(s));
  }
  if (absl::Status s = ticketing_.inventory->SetInventory(event_id, spec); !s.ok()) {
    return ReplyLibraryError(res, s);
  }
  absl::StatusOr<Availability> now = ticketing_.inventory->GetAvailability(event_id, false);
  if (!now.ok()) return ReplyLibraryError(res, now.status());
  Reply(res, 200, AvailabilityJson(*now));
}

void TicketingRoutes::GetSeats(const Request& req, Response& res) {
  const std::string event_id = req.matches[0];
  bool with_seats = true;
  if (req.has_param("seats")) {
    std::optional<bool> v = QueryBool(req.get_param_value("seats"));
    if (!v) return ReplyError(res, 400, "invalid_argument", "'seats' must be true or false");
    with_seats = *v;
  }
  absl::StatusOr<Availability> a = ticketing_.inventory->GetAvailability(event_id, with_seats);
  if (!a.ok()) {
    if (absl::IsNotFound(a.status())) {
      return ReplyError(res, 404, "not_found", "this event has no inventory");
    }
    return ReplyLibraryError(res, a.status());
  }
  Reply(res, 200, AvailabilityJson(*a));
}

void TicketingRoutes::CreateReservation(const Request& req, Response& res) {
  std::optional<ReservationClaims> claims = Authenticate(req, res);
  if (!claims) return;
  if (!claims->scope_reservation_id.empty()) {
    return ReplyError(res, 403, "forbidden",
                      "this token is for one reservation; a hold needs the admission token "
                      "from /api/v1/queue/enter");
  }
  // Required here (it is optional elsewhere): a retried hold must never take seats twice. The
  // library records it with the hold, atomically: a retry with the same key and body gets the
  // first hold (or refusal) back, whichever gateway it reaches.
  if (!req.has_header("Idempotency-Key")) {
    return ReplyError(res, 400, "invalid_argument",
                      "an Idempotency-Key header is required (a fresh UUID per hold attempt)");
  }
  const std::string request_key = req.get_header_value("Idempotency-Key");
  if (absl::Status s = ValidateIdempotencyKey(request_key); !s.ok()) {
    return ReplyError(res, 400, "invalid_argument",
                      "Idempotency-Key must be 1 to 255 printable characters without spaces");
  }
  if (!Allow(ctx_.token_limiter, absl::StrCat("t:", claims->waiting_token), res, ctx_.metrics)) {
    return;
  }
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyLibraryError(res, body.status());
  if (absl::Status s = CheckFields(*body, {"event_id", "seat_ids", "quantity"}); !s.ok()) {
    return ReplyLibraryError(res, s);
  }
  absl::StatusOr<std::string> event_id = GetString(*body, "event_id", kMaxEventIdLength);
  if (!event_id.ok()) return ReplyError(res, 400, "invalid_argument", Msg(event_id.status()));
  HoldRequest hold;
  hold.event_id = *event_id;
  hold.user_id = claims->user_id;
  hold.hold_ttl = absl::Seconds(flags_.hold_ttl_sec);
  hold.request_key = request_key;
  absl::StatusOr<std::vector<std::string>> seats =
      GetStringArray(*body, "seat_ids", kMaxSeatsPerHold, kMaxSeatIdLength);
  if (seats.ok()) {
    hold.seat_ids = *std::move(seats);
  } else if (!absl::IsNotFound(seats.status())) {
    return ReplyError(res, 400, "invalid_argument", Msg(seats.status()));
  }
  absl::StatusOr<int64_t> quantity = GetInt(*body, "quantity", 1, kMaxSeatsPerHold);
  if (quantity.ok()) {
    hold.quantity = *quantity;
  } else if (!absl::IsNotFound(quantity.status())) {
    return ReplyError(res, 400, "invalid_argument", Msg(quantity.status()));
  }
  if (hold.seat_ids.empty() && hold.quantity == 0) {
    return ReplyError(res, 400, "invalid_argument", "give 'seat_ids' or a 'quantity'");
  }
  if (hold.event_id != claims->event_id) {
    return ReplyError(res, 403, "forbidden",
                      absl::StrCat("the reservation token is for event ", claims->event_id));
  }
  // The token proves an admission without a store lookup; whether that admission is still
  // running (not completed, left or timed out) is the room's to say. Without this check a
  // buyer who already paid could keep holding seats for as long as the token lives.
  absl::StatusOr<QueueStatus> place = ctx_.room.Status(claims->waiting_token);
  if (!place.ok() && !absl::IsNotFound(place.status())) {
    return ReplyLibraryError(res, place.status());
  }
  if (!place.ok() || place->state != UserState::kActive) {
    return ReplyError(res, 410, "gone",
                      "this admission is over (completed, left or timed out); join the line "
                      "again");
  }
  const absl::Time started = clock_->Now();
  absl::StatusOr<Reservation> held = ticketing_.inventory->Hold(hold);
  if (!held.ok()) {
    if (absl::IsNotFound(held.status())) {
      return ReplyError(res, 404, "not_found", "this event has no inventory");
    }
    return ReplyLibraryError(res, held.status());
  }
  // A replayed hold was made (and counted) by an earlier request: it was created before this one
  // began (the store takes the time from this process's clock). Only the header and the count
  // rely on that; the seats never do.
  if (held->created_at < started) {
    res.set_header("Idempotent-Replay", "true");
  } else {
    holds_.fetch_add(1, std::memory_order_relaxed);
  }
  ReservationClaims scoped = *claims;
  scoped.scope_reservation_id = held->reservation_id;
  scoped.expires_at = held->hold_expires_at + kScopedTokenGrace;
  Json j = ReservationJson(*held);
  j["reservation_token"] = ctx_.signer.Sign(scoped);
  Reply(res, 201, j);
}

void TicketingRoutes::GetReservation(const Request& req, Response& res) {
  std::optional<ReservationClaims> claims = Authenticate(req, res);
  if (!claims) return;
  std::optional<Reservation> r = OwnReservation(*claims, std::string(req.matches[0]), res);
  if (!r) return;
  Reply(res, 200, ReservationJson(*r));
}

void TicketingRoutes::ConfirmReservation(const Request& req, Response& res) {
  std::optional<ReservationClaims> claims = Authenticate(req, res);
  if (!claims) return;
  // A buyer who could confirm would take the seats without paying: only the worker (from an
  // approved payment of the total) and the operator confirm.
  ReplyError(res, 403, "forbidden",
             "a reservation is confirmed by its payment: POST /api/v1/payment/intent");
}

void TicketingRoutes::AdminConfirmReservation(const Request& req, Response& res) {
  if (!CheckAdmin(req, res, flags_.admin_token)) return;
  absl::StatusOr<Json> body = ParseObject(req.body, /*empty_ok=*/true);
  if (!body.ok()) return ReplyLibraryError(res, body.status());
  if (absl::Status s = CheckFields(*body, {}); !s.ok()) return ReplyLibraryError(res, s);
  const std::string id = req.matches[0];
  absl::StatusOr<std::string_view> event_id = EventIdOfReservation(id);
  if (!event_id.ok()) return ReplyError(res, 400, "invalid_argument", Msg(event_id.status()));
  absl::StatusOr<ReservationChange> change = ticketing_.inventory->Confirm(id);
  if (!change.ok()) {
    if (absl::IsNotFound(change.status())) {
      return ReplyError(res, 404, "not_found", "no such reservation");
    }
    return ReplyLibraryError(res, change.status());
  }
  CountChange(*change);
  // Seats sold without a payment the gateway saw: leave a trace for the books.
  if (change->changed) {
    std::fprintf(stderr, "admin: reservation %s of event %s confirmed by the operator\n",
                 id.c_str(), change->reservation.event_id.c_str());
  }
  Reply(res, 200, ReservationJson(change->reservation));
}

void TicketingRoutes::CancelReservation(const Request& req, Response& res) {
  std::optional<ReservationClaims> claims = Authenticate(req, res);
  if (!claims) return;
  absl::StatusOr<Json> body = ParseObject(req.body, /*empty_ok=*/true);
  if (!body.ok()) return ReplyLibraryError(res, body.status());
  if (absl::Status s = CheckFields(*body, {}); !s.ok()) return ReplyLibraryError(res, s);
  std::optional<Reservation> r = OwnReservation(*claims, std::string(req.matches[0]), res);
  if (!r) return;
  absl::StatusOr<ReservationChange> change = ticketing_.inventory->Cancel(r->reservation_id);
  if (!change.ok()) return ReplyLibraryError(res, change.status());
  CountChange(*change);
  EndAdmission(*claims);
  Reply(res, 200, ReservationJson(change->reservation));
}

void TicketingRoutes::PaymentIntent(const Request& req, Response& res) {
  std::optional<ReservationClaims> claims = Authenticate(req, res);
  if (!claims) return;
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyLibraryError(res, body.status());
  if (absl::Status s = CheckFields(*body, {"reservation_id", "amount", "currency", "scenario"});
      !s.ok()) {
    return ReplyLibraryError(res, s);
  }
  absl::StatusOr<std::string> id = GetString(*body, "reservation_id", kMaxReservationIdLength);
  if (!id.ok()) return ReplyError(res, 400, "invalid_argument", Msg(id.status()));
  // Minor units (cents), as payment providers take them.
  absl::StatusOr<int64_t> amount = GetInt(*body, "amount", 1, kMaxReservationTotal);
  if (!amount.ok()) return ReplyError(res, 400, "invalid_argument", Msg(amount.status()));
  absl::StatusOr<std::string> currency = GetString(*body, "currency", 3);
  if (!currency.ok()) return ReplyError(res, 400, "invalid_argument", Msg(currency.status()));
  if (currency->size() != 3 || !std::all_of(currency->begin(), currency->end(),
                                            [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return ReplyError(res, 400, "invalid_argument",
                      "'currency' must be three capital letters (ISO 4217, e.g. EUR)");
  }
  absl::StatusOr<std::string> scenario = GetString(*body, "scenario", 16);
  if (!scenario.ok()) return ReplyError(res, 400, "invalid_argument", Msg(scenario.status()));
  if (*scenario != "approve" && *scenario != "fail" && *scenario != "delay") {
    return ReplyError(res, 400, "invalid_argument",
                      "'scenario' must be \"approve\", \"fail\" or \"delay\"");
  }
  std::optional<Reservation> r = OwnReservation(*claims, *id, res);
  if (!r) return;
  // A priced hold is paid in full or not at all (the worker checks it again before confirming).
  if (!r->currency.empty() && (*amount != r->total || *currency != r->currency)) {
    return ReplyError(res, 422, "amount_mismatch",
                      absl::StrCat("the reservation's total is ", r->total, " ", r->currency,
                                   " (minor units); pay exactly that"));
  }
  // One payment per reservation, whichever gateway the intents reach: the library records the
  // first intent with the reservation, atomically. The same intent again (a retry after a lost
  // answer, a crashed gateway) gets the first answer; another one (say, "fail" after "approve")
  // is refused, so the worker never sees two outcomes. The status (a live hold) is checked there
  // too, so a retry after the payment went through still gets its answer.
  absl::StatusOr<PaymentIntentRecord> recorded = ticketing_.inventory->RecordPaymentIntent(
      r->reservation_id, absl::StrCat(*scenario, " ", *amount, " ", *currency));
  if (!recorded.ok()) return ReplyLibraryError(res, recorded.status());
  // The outcome a real provider would report later, as an event for the worker. "delay" is an
  // approval that arrives --payment_delay_sec later (not_before), while the hold still runs
  // unless the delay outlasts it (then the approval is parked as a dead letter: money taken
  // for seats that went back needs a refund, not a retry). Everything here follows from the
  // record, so a retry publishes the same message, which the queue takes once (by its id).
  OutcomeMessage event;
  absl::Time apply_after = recorded->recorded_at;
  if (*scenario == "fail") {
    event = PaymentFailedMessage(r->reservation_id);
  } else if (*scenario == "approve") {
    event = PaymentApprovedMessage(r->reservation_id, *amount, *currency);
  } else {
    apply_after += absl::Seconds(flags_.payment_delay_sec);
    event = PaymentApprovedMessage(r->reservation_id, *amount, *currency, apply_after);
  }
  // Published on every answer, not only the first: the first attempt may have recorded the
  // intent and then lost the store before its message went out.
  if (absl::StatusOr<bool> published = ticketing_.outcomes->Publish(event); !published.ok()) {
    return ReplyLibraryError(res, published.status());
  }
  if (recorded->changed) payment_intents_.fetch_add(1, std::memory_order_relaxed);
  // The buyer's interactive part is over: the result comes from the worker.
  EndAdmission(*claims);
  const std::string answer =
      Json{
          {"reservation_id", r->reservation_id},
          {"status", "processing"},
          {"scenario", *scenario},
          {"amount", *amount},
          {"currency", *currency},
          {"payment_event_id", event.id},
          {"payment_event_type", event.type},
          {"apply_after", TimeText(apply_after)},
      }
          .dump(-1, ' ', false, Json::error_handler_t::replace);
  ReplyText(res, 202, answer);
}

void TicketingRoutes::ListDeadLetters(const Request& req, Response& res) {
  if (!CheckAdmin(req, res, flags_.admin_token)) return;
  int64_t limit = 100;
  if (req.has_param("limit")) {
    const std::string v = req.get_param_value("limit");
    if (!absl::SimpleAtoi(v, &limit) || limit < 1 || limit > kMaxDeadLettersListed) {
      return ReplyError(res, 400, "invalid_argument",
                        absl::StrCat("'limit' must be 1..", kMaxDeadLettersListed));
    }
  }
  absl::StatusOr<std::vector<DeadLetter>> dead = ticketing_.outcomes->ListDeadLetters(limit);
  if (!dead.ok()) return ReplyLibraryError(res, dead.status());
  absl::StatusOr<QueueStats> stats = ticketing_.outcomes->Stats();
  if (!stats.ok()) return ReplyLibraryError(res, stats.status());
  Json list = Json::array();
  for (const DeadLetter& d : *dead) {
    list.push_back({
        {"id", d.message.id},
        {"type", d.message.type},
        {"payload", d.message.payload},
        {"attempts", d.attempts},
        {"error", d.error},
        {"published_at", TimeText(d.published_at)},
        {"parked_at", TimeText(d.parked_at)},
    });
  }
  Reply(res, 200,
        Json{{"dead_letters", std::move(list)},
             {"queue",
              {{"ready", stats->ready},
               {"delayed", stats->delayed},
               {"in_flight", stats->in_flight},
               {"dead", stats->dead}}}});
}

void TicketingRoutes::ReplayDeadLetter(const Request& req, Response& res) {
  if (!CheckAdmin(req, res, flags_.admin_token)) return;
  const std::string id = req.matches[0];
  if (absl::Status s = ValidateMessageId(id); !s.ok()) return ReplyLibraryError(res, s);
  if (absl::Status s = ticketing_.outcomes->ReplayDeadLetter(id); !s.ok()) {
    return ReplyLibraryError(res, s);
  }
  Reply(res, 200, Json{{"id", id}, {"status", "ready"}});
}

TicketingCounts TicketingRoutes::Counts() const {
  TicketingCounts c;
  c.holds = holds_.load(std::memory_order_relaxed);
  c.confirmed = confirmed_.load(std::memory_order_relaxed);
  c.cancelled = cancelled_.load(std::memory_order_relaxed);
  c.expired = expired_.load(std::memory_order_relaxed);
  c.payment_intents = payment_intents_.load(std::memory_order_relaxed);
  c.worker = worker_->totals();
  return c;
}

std::string TicketingRoutes::RenderMetrics(int64_t max_events) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                    value, "\n");
  };
  counter("admission_ticketing_holds_total", "Seat holds made through this gateway.",
          holds_.load(std::memory_order_relaxed));
  counter("admission_ticketing_confirmed_total",
          "Reservations confirmed by this gateway (routes and worker).",
          confirmed_.load(std::memory_order_relaxed));
  counter("admission_ticketing_cancelled_total",
          "Reservations cancelled by this gateway (routes and worker).",
          cancelled_.load(std::memory_order_relaxed));
  counter("admission_ticketing_expired_total", "Holds expired by this gateway (routes and worker).",
          expired_.load(std::memory_order_relaxed));
  counter("admission_ticketing_payment_intents_total", "Payment intents accepted.",
          payment_intents_.load(std::memory_order_relaxed));
  counter("admission_ticketing_expiries_published_total",
          "hold_expired events published by the expiry scan.",
          expiries_published_.load(std::memory_order_relaxed));
  const WorkerCounts w = worker_->totals();
  counter("admission_ticketing_worker_applied_total", "Events the worker applied (acked).",
          static_cast<uint64_t>(w.succeeded));
  counter("admission_ticketing_worker_retried_total", "Events the worker handed back for a retry.",
          static_cast<uint64_t>(w.retried));
  counter("admission_ticketing_worker_parked_total",
          "Events the worker parked in the dead-letter list.", static_cast<uint64_t>(w.parked));

  // From the store, so every gateway on a shared store reports the same.
  absl::StatusOr<QueueStats> q = ticketing_.outcomes->Stats();
  if (q.ok()) {
    out +=
        "# HELP admission_ticketing_queue_events Events in the ticketing queue by state.\n"
        "# TYPE admission_ticketing_queue_events gauge\n";
    for (const auto& [state, n] : {std::pair<const char*, int64_t>{"ready", q->ready},
                                   {"delayed", q->delayed},
                                   {"in_flight", q->in_flight},
                                   {"dead", q->dead}}) {
      absl::StrAppend(&out, "admission_ticketing_queue_events{state=\"", state, "\"} ", n, "\n");
    }
  } else {
    ctx_.metrics.CountStoreError();
  }
  absl::StatusOr<std::vector<std::string>> events = ticketing_.inventory->ListEvents();
  if (events.ok()) {
    // The busiest sales (most seats held and sold; ties by id), as the room's series keep the
    // busiest events: reading them costs a store call per event, so at most kMaxEventsWeighed
    // (in id order) are weighed.
    std::sort(events->begin(), events->end());
    if (static_cast<int64_t>(events->size()) > kMaxEventsWeighed) {
      events->resize(kMaxEventsWeighed);
    }
    std::vector<Availability> sales;
    for (const std::string& e : *events) {
      absl::StatusOr<Availability> a = ticketing_.inventory->GetAvailability(e, false);
      if (a.ok()) sales.push_back(*std::move(a));
    }
    auto busy = [](const Availability& a) { return a.counts.held + a.counts.sold; };
    const std::size_t keep = std::min(sales.size(), static_cast<std::size_t>(max_events));
    std::partial_sort(sales.begin(), sales.begin() + keep, sales.end(),
                      [&busy](const Availability& a, const Availability& b) {
                        return busy(a) != busy(b) ? busy(a) > busy(b) : a.event_id < b.event_id;
                      });
    sales.resize(keep);
    std::sort(sales.begin(), sales.end(),
              [](const Availability& a, const Availability& b) { return a.event_id < b.event_id; });
    out +=
        "# HELP admission_event_seats Seats (or general-admission places) by state.\n"
        "# TYPE admission_event_seats gauge\n";
    for (const Availability& a : sales) {
      // Event ids are [A-Za-z0-9_-]: nothing to escape in the label.
      for (const auto& [state, n] :
           {std::pair<const char*, int64_t>{"available", a.counts.available},
            {"held", a.counts.held},
            {"sold", a.counts.sold}}) {
        absl::StrAppend(&out, "admission_event_seats{event=\"", a.event_id, "\",state=\"", state,
                        "\"} ", n, "\n");
      }
    }
  } else {
    ctx_.metrics.CountStoreError();
  }
  return out;
}

}  // namespace admission::gateway
