// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/connection_pool.h"

#include <algorithm>
#include <utility>

namespace admission::redis_internal {

ConnectionPool::ConnectionPool(Endpoint endpoint, int size) : endpoint_(std::move(endpoint)) {
  slots_.resize(static_cast<std::size_t>(std::max(size, 1)));
  for (auto& slot : slots_) slot = std::make_unique<Slot>();
}

absl::StatusOr<std::vector<ReplyPtr>> ConnectionPool::Execute(
    const std::vector<Command>& commands) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  // Round robin: every connection gets an equal share of the callers, so batches form on all
  // of them once there are more callers than connections.
  Slot& slot = *slots_[next_slot_.fetch_add(1, std::memory_order_relaxed) % slots_.size()];
  Request request;
  request.commands = &commands;

  std::unique_lock<std::mutex> lock(slot.mu);
  slot.queue.push_back(&request);
  if (slot.busy) {
    // Somebody leads: wait until that leader has carried this request, or hands over.
    request.wake.wait(lock, [&request] { return request.done || request.lead; });
    if (request.done) return std::move(request.result);
  }
  // Lead: take what is queued (this request first: see Slot::busy) and run it while new
  // requests queue up behind, then wake the callers it carried, each alone.
  slot.busy = true;
  std::vector<Request*> batch;
  while (!request.done) {
    const std::size_t n = std::min(slot.queue.size(), kMaxBatch);
    batch.assign(slot.queue.begin(), slot.queue.begin() + static_cast<std::ptrdiff_t>(n));
    slot.queue.erase(slot.queue.begin(), slot.queue.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    RunBatch(slot, batch);
    lock.lock();
    for (Request* r : batch) {  // results are written; publish them
      r->done = true;
      if (r != &request) r->wake.notify_one();
    }
  }
  // Hand over to the oldest queued caller, if any (the slot stays busy meanwhile), rather than
  // carry its request too: this call returns as soon as its own reply is in, even if the next
  // round trip would hang until the command timeout.
  if (slot.queue.empty()) {
    slot.busy = false;
  } else {
    slot.queue.front()->lead = true;
    slot.queue.front()->wake.notify_one();
  }
  return std::move(request.result);
}

absl::StatusOr<ReplyPtr> ConnectionPool::Execute(const Command& command) {
  absl::StatusOr<std::vector<ReplyPtr>> replies = Execute(std::vector<Command>{command});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

void ConnectionPool::RunBatch(Slot& slot, const std::vector<Request*>& batch) {
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  auto fail_all = [&batch](const absl::Status& status) {
    for (Request* r : batch) r->result = status;
  };
  const uint64_t generation = generation_.load(std::memory_order_relaxed);
  if (slot.connection != nullptr &&
      (slot.generation != generation || !slot.connection->LooksAlive())) {
    // Closed by the server (e.g. a restart), or dropped (DropConnections): open a new one.
    slot.connection.reset();
  }
  if (slot.connection == nullptr) {
    slot.generation = generation;
    absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(endpoint_);
    if (!opened.ok()) {
      fail_all(opened.status());
      return;
    }
    slot.connection = std::move(opened).value();
  }
  Connection& connection = *slot.connection;
  std::size_t total = 0;
  for (const Request* r : batch) {
    for (const Command& command : *r->commands) {
      if (absl::Status s = connection.Append(command); !s.ok()) {
        fail_all(s);
        slot.connection.reset();
        return;
      }
      ++total;
    }
  }
  std::vector<ReplyPtr> replies;
  replies.reserve(total);
  const absl::Status read = connection.Read(total, &replies);
  // Hand out the replies in order. A request whose replies all arrived has its answer even if
  // the connection failed later in the batch.
  std::size_t next = 0;
  for (Request* r : batch) {
    const std::size_t n = r->commands->size();
    if (next + n <= replies.size()) {
      std::vector<ReplyPtr> mine;
      mine.reserve(n);
      for (std::size_t i = 0; i < n; ++i) mine.push_back(std::move(replies[next + i]));
      r->result = std::move(mine);
    } else {
      r->result = read;
    }
    next += n;
  }
  if (!read.ok() || connection.broken()) slot.connection.reset();
}

ConnectionPool::Counters ConnectionPool::counters() const {
  Counters c;
  c.requests = requests_.load(std::memory_order_relaxed);
  c.round_trips = round_trips_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace admission::redis_internal
