// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's access log: one JSON line per request, written to a file descriptor (stderr).
// Lines are gathered in a buffer and written in batches, when it holds kBatchBytes or every
// `flush_every`, so that a request costs a copy under a lock rather than a write(2) of its own
// (a system call per line was a fifth of a status request's CPU). Lines are never split or
// interleaved; at most `flush_every` of them are lost if the process dies without stopping.
#ifndef ADMISSION_EXAMPLES_GATEWAY_ACCESS_LOG_H_
#define ADMISSION_EXAMPLES_GATEWAY_ACCESS_LOG_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace admission::gateway {

class AccessLog {
 public:
  static constexpr std::size_t kBatchBytes = 64 * 1024;

  // Writes to `fd` (not owned) from a thread of its own every `flush_every`.
  explicit AccessLog(int fd, absl::Duration flush_every = absl::Milliseconds(100));
  // Writes what is left.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Adds `line` (which ends with a newline). Thread-safe.
  void Add(std::string_view line);
  // Writes every line added so far.
  void Flush();

 private:
  void WriteOut(const std::string& batch);

  const int fd_;
  const absl::Duration flush_every_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Held while a batch is written, so that batches never interleave.
  absl::Mutex write_mu_;
  std::thread flusher_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_ACCESS_LOG_H_
