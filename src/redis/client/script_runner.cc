// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/script_runner.h"

#include <hiredis.h>

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

}  // namespace

absl::Status ScriptRunner::Load(const std::vector<LuaScript>& scripts) {
  std::vector<Command> commands;
  commands.reserve(scripts.size());
  for (const LuaScript& script : scripts) commands.push_back({"SCRIPT", "LOAD", script.source});
  absl::StatusOr<std::vector<ReplyPtr>> replies = router_->seed().Execute(commands);
  if (!replies.ok()) return replies.status();
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    const redisReply* reply = (*replies)[i].get();
    const std::string what = absl::StrCat("SCRIPT LOAD of ", AbslView(scripts[i].name));
    if (reply->type == REDIS_REPLY_ERROR) {
      return ErrorReplyStatus(router_->seed().endpoint().Name(), what, ReplyText(reply));
    }
    if (reply->type != REDIS_REPLY_STRING || ReplyText(reply) != scripts[i].sha1) {
      return absl::InternalError(absl::StrCat(what, " on ", router_->name(),
                                              " did not answer the build-time SHA1 ",
                                              AbslView(scripts[i].sha1)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplyPtr> ScriptRunner::Run(const LuaScript& script,
                                           const std::vector<std::string>& keys,
                                           const std::vector<std::string>& args) {
  absl::StatusOr<ReplyPtr> reply = Call(script, keys, args);
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(router_->name(), script.name, ReplyText(reply->get()));
  }
  return reply;
}

absl::StatusOr<ReplyPtr> ScriptRunner::Call(const LuaScript& script,
                                            const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args,
                                            const std::vector<Command>& before,
                                            std::vector<ReplyPtr>* before_replies) {
  if (keys.empty()) {
    return absl::InternalError(absl::StrCat("script ", AbslView(script.name), " run without keys"));
  }
  const std::string key_count = absl::StrCat(keys.size());
  Command eval = {"EVALSHA", script.sha1, key_count};
  eval.reserve(3 + keys.size() + args.size());
  for (const std::string& key : keys) eval.push_back(key);
  for (const std::string& arg : args) eval.push_back(arg);

  std::vector<Command> commands = before;
  commands.push_back(eval);
  absl::StatusOr<std::vector<ReplyPtr>> replies = router_->Execute(keys.front(), commands);
  if (!replies.ok()) return replies.status();
  ReplyPtr reply = std::move(replies->back());
  replies->pop_back();
  if (before_replies != nullptr) *before_replies = std::move(replies).value();
  if (reply->type == REDIS_REPLY_ERROR &&
      absl::StartsWith(AbslView(ReplyText(reply.get())), "NOSCRIPT")) {
    // Redis lost its script cache (restart, failover, SCRIPT FLUSH), or this cluster node
    // never had it. EVAL runs the script and caches it, so the next EVALSHA finds it.
    eval[0] = "EVAL";
    eval[1] = script.source;
    absl::StatusOr<ReplyPtr> again = router_->Execute(keys.front(), eval);
    if (!again.ok()) return again.status();
    reply = std::move(again).value();
  }
  return reply;
}

}  // namespace admission::redis_internal
