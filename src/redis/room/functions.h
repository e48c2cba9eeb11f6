// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The waiting room's Redis function library ("admission_room"), embedded at build time by
// admission_embed_lua_library (src/redis/CMakeLists.txt): the prelude (lua/room/), then one
// function per lua/<name>.lua. They run through the client's FunctionRunner.
#ifndef ADMISSION_SRC_REDIS_ROOM_FUNCTIONS_H_
#define ADMISSION_SRC_REDIS_ROOM_FUNCTIONS_H_

#include "redis/client/function_runner.h"

namespace admission::redis_internal {

// In the order of the room's FUNCTIONS in src/redis/CMakeLists.txt.
enum class RoomFunction {
  kJoin,
  kStatus,
  kEnter,
  kLeave,
  kComplete,
  kSweep,
  kSetPolicy,
  kGetPolicy,
  kStats,
  kFind,
};
inline constexpr int kRoomFunctionCount = 10;

const LuaFunction& GetRoomFunction(RoomFunction id);
const LuaLibrary& RoomLibrary();

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_FUNCTIONS_H_
