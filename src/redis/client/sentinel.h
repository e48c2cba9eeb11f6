// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Finding the primary of a Redis Sentinel deployment, and noticing when it changes. Discovery
// asks the sentinels in order (SENTINEL get-master-addr-by-name) and accepts an answer only
// after the named server itself says ROLE master: during a failover a sentinel may still name
// the old primary, now a replica (or down), and writing there would lose the write or fail.
//
// SentinelWatch keeps that discovery off the calls' path: the router reports a suspect
// primary (a call could not reach it, timed out, or was refused READONLY) and a background
// thread asks the sentinels again, every kRetryInterval until a primary is confirmed, then
// tells the router through a callback. Nothing is asked on a call's path. A second thread
// stays subscribed to +switch-master on one sentinel (the first that answers, the next when it
// goes away), so a failover that left the old primary up and still saying master for a while
// (Sentinel demotes it only seconds later) is noticed as soon as the sentinels announce it.
#ifndef ADMISSION_SRC_REDIS_CLIENT_SENTINEL_H_
#define ADMISSION_SRC_REDIS_CLIENT_SENTINEL_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "redis/client/connection.h"

namespace admission::redis_internal {

struct SentinelSettings {
  std::string master;               // the name the sentinels monitor
  std::vector<Endpoint> sentinels;  // with the sentinels' credentials
};

// The primary of settings.master, as `data` (the data nodes' timeouts and credentials) with the
// primary's host and port: the first sentinel answer whose server says ROLE master. NotFound
// when every sentinel that answered does not know the name; Unauthenticated when a sentinel or
// the primary refuses the credentials; otherwise Unavailable naming what each sentinel said.
absl::StatusOr<Endpoint> DiscoverPrimary(const SentinelSettings& settings, const Endpoint& data);

class SentinelWatch {
 public:
  // Called from the watch's thread with a newly confirmed primary.
  using OnPrimary = std::function<void(const Endpoint& primary)>;

  // `current` is the primary found at start-up.
  SentinelWatch(SentinelSettings settings, Endpoint data, Endpoint current, OnPrimary on_primary);
  // Stops the thread (waits for a discovery in progress: bounded by the timeouts).
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  // The primary failed a call: ask the sentinels again. Cheap; returns at once.
  void Suspect();

  // For tests: discoveries run so far, and +switch-master announcements heard.
  int discoveries() const;
  int switches_heard() const;

  static constexpr absl::Duration kRetryInterval = absl::Milliseconds(100);

 private:
  void Loop();
  // The +switch-master subscription (the listener thread).
  void Listen();
  // Waits up to `d` or until Stop; whether stopping.
  bool PauseUnlessStopping(absl::Duration d);

  const SentinelSettings settings_;
  const Endpoint data_;
  const OnPrimary on_primary_;
  Endpoint current_;  // only the thread touches it after construction

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool suspect_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int discoveries_ ABSL_GUARDED_BY(mu_) = 0;
  int switches_heard_ ABSL_GUARDED_BY(mu_) = 0;
  // Last: started once everything above is set.
  std::thread thread_;
  std::thread listener_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_SENTINEL_H_
