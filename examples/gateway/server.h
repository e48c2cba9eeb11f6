// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's HTTP routes over cpp-httplib. A thin shell: every handler parses the request,
// makes one library call and renders the answer; the waiting-room rules all live in the
// library. What is added here is what an HTTP edge needs: strict input checks, signed
// reservation tokens, per-client rate limits, Idempotency-Key replays, metrics and access logs.
// The ticket sale behind the room (seats, holds, payments, the worker) is in
// ticketing_routes.h, which plugs into the same route wrapper.
#ifndef ADMISSION_EXAMPLES_GATEWAY_SERVER_H_
#define ADMISSION_EXAMPLES_GATEWAY_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/clock.h"
#include "admission/room/join_refusal.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "flags.h"
#include "idempotency.h"
#include "metrics.h"
#include "rate_limiter.h"
#include "signer.h"

namespace httplib {
class Request;
struct Response;
}  // namespace httplib

namespace admission::gateway {

class TicketingRoutes;

class Gateway {
 public:
  // `token_secret` must not be empty (main makes a random one when the flag is). `ticketing`
  // (idempotency keys, inventory, event queue) lives on the same store as `room`
  // (OpenStores in store_backend.h). `clock` is the time of the ticketing routes (token
  // expiry, holds, payment delays); not owned; nullptr means SystemClock(). Tests inject a
  // SimulatedClock, shared with the room's and the ticketing's stores.
  Gateway(const GatewayFlags& flags, std::unique_ptr<WaitingRoom> room, Ticketing ticketing,
          std::string token_secret, Clock* clock = nullptr);
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

  // The ticketing routes, their worker and expiry scan (tests step them by hand).
  TicketingRoutes& ticketing() { return *ticketing_; }

 private:
  friend class TicketingRoutes;
  class HttpServer;
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  using Method = void (Gateway::*)(const httplib::Request&, httplib::Response&);

  void Register();
  // Wraps a handler with the per-address rate limit, Idempotency-Key handling and a last-resort
  // catch, so that no exception ever leaves a handler.
  void Route(const char* method, const std::string& pattern, Handler handler, bool limit_address,
             bool idempotent);
  void Route(const char* method, const std::string& pattern, Method handler, bool limit_address,
             bool idempotent);
  void RunIdempotent(const Handler& handler, const httplib::Request& req, httplib::Response& res);

  // The key of the per-address bucket: the peer, or --client_address_header behind a proxy.
  std::string ClientAddress(const httplib::Request& req) const;
  // False (and a 429 written) when `key`'s bucket in `limiter` is empty.
  bool Allow(RateLimiter& limiter, std::string_view key, httplib::Response& res);
  // False (and 401/403 written) unless the request carries the admin token.
  bool CheckAdmin(const httplib::Request& req, httplib::Response& res);
  // Writes the JSON error for a failed library call (and counts store failures).
  void ReplyStatus(httplib::Response& res, const absl::Status& status);
  // A join refused by the event's schedule or its reject method: 409 with the reason as the
  // error code ("not_open_yet" with opens_at and Retry-After, "closed", "rejected").
  void ReplyJoinRefused(httplib::Response& res, const JoinRefusal& refusal,
                        const absl::Status& status);

  void Join(const httplib::Request& req, httplib::Response& res);
  void Status(const httplib::Request& req, httplib::Response& res);
  void Enter(const httplib::Request& req, httplib::Response& res);
  void Leave(const httplib::Request& req, httplib::Response& res);
  void Complete(const httplib::Request& req, httplib::Response& res);
  void Config(const httplib::Request& req, httplib::Response& res);
  void Healthz(const httplib::Request& req, httplib::Response& res);
  void Readyz(const httplib::Request& req, httplib::Response& res);
  void MetricsPage(const httplib::Request& req, httplib::Response& res);
  void GetPolicy(const httplib::Request& req, httplib::Response& res);
  void PutPolicy(const httplib::Request& req, httplib::Response& res);
  void GetStats(const httplib::Request& req, httplib::Response& res);
  void ListEvents(const httplib::Request& req, httplib::Response& res);

  const GatewayFlags flags_;
  std::unique_ptr<WaitingRoom> room_;
  Clock* const clock_;
  // Before idempotency_, which uses its store; after room_, which its worker calls.
  std::unique_ptr<TicketingRoutes> ticketing_;
  TokenSigner signer_;
  RateLimiter address_limiter_;
  RateLimiter token_limiter_;
  std::unique_ptr<IdempotencyKeys> idempotency_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_SERVER_H_
