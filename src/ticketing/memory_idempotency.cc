// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory IdempotencyStore: a hash map under one lock, and the entries' expiry times in
// an ordered set so that expired entries are dropped oldest first, a bounded number per call.
// Mirrors lua/ticketing/idempotency.lua.
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "admission/clock.h"
#include "admission/ticketing/idempotency.h"
#include "common/random.h"
#include "common/strings.h"
#include "ticketing/ticketing_internal.h"

namespace admission::ticketing_internal {
namespace {

// Expired entries dropped per call, besides the one a call looks at.
constexpr int kPrunePerCall = 16;

class MemoryIdempotencyStore final : public IdempotencyStore {
 public:
  explicit MemoryIdempotencyStore(const TicketingOptions& options)
      : IdempotencyStore(options.max_idempotent_response_bytes),
        clock_(options.clock != nullptr ? options.clock : SystemClock()),
        ttl_(options.idempotency_ttl),
        lease_(options.idempotency_lease) {}

 private:
  absl::StatusOr<IdempotencyBegin> DoBegin(std::string_view scope, std::string_view key,
                                           std::string_view fingerprint) override {
    const absl::Time now = clock_->Now();
    std::lock_guard<std::mutex> lock(mu_);
    Prune(now);
    const std::string id = Id(scope, key);
    Entry* e = Live(id, now);
    IdempotencyBegin out;
    if (e == nullptr) {
      Entry fresh;
      fresh.fingerprint = std::string(fingerprint);
      fresh.lease = internal::RandomHex(16);
      SetExpiry(id, &fresh, now + lease_);
      out.outcome = IdempotencyOutcome::kStarted;
      out.lease = fresh.lease;
      entries_.emplace(id, std::move(fresh));
    } else if (e->fingerprint != fingerprint) {
      out.outcome = IdempotencyOutcome::kMismatch;
    } else if (!e->done) {
      out.outcome = IdempotencyOutcome::kInProgress;
    } else {
      out.outcome = IdempotencyOutcome::kReplay;
      out.response = e->response;
    }
    return out;
  }

  absl::Status DoFinish(std::string_view scope, std::string_view key, std::string_view lease,
                        std::string_view response) override {
    const absl::Time now = clock_->Now();
    std::lock_guard<std::mutex> lock(mu_);
    Prune(now);
    const std::string id = Id(scope, key);
    // An entry whose lease passed still finishes if nobody replaced it (not Live()).
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.done || it->second.lease != lease) {
      return LostLease();
    }
    it->second.done = true;
    it->second.response = std::string(response);
    SetExpiry(id, &it->second, now + ttl_);
    return absl::OkStatus();
  }

  absl::Status DoAbandon(std::string_view scope, std::string_view key,
                         std::string_view lease) override {
    const absl::Time now = clock_->Now();
    std::lock_guard<std::mutex> lock(mu_);
    Prune(now);
    const std::string id = Id(scope, key);
    auto it = entries_.find(id);
    if (it == entries_.end()) return absl::OkStatus();
    if (it->second.done || it->second.lease != lease) return LostLease();
    expiries_.erase({it->second.expires_at, id});
    entries_.erase(it);
    return absl::OkStatus();
  }

  struct Entry {
    std::string fingerprint;
    std::string lease;
    bool done = false;
    std::string response;
    absl::Time expires_at;  // the lease's end while started, the replay's end when done
  };

  static absl::Status LostLease() {
    return absl::FailedPreconditionError(
        "the idempotency key is no longer held by this attempt (its lease passed)");
  }
  // Scopes have no ':'-free guarantee, but they never contain '\n'.
  static std::string Id(std::string_view scope, std::string_view key) {
    return absl::StrCat(internal::AbslView(scope), "\n", internal::AbslView(key));
  }

  // The entry if it exists and has not expired; an expired one is dropped.
  Entry* Live(const std::string& id, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return nullptr;
    if (now < it->second.expires_at) return &it->second;
    expiries_.erase({it->second.expires_at, id});
    entries_.erase(it);
    return nullptr;
  }

  void SetExpiry(const std::string& id, Entry* e, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    expiries_.erase({e->expires_at, id});
    e->expires_at = at;
    expiries_.insert({at, id});
  }

  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int i = 0; i < kPrunePerCall && !expiries_.empty(); ++i) {
      auto first = expiries_.begin();
      if (first->first > now) break;
      entries_.erase(first->second);
      expiries_.erase(first);
    }
  }

  Clock* const clock_;
  const absl::Duration ttl_;
  const absl::Duration lease_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, std::string>> expiries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<IdempotencyStore> NewMemoryIdempotencyStore(const TicketingOptions& options) {
  return std::make_unique<MemoryIdempotencyStore>(options);
}

}  // namespace admission::ticketing_internal
