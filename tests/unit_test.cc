// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Unit tests of the small pieces: policy validation and tiers, ids and tokens, the clocks, the
// names of states, option validation, and how WaitingRoom presents a store's raw facts (rate,
// ETA, confidence, poll advice) — the latter against a fake store that returns crafted tickets.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

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
                      UserState::kLeft, UserState::kCompleted}) {
    EXPECT_FALSE(UserStateName(s).empty());
    states.insert(UserStateName(s));
  }
  EXPECT_EQ(states.size(), 5u);
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
                                                           {UserState::kCompleted, "completed"}}) {
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
    t.ready_for_entry = false;
    t.blocked_by = EntryBlock::kNotYourTurn;
    t.retry_after = absl::Seconds(1);
    t.rate.policy_rate_per_sec = 4;
    t.rate.windows = {{absl::Seconds(10), 0}, {absl::Seconds(60), 0}, {absl::Seconds(300), 0}};
  }

  void Measured(double w10, double w60, double w300, absl::Duration history) {
    store_->ticket.rate.windows[0].admissions = w10;
    store_->ticket.rate.windows[1].admissions = w60;
    store_->ticket.rate.windows[2].admissions = w300;
    store_->ticket.rate.first_admission = now_ - history;
  }

  QueueStatus At(int64_t position) {
    store_->ticket.position = position;
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
}

TEST_F(PresentationTest, BeforeAnyAdmissionThePolicyRateStandsIn) {
  QueueStatus s = At(9);  // 8 ahead at 4/s
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0.1);
  EXPECT_EQ(s.poll_after, absl::Seconds(1));
}

TEST_F(PresentationTest, StalledLineUsesThePolicyRate) {
  Measured(0, 0, 0, absl::Hours(1));  // admitted long ago, nothing since
  QueueStatus s = At(9);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0.1);
}

TEST_F(PresentationTest, SteadyWindowsGiveTheMeasuredRate) {
  Measured(20, 120, 600, absl::Hours(1));  // 2/s everywhere
  QueueStatus s = At(21);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(10), absl::Microseconds(1)));
  EXPECT_NEAR(s.eta_confidence, 600.0 / 610.0, 1e-9);  // agreement 1, 600 samples
}

TEST_F(PresentationTest, MedianOfDisagreeingWindows) {
  store_->ticket.rate.policy_rate_per_sec = 10;
  Measured(10, 120, 900, absl::Hours(1));  // 1/s, 2/s, 3/s
  QueueStatus s = At(21);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(10), absl::Microseconds(1)));  // 20 at 2/s
  EXPECT_NEAR(s.eta_confidence, (1.0 / 3.0) * (900.0 / 910.0), 1e-9);
}

TEST_F(PresentationTest, YoungHistoryMeasuresOverTheTimeSinceTheFirstAdmission) {
  // First admission 5 s ago: each window's rate is over min(W, 5 s).
  Measured(10, 10, 10, absl::Seconds(5));  // 2/s everywhere
  QueueStatus s = At(5);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
  // docs/rules.md: agreement * samples / (samples + 10) * (0.5 + 0.5 * coverage), with
  // coverage = 5 s of history / 300 s longest window.
  EXPECT_NEAR(s.eta_confidence, 1.0 * (10.0 / 20.0) * (0.5 + 0.5 * (5.0 / 300.0)), 1e-9);
}

TEST_F(PresentationTest, MeasuredRateIsCappedAtThePolicyRate) {
  // An opening burst measures 5/s; the bucket only allows 2/s over time.
  store_->ticket.rate.policy_rate_per_sec = 2;
  Measured(50, 300, 1500, absl::Hours(1));
  QueueStatus s = At(11);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(5), absl::Microseconds(1)));  // 10 at 2/s
  EXPECT_NEAR(s.eta_confidence, 1500.0 / 1510.0, 1e-9);
}

TEST_F(PresentationTest, VeryYoungHistoryCountsAtLeastOneSecond) {
  Measured(3, 3, 3, absl::Milliseconds(200));  // max(1 s, 0.2 s): 3/s
  store_->ticket.rate.policy_rate_per_sec = 100;
  QueueStatus s = At(7);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(2), absl::Microseconds(1)));
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
  EXPECT_EQ(s.poll_after, absl::Seconds(2));
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

TEST_F(PresentationTest, PollAfterIsATenthOfTheEtaWithinBounds) {
  Measured(20, 120, 600, absl::Hours(1));                                                 // 2/s
  EXPECT_TRUE(DurationNear(At(11).poll_after, absl::Seconds(1), absl::Microseconds(1)));  // 5 s
  EXPECT_TRUE(DurationNear(At(401).poll_after, absl::Seconds(20), absl::Microseconds(1)));
  EXPECT_EQ(At(2001).poll_after, absl::Seconds(30));  // 1000 s: clamped to the maximum
  // ... and below a third of the heartbeat TTL (here 30 s).
  store_->ticket.deadline = now_ + absl::Seconds(30);
  QueueStatus s = At(2001);
  EXPECT_GT(s.poll_after, absl::ZeroDuration());
  EXPECT_LE(s.poll_after, absl::Seconds(10));
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

}  // namespace
}  // namespace testing
}  // namespace admission
