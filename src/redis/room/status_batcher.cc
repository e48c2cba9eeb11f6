// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/room/status_batcher.h"

#include <utility>

#include "absl/status/status.h"
#include "common/strings.h"

namespace admission::redis_internal {

StatusBatcher::StatusBatcher(RunBatch run, std::size_t max_batch, int max_in_flight)
    : run_(std::move(run)),
      max_batch_(max_batch < 1 ? 1 : max_batch),
      max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight) {}

void StatusBatcher::WakeLeader(Lane& lane) {
  if (!lane.queue.empty() && lane.in_flight < max_in_flight_ && !lane.queue.front()->lead) {
    lane.queue.front()->lead = true;
    lane.queue.front()->cv.notify_one();
  }
}

std::size_t StatusBatcher::Queued(std::string_view event_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = lanes_.find(internal::AbslView(event_id));
  return it == lanes_.end() ? 0 : it->second->queue.size();
}

absl::StatusOr<Ticket> StatusBatcher::Status(std::string_view event_id, std::string_view token) {
  Waiter self(token);
  std::unique_lock<std::mutex> lock(mu_);
  std::unique_ptr<Lane>& slot = lanes_[internal::AbslView(event_id)];
  if (slot == nullptr) slot = std::make_unique<Lane>();
  Lane* const lane = slot.get();  // stays put while this call is queued or leads
  lane->queue.push_back(&self);
  WakeLeader(*lane);
  self.cv.wait(lock, [&self] { return self.answer.has_value() || self.lead; });
  if (self.answer.has_value()) return *std::move(self.answer);

  // Lead: take the front of the queue (this call is its first) and run it as one batch.
  std::vector<Waiter*> batch;
  while (!lane->queue.empty() && batch.size() < max_batch_) {
    batch.push_back(lane->queue.front());
    lane->queue.pop_front();
  }
  ++lane->in_flight;
  WakeLeader(*lane);  // another batch may start behind this one
  lock.unlock();

  std::vector<std::string_view> tokens;
  tokens.reserve(batch.size());
  for (const Waiter* w : batch) tokens.push_back(w->token);
  std::vector<absl::StatusOr<Ticket>> answers = run_(event_id, tokens);
  if (answers.size() != batch.size()) {
    answers.assign(batch.size(),
                   absl::InternalError("status batch answered the wrong number of tickets"));
  }

  lock.lock();
  for (std::size_t i = 1; i < batch.size(); ++i) {
    batch[i]->answer = std::move(answers[i]);
    batch[i]->cv.notify_one();
  }
  --lane->in_flight;
  WakeLeader(*lane);
  if (lane->queue.empty() && lane->in_flight == 0) lanes_.erase(internal::AbslView(event_id));
  return std::move(answers[0]);
}

}  // namespace admission::redis_internal
