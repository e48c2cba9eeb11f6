// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// JsonObjectWriter, the hand-written JSON of the hot answers (join, status, access log), must
// say exactly what nlohmann::json would: every member parses back to the value nlohmann would
// have written, strings with quotes, control characters or invalid UTF-8 included, and numbers
// keep their JSON type (a whole double stays a float).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "admission/room/waiting_room.h"
#include "gtest/gtest.h"
#include "json_codec.h"

namespace admission::gateway {
namespace {

// What nlohmann writes for `value`, parsed back.
Json ViaNlohmann(const Json& value) {
  return Json::parse(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

TEST(JsonObjectWriterTest, StringsMatchNlohmann) {
  const std::vector<std::string> strings = {
      "",
      "plain-ascii_0123.:@",
      "quote \" and backslash \\",
      std::string("nul \0 inside", 12),
      "tab\tnewline\ncr\r",
      "\x01\x1f\x7f",
      "caf\xc3\xa9 \xe2\x82\xac",  // valid UTF-8
      "bad \xff\xfe utf-8 \xc3",   // invalid: replaced, not thrown
  };
  for (const std::string& s : strings) {
    const std::string text = JsonObjectWriter().String("v", s).Finish();
    const Json parsed = Json::parse(text, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << text;
    EXPECT_EQ(parsed["v"], ViaNlohmann(Json(s))) << text;
  }
}

TEST(JsonObjectWriterTest, NumbersKeepTheirTypeAndValue) {
  const std::vector<double> doubles = {
      0.0, 1.0, -2.0, 0.5, 0.001, 1e-7, 123456.789, 1e300, std::nextafter(1.0, 2.0)};
  for (double d : doubles) {
    const Json parsed = Json::parse(JsonObjectWriter().Double("d", d).Finish());
    EXPECT_TRUE(parsed["d"].is_number_float()) << d;
    EXPECT_EQ(parsed["d"].get<double>(), d);
  }
  for (double d : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    EXPECT_TRUE(Json::parse(JsonObjectWriter().Double("d", d).Finish())["d"].is_null());
  }
  for (int64_t i : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()}) {
    const Json parsed = Json::parse(JsonObjectWriter().Int("i", i).Finish());
    EXPECT_TRUE(parsed["i"].is_number_integer());
    EXPECT_EQ(parsed["i"].get<int64_t>(), i);
  }
  const Json j = Json::parse(JsonObjectWriter()
                                 .Bool("t", true)
                                 .Bool("f", false)
                                 .Null("n")
                                 .Seconds("s", absl::Milliseconds(1500))
                                 .Seconds("inf", absl::InfiniteDuration())
                                 .Finish());
  EXPECT_EQ(j, Json::parse(R"({"t":true,"f":false,"n":null,"s":1.5,"inf":null})"));
  EXPECT_EQ(JsonObjectWriter().Finish(), "{}");
}

TEST(JsonObjectWriterTest, StatusTextHasEveryField) {
  QueueStatus s;
  s.event_id = "ev";
  s.state = UserState::kWaiting;
  s.position = 42;
  s.eta = absl::Seconds(12.3456);
  s.eta_confidence = 0.66666;
  s.waited = absl::Milliseconds(2500);
  s.poll_after = absl::Seconds(2);
  s.blocked_by = EntryBlock::kPaused;
  s.retry_after = absl::Milliseconds(4200);
  s.paused_reason = "back at \"noon\"\n";
  const Json j = Json::parse(QueueStatusJsonText(s));
  EXPECT_EQ(j, QueueStatusToJson(s));
  EXPECT_EQ(j["event_id"], "ev");
  EXPECT_EQ(j["status"], "waiting");
  EXPECT_EQ(j["position"], 42);
  EXPECT_DOUBLE_EQ(j["eta_sec"].get<double>(), 12.345);
  EXPECT_DOUBLE_EQ(j["eta_confidence"].get<double>(), 0.667);
  EXPECT_DOUBLE_EQ(j["waiting_time"].get<double>(), 2.5);
  EXPECT_EQ(j["ready_for_entry"], false);
  EXPECT_EQ(j["poll_after_ms"], 2000);
  EXPECT_EQ(j["reason"], "paused");
  EXPECT_EQ(j["retry_after_sec"], 5);
  EXPECT_EQ(j["paused_reason"], "back at \"noon\"\n");
  s.blocked_by = EntryBlock::kNone;
  s.eta = absl::InfiniteDuration();
  const Json k = Json::parse(QueueStatusJsonText(s));
  EXPECT_TRUE(k["eta_sec"].is_null());
  EXPECT_FALSE(k.contains("reason"));
  EXPECT_FALSE(k.contains("paused_reason"));
}

}  // namespace
}  // namespace admission::gateway
