// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Identifiers and tokens. Event ids, user ids and tokens end up inside Redis keys and HTTP
// responses, so they are held to a small alphabet and a bounded length.
#ifndef ADMISSION_IDS_H_
#define ADMISSION_IDS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace admission {

// Event ids: 1..64 characters of [A-Za-z0-9_-].
inline constexpr std::size_t kMaxEventIdLength = 64;
// User ids: 1..128 characters of [A-Za-z0-9_.:@-].
inline constexpr std::size_t kMaxUserIdLength = 128;
// Random part of a token: 128 bits as 32 lowercase hex digits.
inline constexpr std::size_t kTokenRandomHexDigits = 32;

absl::Status ValidateEventId(std::string_view event_id);
absl::Status ValidateUserId(std::string_view user_id);

// A waiting token (and a reservation token) is "<event_id>.<32 lowercase hex digits>": the
// event rides along so that any gateway can route the token to its event (and, on Redis
// Cluster, to the right shard) without a lookup; the 128 random bits make it unguessable.
std::string NewToken(std::string_view event_id);

// The event id inside a well-formed token; InvalidArgument otherwise.
absl::StatusOr<std::string_view> EventIdOfToken(std::string_view token);

}  // namespace admission

#endif  // ADMISSION_IDS_H_
