// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Opens what a store URL names, as a server's --store flag or a binding's store argument gives
// it: the room's store and the sale, on Redis over one shared RedisClient (client.h).
//   memory                                    in this process (NewMemoryStore, NewMemoryTicketing)
//   redis://[CREDENTIALS@]HOST[:PORT][/]      one server, or any node of a cluster (the client
//                                             detects cluster mode); as ParseRedisUrl reads it,
//                                             so the scheme may be omitted
//   redis-cluster://[CREDENTIALS@]HOST:PORT[,HOST:PORT...]
//                                             Redis Cluster seeds, tried in order
//                                             (RedisClientOptions::cluster_seeds)
//   redis-sentinel://[CREDENTIALS@]MASTER@HOST:PORT[,HOST:PORT...][?SENTINEL_CREDENTIALS]
//                                             a primary and its replicas under Redis Sentinel:
//                                             MASTER is the name the sentinels monitor, the
//                                             addresses are the sentinels' (asked in order; port
//                                             26379 when left out); see ParseRedisSentinelUrl
//                                             and RedisClientOptions::sentinel_master. Sale
//                                             confirms and outcome-queue writes wait for one
//                                             replica by default (durable_replicas).
// CREDENTIALS is USER:PASSWORD (an ACL user), :PASSWORD (the default user) or USER alone,
// percent-encoded (ParseRedisUrl), for every server and cluster node (with Sentinel: the
// primary and replicas). The sentinels' own credentials, when they have a password, are
// SENTINEL_CREDENTIALS: "sentinel_username=U&sentinel_password=P" (either may be left out;
// percent-encoded, "%40" for '@'), or better StoreUrlOptions::redis.sentinel_password. A URL is
// often seen by others (ps, shell history, logs): prefer StoreUrlOptions::redis.password (and
// sentinel_password), which win.
//
//   admission::StoreUrlOptions options;
//   options.redis.key_prefix = "shop";
//   absl::StatusOr<admission::OpenedStores> opened =
//       admission::OpenStoreUrl("redis://10.0.0.7:6379", options);
//
// Link admission::redis.
#ifndef ADMISSION_REDIS_OPEN_H_
#define ADMISSION_REDIS_OPEN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/clock.h"
#include "admission/redis/client.h"
#include "admission/room/store.h"
#include "admission/ticketing/ticketing.h"

namespace admission {

struct StoreUrlOptions {
  // The room's store, in memory or on Redis (as MemoryStoreOptions and RedisStoreOptions). A
  // null clock is SystemClock() in memory, the Redis server's clock on Redis.
  Clock* clock = nullptr;
  int64_t sweep_per_call = 64;
  std::function<uint64_t(std::string_view event_id)> event_secret;
  // The sale's.
  TicketingOptions ticketing;
  // On Redis: the connection, but for the address, which comes from the URL (host, port,
  // cluster_seeds, sentinel_master and sentinels are ignored). Its username and password (and
  // sentinel_username, sentinel_password), when not empty, win over the URL's (each on its
  // own: a username in the URL and a password here go together).
  RedisClientOptions redis;
};

struct OpenedStores {
  std::unique_ptr<Store> room;
  Ticketing sale;
  // On Redis, the client both run on; nullptr in memory.
  std::shared_ptr<RedisClient> client;
  // What was opened: "memory", "redis://HOST:PORT", "redis-cluster://HOST:PORT" naming the
  // seed that answered, or "redis-sentinel://MASTER@HOST:PORT" naming the primary found at
  // open; never with credentials, so it can be printed.
  std::string name;
};

// InvalidArgument for a malformed URL, with ParseRedisUrl's message (prefixed by "seed '<seed>':
// " for a cluster seed, "sentinel '<address>': " for a sentinel); with Sentinel, Unavailable
// when no sentinel answers or none names a reachable primary, NotFound when none knows MASTER;
// otherwise what RedisClient::Connect, NewRedisStore and
// NewRedisTicketing answer (Unauthenticated for refused or missing credentials). No message
// contains the password.
absl::StatusOr<OpenedStores> OpenStoreUrl(std::string_view url,
                                          const StoreUrlOptions& options = {});

}  // namespace admission

#endif  // ADMISSION_REDIS_OPEN_H_
