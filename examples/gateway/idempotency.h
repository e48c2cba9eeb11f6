// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Idempotency-Key support for POST requests, over the library's IdempotencyStore
// (admission/ticketing/idempotency.h) on the gateway's own store: in memory for one process, or in
// Redis, where every gateway sharing the Redis sees the same keys, so a retry that lands on another
// process still replays the first answer.
//
// The first request with a key runs and its answer is kept for --idempotency_ttl_sec (5 min);
// a retry with the same key and the same request (same fingerprint) gets that answer again,
// and a request with the same key but another fingerprint gets a conflict. While the first
// request is still running (within the store's lease, 30 s), a duplicate is a conflict too: it
// must not run twice. What the library keeps is opaque bytes; this file decides what they are
// (the status, the content type, the body and a few headers, as JSON).
#ifndef ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_
#define ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "admission/ticketing/idempotency.h"

namespace admission::gateway {

// What is replayed: everything the client saw except per-request headers (request id).
struct StoredResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// StoredResponse <-> the bytes kept in the store: {"s":status,"t":type,"b":body,"h":[[n,v]]}.
std::string EncodeStoredResponse(const StoredResponse& response);
// InvalidArgument for bytes that EncodeStoredResponse did not write.
absl::StatusOr<StoredResponse> DecodeStoredResponse(std::string_view bytes);

class IdempotencyKeys {
 public:
  // All keys of the HTTP API share one scope, so that a key reused on another route is a
  // conflict rather than a second, unrelated request.
  static constexpr std::string_view kScope = "http";

  struct Lookup {
    IdempotencyOutcome outcome = IdempotencyOutcome::kStarted;
    StoredResponse response;  // kReplay: the first answer
    std::string lease;        // kStarted: for Finish or Abandon
  };

  // `store` is not owned and must outlive this object.
  explicit IdempotencyKeys(IdempotencyStore* store) : store_(store) {}

  // Looks `key` up and, when free, takes it for this request. Unavailable (and friends) when
  // the store does not answer: the request must then not run.
  absl::StatusOr<Lookup> Begin(std::string_view key, std::string_view fingerprint);
  // Keeps the answer of the attempt named by `lease` for replays. Best effort: a failure
  // (the lease passed and another attempt took the key; the store is down) is logged, and
  // the answer still goes out.
  void Finish(std::string_view key, std::string_view lease, const StoredResponse& response);
  // Frees the key of a request whose answer is worth retrying (5xx, 429). Best effort.
  void Abandon(std::string_view key, std::string_view lease);

 private:
  IdempotencyStore* const store_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_IDEMPOTENCY_H_
