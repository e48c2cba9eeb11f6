// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The policy blob that the Redis store keeps and hands back (src/redis/room/policy_codec.h):
// any bytes as a blob and as a duration. What decodes must survive a round trip: encoded again,
// it decodes to the same policy (or duration).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "redis/room/policy_codec.h"

namespace codec = admission::redis_internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<absl::Duration> d = codec::DecodeDuration(text);
  if (d.ok()) {
    absl::StatusOr<absl::Duration> again = codec::DecodeDuration(codec::EncodeDuration(*d));
    if (!again.ok() || *again != *d) __builtin_trap();
  }

  absl::StatusOr<admission::Policy> policy = codec::DecodePolicyBlob(text);
  if (!policy.ok()) return 0;
  absl::StatusOr<admission::Policy> again =
      codec::DecodePolicyBlob(codec::EncodePolicyBlob(*policy));
  if (!again.ok() || *again != *policy) __builtin_trap();
  (void)codec::EncodePolicyArgs(*policy);
  return 0;
}
