// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room_status_routes.h"

#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "admission/room/room_outlook.h"
#include "http_toolkit.h"
#include "json_codec.h"

namespace admission::gateway {
namespace {

// The answers of the last kRoomStatusMaxAge, per event. Only known events are kept (an
// unknown id is a 404 from the store each time, under the per-address limit), and at most
// kMaxEvents of them, so that the cache stays small whatever ids are asked for.
class RoomStatusCache {
 public:
  static constexpr std::size_t kMaxEvents = 4096;

  // The cached body if fresh at `now`. When it is stale, the first caller is told to refresh
  // it (returns nullopt) and the others keep getting the stale body until it has, so that one
  // expiry costs one store read, not one per request in flight.
  std::optional<std::string> Get(const std::string& event_id, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(event_id);
    if (it == entries_.end()) return std::nullopt;
    Entry& e = it->second;
    if (now < e.expires_at) return e.body;
    if (!e.refreshing) {
      e.refreshing = true;
      e.refresh_started = now;
      return std::nullopt;
    }
    // A refresh stuck longer than another period (a slow store): let this caller try too.
    if (now - e.refresh_started > kRoomStatusMaxAge) {
      e.refresh_started = now;
      return std::nullopt;
    }
    return e.body;
  }

  void Put(const std::string& event_id, std::string body, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxEvents && entries_.find(event_id) == entries_.end()) {
      for (auto it = entries_.begin(); it != entries_.end();) {
        it = it->second.expires_at <= now ? entries_.erase(it) : std::next(it);
      }
      if (entries_.size() >= kMaxEvents) entries_.clear();
    }
    entries_[event_id] = Entry{std::move(body), now + kRoomStatusMaxAge, false, now};
  }

  // The event is gone: the next caller reads the store.
  void Forget(const std::string& event_id) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(event_id);
  }

 private:
  struct Entry {
    std::string body;
    absl::Time expires_at;
    bool refreshing = false;
    absl::Time refresh_started;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

std::string OutlookJsonText(const RoomOutlook& o) {
  Json j{
      {"event_id", o.event_id},
      {"state", std::string(RoomStateName(o.state))},
      {"waiting", o.waiting},
      {"active", o.active},
      {"eta_back_sec", SecondsJson(o.eta_back)},
      {"eta_confidence", std::round(o.eta_confidence * 1000) / 1000},
      {"message", o.queue_message},
      {"poll_after_sec", absl::ToInt64Seconds(kRoomStatusPollAfter)},
      {"updated_at", TimeText(o.now)},
  };
  return j.dump();
}

// After ReplyText, which marks every answer no-store: this one names no user.
void SetCacheHeaders(Response& res) {
  res.set_header("Cache-Control",
                 absl::StrCat("public, max-age=", absl::ToInt64Seconds(kRoomStatusMaxAge)));
  // Any site may show the room's state (it names no user).
  res.set_header("Access-Control-Allow-Origin", "*");
}

}  // namespace

void AddRoomStatusRoutes(const RouteContext& ctx, RouteTable& routes) {
  // Public and read-only: the per-address limit, no Idempotency-Key. {id} rather than
  // {event_id}, so that a malformed id is a 400 naming the problem rather than a 404.
  const RouteTable::Guards limited{true, false};
  auto cache = std::make_shared<RoomStatusCache>();
  routes.Add(RouteId::kRoomStatus, "GET", "/api/v1/events/{id}/room", limited,
             [ctx, cache](const Request& req, Response& res) {
               const std::string event_id = req.matches[0];
               const absl::Time now = ctx.clock.Now();
               if (std::optional<std::string> body = cache->Get(event_id, now)) {
                 ReplyText(res, 200, *std::move(body));
                 return SetCacheHeaders(res);
               }
               absl::StatusOr<RoomOutlook> outlook = ctx.room.Outlook(event_id);
               if (!outlook.ok()) {
                 // A deleted event goes at once. On a store error the previous answer (if
                 // any) stays, served to the others while one caller per period retries, so
                 // an outage does not send every request to the store.
                 if (absl::IsNotFound(outlook.status())) cache->Forget(event_id);
                 return ReplyStatus(res, outlook.status(), ctx.metrics);
               }
               std::string body = OutlookJsonText(*outlook);
               cache->Put(event_id, body, now);
               ReplyText(res, 200, std::move(body));
               SetCacheHeaders(res);
             });
}

}  // namespace admission::gateway
