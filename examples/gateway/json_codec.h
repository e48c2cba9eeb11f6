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
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/policy_fields.h"
#include "admission/room/waiting_room.h"
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
// "poll_after_ms"} + "reason"/"retry_after_sec" while blocked, "paused_reason" while paused,
// "position_high"/"eta_low_sec"/"eta_high_sec" while the place is a range (random method,
// pre-queue), "opens_at"/"opens_in_sec" in the pre-queue, "message" (the operator's
// queue_message, plain text) when there is one.
// QueueStatusJsonText writes it as text (the status route's answer); QueueStatusToJson parses
// that text, so the two never differ.
std::string QueueStatusJsonText(const QueueStatus& status);
// An instant as the API writes it: RFC 3339 in UTC with milliseconds
// ("2026-12-01T10:00:00.000Z").
std::string TimeText(absl::Time t);
Json QueueStatusToJson(const QueueStatus& status);

// Writes one compact JSON object straight into a string. For the answers on the hot path (join,
// status, the access log), where building an nlohmann::json first (a std::map node and a string
// per member, then a serialiser pass) cost more than the library call it reports. Keys must be
// plain ASCII literals. String values that are not plain printable ASCII are escaped by
// nlohmann (invalid UTF-8 replaced), exactly as Json::dump with error_handler_t::replace does.
class JsonObjectWriter {
 public:
  JsonObjectWriter();
  JsonObjectWriter& String(std::string_view key, std::string_view value);
  JsonObjectWriter& Int(std::string_view key, int64_t value);
  // Non-finite values are written as null, as nlohmann does.
  JsonObjectWriter& Double(std::string_view key, double value);
  JsonObjectWriter& Bool(std::string_view key, bool value);
  JsonObjectWriter& Null(std::string_view key);
  // SecondsJson's rules: milliseconds as fractional seconds, null when infinite.
  JsonObjectWriter& Seconds(std::string_view key, absl::Duration d);
  // Closes the object and hands over the text.
  std::string Finish();

 private:
  void Key(std::string_view key);
  std::string out_;
};

// A policy field's name in the API and on the command line (flags.h): the member's, with
// "_sec" for the kinds that travel as seconds.
template <typename Field>
std::string PolicyFieldApiName(const Field& field) {
  if constexpr (std::is_same_v<Field, DurationField> || std::is_same_v<Field, WindowsField>) {
    return std::string(field.name) + "_sec";
  } else {
    return field.name;
  }
}

// Every field of kPolicyFields, under PolicyFieldApiName.
Json PolicyToJson(const Policy& policy);
// Applies the members of `patch` (a subset of PolicyToJson's) onto `policy`. Does not
// validate the result; call ValidatePolicy.
absl::Status MergePolicyJson(const Json& patch, Policy* policy);

Json StatsToJson(const EventStats& stats);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_JSON_CODEC_H_
