// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/join_refusal.h"

#include <cstdint>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "room/join_refusal_internal.h"

namespace admission {
namespace {

// The payload: "<reason name> <at in Unix microseconds>" (0 when there is no time).
constexpr char kPayloadType[] = "type.admission/JoinRefusal";

}  // namespace

std::string_view JoinRefusalName(JoinRefusal::Reason reason) {
  switch (reason) {
    case JoinRefusal::kRejected:
      return "rejected";
    case JoinRefusal::kClosed:
      return "closed";
    case JoinRefusal::kNotOpenYet:
      return "not_open_yet";
  }
  return "rejected";
}

namespace internal {

std::optional<JoinRefusal::Reason> ParseJoinRefusalName(std::string_view name) {
  for (JoinRefusal::Reason r :
       {JoinRefusal::kRejected, JoinRefusal::kClosed, JoinRefusal::kNotOpenYet}) {
    if (JoinRefusalName(r) == name) return r;
  }
  return std::nullopt;
}

void AttachJoinRefusal(const JoinRefusal& refusal, absl::Status* status) {
  const std::string_view name = JoinRefusalName(refusal.reason);
  const int64_t at_us = refusal.at == absl::InfinitePast() ? 0 : absl::ToUnixMicros(refusal.at);
  status->SetPayload(kPayloadType, absl::Cord(absl::StrCat(internal::AbslView(name), " ", at_us)));
}

}  // namespace internal

std::optional<JoinRefusal> JoinRefusalOf(const absl::Status& status) {
  if (!absl::IsFailedPrecondition(status)) return std::nullopt;
  const auto payload = status.GetPayload(kPayloadType);  // an absl::optional here
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits(' ', 1));
  int64_t at_us = 0;
  if (!absl::SimpleAtoi(parts.second, &at_us)) return std::nullopt;
  const std::optional<JoinRefusal::Reason> reason = internal::ParseJoinRefusalName(parts.first);
  if (!reason.has_value()) return std::nullopt;
  JoinRefusal refusal;
  refusal.reason = *reason;
  if (at_us != 0) refusal.at = absl::FromUnixMicros(at_us);
  return refusal;
}

}  // namespace admission
