// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/store.h"

namespace admission {

std::string_view UserStateName(UserState state) {
  switch (state) {
    case UserState::kWaiting:
      return "waiting";
    case UserState::kActive:
      return "active";
    case UserState::kExpired:
      return "expired";
    case UserState::kLeft:
      return "left";
    case UserState::kCompleted:
      return "completed";
    case UserState::kPrequeue:
      return "prequeue";
  }
  return "unknown";
}

std::string_view EntryBlockName(EntryBlock block) {
  switch (block) {
    case EntryBlock::kNone:
      return "none";
    case EntryBlock::kPaused:
      return "paused";
    case EntryBlock::kCapacityFull:
      return "capacity_full";
    case EntryBlock::kNotYourTurn:
      return "not_your_turn";
    case EntryBlock::kTierWait:
      return "tier_wait";
    case EntryBlock::kNotWaiting:
      return "not_waiting";
  }
  return "unknown";
}

}  // namespace admission
