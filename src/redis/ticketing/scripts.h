// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The sale's Lua scripts (lua/ticketing/*.lua), embedded at build time by
// admission_embed_lua_scripts (src/redis/CMakeLists.txt) with the SHA1 Redis knows each by.
// Each script is standalone (no prelude) and serves one part; its first argument names the
// operation. They run through the client's ScriptRunner.
#ifndef ADMISSION_SRC_REDIS_TICKETING_SCRIPTS_H_
#define ADMISSION_SRC_REDIS_TICKETING_SCRIPTS_H_

#include <vector>

#include "redis/client/script_runner.h"

namespace admission::redis_internal {

// In the order of the sale's SCRIPTS in src/redis/CMakeLists.txt.
enum class TicketingScript {
  kIdempotency,
  kInventory,
  kQueue,
};
inline constexpr int kTicketingScriptCount = 3;

const LuaScript& GetTicketingScript(TicketingScript id);
std::vector<LuaScript> AllTicketingScripts();

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_TICKETING_SCRIPTS_H_
