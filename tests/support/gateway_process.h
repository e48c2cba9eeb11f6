// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// One admission-gateway process for HTTP tests: started on a free loopback port (the binary
// prints the port it bound on its first stdout line), ready once /healthz answers (a bounded
// poll), stopped with SIGTERM at the end and killed if the test process dies first
// (PR_SET_PDEATHSIG). Its stderr (the JSON access log) goes to a file the test can read.
//
// The binary's path comes from the ADMISSION_GATEWAY_BINARY compile definition. Also: the flags
// of a room that admits at once, a shell command's output, and the fixture of suites that share
// one gateway process.
#ifndef ADMISSION_TESTS_SUPPORT_GATEWAY_PROCESS_H_
#define ADMISSION_TESTS_SUPPORT_GATEWAY_PROCESS_H_

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "support/gateway_client.h"

namespace admission::gateway::testing {

// A room that admits at once (a large bucket, no tier waits), with the per-client rate limits
// and the proof of work off, where a join opens an unknown event (so each test takes events of
// its own): the flags of suites that test routes rather than the room's pace, its defences or
// who may make events.
inline std::vector<std::string> OpenRoomFlags() {
  return {"--admit_rate_per_sec=1000",
          "--burst=1000",
          "--wait_tiers=",
          "--rate_limit_ip_per_sec=0",
          "--rate_limit_token_per_sec=0",
          "--create_events_on_join",
          "--pow=off"};
}

// Runs `command` in a shell: its stdout, and its exit code in `*exit_code` (-1 if it did not
// exit normally).
inline std::string CommandOutput(const std::string& command, int* exit_code) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int status = pclose(f);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class GatewayProcess {
 public:
  struct Exit {
    bool exited = false;  // false: still running when the deadline passed (then killed)
    int code = -1;
    std::string stderr_text;
  };

  // Starts the binary with --listen=127.0.0.1:0 and `flags`, and waits until /healthz answers.
  // nullptr, with `error` set (and the process's stderr in it), if it is not up within 15 s.
  static std::unique_ptr<GatewayProcess> Start(const std::vector<std::string>& flags,
                                               std::string* error) {
    std::unique_ptr<GatewayProcess> p(new GatewayProcess);
    if (!p->Launch(flags, error)) return nullptr;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::string seen;
    while (p->port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{p->stdout_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      char buf[512];
      const ssize_t n = read(p->stdout_fd_, buf, sizeof(buf));
      if (n <= 0) break;  // the process exited
      seen.append(buf, static_cast<std::size_t>(n));
      constexpr char kLine[] = "listening on http://127.0.0.1:";
      const std::size_t at = seen.find(kLine);
      if (at != std::string::npos && seen.find('/', at + sizeof(kLine) - 1) != std::string::npos) {
        p->port_ = std::atoi(seen.c_str() + at + sizeof(kLine) - 1);
      }
    }
    if (p->port_ == 0) {
      *error = "the gateway did not print its address; stderr:\n" + p->Stderr();
      return nullptr;
    }
    // The socket is bound before the line is printed, but the loop may not accept yet.
    httplib::Client client("127.0.0.1", p->port_);
    client.set_connection_timeout(std::chrono::milliseconds(200));
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = client.Get("/healthz"); r && r->status == 200) return p;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    *error = "/healthz did not answer; stderr:\n" + p->Stderr();
    return nullptr;
  }

  // Runs the binary with `flags` when it is expected to exit on its own (bad flags, a store
  // that cannot be opened): waits up to `timeout` for the exit.
  static Exit RunToExit(const std::vector<std::string>& flags, std::chrono::seconds timeout) {
    Exit exit;
    std::string error;
    GatewayProcess p;
    if (!p.Launch(flags, &error)) {
      exit.stderr_text = error;
      return exit;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(p.pid_, &status, WNOHANG) == p.pid_) {
        p.pid_ = -1;
        exit.exited = true;
        exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exit.stderr_text = p.Stderr();
    return exit;  // ~GatewayProcess kills it if it is still running
  }

  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  ~GatewayProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
    if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
  }

  // Sends `sig` to the process (SIGTERM: the gateway drains, then exits).
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits up to `timeout` for the process to exit on its own (after Signal): its exit code,
  // or -1 if it was still running (it is killed at destruction) or died of a signal.
  int WaitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  int port() const { return port_; }
  // The process id (its RSS is in /proc/PID/status).
  pid_t pid() const { return pid_; }

  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_connection_timeout(std::chrono::seconds(2));
    c->set_read_timeout(std::chrono::seconds(10));
    return c;
  }

  std::string Stderr() const {
    std::ifstream in(stderr_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Waits (bounded: the logger runs after the response is written) until stderr holds
  // `needle`, and returns the whole line that holds it ("" if it never shows up).
  std::string WaitForStderrLine(const std::string& needle) const {
    for (int i = 0; i < 200; ++i) {
      const std::string text = Stderr();
      const std::size_t at = text.find(needle);
      if (at != std::string::npos) {
        const std::size_t begin =
            text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
        const std::size_t end = text.find('\n', at);
        return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }

 private:
  GatewayProcess() = default;

  bool Launch(const std::vector<std::string>& flags, std::string* error) {
    char path[] = "/tmp/admission-gateway-test-XXXXXX";
    const int err_fd = mkstemp(path);
    if (err_fd < 0) return *error = "mkstemp failed", false;
    stderr_path_ = path;
    int out[2];
    if (pipe(out) != 0) {
      close(err_fd);
      return *error = "pipe failed", false;
    }
    std::vector<std::string> args = {ADMISSION_GATEWAY_BINARY, "--listen=127.0.0.1:0"};
    // The gateway's SIGTERM drain waits --drain_sec (5 s) for load balancers, which tests have
    // none of: off, unless a test's own flags (later, so they win) set it.
    const std::string binary = ADMISSION_GATEWAY_BINARY;
    constexpr char kGateway[] = "/admission-gateway";
    if (binary.size() >= sizeof(kGateway) - 1 &&
        binary.compare(binary.size() - (sizeof(kGateway) - 1), std::string::npos, kGateway) == 0) {
      args.push_back("--drain_sec=0");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return *error = "fork failed", false;
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      if (getppid() != parent) _exit(127);
      dup2(out[1], STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      close(err_fd);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err_fd);
    stdout_fd_ = out[0];
    return true;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
  std::string stderr_path_;
};

// The fixture of a suite that shares one gateway process: started before the suite's first test
// by `Suite::StartSharedGateway(&error)`, stopped after its last. Every test gets a client of
// its own (client_, with GatewayClient's calls); a gateway that did not start fails each test
// with the reason.
template <typename Suite>
class SharedGatewayTest : public ::testing::Test, protected GatewayClient {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    gateway_ = Suite::StartSharedGateway(&error).release();
    if (gateway_ == nullptr) start_error_ = error;
  }
  static void TearDownTestSuite() {
    delete gateway_;
    gateway_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(gateway_, nullptr) << start_error_;
    client_ = gateway_->Client();
  }

  static inline GatewayProcess* gateway_ = nullptr;
  static inline std::string start_error_;
};

}  // namespace admission::gateway::testing

#endif  // ADMISSION_TESTS_SUPPORT_GATEWAY_PROCESS_H_
