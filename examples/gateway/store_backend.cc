// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "store_backend.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "admission/room/memory_store.h"

#if defined(ADMISSION_GATEWAY_WITH_REDIS)
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "admission/redis/room_store.h"
#endif

namespace admission::gateway {
namespace {

constexpr char kRedisScheme[] = "redis://";
constexpr char kClusterScheme[] = "redis-cluster://";

#if defined(ADMISSION_GATEWAY_WITH_REDIS)

std::string Address(const RedisStoreOptions& o) {
  return o.host.find(':') == std::string::npos ? absl::StrCat(o.host, ":", o.port)
                                               : absl::StrCat("[", o.host, "]:", o.port);
}

// Asks `seed` whether it runs in cluster mode (INFO cluster). Unavailable when it does not
// answer; FailedPrecondition when it is a standalone server. The store would happily run on a
// standalone server too (it detects the mode itself), but a redis-cluster:// URL that reaches
// one is a misconfiguration: gateways that fell back to different standalone seeds would each
// serve a line of their own.
absl::Status ProbeClusterNode(const RedisStoreOptions& seed) {
  redisContext* c =
      redisConnectWithTimeout(seed.host.c_str(), seed.port, absl::ToTimeval(seed.connect_timeout));
  if (c == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis context");
  struct Free {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<redisContext, Free> context(c);
  if (c->err != 0) return absl::UnavailableError(absl::StrCat(Address(seed), ": ", c->errstr));
  redisSetTimeout(c, absl::ToTimeval(seed.command_timeout));
  auto* reply = static_cast<redisReply*>(redisCommand(c, "INFO cluster"));
  if (reply == nullptr) {
    return absl::UnavailableError(absl::StrCat(Address(seed), ": ", c->errstr));
  }
  const std::string text(reply->str != nullptr ? reply->str : "", reply->len);
  const int type = reply->type;
  freeReplyObject(reply);
  if (type != REDIS_REPLY_STRING) {
    return absl::UnavailableError(absl::StrCat(Address(seed), ": INFO cluster answered ", text));
  }
  if (!absl::StrContains(text, "cluster_enabled:1")) {
    return absl::FailedPreconditionError(
        absl::StrCat(Address(seed), " is not a Redis Cluster node (cluster_enabled:0); use ",
                     kRedisScheme, Address(seed), " for a single server"));
  }
  return absl::OkStatus();
}

// redis-cluster://HOST:PORT[,HOST:PORT...]: the seeds are tried in order and the store starts
// from the first cluster node that answers. The Redis store takes one seed and reads the whole
// slot map (every master) from it, so the other seeds only matter at startup, when the first
// ones are down; afterwards the store follows the cluster itself (MOVED, ASK, slot map
// refreshes from any known master).
absl::StatusOr<std::unique_ptr<Store>> OpenRedisCluster(const GatewayFlags& flags) {
  const std::string& spec = flags.store;
  absl::string_view list = absl::string_view(spec).substr(sizeof(kClusterScheme) - 1);
  std::vector<RedisStoreOptions> seeds;
  for (absl::string_view seed : absl::StrSplit(list, ',')) {
    RedisStoreOptions options;
    if (absl::Status s = ParseRedisUrl(absl::StrCat(kRedisScheme, seed), &options); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--store=", spec, ": seed '", std::string(seed), "': ", s.message()));
    }
    // Every worker thread may call the store at once; a small pool would serialise them.
    options.pool_size = flags.redis_pool_size;
    options.key_prefix = flags.redis_key_prefix;
    seeds.push_back(std::move(options));
  }
  std::vector<std::string> failures;
  for (const RedisStoreOptions& seed : seeds) {
    absl::Status probe = ProbeClusterNode(seed);
    if (absl::IsFailedPrecondition(probe)) {
      return absl::FailedPreconditionError(absl::StrCat("--store=", spec, ": ", probe.message()));
    }
    if (probe.ok()) {
      absl::StatusOr<std::unique_ptr<Store>> store = NewRedisStore(seed);
      if (store.ok()) return store;
      probe = store.status();
    }
    failures.push_back(std::string(probe.message()));
  }
  return absl::UnavailableError(
      absl::StrCat("--store=", spec, ": no seed answered (", absl::StrJoin(failures, "; "), ")"));
}

#endif  // ADMISSION_GATEWAY_WITH_REDIS

}  // namespace

bool HaveRedisStore() {
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  return true;
#else
  return false;
#endif
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const GatewayFlags& flags) {
  const std::string& spec = flags.store;
  if (spec == "memory") return NewMemoryStore();
  const bool cluster = absl::StartsWith(spec, kClusterScheme);
  if (!cluster && !absl::StartsWith(spec, kRedisScheme)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown --store=", spec));
  }
#if defined(ADMISSION_GATEWAY_WITH_REDIS)
  if (cluster) return OpenRedisCluster(flags);
  RedisStoreOptions options;
  if (absl::Status s = ParseRedisUrl(spec, &options); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--store=", spec, ": ", s.message()));
  }
  // Every worker thread may call the store at once; a small pool would serialise them.
  options.pool_size = flags.redis_pool_size;
  options.key_prefix = flags.redis_key_prefix;
  // A cluster node named by redis:// works too: the store detects cluster mode by itself.
  return NewRedisStore(options);
#else
  return absl::UnimplementedError(
      absl::StrCat("--store=", spec,
                   ": this admission-gateway was built without the Redis store (the CMake target "
                   "admission::redis was not available); use --store=memory or rebuild with it"));
#endif
}

}  // namespace admission::gateway
