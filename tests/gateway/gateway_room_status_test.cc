// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The public room status (GET /api/v1/events/{id}/room, room_status_routes.h) and the operator's
// queue_message in a user's status, over HTTP, against the in-memory store and a real
// redis-server. The Gateway runs in this process on a SimulatedClock, so that the answer's
// in-process cache is stepped by the test: nothing here sleeps to pass.
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "room_status_routes.h"
#include "server.h"
#include "support/gateway_client.h"
#include "ticketing_routes.h"

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
#include "admission/redis/client.h"
#include "admission/redis/room_store.h"
#include "admission/redis/ticketing.h"
#include "support/redis/redis_server.h"
#endif

namespace admission::gateway {
namespace {

using Json = nlohmann::json;

constexpr char kAdminToken[] = "room-status-admin";
constexpr char kSecret[] = "room-status-secret";

using admission::gateway::testing::Bearer;
using admission::gateway::testing::Body;
using admission::gateway::testing::ExpectError;
using admission::gateway::testing::GatewayClient;

class RoomStatusTest : public ::testing::TestWithParam<std::string>, protected GatewayClient {
 protected:
  void SetUp() override {
    flags_.listen = "127.0.0.1:0";
    flags_.listen_host = "127.0.0.1";
    flags_.listen_port = 0;
    flags_.admin_token = kAdminToken;
    flags_.threads = 4;
    flags_.access_log = false;
    flags_.rate_limit_ip_per_sec = 0;
    flags_.rate_limit_token_per_sec = 0;
    flags_.sweep_interval_ms = 0;
    flags_.worker = false;
    flags_.default_policy.admit_rate_per_sec = 1000;
    flags_.default_policy.burst = 1000;
    flags_.default_policy.wait_tiers.clear();
    StartGateway();
  }

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
  static admission::testing::RedisServer* SharedRedis(std::string* error) {
    if (redis_ == nullptr && redis_error_.empty()) {
      auto started = admission::testing::RedisServer::Start();
      if (started.ok()) {
        redis_ = std::move(*started);
      } else {
        redis_error_ = started.status().ToString();
      }
    }
    *error = redis_error_;
    return redis_.get();
  }
  static void TearDownTestSuite() { redis_.reset(); }
  static inline std::unique_ptr<admission::testing::RedisServer> redis_;
  static inline std::string redis_error_;
#endif

  void TearDown() override {
    if (gateway_ != nullptr) gateway_->Stop();
    if (serving_.joinable()) serving_.join();
    gateway_.reset();
  }

  void StartGateway() {
    Options options;
    options.default_policy = flags_.default_policy;
    options.sweep_interval = absl::ZeroDuration();
    std::unique_ptr<WaitingRoom> room;
    absl::StatusOr<Ticketing> ticketing = absl::UnknownError("no store");
    const TicketingOptions ticketing_options = TicketingOptionsFromFlags(flags_, &clock_);
    if (GetParam() == "memory") {
      auto r = WaitingRoom::CreateInMemory(options, &clock_);
      ASSERT_TRUE(r.ok()) << r.status();
      room = *std::move(r);
      ticketing = NewMemoryTicketing(ticketing_options);
    } else {
#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
      std::string error;
      admission::testing::RedisServer* redis = SharedRedis(&error);
      ASSERT_NE(redis, nullptr) << error;
      static int run = 0;
      RedisClientOptions redis_options;
      redis_options.host = redis->host();
      redis_options.port = redis->port();
      redis_options.key_prefix = absl::StrCat("rsgw", ++run);
      auto client = RedisClient::Connect(redis_options);
      ASSERT_TRUE(client.ok()) << client.status();
      RedisStoreOptions store_options;
      store_options.clock = &clock_;
      auto store = NewRedisStore(*client, store_options);
      ASSERT_TRUE(store.ok()) << store.status();
      auto r = WaitingRoom::Create(*std::move(store), options);
      ASSERT_TRUE(r.ok()) << r.status();
      room = *std::move(r);
      ticketing = NewRedisTicketing(*client, ticketing_options);
#else
      GTEST_SKIP() << "built without the Redis store";
#endif
    }
    ASSERT_TRUE(ticketing.ok()) << ticketing.status();
    gateway_ =
        std::make_unique<Gateway>(flags_, std::move(room), *std::move(ticketing), kSecret, &clock_);
    absl::StatusOr<int> port = gateway_->Bind();
    ASSERT_TRUE(port.ok()) << port.status();
    serving_ = std::thread([this] { gateway_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_connection_timeout(std::chrono::seconds(2));
    client_->set_read_timeout(std::chrono::seconds(10));
    for (int i = 0; i < 500; ++i) {
      if (auto r = client_->Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the gateway did not answer /healthz";
  }

  void PutPolicy(const std::string& event, const Json& patch) {
    auto r = Put("/admin/v1/events/" + event + "/policy", patch.dump(), Bearer(kAdminToken));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }

  std::string JoinUser(const std::string& event, const std::string& user) {
    auto r = Post("/api/v1/queue/join", Json{{"event_id", event}, {"user_id", user}}.dump());
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no response");
    return r && r->status == 202 ? Body(r)["waiting_token"].get<std::string>() : "";
  }

  Json Room(const std::string& event) {
    auto r = Get("/api/v1/events/" + event + "/room");
    EXPECT_TRUE(r);
    if (!r) return Json();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Cache-Control"),
              absl::StrCat("public, max-age=", absl::ToInt64Seconds(kRoomStatusMaxAge)));
    return Body(r);
  }

  GatewayFlags flags_;
  SimulatedClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<Gateway> gateway_;
  std::thread serving_;
};

TEST_P(RoomStatusTest, AnswersEveryFieldWithoutAToken) {
  PutPolicy("show", Json{{"active_capacity", 0}, {"queue_message", "Sales resume at 10:30"}});
  JoinUser("show", "a");
  JoinUser("show", "b");
  const Json j = Room("show");
  for (const char* key : {"event_id", "state", "waiting", "active", "eta_back_sec",
                          "eta_confidence", "message", "poll_after_sec", "updated_at"}) {
    EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
  }
  EXPECT_EQ(j["event_id"], "show");
  EXPECT_EQ(j["state"], "queueing");
  EXPECT_EQ(j["waiting"], 2);
  EXPECT_EQ(j["active"], 0);
  EXPECT_EQ(j["message"], "Sales resume at 10:30");
  EXPECT_EQ(j["poll_after_sec"], absl::ToInt64Seconds(kRoomStatusPollAfter));
  EXPECT_EQ(j["updated_at"], "2026-01-01T00:00:00.000Z");
}

TEST_P(RoomStatusTest, UnknownAndMalformedEvents) {
  ExpectError(Get("/api/v1/events/no-such-event/room"), 404, "not_found");
  ExpectError(Get("/api/v1/events/bad%20id!/room"), 400, "invalid_argument");
  ExpectError(Get("/api/v1/events/" + std::string(65, 'e') + "/room"), 400, "invalid_argument");
  // A 404 is not cached: the event exists as soon as it is created.
  PutPolicy("later", Json::object());
  EXPECT_EQ(Room("later")["state"], "queueing");
}

// Answers are reused for kRoomStatusMaxAge, then read again.
TEST_P(RoomStatusTest, CachedForMaxAgeThenRefreshed) {
  PutPolicy("busy", Json{{"active_capacity", 0}});
  JoinUser("busy", "a");
  EXPECT_EQ(Room("busy")["waiting"], 1);
  JoinUser("busy", "b");
  PutPolicy("busy", Json{{"paused", true}, {"queue_message", "Back at 11"}});
  Json j = Room("busy");
  EXPECT_EQ(j["waiting"], 1);  // the cached answer
  EXPECT_EQ(j["state"], "queueing");
  clock_.Advance(kRoomStatusMaxAge);
  j = Room("busy");
  EXPECT_EQ(j["waiting"], 2);
  EXPECT_EQ(j["state"], "paused");
  EXPECT_EQ(j["message"], "Back at 11");
  EXPECT_EQ(j["updated_at"], "2026-01-01T00:00:02.000Z");
}

TEST_P(RoomStatusTest, ScheduleStates) {
  const absl::Time t0 = clock_.Now();
  PutPolicy("gig", Json{{"prequeue_opens_at", "2026-01-01T00:10:00Z"},
                        {"opens_at", "2026-01-01T00:20:00Z"},
                        {"closes_at", "2026-01-01T01:00:00Z"}});
  EXPECT_EQ(Room("gig")["state"], "not_open");
  clock_.Advance(absl::Minutes(10));
  Json j = Room("gig");
  EXPECT_EQ(j["state"], "prequeue");
  EXPECT_GE(j["eta_back_sec"].get<double>(), 600);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(Room("gig")["state"], "queueing");
  clock_.Advance(absl::Minutes(40));
  EXPECT_EQ(Room("gig")["state"], "closed");
  EXPECT_EQ(clock_.Now() - t0, absl::Hours(1));
}

// The operator's message reaches a user's status on their next poll, and leaves it when
// cleared; it is plain text, sent as JSON escapes it.
TEST_P(RoomStatusTest, QueueMessageInTheUsersStatus) {
  PutPolicy("msg", Json{{"active_capacity", 0}});
  const std::string token = JoinUser("msg", "a");
  auto r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_FALSE(Body(r).contains("message")) << r->body;
  const std::string message = "Verkauf ab 10:30 <b>\"&\"</b> 판매";
  PutPolicy("msg", Json{{"queue_message", message}});
  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["message"], message) << r->body;
  // A join sees it at once.
  auto joined = Post("/api/v1/queue/join", Json{{"event_id", "msg"}, {"user_id", "b"}}.dump());
  ASSERT_TRUE(joined);
  EXPECT_EQ(Body(joined)["message"], message) << joined->body;
  r = Get("/admin/v1/events/msg/policy", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["queue_message"], message);
  // Refused: control characters and more than 280 characters.
  ExpectError(Put("/admin/v1/events/msg/policy", Json{{"queue_message", "a\nb"}}.dump(),
                  Bearer(kAdminToken)),
              400, "invalid_argument");
  ExpectError(Put("/admin/v1/events/msg/policy",
                  Json{{"queue_message", std::string(281, 'x')}}.dump(), Bearer(kAdminToken)),
              400, "invalid_argument");
  PutPolicy("msg", Json{{"queue_message", ""}});
  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_FALSE(Body(r).contains("message")) << r->body;
}

INSTANTIATE_TEST_SUITE_P(Stores, RoomStatusTest,
                         ::testing::Values(std::string("memory")
#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
                                               ,
                                           std::string("redis")
#endif
                                               ),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace admission::gateway
