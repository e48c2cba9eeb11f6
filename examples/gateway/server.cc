// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admin_routes.h"
#include "http_toolkit.h"
#include "metrics_routes.h"
#include "page_routes.h"
#include "room_routes.h"

namespace admission::gateway {

// httplib keeps the listening socket protected; the gateway needs it to raise the backlog.
class Gateway::HttpServer : public httplib::Server {
 public:
  int listening_socket() const { return svr_sock_; }
};

namespace {

using httplib::Request;
using httplib::Response;

}  // namespace

Gateway::Gateway(const GatewayFlags& flags, std::unique_ptr<WaitingRoom> room, Ticketing ticketing,
                 std::string token_secret, Clock* clock)
    : flags_(flags),
      room_(std::move(room)),
      clock_(clock != nullptr ? clock : SystemClock()),
      signer_(std::move(token_secret)),
      address_limiter_(flags.rate_limit_ip_per_sec, flags.rate_limit_ip_burst,
                       static_cast<std::size_t>(flags.rate_limit_max_clients)),
      token_limiter_(flags.rate_limit_token_per_sec, flags.rate_limit_token_burst,
                     static_cast<std::size_t>(flags.rate_limit_max_clients)),
      context_{flags_, *room_, *clock_, signer_, metrics_, token_limiter_},
      ticketing_(std::make_unique<TicketingRoutes>(context_, std::move(ticketing))),
      idempotency_(std::make_unique<IdempotencyKeys>(ticketing_->idempotency_store())),
      server_(std::make_unique<HttpServer>()) {
  HttpServer& s = *server_;
  const std::size_t threads = static_cast<std::size_t>(flags_.threads);
  // Debian's httplib is a compiled library: only these run-time settings change it (its
  // defaults, 8 threads, keep-alive 5 and no TCP_NODELAY, cap it near 300 requests/s).
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(static_cast<std::size_t>(flags_.keep_alive_max_count));
  s.set_keep_alive_timeout(flags_.keep_alive_timeout_sec);
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  s.set_payload_max_length(static_cast<std::size_t>(flags_.max_body_bytes));
  s.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  AddRoomRoutes(context_, routes_);
  AddPageRoutes(context_, routes_);
  AddMetricsRoutes(context_, *ticketing_, routes_);
  AddAdminRoutes(context_, routes_);
  ticketing_->AddRoutes(routes_);
  Register();
}

Gateway::~Gateway() {
  Stop();
  // The server (whose handlers call the room) must go before the room; httplib joins its
  // worker threads when the listen loop in Run() ends.
  server_.reset();
}

absl::StatusOr<int> Gateway::Bind() {
  int port = flags_.listen_port;
  if (port == 0) {
    port = server_->bind_to_any_port(flags_.listen_host);
    if (port < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot bind ", flags_.listen_host, ":0: ", std::strerror(errno)));
    }
  } else if (!server_->bind_to_port(flags_.listen_host, port)) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", flags_.listen, ": ", std::strerror(errno)));
  }
  // httplib listens with a compiled-in backlog of 5, which drops bursts of new connections
  // (they come back after 1 s SYN retries). On Linux a second listen() raises the backlog.
  if (::listen(server_->listening_socket(), flags_.listen_backlog) != 0) {
    std::fprintf(stderr, "warning: could not raise the listen backlog to %d: %s\n",
                 flags_.listen_backlog, std::strerror(errno));
  }
  return port;
}

bool Gateway::Run() {
  if (flags_.worker) {
    if (absl::Status s = ticketing_->Start(); !s.ok()) {
      std::fprintf(stderr, "error: the ticketing worker did not start: %s\n", s.ToString().c_str());
      return false;
    }
  }
  const bool served = server_->listen_after_bind();
  ticketing_->Stop();
  return served;
}

void Gateway::Stop() {
  if (server_ != nullptr) server_->stop();
}

void Gateway::Serve(const RouteTable::Route& route) {
  httplib::Server::Handler wrapped = [this, handler = route.handler, guards = route.guards](
                                         const Request& req, Response& res) {
    try {
      if (guards.limit_address &&
          !Allow(address_limiter_, ClientAddress(req, flags_.client_address_header), res,
                 metrics_)) {
        return;
      }
      if (guards.idempotent && req.has_header("Idempotency-Key")) {
        RunIdempotent(handler, req, res);
      } else {
        handler(req, res);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: handler for %s %s threw: %s\n", req.method.c_str(),
                   req.path.c_str(), e.what());
      ReplyError(res, 500, "internal", "internal error");
    } catch (...) {
      ReplyError(res, 500, "internal", "internal error");
    }
  };
  const std::string regex = RouteTable::RegexOf(route.pattern);
  if (route.method == "GET") {
    server_->Get(regex, std::move(wrapped));
  } else if (route.method == "POST") {
    server_->Post(regex, std::move(wrapped));
  } else if (route.method == "PUT") {
    server_->Put(regex, std::move(wrapped));
  } else if (route.method == "DELETE") {
    server_->Delete(regex, std::move(wrapped));
  }
}

void Gateway::RunIdempotent(const RouteTable::Handler& handler, const Request& req, Response& res) {
  const std::string key = req.get_header_value("Idempotency-Key");
  bool printable = !key.empty() && key.size() <= kMaxIdempotencyKeyLength;
  for (char c : key) printable = printable && c >= 0x21 && c <= 0x7e;
  if (!printable) {
    ReplyError(res, 400, "invalid_argument",
               "Idempotency-Key must be 1 to 255 printable characters without spaces");
    return;
  }
  // The same key must mean the same request: method, path, credentials and body.
  const std::string fingerprint = Base64UrlEncode(Sha256(absl::StrCat(
      req.method, "\n", req.path, "\n", req.get_header_value("Authorization"), "\n", req.body)));
  // In the store (memory or Redis), so a retry that reaches another gateway replays too.
  absl::StatusOr<IdempotencyKeys::Lookup> begun = idempotency_->Begin(key, fingerprint);
  if (!begun.ok()) return ReplyStatus(res, begun.status(), metrics_);
  IdempotencyKeys::Lookup& lookup = *begun;
  switch (lookup.outcome) {
    case IdempotencyOutcome::kReplay:
      metrics_.CountIdempotentReplay();
      res.status = lookup.response.status;
      for (const auto& [name, value] : lookup.response.headers) res.set_header(name, value);
      res.set_header("Idempotent-Replay", "true");
      res.set_content(lookup.response.body, lookup.response.content_type);
      return;
    case IdempotencyOutcome::kMismatch:
      ReplyError(res, 409, "conflict",
                 "this Idempotency-Key was already used for a different request");
      return;
    case IdempotencyOutcome::kInProgress:
      ReplyError(res, 409, "conflict",
                 "a request with this Idempotency-Key is still in progress; retry shortly");
      return;
    case IdempotencyOutcome::kStarted:
      break;
  }
  try {
    handler(req, res);
  } catch (...) {
    idempotency_->Abandon(key, lookup.lease);
    throw;
  }
  // Server-side failures and rate-limit refusals are worth retrying: forget the key.
  if (res.status >= 500 || CurrentRequest().rate_limited) {
    idempotency_->Abandon(key, lookup.lease);
    return;
  }
  StoredResponse stored;
  stored.status = res.status;
  stored.content_type = res.get_header_value("Content-Type");
  stored.body = res.body;
  for (const char* header : {"Retry-After", "Cache-Control", "WWW-Authenticate"}) {
    if (res.has_header(header)) stored.headers.emplace_back(header, res.get_header_value(header));
  }
  idempotency_->Finish(key, lookup.lease, stored);
}

void Gateway::Register() {
  HttpServer& s = *server_;

  s.set_pre_routing_handler([this](const Request& req, Response& res) {
    const RouteId route = routes_.Classify(req.method, req.path);
    if (route == RouteId::kPage) {
      // Debian's httplib compresses every text/* answer for a client that accepts it, brotli at
      // its slowest setting, on every request, and offers no way out per response: ~120 ms of
      // CPU per page load (the 11 KB script alone ~85 ms), which a sale's arrival burst cannot
      // afford. The pages (27 KB in all) go out plain; a CDN or proxy in front may compress
      // them once. The request is httplib's own non-const object, read again only afterwards.
      const_cast<Request&>(req).headers.erase("Accept-Encoding");
    }
    BeginRequest(req, res, route);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Runs for every response >= 400. Handlers write their own JSON errors; this only fills in
  // the ones httplib produces itself (no route, body too large, unparsable request).
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        int status = res.status;
        // httplib answers 400 for a method it has no handlers for at all (PATCH, OPTIONS, ...).
        // The request line parsed (the pre-routing handler ran) and matched no route, so it is
        // really an unknown route or a wrong method.
        const RequestContext& ctx = CurrentRequest();
        if (status == 400 && ctx.active && ctx.route == RouteId::kOther) status = 404;
        switch (status) {
          case 404: {
            const std::string allowed = routes_.AllowedMethods(req.path);
            if (!allowed.empty()) {
              res.set_header("Allow", allowed);
              ReplyError(res, 405, "method_not_allowed",
                         absl::StrCat(req.method, " is not allowed here; use ", allowed));
            } else {
              ReplyError(res, 404, "not_found", "no such route");
            }
            break;
          }
          case 413:
            ReplyError(res, 413, "payload_too_large",
                       absl::StrCat("the request body is over ", flags_.max_body_bytes, " bytes"));
            break;
          case 414:
            ReplyError(res, 414, "uri_too_long", "the request URI is too long");
            break;
          case 400:
            ReplyError(res, 400, "invalid_argument", "malformed HTTP request");
            break;
          default:
            ReplyError(res, res.status, res.status >= 500 ? "internal" : "error",
                       absl::StrCat("HTTP status ", res.status));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  s.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    ReplyError(res, 500, "internal", "internal error");
  });

  s.set_logger([this](const Request& req, const Response& res) {
    const RequestContext& ctx = CurrentRequest();
    // Requests httplib rejects before routing (say, a malformed request line) have no context.
    const RouteId route = ctx.active ? ctx.route : RouteId::kOther;
    const absl::Duration latency =
        ctx.active ? absl::FromChrono(std::chrono::steady_clock::now() - ctx.start)
                   : absl::ZeroDuration();
    metrics_.ObserveRequest(route, res.status, latency);
    if (flags_.access_log) {
      const std::string line = AccessLogLine(req, res, routes_.LabelOf(route).pattern, latency);
      // One write(2) per line, so lines never interleave; not fwrite, whose stdio lock is held
      // across the system call and queued every worker behind a preempted holder.
      if (::write(STDERR_FILENO, line.data(), line.size()) < 0) {
        // Nowhere left to report it; the request itself was served.
      }
    }
    EndRequest();
  });

  for (const RouteTable::Route& route : routes_.routes()) {
    if (route.handler) Serve(route);
  }
}

}  // namespace admission::gateway
