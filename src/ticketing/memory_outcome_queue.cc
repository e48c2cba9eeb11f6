// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory OutcomeQueue: the state machine of lua/ticketing/queue.lua under one lock. The
// Redis stream's order becomes a sequence number; the sorted sets become ordered sets of
// (score, id), compared as Redis compares them, so both stores deliver in the same order.
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
#include "absl/strings/str_cat.h"
#include "admission/clock.h"
#include "admission/ticketing/outcome_queue.h"
#include "common/strings.h"
#include "ticketing/ticketing_internal.h"

namespace admission::ticketing_internal {
namespace {

using internal::AbslView;

// Completed ids past the dedupe window forgotten per Publish or Ack.
constexpr int kPruneCompletedPerCall = 64;

enum class State { kReady, kDelayed, kInFlight, kDead };

std::string_view StateName(State s) {
  switch (s) {
    case State::kReady:
      return "ready";
    case State::kDelayed:
      return "delayed";
    case State::kInFlight:
      return "in flight";
    case State::kDead:
      return "parked";
  }
  return "unknown";
}

struct Record {
  std::string type;
  std::string payload;
  int64_t not_before_us = 0;
  int64_t published_us = 0;
  int64_t attempts = 0;
  State state = State::kReady;
  uint64_t seq = 0;  // position in the ready stream or the dead-letter stream
  int64_t due_us = 0;
  int64_t lease_us = 0;
  std::string last_error;
  int64_t parked_us = 0;
};

using ScoreSet = std::set<std::pair<int64_t, std::string>>;
using SeqSet = std::set<std::pair<uint64_t, std::string>>;

class MemoryOutcomeQueue final : public OutcomeQueue {
 public:
  explicit MemoryOutcomeQueue(const TicketingOptions& options)
      : clock_(options.clock != nullptr ? options.clock : SystemClock()),
        dedupe_us_(DurationToMicros(options.queue_dedupe_window)) {}

 private:
  absl::StatusOr<bool> DoPublish(const OutcomeMessage& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = TimeToMicros(clock_->Now());
    PruneCompleted(now);
    if (messages_.contains(message.id) || completed_ids_.contains(message.id)) {
      ++stats_.duplicates;
      return false;
    }
    Record r;
    r.type = message.type;
    r.payload = message.payload;
    r.not_before_us = TimeToMicros(message.not_before);
    r.published_us = now;
    if (r.not_before_us <= now) {
      MakeReady(message.id, &r);
    } else {
      r.state = State::kDelayed;
      r.due_us = r.not_before_us;
      delayed_.insert({r.due_us, message.id});
    }
    messages_.emplace(message.id, std::move(r));
    ++stats_.published;
    return true;
  }

  absl::StatusOr<std::vector<Delivery>> DoClaim(std::string_view /*consumer*/, int64_t max_messages,
                                                absl::Duration lease) override {
    std::vector<Delivery> out;
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = TimeToMicros(clock_->Now());
    const int64_t lease_until = now + DurationToMicros(lease);
    // Delayed messages whose time has come join the ready stream.
    for (int64_t i = 0; i < max_messages && !delayed_.empty(); ++i) {
      auto first = delayed_.begin();
      if (first->first > now) break;
      const std::string id = first->second;
      delayed_.erase(first);
      MakeReady(id, &messages_[id]);
    }
    // Expired leases first (they are older), then new messages.
    while (static_cast<int64_t>(out.size()) < max_messages && !leased_.empty() &&
           leased_.begin()->first <= now) {
      const std::string id = leased_.begin()->second;
      leased_.erase(leased_.begin());
      Record& r = messages_[id];
      r.last_error = "lease expired";
      ++stats_.redelivered;
      out.push_back(Lease(id, &r, lease_until));
    }
    while (static_cast<int64_t>(out.size()) < max_messages && !ready_.empty()) {
      const std::string id = ready_.begin()->second;
      ready_.erase(ready_.begin());
      out.push_back(Lease(id, &messages_[id], lease_until));
    }
    return out;
  }

  absl::Status DoAck(std::string_view message_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = TimeToMicros(clock_->Now());
    PruneCompleted(now);
    auto it = messages_.find(AbslView(message_id));
    if (it == messages_.end()) {
      if (completed_ids_.contains(AbslView(message_id))) return absl::OkStatus();
      return Unknown(message_id);
    }
    if (it->second.state != State::kInFlight) return NotInFlight(it->second);
    leased_.erase({it->second.lease_us, it->first});
    completed_.insert({now, it->first});
    completed_ids_.emplace(it->first, now);
    messages_.erase(it);
    ++stats_.completed;
    return absl::OkStatus();
  }

  absl::Status DoRetry(std::string_view message_id, int64_t attempts, absl::Time not_before,
                       std::string_view error) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record* r = nullptr;
    if (absl::Status s = Settle(message_id, attempts, &r); !s.ok()) return s;
    const std::string id(message_id);
    leased_.erase({r->lease_us, id});
    r->state = State::kDelayed;
    r->due_us = TimeToMicros(not_before);
    r->last_error = std::string(error);
    delayed_.insert({r->due_us, id});
    ++stats_.retried;
    return absl::OkStatus();
  }

  absl::Status DoPark(std::string_view message_id, int64_t attempts,
                      std::string_view error) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record* r = nullptr;
    if (absl::Status s = Settle(message_id, attempts, &r); !s.ok()) return s;
    const std::string id(message_id);
    leased_.erase({r->lease_us, id});
    r->state = State::kDead;
    r->last_error = std::string(error);
    r->parked_us = TimeToMicros(clock_->Now());
    r->seq = ++seq_;
    dead_.insert({r->seq, id});
    ++stats_.parked;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<DeadLetter>> DoListDeadLetters(int64_t max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<DeadLetter> out;
    for (auto it = dead_.begin(); it != dead_.end() && static_cast<int64_t>(out.size()) < max;
         ++it) {
      const Record& r = messages_[it->second];
      DeadLetter d;
      d.message = MessageOf(it->second, r);
      d.attempts = r.attempts;
      d.error = r.last_error;
      d.published_at = MicrosToTime(r.published_us);
      d.parked_at = MicrosToTime(r.parked_us);
      out.push_back(std::move(d));
    }
    return out;
  }

  absl::Status DoReplayDeadLetter(std::string_view message_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = messages_.find(AbslView(message_id));
    if (it == messages_.end() || it->second.state != State::kDead) {
      return absl::NotFoundError(absl::StrCat("no dead letter '", AbslView(message_id), "'"));
    }
    dead_.erase({it->second.seq, it->first});
    it->second.attempts = 0;
    MakeReady(it->first, &it->second);
    return absl::OkStatus();
  }

  absl::StatusOr<QueueStats> DoStats() override {
    std::lock_guard<std::mutex> lock(mu_);
    QueueStats out = stats_;
    out.ready = static_cast<int64_t>(ready_.size());
    out.delayed = static_cast<int64_t>(delayed_.size());
    out.in_flight = static_cast<int64_t>(leased_.size());
    out.dead = static_cast<int64_t>(dead_.size());
    return out;
  }

  // The errors' wording ("event") is what HTTP clients are shown; it names the message.
  static absl::Status Unknown(std::string_view message_id) {
    return absl::NotFoundError(absl::StrCat("unknown event '", AbslView(message_id), "'"));
  }
  static absl::Status NotInFlight(const Record& r) {
    return absl::FailedPreconditionError(
        absl::StrCat("the event is ", AbslView(StateName(r.state)), ", not in flight"));
  }

  static OutcomeMessage MessageOf(const std::string& id, const Record& r) {
    OutcomeMessage m;
    m.id = id;
    m.type = r.type;
    m.payload = r.payload;
    m.not_before = r.not_before_us == 0 ? absl::InfinitePast() : MicrosToTime(r.not_before_us);
    return m;
  }

  void MakeReady(const std::string& id, Record* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    r->state = State::kReady;
    r->seq = ++seq_;
    ready_.insert({r->seq, id});
  }

  Delivery Lease(const std::string& id, Record* r, int64_t lease_until)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    r->state = State::kInFlight;
    ++r->attempts;
    r->lease_us = lease_until;
    leased_.insert({lease_until, id});
    Delivery d;
    d.message = MessageOf(id, *r);
    d.attempts = r->attempts;
    d.published_at = MicrosToTime(r->published_us);
    d.last_error = r->last_error;
    d.lease_expires_at = MicrosToTime(lease_until);
    return d;
  }

  // The checks Retry and Park share: the message is in flight in delivery `attempts`.
  absl::Status Settle(std::string_view message_id, int64_t attempts, Record** out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = messages_.find(AbslView(message_id));
    if (it == messages_.end()) {
      if (completed_ids_.contains(AbslView(message_id))) {
        return absl::FailedPreconditionError("the event was completed already");
      }
      return Unknown(message_id);
    }
    if (it->second.state != State::kInFlight) return NotInFlight(it->second);
    if (it->second.attempts != attempts) {
      return absl::FailedPreconditionError(
          absl::StrCat("the event was delivered again since (delivery ", it->second.attempts,
                       ", not ", attempts, ")"));
    }
    *out = &it->second;
    return absl::OkStatus();
  }

  void PruneCompleted(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int i = 0; i < kPruneCompletedPerCall && !completed_.empty(); ++i) {
      auto first = completed_.begin();
      if (first->first > now - dedupe_us_) break;
      completed_ids_.erase(first->second);
      completed_.erase(first);
    }
  }

  Clock* const clock_;
  const int64_t dedupe_us_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Record> messages_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  SeqSet ready_ ABSL_GUARDED_BY(mu_);
  ScoreSet delayed_ ABSL_GUARDED_BY(mu_);
  ScoreSet leased_ ABSL_GUARDED_BY(mu_);
  SeqSet dead_ ABSL_GUARDED_BY(mu_);
  ScoreSet completed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> completed_ids_ ABSL_GUARDED_BY(mu_);
  QueueStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<OutcomeQueue> NewMemoryOutcomeQueue(const TicketingOptions& options) {
  return std::make_unique<MemoryOutcomeQueue>(options);
}

}  // namespace admission::ticketing_internal
