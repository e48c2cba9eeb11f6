// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The idempotency store's vocabulary and its front: the public calls check their input here,
// once for every store, and hand only valid input to the store.
#include "admission/ticketing/idempotency.h"

#include "absl/strings/str_cat.h"

namespace admission {
namespace {

bool IsScopeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

absl::Status ValidateFingerprint(std::string_view fingerprint) {
  if (fingerprint.empty() || fingerprint.size() > kMaxIdempotencyFingerprintLength) {
    return absl::InvalidArgumentError(absl::StrCat("idempotency fingerprint must be 1 to ",
                                                   kMaxIdempotencyFingerprintLength, " bytes"));
  }
  return absl::OkStatus();
}

// The scope and the key, which every call names.
absl::Status ValidateEntry(std::string_view scope, std::string_view key) {
  if (absl::Status s = ValidateIdempotencyScope(scope); !s.ok()) return s;
  return ValidateIdempotencyKey(key);
}

}  // namespace

absl::Status ValidateIdempotencyScope(std::string_view scope) {
  if (scope.empty() || scope.size() > kMaxIdempotencyScopeLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("idempotency scope must be 1 to ", kMaxIdempotencyScopeLength, " characters"));
  }
  for (char c : scope) {
    if (!IsScopeChar(c)) {
      return absl::InvalidArgumentError("idempotency scope may only contain [A-Za-z0-9_.:-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("idempotency key must be 1 to ", kMaxIdempotencyKeyLength, " characters"));
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "idempotency key may only contain printable ASCII characters without spaces");
    }
  }
  return absl::OkStatus();
}

std::string_view IdempotencyOutcomeName(IdempotencyOutcome outcome) {
  switch (outcome) {
    case IdempotencyOutcome::kStarted:
      return "started";
    case IdempotencyOutcome::kReplay:
      return "replay";
    case IdempotencyOutcome::kMismatch:
      return "mismatch";
    case IdempotencyOutcome::kInProgress:
      return "in_progress";
  }
  return "unknown";
}

IdempotencyStore::IdempotencyStore(std::size_t max_response_bytes)
    : max_response_bytes_(max_response_bytes) {}

absl::StatusOr<IdempotencyBegin> IdempotencyStore::Begin(std::string_view scope,
                                                         std::string_view key,
                                                         std::string_view fingerprint) {
  if (absl::Status s = ValidateEntry(scope, key); !s.ok()) return s;
  if (absl::Status s = ValidateFingerprint(fingerprint); !s.ok()) return s;
  return DoBegin(scope, key, fingerprint);
}

absl::Status IdempotencyStore::Finish(std::string_view scope, std::string_view key,
                                      std::string_view lease, std::string_view response) {
  if (absl::Status s = ValidateEntry(scope, key); !s.ok()) return s;
  if (response.size() > max_response_bytes_) {
    return absl::InvalidArgumentError(
        absl::StrCat("idempotent response is larger than ", max_response_bytes_, " bytes"));
  }
  return DoFinish(scope, key, lease, response);
}

absl::Status IdempotencyStore::Abandon(std::string_view scope, std::string_view key,
                                       std::string_view lease) {
  if (absl::Status s = ValidateEntry(scope, key); !s.ok()) return s;
  return DoAbandon(scope, key, lease);
}

}  // namespace admission
