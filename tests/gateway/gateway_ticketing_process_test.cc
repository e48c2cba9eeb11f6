// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticket flow through the real admission-gateway binary, with its worker thread:
//   - on the in-memory store: join, enter, hold, pay (approve) -> CONFIRMED, and pay (fail) ->
//     CANCELLED, applied by the process's own worker;
//   - two gateway processes on one redis-server: an Idempotency-Key used on one is replayed by
//     the other (a join and a hold), and a buyer admitted and holding through one gateway pays
//     through the other, whose worker (or the first's: they share the queue) confirms it.
// The worker runs on its own thread here, so the test waits for the outcome with a bounded
// poll of the reservation (the deterministic, stepped version of these flows is
// gateway_ticketing_test.cc).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
#include "support/redis/redis_server.h"
#endif

namespace admission::gateway::testing {
namespace {

using Json = nlohmann::json;

constexpr char kAdminToken[] = "process-admin";

// The flags of every gateway here: a room that admits at once, no client limits.
std::vector<std::string> Flags(std::vector<std::string> extra) {
  std::vector<std::string> flags = OpenRoomFlags();
  flags.insert(flags.end(), {std::string("--admin_token=") + kAdminToken,
                             "--token_secret=shared-secret", "--threads=8", "--access_log=false"});
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

// Polls the reservation until its status is no longer HOLD, for at most 10 s; the final
// status ("" if it never changed).
std::string AwaitOutcome(httplib::Client& c, const std::string& token, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Get(("/api/v1/reservations/" + id).c_str(), Bearer(token));
    if (r && r->status == 200 && Body(r)["status"] != "HOLD") return Body(r)["status"];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

// Admits `user` and holds one place through `c`, pays with `scenario` through `pay_via`, and
// returns the final status of the reservation.
std::string BuyAndPay(httplib::Client& c, httplib::Client& pay_via, const std::string& event,
                      const std::string& user, const std::string& scenario) {
  const std::string admission = Admit(c, event, user);
  if (admission.empty()) return "";
  auto r = c.Post("/api/v1/reservations", Bearer(admission, "hold-" + user),
                  Json{{"event_id", event}, {"quantity", 1}}.dump(), "application/json");
  EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
  if (!r || r->status != 201) return "";
  const std::string id = Body(r)["reservation_id"];
  const std::string token = Body(r)["reservation_token"];
  r = pay_via.Post(
      "/api/v1/payment/intent", Bearer(token),
      Json{{"reservation_id", id}, {"amount", 2500}, {"currency", "EUR"}, {"scenario", scenario}}
          .dump(),
      "application/json");
  EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no response");
  return AwaitOutcome(pay_via, token, id);
}

TEST(TicketingProcessTest, TheWorkerThreadAppliesPaymentsOnTheMemoryStore) {
  std::string error;
  auto gateway = GatewayProcess::Start(Flags({}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();
  auto r = c->Put("/admin/v1/events/mem/inventory", Bearer(kAdminToken),
                  Json{{"general_admission", 2}, {"currency", "EUR"}, {"price", 2500}}.dump(),
                  "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  EXPECT_EQ(BuyAndPay(*c, *c, "mem", "u1", "approve"), "CONFIRMED");
  EXPECT_EQ(BuyAndPay(*c, *c, "mem", "u2", "fail"), "CANCELLED");
  r = c->Get("/api/v1/events/mem/seats");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(Body(r)["sold"], 1);
  EXPECT_EQ(Body(r)["available"], 1);
}

// The report this guards against: with the defaults, one admission made 58 holds of 100 seats
// with fresh Idempotency-Keys. Now, from many connections at once, it gets one hold of at most
// 10 seats (the default limits per person) and every other attempt is a 409.
TEST(TicketingProcessTest, OneAdmissionsManyHoldsStopAtTheDefaultLimits) {
  std::string error;
  auto gateway = GatewayProcess::Start(Flags({}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();
  auto r = c->Put("/admin/v1/events/hoard/inventory", Bearer(kAdminToken),
                  Json{{"general_admission", 20000}}.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  const std::string admission = Admit(*c, "hoard", "hoarder");
  ASSERT_FALSE(admission.empty());
  constexpr int kThreads = 8;
  constexpr int kAttempts = 58;
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = gateway->Client();
      for (int i = t; i < kAttempts; i += kThreads) {
        const int quantity = i % 2 == 0 ? 100 : 10;
        auto h = client->Post(
            "/api/v1/reservations", Bearer(admission, "hoard-" + std::to_string(i)),
            Json{{"event_id", "hoard"}, {"quantity", quantity}}.dump(), "application/json");
        if (h && h->status == 201) {
          ++created;
        } else if (h && h->status == 409) {
          const std::string code = Body(h)["error"]["code"];
          EXPECT_TRUE(code == "hold_too_large" || code == "hold_limit") << h->body;
          ++refused;
        } else {
          ADD_FAILURE() << (h ? h->body : "no response");
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), kAttempts - 1);
  r = c->Get("/api/v1/events/hoard/seats");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(Body(r)["held"], 10) << r->body;
}

// The waiting-room page's demo sale in headless Chromium: with ?auto_buy=1 it joins, enters,
// holds a place, pays (approve) and waits for the worker's confirmation on its own. Skipped
// where Debian's chromium is not installed.
TEST(TicketingProcessTest, BrowserPageHoldsAndPays) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  std::string error;
  auto gateway = GatewayProcess::Start(Flags({}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();
  auto r = c->Put("/admin/v1/events/browser-sale/inventory", Bearer(kAdminToken),
                  Json{{"seat_ids", {"P-1", "P-2"}}, {"currency", "EUR"}, {"price", 1234}}.dump(),
                  "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  char profile[] = "/tmp/admission-gateway-chromium-XXXXXX";
  ASSERT_NE(mkdtemp(profile), nullptr);
  // --virtual-time-budget lets the page's timers run (join, poll, enter, hold, pay, the outcome
  // polls) before the DOM is dumped; `timeout` bounds the whole run.
  const std::string command =
      std::string(
          "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
          "--disable-background-networking --disable-dev-shm-usage --user-data-dir=") +
      profile + " --virtual-time-budget=20000 --dump-dom 'http://127.0.0.1:" +
      std::to_string(gateway->port()) +
      "/?event=browser-sale&user=browser-buyer&auto_buy=1' 2>/dev/null";
  int exit_code = -1;
  const std::string dom = CommandOutput(command, &exit_code);
  std::system((std::string("rm -rf ") + profile).c_str());
  EXPECT_NE(dom.find("data-state=\"purchased\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("Seat P-1 is yours"), std::string::npos) << dom;
  r = c->Get("/api/v1/events/browser-sale/seats");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(Body(r)["seats"][0]["state"], "SOLD") << r->body;
}

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)

class TicketingRedisProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = admission::testing::RedisServer::Start();
    if (started.ok()) {
      redis_ = std::move(*started);
    } else {
      error_ = started.status().ToString();
    }
  }
  static void TearDownTestSuite() { redis_.reset(); }

  // Two gateways on the Redis, sharing a key prefix of this test's own and the token secret.
  void SetUp() override {
    ASSERT_NE(redis_, nullptr) << error_;
    const std::string prefix =
        "tkproc-" + std::to_string(getpid()) + "-" + std::to_string(++started_);
    const std::vector<std::string> flags =
        Flags({"--store=redis://" + redis_->address(), "--redis_key_prefix=" + prefix});
    std::string error;
    a_ = GatewayProcess::Start(flags, &error);
    ASSERT_NE(a_, nullptr) << error;
    b_ = GatewayProcess::Start(flags, &error);
    ASSERT_NE(b_, nullptr) << error;
    ca_ = a_->Client();
    cb_ = b_->Client();
  }

  static inline std::unique_ptr<admission::testing::RedisServer> redis_;
  static inline std::string error_;
  static inline int started_ = 0;
  std::unique_ptr<GatewayProcess> a_;
  std::unique_ptr<GatewayProcess> b_;
  std::unique_ptr<httplib::Client> ca_;
  std::unique_ptr<httplib::Client> cb_;
};

TEST_F(TicketingRedisProcessTest, AnIdempotencyKeyIsReplayedByAnotherGateway) {
  const std::string join = Json{{"event_id", "idem"}, {"user_id", "walt"}}.dump();
  const httplib::Headers key = {{"Idempotency-Key", "join-walt-1"}};
  auto first = ca_->Post("/api/v1/queue/join", key, join, "application/json");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  auto replay = cb_->Post("/api/v1/queue/join", key, join, "application/json");
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 202) << replay->body;
  EXPECT_EQ(replay->get_header_value("Idempotent-Replay"), "true");
  EXPECT_EQ(Body(replay)["waiting_token"], Body(first)["waiting_token"]);
  // The same key for another request is a conflict on either gateway.
  auto other =
      cb_->Post("/api/v1/queue/join", key, Json{{"event_id", "idem"}, {"user_id", "xena"}}.dump(),
                "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 409) << other->body;

  // A hold made through one gateway is replayed, not made again, by the other.
  auto r = ca_->Put("/admin/v1/events/idem/inventory", Bearer(kAdminToken),
                    Json{{"general_admission", 10}}.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  const std::string admission = Admit(*ca_, "idem", "yuri");
  const std::string hold = Json{{"event_id", "idem"}, {"quantity", 3}}.dump();
  auto held =
      ca_->Post("/api/v1/reservations", Bearer(admission, "hold-yuri-1"), hold, "application/json");
  ASSERT_TRUE(held);
  ASSERT_EQ(held->status, 201) << held->body;
  auto again =
      cb_->Post("/api/v1/reservations", Bearer(admission, "hold-yuri-1"), hold, "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(again->get_header_value("Idempotent-Replay"), "true");
  EXPECT_EQ(Body(again)["reservation_id"], Body(held)["reservation_id"]);
  r = cb_->Get("/api/v1/events/idem/seats");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(Body(r)["held"], 3);
}

TEST_F(TicketingRedisProcessTest, HoldThroughOneGatewayPayThroughTheOther) {
  auto r = cb_->Put("/admin/v1/events/two/inventory", Bearer(kAdminToken),
                    Json{{"seat_ids", {"R-1", "R-2"}}}.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  EXPECT_EQ(BuyAndPay(*ca_, *cb_, "two", "zoe", "approve"), "CONFIRMED");
  EXPECT_EQ(BuyAndPay(*cb_, *ca_, "two", "amy", "fail"), "CANCELLED");
  r = ca_->Get("/api/v1/events/two/seats");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(Body(r)["sold"], 1);
  EXPECT_EQ(Body(r)["seats"][0]["state"], "SOLD");
  EXPECT_EQ(Body(r)["seats"][1]["state"], "AVAILABLE");
}

#endif  // ADMISSION_GATEWAY_TEST_WITH_REDIS

}  // namespace
}  // namespace admission::gateway::testing
