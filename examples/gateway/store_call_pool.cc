// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "store_call_pool.h"

#include <utility>

namespace admission::gateway {

StoreCallPool::StoreCallPool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

StoreCallPool::~StoreCallPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  for (std::thread& t : threads_) t.join();
}

bool StoreCallPool::Submit(std::function<void()> call) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(call));
  wake_.Signal();
  return true;
}

void StoreCallPool::Work() {
  for (;;) {
    std::function<void()> call;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) wake_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing left
      call = std::move(queue_.front());
      queue_.pop_front();
    }
    call();
  }
}

}  // namespace admission::gateway
