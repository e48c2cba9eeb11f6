// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "rate_limiter.h"

#include <algorithm>
#include <functional>
#include <string>

namespace admission::gateway {

RateLimiter::RateLimiter(double rate_per_sec, double burst, std::size_t max_keys)
    : rate_(rate_per_sec),
      burst_(std::max(1.0, burst)),
      max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

RateLimiter::Decision RateLimiter::Allow(std::string_view key, absl::Time now) {
  if (!enabled()) return {};
  Shard& shard = shards_[std::hash<std::string_view>()(key) % kShards];
  absl::MutexLock lock(&shard.mu);
  // Looked up by view: the key is copied only when a new bucket is made.
  auto it = shard.buckets.find(absl::string_view(key.data(), key.size()));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) {
      // Full buckets carry no information (a new bucket starts full too), so they go first.
      const double rate = rate_;
      const double burst = burst_;
      absl::erase_if(shard.buckets, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return b.tokens + rate * absl::ToDoubleSeconds(now - b.at) >= burst;
      });
      if (shard.buckets.size() >= max_per_shard_) shard.buckets.clear();
    }
    it = shard.buckets.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  // A clock step backwards adds nothing (max with zero).
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.at));
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.at = std::max(b.at, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return {};
  }
  return Decision{false, absl::Seconds((1 - b.tokens) / rate_)};
}

std::size_t RateLimiter::size() {
  std::size_t n = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace admission::gateway
