// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A smoke test of examples/minimal_server: the real binary on a free loopback port (the gateway's
// process helper, pointed at it), driven as its comment tells an embedder to drive it: join, poll
// the status until ready, enter, complete. Also the refusals an embedder would copy: a non-JSON
// POST (415), a body that is not a JSON object (400), a second join (409), an unknown token (404).
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_process.h"

namespace admission::gateway::testing {
namespace {

using Json = nlohmann::json;

class MinimalServerTest : public SharedGatewayTest<MinimalServerTest> {
 public:
  static std::unique_ptr<GatewayProcess> StartSharedGateway(std::string* error) {
    return GatewayProcess::Start({}, error);
  }
};

TEST_F(MinimalServerTest, JoinPollEnterComplete) {
  auto joined = Post("/api/v1/queue/join", R"({"event_id":"smoke","user_id":"ada"})");
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->status, 202) << joined->body;
  const std::string token = Body(joined).value("waiting_token", "");
  ASSERT_FALSE(token.empty()) << joined->body;
  EXPECT_EQ(Body(joined)["position"], 1) << joined->body;

  // Poll as a page would, bounded: the front of an empty line is ready at once.
  Json status;
  for (int i = 0; i < 50; ++i) {
    auto r = Get("/api/v1/queue/status?token=" + token);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    status = Body(r);
    EXPECT_GT(status["poll_after_ms"].get<int64_t>(), 0) << r->body;
    if (status["ready_for_entry"] == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status["ready_for_entry"], true) << status.dump();

  auto entered = Post("/api/v1/queue/enter", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(entered);
  ASSERT_EQ(entered->status, 200) << entered->body;
  EXPECT_EQ(Body(entered)["admission"], "granted");
  EXPECT_FALSE(Body(entered).value("reservation_token", "").empty()) << entered->body;

  auto active = Get("/api/v1/queue/status?token=" + token);
  ASSERT_TRUE(active);
  EXPECT_EQ(Body(active)["status"], "active") << active->body;

  auto done = Post("/api/v1/queue/complete", Json{{"waiting_token", token}}.dump());
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 200) << done->body;
  EXPECT_EQ(Body(done)["status"], "completed");
}

TEST_F(MinimalServerTest, RefusalsAreJsonErrors) {
  // A form POST is what any web page can make a visitor's browser send: refused.
  auto form = client_->Post("/api/v1/queue/join", R"({"event_id":"smoke","user_id":"bob"})",
                            "application/x-www-form-urlencoded");
  ExpectError(form, 415, "UNSUPPORTED_MEDIA_TYPE");
  ExpectError(Post("/api/v1/queue/join", "not json"), 400, "INVALID_ARGUMENT");
  ExpectError(Post("/api/v1/queue/join", R"({"user_id":"bob"})"), 400, "INVALID_ARGUMENT");

  auto first = Post("/api/v1/queue/join", R"({"event_id":"smoke","user_id":"bob"})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  ExpectError(Post("/api/v1/queue/join", R"({"event_id":"smoke","user_id":"bob"})"), 409,
              "ALREADY_EXISTS");
  ExpectError(Get("/api/v1/queue/status?token=smoke.00000000000000000000000000000000"), 404,
              "NOT_FOUND");
}

}  // namespace
}  // namespace admission::gateway::testing
