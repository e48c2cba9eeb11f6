// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ids.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "common/strings.h"

namespace admission {
namespace {

bool IsEventIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool IsUserIdChar(char c) { return IsEventIdChar(c) || c == '.' || c == ':' || c == '@'; }

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

using internal::AbslView;

template <typename Pred>
absl::Status ValidateId(std::string_view what, std::string_view id, std::size_t max_length,
                        Pred allowed, std::string_view alphabet) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is empty"));
  if (id.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " is longer than ", max_length, " characters"));
  }
  for (char c : id) {
    if (!allowed(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(what), " may only contain ", AbslView(alphabet)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEventId(std::string_view event_id) {
  return ValidateId("event id", event_id, kMaxEventIdLength, IsEventIdChar, "[A-Za-z0-9_-]");
}

absl::Status ValidateUserId(std::string_view user_id) {
  return ValidateId("user id", user_id, kMaxUserIdLength, IsUserIdChar, "[A-Za-z0-9_.:@-]");
}

std::string NewToken(std::string_view event_id) {
  std::string token;
  token.reserve(event_id.size() + 1 + kTokenRandomHexDigits);
  token.append(event_id);
  token.push_back('.');
  token.append(internal::RandomHex(kTokenRandomHexDigits / 2));
  return token;
}

absl::StatusOr<std::string_view> EventIdOfToken(std::string_view token) {
  const std::size_t dot = token.rfind('.');
  if (dot == std::string_view::npos || token.size() - dot - 1 != kTokenRandomHexDigits) {
    return absl::InvalidArgumentError("malformed token");
  }
  for (char c : token.substr(dot + 1)) {
    if (!IsLowerHex(c)) return absl::InvalidArgumentError("malformed token");
  }
  std::string_view event_id = token.substr(0, dot);
  if (!ValidateEventId(event_id).ok()) return absl::InvalidArgumentError("malformed token");
  return event_id;
}

}  // namespace admission
