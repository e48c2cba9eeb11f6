// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// OpenStoreUrl: the one place that reads a store URL into a RedisClient and opens the room's
// store and the sale on it (or both in memory).
#include "admission/redis/open.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "admission/redis/room_store.h"
#include "admission/redis/ticketing.h"
#include "admission/room/memory_store.h"
#include "common/strings.h"

namespace admission {
namespace {

constexpr absl::string_view kClusterScheme = "redis-cluster://";
constexpr absl::string_view kSentinelScheme = "redis-sentinel://";

}  // namespace

absl::StatusOr<OpenedStores> OpenStoreUrl(std::string_view url, const StoreUrlOptions& options) {
  OpenedStores opened;
  if (url == "memory") {
    MemoryStoreOptions room;
    room.clock = options.clock;
    room.sweep_per_call = options.sweep_per_call;
    room.event_secret = options.event_secret;
    absl::StatusOr<Ticketing> sale = NewMemoryTicketing(options.ticketing);
    if (!sale.ok()) return sale.status();
    opened.room = NewMemoryStore(room);
    opened.sale = std::move(sale).value();
    opened.name = "memory";
    return opened;
  }

  RedisClientOptions client_options = options.redis;
  client_options.cluster_seeds.clear();
  client_options.sentinel_master.clear();
  client_options.sentinels.clear();
  // What the URL says; its credentials fill in only what options.redis leaves empty.
  RedisClientOptions from_url;
  absl::string_view seeds = internal::AbslView(url);
  const bool sentinel = absl::StartsWith(seeds, kSentinelScheme);
  const bool cluster = absl::ConsumePrefix(&seeds, kClusterScheme);
  if (sentinel) {
    if (absl::Status s = ParseRedisSentinelUrl(url, &from_url); !s.ok()) return s;
    client_options.sentinel_master = from_url.sentinel_master;
    client_options.sentinels = from_url.sentinels;
    if (client_options.sentinel_username.empty()) {
      client_options.sentinel_username = from_url.sentinel_username;
    }
    if (client_options.sentinel_password.empty()) {
      client_options.sentinel_password = from_url.sentinel_password;
    }
  } else if (cluster) {
    // One set of credentials for the whole cluster, before the first seed (up to the last '@',
    // as ParseRedisUrl cuts them).
    absl::string_view credentials;
    if (const std::size_t at = seeds.rfind('@'); at != absl::string_view::npos) {
      credentials = seeds.substr(0, at + 1);
      seeds = seeds.substr(at + 1);
    }
    for (absl::string_view seed : absl::StrSplit(seeds, ',')) {
      RedisClientOptions parsed;
      const bool first = client_options.cluster_seeds.empty();
      if (absl::Status s = ParseRedisUrl(
              absl::StrCat("redis://", first ? credentials : absl::string_view(), seed), &parsed);
          !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("seed '", seed, "': ", s.message()));
      }
      client_options.cluster_seeds.push_back({parsed.host, parsed.port});
      if (first) from_url = std::move(parsed);
    }
  } else {
    if (absl::Status s = ParseRedisUrl(url, &from_url); !s.ok()) return s;
    client_options.host = from_url.host;
    client_options.port = from_url.port;
  }
  if (client_options.username.empty()) client_options.username = from_url.username;
  if (client_options.password.empty()) client_options.password = from_url.password;

  absl::StatusOr<std::shared_ptr<RedisClient>> client = RedisClient::Connect(client_options);
  if (!client.ok()) return client.status();
  RedisStoreOptions room;
  room.clock = options.clock;
  room.sweep_per_call = options.sweep_per_call;
  room.event_secret = options.event_secret;
  absl::StatusOr<std::unique_ptr<Store>> store = NewRedisStore(*client, room);
  if (!store.ok()) return store.status();
  absl::StatusOr<Ticketing> sale = NewRedisTicketing(*client, options.ticketing);
  if (!sale.ok()) return sale.status();
  opened.room = std::move(store).value();
  opened.sale = std::move(sale).value();
  opened.client = std::move(client).value();
  const RedisClientOptions& reached = opened.client->options();
  if (sentinel) {
    // The master's name and the primary found at open (it may change later).
    opened.name = absl::StrCat(kSentinelScheme, reached.sentinel_master, "@", reached.host, ":",
                               reached.port);
  } else {
    opened.name =
        absl::StrCat(cluster ? kClusterScheme : "redis://", reached.host, ":", reached.port);
  }
  return opened;
}

}  // namespace admission
