// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ticketing/outcome_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsQueueNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
bool IsEventIdChar(char c) {
  return IsAlnum(c) || c == '_' || c == '.' || c == ':' || c == '@' || c == '-';
}
bool IsTypeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

template <typename Pred>
absl::Status Check(absl::string_view what, std::string_view s, std::size_t max, Pred allowed,
                   absl::string_view alphabet) {
  if (s.empty() || s.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1 to ", max, " characters"));
  }
  if (!std::all_of(s.begin(), s.end(), allowed)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " may only contain ", alphabet));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateQueueName(std::string_view name) {
  return Check("queue name", name, kMaxQueueNameLength, IsQueueNameChar, "[A-Za-z0-9_-]");
}

absl::Status ValidateMessageId(std::string_view id) {
  return Check("event id", id, kMaxMessageIdLength, IsEventIdChar, "[A-Za-z0-9_.:@-]");
}

absl::Status ValidateMessageType(std::string_view type) {
  return Check("event type", type, kMaxMessageTypeLength, IsTypeChar, "[a-z0-9_]");
}

absl::Status ValidateConsumerName(std::string_view consumer) {
  return Check("consumer name", consumer, kMaxConsumerNameLength, IsEventIdChar,
               "[A-Za-z0-9_.:@-]");
}

namespace ticketing_internal {

absl::Status ValidateOutcomeMessage(const OutcomeMessage& event) {
  if (absl::Status s = ValidateMessageId(event.id); !s.ok()) return s;
  if (absl::Status s = ValidateMessageType(event.type); !s.ok()) return s;
  if (event.payload.size() > kMaxMessagePayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event payload is larger than ", kMaxMessagePayloadBytes, " bytes"));
  }
  return absl::OkStatus();
}

std::string TruncateError(std::string_view error) {
  return std::string(error.substr(0, std::min(error.size(), kMaxMessageErrorBytes)));
}

}  // namespace ticketing_internal
}  // namespace admission
