// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's HTTP/1.1 server: event-driven, over Boost.Beast and Boost.Asio. A few I/O
// threads serve any number of connections; nothing in here blocks, so a handler that must wait
// (a store call) hands its request to other threads and answers later through its Reply.
//
// Every connection lives under limits, each an option with a default that holds a crowd:
//   - at most `max_connections` open at once; beyond it a new connection is closed at once
//     (counted), and those already in are never starved;
//   - an idle keep-alive connection is closed after `idle_timeout`; once a request's first
//     byte arrives its whole head must follow within `head_timeout` (slowloris), its body within
//     `body_timeout`, and a response must be taken by the client within `write_timeout`;
//   - a head over `max_header_bytes` or with more than `max_headers` fields is refused with 431,
//     a body over `max_body_bytes` (whatever its type) with 413, a target over
//     `max_target_bytes` with 414; two Content-Length headers, or Content-Length with
//     Transfer-Encoding, are a 400 (RFC 9112 section 6.3);
//   - pipelined requests are answered in order, one at a time; `Connection: close` is honoured.
// A request the server refuses still reaches the handler (with `refusal` set), so that every
// answer carries the same request id, log line and metrics as any other.
#ifndef ADMISSION_EXAMPLES_GATEWAY_HTTP_SERVER_H_
#define ADMISSION_EXAMPLES_GATEWAY_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "http_message.h"

namespace admission::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;        // 0: any free port (Bind() returns it)
  int io_threads = 0;  // 0: one per core
  int listen_backlog = 1024;
  int64_t max_connections = 10000;
  absl::Duration idle_timeout = absl::Seconds(5);
  absl::Duration head_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
  int64_t max_headers = 100;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_target_bytes = 8 * 1024;
  int64_t max_body_bytes = 16 * 1024;
  // Requests served on one connection before the server closes it; 0: no limit.
  int64_t max_requests_per_connection = 0;
  // Headers added to every response.
  HttpHeaders default_headers = {{"X-Content-Type-Options", "nosniff"}};
};

// What the server counts, for /metrics.
struct HttpServerStats {
  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_connections{0};  // over max_connections
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> head_timeouts{0};
  std::atomic<uint64_t> body_timeouts{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> refused_requests{0};  // 400/413/414/431 from the parser's limits
  // Requests read and not yet answered (written out, or their connection gone): what a drain
  // waits for.
  std::atomic<int64_t> in_flight_requests{0};
};

// Why the server refused a request before any route saw it.
struct HttpRefusal {
  int status = 0;       // 0: not refused
  std::string code;     // the JSON error code: "invalid_argument", "payload_too_large", ...
  std::string message;  // for the client
};

class HttpServer {
 public:
  // How a handler answers one request. Copyable, thread-safe, cheap; the first Send() wins and
  // later ones are dropped. A request whose Reply is never sent holds its connection until the
  // client goes away.
  class Reply {
   public:
    // Sends `res` unless the request was answered already; false then. From any thread.
    bool Send(Response res) const;
    // True once the request was answered (or its connection is gone): work for it is moot.
    bool answered() const;
    // At `timeout` from now, unless answered by then, sends `fallback()` (called on an I/O
    // thread, so it must not block).
    void SetDeadline(absl::Duration timeout, std::function<Response()> fallback) const;

    struct Exchange;
    explicit Reply(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}

   private:
    std::shared_ptr<Exchange> exchange_;
  };

  // Called on an I/O thread for every request, refused ones included (`refusal.status` != 0:
  // the handler should answer that refusal; the connection is closed after it). Must not block.
  using Handler = std::function<void(Request req, const HttpRefusal& refusal, Reply reply)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the port.
  absl::StatusOr<int> Bind();
  // Serves on the I/O threads (this one among them) until Stop().
  void Run();
  // Thread-safe; Run() returns soon after. Open connections are closed.
  void Stop();
  // Thread-safe; the first step of a graceful stop: closes the listening socket (new
  // connections are refused, so clients go to another server) and closes each connection after
  // its next answer. Requests already read are still answered; stats().in_flight_requests
  // says how many remain, then Stop().
  void StopAccepting();

  const HttpServerStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_HTTP_SERVER_H_
