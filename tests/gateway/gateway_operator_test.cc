// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The operator page against the real binary, on the memory store and (when the Redis store
// is built) on a redis-server of the test's own, with traffic through the HTTP API: a crowd in
// line, a seat sold (hold, approved payment, the worker thread) and a dead letter (a delayed
// approval that outlasts its hold). Then:
//   - the routes the page reads: the event's series (sampled every 200 ms here), its sale, and
//     the list of events with their state;
//   - the page itself in headless Chromium (tests/gateway/operator_page_test.js; memory store
//     only): the charts have data points, the sale panel shows the seat just sold, the dead
//     letter's replay button replays it, and the form makes an event with an inventory.
//     Skipped without chromium or node. The screenshot goes to the build tree.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/gateway_process.h"
#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
#include "support/redis/redis_server.h"
#endif

namespace admission::gateway::testing {
namespace {

using Json = nlohmann::json;

constexpr char kAdminToken[] = "operator-secret";
constexpr char kEvent[] = "arena";

// Polls `get` until `done` holds for its JSON body, for at most `seconds`; the last body.
template <typename Done>
Json PollJson(httplib::Client& c, const std::string& path, Done done, int seconds = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  Json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Get(path.c_str(), Bearer(kAdminToken));
    if (r && r->status == 200) {
      last = Body(r);
      if (done(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

struct MemoryStore {
  static std::string Flag(std::string*) { return "--store=memory"; }
};

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
struct RedisStore {
  // One redis-server for the process (the suite's gateway is its only client).
  static std::string Flag(std::string* error) {
    static const std::unique_ptr<admission::testing::RedisServer> server = [] {
      auto started = admission::testing::RedisServer::Start();
      return started.ok() ? *std::move(started) : nullptr;
    }();
    if (server == nullptr) {
      *error = "redis-server did not start";
      return "";
    }
    return "--store=redis://" + server->address();
  }
};
using Stores = ::testing::Types<MemoryStore, RedisStore>;
#else
using Stores = ::testing::Types<MemoryStore>;
#endif

template <typename Store>
class OperatorTest : public ::testing::Test {
 protected:
  // One gateway and its traffic for the whole suite.
  static void SetUpTestSuite() {
    std::string store_error;
    const std::string store = Store::Flag(&store_error);
    if (store.empty()) {
      error_ = store_error;
      return;
    }
    std::vector<std::string> flags = OpenRoomFlags();
    flags.push_back(store);
    flags.insert(flags.end(), {std::string("--admin_token=") + kAdminToken, "--access_log=false",
                               "--series_interval_ms=200", "--hold_ttl_sec=2",
                               "--payment_delay_sec=2.5", "--hold_expiry_scan_ms=100"});
    std::string error;
    gateway_ = GatewayProcess::Start(flags, &error).release();
    if (gateway_ == nullptr) {
      error_ = error;
      return;
    }
    error_ = MakeTraffic();
  }
  static void TearDownTestSuite() {
    delete gateway_;
    gateway_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(gateway_, nullptr) << error_;
    ASSERT_EQ(error_, "");
    c_ = gateway_->Client();
  }

  // The sale: a policy and named seats at 25.00 EUR; one seat sold; one dead letter; then 30
  // people in line at a slow rate (they never enter, so they stay waiting). "" or what went
  // wrong.
  static std::string MakeTraffic() {
    auto c = gateway_->Client();
    auto r = c->Put(std::string("/admin/v1/events/") + kEvent + "/policy", Bearer(kAdminToken),
                    Json{{"admit_rate_per_sec", 1000}, {"active_capacity", 500}}.dump(),
                    "application/json");
    if (!r || r->status != 200) return "policy: " + (r ? r->body : std::string("no response"));
    r = c->Put(
        std::string("/admin/v1/events/") + kEvent + "/inventory", Bearer(kAdminToken),
        Json{{"seat_ids", {"A-1", "A-2", "A-3", "A-4"}}, {"currency", "EUR"}, {"price", 2500}}
            .dump(),
        "application/json");
    if (!r || r->status != 200) return "inventory: " + (r ? r->body : std::string("no response"));
    // Buyers first (the room admits at once), then the line held back by a slow rate.
    if (std::string e = Buy("buyer-paid", "approve", &sold_id_); !e.empty()) return e;
    if (std::string e = Buy("buyer-late", "delay", &dead_id_); !e.empty()) return e;
    r = c->Put(std::string("/admin/v1/events/") + kEvent + "/policy", Bearer(kAdminToken),
               Json{{"admit_rate_per_sec", 1}, {"burst", 1}, {"bypass_top_n", 0}}.dump(),
               "application/json");
    if (!r || r->status != 200) return "policy: " + (r ? r->body : std::string("no response"));
    for (int i = 0; i < 30; ++i) Join(*c, kEvent, "fan-" + std::to_string(i));
    return "";
  }

  // Admits `user`, holds one seat and pays with `scenario`; the reservation id in `*id`.
  static std::string Buy(const std::string& user, const std::string& scenario, std::string* id) {
    auto c = gateway_->Client();
    const std::string admission = Admit(*c, kEvent, user);
    if (admission.empty()) return "could not admit " + user;
    auto r = c->Post("/api/v1/reservations", Bearer(admission, "hold-" + user),
                     Json{{"event_id", kEvent}, {"quantity", 1}}.dump(), "application/json");
    if (!r || r->status != 201) return "hold: " + (r ? r->body : std::string("no response"));
    *id = Body(r)["reservation_id"];
    const std::string token = Body(r)["reservation_token"];
    r = c->Post(
        "/api/v1/payment/intent", Bearer(token),
        Json{{"reservation_id", *id}, {"amount", 2500}, {"currency", "EUR"}, {"scenario", scenario}}
            .dump(),
        "application/json");
    if (!r || r->status != 202) return "payment: " + (r ? r->body : std::string("no response"));
    return "";
  }

  static inline GatewayProcess* gateway_ = nullptr;
  static inline std::string error_;
  static inline std::string sold_id_;
  static inline std::string dead_id_;
  std::unique_ptr<httplib::Client> c_;
};

TYPED_TEST_SUITE(OperatorTest, Stores);

TYPED_TEST(OperatorTest, SeriesHasTheLineAndTheSale) {
  httplib::Client& c = *this->c_;
  const std::string path = std::string("/admin/v1/events/") + kEvent + "/series";
  const Json j = PollJson(c, path, [](const Json& j) {
    return j["t"].size() >= 3 && j["waiting"].back() == 30 && j["seats_sold"].back() == 1;
  });
  ASSERT_GE(j["t"].size(), 3u) << j.dump();
  EXPECT_EQ(j["event_id"], kEvent);
  EXPECT_DOUBLE_EQ(j["interval_sec"].get<double>(), 0.2);
  EXPECT_EQ(j["waiting"].back(), 30) << j.dump();
  EXPECT_EQ(j["capacity"].back(), 500);
  EXPECT_EQ(j["policy_rate"].back(), 1.0);
  EXPECT_EQ(j["seats_sold"].back(), 1) << j.dump();
  EXPECT_TRUE(j["eta_back_sec"].back().is_number()) << j.dump();
  // Every column has one value per sample.
  for (const auto& [name, column] : j.items()) {
    if (column.is_array()) {
      EXPECT_EQ(column.size(), j["t"].size()) << name;
    }
  }
  // Samples are 200 ms apart (give or take the sampler's wake-ups).
  const double gap = j["t"][1].get<double>() - j["t"][0].get<double>();
  EXPECT_GE(gap, 0.2);
  EXPECT_LT(gap, 1.0);
}

TYPED_TEST(OperatorTest, SeriesRouteErrors) {
  httplib::Client& c = *this->c_;
  ExpectError(c.Get("/admin/v1/events/arena/series"), 401, "unauthorized");
  ExpectError(c.Get("/admin/v1/events/no-such-event/series", Bearer(kAdminToken)), 404,
              "not_found");
}

TYPED_TEST(OperatorTest, SaleHasTheSeatSoldAndTheDeadLetter) {
  httplib::Client& c = *this->c_;
  const std::string path = std::string("/admin/v1/events/") + kEvent + "/sale";
  // The worker counts what it parked when its step ends, after the queue shows the dead letter:
  // wait for both.
  const Json j = PollJson(c, path, [](const Json& j) {
    return j["sold"] == 1 && j["queue"]["dead"] == 1 && j["gateway"]["confirmed"] >= 1 &&
           j["gateway"]["worker_parked"] >= 1;
  });
  EXPECT_EQ(j["sold"], 1) << j.dump();
  EXPECT_EQ(j["total"], 4);
  EXPECT_EQ(j["revenue"], 2500);
  EXPECT_EQ(j["currency"], "EUR");
  EXPECT_GE(j["gateway"]["confirmed"], 1);
  EXPECT_EQ(j["queue"]["dead"], 1) << j.dump();
  EXPECT_GE(j["gateway"]["worker_parked"], 1);
  ExpectError(c.Get("/admin/v1/events/no-such-event/sale", Bearer(kAdminToken)), 404, "not_found");
}

TYPED_TEST(OperatorTest, EventsListHasTheirState) {
  httplib::Client& c = *this->c_;
  auto r = c.Get("/admin/v1/events?details=true", Bearer(kAdminToken));
  ASSERT_TRUE(r && r->status == 200);
  const Json j = Body(r);
  ASSERT_TRUE(j["details"].is_array()) << r->body;
  bool found = false;
  for (const Json& e : j["details"]) {
    if (e["event_id"] != kEvent) continue;
    found = true;
    EXPECT_EQ(e["state"], "open");
    EXPECT_EQ(e["method"], "fifo");
    EXPECT_EQ(e["waiting"], 30);
  }
  EXPECT_TRUE(found) << r->body;
  EXPECT_EQ(j["details_truncated"], false);
  // Without the parameter, the answer is as it always was.
  r = c.Get("/admin/v1/events", Bearer(kAdminToken));
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_FALSE(Body(r).contains("details"));
}

TYPED_TEST(OperatorTest, ChartJsIsServedFromTheBinary) {
  httplib::Client& c = *this->c_;
  auto r = c.Get("/static/chart.min.js");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_NE(r->body.find("Chart.js v3"), std::string::npos);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=604800");
  EXPECT_NE(r->get_header_value("Content-Type").find("text/javascript"), std::string::npos);
}

// The page, on the memory store (the routes it reads are checked on both above).
class OperatorPageTest : public OperatorTest<MemoryStore> {};

TEST_F(OperatorPageTest, ThePageDrawsChartsAndReplaysADeadLetter) {
  httplib::Client& c = *this->c_;
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  int code = -1;
  CommandOutput("node --version >/dev/null 2>&1", &code);
  if (code != 0) GTEST_SKIP() << "node is not installed";
  // The dead letter exists before the page opens.
  const Json dead = PollJson(c, "/admin/v1/dead-letters",
                             [](const Json& j) { return j["dead_letters"].size() == 1; });
  ASSERT_EQ(dead["dead_letters"].size(), 1u) << dead.dump();
  const std::string url = "http://127.0.0.1:" + std::to_string(this->gateway_->port()) +
                          "/admin?event=" + kEvent + "#token=" + kAdminToken;
  const std::string out =
      CommandOutput(std::string("node ") + ADMISSION_OPERATOR_BROWSER_SCRIPT + " '" + url + "' " +
                        ADMISSION_OPERATOR_SCREENSHOT + " 30 2>&1",
                    &code);
  ASSERT_EQ(code, 0) << out;
  const std::size_t brace = out.rfind('{');
  ASSERT_NE(brace, std::string::npos) << out;
  const Json result = Json::parse(out.substr(brace), nullptr, false);
  ASSERT_TRUE(result.is_object()) << out;
  EXPECT_GE(result["chart_points"].get<int>(), 3) << out;
  EXPECT_GE(result["charts"].get<int>(), 6) << out;
  EXPECT_EQ(result["sold"], "1") << out;
  EXPECT_EQ(result["replayed"], dead["dead_letters"][0]["id"]) << out;
  // The event the page's form made, with its inventory.
  const std::string created = result.value("created", "");
  ASSERT_FALSE(created.empty()) << out;
  auto r = c.Get(("/api/v1/events/" + created + "/seats").c_str());
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  EXPECT_EQ(Body(r)["total"], 50);
  EXPECT_EQ(Body(r)["price"], 1000);
}

}  // namespace
}  // namespace admission::gateway::testing
