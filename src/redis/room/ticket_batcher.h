// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Coalesces the concurrent calls of one event that answer with a ticket (Status, Join) into
// batches, so that one function call on Redis serves many users and the per-call work (loading
// and saving the event, Begin's refill, sweep and lapses, Advance, the dispatch) is paid once
// per batch. A popular event's polls and joins are what a waiting room serves most, and all of
// them land on the one Redis core that owns the event's hash slot.
//
// Group commit, per event: a call joins its event's queue; the call at the front of the queue
// leads while fewer than `max_in_flight` batches of the event are under way: it takes up to
// `max_batch` calls from the front (its own first), runs them as one batch and hands every
// caller its own answer. While batches are in flight the queue fills, so batches grow with
// the load and a lone call is sent at once. Nothing waits on a timer, but a queued call waits
// at most `max_queue_wait` for a batch to take it (a stalled server holds both batches for up
// to their command timeout): then it leaves the queue with Unavailable, unsent, so that a
// call is bounded by about one command timeout rather than two.
//
// A queued call sleeps on a WakeSignal of its own and is woken once, to lead or with its
// answer, by a thread that has let go of the batcher's mutex, and it returns without taking
// the mutex again: with dozens of callers on a few cores, waking them under the mutex made
// each woken caller block on it once more (common/wake_signal.h).
#ifndef ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_
#define ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/room/store.h"
#include "common/wake_signal.h"

namespace admission::redis_internal {

// `Request`: what one call asks (a token for Status, a JoinRequest for Join); it must stay
// valid while its call runs, which it does since the caller waits for the answer.
template <typename Request>
class TicketBatcher {
 public:
  // Runs one batch of event `event_id`: one answer per request, in order (an error for one
  // request does not fail the others).
  using RunBatch = std::function<std::vector<absl::StatusOr<Ticket>>(
      std::string_view event_id, const std::vector<const Request*>& requests)>;

  TicketBatcher(RunBatch run, std::size_t max_batch, int max_in_flight,
                absl::Duration max_queue_wait)
      : run_(std::move(run)),
        max_batch_(max_batch < 1 ? 1 : max_batch),
        max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight),
        max_queue_wait_(max_queue_wait) {}

  // The answer to `request`, from a batch this call led or joined. Blocks until it is in.
  absl::StatusOr<Ticket> Call(std::string_view event_id, const Request& request) {
    Waiter self(&request);
    std::unique_lock<std::mutex> lock(mu_);
    std::unique_ptr<Lane>& slot = lanes_[absl::string_view(event_id.data(), event_id.size())];
    if (slot == nullptr) slot = std::make_unique<Lane>();
    Lane* const lane = slot.get();  // stays put while this call is queued or leads
    lane->queue.push_back(&self);
    Waiter* const leader = NextLeader(*lane);
    lock.unlock();
    uint32_t signal = kLead;  // this call leads at once: the queue was empty and a batch may start
    if (leader != &self) {
      Wake(leader, kLead);
      signal = self.signal.WaitFor(max_queue_wait_);
    }
    if (signal == WakeSignal::kUnset) {
      lock.lock();
      if (!self.lead && !self.in_batch) {
        // Still queued: leave the queue. (A call a batch took waits for that batch, which its
        // own command timeout bounds.)
        for (auto it = lane->queue.begin(); it != lane->queue.end(); ++it) {
          if (*it == &self) {
            lane->queue.erase(it);
            break;
          }
        }
        if (lane->queue.empty() && lane->in_flight == 0) {
          lanes_.erase(absl::string_view(event_id.data(), event_id.size()));
        }
        return absl::UnavailableError(
            absl::StrCat("the event's earlier calls to the store did not finish within ",
                         absl::FormatDuration(max_queue_wait_), "; this call was not sent"));
      }
      lock.unlock();
      // Taken into a batch, or made the leader, just now: the signal is on its way.
      signal = self.signal.WaitFor(absl::InfiniteDuration());
    }
    if (signal == kAnswered) return *std::move(self.answer);

    // Lead: take the front of the queue (this call is its first) and run it as one batch.
    std::vector<Waiter*> batch;
    lock.lock();
    while (!lane->queue.empty() && batch.size() < max_batch_) {
      batch.push_back(lane->queue.front());
      batch.back()->in_batch = true;
      lane->queue.pop_front();
    }
    ++lane->in_flight;
    Waiter* next = NextLeader(*lane);  // another batch may start behind this one
    lock.unlock();
    Wake(next, kLead);

    std::vector<const Request*> requests;
    requests.reserve(batch.size());
    for (const Waiter* w : batch) requests.push_back(w->request);
    std::vector<absl::StatusOr<Ticket>> answers = run_(event_id, requests);
    if (answers.size() != batch.size()) {
      answers.assign(batch.size(),
                     absl::InternalError("a batch answered the wrong number of tickets"));
    }

    // Let the next batch start before handing out the answers, which takes a wake-up each.
    lock.lock();
    --lane->in_flight;
    next = NextLeader(*lane);
    if (lane->queue.empty() && lane->in_flight == 0) {
      lanes_.erase(absl::string_view(event_id.data(), event_id.size()));
    }
    lock.unlock();
    Wake(next, kLead);
    // The batch is out of the queue, so its callers' answers are this call's to write, and
    // each caller reads its own once signalled.
    for (std::size_t i = 1; i < batch.size(); ++i) {
      batch[i]->answer = std::move(answers[i]);
      batch[i]->signal.Set(kAnswered);
    }
    return std::move(answers[0]);
  }

  // Calls of the event waiting for a batch (not those in flight).
  std::size_t Queued(std::string_view event_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lanes_.find(absl::string_view(event_id.data(), event_id.size()));
    return it == lanes_.end() ? 0 : it->second->queue.size();
  }

 private:
  using WakeSignal = internal::WakeSignal;
  // What a waiting call is woken for.
  static constexpr uint32_t kLead = 1;      // to lead the next batch
  static constexpr uint32_t kAnswered = 2;  // its answer is in

  // A call, on its caller's stack. `lead` and `in_batch` are under mu_; `answer` is written
  // by the batch's leader, then published by `signal`.
  struct Waiter {
    explicit Waiter(const Request* r) : request(r) {}
    const Request* const request;
    std::optional<absl::StatusOr<Ticket>> answer;
    bool lead = false;      // chosen to lead the next batch
    bool in_batch = false;  // taken into a batch (this call's own, when it leads)
    WakeSignal signal;
  };
  struct Lane {
    std::deque<Waiter*> queue;
    int in_flight = 0;
  };

  // Under mu_: chooses the queue's front to lead if a batch may start, and returns it, for the
  // caller to Wake once it let go of mu_ (a woken thread then finds mu_ free); nullptr if no
  // new leader.
  Waiter* NextLeader(Lane& lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (lane.queue.empty() || lane.in_flight >= max_in_flight_ || lane.queue.front()->lead) {
      return nullptr;
    }
    lane.queue.front()->lead = true;
    return lane.queue.front();
  }
  static void Wake(Waiter* waiter, uint32_t why) {
    if (waiter != nullptr) waiter->signal.Set(why);
  }

  const RunBatch run_;
  const std::size_t max_batch_;
  const int max_in_flight_;
  const absl::Duration max_queue_wait_;

  std::mutex mu_;
  // One lane per event with calls queued or in flight; dropped when idle.
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_
