// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The visitor page in headless Chromium (visitor_page_test.js): every language of strings.js by
// ?lang= and by Accept-Language, the operator's message within one poll, the aria-live region
// on a change of place, 360 px without sideways scroll, the keyboard. Starts the real binary on
// the in-memory store (gateway_process.h) and runs the script with node; skipped when chromium
// or node is missing. ADMISSION_VISITOR_SCREENSHOT=FILE.png also saves a screenshot of the page
// (docs/img/visitor_page.png is made so).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "support/gateway_process.h"

namespace admission::gateway {
namespace {

constexpr char kAdminToken[] = "visitor-admin";

TEST(VisitorPageTest, LanguagesMessageAnnouncementsAndPhones) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  int code = -1;
  testing::CommandOutput("node --version >/dev/null 2>&1", &code);
  if (code != 0) GTEST_SKIP() << "node is not installed";
  std::vector<std::string> flags = testing::OpenRoomFlags();
  flags.insert(flags.end(),
               {std::string("--admin_token=") + kAdminToken, "--identity=trusted", "--threads=8"});
  std::string error;
  auto gateway = testing::GatewayProcess::Start(flags, &error);
  ASSERT_NE(gateway, nullptr) << error;
  std::string command = std::string("node ") + ADMISSION_VISITOR_PAGE_SCRIPT +
                        " http://127.0.0.1:" + std::to_string(gateway->port()) + " " + kAdminToken +
                        " " + ADMISSION_VISITOR_STRINGS;
  if (const char* shot = std::getenv("ADMISSION_VISITOR_SCREENSHOT"); shot != nullptr) {
    command += std::string(" '") + shot + "'";
  }
  const std::string out = testing::CommandOutput(command + " 2>&1", &code);
  EXPECT_EQ(code, 0) << out;
  std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace admission::gateway
