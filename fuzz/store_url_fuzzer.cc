// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Store URLs (--store, OpenStoreUrl in include/admission/redis/open.h). OpenStoreUrl connects
// as soon as the URL parses, so this target does its parsing part the same way: "memory", or
// "redis-cluster://" with optional credentials up to the last '@' and comma-separated seeds,
// each read by ParseRedisUrl as "redis://<seed>" (the first with the credentials), or else the
// whole URL through ParseRedisUrl (client.h). Nothing connects. Besides not crashing: a parsed
// host is a host, and a refused URL's message shows its credentials as "<credentials>", never
// themselves.
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

namespace {

void CheckParsed(const admission::RedisClientOptions& options) {
  if (options.host.empty() || options.port < 1 || options.port > 65535) __builtin_trap();
  if (options.host.find('@') != std::string::npos) __builtin_trap();
}

// `url` was refused: its message quotes the URL with the credentials (scheme to last '@')
// replaced, so nothing of them can show.
void CheckRefused(absl::string_view url, const absl::Status& status) {
  absl::string_view rest = url;
  std::string scheme;
  for (absl::string_view s : {"rediss://", "redis://"}) {
    if (absl::ConsumePrefix(&rest, s)) {
      scheme = std::string(s);
      break;
    }
  }
  const std::size_t at = rest.rfind('@');
  if (at == absl::string_view::npos) return;
  const std::string quoted =
      absl::StrCat("redis url '", scheme, "<credentials>@", rest.substr(at + 1), "': ");
  if (!absl::StartsWith(status.message(), quoted)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  if (url == "memory") return 0;
  absl::string_view seeds(url.data(), url.size());
  if (absl::ConsumePrefix(&seeds, "redis-cluster://")) {
    absl::string_view credentials;
    if (const std::size_t at = seeds.rfind('@'); at != absl::string_view::npos) {
      credentials = seeds.substr(0, at + 1);
      seeds = seeds.substr(at + 1);
    }
    bool first = true;
    for (absl::string_view seed : absl::StrSplit(seeds, ',')) {
      admission::RedisClientOptions parsed;
      const std::string one =
          absl::StrCat("redis://", first ? credentials : absl::string_view(), seed);
      first = false;
      const absl::Status s = admission::ParseRedisUrl(one, &parsed);
      if (!s.ok()) {
        CheckRefused(one, s);
        return 0;
      }
      CheckParsed(parsed);
    }
    return 0;
  }
  admission::RedisClientOptions options;
  const absl::Status s = admission::ParseRedisUrl(url, &options);
  if (!s.ok()) {
    CheckRefused(absl::string_view(url.data(), url.size()), s);
    return 0;
  }
  CheckParsed(options);
  return 0;
}
