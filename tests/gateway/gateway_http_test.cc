// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Drives the real admission-gateway binary over HTTP: it is started on a free loopback port
// (it prints the port it bound), the suite waits for /healthz with a bounded poll, and every
// route and error code of the API is exercised. The process is stopped at the end, and killed
// if this test process dies first (PR_SET_PDEATHSIG).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"

namespace {

using Json = nlohmann::json;

constexpr char kAdminToken[] = "test-admin-token";

using admission::gateway::testing::Admit;
using admission::gateway::testing::Bearer;
using admission::gateway::testing::Body;
using admission::gateway::testing::CommandOutput;
using admission::gateway::testing::ExpectError;
using admission::gateway::testing::GatewayProcess;
using admission::gateway::testing::Join;
using admission::gateway::testing::OpenRoomFlags;
using admission::gateway::testing::SharedGatewayTest;

// Starts a gateway with `flags`. ADMISSION_GATEWAY_TEST_STORE=redis://HOST:PORT runs the suite
// against Redis, under a key prefix of its own so that runs never see each other's users.
std::unique_ptr<GatewayProcess> StartGateway(std::vector<std::string> flags, std::string* error) {
  static int started = 0;
  if (const char* store = std::getenv("ADMISSION_GATEWAY_TEST_STORE"); store != nullptr) {
    flags.insert(flags.begin(), {std::string("--store=") + store,
                                 "--redis_key_prefix=gwtest-" + std::to_string(getpid()) + "-" +
                                     std::to_string(++started)});
  }
  return GatewayProcess::Start(flags, error);
}

class GatewayTest : public SharedGatewayTest<GatewayTest> {
 public:
  static std::unique_ptr<GatewayProcess> StartSharedGateway(std::string* error) {
    // A room that admits at once; the client limits are off here (RateLimitTest starts a
    // gateway of its own with tight ones).
    std::vector<std::string> flags = OpenRoomFlags();
    flags.insert(flags.end(), {std::string("--admin_token=") + kAdminToken,
                               "--token_secret=test-secret", "--threads=8"});
    // The suite names its users (the identity modes have gateway_identity_test).
    flags.push_back("--identity=trusted");
    return StartGateway(flags, error);
  }
};

TEST_F(GatewayTest, HealthReadyAndRequestIds) {
  auto r =
      Get("/healthz", {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["status"], "ok");
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  EXPECT_EQ(r->get_header_value("traceparent"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  r = Get("/healthz", {{"X-Request-Id", "my-request-1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "my-request-1");
  r = Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["status"], "ready");
}

TEST_F(GatewayTest, JoinStatusEnterComplete) {
  auto r = Post("/api/v1/queue/join", R"({"event_id":"flow","user_id":"alice"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  Json j = Body(r);
  const std::string token = j["waiting_token"];
  EXPECT_EQ(token.rfind("flow.", 0), 0u);
  EXPECT_EQ(j["position_hint"], 1);
  EXPECT_EQ(j["status"], "ready");  // as the status route says: a bucket of 1000
  EXPECT_GT(j["poll_after_ms"].get<int>(), 0);

  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = Body(r);
  for (const char* key : {"status", "position", "eta_sec", "eta_confidence", "waiting_time",
                          "ready_for_entry", "poll_after_ms"}) {
    EXPECT_TRUE(j.contains(key)) << key << " missing in " << r->body;
  }
  EXPECT_EQ(j["status"], "ready");
  EXPECT_EQ(j["position"], 1);
  EXPECT_EQ(j["ready_for_entry"], true);

  r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = Body(r);
  EXPECT_EQ(j["admission"], "granted");
  const std::string reservation = j["reservation_token"];
  EXPECT_EQ(std::count(reservation.begin(), reservation.end(), '.'), 1);
  EXPECT_GT(j["ttl_sec"].get<int>(), 0);
  EXPECT_LE(j["ttl_sec"].get<int>(), 30);

  // Entering again hands back the same grant.
  r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["reservation_token"], reservation);
  EXPECT_EQ(Body(r)["repeated"], true);

  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["status"], "active");

  // The admission token in its own header (Authorization: Bearer works too outside jwt mode).
  r = Post("/api/v1/queue/complete", "", {{"X-Admission-Token", reservation}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["status"], "completed");
  EXPECT_EQ(Body(r)["user_id"], "alice");

  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["status"], "completed");
}

TEST_F(GatewayTest, DuplicateJoinResumesThePlace) {
  const std::string token = Join(*client_, "dup", "bob");
  auto r = Post("/api/v1/queue/join", R"({"event_id":"dup","user_id":"bob"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["waiting_token"], token);
  EXPECT_EQ(Body(r)["resumed"], true);
}

TEST_F(GatewayTest, AnonymousJoinGetsAnId) {
  auto r = Post("/api/v1/queue/join", R"({"event_id":"anon"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r)["user_id"].get<std::string>().rfind("anon-", 0), 0u);
}

TEST_F(GatewayTest, UnknownAndMalformedTokens) {
  ExpectError(Get("/api/v1/queue/status?token=flow.0123456789abcdef0123456789abcdef"), 404,
              "not_found");
  ExpectError(Get("/api/v1/queue/status?token=not-a-token"), 400, "invalid_argument");
  ExpectError(Get("/api/v1/queue/status"), 400, "invalid_argument");
  ExpectError(Get("/api/v1/queue/status?token=" + std::string(300, 'a')), 400, "invalid_argument");
  ExpectError(
      Post("/api/v1/queue/enter", R"({"waiting_token":"flow.0123456789abcdef0123456789abcdef"})"),
      404, "not_found");
}

TEST_F(GatewayTest, BadInputGetsJsonErrors) {
  ExpectError(Post("/api/v1/queue/join", "{not json"), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", "[1,2]"), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", ""), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", R"({"event_id":5})"), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", R"({"user_id":"x"})"), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", R"({"event_id":"e","color":"red"})"), 400,
              "invalid_argument");
  ExpectError(Post("/api/v1/queue/join", R"({"event_id":"bad event!"})"), 400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/join",
                   Json{{"event_id", "e"}, {"user_id", std::string(129, 'u')}}.dump()),
              400, "invalid_argument");
  ExpectError(Post("/api/v1/queue/enter", R"({"waiting_token":null})"), 400, "invalid_argument");
  // Bodies over 16 KiB are refused before they are parsed.
  ExpectError(Post("/api/v1/queue/join",
                   Json{{"event_id", "e"}, {"user_id", std::string(20000, 'u')}}.dump()),
              413, "payload_too_large");
  ExpectError(Get("/no/such/route"), 404, "not_found");
  auto r = Get("/api/v1/queue/join");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  // A method with no handlers anywhere in the server is a 405 too, not httplib's bare 400.
  r = client_->Patch("/api/v1/queue/join", "{}", "application/json");
  ExpectError(r, 405, "method_not_allowed");
  ExpectError(client_->Patch("/no/such/route", "{}", "application/json"), 404, "not_found");
  // The server is still fine.
  r = Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(GatewayTest, TamperedOrMissingReservationTokenIsUnauthorized) {
  const std::string reservation = Admit(*client_, "tamper", "carol");
  ASSERT_FALSE(reservation.empty());
  const std::size_t dot = reservation.find('.');
  // Flip one character of the payload, then one of the MAC.
  for (std::size_t at : {std::size_t{3}, dot + 3}) {
    std::string bad = reservation;
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    ExpectError(Post("/api/v1/queue/complete", "", {{"Authorization", "Bearer " + bad}}), 401,
                "unauthorized");
  }
  ExpectError(Post("/api/v1/queue/complete", ""), 401, "unauthorized");
  ExpectError(Post("/api/v1/queue/complete", "", {{"Authorization", "Bearer garbage"}}), 401,
              "unauthorized");
  // The genuine token still works.
  auto r = Post("/api/v1/queue/complete", "", {{"Authorization", "Bearer " + reservation}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(GatewayTest, LeaveThenEnterIsGone) {
  const std::string token = Join(*client_, "leave", "dave");
  auto r = client_->Delete(("/api/v1/queue/leave?token=" + token).c_str());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["status"], "left");
  ExpectError(Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump()), 410, "gone");
  // A user who left may join again.
  EXPECT_FALSE(Join(*client_, "leave", "dave").empty());
}

TEST_F(GatewayTest, AdminNeedsTheToken) {
  Join(*client_, "admin-ev", "erin");
  auto r = Get("/admin/v1/events/admin-ev/policy");
  ExpectError(r, 401, "unauthorized");
  EXPECT_FALSE(r->get_header_value("WWW-Authenticate").empty());
  ExpectError(Get("/admin/v1/events/admin-ev/policy", {{"Authorization", "Bearer wrong"}}), 403,
              "forbidden");
  ExpectError(Get("/admin/v1/events/admin-ev/stats", {{"Authorization", "Basic abc"}}), 401,
              "unauthorized");
  r = Get("/admin/v1/events/admin-ev/policy", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ExpectError(Get("/admin/v1/events/no-such-event/policy", Bearer(kAdminToken)), 404, "not_found");
}

TEST_F(GatewayTest, AdminPutOfOneFieldTakesEffect) {
  Join(*client_, "valve", "frank");
  auto r = client_->Put("/admin/v1/events/valve/policy", Bearer(kAdminToken),
                        R"({"admit_rate_per_sec":7})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["admit_rate_per_sec"], 7);
  EXPECT_EQ(Body(r)["burst"], 1000);  // untouched fields keep their values
  r = Get("/admin/v1/events/valve/policy", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  Json p = Body(r);
  EXPECT_EQ(p["admit_rate_per_sec"], 7);
  for (const char* key : {"burst", "bypass_top_n", "active_capacity", "heartbeat_ttl_sec",
                          "active_ttl_sec", "reservation_ttl_sec", "wait_tiers", "paused"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }

  r = client_->Put(
      "/admin/v1/events/valve/policy", Bearer(kAdminToken),
      R"({"wait_tiers":[{"max_position":10,"wait_sec":0},{"max_position":null,"wait_sec":3}]})",
      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(Body(r)["wait_tiers"][1]["max_position"].is_null());

  ExpectError(client_->Put("/admin/v1/events/valve/policy", Bearer(kAdminToken), R"({"rate":1})",
                           "application/json"),
              400, "invalid_argument");
  ExpectError(client_->Put("/admin/v1/events/valve/policy", Bearer(kAdminToken), R"({"burst":-1})",
                           "application/json"),
              400, "invalid_argument");
  ExpectError(client_->Put("/admin/v1/events/valve/policy", Bearer(kAdminToken),
                           R"({"paused":"yes"})", "application/json"),
              400, "invalid_argument");

  // Pausing an event takes effect at once: entry is denied with a Retry-After...
  r = client_->Put("/admin/v1/events/paused-ev/policy", Bearer(kAdminToken),
                   R"({"paused":true,"paused_reason":"Back in 5 minutes","wait_tiers":[]})",
                   "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string token = Join(*client_, "paused-ev", "gina");
  r = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["reason"], "paused");
  EXPECT_EQ(Body(r)["paused_reason"], "Back in 5 minutes");
  r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(Body(r)["admission"], "denied");
  EXPECT_EQ(Body(r)["reason"], "paused");
  EXPECT_EQ(Body(r)["retry_after_sec"], 5);
  EXPECT_EQ(r->get_header_value("Retry-After"), "5");
  // ...and resuming lets the user in.
  r = client_->Put("/admin/v1/events/paused-ev/policy", Bearer(kAdminToken), R"({"paused":false})",
                   "application/json");
  ASSERT_TRUE(r);
  r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

// Twenty users join and never call again; one joins behind them and polls as the gateway
// advises. The room runs the default policy (default heartbeat TTL) at 1 admission a second.
// Ghosts must not hold the poller: grants go to present users, a grant that nobody claims
// passes on after the claim window, and the poller is admitted within seconds, not after the
// heartbeat TTL that used to free the ghosts' places (docs/rules.md, "Presence, the cursor and
// grants").
TEST_F(GatewayTest, GhostsAheadDoNotHoldThePoller) {
  auto r = client_->Put("/admin/v1/events/ghosts/policy", Bearer(kAdminToken),
                        R"({"admit_rate_per_sec":1,"burst":100,"bypass_top_n":10,)"
                        R"("heartbeat_ttl_sec":300,"wait_tiers":[]})",
                        "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (int i = 0; i < 20; ++i) Join(*client_, "ghosts", "ghost-" + std::to_string(i));
  const auto start = std::chrono::steady_clock::now();
  const std::string token = Join(*client_, "ghosts", "poller");
  bool admitted = false;
  while (!admitted && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    r = Get("/api/v1/queue/status?token=" + token);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json s = Body(r);
    if (s["ready_for_entry"].get<bool>()) {
      r = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      admitted = true;
      break;
    }
    // Polls exactly as advised (the advice is what keeps the poller present).
    std::this_thread::sleep_for(std::chrono::milliseconds(s["poll_after_ms"].get<int>()));
  }
  ASSERT_TRUE(admitted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(GatewayTest, Stats) {
  Admit(*client_, "stats-ev", "hank");
  Join(*client_, "stats-ev", "ivy");
  auto r = Get("/admin/v1/events/stats-ev/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json s = Body(r);
  EXPECT_EQ(s["waiting"], 1);
  EXPECT_EQ(s["active"], 1);
  EXPECT_EQ(s["admitted_total"], 1);
  for (const char* key : {"admitted_by_bypass", "expired_total", "left_total", "admission_rate"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  r = Get("/admin/v1/events", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("stats-ev"), std::string::npos);
}

TEST_F(GatewayTest, IdempotencyKeyReplaysAndConflicts) {
  const std::string body = R"({"event_id":"idem","user_id":"jack"})";
  httplib::Headers key = {{"Idempotency-Key", "key-123"}};
  auto first = Post("/api/v1/queue/join", body, key);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  EXPECT_FALSE(first->has_header("Idempotent-Replay"));
  auto again = Post("/api/v1/queue/join", body, key);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 202);
  EXPECT_EQ(again->body, first->body);  // the same waiting token, not a second place in line
  EXPECT_EQ(again->get_header_value("Idempotent-Replay"), "true");
  ExpectError(Post("/api/v1/queue/join", R"({"event_id":"idem","user_id":"kate"})", key), 409,
              "conflict");
  // Without the key, the duplicate is the same user's second tab: the same place.
  auto resumed = Post("/api/v1/queue/join", body);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_EQ(Body(resumed)["waiting_token"], Body(first)["waiting_token"]);
}

TEST_F(GatewayTest, MetricsHaveTheExpectedSeries) {
  const std::string token = Join(*client_, "metrics-ev", "liam");
  Get("/api/v1/queue/status?token=" + token);
  auto r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  for (const char* series : {
           "admission_gateway_http_requests_total{route=\"/api/v1/queue/join\",method=\"POST\","
           "code=\"202\"}",
           "admission_gateway_http_request_duration_seconds_bucket{route=\"/api/v1/queue/status\","
           "method=\"GET\",le=\"0.001\"}",
           "admission_gateway_http_request_duration_seconds_count{route=\"/api/v1/queue/status\"",
           "admission_event_waiting{event=\"metrics-ev\"} 1",
           "admission_event_active{event=\"metrics-ev\"} 0",
           "admission_event_joined_total{event=\"metrics-ev\"} 1",
           "admission_event_admitted_total{event=",
           "admission_event_admitted_by_bypass_total{event=",
           "admission_event_expired_total{event=",
           "admission_event_left_total{event=",
           "admission_gateway_store_errors_total 0",
           "admission_gateway_rate_limited_total",
           "# TYPE admission_gateway_http_request_duration_seconds histogram",
       }) {
    EXPECT_NE(r->body.find(series), std::string::npos) << series;
  }
}

TEST_F(GatewayTest, PagesAreServedFromTheBinary) {
  auto r = Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("waiting_room.js"), std::string::npos);
  r = Get("/admin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("operator.js"), std::string::npos);
  for (const char* asset : {"/static/app.css", "/static/waiting_room.js", "/static/operator.js"}) {
    r = Get(asset);
    ASSERT_TRUE(r) << asset;
    EXPECT_EQ(r->status, 200) << asset;
    EXPECT_GT(r->body.size(), 100u) << asset;
  }
  r = Get("/api/v1/config");
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["default_event"], "demo");
}

TEST_F(GatewayTest, AccessLogIsJsonWithoutTokens) {
  const std::string token = Join(*client_, "log-ev", "mia");
  Get("/api/v1/queue/status?token=" + token, {{"X-Request-Id", "log-check-1"}});
  // The logger runs after the response is written: allow it a bounded moment.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = gateway_->Stderr();
    if (log.find("log-check-1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::size_t at = log.find("log-check-1");
  ASSERT_NE(at, std::string::npos) << log;
  const std::size_t begin = log.rfind('\n', at) + 1;
  const Json line = Json::parse(log.substr(begin, log.find('\n', at) - begin), nullptr, false);
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["route"], "/api/v1/queue/status");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(log.find(token), std::string::npos) << "a waiting token leaked into the log";
}

// The waiting-room page in a real browser: headless Chromium loads /, which joins, polls and
// enters on its own; the DOM it ends with must show the admission. Skipped where Debian's
// chromium is not installed.
TEST_F(GatewayTest, BrowserPageJoinsAndIsAdmitted) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  char profile[] = "/tmp/admission-gateway-chromium-XXXXXX";
  ASSERT_NE(mkdtemp(profile), nullptr);
  // --virtual-time-budget lets the page's timers run (join, a poll, enter) before the DOM is
  // dumped; `timeout` bounds the whole run.
  const std::string command =
      std::string(
          "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
          "--disable-background-networking --disable-dev-shm-usage --user-data-dir=") +
      profile + " --virtual-time-budget=5000 --dump-dom 'http://127.0.0.1:" +
      std::to_string(gateway_->port()) + "/?event=browser-ev&user=browser-user' 2>/dev/null";
  int code = -1;
  const std::string dom = CommandOutput(command, &code);
  CommandOutput(std::string("rm -rf ") + profile, &code);
  EXPECT_NE(dom.find("data-state=\"admitted\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("Welcome in!"), std::string::npos) << dom;
  auto r = Get("/admin/v1/events/browser-ev/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["admitted_total"], 1) << r->body;
}

// The page before a scheduled opening: in the pre-queue it says when the sale opens; before
// the pre-queue opens it waits to join by itself. (Real time here: the times are an hour off.)
TEST_F(GatewayTest, BrowserPageShowsThePrequeueAndTheOpeningTime) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  // RFC 3339 (UTC) of now + `hours`.
  auto rfc3339 = [](int hours) {
    const std::time_t t = std::time(nullptr) + hours * 3600;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  auto r = client_->Put("/admin/v1/events/pre-ev/policy", Bearer(kAdminToken),
                        Json{{"opens_at", rfc3339(1)}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = client_->Put("/admin/v1/events/later-ev/policy", Bearer(kAdminToken),
                   Json{{"prequeue_opens_at", rfc3339(1)}, {"opens_at", rfc3339(2)}}.dump(),
                   "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  char profile[] = "/tmp/admission-gateway-chromium-XXXXXX";
  ASSERT_NE(mkdtemp(profile), nullptr);
  auto page = [&](const std::string& query) {
    int code = -1;
    return CommandOutput(
        std::string("timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
                    "--disable-background-networking --disable-dev-shm-usage --user-data-dir=") +
            profile + " --virtual-time-budget=3000 --dump-dom 'http://127.0.0.1:" +
            std::to_string(gateway_->port()) + "/?" + query + "' 2>/dev/null",
        &code);
  };
  const std::string prequeue = page("event=pre-ev&user=early-bird");
  const std::string later = page("event=later-ev&user=too-early");
  int code = -1;
  CommandOutput(std::string("rm -rf ") + profile, &code);
  EXPECT_NE(prequeue.find("data-state=\"prequeue\""), std::string::npos) << prequeue;
  EXPECT_NE(prequeue.find("pre-queue"), std::string::npos) << prequeue;
  EXPECT_NE(later.find("data-state=\"closed\""), std::string::npos) << later;
  EXPECT_NE(later.find("The waiting room opens at"), std::string::npos) << later;
  r = Get("/admin/v1/events/pre-ev/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["prequeued"], 1) << r->body;
}

// A gateway of its own: tight per-client limits, clients named by a proxy header, and no
// admin token.
TEST(GatewayRateLimitTest, HammeringGets429WithRetryAfter) {
  std::string error;
  auto gateway = StartGateway({"--rate_limit_ip_per_sec=0.5", "--rate_limit_ip_burst=3",
                               "--client_address_header=X-Real-IP", "--access_log=false"},
                              &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto client = gateway->Client();
  const std::string path = "/api/v1/queue/status?token=x.0123456789abcdef0123456789abcdef";
  bool limited = false;
  for (int i = 0; i < 10 && !limited; ++i) {
    auto r = client->Get(path.c_str(), {{"X-Real-IP", "10.0.0.1"}});
    ASSERT_TRUE(r);
    if (r->status != 429) continue;
    limited = true;
    ExpectError(r, 429, "rate_limited");
    EXPECT_GE(std::atoi(r->get_header_value("Retry-After").c_str()), 1);
  }
  EXPECT_TRUE(limited) << "10 requests at once never hit a limit of 3";
  // Another client (as the proxy names it) has a bucket of its own.
  auto other = client->Get(path.c_str(), {{"X-Real-IP", "10.0.0.2"}});
  ASSERT_TRUE(other);
  EXPECT_NE(other->status, 429);
  // Health checks and metrics are not limited.
  auto r = client->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = client->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.find("admission_gateway_rate_limited_total 0"), std::string::npos);
  // Without --admin_token the admin API is off, and says so.
  r = client->Get("/admin/v1/events/x/policy", {{"Authorization", "Bearer anything"}});
  ExpectError(r, 403, "forbidden");
  EXPECT_NE(r->body.find("--admin_token"), std::string::npos);
}

// A gateway with the defaults for who makes events: the operator (and --default_event at
// start-up), never an anonymous join. /metrics keeps the busiest events and wants a token.
TEST(GatewayEventsTest, OnlyTheOperatorMakesEventsAndMetricsKeepTheBusiest) {
  std::string error;
  auto gateway = StartGateway(
      {"--admin_token=op", "--metrics_token=scrape", "--metrics_max_events=2",
       "--rate_limit_ip_per_sec=0", "--rate_limit_token_per_sec=0", "--access_log=false"},
      &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto client = gateway->Client();
  auto join = [&client](const std::string& event, const std::string& user) {
    return client->Post("/api/v1/queue/join", Json{{"event_id", event}, {"user_id", user}}.dump(),
                        "application/json");
  };
  // The page's event exists from the start; an unknown one is 404 and stays unknown.
  auto r = join("demo", "d1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  ExpectError(join("junk-1", "j1"), 404, "not_found");
  ExpectError(client->Get("/admin/v1/events/junk-1/policy", Bearer("op")), 404, "not_found");
  // The operator makes events: a busy one, and idle ones that sort before it.
  for (const std::string event : {"aaa-0", "aaa-1", "aaa-2", "aaa-3", "busy"}) {
    r = client->Put(("/admin/v1/events/" + event + "/policy").c_str(), Bearer("op"),
                    R"({"admit_rate_per_sec":1})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  for (int i = 0; i < 3; ++i) {
    r = join("busy", "b" + std::to_string(i));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
  }
  // /metrics is the operator's: 401 without the token, or with another.
  r = client->Get("/metrics");
  ExpectError(r, 401, "unauthorized");
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
  ExpectError(client->Get("/metrics", Bearer("op")), 401, "unauthorized");
  r = client->Get("/metrics", Bearer("scrape"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  // The two busiest events keep their series; the idle ones do not push them out.
  EXPECT_NE(r->body.find("admission_event_waiting{event=\"busy\"} 3"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("admission_event_waiting{event=\"demo\"} 1"), std::string::npos);
  EXPECT_EQ(r->body.find("admission_event_waiting{event=\"aaa-"), std::string::npos);
}

TEST(GatewayFlagsTest, HelpListsEveryFlag) {
  int code = -1;
  const std::string out = CommandOutput(std::string(ADMISSION_GATEWAY_BINARY) + " --help", &code);
  EXPECT_EQ(code, 0);
  for (const char* flag :
       {"--listen=127.0.0.1:8080", "--store=memory", "--admin_token=", "--token_secret=",
        "--threads=", "--rate_limit_ip_per_sec=", "--idempotency_ttl_sec=300",
        "--admit_rate_per_sec=100", "--burst=100", "--bypass_top_n=10",
        "--active_capacity=", "--heartbeat_ttl_sec=300", "--active_ttl_sec=600",
        "--reservation_ttl_sec=30", "--wait_tiers=10:0,50:2,inf:5"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag << " not in:\n" << out;
  }
}

TEST(GatewayFlagsTest, BadFlagsExitWithTwo) {
  int code = -1;
  std::string out =
      CommandOutput(std::string(ADMISSION_GATEWAY_BINARY) + " --no_such_flag=1 2>&1", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown flag --no_such_flag"), std::string::npos) << out;
  out = CommandOutput(std::string(ADMISSION_GATEWAY_BINARY) + " --threads=lots 2>&1", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--threads"), std::string::npos) << out;
  out = CommandOutput(std::string(ADMISSION_GATEWAY_BINARY) + " --burst=-5 2>&1", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("burst"), std::string::npos) << out;
}

}  // namespace
