// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "server.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "admin_routes.h"
#include "http_toolkit.h"
#include "metrics_routes.h"
#include "operator_routes.h"
#include "page_routes.h"
#include "pow_routes.h"
#include "room_routes.h"
#include "room_status_routes.h"

namespace admission::gateway {
namespace {

// Whether a request's body may be read as the API's JSON. Browsers send a cross-site POST
// without asking first ("simple" requests) only with a form or text/plain type, so requiring
// JSON keeps other sites' pages from acting for their visitors. A bodiless request without a
// type is fine (curl -X POST).
bool IsJsonOrBodiless(const Request& req) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.empty()) return req.body.empty();
  absl::string_view media = absl::string_view(type);
  media = absl::StripAsciiWhitespace(media.substr(0, media.find(';')));
  return absl::EqualsIgnoreCase(media, "application/json");
}

// The identity of the flags, for a Gateway not given one.
std::unique_ptr<Identity> IdentityOfFlags(const GatewayFlags& flags, const std::string& secret,
                                          Clock* clock) {
  absl::StatusOr<std::unique_ptr<Identity>> identity = Identity::Create(flags, secret, clock);
  if (!identity.ok()) {
    // Serving under another identity mode than the one asked for would be worse.
    std::fprintf(stderr, "admission-gateway: %s\n", identity.status().ToString().c_str());
    std::abort();
  }
  return *std::move(identity);
}

}  // namespace

HttpServerOptions ServerOptionsOf(const GatewayFlags& flags) {
  HttpServerOptions o;
  o.host = flags.listen_host;
  o.port = flags.listen_port;
  o.io_threads = flags.io_threads;
  o.listen_backlog = flags.listen_backlog;
  o.max_connections = EffectiveMaxConnections(flags);
  o.idle_timeout = absl::Seconds(flags.keep_alive_timeout_sec);
  o.head_timeout = absl::Milliseconds(flags.header_timeout_ms);
  o.body_timeout = absl::Milliseconds(flags.body_timeout_ms);
  o.write_timeout = absl::Milliseconds(flags.write_timeout_ms);
  o.max_headers = flags.max_header_count;
  o.max_header_bytes = flags.max_header_bytes;
  o.max_body_bytes = flags.max_body_bytes;
  o.max_requests_per_connection = flags.keep_alive_max_count;
  return o;
}

struct Gateway::Call {
  Request req;
  RequestContext ctx;
  Response res;  // its headers so far (request id, trace context)
  const RouteTable::Route* route;
};

Gateway::Gateway(const GatewayFlags& flags, std::unique_ptr<WaitingRoom> room, Ticketing ticketing,
                 std::string token_secret, Clock* clock, std::unique_ptr<Identity> identity)
    : flags_(flags),
      room_(std::move(room)),
      clock_(clock != nullptr ? clock : SystemClock()),
      identity_(identity != nullptr ? std::move(identity)
                                    : IdentityOfFlags(flags, token_secret, clock_)),
      signer_(token_secret),
      address_limiter_(flags.rate_limit_ip_per_sec, flags.rate_limit_ip_burst,
                       static_cast<std::size_t>(flags.rate_limit_max_clients)),
      token_limiter_(flags.rate_limit_token_per_sec, flags.rate_limit_token_burst,
                     static_cast<std::size_t>(flags.rate_limit_max_clients)),
      // `ticketing` is moved into ticketing_ below; its IdempotencyStore stays where it is.
      pow_(
          PowOptionsOf(flags_), std::move(token_secret), *clock_,
          [room = room_.get()](std::string_view event_id) -> absl::StatusOr<int64_t> {
            absl::StatusOr<EventStats> stats = room->Stats(event_id);
            if (!stats.ok()) return stats.status();
            return stats->joined_total;
          },
          ticketing.idempotency.get()),
      context_{flags_, *room_, *clock_, signer_, metrics_, token_limiter_, pow_, *identity_},
      ticketing_(std::make_unique<TicketingRoutes>(context_, std::move(ticketing))),
      idempotency_(std::make_unique<IdempotencyKeys>(ticketing_->idempotency_store())),
      series_(flags_.series_interval_ms > 0
                  ? std::make_unique<EventSeries>(
                        *room_, &ticketing_->inventory(), *clock_,
                        EventSeriesOptions{absl::Milliseconds(flags_.series_interval_ms),
                                           flags_.series_samples, flags_.series_max_events})
                  : nullptr),
      access_log_(flags_.access_log ? std::make_unique<AccessLog>(STDERR_FILENO) : nullptr),
      server_(std::make_unique<HttpServer>(
          ServerOptionsOf(flags_),
          [this](Request req, const HttpRefusal& refusal, HttpServer::Reply reply) {
            Handle(std::move(req), refusal, std::move(reply));
          })),
      // The in-memory store never waits for I/O: its calls take microseconds, less than the
      // hand-off to another thread and back would, so they run on the I/O threads.
      store_calls_(flags_.store == "memory"
                       ? nullptr
                       : std::make_unique<StoreCallPool>(
                             flags_.threads, static_cast<std::size_t>(flags_.store_queue_limit))) {
  metrics_.set_http_stats(&server_->stats());
  AddRoomRoutes(context_, routes_);
  AddRoomStatusRoutes(context_, routes_);
  AddPageRoutes(context_, routes_);
  AddPowRoutes(context_, routes_);
  AddMetricsRoutes(context_, *ticketing_, draining_, routes_);
  AddAdminRoutes(context_, routes_);
  AddOperatorRoutes(context_, *ticketing_, series_.get(), routes_);
  ticketing_->AddRoutes(routes_);
}

Gateway::~Gateway() {
  Stop();
  std::thread drainer;
  {
    absl::MutexLock lock(&drain_mu_);
    drainer = std::move(drainer_);
  }
  if (drainer.joinable()) drainer.join();
  // Calls still queued run (their replies go nowhere), then the connections close; both before
  // the room and the sale they call go.
  store_calls_.reset();
  server_.reset();
}

absl::StatusOr<int> Gateway::Bind() { return server_->Bind(); }

bool Gateway::Run() {
  if (flags_.worker) {
    if (absl::Status s = ticketing_->Start(); !s.ok()) {
      std::fprintf(stderr, "error: the ticketing worker did not start: %s\n", s.ToString().c_str());
      return false;
    }
  }
  if (series_ != nullptr) series_->Start();
  server_->Run();
  // A drain Stop()s last: wait for it to be done before the worker stops.
  std::thread drainer;
  {
    absl::MutexLock lock(&drain_mu_);
    drainer = std::move(drainer_);
  }
  if (drainer.joinable()) drainer.join();
  if (series_ != nullptr) series_->Stop();
  ticketing_->Stop();
  return true;
}

void Gateway::Stop() {
  {
    absl::MutexLock lock(&drain_mu_);
    stop_requested_ = true;
  }
  if (server_ != nullptr) server_->Stop();
}

void Gateway::BeginDrain() {
  absl::MutexLock lock(&drain_mu_);
  if (draining_.exchange(true) || stop_requested_) return;
  drainer_ = std::thread([this] { Drain(); });
}

void Gateway::Drain() {
  // While /readyz says 503, everything else is served as before.
  {
    absl::MutexLock lock(&drain_mu_);
    drain_mu_.AwaitWithTimeout(absl::Condition(&stop_requested_), absl::Seconds(flags_.drain_sec));
    if (stop_requested_) return;
  }
  server_->StopAccepting();
  // The requests already read (their store calls included) are answered, each within its
  // store deadline; the bound is for a client that never takes its answer.
  const absl::Time deadline = absl::Now() + kDrainRequestsTimeout;
  while (server_->stats().in_flight_requests.load() > 0 && absl::Now() < deadline) {
    absl::MutexLock lock(&drain_mu_);
    if (drain_mu_.AwaitWithTimeout(absl::Condition(&stop_requested_), absl::Milliseconds(10))) {
      return;
    }
  }
  Stop();
}

void Gateway::Handle(Request req, const HttpRefusal& refusal, HttpServer::Reply reply) {
  Response res;
  if (refusal.status != 0) {
    const RequestContext ctx =
        BeginRequest(req, res, RouteId::kOther, flags_.client_address_header);
    ReplyError(res, refusal.status, refusal.code, refusal.message);
    return Finish(ctx, req, std::move(res), reply);
  }
  const RouteTable::Route* route = routes_.Find(req.method, req.path, &req.matches);
  const RouteId id = route != nullptr ? route->id : routes_.Classify(req.method, req.path);
  const RequestContext ctx = BeginRequest(req, res, id, flags_.client_address_header);
  if (route == nullptr) {
    const std::string allowed = routes_.AllowedMethods(req.path);
    if (!allowed.empty()) {
      res.set_header("Allow", allowed);
      ReplyError(res, 405, "method_not_allowed",
                 absl::StrCat(req.method, " is not allowed here; use ", allowed));
    } else {
      ReplyError(res, 404, "not_found", "no such route");
    }
    return Finish(ctx, req, std::move(res), reply);
  }
  if ((route->method == "POST" || route->method == "PUT") && !IsJsonOrBodiless(req)) {
    ReplyError(res, 415, "unsupported_media_type",
               "send the request body as JSON, with Content-Type: application/json");
    return Finish(ctx, req, std::move(res), reply);
  }
  if (route->guards.io_thread || store_calls_ == nullptr) {
    Serve(*route, ctx, req, res);
    return Finish(ctx, req, std::move(res), reply);
  }

  auto call = std::make_shared<Call>(Call{std::move(req), ctx, std::move(res), route});
  reply.SetDeadline(absl::Milliseconds(flags_.store_deadline_ms), [this, call] {
    return Unavailable(*call, /*deadline_missed=*/true,
                       "the store did not answer in time; retry shortly");
  });
  const bool queued = store_calls_->Submit([this, call, reply] {
    // Its deadline passed while it waited: it was answered 503 and must not run after all.
    if (reply.answered()) return;
    Response res = call->res;
    Serve(*call->route, call->ctx, call->req, res);
    Finish(call->ctx, call->req, std::move(res), reply);
  });
  if (!queued) {
    Response busy =
        Unavailable(*call, /*deadline_missed=*/false, "the gateway is overloaded; retry shortly");
    reply.Send(std::move(busy));
  }
}

Response Gateway::Unavailable(const Call& call, bool deadline_missed, std::string_view why) {
  Response res = call.res;
  if (call.route->id == RouteId::kMetrics) {
    // The gateway's own series still answer, with the events' last known values.
    res.status = 200;
    res.set_content(metrics_.RenderWithoutStore(routes_),
                    "text/plain; version=0.0.4; charset=utf-8");
  } else {
    if (deadline_missed) metrics_.CountStoreDeadline();
    res.set_header("Retry-After", "1");
    ReplyError(res, 503, "unavailable", why);
  }
  Record(call.ctx, call.req, res.status, res.body.size());
  return res;
}

void Gateway::Finish(const RequestContext& ctx, const Request& req, Response res,
                     const HttpServer::Reply& reply) {
  const int status = res.status;
  const std::size_t bytes = res.body.size();
  if (reply.Send(std::move(res))) Record(ctx, req, status, bytes);
}

void Gateway::Record(const RequestContext& ctx, const Request& req, int status, std::size_t bytes) {
  const absl::Duration latency = absl::FromChrono(std::chrono::steady_clock::now() - ctx.start);
  metrics_.ObserveRequest(ctx.route, status, latency);
  if (access_log_ == nullptr) return;
  access_log_->Add(
      AccessLogLine(ctx, req, status, bytes, routes_.LabelOf(ctx.route).pattern, latency));
}

void Gateway::Serve(const RouteTable::Route& route, const RequestContext& ctx, const Request& req,
                    Response& res) {
  try {
    if (route.guards.limit_address && !Allow(address_limiter_, ctx.client_address, res, metrics_)) {
      return;
    }
    if (route.guards.idempotent && req.has_header("Idempotency-Key")) {
      RunIdempotent(route.handler, req, res);
    } else {
      route.handler(req, res);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: handler for %s %s threw: %s\n", req.method.c_str(),
                 req.path.c_str(), e.what());
    ReplyError(res, 500, "internal", "internal error");
  } catch (...) {
    ReplyError(res, 500, "internal", "internal error");
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
  const std::string fingerprint = Base64UrlEncode(
      Sha256(absl::StrCat(req.method, "\n", req.path, "\n", req.get_header_value("Authorization"),
                          "\n", req.body, "\n", IdentityCredentials(req))));
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
  // Server-side failures and "retry later" refusals (429) are worth retrying: forget the key.
  if (res.status >= 500 || res.status == 429) {
    idempotency_->Abandon(key, lookup.lease);
    return;
  }
  StoredResponse stored;
  stored.status = res.status;
  stored.content_type = res.get_header_value("Content-Type");
  stored.body = res.body;
  // Set-Cookie too: a retried join that made a new anonymous identity must hand it over again.
  for (const char* header : {"Retry-After", "Cache-Control", "WWW-Authenticate", "Set-Cookie"}) {
    if (res.has_header(header)) stored.headers.emplace_back(header, res.get_header_value(header));
  }
  idempotency_->Finish(key, lookup.lease, stored);
}

}  // namespace admission::gateway
