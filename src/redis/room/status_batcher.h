// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Coalesces the concurrent Status calls of one event into batches, so that one function call
// on Redis serves many users and the per-call work (loading and saving the event, Begin's
// refill, sweep and lapses, Advance, the dispatch) is paid once per batch. A popular event's
// polls are what a waiting room serves most, and all of them land on the one Redis core that
// owns the event's hash slot.
//
// Group commit, per event: a call joins its event's queue; the call at the front of the queue
// leads while fewer than `max_in_flight` batches of the event are under way: it takes up to
// `max_batch` calls from the front (its own first), runs them as one batch and hands every
// caller its own answer. While batches are in flight the queue fills, so batches grow with
// the load and a lone call is sent at once. Nothing waits on a timer.
#ifndef ADMISSION_SRC_REDIS_ROOM_STATUS_BATCHER_H_
#define ADMISSION_SRC_REDIS_ROOM_STATUS_BATCHER_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "admission/room/store.h"

namespace admission::redis_internal {

class StatusBatcher {
 public:
  // Runs one batch: the tickets of `tokens` (of event `event_id`), one answer per token in
  // order (an error for one token does not fail the others).
  using RunBatch = std::function<std::vector<absl::StatusOr<Ticket>>(
      std::string_view event_id, const std::vector<std::string_view>& tokens)>;

  StatusBatcher(RunBatch run, std::size_t max_batch, int max_in_flight);

  // The answer for `token`, from a batch this call led or joined. Blocks until it is in.
  absl::StatusOr<Ticket> Status(std::string_view event_id, std::string_view token);

  // Calls of the event waiting for a batch (not those in flight).
  std::size_t Queued(std::string_view event_id);

 private:
  struct Waiter {
    explicit Waiter(std::string_view t) : token(t) {}
    const std::string_view token;
    std::optional<absl::StatusOr<Ticket>> answer;
    bool lead = false;  // woken to lead the next batch
    std::condition_variable cv;
  };
  struct Lane {
    std::deque<Waiter*> queue;
    int in_flight = 0;
  };

  // Under mu_: wakes the queue's front to lead if a batch may start.
  void WakeLeader(Lane& lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RunBatch run_;
  const std::size_t max_batch_;
  const int max_in_flight_;

  std::mutex mu_;
  // One lane per event with calls queued or in flight; dropped when idle.
  absl::flat_hash_map<std::string, std::unique_ptr<Lane>> lanes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_STATUS_BATCHER_H_
