// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "http_toolkit.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace admission::gateway {
namespace {

std::string Dump(const Json& j) {
  // `replace` instead of throwing on invalid UTF-8: a response must always be writable.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

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

}  // namespace

void ReplyText(Response& res, int status, std::string body) {
  res.status = status;
  // Answers carry tokens and per-user state: never cache them anywhere.
  res.set_header("Cache-Control", "no-store");
  res.body = std::move(body);  // set_content would copy it
  res.set_header("Content-Type", "application/json; charset=utf-8");
}

void Reply(Response& res, int status, const Json& body) { ReplyText(res, status, Dump(body)); }

void ReplyError(Response& res, int status, std::string_view code, std::string_view message) {
  Reply(res, status, ErrorJson(code, message));
}

std::string_view Msg(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

void ReplyStatus(Response& res, const absl::Status& s, Metrics& metrics) {
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
      metrics.CountStoreError();
      res.set_header("Retry-After", "1");
      return ReplyError(res, 503, "unavailable", Msg(s));
    default:
      metrics.CountStoreError();
      // The detail goes to the log, not to the client.
      std::fprintf(stderr, "error: store call failed: %s\n", s.ToString().c_str());
      return ReplyError(res, 500, "internal", "internal error");
  }
}

std::string BearerToken(const Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.size() < 7 || !absl::EqualsIgnoreCase(absl::string_view(auth.data(), 7), "bearer ")) {
    return "";
  }
  return std::string(absl::StripAsciiWhitespace(absl::string_view(auth).substr(7)));
}

bool CheckAdmin(const Request& req, Response& res, const std::string& admin_token) {
  if (admin_token.empty()) {
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
  if (!ConstantTimeEquals(token, admin_token)) {
    ReplyError(res, 403, "forbidden", "the admin token is not valid");
    return false;
  }
  return true;
}

std::string ClientAddress(const Request& req, const std::string& client_address_header) {
  if (!client_address_header.empty()) {
    const std::string value = req.get_header_value(client_address_header.c_str());
    // A proxy appends the address it saw, so in a list only the last entry is trustworthy.
    absl::string_view last = absl::StripAsciiWhitespace(absl::string_view(value).substr(
        value.rfind(',') == std::string::npos ? 0 : value.rfind(',') + 1));
    if (!last.empty() && last.size() <= 64) return absl::StrCat("a:", last);
  }
  return absl::StrCat("a:", req.remote_addr);
}

bool Allow(RateLimiter& limiter, std::string_view key, Response& res, Metrics& metrics) {
  if (!limiter.enabled()) return true;
  const RateLimiter::Decision d = limiter.Allow(key, absl::Now());
  if (d.allowed) return true;
  metrics.CountRateLimited();
  const int64_t retry = CeilSeconds(d.retry_after, 1);
  res.set_header("Retry-After", std::to_string(retry));
  ReplyError(res, 429, "rate_limited",
             absl::StrCat("too many requests from this client; retry after ", retry, " s"));
  return false;
}

RequestContext BeginRequest(const Request& req, Response& res, RouteId route,
                            const std::string& client_address_header) {
  RequestContext ctx;
  ctx.start = std::chrono::steady_clock::now();
  ctx.route = route;
  const std::string incoming = req.get_header_value("X-Request-Id");
  bool valid = !incoming.empty() && incoming.size() <= 64;
  for (char c : incoming) valid = valid && IsRequestIdChar(c);
  ctx.request_id = valid ? incoming : NewRequestId();
  res.set_header("X-Request-Id", ctx.request_id);
  const std::string traceparent = req.get_header_value("traceparent");
  if (IsTraceparent(traceparent)) {
    ctx.trace_id = traceparent.substr(3, 32);
    res.set_header("traceparent", traceparent);
  }
  ctx.client_address = ClientAddress(req, client_address_header);
  return ctx;
}

std::string AccessLogLine(const RequestContext& ctx, const Request& req, int status,
                          std::size_t bytes, std::string_view route, absl::Duration latency) {
  // Written by hand (JsonObjectWriter), not through nlohmann::json: one line per request made
  // the log the largest cost of the status route.
  std::string ts;
  AppendTimestamp(&ts);
  JsonObjectWriter line;
  line.String("ts", ts)
      .String("request_id", ctx.request_id)
      .String("method", req.method)
      .String("path", std::string_view(req.path).substr(0, 256))
      .String("route", route)
      .Int("status", status)
      .Double("duration_ms", std::round(absl::ToDoubleMicroseconds(latency)) / 1000)
      .String("remote_addr", std::string_view(ctx.client_address).substr(2))
      .Int("bytes", static_cast<int64_t>(bytes));
  if (!ctx.trace_id.empty()) line.String("trace_id", ctx.trace_id);
  std::string text = line.Finish();
  text += '\n';
  return text;
}

}  // namespace admission::gateway
