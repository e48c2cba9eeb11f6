// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "json_codec.h"
#include "ticketing_routes.h"
#include "web_assets.h"

namespace admission::gateway {

// httplib keeps the listening socket protected; the gateway needs it to raise the backlog.
class Gateway::HttpServer : public httplib::Server {
 public:
  int listening_socket() const { return svr_sock_; }
};

namespace {

using httplib::Request;
using httplib::Response;

// Tokens are "<event id>.<32 hex digits>"; anything longer is refused before any lookup.
constexpr std::size_t kMaxTokenLength = kMaxEventIdLength + 1 + kTokenRandomHexDigits;

// What the pre-routing handler learns about a request, for the logger that runs after the
// response is written. httplib serves a request start to finish on one worker thread, so a
// thread_local is the request's context.
struct RequestContext {
  bool active = false;
  std::chrono::steady_clock::time_point start;
  RouteId route = RouteId::kOther;
  std::string request_id;
  std::string trace_id;
  // Set when a per-client limit refused the request: such answers are never stored under an
  // Idempotency-Key, so that the retry after Retry-After really runs.
  bool rate_limited = false;
};
thread_local RequestContext tls_request;

std::string NewRequestId() {
  // A random per-thread prefix and a counter: unique, and far cheaper than a CSPRNG call.
  thread_local const std::string prefix = RandomHex(6);
  thread_local uint64_t counter = 0;
  return absl::StrCat(prefix, "-", ++counter);
}

bool IsRequestIdChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.'; }

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// W3C trace context: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
bool IsTraceparent(std::string_view v) {
  return v.size() == 55 && v[2] == '-' && v[35] == '-' && v[52] == '-' &&
         IsLowerHex(v.substr(0, 2)) && IsLowerHex(v.substr(3, 32)) &&
         IsLowerHex(v.substr(36, 16)) && IsLowerHex(v.substr(53, 2));
}

std::string Dump(const Json& j) {
  // `replace` instead of throwing on invalid UTF-8: a response must always be writable.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// `body` is JSON text (JsonObjectWriter's, or Dump's).
void ReplyText(Response& res, int status, std::string body) {
  res.status = status;
  // Answers carry tokens and per-user state: never cache them anywhere.
  res.set_header("Cache-Control", "no-store");
  // With the charset parameter, because Debian's httplib compresses an answer whose type is
  // exactly "application/json" for any client that accepts it (every browser), brotli at its
  // slowest setting: ~2 ms of CPU per 200-byte answer, which capped status near 430/s. API
  // answers are small and per user: they go out plain (tests/gateway/gateway_edge_test.cc).
  res.body = std::move(body);  // set_content would copy it
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json; charset=utf-8");
}

void Reply(Response& res, int status, const Json& body) { ReplyText(res, status, Dump(body)); }

// RFC 3339 in UTC with microseconds, for the access log. Formatting the date and time of day
// is the costly part (time zone code), so each thread keeps it for the current second.
void AppendTimestamp(std::string* out) {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached_prefix;  // "2026-01-02T03:04:05"
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  const int64_t second = now_us >= 0 ? now_us / 1000000 : (now_us - 999999) / 1000000;
  if (second != cached_second) {
    cached_prefix =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%06lld",
                static_cast<long long>(now_us - second * 1000000));
  absl::StrAppend(out, cached_prefix, fraction, "+00:00");
}

void ReplyError(Response& res, int status, std::string_view code, std::string_view message) {
  Reply(res, status, ErrorJson(code, message));
}

// The `token` query parameter of status and leave: present and of a possible length (its form
// is the library's to judge). Replies 400 and returns false otherwise.
bool CheckTokenParam(const std::string& token, Response& res) {
  if (token.empty()) {
    ReplyError(res, 400, "invalid_argument", "query parameter 'token' is missing");
    return false;
  }
  if (token.size() > kMaxTokenLength) {
    ReplyError(res, 400, "invalid_argument", "the token is too long");
    return false;
  }
  return true;
}

std::string_view Msg(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

// "Bearer <token>" (scheme case-insensitive); empty if absent or of another scheme.
std::string BearerToken(const Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.size() < 7 || !absl::EqualsIgnoreCase(absl::string_view(auth.data(), 7), "bearer ")) {
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(absl::string_view(auth).substr(7)));
}

// Which route a method and path name; kOther when none (the request then gets 404 or 405).
RouteId Classify(std::string_view method, std::string_view path) {
  const bool get = method == "GET" || method == "HEAD";
  if (path.substr(0, 14) == "/api/v1/queue/") {
    std::string_view rest = path.substr(14);
    if (rest == "join" && method == "POST") return RouteId::kJoin;
    if (rest == "status" && get) return RouteId::kStatus;
    if (rest == "enter" && method == "POST") return RouteId::kEnter;
    if (rest == "leave" && method == "DELETE") return RouteId::kLeave;
    if (rest == "complete" && method == "POST") return RouteId::kComplete;
    return RouteId::kOther;
  }
  if (RouteId r = TicketingRoutes::Classify(method, path); r != RouteId::kOther) return r;
  if (path == "/api/v1/config") return get ? RouteId::kConfig : RouteId::kOther;
  if (path == "/healthz") return get ? RouteId::kHealthz : RouteId::kOther;
  if (path == "/readyz") return get ? RouteId::kReadyz : RouteId::kOther;
  if (path == "/metrics") return get ? RouteId::kMetrics : RouteId::kOther;
  if (path == "/admin/v1/events") return get ? RouteId::kAdminEvents : RouteId::kOther;
  constexpr std::string_view kEvents = "/admin/v1/events/";
  if (path.substr(0, kEvents.size()) == kEvents) {
    std::string_view rest = path.substr(kEvents.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos || !ValidateEventId(rest.substr(0, slash)).ok()) {
      return RouteId::kOther;
    }
    rest = rest.substr(slash);
    if (rest == "/policy" && get) return RouteId::kAdminPolicyGet;
    if (rest == "/policy" && method == "PUT") return RouteId::kAdminPolicyPut;
    if (rest == "/stats" && get) return RouteId::kAdminStats;
    return RouteId::kOther;
  }
  if (path == "/" || path == "/index.html" || path == "/admin" || path == "/operator.html" ||
      path.substr(0, 8) == "/static/") {
    return get ? RouteId::kPage : RouteId::kOther;
  }
  return RouteId::kOther;
}

// The methods a path answers to, for the Allow header of a 405; empty for unknown paths.
std::string AllowedMethods(std::string_view path) {
  std::string allowed;
  for (const char* m : {"GET", "POST", "PUT", "DELETE"}) {
    if (Classify(m, path) != RouteId::kOther)
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", m);
  }
  return allowed;
}

std::string ContentTypeOf(std::string_view name) {
  auto ends_with = [name](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// httplib route patterns are regular expressions; asset names are taken literally.
std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Gateway::Gateway(const GatewayFlags& flags, std::unique_ptr<WaitingRoom> room, Ticketing ticketing,
                 std::string token_secret, Clock* clock)
    : flags_(flags),
      room_(std::move(room)),
      clock_(clock != nullptr ? clock : SystemClock()),
      ticketing_(std::make_unique<TicketingRoutes>(this, std::move(ticketing))),
      signer_(std::move(token_secret)),
      address_limiter_(flags.rate_limit_ip_per_sec, flags.rate_limit_ip_burst,
                       static_cast<std::size_t>(flags.rate_limit_max_clients)),
      token_limiter_(flags.rate_limit_token_per_sec, flags.rate_limit_token_burst,
                     static_cast<std::size_t>(flags.rate_limit_max_clients)),
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

void Gateway::Route(const char* method, const std::string& pattern, Method handler,
                    bool limit_address, bool idempotent) {
  Route(
      method, pattern,
      [this, handler](const Request& req, Response& res) { (this->*handler)(req, res); },
      limit_address, idempotent);
}

void Gateway::Route(const char* method, const std::string& pattern, Handler handler,
                    bool limit_address, bool idempotent) {
  httplib::Server::Handler wrapped = [this, handler, limit_address, idempotent](const Request& req,
                                                                                Response& res) {
    try {
      if (limit_address && !Allow(address_limiter_, ClientAddress(req), res)) return;
      if (idempotent && req.has_header("Idempotency-Key")) {
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
  const std::string m = method;
  if (m == "GET") {
    server_->Get(pattern, std::move(wrapped));
  } else if (m == "POST") {
    server_->Post(pattern, std::move(wrapped));
  } else if (m == "PUT") {
    server_->Put(pattern, std::move(wrapped));
  } else if (m == "DELETE") {
    server_->Delete(pattern, std::move(wrapped));
  }
}

void Gateway::RunIdempotent(const Handler& handler, const Request& req, Response& res) {
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
  if (!begun.ok()) return ReplyStatus(res, begun.status());
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
  if (res.status >= 500 || tls_request.rate_limited) {
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

std::string Gateway::ClientAddress(const Request& req) const {
  if (!flags_.client_address_header.empty()) {
    const std::string value = req.get_header_value(flags_.client_address_header.c_str());
    // A proxy appends the address it saw, so in a list only the last entry is trustworthy.
    absl::string_view last = absl::StripAsciiWhitespace(absl::string_view(value).substr(
        value.rfind(',') == std::string::npos ? 0 : value.rfind(',') + 1));
    if (!last.empty() && last.size() <= 64) return absl::StrCat("a:", last);
  }
  return absl::StrCat("a:", req.remote_addr);
}

bool Gateway::Allow(RateLimiter& limiter, std::string_view key, Response& res) {
  if (!limiter.enabled()) return true;
  const RateLimiter::Decision d = limiter.Allow(key, absl::Now());
  if (d.allowed) return true;
  metrics_.CountRateLimited();
  tls_request.rate_limited = true;
  const int64_t retry = CeilSeconds(d.retry_after, 1);
  res.set_header("Retry-After", std::to_string(retry));
  ReplyError(res, 429, "rate_limited",
             absl::StrCat("too many requests from this client; retry after ", retry, " s"));
  return false;
}

bool Gateway::CheckAdmin(const Request& req, Response& res) {
  if (flags_.admin_token.empty()) {
    ReplyError(res, 403, "forbidden",
               "the admin API is disabled: start the gateway with --admin_token=SECRET");
    return false;
  }
  const std::string token = BearerToken(req);
  if (token.empty()) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"admission-admin\"");
    ReplyError(res, 401, "unauthorized", "the admin API needs Authorization: Bearer <admin token>");
    return false;
  }
  if (!ConstantTimeEquals(token, flags_.admin_token)) {
    ReplyError(res, 403, "forbidden", "the admin token is not valid");
    return false;
  }
  return true;
}

void Gateway::ReplyStatus(Response& res, const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return ReplyError(res, 400, "invalid_argument", Msg(s));
    case absl::StatusCode::kNotFound:
      return ReplyError(res, 404, "not_found", Msg(s));
    case absl::StatusCode::kAlreadyExists:
      return ReplyError(res, 409, "already_exists", Msg(s));
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return ReplyError(res, 409, "conflict", Msg(s));
    case absl::StatusCode::kUnauthenticated:
      return ReplyError(res, 401, "unauthorized", Msg(s));
    case absl::StatusCode::kPermissionDenied:
      return ReplyError(res, 403, "forbidden", Msg(s));
    case absl::StatusCode::kResourceExhausted:
      return ReplyError(res, 429, "rate_limited", Msg(s));
    case absl::StatusCode::kUnimplemented:
      // A feature the configured store lacks: the operator must hear which.
      return ReplyError(res, 501, "unimplemented", Msg(s));
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      metrics_.CountStoreError();
      res.set_header("Retry-After", "1");
      return ReplyError(res, 503, "unavailable", Msg(s));
    default:
      metrics_.CountStoreError();
      // The detail goes to the log, not to the client.
      std::fprintf(stderr, "error: store call failed: %s\n", s.ToString().c_str());
      return ReplyError(res, 500, "internal", "internal error");
  }
}

void Gateway::Register() {
  HttpServer& s = *server_;

  s.set_pre_routing_handler([](const Request& req, Response& res) {
    RequestContext& ctx = tls_request;
    ctx.active = true;
    ctx.start = std::chrono::steady_clock::now();
    ctx.route = Classify(req.method, req.path);
    ctx.rate_limited = false;
    if (ctx.route == RouteId::kPage) {
      // Debian's httplib compresses every text/* answer for a client that accepts it, brotli at
      // its slowest setting, on every request, and offers no way out per response: ~120 ms of
      // CPU per page load (the 11 KB script alone ~85 ms), which a sale's arrival burst cannot
      // afford. The pages (27 KB in all) go out plain; a CDN or proxy in front may compress
      // them once. The request is httplib's own non-const object, read again only afterwards.
      const_cast<Request&>(req).headers.erase("Accept-Encoding");
    }
    const std::string incoming = req.get_header_value("X-Request-Id");
    bool valid = !incoming.empty() && incoming.size() <= 64;
    for (char c : incoming) valid = valid && IsRequestIdChar(c);
    ctx.request_id = valid ? incoming : NewRequestId();
    res.set_header("X-Request-Id", ctx.request_id);
    ctx.trace_id.clear();
    const std::string traceparent = req.get_header_value("traceparent");
    if (IsTraceparent(traceparent)) {
      ctx.trace_id = traceparent.substr(3, 32);
      res.set_header("traceparent", traceparent);
    }
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
        if (status == 400 && tls_request.active && tls_request.route == RouteId::kOther)
          status = 404;
        switch (status) {
          case 404: {
            const std::string allowed = AllowedMethods(req.path);
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
    RequestContext& ctx = tls_request;
    // Requests httplib rejects before routing (say, a malformed request line) have no context.
    const RouteId route = ctx.active ? ctx.route : RouteId::kOther;
    const absl::Duration latency =
        ctx.active ? absl::FromChrono(std::chrono::steady_clock::now() - ctx.start)
                   : absl::ZeroDuration();
    metrics_.ObserveRequest(route, res.status, latency);
    if (flags_.access_log) {
      // The path only: query strings carry waiting tokens, which must not land in logs.
      // Written by hand (JsonObjectWriter), not through nlohmann::json: one line per request
      // made the log the largest cost of the status route.
      std::string ts;
      AppendTimestamp(&ts);
      JsonObjectWriter line;
      line.String("ts", ts)
          .String("request_id", ctx.active ? std::string_view(ctx.request_id) : "")
          .String("method", req.method)
          .String("path", std::string_view(req.path).substr(0, 256))
          .String("route", RouteInfoOf(route).pattern)
          .Int("status", res.status)
          .Double("duration_ms", std::round(absl::ToDoubleMicroseconds(latency)) / 1000)
          .String("remote_addr", req.remote_addr)
          .Int("bytes", static_cast<int64_t>(res.body.size()));
      if (ctx.active && !ctx.trace_id.empty()) line.String("trace_id", ctx.trace_id);
      std::string text = line.Finish();
      text += '\n';
      // One write(2) per line, so lines never interleave; not fwrite, whose stdio lock is held
      // across the system call and queued every worker behind a preempted holder.
      if (::write(STDERR_FILENO, text.data(), text.size()) < 0) {
        // Nowhere left to report it; the request itself was served.
      }
    }
    ctx.active = false;
  });

  Route("POST", "/api/v1/queue/join", &Gateway::Join, true, true);
  Route("GET", "/api/v1/queue/status", &Gateway::Status, true, false);
  Route("POST", "/api/v1/queue/enter", &Gateway::Enter, true, true);
  Route("DELETE", "/api/v1/queue/leave", &Gateway::Leave, true, false);
  Route("POST", "/api/v1/queue/complete", &Gateway::Complete, true, true);
  Route("GET", "/api/v1/config", &Gateway::Config, false, false);
  Route("GET", "/healthz", &Gateway::Healthz, false, false);
  Route("GET", "/readyz", &Gateway::Readyz, false, false);
  Route("GET", "/metrics", &Gateway::MetricsPage, false, false);
  Route("GET", "/admin/v1/events", &Gateway::ListEvents, false, false);
  // Bounded repetition: std::regex recursion grows with the input, so no unbounded `+`.
  const std::string event = "([A-Za-z0-9_-]{1,64})";
  Route("GET", "/admin/v1/events/" + event + "/policy", &Gateway::GetPolicy, false, false);
  Route("PUT", "/admin/v1/events/" + event + "/policy", &Gateway::PutPolicy, false, false);
  Route("GET", "/admin/v1/events/" + event + "/stats", &Gateway::GetStats, false, false);
  ticketing_->Register();

  // The pages, from the binary itself.
  for (std::size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& asset = kWebAssets[i];
    const std::string name = asset.name;
    std::vector<std::string> paths = {"/static/" + name};
    if (name == "index.html") paths = {"/", "/index.html"};
    if (name == "operator.html") paths = {"/admin", "/operator.html"};
    const std::string type = ContentTypeOf(name);
    for (const std::string& path : paths) {
      s.Get(RegexEscape(path), [&asset, type](const Request&, Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
        res.set_header("Referrer-Policy", "no-referrer");
        res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, type);
      });
    }
  }
}

void Gateway::Join(const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyStatus(res, body.status());
  if (absl::Status s = CheckFields(*body, {"event_id", "user_id"}); !s.ok()) {
    return ReplyStatus(res, s);
  }
  absl::StatusOr<std::string> event_id = GetString(*body, "event_id", kMaxEventIdLength);
  if (!event_id.ok()) {
    return ReplyError(res, 400, "invalid_argument", Msg(event_id.status()));
  }
  absl::StatusOr<std::string> user_id = GetString(*body, "user_id", kMaxUserIdLength);
  if (absl::IsNotFound(user_id.status())) {
    // Anonymous visitors get an id of their own; it is returned so that they can keep it.
    user_id = "anon-" + RandomHex(12);
  } else if (!user_id.ok()) {
    return ReplyError(res, 400, "invalid_argument", Msg(user_id.status()));
  } else if (!Allow(token_limiter_, absl::StrCat("u:", *event_id, "/", *user_id), res)) {
    return;
  }
  absl::StatusOr<QueueStatus> joined = room_->Join(*event_id, *user_id);
  if (!joined.ok()) {
    if (absl::IsAlreadyExists(joined.status())) {
      return ReplyError(res, 409, "already_exists",
                        "this user is already in the line (or admitted) for this event");
    }
    if (std::optional<JoinRefusal> refusal = JoinRefusalOf(joined.status())) {
      return ReplyJoinRefused(res, *refusal, joined.status());
    }
    return ReplyStatus(res, joined.status());
  }
  const QueueStatus& st = *joined;
  JsonObjectWriter w;
  // status: "waiting", "prequeue" (no place until the opening), or "active" when the
  // passthrough method or the safety net admitted the user at once (POST /enter then hands
  // over the grant).
  w.String("waiting_token", st.token)
      .Int("position_hint", st.position)
      .String("status", st.status_name())
      .Bool("ready_for_entry", st.ready_for_entry)
      .Int("poll_after_ms", absl::ToInt64Milliseconds(st.poll_after))
      .Seconds("eta_sec", st.eta)
      .Double("eta_confidence", st.eta_confidence)
      .String("event_id", st.event_id)
      .String("user_id", st.user_id);
  if (st.position_high != st.position) w.Int("position_high", st.position_high);
  if (st.opens_at != absl::InfiniteFuture()) {
    w.String("opens_at", TimeText(st.opens_at))
        .Int("opens_in_sec", CeilSeconds(st.opens_at - st.now, 0));
  }
  ReplyText(res, 202, w.Finish());
}

void Gateway::ReplyJoinRefused(Response& res, const JoinRefusal& refusal,
                               const absl::Status& status) {
  // 409 like every answer about the event's state, with a code a client can branch on.
  Json body = ErrorJson(JoinRefusalName(refusal.reason), Msg(status));
  if (refusal.reason == JoinRefusal::kNotOpenYet) {
    // Come back when the pre-queue opens (not before: it would only be refused again).
    const absl::Time now = clock_->Now();
    const int64_t retry = CeilSeconds(refusal.at - now, 1);
    res.set_header("Retry-After", std::to_string(retry));
    body["error"]["opens_at"] = TimeText(refusal.at);
    body["error"]["retry_after_sec"] = retry;
  } else if (refusal.reason == JoinRefusal::kClosed) {
    body["error"]["closed_at"] = TimeText(refusal.at);
  }
  Reply(res, 409, body);
}

void Gateway::Status(const Request& req, Response& res) {
  const std::string token = req.get_param_value("token");
  if (!CheckTokenParam(token, res)) return;
  if (!Allow(token_limiter_, absl::StrCat("t:", token), res)) return;
  absl::StatusOr<QueueStatus> status = room_->Status(token);
  if (!status.ok()) return ReplyStatus(res, status.status());
  ReplyText(res, 200, QueueStatusJsonText(*status));
}

void Gateway::Enter(const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyStatus(res, body.status());
  if (absl::Status s = CheckFields(*body, {"waiting_token"}); !s.ok()) return ReplyStatus(res, s);
  absl::StatusOr<std::string> token = GetString(*body, "waiting_token", kMaxTokenLength);
  if (!token.ok()) return ReplyError(res, 400, "invalid_argument", Msg(token.status()));
  if (!Allow(token_limiter_, absl::StrCat("t:", *token), res)) return;
  absl::StatusOr<EnterResult> entry = room_->Enter(*token);
  if (!entry.ok()) {
    if (absl::IsFailedPrecondition(entry.status())) {
      // 410: the token existed but its holder left the room (expired, left or completed).
      return ReplyError(res, 410, "gone",
                        "this waiting token is no longer in the room (it expired, left or "
                        "completed); join again");
    }
    return ReplyStatus(res, entry.status());
  }
  const QueueStatus& st = entry->status;
  if (!entry->granted) {
    const int64_t retry = CeilSeconds(entry->retry_after, 1);
    res.set_header("Retry-After", std::to_string(retry));
    Json denied = {
        {"admission", "denied"},    {"reason", std::string(EntryBlockName(entry->reason))},
        {"retry_after_sec", retry}, {"message", entry->message},
        {"position", st.position},
    };
    if (entry->reason == EntryBlock::kPaused) denied["paused_reason"] = st.paused_reason;
    return Reply(res, 429, denied);
  }
  ReservationClaims claims;
  claims.event_id = st.event_id;
  claims.user_id = st.user_id;
  claims.waiting_token = *token;
  claims.reservation_id = entry->reservation_token;
  claims.expires_at = entry->reservation_expires_at;
  const int64_t ttl =
      absl::ToInt64Seconds(absl::FromUnixSeconds(absl::ToUnixSeconds(claims.expires_at)) - st.now);
  Reply(res, 200,
        Json{
            {"admission", "granted"},
            {"reservation_token", signer_.Sign(claims)},
            {"ttl_sec", ttl < 0 ? 0 : ttl},
            {"expires_at_unix", absl::ToUnixSeconds(claims.expires_at)},
            {"event_id", st.event_id},
            {"by_bypass", entry->by_bypass},
            {"repeated", entry->repeated},
        });
}

void Gateway::Leave(const Request& req, Response& res) {
  const std::string token = req.get_param_value("token");
  if (!CheckTokenParam(token, res)) return;
  if (!Allow(token_limiter_, absl::StrCat("t:", token), res)) return;
  absl::StatusOr<QueueStatus> left = room_->Leave(token);
  if (!left.ok()) return ReplyStatus(res, left.status());
  // "left", or the state the token had already ended in (completed, expired).
  Reply(res, 200, Json{{"status", std::string(left->status_name())}, {"event_id", left->event_id}});
}

void Gateway::Complete(const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body, /*empty_ok=*/true);
  if (!body.ok()) return ReplyStatus(res, body.status());
  if (absl::Status s = CheckFields(*body, {}); !s.ok()) return ReplyStatus(res, s);
  const std::string bearer = BearerToken(req);
  if (bearer.empty()) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"admission\"");
    return ReplyError(res, 401, "unauthorized",
                      "send the reservation token as Authorization: Bearer <token>");
  }
  absl::StatusOr<ReservationClaims> claims = signer_.Verify(bearer, absl::Now());
  if (!claims.ok()) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"admission\", error=\"invalid_token\"");
    return ReplyError(res, 401, "unauthorized", Msg(claims.status()));
  }
  if (!Allow(token_limiter_, absl::StrCat("t:", claims->waiting_token), res)) return;
  absl::StatusOr<QueueStatus> done = room_->Complete(claims->waiting_token);
  if (!done.ok()) {
    if (absl::IsFailedPrecondition(done.status())) {
      return ReplyError(res, 410, "gone",
                        "this admission is no longer active (the user left or timed out)");
    }
    return ReplyStatus(res, done.status());
  }
  Reply(res, 200,
        Json{{"status", std::string(done->status_name())},
             {"event_id", claims->event_id},
             {"user_id", claims->user_id}});
}

void Gateway::Config(const Request&, Response& res) {
  Reply(res, 200, Json{{"default_event", flags_.default_event}});
}

void Gateway::Healthz(const Request&, Response& res) { Reply(res, 200, Json{{"status", "ok"}}); }

void Gateway::Readyz(const Request&, Response& res) {
  // One cheap store round trip; "no such event" still proves the store answers.
  absl::StatusOr<Policy> probe = room_->GetPolicy("readyz-probe");
  if (probe.ok() || absl::IsNotFound(probe.status())) {
    return Reply(res, 200, Json{{"status", "ready"}});
  }
  metrics_.CountStoreError();
  ReplyError(res, 503, "unavailable",
             absl::StrCat("the store is not answering: ", probe.status().message()));
}

void Gateway::MetricsPage(const Request&, Response& res) {
  res.status = 200;
  res.set_content(metrics_.Render(*room_, flags_.metrics_max_events) +
                      ticketing_->RenderMetrics(flags_.metrics_max_events),
                  "text/plain; version=0.0.4; charset=utf-8");
}

void Gateway::GetPolicy(const Request& req, Response& res) {
  if (!CheckAdmin(req, res)) return;
  const std::string event_id = req.matches[1];
  absl::StatusOr<Policy> policy = room_->GetPolicy(event_id);
  if (!policy.ok()) return ReplyStatus(res, policy.status());
  Json j = PolicyToJson(*policy);
  j["event_id"] = event_id;
  Reply(res, 200, j);
}

void Gateway::PutPolicy(const Request& req, Response& res) {
  if (!CheckAdmin(req, res)) return;
  const std::string event_id = req.matches[1];
  absl::StatusOr<Json> patch = ParseObject(req.body);
  if (!patch.ok()) return ReplyStatus(res, patch.status());
  // Read, merge, validate, write: a PUT may name only the fields it changes. An unknown
  // event starts from the default policy, so operators can open a room before the sale.
  absl::StatusOr<Policy> current = room_->GetPolicy(event_id);
  Policy policy = flags_.default_policy;
  if (current.ok()) {
    policy = *std::move(current);
  } else if (!absl::IsNotFound(current.status())) {
    return ReplyStatus(res, current.status());
  }
  if (absl::Status s = MergePolicyJson(*patch, &policy); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return ReplyStatus(res, s);
  if (absl::Status s = room_->SetPolicy(event_id, policy); !s.ok()) return ReplyStatus(res, s);
  Json j = PolicyToJson(policy);
  j["event_id"] = event_id;
  Reply(res, 200, j);
}

void Gateway::GetStats(const Request& req, Response& res) {
  if (!CheckAdmin(req, res)) return;
  absl::StatusOr<EventStats> stats = room_->Stats(std::string(req.matches[1]));
  if (!stats.ok()) return ReplyStatus(res, stats.status());
  Reply(res, 200, StatsToJson(*stats));
}

void Gateway::ListEvents(const Request& req, Response& res) {
  if (!CheckAdmin(req, res)) return;
  absl::StatusOr<std::vector<std::string>> events = room_->Events();
  if (!events.ok()) return ReplyStatus(res, events.status());
  std::sort(events->begin(), events->end());
  Reply(res, 200, Json{{"events", *events}});
}

}  // namespace admission::gateway
