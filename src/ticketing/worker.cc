// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ticketing/worker.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace admission {
namespace {

// Handler errors that retrying cannot fix.
bool IsPermanent(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

void Add(const WorkerCounts& from, WorkerCounts* to) {
  to->claimed += from.claimed;
  to->succeeded += from.succeeded;
  to->retried += from.retried;
  to->parked += from.parked;
  to->lease_lost += from.lease_lost;
  to->errors += from.errors;
}

}  // namespace

Worker::Worker(OutcomeQueue* queue, OutcomeHandler handler, WorkerOptions options)
    : queue_(queue),
      handler_(std::move(handler)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock()) {}

Worker::~Worker() { Stop(); }

absl::Status Worker::ValidateOptions() const {
  if (queue_ == nullptr) return absl::InvalidArgumentError("worker has no queue");
  if (!handler_) return absl::InvalidArgumentError("worker has no handler");
  if (absl::Status s = ValidateConsumerName(options_.consumer); !s.ok()) return s;
  if (!(options_.events_per_sec >= 0) || std::isinf(options_.events_per_sec)) {
    return absl::InvalidArgumentError("events_per_sec must be a finite number >= 0");
  }
  if (options_.burst < 0) return absl::InvalidArgumentError("burst must be >= 0");
  if (options_.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  if (options_.initial_backoff <= absl::ZeroDuration() ||
      options_.max_backoff < options_.initial_backoff) {
    return absl::InvalidArgumentError(
        "initial_backoff must be positive and max_backoff at least as long");
  }
  if (options_.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease must be positive");
  }
  if (options_.batch < 1) return absl::InvalidArgumentError("batch must be >= 1");
  if (options_.idle_sleep <= absl::ZeroDuration() || options_.error_sleep <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idle_sleep and error_sleep must be positive");
  }
  return absl::OkStatus();
}

int64_t Worker::Allowance(absl::Time now) {
  if (options_.events_per_sec <= 0) return std::numeric_limits<int64_t>::max();
  const double burst = options_.burst > 0 ? static_cast<double>(options_.burst)
                                          : std::max(1.0, std::floor(options_.events_per_sec));
  if (refilled_at_ == absl::InfinitePast()) {
    tokens_ = burst;  // a new worker may start with a full burst
  } else if (now > refilled_at_) {
    tokens_ = std::min(
        burst, tokens_ + absl::ToDoubleSeconds(now - refilled_at_) * options_.events_per_sec);
  }
  refilled_at_ = std::max(refilled_at_, now);
  return static_cast<int64_t>(std::floor(tokens_ + 1e-9));
}

absl::Duration Worker::Backoff(int64_t attempts) const {
  absl::Duration d = options_.initial_backoff;
  for (int64_t i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

void Worker::Apply(const Delivery& d, WorkerCounts* counts) {
  const std::string& id = d.message.id;
  // A queue refusal because the message moved on (delivered again, completed) is a lost lease;
  // anything else is a queue error, and the message will come back when its lease runs out.
  auto settle = [&](const absl::Status& s, int64_t* on_success) {
    if (s.ok()) {
      ++*on_success;
    } else if (s.code() == absl::StatusCode::kFailedPrecondition ||
               s.code() == absl::StatusCode::kNotFound) {
      ++counts->lease_lost;
    } else {
      ++counts->errors;
    }
  };
  if (d.attempts > options_.max_attempts) {
    settle(queue_->Park(id, d.attempts,
                        absl::StrCat("delivered ", d.attempts,
                                     " times without being settled; last error: ", d.last_error)),
           &counts->parked);
    return;
  }
  const absl::Status result = handler_(d);
  if (result.ok()) {
    settle(queue_->Ack(id), &counts->succeeded);
  } else if (IsPermanent(result) || d.attempts >= options_.max_attempts) {
    settle(queue_->Park(id, d.attempts, result.ToString()), &counts->parked);
  } else {
    settle(queue_->Retry(id, d.attempts, clock_->Now() + Backoff(d.attempts), result.ToString()),
           &counts->retried);
  }
}

absl::StatusOr<WorkerStep> Worker::Step(int64_t max_messages) {
  if (absl::Status s = ValidateOptions(); !s.ok()) return s;
  std::lock_guard<std::mutex> step_lock(step_mu_);
  WorkerStep step;
  const absl::Time now = clock_->Now();
  int64_t limit = Allowance(now);
  if (max_messages >= 0) limit = std::min(limit, max_messages);
  const bool paced = options_.events_per_sec > 0;
  int64_t done = 0;
  while (done < limit) {
    const int64_t want = std::min(options_.batch, limit - done);
    absl::StatusOr<std::vector<Delivery>> batch =
        queue_->Claim(options_.consumer, want, options_.lease);
    if (!batch.ok()) {
      if (step.counts.claimed == 0) return batch.status();
      ++step.counts.errors;
      break;
    }
    const auto got = static_cast<int64_t>(batch->size());
    step.counts.claimed += got;
    if (paced) tokens_ -= static_cast<double>(got);
    for (const Delivery& d : *batch) Apply(d, &step.counts);
    done += got;
    if (got < want) {
      step.drained = true;
      break;
    }
  }
  if (paced && tokens_ < 1) {
    step.pace_wait = absl::Seconds((1 - tokens_) / options_.events_per_sec);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Add(step.counts, &totals_);
  return step;
}

absl::Status Worker::Start() {
  if (absl::Status s = ValidateOptions(); !s.ok()) return s;
  std::lock_guard<std::mutex> thread_lock(thread_mu_);
  if (thread_.joinable()) return absl::FailedPreconditionError("worker is already running");
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    running_ = true;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Worker::Stop() {
  std::lock_guard<std::mutex> thread_lock(thread_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

bool Worker::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

WorkerCounts Worker::totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

void Worker::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    absl::StatusOr<WorkerStep> step = Step(options_.batch);
    absl::Duration sleep = absl::ZeroDuration();
    if (!step.ok()) {
      sleep = options_.error_sleep;
    } else if (step->pace_wait > absl::ZeroDuration()) {
      sleep = std::min(step->pace_wait, options_.idle_sleep);
    } else if (step->drained || step->counts.claimed == 0) {
      sleep = options_.idle_sleep;
    }
    if (sleep > absl::ZeroDuration()) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoNanoseconds(sleep), [this] { return stop_; });
    }
  }
}

}  // namespace admission
