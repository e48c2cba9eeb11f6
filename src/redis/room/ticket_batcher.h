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
// A queued call is woken once, to lead or with its answer, by a thread that has let go of the
// batcher's mutex, and it returns without taking the mutex again: with dozens of callers on
// a few cores, waking them under the mutex made each woken caller block on it once more
// (common/wake_signal.h). The calls that queue up together sleep on one channel, which a
// batch's answers wake with one system call (common/wake_channel.h; see Waiter).
#ifndef ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_
#define ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_

#include <atomic>
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
#include "common/wake_channel.h"
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
    if (lane->open_channel < 0) {
      // The first of a group: sleeps alone, as it will likely be woken alone, to lead.
      lane->open_channel = static_cast<int>(next_channel_++ % kChannels);
    } else {
      self.channel = lane->open_channel;
    }
    if (Waiter* const leader = NextLeader(*lane); leader != &self) {
      lock.unlock();
      Wake(leader, kLead);
      uint32_t signal = Sleep(self, max_queue_wait_);
      if (signal == kUnset) {
        lock.lock();
        if (!self.lead && !self.in_batch) {
          // Still queued: leave the queue. (A call a batch took waits for that batch, which
          // its own command timeout bounds.)
          for (auto it = lane->queue.begin(); it != lane->queue.end(); ++it) {
            if (*it == &self) {
              lane->queue.erase(it);
              break;
            }
          }
          if (lane->queue.empty()) lane->open_channel = -1;
          if (lane->queue.empty() && lane->in_flight == 0) {
            lanes_.erase(absl::string_view(event_id.data(), event_id.size()));
          }
          return absl::UnavailableError(
              absl::StrCat("the event's earlier calls to the store did not finish within ",
                           absl::FormatDuration(max_queue_wait_), "; this call was not sent"));
        }
        lock.unlock();
        // Taken into a batch, or made the leader, just now: the wake-up is on its way.
        signal = Sleep(self, absl::InfiniteDuration());
      }
      if (signal == kAnswered) return *std::move(self.answer);
      lock.lock();
    }
    // (Otherwise the queue was this call alone and a batch may start: it leads at once, still
    // holding mu_, so that a lone call goes out alone.)

    // Lead: take the front of the queue (this call is its first) and run it as one batch.
    std::vector<Waiter*> batch;
    while (!lane->queue.empty() && batch.size() < max_batch_) {
      batch.push_back(lane->queue.front());
      batch.back()->in_batch = true;
      lane->queue.pop_front();
    }
    // Later calls form the next group (unless some of this one's were left queued).
    if (lane->queue.empty()) lane->open_channel = -1;
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

    // Let the next batch start before handing out the answers.
    lock.lock();
    --lane->in_flight;
    next = NextLeader(*lane);
    if (lane->queue.empty() && lane->in_flight == 0) {
      lanes_.erase(absl::string_view(event_id.data(), event_id.size()));
    }
    lock.unlock();
    Wake(next, kLead);
    // The batch is out of the queue, so its callers' answers are this call's to write, and
    // each caller reads its own once woken: those alone on their signal one by one, the
    // others with one wake-up per channel their group sleeps on.
    uint64_t channels = 0;
    static_assert(kChannels <= 64, "one bit per channel");
    for (std::size_t i = 1; i < batch.size(); ++i) {
      Waiter* const w = batch[i];
      w->answer = std::move(answers[i]);
      if (w->channel < 0) {
        w->signal.Set(kAnswered);
      } else {
        channels |= uint64_t{1} << w->channel;
        WakeChannel::Publish(w->state, kAnswered);  // (w may be gone from here on)
      }
    }
    for (std::size_t c = 0; c < kChannels; ++c) {
      if ((channels >> c) & 1) channels_[c].WakeAll();
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
  using WakeChannel = internal::WakeChannel;
  using WakeSignal = internal::WakeSignal;
  // What a waiting call is woken for.
  static constexpr uint32_t kUnset = WakeSignal::kUnset;
  static_assert(kUnset == WakeChannel::kUnset);
  static constexpr uint32_t kLead = 1;      // to lead the next batch
  static constexpr uint32_t kAnswered = 2;  // its answer is in
  // Channels the groups of queued calls sleep on, taken in turn; two groups that share one
  // (64 groups apart) only wake each other spuriously.
  static constexpr std::size_t kChannels = 64;

  // A call, on its caller's stack. `lead` and `in_batch` are under mu_; `answer` is written
  // by the batch's leader, then published by `signal` or `state`. A call that opened a group
  // (the queue's calls since a batch last took them all) sleeps on `signal`, alone: it is
  // the one woken to lead. The others sleep on their group's channel, so that a batch's
  // answers wake each group with one call; a queued call woken alone (to lead) on a channel
  // wakes its group spuriously, which happens only when the group's first call gave up or a
  // batch took part of a group.
  struct Waiter {
    explicit Waiter(const Request* r) : request(r) {}
    const Request* const request;
    std::optional<absl::StatusOr<Ticket>> answer;
    bool lead = false;      // chosen to lead the next batch
    bool in_batch = false;  // taken into a batch (this call's own, when it leads)
    int channel = -1;       // the channel it sleeps on; -1: `signal`
    WakeSignal signal;
    std::atomic<uint32_t> state{kUnset};  // what it is woken for, when on a channel
  };
  struct Lane {
    std::deque<Waiter*> queue;
    int in_flight = 0;
    int open_channel = -1;  // the channel of the queue's group; -1: the next call opens one
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
  // Wakes `waiter` (nullptr: nobody) for `why`.
  void Wake(Waiter* waiter, uint32_t why) {
    if (waiter == nullptr) return;
    if (waiter->channel < 0) {
      waiter->signal.Set(why);
    } else {
      WakeChannel& channel = channels_[static_cast<std::size_t>(waiter->channel)];
      WakeChannel::Publish(waiter->state, why);
      channel.WakeAll();
    }
  }
  // Until `self` is woken (kLead or kAnswered), or kUnset after `timeout`.
  uint32_t Sleep(Waiter& self, absl::Duration timeout) {
    if (self.channel < 0) return self.signal.WaitFor(timeout);
    return channels_[static_cast<std::size_t>(self.channel)].WaitFor(self.state, timeout);
  }

  const RunBatch run_;
  const std::size_t max_batch_;
  const int max_in_flight_;
  const absl::Duration max_queue_wait_;

  WakeChannel channels_[kChannels];
  std::mutex mu_;
  std::size_t next_channel_ ABSL_GUARDED_BY(mu_) = 0;
  // One lane per event with calls queued or in flight; dropped when idle.
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_TICKET_BATCHER_H_
