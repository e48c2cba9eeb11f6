// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The outcome queue's vocabulary (names, ids, types) and its front: the public calls check
// their input here, once for every store, and hand only valid input to the store.
#include "admission/ticketing/outcome_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace {

// Dead letters listed at most per call.
constexpr int64_t kMaxListed = 1000;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsQueueNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
bool IsMessageIdChar(char c) {
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

absl::Status ValidateMessage(const OutcomeMessage& message) {
  if (absl::Status s = ValidateMessageId(message.id); !s.ok()) return s;
  if (absl::Status s = ValidateMessageType(message.type); !s.ok()) return s;
  if (message.payload.size() > kMaxMessagePayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event payload is larger than ", kMaxMessagePayloadBytes, " bytes"));
  }
  return absl::OkStatus();
}

std::string TruncateError(std::string_view error) {
  return std::string(error.substr(0, std::min(error.size(), kMaxMessageErrorBytes)));
}

}  // namespace

absl::Status ValidateQueueName(std::string_view name) {
  return Check("queue name", name, kMaxQueueNameLength, IsQueueNameChar, "[A-Za-z0-9_-]");
}

// The errors say "event id", "event type" and "event payload" for a message's: they reach
// HTTP clients (the gateway's answers), whose wording is part of its contract.
absl::Status ValidateMessageId(std::string_view id) {
  return Check("event id", id, kMaxMessageIdLength, IsMessageIdChar, "[A-Za-z0-9_.:@-]");
}

absl::Status ValidateMessageType(std::string_view type) {
  return Check("event type", type, kMaxMessageTypeLength, IsTypeChar, "[a-z0-9_]");
}

absl::Status ValidateConsumerName(std::string_view consumer) {
  return Check("consumer name", consumer, kMaxConsumerNameLength, IsMessageIdChar,
               "[A-Za-z0-9_.:@-]");
}

absl::StatusOr<bool> OutcomeQueue::Publish(const OutcomeMessage& message) {
  if (absl::Status s = ValidateMessage(message); !s.ok()) return s;
  return DoPublish(message);
}

absl::StatusOr<std::vector<Delivery>> OutcomeQueue::Claim(std::string_view consumer,
                                                          int64_t max_messages,
                                                          absl::Duration lease) {
  if (absl::Status s = ValidateConsumerName(consumer); !s.ok()) return s;
  if (lease <= absl::ZeroDuration()) return absl::InvalidArgumentError("lease must be positive");
  if (max_messages <= 0) return std::vector<Delivery>();
  return DoClaim(consumer, std::min(max_messages, ticketing_internal::kMaxExactMicros), lease);
}

absl::Status OutcomeQueue::Ack(std::string_view message_id) {
  if (absl::Status s = ValidateMessageId(message_id); !s.ok()) return s;
  return DoAck(message_id);
}

absl::Status OutcomeQueue::Retry(std::string_view message_id, int64_t attempts,
                                 absl::Time not_before, std::string_view error) {
  if (absl::Status s = ValidateMessageId(message_id); !s.ok()) return s;
  return DoRetry(message_id, attempts, not_before, TruncateError(error));
}

absl::Status OutcomeQueue::Park(std::string_view message_id, int64_t attempts,
                                std::string_view error) {
  if (absl::Status s = ValidateMessageId(message_id); !s.ok()) return s;
  return DoPark(message_id, attempts, TruncateError(error));
}

absl::StatusOr<std::vector<DeadLetter>> OutcomeQueue::ListDeadLetters(int64_t max) {
  max = std::min(max, kMaxListed);
  if (max <= 0) return std::vector<DeadLetter>();
  return DoListDeadLetters(max);
}

absl::Status OutcomeQueue::ReplayDeadLetter(std::string_view message_id) {
  if (absl::Status s = ValidateMessageId(message_id); !s.ok()) return s;
  return DoReplayDeadLetter(message_id);
}

absl::StatusOr<QueueStats> OutcomeQueue::Stats() { return DoStats(); }

}  // namespace admission
