// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Runs embedded Lua scripts on Redis: EVALSHA on the server that owns the script's keys (the
// Router follows cluster redirections), and EVAL with the source when the server answers
// NOSCRIPT (a restart, a failover, SCRIPT FLUSH, or a cluster node that never saw the script;
// EVAL caches it, so the next EVALSHA finds it). Error replies become statuses through
// ErrorReplyStatus, so a script reports "NOT_FOUND msg", "FAILED_PRECONDITION msg" or
// "INVALID_ARGUMENT msg" as those codes. Thread-safe; one per RedisClient, used by every store
// on it (the room's and the sale's).
#ifndef ADMISSION_SRC_REDIS_CLIENT_SCRIPT_RUNNER_H_
#define ADMISSION_SRC_REDIS_CLIENT_SCRIPT_RUNNER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "redis/client/connection.h"
#include "redis/client/router.h"

namespace admission::redis_internal {

// A script compiled into the library (admission_embed_lua_scripts in src/redis/CMakeLists.txt).
struct LuaScript {
  std::string_view name;    // "join", "inventory": for error messages
  std::string_view source;  // the Lua text, prelude included
  std::string_view sha1;    // 40 lowercase hex digits: what Redis knows it by
};

class ScriptRunner {
 public:
  explicit ScriptRunner(std::shared_ptr<Router> router) : router_(std::move(router)) {}

  // Loads the scripts on the seed node (SCRIPT LOAD, one round trip) and checks that Redis
  // hashes each to the SHA1 computed at build time, which is what Run's EVALSHA asks for.
  absl::Status Load(const std::vector<LuaScript>& scripts);

  // Runs `script` with `keys` (at least one; all in the hash slot of keys[0]) and `args`.
  // Returns the script's reply; an error reply comes back as its status.
  absl::StatusOr<ReplyPtr> Run(const LuaScript& script, const std::vector<std::string>& keys,
                               const std::vector<std::string>& args);

  // Run for callers that need more: `before` goes out ahead of the script in the same round
  // trip (so it must suit the server that owns keys[0]: on a cluster, keys in its slot), and
  // its replies land in `before_replies` (error replies included); an error reply of the
  // script comes back as the reply, for callers with error replies of their own to decode.
  // After NOSCRIPT only the script is sent again.
  absl::StatusOr<ReplyPtr> Call(const LuaScript& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args,
                                const std::vector<Command>& before = {},
                                std::vector<ReplyPtr>* before_replies = nullptr);

  Router& router() { return *router_; }

 private:
  const std::shared_ptr<Router> router_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_SCRIPT_RUNNER_H_
