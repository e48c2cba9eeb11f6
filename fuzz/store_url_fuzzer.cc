// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Store URLs (--store, OpenStoreUrl in include/admission/redis/open.h). OpenStoreUrl connects
// as soon as the URL parses, so this target does its parsing part the same way: "memory", or
// "redis-cluster://" followed by comma-separated seeds each read by ParseRedisUrl as
// "redis://<seed>", or else the whole URL through ParseRedisUrl (client.h). Nothing connects.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "admission/redis/client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  if (url == "memory") return 0;
  absl::string_view seeds(url.data(), url.size());
  admission::RedisClientOptions options;
  if (absl::ConsumePrefix(&seeds, "redis-cluster://")) {
    for (absl::string_view seed : absl::StrSplit(seeds, ',')) {
      admission::RedisClientOptions parsed;
      if (!admission::ParseRedisUrl(absl::StrCat("redis://", seed), &parsed).ok()) return 0;
      if (parsed.host.empty() || parsed.port < 1 || parsed.port > 65535) __builtin_trap();
    }
    return 0;
  }
  if (!admission::ParseRedisUrl(url, &options).ok()) return 0;
  if (options.host.empty() || options.port < 1 || options.port > 65535) __builtin_trap();
  return 0;
}
