// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Lua scripts, embedded at build time: src/redis/CMakeLists.txt concatenates the prelude
// (lua/room/) and lua/<name>.lua, computes the SHA1 that Redis will know the script by, and writes
// them into a generated .cc. Nothing is read from disk at run time, so an installed library cannot
// run with scripts from another version.
#ifndef ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_
#define ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_

#include <string_view>

namespace admission::redis_internal {

// In the order of ADMISSION_REDIS_SCRIPTS in src/redis/CMakeLists.txt.
enum class ScriptId {
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
inline constexpr int kScriptCount = 9;

struct EmbeddedScript {
  std::string_view name;    // "join"
  std::string_view source;  // the prelude + join.lua
  std::string_view sha1;    // 40 lowercase hex digits, as EVALSHA wants them
};

const EmbeddedScript& GetScript(ScriptId id);

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_SCRIPTS_H_
