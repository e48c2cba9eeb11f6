// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/event_registry.h"

#include <hiredis.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "redis/client/connection.h"
#include "redis/client/reply_reader.h"

namespace admission::redis_internal {

absl::StatusOr<std::vector<std::string>> ListRegisteredEvents(
    Router& router, const std::string& registry_key,
    const std::function<std::string(std::string_view id)>& marker_key) {
  absl::StatusOr<ReplyPtr> members =
      router.Execute(registry_key, Command{"SMEMBERS", registry_key});
  if (!members.ok()) return members.status();
  if ((*members)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(router.name(), "SMEMBERS",
                            std::string_view((*members)->str, (*members)->len));
  }
  ReplyReader r(members->get(), absl::StrCat(router.name(), " (SMEMBERS)"));
  std::vector<std::string> ids;
  while (r.ok() && r.remaining() > 0) ids.emplace_back(r.String("event_id"));
  if (absl::Status s = r.Finish(); !s.ok()) return s;

  std::vector<std::string> markers;
  markers.reserve(ids.size());
  for (const std::string& id : ids) markers.push_back(marker_key(id));
  std::vector<ReplyPtr> found;
  if (router.cluster()) {
    for (const std::string& key : markers) {
      absl::StatusOr<ReplyPtr> one = router.Execute(key, Command{"EXISTS", key});
      if (!one.ok()) return one.status();
      found.push_back(std::move(one).value());
    }
  } else if (!ids.empty()) {
    std::vector<Command> exists;
    exists.reserve(ids.size());
    for (const std::string& key : markers) exists.push_back({"EXISTS", key});
    absl::StatusOr<std::vector<ReplyPtr>> all = router.Execute(registry_key, exists);
    if (!all.ok()) return all.status();
    found = std::move(all).value();
  }
  std::vector<std::string> events;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const redisReply* reply = found[i].get();
    if (reply->type == REDIS_REPLY_ERROR) {
      return ErrorReplyStatus(router.name(), "EXISTS", std::string_view(reply->str, reply->len));
    }
    if (reply->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(
          absl::StrCat("malformed reply from ", router.name(), " to EXISTS"));
    }
    if (reply->integer == 1) events.push_back(std::move(ids[i]));
  }
  return events;
}

}  // namespace admission::redis_internal
