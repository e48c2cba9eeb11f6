// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway on a password-protected Redis (docs/gateway.md, "Redis credentials"): the
// password from --redis_password_file, from ADMISSION_REDIS_PASSWORD or from the --store URL
// (with a warning); a refusal exits non-zero with a clear message; and the password shows in
// neither the gateway's stdout nor its stderr.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"
#include "support/redis/redis_server.h"

namespace admission::gateway::testing {
namespace {

using ::admission::testing::RedisServer;
using ::admission::testing::RedisServerOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "gw-Pa55word-7x";

class GatewayRedisAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions options;
    options.password = kPassword;
    auto server = RedisServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("admission-gw-auth-", getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A file holding `password` (and a second line the gateway must ignore).
  std::string PasswordFile(const std::string& password) {
    const std::string path = (dir_ / "redis-password").string();
    std::ofstream out(path);
    out << password << "\nnot-the-password\n";
    return path;
  }

  std::string Store() const { return absl::StrCat("--store=redis://", server_->address()); }

  std::vector<std::string> Flags(std::vector<std::string> extra) const {
    std::vector<std::string> flags = OpenRoomFlags();
    flags.push_back(Store());
    flags.push_back("--redis_key_prefix=gwauth");
    flags.push_back("--redis_pool_size=2");
    for (std::string& f : extra) flags.push_back(std::move(f));
    return flags;
  }

  // The gateway serves the room on Redis: a join and an enter.
  void ExpectServes(GatewayProcess& gateway, const std::string& user = "alice") {
    std::unique_ptr<httplib::Client> client = gateway.Client();
    EXPECT_NE(Admit(*client, "authed", user), "");
  }

  std::unique_ptr<RedisServer> server_;
  std::filesystem::path dir_;
};

TEST_F(GatewayRedisAuthTest, ServesWithThePasswordFromAFile) {
  std::string error;
  auto gateway = GatewayProcess::Start(
      Flags({absl::StrCat("--redis_password_file=", PasswordFile(kPassword))}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  ExpectServes(*gateway);
  EXPECT_THAT(gateway->Stderr(), Not(HasSubstr(kPassword)));
}

TEST_F(GatewayRedisAuthTest, ServesWithThePasswordFromTheEnvironment) {
  ASSERT_EQ(setenv("ADMISSION_REDIS_PASSWORD", kPassword, 1), 0);
  std::string error;
  auto gateway = GatewayProcess::Start(Flags({}), &error);
  unsetenv("ADMISSION_REDIS_PASSWORD");
  ASSERT_NE(gateway, nullptr) << error;
  ExpectServes(*gateway);
  EXPECT_THAT(gateway->Stderr(), Not(HasSubstr(kPassword)));
}

// The rule of docs/gateway.md: the file wins over the environment, which wins over the URL.
TEST_F(GatewayRedisAuthTest, TheFileWinsOverTheEnvironmentWhichWinsOverTheUrl) {
  ASSERT_EQ(setenv("ADMISSION_REDIS_PASSWORD", "hunter2-env", 1), 0);
  std::string error;
  auto gateway = GatewayProcess::Start(
      Flags({absl::StrCat("--redis_password_file=", PasswordFile(kPassword))}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  ExpectServes(*gateway);
  gateway.reset();

  ASSERT_EQ(setenv("ADMISSION_REDIS_PASSWORD", kPassword, 1), 0);
  std::vector<std::string> flags = Flags({});
  flags.push_back(absl::StrCat("--store=redis://:hunter2-url@", server_->address()));
  gateway = GatewayProcess::Start(flags, &error);
  unsetenv("ADMISSION_REDIS_PASSWORD");
  ASSERT_NE(gateway, nullptr) << error;
  ExpectServes(*gateway, "bob");
  EXPECT_THAT(gateway->Stderr(), HasSubstr("unused: the file or the environment wins"));
  EXPECT_THAT(gateway->Stderr(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(gateway->Stderr(), Not(HasSubstr(kPassword)));
}

TEST_F(GatewayRedisAuthTest, CredentialFlagsNeedARedisStore) {
  const GatewayProcess::Exit exit = GatewayProcess::RunToExit(
      {"--store=memory", "--redis_username=adm"}, std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited);
  EXPECT_NE(exit.code, 0);
  EXPECT_THAT(exit.stderr_text, HasSubstr("--redis_username: needs a Redis --store"));
}

TEST_F(GatewayRedisAuthTest, AWrongPasswordExitsWithAClearMessageWithoutIt) {
  const GatewayProcess::Exit exit = GatewayProcess::RunToExit(
      Flags({absl::StrCat("--redis_password_file=", PasswordFile("hunter2-wrong"))}),
      std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited);
  EXPECT_NE(exit.code, 0);
  EXPECT_THAT(exit.stderr_text, HasSubstr("Redis refused the credentials for the default user"));
  EXPECT_THAT(exit.stderr_text, Not(HasSubstr("hunter2")));

  const GatewayProcess::Exit user = GatewayProcess::RunToExit(
      Flags({"--redis_username=nobody",
             absl::StrCat("--redis_password_file=", PasswordFile("hunter2-wrong"))}),
      std::chrono::seconds(20));
  ASSERT_TRUE(user.exited);
  EXPECT_NE(user.code, 0);
  EXPECT_THAT(user.stderr_text, HasSubstr("Redis refused the credentials for user 'nobody'"));
  EXPECT_THAT(user.stderr_text, Not(HasSubstr("hunter2")));
}

TEST_F(GatewayRedisAuthTest, NoPasswordExitsSayingRedisNeedsOne) {
  const GatewayProcess::Exit exit = GatewayProcess::RunToExit(Flags({}), std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited);
  EXPECT_NE(exit.code, 0);
  EXPECT_THAT(exit.stderr_text, HasSubstr("Redis needs a password"));
}

TEST_F(GatewayRedisAuthTest, AMissingPasswordFileIsAClearError) {
  const GatewayProcess::Exit exit = GatewayProcess::RunToExit(
      Flags({absl::StrCat("--redis_password_file=", (dir_ / "absent").string())}),
      std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited);
  EXPECT_NE(exit.code, 0);
  EXPECT_THAT(exit.stderr_text, HasSubstr("--redis_password_file="));
  EXPECT_THAT(exit.stderr_text, HasSubstr("cannot read it"));
}

// A password in the URL works but is warned about, and neither the start-up line (stdout) nor
// stderr shows it: the gateway runs for a moment in a shell that captures both.
TEST_F(GatewayRedisAuthTest, APasswordInTheUrlWorksWithAWarningAndIsNeverPrinted) {
  std::string command = absl::StrCat("timeout -s TERM 4 ", ADMISSION_GATEWAY_BINARY,
                                     " --listen=127.0.0.1:0 --redis_key_prefix=gwauth",
                                     " --store=redis://:", kPassword, "@", server_->address());
  absl::StrAppend(&command, " 2>&1");
  int code = 0;
  const std::string output = CommandOutput(command, &code);
  EXPECT_THAT(output, HasSubstr("admission-gateway listening on"));
  EXPECT_THAT(output, HasSubstr(absl::StrCat("store: redis://", server_->address(), ",")));
  EXPECT_THAT(output, HasSubstr("warning: --store carries a Redis password"));
  EXPECT_THAT(output, Not(HasSubstr(kPassword)));

  // A wrong one in the URL: the error quotes the URL without it.
  const std::string wrong =
      CommandOutput(absl::StrCat("timeout -s TERM 10 ", ADMISSION_GATEWAY_BINARY,
                                 " --listen=127.0.0.1:0 --store=redis://adm:hunter2-url@",
                                 server_->address(), " 2>&1"),
                    &code);
  EXPECT_NE(code, 0);
  EXPECT_THAT(wrong, HasSubstr("--store=redis://<credentials>@"));
  EXPECT_THAT(wrong, HasSubstr("Redis refused the credentials for user 'adm'"));
  EXPECT_THAT(wrong, Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace admission::gateway::testing
