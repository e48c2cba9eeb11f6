// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A Worker takes outcome messages from an OutcomeQueue (outcome_queue.h) and applies them
// through a handler, at a set pace, so that writes reach the inventory at a chosen rate whatever
// the crowd does.
//
// Example:
//   #include "admission/ticketing/ticketing.h"
//   absl::StatusOr<Ticketing> sale = NewMemoryTicketing();
//   WorkerOptions options;
//   options.events_per_sec = 200;  // the pace the inventory's store takes comfortably
//   Worker worker(sale->outcomes.get(), MakeTicketingHandler(sale->inventory.get()), options);
//   if (!worker.Start().ok()) return;  // a thread; tests call Step() after each clock move
//   // ... publish outcome messages (ticketing.h) ...
//   worker.Stop();
//
// For each delivery the handler's answer decides:
//   - OK: the message is acked (completed);
//   - InvalidArgument or FailedPrecondition: a permanent failure (a malformed payload, a
//     payment approved for a hold that has expired): retrying cannot help, so the message is
//     parked in the dead-letter list at once, for an operator to look at or replay;
//   - anything else: retried after a backoff (initial_backoff, doubling, at most max_backoff)
//     until it has been attempted max_attempts times (the first try and 7 retries by default,
//     over about two minutes: long enough to ride out a Redis failover or a store that stalls),
//     then parked with the last error.
// A message delivered more than max_attempts times (its lease kept running out: the handler
// hangs or crashes the process) is parked without running the handler again. Processing is at
// least once, so handlers must be idempotent; a redelivered or duplicated message then changes
// nothing.
//
// Pace: events_per_sec > 0 admits that many messages per second of the Clock's time, with up to
// `burst` at once after an idle spell; 0 means as fast as the queue and handler allow. The
// pace is per Worker: N workers on one queue apply up to N times the rate.
//
// Thread-safety: every method may be called from any thread (Steps run one at a time).
#ifndef ADMISSION_TICKETING_WORKER_H_
#define ADMISSION_TICKETING_WORKER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/outcome_queue.h"

namespace admission {

// Applies one delivery. Must be thread-safe if several workers share it, and idempotent.
using OutcomeHandler = std::function<absl::Status(const Delivery& delivery)>;

struct WorkerOptions {
  // Source of time for the pace, backoffs and leases; not owned, must outlive the worker.
  // nullptr means SystemClock(). Use the queue's clock.
  Clock* clock = nullptr;
  // This worker's name in the queue's consumer group; unique per worker. [worker-1]
  std::string consumer = "worker-1";
  // Messages applied per second of clock time; 0 = full speed. [0]
  double events_per_sec = 0;
  // Messages the pace lets through at once after an idle spell; 0 means one second's worth
  // (at least 1). Ignored at full speed. [0]
  int64_t burst = 0;
  // Deliveries of a message before it is parked: the first try and 7 retries, 1 + 2 + ... +
  // 60 s = 2 min 7 s of backoff with the defaults below. A store that fails over answers
  // Unavailable for seconds (and a write that no replica confirmed yet, for as long as the
  // replica is away): a shorter patience parks payments that only had to wait. [8]
  int64_t max_attempts = 8;
  // Backoff before the first retry, doubled for each later one, capped. [1 s, 60 s]
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(60);
  // How long a claimed message stays this worker's before another may take it. Longer than the
  // handler's worst case. [30 s]
  absl::Duration lease = absl::Seconds(30);
  // Messages claimed per queue call. [32]
  int64_t batch = 32;
  // Start()'s thread: the longest real-time sleep when nothing is due, and after a queue
  // error. [50 ms, 1 s]
  absl::Duration idle_sleep = absl::Milliseconds(50);
  absl::Duration error_sleep = absl::Seconds(1);
};

// What one Step did (and, summed, what the worker has done).
struct WorkerCounts {
  int64_t claimed = 0;
  int64_t succeeded = 0;   // acked after the handler said OK
  int64_t retried = 0;     // handed back for a later retry
  int64_t parked = 0;      // moved to the dead-letter list
  int64_t lease_lost = 0;  // the queue refused the ack/retry/park: delivered again meanwhile
  int64_t errors = 0;      // queue calls that failed (Unavailable, ...)
};

struct WorkerStep {
  WorkerCounts counts;
  // When the pace allows the next message, relative to now (zero when it already does, or at
  // full speed). A hint for callers that loop on Step.
  absl::Duration pace_wait = absl::ZeroDuration();
  // True when the queue had nothing more due (the step claimed fewer than it could).
  bool drained = false;
};

class Worker {
 public:
  // `queue` is not owned and must outlive the worker.
  Worker(OutcomeQueue* queue, OutcomeHandler handler, WorkerOptions options = {});
  ~Worker();  // Stop()s the thread
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Options are checked here (and by Start): InvalidArgument for a bad consumer name, a
  // negative pace, max_attempts < 1, non-positive lease or backoffs, batch < 1.
  absl::Status ValidateOptions() const;

  // Processes the messages due now, at most `max_messages` (< 0: no limit but the queue's and the
  // pace's), in batches of `batch`, and returns what it did. Deterministic under a
  // SimulatedClock: a step at a given instant processes exactly what is due and what the pace
  // allows at that instant. An error only when the queue failed before anything was claimed.
  absl::StatusOr<WorkerStep> Step(int64_t max_messages = -1);

  // Runs Step on a thread until Stop, sleeping (real time) when nothing is due or the pace
  // says to wait. FailedPrecondition if already running.
  absl::Status Start();
  // Stops the thread after the message it is applying; idempotent.
  void Stop();
  bool running() const;

  // Totals since construction.
  WorkerCounts totals() const;

 private:
  // Tokens the pace allows now (refilled from the clock).
  int64_t Allowance(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(step_mu_);
  // Applies one delivery and settles it with the queue.
  void Apply(const Delivery& delivery, WorkerCounts* counts);
  absl::Duration Backoff(int64_t attempts) const;
  void Run();

  OutcomeQueue* const queue_;
  const OutcomeHandler handler_;
  const WorkerOptions options_;
  Clock* const clock_;

  std::mutex step_mu_;  // one Step at a time; guards the pace
  double tokens_ ABSL_GUARDED_BY(step_mu_) = 0;
  absl::Time refilled_at_ ABSL_GUARDED_BY(step_mu_) = absl::InfinitePast();

  std::mutex thread_mu_;  // serializes Start and Stop; guards thread_
  std::thread thread_;

  mutable std::mutex mu_;
  WorkerCounts totals_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable wake_;  // Stop wakes the sleeping thread
};

}  // namespace admission

#endif  // ADMISSION_TICKETING_WORKER_H_
