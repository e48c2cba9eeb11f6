// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-hello-server: the ceiling of the load figures. Every GET, POST and DELETE answers
// 200 with a small JSON body and Cache-Control: no-store, as the gateway's JSON answers do, from
// one of two servers (--server):
//   - beast (the default): the gateway's own event-driven server (http_server.h) with the
//     options admission-gateway gives it. What the gateway costs on top of it is the gateway.
//   - httplib: a cpp-httplib server configured as admission-gateway configured its own before
//     it moved to http_server.h (worker threads, TCP_NODELAY, keep-alive count and timeout,
//     read/write timeouts, body limit, listen backlog raised by a second listen(), the default
//     X-Content-Type-Options header): the ceiling the event-driven server must not fall below.
//
//   admission-hello-server --listen=127.0.0.1:0 [--server=beast|httplib] [--threads=64 ...]
//
// It accepts every admission-gateway flag (parsed by the gateway's own parser) and uses the
// HTTP server's ones. The first stdout line is "admission-hello-server listening on
// http://HOST:PORT/". With --server=httplib, --threads is cpp-httplib's worker count (the gateway's
// default before http_server.h was 64, with --keep_alive_timeout_sec=2: pass them to measure that
// server).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "flags.h"
#include "http_message.h"
#include "http_server.h"
#include "server.h"

namespace {

using admission::gateway::GatewayFlags;
using admission::gateway::HttpRefusal;
using admission::gateway::HttpServer;
using admission::gateway::HttpServerOptions;

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

// Answers every request at once on its I/O thread; requests the server refused get their
// status and the gateway's JSON error shape.
void Hello(admission::gateway::Request req, const HttpRefusal& refusal, HttpServer::Reply reply) {
  admission::gateway::Response res;
  res.set_header("Cache-Control", "no-store");
  if (refusal.status != 0) {
    res.status = refusal.status;
    res.set_content(R"({"error":{"code":")" + refusal.code + R"(","message":"refused"}})",
                    kJsonType);
  } else if (req.method != "GET" && req.method != "POST" && req.method != "DELETE") {
    res.status = 405;
    res.set_content(R"({"error":{"code":"method_not_allowed","message":"GET, POST or DELETE"}})",
                    kJsonType);
  } else {
    res.set_content(kHello, sizeof(kHello) - 1, kJsonType);
  }
  reply.Send(std::move(res));
}

// SIGINT and SIGTERM (blocked in every thread) stop the server from a thread of their own.
template <typename Stop>
void StopOnSignal(const sigset_t& signals, Stop stop) {
  std::thread([signals, stop] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop();
  }).detach();
}

int RunBeast(const GatewayFlags& flags, const sigset_t& stop_signals) {
  HttpServer server(admission::gateway::ServerOptionsOf(flags), Hello);
  absl::StatusOr<int> port = server.Bind();
  if (!port.ok()) {
    std::fprintf(stderr, "admission-hello-server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  StopOnSignal(stop_signals, [&server] { server.Stop(); });
  std::printf("admission-hello-server listening on http://%s:%d/\n", flags.listen_host.c_str(),
              *port);
  std::printf(
      "  server: beast, io threads: %d (0: one per core), backlog: %d, keep-alive: %d "
      "requests / %d s\n",
      flags.io_threads, flags.listen_backlog, flags.keep_alive_max_count,
      flags.keep_alive_timeout_sec);
  std::fflush(stdout);
  server.Run();
  return 0;
}

int RunHttplib(const GatewayFlags& flags, const sigset_t& stop_signals) {
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
  StopOnSignal(stop_signals, [&server] { server.stop(); });
  std::printf("admission-hello-server listening on http://%s:%d/\n", flags.listen_host.c_str(),
              port);
  std::printf("  server: httplib, threads: %d, keep-alive: %d requests / %d s, backlog: %d\n",
              flags.threads, flags.keep_alive_max_count, flags.keep_alive_timeout_sec,
              flags.listen_backlog);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // --server is this binary's own flag; the others go to the gateway's parser.
  std::string which = "beast";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--server=", 0) == 0) {
      which = arg.substr(sizeof("--server=") - 1);
    } else {
      args.push_back(arg);
    }
  }
  if (which != "httplib" && which != "beast") {
    std::fprintf(stderr, "admission-hello-server: --server must be httplib or beast\n");
    return 2;
  }
  GatewayFlags flags;
  absl::StatusOr<admission::gateway::FlagsOutcome> parsed =
      admission::gateway::ParseFlags(args, &flags);
  if (!parsed.ok()) {
    std::fprintf(stderr, "admission-hello-server: %s\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (*parsed == admission::gateway::FlagsOutcome::kHelp) {
    std::puts(
        "admission-hello-server: a hello-world server configured like admission-gateway.\n"
        "  --server=beast    the gateway's event-driven server (http_server.h) (default)\n"
        "  --server=httplib  cpp-httplib, as the gateway served before http_server.h\n"
        "Other flags: those of admission-gateway (see admission-gateway --help); it uses its "
        "HTTP server's\nflags (with httplib: --listen, --threads, --keep_alive_max_count, "
        "--keep_alive_timeout_sec,\n--listen_backlog and --max_body_bytes).");
    return 0;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return which == "beast" ? RunBeast(flags, stop_signals) : RunHttplib(flags, stop_signals);
}
