// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A Redis Sentinel deployment for tests: a primary, its replicas and three sentinels, each on a
// free loopback port, with short down-after-milliseconds and failover-timeout so that a
// failover takes a few seconds. Start() returns once every sentinel knows the replicas and the
// other sentinels (so a failover can be agreed on at once); the destructor stops everything.
// Like RedisServer, a missing redis-server is an error, never a skip.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SENTINEL_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SENTINEL_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "support/redis/redis_server.h"

namespace admission {
namespace testing {

struct RedisSentinelOptions {
  std::string master_name = "mymaster";
  int replicas = 1;
  int sentinels = 3;
  // The data nodes' password (requirepass and masterauth; the sentinels use it too).
  std::string password;
  // The sentinels' own password (requirepass on each sentinel, sentinel-pass between them).
  std::string sentinel_password;
  // A primary unanswered this long is subjectively down; quorum 2 makes it objectively down.
  int down_after_ms = 1000;
  int failover_timeout_ms = 3000;
};

// One sentinel process.
class SentinelProcess {
 public:
  static absl::StatusOr<std::unique_ptr<SentinelProcess>> Start(const std::string& config_body,
                                                                const std::string& password);
  ~SentinelProcess();
  SentinelProcess(const SentinelProcess&) = delete;
  SentinelProcess& operator=(const SentinelProcess&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  absl::Status Stop();
  // A command on a new connection (AUTH with the sentinel password first), as
  // RedisServer::Command answers it.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& args) const;

 private:
  SentinelProcess(std::string dir, std::string password)
      : dir_(std::move(dir)), password_(std::move(password)) {}
  absl::Status Launch(const std::string& config_body);

  const std::string dir_;
  const std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class RedisSentinelDeployment {
 public:
  static absl::StatusOr<std::unique_ptr<RedisSentinelDeployment>> Start(
      RedisSentinelOptions options = {});
  ~RedisSentinelDeployment();
  RedisSentinelDeployment(const RedisSentinelDeployment&) = delete;
  RedisSentinelDeployment& operator=(const RedisSentinelDeployment&) = delete;

  const RedisSentinelOptions& options() const { return options_; }
  // Every data node; servers()[0] is the primary at start.
  const std::vector<std::unique_ptr<RedisServer>>& servers() const { return servers_; }
  const std::vector<std::unique_ptr<SentinelProcess>>& sentinels() const { return sentinels_; }
  // "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
  std::string SentinelList() const;
  // "redis-sentinel://MASTER@<SentinelList()>" (no credentials).
  std::string Url() const;
  // The data node that says role:master, or nullptr.
  RedisServer* Primary() const;
  // SENTINEL FAILOVER on the first sentinel that takes it.
  absl::Status Failover();
  // Waits until the sentinels name a primary other than `old_address` and that server says
  // role:master; returns it.
  absl::StatusOr<RedisServer*> WaitForPrimaryOtherThan(const std::string& old_address,
                                                       absl::Duration timeout);
  // Waits until `count` running servers replicate `primary` and have everything it wrote so
  // far.
  absl::Status WaitForReplicasOf(const RedisServer& primary, int count, absl::Duration timeout);

 private:
  explicit RedisSentinelDeployment(RedisSentinelOptions options) : options_(std::move(options)) {}
  absl::Status WaitUntilSettled(absl::Duration timeout);

  const RedisSentinelOptions options_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<std::unique_ptr<SentinelProcess>> sentinels_;
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SENTINEL_H_
