// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Unit tests of the small pieces: policy validation and tiers, ids and tokens, the clocks, the
// names of states, option validation, and how WaitingRoom presents a store's raw facts (rate,
// ETA, confidence, poll advice) — the latter against a fake store that returns crafted tickets.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "admission/room/policy_fields.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "room/join_refusal_internal.h"
#include "room/position_index.h"
#include "room/rules.h"
#include "room/shuffle.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;

// ---------------------------------------------------------------------------------------------
// Policy

TEST(PolicyTest, DefaultsAreTheDocumentedOnesAndValid) {
  Policy p;
  EXPECT_EQ(p.admit_rate_per_sec, 100.0);
  EXPECT_EQ(p.burst, 100);
  EXPECT_EQ(p.bypass_top_n, 10);
  EXPECT_EQ(p.active_capacity, 50000);
  EXPECT_EQ(p.heartbeat_ttl, absl::Minutes(5));
  EXPECT_EQ(p.active_ttl, absl::Minutes(10));
  EXPECT_EQ(p.reservation_ttl, absl::Seconds(30));
  EXPECT_EQ(p.ended_ttl, absl::Minutes(10));
  EXPECT_EQ(p.wait_tiers, DefaultWaitTiers());
  EXPECT_EQ(p.rate_windows, (std::vector<absl::Duration>{absl::Seconds(10), absl::Seconds(60),
                                                         absl::Seconds(300)}));
  EXPECT_FALSE(p.paused);
  EXPECT_EQ(p.claim_window, absl::Seconds(5));
  EXPECT_OK(ValidatePolicy(p));
  EXPECT_OK(ValidatePolicy(OpenPolicy()));
}

TEST(PolicyTest, DefaultWaitTiers) {
  const std::vector<WaitTier> tiers = DefaultWaitTiers();
  ASSERT_EQ(tiers.size(), 3u);
  EXPECT_EQ(tiers[0], (WaitTier{10, absl::ZeroDuration()}));
  EXPECT_EQ(tiers[1], (WaitTier{50, absl::Seconds(2)}));
  EXPECT_EQ(tiers[2], (WaitTier{WaitTier::kUnboundedPosition, absl::Seconds(5)}));
}

TEST(PolicyTest, TierWaitByPosition) {
  const std::vector<WaitTier> tiers = DefaultWaitTiers();
  EXPECT_EQ(TierWait(tiers, 1), absl::ZeroDuration());
  EXPECT_EQ(TierWait(tiers, 10), absl::ZeroDuration());
  EXPECT_EQ(TierWait(tiers, 11), absl::Seconds(2));
  EXPECT_EQ(TierWait(tiers, 50), absl::Seconds(2));
  EXPECT_EQ(TierWait(tiers, 51), absl::Seconds(5));
  EXPECT_EQ(TierWait(tiers, 1000000000), absl::Seconds(5));
  EXPECT_EQ(TierWait(tiers, WaitTier::kUnboundedPosition), absl::Seconds(5));
  EXPECT_EQ(TierWait({}, 1), absl::ZeroDuration());
  EXPECT_EQ(TierWait({}, 12345), absl::ZeroDuration());
  const std::vector<WaitTier> one = {{WaitTier::kUnboundedPosition, absl::Milliseconds(250)}};
  EXPECT_EQ(TierWait(one, 1), absl::Milliseconds(250));
  EXPECT_EQ(TierWait(one, 99), absl::Milliseconds(250));
  // Never decreasing with the position, for any valid policy.
  const std::vector<WaitTier> steps = {{1, absl::ZeroDuration()},
                                       {3, absl::Seconds(1)},
                                       {7, absl::Seconds(1)},
                                       {WaitTier::kUnboundedPosition, absl::Seconds(4)}};
  ASSERT_OK(ValidatePolicy([&] {
    Policy p;
    p.wait_tiers = steps;
    return p;
  }()));
  for (int64_t pos = 1; pos < 20; ++pos) EXPECT_LE(TierWait(steps, pos), TierWait(steps, pos + 1));
}

TEST(PolicyTest, ValidEdgeCases) {
  std::vector<Policy> good;
  auto add = [&](auto mutate) {
    Policy p;
    mutate(p);
    good.push_back(p);
  };
  add([](Policy& p) { p.admit_rate_per_sec = 0; });  // a stopped line is a valid setting
  add([](Policy& p) { p.admit_rate_per_sec = 0.5; });
  add([](Policy& p) { p.bypass_top_n = 0; });  // strict pacing
  add([](Policy& p) { p.burst = 1; });
  add([](Policy& p) { p.wait_tiers.clear(); });
  add([](Policy& p) { p.wait_tiers = {{WaitTier::kUnboundedPosition, absl::Seconds(3)}}; });
  add([](Policy& p) {  // equal waits are monotone
    p.wait_tiers = {{5, absl::Seconds(1)}, {WaitTier::kUnboundedPosition, absl::Seconds(1)}};
  });
  add([](Policy& p) { p.rate_windows = {absl::Seconds(1)}; });
  add([](Policy& p) { p.rate_windows = {absl::Hours(1)}; });
  add([](Policy& p) {
    p.rate_windows = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3), absl::Seconds(4)};
  });
  add([](Policy& p) {
    p.paused = true;
    p.paused_reason = std::string(200, 'x');
  });
  add([](Policy& p) { p.paused_reason = "Back soon: 10:00 (UTC) - sorry!"; });
  const absl::Time t = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  add([&](Policy& p) { p.opens_at = t; });                 // pre-queue from the start
  add([&](Policy& p) {
    p.prequeue_opens_at = t;  // no pre-queue: joins refused until the opening
    p.opens_at = t;
  });
  add([&](Policy& p) {
    p.prequeue_opens_at = t - absl::Hours(1);
    p.opens_at = t;
    p.closes_at = t + absl::Microseconds(1);
  });
  add([&](Policy& p) { p.closes_at = t; });  // closing alone is fine
  add([](Policy& p) { p.opens_at = absl::UnixEpoch(); });
  add([](Policy& p) { p.closes_at = absl::FromUnixSeconds(7258118400) - absl::Nanoseconds(1); });
  add([](Policy& p) { p.method = QueueMethod::kRandom; });
  add([](Policy& p) { p.method = QueueMethod::kPassthrough; });
  add([](Policy& p) {
    p.method = QueueMethod::kReject;
    p.reject_message = std::string(200, 'r');
  });
  add([](Policy& p) { p.safety_net = true; });
  add([](Policy& p) { p.queue_message = "Sales resume at 10:30"; });
  add([](Policy& p) { p.queue_message = std::string(280, 'm'); });
  // 280 code points of three bytes each: the limit counts characters, not bytes.
  add([](Policy& p) {
    for (int i = 0; i < 280; ++i) p.queue_message += "\xed\x8c\x90";  // U+D310
  });
  add([](Policy& p) { p.queue_message = "\xf0\x9f\x8e\xab Tickets <b>&</b> \"quotes\""; });
  for (size_t i = 0; i < good.size(); ++i) EXPECT_OK(ValidatePolicy(good[i])) << "policy #" << i;
}

struct BadPolicyCase {
  std::string name;
  std::string field;  // the message names the first field out of range
  Policy policy;
};

std::vector<BadPolicyCase> BadPolicies() {
  std::vector<BadPolicyCase> cases;
  auto add = [&](std::string name, std::string field, auto mutate) {
    Policy p;
    mutate(p);
    cases.push_back({std::move(name), std::move(field), p});
  };
  add("negative_rate", "admit_rate_per_sec", [](Policy& p) { p.admit_rate_per_sec = -1; });
  add("nan_rate", "admit_rate_per_sec",
      [](Policy& p) { p.admit_rate_per_sec = std::numeric_limits<double>::quiet_NaN(); });
  add("infinite_rate", "admit_rate_per_sec",
      [](Policy& p) { p.admit_rate_per_sec = std::numeric_limits<double>::infinity(); });
  add("negative_burst", "burst", [](Policy& p) { p.burst = -1; });
  add("negative_bypass", "bypass_top_n", [](Policy& p) { p.bypass_top_n = -1; });
  add("negative_capacity", "active_capacity", [](Policy& p) { p.active_capacity = -1; });
  add("zero_heartbeat", "heartbeat_ttl", [](Policy& p) { p.heartbeat_ttl = absl::ZeroDuration(); });
  add("negative_heartbeat", "heartbeat_ttl",
      [](Policy& p) { p.heartbeat_ttl = -absl::Seconds(1); });
  add("zero_active_ttl", "active_ttl", [](Policy& p) { p.active_ttl = absl::ZeroDuration(); });
  add("negative_reservation_ttl", "reservation_ttl",
      [](Policy& p) { p.reservation_ttl = -absl::Seconds(1); });
  add("negative_ended_ttl", "ended_ttl", [](Policy& p) { p.ended_ttl = -absl::Seconds(1); });
  add("short_claim_window", "claim_window",
      [](Policy& p) { p.claim_window = absl::Milliseconds(999); });
  add("long_claim_window", "claim_window",
      [](Policy& p) { p.claim_window = absl::Minutes(10) + absl::Microseconds(1); });
  add("tier_positions_not_increasing", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{10, absl::ZeroDuration()},
                    {10, absl::Seconds(1)},
                    {WaitTier::kUnboundedPosition, absl::Seconds(2)}};
  });
  add("tier_positions_decreasing", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{10, absl::ZeroDuration()},
                    {5, absl::Seconds(1)},
                    {WaitTier::kUnboundedPosition, absl::Seconds(2)}};
  });
  add("tier_waits_decreasing", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{10, absl::Seconds(3)}, {WaitTier::kUnboundedPosition, absl::Seconds(1)}};
  });
  add("tier_negative_wait", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{WaitTier::kUnboundedPosition, -absl::Seconds(1)}};
  });
  add("tier_position_zero", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{0, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(1)}};
  });
  add("last_tier_bounded", "wait_tiers", [](Policy& p) {
    p.wait_tiers = {{10, absl::ZeroDuration()}, {50, absl::Seconds(2)}};
  });
  add("no_windows", "rate_windows", [](Policy& p) { p.rate_windows.clear(); });
  add("five_windows", "rate_windows", [](Policy& p) {
    p.rate_windows = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3), absl::Seconds(4),
                      absl::Seconds(5)};
  });
  add("windows_not_increasing", "rate_windows", [](Policy& p) {
    p.rate_windows = {absl::Seconds(60), absl::Seconds(10)};
  });
  add("windows_equal", "rate_windows", [](Policy& p) {
    p.rate_windows = {absl::Seconds(10), absl::Seconds(10)};
  });
  add("window_too_short", "rate_windows", [](Policy& p) {
    p.rate_windows = {absl::Milliseconds(500), absl::Seconds(10)};
  });
  add("window_too_long", "rate_windows", [](Policy& p) {
    p.rate_windows = {absl::Seconds(10), absl::Hours(2)};
  });
  add("paused_reason_too_long", "paused_reason",
      [](Policy& p) { p.paused_reason = std::string(201, 'x'); });
  add("paused_reason_newline", "paused_reason", [](Policy& p) { p.paused_reason = "a\nb"; });
  add("paused_reason_control", "paused_reason",
      [](Policy& p) { p.paused_reason = std::string("a\x01") + "b"; });
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  add("prequeue_without_opening", "prequeue_opens_at", [&](Policy& p) { p.prequeue_opens_at = t; });
  add("prequeue_after_opening", "prequeue_opens_at", [&](Policy& p) {
    p.prequeue_opens_at = t + absl::Seconds(1);
    p.opens_at = t;
  });
  add("closing_at_opening", "closes_at", [&](Policy& p) {
    p.opens_at = t;
    p.closes_at = t;
  });
  add("closing_before_opening", "closes_at", [&](Policy& p) {
    p.opens_at = t;
    p.closes_at = t - absl::Minutes(1);
  });
  add("opening_before_1970", "opens_at",
      [](Policy& p) { p.opens_at = absl::UnixEpoch() - absl::Seconds(1); });
  add("opening_in_2200", "opens_at",
      [](Policy& p) { p.opens_at = absl::FromUnixSeconds(7258118400); });
  add("opening_infinite", "opens_at", [](Policy& p) { p.opens_at = absl::InfiniteFuture(); });
  add("prequeue_infinite_past", "prequeue_opens_at",
      [](Policy& p) { p.prequeue_opens_at = absl::InfinitePast(); });
  add("closing_infinite", "closes_at", [](Policy& p) { p.closes_at = absl::InfiniteFuture(); });
  add("unknown_method", "method", [](Policy& p) { p.method = static_cast<QueueMethod>(7); });
  add("reject_message_too_long", "reject_message",
      [](Policy& p) { p.reject_message = std::string(201, 'x'); });
  add("reject_message_control", "reject_message",
      [](Policy& p) { p.reject_message = "sold\tout"; });
  add("queue_message_too_long", "queue_message",
      [](Policy& p) { p.queue_message = std::string(281, 'x'); });
  add("queue_message_too_many_chars", "queue_message", [](Policy& p) {
    for (int i = 0; i < 281; ++i) p.queue_message += "\xc3\xa9";  // U+00E9
  });
  add("queue_message_newline", "queue_message", [](Policy& p) { p.queue_message = "a\nb"; });
  add("queue_message_delete", "queue_message", [](Policy& p) { p.queue_message = "a\x7f"; });
  add("queue_message_c1_control", "queue_message",
      [](Policy& p) { p.queue_message = "a\xc2\x85"; });  // U+0085 NEL
  add("queue_message_bad_utf8", "queue_message",
      [](Policy& p) { p.queue_message = "caf\xe9"; });  // Latin-1, not UTF-8
  add("queue_message_truncated_utf8", "queue_message",
      [](Policy& p) { p.queue_message = "\xed\x8c"; });
  add("queue_message_overlong_utf8", "queue_message",
      [](Policy& p) { p.queue_message = "\xe0\x80\xaf"; });
  add("queue_message_surrogate", "queue_message",
      [](Policy& p) { p.queue_message = "\xed\xa0\x80"; });
  return cases;
}

class BadPolicyTest : public ::testing::TestWithParam<BadPolicyCase> {};

TEST_P(BadPolicyTest, IsInvalidArgumentNamingTheField) {
  const absl::Status s = ValidatePolicy(GetParam().policy);
  EXPECT_EQ(s.code(), kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().field));
}

INSTANTIATE_TEST_SUITE_P(Cases, BadPolicyTest, ::testing::ValuesIn(BadPolicies()),
                         [](const auto& info) { return info.param.name; });

TEST(PolicyTest, Equality) {
  Policy a;
  Policy b;
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);
  b.paused_reason = "x";
  EXPECT_TRUE(a != b);
  b = a;
  b.wait_tiers[1].min_wait += absl::Milliseconds(1);
  EXPECT_FALSE(a == b);
  b = a;
  b.rate_windows.pop_back();
  EXPECT_FALSE(a == b);
  b = a;
  b.admit_rate_per_sec += 0.5;
  EXPECT_FALSE(a == b);
  b = a;
  b.ended_ttl += absl::Seconds(1);
  EXPECT_FALSE(a == b);
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  for (auto mutate : std::vector<void (*)(Policy&, absl::Time)>{
           [](Policy&p, absl::Time at) { p.prequeue_opens_at = at; },
           [](Policy&p, absl::Time at) { p.opens_at = at; },
           [](Policy&p, absl::Time at) { p.closes_at = at; },
           [](Policy&p, absl::Time) { p.method = QueueMethod::kRandom; },
           [](Policy&p, absl::Time) { p.reject_message = "no"; },
           [](Policy&p, absl::Time) { p.safety_net = true; },
       }) {
    b = a;
    mutate(b, t);
    EXPECT_FALSE(a == b);
    Policy c = b;
    EXPECT_TRUE(c == b);
  }
  b = a;
  b.opens_at = t;
  Policy c = a;
  c.opens_at = t + absl::Nanoseconds(1);
  EXPECT_FALSE(b == c);
}

// The table of fields lists every member of Policy, in the struct's order: the structured
// binding only compiles with as many names as Policy has members, and each entry's member is
// the binding at its place. A new member of Policy needs a name here and an entry in the table.
TEST(PolicyFieldsTest, TheTableListsEveryMemberInOrder) {
  Policy p;
  auto& [admit_rate_per_sec, burst, bypass_top_n, active_capacity, heartbeat_ttl, active_ttl,
         reservation_ttl, ended_ttl, wait_tiers, rate_windows, paused, paused_reason,
         prequeue_opens_at, opens_at, closes_at, method, reject_message, safety_net, claim_window,
         queue_message] = p;
  const std::vector<const void*> members = {
      &admit_rate_per_sec, &burst,        &bypass_top_n,    &active_capacity,
      &heartbeat_ttl,      &active_ttl,   &reservation_ttl, &ended_ttl,
      &wait_tiers,         &rate_windows, &paused,          &paused_reason,
      &prequeue_opens_at,  &opens_at,     &closes_at,       &method,
      &reject_message,     &safety_net,   &claim_window,    &queue_message};
  ASSERT_EQ(kPolicyFieldCount, members.size());
  std::vector<const void*> listed;
  std::set<std::string> names;
  ForEachPolicyField([&](const auto& field) {
    listed.push_back(&(p.*field.member));
    names.insert(field.name);
  });
  EXPECT_EQ(listed, members);
  EXPECT_EQ(names.size(), kPolicyFieldCount);
}

// Every field takes part in equality and in validation's first-error order.
TEST(PolicyFieldsTest, EveryFieldCountsForEquality) {
  const Policy a;
  ForEachPolicyField([&a](const auto& field) {
    Policy b = a;
    auto& value = b.*field.member;
    using Value = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<Value, double> || std::is_same_v<Value, int64_t>) {
      value += 1;
    } else if constexpr (std::is_same_v<Value, absl::Duration>) {
      value += absl::Nanoseconds(1) / 4;
    } else if constexpr (std::is_same_v<Value, bool>) {
      value = !value;
    } else if constexpr (std::is_same_v<Value, std::string>) {
      value += "x";
    } else if constexpr (std::is_same_v<Value, std::optional<absl::Time>>) {
      value = absl::UnixEpoch();
    } else if constexpr (std::is_same_v<Value, QueueMethod>) {
      value = QueueMethod::kReject;
    } else {
      value.pop_back();
    }
    EXPECT_FALSE(a == b) << field.name;
  });
}

TEST(PolicyFieldsTest, ValidationNamesTheFirstBadFieldInTableOrder) {
  Policy p;
  p.reject_message = std::string(201, 'x');
  p.burst = -1;
  absl::Status s = ValidatePolicy(p);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("policy.burst "));
  p.burst = 1;
  s = ValidatePolicy(p);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("policy.reject_message "));
}

TEST(PolicyTest, ScheduleAndMethodDefaultsChangeNothing) {
  const Policy p;
  EXPECT_FALSE(p.prequeue_opens_at.has_value());
  EXPECT_FALSE(p.opens_at.has_value());
  EXPECT_FALSE(p.closes_at.has_value());
  EXPECT_EQ(p.method, QueueMethod::kFifo);
  EXPECT_TRUE(p.reject_message.empty());
  EXPECT_FALSE(p.safety_net);
}

TEST(PolicyTest, QueueMethodNames) {
  const std::vector<std::pair<QueueMethod, std::string_view>> names = {
      {QueueMethod::kFifo, "fifo"},
      {QueueMethod::kRandom, "random"},
      {QueueMethod::kPassthrough, "passthrough"},
      {QueueMethod::kReject, "reject"}};
  for (const auto& [method, name] : names) {
    EXPECT_EQ(QueueMethodName(method), name);
    EXPECT_THAT(ParseQueueMethod(name), IsOkAndHolds(method));
  }
  // Stable numbers: stores and bindings carry them.
  EXPECT_EQ(static_cast<int>(QueueMethod::kFifo), 0);
  EXPECT_EQ(static_cast<int>(QueueMethod::kRandom), 1);
  EXPECT_EQ(static_cast<int>(QueueMethod::kPassthrough), 2);
  EXPECT_EQ(static_cast<int>(QueueMethod::kReject), 3);
  EXPECT_EQ(ParseQueueMethod("FIFO").status().code(), kInvalidArgument);
  EXPECT_EQ(ParseQueueMethod("").status().code(), kInvalidArgument);
  EXPECT_EQ(ParseQueueMethod("lottery").status().code(), kInvalidArgument);
}

// The facts of a refused join travel with its status (both stores build it with
// rules::JoinRefusedError), so that shells answer without parsing messages.
TEST(JoinRefusalTest, EachRefusalCarriesItsReasonAndTime) {
  SimulatedClock clock;
  Options options;
  options.sweep_interval = absl::ZeroDuration();
  auto room = WaitingRoom::CreateInMemory(options, &clock).value();
  const absl::Time now = clock.Now();

  Policy p;
  p.prequeue_opens_at = now + absl::Minutes(5);
  p.opens_at = now + absl::Minutes(10);
  ASSERT_TRUE(room->SetPolicy("ev", p).ok());
  absl::Status refused = room->Join("ev", "u1").status();
  std::optional<JoinRefusal> r = JoinRefusalOf(refused);
  ASSERT_TRUE(r.has_value()) << refused;
  EXPECT_EQ(r->reason, JoinRefusal::kNotOpenYet);
  EXPECT_EQ(r->at, now + absl::Minutes(5));
  EXPECT_EQ(JoinRefusalName(r->reason), "not_open_yet");

  p = Policy();
  p.closes_at = now - absl::Seconds(1);
  ASSERT_TRUE(room->SetPolicy("ev", p).ok());
  r = JoinRefusalOf(room->Join("ev", "u1").status());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, JoinRefusal::kClosed);
  EXPECT_EQ(r->at, now - absl::Seconds(1));

  p = Policy();
  p.method = QueueMethod::kReject;
  p.reject_message = "Sold out, thank you!";
  ASSERT_TRUE(room->SetPolicy("ev", p).ok());
  refused = room->Join("ev", "u1").status();
  EXPECT_EQ(refused.message(), "Sold out, thank you!");
  r = JoinRefusalOf(refused);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reason, JoinRefusal::kRejected);
  EXPECT_EQ(r->at, absl::InfinitePast());
  EXPECT_EQ(JoinRefusalName(r->reason), "rejected");
}

TEST(JoinRefusalTest, OtherStatusesCarryNone) {
  EXPECT_FALSE(JoinRefusalOf(absl::OkStatus()).has_value());
  EXPECT_FALSE(JoinRefusalOf(absl::FailedPreconditionError("left")).has_value());
  absl::Status wrong_code = absl::NotFoundError("x");
  internal::AttachJoinRefusal(JoinRefusal{}, &wrong_code);
  EXPECT_FALSE(JoinRefusalOf(wrong_code).has_value());
  absl::Status garbled = absl::FailedPreconditionError("x");
  garbled.SetPayload("type.admission/JoinRefusal", absl::Cord("closed soon"));
  EXPECT_FALSE(JoinRefusalOf(garbled).has_value());
}

// ---------------------------------------------------------------------------------------------
// Ids and tokens

TEST(IdsTest, EventIds) {
  for (const std::string& id : {std::string("a"), std::string("concert-2026"),
                                std::string("A_z-0_9"), std::string(kMaxEventIdLength, 'x')}) {
    EXPECT_OK(ValidateEventId(id)) << id;
  }
  for (const std::string& id :
       {std::string(""), std::string(kMaxEventIdLength + 1, 'x'), std::string("a b"),
        std::string("a.b"), std::string("a:b"), std::string("a@b"), std::string("a/b"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string("tab\t")}) {
    EXPECT_EQ(ValidateEventId(id).code(), kInvalidArgument) << id;
  }
}

TEST(IdsTest, UserIds) {
  for (const std::string& id :
       {std::string("u"), std::string("user-42"), std::string("a.b:c@d_e-F9"),
        std::string("someone@example.com"), std::string(kMaxUserIdLength, 'u')}) {
    EXPECT_OK(ValidateUserId(id)) << id;
  }
  for (const std::string& id :
       {std::string(""), std::string(kMaxUserIdLength + 1, 'u'), std::string("a b"),
        std::string("a/b"), std::string("a;b"), std::string("a+b"), std::string("a\nb"),
        std::string("\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_EQ(ValidateUserId(id).code(), kInvalidArgument) << id;
  }
}

TEST(IdsTest, NewTokenFormatAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string token = NewToken("concert-2026");
    ASSERT_EQ(token.size(), std::string("concert-2026.").size() + kTokenRandomHexDigits);
    ASSERT_EQ(token.rfind("concert-2026.", 0), 0u) << token;
    for (char c : token.substr(token.size() - kTokenRandomHexDigits)) {
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << token;
    }
    auto event = EventIdOfToken(token);
    ASSERT_OK(event);
    EXPECT_EQ(*event, "concert-2026");
    EXPECT_TRUE(seen.insert(token).second) << "duplicate token " << token;
  }
  // Every hex digit shows up in every position eventually (128 random bits, not a counter).
  std::set<char> first_digits;
  for (const std::string& t : seen) first_digits.insert(t[std::string("concert-2026.").size()]);
  EXPECT_EQ(first_digits.size(), 16u);
  // The longest event id still makes a valid token.
  const std::string longest(kMaxEventIdLength, 'e');
  const std::string longest_token = NewToken(longest);
  auto event = EventIdOfToken(longest_token);  // a view into longest_token
  ASSERT_OK(event);
  EXPECT_EQ(*event, longest);
}

TEST(IdsTest, EventIdOfMalformedTokens) {
  const std::string hex(kTokenRandomHexDigits, 'a');
  EXPECT_THAT(EventIdOfToken("ev." + hex), IsOkAndHolds(std::string_view("ev")));
  for (const std::string& token :
       {std::string(""), std::string("ev"), std::string("ev."), "." + hex, "ev" + hex,
        "ev." + hex.substr(1), "ev." + hex + "a", "ev." + std::string(kTokenRandomHexDigits, 'A'),
        "ev." + hex.substr(1) + "g", "ev." + hex.substr(1) + "-", "bad event." + hex, "ev.x." + hex,
        std::string(kMaxEventIdLength + 1, 'e') + "." + hex, "ev:" + hex}) {
    EXPECT_EQ(EventIdOfToken(token).status().code(), kInvalidArgument) << token;
  }
}

// ---------------------------------------------------------------------------------------------
// Clocks

TEST(ClockTest, SimulatedClockStartsAtTheFixedInstant) {
  SimulatedClock clock;
  EXPECT_EQ(clock.Now(),
            absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(clock.Now(), clock.Now());  // does not move by itself
}

TEST(ClockTest, SimulatedClockMovesOnlyForward) {
  const absl::Time start = absl::FromUnixSeconds(1000);
  SimulatedClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.Advance(absl::ZeroDuration());
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.Advance(-absl::Seconds(1));  // ignored
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.AdvanceTo(start);  // earlier: ignored
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.AdvanceTo(start + absl::Hours(1));
  EXPECT_EQ(clock.Now(), start + absl::Hours(1));
  clock.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(clock.Now(), start + absl::Hours(1) + absl::Nanoseconds(1));
}

TEST(ClockTest, SystemClockIsASingletonNearTheWallClock) {
  Clock* clock = SystemClock();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, SystemClock());
  const absl::Time before = absl::Now();
  const absl::Time now = clock->Now();
  const absl::Time after = absl::Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(NamesTest, StatesAndBlocksHaveDistinctNames) {
  std::set<std::string_view> states;
  for (UserState s : {UserState::kWaiting, UserState::kActive, UserState::kExpired,
                      UserState::kLeft, UserState::kCompleted, UserState::kPrequeue}) {
    EXPECT_FALSE(UserStateName(s).empty());
    states.insert(UserStateName(s));
  }
  EXPECT_EQ(states.size(), 6u);
  EXPECT_EQ(UserStateName(UserState::kPrequeue), "prequeue");
  // Appended: the numbers stores and bindings carry stay what they were.
  EXPECT_EQ(static_cast<int>(UserState::kCompleted), 4);
  EXPECT_EQ(static_cast<int>(UserState::kPrequeue), 5);
  EXPECT_EQ(UserStateName(UserState::kWaiting), "waiting");
  EXPECT_EQ(UserStateName(UserState::kActive), "active");
  EXPECT_EQ(UserStateName(UserState::kExpired), "expired");
  EXPECT_EQ(UserStateName(UserState::kLeft), "left");
  EXPECT_EQ(UserStateName(UserState::kCompleted), "completed");
  std::set<std::string_view> blocks;
  for (EntryBlock b : {EntryBlock::kNone, EntryBlock::kPaused, EntryBlock::kCapacityFull,
                       EntryBlock::kNotYourTurn, EntryBlock::kTierWait, EntryBlock::kNotWaiting}) {
    EXPECT_FALSE(EntryBlockName(b).empty());
    blocks.insert(EntryBlockName(b));
  }
  EXPECT_EQ(blocks.size(), 6u);
  EXPECT_EQ(EntryBlockName(EntryBlock::kPaused), "paused");
  EXPECT_EQ(EntryBlockName(EntryBlock::kCapacityFull), "capacity_full");
  EXPECT_EQ(EntryBlockName(EntryBlock::kNotYourTurn), "not_your_turn");
  EXPECT_EQ(EntryBlockName(EntryBlock::kTierWait), "tier_wait");
}

TEST(NamesTest, QueueStatusName) {
  QueueStatus s;
  s.state = UserState::kWaiting;
  s.ready_for_entry = false;
  EXPECT_EQ(s.status_name(), "waiting");
  s.ready_for_entry = true;
  EXPECT_EQ(s.status_name(), "ready");
  s.ready_for_entry = false;
  for (auto [state, name] :
       std::vector<std::pair<UserState, std::string_view>>{{UserState::kActive, "active"},
                                                           {UserState::kExpired, "expired"},
                                                           {UserState::kLeft, "left"},
                                                           {UserState::kCompleted, "completed"},
                                                           {UserState::kPrequeue, "prequeue"}}) {
    s.state = state;
    EXPECT_EQ(s.status_name(), name);
  }
}

// ---------------------------------------------------------------------------------------------
// WaitingRoom options

TEST(OptionsTest, InvalidOptionsAreRefused) {
  SimulatedClock clock;
  auto memory = [&] {
    MemoryStoreOptions o;
    o.clock = &clock;
    return NewMemoryStore(o);
  };
  EXPECT_EQ(WaitingRoom::Create(nullptr, Options{}).status().code(), kInvalidArgument);
  {
    Options o;
    o.sweep_interval = -absl::Seconds(1);
    EXPECT_EQ(WaitingRoom::Create(memory(), o).status().code(), kInvalidArgument);
  }
  {
    Options o;
    o.sweep_interval = absl::ZeroDuration();
    o.min_poll_interval = absl::Seconds(10);
    o.max_poll_interval = absl::Seconds(5);
    EXPECT_EQ(WaitingRoom::Create(memory(), o).status().code(), kInvalidArgument);
  }
  {
    Options o;
    o.sweep_interval = absl::ZeroDuration();
    o.default_policy.burst = -5;
    EXPECT_EQ(WaitingRoom::Create(memory(), o).status().code(), kInvalidArgument);
  }
  Options o;
  o.sweep_interval = absl::ZeroDuration();
  auto room = WaitingRoom::CreateInMemory(o, &clock);
  ASSERT_OK(room);
  auto joined = (*room)->Join("ev", "u1");
  ASSERT_OK(joined);
  EXPECT_EQ(joined->now, clock.Now());  // the injected clock, not the wall clock
  EXPECT_EQ((*room)->options().sweep_interval, absl::ZeroDuration());
}

// ---------------------------------------------------------------------------------------------
// Presentation: rate, ETA, confidence and poll advice, from crafted store answers

// Answers Status with whatever ticket the test put in, and Stats with the counters.
class FakeStore final : public Store {
 public:
  Ticket ticket;
  EventCounters counters;

  absl::StatusOr<Ticket> Join(const JoinRequest&) override { return Unimplemented(); }
  absl::StatusOr<std::string> FindToken(std::string_view, std::string_view) override {
    return Unimplemented();
  }
  absl::StatusOr<Ticket> Status(std::string_view, std::string_view token) override {
    Ticket t = ticket;
    t.token = std::string(token);
    return t;
  }
  absl::StatusOr<EnterOutcome> Enter(std::string_view, std::string_view token,
                                     std::string_view) override {
    EnterOutcome out;
    out.granted = ticket.state == UserState::kActive;
    out.ticket = ticket;
    out.ticket.token = std::string(token);
    return out;
  }
  absl::StatusOr<Ticket> Leave(std::string_view, std::string_view) override {
    return Unimplemented();
  }
  absl::StatusOr<Ticket> Complete(std::string_view, std::string_view) override {
    return Unimplemented();
  }
  absl::StatusOr<SweepOutcome> Sweep(std::string_view, int64_t) override { return SweepOutcome{}; }
  absl::Status SetPolicy(std::string_view, const Policy&) override { return absl::OkStatus(); }
  absl::StatusOr<Policy> GetPolicy(std::string_view) override { return Policy{}; }
  absl::StatusOr<EventCounters> Stats(std::string_view) override { return counters; }
  absl::StatusOr<std::vector<std::string>> ListEvents() override {
    return std::vector<std::string>{};
  }

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("fake"); }
};

class PresentationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = std::make_unique<FakeStore>();
    store_ = store.get();
    Options options;
    options.sweep_interval = absl::ZeroDuration();
    auto room = WaitingRoom::Create(std::move(store), options);
    ASSERT_OK(room);
    room_ = std::move(room).value();
    // A waiting user, heartbeat just renewed (TTL 5 min), joined 1 s ago, not ready.
    Ticket& t = store_->ticket;
    t.event_id = "ev";
    t.user_id = "u";
    t.state = UserState::kWaiting;
    t.now = now_;
    t.joined_at = now_ - absl::Seconds(1);
    t.deadline = now_ + absl::Minutes(5);
    t.present_until = now_ + absl::Minutes(5);
    t.ready_for_entry = false;
    t.blocked_by = EntryBlock::kNotYourTurn;
    t.retry_after = absl::Seconds(1);
    t.rate.policy_rate_per_sec = 4;
    t.rate.windows = {{absl::Seconds(10), 0}, {absl::Seconds(60), 0}, {absl::Seconds(300), 0}};
  }

  // Admissions in each window; the cursor reached as many users (nobody was passed over). The
  // room is at its capacity (active + granted >= active_capacity), where grants wait for users
  // to finish: the ETA's cursor speed is the measured grants, not the policy's rate.
  void Measured(double w10, double w60, double w300, absl::Duration history) {
    const double counts[] = {w10, w60, w300};
    for (int i = 0; i < 3; ++i) {
      store_->ticket.rate.windows[i].admissions = counts[i];
      store_->ticket.rate.windows[i].reached = counts[i];
    }
    store_->ticket.rate.first_admission = now_ - history;
    store_->ticket.rate.at_capacity = true;
  }

  // A user at `position` whom the grants have not reached: everyone ahead is unreached.
  QueueStatus At(int64_t position) {
    store_->ticket.position = position;
    store_->ticket.ahead_unreached = std::max<int64_t>(0, position - 1);
    auto s = room_->Status(token_);
    EXPECT_OK(s);
    return s.ok() ? *s : QueueStatus{};
  }

  const absl::Time now_ = absl::FromUnixSeconds(1767225600 + 12345);
  const std::string token_ = "ev." + std::string(kTokenRandomHexDigits, '7');
  FakeStore* store_ = nullptr;
  std::unique_ptr<WaitingRoom> room_;
};

TEST_F(PresentationTest, CopiesTheTicket) {
  store_->ticket.paused_reason = "r";
  store_->ticket.reservation_token = "ev." + std::string(kTokenRandomHexDigits, '1');
  QueueStatus s = At(9);
  EXPECT_EQ(s.event_id, "ev");
  EXPECT_EQ(s.user_id, "u");
  EXPECT_EQ(s.token, token_);
  EXPECT_EQ(s.state, UserState::kWaiting);
  EXPECT_EQ(s.position, 9);
  EXPECT_FALSE(s.ready_for_entry);
  EXPECT_EQ(s.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(s.retry_after, absl::Seconds(1));
  EXPECT_EQ(s.paused_reason, "r");
  EXPECT_EQ(s.reservation_token, store_->ticket.reservation_token);
  EXPECT_EQ(s.now, now_);
  EXPECT_EQ(s.waited, absl::Seconds(1));
  EXPECT_EQ(s.ahead_unreached, 8);
  EXPECT_EQ(s.grant_expires_at, absl::InfiniteFuture());
}

TEST_F(PresentationTest, AGrantIsShownWithItsExpiry) {
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.ready_for_entry = true;
  store_->ticket.blocked_by = EntryBlock::kNone;
  store_->ticket.grant_expires_at = now_ + absl::Seconds(5);
  store_->ticket.position = 3;  // reached and granted: nobody unreached ahead
  store_->ticket.ahead_unreached = 0;
  auto status = room_->Status(token_);
  ASSERT_OK(status);
  const QueueStatus& s = *status;
  EXPECT_EQ(s.status_name(), "ready");
  EXPECT_EQ(s.grant_expires_at, now_ + absl::Seconds(5));
  EXPECT_EQ(s.ahead_unreached, 0);
  EXPECT_EQ(s.eta, absl::ZeroDuration());
}

TEST_F(PresentationTest, BeforeAnyAdmissionThePolicyRateStandsIn) {
  QueueStatus s = At(9);  // 8 ahead at 4/s
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0.1);
  EXPECT_EQ(s.poll_after, absl::Seconds(1));
}

TEST_F(PresentationTest, AStalledCursorMeansNoEta) {
  // At capacity, admitted long ago, and nobody has finished since: no grants, no ETA.
  Measured(0, 0, 0, absl::Hours(1));
  QueueStatus s = At(9);
  EXPECT_EQ(s.eta, absl::InfiniteDuration());
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0);
  EXPECT_EQ(s.poll_after, absl::Seconds(60));
  // Below the capacity the bucket grants whoever waits: the policy's rate (8 at 4/s).
  store_->ticket.rate.at_capacity = false;
  s = At(9);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
  EXPECT_EQ(s.poll_after, absl::Seconds(1));
  // At a rate of 0 the cursor stands still.
  store_->ticket.rate.policy_rate_per_sec = 0;
  EXPECT_EQ(At(9).eta, absl::InfiniteDuration());
}

TEST_F(PresentationTest, SteadyWindowsGiveTheMeasuredRate) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s everywhere, at capacity
  QueueStatus s = At(21);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(10), absl::Microseconds(1)));
  EXPECT_NEAR(s.eta_confidence, 600.0 / 610.0, 1e-9);  // agreement 1, 600 samples
}

TEST_F(PresentationTest, BelowCapacityTheCursorSpeedIsThePolicyRate) {
  // The windows saw 2/s (a trickle, or another rate), but the room has room: grants follow the
  // bucket's 4/s whenever somebody present waits.
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.rate.at_capacity = false;
  QueueStatus s = At(21);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(5), absl::Microseconds(1)));  // 20 at 4/s
  // The confidence still comes from the measured admissions.
  EXPECT_NEAR(s.eta_confidence, 600.0 / 610.0, 1e-9);
  // An operator's change of the rate counts at once.
  store_->ticket.rate.policy_rate_per_sec = 10;
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(2), absl::Microseconds(1)));
  // At the capacity the measured grants again.
  store_->ticket.rate.at_capacity = true;
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(10), absl::Microseconds(1)));
}

TEST_F(PresentationTest, MedianOfDisagreeingWindows) {
  store_->ticket.rate.policy_rate_per_sec = 10;
  Measured(10, 120, 900, absl::Hours(1));  // 1/s, 2/s, 3/s
  QueueStatus s = At(21);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(10), absl::Microseconds(1)));  // 20 at 2/s
  EXPECT_NEAR(s.eta_confidence, (1.0 / 3.0) * (900.0 / 910.0), 1e-9);
}

TEST_F(PresentationTest, YoungHistoryMeasuresOverTheTimeSinceTheFirstAdmission) {
  // First admission 5 s ago: each window's rate is over min(W, 5 s). The ETA keeps the
  // policy's rate (4/s), even at capacity, until the shortest window (10 s) has history.
  Measured(10, 10, 10, absl::Seconds(5));  // 2/s everywhere
  QueueStatus s = At(5);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(1), absl::Microseconds(1)));
  // docs/rules.md: agreement * samples / (samples + 10) * (0.5 + 0.5 * coverage), with
  // coverage = 5 s of history / 300 s longest window.
  EXPECT_NEAR(s.eta_confidence, 1.0 * (10.0 / 20.0) * (0.5 + 0.5 * (5.0 / 300.0)), 1e-9);
}

TEST_F(PresentationTest, TheCursorSpeedIsMeasuredNotCapped) {
  // At capacity, 5 users granted a second at a policy rate of 2/s (the burst, bypass debt):
  // the measured speed is the cursor's, not capped by the policy's rate.
  store_->ticket.rate.policy_rate_per_sec = 2;
  Measured(50, 300, 1500, absl::Hours(1));
  QueueStatus s = At(11);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));  // 10 at 5/s
  EXPECT_NEAR(s.eta_confidence, 1500.0 / 1510.0, 1e-9);
  // Below the capacity the policy's rate: 10 at 2/s.
  store_->ticket.rate.at_capacity = false;
  EXPECT_TRUE(DurationNear(At(11).eta, absl::Seconds(5), absl::Microseconds(1)));
}

TEST_F(PresentationTest, VeryYoungHistoryUsesThePolicyRate) {
  Measured(3, 3, 3, absl::Milliseconds(200));  // the opening's burst says little
  store_->ticket.rate.policy_rate_per_sec = 100;
  QueueStatus s = At(7);
  EXPECT_TRUE(DurationNear(s.eta, absl::Milliseconds(60), absl::Microseconds(1)));  // 6 at 100/s
  // An ETA under min_poll_interval is the advice itself: the poll lands on the turn.
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Milliseconds(100), absl::Microseconds(1)));
  store_->ticket.rate.policy_rate_per_sec = 10;
  EXPECT_TRUE(DurationNear(At(7).poll_after, absl::Milliseconds(600), absl::Microseconds(1)));
}

TEST_F(PresentationTest, PausedMeansNoConfidence) {
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.rate.paused = true;
  store_->ticket.blocked_by = EntryBlock::kPaused;
  QueueStatus s = At(21);
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0);
  Measured(0, 0, 0, absl::InfiniteDuration());
  store_->ticket.rate.first_admission = absl::InfiniteFuture();
  EXPECT_DOUBLE_EQ(At(21).eta_confidence, 0);
}

TEST_F(PresentationTest, EtaCoversTheRemainingTierWait) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s
  store_->ticket.blocked_by = EntryBlock::kTierWait;
  store_->ticket.tier_wait = absl::Seconds(30);
  store_->ticket.joined_at = now_ - absl::Seconds(10);
  QueueStatus s = At(3);  // by rate: 1 s; tier: 20 s left
  EXPECT_EQ(s.eta, absl::Seconds(20));
  EXPECT_EQ(s.waited, absl::Seconds(10));
  EXPECT_EQ(s.poll_after, absl::Seconds(10));  // half the ETA
}

TEST_F(PresentationTest, ReadyMeansNoEtaAndPollSoon) {
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.ready_for_entry = true;
  store_->ticket.blocked_by = EntryBlock::kNone;
  QueueStatus s = At(1);
  EXPECT_EQ(s.eta, absl::ZeroDuration());
  EXPECT_EQ(s.poll_after, absl::Seconds(1));
  EXPECT_EQ(s.status_name(), "ready");
}

TEST_F(PresentationTest, PollAfterIsHalfTheEtaWithinBounds) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s
  EXPECT_TRUE(DurationNear(At(11).poll_after, absl::Milliseconds(2500), absl::Microseconds(1)));
  EXPECT_TRUE(DurationNear(At(41).poll_after, absl::Seconds(10), absl::Microseconds(1)));
  EXPECT_EQ(At(3).poll_after, absl::Seconds(1));  // 1 s ETA: the minimum
  EXPECT_TRUE(DurationNear(At(2).poll_after, absl::Milliseconds(500),
                           absl::Microseconds(1)));   // under the minimum: the ETA itself
  EXPECT_EQ(At(401).poll_after, absl::Seconds(60));   // 200 s: clamped to the maximum
  EXPECT_EQ(At(2001).poll_after, absl::Seconds(60));  // 1000 s
  // ... and below a third of the time left to the heartbeat deadline (here 30 s).
  store_->ticket.deadline = now_ + absl::Seconds(30);
  QueueStatus s = At(2001);
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Seconds(10), absl::Microseconds(1)));
}

TEST_F(PresentationTest, PollAfterIsCappedByHalfTheTimeToPresentUntil) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s
  store_->ticket.present_until = now_ + absl::Seconds(8);
  EXPECT_TRUE(DurationNear(At(401).poll_after, absl::Seconds(4), absl::Microseconds(1)));
  EXPECT_TRUE(DurationNear(At(11).poll_after, absl::Milliseconds(2500), absl::Microseconds(1)));
  // Below the minimum interval too, but never under 100 ms.
  store_->ticket.present_until = now_ + absl::Milliseconds(1200);
  EXPECT_TRUE(DurationNear(At(401).poll_after, absl::Milliseconds(600), absl::Microseconds(1)));
  store_->ticket.present_until = now_ + absl::Milliseconds(50);
  EXPECT_EQ(At(401).poll_after, absl::Milliseconds(100));
}

TEST_F(PresentationTest, EtaCountsUnreachedUsersAheadNotThePosition) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s
  store_->ticket.position = 41;
  store_->ticket.position_high = 41;
  store_->ticket.ahead_unreached = 10;  // 30 of the 40 ahead were reached (passed or granted)
  auto s = room_->Status(token_);
  ASSERT_OK(s);
  EXPECT_TRUE(DurationNear(s->eta, absl::Seconds(5), absl::Microseconds(1)));
  EXPECT_TRUE(DurationNear(s->poll_after, absl::Milliseconds(2500), absl::Microseconds(1)));
}

TEST_F(PresentationTest, TheCursorSpeedCountsGrantsNotPasses) {
  // 4 users reached a second, half of them absent and passed over: the cursor grants 2/s.
  Measured(20, 120, 600, absl::Hours(1));
  for (RateSample::Window& w : store_->ticket.rate.windows) {
    w.reached = 2 * w.admissions;
    w.passes = w.admissions;
  }
  // The passed users vanish from the line ahead at passes / exposure per user and second:
  // 600 passes over 60000 s waited = 0.01/s; the 1200 reached had waited 50 s each. The user
  // waited 1 s, so those ahead waited about (1 + 50) / 2 s: a' = 20 * exp(-0.01 * 25.5) are
  // still there, T = ln(1 + 0.01 * a' / 2) / 0.01.
  store_->ticket.rate.windows[2].exposure_sec = 60000;
  QueueStatus s = At(21);
  const double still_there = 20 * std::exp(-0.01 * 25.5);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(std::log1p(0.01 * still_there / 2) / 0.01),
                           absl::Microseconds(10)))
      << s.eta;
  // The median of the windows' speeds (reached - passes): 1/s, 2/s, 4/s.
  store_->ticket.rate.windows[2].exposure_sec = 0;
  store_->ticket.rate.windows[0].reached = 30;  // 10 passes: 20 granted in 10 s
  store_->ticket.rate.windows[0].passes = 20;
  store_->ticket.rate.windows[2].reached = 1800;  // 1200 granted in 300 s
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(10), absl::Microseconds(1)));
  // Before any admission the policy's rate stands in, whatever was reached.
  Measured(0, 0, 0, absl::InfiniteDuration());
  store_->ticket.rate.first_admission = absl::InfiniteFuture();
  store_->ticket.rate.windows[2].reached = 50;
  store_->ticket.rate.windows[2].passes = 50;
  EXPECT_TRUE(DurationNear(At(9).eta, absl::Seconds(2), absl::Microseconds(1)));  // 8 at 4/s
}

TEST_F(PresentationTest, VanishedUsersAheadArePassedAtOnce) {
  // At capacity, 2 grants a second; the cursor also passed 600 absent users in the 300 s
  // window. The 1200 users reached had waited 60000 s in all: vanish = 600 / 60000 s = 0.01 per
  // second waited, front_wait = 60000 / 1200 = 50 s.
  Measured(20, 120, 600, absl::Hours(1));
  for (RateSample::Window& w : store_->ticket.rate.windows) {
    w.reached = 2 * w.admissions;
    w.passes = w.admissions;
  }
  store_->ticket.rate.windows[2].exposure_sec = 60000;
  // The user waited 50 s: those ahead waited about (50 + 50) / 2 = 50 s, so 20 * exp(-0.5) of
  // the 20 unreached ahead are still there (the others are passed at once), and these leave at
  // the hazard 0.01/s while the cursor grants them at 2/s.
  store_->ticket.joined_at = now_ - absl::Seconds(50);
  const double still_there = 20 * std::exp(-0.5);
  const absl::Duration eta = At(21).eta;
  EXPECT_TRUE(DurationNear(eta, absl::Seconds(std::log1p(0.01 * still_there / 2) / 0.01),
                           absl::Microseconds(10)))
      << eta;
  EXPECT_LT(eta, absl::Seconds(7));  // 20 at 2/s would be 10 s
  // A user who waited longer with as many ahead: more of them have vanished, a shorter ETA.
  store_->ticket.joined_at = now_ - absl::Seconds(250);
  const absl::Duration later = At(21).eta;
  const double fewer = 20 * std::exp(-0.01 * 150);
  EXPECT_TRUE(DurationNear(later, absl::Seconds(std::log1p(0.01 * fewer / 2) / 0.01),
                           absl::Microseconds(10)))
      << later;
  EXPECT_LT(later, eta);
  // Below capacity the same share is gone, the rest granted at the policy's 4/s.
  store_->ticket.rate.at_capacity = false;
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(std::log1p(0.01 * fewer / 4) / 0.01),
                           absl::Microseconds(10)));
  // Nobody vanishes (no passes): nobody ahead is passed at once; 20 at 4/s.
  for (RateSample::Window& w : store_->ticket.rate.windows) w.passes = 0;
  store_->ticket.rate.windows[2].reached = 600;
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(5), absl::Microseconds(1)));
}

TEST_F(PresentationTest, DeparturesAheadShortenTheWait) {
  // At capacity, 2/s; 300 departures of unreached users over the 300 s window, 100 unreached
  // now: each unreached user leaves at lambda = 300 / 300 s / 100 = 0.01/s. Nobody vanished
  // (no passes), so nobody ahead is passed at once.
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.rate.windows[2].departures = 300;
  store_->ticket.rate.unreached = 100;
  QueueStatus s = At(21);  // a = 20, v = 2: T = ln(1 + 0.01 * 20 / 2) / 0.01
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(std::log(1.1) / 0.01), absl::Microseconds(10)))
      << s.eta;
  EXPECT_LT(s.eta, absl::Seconds(10));
  // Nobody unreached: no hazard.
  store_->ticket.rate.unreached = 0;
  EXPECT_TRUE(DurationNear(At(21).eta, absl::Seconds(10), absl::Microseconds(1)));
}

TEST_F(PresentationTest, StatsPresentsTheMeasuredRate) {
  EventCounters& c = store_->counters;
  c.now = now_;
  c.waiting = 3;
  c.active = 2;
  c.joined_total = 9;
  c.admitted_total = 4;
  c.admitted_by_bypass = 1;
  c.expired_total = 1;
  c.active_timed_out_total = 1;
  c.left_total = 1;
  c.completed_total = 1;
  c.granted = 2;
  c.passed_total = 7;
  c.lapsed_total = 3;
  c.bucket_tokens = 2.5;
  c.rate = store_->ticket.rate;
  c.rate.windows[0].admissions = 20;
  c.rate.windows[1].admissions = 120;
  c.rate.windows[2].admissions = 600;
  c.rate.first_admission = now_ - absl::Hours(1);
  auto s = room_->Stats("ev");
  ASSERT_OK(s);
  EXPECT_EQ(s->event_id, "ev");
  EXPECT_EQ(s->waiting, 3);
  EXPECT_EQ(s->active, 2);
  EXPECT_EQ(s->joined_total, 9);
  EXPECT_EQ(s->admitted_total, 4);
  EXPECT_EQ(s->admitted_by_bypass, 1);
  EXPECT_EQ(s->expired_total, 1);
  EXPECT_EQ(s->active_timed_out_total, 1);
  EXPECT_EQ(s->left_total, 1);
  EXPECT_EQ(s->completed_total, 1);
  EXPECT_EQ(s->granted, 2);
  EXPECT_EQ(s->passed_total, 7);
  EXPECT_EQ(s->lapsed_total, 3);
  EXPECT_DOUBLE_EQ(s->bucket_tokens, 2.5);
  EXPECT_EQ(s->now, now_);
  EXPECT_NEAR(s->admission_rate_per_sec, 2.0, 1e-9);
  EXPECT_NEAR(s->rate_confidence, 600.0 / 610.0, 1e-9);
}

TEST_F(PresentationTest, DenialCarriesReasonMessageAndRetry) {
  store_->ticket.position = 4;
  store_->ticket.retry_after = absl::Milliseconds(2500);
  auto r = room_->Enter(token_);
  ASSERT_OK(r);
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->reason, EntryBlock::kNotYourTurn);
  EXPECT_EQ(r->retry_after, absl::Milliseconds(2500));
  EXPECT_FALSE(r->message.empty());
  EXPECT_EQ(r->status.position, 4);
}

TEST_F(PresentationTest, AnUndrawnUserOfTheRandomMethodIsShownARange) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s
  store_->ticket.position_high = 41;       // places 11..41: 10 drawn ahead, a pool of 31
  QueueStatus s = At(11);
  EXPECT_EQ(s.position, 11);
  EXPECT_EQ(s.position_high, 41);
  EXPECT_TRUE(DurationNear(s.eta_low, absl::Seconds(5), absl::Microseconds(1)));
  EXPECT_TRUE(DurationNear(s.eta_high, absl::Seconds(20), absl::Microseconds(1)));
  EXPECT_TRUE(DurationNear(s.eta, absl::Milliseconds(12500), absl::Microseconds(1)));
  // Half the middle ETA: polls as a fifo user with the same expected wait.
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Milliseconds(6250), absl::Microseconds(1)));
}

TEST_F(PresentationTest, AnExactPlaceHasOneEta) {
  Measured(20, 120, 600, absl::Hours(1));
  store_->ticket.position_high = 0;  // a store that does not set it: same as position
  QueueStatus s = At(21);
  EXPECT_EQ(s.position_high, 21);
  EXPECT_EQ(s.eta_low, s.eta);
  EXPECT_EQ(s.eta_high, s.eta);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(10), absl::Microseconds(1)));
}

TEST_F(PresentationTest, APrequeuedUserIsShownTheOpeningAndARange) {
  Ticket& t = store_->ticket;
  t.state = UserState::kPrequeue;
  t.blocked_by = EntryBlock::kNotWaiting;
  t.opens_at = now_ + absl::Minutes(10);
  t.retry_after = absl::Minutes(10);
  t.position_high = 1201;  // the pre-queue's size so far
  QueueStatus s = At(0);   // policy rate 4/s stands in
  EXPECT_EQ(s.status_name(), "prequeue");
  EXPECT_EQ(s.position, 0);
  EXPECT_EQ(s.position_high, 1201);
  EXPECT_EQ(s.opens_at, now_ + absl::Minutes(10));
  EXPECT_EQ(s.eta_low, absl::Minutes(10));
  EXPECT_TRUE(DurationNear(s.eta_high, absl::Minutes(15), absl::Microseconds(1)));  // 1200 at 4/s
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(750), absl::Microseconds(1)));
  EXPECT_NEAR(s.eta_confidence, 0.1, 1e-12);
  EXPECT_EQ(s.poll_after, absl::Seconds(60));  // half of 10 min, clamped
  t.opens_at = now_ + absl::Seconds(20);
  EXPECT_EQ(At(0).poll_after, absl::Seconds(10));  // closer to the opening, more often

  auto r = room_->Enter(token_);
  ASSERT_OK(r);
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->reason, EntryBlock::kNotWaiting);
  EXPECT_THAT(r->message, HasSubstr("not opened yet"));
}

TEST_F(PresentationTest, StatsCarriesTheFairOpeningCounters) {
  EventCounters& c = store_->counters;
  c.now = now_;
  c.rate = store_->ticket.rate;
  c.waiting = 7;
  c.prequeued = 0;
  c.drawn = 3;
  c.admitted_by_safety_net = 4;
  c.admitted_by_passthrough = 5;
  c.refused_total = 6;
  c.opened = true;
  c.shuffled_at_opening = 8;
  auto s = room_->Stats("ev");
  ASSERT_OK(s);
  EXPECT_EQ(s->waiting, 7);
  EXPECT_EQ(s->prequeued, 0);
  EXPECT_EQ(s->drawn, 3);
  EXPECT_EQ(s->admitted_by_safety_net, 4);
  EXPECT_EQ(s->admitted_by_passthrough, 5);
  EXPECT_EQ(s->refused_total, 6);
  EXPECT_TRUE(s->opened);
  EXPECT_EQ(s->shuffled_at_opening, 8);
  c.opened = false;
  c.prequeued = 9;
  s = room_->Stats("ev");
  ASSERT_OK(s);
  EXPECT_FALSE(s->opened);
  EXPECT_EQ(s->prequeued, 9);
}

// ---------------------------------------------------------------------------------------------
// Fair-opening rules (src/room/rules.h): pure decisions, one at a time

class FairRulesTest : public ::testing::Test {
 protected:
  static int64_t Us(absl::Time t) { return rules::TimeToMicros(t); }
  const absl::Time t0_ = absl::FromUnixSeconds(1767225600);
};

TEST_F(FairRulesTest, JoinRefusalsInOrder) {
  Policy p;
  EXPECT_EQ(rules::CheckJoin(p, false, Us(t0_)), std::nullopt);
  p.prequeue_opens_at = t0_ + absl::Minutes(10);
  p.opens_at = t0_ + absl::Minutes(20);
  p.closes_at = t0_ + absl::Minutes(30);
  EXPECT_EQ(rules::CheckJoin(p, false, Us(t0_)), JoinRefusal::kNotOpenYet);
  EXPECT_EQ(rules::CheckJoin(p, true, Us(t0_)), std::nullopt);  // opened for good
  EXPECT_EQ(rules::CheckJoin(p, false, Us(t0_ + absl::Minutes(10))), std::nullopt);
  EXPECT_EQ(rules::CheckJoin(p, true, Us(t0_ + absl::Minutes(30)) - 1), std::nullopt);
  EXPECT_EQ(rules::CheckJoin(p, true, Us(t0_ + absl::Minutes(30))), JoinRefusal::kClosed);
  p.method = QueueMethod::kReject;  // the operator's word comes first
  EXPECT_EQ(rules::CheckJoin(p, false, Us(t0_)), JoinRefusal::kRejected);
  EXPECT_EQ(rules::CheckJoin(p, true, Us(t0_ + absl::Hours(1))), JoinRefusal::kRejected);
  EXPECT_EQ(rules::RefusalTime(p, JoinRefusal::kClosed), Us(t0_ + absl::Minutes(30)));
  EXPECT_EQ(rules::RefusalTime(p, JoinRefusal::kNotOpenYet), Us(t0_ + absl::Minutes(10)));
  EXPECT_EQ(rules::RefusalTime(p, JoinRefusal::kRejected), 0);
}

TEST_F(FairRulesTest, JoinRefusalMessages) {
  const int64_t at = Us(t0_ + absl::Minutes(10));
  absl::Status s = rules::JoinRefusedError(JoinRefusal::kNotOpenYet, "ev", at, "");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "event 'ev' is not open yet: the pre-queue opens at 2026-01-01T00:10:00Z");
  s = rules::JoinRefusedError(JoinRefusal::kClosed, "ev", at + 250000, "");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "event 'ev' closed at 2026-01-01T00:10:00.25Z");
  s = rules::JoinRefusedError(JoinRefusal::kRejected, "ev", 0, "Sold out, sorry.");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "Sold out, sorry.");
  s = rules::JoinRefusedError(JoinRefusal::kRejected, "ev", 0, "");
  EXPECT_EQ(s.message(), "event 'ev' is not accepting new arrivals");
  EXPECT_OK(rules::JoinRefusedError(std::nullopt, "ev", 0, ""));
}

TEST_F(FairRulesTest, PrequeueAndOpening) {
  Policy p;
  EXPECT_FALSE(rules::JoinsPrequeue(p, false, Us(t0_)));
  EXPECT_FALSE(rules::OpensNow(p, false, 0, Us(t0_)));  // nothing to open for yet
  EXPECT_TRUE(rules::OpensNow(p, false, 3, Us(t0_)));   // opening time removed: open now
  p.opens_at = t0_;
  EXPECT_TRUE(rules::JoinsPrequeue(p, false, Us(t0_) - 1));
  EXPECT_FALSE(rules::JoinsPrequeue(p, false, Us(t0_)));
  EXPECT_FALSE(rules::JoinsPrequeue(p, true, Us(t0_) - 1));  // an event opens once
  EXPECT_FALSE(rules::OpensNow(p, false, 5, Us(t0_) - 1));
  EXPECT_TRUE(rules::OpensNow(p, false, 0, Us(t0_)));
  EXPECT_FALSE(rules::OpensNow(p, true, 5, Us(t0_)));
}

TEST_F(FairRulesTest, DrawTargetRunsKDrawLeadOfGrantsAhead) {
  Policy p;
  p.bypass_top_n = 2;
  p.burst = 10;
  p.admit_rate_per_sec = 2;
  EXPECT_EQ(rules::kDrawLead, absl::Seconds(90));
  EXPECT_EQ(rules::kMaxDrawsPerCall, 64);
  EXPECT_EQ(rules::DrawTarget(p), 2 + 10 + 180);  // N + burst + ceil(rate * 90 s)
  p.admit_rate_per_sec = 0.01;                    // 0.9 grants in 90 s: rounded up
  EXPECT_EQ(rules::DrawTarget(p), 2 + 10 + 1);
  p.admit_rate_per_sec = 0;
  EXPECT_EQ(rules::DrawTarget(p), 12);
  p.paused = true;
  EXPECT_EQ(rules::DrawTarget(p), 0);
}

// ---------------------------------------------------------------------------------------------
// Presence, the cursor and grants (src/room/rules.h; docs/rules.md)

class GrantRulesTest : public ::testing::Test {
 protected:
  static int64_t Us(absl::Time t) { return rules::TimeToMicros(t); }
  static int64_t Us(absl::Duration d) { return rules::DurationToMicros(d); }
  const absl::Time t0_ = absl::FromUnixSeconds(1767225600);
};

TEST_F(GrantRulesTest, BoundsPerCall) {
  EXPECT_EQ(rules::kMaxGrantsPerCall, 64);
  EXPECT_EQ(rules::kMaxPassesPerCall, 128);
  EXPECT_EQ(rules::kMaxLapsesPerCall, 64);
  EXPECT_EQ(Policy{}.claim_window, absl::Seconds(5));
}

TEST_F(GrantRulesTest, PresenceWindowIsTheTimeToReachTheUserWithinClaimWindowAndHeartbeat) {
  Policy p;
  p.admit_rate_per_sec = 2;
  p.claim_window = absl::Seconds(5);
  p.heartbeat_ttl = absl::Minutes(5);
  EXPECT_EQ(rules::PresenceWindowUs(p, 0), Us(absl::Seconds(5)));     // next: the claim window
  EXPECT_EQ(rules::PresenceWindowUs(p, 10), Us(absl::Seconds(5)));    // 5 s
  EXPECT_EQ(rules::PresenceWindowUs(p, 11), Us(absl::Seconds(5.5)));  // 11 at 2/s
  EXPECT_EQ(rules::PresenceWindowUs(p, 100), Us(absl::Seconds(50)));
  EXPECT_EQ(rules::PresenceWindowUs(p, 600), Us(absl::Minutes(5)));  // the heartbeat TTL
  EXPECT_EQ(rules::PresenceWindowUs(p, 1000000), Us(absl::Minutes(5)));
  EXPECT_EQ(rules::PresenceWindowUs(p, -3), Us(absl::Seconds(5)));
  p.admit_rate_per_sec = 3;  // whole microseconds, floored: 1/3 s
  EXPECT_EQ(rules::PresenceWindowUs(p, 16), 5333333);
  p.admit_rate_per_sec = 0;  // nobody is reached by the rate: as long as the heartbeat
  EXPECT_EQ(rules::PresenceWindowUs(p, 0), Us(absl::Minutes(5)));
  EXPECT_EQ(rules::PresenceWindowUs(p, 7), Us(absl::Minutes(5)));
}

TEST_F(GrantRulesTest, PrequeuePresenceWindowRunsToTheOpening) {
  Policy p;
  p.claim_window = absl::Seconds(5);
  p.heartbeat_ttl = absl::Minutes(5);
  p.opens_at = t0_ + absl::Seconds(60);
  EXPECT_EQ(rules::PrequeuePresenceWindowUs(p, Us(t0_)), Us(absl::Seconds(60)));
  EXPECT_EQ(rules::PrequeuePresenceWindowUs(p, Us(t0_ + absl::Seconds(58))),
            Us(absl::Seconds(5)));  // at least the claim window
  EXPECT_EQ(rules::PrequeuePresenceWindowUs(p, Us(t0_ + absl::Seconds(61))), Us(absl::Seconds(5)));
  EXPECT_EQ(rules::PrequeuePresenceWindowUs(p, Us(t0_ - absl::Hours(1))),
            Us(absl::Minutes(5)));  // at most the heartbeat TTL
}

TEST_F(GrantRulesTest, TheTurnPlaceCountsGrantsAndUnreachedAheadNotPassedUsers) {
  // min(position, 1 + granted + ahead_unreached).
  EXPECT_EQ(rules::TurnPlace(1, 0, 0), 1);
  EXPECT_EQ(rules::TurnPlace(31, 0, 0), 1);    // 30 passed ahead, nobody holds a grant
  EXPECT_EQ(rules::TurnPlace(31, 3, 0), 4);    // three grants outstanding
  EXPECT_EQ(rules::TurnPlace(31, 3, 10), 14);  // and 10 still to reach ahead
  EXPECT_EQ(rules::TurnPlace(12, 3, 10), 12);  // never beyond the position
  EXPECT_EQ(rules::TurnPlace(5, 100, 0), 5);
}

TEST_F(GrantRulesTest, TierServedAtTheExactInstant) {
  Policy p;
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(3)}};
  const int64_t joined = Us(t0_);
  EXPECT_TRUE(rules::TierServed(p, 1, joined, joined));
  EXPECT_FALSE(rules::TierServed(p, 2, joined, joined));
  EXPECT_FALSE(rules::TierServed(p, 2, joined, joined + Us(absl::Seconds(3)) - 1));
  EXPECT_TRUE(rules::TierServed(p, 2, joined, joined + Us(absl::Seconds(3))));
  p.wait_tiers.clear();
  EXPECT_TRUE(rules::TierServed(p, 1000, joined, joined));
}

TEST_F(GrantRulesTest, MayGrantWithATokenOrCreditWithinN) {
  Policy p;
  p.bypass_top_n = 2;
  EXPECT_TRUE(rules::MayGrant(p, 1000, 1.0));  // a whole token: any position
  EXPECT_TRUE(rules::MayGrant(p, 2, 0.5));     // credit: within N + floor(tokens) = 2
  EXPECT_FALSE(rules::MayGrant(p, 3, 0.5));
  EXPECT_TRUE(rules::MayGrant(p, 1, -0.5));  // 2 + floor(-0.5) = 1
  EXPECT_FALSE(rules::MayGrant(p, 2, -0.5));
  EXPECT_FALSE(rules::MayGrant(p, 1, -1.5));  // the debt is at N's depth: nobody
  p.bypass_top_n = 0;
  EXPECT_FALSE(rules::MayGrant(p, 1, 0.999));
  EXPECT_TRUE(rules::MayGrant(p, 1, 1.0));
}

TEST_F(GrantRulesTest, CheckWaitingInRuleOrder) {
  Policy p;
  p.admit_rate_per_sec = 2;
  p.bypass_top_n = 0;
  p.active_capacity = 5;
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(3)}};
  const int64_t now = Us(t0_);
  const int64_t joined = now - Us(absl::Seconds(1));
  // Next in turn at position 2 (reached and returned, or the next unreached) behind a holder of
  // a grant: the turn place is 2, tier wait 2 s left.
  rules::Readiness r = rules::CheckWaiting(p, 2, 0, joined, now, 5.0, 0, 1);
  EXPECT_EQ(r.block, EntryBlock::kTierWait);
  EXPECT_EQ(r.retry_after, absl::Seconds(2));
  // The user ahead was passed over (absent) and holds no grant: the turn place is
  // min(2, 1 + 0) = 1, whose tier wait is 0; the tier wait at the position does not apply.
  r = rules::CheckWaiting(p, 2, 0, joined, now, 5.0, 0, 0);
  EXPECT_EQ(r.block, EntryBlock::kNotYourTurn);
  // Behind 30 passed users and one grant: place 2.
  r = rules::CheckWaiting(p, 32, 0, joined, now, 5.0, 0, 1);
  EXPECT_EQ(r.block, EntryBlock::kTierWait);
  EXPECT_EQ(r.retry_after, absl::Seconds(2));
  // With users ahead still to reach, the tier wait is not the reason yet.
  r = rules::CheckWaiting(p, 12, 9, joined, now, 0.5, 0, 0);
  EXPECT_EQ(r.block, EntryBlock::kNotYourTurn);
  EXPECT_EQ(r.retry_after, absl::Milliseconds(4750));        // (9 + 1 - 0.5) / 2
  r = rules::CheckWaiting(p, 1, 0, joined, now, 5.0, 0, 0);  // a token is there: a grant is due
  EXPECT_EQ(r.block, EntryBlock::kNotYourTurn);
  EXPECT_EQ(r.retry_after, absl::Seconds(1));  // at least 1 s
  // Capacity counts the granted users too.
  EXPECT_EQ(rules::CheckWaiting(p, 1, 0, joined, now, 5.0, 3, 2).block, EntryBlock::kCapacityFull);
  EXPECT_EQ(rules::CheckWaiting(p, 1, 0, joined, now, 5.0, 3, 2).retry_after, absl::Seconds(1));
  EXPECT_EQ(rules::CheckWaiting(p, 1, 0, joined, now, 5.0, 3, 1).block, EntryBlock::kNotYourTurn);
  p.admit_rate_per_sec = 0;
  EXPECT_EQ(rules::CheckWaiting(p, 1, 0, joined, now, 0.0, 0, 0).retry_after, absl::Seconds(60));
  p.paused = true;  // a pause comes first
  r = rules::CheckWaiting(p, 2, 0, joined, now, 5.0, 5, 0);
  EXPECT_EQ(r.block, EntryBlock::kPaused);
  EXPECT_EQ(r.retry_after, rules::kPausedRetry);
}

TEST_F(GrantRulesTest, AGrantedUserIsReadyUnlessPaused) {
  Policy p;
  p.active_capacity = 0;  // a grant already counts against the capacity
  EXPECT_EQ(rules::CheckGranted(p).block, EntryBlock::kNone);
  EXPECT_EQ(rules::CheckGranted(p).retry_after, absl::ZeroDuration());
  p.paused = true;
  EXPECT_EQ(rules::CheckGranted(p).block, EntryBlock::kPaused);
  EXPECT_EQ(rules::CheckGranted(p).retry_after, absl::Seconds(5));
}

TEST_F(FairRulesTest, PassthroughOnlyStopsForAPause) {
  Policy p;
  p.active_capacity = 0;
  p.burst = 1;
  EXPECT_EQ(rules::CheckPassthrough(p).block, EntryBlock::kNone);
  p.paused = true;
  EXPECT_EQ(rules::CheckPassthrough(p).block, EntryBlock::kPaused);
  EXPECT_EQ(rules::CheckPassthrough(p).retry_after, rules::kPausedRetry);
}

TEST_F(FairRulesTest, SafetyNetIsReadinessAtPositionOne) {
  Policy p;
  p.bypass_top_n = 0;
  p.active_capacity = 2;
  p.wait_tiers.clear();
  const int64_t now = Us(t0_);
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, 5, 0));  // off by default
  p.safety_net = true;
  EXPECT_TRUE(rules::SafetyNetAdmits(p, now, 1.0, 0));
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, 0.99, 0));  // no whole token, no bypass
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, 5, 2));     // full
  p.bypass_top_n = 1;
  EXPECT_TRUE(rules::SafetyNetAdmits(p, now, 0.5, 0));  // position 1 may borrow
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, -0.5, 0));
  p.wait_tiers = {{WaitTier::kUnboundedPosition, absl::Seconds(1)}};
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, 5, 0));  // position 1 must wait: queue
  p.wait_tiers.clear();
  p.paused = true;
  EXPECT_FALSE(rules::SafetyNetAdmits(p, now, 5, 0));
}

// ---------------------------------------------------------------------------------------------
// PositionIndex::Select

TEST(PositionIndexTest, SelectInvertsRankThroughRemovalsAndCompaction) {
  PositionIndex index;
  std::vector<uint64_t> live;  // in order
  uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  for (int step = 0; step < 30000; ++step) {
    if (live.empty() || next() % 5 < 3) {
      live.push_back(index.Append());
    } else {
      // Mostly from the front, so that the dead prefix grows and compaction happens.
      const size_t i = next() % 4 == 0 ? next() % live.size() : 0;
      index.Remove(live[i]);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (step % 97 == 0 || step > 29900) {
      ASSERT_EQ(index.size(), static_cast<int64_t>(live.size()));
      for (size_t k = 0; k < live.size(); k += 1 + live.size() / 50) {
        ASSERT_EQ(index.Select(static_cast<int64_t>(k)), live[k]) << "step " << step;
        ASSERT_EQ(index.Rank(live[k]), static_cast<int64_t>(k) + 1);
      }
      if (!live.empty()) {
        ASSERT_EQ(index.Select(static_cast<int64_t>(live.size()) - 1), live.back());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shuffle: the keyed permutation and draws behind fair openings (src/room/shuffle.h). The
// statistical tests use fixed seeds, so they are deterministic; their thresholds are the
// chi-square quantiles at p = 0.001, so a sound generator passes them with any seeds.

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double ChiSquare(const std::vector<int64_t>& counts, double expected) {
  double chi2 = 0;
  for (int64_t c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

// The chi-square quantile at p = 0.001 (Wilson-Hilferty; within 1% for df >= 5).
double Chi2Critical(int df) {
  const double k = df;
  const double z = 3.0902;
  return k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
}

// The rank of each of `indexes` in slot order.
std::vector<int> Ranks(uint64_t secret, const std::vector<uint32_t>& indexes) {
  std::vector<std::pair<uint32_t, int>> slots;
  for (size_t u = 0; u < indexes.size(); ++u) {
    slots.push_back({shuffle::PrequeueSlot(secret, indexes[u]), static_cast<int>(u)});
  }
  std::sort(slots.begin(), slots.end());
  std::vector<int> rank(indexes.size());
  for (size_t r = 0; r < slots.size(); ++r) rank[static_cast<size_t>(slots[r].second)] = r;
  return rank;
}

TEST(ShuffleTest, KnownAnswers) {
  // Pinned values: the Lua in docs/rules.md ("Keyed randomness") computes exactly these in
  // Redis (checked with redis-server's EVAL), and the stores must agree bit for bit.
  EXPECT_EQ(shuffle::Mix32(0), 0u);
  EXPECT_EQ(shuffle::Mix32(1), 1364076727u);
  EXPECT_EQ(shuffle::Mix32(0xffffffffu), 2180083513u);
  EXPECT_EQ(shuffle::Hash2(1, 2), 924828731u);
  EXPECT_EQ(shuffle::PrequeueSlot(0, 0), 2529500041u);
  EXPECT_EQ(shuffle::PrequeueSlot(0, 1), 904396402u);
  EXPECT_EQ(shuffle::PrequeueSlot(0, 4294967295u), 1226043121u);
  const uint64_t s = 0x0123456789abcdefull;
  EXPECT_EQ(shuffle::PrequeueSlot(s, 0), 2998669625u);
  EXPECT_EQ(shuffle::PrequeueSlot(s, 3), 3833695162u);
  EXPECT_EQ(shuffle::PrequeueSlot(s, 65535), 1089535045u);
  EXPECT_EQ(shuffle::PrequeueSlot(s, 65536), 470310231u);
  EXPECT_EQ(shuffle::PrequeueSlot(s, 123456789), 3395594218u);
  EXPECT_EQ(shuffle::PrequeueSlot(0xffffffffffffffffull, 2), 2375629963u);
  EXPECT_EQ(shuffle::PrequeueSlot(0xdeadbeef00c0ffeeull, 65536), 3730026675u);
  EXPECT_EQ(shuffle::Draw52(0, 0), 2859435249442946u);
  EXPECT_EQ(shuffle::Draw52(s, 1), 3427884148852521u);
  EXPECT_EQ(shuffle::Draw52(s, 4294967295u), 3800360170648129u);
  EXPECT_EQ(shuffle::Draw52(0xdeadbeef00c0ffeeull, 1000), 46469921735648u);
  EXPECT_EQ(shuffle::DrawIndex(s, 0, 7), 4);
  EXPECT_EQ(shuffle::DrawIndex(s, 2, 1000003), 882672);
  EXPECT_EQ(shuffle::DrawIndex(0xffffffffffffffffull, 1000, 1000003), 555084);
}

TEST(ShuffleTest, PrequeueSlotIsAPermutation) {
  uint64_t seed = 1;
  for (int k = 0; k < 20; ++k) {
    const uint64_t secret = SplitMix64(seed);
    for (uint32_t i = 0; i < 5000; ++i) {
      const uint32_t x = i * 858993459u + static_cast<uint32_t>(k);  // spread over 2^32
      ASSERT_EQ(shuffle::PrequeueIndex(secret, shuffle::PrequeueSlot(secret, x)), x);
      ASSERT_EQ(shuffle::PrequeueSlot(secret, shuffle::PrequeueIndex(secret, x)), x);
    }
  }
  // Another secret, another order.
  EXPECT_NE(Ranks(1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), Ranks(2, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ShuffleTest, EveryRankIsEquallyLikelyForEveryUser) {
  // 8 pre-queued users, 40,000 secrets: table of user x rank. Rows and columns each sum to
  // the number of runs, so the whole table has (8 - 1)^2 degrees of freedom.
  constexpr int kUsers = 8;
  constexpr int kRuns = 40000;
  for (const std::vector<uint32_t>& indexes :
       {std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7},
        std::vector<uint32_t>{65530, 65531, 65532, 65533, 65534, 65535, 65536, 65537},
        std::vector<uint32_t>{7, 1000, 70000, 123456, 9999999, 16777216, 2147483648u,
                              4294967295u}}) {
    std::vector<std::vector<int64_t>> table(kUsers, std::vector<int64_t>(kUsers, 0));
    uint64_t seed = 20260101;
    for (int run = 0; run < kRuns; ++run) {
      const std::vector<int> rank = Ranks(SplitMix64(seed), indexes);
      for (int u = 0; u < kUsers; ++u) ++table[u][static_cast<size_t>(rank[u])];
    }
    std::vector<int64_t> cells;
    for (int u = 0; u < kUsers; ++u) {
      EXPECT_LT(ChiSquare(table[u], kRuns / kUsers), Chi2Critical(kUsers - 1))
          << "rank of user " << u << " (join index " << indexes[u] << ")";
      cells.insert(cells.end(), table[u].begin(), table[u].end());
    }
    EXPECT_LT(ChiSquare(cells, kRuns / kUsers), Chi2Critical((kUsers - 1) * (kUsers - 1)));
  }
}

TEST(ShuffleTest, EveryOrderOfFourUsersIsEquallyLikely) {
  constexpr int kRuns = 48000;  // 2,000 per order
  for (const std::vector<uint32_t>& indexes :
       {std::vector<uint32_t>{0, 1, 2, 3}, std::vector<uint32_t>{41, 42, 1u << 16, 1u << 31}}) {
    std::vector<int64_t> counts(24, 0);
    uint64_t seed = 7;
    for (int run = 0; run < kRuns; ++run) {
      const std::vector<int> rank = Ranks(SplitMix64(seed), indexes);
      // The order's Lehmer code: a number in [0, 24), one per order.
      int code = 0;
      for (int i = 0; i < 4; ++i) {
        int smaller_after = 0;
        for (int j = i + 1; j < 4; ++j) smaller_after += rank[j] < rank[i];
        code = code * (4 - i) + smaller_after;
      }
      ++counts[static_cast<size_t>(code)];
    }
    EXPECT_LT(ChiSquare(counts, kRuns / 24.0), Chi2Critical(23));
  }
}

TEST(ShuffleTest, EveryPairIsOrderedByAFairCoin) {
  constexpr int kUsers = 16;
  constexpr int kRuns = 20000;
  std::vector<uint32_t> indexes;
  for (uint32_t i = 0; i < kUsers; ++i) indexes.push_back(i);
  std::vector<std::vector<int>> before(kUsers, std::vector<int>(kUsers, 0));
  uint64_t seed = 99;
  for (int run = 0; run < kRuns; ++run) {
    const std::vector<int> rank = Ranks(SplitMix64(seed), indexes);
    for (int a = 0; a < kUsers; ++a) {
      for (int b = a + 1; b < kUsers; ++b) before[a][b] += rank[a] < rank[b];
    }
  }
  const double sd = std::sqrt(0.25 / kRuns);
  for (int a = 0; a < kUsers; ++a) {
    for (int b = a + 1; b < kUsers; ++b) {
      EXPECT_NEAR(static_cast<double>(before[a][b]) / kRuns, 0.5, 4.5 * sd)
          << "join " << a << " before join " << b;
    }
  }
}

TEST(ShuffleTest, DrawIndexIsUniform) {
  for (int64_t pool : {2, 3, 7, 10, 1000}) {
    // Over the draws of one event...
    const int runs = pool == 1000 ? 200000 : 70000;
    std::vector<int64_t> counts(static_cast<size_t>(pool), 0);
    for (int c = 0; c < runs; ++c) {
      const int64_t k = shuffle::DrawIndex(0x5eed5eed5eed5eedull, static_cast<uint64_t>(c), pool);
      ASSERT_GE(k, 0);
      ASSERT_LT(k, pool);
      ++counts[static_cast<size_t>(k)];
    }
    EXPECT_LT(ChiSquare(counts, static_cast<double>(runs) / pool),
              Chi2Critical(static_cast<int>(pool) - 1))
        << "pool " << pool;
    // ... and over events, at the same draw.
    std::fill(counts.begin(), counts.end(), 0);
    uint64_t seed = 3;
    for (int run = 0; run < runs; ++run) {
      ++counts[static_cast<size_t>(shuffle::DrawIndex(SplitMix64(seed), 5, pool))];
    }
    EXPECT_LT(ChiSquare(counts, static_cast<double>(runs) / pool),
              Chi2Critical(static_cast<int>(pool) - 1))
        << "pool " << pool << " across secrets";
  }
}

TEST(ShuffleTest, SuccessiveDrawsAreIndependent) {
  constexpr int64_t kPool = 6;
  constexpr int kRuns = 72000;
  std::vector<int64_t> counts(kPool * kPool, 0);
  const uint64_t secret = 0x0badc0ffee0ddf00ull;
  for (int c = 0; c < kRuns; ++c) {
    const int64_t a = shuffle::DrawIndex(secret, static_cast<uint64_t>(c), kPool);
    const int64_t b = shuffle::DrawIndex(secret, static_cast<uint64_t>(c) + 1, kPool);
    ++counts[static_cast<size_t>(a * kPool + b)];
  }
  EXPECT_LT(ChiSquare(counts, static_cast<double>(kRuns) / (kPool * kPool)),
            Chi2Critical(kPool * kPool - 1));
}

TEST(ShuffleTest, DrawIndexEdges) {
  EXPECT_EQ(shuffle::DrawIndex(123, 456, 1), 0);
  EXPECT_EQ(shuffle::DrawIndex(123, 456, 0), 0);
  // The counter is taken modulo 2^32.
  EXPECT_EQ(shuffle::DrawIndex(123, 456 + (uint64_t{1} << 32), 1000),
            shuffle::DrawIndex(123, 456, 1000));
  EXPECT_LT(shuffle::Draw52(123, 456), uint64_t{1} << 52);
}

}  // namespace
}  // namespace testing
}  // namespace admission
