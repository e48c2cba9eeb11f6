// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "idempotency.h"

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace admission::gateway {
namespace {

class InProcessCache final : public IdempotencyCache {
 public:
  InProcessCache(absl::Duration ttl, std::size_t max_keys) : ttl_(ttl), max_keys_(max_keys) {}

  Lookup Begin(std::string_view key, std::string_view fingerprint, absl::Time now) override {
    absl::MutexLock lock(&mu_);
    Expire(now);
    auto it = entries_.find(std::string(key));
    if (it != entries_.end()) {
      const Entry& e = it->second;
      if (e.fingerprint != fingerprint) return {Outcome::kMismatch, {}};
      if (!e.done) return {Outcome::kInProgress, {}};
      return {Outcome::kReplay, e.response};
    }
    // Abandoned keys leave records behind in order_, so it is bounded separately.
    while ((entries_.size() >= max_keys_ || order_.size() >= 2 * max_keys_) && !order_.empty()) {
      Evict();
    }
    Entry e;
    e.fingerprint = std::string(fingerprint);
    e.created = now;
    e.generation = ++generation_;
    entries_.emplace(std::string(key), std::move(e));
    order_.push_back({std::string(key), now, generation_});
    return {Outcome::kStarted, {}};
  }

  void Finish(std::string_view key, StoredResponse response, absl::Time) override {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) return;  // evicted meanwhile: nothing to replay later
    it->second.done = true;
    it->second.response = std::move(response);
  }

  void Abandon(std::string_view key) override {
    absl::MutexLock lock(&mu_);
    // Its order_ record stays; Evict skips records whose generation no longer matches.
    entries_.erase(std::string(key));
  }

 private:
  struct Entry {
    std::string fingerprint;
    absl::Time created;
    uint64_t generation = 0;
    bool done = false;
    StoredResponse response;
  };
  struct OrderRecord {
    std::string key;
    absl::Time created;
    uint64_t generation;
  };

  // Drops the oldest record, and its entry if the entry is still that record's.
  void Evict() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const OrderRecord& r = order_.front();
    auto it = entries_.find(r.key);
    if (it != entries_.end() && it->second.generation == r.generation) entries_.erase(it);
    order_.pop_front();
  }

  void Expire(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Keys are appended in time order, so the expired ones are at the front.
    while (!order_.empty() && order_.front().created + ttl_ <= now) Evict();
  }

  const absl::Duration ttl_;
  const std::size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<OrderRecord> order_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<IdempotencyCache> NewInProcessIdempotencyCache(absl::Duration ttl,
                                                               std::size_t max_keys) {
  return std::make_unique<InProcessCache>(ttl, max_keys == 0 ? 1 : max_keys);
}

}  // namespace admission::gateway
