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
// CREDENTIALS is USER:PASSWORD (an ACL user), :PASSWORD (the default user) or USER alone,
// percent-encoded (ParseRedisUrl), for every server and cluster node. A URL is often seen by
// others (ps, shell history, logs): prefer StoreUrlOptions::redis.password, which wins.
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
  // On Redis: the connection, but for the address, which comes from the URL (host, port and
  // cluster_seeds are ignored). Its username and password, when not empty, win over the
  // URL's (each on its own: a username in the URL and a password here go together).
  RedisClientOptions redis;
};

struct OpenedStores {
  std::unique_ptr<Store> room;
  Ticketing sale;
  // On Redis, the client both run on; nullptr in memory.
  std::shared_ptr<RedisClient> client;
  // What was opened: "memory", "redis://HOST:PORT", or "redis-cluster://HOST:PORT" naming the
  // seed that answered; never with credentials, so it can be printed.
  std::string name;
};

// InvalidArgument for a malformed URL, with ParseRedisUrl's message (prefixed by "seed '<seed>':
// " for a cluster seed); otherwise what RedisClient::Connect, NewRedisStore and
// NewRedisTicketing answer (Unauthenticated for refused or missing credentials). No message
// contains the password.
absl::StatusOr<OpenedStores> OpenStoreUrl(std::string_view url,
                                          const StoreUrlOptions& options = {});

}  // namespace admission

#endif  // ADMISSION_REDIS_OPEN_H_
