// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The waiting room's Lua scripts, embedded at build time by admission_embed_lua_scripts
// (src/redis/CMakeLists.txt): each is the prelude (lua/room/) followed by lua/<name>.lua, with
// the SHA1 Redis knows it by. They run through the client's ScriptRunner.
#ifndef ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_
#define ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_

#include <vector>

#include "redis/client/script_runner.h"

namespace admission::redis_internal {

// In the order of the room's SCRIPTS in src/redis/CMakeLists.txt.
enum class RoomScript {
  kJoin,
  kStatus,
  kEnter,
  kLeave,
  kComplete,
  kSweep,
  kSetPolicy,
  kGetPolicy,
  kStats,
};
inline constexpr int kRoomScriptCount = 9;

const LuaScript& GetRoomScript(RoomScript id);
std::vector<LuaScript> AllRoomScripts();

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_
