// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway: its routes served over the event-driven HTTP server (http_server.h). A thin
// shell: every handler parses the request,
// makes one library call and renders the answer; the waiting-room rules all live in the
// library. The routes come from modules (room_routes.h, ticketing_routes.h, admin_routes.h,
// page_routes.h, metrics_routes.h), each adding its own to one RouteTable (route_table.h) with
// the shared objects handed over in a RouteContext (route_context.h). What the server adds is
// what an HTTP edge needs around them all: per-address rate limits, Idempotency-Key replays,
// request ids and trace context, metrics, access logs, and JSON errors for what no route
// answers. Handlers that touch the store run on a pool of store-call threads
// (store_call_pool.h) under a deadline, so a stalled store delays nothing else: /healthz and
// the pages are answered by the I/O threads whatever the store does.
#ifndef ADMISSION_EXAMPLES_GATEWAY_SERVER_H_
#define ADMISSION_EXAMPLES_GATEWAY_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "access_log.h"
#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "event_series.h"
#include "flags.h"
#include "http_message.h"
#include "http_server.h"
#include "http_toolkit.h"
#include "idempotency.h"
#include "identity.h"
#include "metrics.h"
#include "pow_gate.h"
#include "rate_limiter.h"
#include "route_context.h"
#include "route_table.h"
#include "signer.h"
#include "store_call_pool.h"
#include "ticketing_routes.h"

namespace admission::gateway {

// How long a drain waits for the requests already read to be answered, at most.
inline constexpr absl::Duration kDrainRequestsTimeout = absl::Seconds(10);

// The options of the gateway's HTTP server, from its flags (the limits of docs/gateway.md).
HttpServerOptions ServerOptionsOf(const GatewayFlags& flags);

class Gateway {
 public:
  // `token_secret` must not be empty (main makes a random one when the flag is). `ticketing`
  // (idempotency keys, inventory, event queue) lives on the same store as `room`
  // (OpenStores in store_backend.h). `clock` is the time of the ticketing routes (token
  // expiry, holds, payment delays); not owned; nullptr means SystemClock(). Tests inject a
  // SimulatedClock, shared with the room's and the ticketing's stores. `identity` says who
  // the user is (main makes it with Identity::Create, which reads a JWKS file); nullptr makes
  // it from the flags here (fatal when that fails).
  Gateway(const GatewayFlags& flags, std::unique_ptr<WaitingRoom> room, Ticketing ticketing,
          std::string token_secret, Clock* clock = nullptr,
          std::unique_ptr<Identity> identity = nullptr);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the listening socket; returns the port (useful with --listen=HOST:0).
  absl::StatusOr<int> Bind();
  // Serves until Stop(); false if the server could not run. With --worker, the ticketing
  // worker and the hold-expiry scan run meanwhile.
  bool Run();
  // Thread-safe; Run() returns soon after.
  void Stop();
  // Thread-safe, returns at once; the graceful stop of SIGTERM. /readyz answers 503 "draining"
  // for --drain_sec while every other route is still served (load balancers take the gateway
  // out); then the server stops accepting, answers the requests it read (for at most
  // kDrainRequestsTimeout), and Stop()s: Run() returns, after stopping the ticketing worker.
  // A Stop() meanwhile cuts the drain short. Later calls do nothing.
  void BeginDrain();
  bool draining() const { return draining_.load(); }

  // The ticketing routes, their worker and expiry scan (tests step them by hand).
  TicketingRoutes& ticketing() { return *ticketing_; }
  // The operator page's charts (null with --series_interval_ms=0; tests sample it by hand).
  EventSeries* series() { return series_.get(); }
  // Every route the gateway serves.
  const RouteTable& routes() const { return routes_; }

 private:
  // One request on its way through the gateway: what the store-call thread and the deadline's
  // fallback both need.
  struct Call;

  // Every request the server read (or refused), on an I/O thread.
  void Handle(Request req, const HttpRefusal& refusal, HttpServer::Reply reply);
  // Runs `route`'s handler with its guards (the per-address rate limit, Idempotency-Key
  // handling) and a last-resort catch, so that no exception ever leaves a handler.
  void Serve(const RouteTable::Route& route, const RequestContext& ctx, const Request& req,
             Response& res);
  void RunIdempotent(const RouteTable::Handler& handler, const Request& req, Response& res);
  // What a store-bound request gets when its call missed the deadline, or found the queue of
  // store calls full (on an I/O thread).
  Response Unavailable(const Call& call, bool deadline_missed, std::string_view why);
  // Counts and logs the answer, then sends it, unless the request was answered already.
  void Finish(const RequestContext& ctx, const Request& req, Response res,
              const HttpServer::Reply& reply);
  // Counts and logs an answer of `status` with a body of `bytes`.
  void Record(const RequestContext& ctx, const Request& req, int status, std::size_t bytes);

  // The drain after --drain_sec (BeginDrain), on drainer_.
  void Drain();

  const GatewayFlags flags_;
  // Set by BeginDrain: /readyz answers 503 from then on.
  std::atomic<bool> draining_{false};
  absl::Mutex drain_mu_;
  bool stop_requested_ ABSL_GUARDED_BY(drain_mu_) = false;
  std::thread drainer_ ABSL_GUARDED_BY(drain_mu_);
  std::unique_ptr<WaitingRoom> room_;
  Clock* const clock_;
  // Before pow_, which takes over the secret it also reads.
  std::unique_ptr<Identity> identity_;
  TokenSigner signer_;
  RateLimiter address_limiter_;
  RateLimiter token_limiter_;
  Metrics metrics_;
  // Spends challenges in the sale's IdempotencyStore (the same store as the room's).
  PowGate pow_;
  const RouteContext context_;
  // Before idempotency_, which uses its store; after room_, which its worker calls.
  std::unique_ptr<TicketingRoutes> ticketing_;
  std::unique_ptr<IdempotencyKeys> idempotency_;
  // The operator page's charts; null with --series_interval_ms=0. Sampled by a thread while
  // Run() serves.
  std::unique_ptr<EventSeries> series_;
  RouteTable routes_;
  // Null without --access_log.
  std::unique_ptr<AccessLog> access_log_;
  // The server goes after the pool: queued calls hold replies to its connections.
  std::unique_ptr<HttpServer> server_;
  // Null on the in-memory store, whose calls run on the I/O threads.
  std::unique_ptr<StoreCallPool> store_calls_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_SERVER_H_
