// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Conformance: the rules of docs/rules.md, one example at a time, with exact expectations on a
// simulated clock. Every store returned by AllStoreFactories() must pass all of them.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "admission/room/waiting_room.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/room_test.h"
#include "support/store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr absl::StatusCode kAlreadyExists = absl::StatusCode::kAlreadyExists;
constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

class ConformanceTest : public RoomTest {
 protected:
  void SetUp() override {
    room_ = MakeRoom();
    ASSERT_NE(room_, nullptr);
  }
};

// ---------------------------------------------------------------------------------------------
// Join, positions, duplicates

TEST_P(ConformanceTest, JoinReturnsPositionsInArrivalOrder) {
  SetPolicy("ev", OpenPolicy());
  std::vector<std::string> tokens;
  for (int i = 1; i <= 3; ++i) {
    QueueStatus s = Join("ev", User(i));
    EXPECT_EQ(s.position, i);
    EXPECT_EQ(s.state, UserState::kWaiting);
    EXPECT_EQ(s.event_id, "ev");
    EXPECT_EQ(s.user_id, User(i));
    EXPECT_EQ(s.now, t0_);
    EXPECT_TRUE(s.ready_for_entry);  // open policy: everybody may enter
    EXPECT_EQ(s.blocked_by, EntryBlock::kNone);
    EXPECT_EQ(s.status_name(), "ready");
    ASSERT_EQ(s.token.size(), 2 + 1 + kTokenRandomHexDigits);
    auto event = EventIdOfToken(s.token);
    ASSERT_OK(event);
    EXPECT_EQ(*event, "ev");
    tokens.push_back(s.token);
  }
  EXPECT_NE(tokens[0], tokens[1]);
  EXPECT_NE(tokens[1], tokens[2]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Status(tokens[i]).position, i + 1);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.event_id, "ev");
  EXPECT_EQ(stats.waiting, 3);
  EXPECT_EQ(stats.joined_total, 3);
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.now, t0_);
}

TEST_P(ConformanceTest, PositionCountsOnlyLiveWaitingUsersAhead) {
  SetPolicy("ev", OpenPolicy());
  std::vector<std::string> t = JoinMany("ev", 5);
  Leave(t[1]);                       // u2 leaves
  ASSERT_TRUE(Enter(t[0]).granted);  // u1 is admitted: no longer in line
  EXPECT_EQ(Status(t[2]).position, 1);
  EXPECT_EQ(Status(t[3]).position, 2);
  EXPECT_EQ(Status(t[4]).position, 3);
  QueueStatus active = Status(t[0]);
  EXPECT_EQ(active.state, UserState::kActive);
  EXPECT_EQ(active.position, 0);
  EXPECT_FALSE(active.ready_for_entry);
  EXPECT_EQ(active.blocked_by, EntryBlock::kNotWaiting);
  EXPECT_EQ(active.status_name(), "active");
  QueueStatus left = Status(t[1]);
  EXPECT_EQ(left.state, UserState::kLeft);
  EXPECT_EQ(left.position, 0);
  EXPECT_EQ(left.status_name(), "left");
}

TEST_P(ConformanceTest, DuplicateJoinIsAlreadyExistsWhileWaitingOrActive) {
  SetPolicy("ev", OpenPolicy());
  QueueStatus u1 = Join("ev", "u1");
  Join("ev", "u2");
  EXPECT_STATUS_CODE(room_->Join("ev", "u1"), kAlreadyExists);
  EXPECT_EQ(Status(u1.token).position, 1);  // the failed join changed nothing
  ASSERT_TRUE(Enter(u1.token).granted);
  EXPECT_STATUS_CODE(room_->Join("ev", "u1"), kAlreadyExists);  // active counts too
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.joined_total, 2);
  EXPECT_EQ(stats.waiting, 1);
  EXPECT_EQ(stats.active, 1);
}

TEST_P(ConformanceTest, RejoinAfterLeaveGoesToTheBack) {
  SetPolicy("ev", OpenPolicy());
  std::vector<std::string> t = JoinMany("ev", 3);
  Leave(t[0]);
  EXPECT_EQ(Status(t[1]).position, 1);
  EXPECT_EQ(Status(t[2]).position, 2);
  QueueStatus again = Join("ev", "u1");
  EXPECT_EQ(again.position, 3);
  EXPECT_NE(again.token, t[0]);
  EXPECT_EQ(Status(t[0]).state, UserState::kLeft);  // the old token still tells its story
  EXPECT_EQ(Status(again.token).state, UserState::kWaiting);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.joined_total, 4);
  EXPECT_EQ(stats.left_total, 1);
  EXPECT_EQ(stats.waiting, 3);
}

TEST_P(ConformanceTest, RejoinAfterCompleteAndAfterExpiryIsAllowed) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_ttl = absl::Seconds(20);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");
  ASSERT_TRUE(Enter(a.token).granted);
  Complete(a.token);
  EXPECT_EQ(Join("ev", "a").position, 2);  // completed users may come back
  clock_.Advance(absl::Seconds(10));       // b (and the new a) become ghosts
  EXPECT_EQ(Status(b.token).state, UserState::kExpired);
  EXPECT_EQ(Join("ev", "b").position, 1);
}

TEST_P(ConformanceTest, FindReturnsAUsersPlaceAndRenewsItsHeartbeat) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");
  clock_.Advance(absl::Seconds(9));
  absl::StatusOr<QueueStatus> found = room_->Find("ev", "b");
  ASSERT_OK(found);
  EXPECT_EQ(found->token, b.token);
  EXPECT_EQ(found->user_id, "b");
  EXPECT_EQ(found->event_id, "ev");
  EXPECT_EQ(found->state, UserState::kWaiting);
  EXPECT_EQ(found->position, 2);
  EXPECT_EQ(found->now, t0_ + absl::Seconds(9));
  clock_.Advance(absl::Seconds(9));  // t0+18: a is a ghost, b's heartbeat was renewed by Find
  EXPECT_STATUS_CODE(room_->Find("ev", "a"), kNotFound);
  found = room_->Find("ev", "b");
  ASSERT_OK(found);
  EXPECT_EQ(found->position, 1);
  EXPECT_EQ(Status(a.token).state, UserState::kExpired);
  // An admitted user is found too, with the same token.
  ASSERT_TRUE(Enter(b.token).granted);
  found = room_->Find("ev", "b");
  ASSERT_OK(found);
  EXPECT_EQ(found->state, UserState::kActive);
  EXPECT_EQ(found->token, b.token);
  // Ended places are no places; a new join is found again.
  Complete(b.token);
  EXPECT_STATUS_CODE(room_->Find("ev", "b"), kNotFound);
  QueueStatus again = Join("ev", "b");
  found = room_->Find("ev", "b");
  ASSERT_OK(found);
  EXPECT_EQ(found->token, again.token);
  Leave(again.token);
  EXPECT_STATUS_CODE(room_->Find("ev", "b"), kNotFound);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.joined_total, 3);  // Find never joins
  EXPECT_EQ(stats.waiting, 0);
}

TEST_P(ConformanceTest, FindRefusesUnknownAndInvalidIds) {
  SetPolicy("ev", OpenPolicy());
  Join("ev", "a");
  EXPECT_STATUS_CODE(room_->Find("ev", "nobody"), kNotFound);
  EXPECT_STATUS_CODE(room_->Find("no-such-event", "a"), kNotFound);
  EXPECT_STATUS_CODE(room_->Find("ev", ""), kInvalidArgument);
  EXPECT_STATUS_CODE(room_->Find("ev", "bad user"), kInvalidArgument);
  EXPECT_STATUS_CODE(room_->Find("bad event", "a"), kInvalidArgument);
  EXPECT_STATUS_CODE(room_->Find("ev", std::string(kMaxUserIdLength + 1, 'u')), kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Heartbeats, ghosts, forgotten tokens

TEST_P(ConformanceTest, StatusRenewsTheHeartbeat) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // deadline t0+10
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Status(a.token).state, UserState::kWaiting);  // deadline t0+19
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Status(a.token).state, UserState::kWaiting);  // t0+18; deadline t0+28
  clock_.AdvanceTo(t0_ + absl::Seconds(28) - absl::Milliseconds(1));
  EXPECT_EQ(Stats("ev").waiting, 1);
  clock_.Advance(absl::Milliseconds(1));
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.expired_total, 1);
  QueueStatus expired = Status(a.token);
  EXPECT_EQ(expired.state, UserState::kExpired);
  EXPECT_EQ(expired.position, 0);
  EXPECT_FALSE(expired.ready_for_entry);
  EXPECT_EQ(expired.blocked_by, EntryBlock::kNotWaiting);
  EXPECT_EQ(expired.status_name(), "expired");
}

TEST_P(ConformanceTest, DeniedEnterRenewsTheHeartbeat) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.paused = true;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  clock_.Advance(absl::Seconds(9));
  EXPECT_FALSE(Enter(a.token).granted);  // deadline t0+19
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Stats("ev").waiting, 1);
  EXPECT_EQ(Status(a.token).state, UserState::kWaiting);
}

TEST_P(ConformanceTest, GhostExpiresExactlyAtHeartbeatTtlAndOthersMoveUp) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // deadline t0+10
  clock_.Advance(absl::Seconds(4));
  QueueStatus b = Join("ev", "b");
  QueueStatus c = Join("ev", "c");
  clock_.AdvanceTo(t0_ + absl::Seconds(10) - absl::Milliseconds(1));
  EXPECT_EQ(Stats("ev").waiting, 3);
  EXPECT_EQ(Status(b.token).position, 2);
  EXPECT_EQ(Status(c.token).position, 3);
  clock_.Advance(absl::Milliseconds(1));  // t0+10: a's deadline has passed (deadline <= now)
  EXPECT_EQ(Status(b.token).position, 1);
  EXPECT_EQ(Status(c.token).position, 2);
  EXPECT_EQ(Status(a.token).state, UserState::kExpired);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.waiting, 2);
  EXPECT_EQ(stats.expired_total, 1);
  // A ghost cannot enter any more.
  EXPECT_STATUS_CODE(room_->Enter(a.token), kFailedPrecondition);
}

TEST_P(ConformanceTest, ReturningGhostIsToldItExpiredEvenWithManyPendingDeadlines) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) {  // more than any per-call sweep budget
    tokens.push_back(Join("ev", User(i)).token);
    clock_.Advance(absl::Milliseconds(1));
  }
  clock_.Advance(absl::Seconds(20));
  // The newest ghost has the youngest deadline, so an oldest-first per-call sweep would reach
  // it last; its own deadline is applied anyway.
  QueueStatus last = Status(tokens.back());
  EXPECT_EQ(last.state, UserState::kExpired);
  EXPECT_EQ(last.position, 0);
  EXPECT_STATUS_CODE(room_->Enter(tokens.back()), kFailedPrecondition);
  ASSERT_OK(room_->SweepAll());
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.expired_total, 200);
}

TEST_P(ConformanceTest, EndedTokensAreForgottenAfterEndedTtl) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.ended_ttl = absl::Seconds(60);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 4);  // a=u1 leaves, b=u2 ghost, c=u3 completes
  ASSERT_TRUE(Enter(t[2]).granted);
  ASSERT_TRUE(Enter(t[3]).granted);
  Leave(t[0]);
  Complete(t[2]);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Stats("ev").expired_total, 1);  // b expires at t0+10, forgotten at t0+70
  clock_.AdvanceTo(t0_ + absl::Seconds(60) - absl::Milliseconds(1));
  EXPECT_EQ(Status(t[0]).state, UserState::kLeft);
  EXPECT_EQ(Status(t[2]).state, UserState::kCompleted);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_STATUS_CODE(room_->Status(t[0]), kNotFound);
  EXPECT_STATUS_CODE(room_->Status(t[2]), kNotFound);
  EXPECT_STATUS_CODE(room_->Leave(t[0]), kNotFound);
  EXPECT_STATUS_CODE(room_->Enter(t[0]), kNotFound);
  EXPECT_STATUS_CODE(room_->Complete(t[2]), kNotFound);
  EXPECT_EQ(Status(t[1]).state, UserState::kExpired);
  EXPECT_EQ(Status(t[3]).state, UserState::kActive);
  clock_.AdvanceTo(t0_ + absl::Seconds(70) - absl::Milliseconds(1));
  EXPECT_EQ(Status(t[1]).state, UserState::kExpired);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_STATUS_CODE(room_->Status(t[1]), kNotFound);
}

TEST_P(ConformanceTest, SweepAllAppliesEveryPassedDeadline) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_ttl = absl::Seconds(10);
  p.ended_ttl = absl::Seconds(5);
  SetPolicy("ev", p);
  SetPolicy("other", p);
  std::vector<std::string> t = JoinMany("ev", 3);
  QueueStatus o = Join("other", "x");
  ASSERT_TRUE(Enter(o.token).granted);
  EXPECT_THAT(room_->SweepAll(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(room_->SweepAll(), IsOkAndHolds(4));  // 3 ghosts + 1 active timeout
  EXPECT_THAT(room_->SweepAll(), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(room_->SweepAll(), IsOkAndHolds(4));  // 4 tombstones forgotten
  EXPECT_STATUS_CODE(room_->Status(t[0]), kNotFound);
  EXPECT_STATUS_CODE(room_->Status(o.token), kNotFound);
  EventStats other = Stats("other");
  EXPECT_EQ(other.active, 0);
  EXPECT_EQ(other.active_timed_out_total, 1);
  EXPECT_EQ(other.expired_total, 0);
  EXPECT_EQ(Stats("ev").expired_total, 3);
}

// ---------------------------------------------------------------------------------------------
// Input validation

TEST_P(ConformanceTest, UnknownAndGarbageTokens) {
  SetPolicy("ev", OpenPolicy());
  Join("ev", "u1");
  const std::string unknown = "ev." + std::string(32, 'a');
  const std::string unknown_event = "nope." + std::string(32, '0');
  for (const std::string& token : {unknown, unknown_event}) {
    EXPECT_STATUS_CODE(room_->Status(token), kNotFound) << token;
    EXPECT_STATUS_CODE(room_->Enter(token), kNotFound) << token;
    EXPECT_STATUS_CODE(room_->Leave(token), kNotFound) << token;
    EXPECT_STATUS_CODE(room_->Complete(token), kNotFound) << token;
  }
  const std::vector<std::string> garbage = {
      "",
      "garbage",
      "ev",
      "ev.",
      "ev." + std::string(31, 'a'),
      "ev." + std::string(33, 'a'),
      "ev." + std::string(32, 'A'),  // upper case hex is not ours
      "ev." + std::string(31, 'a') + "g",
      "." + std::string(32, 'a'),
      "bad event." + std::string(32, 'a'),
      std::string(65, 'e') + "." + std::string(32, 'a'),
  };
  for (const std::string& token : garbage) {
    EXPECT_STATUS_CODE(room_->Status(token), kInvalidArgument) << token;
    EXPECT_STATUS_CODE(room_->Enter(token), kInvalidArgument) << token;
    EXPECT_STATUS_CODE(room_->Leave(token), kInvalidArgument) << token;
    EXPECT_STATUS_CODE(room_->Complete(token), kInvalidArgument) << token;
  }
  EXPECT_EQ(Stats("ev").waiting, 1);
}

TEST_P(ConformanceTest, InvalidEventAndUserIds) {
  const std::vector<std::string> bad_events = {
      "", "has space", "dot.ted", "slash/", "ümlaut", std::string(kMaxEventIdLength + 1, 'e')};
  const std::vector<std::string> bad_users = {"", "has space", "semi;colon", "new\nline",
                                              std::string(kMaxUserIdLength + 1, 'u')};
  for (const std::string& event : bad_events) {
    EXPECT_STATUS_CODE(room_->Join(event, "u1"), kInvalidArgument) << event;
    EXPECT_STATUS_CODE(room_->SetPolicy(event, OpenPolicy()), kInvalidArgument) << event;
    EXPECT_STATUS_CODE(room_->GetPolicy(event), kInvalidArgument) << event;
    EXPECT_STATUS_CODE(room_->Stats(event), kInvalidArgument) << event;
  }
  for (const std::string& user : bad_users) {
    EXPECT_STATUS_CODE(room_->Join("ev", user), kInvalidArgument) << user;
  }
  // The longest valid ids are fine, and so are the extra user-id characters.
  const std::string long_event(kMaxEventIdLength, 'e');
  EXPECT_OK(room_->Join(long_event, std::string(kMaxUserIdLength, 'u')));
  EXPECT_OK(room_->Join("Ev_1-x", "a.b:c@d-e_F9"));
  auto events = room_->Events();
  ASSERT_OK(events);
  EXPECT_THAT(*events, UnorderedElementsAre(long_event, "Ev_1-x"));
}

TEST_P(ConformanceTest, UnknownEventIsNotFound) {
  EXPECT_STATUS_CODE(room_->Stats("nope"), kNotFound);
  EXPECT_STATUS_CODE(room_->GetPolicy("nope"), kNotFound);
  auto events = room_->Events();
  ASSERT_OK(events);
  EXPECT_TRUE(events->empty());
}

TEST_P(ConformanceTest, InvalidPolicyIsRejected) {
  Policy good = OpenPolicy();
  good.burst = 7;
  SetPolicy("ev", good);
  std::vector<Policy> bad;
  {
    Policy p = good;
    p.admit_rate_per_sec = -1;
    bad.push_back(p);
  }
  {
    Policy p = good;
    p.burst = -1;
    bad.push_back(p);
  }
  {
    Policy p = good;
    p.bypass_top_n = -1;
    bad.push_back(p);
  }
  {
    Policy p = good;
    p.heartbeat_ttl = -absl::Seconds(1);
    bad.push_back(p);
  }
  {
    Policy p = good;  // positions not increasing
    p.wait_tiers = {{10, absl::ZeroDuration()},
                    {5, absl::Seconds(1)},
                    {WaitTier::kUnboundedPosition, absl::Seconds(2)}};
    bad.push_back(p);
  }
  {
    Policy p = good;  // waits decreasing
    p.wait_tiers = {{10, absl::Seconds(3)}, {WaitTier::kUnboundedPosition, absl::Seconds(1)}};
    bad.push_back(p);
  }
  {
    Policy p = good;
    p.rate_windows.clear();
    bad.push_back(p);
  }
  {
    Policy p = good;
    p.rate_windows = {absl::Seconds(60), absl::Seconds(10)};
    bad.push_back(p);
  }
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_STATUS_CODE(room_->SetPolicy("ev", bad[i]), kInvalidArgument) << "bad policy #" << i;
    EXPECT_STATUS_CODE(room_->SetPolicy("fresh", bad[i]), kInvalidArgument) << "bad policy #" << i;
  }
  // Nothing changed: the old policy stands and no event was created.
  EXPECT_THAT(room_->GetPolicy("ev"), IsOkAndHolds(good));
  EXPECT_STATUS_CODE(room_->GetPolicy("fresh"), kNotFound);

  // A room whose default policy is invalid is refused.
  Options options = TestOptions();
  options.default_policy.rate_windows.clear();
  EXPECT_STATUS_CODE(WaitingRoom::Create(GetParam().make(&clock_), options), kInvalidArgument);
}

TEST_P(ConformanceTest, CreateEventsOnJoinFalse) {
  Options options = TestOptions();
  options.create_events_on_join = false;
  room_ = MakeRoom(options);
  ASSERT_NE(room_, nullptr);
  EXPECT_STATUS_CODE(room_->Join("new-ev", "u1"), kNotFound);
  EXPECT_STATUS_CODE(room_->Stats("new-ev"), kNotFound);
  auto events = room_->Events();
  ASSERT_OK(events);
  EXPECT_TRUE(events->empty());
  Policy p = OpenPolicy();
  p.burst = 3;
  SetPolicy("new-ev", p);
  EXPECT_EQ(Join("new-ev", "u1").position, 1);
  EXPECT_THAT(room_->GetPolicy("new-ev"), IsOkAndHolds(p));
}

TEST_P(ConformanceTest, JoinCreatesEventWithDefaultPolicyAndFullBucket) {
  Options options = TestOptions();
  options.default_policy.burst = 42;
  options.default_policy.admit_rate_per_sec = 3;
  room_ = MakeRoom(options);
  ASSERT_NE(room_, nullptr);
  EXPECT_EQ(Join("ev", "u1").position, 1);
  EXPECT_THAT(room_->GetPolicy("ev"), IsOkAndHolds(options.default_policy));
  // A full bucket of 42, less the token of u1's grant (made by its own Join).
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 41);
  auto events = room_->Events();
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("ev"));
}

// ---------------------------------------------------------------------------------------------
// Readiness: tier waits, token bucket, bypass, capacity, pause

TEST_P(ConformanceTest, TierWaitBlocksUntilTheExactInstant) {
  Policy p = OpenPolicy();
  p.wait_tiers = DefaultWaitTiers();  // 1-10: 0 s; 11-50: 2 s; 51+: 5 s
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 51);
  QueueStatus s10 = Status(t[9]);
  EXPECT_TRUE(s10.ready_for_entry);
  EXPECT_EQ(s10.blocked_by, EntryBlock::kNone);
  QueueStatus s11 = Status(t[10]);
  EXPECT_EQ(s11.position, 11);
  EXPECT_FALSE(s11.ready_for_entry);
  EXPECT_EQ(s11.blocked_by, EntryBlock::kTierWait);
  EXPECT_EQ(s11.retry_after, absl::Seconds(2));
  EXPECT_EQ(s11.status_name(), "waiting");
  // u51 is not next in turn (40 unreached users ahead): the tier wait is not its reason yet.
  QueueStatus s51 = Status(t[50]);
  EXPECT_EQ(s51.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(s51.retry_after, absl::Seconds(1));

  EnterResult denied = Enter(t[10]);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kTierWait);
  EXPECT_EQ(denied.retry_after, absl::Seconds(2));
  EXPECT_FALSE(denied.message.empty());
  EXPECT_EQ(denied.status.state, UserState::kWaiting);
  EXPECT_EQ(denied.status.position, 11);

  clock_.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(Status(t[10]).retry_after, absl::Milliseconds(500));
  clock_.Advance(absl::Milliseconds(499));
  denied = Enter(t[10]);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.retry_after, absl::Milliseconds(1));
  clock_.Advance(absl::Milliseconds(1));  // exactly 2 s after joining
  EXPECT_TRUE(Status(t[10]).ready_for_entry);
  EnterResult granted = Enter(t[10]);
  EXPECT_TRUE(granted.granted);
  EXPECT_EQ(granted.reason, EntryBlock::kNone);
  // u51 moved up to position 50: the 2 s tier now applies, and it has waited 2 s.
  QueueStatus moved = Status(t[50]);
  EXPECT_EQ(moved.position, 50);
  EXPECT_TRUE(moved.ready_for_entry);
}

TEST_P(ConformanceTest, TierWaitCountsFromJoinNotFromPosition) {
  Policy p = OpenPolicy();
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(3)}};
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");  // t0, position 2
  clock_.Advance(absl::Seconds(1));
  QueueStatus c = Join("ev", "c");    // t0+1, position 3
  QueueStatus sb1 = Status(b.token);  // next in turn: the grants stop at b's tier wait
  EXPECT_EQ(sb1.blocked_by, EntryBlock::kTierWait);
  EXPECT_EQ(sb1.retry_after, absl::Seconds(2));
  QueueStatus sc1 = Status(c.token);  // b stands between c and the grants
  EXPECT_EQ(sc1.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(sc1.retry_after, absl::Seconds(1));
  clock_.Advance(absl::Seconds(2));  // t0+3
  QueueStatus sa = Status(a.token);
  QueueStatus sb = Status(b.token);
  QueueStatus sc = Status(c.token);
  EXPECT_TRUE(sa.ready_for_entry);
  EXPECT_TRUE(sb.ready_for_entry);
  EXPECT_FALSE(sc.ready_for_entry);                 // ready users form a prefix of the line
  EXPECT_EQ(sc.blocked_by, EntryBlock::kTierWait);  // next in turn now
  EXPECT_EQ(sc.retry_after, absl::Seconds(1));
}

TEST_P(ConformanceTest, TokenBucketPacesGrants) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 2;
  p.bypass_top_n = 0;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 20);
  // The bucket paid for the grants of u1 and u2, made by their own joins.
  EventCounters c = RawStats("ev");
  EXPECT_DOUBLE_EQ(c.bucket_tokens, 0);
  EXPECT_EQ(c.granted, 2);
  size_t next = 0;
  for (int second = 0; second < 5; ++second) {
    int granted = 0;
    while (next < t.size()) {
      EnterResult r = Enter(t[next]);
      if (!r.granted) {
        EXPECT_EQ(r.reason, EntryBlock::kNotYourTurn);
        // One token at 2/s takes 0.5 s; the advice is at least 1 s.
        EXPECT_EQ(r.retry_after, absl::Seconds(1));
        EXPECT_EQ(r.status.position, 1);
        break;
      }
      EXPECT_FALSE(r.by_bypass);
      ++granted;
      ++next;
    }
    EXPECT_EQ(granted, 2) << "second " << second;
    EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
    clock_.Advance(absl::Seconds(1));
    // Everybody keeps polling (and so stays present); the first call of the second makes
    // its two grants.
    for (size_t i = next; i < t.size(); ++i) Status(t[i]);
  }
  // t0+5: u11 and u12 hold the grants of this second.
  c = RawStats("ev");
  EXPECT_EQ(c.granted, 2);
  EXPECT_DOUBLE_EQ(c.bucket_tokens, 0);
  ASSERT_TRUE(Enter(t[next++]).granted);
  ASSERT_TRUE(Enter(t[next++]).granted);
  // Half a second is one token: exactly one more grant.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
  EXPECT_TRUE(Enter(t[next++]).granted);
  EXPECT_FALSE(Enter(t[next]).granted);
  // A quiet room: the bucket never holds more than the burst, and the users who stopped
  // polling are passed over, not granted.
  clock_.Advance(absl::Seconds(100));
  c = RawStats("ev");
  EXPECT_DOUBLE_EQ(c.bucket_tokens, 2);
  EXPECT_EQ(c.granted, 0);
  EXPECT_EQ(c.passed_total, 7);  // u14..u20
  EXPECT_EQ(c.waiting, 7);       // they keep their places
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_total, 13);
  EXPECT_EQ(stats.admitted_by_bypass, 0);
}

TEST_P(ConformanceTest, NotYourTurnRetryAfterIsTimeToRefill) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 10;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 15);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Enter(t[i]).granted);  // drain the bucket
  QueueStatus s = Status(t[14]);                                  // position 5
  EXPECT_EQ(s.position, 5);
  EXPECT_EQ(s.blocked_by, EntryBlock::kNotYourTurn);
  // 5 tokens at 2/s.
  EXPECT_TRUE(DurationNear(s.retry_after, absl::Milliseconds(2500), absl::Milliseconds(1)));
  clock_.Advance(absl::Seconds(1));  // 2 tokens: positions 1 and 2 are ready
  EXPECT_TRUE(Status(t[11]).ready_for_entry);
  QueueStatus third = Status(t[12]);
  EXPECT_FALSE(third.ready_for_entry);
  // 3 tokens needed, 2 there: 0.5 s, raised to 1 s.
  EXPECT_EQ(third.retry_after, absl::Seconds(1));
  // With rate 0, the bucket never refills: retry after 60 s.
  p.admit_rate_per_sec = 0;
  SetPolicy("ev", p);
  for (int i = 10; i < 12; ++i) ASSERT_TRUE(Enter(t[i]).granted);
  QueueStatus never = Status(t[12]);
  EXPECT_EQ(never.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(never.retry_after, absl::Seconds(60));
  clock_.Advance(absl::Hours(1));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
}

TEST_P(ConformanceTest, BypassGrantsTopNOnCreditAndTheDebtIsRepaid) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.bypass_top_n = 2;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 6);
  // u1 took the whole token; u2, at position 2 <= N + floor(0), was granted on credit; u3 at
  // position 3 > N + floor(-1) waits.
  EventCounters c = RawStats("ev");
  EXPECT_DOUBLE_EQ(c.bucket_tokens, -1);
  EXPECT_EQ(c.granted, 2);
  EXPECT_TRUE(Status(t[0]).ready_for_entry);
  EXPECT_TRUE(Status(t[1]).ready_for_entry);
  QueueStatus s3 = Status(t[2]);
  EXPECT_EQ(s3.position, 3);
  EXPECT_EQ(s3.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(s3.retry_after, absl::Seconds(2));  // (0 unreached ahead + 1 - (-1)) / 1
  EnterResult r1 = Enter(t[0]);
  EXPECT_TRUE(r1.granted);
  EXPECT_FALSE(r1.by_bypass);  // the grant's token, not charged again
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, -1);
  EXPECT_FALSE(Status(t[2]).ready_for_entry);  // position 2 > 2 + floor(-1)
  EnterResult r2 = Enter(t[1]);
  EXPECT_TRUE(r2.granted);
  EXPECT_TRUE(r2.by_bypass);
  // u3 moved up to position 1 <= 2 + floor(-1): granted on credit by u2's Enter.
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, -2);  // the debt never exceeds N
  QueueStatus s4 = Status(t[3]);
  EXPECT_EQ(s4.position, 2);
  EXPECT_EQ(s4.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(s4.retry_after, absl::Seconds(3));
  EnterResult r3 = Enter(t[2]);
  EXPECT_TRUE(r3.granted);
  EXPECT_TRUE(r3.by_bypass);
  // u4 is at position 1 now, but the debt is at N: it waits until the debt is down to 1.
  EnterResult denied = Enter(t[3]);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kNotYourTurn);
  EXPECT_EQ(denied.status.position, 1);
  clock_.AdvanceTo(t0_ + absl::Seconds(1) - absl::Milliseconds(1));
  EXPECT_FALSE(Status(t[3]).ready_for_entry);
  clock_.Advance(absl::Milliseconds(1));  // tokens -1: position 1 may borrow again
  EnterResult r4 = Enter(t[3]);
  EXPECT_TRUE(r4.granted);
  EXPECT_TRUE(r4.by_bypass);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_total, 4);
  EXPECT_EQ(stats.admitted_by_bypass, 3);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, -2);
  // Three seconds repay the debt and refill the bucket (capped at the burst): u5 is granted
  // the whole token, and u6, at position 2 <= N + floor(0), a grant on credit.
  clock_.Advance(absl::Seconds(3));
  EXPECT_TRUE(Status(t[4]).ready_for_entry);
  EXPECT_TRUE(Status(t[5]).ready_for_entry);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, -1);
  EnterResult r5 = Enter(t[4]);
  EXPECT_TRUE(r5.granted);
  EXPECT_FALSE(r5.by_bypass);
  EnterResult r6 = Enter(t[5]);
  EXPECT_TRUE(r6.granted);
  EXPECT_TRUE(r6.by_bypass);
  stats = Stats("ev");
  EXPECT_EQ(stats.admitted_by_bypass, 4);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, -1);
}

TEST_P(ConformanceTest, BypassPacesWithinRatePlusBurstPlusN) {
  // Clients hammering Enter at the head of the line: the bypass does not open the gates.
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 3;
  p.bypass_top_n = 4;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 200);
  size_t next = 0;
  int64_t admitted = 0;
  for (int tick = 0; tick <= 40; ++tick) {  // 10 s in steps of 250 ms
    for (size_t i = next; i < std::min(t.size(), next + 8); ++i) {
      EnterResult r = Enter(t[i]);
      if (r.granted && !r.repeated) ++admitted;
    }
    while (next < t.size() && Status(t[next]).state != UserState::kWaiting) ++next;
    clock_.Advance(absl::Milliseconds(250));
  }
  // Over the 10 s: rate * T + burst + N = 20 + 3 + 4.
  EXPECT_LE(admitted, 27);
  EXPECT_GE(admitted, 20);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_total, admitted);
  EXPECT_GE(stats.bucket_tokens, -4);
}

TEST_P(ConformanceTest, CapacityFullUntilCompleteLeaveOrActiveTtl) {
  Policy p = OpenPolicy();
  p.active_capacity = 2;
  p.active_ttl = absl::Seconds(30);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 5);
  ASSERT_TRUE(Enter(t[0]).granted);
  ASSERT_TRUE(Enter(t[1]).granted);
  QueueStatus s = Status(t[2]);
  EXPECT_FALSE(s.ready_for_entry);
  EXPECT_EQ(s.blocked_by, EntryBlock::kCapacityFull);
  EXPECT_EQ(s.retry_after, absl::Seconds(1));
  EnterResult denied = Enter(t[2]);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kCapacityFull);
  EXPECT_EQ(denied.retry_after, absl::Seconds(1));

  EXPECT_EQ(Complete(t[0]).state, UserState::kCompleted);
  EXPECT_TRUE(Enter(t[2]).granted);
  EXPECT_EQ(Enter(t[3]).reason, EntryBlock::kCapacityFull);
  EXPECT_EQ(Leave(t[1]).state, UserState::kLeft);
  EXPECT_TRUE(Enter(t[3]).granted);
  EXPECT_EQ(Enter(t[4]).reason, EntryBlock::kCapacityFull);
  EXPECT_EQ(Stats("ev").active, 2);

  // u3 and u4 were admitted at t0: their active time ends at t0+30.
  clock_.AdvanceTo(t0_ + absl::Seconds(30) - absl::Milliseconds(1));
  EXPECT_EQ(Stats("ev").active, 2);
  EXPECT_EQ(Enter(t[4]).reason, EntryBlock::kCapacityFull);
  clock_.Advance(absl::Milliseconds(1));
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.active_timed_out_total, 2);
  EXPECT_EQ(stats.expired_total, 0);  // ghosts only
  EXPECT_EQ(Status(t[2]).state, UserState::kExpired);
  EXPECT_STATUS_CODE(room_->Complete(t[2]), kFailedPrecondition);
  EXPECT_STATUS_CODE(room_->Enter(t[2]), kFailedPrecondition);
  EXPECT_TRUE(Enter(t[4]).granted);
  // A timed-out user may join again.
  EXPECT_EQ(Join("ev", "u3").position, 1);
}

TEST_P(ConformanceTest, PausedRoomDeniesWithReasonAndUnpauseResumes) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_capacity = 1;
  p.paused = true;
  p.paused_reason = "Back at 10:00";
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  EXPECT_FALSE(a.ready_for_entry);
  EXPECT_EQ(a.blocked_by, EntryBlock::kPaused);
  EXPECT_EQ(a.retry_after, absl::Seconds(5));
  EXPECT_EQ(a.paused_reason, "Back at 10:00");
  EnterResult denied = Enter(a.token);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kPaused);
  EXPECT_EQ(denied.retry_after, absl::Seconds(5));
  EXPECT_EQ(denied.status.paused_reason, "Back at 10:00");
  EXPECT_FALSE(denied.message.empty());
  // The line keeps its order and heartbeats still count.
  QueueStatus b = Join("ev", "b");
  EXPECT_EQ(b.position, 2);
  clock_.Advance(absl::Seconds(9));
  Status(a.token);
  Status(b.token);
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(Stats("ev").waiting, 2);

  p.paused = false;
  p.paused_reason.clear();
  SetPolicy("ev", p);
  QueueStatus ready = Status(a.token);
  EXPECT_TRUE(ready.ready_for_entry);
  EXPECT_EQ(ready.paused_reason, "");
  EXPECT_TRUE(Enter(a.token).granted);
  EXPECT_EQ(Status(b.token).blocked_by, EntryBlock::kCapacityFull);
  // A pause is reported before a full capacity.
  p.paused = true;
  p.paused_reason = "maintenance";
  SetPolicy("ev", p);
  QueueStatus paused = Status(b.token);
  EXPECT_EQ(paused.blocked_by, EntryBlock::kPaused);
  EXPECT_EQ(paused.paused_reason, "maintenance");
  EXPECT_EQ(Stats("ev").admitted_total, 1);
}

// The operator's message reaches everyone in line (and the pre-queue) on their next call,
// round-trips through SetPolicy/GetPolicy, and is not shown once a user left the line.
TEST_P(ConformanceTest, QueueMessageReachesTheLineAndRoundTrips) {
  Policy p = OpenPolicy();
  p.active_capacity = 0;  // nobody is admitted: everyone stays in line
  SetPolicy("ev", p);
  auto Stored = [this] {
    absl::StatusOr<Policy> stored = room_->GetPolicy("ev");
    EXPECT_OK(stored);
    return stored.ok() ? *stored : Policy{};
  };
  QueueStatus a = Join("ev", "a");
  EXPECT_EQ(a.queue_message, "");
  const std::string message = "Sales resume at 10:30 | Verkauf ab 10:30 · 판매 재개 <b>&amp;</b>";
  p.queue_message = message;
  SetPolicy("ev", p);
  EXPECT_EQ(Stored().queue_message, message);
  EXPECT_TRUE(Stored() == p);
  EXPECT_EQ(Status(a.token).queue_message, message);
  EXPECT_EQ(Join("ev", "b").queue_message, message);
  EnterResult denied = Enter(a.token);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.status.queue_message, message);
  // The message does not disturb the other texts.
  p.paused = true;
  p.paused_reason = "hold|on";
  SetPolicy("ev", p);
  QueueStatus paused = Status(a.token);
  EXPECT_EQ(paused.paused_reason, "hold|on");
  EXPECT_EQ(paused.queue_message, message);
  EXPECT_TRUE(Stored() == p);
  // Cleared: gone from the next answer.
  p.queue_message.clear();
  SetPolicy("ev", p);
  EXPECT_EQ(Status(a.token).queue_message, "");
  EXPECT_EQ(Stored().queue_message, "");
  // Not shown to a user who left the line.
  p.queue_message = "later";
  SetPolicy("ev", p);
  EXPECT_EQ(Leave(a.token).queue_message, "");
  // Bad text is refused and leaves the policy as it was.
  Policy bad = p;
  bad.queue_message = "line\nbreak";
  EXPECT_STATUS_CODE(room_->SetPolicy("ev", bad), kInvalidArgument);
  EXPECT_EQ(Stored().queue_message, "later");
}

// ---------------------------------------------------------------------------------------------
// Enter, Leave, Complete

TEST_P(ConformanceTest, EnterTwiceReturnsTheSameReservation) {
  Policy p = OpenPolicy();
  p.reservation_ttl = absl::Seconds(30);
  p.admit_rate_per_sec = 1;
  p.burst = 5;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  EnterResult first = Enter(a.token);
  ASSERT_TRUE(first.granted);
  EXPECT_FALSE(first.repeated);
  EXPECT_EQ(first.reason, EntryBlock::kNone);
  EXPECT_EQ(first.reservation_expires_at, t0_ + absl::Seconds(30));
  auto event = EventIdOfToken(first.reservation_token);
  ASSERT_OK(event);
  EXPECT_EQ(*event, "ev");
  EXPECT_NE(first.reservation_token, a.token);
  EXPECT_EQ(first.status.state, UserState::kActive);
  EXPECT_EQ(first.status.reservation_token, first.reservation_token);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 4);

  EnterResult again = Enter(a.token);  // same instant: bucket unchanged
  EXPECT_TRUE(again.granted);
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.reservation_token, first.reservation_token);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 4);
  clock_.Advance(absl::Seconds(1));
  again = Enter(a.token);
  EXPECT_TRUE(again.granted);
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.reservation_token, first.reservation_token);
  EXPECT_EQ(again.reservation_expires_at, first.reservation_expires_at);
  QueueStatus s = Status(a.token);
  EXPECT_EQ(s.state, UserState::kActive);
  EXPECT_EQ(s.reservation_token, first.reservation_token);
  EXPECT_EQ(s.reservation_expires_at, first.reservation_expires_at);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_total, 1);
  EXPECT_EQ(stats.active, 1);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, 5);
}

TEST_P(ConformanceTest, EnterLeaveCompleteOnEndedRecords) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 4);
  // Complete while waiting.
  EXPECT_STATUS_CODE(room_->Complete(t[0]), kFailedPrecondition);
  EXPECT_EQ(Status(t[0]).state, UserState::kWaiting);  // unchanged
  // Leave a waiting user; repeating it is harmless.
  EXPECT_EQ(Leave(t[0]).state, UserState::kLeft);
  EXPECT_EQ(Leave(t[0]).state, UserState::kLeft);
  EXPECT_STATUS_CODE(room_->Enter(t[0]), kFailedPrecondition);
  EXPECT_STATUS_CODE(room_->Complete(t[0]), kFailedPrecondition);
  // Complete an active user; repeating it is harmless; leaving afterwards changes nothing.
  ASSERT_TRUE(Enter(t[1]).granted);
  EXPECT_EQ(Complete(t[1]).state, UserState::kCompleted);
  EXPECT_EQ(Complete(t[1]).state, UserState::kCompleted);
  EXPECT_EQ(Leave(t[1]).state, UserState::kCompleted);
  EXPECT_STATUS_CODE(room_->Enter(t[1]), kFailedPrecondition);
  // Leave an active user.
  ASSERT_TRUE(Enter(t[2]).granted);
  EXPECT_EQ(Leave(t[2]).state, UserState::kLeft);
  EXPECT_STATUS_CODE(room_->Complete(t[2]), kFailedPrecondition);
  // Ghost.
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Leave(t[3]).state, UserState::kExpired);
  EXPECT_STATUS_CODE(room_->Complete(t[3]), kFailedPrecondition);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.left_total, 2);
  EXPECT_EQ(stats.completed_total, 1);
  EXPECT_EQ(stats.expired_total, 1);
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.waiting, 0);
}

// ---------------------------------------------------------------------------------------------
// Live policy changes

TEST_P(ConformanceTest, SetPolicyRefillsWithOldRateThenCapsAtNewBurst) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 10;
  SetPolicy("ev", p);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 10);  // a new event starts full
  p.burst = 3;
  SetPolicy("ev", p);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 3);
  EXPECT_THAT(room_->GetPolicy("ev"), IsOkAndHolds(p));
  std::vector<std::string> t = JoinMany("ev", 3);  // three grants
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Enter(t[i]).granted);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 2);  // nobody waits: nothing is granted
  p.admit_rate_per_sec = 4;
  p.burst = 5;
  SetPolicy("ev", p);  // raising the burst adds nothing by itself
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 2);
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 4);
  clock_.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 5);
  t = JoinMany("ev", 5, 10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Enter(t[i]).granted);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
  // Half a second at the old rate (4/s) is accounted before the rate drops to 1/s.
  clock_.Advance(absl::Milliseconds(500));
  p.admit_rate_per_sec = 1;
  SetPolicy("ev", p);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 2);
  clock_.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 3);
  EXPECT_THAT(room_->GetPolicy("ev"), IsOkAndHolds(p));
}

TEST_P(ConformanceTest, NewHeartbeatTtlAppliesFromTheNextHeartbeat) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // deadline t0+10
  QueueStatus b = Join("ev", "b");  // deadline t0+10
  p.heartbeat_ttl = absl::Seconds(60);
  SetPolicy("ev", p);
  clock_.Advance(absl::Seconds(5));
  Status(b.token);  // deadline t0+65
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Status(a.token).state, UserState::kExpired);
  EXPECT_EQ(Status(b.token).position, 1);
  clock_.AdvanceTo(t0_ + absl::Seconds(69));  // b renewed at t0+10: deadline t0+70
  EXPECT_EQ(Stats("ev").waiting, 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Stats("ev").waiting, 0);
}

// ---------------------------------------------------------------------------------------------
// Counters

TEST_P(ConformanceTest, StatsCounters) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_ttl = absl::Seconds(20);
  p.admit_rate_per_sec = 1;
  p.burst = 2;
  p.bypass_top_n = 1;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 6);
  EXPECT_FALSE(Enter(t[0]).by_bypass);  // token
  EXPECT_FALSE(Enter(t[1]).by_bypass);  // token
  EXPECT_TRUE(Enter(t[2]).by_bypass);   // empty bucket, position 1
  Complete(t[0]);
  Leave(t[1]);  // active -> left
  Leave(t[3]);  // waiting -> left
  clock_.Advance(absl::Seconds(5));
  // u5 heartbeats (deadline t0+15) and is granted; u6 becomes a ghost at t0+10.
  EXPECT_TRUE(Status(t[4]).ready_for_entry);
  clock_.Advance(absl::Seconds(5));
  // u5's grant (t0+5) lapsed at t0+10; u6, absent at t0+5, was passed over by it.
  EventCounters raw = RawStats("ev");
  EXPECT_EQ(raw.granted, 0);
  EXPECT_EQ(raw.passed_total, 1);
  EXPECT_EQ(raw.lapsed_total, 1);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.now, t0_ + absl::Seconds(10));
  EXPECT_EQ(stats.waiting, 1);
  EXPECT_EQ(stats.active, 1);
  EXPECT_EQ(stats.joined_total, 6);
  EXPECT_EQ(stats.admitted_total, 3);
  EXPECT_EQ(stats.admitted_by_bypass, 1);
  EXPECT_EQ(stats.expired_total, 1);
  EXPECT_EQ(stats.active_timed_out_total, 0);
  EXPECT_EQ(stats.left_total, 2);
  EXPECT_EQ(stats.completed_total, 1);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, 2);
  clock_.Advance(absl::Seconds(10));  // t0+20: u5 expired at t0+15, u3's active time ends
  stats = Stats("ev");
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.active, 0);
  EXPECT_EQ(stats.expired_total, 2);
  EXPECT_EQ(stats.active_timed_out_total, 1);
  EXPECT_EQ(stats.left_total, 2);
  EXPECT_EQ(stats.completed_total, 1);
  EXPECT_EQ(stats.joined_total, 6);
  EXPECT_EQ(stats.admitted_total, 3);
}

// ---------------------------------------------------------------------------------------------
// ETA and poll advice

TEST_P(ConformanceTest, EtaBeforeAnyAdmissionUsesPolicyRate) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 1;
  p.heartbeat_ttl = absl::Minutes(10);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 100);
  QueueStatus first = Status(t[0]);  // granted by its join
  EXPECT_TRUE(first.ready_for_entry);
  EXPECT_EQ(first.eta, absl::ZeroDuration());
  EXPECT_EQ(first.poll_after, absl::Seconds(1));
  QueueStatus fifth = Status(t[4]);  // 3 unreached users ahead
  EXPECT_FALSE(fifth.ready_for_entry);
  EXPECT_TRUE(DurationNear(fifth.eta, absl::Milliseconds(1500), absl::Milliseconds(1)));
  EXPECT_DOUBLE_EQ(fifth.eta_confidence, 0.1);
  EXPECT_EQ(fifth.poll_after, absl::Seconds(1));  // half of 1.5 s, raised to the minimum
  QueueStatus last = Status(t[99]);               // 98 unreached ahead at 2/s
  EXPECT_TRUE(DurationNear(last.eta, absl::Seconds(49), absl::Milliseconds(1)));
  EXPECT_DOUBLE_EQ(last.eta_confidence, 0.1);
  // Half the ETA, within [1 s, 60 s], half the presence window (49 s) and a third of the TTL.
  EXPECT_TRUE(DurationNear(last.poll_after, absl::Milliseconds(24500), absl::Milliseconds(1)));
}

TEST_P(ConformanceTest, EtaCoversTheRemainingTierWait) {
  Policy p = OpenPolicy();
  p.wait_tiers = {{10, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(20)}};
  SetPolicy("ev", p);
  // The first ten are granted as they join and hold their grants (claim window 5 s): the 11th
  // has ten grants ahead, its turn place is 11.
  std::vector<std::string> t = JoinMany("ev", 11);
  clock_.Advance(absl::Seconds(3));
  QueueStatus s = Status(t[10]);
  EXPECT_EQ(s.blocked_by, EntryBlock::kTierWait);
  EXPECT_EQ(s.eta, absl::Seconds(17));  // max(T(0 unreached ahead), 17 s left)
  EXPECT_EQ(s.retry_after, absl::Seconds(17));
  EXPECT_EQ(Raw(t[10]).tier_wait, absl::Seconds(20));
  // Half the ETA would be 8.5 s, but the user is present for the claim window (5 s) only:
  // half of that, so that the user is present when the tier wait ends.
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Milliseconds(2500), absl::Milliseconds(1)));
  EXPECT_EQ(s.waited, absl::Seconds(3));
  // The ten grants lapse unclaimed at t0+5: nobody holds a grant ahead any more, the turn
  // place is 1 and its tier wait 0. The absent users passed over still count in the position,
  // not in the tier wait.
  clock_.Advance(absl::Seconds(3));
  s = Status(t[10]);
  EXPECT_EQ(s.position, 11);
  EXPECT_TRUE(s.ready_for_entry);
  EXPECT_EQ(s.eta, absl::ZeroDuration());
}

TEST_P(ConformanceTest, TierWaitsDoNotCountAbsentUsersPassedOver) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(20)}};
  SetPolicy("ev", p);
  std::vector<std::string> ghosts = JoinMany("ev", 30);  // the first is granted, none returns
  clock_.Advance(absl::Minutes(2));  // all absent (not expired: the heartbeat TTL is 5 min)
  // A newcomer: the 29 unreached ghosts are passed over, the first one's grant has lapsed.
  // Nobody holds a grant: the turn place is 1, granted at once with no tier wait.
  QueueStatus s = Join("ev", "newcomer");
  EXPECT_EQ(s.position, 31);
  EXPECT_TRUE(s.ready_for_entry) << EntryBlockName(s.blocked_by);
  EXPECT_EQ(s.eta, absl::ZeroDuration());
  EXPECT_EQ(RawStats("ev").passed_total, 29);
  EXPECT_EQ(Raw(s.token).ahead_unreached, 0);
  EXPECT_EQ(RawStats("ev").granted, 1);
  // The next one has the newcomer's grant ahead: turn place 2, whose tier wait is 20 s.
  QueueStatus next = Join("ev", "next");
  EXPECT_EQ(next.position, 32);
  EXPECT_FALSE(next.ready_for_entry);
  EXPECT_EQ(next.blocked_by, EntryBlock::kTierWait);
  EXPECT_EQ(next.retry_after, absl::Seconds(20));
  EXPECT_EQ(next.eta, absl::Seconds(20));
  EXPECT_EQ(Raw(next.token).tier_wait, absl::Seconds(20));
}

TEST_P(ConformanceTest, CreditIsByTheTurnPlaceNotThePosition) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.bypass_top_n = 1;
  SetPolicy("ev", p);
  JoinMany("ev", 5);                 // the first is granted the only token, nobody claims
  clock_.Advance(absl::Minutes(2));  // all five absent (not expired); the bucket is full again
  // A newcomer: the lapsed grant stays reached, the four unreached ghosts are passed over; it
  // takes the token and enters.
  QueueStatus a = Join("ev", "a");
  EXPECT_EQ(a.position, 6);
  ASSERT_TRUE(a.ready_for_entry) << EntryBlockName(a.blocked_by);
  ASSERT_TRUE(Enter(a.token).granted);
  // The next newcomer, at the same instant (no token): position 6 behind five ghosts, but
  // nobody holds a grant, so its turn place is 1, within N + floor(tokens) = 1 + 0: granted on
  // credit.
  QueueStatus b = Join("ev", "b");
  EXPECT_EQ(b.position, 6);
  EXPECT_TRUE(b.ready_for_entry) << EntryBlockName(b.blocked_by);
  EXPECT_TRUE(Enter(b.token).granted);
  EXPECT_EQ(Stats("ev").admitted_by_bypass, 1);
  // The debt (tokens -1) leaves no credit: N + floor(-1) = 0 < the next one's turn place 1.
  QueueStatus c = Join("ev", "c");
  EXPECT_EQ(c.position, 6);
  EXPECT_FALSE(c.ready_for_entry);
  EXPECT_EQ(c.blocked_by, EntryBlock::kNotYourTurn);
}

TEST_P(ConformanceTest, PollAfterIsClampedByMaxAndHeartbeat) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.heartbeat_ttl = absl::Minutes(10);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 1001);
  QueueStatus last = Status(t[1000]);  // 999 unreached ahead: half the ETA is clamped to 60 s
  EXPECT_TRUE(DurationNear(last.eta, absl::Seconds(999), absl::Milliseconds(1)));
  EXPECT_EQ(last.poll_after, absl::Seconds(60));
  p.heartbeat_ttl = absl::Seconds(45);  // a third is 15 s (the presence window is 45 s)
  SetPolicy("ev", p);
  last = Status(t[1000]);
  EXPECT_EQ(last.poll_after, absl::Seconds(15));
}

TEST_P(ConformanceTest, PausedRoomHasZeroEtaConfidence) {
  Policy p = OpenPolicy();
  p.paused = true;
  SetPolicy("ev", p);
  JoinMany("ev", 3);
  QueueStatus s = Join("ev", "late");
  EXPECT_EQ(s.blocked_by, EntryBlock::kPaused);
  EXPECT_DOUBLE_EQ(s.eta_confidence, 0);
}

TEST_P(ConformanceTest, EtaAfterSteadyAdmissionsFollowsMeasuredRate) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 2;
  p.heartbeat_ttl = absl::Hours(1);
  p.active_ttl = absl::Hours(1);
  // Users here only call to enter: a long claim window keeps them present for the whole run.
  p.claim_window = absl::Minutes(10);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 700);
  size_t next = 0;
  for (int second = 0; second <= 300; ++second) {  // 2 admissions a second, t0 .. t0+300
    ASSERT_TRUE(Enter(t[next++]).granted) << second;
    ASSERT_TRUE(Enter(t[next++]).granted) << second;
    clock_.Advance(absl::Seconds(1));
  }
  // t0+301, 602 admitted; this call grants the next two. Every window measures about 2/s; the
  // 300 s window holds about 600 admissions. The room is far below its capacity: the cursor's
  // speed is the policy's rate, 2/s.
  QueueStatus s = Status(t[next + 20]);
  EXPECT_EQ(s.position, 21);
  EXPECT_FALSE(s.ready_for_entry);
  Ticket raw = Raw(t[next + 20]);
  EXPECT_EQ(raw.ahead_unreached, 18);
  EXPECT_FALSE(raw.rate.at_capacity);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(9), absl::Milliseconds(1))) << s.eta;
  EXPECT_GT(s.eta_confidence, 0.5);
  EXPECT_NEAR(s.eta_confidence, 600.0 / 610.0, 0.01);
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Milliseconds(4500), absl::Milliseconds(1)));
  EventStats stats = Stats("ev");
  EXPECT_NEAR(stats.admission_rate_per_sec, 2.0, 0.02);
  EXPECT_NEAR(stats.rate_confidence, 600.0 / 610.0, 0.01);
  EXPECT_EQ(stats.admitted_total, 602);
  QueueStatus far = Status(t[next + 90]);  // position 91: 88 unreached ahead
  EXPECT_EQ(far.position, 91);
  EXPECT_TRUE(DurationNear(far.eta, absl::Seconds(44), absl::Milliseconds(1))) << far.eta;
  EXPECT_TRUE(DurationNear(far.poll_after, absl::Seconds(22), absl::Milliseconds(1)));
  // The room fills up: 602 active and the two granted meet a capacity of 604. Grants wait for
  // users to finish, and the cursor's speed is the median of the grants per window (this call's
  // two included): 22 / 10 s, 122 / 60 s, 602 / 300 s.
  p.active_capacity = 604;
  SetPolicy("ev", p);
  const double speed = 122.0 / 60.0;
  s = Status(t[next + 20]);
  EXPECT_EQ(s.blocked_by, EntryBlock::kCapacityFull);
  raw = Raw(t[next + 20]);
  EXPECT_TRUE(raw.rate.at_capacity);
  EXPECT_EQ(raw.ahead_unreached, 18);
  EXPECT_TRUE(DurationNear(s.eta, absl::Seconds(18 / speed), absl::Milliseconds(1))) << s.eta;
  EXPECT_TRUE(DurationNear(s.poll_after, absl::Seconds(9 / speed), absl::Milliseconds(1)));
  far = Status(t[next + 90]);
  EXPECT_TRUE(DurationNear(far.eta, absl::Seconds(88 / speed), absl::Milliseconds(1))) << far.eta;
  EXPECT_TRUE(DurationNear(far.poll_after, absl::Seconds(44 / speed), absl::Milliseconds(1)));
}

// ---------------------------------------------------------------------------------------------
// Presence, the cursor and grants

TEST_P(ConformanceTest, AnAbsentUserIsPassedKeepsThePlaceAndIsGrantedFirstOnReturn) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // granted by its join: the bucket is empty
  QueueStatus b = Join("ev", "b");  // present until t0+5 (the claim window)
  QueueStatus c = Join("ev", "c");
  ASSERT_TRUE(Enter(a.token).granted);
  clock_.Advance(absl::Seconds(6));  // b and c are absent now; one token
  QueueStatus sc = Status(c.token);  // c comes back: b is passed over, c granted
  EXPECT_TRUE(sc.ready_for_entry);
  EXPECT_EQ(sc.position, 2);  // b keeps its place
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.passed_total, 1);
  EXPECT_EQ(counters.granted, 1);
  EXPECT_EQ(counters.waiting, 2);
  ASSERT_TRUE(Enter(c.token).granted);
  clock_.Advance(absl::Milliseconds(500));
  QueueStatus d = Join("ev", "d");  // behind b, present, unreached
  EXPECT_EQ(d.position, 2);
  EXPECT_FALSE(d.ready_for_entry);
  clock_.Advance(absl::Milliseconds(500));  // t0+7: one token again
  // b returns: a reached user who calls is granted before any unreached one.
  QueueStatus sb = Status(b.token);
  EXPECT_EQ(sb.position, 1);
  EXPECT_TRUE(sb.ready_for_entry);
  Ticket rb = Raw(b.token);
  EXPECT_EQ(rb.ahead_unreached, 0);
  EXPECT_EQ(rb.grant_expires_at, t0_ + absl::Seconds(7) + p.claim_window);
  QueueStatus sd = Status(d.token);
  EXPECT_FALSE(sd.ready_for_entry);
  EXPECT_EQ(sd.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(Raw(d.token).ahead_unreached, 0);  // b is reached: d is next
  EXPECT_TRUE(Enter(b.token).granted);
  counters = RawStats("ev");
  EXPECT_EQ(counters.passed_total, 1);
  EXPECT_EQ(counters.lapsed_total, 0);
  EXPECT_EQ(counters.admitted_total, 3);
}

TEST_P(ConformanceTest, AnUnclaimedGrantLapsesAfterTheClaimWindowAndItsTokenPassesOn) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 0.1;
  p.burst = 1;
  p.claim_window = absl::Seconds(5);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");
  Ticket ra = Raw(a.token);
  EXPECT_TRUE(ra.ready_for_entry);
  EXPECT_EQ(ra.grant_expires_at, t0_ + absl::Seconds(5));
  EXPECT_EQ(ra.present_until, t0_ + absl::Seconds(5));
  EXPECT_EQ(ra.ahead_unreached, 0);
  clock_.Advance(absl::Seconds(4));
  EXPECT_FALSE(Status(b.token).ready_for_entry);  // b polls: present until t0+9
  EXPECT_EQ(RawStats("ev").granted, 1);
  clock_.AdvanceTo(t0_ + absl::Seconds(5));  // grant_until <= now: a's grant lapses
  QueueStatus sb = Status(b.token);
  EXPECT_TRUE(sb.ready_for_entry);  // the token came back and went to b
  EXPECT_EQ(sb.position, 2);        // a still stands ahead
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.lapsed_total, 1);
  EXPECT_EQ(counters.granted, 1);
  EXPECT_EQ(counters.waiting, 2);
  EXPECT_NEAR(counters.bucket_tokens, 0, 1e-9);  // 0.5 refilled + 1 back, capped at 1, - 1
  // a comes back too late: no grant, no token (0.1 at t0+6), but first in turn.
  clock_.Advance(absl::Seconds(1));
  EnterResult denied = Enter(a.token);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kNotYourTurn);
  EXPECT_EQ(denied.status.position, 1);
  EXPECT_TRUE(DurationNear(denied.retry_after, absl::Seconds(9), absl::Milliseconds(1)));
  EXPECT_EQ(Raw(a.token).grant_expires_at, absl::InfiniteFuture());
  EXPECT_TRUE(Enter(b.token).granted);
  // Once a token is there again, a (returned) is granted by its own call.
  clock_.AdvanceTo(t0_ + absl::Seconds(16));
  EXPECT_TRUE(Enter(a.token).granted);
  EXPECT_EQ(RawStats("ev").lapsed_total, 1);
}

TEST_P(ConformanceTest, GrantsGoInLineOrderAtTheRate) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 3;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 6);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Status(t[i]).ready_for_entry) << i;
  for (int i = 3; i < 6; ++i) EXPECT_FALSE(Status(t[i]).ready_for_entry) << i;
  EXPECT_EQ(RawStats("ev").granted, 3);
  clock_.Advance(absl::Seconds(1));
  // u6 calls, but the token goes to u4, the first present user in line.
  EXPECT_FALSE(Status(t[5]).ready_for_entry);
  EXPECT_TRUE(Status(t[3]).ready_for_entry);
  EXPECT_FALSE(Status(t[4]).ready_for_entry);
  Ticket r6 = Raw(t[5]);
  EXPECT_EQ(r6.position, 6);
  EXPECT_EQ(r6.ahead_unreached, 1);
  EXPECT_EQ(RawStats("ev").granted, 4);
  // Granted users keep their place (and count in waiting) until they enter.
  EXPECT_EQ(Stats("ev").waiting, 6);
}

TEST_P(ConformanceTest, CapacityCountsGrantedUsers) {
  Policy p = OpenPolicy();
  p.active_capacity = 2;
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 3);
  EXPECT_TRUE(Status(t[0]).ready_for_entry);
  EXPECT_TRUE(Status(t[1]).ready_for_entry);
  QueueStatus s3 = Status(t[2]);
  EXPECT_EQ(s3.blocked_by, EntryBlock::kCapacityFull);  // active 0 + granted 2
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.active, 0);
  EXPECT_EQ(counters.granted, 2);
  ASSERT_TRUE(Enter(t[0]).granted);  // a grant claimed: still 2 against the capacity
  EXPECT_EQ(Status(t[2]).blocked_by, EntryBlock::kCapacityFull);
  Leave(t[1]);  // a granted user leaves: the grant goes to u3
  EXPECT_TRUE(Status(t[2]).ready_for_entry);
  counters = RawStats("ev");
  EXPECT_EQ(counters.active, 1);
  EXPECT_EQ(counters.granted, 1);
}

TEST_P(ConformanceTest, LeaveOfAGrantedUserGivesTheTokenBack) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 2;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
  Leave(a.token);
  EventCounters counters = RawStats("ev");
  EXPECT_DOUBLE_EQ(counters.bucket_tokens, 1);
  EXPECT_EQ(counters.granted, 1);
  EXPECT_EQ(counters.lapsed_total, 0);  // a refund, not a lapse
  EXPECT_EQ(counters.left_total, 1);
  QueueStatus c = Join("ev", "c");  // the token that came back
  EXPECT_TRUE(c.ready_for_entry);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 0);
  // A refund never lifts the bucket above the burst.
  clock_.Advance(absl::Seconds(3));  // full again (2)
  Leave(b.token);
  Leave(c.token);
  EXPECT_DOUBLE_EQ(Stats("ev").bucket_tokens, 2);
}

TEST_P(ConformanceTest, AGrantedGhostGivesItsTokenBackWhenItExpires) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 0;
  p.burst = 1;
  p.heartbeat_ttl = absl::Seconds(2);  // shorter than the claim window: the ghost expires first
  p.claim_window = absl::Seconds(10);
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // granted, then never calls again
  QueueStatus b = Join("ev", "b");
  EXPECT_TRUE(a.ready_for_entry);
  clock_.Advance(absl::Milliseconds(1500));
  EXPECT_FALSE(Status(b.token).ready_for_entry);
  clock_.Advance(absl::Milliseconds(1500));  // a expired at t0+2 holding the grant
  EXPECT_TRUE(Status(b.token).ready_for_entry);
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.expired_total, 1);
  EXPECT_EQ(counters.lapsed_total, 0);  // a refund, not a lapse
  EXPECT_EQ(counters.granted, 1);
  EXPECT_DOUBLE_EQ(counters.bucket_tokens, 0);
  EXPECT_EQ(Status(a.token).state, UserState::kExpired);
}

TEST_P(ConformanceTest, PauseHoldsOutstandingGrantsUntilTheyLapse) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 2;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");  // granted
  p.paused = true;
  p.paused_reason = "hold on";
  SetPolicy("ev", p);
  QueueStatus sa = Status(a.token);
  EXPECT_FALSE(sa.ready_for_entry);
  EXPECT_EQ(sa.blocked_by, EntryBlock::kPaused);
  EXPECT_EQ(sa.retry_after, absl::Seconds(5));
  EnterResult denied = Enter(a.token);
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.reason, EntryBlock::kPaused);
  QueueStatus b = Join("ev", "b");  // a token is there, but nobody is granted while paused
  EXPECT_EQ(b.blocked_by, EntryBlock::kPaused);
  EXPECT_EQ(Raw(b.token).grant_expires_at, absl::InfiniteFuture());
  EXPECT_EQ(Raw(a.token).grant_expires_at, t0_ + p.claim_window);
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.granted, 1);
  EXPECT_DOUBLE_EQ(counters.bucket_tokens, 1);
  clock_.Advance(p.claim_window);  // the grant lapses even while paused
  counters = RawStats("ev");
  EXPECT_EQ(counters.granted, 0);
  EXPECT_EQ(counters.lapsed_total, 1);
  EXPECT_DOUBLE_EQ(counters.bucket_tokens, 2);
  p.paused = false;
  SetPolicy("ev", p);
  EXPECT_TRUE(Status(a.token).ready_for_entry);  // returned: granted first
  EXPECT_TRUE(Status(b.token).ready_for_entry);
  EXPECT_TRUE(Enter(a.token).granted);
  EXPECT_TRUE(Enter(b.token).granted);
  EXPECT_EQ(Stats("ev").admitted_total, 2);
}

TEST_P(ConformanceTest, ATierWaitStopsTheGrantsForEveryoneBehind) {
  Policy p = OpenPolicy();
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(2)}};
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 4);
  EXPECT_TRUE(Status(t[0]).ready_for_entry);
  EXPECT_EQ(Status(t[1]).blocked_by, EntryBlock::kTierWait);
  EXPECT_EQ(Status(t[3]).blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(RawStats("ev").granted, 1);
  clock_.Advance(absl::Seconds(2));  // everybody served the tier wait at once
  EXPECT_TRUE(Status(t[3]).ready_for_entry);
  EXPECT_EQ(RawStats("ev").granted, 4);
}

TEST_P(ConformanceTest, TicketFieldsOfPresenceAndGrants) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 1;
  p.claim_window = absl::Seconds(5);
  p.heartbeat_ttl = absl::Minutes(5);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 30);
  Ticket first = Raw(t[0]);
  EXPECT_TRUE(first.ready_for_entry);
  EXPECT_EQ(first.ahead_unreached, 0);
  EXPECT_EQ(first.grant_expires_at, t0_ + absl::Seconds(5));
  EXPECT_EQ(first.present_until, t0_ + absl::Seconds(5));
  Ticket second = Raw(t[1]);
  EXPECT_EQ(second.ahead_unreached, 0);
  EXPECT_EQ(second.grant_expires_at, absl::InfiniteFuture());
  EXPECT_EQ(second.present_until, t0_ + absl::Seconds(5));  // the claim window at least
  Ticket last = Raw(t[29]);
  EXPECT_EQ(last.position, 30);
  EXPECT_EQ(last.ahead_unreached, 28);
  EXPECT_EQ(last.present_until, t0_ + absl::Seconds(14));  // 28 unreached at 2/s
  EXPECT_EQ(last.grant_expires_at, absl::InfiniteFuture());
  EXPECT_EQ(last.rate.unreached, 29);
  ASSERT_TRUE(Enter(t[0]).granted);
  Ticket active = Raw(t[0]);
  EXPECT_EQ(active.ahead_unreached, 0);
  EXPECT_EQ(active.present_until, absl::InfinitePast());
  EXPECT_EQ(active.grant_expires_at, absl::InfiniteFuture());
  // The heartbeat deadline still bounds presence.
  p.heartbeat_ttl = absl::Seconds(10);
  SetPolicy("ev", p);
  EXPECT_EQ(Raw(t[29]).present_until, t0_ + absl::Seconds(10));
}

TEST_P(ConformanceTest, WindowsCountUsersReachedAndDeparturesAhead) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.rate_windows = {absl::Seconds(10), absl::Seconds(60)};
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 5);  // u1 granted
  ASSERT_TRUE(Enter(t[0]).granted);                // reached: not a departure
  Leave(t[4]);                                     // unreached: a departure
  clock_.Advance(absl::Seconds(6));                // u2, u3 absent
  EXPECT_TRUE(Status(t[3]).ready_for_entry);       // u2 and u3 passed, u4 granted
  EventCounters counters = RawStats("ev");
  EXPECT_EQ(counters.passed_total, 2);
  ASSERT_EQ(counters.rate.windows.size(), 2u);
  for (const RateSample::Window& w : counters.rate.windows) {
    EXPECT_DOUBLE_EQ(w.reached, 4) << w.length;  // u1 and u4 granted, u2 and u3 passed
    EXPECT_DOUBLE_EQ(w.departures, 1) << w.length;
    EXPECT_DOUBLE_EQ(w.admissions, 1) << w.length;
  }
  EXPECT_EQ(counters.rate.unreached, 0);
}

TEST_P(ConformanceTest, PollAdviceGrowsWithTheWaitAndKeepsTheUserPresent) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.heartbeat_ttl = absl::Minutes(10);
  SetPolicy("ev", p);
  std::vector<std::string> t = JoinMany("ev", 300);
  absl::Duration previous = absl::ZeroDuration();
  for (int i : {2, 5, 11, 21, 61, 121, 299}) {
    QueueStatus s = Status(t[i]);
    Ticket raw = Raw(t[i]);
    EXPECT_GE(s.poll_after, previous) << i;
    EXPECT_LE(s.poll_after, absl::Seconds(60)) << i;
    EXPECT_LE(s.poll_after, (raw.present_until - s.now) / 2) << i;
    previous = s.poll_after;
    // Half the ETA (i - 1 unreached ahead at 1/s), clamped to [1 s, 60 s].
    const absl::Duration want =
        std::clamp(absl::Seconds(i - 1) / 2, absl::Seconds(1), absl::Seconds(60));
    EXPECT_TRUE(DurationNear(s.poll_after, want, absl::Milliseconds(1))) << i;
  }
  // A client that follows the advice is present whenever the grants reach it: poll u21 as
  // advised while nobody else calls (the bucket keeps granting the present users).
  clock_.Advance(absl::Seconds(1));
  for (int polls = 0; polls < 40; ++polls) {
    QueueStatus s = Status(t[20]);
    if (s.ready_for_entry) break;
    clock_.Advance(s.poll_after);
  }
  EXPECT_TRUE(Status(t[20]).ready_for_entry);
}

// docs/rules.md, "What this guarantees": admissions over an interval T of constant policy stay
// within the grants outstanding at its start plus rate * T + burst + N. Grants made under the
// previous policy and still held when it changed give their tokens back under the new one when
// they lapse, on top of the bucket it starts with: here 4 admissions in 4.8 s at rate 0,
// burst 2, N 0, with 2 grants outstanding at the change. (The tighter rate * (T +
// claim_window) + burst + N needs the policy constant for claim_window before the interval.)
TEST_P(ConformanceTest, AdmissionsCountTheGrantsOutstandingWhenThePolicyChanged) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 10;
  p.burst = 2;
  p.claim_window = absl::Seconds(5);
  SetPolicy("ev", p);
  std::vector<std::string> held = JoinMany("ev", 2);  // granted, never claimed
  clock_.Advance(absl::Milliseconds(200));            // the bucket is full again
  p.admit_rate_per_sec = 0;
  SetPolicy("ev", p);  // constant from here on
  const absl::Time start = clock_.Now();
  const int64_t outstanding = RawStats("ev").granted;
  EXPECT_EQ(outstanding, 2);
  int64_t admitted = 0;
  for (const std::string& t : JoinMany("ev", 2, 10)) admitted += Enter(t).granted;
  clock_.AdvanceTo(t0_ + absl::Seconds(5));  // the two old grants lapse: two tokens back
  for (const std::string& t : JoinMany("ev", 2, 20)) admitted += Enter(t).granted;
  EXPECT_EQ(admitted, 4);
  const double bound = static_cast<double>(outstanding) +
                       p.admit_rate_per_sec * absl::ToDoubleSeconds(clock_.Now() - start) +
                       static_cast<double>(p.burst + p.bypass_top_n);
  EXPECT_LE(static_cast<double>(admitted), bound)
      << admitted << " admissions in " << (clock_.Now() - start) << " of constant policy";
  EXPECT_EQ(RawStats("ev").lapsed_total, 2);
}

// ---------------------------------------------------------------------------------------------
// Readiness is what Enter checks

TEST_P(ConformanceTest, ReadyForEntryEqualsWhetherEnterSucceeds) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = 3;
  p.bypass_top_n = 1;
  p.active_capacity = 4;
  p.wait_tiers = {{3, absl::ZeroDuration()},
                  {6, absl::Seconds(2)},
                  {WaitTier::kUnboundedPosition, absl::Seconds(4)}};
  SetPolicy("ev", p);
  std::vector<std::string> tokens = JoinMany("ev", 10);
  int checked = 0;
  int granted = 0;
  for (int round = 0; round < 24; ++round) {
    if (round % 4 == 1) {
      std::vector<std::string> more = JoinMany("ev", 2, 100 + 2 * round);
      tokens.insert(tokens.end(), more.begin(), more.end());
    }
    if (round == 10 || round == 12) {
      p.paused = !p.paused;
      SetPolicy("ev", p);
    }
    // Free capacity now and then.
    if (round % 3 == 2) {
      for (const std::string& token : tokens) {
        if (Status(token).state == UserState::kActive) {
          Complete(token);
          break;
        }
      }
    }
    // The ready users form a prefix of the line.
    std::vector<QueueStatus> line;
    for (const std::string& token : tokens) {
      QueueStatus s = Status(token);
      if (s.state == UserState::kWaiting) line.push_back(s);
    }
    std::sort(line.begin(), line.end(),
              [](const QueueStatus& a, const QueueStatus& b) { return a.position < b.position; });
    for (size_t i = 0; i < line.size(); ++i) {
      EXPECT_EQ(line[i].position, static_cast<int64_t>(i) + 1);
      if (i > 0 && line[i].ready_for_entry) {
        EXPECT_TRUE(line[i - 1].ready_for_entry);
      }
    }
    // Each user: Status, then Enter at the same instant; they must agree.
    for (const std::string& token : tokens) {
      QueueStatus s = Status(token);
      if (s.state != UserState::kWaiting) continue;
      EnterResult r = Enter(token);
      EXPECT_EQ(r.granted, s.ready_for_entry) << "round " << round << " position " << s.position;
      if (!r.granted) {
        EXPECT_EQ(r.reason, s.blocked_by);
        EXPECT_EQ(r.retry_after, s.retry_after);
      }
      ++checked;
      granted += r.granted ? 1 : 0;
    }
    clock_.Advance(absl::Milliseconds(round % 2 == 0 ? 500 : 1250));
  }
  EXPECT_GT(checked, 100);
  EXPECT_GT(granted, 5);
}

// ---------------------------------------------------------------------------------------------
// Events are independent

TEST_P(ConformanceTest, EventsAreIndependent) {
  Policy a = OpenPolicy();
  a.admit_rate_per_sec = 1;
  a.burst = 1;
  Policy b = OpenPolicy();
  b.paused = true;
  b.paused_reason = "b is paused";
  SetPolicy("ev-a", a);
  SetPolicy("ev-b", b);
  QueueStatus a1 = Join("ev-a", "u1");
  QueueStatus b1 = Join("ev-b", "u1");  // the same user in another event is fine
  QueueStatus a2 = Join("ev-a", "u2");
  EXPECT_EQ(a1.position, 1);
  EXPECT_EQ(b1.position, 1);
  EXPECT_EQ(a2.position, 2);
  EXPECT_EQ(b1.event_id, "ev-b");
  EXPECT_EQ(b1.blocked_by, EntryBlock::kPaused);
  EXPECT_TRUE(a1.ready_for_entry);
  ASSERT_TRUE(Enter(a1.token).granted);
  EXPECT_FALSE(Enter(b1.token).granted);
  EXPECT_EQ(Status(a2.token).blocked_by, EntryBlock::kNotYourTurn);
  EventStats sa = Stats("ev-a");
  EventStats sb = Stats("ev-b");
  EXPECT_EQ(sa.admitted_total, 1);
  EXPECT_EQ(sb.admitted_total, 0);
  EXPECT_EQ(sa.joined_total, 2);
  EXPECT_EQ(sb.joined_total, 1);
  EXPECT_DOUBLE_EQ(sa.bucket_tokens, 0);
  EXPECT_DOUBLE_EQ(sb.bucket_tokens, 1000);
  Leave(b1.token);
  EXPECT_EQ(Status(a1.token).state, UserState::kActive);
  EXPECT_THAT(room_->GetPolicy("ev-b"), IsOkAndHolds(b));
  auto events = room_->Events();
  ASSERT_OK(events);
  EXPECT_THAT(*events, UnorderedElementsAre("ev-a", "ev-b"));
}

INSTANTIATE_TEST_SUITE_P(AllStores, ConformanceTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
