// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/waiting_room.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "admission/room/memory_store.h"
#include "common/strings.h"
#include "common/tokens.h"
#include "room/facade_calls.h"
#include "room/rate_estimate.h"

namespace admission {

// Sweeps every event each interval on a thread of its own, so that ghosts leave the line even
// when nobody calls. Ticks on the real clock: the store's clock (possibly simulated) only
// decides what has expired.
class WaitingRoom::Sweeper {
 public:
  Sweeper(WaitingRoom* room, absl::Duration interval)
      : room_(room), interval_(absl::ToChronoMicroseconds(interval)), thread_([this] { Run(); }) {}

  ~Sweeper() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      // A failed sweep (say, Redis unreachable) is retried on the next tick; calls made in
      // the meantime sweep a little themselves.
      (void)room_->SweepAll();
      lock.lock();
    }
  }

  WaitingRoom* const room_;
  const std::chrono::microseconds interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it reads
};

namespace {

absl::Status ValidateOptions(const Options& options) {
  if (absl::Status s = ValidatePolicy(options.default_policy); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("default_policy: ", s.message()));
  }
  if (options.sweep_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sweep_interval must not be negative");
  }
  if (options.sweep_batch < 1) return absl::InvalidArgumentError("sweep_batch must be positive");
  if (options.min_poll_interval <= absl::ZeroDuration() ||
      options.max_poll_interval < options.min_poll_interval) {
    return absl::InvalidArgumentError(
        "poll intervals must satisfy 0 < min_poll_interval <= max_poll_interval");
  }
  return absl::OkStatus();
}

std::string DenialMessage(const QueueStatus& s) {
  switch (s.blocked_by) {
    case EntryBlock::kPaused:
      return s.paused_reason.empty() ? "Admissions are paused for the moment." : s.paused_reason;
    case EntryBlock::kCapacityFull:
      return "The event is at capacity; places free up as others finish.";
    case EntryBlock::kNotYourTurn:
      return absl::StrCat("Not your turn yet: ", s.ahead_unreached,
                          s.ahead_unreached == 1 ? " person is" : " people are", " ahead of you.");
    case EntryBlock::kTierWait:
      return "Please keep waiting a little longer; your turn is close.";
    case EntryBlock::kNotWaiting:
      if (s.state == UserState::kPrequeue) {
        return "The sale has not opened yet; your place in line is drawn when it opens.";
      }
      return "";
    default:
      return "";
  }
}

// The event id of a token (EventIdOfToken without building a status when it is well formed).
bool ParseToken(std::string_view token, std::string_view* event_id) {
  internal::TokenKey key;
  return internal::ParseToken(token, event_id, &key);
}

absl::Status MalformedToken() { return absl::InvalidArgumentError("malformed token"); }

}  // namespace

std::string_view QueueStatus::status_name() const {
  if (state == UserState::kWaiting && ready_for_entry) return "ready";
  return UserStateName(state);
}

WaitingRoom::WaitingRoom(std::unique_ptr<Store> store, Options options)
    : store_(std::move(store)),
      facade_calls_(dynamic_cast<internal::FacadeCalls*>(store_.get())),
      options_(std::move(options)) {}

WaitingRoom::~WaitingRoom() { sweeper_.reset(); }

absl::StatusOr<std::unique_ptr<WaitingRoom>> WaitingRoom::Create(std::unique_ptr<Store> store,
                                                                 Options options) {
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  std::unique_ptr<WaitingRoom> room(new WaitingRoom(std::move(store), std::move(options)));
  if (room->options_.sweep_interval > absl::ZeroDuration()) {
    room->sweeper_ = std::make_unique<Sweeper>(room.get(), room->options_.sweep_interval);
  }
  return room;
}

absl::StatusOr<std::unique_ptr<WaitingRoom>> WaitingRoom::CreateInMemory(Options options,
                                                                         Clock* clock) {
  MemoryStoreOptions store_options;
  store_options.clock = clock;
  return Create(NewMemoryStore(store_options), std::move(options));
}

namespace {

// What a user in line is shown, from the store's ticket (whose strings it takes) and, when the
// store made them (room/facade_calls.h), the estimates of its rate sample; in `s`, a fresh
// QueueStatus.
void PresentIn(QueueStatus& s, Ticket&& t, const Options& options,
               const internal::TicketEstimates* estimates) {
  // The ticket is the caller's to give up: its strings move over rather than being copied.
  s.event_id = std::move(t.event_id);
  s.user_id = std::move(t.user_id);
  s.token = std::move(t.token);
  s.state = t.state;
  s.ready_for_entry = t.ready_for_entry;
  s.position = t.position;
  s.position_high = std::max(t.position, t.position_high);
  s.ahead_unreached = t.ahead_unreached;
  s.grant_expires_at = t.grant_expires_at;
  s.opens_at = t.opens_at;
  s.now = t.now;
  s.waited = std::max(absl::ZeroDuration(), std::min(t.now, t.left_line_at) - t.joined_at);
  s.blocked_by = t.blocked_by;
  s.retry_after = t.retry_after;
  s.paused_reason = std::move(t.paused_reason);
  s.queue_message = std::move(t.queue_message);
  s.reservation_token = std::move(t.reservation_token);
  s.reservation_expires_at = t.reservation_expires_at;

  if (t.state != UserState::kWaiting && t.state != UserState::kPrequeue) {
    s.eta = absl::ZeroDuration();
    s.eta_low = s.eta_high = s.eta;
    s.eta_confidence = t.state == UserState::kActive || t.state == UserState::kCompleted ? 1 : 0;
    s.poll_after = options.max_poll_interval;
    return;
  }

  const bool estimated = estimates != nullptr && estimates->set;
  const RateEstimate rate = estimated ? estimates->rate : EstimateRate(t.rate, t.now);
  s.eta_confidence = rate.confidence;
  const LineSpeed speed = estimated ? estimates->speed : EstimateLineSpeed(t.rate, t.now);
  // A range of places (a user not drawn yet) is a range of unreached users ahead.
  const int64_t spread = s.position_high - s.position;
  if (t.state == UserState::kPrequeue) {
    // The place is drawn at the opening, somewhere in 1..position_high.
    const absl::Duration to_opening = std::max(absl::ZeroDuration(), t.opens_at - t.now);
    s.eta_low = to_opening;
    s.eta_high = to_opening + TimeToReach(speed, s.position_high - 1, absl::ZeroDuration());
  } else if (t.ready_for_entry) {
    s.eta_low = s.eta_high = absl::ZeroDuration();
  } else {
    const absl::Duration tier_left = t.tier_wait - s.waited;
    s.eta_low = std::max(TimeToReach(speed, t.ahead_unreached, s.waited), tier_left);
    s.eta_high = std::max(TimeToReach(speed, t.ahead_unreached + spread, s.waited), tier_left);
  }
  if (s.eta_low == s.eta_high || s.eta_high == absl::InfiniteDuration()) {
    s.eta = s.eta_high;
  } else {
    s.eta = s.eta_low + (s.eta_high - s.eta_low) / 2;
  }
  if (s.eta == absl::InfiniteDuration()) s.eta_confidence = 0;

  // Poll often near the turn, rarely far from it: half the expected wait, so that the polls
  // halve as the turn nears, and within the last min_poll_interval the expected wait itself, so
  // that the poll lands on the turn and the grant is claimed as soon as it is made (claims
  // late by up to a poll interval would reorder the line by that much). A range polls by its
  // middle (the expected wait); a pre-queued user by the opening. Always within the presence
  // window (so that the grants find a client that follows the advice present) and well within
  // the heartbeat TTL.
  absl::Duration poll = options.min_poll_interval;
  if (!t.ready_for_entry) {
    const absl::Duration basis = t.state == UserState::kPrequeue ? s.eta_low : s.eta;
    poll = basis < options.min_poll_interval
               ? basis
               : std::clamp(basis / 2, options.min_poll_interval, options.max_poll_interval);
  }
  const absl::Duration present_left = t.present_until - t.now;
  if (present_left > absl::ZeroDuration()) poll = std::min(poll, present_left / 2);
  const absl::Duration ttl_left = t.deadline - t.now;
  if (ttl_left > absl::ZeroDuration()) poll = std::min(poll, ttl_left / 3);
  s.poll_after = std::max(poll, absl::Milliseconds(100));
}

QueueStatus Present(Ticket&& t, const Options& options) {
  QueueStatus s;
  PresentIn(s, std::move(t), options, nullptr);
  return s;
}

// The answer by the store's short way (room/facade_calls.h): `call(ticket, estimates)` has the
// store make the ticket in place, and the answer is made in place in what is returned (one
// object returned throughout, so nothing is moved).
template <typename Call>
absl::StatusOr<QueueStatus> ShortWayAnswer(const Options& options, Call&& call) {
  absl::StatusOr<QueueStatus> answer(absl::in_place);
  Ticket ticket;
  internal::TicketEstimates estimates;
  if (absl::Status s = call(&ticket, &estimates); !s.ok()) {
    answer = std::move(s);
    return answer;
  }
  PresentIn(*answer, std::move(ticket), options, &estimates);
  return answer;
}

}  // namespace

absl::StatusOr<QueueStatus> WaitingRoom::Join(std::string_view event_id, std::string_view user_id) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  if (absl::Status s = ValidateUserId(user_id); !s.ok()) return s;
  // Made in place, as NewToken would (the ticket carries the token back as a string).
  const internal::TokenBuffer token(event_id);
  // Used only when the join admits at once (passthrough, safety net); the store decides.
  const internal::TokenBuffer reservation(event_id);
  JoinRequest request;
  request.event_id = event_id;
  request.user_id = user_id;
  request.token = token.view();
  request.reservation_token = reservation.view();
  request.create_with = options_.create_events_on_join ? &options_.default_policy : nullptr;
  if (facade_calls_ != nullptr) {
    return ShortWayAnswer(options_, [&](Ticket* ticket, internal::TicketEstimates* estimates) {
      return facade_calls_->JoinParsed(request, token.key(), ticket, estimates);
    });
  }
  absl::StatusOr<Ticket> ticket = store_->Join(request);
  if (!ticket.ok()) return ticket.status();
  return Present(*std::move(ticket), options_);
}

absl::StatusOr<QueueStatus> WaitingRoom::Status(std::string_view token) {
  std::string_view event_id;
  internal::TokenKey key;
  if (!internal::ParseToken(token, &event_id, &key)) return MalformedToken();
  if (facade_calls_ != nullptr) {
    return ShortWayAnswer(options_, [&](Ticket* ticket, internal::TicketEstimates* estimates) {
      return facade_calls_->StatusParsed(event_id, token, key, ticket, estimates);
    });
  }
  absl::StatusOr<Ticket> ticket = store_->Status(event_id, token);
  if (!ticket.ok()) return ticket.status();
  return Present(*std::move(ticket), options_);
}

absl::StatusOr<QueueStatus> WaitingRoom::Find(std::string_view event_id, std::string_view user_id) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  if (absl::Status s = ValidateUserId(user_id); !s.ok()) return s;
  absl::StatusOr<std::string> token = store_->FindToken(event_id, user_id);
  if (!token.ok()) return token.status();
  absl::StatusOr<Ticket> ticket = store_->Status(event_id, *token);
  // The place may end between the two calls (its deadline applied by the Status, a Leave in
  // between): an ended place is no place.
  if (absl::IsNotFound(ticket.status()) ||
      (ticket.ok() && ticket->state != UserState::kWaiting &&
       ticket->state != UserState::kPrequeue && ticket->state != UserState::kActive)) {
    return absl::NotFoundError(absl::StrCat("user '", internal::AbslView(user_id),
                                            "' has no place in event '",
                                            internal::AbslView(event_id), "'"));
  }
  if (!ticket.ok()) return ticket.status();
  return Present(*std::move(ticket), options_);
}

absl::StatusOr<EnterResult> WaitingRoom::Enter(std::string_view token) {
  std::string_view event_id;
  if (!ParseToken(token, &event_id)) return MalformedToken();
  const internal::TokenBuffer reservation(event_id);
  absl::StatusOr<EnterOutcome> outcome = store_->Enter(event_id, token, reservation.view());
  if (!outcome.ok()) return outcome.status();
  EnterResult r;
  r.granted = outcome->granted;
  r.by_bypass = outcome->by_bypass;
  r.repeated = outcome->repeated;
  r.status = Present(std::move(outcome->ticket), options_);
  if (r.granted) {
    r.reservation_token = r.status.reservation_token;
    r.reservation_expires_at = r.status.reservation_expires_at;
  } else {
    r.reason = r.status.blocked_by;
    r.retry_after = r.status.retry_after;
    r.message = DenialMessage(r.status);
  }
  return r;
}

absl::StatusOr<QueueStatus> WaitingRoom::Leave(std::string_view token) {
  std::string_view event_id;
  if (!ParseToken(token, &event_id)) return MalformedToken();
  absl::StatusOr<Ticket> ticket = store_->Leave(event_id, token);
  if (!ticket.ok()) return ticket.status();
  return Present(*std::move(ticket), options_);
}

absl::StatusOr<QueueStatus> WaitingRoom::Complete(std::string_view token) {
  std::string_view event_id;
  if (!ParseToken(token, &event_id)) return MalformedToken();
  absl::StatusOr<Ticket> ticket = store_->Complete(event_id, token);
  if (!ticket.ok()) return ticket.status();
  return Present(*std::move(ticket), options_);
}

absl::Status WaitingRoom::SetPolicy(std::string_view event_id, const Policy& policy) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  return store_->SetPolicy(event_id, policy);
}

absl::StatusOr<Policy> WaitingRoom::GetPolicy(std::string_view event_id) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  return store_->GetPolicy(event_id);
}

absl::StatusOr<EventStats> WaitingRoom::Stats(std::string_view event_id) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  absl::StatusOr<EventCounters> c = store_->Stats(event_id);
  if (!c.ok()) return c.status();
  EventStats s;
  s.event_id = std::string(event_id);
  s.waiting = c->waiting;
  s.prequeued = c->prequeued;
  s.drawn = c->drawn;
  s.granted = c->granted;
  s.active = c->active;
  s.joined_total = c->joined_total;
  s.admitted_total = c->admitted_total;
  s.admitted_by_bypass = c->admitted_by_bypass;
  s.admitted_by_safety_net = c->admitted_by_safety_net;
  s.admitted_by_passthrough = c->admitted_by_passthrough;
  s.refused_total = c->refused_total;
  s.opened = c->opened;
  s.shuffled_at_opening = c->shuffled_at_opening;
  s.expired_total = c->expired_total;
  s.active_timed_out_total = c->active_timed_out_total;
  s.left_total = c->left_total;
  s.completed_total = c->completed_total;
  s.passed_total = c->passed_total;
  s.lapsed_total = c->lapsed_total;
  s.bucket_tokens = c->bucket_tokens;
  const RateEstimate rate = EstimateRate(c->rate, c->now);
  s.admission_rate_per_sec = rate.measured ? rate.per_sec : 0;
  s.rate_confidence = rate.measured ? rate.confidence : 0;
  s.now = c->now;
  return s;
}

absl::StatusOr<RoomOutlook> WaitingRoom::Outlook(std::string_view event_id) {
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) return s;
  absl::StatusOr<EventCounters> c = store_->Stats(event_id);
  if (!c.ok()) return c.status();
  absl::StatusOr<Policy> policy = store_->GetPolicy(event_id);
  if (!policy.ok()) return policy.status();
  return MakeRoomOutlook(event_id, *policy, *c);
}

absl::StatusOr<std::vector<std::string>> WaitingRoom::Events() { return store_->ListEvents(); }

absl::StatusOr<int64_t> WaitingRoom::SweepAll() {
  absl::StatusOr<std::vector<std::string>> events = store_->ListEvents();
  if (!events.ok()) return events.status();
  int64_t removed = 0;
  absl::Status first_error;
  for (const std::string& event_id : *events) {
    for (;;) {
      absl::StatusOr<SweepOutcome> outcome = store_->Sweep(event_id, options_.sweep_batch);
      if (!outcome.ok()) {
        first_error.Update(outcome.status());
        break;
      }
      removed += outcome->removed;
      if (outcome->done) break;
    }
  }
  if (!first_error.ok()) return first_error;
  return removed;
}

}  // namespace admission
