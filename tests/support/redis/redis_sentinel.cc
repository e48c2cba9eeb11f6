// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_sentinel.h"

#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace admission {
namespace testing {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("bind: ", std::strerror(err)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

void Flatten(const redisReply* r, std::vector<std::string>* out) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out->push_back(absl::StrCat(r->integer));
      break;
    case REDIS_REPLY_NIL:
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) Flatten(r->element[i], out);
      break;
    default:
      out->emplace_back(r->str, r->len);
  }
}

// One command on a new connection; the reply flattened and joined by '\n'.
absl::StatusOr<std::string> RunCommand(int port, const std::string& password,
                                       const std::vector<std::string>& args) {
  struct timeval tv = {5, 0};
  std::unique_ptr<redisContext, ContextDeleter> c(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (c == nullptr) return absl::ResourceExhaustedError("redisConnect");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat(port, ": ", c->errstr));
  redisSetTimeout(c.get(), tv);
  auto run = [&](const std::vector<std::string>& a) -> absl::StatusOr<std::string> {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& s : a) {
      argv.push_back(s.data());
      lens.push_back(s.size());
    }
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (reply == nullptr) return absl::UnavailableError(absl::StrCat(port, ": ", c->errstr));
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(std::string(reply->str, reply->len));
    }
    std::vector<std::string> parts;
    Flatten(reply.get(), &parts);
    return absl::StrJoin(parts, "\n");
  };
  if (!password.empty()) {
    absl::StatusOr<std::string> auth = run({"AUTH", password});
    if (!auth.ok()) return auth.status();
  }
  return run(args);
}

// The value after `key` in a flattened key/value reply ("" if absent).
std::string Field(const std::string& flat, const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(flat, '\n');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == key) return parts[i + 1];
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentinelProcess>> SentinelProcess::Start(
    const std::string& config_body, const std::string& password) {
  if (FindRedisServer().empty()) {
    return absl::FailedPreconditionError("redis-server is not installed (Sentinel runs from it)");
  }
  std::string dir = (std::filesystem::temp_directory_path() / "admission-sentinel-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  std::unique_ptr<SentinelProcess> p(new SentinelProcess(dir, password));
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    last = p->Launch(config_body);
    if (last.ok()) return p;
  }
  return last;
}

SentinelProcess::~SentinelProcess() {
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status SentinelProcess::Launch(const std::string& config_body) {
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  port_ = *port;
  const std::string config = dir_ + "/sentinel.conf";
  {
    std::ofstream out(config, std::ios::trunc);
    out << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\nlogfile " << dir_
        << "/sentinel.log\n";
    if (!password_.empty()) {
      out << "requirepass " << password_ << "\nsentinel sentinel-pass " << password_ << "\n";
    }
    out << config_body;
  }
  std::string binary = FindRedisServer();
  std::string sentinel_flag = "--sentinel";
  std::string config_arg = config;
  char* argv[] = {binary.data(), config_arg.data(), sentinel_flag.data(), nullptr};
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  pid_ = pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string last = "no answer";
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("sentinel on port ", port_, " exited"));
    }
    absl::StatusOr<std::string> pong = Command({"PING"});
    if (pong.ok() && *pong == "PONG") return absl::OkStatus();
    last = pong.ok() ? *pong : std::string(pong.status().message());
    absl::SleepFor(absl::Milliseconds(20));
  }
  Stop().IgnoreError();
  return absl::DeadlineExceededError(absl::StrCat("sentinel on port ", port_, ": ", last));
}

absl::Status SentinelProcess::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGKILL);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return absl::OkStatus();
}

absl::StatusOr<std::string> SentinelProcess::Command(const std::vector<std::string>& args) const {
  return RunCommand(port_, password_, args);
}

absl::StatusOr<std::unique_ptr<RedisSentinelDeployment>> RedisSentinelDeployment::Start(
    RedisSentinelOptions options) {
  std::unique_ptr<RedisSentinelDeployment> d(new RedisSentinelDeployment(std::move(options)));
  const RedisSentinelOptions& o = d->options_;
  RedisServerOptions primary_options;
  primary_options.password = o.password;
  absl::StatusOr<std::unique_ptr<RedisServer>> primary = RedisServer::Start(primary_options);
  if (!primary.ok()) return primary.status();
  d->servers_.push_back(std::move(primary).value());
  const int primary_port = d->servers_[0]->port();
  for (int i = 0; i < o.replicas; ++i) {
    RedisServerOptions replica;
    replica.password = o.password;
    replica.extra_args = {"--replicaof", "127.0.0.1", absl::StrCat(primary_port)};
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start(replica);
    if (!server.ok()) return server.status();
    d->servers_.push_back(std::move(server).value());
  }
  std::string body =
      absl::StrCat("sentinel monitor ", o.master_name, " 127.0.0.1 ", primary_port,
                   " 2\nsentinel down-after-milliseconds ", o.master_name, " ", o.down_after_ms,
                   "\nsentinel failover-timeout ", o.master_name, " ", o.failover_timeout_ms,
                   "\nsentinel parallel-syncs ", o.master_name, " 1\n");
  if (!o.password.empty()) {
    absl::StrAppend(&body, "sentinel auth-pass ", o.master_name, " ", o.password, "\n");
  }
  for (int i = 0; i < o.sentinels; ++i) {
    absl::StatusOr<std::unique_ptr<SentinelProcess>> s =
        SentinelProcess::Start(body, o.sentinel_password);
    if (!s.ok()) return s.status();
    d->sentinels_.push_back(std::move(s).value());
  }
  if (absl::Status s = d->WaitUntilSettled(absl::Seconds(20)); !s.ok()) return s;
  return d;
}

RedisSentinelDeployment::~RedisSentinelDeployment() {
  sentinels_.clear();  // first, so that they start no failover while the servers stop
  servers_.clear();
}

std::string RedisSentinelDeployment::SentinelList() const {
  std::vector<std::string> addresses;
  for (const auto& s : sentinels_) addresses.push_back(s->address());
  return absl::StrJoin(addresses, ",");
}

std::string RedisSentinelDeployment::Url() const {
  return absl::StrCat("redis-sentinel://", options_.master_name, "@", SentinelList());
}

RedisServer* RedisSentinelDeployment::Primary() const {
  for (const auto& server : servers_) {
    if (!server->running()) continue;
    absl::StatusOr<std::string> role = server->InfoField("replication", "role");
    if (role.ok() && *role == "master") return server.get();
  }
  return nullptr;
}

absl::Status RedisSentinelDeployment::Failover() {
  absl::Status last = absl::UnavailableError("no sentinel");
  for (const auto& s : sentinels_) {
    absl::StatusOr<std::string> ok = s->Command({"SENTINEL", "FAILOVER", options_.master_name});
    if (ok.ok()) return absl::OkStatus();
    last = ok.status();
  }
  return last;
}

absl::Status RedisSentinelDeployment::WaitUntilSettled(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    bool settled = true;
    for (const auto& s : sentinels_) {
      absl::StatusOr<std::string> master = s->Command({"SENTINEL", "MASTER", options_.master_name});
      if (!master.ok()) {
        settled = false;
        last = std::string(master.status().message());
        break;
      }
      if (Field(*master, "flags") != "master" ||
          Field(*master, "num-slaves") != absl::StrCat(options_.replicas) ||
          Field(*master, "num-other-sentinels") != absl::StrCat(sentinels_.size() - 1)) {
        settled = false;
        last = absl::StrCat("sentinel ", s->address(), ": flags ", Field(*master, "flags"),
                            ", num-slaves ", Field(*master, "num-slaves"), ", num-other-sentinels ",
                            Field(*master, "num-other-sentinels"));
        break;
      }
    }
    for (size_t i = 1; settled && i < servers_.size(); ++i) {
      absl::StatusOr<std::string> link =
          servers_[i]->InfoField("replication", "master_link_status");
      if (!link.ok() || *link != "up") {
        settled = false;
        last = absl::StrCat("replica ", servers_[i]->address(), " not in sync");
      }
    }
    if (settled) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("the sentinels did not settle: ", last));
}

absl::StatusOr<RedisServer*> RedisSentinelDeployment::WaitForPrimaryOtherThan(
    const std::string& old_address, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < deadline) {
    for (const auto& s : sentinels_) {
      absl::StatusOr<std::string> addr =
          s->Command({"SENTINEL", "get-master-addr-by-name", options_.master_name});
      if (!addr.ok()) continue;
      const std::string address = absl::StrJoin(absl::StrSplit(*addr, '\n'), ":");
      last = address;
      if (address == old_address) continue;
      for (const auto& server : servers_) {
        if (server->address() != address || !server->running()) continue;
        absl::StatusOr<std::string> role = server->InfoField("replication", "role");
        if (!role.ok() || *role != "master") continue;
        return server.get();
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no primary other than ", old_address, " (the sentinels name ", last, ")"));
}

absl::Status RedisSentinelDeployment::WaitForReplicasOf(const RedisServer& primary, int count,
                                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int caught_up = 0;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> offset = primary.InfoField("replication", "master_repl_offset");
    int64_t wanted = 0;
    caught_up = 0;
    if (offset.ok() && absl::SimpleAtoi(*offset, &wanted)) {
      for (const auto& server : servers_) {
        if (server.get() == &primary || !server->running()) continue;
        int64_t have = -1;
        absl::StatusOr<std::string> port = server->InfoField("replication", "master_port");
        const bool follows = port.ok() && *port == absl::StrCat(primary.port());
        absl::StatusOr<std::string> link = server->InfoField("replication", "master_link_status");
        absl::StatusOr<std::string> have_text =
            server->InfoField("replication", "slave_repl_offset");
        if (follows && link.ok() && *link == "up" && have_text.ok() &&
            absl::SimpleAtoi(*have_text, &have) && have >= wanted) {
          ++caught_up;
        }
      }
      if (caught_up >= count) return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(caught_up, " of ", count, " replicas of ", primary.address(), " caught up"));
}

}  // namespace testing
}  // namespace admission
