// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The sale's Redis function library ("admission_sale"): one function per
// lua/ticketing/<name>.lua, embedded at build time by admission_embed_lua_library
// (src/redis/CMakeLists.txt). Each is standalone (no prelude) and serves one part; its first
// argument names the operation. They run through the client's FunctionRunner.
#ifndef ADMISSION_SRC_REDIS_TICKETING_FUNCTIONS_H_
#define ADMISSION_SRC_REDIS_TICKETING_FUNCTIONS_H_

#include "redis/client/function_runner.h"

namespace admission::redis_internal {

// In the order of the sale's FUNCTIONS in src/redis/CMakeLists.txt.
enum class TicketingFunction {
  kIdempotency,
  kInventory,
  kQueue,
};
inline constexpr int kTicketingFunctionCount = 3;

const LuaFunction& GetTicketingFunction(TicketingFunction id);
const LuaLibrary& TicketingLibrary();

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_TICKETING_FUNCTIONS_H_
