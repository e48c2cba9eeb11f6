// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A fixed set of Redis connections shared by all threads of a store, with the requests of
// concurrent callers pipelined: on each connection, one caller at a time (the leader) sends
// everything that is queued there in one write and reads all the replies, handing each caller
// its own. While that round trip is in flight the next requests queue up and go out together
// in the next one. A round trip on loopback costs about as much as a script, so with more
// callers than connections this multiplies throughput; with a single caller it costs nothing
// (a batch of one). No extra thread: callers take turns leading. When its round trip is over,
// the leader wakes each caller it carried, and hands over to the oldest caller still queued
// (if any), waking it alone: a round trip costs a thread switch per caller and no stampede on
// the mutex (waking every waiter after each round trip, most of them to sleep again, cost
// about 10% of the calls per second with 64 callers on 4 connections; docs/benchmarks.md).
//
// Connections are opened lazily and re-opened after they break, so a Redis restart costs
// nothing but the reconnect: before each round trip the leader checks (one non-blocking peek)
// that the server has not closed the connection, and replaces it if it has.
#ifndef ADMISSION_SRC_REDIS_CLIENT_CONNECTION_POOL_H_
#define ADMISSION_SRC_REDIS_CLIENT_CONNECTION_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "redis/client/connection.h"

namespace admission::redis_internal {

class ConnectionPool {
 public:
  ConnectionPool(Endpoint endpoint, int size);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs one caller's commands, kept together and in order, on one of the connections, and
  // returns their replies (error replies included). Unavailable when no connection can be
  // opened or it broke; DeadlineExceeded when the server did not answer in time (the commands
  // may have run). Waits at most about connect_timeout + command_timeout per round trip ahead
  // of it on the connection.
  absl::StatusOr<std::vector<ReplyPtr>> Execute(const std::vector<Command>& commands);
  absl::StatusOr<ReplyPtr> Execute(const Command& command);

  const Endpoint& endpoint() const { return endpoint_; }

  // Closes every connection before its next use (each leader replaces its own), e.g. those to
  // a primary that was demoted: they stay open on a replica, which would refuse every write.
  void DropConnections() { generation_.fetch_add(1, std::memory_order_relaxed); }

  // For benchmarks and tests: callers' requests and the round trips that carried them.
  struct Counters {
    uint64_t requests = 0;
    uint64_t round_trips = 0;
  };
  Counters counters() const;

  // Requests at most in one round trip, so that one leader's turn stays short.
  static constexpr std::size_t kMaxBatch = 128;

 private:
  // A caller's request, on its stack. The leader writes `result` without the lock and then
  // sets `done` under the slot's mu, which guards `done` and `lead`.
  struct Request {
    const std::vector<Command>* commands = nullptr;
    absl::StatusOr<std::vector<ReplyPtr>> result;
    bool done = false;             // `result` is set
    bool lead = false;             // the previous leader handed over to this caller
    std::condition_variable wake;  // done or lead became true
  };
  struct Slot {
    std::mutex mu;
    std::vector<Request*> queue ABSL_GUARDED_BY(mu);  // not sent yet, oldest first
    // Somebody leads (or has just been told to). While false the queue is empty, so a caller
    // who finds it false, and one handed the lead (the queue's front), is first in the queue.
    bool busy ABSL_GUARDED_BY(mu) = false;
    // Touched only by the leader, i.e. while busy is true.
    std::unique_ptr<Connection> connection;
    uint64_t generation = 0;  // generation_ when `connection` was opened
  };

  // One round trip for `batch` on the slot's connection (the caller leads); fills in every
  // request's result.
  void RunBatch(Slot& slot, const std::vector<Request*>& batch);

  const Endpoint endpoint_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> next_slot_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> round_trips_{0};
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_CONNECTION_POOL_H_
