// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticket flow over HTTP, against the in-memory store and against a real redis-server:
// join, wait, enter, hold, pay (approve) -> CONFIRMED and seats SOLD; the fail, delay and
// expiry paths; Idempotency-Key replays of a hold; dead letters; and every error code of the
// ticketing routes.
//
// The gateway runs in this process (the real Gateway class on a free loopback port, driven by
// an HTTP client), so that time is a SimulatedClock shared by the room, the ticketing store and
// the token checks, and the worker is stepped by the test after each clock move: nothing here
// sleeps to pass. (gateway_ticketing_process_test.cc runs the real binary with its worker
// thread.)
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server.h"
#include "signer.h"
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

constexpr char kAdminToken[] = "ticketing-admin";
constexpr char kSecret[] = "ticketing-secret";

using admission::gateway::testing::Bearer;
using admission::gateway::testing::Body;
using admission::gateway::testing::ExpectError;
using admission::gateway::testing::GatewayClient;

// A Gateway on a free loopback port, over the store named by the test parameter, with every
// clock a SimulatedClock and the worker left to the test (--worker=false).
class TicketingGatewayTest : public ::testing::TestWithParam<std::string>, protected GatewayClient {
 protected:
  // The flags of every test; a test changes them before calling StartGateway().
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
  }

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
  // One redis-server for the suite, started by the first Redis test; each test uses a key
  // prefix of its own.
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
      redis_options.key_prefix = absl::StrCat("tkgw", ++run);
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
    port_ = *port;
    serving_ = std::thread([this] { gateway_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_connection_timeout(std::chrono::seconds(2));
    client_->set_read_timeout(std::chrono::seconds(10));
    // Stop() is only heard once the accept loop runs: wait until it answers (bounded).
    for (int i = 0; i < 500; ++i) {
      if (auto r = client_->Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the gateway did not answer /healthz";
  }

  void SetSeats(const std::string& event, const std::vector<std::string>& seats) {
    auto r = Put("/admin/v1/events/" + event + "/inventory", Json{{"seat_ids", seats}}.dump(),
                 Bearer(kAdminToken));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  void SetInventory(const std::string& event, const Json& body) {
    auto r = Put("/admin/v1/events/" + event + "/inventory", body.dump(), Bearer(kAdminToken));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  void SetPlaces(const std::string& event, int64_t n) {
    auto r = Put("/admin/v1/events/" + event + "/inventory", Json{{"general_admission", n}}.dump(),
                 Bearer(kAdminToken));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }

  struct Admission {
    std::string waiting_token;
    std::string reservation_token;  // the admission token from enter
  };
  // Join, one status poll (the heartbeat a page would send), enter.
  Admission Admit(const std::string& event, const std::string& user) {
    Admission a;
    auto r = Post("/api/v1/queue/join", Json{{"event_id", event}, {"user_id", user}}.dump());
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no response");
    if (!r || r->status != 202) return a;
    a.waiting_token = Body(r)["waiting_token"];
    r = Get("/api/v1/queue/status?token=" + a.waiting_token);
    EXPECT_TRUE(r && r->status == 200 && Body(r)["ready_for_entry"] == true)
        << (r ? r->body : "no response");
    r = Post("/api/v1/queue/enter", Json{{"waiting_token", a.waiting_token}}.dump());
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    if (!r || r->status != 200) return a;
    a.reservation_token = Body(r)["reservation_token"];
    return a;
  }

  // A hold; returns the 201 answer (or null, with a failure recorded).
  Json Hold(const Admission& a, const Json& body, const std::string& key) {
    auto r = Post("/api/v1/reservations", body.dump(), Bearer(a.reservation_token, key));
    EXPECT_TRUE(r);
    if (!r) return Json();
    EXPECT_EQ(r->status, 201) << r->body;
    return r->status == 201 ? Body(r) : Json();
  }

  Json Reservation(const std::string& token, const std::string& id) {
    auto r = Get("/api/v1/reservations/" + id, Bearer(token));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r && r->status == 200 ? Body(r) : Json();
  }

  Json Seats(const std::string& event) {
    auto r = Get("/api/v1/events/" + event + "/seats");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r && r->status == 200 ? Body(r) : Json();
  }

  std::string RoomStatus(const std::string& waiting_token) {
    auto r = Get("/api/v1/queue/status?token=" + waiting_token);
    return r && r->status == 200 ? Body(r).value("status", "") : "";
  }

  httplib::Result Pay(const std::string& token, const std::string& id, const std::string& scenario,
                      int64_t amount = 4999, const std::string& currency = "EUR") {
    return Post("/api/v1/payment/intent",
                Json{{"reservation_id", id},
                     {"amount", amount},
                     {"currency", currency},
                     {"scenario", scenario}}
                    .dump(),
                Bearer(token));
  }

  WorkerStep Step() {
    absl::StatusOr<WorkerStep> step = gateway_->ticketing().StepWorker();
    EXPECT_TRUE(step.ok()) << step.status();
    return step.ok() ? *step : WorkerStep{};
  }

  // A metric's value in /metrics ("" when absent).
  std::string Metric(const std::string& series) {
    auto r = Get("/metrics");
    if (!r) return "";
    const std::string needle = series + " ";
    const std::size_t at = r->body.find("\n" + needle);
    if (at == std::string::npos) return "";
    const std::size_t begin = at + 1 + needle.size();
    return r->body.substr(begin, r->body.find('\n', begin) - begin);
  }

  SimulatedClock clock_;
  GatewayFlags flags_;
  int port_ = 0;
  std::unique_ptr<Gateway> gateway_;
  std::thread serving_;
};

TEST_P(TicketingGatewayTest, JoinWaitEnterHoldPayApproveIsConfirmedAndSold) {
  StartGateway();
  SetSeats("show", {"A-1", "A-2", "A-3"});
  const Admission a = Admit("show", "alice");
  ASSERT_FALSE(a.reservation_token.empty());
  EXPECT_EQ(RoomStatus(a.waiting_token), "active");

  const Json held = Hold(a, {{"event_id", "show"}, {"seat_ids", {"A-2"}}}, "hold-1");
  ASSERT_TRUE(held.is_object());
  EXPECT_EQ(held["status"], "HOLD");
  EXPECT_EQ(held["seat_ids"], Json::array({"A-2"}));
  EXPECT_EQ(held["hold_expires_at"],
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", clock_.Now() + absl::Seconds(60),
                             absl::UTCTimeZone()));
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];
  Json seats = Seats("show");
  EXPECT_EQ(seats["available"], 2);
  EXPECT_EQ(seats["held"], 1);
  EXPECT_EQ(seats["seats"][1], Json::object({{"seat_id", "A-2"}, {"state", "HELD"}}));

  auto paid = Pay(token, id, "approve");
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  EXPECT_EQ(Body(paid)["payment_event_type"], "payment_approved");
  // The payment ends the buyer's place in the room: the next buyer may come in.
  EXPECT_EQ(RoomStatus(a.waiting_token), "completed");
  // The outcome is the worker's to apply.
  EXPECT_EQ(Reservation(token, id)["status"], "HOLD");
  const WorkerStep step = Step();
  EXPECT_EQ(step.counts.succeeded, 1);

  const Json done = Reservation(token, id);
  EXPECT_EQ(done["status"], "CONFIRMED");
  seats = Seats("show");
  EXPECT_EQ(seats["sold"], 1);
  EXPECT_EQ(seats["held"], 0);
  EXPECT_EQ(seats["available"], 2);
  EXPECT_EQ(seats["seats"][1]["state"], "SOLD");
  // The admission token of a finished buyer holds nothing more.
  auto again = Post("/api/v1/reservations", Json{{"event_id", "show"}, {"quantity", 1}}.dump(),
                    Bearer(a.reservation_token, "hold-2"));
  ExpectError(again, 410, "gone");

  EXPECT_EQ(Metric("admission_ticketing_holds_total"), "1");
  EXPECT_EQ(Metric("admission_ticketing_confirmed_total"), "1");
  EXPECT_EQ(Metric("admission_ticketing_worker_applied_total"), "1");
  EXPECT_EQ(Metric("admission_event_seats{event=\"show\",state=\"sold\"}"), "1");
  EXPECT_EQ(Metric("admission_ticketing_queue_events{state=\"ready\"}"), "0");
}

TEST_P(TicketingGatewayTest, PaymentFailedCancelsAndSeatsComeBack) {
  StartGateway();
  SetPlaces("ga", 3);
  const Admission a = Admit("ga", "bob");
  const Json held = Hold(a, {{"event_id", "ga"}, {"quantity", 2}}, "hold-bob");
  ASSERT_TRUE(held.is_object());
  EXPECT_EQ(held["quantity"], 2);
  EXPECT_EQ(held["seat_ids"], Json::array());
  EXPECT_EQ(Seats("ga")["available"], 1);
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];

  auto paid = Pay(token, id, "fail");
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  EXPECT_EQ(Body(paid)["payment_event_type"], "payment_failed");
  EXPECT_EQ(Step().counts.succeeded, 1);
  EXPECT_EQ(Reservation(token, id)["status"], "CANCELLED");
  const Json seats = Seats("ga");
  EXPECT_EQ(seats["available"], 3);
  EXPECT_EQ(seats["sold"], 0);
  EXPECT_FALSE(seats.contains("seats"));  // general admission: counts only
  EXPECT_EQ(Metric("admission_ticketing_cancelled_total"), "1");
}

TEST_P(TicketingGatewayTest, AHoldThatRunsOutExpiresThroughTheWorker) {
  flags_.hold_ttl_sec = 60;
  StartGateway();
  SetSeats("late", {"S-1", "S-2"});
  const Admission a = Admit("late", "carol");
  const Json held = Hold(a, {{"event_id", "late"}, {"seat_ids", {"S-1", "S-2"}}}, "hold-carol");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];

  // One second before the end nothing is due.
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(*gateway_->ticketing().PublishExpiredHolds(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*gateway_->ticketing().PublishExpiredHolds(), 1);
  // Publishing the same expiry again changes nothing.
  EXPECT_EQ(*gateway_->ticketing().PublishExpiredHolds(), 0);
  EXPECT_EQ(Step().counts.succeeded, 1);

  // The admission token (30 s) has expired by now; the reservation's own token still reads it.
  auto r = Get("/api/v1/reservations/" + id, Bearer(a.reservation_token));
  ExpectError(r, 401, "unauthorized");
  EXPECT_EQ(Reservation(token, id)["status"], "EXPIRED");
  const Json seats = Seats("late");
  EXPECT_EQ(seats["available"], 2);
  EXPECT_EQ(seats["held"], 0);
  EXPECT_EQ(Metric("admission_ticketing_expired_total"), "1");
  EXPECT_EQ(Metric("admission_ticketing_expiries_published_total"), "1");
  // Too late to pay, or for the operator to confirm.
  ExpectError(Pay(token, id, "approve"), 409, "invalid_transition");
  ExpectError(Post("/admin/v1/reservations/" + id + "/confirm", "", Bearer(kAdminToken)), 409,
              "invalid_transition");
  // An expired hold leaves the buyer's place to the room's active TTL.
  EXPECT_EQ(RoomStatus(a.waiting_token), "active");
}

TEST_P(TicketingGatewayTest, ConfirmAfterTheHoldRanOutIsHoldExpired) {
  StartGateway();
  SetPlaces("edge", 5);
  const Admission a = Admit("edge", "dan");
  const Json held = Hold(a, {{"event_id", "edge"}, {"quantity", 1}}, "hold-dan");
  ASSERT_TRUE(held.is_object());
  clock_.Advance(absl::Seconds(61));
  const std::string id = held["reservation_id"];
  ExpectError(Post("/admin/v1/reservations/" + id + "/confirm", "{}", Bearer(kAdminToken)), 409,
              "hold_expired");
  EXPECT_EQ(Reservation(held["reservation_token"], held["reservation_id"])["status"], "EXPIRED");
  EXPECT_EQ(Seats("edge")["available"], 5);
}

TEST_P(TicketingGatewayTest, DelayedApprovalIsAppliedWhenItArrives) {
  flags_.payment_delay_sec = 5;
  StartGateway();
  SetSeats("slow", {"B-1"});
  const Admission a = Admit("slow", "erin");
  const Json held = Hold(a, {{"event_id", "slow"}, {"quantity", 1}}, "hold-erin");
  ASSERT_TRUE(held.is_object());
  EXPECT_EQ(held["seat_ids"],
            Json::array({"B-1"}));  // quantity on named seats: the first free ones
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];
  auto paid = Pay(token, id, "delay");
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  EXPECT_EQ(Body(paid)["apply_after"],
            absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", clock_.Now() + absl::Seconds(5),
                             absl::UTCTimeZone()));
  EXPECT_EQ(Step().counts.claimed, 0);
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(Step().counts.claimed, 0);
  EXPECT_EQ(Reservation(token, id)["status"], "HOLD");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Step().counts.succeeded, 1);
  EXPECT_EQ(Reservation(token, id)["status"], "CONFIRMED");
  EXPECT_EQ(Seats("slow")["sold"], 1);
}

TEST_P(TicketingGatewayTest, IdempotentHoldReplaysTheSameReservation) {
  StartGateway();
  SetInventory("idem", {{"general_admission", 10}, {"limits", {{"holds_per_user", 2}}}});
  const Admission a = Admit("idem", "frank");
  const std::string body = Json{{"event_id", "idem"}, {"quantity", 2}}.dump();
  auto first = Post("/api/v1/reservations", body, Bearer(a.reservation_token, "key-1"));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201) << first->body;
  EXPECT_FALSE(first->has_header("Idempotent-Replay"));
  clock_.Advance(absl::Seconds(1));  // a retry comes later
  auto replay = Post("/api/v1/reservations", body, Bearer(a.reservation_token, "key-1"));
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 201) << replay->body;
  EXPECT_EQ(replay->get_header_value("Idempotent-Replay"), "true");
  EXPECT_EQ(Body(replay)["reservation_id"], Body(first)["reservation_id"]);
  EXPECT_EQ(replay->body, first->body);
  // Never a second hold.
  EXPECT_EQ(Seats("idem")["held"], 2);
  // The same key for another request is a conflict; a missing key is refused.
  ExpectError(Post("/api/v1/reservations", Json{{"event_id", "idem"}, {"quantity", 3}}.dump(),
                   Bearer(a.reservation_token, "key-1")),
              409, "request_key_reused");
  ExpectError(Post("/api/v1/reservations", body, Bearer(a.reservation_token)), 400,
              "invalid_argument");
  EXPECT_EQ(Seats("idem")["held"], 2);
  // A second hold with a fresh key is a second reservation (the buyer asked twice).
  auto second = Post("/api/v1/reservations", body, Bearer(a.reservation_token, "key-2"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 201) << second->body;
  EXPECT_NE(Body(second)["reservation_id"], Body(first)["reservation_id"]);
  EXPECT_EQ(Seats("idem")["held"], 4);
}

TEST_P(TicketingGatewayTest, TokensAreCheckedAndScoped) {
  StartGateway();
  SetInventory("auth", {{"general_admission", 10}, {"limits", {{"holds_per_user", 2}}}});
  SetPlaces("other", 10);
  const Admission a = Admit("auth", "gina");
  const std::string hold_body = Json{{"event_id", "auth"}, {"quantity", 1}}.dump();
  // Missing, tampered, signed with another secret.
  auto r = Post("/api/v1/reservations", hold_body, {{"Idempotency-Key", "k0"}});
  ExpectError(r, 401, "unauthorized");
  EXPECT_FALSE(r->get_header_value("WWW-Authenticate").empty());
  std::string tampered = a.reservation_token;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  ExpectError(Post("/api/v1/reservations", hold_body, Bearer(tampered, "k1")), 401, "unauthorized");
  ReservationClaims forged;
  forged.event_id = "auth";
  forged.user_id = "gina";
  forged.waiting_token = a.waiting_token;
  forged.reservation_id = "auth.00000000000000000000000000000000";
  forged.expires_at = clock_.Now() + absl::Minutes(5);
  ExpectError(Post("/api/v1/reservations", hold_body,
                   Bearer(TokenSigner("not-the-secret").Sign(forged), "k2")),
              401, "unauthorized");
  // Another event than the token's.
  ExpectError(Post("/api/v1/reservations", Json{{"event_id", "other"}, {"quantity", 1}}.dump(),
                   Bearer(a.reservation_token, "k3")),
              403, "forbidden");

  const Json held = Hold(a, {{"event_id", "auth"}, {"quantity", 1}}, "k4");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  const std::string scoped = held["reservation_token"];
  // The scoped token acts on its reservation only, and takes no holds.
  ExpectError(Post("/api/v1/reservations", hold_body, Bearer(scoped, "k5")), 403, "forbidden");
  const Json other = Hold(a, {{"event_id", "auth"}, {"quantity", 1}}, "k6");
  ASSERT_TRUE(other.is_object());
  ExpectError(
      Get("/api/v1/reservations/" + other["reservation_id"].get<std::string>(), Bearer(scoped)),
      403, "forbidden");
  // The admission token reads every reservation of its user.
  EXPECT_EQ(Reservation(a.reservation_token, id)["reservation_id"], id);
  // Another user's token does not see it at all.
  const Admission b = Admit("auth", "hank");
  ExpectError(Get("/api/v1/reservations/" + id, Bearer(b.reservation_token)), 404, "not_found");
  ExpectError(Post("/api/v1/reservations/" + id + "/cancel", "", Bearer(b.reservation_token)), 404,
              "not_found");
  ExpectError(Pay(b.reservation_token, id, "approve"), 404, "not_found");

  // The admission token lives 30 s (the policy's reservation_ttl).
  clock_.Advance(absl::Seconds(30));
  r = Post("/api/v1/reservations", hold_body, Bearer(a.reservation_token, "k7"));
  ExpectError(r, 401, "unauthorized");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("expired"), std::string::npos);
  // The scoped one outlives the hold by 15 minutes.
  EXPECT_EQ(Reservation(scoped, id)["status"], "HOLD");
  clock_.Advance(absl::Seconds(30) + kScopedTokenGrace);
  ExpectError(Get("/api/v1/reservations/" + id, Bearer(scoped)), 401, "unauthorized");
}

TEST_P(TicketingGatewayTest, SoldOutAndTakenSeatsAre409) {
  StartGateway();
  SetSeats("named", {"N-1", "N-2"});
  SetPlaces("tiny", 1);
  const Admission a = Admit("named", "ivan");
  const Admission b = Admit("named", "judy");
  ASSERT_TRUE(Hold(a, {{"event_id", "named"}, {"seat_ids", {"N-1"}}}, "a1").is_object());
  ExpectError(
      Post("/api/v1/reservations", Json{{"event_id", "named"}, {"seat_ids", {"N-1", "N-2"}}}.dump(),
           Bearer(b.reservation_token, "b1")),
      409, "seat_unavailable");
  // All or none: N-2 was not taken by the refused request.
  EXPECT_EQ(Seats("named")["available"], 1);
  ExpectError(Post("/api/v1/reservations", Json{{"event_id", "named"}, {"quantity", 2}}.dump(),
                   Bearer(b.reservation_token, "b2")),
              409, "sold_out");
  ExpectError(
      Post("/api/v1/reservations", Json{{"event_id", "named"}, {"seat_ids", {"Z-9"}}}.dump(),
           Bearer(b.reservation_token, "b3")),
      400, "invalid_argument");

  const Admission c = Admit("tiny", "kim");
  const Admission d = Admit("tiny", "leo");
  ASSERT_TRUE(Hold(c, {{"event_id", "tiny"}, {"quantity", 1}}, "c1").is_object());
  ExpectError(Post("/api/v1/reservations", Json{{"event_id", "tiny"}, {"quantity", 1}}.dump(),
                   Bearer(d.reservation_token, "d1")),
              409, "sold_out");
}

TEST_P(TicketingGatewayTest, CancelGivesTheSeatsBackAndEndsTheAdmission) {
  StartGateway();
  SetSeats("cx", {"C-1"});
  const Admission a = Admit("cx", "mia");
  const Json held = Hold(a, {{"event_id", "cx"}, {"seat_ids", {"C-1"}}}, "mia-1");
  ASSERT_TRUE(held.is_object());
  const std::string path = "/api/v1/reservations/" + held["reservation_id"].get<std::string>();
  auto r = Post(path + "/cancel", "", Bearer(held["reservation_token"]));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["status"], "CANCELLED");
  EXPECT_EQ(Seats("cx")["available"], 1);
  EXPECT_EQ(RoomStatus(a.waiting_token), "completed");
  // Cancelling again changes nothing; confirming a cancelled reservation is refused.
  r = Post(path + "/cancel", "{}", Bearer(held["reservation_token"]));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ExpectError(
      Post("/admin/v1/reservations/" + held["reservation_id"].get<std::string>() + "/confirm", "",
           Bearer(kAdminToken)),
      409, "invalid_transition");
  EXPECT_EQ(Metric("admission_ticketing_cancelled_total"), "1");
}

TEST_P(TicketingGatewayTest, BuyersCannotConfirmTheOperatorCan) {
  StartGateway();
  SetSeats("direct", {"D-1", "D-2"});
  const Admission a = Admit("direct", "nina");
  const Json held = Hold(a, {{"event_id", "direct"}, {"seat_ids", {"D-2"}}}, "nina-1");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  const std::string path = "/api/v1/reservations/" + id;
  // Neither token of the buyer confirms: the seat would be theirs without a payment.
  int key = 0;
  for (const std::string& token :
       {held["reservation_token"].get<std::string>(), a.reservation_token}) {
    auto r = Post(path + "/confirm", "", Bearer(token, absl::StrCat("confirm-", ++key)));
    ExpectError(r, 403, "forbidden");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("payment"), std::string::npos);
  }
  ExpectError(Post(path + "/confirm", ""), 401, "unauthorized");
  EXPECT_EQ(Reservation(held["reservation_token"], id)["status"], "HOLD");
  EXPECT_EQ(Seats("direct")["seats"][1]["state"], "HELD");

  // The operator can, with the admin token.
  const std::string admin_path = "/admin/v1/reservations/" + id + "/confirm";
  ExpectError(Post(admin_path, ""), 401, "unauthorized");
  ExpectError(Post(admin_path, "", Bearer(held["reservation_token"])), 403, "forbidden");
  ExpectError(Post(admin_path, R"({"force":true})", Bearer(kAdminToken)), 400, "invalid_argument");
  auto r = Post(admin_path, "", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["status"], "CONFIRMED");
  EXPECT_EQ(Seats("direct")["seats"][1]["state"], "SOLD");
  EXPECT_EQ(Metric("admission_ticketing_confirmed_total"), "1");
  // Again: unchanged. A cancel of a sold reservation is refused.
  r = Post(admin_path, "{}", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Metric("admission_ticketing_confirmed_total"), "1");
  ExpectError(Post(path + "/cancel", "", Bearer(held["reservation_token"])), 409,
              "invalid_transition");
  ExpectError(Post("/admin/v1/reservations/direct.00000000000000000000000000000000/confirm", "",
                   Bearer(kAdminToken)),
              404, "not_found");
  ExpectError(Post("/admin/v1/reservations/nonsense/confirm", "", Bearer(kAdminToken)), 400,
              "invalid_argument");
}

TEST_P(TicketingGatewayTest, PricesAreShownAndAHoldCarriesItsTotal) {
  StartGateway();
  auto r = Put("/admin/v1/events/priced/inventory",
               Json{{"seat_ids", {"P-1", "P-2", "P-3"}},
                    {"currency", "EUR"},
                    {"price", 4500},
                    {"seat_prices", {{"P-1", 9900}}},
                    {"limits", {{"seats_per_hold", 2}}}}
                   .dump(),
               Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["currency"], "EUR");
  EXPECT_EQ(Body(r)["limits"],
            Json({{"seats_per_hold", 2}, {"holds_per_user", 1}, {"seats_per_user", 10}}));
  Json seats = Seats("priced");
  EXPECT_EQ(seats["currency"], "EUR");
  EXPECT_EQ(seats["price"], 4500);
  EXPECT_EQ(seats["seats"][0], Json({{"seat_id", "P-1"}, {"state", "AVAILABLE"}, {"price", 9900}}));
  EXPECT_EQ(seats["seats"][2]["price"], 4500);

  const Admission a = Admit("priced", "ulla");
  ExpectError(Post("/api/v1/reservations", Json{{"event_id", "priced"}, {"quantity", 3}}.dump(),
                   Bearer(a.reservation_token, "u-0")),
              409, "hold_too_large");
  const Json held = Hold(a, {{"event_id", "priced"}, {"seat_ids", {"P-1", "P-3"}}}, "u-1");
  ASSERT_TRUE(held.is_object());
  EXPECT_EQ(held["total"], 14400);
  EXPECT_EQ(held["currency"], "EUR");
  // A later price change leaves the hold's total alone.
  SetInventory("priced",
               {{"seat_ids", {"P-1", "P-2", "P-3"}}, {"currency", "EUR"}, {"price", 100}});
  EXPECT_EQ(Reservation(held["reservation_token"], held["reservation_id"])["total"], 14400);
  EXPECT_EQ(Seats("priced")["seats"][0]["price"], 100);
  // Without prices: no total, and the seats show none.
  SetPlaces("free", 5);
  EXPECT_FALSE(Seats("free").contains("currency"));
  const Admission b = Admit("free", "vera");
  const Json free_hold = Hold(b, {{"event_id", "free"}, {"quantity", 1}}, "v-1");
  ASSERT_TRUE(free_hold.is_object());
  EXPECT_FALSE(free_hold.contains("total"));
}

TEST_P(TicketingGatewayTest, APaymentMustPayTheHoldsTotal) {
  StartGateway();
  SetInventory("gala", {{"general_admission", 100}, {"currency", "EUR"}, {"price", 2500}});
  const Admission a = Admit("gala", "walt");
  const Json held = Hold(a, {{"event_id", "gala"}, {"quantity", 2}}, "w-1");
  ASSERT_TRUE(held.is_object());
  ASSERT_EQ(held["total"], 5000);
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];
  for (const auto& [amount, currency] :
       {std::pair<int64_t, std::string>{1, "EUR"}, {4999, "EUR"}, {5001, "EUR"}, {5000, "USD"}}) {
    auto r = Pay(token, id, "approve", amount, currency);
    ExpectError(r, 422, "amount_mismatch");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("5000 EUR"), std::string::npos)
        << r->body;
  }
  // Nothing was queued, and the buyer is still in: the exact amount goes through.
  EXPECT_EQ(Step().counts.claimed, 0);
  EXPECT_EQ(RoomStatus(a.waiting_token), "active");
  auto paid = Pay(token, id, "approve", 5000, "EUR");
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  EXPECT_EQ(Body(paid)["amount"], 5000);
  EXPECT_EQ(Step().counts.succeeded, 1);
  EXPECT_EQ(Reservation(token, id)["status"], "CONFIRMED");
  EXPECT_EQ(Seats("gala")["sold"], 2);
}

TEST_P(TicketingGatewayTest, AWrongAmountThatReachesTheWorkerIsParkedNotConfirmed) {
  // Money for the wrong total (a provider that took another amount than the intent's): the
  // worker does not confirm, it parks the message for a person.
  StartGateway();
  SetInventory("wrong", {{"general_admission", 10}, {"currency", "EUR"}, {"price", 3000}});
  const Admission a = Admit("wrong", "xena");
  const Json held = Hold(a, {{"event_id", "wrong"}, {"quantity", 1}}, "x-1");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  ASSERT_TRUE(gateway_->ticketing().events().Publish(PaymentApprovedMessage(id, 30, "EUR")).ok());
  EXPECT_EQ(Step().counts.parked, 1);
  EXPECT_EQ(Reservation(held["reservation_token"], id)["status"], "HOLD");
  auto r = Get("/admin/v1/dead-letters", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  const std::string error = Body(r)["dead_letters"][0]["error"];
  EXPECT_NE(error.find("30 EUR does not match"), std::string::npos) << error;
  // The operator, having settled it, confirms by hand.
  r = Post("/admin/v1/reservations/" + id + "/confirm", "", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Seats("wrong")["sold"], 1);
}

TEST_P(TicketingGatewayTest, OneAdmissionCannotHoardTheHall) {
  // Reported: one admission made 58 holds of 100 seats each in 10 s with fresh
  // Idempotency-Keys. With the default limits it gets one hold of at most 10 seats.
  StartGateway();
  SetPlaces("hall", 20000);
  EXPECT_EQ(Seats("hall")["limits"],
            Json({{"seats_per_hold", 10}, {"holds_per_user", 1}, {"seats_per_user", 10}}));
  const Admission a = Admit("hall", "hoarder");
  const httplib::Headers auth = Bearer(a.reservation_token);
  int created = 0;
  std::map<std::string, int> refused;
  for (int i = 0; i < 58; ++i) {
    for (int64_t quantity : {int64_t{100}, int64_t{10}}) {
      auto r =
          Post("/api/v1/reservations", Json{{"event_id", "hall"}, {"quantity", quantity}}.dump(),
               Bearer(a.reservation_token, absl::StrCat("hoard-", i, "-", quantity)));
      ASSERT_TRUE(r);
      if (r->status == 201) {
        ++created;
      } else {
        ASSERT_EQ(r->status, 409) << r->body;
        ++refused[Body(r)["error"]["code"]];
      }
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(refused["hold_too_large"], 58);
  EXPECT_EQ(refused["hold_limit"], 57);
  EXPECT_EQ(Seats("hall")["held"], 10);

  // The same from many connections at once: one hold wins, whatever the timing.
  const Admission b = Admit("hall", "racer");
  constexpr int kThreads = 24;
  std::atomic<int> won{0};
  std::atomic<int> limited{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", port_);
      client.set_read_timeout(std::chrono::seconds(10));
      auto r = client.Post("/api/v1/reservations",
                           {{"Authorization", "Bearer " + b.reservation_token},
                            {"Idempotency-Key", absl::StrCat("race-", i)}},
                           Json{{"event_id", "hall"}, {"quantity", 5}}.dump(), "application/json");
      if (r && r->status == 201) {
        ++won;
      } else if (r && r->status == 409 && r->body.find("hold_limit") != std::string::npos) {
        ++limited;
      } else {
        ADD_FAILURE() << (r ? r->body : "no response");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(limited.load(), kThreads - 1);
  EXPECT_EQ(Seats("hall")["held"], 15);
}

TEST_P(TicketingGatewayTest, BoughtSeatsCountAgainstTheBuyerInTheNextAdmission) {
  // The same user joining twice: the back end says who it is.
  flags_.identity = "trusted";
  StartGateway();
  SetInventory("tour", {{"general_admission", 100},
                        {"currency", "EUR"},
                        {"price", 1000},
                        {"limits", {{"seats_per_user", 6}}}});
  const Admission first = Admit("tour", "yuri");
  const Json held = Hold(first, {{"event_id", "tour"}, {"quantity", 4}}, "y-1");
  ASSERT_TRUE(held.is_object());
  auto paid = Pay(held["reservation_token"], held["reservation_id"], "approve", 4000);
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  EXPECT_EQ(Step().counts.succeeded, 1);
  // Back in line, admitted again: 2 more seats at most.
  const Admission second = Admit("tour", "yuri");
  ASSERT_FALSE(second.reservation_token.empty());
  auto r = Post("/api/v1/reservations", Json{{"event_id", "tour"}, {"quantity", 3}}.dump(),
                Bearer(second.reservation_token, "y-2"));
  ExpectError(r, 409, "user_limit");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("4 are held or bought"),
            std::string::npos);
  EXPECT_TRUE(Hold(second, {{"event_id", "tour"}, {"quantity", 2}}, "y-3").is_object());
}

TEST_P(TicketingGatewayTest, OnePaymentIntentPerReservation) {
  StartGateway();
  SetPlaces("pay", 4);
  const Admission a = Admit("pay", "olga");
  const Json held = Hold(a, {{"event_id", "pay"}, {"quantity", 1}}, "olga-1");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  const std::string token = held["reservation_token"];
  auto first = Pay(token, id, "approve");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  // The same intent again (a retry without Idempotency-Key) gets the same answer...
  auto again = Pay(token, id, "approve");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 202);
  EXPECT_EQ(again->body, first->body);
  // ...another one is refused, so the worker never sees two outcomes.
  ExpectError(Pay(token, id, "fail"), 409, "payment_exists");
  ExpectError(Pay(token, id, "approve", 1), 409, "payment_exists");
  EXPECT_EQ(Step().counts.succeeded, 1);
  EXPECT_EQ(Reservation(token, id)["status"], "CONFIRMED");
  // A late retry still gets the first answer; the queue took the message once.
  auto late = Pay(token, id, "approve");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 202);
  EXPECT_EQ(late->body, first->body);
  EXPECT_EQ(Step().counts.claimed, 0);
  // A reservation that ended unpaid cannot be paid for.
  const Admission b = Admit("pay", "olaf");
  const Json other = Hold(b, {{"event_id", "pay"}, {"quantity", 1}}, "olaf-1");
  ASSERT_TRUE(other.is_object());
  const std::string other_id = other["reservation_id"];
  const std::string other_token = other["reservation_token"];
  auto cancelled = Post("/api/v1/reservations/" + other_id + "/cancel", "", Bearer(other_token));
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  ExpectError(Pay(other_token, other_id, "approve"), 409, "invalid_transition");
}

TEST_P(TicketingGatewayTest, BadInputGetsJsonErrors) {
  StartGateway();
  SetSeats("bad", {"X-1"});
  const Admission a = Admit("bad", "pete");
  const httplib::Headers h = Bearer(a.reservation_token, "bad-1");
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string("{\"event_id\":7}"),
        Json{{"event_id", "bad"}}.dump(), Json{{"event_id", "bad"}, {"quantity", 0}}.dump(),
        Json{{"event_id", "bad"}, {"quantity", -1}}.dump(),
        Json{{"event_id", "bad"}, {"quantity", 101}}.dump(),
        Json{{"event_id", "bad"}, {"quantity", "2"}}.dump(),
        Json{{"event_id", "bad"}, {"quantity", 1.5}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", "X-1"}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", {1}}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", Json::array()}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", {"X-1", "X-1"}}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", {"bad seat"}}}.dump(),
        Json{{"event_id", "bad"}, {"seat_ids", {std::string(65, 'a')}}}.dump(),
        Json{{"event_id", "bad"}, {"quantity", 1}, {"extra", true}}.dump(),
        Json{{"event_id", std::string(65, 'e')}, {"quantity", 1}}.dump()}) {
    httplib::Headers fresh = h;
    fresh.erase("Idempotency-Key");
    fresh.emplace("Idempotency-Key", "bad-" + std::to_string(std::hash<std::string>()(body)));
    ExpectError(Post("/api/v1/reservations", body, fresh), 400, "invalid_argument");
  }
  ExpectError(
      Post("/api/v1/reservations", Json{{"event_id", "bad"}, {"quantity", 1}}.dump(),
           {{"Authorization", "Bearer " + a.reservation_token}, {"Idempotency-Key", "has space"}}),
      400, "invalid_argument");
  ExpectError(Post("/api/v1/reservations", std::string(17 * 1024, ' '), h), 413,
              "payload_too_large");
  // Reservations that do not exist or cannot exist.
  ExpectError(
      Get("/api/v1/reservations/bad.0123456789abcdef0123456789abcdef", Bearer(a.reservation_token)),
      404, "not_found");
  ExpectError(Get("/api/v1/reservations/nonsense", Bearer(a.reservation_token)), 400,
              "invalid_argument");
  ExpectError(Get("/api/v1/reservations/" + std::string(300, 'x'), Bearer(a.reservation_token)),
              404, "not_found");
  // Payment intents.
  for (const Json& body : {Json{{"reservation_id", "bad.0123456789abcdef0123456789abcdef"},
                                {"amount", 10},
                                {"currency", "eur"},
                                {"scenario", "approve"}},
                           Json{{"reservation_id", "x"}, {"amount", 10}, {"currency", "EUR"}},
                           Json{{"reservation_id", "bad.0123456789abcdef0123456789abcdef"},
                                {"amount", 0},
                                {"currency", "EUR"},
                                {"scenario", "approve"}},
                           Json{{"reservation_id", "bad.0123456789abcdef0123456789abcdef"},
                                {"amount", 10},
                                {"currency", "EUR"},
                                {"scenario", "maybe"}}}) {
    ExpectError(Post("/api/v1/payment/intent", body.dump(), Bearer(a.reservation_token)), 400,
                "invalid_argument");
  }
  ExpectError(Pay(a.reservation_token, "bad.0123456789abcdef0123456789abcdef", "approve"), 404,
              "not_found");
  // Seats.
  ExpectError(Get("/api/v1/events/nothing-here/seats"), 404, "not_found");
  ExpectError(Get("/api/v1/events/bad/seats?seats=maybe"), 400, "invalid_argument");
  EXPECT_FALSE(Body(Get("/api/v1/events/bad/seats?seats=false")).contains("seats"));
  // Routes and methods.
  auto r = Get("/api/v1/reservations");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  ExpectError(Get("/api/v1/payment/intent"), 405, "method_not_allowed");
  ExpectError(Post("/api/v1/events/bad/seats", "{}"), 405, "method_not_allowed");
  ExpectError(Get("/api/v1/reservations/a/b/c"), 404, "not_found");
  // A hold on an event without inventory.
  const Admission b = Admit("no-inventory", "quinn");
  ExpectError(
      Post("/api/v1/reservations", Json{{"event_id", "no-inventory"}, {"quantity", 1}}.dump(),
           Bearer(b.reservation_token, "q-1")),
      404, "not_found");
}

TEST_P(TicketingGatewayTest, InventoryIsAnAdminCall) {
  StartGateway();
  const std::string path = "/admin/v1/events/inv/inventory";
  ExpectError(Put(path, Json{{"general_admission", 5}}.dump()), 401, "unauthorized");
  ExpectError(Put(path, Json{{"general_admission", 5}}.dump(), {{"Authorization", "Bearer no"}}),
              403, "forbidden");
  for (const Json& body :
       {Json::object(), Json{{"general_admission", 5}, {"seat_ids", {"A"}}},
        Json{{"general_admission", 0}}, Json{{"general_admission", "5"}},
        Json{{"seat_ids", Json::array()}}, Json{{"seat_ids", {"A", "A"}}},
        Json{{"seat_ids", {"has space"}}}, Json{{"capacity", 5}},
        // Prices and limits.
        Json{{"general_admission", 5}, {"price", 100}},
        Json{{"general_admission", 5}, {"currency", "EUR"}},
        Json{{"general_admission", 5}, {"currency", "eur"}, {"price", 100}},
        Json{{"general_admission", 5}, {"currency", 978}, {"price", 100}},
        Json{{"general_admission", 5}, {"currency", "EUR"}, {"price", 0}},
        Json{{"general_admission", 5}, {"currency", "EUR"}, {"price", 1.5}},
        Json{{"general_admission", 5}, {"currency", "EUR"}, {"price", "1"}},
        Json{{"seat_ids", {"A"}}, {"currency", "EUR"}, {"seat_prices", {1}}},
        Json{{"seat_ids", {"A"}}, {"currency", "EUR"}, {"seat_prices", {{"B", 1}}}},
        Json{{"seat_ids", {"A"}}, {"currency", "EUR"}, {"seat_prices", {{"A", -1}}}},
        Json{{"seat_ids", {"A", "B"}}, {"currency", "EUR"}, {"seat_prices", {{"A", 5}}}},
        Json{{"general_admission", 5}, {"limits", 3}},
        Json{{"general_admission", 5}, {"limits", {{"seats_per_hold", 0}}}},
        Json{{"general_admission", 5}, {"limits", {{"seats_per_hold", 101}}}},
        Json{{"general_admission", 5}, {"limits", {{"holds_per_user", 0}}}},
        Json{{"general_admission", 5}, {"limits", {{"seats_per_user", "9"}}}},
        Json{{"general_admission", 5}, {"limits", {{"per_ip", 1}}}}}) {
    ExpectError(Put(path, body.dump(), Bearer(kAdminToken)), 400, "invalid_argument");
  }
  auto r = Put(path, Json{{"general_admission", 5}}.dump(), Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["total"], 5);
  EXPECT_EQ(Body(r)["kind"], "general_admission");
  // Shrinking below what is held is refused.
  const Admission a = Admit("inv", "rosa");
  ASSERT_TRUE(Hold(a, {{"event_id", "inv"}, {"quantity", 3}}, "rosa-1").is_object());
  ExpectError(Put(path, Json{{"general_admission", 2}}.dump(), Bearer(kAdminToken)), 409,
              "inventory_in_use");
  r = Put(path, Json{{"general_admission", 8}}.dump(), Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["available"], 5);
  EXPECT_EQ(Body(r)["held"], 3);
}

TEST_P(TicketingGatewayTest, ApprovalAfterTheHoldIsADeadLetterThatCanBeReplayed) {
  // A provider that answers after the hold ran out: money for seats that went back. The
  // handler refuses it as permanent, so the worker parks it at once.
  flags_.payment_delay_sec = 90;
  StartGateway();
  SetPlaces("dl", 2);
  const Admission a = Admit("dl", "sam");
  const Json held = Hold(a, {{"event_id", "dl"}, {"quantity", 1}}, "sam-1");
  ASSERT_TRUE(held.is_object());
  const std::string id = held["reservation_id"];
  auto paid = Pay(held["reservation_token"], id, "delay");
  ASSERT_TRUE(paid);
  ASSERT_EQ(paid->status, 202) << paid->body;
  clock_.Advance(absl::Seconds(90));
  EXPECT_EQ(Step().counts.parked, 1);

  ExpectError(Get("/admin/v1/dead-letters"), 401, "unauthorized");
  auto r = Get("/admin/v1/dead-letters", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Json j = Body(r);
  ASSERT_EQ(j["dead_letters"].size(), 1u) << r->body;
  EXPECT_EQ(j["dead_letters"][0]["id"], "payment_approved:" + id);
  EXPECT_EQ(j["dead_letters"][0]["type"], "payment_approved");
  EXPECT_EQ(j["dead_letters"][0]["payload"], id + " 4999 EUR");
  EXPECT_EQ(j["queue"]["dead"], 1);
  EXPECT_EQ(Metric("admission_ticketing_worker_parked_total"), "1");
  ExpectError(Get("/admin/v1/dead-letters?limit=0", Bearer(kAdminToken)), 400, "invalid_argument");

  // Replayed, it fails the same way and is parked again; the seat stays available.
  r = Post("/admin/v1/dead-letters/payment_approved:" + id + "/replay", "", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Step().counts.parked, 1);
  EXPECT_EQ(Seats("dl")["available"], 2);
  ExpectError(Post("/admin/v1/dead-letters/payment_approved:dl.00000000000000000000000000000000/"
                   "replay",
                   "", Bearer(kAdminToken)),
              404, "not_found");
  ExpectError(Post("/admin/v1/dead-letters/bad%20id/replay", "", Bearer(kAdminToken)), 400,
              "invalid_argument");
}

// ---------------------------------------------------------------------------------------------
// Fair openings through the admin API and the queue routes (docs/rules.md, "Fair openings").

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

TEST_P(TicketingGatewayTest, ScheduledOpeningPrequeuesDrawsAndCloses) {
  StartGateway();
  const absl::Time t0 = clock_.Now();
  auto r = Put("/admin/v1/events/gala/policy",
               Json{{"prequeue_opens_at", Rfc3339(t0 + absl::Minutes(1))},
                    {"opens_at", Rfc3339(t0 + absl::Minutes(5))},
                    {"closes_at", Rfc3339(t0 + absl::Hours(1))}}
                   .dump(),
               Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["opens_at"], Rfc3339(t0 + absl::Minutes(5)));
  EXPECT_EQ(Body(r)["method"], "fifo");

  // Before the pre-queue opens: refused, with when to come back.
  r = Post("/api/v1/queue/join", Json{{"event_id", "gala"}, {"user_id", "early"}}.dump());
  ExpectError(r, 409, "not_open_yet");
  EXPECT_EQ(Body(r)["error"]["opens_at"], Rfc3339(t0 + absl::Minutes(1)));
  EXPECT_EQ(r->get_header_value("Retry-After"), "60");

  // In the pre-queue: a token, no place, the opening time.
  clock_.Advance(absl::Minutes(1));
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    r = Post("/api/v1/queue/join",
             Json{{"event_id", "gala"}, {"user_id", absl::StrCat("fan", i)}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    const Json j = Body(r);
    EXPECT_EQ(j["status"], "prequeue");
    EXPECT_EQ(j["position_hint"], 0);
    EXPECT_EQ(j["opens_at"], Rfc3339(t0 + absl::Minutes(5)));
    EXPECT_EQ(j["opens_in_sec"], 240);
    EXPECT_EQ(j["ready_for_entry"], false);
    tokens.push_back(j["waiting_token"]);
  }
  r = Get("/api/v1/queue/status?token=" + tokens[0]);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["status"], "prequeue") << r->body;
  EXPECT_EQ(Body(r)["position_high"], 5) << r->body;
  EXPECT_EQ(Body(r)["opens_in_sec"], 240) << r->body;
  r = Post("/api/v1/queue/enter", Json{{"waiting_token", tokens[0]}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;

  // The opening: every pre-queued user gets a distinct place 1..5, the same on every poll, and
  // a later arrival queues behind them all.
  clock_.Advance(absl::Minutes(4));
  std::vector<int64_t> places;
  for (const std::string& t : tokens) {
    r = Get("/api/v1/queue/status?token=" + t);
    ASSERT_TRUE(r);
    const Json j = Body(r);
    EXPECT_NE(j["status"], "prequeue") << r->body;
    EXPECT_FALSE(j.contains("opens_at")) << r->body;
    places.push_back(j["position"]);
  }
  std::vector<int64_t> sorted = places;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    r = Get("/api/v1/queue/status?token=" + tokens[i]);
    ASSERT_TRUE(r);
    EXPECT_EQ(Body(r)["position"], places[i]);
  }
  r = Post("/api/v1/queue/join", Json{{"event_id", "gala"}, {"user_id", "late"}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_NE(Body(r)["status"], "prequeue");
  EXPECT_EQ(Body(r)["position_hint"], 6);

  // Closed: nobody new.
  clock_.Advance(absl::Hours(1));
  r = Post("/api/v1/queue/join", Json{{"event_id", "gala"}, {"user_id", "too-late"}}.dump());
  ExpectError(r, 409, "closed");
  EXPECT_EQ(Body(r)["error"]["closed_at"], Rfc3339(t0 + absl::Hours(1)));

  r = Get("/admin/v1/events/gala/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  const Json stats = Body(r);
  EXPECT_EQ(stats["opened"], true) << r->body;
  EXPECT_EQ(stats["prequeued"], 0) << r->body;
  EXPECT_EQ(stats["shuffled_at_opening"], 5) << r->body;
  EXPECT_EQ(stats["refused_total"], 2) << r->body;
  EXPECT_EQ(Metric("admission_event_refused_total{event=\"gala\"}"), "2");
}

TEST_P(TicketingGatewayTest, QueueingMethodsAndTheSafetyNetOverHttp) {
  StartGateway();
  // Reject: refused with the operator's message.
  auto r = Put("/admin/v1/events/m/policy",
               R"({"method":"reject","reject_message":"Sold out. Thank you for coming!"})",
               Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = Post("/api/v1/queue/join", Json{{"event_id", "m"}, {"user_id", "a"}}.dump());
  ExpectError(r, 409, "rejected");
  EXPECT_EQ(Body(r)["error"]["message"], "Sold out. Thank you for coming!");

  // Passthrough: admitted by the join itself; enter hands over the grant.
  r = Put("/admin/v1/events/m/policy", R"({"method":"passthrough"})", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = Post("/api/v1/queue/join", Json{{"event_id", "m"}, {"user_id", "b"}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r)["status"], "active");
  const std::string token = Body(r)["waiting_token"];
  r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["admission"], "granted");

  // Random: a waiting user's place is a range until drawn.
  r = Put("/admin/v1/events/rnd/policy",
          R"({"method":"random","admit_rate_per_sec":0.001,"burst":1,"bypass_top_n":0})",
          Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<std::string> waiting;
  for (int i = 0; i < 10; ++i) {
    r = Post("/api/v1/queue/join",
             Json{{"event_id", "rnd"}, {"user_id", absl::StrCat("r", i)}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    waiting.push_back(Body(r)["waiting_token"]);
  }
  int ranged = 0;
  for (const std::string& t : waiting) {
    r = Get("/api/v1/queue/status?token=" + t);
    ASSERT_TRUE(r);
    const Json j = Body(r);
    if (j.contains("position_high")) {
      ++ranged;
      EXPECT_GT(j["position_high"].get<int64_t>(), j["position"].get<int64_t>()) << r->body;
      EXPECT_TRUE(j.contains("eta_low_sec") && j.contains("eta_high_sec")) << r->body;
    }
  }
  // At most three drawn: one granted (burst 1, no bypass) and two kept ahead of the grants
  // (bypass_top_n + burst + ceil(rate * 90 s), docs/rules.md "Random draws").
  EXPECT_GE(ranged, 7);

  // Safety net: an empty line admits a newcomer at once.
  r = Put("/admin/v1/events/quiet/policy", R"({"safety_net":true})", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = Post("/api/v1/queue/join", Json{{"event_id", "quiet"}, {"user_id", "solo"}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r)["status"], "active") << r->body;

  // Bad values are 400s naming the field.
  for (const char* bad :
       {R"({"method":"lottery"})", R"({"opens_at":"tomorrow"})", R"({"opens_at":12})",
        R"({"safety_net":"yes"})", R"({"reject_message":7})"}) {
    ExpectError(Put("/admin/v1/events/quiet/policy", bad, Bearer(kAdminToken)), 400,
                "invalid_argument");
  }
  // Null clears a time.
  r = Put("/admin/v1/events/quiet/policy", R"({"closes_at":null})", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(Body(r)["closes_at"].is_null());
}

INSTANTIATE_TEST_SUITE_P(Stores, TicketingGatewayTest,
                         ::testing::Values(std::string("memory")
#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
                                               ,
                                           std::string("redis")
#endif
                                               ),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// --- Pieces without a server -----------------------------------------------------------------

TEST(TicketingRoutesTest, ClassifyNamesEveryRoute) {
  // The sale's routes alone, in a table of their own.
  GatewayFlags flags;
  Options options;
  options.sweep_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<WaitingRoom>> room = WaitingRoom::CreateInMemory(options);
  ASSERT_TRUE(room.ok()) << room.status();
  absl::StatusOr<Ticketing> ticketing =
      NewMemoryTicketing(TicketingOptionsFromFlags(flags, nullptr));
  ASSERT_TRUE(ticketing.ok()) << ticketing.status();
  Gateway gateway(flags, *std::move(room), *std::move(ticketing), kSecret);
  RouteTable table;
  gateway.ticketing().AddRoutes(table);
  EXPECT_EQ(table.Classify("POST", "/api/v1/reservations"), RouteId::kReservationCreate);
  EXPECT_EQ(table.Classify("GET", "/api/v1/reservations"), RouteId::kOther);
  EXPECT_EQ(table.Classify("GET", "/api/v1/reservations/e.1"), RouteId::kReservationGet);
  EXPECT_EQ(table.Classify("POST", "/api/v1/reservations/e.1/confirm"),
            RouteId::kReservationConfirm);
  EXPECT_EQ(table.Classify("POST", "/api/v1/reservations/e.1/cancel"), RouteId::kReservationCancel);
  EXPECT_EQ(table.Classify("POST", "/api/v1/reservations//cancel"), RouteId::kOther);
  EXPECT_EQ(table.Classify("POST", "/api/v1/payment/intent"), RouteId::kPaymentIntent);
  EXPECT_EQ(table.Classify("GET", "/api/v1/events/e-1/seats"), RouteId::kSeats);
  EXPECT_EQ(table.Classify("GET", "/api/v1/events/e 1/seats"), RouteId::kOther);
  EXPECT_EQ(table.Classify("PUT", "/admin/v1/events/e-1/inventory"), RouteId::kAdminInventoryPut);
  EXPECT_EQ(table.Classify("GET", "/admin/v1/events/e-1/policy"), RouteId::kOther);
  EXPECT_EQ(table.Classify("GET", "/admin/v1/dead-letters"), RouteId::kAdminDeadLetters);
  EXPECT_EQ(table.Classify("POST", "/admin/v1/dead-letters/x:y/replay"),
            RouteId::kAdminDeadLetterReplay);
}

TEST(TicketingRoutesTest, ScopedTokensCarryTheirReservation) {
  TokenSigner signer("secret");
  ReservationClaims c;
  c.event_id = "concert";
  c.user_id = "user-1";
  c.waiting_token = "concert.0123456789abcdef0123456789abcdef";
  c.reservation_id = "concert.fedcba9876543210fedcba9876543210";
  c.expires_at = absl::FromUnixSeconds(2'000'000'000);
  absl::StatusOr<ReservationClaims> admission = signer.Verify(signer.Sign(c), absl::UnixEpoch());
  ASSERT_TRUE(admission.ok()) << admission.status();
  EXPECT_TRUE(admission->scope_reservation_id.empty());
  c.scope_reservation_id = "concert.00112233445566778899aabbccddeeff";
  absl::StatusOr<ReservationClaims> scoped = signer.Verify(signer.Sign(c), absl::UnixEpoch());
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  EXPECT_EQ(scoped->scope_reservation_id, c.scope_reservation_id);
  EXPECT_EQ(scoped->waiting_token, c.waiting_token);
}

}  // namespace
}  // namespace admission::gateway
