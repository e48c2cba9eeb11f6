// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The threads that make the gateway's store calls. A store call blocks (a Redis round trip, or a
// Redis that stalls), so it never runs on an I/O thread: the I/O threads hand each store-bound
// request here and go on serving others. The queue is bounded, so that a stalled store turns
// into prompt refusals rather than an ever longer line of requests nobody waits for any more.
#ifndef ADMISSION_EXAMPLES_GATEWAY_STORE_CALL_POOL_H_
#define ADMISSION_EXAMPLES_GATEWAY_STORE_CALL_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace admission::gateway {

class StoreCallPool {
 public:
  // `threads` >= 1 run the calls; at most `max_queued` wait for one.
  StoreCallPool(int threads, std::size_t max_queued);
  // Runs what was queued before, then joins the threads.
  ~StoreCallPool();
  StoreCallPool(const StoreCallPool&) = delete;
  StoreCallPool& operator=(const StoreCallPool&) = delete;

  // Queues `call`; false (and `call` dropped) when the queue is full.
  bool Submit(std::function<void()> call);

 private:
  void Work();

  const std::size_t max_queued_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_STORE_CALL_POOL_H_
