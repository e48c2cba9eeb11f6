// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway on Redis with Sentinel (docs/gateway.md, "Redis with Sentinel"):
// --store=redis-sentinel://MASTER@HOST:PORT,... with the sentinels' password from
// --redis_sentinel_password_file serves the room; through a failover its joins answer 503 for
// a moment and then succeed on the new primary, without a restart; no password is printed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"
#include "support/redis/redis_sentinel.h"

namespace admission::gateway::testing {
namespace {

using ::admission::testing::RedisSentinelDeployment;
using ::admission::testing::RedisSentinelOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSentinelPassword[] = "sentinel-Pa55-gw";

TEST(GatewayRedisSentinelTest, ServesThroughAFailover) {
  RedisSentinelOptions options;
  options.replicas = 2;  // one follows the new primary at once: confirms find a replica
  options.sentinel_password = kSentinelPassword;
  auto deployment = RedisSentinelDeployment::Start(options);
  ASSERT_TRUE(deployment.ok()) << deployment.status();
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / absl::StrCat("admission-gw-sentinel-", getpid());
  {
    std::ofstream out(file);
    out << kSentinelPassword << "\n";
  }
  std::vector<std::string> flags = OpenRoomFlags();
  flags.push_back(absl::StrCat("--store=", (*deployment)->Url()));
  flags.push_back(absl::StrCat("--redis_sentinel_password_file=", file.string()));
  flags.push_back("--redis_pool_size=2");
  std::string error;
  auto gateway = GatewayProcess::Start(flags, &error);
  std::filesystem::remove(file);
  ASSERT_NE(gateway, nullptr) << error;
  std::unique_ptr<httplib::Client> client = gateway->Client();
  EXPECT_NE(Admit(*client, "ev", "alice"), "");

  const std::string old_primary = (*deployment)->servers()[0]->address();
  ASSERT_TRUE((*deployment)->Failover().ok());
  auto promoted = (*deployment)->WaitForPrimaryOtherThan(old_primary, absl::Seconds(20));
  ASSERT_TRUE(promoted.ok()) << promoted.status();

  // Joins answer 202 (served) or 503 (the switch), nothing else, and are served again soon.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int served_in_a_row = 0;
  for (int i = 0; served_in_a_row < 5 && std::chrono::steady_clock::now() < give_up; ++i) {
    auto r =
        client->Post("/api/v1/queue/join",
                     nlohmann::json{{"event_id", "ev"}, {"user_id", absl::StrCat("u", i)}}.dump(),
                     "application/json");
    ASSERT_TRUE(r) << "no response";
    EXPECT_TRUE(r->status == 202 || r->status == 503) << r->status << " " << r->body;
    served_in_a_row = r->status == 202 ? served_in_a_row + 1 : 0;
    if (r->status != 202) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(served_in_a_row, 5);
  EXPECT_NE(Admit(*client, "ev", "bob"), "");
  EXPECT_THAT(gateway->Stderr(), Not(HasSubstr(kSentinelPassword)));
}

TEST(GatewayRedisSentinelTest, NoSentinelAnsweringIsAClearStartUpError) {
  const GatewayProcess::Exit exit = GatewayProcess::RunToExit(
      {"--store=redis-sentinel://mymaster@127.0.0.1:1,127.0.0.1:2"}, std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited);
  EXPECT_NE(exit.code, 0);
  EXPECT_THAT(exit.stderr_text, HasSubstr("no sentinel named a primary for master 'mymaster'"));

  const GatewayProcess::Exit hidden = GatewayProcess::RunToExit(
      {"--store=redis-sentinel://:hunter2-data@mymaster@127.0.0.1:1?sentinel_password=hunter2-s"},
      std::chrono::seconds(20));
  ASSERT_TRUE(hidden.exited);
  EXPECT_NE(hidden.code, 0);
  EXPECT_THAT(hidden.stderr_text, HasSubstr("redis-sentinel://<credentials>@mymaster@127.0.0.1:1"));
  EXPECT_THAT(hidden.stderr_text, Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace admission::gateway::testing
