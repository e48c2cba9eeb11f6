// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Sends each request to the Redis server that owns its keys. Against a single server that is
// always the same connection pool. Against Redis Cluster (detected at start-up from INFO
// cluster) it is the master owning the keys' hash slot: CRC16 of the key's hash tag modulo
// 16384, looked up in a slot map read with CLUSTER SLOTS. A MOVED reply (the slot has a new
// owner) refreshes the map and retries; an ASK reply (the slot is being migrated and the keys
// are already on the target) retries once on the target behind ASKING, without touching the
// map. A TRYAGAIN reply (a multi-key request while the slot's keys are split between the two
// nodes of a migration) is retried after a short pause, up to the command timeout. hiredis
// 0.14 knows nothing of clusters, so this is all here.
//
// With Sentinel (ConnectSentinel) there is one server again, the primary, but it can change:
// the router sends everything to the current primary's pool, and when a request finds it
// unreachable, too slow or demoted (a READONLY reply), reports it to a SentinelWatch, which
// finds the new primary in the background and swaps the pool (dropping the old connections).
#ifndef ADMISSION_SRC_REDIS_CLIENT_ROUTER_H_
#define ADMISSION_SRC_REDIS_CLIENT_ROUTER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "redis/client/connection.h"
#include "redis/client/connection_pool.h"
#include "redis/client/sentinel.h"

namespace admission::redis_internal {

inline constexpr int kClusterSlots = 16384;

// The cluster slot of a key: CRC16 (XMODEM) of the part between the first '{' and the next
// '}' if that part is not empty, else of the whole key; modulo 16384.
int KeySlot(std::string_view key);

class Router {
 public:
  // Connects to `seed`, detects whether it is a cluster node and, if so, reads the slot map.
  static absl::StatusOr<std::unique_ptr<Router>> Connect(const Endpoint& seed, int pool_size);
  // Finds the primary through the sentinels (DiscoverPrimary; `data` gives the data nodes'
  // timeouts and credentials) and follows it from then on.
  static absl::StatusOr<std::unique_ptr<Router>> ConnectSentinel(SentinelSettings settings,
                                                                 const Endpoint& data,
                                                                 int pool_size);

  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Runs one caller's commands, whose keys all hash to the slot of `key`, on the server that
  // owns it, following redirections. Returns the replies as ConnectionPool::Execute does.
  absl::StatusOr<std::vector<ReplyPtr>> Execute(std::string_view key,
                                                const std::vector<Command>& commands);
  absl::StatusOr<ReplyPtr> Execute(std::string_view key, const Command& command);

  bool cluster() const { return cluster_; }
  bool sentinel() const { return watch_ != nullptr; }
  // The seed's pool (the current primary's with Sentinel): for commands without keys.
  ConnectionPool& seed() { return *seed_.load(); }
  // With Sentinel, the current primary ("host:port"); the seed otherwise.
  std::string Primary() const;
  // For tests: the sentinel watch (nullptr without Sentinel).
  SentinelWatch* watch() { return watch_.get(); }
  // Every master's pool per the current slot map (the seed's alone on a single server): for
  // what each must hold, such as the function libraries.
  std::vector<ConnectionPool*> Masters();
  // For error messages: "redis host:port" (the seed; "redis cluster via host:port").
  const std::string& name() const { return name_; }
  // The address of the master owning `slot` per the current map ("" if unknown).
  std::string OwnerOf(int slot);

  // Sum over every node's pool.
  ConnectionPool::Counters counters();

  // Redirections followed before giving up on a request (a cluster in the middle of a
  // failover can bounce requests for a moment).
  static constexpr int kMaxRedirects = 5;

 private:
  Router(const Endpoint& seed, int pool_size, bool cluster, std::string name = "");

  // With Sentinel: the current primary's pool, and reporting a failure of it.
  absl::StatusOr<std::vector<ReplyPtr>> ExecuteOnPrimary(const std::vector<Command>& commands);
  void SwitchPrimary(const Endpoint& primary);

  // The pool for "host:port", created on first use.
  ConnectionPool* PoolFor(const std::string& address);
  // Reads CLUSTER SLOTS from `via` (falling back to every known node) into the map.
  absl::Status RefreshSlots(ConnectionPool* via);

  const Endpoint seed_endpoint_;
  const int pool_size_;
  const bool cluster_;
  const std::string name_;
  // Changes only with Sentinel (SwitchPrimary); pools are never removed, so a pointer read from
  // it stays valid.
  std::atomic<ConnectionPool*> seed_{nullptr};

  std::mutex pools_mu_;
  // Pools are never removed, so the pointers below stay valid.
  std::map<std::string, std::unique_ptr<ConnectionPool>> pools_ ABSL_GUARDED_BY(pools_mu_);

  std::shared_mutex slots_mu_;
  std::array<ConnectionPool*, kClusterSlots> slots_ ABSL_GUARDED_BY(slots_mu_) = {};

  // Last: its thread calls SwitchPrimary, so it stops (~Router resets it) before the rest goes.
  std::unique_ptr<SentinelWatch> watch_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_ROUTER_H_
