// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// An idempotency store: lets a service run a request at most once per client-chosen key (the
// HTTP Idempotency-Key header) and answer retries with the first response, across every
// process that shares the store.
//
// Example:
//   #include "admission/ticketing/ticketing.h"
//   absl::StatusOr<Ticketing> sale = NewMemoryTicketing();
//   IdempotencyStore* store = sale->idempotency.get();
//   std::string key = "7f3a9c", fingerprint = "sha256 of the request", response;
//   absl::StatusOr<IdempotencyBegin> begin = store->Begin("reservations", key, fingerprint);
//   if (!begin.ok()) return;  // 503, and the request does not run
//   switch (begin->outcome) {
//     case IdempotencyOutcome::kStarted:  // first use: run the request, then Finish (or Abandon)
//       response = "201 Created";
//       if (!store->Finish("reservations", key, begin->lease, response).ok()) return;
//       break;
//     case IdempotencyOutcome::kReplay:  // answer the first response again
//       response = begin->response;
//       break;
//     case IdempotencyOutcome::kMismatch:    // 409: the key was used for another request
//     case IdempotencyOutcome::kInProgress:  // 409: the first request is still running
//       break;
//   }
//
// Entries are keyed by (scope, key): the scope separates independent key spaces (a route, a
// tenant, an API version) so that the same client key means different things in each. The
// fingerprint is whatever identifies "the same request" to the caller (the gateway hashes the
// method, path, credentials and body); the stored response is opaque bytes (the gateway
// serializes status, headers and body). The library interprets neither.
//
// Lifetimes, from the store's Clock:
//   - a started entry holds the key for `lease` (TicketingOptions::idempotency_lease, 30 s):
//     while it runs, duplicates get kInProgress; if the process that started it crashes, the
//     key is free again once the lease has passed (the next Begin gets kStarted), so a crash
//     never blocks a key for the full TTL;
//   - a finished entry replays for `ttl` after Finish (TicketingOptions::idempotency_ttl,
//     5 min), then the key is forgotten and may be used afresh.
// The lease string returned by kStarted names that one attempt: Finish and Abandon with an
// old lease (the lease passed and another request took the key over) change nothing and
// return FailedPrecondition, so a slow first attempt can neither overwrite nor drop the entry
// of the attempt that replaced it.
//
// Implementations: the in-memory one (NewMemoryTicketing in ticketing.h) and the Redis one
// (NewRedisTicketing in admission/redis/ticketing.h: one key per (scope, key), updated by one Lua
// script, expiring by itself). Both are thread-safe and behave the same: the public calls check
// their input and pass only valid input on to the implementation (the private Do... calls).
#ifndef ADMISSION_TICKETING_IDEMPOTENCY_H_
#define ADMISSION_TICKETING_IDEMPOTENCY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {

// Scopes: 1..64 characters of [A-Za-z0-9_.:-].
inline constexpr std::size_t kMaxIdempotencyScopeLength = 64;
// Keys: 1..255 printable ASCII characters without spaces (0x21..0x7e), as HTTP headers carry
// them.
inline constexpr std::size_t kMaxIdempotencyKeyLength = 255;
// Fingerprints: 1..256 bytes, any bytes (a SHA-256 in hex is 64).
inline constexpr std::size_t kMaxIdempotencyFingerprintLength = 256;

absl::Status ValidateIdempotencyScope(std::string_view scope);
absl::Status ValidateIdempotencyKey(std::string_view key);

enum class IdempotencyOutcome {
  kStarted,     // first use (or the previous attempt's lease passed): run the request
  kReplay,      // the same request finished before: answer IdempotencyBegin::response
  kMismatch,    // the key is held by a request with another fingerprint
  kInProgress,  // the same request started and has neither finished nor lost its lease
};
// "started", "replay", "mismatch", "in_progress".
std::string_view IdempotencyOutcomeName(IdempotencyOutcome outcome);

struct IdempotencyBegin {
  IdempotencyOutcome outcome = IdempotencyOutcome::kStarted;
  // kReplay: the bytes given to Finish.
  std::string response;
  // kStarted: names this attempt, for Finish and Abandon (32 lowercase hex digits).
  std::string lease;
};

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // Looks the key up and, when it is free, takes it for this attempt. The fingerprint is
  // compared first: a key held (started or finished) by another fingerprint is kMismatch.
  // InvalidArgument for a malformed scope, key or fingerprint; Unavailable and
  // DeadlineExceeded from a remote store (the caller should answer 503 and not run the
  // request).
  absl::StatusOr<IdempotencyBegin> Begin(std::string_view scope, std::string_view key,
                                         std::string_view fingerprint);

  // Stores the response of the attempt named by `lease`; replays answer it for `ttl` from
  // now. FailedPrecondition when the key no longer holds that lease (the lease passed and
  // another attempt took the key, or the entry was dropped after its lease passed, or it
  // finished already); the response is then not stored. Within its lease an attempt always
  // finishes. InvalidArgument for a response over
  // TicketingOptions::max_idempotent_response_bytes.
  absl::Status Finish(std::string_view scope, std::string_view key, std::string_view lease,
                      std::string_view response);

  // Forgets the attempt named by `lease` (its request failed in a way worth retrying, e.g. a
  // 5xx), so the next Begin gets kStarted. FailedPrecondition when the lease is no longer the
  // key's (nothing changes); OK if the key is already free.
  absl::Status Abandon(std::string_view scope, std::string_view key, std::string_view lease);

 protected:
  // `max_response_bytes`: the largest response Finish stores
  // (TicketingOptions::max_idempotent_response_bytes).
  explicit IdempotencyStore(std::size_t max_response_bytes);

 private:
  // The store behind the calls above, with their contracts. Each is called only with input
  // the public call has checked: the scope passes ValidateIdempotencyScope, the key
  // ValidateIdempotencyKey, the fingerprint is 1..kMaxIdempotencyFingerprintLength bytes and
  // the response at most max_response_bytes. The lease is the caller's, unchecked: a lease
  // the key does not hold is FailedPrecondition like any lost lease.
  virtual absl::StatusOr<IdempotencyBegin> DoBegin(std::string_view scope, std::string_view key,
                                                   std::string_view fingerprint) = 0;
  virtual absl::Status DoFinish(std::string_view scope, std::string_view key,
                                std::string_view lease, std::string_view response) = 0;
  virtual absl::Status DoAbandon(std::string_view scope, std::string_view key,
                                 std::string_view lease) = 0;

  const std::size_t max_response_bytes_;
};

}  // namespace admission

#endif  // ADMISSION_TICKETING_IDEMPOTENCY_H_
