// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "store_backend.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "admission/room/memory_store.h"
#include "ticketing_routes.h"

#if defined(ADMISSION_GATEWAY_WITH_REDIS)
#include "admission/redis/open.h"
#endif

namespace admission::gateway {
namespace {

// The part of a store URL between its scheme and its last '@' ("" and false without one).
bool UrlCredentials(absl::string_view url, absl::string_view* credentials,
                    std::size_t* start = nullptr) {
  const std::size_t scheme = url.find("://");
  const std::size_t from = scheme == absl::string_view::npos ? 0 : scheme + 3;
  const std::size_t at = url.rfind('@');
  if (at == absl::string_view::npos || at < from) return false;
  *credentials = url.substr(from, at - from);
  if (start != nullptr) *start = from;
  return true;
}

#if defined(ADMISSION_GATEWAY_WITH_REDIS)
// The username and password of docs/gateway.md's rule, less the URL's (OpenStoreUrl uses
// those where these are empty). Warns when the URL carries a password.
absl::Status ReadCredentials(const GatewayFlags& flags, RedisClientOptions* options) {
  options->username = flags.redis_username;
  if (options->username.empty()) {
    if (const char* env = std::getenv("ADMISSION_REDIS_USERNAME"); env != nullptr) {
      options->username = env;
    }
  }
  if (!flags.redis_password_file.empty()) {
    std::ifstream in(flags.redis_password_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis_password_file=", flags.redis_password_file,
                       ": cannot read it: ", std::strerror(errno)));
    }
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redis_password_file=", flags.redis_password_file, ": its first line is empty"));
    }
    options->password = std::move(line);
  } else if (const char* env = std::getenv("ADMISSION_REDIS_PASSWORD"); env != nullptr) {
    options->password = env;
  }
  absl::string_view credentials;
  if (UrlCredentials(flags.store, &credentials) && absl::StrContains(credentials, ':') &&
      !absl::EndsWith(credentials, ":")) {
    std::fprintf(stderr,
                 "admission-gateway: warning: --store carries a Redis password, which every "
                 "user of this machine can read (ps, /proc)%s; use --redis_password_file or "
                 "ADMISSION_REDIS_PASSWORD\n",
                 options->password.empty() ? "" : " (unused: the file or the environment wins)");
  }
  return absl::OkStatus();
}
#endif

}  // namespace

std::string RedactStoreUrl(std::string_view url) {
  const absl::string_view u(url.data(), url.size());
  absl::string_view credentials;
  std::size_t start = 0;
  if (!UrlCredentials(u, &credentials, &start)) return std::string(u);
  return absl::StrCat(u.substr(0, start), "<credentials>", u.substr(start + credentials.size()));
}

bool HaveRedisStore() {
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  return true;
#else
  return false;
#endif
}

absl::StatusOr<Stores> OpenStores(const GatewayFlags& flags, Clock* sale_clock) {
  const std::string& spec = flags.store;
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  StoreUrlOptions options;
  options.ticketing = TicketingOptionsFromFlags(flags, sale_clock);
  // Every worker thread may call the stores at once; a small pool would serialise them.
  options.redis.pool_size = flags.redis_pool_size;
  options.redis.key_prefix = flags.redis_key_prefix;
  if (spec != "memory") {
    if (absl::Status s = ReadCredentials(flags, &options.redis); !s.ok()) return s;
  }
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl(spec, options);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(), absl::StrCat("--store=", RedactStoreUrl(spec), ": ",
                                                             opened.status().message()));
  }
  return Stores{std::move(opened->room), std::move(opened->sale), std::move(opened->name)};
#else
  if (spec == "memory") {
    absl::StatusOr<Ticketing> sale =
        NewMemoryTicketing(TicketingOptionsFromFlags(flags, sale_clock));
    if (!sale.ok()) return sale.status();
    return Stores{NewMemoryStore(), std::move(sale).value(), "memory"};
  }
  return absl::UnimplementedError(
      absl::StrCat("--store=", RedactStoreUrl(spec),
                   ": this admission-gateway was built without the Redis store (the CMake target "
                   "admission::redis was not available); use --store=memory or rebuild with it"));
#endif
}

}  // namespace admission::gateway
