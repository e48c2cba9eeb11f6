// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A real redis-server for tests: started on a free loopback port in a private temporary
// directory, stopped (and the directory removed) when the object is destroyed. No mock: the
// Redis store is only as good as what a real server does with its scripts.
//
// If redis-server is not installed, Start() fails with a message saying so; tests must fail
// on it (ASSERT_OK), never skip, because a silently skipped Redis suite looks like a pass.
// scripts/test installs redis-server from Debian when it is missing; ADMISSION_REDIS_SERVER
// names another binary.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SERVER_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {
namespace testing {

struct RedisServerOptions {
  // AOF with appendfsync always (the durability test); otherwise no persistence at all.
  bool appendonly = false;
  // A Redis Cluster node (cluster-enabled, its own nodes.conf, a free cluster bus port); it
  // serves nothing until it is part of a cluster (see redis_cluster.h).
  bool cluster = false;
  // Not empty: the server requires it (requirepass; and masterauth, for cluster replicas), and
  // Command() authenticates with it as the default user.
  std::string password;
  // Extra "--name value" arguments for redis-server.
  std::vector<std::string> extra_args;
};

class RedisServer {
 public:
  // Starts redis-server and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  int bus_port() const { return bus_port_; }
  const std::string& dir() const { return dir_; }
  const std::string& password() const { return options_.password; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Graceful stop (SIGTERM; an AOF is flushed); SIGKILL if it has not exited within 10 s.
  absl::Status Stop();
  // SIGKILL, as a crash or power loss would stop it: nothing is flushed.
  absl::Status Kill();
  // Starts it again (after Stop or Kill; or stops it first) on the same port and directory, so
  // an AOF is reloaded.
  absl::Status Restart();
  // Freezes / thaws the process (SIGSTOP / SIGCONT): a server that accepts but never answers.
  absl::Status Pause();
  absl::Status Resume();

  // Runs one command on a new connection (authenticated with options.password, if any) and
  // returns the reply as text (integers in decimal, arrays joined by '\n'); an error reply is
  // an error status. For test set-up and checks.
  absl::StatusOr<std::string> Command(const std::vector<std::string>& args) const;
  // A field of INFO, e.g. InfoField("memory", "used_memory").
  absl::StatusOr<std::string> InfoField(const std::string& section, const std::string& field) const;

 private:
  RedisServer(std::string binary, RedisServerOptions options, std::string dir);
  absl::Status Launch();
  absl::Status WaitUntilReady(absl::Duration timeout);

  const std::string binary_;
  const RedisServerOptions options_;
  const std::string host_ = "127.0.0.1";
  const std::string dir_;
  int port_ = 0;
  int bus_port_ = 0;  // cluster nodes only
  pid_t pid_ = -1;
};

// The redis-server binary: $ADMISSION_REDIS_SERVER, else the first on PATH, else the usual
// system paths; "" when there is none.
std::string FindRedisServer();

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_REDIS_SERVER_H_
