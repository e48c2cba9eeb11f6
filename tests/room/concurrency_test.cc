// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Concurrency: many threads on one event at once, with the shared SimulatedClock moving and the
// policy changing underneath them, and the background sweeper running. Correctness is checked
// afterwards from invariants (distinct positions, counters that add up, capacity respected,
// every user accounted for). Meant to run under TSan as well (label "concurrency"). Sleeps only
// let threads interleave; no result depends on real time.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "admission/room/waiting_room.h"
#include "gtest/gtest.h"
#include "support/forwarding_store.h"
#include "support/store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 1;  // sanitizers are 5-15x slower
#else
constexpr int kScale = 4;
#endif

// A store that forwards to another and counts what the sweeper did.
class CountingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  absl::StatusOr<SweepOutcome> Sweep(std::string_view e, int64_t max) override {
    auto out = ForwardingStore::Sweep(e, max);
    sweeps_.fetch_add(1);
    if (out.ok()) removed_.fetch_add(out->removed);
    return out;
  }

  int64_t sweeps() const { return sweeps_.load(); }
  int64_t removed() const { return removed_.load(); }

 private:
  std::atomic<int64_t> sweeps_{0};
  std::atomic<int64_t> removed_{0};
};

// Lets `n` threads start at the same moment. The tests use std:: synchronization only, like the
// library: TSan cannot see absl::Mutex/absl::Barrier in Debian's uninstrumented Abseil build.
class StartGate {
 public:
  explicit StartGate(int n) : waiting_(n) {}
  void ArriveAndWait() {
    waiting_.fetch_sub(1);
    while (waiting_.load() > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_;
};

// What one worker saw happen to one of its users.
struct UserLog {
  std::string token;
  bool granted = false;
  bool by_bypass = false;
  std::string reservation;
  bool completed = false;
  bool left_waiting = false;
  bool left_active = false;
};

struct Totals {
  int64_t joined = 0, granted = 0, bypass = 0, completed = 0, left_waiting = 0, left_active = 0;
  void Add(const UserLog& u) {
    ++joined;
    granted += u.granted;
    bypass += u.by_bypass;
    completed += u.completed;
    left_waiting += u.left_waiting;
    left_active += u.left_active;
  }
};

class ConcurrencyTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  std::unique_ptr<WaitingRoom> MakeRoom(Options options, CountingStore** counting = nullptr) {
    std::unique_ptr<Store> inner = GetParam().make(&clock_);
    if (inner == nullptr) {
      ADD_FAILURE() << "the " << GetParam().name << " factory made no store";
      return nullptr;
    }
    auto store = std::make_unique<CountingStore>(std::move(inner));
    if (counting != nullptr) *counting = store.get();
    auto room = WaitingRoom::Create(std::move(store), std::move(options));
    EXPECT_OK(room);
    return room.ok() ? std::move(room).value() : nullptr;
  }

  static Options NoSweeper() {
    Options options;
    options.sweep_interval = absl::ZeroDuration();
    return options;
  }

  // Counters must add up at any quiet moment:
  //   joined   = waiting + admitted + expired + left while waiting
  //   admitted = active + completed + timed out + left while active
  static void ExpectCountersAddUp(const EventStats& s, const Totals& t) {
    EXPECT_EQ(s.joined_total, t.joined);
    EXPECT_EQ(s.admitted_total, t.granted);
    EXPECT_EQ(s.admitted_by_bypass, t.bypass);
    EXPECT_EQ(s.completed_total, t.completed);
    EXPECT_EQ(s.left_total, t.left_waiting + t.left_active);
    EXPECT_EQ(s.joined_total, s.waiting + s.admitted_total + s.expired_total + t.left_waiting);
    EXPECT_EQ(s.admitted_total,
              s.active + s.completed_total + s.active_timed_out_total + t.left_active);
  }

  // Every user's final state agrees with what its worker saw, and the line is 1..k.
  void ExpectEveryUserAccountedFor(WaitingRoom& room, const std::vector<UserLog>& users,
                                   int64_t waiting) {
    std::vector<int64_t> positions;
    for (const UserLog& u : users) {
      auto s = room.Status(u.token);
      ASSERT_OK(s);
      if (u.completed) {
        EXPECT_EQ(s->state, UserState::kCompleted);
      } else if (u.left_waiting || u.left_active) {
        EXPECT_EQ(s->state, UserState::kLeft);
      } else if (u.granted) {
        EXPECT_TRUE(s->state == UserState::kActive || s->state == UserState::kExpired)
            << UserStateName(s->state);
        EXPECT_EQ(s->reservation_token, u.reservation);
      } else {
        EXPECT_TRUE(s->state == UserState::kWaiting || s->state == UserState::kExpired)
            << UserStateName(s->state);
      }
      if (s->state == UserState::kWaiting) positions.push_back(s->position);
    }
    std::sort(positions.begin(), positions.end());
    ASSERT_EQ(static_cast<int64_t>(positions.size()), waiting);
    for (size_t i = 0; i < positions.size(); ++i) {
      EXPECT_EQ(positions[i], static_cast<int64_t>(i) + 1);
    }
  }

  SimulatedClock clock_;
};

TEST_P(ConcurrencyTest, ConcurrentJoinsGetDistinctPositions) {
  constexpr int kThreads = 8;
  const int per_thread = 50 * kScale;
  auto room = MakeRoom(NoSweeper());
  ASSERT_NE(room, nullptr);
  ASSERT_OK(room->SetPolicy("ev", OpenPolicy()));
  std::vector<std::vector<int64_t>> positions(kThreads);
  std::vector<std::vector<std::string>> tokens(kThreads);
  StartGate start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.ArriveAndWait();
      for (int i = 0; i < per_thread; ++i) {
        auto s = room->Join("ev", absl::StrCat("t", t, "-u", i));
        if (!s.ok()) {
          ADD_FAILURE() << s.status();
          continue;
        }
        positions[t].push_back(s->position);
        tokens[t].push_back(s->token);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int64_t> all;
  for (const auto& p : positions) {
    // Within one thread, later joins get later positions (nobody leaves).
    EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
    all.insert(all.end(), p.begin(), p.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * per_thread));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int64_t>(i) + 1);
  // The positions handed out at Join are still the positions now.
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < tokens[t].size(); i += 7) {
      auto s = room->Status(tokens[t][i]);
      ASSERT_OK(s);
      EXPECT_EQ(s->position, positions[t][i]);
    }
  }
  auto stats = room->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, kThreads * per_thread);
  EXPECT_EQ(stats->joined_total, kThreads * per_thread);
  // The same user joining from many threads at once gets exactly one place.
  std::atomic<int> ok{0};
  std::atomic<int> already{0};
  threads.clear();
  StartGate again(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      again.ArriveAndWait();
      auto s = room->Join("ev", "contended");
      if (s.ok()) {
        ok.fetch_add(1);
      } else if (s.status().code() == absl::StatusCode::kAlreadyExists) {
        already.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(already.load(), kThreads - 1);
}

TEST_P(ConcurrencyTest, ConcurrentEntersOfOneUserGrantOnce) {
  constexpr int kThreads = 4;
  const int users = 50 * kScale;
  auto room = MakeRoom(NoSweeper());
  ASSERT_NE(room, nullptr);
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1;
  p.burst = users / 2;  // half get in by token; the rest are refused
  ASSERT_OK(room->SetPolicy("ev", p));
  std::vector<std::string> tokens;
  for (int i = 0; i < users; ++i) {
    auto s = room->Join("ev", absl::StrCat("u", i));
    ASSERT_OK(s);
    tokens.push_back(s->token);
  }
  struct Seen {
    std::atomic<int> first_grants{0};
    std::mutex mu;
    std::vector<std::string> reservations;
  };
  std::vector<Seen> seen(static_cast<size_t>(users));
  StartGate start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.ArriveAndWait();
      for (int k = 0; k < users; ++k) {
        const int i = (t % 2 == 0) ? k : users - 1 - k;  // meet in the middle
        auto r = room->Enter(tokens[i]);
        if (!r.ok()) {
          ADD_FAILURE() << r.status();
          continue;
        }
        if (!r->granted) continue;
        if (!r->repeated) seen[i].first_grants.fetch_add(1);
        std::lock_guard<std::mutex> lock(seen[i].mu);
        seen[i].reservations.push_back(r->reservation_token);
      }
    });
  }
  for (auto& th : threads) th.join();
  int granted_users = 0;
  for (int i = 0; i < users; ++i) {
    EXPECT_LE(seen[i].first_grants.load(), 1) << i;
    std::lock_guard<std::mutex> lock(seen[i].mu);
    if (seen[i].reservations.empty()) continue;
    ++granted_users;
    EXPECT_EQ(seen[i].first_grants.load(), 1) << i;
    for (const std::string& r : seen[i].reservations) EXPECT_EQ(r, seen[i].reservations[0]);
  }
  auto stats = room->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->admitted_total, granted_users);
  EXPECT_EQ(stats->active, granted_users);
  // Strict pacing (no bypass, no refill): exactly the burst got in.
  EXPECT_EQ(granted_users, users / 2);
  EXPECT_DOUBLE_EQ(stats->bucket_tokens, 0);
}

// Workers poll and enter while the clock moves and the operator changes the policy, until the
// simulated clock reaches `end`. A few users are abandoned right after joining: ghosts.
void RunWorker(WaitingRoom* room, Clock* clock, absl::Time end, const std::string& event,
               int worker, int users, std::vector<UserLog>* log, std::atomic<int>* joined) {
  std::mt19937_64 rng(static_cast<uint64_t>(worker) * 7919 + 1);
  auto coin = [&](int per_100k) {
    return std::uniform_int_distribution<int>(0, 99999)(rng) < per_100k;
  };
  std::vector<bool> abandoned;
  for (int i = 0; i < users; ++i) {
    auto s = room->Join(event, absl::StrCat("w", worker, "-u", i));
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return;
    }
    UserLog u;
    u.token = s->token;
    log->push_back(u);
    abandoned.push_back(coin(10000));
  }
  if (joined != nullptr) joined->fetch_add(1);
  while (clock->Now() < end) {
    for (size_t i = 0; i < log->size(); ++i) {
      UserLog& u = (*log)[i];
      if (abandoned[i] || u.completed || u.left_waiting || u.left_active) continue;
      if (u.granted) {
        // Admitted users finish (or walk away) now and then; others time out.
        if (coin(15000)) {
          auto c = room->Complete(u.token);
          if (c.ok() && c->state == UserState::kCompleted) u.completed = true;
        } else if (coin(2000)) {
          auto l = room->Leave(u.token);
          if (l.ok() && l->state == UserState::kLeft) u.left_active = true;
        }
        continue;
      }
      auto s = room->Status(u.token);
      if (!s.ok()) {
        ADD_FAILURE() << s.status();
        continue;
      }
      if (s->state != UserState::kWaiting) continue;  // a ghost (the clock outran us)
      if (coin(5)) {
        auto l = room->Leave(u.token);
        if (l.ok() && l->state == UserState::kLeft) u.left_waiting = true;
        continue;
      }
      if (!s->ready_for_entry && !coin(20000)) continue;  // sometimes try anyway
      auto r = room->Enter(u.token);
      if (!r.ok()) {
        // Only a user who expired in the meantime may be refused outright.
        EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
        continue;
      }
      if (r->granted) {
        EXPECT_FALSE(r->repeated);
        u.granted = true;
        u.by_bypass = r->by_bypass;
        u.reservation = r->reservation_token;
      } else {
        EXPECT_NE(r->reason, EntryBlock::kNone);
      }
    }
  }
  // Latecomers, still in line at the end.
  for (int i = 0; i < 3; ++i) {
    auto s = room->Join(event, absl::StrCat("w", worker, "-late", i));
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return;
    }
    UserLog u;
    u.token = s->token;
    log->push_back(u);
  }
}

TEST_P(ConcurrencyTest, TrafficWithMovingClockAndPolicyChanges) {
  constexpr int kWorkers = 4;
  const int users = 15 * kScale;
  constexpr int64_t kCapacity = 25;
  auto room = MakeRoom(NoSweeper());
  ASSERT_NE(room, nullptr);
  Policy base = OpenPolicy();
  base.admit_rate_per_sec = 50;
  base.burst = 10;
  base.bypass_top_n = 2;
  base.active_capacity = kCapacity;
  base.heartbeat_ttl = absl::Seconds(20);
  base.active_ttl = absl::Seconds(3);
  base.ended_ttl = absl::Hours(24);  // so that every token can still be asked at the end
  base.wait_tiers = {{5, absl::ZeroDuration()},
                     {WaitTier::kUnboundedPosition, absl::Milliseconds(100)}};
  ASSERT_OK(room->SetPolicy("ev", base));

  std::vector<std::vector<UserLog>> logs(kWorkers);
  std::atomic<bool> done{false};
  std::atomic<int> joined{0};
  std::vector<std::thread> threads;
  const absl::Time end = clock_.Now() + absl::Seconds(60);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back(RunWorker, room.get(), &clock_, end, "ev", w, users, &logs[w], &joined);
  }
  // The clock: small steps, so heartbeats keep up, but active TTLs and ghosts run out. It starts
  // once every worker has joined its users: on a remote store the joins take longer than the
  // whole simulated minute would, and everyone would be a ghost before their first poll.
  std::thread clock_thread([&] {
    while (joined.load() < kWorkers && !done.load()) absl::SleepFor(absl::Microseconds(200));
    while (!done.load()) {
      clock_.Advance(absl::Milliseconds(100));
      absl::SleepFor(absl::Microseconds(200));  // let the others interleave
    }
  });
  // The operator: changes pace and pauses now and then, never the capacity.
  std::thread policy_thread([&] {
    std::mt19937_64 rng(99);
    int changes = 0;
    while (!done.load()) {
      Policy p = base;
      p.admit_rate_per_sec = std::vector<double>{1, 5, 50}[rng() % 3];
      p.burst = std::vector<int64_t>{1, 10, 40}[rng() % 3];
      p.bypass_top_n = static_cast<int64_t>(rng() % 3);
      p.paused = rng() % 5 == 0;
      EXPECT_OK(room->SetPolicy("ev", p));
      auto got = room->GetPolicy("ev");
      EXPECT_OK(got);
      ++changes;
      absl::SleepFor(absl::Microseconds(300));
    }
    EXPECT_GT(changes, 0);
  });
  // The timer, by hand.
  std::thread sweep_thread([&] {
    while (!done.load()) {
      EXPECT_OK(room->SweepAll());
      auto stats = room->Stats("ev");
      EXPECT_OK(stats);
      if (stats.ok()) {
        EXPECT_LE(stats->active, kCapacity);
      }
      absl::SleepFor(absl::Microseconds(300));
    }
  });
  for (int w = 0; w < kWorkers; ++w) threads[w].join();
  done.store(true);
  clock_thread.join();
  policy_thread.join();
  sweep_thread.join();

  ASSERT_OK(room->SweepAll());
  auto stats = room->Stats("ev");
  ASSERT_OK(stats);
  Totals totals;
  std::vector<UserLog> all;
  for (const auto& log : logs) {
    for (const UserLog& u : log) {
      totals.Add(u);
      all.push_back(u);
    }
  }
  EXPECT_LE(stats->active, kCapacity);
  EXPECT_GE(stats->active, 0);
  EXPECT_GT(stats->admitted_total, 0);
  ExpectCountersAddUp(*stats, totals);
  ExpectEveryUserAccountedFor(*room, all, stats->waiting);
}

TEST_P(ConcurrencyTest, BackgroundSweeperRacesWithTraffic) {
  constexpr int kWorkers = 4;
  const int users = 10 * kScale;
  Options options;
  options.sweep_interval = absl::Milliseconds(5);  // real time: only when the sweeper ticks
  options.sweep_batch = 8;                         // several Sweep calls per event per tick
  auto room = MakeRoom(options);
  ASSERT_NE(room, nullptr);
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 100;
  p.burst = 5;
  p.bypass_top_n = 1;
  p.active_capacity = 10;
  p.heartbeat_ttl = absl::Seconds(2);
  p.active_ttl = absl::Seconds(1);
  p.ended_ttl = absl::Hours(24);
  ASSERT_OK(room->SetPolicy("ev-a", p));
  ASSERT_OK(room->SetPolicy("ev-b", p));

  std::vector<std::vector<UserLog>> logs(kWorkers);
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  const absl::Time end = clock_.Now() + absl::Seconds(30);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back(RunWorker, room.get(), &clock_, end, w % 2 == 0 ? "ev-a" : "ev-b", w,
                         users, &logs[w], nullptr);
  }
  std::thread clock_thread([&] {
    while (!done.load()) {
      clock_.Advance(absl::Milliseconds(100));
      absl::SleepFor(absl::Microseconds(200));  // let the others interleave
    }
  });
  for (int w = 0; w < kWorkers; ++w) threads[w].join();
  done.store(true);
  clock_thread.join();

  // Quiet now (the sweeper still runs): counters add up per event.
  for (const char* event : {"ev-a", "ev-b"}) {
    auto stats = room->Stats(event);
    ASSERT_OK(stats);
    Totals totals;
    std::vector<UserLog> all;
    for (int w = 0; w < kWorkers; ++w) {
      if ((w % 2 == 0) != (std::string(event) == "ev-a")) continue;
      for (const UserLog& u : logs[w]) {
        totals.Add(u);
        all.push_back(u);
      }
    }
    EXPECT_LE(stats->active, p.active_capacity);
    ExpectCountersAddUp(*stats, totals);
    ExpectEveryUserAccountedFor(*room, all, stats->waiting);
  }
  room.reset();  // stops the sweeper while it may be mid-sweep
}

TEST_P(ConcurrencyTest, SweeperExpiresGhostsOfAQuietRoom) {
  CountingStore* counting = nullptr;
  Options options;
  options.sweep_interval = absl::Milliseconds(5);
  options.sweep_batch = 50;
  auto room = MakeRoom(options, &counting);
  ASSERT_NE(room, nullptr);
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  ASSERT_OK(room->SetPolicy("ev", p));
  const int ghosts = 300;
  for (int i = 0; i < ghosts; ++i) ASSERT_OK(room->Join("ev", absl::StrCat("g", i)));
  const int64_t removed_before = counting->removed();
  EXPECT_EQ(removed_before, 0);
  clock_.Advance(absl::Seconds(10));
  // Nobody calls; only the sweeper can expire them. Wait (bounded) for it to tick.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (counting->removed() < ghosts && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(counting->removed(), ghosts);
  EXPECT_GE(counting->sweeps(), ghosts / options.sweep_batch);
  auto stats = room->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, 0);
  EXPECT_EQ(stats->expired_total, ghosts);
}

TEST_P(ConcurrencyTest, RoomsWithSweeperStartAndStopCleanly) {
  for (int i = 0; i < 20; ++i) {
    Options options;
    options.sweep_interval = absl::Milliseconds(1);
    auto room = MakeRoom(options);
    ASSERT_NE(room, nullptr);
    ASSERT_OK(room->Join("ev", "u"));
    clock_.Advance(absl::Minutes(10));
    if (i % 2 == 0) absl::SleepFor(absl::Milliseconds(2));
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, ConcurrencyTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
