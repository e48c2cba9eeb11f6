// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The writing side of JoinRefusalOf (admission/room/join_refusal.h): the stores attach a
// refusal's facts to the status they return, and read the reason names the Lua scripts send.
#ifndef ADMISSION_SRC_ROOM_JOIN_REFUSAL_INTERNAL_H_
#define ADMISSION_SRC_ROOM_JOIN_REFUSAL_INTERNAL_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "admission/room/join_refusal.h"

namespace admission::internal {

// The inverse of JoinRefusalName; nullopt for any other text.
std::optional<JoinRefusal::Reason> ParseJoinRefusalName(std::string_view name);

// Attaches `refusal` to `status`, for JoinRefusalOf to read.
void AttachJoinRefusal(const JoinRefusal& refusal, absl::Status* status);

}  // namespace admission::internal

#endif  // ADMISSION_SRC_ROOM_JOIN_REFUSAL_INTERNAL_H_
