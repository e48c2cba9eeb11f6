// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room_routes.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "admission/room/join_refusal.h"
#include "http_toolkit.h"
#include "identity.h"
#include "json_codec.h"
#include "pow_routes.h"

namespace admission::gateway {
namespace {

// Tokens are "<event id>.<32 hex digits>"; anything longer is refused before any lookup.
constexpr std::size_t kMaxTokenLength = kMaxEventIdLength + 1 + kTokenRandomHexDigits;

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

// A join refused by the event's schedule or its reject method: 409 with the reason as the
// error code ("not_open_yet" with opens_at and Retry-After, "closed", "rejected").
void ReplyJoinRefused(const RouteContext& ctx, Response& res, const JoinRefusal& refusal,
                      const absl::Status& status) {
  // 409 like every answer about the event's state, with a code a client can branch on.
  Json body = ErrorJson(JoinRefusalName(refusal.reason), Msg(status));
  if (refusal.reason == JoinRefusal::kNotOpenYet) {
    // Come back when the pre-queue opens (not before: it would only be refused again).
    const absl::Time now = ctx.clock.Now();
    const int64_t retry = CeilSeconds(refusal.at - now, 1);
    res.set_header("Retry-After", std::to_string(retry));
    body["error"]["opens_at"] = TimeText(refusal.at);
    body["error"]["retry_after_sec"] = retry;
  } else if (refusal.reason == JoinRefusal::kClosed) {
    body["error"]["closed_at"] = TimeText(refusal.at);
  }
  Reply(res, 409, body);
}

// In jwt mode, whether the request's JWT names the user holding waiting token `token` (a
// stolen token alone must not enter or leave for its holder): one Status read, which is also a
// heartbeat of that user. The error written (401, 403, or the read's) when not. Other modes
// take the token as the proof.
bool CheckOwner(const RouteContext& ctx, const Request& req, const std::string& token,
                Response& res) {
  if (!ctx.identity.checks_owner()) return true;
  std::optional<std::string> user = ctx.identity.JwtUser(req, res);
  if (!user) return false;
  absl::StatusOr<QueueStatus> place = ctx.room.Status(token);
  if (!place.ok()) {
    ReplyStatus(res, place.status(), ctx.metrics);
    return false;
  }
  if (place->user_id != *user) {
    ReplyError(res, 403, "forbidden", "this waiting token belongs to another user");
    return false;
  }
  return true;
}

void Join(const RouteContext& ctx, const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyStatus(res, body.status(), ctx.metrics);
  if (absl::Status s = CheckFields(*body, {"event_id", "user_id"}); !s.ok()) {
    return ReplyStatus(res, s, ctx.metrics);
  }
  absl::StatusOr<std::string> event_id = GetString(*body, "event_id", kMaxEventIdLength);
  if (!event_id.ok()) {
    return ReplyError(res, 400, "invalid_argument", Msg(event_id.status()));
  }
  // The proof of work, when the event's join asks one now (pow_routes.h).
  if (!CheckJoinPow(ctx, *event_id, req, res)) return;
  // Who joins is the identity's to say (identity.h): only trusted mode reads the body's user_id;
  // the other modes ignore it, so nobody can take another user's place by naming them.
  std::optional<std::string> named_user;
  if (ctx.identity.mode() == IdentityMode::kTrusted) {
    absl::StatusOr<std::string> user_id = GetString(*body, "user_id", kMaxUserIdLength);
    if (user_id.ok()) {
      named_user = *std::move(user_id);
    } else if (!absl::IsNotFound(user_id.status())) {
      return ReplyError(res, 400, "invalid_argument", Msg(user_id.status()));
    }
  }
  std::optional<Identity::Joiner> joiner = ctx.identity.ForJoin(req, named_user, res);
  if (!joiner) return;
  if (!joiner->new_identity &&
      !Allow(ctx.token_limiter, absl::StrCat("u:", *event_id, "/", joiner->user_id), res,
             ctx.metrics)) {
    return;
  }
  // One place per identity: a second tab (or a retry) gets the place it already has.
  bool resumed = false;
  absl::StatusOr<QueueStatus> joined = ctx.room.Join(*event_id, joiner->user_id);
  if (absl::IsAlreadyExists(joined.status())) {
    joined = ctx.room.Find(*event_id, joiner->user_id);
    resumed = joined.ok();
    // The place ended between the two calls: this is a join after all.
    if (absl::IsNotFound(joined.status())) joined = ctx.room.Join(*event_id, joiner->user_id);
  }
  if (!joined.ok()) {
    if (absl::IsAlreadyExists(joined.status())) {
      return ReplyError(res, 409, "already_exists",
                        "this user is already in the line (or admitted) for this event");
    }
    if (std::optional<JoinRefusal> refusal = JoinRefusalOf(joined.status())) {
      return ReplyJoinRefused(ctx, res, *refusal, joined.status());
    }
    return ReplyStatus(res, joined.status(), ctx.metrics);
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
  // The operator's message to the line (policy queue_message), as in the status answer.
  if (!st.queue_message.empty()) w.String("message", st.queue_message);
  w.Bool("resumed", resumed);
  if (ctx.identity.mode() == IdentityMode::kAnonymous) {
    // API clients send it back as X-Admission-Session; browsers keep the cookie.
    w.String("session", joiner->session);
    ctx.identity.SetSessionCookie(req, *joiner, res);
  }
  ReplyText(res, resumed ? 200 : 202, w.Finish());
}

void Status(const RouteContext& ctx, const Request& req, Response& res) {
  const std::string token = req.get_param_value("token");
  if (!CheckTokenParam(token, res)) return;
  if (!Allow(ctx.token_limiter, absl::StrCat("t:", token), res, ctx.metrics)) return;
  absl::StatusOr<QueueStatus> status = ctx.room.Status(token);
  if (!status.ok()) return ReplyStatus(res, status.status(), ctx.metrics);
  ReplyText(res, 200, QueueStatusJsonText(*status));
}

void Enter(const RouteContext& ctx, const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body);
  if (!body.ok()) return ReplyStatus(res, body.status(), ctx.metrics);
  if (absl::Status s = CheckFields(*body, {"waiting_token"}); !s.ok())
    return ReplyStatus(res, s, ctx.metrics);
  absl::StatusOr<std::string> token = GetString(*body, "waiting_token", kMaxTokenLength);
  if (!token.ok()) return ReplyError(res, 400, "invalid_argument", Msg(token.status()));
  if (!Allow(ctx.token_limiter, absl::StrCat("t:", *token), res, ctx.metrics)) return;
  if (!CheckOwner(ctx, req, *token, res)) return;
  absl::StatusOr<EnterResult> entry = ctx.room.Enter(*token);
  if (!entry.ok()) {
    if (absl::IsFailedPrecondition(entry.status())) {
      // 410: the token existed but its holder left the room (expired, left or completed).
      return ReplyError(res, 410, "gone",
                        "this waiting token is no longer in the room (it expired, left or "
                        "completed); join again");
    }
    return ReplyStatus(res, entry.status(), ctx.metrics);
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
            {"reservation_token", ctx.signer.Sign(claims)},
            {"ttl_sec", ttl < 0 ? 0 : ttl},
            {"expires_at_unix", absl::ToUnixSeconds(claims.expires_at)},
            {"event_id", st.event_id},
            {"by_bypass", entry->by_bypass},
            {"repeated", entry->repeated},
        });
}

void Leave(const RouteContext& ctx, const Request& req, Response& res) {
  const std::string token = req.get_param_value("token");
  if (!CheckTokenParam(token, res)) return;
  if (!Allow(ctx.token_limiter, absl::StrCat("t:", token), res, ctx.metrics)) return;
  if (!CheckOwner(ctx, req, token, res)) return;
  absl::StatusOr<QueueStatus> left = ctx.room.Leave(token);
  if (!left.ok()) return ReplyStatus(res, left.status(), ctx.metrics);
  // "left", or the state the token had already ended in (completed, expired).
  Reply(res, 200, Json{{"status", std::string(left->status_name())}, {"event_id", left->event_id}});
}

void Complete(const RouteContext& ctx, const Request& req, Response& res) {
  absl::StatusOr<Json> body = ParseObject(req.body, /*empty_ok=*/true);
  if (!body.ok()) return ReplyStatus(res, body.status(), ctx.metrics);
  if (absl::Status s = CheckFields(*body, {}); !s.ok()) return ReplyStatus(res, s, ctx.metrics);
  std::optional<ReservationClaims> claims =
      ctx.identity.Authorize(req, res, ctx.signer, absl::Now());
  if (!claims) return;
  if (!Allow(ctx.token_limiter, absl::StrCat("t:", claims->waiting_token), res, ctx.metrics))
    return;
  absl::StatusOr<QueueStatus> done = ctx.room.Complete(claims->waiting_token);
  if (!done.ok()) {
    if (absl::IsFailedPrecondition(done.status())) {
      return ReplyError(res, 410, "gone",
                        "this admission is no longer active (the user left or timed out)");
    }
    return ReplyStatus(res, done.status(), ctx.metrics);
  }
  Reply(res, 200,
        Json{{"status", std::string(done->status_name())},
             {"event_id", claims->event_id},
             {"user_id", claims->user_id}});
}

}  // namespace

void AddRoomRoutes(const RouteContext& ctx, RouteTable& routes) {
  // Every call is a client's: under the per-address limit; those that change state replay an
  // Idempotency-Key.
  const RouteTable::Guards limited{true, false};
  const RouteTable::Guards idempotent{true, true};
  routes.Add(RouteId::kJoin, "POST", "/api/v1/queue/join", idempotent, WithContext(ctx, Join));
  routes.Add(RouteId::kStatus, "GET", "/api/v1/queue/status", limited, WithContext(ctx, Status));
  routes.Add(RouteId::kEnter, "POST", "/api/v1/queue/enter", idempotent, WithContext(ctx, Enter));
  routes.Add(RouteId::kLeave, "DELETE", "/api/v1/queue/leave", limited, WithContext(ctx, Leave));
  routes.Add(RouteId::kComplete, "POST", "/api/v1/queue/complete", idempotent,
             WithContext(ctx, Complete));
}

}  // namespace admission::gateway
