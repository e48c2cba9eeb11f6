// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/function_runner.h"

#include <hiredis.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

using internal::AbslView;

std::string_view ReplyText(const redisReply* reply) {
  return std::string_view(reply->str, reply->len);
}

// (A Command holds views: the library's source is static.)
Command LoadCommand(const LuaLibrary& library) {
  return {"FUNCTION", "LOAD", "REPLACE", library.source};
}

// The answer of FUNCTION LOAD: the library's name, or an error. A server that does not know
// the command is older than Redis 7.0.
absl::Status LoadStatus(std::string_view server, const LuaLibrary& library,
                        const redisReply* reply) {
  const std::string what = absl::StrCat("FUNCTION LOAD of ", AbslView(library.name));
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string_view text = ReplyText(reply);
    if (absl::StrContains(AbslView(text), "unknown command") ||
        absl::StrContains(AbslView(text), "unknown subcommand")) {
      return absl::FailedPreconditionError(
          absl::StrCat(AbslView(server),
                       " has no Redis functions (FUNCTION LOAD); admission needs Redis 7.0 or "
                       "later. The server answered: ",
                       AbslView(text)));
    }
    return ErrorReplyStatus(server, what, text);
  }
  if (reply->type != REDIS_REPLY_STRING || ReplyText(reply) != library.name) {
    return absl::InternalError(
        absl::StrCat(what, " on ", AbslView(server), " did not answer the library's name"));
  }
  return absl::OkStatus();
}

bool FunctionNotFound(const redisReply* reply) {
  return reply->type == REDIS_REPLY_ERROR &&
         absl::StartsWith(AbslView(ReplyText(reply)), "ERR Function not found");
}

}  // namespace

absl::Status FunctionRunner::Load(const LuaLibrary& library) {
  for (ConnectionPool* master : router_->Masters()) {
    absl::StatusOr<ReplyPtr> reply = master->Execute(LoadCommand(library));
    if (!reply.ok()) return reply.status();
    if (absl::Status s = LoadStatus(master->endpoint().Name(), library, reply->get()); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplyPtr> FunctionRunner::Run(const LuaFunction& function,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args,
                                             Durability durability) {
  absl::StatusOr<ReplyPtr> reply = Call(function, keys, args, {}, nullptr, durability);
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(router_->name(), function.name, ReplyText(reply->get()));
  }
  return reply;
}

absl::StatusOr<ReplyPtr> FunctionRunner::Call(const LuaFunction& function,
                                              const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args,
                                              const std::vector<Command>& before,
                                              std::vector<ReplyPtr>* before_replies,
                                              Durability durability) {
  if (keys.empty()) {
    return absl::InternalError(
        absl::StrCat("function ", AbslView(function.name), " run without keys"));
  }
  const std::string key_count = absl::StrCat(keys.size());
  Command fcall = {"FCALL", function.function, key_count};
  fcall.reserve(3 + keys.size() + args.size());
  for (const std::string& key : keys) fcall.push_back(key);
  for (const std::string& arg : args) fcall.push_back(arg);

  // WAIT right behind the function, in the same request: the pool sends one caller's commands
  // together on one connection, which is what WAIT's count is about.
  const bool wait = durability == Durability::kReplicated && durable_replicas_ > 0;
  const std::string wait_replicas = absl::StrCat(durable_replicas_);
  const std::string wait_ms =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(durable_timeout_)));
  const Command wait_command = {"WAIT", wait_replicas, wait_ms};

  std::vector<Command> commands = before;
  commands.push_back(fcall);
  if (wait) commands.push_back(wait_command);
  absl::StatusOr<std::vector<ReplyPtr>> replies = router_->Execute(keys.front(), commands);
  if (!replies.ok()) return replies.status();
  ReplyPtr wait_reply;
  if (wait) {
    wait_reply = std::move(replies->back());
    replies->pop_back();
  }
  ReplyPtr reply = std::move(replies->back());
  replies->pop_back();
  if (before_replies != nullptr) *before_replies = std::move(replies).value();
  if (FunctionNotFound(reply.get())) {
    // The server lost its functions (a restart without persistence, FUNCTION FLUSH, a new
    // primary after a failover that lacks them), holds another version's library, or is a
    // cluster master that joined after start-up: load the library on every master (a call may
    // be asked to the target of a slot migration, which needs it too), then call again.
    if (absl::Status s = Load(*function.library); !s.ok()) return s;
    std::vector<Command> again_commands = {fcall};
    if (wait) again_commands.push_back(wait_command);
    absl::StatusOr<std::vector<ReplyPtr>> again = router_->Execute(keys.front(), again_commands);
    if (!again.ok()) return again.status();
    if (wait) {
      wait_reply = std::move(again->back());
      again->pop_back();
    }
    reply = std::move(again->back());
  }
  // A function that failed wrote nothing worth waiting for (our scripts check before they
  // write): its error is the answer.
  if (wait && reply->type != REDIS_REPLY_ERROR) {
    if (absl::Status s = WaitStatus(function, wait_reply.get()); !s.ok()) return s;
  }
  return reply;
}

absl::Status FunctionRunner::WaitStatus(const LuaFunction& function, const redisReply* wait) const {
  if (wait->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(router_->name(), "WAIT", ReplyText(wait));
  }
  if (wait->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("malformed reply from ", router_->name(), " to WAIT"));
  }
  if (wait->integer >= durable_replicas_) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      AbslView(function.name), " on ", router_->name(),
      " was not confirmed by a replica: WAIT answered ", wait->integer, " of ", durable_replicas_,
      " within ", absl::FormatDuration(durable_timeout_),
      "; the write stands on the primary but may not survive a failover (retrying is safe)"));
}

}  // namespace admission::redis_internal
