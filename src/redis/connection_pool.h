// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A fixed set of Redis connections shared by all threads of a store, with the requests of
// concurrent callers pipelined: on each connection, one caller at a time (the leader) sends
// everything that is queued there in one write and reads all the replies, handing each caller
// its own. While that round trip is in flight the next requests queue up and go out together
// in the next one. A round trip on loopback costs about as much as a script, so with more
// callers than connections this multiplies throughput; with a single caller it costs nothing
// (a batch of one). No extra thread: callers take turns leading.
//
// Connections are opened lazily and re-opened after they break, so a Redis restart costs
// nothing but the reconnect: before each round trip the leader checks (one non-blocking peek)
// that the server has not closed the connection, and replaces it if it has.
#ifndef ADMISSION_SRC_REDIS_CONNECTION_POOL_H_
#define ADMISSION_SRC_REDIS_CONNECTION_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "redis/connection.h"

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

  // For benchmarks and tests: callers' requests and the round trips that carried them.
  struct Counters {
    uint64_t requests = 0;
    uint64_t round_trips = 0;
  };
  Counters counters() const;

  // Requests at most in one round trip, so that one leader's turn stays short.
  static constexpr std::size_t kMaxBatch = 128;

 private:
  struct Request {
    const std::vector<Command>* commands = nullptr;
    absl::StatusOr<std::vector<ReplyPtr>> result;
    bool done = false;
  };
  struct Slot {
    std::mutex mu;
    std::condition_variable finished;  // a round trip ended: followers check `done`
    std::vector<Request*> queue ABSL_GUARDED_BY(mu);
    bool busy ABSL_GUARDED_BY(mu) = false;  // a leader is running a round trip
    // Touched only by the leader, i.e. while busy is true.
    std::unique_ptr<Connection> connection;
  };

  // One round trip for `batch` on the slot's connection (the caller leads); fills in every
  // request's result.
  void RunBatch(Slot& slot, const std::vector<Request*>& batch);

  const Endpoint endpoint_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<uint64_t> next_slot_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> round_trips_{0};
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CONNECTION_POOL_H_
