// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ticketing/idempotency.h"

#include "absl/strings/str_cat.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace {

bool IsScopeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
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

namespace ticketing_internal {

absl::Status ValidateFingerprint(std::string_view fingerprint) {
  if (fingerprint.empty() || fingerprint.size() > kMaxIdempotencyFingerprintLength) {
    return absl::InvalidArgumentError(absl::StrCat("idempotency fingerprint must be 1 to ",
                                                   kMaxIdempotencyFingerprintLength, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace ticketing_internal
}  // namespace admission
