// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the library's stores reach through the opaque RedisClient (admission/redis/client.h):
// its script runner, and through it the router and the connection pools.
#ifndef ADMISSION_SRC_REDIS_CLIENT_CLIENT_INTERNAL_H_
#define ADMISSION_SRC_REDIS_CLIENT_CLIENT_INTERNAL_H_

#include "admission/redis/client.h"
#include "redis/client/function_runner.h"
#include "redis/client/router.h"

namespace admission::redis_internal {

struct ClientAccess {
  static FunctionRunner& Runner(const RedisClient& client);
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_CLIENT_INTERNAL_H_
