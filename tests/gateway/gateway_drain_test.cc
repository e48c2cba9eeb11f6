// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's graceful stop, against the real binary: after SIGTERM, /readyz answers 503
// "draining" for --drain_sec while the API is still served (load balancers take the gateway out
// before it goes), then the process exits 0 by itself.
#include <signal.h>

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

std::unique_ptr<GatewayProcess> StartDraining(const std::string& drain_sec) {
  std::vector<std::string> flags = OpenRoomFlags();
  flags.push_back("--drain_sec=" + drain_sec);
  std::string error;
  std::unique_ptr<GatewayProcess> gateway = GatewayProcess::Start(flags, &error);
  EXPECT_NE(gateway, nullptr) << error;
  return gateway;
}

TEST(GatewayDrainTest, SigtermTurnsReadyzTo503WhileTheApiStillAnswersThenExitsZero) {
  std::unique_ptr<GatewayProcess> gateway = StartDraining("3");
  ASSERT_NE(gateway, nullptr);
  auto client = gateway->Client();
  auto ready = client->Get("/readyz");
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200) << ready->body;

  const auto signalled = std::chrono::steady_clock::now();
  gateway->Signal(SIGTERM);
  // The signal thread takes it at once; poll with a deadline rather than sleep.
  int status = 0;
  std::string body;
  while (std::chrono::steady_clock::now() < signalled + std::chrono::seconds(2)) {
    auto r = client->Get("/readyz");
    ASSERT_TRUE(r) << "the gateway stopped serving before its drain time";
    status = r->status;
    body = r->body;
    if (status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(status, 503) << body;
  const Json error = Json::parse(body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << body;
  EXPECT_EQ(error["error"]["code"], "draining") << body;

  // Still serving, on a new connection too: a join gets its place.
  auto fresh = gateway->Client();
  auto join = fresh->Post("/api/v1/queue/join", R"({"event_id":"drain","user_id":"dora"})",
                          "application/json");
  ASSERT_TRUE(join) << "a request during the drain time was not answered";
  EXPECT_EQ(join->status, 202) << join->body;
  auto health = fresh->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // Then it exits by itself, with 0, after the drain time.
  EXPECT_EQ(gateway->WaitForExit(std::chrono::seconds(15)), 0) << gateway->Stderr();
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, std::chrono::milliseconds(2900));
  EXPECT_NE(gateway->Stderr().find("draining"), std::string::npos) << gateway->Stderr();
}

TEST(GatewayDrainTest, ZeroDrainTimeExitsZeroAtOnce) {
  std::unique_ptr<GatewayProcess> gateway = StartDraining("0");
  ASSERT_NE(gateway, nullptr);
  gateway->Signal(SIGTERM);
  EXPECT_EQ(gateway->WaitForExit(std::chrono::seconds(5)), 0) << gateway->Stderr();
}

TEST(GatewayDrainTest, ASecondSignalStopsAtOnce) {
  std::unique_ptr<GatewayProcess> gateway = StartDraining("60");
  ASSERT_NE(gateway, nullptr);
  auto client = gateway->Client();
  gateway->Signal(SIGTERM);
  // Wait until the first signal was taken (readyz turns 503), then send the second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client->Get("/readyz");
    if (r && r->status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  gateway->Signal(SIGINT);
  EXPECT_EQ(gateway->WaitForExit(std::chrono::seconds(5)), 0) << gateway->Stderr();
}

}  // namespace
}  // namespace admission::gateway::testing
