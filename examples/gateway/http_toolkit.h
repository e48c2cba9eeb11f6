// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What every route module of the gateway writes its answers with: JSON replies and error bodies
// (a library status mapped to its HTTP code), bearer tokens (the admin token's check; the
// identity's, identity.h, reads the others), the per-client rate limit's 429, and the request's
// context: its id, its W3C trace context, and its line in the access log.
#ifndef ADMISSION_EXAMPLES_GATEWAY_HTTP_TOOLKIT_H_
#define ADMISSION_EXAMPLES_GATEWAY_HTTP_TOOLKIT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "http_message.h"
#include "json_codec.h"
#include "metrics.h"
#include "rate_limiter.h"
#include "route_table.h"
#include "signer.h"

namespace admission::gateway {

// --- Replies ---------------------------------------------------------------------------------

// Writes `body`, JSON text (JsonObjectWriter's, or a Json dumped), as the answer.
void ReplyText(Response& res, int status, std::string body);
void Reply(Response& res, int status, const Json& body);
// {"error":{"code":...,"message":...}} with `status`.
void ReplyError(Response& res, int status, std::string_view code, std::string_view message);
// The error for a failed library call: its code mapped to the HTTP one (InvalidArgument 400,
// NotFound 404, ...). Unavailable and internal failures are store errors: counted in `metrics`,
// and an internal one's detail goes to the log, not to the client.
void ReplyStatus(Response& res, const absl::Status& status, Metrics& metrics);
// A status's message as a string_view.
std::string_view Msg(const absl::Status& status);

// --- Bearer tokens ---------------------------------------------------------------------------

// "Bearer <token>" (scheme case-insensitive); empty if absent or of another scheme.
std::string BearerToken(const Request& req);
// False (and 401/403 written) unless the request carries `admin_token`; an empty
// `admin_token` means the admin API is disabled.
bool CheckAdmin(const Request& req, Response& res, const std::string& admin_token);
// (The gateway's signed admission and reservation tokens are checked by Identity::Authorize,
// identity.h: where they travel depends on --identity.)

// --- Rate limits -----------------------------------------------------------------------------

// The key of the per-address bucket: the peer, or `client_address_header` (when not empty)
// behind a proxy.
std::string ClientAddress(const Request& req, const std::string& client_address_header);
// False (429 with Retry-After written, counted in `metrics`) when `key`'s bucket in `limiter` is
// empty.
bool Allow(RateLimiter& limiter, std::string_view key, Response& res, Metrics& metrics);

// --- The request's context -------------------------------------------------------------------

// What the gateway knows about a request besides the request itself, from its first handling
// to its line in the access log.
struct RequestContext {
  std::chrono::steady_clock::time_point start;
  RouteId route = RouteId::kOther;
  std::string request_id;
  std::string trace_id;
  // The client's address as the rate limits see it (ClientAddress).
  std::string client_address;
};

// Starts the context of a request of class `route`: its id (the client's X-Request-Id if it is
// sane, else a new one) and trace context (a valid `traceparent`), both echoed on `res`.
RequestContext BeginRequest(const Request& req, Response& res, RouteId route,
                            const std::string& client_address_header);
// The access log line of a request (a JSON object and a newline): the path only, since query
// strings carry waiting tokens; `route` is the route class's label.
std::string AccessLogLine(const RequestContext& ctx, const Request& req, int status,
                          std::size_t bytes, std::string_view route, absl::Duration latency);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_HTTP_TOOLKIT_H_
