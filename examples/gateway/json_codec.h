// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Library structs <-> JSON. Durations travel as (fractional) seconds with a `_sec` suffix, or as
// whole milliseconds with `_ms`. Decoding is strict: a field of the wrong type or a field the
// API does not know is an InvalidArgument naming it, so that a typo in an operator's PUT never
// silently does nothing. Nothing here throws.
#ifndef ADMISSION_EXAMPLES_GATEWAY_JSON_CODEC_H_
#define ADMISSION_EXAMPLES_GATEWAY_JSON_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/policy.h"
#include "admission/waiting_room.h"
#include "nlohmann/json.hpp"

namespace admission::gateway {

using Json = nlohmann::json;

// {"error":{"code":...,"message":...}}
Json ErrorJson(std::string_view code, std::string_view message);

// The body must be one JSON object. An empty body is taken as {} when `empty_ok`.
absl::StatusOr<Json> ParseObject(std::string_view body, bool empty_ok = false);

// InvalidArgument naming the first member of `object` that is not in `allowed`.
absl::Status CheckFields(const Json& object, std::initializer_list<std::string_view> allowed);

// A string member no longer than `max_length`. NotFound when absent (or null); InvalidArgument
// when of another type or too long.
absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::size_t max_length);

// Seconds as JSON: rounded to the millisecond, null for an infinite duration.
Json SecondsJson(absl::Duration d);
// Whole seconds, rounded up, at least `min` (Retry-After and friends).
int64_t CeilSeconds(absl::Duration d, int64_t min = 0);

// Status: {"status","position","eta_sec","eta_confidence","waiting_time","ready_for_entry",
// "poll_after_ms"} + "reason"/"retry_after_sec" while blocked, "paused_reason" while paused.
Json QueueStatusToJson(const QueueStatus& status);

Json PolicyToJson(const Policy& policy);
// Applies the members of `patch` (a subset of PolicyToJson's) onto `policy`. Does not
// validate the result; call ValidatePolicy.
absl::Status MergePolicyJson(const Json& patch, Policy* policy);

Json StatsToJson(const EventStats& stats);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_JSON_CODEC_H_
