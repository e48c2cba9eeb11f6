// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "access_log.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace admission::gateway {

AccessLog::AccessLog(int fd, absl::Duration flush_every) : fd_(fd), flush_every_(flush_every) {
  buffer_.reserve(kBatchBytes);
  flusher_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      wake_.WaitWithTimeout(&mu_, flush_every_);
      if (buffer_.empty()) continue;
      std::string batch;
      batch.reserve(kBatchBytes);
      batch.swap(buffer_);
      mu_.Unlock();
      WriteOut(batch);
      mu_.Lock();
    }
  });
}

AccessLog::~AccessLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  flusher_.join();
  Flush();
}

void AccessLog::Add(std::string_view line) {
  std::string batch;
  {
    absl::MutexLock lock(&mu_);
    buffer_.append(line.data(), line.size());
    if (buffer_.size() < kBatchBytes) return;
    batch.reserve(kBatchBytes);
    batch.swap(buffer_);
  }
  WriteOut(batch);
}

void AccessLog::Flush() {
  std::string batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(buffer_);
  }
  if (!batch.empty()) WriteOut(batch);
}

void AccessLog::WriteOut(const std::string& batch) {
  absl::MutexLock lock(&write_mu_);
  std::size_t done = 0;
  while (done < batch.size()) {
    const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report it; the requests themselves were served
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace admission::gateway
