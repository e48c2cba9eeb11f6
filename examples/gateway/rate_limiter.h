// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Per-client token buckets against hammering: a client address (or a waiting token) may make
// `rate` requests per second with bursts of `burst`. This protects the gateway and the store;
// it is not the room's admission pacing, which lives in the library.
//
// Memory is bounded: at most `max_keys` buckets are kept. When a shard is full, buckets that
// have refilled completely (clients that went quiet) are dropped first; if that is not enough
// the shard is cleared, which briefly forgives its clients rather than growing without bound
// under a flood of fresh addresses.
#ifndef ADMISSION_EXAMPLES_GATEWAY_RATE_LIMITER_H_
#define ADMISSION_EXAMPLES_GATEWAY_RATE_LIMITER_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace admission::gateway {

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    // When the next request would be allowed (zero when allowed).
    absl::Duration retry_after = absl::ZeroDuration();
  };

  // rate_per_sec <= 0 disables the limiter (everything is allowed).
  RateLimiter(double rate_per_sec, double burst, std::size_t max_keys);

  bool enabled() const { return rate_ > 0; }
  // Takes one token from `key`'s bucket, as of `now`.
  Decision Allow(std::string_view key, absl::Time now);
  // Buckets currently held (for tests and metrics).
  std::size_t size();

 private:
  static constexpr std::size_t kShards = 16;
  struct Bucket {
    double tokens = 0;
    absl::Time at;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mu);
  };

  const double rate_;
  const double burst_;
  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_RATE_LIMITER_H_
