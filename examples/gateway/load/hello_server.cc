// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-hello-server: the ceiling of the load figures. A cpp-httplib server configured
// exactly as admission-gateway configures its own (the same flags and defaults: worker
// threads, TCP_NODELAY, keep-alive count and timeout, read/write timeouts, body limit, listen
// backlog raised by a second listen(), the default X-Content-Type-Options header), whose every
// GET, POST and DELETE answers 200 with a small JSON body and Cache-Control: no-store, as the
// gateway's JSON answers do. What the gateway costs on top of it is the gateway.
//
//   admission-hello-server --listen=127.0.0.1:0 [--threads=64 ...]
//
// It accepts every admission-gateway flag (parsed by the gateway's own parser) and uses the
// HTTP ones. The first stdout line is "admission-hello-server listening on http://HOST:PORT/".
// Keep Configure() in step with Gateway::Gateway and Gateway::Bind (examples/gateway/server.cc).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "flags.h"

namespace {

using admission::gateway::GatewayFlags;

// A body about the size of a status answer's smaller half; same content type as the gateway's.
constexpr char kHello[] = R"({"hello":"world","status":"ok"})";
constexpr char kJsonType[] = "application/json; charset=utf-8";

class HelloServer : public httplib::Server {
 public:
  int listening_socket() const { return svr_sock_; }
};

void Configure(const GatewayFlags& flags, HelloServer& s) {
  const std::size_t threads = static_cast<std::size_t>(flags.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(static_cast<std::size_t>(flags.keep_alive_max_count));
  s.set_keep_alive_timeout(flags.keep_alive_timeout_sec);
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  s.set_payload_max_length(static_cast<std::size_t>(flags.max_body_bytes));
  s.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  const httplib::Server::Handler hello = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(kHello, sizeof(kHello) - 1, kJsonType);
  };
  s.Get(".*", hello);
  s.Post(".*", hello);
  s.Delete(".*", hello);
}

}  // namespace

int main(int argc, char** argv) {
  GatewayFlags flags;
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<admission::gateway::FlagsOutcome> parsed =
      admission::gateway::ParseFlags(args, &flags);
  if (!parsed.ok()) {
    std::fprintf(stderr, "admission-hello-server: %s\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (*parsed == admission::gateway::FlagsOutcome::kHelp) {
    std::puts(
        "admission-hello-server: a hello-world cpp-httplib server configured like "
        "admission-gateway.\nFlags: those of admission-gateway (see admission-gateway --help); "
        "it uses --listen, --threads,\n--keep_alive_max_count, --keep_alive_timeout_sec, "
        "--listen_backlog and --max_body_bytes.");
    return 0;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  HelloServer server;
  Configure(flags, server);
  int port = flags.listen_port;
  if (port == 0) {
    port = server.bind_to_any_port(flags.listen_host);
  } else if (!server.bind_to_port(flags.listen_host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "admission-hello-server: cannot bind %s: %s\n", flags.listen.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (::listen(server.listening_socket(), flags.listen_backlog) != 0) {
    std::fprintf(stderr, "warning: could not raise the listen backlog to %d: %s\n",
                 flags.listen_backlog, std::strerror(errno));
  }
  std::thread([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  }).detach();
  std::printf("admission-hello-server listening on http://%s:%d/\n", flags.listen_host.c_str(),
              port);
  std::printf("  threads: %d, keep-alive: %d requests / %d s, backlog: %d\n", flags.threads,
              flags.keep_alive_max_count, flags.keep_alive_timeout_sec, flags.listen_backlog);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
