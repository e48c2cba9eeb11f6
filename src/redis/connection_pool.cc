// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/connection_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace admission::redis_internal {

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->Release(std::move(connection_));
}

ConnectionPool::ConnectionPool(Endpoint endpoint, int size)
    : endpoint_(std::move(endpoint)), size_(std::max(size, 1)) {}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_ptr<Connection> connection;
  {
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(endpoint_.command_timeout);
    std::unique_lock<std::mutex> lock(mu_);
    if (!available_.wait_until(lock, deadline, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !idle_.empty() || open_ < size_;
        })) {
      return absl::DeadlineExceededError(
          absl::StrCat("all ", size_, " connections to ", endpoint_.Name(), " stayed busy for ",
                       absl::FormatDuration(endpoint_.command_timeout)));
    }
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve the slot; the connect happens outside the lock
    }
  }
  if (connection != nullptr && !connection->LooksAlive()) {
    connection.reset();  // closed by the server (e.g. a restart): open a new one in its slot
  }
  if (connection == nullptr) {
    absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(endpoint_);
    if (!opened.ok()) {
      Forget();
      return opened.status();
    }
    connection = std::move(opened).value();
  }
  return Lease(this, std::move(connection));
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection) {
  if (connection->broken()) {
    connection.reset();  // close it outside the lock
    Forget();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

void ConnectionPool::Forget() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
  }
  available_.notify_one();
}

}  // namespace admission::redis_internal
