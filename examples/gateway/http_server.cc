// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "http_server.h"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace admission::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
// A connection's executor: its strand, wrapped.
using Executor = beast::tcp_stream::executor_type;

// What an idle connection reads its next request's first bytes into: small, because a crowd
// keeps thousands of connections waiting; the buffer grows only while a request is read.
constexpr std::size_t kFirstRead = 1024;
// A connection closed by the server after a refusal first drains what the client still sends,
// for at most this long and this much, so that the kernel does not reset the connection (and
// destroy the answer) on unread data.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 1 << 20;
// Connections taken from the listen queue per accept completion.
constexpr int kAcceptBatch = 256;

std::chrono::steady_clock::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        accept_strand_(net::make_strand(ioc_)),
        acceptor_(ioc_),
        retry_timer_(ioc_) {}

  absl::StatusOr<int> Bind();
  void Run();
  void Stop() {
    stopping_.store(true);
    ioc_.stop();
  }
  void StopAccepting() {
    draining_.store(true);
    // On the strand of the acceptor's completions.
    net::post(accept_strand_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
    });
  }

  const HttpServerOptions& options() const { return options_; }
  HttpServerStats& stats() { return stats_; }
  const Handler& handler() const { return handler_; }

 private:
  void Accept();
  // Serves `socket`, or closes it at once when --max_connections are open.
  void Admit(tcp::socket socket);

  const HttpServerOptions options_;
  const Handler handler_;
  HttpServerStats stats_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  net::io_context ioc_;
  net::strand<net::io_context::executor_type> accept_strand_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
};

// One connection: reads a request, hands it to the handler, writes the answer, and again.
// Every member is touched on the connection's strand only.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using Exchange = HttpServer::Reply::Exchange;

  Session(tcp::socket socket, const HttpServerOptions& options, HttpServerStats& stats,
          const HttpServer::Handler& handler, const std::atomic<bool>& stopping,
          const std::atomic<bool>& draining)
      : options_(options),
        stats_(stats),
        handler_(handler),
        stopping_(stopping),
        draining_(draining),
        stream_(std::move(socket)),
        deadline_(stream_.get_executor()) {
    stats_.open_connections.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_addr_ = peer.address().to_string();
  }
  ~Session() {
    stats_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    CountAnswered();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->AwaitRequest(); });
  }

  // Writes the answer of the request in flight (on the strand).
  void Write(Response res);
  // Answers the request in flight with `fallback()` at `timeout`, unless answered by then.
  void ArmDeadline(std::shared_ptr<Exchange> exchange, absl::Duration timeout,
                   std::function<Response()> fallback);
  const Executor& executor() { return executor_; }
  // True once the server is stopping: nothing posted to a connection runs any more.
  bool stopping() const { return stopping_.load(); }

 private:
  void AwaitRequest();
  void ReadHead();
  void OnHead(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Dispatch();
  // Hands a request the server refuses to the handler; the connection closes after the answer.
  void Refuse(int status, std::string code, std::string message);
  void OnWritten(beast::error_code ec);
  // Half-closes, drains what the client still sends for a moment, then closes.
  void Linger();
  // What the parser knows of the request so far (for a refusal's log line).
  Request PartialRequest();
  // stats_.in_flight_requests: up when a request is handed to the handler, down once its
  // answer is written (or the connection goes).
  void CountRead() {
    if (counted_) return;
    counted_ = true;
    stats_.in_flight_requests.fetch_add(1, std::memory_order_relaxed);
  }
  void CountAnswered() {
    if (!counted_) return;
    counted_ = false;
    stats_.in_flight_requests.fetch_sub(1, std::memory_order_relaxed);
  }

  const HttpServerOptions& options_;
  HttpServerStats& stats_;
  const HttpServer::Handler& handler_;
  const std::atomic<bool>& stopping_;
  const std::atomic<bool>& draining_;
  beast::tcp_stream stream_;
  Executor executor_ = stream_.get_executor();
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_head_;  // the answer being written
  std::string out_body_;
  net::steady_timer deadline_;
  std::string remote_addr_;
  bool keep_alive_ = false;
  bool head_ = false;
  bool http_10_ = false;
  bool in_flight_ = false;
  bool counted_ = false;  // in stats_.in_flight_requests
  int64_t served_ = 0;
  std::vector<char> drain_;
  std::size_t drained_ = 0;
};

struct HttpServer::Reply::Exchange {
  explicit Exchange(std::shared_ptr<Session> s) : session(std::move(s)) {}
  // A handler that dropped every copy of its Reply unanswered gets a 500 sent for it, so that
  // the connection is not held forever.
  ~Exchange() {
    if (answered.exchange(true) || session->stopping()) return;
    Response res;
    res.status = 500;
    res.set_content(R"({"error":{"code":"internal","message":"internal error"}})",
                    "application/json; charset=utf-8");
    net::post(session->executor(),
              [s = session, res = std::move(res)]() mutable { s->Write(std::move(res)); });
  }

  const std::shared_ptr<Session> session;
  std::atomic<bool> answered{false};
};

bool HttpServer::Reply::Send(Response res) const {
  if (exchange_->answered.exchange(true)) return false;
  net::dispatch(
      exchange_->session->executor(),
      [s = exchange_->session, res = std::move(res)]() mutable { s->Write(std::move(res)); });
  return true;
}

bool HttpServer::Reply::answered() const { return exchange_->answered.load(); }

void HttpServer::Reply::SetDeadline(absl::Duration timeout,
                                    std::function<Response()> fallback) const {
  net::dispatch(exchange_->session->executor(),
                [e = exchange_, timeout, fallback = std::move(fallback)]() mutable {
                  e->session->ArmDeadline(e, timeout, std::move(fallback));
                });
}

void Session::AwaitRequest() {
  if (buffer_.size() > 0) return ReadHead();  // pipelined: the next request is here already
  buffer_.shrink_to_fit();
  stream_.expires_after(ToSteady(options_.idle_timeout));
  stream_.async_read_some(buffer_.prepare(kFirstRead),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            if (ec) {
                              if (ec == beast::error::timeout) {
                                self->stats_.idle_timeouts.fetch_add(1, std::memory_order_relaxed);
                              }
                              return;  // closed with the last reference
                            }
                            self->buffer_.commit(n);
                            self->ReadHead();
                          });
}

void Session::ReadHead() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<int64_t>(options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
  // From the first byte: a head sent slowly (slowloris) must still be whole by then.
  stream_.expires_after(ToSteady(options_.head_timeout));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHead(ec); });
}

void Session::OnHead(beast::error_code ec) {
  if (ec == beast::error::timeout) {
    // The stream closed itself; there is no one to answer.
    stats_.head_timeouts.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The client left, mid-head or before it: nobody to answer, and nothing refused.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::operation_aborted) {
    return;
  }
  if (ec == http::error::header_limit) {
    // A start line that never ended is a target too long; otherwise the fields are too many.
    const auto data = buffer_.cdata();
    const std::string_view seen(static_cast<const char*>(data.data()), data.size());
    if (seen.find('\n') == std::string_view::npos) {
      return Refuse(414, "uri_too_long", "the request URI is too long");
    }
    return Refuse(431, "header_fields_too_large",
                  absl::StrCat("the request head is over ", options_.max_header_bytes, " bytes"));
  }
  if (ec == http::error::body_limit) {
    return Refuse(413, "payload_too_large",
                  absl::StrCat("the request body is over ", options_.max_body_bytes, " bytes"));
  }
  if (ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding) {
    return Refuse(400, "invalid_argument",
                  "the request's Content-Length or Transfer-Encoding is invalid or conflicting");
  }
  if (ec) return Refuse(400, "invalid_argument", "malformed HTTP request");

  const auto& msg = parser_->get();
  int64_t fields = 0;
  int content_lengths = 0;
  for (const auto& field : msg) {
    ++fields;
    if (field.name() == http::field::content_length) ++content_lengths;
  }
  if (fields > options_.max_headers) {
    return Refuse(431, "header_fields_too_large",
                  absl::StrCat("the request has over ", options_.max_headers, " header fields"));
  }
  if (static_cast<int64_t>(msg.target().size()) > options_.max_target_bytes) {
    return Refuse(414, "uri_too_long", "the request URI is too long");
  }
  // RFC 9112 section 6.3: a message with two lengths is an attack or a bug, whatever they say.
  if (content_lengths > 1 ||
      (msg.find(http::field::transfer_encoding) != msg.end() && !parser_->chunked())) {
    return Refuse(400, "invalid_argument",
                  "the request's Content-Length or Transfer-Encoding is invalid or conflicting");
  }
  if (parser_->is_done()) return Dispatch();
  if (beast::iequals(msg[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(ToSteady(options_.write_timeout));
    return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                if (ec == beast::error::timeout) {
                                  self->stats_.write_timeouts.fetch_add(1,
                                                                        std::memory_order_relaxed);
                                }
                                return;
                              }
                              self->ReadBody();
                            });
  }
  ReadBody();
}

void Session::ReadBody() {
  stream_.expires_after(ToSteady(options_.body_timeout));
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
}

void Session::OnBody(beast::error_code ec) {
  if (ec == beast::error::timeout) {
    stats_.body_timeouts.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (ec == http::error::body_limit) {
    return Refuse(413, "payload_too_large",
                  absl::StrCat("the request body is over ", options_.max_body_bytes, " bytes"));
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::operation_aborted) {
    return;
  }
  if (ec) return Refuse(400, "invalid_argument", "malformed HTTP request body");
  Dispatch();
}

Request Session::PartialRequest() {
  Request req;
  req.remote_addr = remote_addr_;
  if (parser_.has_value()) {
    const auto& msg = parser_->get();
    req.method = std::string(View(msg.method_string()));
    req.target = std::string(View(msg.target()).substr(0, 2048));
    for (const auto& field : msg) {
      if (req.headers.size() >= static_cast<std::size_t>(options_.max_headers)) break;
      req.headers.emplace_back(std::string(View(field.name_string())),
                               std::string(View(field.value())));
    }
    std::vector<std::pair<std::string, std::string>> params;
    if (!ParseTarget(req.target, &req.path, &params)) req.path.clear();
  }
  return req;
}

void Session::Refuse(int status, std::string code, std::string message) {
  stats_.refused_requests.fetch_add(1, std::memory_order_relaxed);
  Request req = PartialRequest();
  parser_.reset();
  keep_alive_ = false;
  head_ = false;
  in_flight_ = true;
  CountRead();
  HttpRefusal refusal{status, std::move(code), std::move(message)};
  handler_(std::move(req), refusal,
           HttpServer::Reply(std::make_shared<Exchange>(shared_from_this())));
}

void Session::Dispatch() {
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  Request req;
  req.method = std::string(View(msg.method_string()));
  req.target = std::string(View(msg.target()));
  req.remote_addr = remote_addr_;
  req.headers.reserve(16);
  for (const auto& field : msg) {
    req.headers.emplace_back(std::string(View(field.name_string())),
                             std::string(View(field.value())));
  }
  req.body = std::move(msg.body());
  keep_alive_ = msg.keep_alive();
  http_10_ = msg.version() == 10;
  head_ = msg.method() == http::verb::head;
  ++served_;
  if (options_.max_requests_per_connection > 0 && served_ >= options_.max_requests_per_connection) {
    keep_alive_ = false;
  }
  in_flight_ = true;
  CountRead();
  HttpRefusal refusal;
  if (!ParseTarget(req.target, &req.path, &req.params)) {
    stats_.refused_requests.fetch_add(1, std::memory_order_relaxed);
    keep_alive_ = false;
    refusal = {400, "invalid_argument", "malformed request target"};
  }
  handler_(std::move(req), refusal,
           HttpServer::Reply(std::make_shared<Exchange>(shared_from_this())));
}

void Session::ArmDeadline(std::shared_ptr<Exchange> exchange, absl::Duration timeout,
                          std::function<Response()> fallback) {
  if (exchange->answered.load()) return;
  deadline_.expires_after(ToSteady(timeout));
  deadline_.async_wait(
      [exchange = std::move(exchange), fallback = std::move(fallback)](beast::error_code ec) {
        if (ec || exchange->answered.exchange(true)) return;
        exchange->session->Write(fallback());
      });
}

void Session::Write(Response res) {
  if (!in_flight_) return;  // the connection already failed and gave up on this request
  in_flight_ = false;
  deadline_.cancel();
  // A draining server closes each connection after its answer: the client reconnects, and
  // reaches another server.
  if (draining_.load()) keep_alive_ = false;
  // The head is written by hand into one string: Beast's message and serializer cost an
  // allocation per field and a buffer sequence walk per write, a tenth of a small answer's CPU.
  out_head_.clear();
  const auto status = static_cast<http::status>(res.status);
  absl::StrAppend(&out_head_, "HTTP/1.1 ", res.status, " ");
  out_head_.append(View(http::obsolete_reason(status)));
  out_head_ += "\r\n";
  auto append_field = [this](std::string_view name, std::string_view value) {
    // Values are the gateway's own or checked echoes; a line break would split the head.
    if (value.find_first_of("\r\n") != std::string_view::npos) return;
    out_head_.append(name).append(": ").append(value).append("\r\n");
  };
  for (const auto& [name, value] : options_.default_headers) append_field(name, value);
  for (const auto& [name, value] : res.headers) append_field(name, value);
  absl::StrAppend(&out_head_, "Content-Length: ", res.body.size(), "\r\n");
  if (!keep_alive_) {
    out_head_ += "Connection: close\r\n";
  } else if (http_10_) {
    out_head_ += "Connection: keep-alive\r\n";
  }
  out_head_ += "\r\n";
  out_body_ = head_ ? std::string() : std::move(res.body);
  const std::array<net::const_buffer, 2> buffers = {net::buffer(out_head_), net::buffer(out_body_)};
  stream_.expires_after(ToSteady(options_.write_timeout));
  net::async_write(
      stream_, buffers,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnWritten(ec); });
}

void Session::OnWritten(beast::error_code ec) {
  out_body_ = std::string();
  CountAnswered();
  if (ec) {
    if (ec == beast::error::timeout) {
      stats_.write_timeouts.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (!keep_alive_) return Linger();
  AwaitRequest();
}

void Session::Linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (drain_.empty()) {
    drain_.resize(4096);
    stream_.expires_after(kLingerTime);
  }
  stream_.async_read_some(net::buffer(drain_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ >= kLingerBytes) return;
                            self->Linger();
                          });
}

absl::StatusOr<int> HttpServer::Impl::Bind() {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options_.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen address ", options_.host));
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(options_.listen_backlog, ec);
  // Accept() drains the queue with non-blocking accepts.
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", options_.port, ": ", ec.message()));
  }
  return acceptor_.local_endpoint().port();
}

void HttpServer::Impl::Accept() {
  auto on_accept = [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors, most likely: pause rather than spin, then accept again.
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait(net::bind_executor(accept_strand_, [this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) Accept();
      }));
      return;
    }
    Admit(std::move(socket));
    // One completion per connection would queue each newcomer behind every busy connection's
    // handlers (an arrival burst then waits seconds in the backlog): take every connection
    // already waiting now, up to a batch.
    for (int i = 0; i < kAcceptBatch; ++i) {
      tcp::socket more(net::make_strand(ioc_));
      beast::error_code more_ec;
      acceptor_.accept(more, more_ec);
      if (more_ec) break;  // would block: the queue is empty
      Admit(std::move(more));
    }
    Accept();
  };
  // On accept_strand_, like StopAccepting's close: the acceptor is not thread-safe.
  acceptor_.async_accept(net::make_strand(ioc_),
                         net::bind_executor(accept_strand_, std::move(on_accept)));
}

void HttpServer::Impl::Admit(tcp::socket socket) {
  stats_.accepted.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ignored;
  if (stats_.open_connections.load(std::memory_order_relaxed) >= options_.max_connections) {
    // Those already in keep being served; the newcomer is told at once rather than queued.
    stats_.refused_connections.fetch_add(1, std::memory_order_relaxed);
    socket.close(ignored);
    return;
  }
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<Session>(std::move(socket), options_, stats_, handler_, stopping_, draining_)
      ->Start();
}

void HttpServer::Impl::Run() {
  Accept();
  int threads = options_.io_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> others;
  others.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) others.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (std::thread& t : others) t.join();
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
HttpServer::~HttpServer() = default;
absl::StatusOr<int> HttpServer::Bind() { return impl_->Bind(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::StopAccepting() { impl_->StopAccepting(); }
const HttpServerStats& HttpServer::stats() const { return impl_->stats(); }

}  // namespace admission::gateway
