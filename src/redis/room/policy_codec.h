// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// How a Policy travels to the scripts and back. The scripts need plain numbers (rates, counts,
// microseconds); GetPolicy must give back exactly the Policy that was set, and an
// absl::Duration can hold quarter nanoseconds, which microseconds would round away. So the
// scripts get both: the numbers they compute with, and a blob they store and return untouched,
// which only this codec reads.
#ifndef ADMISSION_SRC_REDIS_ROOM_POLICY_CODEC_H_
#define ADMISSION_SRC_REDIS_ROOM_POLICY_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/policy_fields.h"

namespace admission::redis_internal {

// Exact text form of a duration: "<seconds>:<quarter nanoseconds>" ("inf", "-inf").
std::string EncodeDuration(absl::Duration d);
absl::StatusOr<absl::Duration> DecodeDuration(std::string_view text);

// The policy arguments of join.lua and set_policy.lua: the blob, then one per field of
// kPolicyFields in the table's order, in the form the scripts compute with (see ArgValue in
// policy_codec.cc). The scripts read them by the names the build generates from the same table
// (lua/room/state.lua, set_policy_fields).
std::vector<std::string> EncodePolicyArgs(const Policy& policy);
inline constexpr int kPolicyArgCount = 1 + static_cast<int>(kPolicyFieldCount);

// The blob (the first of the arguments above), which the scripts store untouched, and back
// into a Policy. Every field round-trips exactly (times and durations to the quarter
// nanosecond). The blob is stored data: its format (kBlobVersion) changes with the table.
std::string EncodePolicyBlob(const Policy& policy);
absl::StatusOr<Policy> DecodePolicyBlob(std::string_view blob);

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_POLICY_CODEC_H_
