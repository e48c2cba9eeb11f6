// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Conformance of fair openings (docs/rules.md, "Fair openings"): the schedule and its
// pre-queue, the shuffle at the opening, the queueing methods (fifo, random, passthrough,
// reject) and the safety net, one example at a time on a simulated clock, plus statistical
// checks of the shuffle and the draws through a whole store. Runs against every store of
// ScheduleStoreFactories() (store_factory.cc), the one place that says which stores implement
// fair openings: the memory store, and the Redis store on one server and on a cluster.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
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

using ::testing::HasSubstr;

constexpr absl::StatusCode kAlreadyExists = absl::StatusCode::kAlreadyExists;
constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;

constexpr uint64_t kSeed = 20260101;

// The chi-square quantile at p = 0.001 (Wilson-Hilferty; within 1% for df >= 5).
double Chi2Critical(int df) {
  const double k = df;
  return k * std::pow(1 - 2 / (9 * k) + 3.0902 * std::sqrt(2 / (9 * k)), 3);
}

double ChiSquare(const std::vector<int64_t>& counts, double expected) {
  double chi2 = 0;
  for (int64_t c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

class ScheduleTest : public RoomTest {
 protected:
  void SetUp() override {
    room_ = MakeRoom(TestOptions(), kSeed);
    ASSERT_NE(room_, nullptr);
  }

  // A policy that never gets in the way (test_util.h), with a schedule: the pre-queue opens
  // 10 min after t0, the sale at 20 min, and it closes at 60 min.
  Policy Scheduled() const {
    Policy p = OpenPolicy();
    p.prequeue_opens_at = t0_ + absl::Minutes(10);
    p.opens_at = t0_ + absl::Minutes(20);
    p.closes_at = t0_ + absl::Minutes(60);
    p.heartbeat_ttl = absl::Minutes(30);
    return p;
  }

  std::vector<int64_t> Positions(const std::vector<std::string>& tokens) {
    std::vector<int64_t> positions;
    for (const std::string& t : tokens) positions.push_back(Status(t).position);
    return positions;
  }
};

// ---------------------------------------------------------------------------------------------
// The schedule

TEST_P(ScheduleTest, JoinBeforeThePrequeueOpensIsRefusedWithTheTime) {
  SetPolicy("ev", Scheduled());
  auto joined = room_->Join("ev", "u1");
  EXPECT_STATUS_CODE(joined, kFailedPrecondition);
  EXPECT_EQ(joined.status().message(),
            "event 'ev' is not open yet: the pre-queue opens at 2026-01-01T00:10:00Z");
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.refused_total, 1);
  EXPECT_EQ(stats.joined_total, 0);
  EXPECT_EQ(stats.prequeued, 0);
  EXPECT_FALSE(stats.opened);
  clock_.Advance(absl::Minutes(10) - absl::Microseconds(1));
  EXPECT_STATUS_CODE(room_->Join("ev", "u1"), kFailedPrecondition);
  clock_.Advance(absl::Microseconds(1));
  EXPECT_EQ(Join("ev", "u1").state, UserState::kPrequeue);
}

TEST_P(ScheduleTest, PrequeueGivesATokenAndTheOpeningButNoPlace) {
  SetPolicy("ev", Scheduled());
  clock_.Advance(absl::Minutes(12));
  QueueStatus a = Join("ev", "a");
  QueueStatus b = Join("ev", "b");
  EXPECT_EQ(a.state, UserState::kPrequeue);
  EXPECT_EQ(a.status_name(), "prequeue");
  EXPECT_EQ(a.position, 0);
  EXPECT_EQ(a.position_high, 1);
  EXPECT_EQ(b.position_high, 2);
  EXPECT_FALSE(a.ready_for_entry);
  EXPECT_EQ(a.blocked_by, EntryBlock::kNotWaiting);
  EXPECT_EQ(a.retry_after, absl::Minutes(8));
  EXPECT_EQ(a.opens_at, t0_ + absl::Minutes(20));
  EXPECT_GE(a.eta_low, absl::Minutes(8));
  EXPECT_LE(a.eta_low, a.eta_high);
  EXPECT_TRUE(a.reservation_token.empty());
  EXPECT_TRUE(EventIdOfToken(a.token).ok());

  // Heartbeats work as in line, and Enter is a denial, not an error.
  clock_.Advance(absl::Minutes(1));
  QueueStatus again = Status(a.token);
  EXPECT_EQ(again.state, UserState::kPrequeue);
  EXPECT_EQ(again.position_high, 2);
  EXPECT_EQ(again.retry_after, absl::Minutes(7));
  EnterResult entry = Enter(b.token);
  EXPECT_FALSE(entry.granted);
  EXPECT_EQ(entry.reason, EntryBlock::kNotWaiting);
  EXPECT_EQ(entry.retry_after, absl::Minutes(7));
  EXPECT_THAT(entry.message, HasSubstr("not opened yet"));
  EXPECT_STATUS_CODE(room_->Join("ev", "a"), kAlreadyExists);  // one place per user
  EXPECT_STATUS_CODE(room_->Complete(a.token), kFailedPrecondition);

  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.prequeued, 2);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.joined_total, 2);
  EXPECT_EQ(stats.admitted_total, 0);
  EXPECT_FALSE(stats.opened);

  QueueStatus left = room_->Leave(a.token).value();
  EXPECT_EQ(left.state, UserState::kLeft);
  EXPECT_EQ(Status(b.token).position_high, 1);
  EXPECT_EQ(Stats("ev").prequeued, 1);
}

TEST_P(ScheduleTest, AtTheOpeningEveryPrequeuedUserGetsADistinctRandomPlace) {
  SetPolicy("ev", Scheduled());
  clock_.Advance(absl::Minutes(10));
  const std::vector<std::string> tokens = JoinMany("ev", 20);
  clock_.AdvanceTo(t0_ + absl::Minutes(20));
  const std::vector<int64_t> positions = Positions(tokens);
  std::vector<int64_t> sorted = positions;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i + 1);
  // Not the arrival order (with this secret; any fixed secret gives it with p = 1/20!).
  std::vector<int64_t> arrival(20);
  for (int i = 0; i < 20; ++i) arrival[static_cast<size_t>(i)] = i + 1;
  EXPECT_NE(positions, arrival);
  for (const std::string& t : tokens) {
    QueueStatus s = Status(t);
    EXPECT_EQ(s.state, UserState::kWaiting);
    EXPECT_EQ(s.position_high, s.position);
    EXPECT_EQ(s.opens_at, absl::InfiniteFuture());
  }
  // Fixed once drawn: the same on every poll, whatever happens in between.
  for (int round = 0; round < 3; ++round) {
    clock_.Advance(absl::Seconds(1));
    EXPECT_EQ(Positions(tokens), positions);
    EXPECT_OK(room_->SweepAll());
  }
  EventStats stats = Stats("ev");
  EXPECT_TRUE(stats.opened);
  EXPECT_EQ(stats.shuffled_at_opening, 20);
  EXPECT_EQ(stats.prequeued, 0);
  EXPECT_EQ(stats.waiting, 20);
}

TEST_P(ScheduleTest, TheDrawnOrderDependsOnlyOnTheSecret) {
  // Two stores (two processes) with the same secret and the same joins agree; another secret
  // gives another order.
  auto run = [this](uint64_t seed) {
    SimulatedClock clock;
    Options options;
    options.sweep_interval = absl::ZeroDuration();
    auto room = WaitingRoom::Create(GetParam().make_seeded(&clock, seed), options).value();
    Policy p = OpenPolicy();
    p.opens_at = clock.Now() + absl::Minutes(1);
    EXPECT_OK(room->SetPolicy("ev", p));
    std::vector<std::string> tokens;
    for (int i = 0; i < 12; ++i) tokens.push_back(room->Join("ev", User(i)).value().token);
    clock.Advance(absl::Minutes(1));
    std::vector<int64_t> positions;
    for (const std::string& t : tokens) positions.push_back(room->Status(t).value().position);
    return positions;
  };
  EXPECT_EQ(run(kSeed), run(kSeed));
  EXPECT_NE(run(kSeed), run(kSeed + 1));
}

TEST_P(ScheduleTest, LaterArrivalsQueueBehindEveryPrequeuedUserInArrivalOrder) {
  SetPolicy("ev", Scheduled());
  clock_.Advance(absl::Minutes(15));
  const std::vector<std::string> early = JoinMany("ev", 8);
  clock_.Advance(absl::Minutes(5));
  const std::vector<std::string> late = JoinMany("ev", 5, 100);
  for (size_t i = 0; i < late.size(); ++i) {
    EXPECT_EQ(Status(late[i]).position, static_cast<int64_t>(9 + i));
  }
  for (int64_t p : Positions(early)) EXPECT_LE(p, 8);
}

TEST_P(ScheduleTest, GhostsOfThePrequeueGetNoPlace) {
  Policy p = Scheduled();
  p.heartbeat_ttl = absl::Minutes(3);
  SetPolicy("ev", p);
  clock_.Advance(absl::Minutes(10));
  const std::vector<std::string> tokens = JoinMany("ev", 10);
  // Users 0, 3, 6 and 9 stop polling; the others keep their heartbeat.
  for (int minute = 0; minute < 10; ++minute) {
    clock_.Advance(absl::Minutes(1));
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i % 3 != 0) Status(tokens[i]);
    }
  }
  ASSERT_EQ(clock_.Now(), t0_ + absl::Minutes(20));
  std::set<int64_t> places;
  for (size_t i = 0; i < tokens.size(); ++i) {
    QueueStatus s = Status(tokens[i]);
    if (i % 3 == 0) {
      EXPECT_EQ(s.state, UserState::kExpired);
      EXPECT_EQ(s.position, 0);
    } else {
      EXPECT_EQ(s.state, UserState::kWaiting);
      places.insert(s.position);
    }
  }
  EXPECT_EQ(places, (std::set<int64_t>{1, 2, 3, 4, 5, 6}));
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.expired_total, 4);
  EXPECT_EQ(stats.waiting, 6);
}

TEST_P(ScheduleTest, WithoutAPrequeueWindowJoinsWaitForTheOpening) {
  Policy p = OpenPolicy();
  p.prequeue_opens_at = t0_ + absl::Minutes(5);
  p.opens_at = p.prequeue_opens_at;
  SetPolicy("ev", p);
  EXPECT_STATUS_CODE(room_->Join("ev", "u1"), kFailedPrecondition);
  clock_.Advance(absl::Minutes(5));
  QueueStatus s = Join("ev", "u1");
  EXPECT_EQ(s.state, UserState::kWaiting);
  EXPECT_EQ(s.position, 1);
  EXPECT_EQ(Join("ev", "u2").position, 2);
  EXPECT_EQ(Stats("ev").shuffled_at_opening, 0);
}

TEST_P(ScheduleTest, AfterClosingNobodyJoinsButTheLineIsServed) {
  Policy p = Scheduled();
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  SetPolicy("ev", p);
  clock_.AdvanceTo(t0_ + absl::Minutes(59));
  const std::vector<std::string> tokens = JoinMany("ev", 3);
  clock_.Advance(absl::Minutes(1));
  auto refused = room_->Join("ev", "late");
  EXPECT_STATUS_CODE(refused, kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "event 'ev' closed at 2026-01-01T01:00:00Z");
  EXPECT_TRUE(Enter(tokens[0]).granted);
  EXPECT_FALSE(Enter(tokens[1]).granted);  // the bucket still paces
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Enter(tokens[1]).granted);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Enter(tokens[2]).granted);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.refused_total, 1);
  EXPECT_EQ(stats.admitted_total, 3);
}

TEST_P(ScheduleTest, AnEventOpensOnce) {
  SetPolicy("ev", Scheduled());
  clock_.AdvanceTo(t0_ + absl::Minutes(20));
  QueueStatus first = Join("ev", "u1");
  EXPECT_EQ(first.state, UserState::kWaiting);
  // Moving the opening into the future again changes nothing: no second pre-queue.
  Policy later = Scheduled();
  later.prequeue_opens_at = t0_ + absl::Minutes(30);
  later.opens_at = t0_ + absl::Minutes(40);
  SetPolicy("ev", later);
  QueueStatus second = Join("ev", "u2");
  EXPECT_EQ(second.state, UserState::kWaiting);
  EXPECT_EQ(second.position, 2);
  EXPECT_TRUE(Enter(first.token).granted);
}

TEST_P(ScheduleTest, AScheduleCanBeSetOnAnEventNobodyJoinedYet) {
  SetPolicy("ev", OpenPolicy());  // created without a schedule
  SetPolicy("ev", Scheduled());   // ... then given one
  EXPECT_FALSE(Stats("ev").opened);
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(Join("ev", "u1").state, UserState::kPrequeue);
}

TEST_P(ScheduleTest, RemovingTheOpeningTimeOpensAtOnce) {
  SetPolicy("ev", Scheduled());
  clock_.Advance(absl::Minutes(11));
  const std::vector<std::string> tokens = JoinMany("ev", 6);
  Policy now_open = Scheduled();
  now_open.prequeue_opens_at.reset();
  now_open.opens_at.reset();
  SetPolicy("ev", now_open);
  std::vector<int64_t> positions = Positions(tokens);
  std::sort(positions.begin(), positions.end());
  EXPECT_EQ(positions, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Stats("ev").shuffled_at_opening, 6);
  EXPECT_EQ(Join("ev", "u7").position, 7);
}

TEST_P(ScheduleTest, PrequeuedUsersArePresentUntilTheOpening) {
  Policy p = Scheduled();  // pre-queue at 10 min, opening at 20 min, heartbeat 30 min
  SetPolicy("ev", p);
  clock_.Advance(absl::Minutes(12));
  QueueStatus a = Join("ev", "a");
  Ticket r = Raw(a.token);
  EXPECT_EQ(r.state, UserState::kPrequeue);
  EXPECT_EQ(r.present_until, t0_ + absl::Minutes(20));  // clamp(8 min, claim window, TTL)
  EXPECT_EQ(r.ahead_unreached, 0);
  EXPECT_EQ(r.grant_expires_at, absl::InfiniteFuture());
  clock_.AdvanceTo(t0_ + absl::Minutes(20) - absl::Seconds(1));
  EXPECT_EQ(Raw(a.token).present_until, t0_ + absl::Minutes(20) + absl::Seconds(4));
  // Poll advice keeps a pre-queued client present at the opening: half the time left.
  QueueStatus s = Status(a.token);
  EXPECT_LE(s.poll_after, absl::Milliseconds(2500));
  clock_.AdvanceTo(t0_ + absl::Minutes(20));
  EXPECT_TRUE(Status(a.token).ready_for_entry);  // placed at the opening and granted
}

TEST_P(ScheduleTest, NobodyIsAdmittedBeforeTheOpening) {
  Policy p = Scheduled();
  p.safety_net = true;
  p.method = QueueMethod::kPassthrough;
  SetPolicy("ev", p);
  clock_.Advance(absl::Minutes(10));
  QueueStatus s = Join("ev", "u1");  // neither passthrough nor the safety net admit yet
  EXPECT_EQ(s.state, UserState::kPrequeue);
  EXPECT_FALSE(Enter(s.token).granted);
  clock_.AdvanceTo(t0_ + absl::Minutes(20));
  EXPECT_TRUE(Enter(s.token).granted);
}

// The order drawn through a whole store is uniform: the rank of the first and the last of six
// pre-queued users over 1,200 secrets.
TEST_P(ScheduleTest, TheStoresShuffleIsUniform) {
  constexpr int kUsers = 6;
  constexpr int kRuns = 1200;
  std::vector<int64_t> first(kUsers, 0);
  std::vector<int64_t> last(kUsers, 0);
  std::vector<int64_t> table(kUsers * kUsers, 0);
  // One event per run, all in one store: each event has its own secret (SeededEventSecret of
  // the store's seed and the event id), and a store per run would cost a script load each.
  for (int run = 0; run < kRuns; ++run) {
    const std::string event = absl::StrCat("shuffle", run);
    Policy p = OpenPolicy();
    p.opens_at = clock_.Now() + absl::Seconds(10);
    SetPolicy(event, p);
    const std::vector<std::string> tokens = JoinMany(event, kUsers);
    clock_.Advance(absl::Seconds(10));
    const std::vector<int64_t> positions = Positions(tokens);
    ++first[static_cast<size_t>(positions.front() - 1)];
    ++last[static_cast<size_t>(positions.back() - 1)];
    for (int u = 0; u < kUsers; ++u) {
      ++table[static_cast<size_t>(u * kUsers + positions[static_cast<size_t>(u)] - 1)];
    }
  }
  EXPECT_LT(ChiSquare(first, kRuns / kUsers), Chi2Critical(kUsers - 1));
  EXPECT_LT(ChiSquare(last, kRuns / kUsers), Chi2Critical(kUsers - 1));
  EXPECT_LT(ChiSquare(table, kRuns / kUsers), Chi2Critical((kUsers - 1) * (kUsers - 1)));
}

// ---------------------------------------------------------------------------------------------
// The random method

class RandomMethodTest : public ScheduleTest {
 protected:
  // Random draws, a bucket of `burst` that does not refill, no bypass: the front is drawn
  // `burst` unreached users deep (DrawTarget: N + burst + ceil(0 * 90 s)).
  Policy RandomPolicy(int64_t burst) const {
    Policy p = OpenPolicy();
    p.method = QueueMethod::kRandom;
    p.admit_rate_per_sec = 0;
    p.burst = burst;
    return p;
  }
  // Users join while the room is paused (so nobody is drawn yet), then it resumes.
  std::vector<std::string> LineUp(const Policy& policy, int n, const std::string& event = "ev") {
    Policy paused = policy;
    paused.paused = true;
    SetPolicy(event, paused);
    std::vector<std::string> tokens = JoinMany(event, n);
    SetPolicy(event, policy);
    return tokens;
  }
};

TEST_P(RandomMethodTest, DrawsFillTheFrontAndTheRestSeeARange) {
  const Policy p = RandomPolicy(3);
  const std::vector<std::string> tokens = LineUp(p, 10);
  // The first call after the pause drew 3 and granted them (the bucket's 3 tokens).
  EventCounters c = RawStats("ev");
  EXPECT_EQ(c.drawn, 3);
  EXPECT_EQ(c.granted, 3);
  // The next call refills the front to 3 unreached drawn users: 6 drawn, 4 in the pool.
  std::set<int64_t> granted_places;
  std::set<int64_t> waiting_places;
  std::vector<std::string> granted;
  int undrawn = 0;
  for (const std::string& t : tokens) {
    QueueStatus s = Status(t);
    EXPECT_EQ(s.state, UserState::kWaiting);
    if (s.ready_for_entry) {
      EXPECT_EQ(s.position_high, s.position);
      EXPECT_EQ(s.eta, absl::ZeroDuration());
      granted_places.insert(s.position);
      granted.push_back(t);
    } else if (s.position_high == s.position) {
      EXPECT_EQ(s.blocked_by, EntryBlock::kNotYourTurn);
      waiting_places.insert(s.position);
    } else {
      ++undrawn;
      EXPECT_EQ(s.position, 7);
      EXPECT_EQ(s.position_high, 10);
      EXPECT_EQ(s.blocked_by, EntryBlock::kNotYourTurn);
      EXPECT_LE(s.eta_low, s.eta);
      EXPECT_LE(s.eta, s.eta_high);
      EXPECT_EQ(Raw(t).ahead_unreached, 3);  // the unreached drawn users
    }
  }
  EXPECT_EQ(granted_places, (std::set<int64_t>{1, 2, 3}));
  EXPECT_EQ(waiting_places, (std::set<int64_t>{4, 5, 6}));
  EXPECT_EQ(undrawn, 4);
  // Not simply the first three arrivals (with this secret).
  EXPECT_NE(granted, std::vector<std::string>(tokens.begin(), tokens.begin() + 3));
  // Stable across polls; the granted enter; the bucket (rate 0) allows no more grants, and
  // the front stays 3 unreached users deep: no more draws.
  for (const std::string& t : granted) EXPECT_TRUE(Status(t).ready_for_entry);
  for (const std::string& t : granted) EXPECT_TRUE(Enter(t).granted);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.drawn, 3);
  EXPECT_EQ(stats.waiting, 7);
  EXPECT_EQ(stats.admitted_total, 3);
  for (const std::string& t : tokens) {
    QueueStatus s = Status(t);
    if (s.state == UserState::kWaiting && s.position != s.position_high) {
      EXPECT_EQ(s.position, 4);
      EXPECT_EQ(s.position_high, 7);
    }
  }
}

TEST_P(RandomMethodTest, TheBucketPacesTheDraws) {
  Policy p = RandomPolicy(1);
  p.admit_rate_per_sec = 1;
  const std::vector<std::string> tokens = LineUp(p, 5);
  int admitted = 0;
  for (int second = 0; second < 8; ++second) {
    int admitted_now = 0;
    for (const std::string& t : tokens) {
      QueueStatus s = Status(t);
      if (s.ready_for_entry) {
        EXPECT_TRUE(Enter(t).granted);
        ++admitted_now;
      }
    }
    EXPECT_LE(admitted_now, 1) << "second " << second;
    admitted += admitted_now;
    clock_.Advance(absl::Seconds(1));
  }
  EXPECT_EQ(admitted, 5);
  EXPECT_EQ(Stats("ev").admitted_total, 5);
}

TEST_P(RandomMethodTest, OnlyLiveUsersAreDrawn) {
  Policy p = RandomPolicy(1);
  p.heartbeat_ttl = absl::Seconds(10);
  const std::vector<std::string> tokens = LineUp(p, 6);
  // Whoever the first draw picked enters; everyone but u5 and u6 keeps polling.
  std::vector<std::string> live(tokens.begin(), tokens.begin() + 4);
  for (const std::string& t : tokens) {
    if (Status(t).ready_for_entry) {
      EXPECT_TRUE(Enter(t).granted);
    }
  }
  for (int step = 0; step < 3; ++step) {
    clock_.Advance(absl::Seconds(5));
    for (const std::string& t : live) Status(t);
  }
  // u5 and u6 are ghosts now (unless one of them was drawn first); refill the bucket so that
  // draws continue: every later draw picks a live user.
  Policy refill = p;
  refill.admit_rate_per_sec = 1000;
  refill.burst = 10;
  SetPolicy("ev", refill);
  clock_.Advance(absl::Seconds(1));
  for (const std::string& t : live) Status(t);
  for (size_t i = 4; i < tokens.size(); ++i) {
    QueueStatus s = Status(tokens[i]);
    EXPECT_TRUE(s.state == UserState::kExpired || s.state == UserState::kActive) << i;
  }
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.drawn, stats.waiting);  // everyone alive is drawn; no ghost among them
}

// Draws wait until every passed deadline has been applied, so that a ghost the per-call sweep
// has not reached yet is never drawn. (Assumes a per-call sweep budget below 100, as every
// store's default of 64.)
TEST_P(RandomMethodTest, NoDrawWhileGhostsAwaitTheSweep) {
  Policy p = RandomPolicy(5);
  p.heartbeat_ttl = absl::Seconds(10);
  Policy paused = p;
  paused.paused = true;
  SetPolicy("ev", paused);
  JoinMany("ev", 200);
  clock_.Advance(absl::Seconds(5));
  const std::string live = Join("ev", "live").token;
  clock_.Advance(absl::Seconds(5));  // the 200 are ghosts now
  SetPolicy("ev", p);
  QueueStatus s = Status(live);
  EXPECT_FALSE(s.ready_for_entry);
  EXPECT_EQ(s.blocked_by, EntryBlock::kNotYourTurn);
  EXPECT_EQ(Stats("ev").drawn, 0);
  EXPECT_OK(room_->SweepAll());
  s = Status(live);
  EXPECT_TRUE(s.ready_for_entry);
  EXPECT_EQ(s.position, 1);
  EXPECT_EQ(s.position_high, 1);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.drawn, 1);
  EXPECT_EQ(stats.expired_total, 200);
}

TEST_P(RandomMethodTest, EveryDrawIsUniformOverTheUsersStillWaiting) {
  // Four users wait; the first draw picks one of them (and grants it the only token). Then a
  // fifth arrives, and its join draws the second: among the three left and the newcomer
  // alike, 1/4 each.
  constexpr int kRuns = 2000;
  std::vector<int64_t> first(4, 0);
  std::vector<int64_t> second(5, 0);
  for (int run = 0; run < kRuns; ++run) {
    // One event per run in one store, as in TheStoresShuffleIsUniform.
    const std::string event = absl::StrCat("draw", run);
    Policy p = RandomPolicy(1);
    std::vector<std::string> tokens = LineUp(p, 4, event);
    RawStats(event);                                  // the first draw, granted at once
    tokens.push_back(Join(event, "newcomer").token);  // the second draw
    for (size_t i = 0; i < tokens.size(); ++i) {
      QueueStatus s = Status(tokens[i]);
      if (s.ready_for_entry) {
        EXPECT_EQ(s.position, 1);
        ++first[i];
      } else if (s.position == 2 && s.position_high == 2) {
        ++second[i];
      }
    }
  }
  EXPECT_EQ(first[0] + first[1] + first[2] + first[3], kRuns);
  EXPECT_EQ(first.size(), 4u);
  EXPECT_LT(ChiSquare(first, kRuns / 4.0), Chi2Critical(3));
  EXPECT_EQ(second[0] + second[1] + second[2] + second[3] + second[4], kRuns);
  // The newcomer's chance equals each remaining user's: 1/4.
  EXPECT_NEAR(static_cast<double>(second[4]) / kRuns, 0.25, 4 * std::sqrt(0.25 * 0.75 / kRuns));
}

TEST_P(RandomMethodTest, DrawnUsersKeepTheFrontWhenTheMethodChanges) {
  const Policy p = RandomPolicy(2);
  const std::vector<std::string> tokens = LineUp(p, 7);
  // Two drawn and granted, two more drawn ahead of the cursor, three in the pool.
  std::vector<std::string> granted;
  std::vector<std::string> drawn;
  std::vector<std::string> pool;
  for (const std::string& t : tokens) {
    QueueStatus s = Status(t);
    (s.ready_for_entry ? granted : s.position == s.position_high ? drawn : pool).push_back(t);
  }
  ASSERT_EQ(granted.size(), 2u);
  ASSERT_EQ(drawn.size(), 2u);
  Policy fifo = p;
  fifo.method = QueueMethod::kFifo;
  SetPolicy("ev", fifo);
  std::set<int64_t> front;
  for (const std::string& t : granted) {
    QueueStatus s = Status(t);
    EXPECT_TRUE(s.ready_for_entry);  // grants survive the change
    front.insert(s.position);
  }
  EXPECT_EQ(front, (std::set<int64_t>{1, 2}));
  front.clear();
  for (const std::string& t : drawn) front.insert(Status(t).position);
  EXPECT_EQ(front, (std::set<int64_t>{3, 4}));
  for (size_t i = 0; i < pool.size(); ++i) {
    QueueStatus s = Status(pool[i]);
    EXPECT_EQ(s.position, static_cast<int64_t>(5 + i));  // then the pool, in arrival order
    EXPECT_EQ(s.position_high, s.position);
  }
  EXPECT_EQ(Stats("ev").drawn, 4);
}

TEST_P(RandomMethodTest, PrequeueThenRandom) {
  Policy p = RandomPolicy(2);
  p.opens_at = t0_ + absl::Minutes(1);
  SetPolicy("ev", p);
  const std::vector<std::string> tokens = JoinMany("ev", 5);
  EXPECT_EQ(Stats("ev").drawn, 0);
  // Pre-queued users are present until the opening; the clients poll once more just before
  // it (as advised), so that they are present when the grants start.
  clock_.Advance(absl::Minutes(1) - absl::Seconds(1));
  for (const std::string& t : tokens) Status(t);
  clock_.Advance(absl::Seconds(1));
  int ready = 0;
  for (const std::string& t : tokens) ready += Status(t).ready_for_entry;
  EXPECT_EQ(ready, 2);  // the bucket's two tokens
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.shuffled_at_opening, 5);
  EXPECT_EQ(stats.drawn, 4);  // two granted, two more drawn ahead of the cursor
  EXPECT_EQ(RawStats("ev").granted, 2);
}

TEST_P(RandomMethodTest, TheFrontIsDrawnKDrawLeadAheadOfTheCursor) {
  Policy p = RandomPolicy(2);
  p.admit_rate_per_sec = 0.1;
  p.bypass_top_n = 1;
  const std::vector<std::string> tokens = LineUp(p, 30);
  // Target N + burst + ceil(0.1/s * 90 s) = 1 + 2 + 9 = 12 unreached drawn users; then two
  // grants with the tokens (a third, at position 3 > N + floor(0), must wait).
  EventCounters c = RawStats("ev");
  EXPECT_EQ(c.drawn, 12);
  EXPECT_EQ(c.granted, 2);
  // The next call draws two more to keep 12 ahead of the cursor.
  c = RawStats("ev");
  EXPECT_EQ(c.drawn, 14);
  EXPECT_EQ(c.rate.unreached, 28);
  for (const std::string& t : tokens) {
    Ticket r = Raw(t);
    if (r.position == r.position_high || r.position_high == 0) continue;
    // Not drawn yet: places 15..30, the unreached drawn users ahead, present for the time
    // the cursor needs to reach the middle of the range: (12 + 15 / 2) / 0.1/s.
    EXPECT_EQ(r.position, 15);
    EXPECT_EQ(r.position_high, 30);
    EXPECT_EQ(r.ahead_unreached, 12);
    EXPECT_EQ(r.present_until, r.now + absl::Seconds(190));
    break;
  }
  EXPECT_EQ(RawStats("ev").drawn, 14);  // polls draw no more
}

// Grants made in the pool under fifo survive a switch to random: a granted user whom a draw
// moves to the front keeps the grant, and the cursor steps over it without a new one
// (docs/rules.md, Advance step 3). The draws depend on the secret, so several events are
// tried; with kSeed some draw a granted user.
TEST_P(RandomMethodTest, AGrantedUserDrawnIntoTheFrontKeepsTheGrant) {
  int drawn_granted = 0;
  for (int run = 0; run < 12; ++run) {
    const std::string event = absl::StrCat("keep", run);
    Policy p = OpenPolicy();
    p.admit_rate_per_sec = 0;
    p.burst = 2;
    p.claim_window = absl::Minutes(10);
    SetPolicy(event, p);
    const std::vector<std::string> tokens = JoinMany(event, 6);  // fifo: u1 and u2 granted
    p.method = QueueMethod::kRandom;
    SetPolicy(event, p);
    EventCounters c = RawStats(event);  // the draws
    EXPECT_EQ(c.granted, 2) << event;
    EXPECT_EQ(c.passed_total, 0) << event;
    for (int i = 0; i < 2; ++i) {
      Ticket t = Raw(tokens[static_cast<size_t>(i)]);
      EXPECT_TRUE(t.ready_for_entry) << event << " u" << i + 1;
      EXPECT_EQ(t.grant_expires_at, t0_ + absl::Minutes(10)) << event << " u" << i + 1;
      if (t.position == t.position_high && t.position <= c.drawn) ++drawn_granted;
    }
    EXPECT_EQ(RawStats(event).granted, 2) << event;
    EXPECT_TRUE(Enter(tokens[0]).granted) << event;
    EXPECT_TRUE(Enter(tokens[1]).granted) << event;
  }
  EXPECT_GT(drawn_granted, 0) << "no run drew a granted user; try more runs";
}

// ahead_unreached of a drawn user counts the unreached drawn users ahead, position - 1 -
// reached_front (docs/rules.md): users the fifo cursor reached who stay in the pool are behind
// the front and do not count.
TEST_P(RandomMethodTest, AheadUnreachedOfADrawnUserCountsTheFrontOnly) {
  int checked = 0;
  for (int run = 0; run < 12 && checked == 0; ++run) {
    const std::string event = absl::StrCat("ahead", run);
    Policy p = OpenPolicy();
    p.admit_rate_per_sec = 0;
    p.burst = 2;
    p.claim_window = absl::Minutes(10);
    SetPolicy(event, p);
    const std::vector<std::string> tokens = JoinMany(event, 6);  // fifo: u1 and u2 granted
    p.method = QueueMethod::kRandom;
    SetPolicy(event, p);
    const EventCounters c = RawStats(event);  // two draws
    const int64_t reached = c.waiting - c.rate.unreached;
    // Only runs whose two draws picked users the cursor had not reached (u3..u6): u1 and u2
    // (granted, reached) are still in the pool, shown the range of a user not drawn yet.
    if (c.drawn != 2 || reached != 2) continue;
    const Ticket u1 = Raw(tokens[0]);
    const Ticket u2 = Raw(tokens[1]);
    if (u1.position_high == u1.position || u2.position_high == u2.position) continue;
    for (size_t i = 2; i < tokens.size(); ++i) {
      Ticket t = Raw(tokens[i]);
      if (t.position != 2 || t.position_high != 2) continue;  // the second drawn user
      ++checked;
      EXPECT_EQ(t.ahead_unreached, 1) << event << ": the first drawn user ahead is unreached";
      EXPECT_EQ(t.ahead_unreached, t.position - 1 - 0 /* reached_front */) << event;
    }
    // The pool users behind the front: the unreached drawn users, D - reached_front.
    EXPECT_EQ(Raw(tokens[0]).ahead_unreached, 0) << event;  // reached
  }
  EXPECT_GT(checked, 0) << "no run drew two unreached users first; try more runs";
}

TEST_P(RandomMethodTest, NoDrawsWhilePaused) {
  Policy p = RandomPolicy(2);
  p.admit_rate_per_sec = 1;
  p.paused = true;
  SetPolicy("ev", p);
  JoinMany("ev", 5);
  clock_.Advance(absl::Seconds(10));
  EventCounters c = RawStats("ev");
  EXPECT_EQ(c.drawn, 0);
  EXPECT_EQ(c.granted, 0);
}

// ---------------------------------------------------------------------------------------------
// Passthrough and reject

TEST_P(ScheduleTest, PassthroughAdmitsEveryoneAtOnce) {
  Policy p = OpenPolicy();
  p.method = QueueMethod::kPassthrough;
  p.active_capacity = 2;
  p.admit_rate_per_sec = 0;
  p.burst = 1;
  p.wait_tiers = {{WaitTier::kUnboundedPosition, absl::Minutes(1)}};
  SetPolicy("ev", p);
  std::vector<QueueStatus> joined;
  for (int i = 1; i <= 5; ++i) {
    QueueStatus s = Join("ev", User(i));
    EXPECT_EQ(s.state, UserState::kActive) << i;  // beyond the capacity and the bucket
    EXPECT_FALSE(s.reservation_token.empty());
    EXPECT_EQ(s.reservation_expires_at, t0_ + p.reservation_ttl);
    joined.push_back(s);
  }
  EnterResult again = Enter(joined[0].token);
  EXPECT_TRUE(again.granted);
  EXPECT_TRUE(again.repeated);
  EXPECT_EQ(again.reservation_token, joined[0].reservation_token);
  EXPECT_STATUS_CODE(room_->Join("ev", "u1"), kAlreadyExists);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.active, 5);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.joined_total, 5);
  EXPECT_EQ(stats.admitted_total, 5);
  EXPECT_EQ(stats.admitted_by_passthrough, 5);
  EXPECT_EQ(stats.admitted_by_bypass, 0);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, 1);  // the bucket is not touched
  QueueStatus done = room_->Complete(joined[1].token).value();
  EXPECT_EQ(done.state, UserState::kCompleted);
}

TEST_P(ScheduleTest, PassthroughLetsTheWaitingLineIn) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 0;
  p.burst = 1;
  p.active_capacity = 1;
  SetPolicy("ev", p);
  const std::vector<std::string> tokens = JoinMany("ev", 4);
  EXPECT_TRUE(Enter(tokens[0]).granted);
  EXPECT_FALSE(Status(tokens[3]).ready_for_entry);
  p.method = QueueMethod::kPassthrough;
  SetPolicy("ev", p);
  for (size_t i = 1; i < tokens.size(); ++i) {
    QueueStatus s = Status(tokens[i]);
    EXPECT_TRUE(s.ready_for_entry);
    EXPECT_EQ(s.position, 1);  // the line still has an order
    EXPECT_TRUE(Enter(tokens[i]).granted);
  }
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.active, 4);
  EXPECT_EQ(stats.admitted_by_passthrough, 3);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_P(ScheduleTest, APauseStopsPassthroughToo) {
  Policy p = OpenPolicy();
  p.method = QueueMethod::kPassthrough;
  p.paused = true;
  p.paused_reason = "back at noon";
  SetPolicy("ev", p);
  QueueStatus s = Join("ev", "u1");
  EXPECT_EQ(s.state, UserState::kWaiting);
  EXPECT_EQ(s.blocked_by, EntryBlock::kPaused);
  EXPECT_EQ(s.paused_reason, "back at noon");
  p.paused = false;
  SetPolicy("ev", p);
  EXPECT_TRUE(Enter(s.token).granted);
}

TEST_P(ScheduleTest, RejectTurnsNewArrivalsAwayAndServesTheLine) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 0;
  p.burst = 1;
  SetPolicy("ev", p);
  const std::vector<std::string> tokens = JoinMany("ev", 3);
  p.method = QueueMethod::kReject;
  p.reject_message = "Sold out. Thank you for your interest!";
  SetPolicy("ev", p);
  auto refused = room_->Join("ev", "late");
  EXPECT_STATUS_CODE(refused, kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "Sold out. Thank you for your interest!");
  EXPECT_EQ(Status(tokens[1]).position, 2);  // the line keeps its order
  EXPECT_TRUE(Enter(tokens[0]).granted);
  EXPECT_FALSE(Enter(tokens[1]).granted);  // still paced by the bucket
  p.reject_message.clear();
  SetPolicy("ev", p);
  EXPECT_EQ(room_->Join("ev", "late").status().message(),
            "event 'ev' is not accepting new arrivals");
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.refused_total, 2);
  EXPECT_EQ(stats.joined_total, 3);
  p.method = QueueMethod::kFifo;
  SetPolicy("ev", p);
  EXPECT_EQ(Join("ev", "late").position, 3);
}

// ---------------------------------------------------------------------------------------------
// The safety net

TEST_P(ScheduleTest, SafetyNetAdmitsIntoAnEmptyLine) {
  Policy p = OpenPolicy();
  p.safety_net = true;
  p.admit_rate_per_sec = 0;
  p.burst = 2;
  p.active_capacity = 10;
  SetPolicy("ev", p);
  QueueStatus a = Join("ev", "a");
  EXPECT_EQ(a.state, UserState::kActive);
  EXPECT_EQ(a.status_name(), "active");
  EXPECT_FALSE(a.reservation_token.empty());
  EXPECT_EQ(a.position, 0);
  EnterResult entry = Enter(a.token);  // Enter grants as for any admitted user
  EXPECT_TRUE(entry.granted);
  EXPECT_TRUE(entry.repeated);
  EXPECT_EQ(entry.reservation_token, a.reservation_token);
  EXPECT_EQ(Join("ev", "b").state, UserState::kActive);
  // The bucket is empty now: the next arrival queues, and then so does everyone behind.
  QueueStatus c = Join("ev", "c");
  EXPECT_EQ(c.state, UserState::kWaiting);
  EXPECT_EQ(c.position, 1);
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_total, 2);
  EXPECT_EQ(stats.admitted_by_safety_net, 2);
  EXPECT_EQ(stats.joined_total, 3);
  EXPECT_EQ(stats.active, 2);
  EXPECT_DOUBLE_EQ(stats.bucket_tokens, 0);
  EXPECT_STATUS_CODE(room_->Join("ev", "a"), kAlreadyExists);  // admitted users hold a place
  // A line that is not empty keeps new arrivals out of the net even with tokens.
  p.admit_rate_per_sec = 1000;
  SetPolicy("ev", p);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Join("ev", "d").state, UserState::kWaiting);
  EXPECT_TRUE(Enter(c.token).granted);
}

TEST_P(ScheduleTest, SafetyNetRespectsCapacityPauseTiersAndOffByDefault) {
  Policy p = OpenPolicy();
  SetPolicy("ev", p);
  EXPECT_EQ(Join("ev", "off").state, UserState::kWaiting);  // off by default
  Policy q = OpenPolicy();
  q.safety_net = true;
  q.active_capacity = 1;
  SetPolicy("full", q);
  EXPECT_EQ(Join("full", "a").state, UserState::kActive);
  EXPECT_EQ(Join("full", "b").state, UserState::kWaiting);  // at capacity
  q.active_capacity = 10;
  q.paused = true;
  SetPolicy("paused", q);
  EXPECT_EQ(Join("paused", "a").state, UserState::kWaiting);
  q.paused = false;
  q.wait_tiers = {{WaitTier::kUnboundedPosition, absl::Seconds(2)}};
  SetPolicy("tiers", q);
  EXPECT_EQ(Join("tiers", "a").state, UserState::kWaiting);  // position 1 must wait first
}

TEST_P(ScheduleTest, SafetyNetBorrowsLikeTheBypassAndStaysWithinThePace) {
  Policy p = OpenPolicy();
  p.safety_net = true;
  p.admit_rate_per_sec = 1;
  p.burst = 1;
  p.bypass_top_n = 2;
  SetPolicy("ev", p);
  // Arrivals every 100 ms into an empty line, each completing at once. The bucket's token
  // admits the first; the next two borrow (the window N + floor(tokens) shrinks with the
  // debt: 0.1 -> 2, -0.8 -> 1, -1.7 -> 0); the refill brings the window back to 1 at t = 1 s,
  // and that arrival borrows again.
  int admitted = 0;
  for (int i = 0; i < 20; ++i) {
    auto s = room_->Join("ev", User(i));
    ASSERT_OK(s);
    if (s->state == UserState::kActive) {
      ++admitted;
      ASSERT_OK(room_->Complete(s->token));
    } else {
      ASSERT_OK(room_->Leave(s->token));
    }
    clock_.Advance(absl::Milliseconds(100));
  }
  EXPECT_EQ(admitted, 4);
  EXPECT_LE(admitted, 1 * 1.9 + 1 + 2);  // rate * T + burst + N
  EventStats stats = Stats("ev");
  EXPECT_EQ(stats.admitted_by_safety_net, 4);
  EXPECT_EQ(stats.admitted_by_bypass, 3);
}

TEST_P(ScheduleTest, AStoreJoinThatAdmitsNeedsAReservationToken) {
  Policy p = OpenPolicy();
  p.safety_net = true;
  SetPolicy("ev", p);
  const std::string token = NewToken("ev");
  JoinRequest request;
  request.event_id = "ev";
  request.user_id = "u1";
  request.token = token;
  EXPECT_STATUS_CODE(room_->store().Join(request), kInvalidArgument);
  const std::string reservation = NewToken("ev");
  request.reservation_token = reservation;
  auto joined = room_->store().Join(request);
  ASSERT_OK(joined);
  EXPECT_EQ(joined->state, UserState::kActive);
  EXPECT_EQ(joined->reservation_token, reservation);
}

INSTANTIATE_TEST_SUITE_P(ScheduleStores, ScheduleTest,
                         ::testing::ValuesIn(ScheduleStoreFactories()), StoreFactoryName());
INSTANTIATE_TEST_SUITE_P(ScheduleStores, RandomMethodTest,
                         ::testing::ValuesIn(ScheduleStoreFactories()), StoreFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
