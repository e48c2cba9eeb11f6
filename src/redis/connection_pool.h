// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A fixed-size pool of Redis connections shared by all threads of a store. Connections are
// opened lazily (on the first call that needs one) and re-opened after they break, so a Redis
// restart costs nothing but the reconnect: an idle connection the server has closed is noticed
// when it is checked out and replaced before any command is sent on it.
#ifndef ADMISSION_SRC_REDIS_CONNECTION_POOL_H_
#define ADMISSION_SRC_REDIS_CONNECTION_POOL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "redis/connection.h"

namespace admission::redis_internal {

class ConnectionPool {
 public:
  // A checked-out connection; returned to the pool when destroyed (dropped if it broke).
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Connection* operator->() const { return connection_.get(); }
    Connection& operator*() const { return *connection_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}

    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  ConnectionPool(Endpoint endpoint, int size);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection, waiting up to the command timeout for one to be free. Unavailable when a
  // new connection cannot be opened; DeadlineExceeded when every connection stayed busy.
  absl::StatusOr<Lease> Acquire();

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  void Release(std::unique_ptr<Connection> connection);
  void Forget();  // a slot whose connection broke or never opened becomes free again

  const Endpoint endpoint_;
  const int size_;
  // std::mutex rather than absl::Mutex, as in the rest of the library: ThreadSanitizer
  // understands it even against Debian's uninstrumented Abseil.
  std::mutex mu_;
  std::condition_variable available_;  // signalled when a connection or a slot is released
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections that exist or are being opened: idle + leased + connecting. At most size_.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CONNECTION_POOL_H_
