// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The policy's forms for Redis against fixed texts: the blob is stored data (an event written
// before a change must still be read), and the scripts read their arguments by the field list
// the build generates from the table, which must match what EncodePolicyArgs sends.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/policy_fields.h"
#include "gtest/gtest.h"
#include "redis/room/functions.h"
#include "redis/room/policy_codec.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

// A policy with every field away from its default.
Policy Unusual() {
  Policy p;
  p.admit_rate_per_sec = 1.0 / 3.0;
  p.burst = 7;
  p.bypass_top_n = 0;
  p.active_capacity = 1'000'000'000'000;
  p.heartbeat_ttl = absl::Seconds(1) + absl::Nanoseconds(1) / 4;
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Hours(24)}};
  p.rate_windows = {absl::Seconds(1)};
  p.paused = true;
  p.paused_reason = "a|b|c";
  p.prequeue_opens_at = absl::FromUnixMicros(1767225600000000) + absl::Nanoseconds(1) / 4;
  p.opens_at = absl::FromUnixSeconds(1767225700);
  p.closes_at = absl::FromUnixSeconds(1767229300);
  p.method = QueueMethod::kRandom;
  p.reject_message = "sold|out";
  p.safety_net = true;
  p.claim_window = absl::Seconds(7);
  p.queue_message = "Verkauf ab 10:30 | 판매 재개";
  return p;
}

constexpr const char* kDefaultBlob =
    "p4|100|100|10|50000|300:0|600:0|30:0|600:0|10@0:0,50@2:0,9223372036854775807@5:0|"
    "10:0,60:0,300:0|0||||0|0|5:0|0|0|";
constexpr const char* kUnusualBlob =
    "p4|0.33333333333333331|7|0|1000000000000|1:1|600:0|30:0|600:0|"
    "1@0:0,9223372036854775807@86400:0|1:0|1|1767225600:1|1767225700:0|1767229300:0|1|1|7:0|5|"
    "8|a|b|csold|outVerkauf ab 10:30 | 판매 재개";
// The same policies as stored before queue_message (format p3): still read, with no message.
constexpr const char* kDefaultBlobP3 =
    "p3|100|100|10|50000|300:0|600:0|30:0|600:0|10@0:0,50@2:0,9223372036854775807@5:0|"
    "10:0,60:0,300:0|0||||0|0|5:0|0|";
constexpr const char* kUnusualBlobP3 =
    "p3|0.33333333333333331|7|0|1000000000000|1:1|600:0|30:0|600:0|"
    "1@0:0,9223372036854775807@86400:0|1:0|1|1767225600:1|1767225700:0|1767229300:0|1|1|7:0|5|"
    "a|b|csold|out";
// The same policies as stored before claim_window (format p2): still read, with its default.
constexpr const char* kDefaultBlobP2 =
    "p2|100|100|10|50000|300:0|600:0|30:0|600:0|10@0:0,50@2:0,9223372036854775807@5:0|"
    "10:0,60:0,300:0|0||||0|0|0|";
constexpr const char* kUnusualBlobP2 =
    "p2|0.33333333333333331|7|0|1000000000000|1:1|600:0|30:0|600:0|"
    "1@0:0,9223372036854775807@86400:0|1:0|1|1767225600:1|1767225700:0|1767229300:0|1|1|5|"
    "a|b|csold|out";

TEST(RedisPolicyCodecTest, BlobsKeepTheirStoredFormat) {
  EXPECT_EQ(redis_internal::EncodePolicyBlob(Policy()), kDefaultBlob);
  EXPECT_EQ(redis_internal::EncodePolicyBlob(Unusual()), kUnusualBlob);
  absl::StatusOr<Policy> back = redis_internal::DecodePolicyBlob(kDefaultBlob);
  ASSERT_OK(back);
  EXPECT_TRUE(*back == Policy());
  back = redis_internal::DecodePolicyBlob(kUnusualBlob);
  ASSERT_OK(back);
  EXPECT_TRUE(*back == Unusual());
  back = redis_internal::DecodePolicyBlob(kDefaultBlobP3);
  ASSERT_OK(back);
  EXPECT_TRUE(*back == Policy());
  back = redis_internal::DecodePolicyBlob(kUnusualBlobP3);
  ASSERT_OK(back);
  Policy unusual_p3 = Unusual();
  unusual_p3.queue_message.clear();
  EXPECT_TRUE(*back == unusual_p3);
  back = redis_internal::DecodePolicyBlob(kDefaultBlobP2);
  ASSERT_OK(back);
  EXPECT_TRUE(*back == Policy());
  back = redis_internal::DecodePolicyBlob(kUnusualBlobP2);
  ASSERT_OK(back);
  Policy unusual_p2 = Unusual();
  unusual_p2.claim_window = Policy().claim_window;
  unusual_p2.queue_message.clear();
  EXPECT_TRUE(*back == unusual_p2);
}

TEST(RedisPolicyCodecTest, BadTextsAreCorrupt) {
  const std::string head = "p4|100|100|10|50000|300:0|600:0|30:0|600:0||10:0|0||||0|0|5:0|";
  ASSERT_OK(redis_internal::DecodePolicyBlob(head + "0|0|"));
  ASSERT_OK(redis_internal::DecodePolicyBlob(head + "3|0|abc"));
  ASSERT_OK(redis_internal::DecodePolicyBlob(head + "1|1|abc"));
  for (const std::string& bad :
       {head + "0|0", head + "4|0|abc", head + "3|1|abc", head + "x|0|abc", head + "0|", head}) {
    EXPECT_STATUS_CODE(redis_internal::DecodePolicyBlob(bad), absl::StatusCode::kInternal) << bad;
  }
}

TEST(RedisPolicyCodecTest, ArgumentsAreTheFieldsInTableOrderAsTheScriptsComputeWithThem) {
  const std::vector<std::string> expected = {
      kUnusualBlob,
      "0.33333333333333331",              // admit_rate_per_sec
      "7",                                // burst
      "0",                                // bypass_top_n
      "1000000000000",                    // active_capacity
      "1000000",                          // heartbeat_ttl, us
      "600000000",                        // active_ttl
      "30000000",                         // reservation_ttl
      "600000000",                        // ended_ttl
      "1,0,0:0;inf,86400000000,86400:0",  // wait_tiers
      "1000000",                          // rate_windows
      "1",                                // paused
      "a|b|c",                            // paused_reason
      "1767225600000000",                 // prequeue_opens_at, us
      "1767225700000000",                 // opens_at
      "1767229300000000",                 // closes_at
      "1",                                // method
      "sold|out",                         // reject_message
      "1",                                // safety_net
      "7000000",                          // claim_window, us
      "Verkauf ab 10:30 | 판매 재개",     // queue_message
  };
  EXPECT_EQ(redis_internal::EncodePolicyArgs(Unusual()), expected);
  std::vector<std::string> defaults = redis_internal::EncodePolicyArgs(Policy());
  ASSERT_EQ(defaults.size(), size_t{redis_internal::kPolicyArgCount});
  EXPECT_EQ(defaults[9], "10,0,0:0;50,2000000,2:0;inf,5000000,5:0");
  EXPECT_EQ(defaults[13], "");  // unset times
}

std::string KindName(const RateField&) { return "rate"; }
std::string KindName(const CountField&) { return "count"; }
std::string KindName(const DurationField&) { return "duration"; }
std::string KindName(const TiersField&) { return "tiers"; }
std::string KindName(const WindowsField&) { return "windows"; }
std::string KindName(const BoolField&) { return "bool"; }
std::string KindName(const TextField&) { return "text"; }
std::string KindName(const TimeField&) { return "time"; }
std::string KindName(const MethodField&) { return "method"; }

TEST(RedisPolicyCodecTest, FunctionsReadTheArgumentsByTheTable) {
  std::string list = "local POLICY_ARGS = {\n";
  ForEachPolicyField([&list](const auto& field) {
    absl::StrAppend(&list, "  { '", field.name, "', '", KindName(field), "' },\n");
  });
  list += "}\n";
  EXPECT_NE(redis_internal::RoomLibrary().source.find(list), std::string_view::npos)
      << "the room's library lacks\n"
      << list;
}

}  // namespace
}  // namespace testing
}  // namespace admission
