// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// No user's keys outlive the user: 100,000 users join one event, a tenth of them leave, a few
// are admitted and complete, the rest become ghosts; once their records are forgotten and swept,
// the key count is exactly what it was and used_memory is back near the start. (Its own binary
// because it is the slowest Redis test: about 200,000 script calls.)
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/redis/room_store.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "gtest/gtest.h"
#include "support/redis/redis_server.h"
#include "support/redis/redis_store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

constexpr int kThreads = 4;
constexpr int kUsers = 100'000;

int64_t ParseInt(const absl::StatusOr<std::string>& text) {
  int64_t n = -1;
  EXPECT_OK(text);
  if (text.ok()) {
    EXPECT_TRUE(absl::SimpleAtoi(*text, &n)) << *text;
  }
  return n;
}

// Runs fn(i) for i in [0, kUsers) on kThreads threads.
void Parallel(const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kUsers; i += kThreads) fn(i);
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(RedisMemoryTest, HundredThousandUsersLeaveNoMemoryBehind) {
  auto server_or = RedisServer::Start();
  ASSERT_OK(server_or);
  RedisServer& server = **server_or;
  SimulatedClock clock;
  RedisTestConfig options = RedisTestOptions(server, &clock);
  options.client.pool_size = kThreads;
  auto store_or = NewRedisTestStore(options);
  ASSERT_OK(store_or);
  Store& store = **store_or;
  Policy p = OpenPolicy();
  p.burst = 1'000'000;  // anybody in line is granted at once, whatever their position
  p.heartbeat_ttl = absl::Minutes(1);
  p.active_ttl = absl::Minutes(1);
  p.ended_ttl = absl::Minutes(2);
  ASSERT_OK(store.SetPolicy("ev", p));
  // used_memory without what depends on the traffic rather than on the data: the connections'
  // buffers (grown by pipelined batches, shrunk by the server's cron once idle) and the slow
  // log (up to 128 commands that took over 10 ms, which a loaded machine produces).
  auto used_memory = [&] {
    EXPECT_OK(server.Command({"SLOWLOG", "RESET"}));
    return ParseInt(server.InfoField("memory", "used_memory")) -
           ParseInt(server.InfoField("memory", "mem_clients_normal"));
  };
  auto db_size = [&] { return ParseInt(server.Command({"DBSIZE"})); };
  const int64_t keys_before = db_size();
  const int64_t memory_before = used_memory();

  absl::Time phase = absl::Now();
  auto lap = [&](const char* what) {
    std::cout << what << ": " << absl::Now() - phase << "\n";
    phase = absl::Now();
  };
  std::vector<std::string> tokens(kUsers);
  std::atomic<int> errors{0};
  Parallel([&](int i) {
    JoinRequest request;
    const std::string user = absl::StrCat("user-", i);
    tokens[i] = NewToken("ev");
    request.event_id = "ev";
    request.user_id = user;
    request.token = tokens[i];
    if (!store.Join(request).ok()) ++errors;
  });
  ASSERT_EQ(errors.load(), 0);
  lap("joins");
  const int64_t memory_full = used_memory();
  std::cout << "Redis memory per waiting user: "
            << static_cast<double>(memory_full - memory_before) / kUsers << " bytes\n";

  // Every 10th user leaves; every 100th (of the others) is admitted, half of those complete;
  // the rest become ghosts (and the admitted who did not complete time out).
  Parallel([&](int i) {
    if (i % 10 == 0) {
      if (!store.Leave("ev", tokens[i]).ok()) ++errors;
    } else if (i % 100 == 1 || i % 100 == 2) {
      if (!store.Enter("ev", tokens[i], NewToken("ev")).ok()) ++errors;
      if (i % 100 == 1 && !store.Complete("ev", tokens[i]).ok()) ++errors;
    }
  });
  ASSERT_EQ(errors.load(), 0);
  lap("leaves, entries, completions");

  clock.Advance(p.heartbeat_ttl + p.ended_ttl);
  int64_t removed = 0;
  for (;;) {
    auto swept = store.Sweep("ev", 25'000);
    ASSERT_OK(swept);
    removed += swept->removed;
    if (swept->done) break;
  }
  lap("sweeps");
  auto stats = store.Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, 0);
  EXPECT_EQ(stats->active, 0);
  EXPECT_EQ(stats->joined_total, kUsers);
  EXPECT_EQ(stats->left_total, kUsers / 10);
  EXPECT_EQ(stats->admitted_total, kUsers / 50);
  EXPECT_EQ(stats->completed_total, kUsers / 100);
  EXPECT_EQ(stats->active_timed_out_total, kUsers / 100);
  EXPECT_EQ(stats->expired_total, kUsers - kUsers / 10 - kUsers / 50);
  // Every record was forgotten, most of them by this sweep (the calls swept a few each).
  EXPECT_GT(removed, kUsers);
  for (int i = 0; i < kUsers; i += 997) {
    EXPECT_STATUS_CODE(store.Status("ev", tokens[i]), absl::StatusCode::kNotFound);
  }

  EXPECT_EQ(db_size(), keys_before);
  const int64_t memory_after = used_memory();
  std::cout << "used_memory (without client buffers): " << memory_before << " before, "
            << memory_full << " full, " << memory_after << " after\n";
  // Near the start: within 320 KiB (allocator slack, the script cache), against tens of MB
  // while the line was full. (Before the grants it measured 255 KiB; with every user granted
  // at once here, the grants' sorted set held all of them at the peak and 4 KiB more slack
  // stays.)
  EXPECT_LT(memory_after - memory_before, 320 * 1024);
  EXPECT_GT(memory_full - memory_before, int64_t{100} * kUsers);
}

}  // namespace
}  // namespace testing
}  // namespace admission
