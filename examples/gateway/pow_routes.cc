// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "pow_routes.h"

#include <string>

#include "absl/time/time.h"
#include "admission/ids.h"
#include "http_toolkit.h"
#include "json_codec.h"
#include "pow_gate.h"

namespace admission::gateway {
namespace {

Json ChallengeJson(const RouteContext& ctx, std::string_view event_id, int difficulty) {
  if (difficulty == 0) {
    return Json{{"required", false}, {"difficulty", 0}, {"event_id", std::string(event_id)}};
  }
  const PowChallenge c = ctx.pow.Issue(event_id, difficulty);
  const int64_t ttl = absl::ToInt64Seconds(c.expires_at - ctx.clock.Now());
  return Json{
      {"required", true},
      {"challenge", c.text},
      {"difficulty", c.difficulty},
      {"expires_at_unix", absl::ToUnixSeconds(c.expires_at)},
      {"ttl_sec", ttl < 0 ? 0 : ttl},
      {"event_id", c.event_id},
      {"header", std::string(kPowHeader)},
  };
}

void ReplyPowError(const RouteContext& ctx, Response& res, int status, std::string_view code,
                   std::string_view message, std::string_view event_id, int difficulty) {
  Json body = ErrorJson(std::string(code), std::string(message));
  body["error"]["challenge"] = ChallengeJson(ctx, event_id, difficulty);
  Reply(res, status, body);
}

void Challenge(const RouteContext& ctx, const Request& req, Response& res) {
  const std::string event_id = req.get_param_value("event_id");
  if (event_id.empty()) {
    return ReplyError(res, 400, "invalid_argument", "query parameter 'event_id' is missing");
  }
  if (absl::Status s = ValidateEventId(event_id); !s.ok()) {
    return ReplyError(res, 400, "invalid_argument", Msg(s));
  }
  Reply(res, 200, ChallengeJson(ctx, event_id, ctx.pow.Difficulty(event_id)));
}

}  // namespace

bool CheckJoinPow(const RouteContext& ctx, std::string_view event_id, const Request& req,
                  Response& res) {
  const int difficulty = ctx.pow.Difficulty(event_id);
  // Calm times cost nothing: no challenge, no hash, no store call.
  if (difficulty == 0) return true;
  const std::string header(kPowHeader);
  if (!req.has_header(header)) {
    ReplyPowError(ctx, res, 429, "pow_required",
                  "this join needs a proof of work: solve the challenge and send it as the " +
                      header + " header",
                  event_id, difficulty);
    return false;
  }
  const absl::Status redeemed = ctx.pow.Redeem(req.get_header_value(header), event_id);
  if (redeemed.ok()) return true;
  if (absl::IsInvalidArgument(redeemed)) {
    ReplyPowError(ctx, res, 400, "pow_invalid", Msg(redeemed), event_id, difficulty);
  } else if (absl::IsOutOfRange(redeemed)) {
    ReplyPowError(ctx, res, 429, "pow_expired", Msg(redeemed), event_id, difficulty);
  } else if (absl::IsAlreadyExists(redeemed)) {
    ReplyPowError(ctx, res, 409, "pow_replayed", Msg(redeemed), event_id, difficulty);
  } else {
    ReplyStatus(res, redeemed, ctx.metrics);
  }
  return false;
}

void AddPowRoutes(const RouteContext& ctx, RouteTable& routes) {
  // Under the per-address limit; on the store-call threads, since `auto` may read the store.
  const RouteTable::Guards limited{true, false};
  routes.Add(RouteId::kChallenge, "GET", "/api/v1/queue/challenge", limited,
             WithContext(ctx, Challenge));
}

}  // namespace admission::gateway
