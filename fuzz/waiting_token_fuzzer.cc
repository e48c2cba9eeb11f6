// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Waiting tokens and reservation tokens of the library (include/admission/ids.h): any bytes as
// a token (EventIdOfToken), an event id and a user id. A token that parses names a valid event,
// and a fresh token for that event parses back to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/ids.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)admission::ValidateUserId(text);
  const bool valid_event = admission::ValidateEventId(text).ok();
  if (valid_event) {
    const std::string token = admission::NewToken(text);
    absl::StatusOr<std::string_view> back = admission::EventIdOfToken(token);
    if (!back.ok() || *back != text) __builtin_trap();
  }
  absl::StatusOr<std::string_view> event_id = admission::EventIdOfToken(text);
  if (!event_id.ok()) return 0;
  if (!admission::ValidateEventId(*event_id).ok()) __builtin_trap();
  // The event id is the token's prefix, the rest "." and 32 hex digits.
  if (text.substr(0, event_id->size()) != *event_id ||
      text.size() != event_id->size() + 1 + admission::kTokenRandomHexDigits) {
    __builtin_trap();
  }
  return 0;
}
