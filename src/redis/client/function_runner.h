// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Runs the library's Lua code on Redis as Redis functions (Redis >= 7.0). Each component's
// scripts form one function library (admission_embed_lua_library in src/redis/CMakeLists.txt),
// loaded once with FUNCTION LOAD: its prelude (the room's rules, ~150 local functions) is
// compiled and defined once per server, not on every call as EVALSHA did.
//
// Versions. The library's name is fixed ("admission_room", "admission_sale") and its functions
// are named after the library's build-time SHA1 ("admission_room_join_<12 hex digits>"), so a
// process only ever runs the code it was built with: FUNCTION LOAD REPLACE swaps a library of
// another version atomically, and a process of the other version then finds its functions
// missing ("Function not found") and loads its own again, rather than calling code that reads
// its arguments differently. Two versions serving one server therefore take turns reloading
// (correct, but each reload compiles the library): run one version per Redis, as the event data
// layout requires anyway (lua/room/state.lua, LAYOUT).
//
// Error replies become statuses through ErrorReplyStatus, so a function reports "NOT_FOUND
// msg", "FAILED_PRECONDITION msg" or "INVALID_ARGUMENT msg" as those codes. Thread-safe; one per
// RedisClient, used by every store on it (the room's and the sale's).
#ifndef ADMISSION_SRC_REDIS_CLIENT_FUNCTION_RUNNER_H_
#define ADMISSION_SRC_REDIS_CLIENT_FUNCTION_RUNNER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "redis/client/connection.h"
#include "redis/client/router.h"

namespace admission::redis_internal {

// A function library compiled into this library.
struct LuaLibrary {
  std::string_view name;     // "admission_room": FUNCTION LOAD's library name
  std::string_view source;   // the whole library, "#!lua name=..." first
  std::string_view version;  // 12 hex digits of the SHA1 of its code, in every function name
};

// One function of a LuaLibrary.
struct LuaFunction {
  std::string_view name;      // "join", "inventory": for error messages
  std::string_view function;  // what FCALL names: "admission_room_join_<version>"
  const LuaLibrary* library;  // what to load when the server does not know the function
};

// Whether a call's write must be confirmed by replicas (RedisClientOptions::durable_replicas).
enum class Durability {
  kPrimary,     // acknowledged once the primary ran it
  kReplicated,  // then WAIT on the same connection; Unavailable if not confirmed in time
};

class FunctionRunner {
 public:
  // `durable_replicas` and `durable_timeout`: the WAIT after a kReplicated call (0: none).
  explicit FunctionRunner(std::shared_ptr<Router> router, int durable_replicas = 0,
                          absl::Duration durable_timeout = absl::Milliseconds(500))
      : router_(std::move(router)),
        durable_replicas_(durable_replicas),
        durable_timeout_(durable_timeout) {}

  // Loads `library` on every master (FUNCTION LOAD REPLACE), replacing a library of the same
  // name (another version) atomically. A server without functions (Redis before 7.0) is a
  // FailedPrecondition that says so. A server that lost the library later (a restart without
  // persistence, FUNCTION FLUSH, another version's process), or a master that joined a cluster
  // later, is loaded again by the first call that misses it.
  absl::Status Load(const LuaLibrary& library);

  // Runs `function` with `keys` (at least one; all in the hash slot of keys[0]) and `args`.
  // Returns the function's reply; an error reply comes back as its status.
  // With kReplicated, and durable replicas configured, a reply that is not an error is
  // followed by `WAIT replicas timeout` in the same round trip (WAIT covers the writes made on
  // its connection, and the pool keeps one caller's commands together); fewer replicas than
  // asked is Unavailable "not confirmed by a replica" (the write stands on the primary).
  absl::StatusOr<ReplyPtr> Run(const LuaFunction& function, const std::vector<std::string>& keys,
                               const std::vector<std::string>& args,
                               Durability durability = Durability::kPrimary);

  // Run for callers that need more: `before` goes out ahead of the function in the same round
  // trip (so it must suit the server that owns keys[0]: on a cluster, keys in its slot), and
  // its replies land in `before_replies` (error replies included); an error reply of the
  // function comes back as the reply, for callers with error replies of their own to decode.
  // When the server does not know the function, the library is loaded (Load) and only the
  // function is sent again.
  absl::StatusOr<ReplyPtr> Call(const LuaFunction& function, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args,
                                const std::vector<Command>& before = {},
                                std::vector<ReplyPtr>* before_replies = nullptr,
                                Durability durability = Durability::kPrimary);

  Router& router() { return *router_; }
  int durable_replicas() const { return durable_replicas_; }

 private:
  // The status of a WAIT reply after a write that did not fail.
  absl::Status WaitStatus(const LuaFunction& function, const redisReply* wait) const;

  const std::shared_ptr<Router> router_;
  const int durable_replicas_;
  const absl::Duration durable_timeout_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_FUNCTION_RUNNER_H_
