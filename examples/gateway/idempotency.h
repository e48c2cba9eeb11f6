// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Idempotency-Key support for POST requests. The first request with a key runs and its
// response is kept for `ttl`; a retry with the same key and the same request (same fingerprint)
// gets that response again, and a request with the same key but a different fingerprint gets
// a conflict. While the first request is still running, a concurrent duplicate is a conflict
// too (it must not run twice).
//
// The cache is an interface so that a store-backed implementation (shared by every gateway
// process) can replace the in-process one; the in-process one only deduplicates retries that
// reach the same process.
#ifndef ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_
#define ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace admission::gateway {

// What is replayed: everything the client saw except per-request headers (request id).
struct StoredResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class IdempotencyCache {
 public:
  enum class Outcome {
    kStarted,     // first use: run the request, then Finish (or Abandon) the key
    kReplay,      // same request seen before: answer `response`
    kMismatch,    // the key was used for a different request
    kInProgress,  // the first request with this key has not finished yet
  };
  struct Lookup {
    Outcome outcome = Outcome::kStarted;
    StoredResponse response;  // set for kReplay
  };

  virtual ~IdempotencyCache() = default;
  virtual Lookup Begin(std::string_view key, std::string_view fingerprint, absl::Time now) = 0;
  virtual void Finish(std::string_view key, StoredResponse response, absl::Time now) = 0;
  // Forgets a started key whose request failed in a way worth retrying (5xx).
  virtual void Abandon(std::string_view key) = 0;
};

// Keys live `ttl` from their first use; beyond `max_keys` the oldest are dropped early.
std::unique_ptr<IdempotencyCache> NewInProcessIdempotencyCache(absl::Duration ttl,
                                                               std::size_t max_keys);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_
