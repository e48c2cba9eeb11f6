// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_store_factory.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace admission {
namespace testing {
namespace {

struct Shared {
  std::mutex mu;
  std::unique_ptr<RedisServer> server ABSL_GUARDED_BY(mu);
  absl::Status failure ABSL_GUARDED_BY(mu);  // why the server could not start (sticky)
  std::unique_ptr<RedisCluster> cluster ABSL_GUARDED_BY(mu);
  absl::Status cluster_failure ABSL_GUARDED_BY(mu);
};

Shared& GetShared() {
  // Destroyed at exit, which stops the server (it also dies with the process if the test
  // crashes: see RedisServer::Launch).
  static Shared shared;
  return shared;
}

// $ADMISSION_TEST_REDIS_PASSWORD, if set: the shared server and cluster require it, and every
// test client authenticates, so that any suite can run through AUTH (a ctest entry in
// tests/redis/CMakeLists.txt runs the conformance suite so).
std::string SharedPassword() {
  const char* password = std::getenv("ADMISSION_TEST_REDIS_PASSWORD");
  return password != nullptr ? std::string(password) : std::string();
}

}  // namespace

absl::StatusOr<RedisServer*> SharedRedisServer() {
  Shared& shared = GetShared();
  std::lock_guard<std::mutex> lock(shared.mu);
  if (shared.server == nullptr && shared.failure.ok()) {
    RedisServerOptions options;
    options.password = SharedPassword();
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(options);
    if (server.ok()) {
      shared.server = std::move(server).value();
    } else {
      shared.failure = server.status();
    }
  }
  if (!shared.failure.ok()) return shared.failure;
  return shared.server.get();
}

absl::StatusOr<RedisCluster*> SharedRedisCluster() {
  Shared& shared = GetShared();
  std::lock_guard<std::mutex> lock(shared.mu);
  if (shared.cluster == nullptr && shared.cluster_failure.ok()) {
    absl::StatusOr<std::unique_ptr<RedisCluster>> cluster =
        RedisCluster::Start(3, SharedPassword());
    if (cluster.ok()) {
      shared.cluster = std::move(cluster).value();
    } else {
      shared.cluster_failure = cluster.status();
    }
  }
  if (!shared.cluster_failure.ok()) return shared.cluster_failure;
  return shared.cluster.get();
}

RedisTestConfig RedisTestOptions(const RedisServer& server, Clock* clock) {
  static std::atomic<int> next{0};
  RedisTestConfig config;
  config.client.host = server.host();
  config.client.port = server.port();
  config.store.clock = clock;
  // Generous: CI machines are small and busy. Tests of the timeouts set their own.
  config.client.connect_timeout = absl::Seconds(5);
  config.client.command_timeout = absl::Seconds(10);
  config.client.key_prefix = absl::StrCat("t", getpid(), "-", next.fetch_add(1));
  config.client.password = server.password();
  return config;
}

absl::StatusOr<std::unique_ptr<Store>> NewRedisTestStore(const RedisTestConfig& config) {
  absl::StatusOr<std::shared_ptr<RedisClient>> client = RedisClient::Connect(config.client);
  if (!client.ok()) return client.status();
  return NewRedisStore(*std::move(client), config.store);
}

std::unique_ptr<Store> MakeRedisStoreForTest(Clock* clock) {
  return MakeSeededRedisStoreForTest(clock, nullptr);
}

std::unique_ptr<Store> MakeSeededRedisStoreForTest(
    Clock* clock, std::function<uint64_t(std::string_view)> event_secret) {
  absl::StatusOr<RedisServer*> server = SharedRedisServer();
  if (!server.ok()) {
    ADD_FAILURE() << "no Redis server for the Redis store: " << server.status();
    return nullptr;
  }
  RedisTestConfig options = RedisTestOptions(**server, clock);
  options.store.event_secret = std::move(event_secret);
  absl::StatusOr<std::unique_ptr<Store>> store = NewRedisTestStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << "NewRedisStore: " << store.status();
    return nullptr;
  }
  return std::move(store).value();
}

std::unique_ptr<Store> MakeRedisClusterStoreForTest(Clock* clock) {
  return MakeSeededRedisClusterStoreForTest(clock, nullptr);
}

std::unique_ptr<Store> MakeSeededRedisClusterStoreForTest(
    Clock* clock, std::function<uint64_t(std::string_view)> event_secret) {
  absl::StatusOr<RedisCluster*> cluster = SharedRedisCluster();
  if (!cluster.ok()) {
    ADD_FAILURE() << "no Redis Cluster for the Redis store: " << cluster.status();
    return nullptr;
  }
  // Any node will do as the seed: the store reads the slot map from it.
  RedisTestConfig options = RedisTestOptions((*cluster)->node(0), clock);
  options.store.event_secret = std::move(event_secret);
  absl::StatusOr<std::unique_ptr<Store>> store = NewRedisTestStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << "NewRedisStore (cluster): " << store.status();
    return nullptr;
  }
  return std::move(store).value();
}

}  // namespace testing
}  // namespace admission
