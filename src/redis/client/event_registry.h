// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A registry of events: a SET of event ids written next to the script that creates an event,
// not by it, because on a cluster the set lives in another slot than the event. An entry
// whose script never ran (a connection lost in between) names no event, so listing keeps
// only the ids whose marker key exists. The room's store and the sale's inventory each keep
// one.
#ifndef ADMISSION_SRC_REDIS_CLIENT_EVENT_REGISTRY_H_
#define ADMISSION_SRC_REDIS_CLIENT_EVENT_REGISTRY_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "redis/client/router.h"

namespace admission::redis_internal {

// The ids in the SET `registry_key` whose key `marker_key(id)` exists, in SMEMBERS order. One
// pipeline on a single server; one request per event on a cluster.
absl::StatusOr<std::vector<std::string>> ListRegisteredEvents(
    Router& router, const std::string& registry_key,
    const std::function<std::string(std::string_view id)>& marker_key);

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_EVENT_REGISTRY_H_
