// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_server.h"

#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

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

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// A port nobody listens on right now. Another process could take it before redis-server binds
// it; Start() then retries with another port.
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
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

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  return text;
}

void AppendReply(const redisReply* r, std::string* out) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      absl::StrAppend(out, r->integer);
      break;
    case REDIS_REPLY_NIL:
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out->push_back('\n');
        AppendReply(r->element[i], out);
      }
      break;
    default:
      out->append(r->str, r->len);
  }
}

}  // namespace

std::string FindRedisServer() {
  if (const char* env = std::getenv("ADMISSION_REDIS_SERVER"); env != nullptr && *env != '\0') {
    return IsExecutable(env) ? std::string(env) : std::string();
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      const std::string candidate = absl::StrCat(dir, "/redis-server");
      if (IsExecutable(candidate)) return candidate;
    }
  }
  for (const char* candidate :
       {"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"}) {
    if (IsExecutable(candidate)) return candidate;
  }
  return "";
}

RedisServer::RedisServer(std::string binary, RedisServerOptions options, std::string dir)
    : binary_(std::move(binary)), options_(std::move(options)), dir_(std::move(dir)) {}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  const std::string binary = FindRedisServer();
  if (binary.empty()) {
    return absl::FailedPreconditionError(
        "redis-server is not installed (apt-get install redis-server, or set "
        "ADMISSION_REDIS_SERVER): the Redis tests need a real server and must not be skipped");
  }
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "admission-redis-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  std::unique_ptr<RedisServer> server(new RedisServer(binary, std::move(options), dir_template));
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    server->port_ = *port;
    if (server->options_.cluster) {
      // Not port + 10000 (Redis' default): that can be taken, or beyond 65535.
      absl::StatusOr<int> bus = FreeLoopbackPort();
      if (!bus.ok()) return bus.status();
      if (*bus == *port) continue;
      server->bus_port_ = *bus;
    }
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

RedisServer::~RedisServer() {
  Resume().IgnoreError();
  Stop().IgnoreError();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   absl::StrCat(port_),
                                   "--bind",
                                   host_,
                                   "--dir",
                                   dir_,
                                   "--daemonize",
                                   "no",
                                   "--save",
                                   "",
                                   "--logfile",
                                   dir_ + "/redis.log",
                                   "--protected-mode",
                                   "yes"};
  if (options_.appendonly) {
    for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"}) args.push_back(a);
  } else {
    for (const char* a : {"--appendonly", "no"}) args.push_back(a);
  }
  if (options_.cluster) {
    for (const std::string& a :
         {std::string("--cluster-enabled"), std::string("yes"),
          std::string("--cluster-config-file"), dir_ + "/nodes.conf", std::string("--cluster-port"),
          absl::StrCat(bus_port_), std::string("--cluster-node-timeout"), std::string("3000")}) {
      args.push_back(a);
    }
  }
  if (!options_.password.empty()) {
    for (const std::string& a : {std::string("--requirepass"), options_.password,
                                 std::string("--masterauth"), options_.password}) {
      args.push_back(a);
    }
  }
  for (const std::string& a : options_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // Child: dies with the test process even if the test crashes before the destructor runs.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  absl::Status ready = WaitUntilReady(absl::Seconds(10));
  if (!ready.ok()) {
    Stop().IgnoreError();
    return absl::UnavailableError(
        absl::StrCat(ready.message(), "; redis.log:\n", Tail(dir_ + "/redis.log")));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("redis-server on port ", port_, " exited during start-up"));
    }
    absl::StatusOr<std::string> pong = Command({"PING"});
    if (pong.ok() && *pong == "PONG") return absl::OkStatus();
    last = pong.ok() ? *pong : std::string(pong.status().message());
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server on port ", port_, " did not answer PING: ", last));
}

absl::Status RedisServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Kill() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGKILL);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return Launch();
}

absl::Status RedisServer::Pause() {
  if (pid_ <= 0 || kill(pid_, SIGSTOP) != 0) return absl::FailedPreconditionError("not running");
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (pid_ <= 0 || kill(pid_, SIGCONT) != 0) return absl::FailedPreconditionError("not running");
  return absl::OkStatus();
}

absl::StatusOr<std::string> RedisServer::Command(const std::vector<std::string>& args) const {
  // Generous: on a loaded 2-core CI machine a node that just started (or is loading scripts)
  // can take seconds to answer; this bounds only the failure case.
  struct timeval tv = {10, 0};
  const std::string name = absl::StrCat(host_, ":", port_, " (", args.empty() ? "" : args[0], ")");
  std::unique_ptr<redisContext, ContextDeleter> c(
      redisConnectWithTimeout(host_.c_str(), port_, tv));
  if (c == nullptr) return absl::ResourceExhaustedError("redisConnect");
  if (c->err != 0) return absl::UnavailableError(absl::StrCat(name, ": ", c->errstr));
  redisSetTimeout(c.get(), tv);
  if (!options_.password.empty()) {
    const char* auth_argv[] = {"AUTH", options_.password.data()};
    const size_t auth_lens[] = {4, options_.password.size()};
    std::unique_ptr<redisReply, ReplyDeleter> auth(
        static_cast<redisReply*>(redisCommandArgv(c.get(), 2, auth_argv, auth_lens)));
    if (auth == nullptr) return absl::UnavailableError(absl::StrCat(name, ": ", c->errstr));
    if (auth->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(std::string(auth->str, auth->len));
    }
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
      redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (reply == nullptr) return absl::UnavailableError(absl::StrCat(name, ": ", c->errstr));
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::InternalError(std::string(reply->str, reply->len));
  }
  std::string out;
  AppendReply(reply.get(), &out);
  return out;
}

absl::StatusOr<std::string> RedisServer::InfoField(const std::string& section,
                                                   const std::string& field) const {
  absl::StatusOr<std::string> info = Command({"INFO", section});
  if (!info.ok()) return info.status();
  for (absl::string_view line : absl::StrSplit(*info, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.first == field) return std::string(kv.second);
  }
  return absl::NotFoundError(absl::StrCat("INFO ", section, " has no ", field));
}

}  // namespace testing
}  // namespace admission
