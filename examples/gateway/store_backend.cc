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
// A secret: the first line of --<flag>=<file> if given, else $<env> if set; `out` untouched
// otherwise.
absl::Status ReadSecret(const char* flag, const std::string& file, const char* env,
                        std::string* out) {
  if (file.empty()) {
    if (const char* value = std::getenv(env); value != nullptr) *out = value;
    return absl::OkStatus();
  }
  std::ifstream in(file);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", file, ": cannot read it: ", std::strerror(errno)));
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", file, ": its first line is empty"));
  }
  *out = std::move(line);
  return absl::OkStatus();
}

// The username and password of docs/gateway.md's rule, less the URL's (OpenStoreUrl uses
// those where these are empty). Warns when the URL carries a password.
absl::Status ReadCredentials(const GatewayFlags& flags, RedisClientOptions* options) {
  options->username = flags.redis_username;
  if (options->username.empty()) {
    if (const char* env = std::getenv("ADMISSION_REDIS_USERNAME"); env != nullptr) {
      options->username = env;
    }
  }
  if (absl::Status s = ReadSecret("redis_password_file", flags.redis_password_file,
                                  "ADMISSION_REDIS_PASSWORD", &options->password);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ReadSecret("redis_sentinel_password_file", flags.redis_sentinel_password_file,
                     "ADMISSION_REDIS_SENTINEL_PASSWORD", &options->sentinel_password);
      !s.ok()) {
    return s;
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
  if (absl::StartsWith(flags.store, "redis-sentinel://") &&
      absl::StrContains(flags.store, "sentinel_password=")) {
    std::fprintf(stderr,
                 "admission-gateway: warning: --store carries the sentinels' password, which "
                 "every user of this machine can read (ps, /proc); use "
                 "--redis_sentinel_password_file or ADMISSION_REDIS_SENTINEL_PASSWORD\n");
  }
  return absl::OkStatus();
}
#endif

}  // namespace

std::string RedactStoreUrl(std::string_view url) {
  absl::string_view u(url.data(), url.size());
  if (absl::StartsWith(u, "redis-sentinel://")) {
    // redis-sentinel://[CREDENTIALS@]MASTER@HOSTS[?SENTINEL_CREDENTIALS]: keep the master's
    // name and the sentinels, hide both kinds of credentials.
    std::string shown;
    const std::size_t at = u.rfind('@');
    absl::string_view tail = at == absl::string_view::npos ? u : u.substr(at + 1);
    const std::size_t query = tail.find('?');
    const absl::string_view hosts = tail.substr(0, query);
    if (at == absl::string_view::npos) {
      shown = std::string(hosts);
    } else {
      const absl::string_view head = u.substr(0, at);  // scheme, credentials, master
      const std::size_t cred_at = head.rfind('@');
      shown = cred_at == absl::string_view::npos
                  ? absl::StrCat(head, "@", hosts)
                  : absl::StrCat("redis-sentinel://<credentials>@", head.substr(cred_at + 1), "@",
                                 hosts);
    }
    if (query != absl::string_view::npos) absl::StrAppend(&shown, "?<sentinel credentials>");
    return shown;
  }
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
