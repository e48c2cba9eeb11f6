// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store as a system: several OS processes serving one line, and a crash of
// redis-server that loses no acknowledged user (AOF with appendfsync always). The memory test
// is in redis_memory_test.cc.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
#include "support/redis/store_compare.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

absl::StatusOr<Ticket> JoinUser(Store& store, std::string_view event, std::string_view user) {
  const std::string token = NewToken(event);
  JoinRequest request;
  request.event_id = event;
  request.user_id = user;
  request.token = token;
  return store.Join(request);
}

// ---------------------------------------------------------------------------------------------
// Child processes. A child runs `work` and sends back the text it returns through a pipe; it
// never touches gtest (its failures would stay in the child), it reports "ERR ..." lines.

struct Child {
  pid_t pid = -1;
  int fd = -1;
};

Child Spawn(const std::function<std::string()>& work) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string out = work();
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(2);
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(0);  // no atexit handlers: they belong to the parent (e.g. the shared server)
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

// Everything the child wrote; "" plus a test failure if it did not exit cleanly.
std::string Collect(const Child& child) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(child.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(child.fd);
  int status = 0;
  waitpid(child.pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exited with " << status;
  return out;
}

// Runs `per_thread(thread_index)` on `threads` threads, all released at `start`, and joins the
// lines they return.
std::string RunThreads(int threads, absl::Time start,
                       const std::function<std::string(int)>& per_thread) {
  std::vector<std::string> outputs(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      absl::SleepFor(start - absl::Now());
      outputs[static_cast<size_t>(t)] = per_thread(t);
    });
  }
  for (std::thread& t : pool) t.join();
  std::string all;
  for (const std::string& o : outputs) all += o;
  return all;
}

std::vector<std::vector<absl::string_view>> Lines(const std::string& text) {
  std::vector<std::vector<absl::string_view>> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(absl::StrSplit(line, ' '));
  }
  return lines;
}

class RedisSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start(ServerOptions());
    ASSERT_OK(server);
    server_ = std::move(server).value();
  }
  virtual RedisServerOptions ServerOptions() const { return {}; }

  std::unique_ptr<RedisServer> server_;
};

constexpr int kProcesses = 3;
constexpr int kThreads = 4;

// ---------------------------------------------------------------------------------------------
// Many processes, one line

TEST_F(RedisSystemTest, ConcurrentJoinsFromSeveralProcessesGetPositionsOneToN) {
  // The server's clock, as real gateways would use.
  const RedisTestConfig options = RedisTestOptions(*server_, nullptr);
  {
    auto store = NewRedisTestStore(options);
    ASSERT_OK(store);
    ASSERT_OK((*store)->SetPolicy("ev", OpenPolicy()));
  }
  constexpr int kJoinsPerThread = 80;
  const absl::Time start = absl::Now() + absl::Milliseconds(300);
  std::vector<Child> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(Spawn([&, p]() -> std::string {
      RedisTestConfig o = options;
      o.client.pool_size = kThreads;
      auto store = NewRedisTestStore(o);
      if (!store.ok()) return absl::StrCat("ERR ", store.status().ToString(), "\n");
      return RunThreads(kThreads, start, [&](int t) {
        std::string out;
        for (int i = 0; i < kJoinsPerThread; ++i) {
          auto ticket = JoinUser(**store, "ev", absl::StrCat("p", p, "t", t, "u", i));
          if (!ticket.ok()) {
            absl::StrAppend(&out, "ERR ", ticket.status().ToString(), "\n");
            continue;
          }
          absl::StrAppend(&out, "J ", ticket->position, " ", ticket->token, "\n");
        }
        return out;
      });
    }));
    ASSERT_GT(children.back().pid, 0);
  }
  std::vector<int64_t> positions;
  std::set<std::string> tokens;
  for (const Child& child : children) {
    const std::string out = Collect(child);
    for (const auto& f : Lines(out)) {
      ASSERT_EQ(f[0], "J") << absl::StrJoin(f, " ");
      ASSERT_EQ(f.size(), 3u);
      int64_t position = 0;
      ASSERT_TRUE(absl::SimpleAtoi(f[1], &position));
      positions.push_back(position);
      tokens.insert(std::string(f[2]));
    }
  }
  constexpr int kTotal = kProcesses * kThreads * kJoinsPerThread;
  ASSERT_EQ(positions.size(), size_t{kTotal});
  EXPECT_EQ(tokens.size(), size_t{kTotal});
  std::sort(positions.begin(), positions.end());
  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(positions[i], i + 1) << "duplicate or gap";
  auto store = NewRedisTestStore(options);
  ASSERT_OK(store);
  auto stats = (*store)->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, kTotal);
  EXPECT_EQ(stats->joined_total, kTotal);
}

// Every process admits from one bucket and one capacity: `policy` applied to `users` waiting
// users, then all processes' threads poll Enter for their share of them for `run_for`.
struct AdmissionRun {
  int64_t grants = 0;
  int64_t bypass_grants = 0;
  int64_t first_grant_us = std::numeric_limits<int64_t>::max();
  int64_t last_grant_us = 0;
  int64_t errors = 0;
};

AdmissionRun RunAdmissions(const RedisTestConfig& options, std::string_view event,
                           const std::vector<std::string>& tokens, absl::Duration run_for) {
  const absl::Time start = absl::Now() + absl::Milliseconds(300);
  std::vector<Child> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(Spawn([&, p]() -> std::string {
      RedisTestConfig o = options;
      o.client.pool_size = kThreads;
      auto store = NewRedisTestStore(o);
      if (!store.ok()) return absl::StrCat("ERR ", store.status().ToString(), "\n");
      return RunThreads(kThreads, start, [&](int t) {
        // This thread's users: every (kProcesses * kThreads)-th token.
        std::vector<std::string> mine;
        for (size_t i = static_cast<size_t>(p * kThreads + t); i < tokens.size();
             i += kProcesses * kThreads) {
          mine.push_back(tokens[i]);
        }
        std::string out;
        const absl::Time end = start + run_for;
        while (absl::Now() < end && !mine.empty()) {
          for (size_t i = 0; i < mine.size();) {
            auto r = (*store)->Enter(event, mine[i], NewToken(event));
            if (!r.ok()) {
              absl::StrAppend(&out, "ERR ", r.status().ToString(), "\n");
              ++i;
              continue;
            }
            if (r->granted && !r->repeated) {
              absl::StrAppend(&out, "G ", absl::ToUnixMicros(r->ticket.now), " ",
                              r->by_bypass ? 1 : 0, "\n");
              mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(i));
              continue;
            }
            ++i;
          }
        }
        return out;
      });
    }));
  }
  AdmissionRun run;
  for (const Child& child : children) {
    const std::string out = Collect(child);
    for (const auto& f : Lines(out)) {
      if (f[0] != "G") {
        ++run.errors;
        ADD_FAILURE() << absl::StrJoin(f, " ");
        continue;
      }
      int64_t at = 0;
      EXPECT_TRUE(absl::SimpleAtoi(f[1], &at));
      ++run.grants;
      run.bypass_grants += f[2] == "1" ? 1 : 0;
      run.first_grant_us = std::min(run.first_grant_us, at);
      run.last_grant_us = std::max(run.last_grant_us, at);
    }
  }
  return run;
}

// Fair openings (issue 7): the order the opening's shuffle and the random method's draws give
// is fixed once drawn, and the same from every process. Each process makes its own store
// (with a secret of its own: only the one stored with the event counts) and polls everyone.
TEST_F(RedisSystemTest, TheDrawnOrderIsTheSameFromEveryProcess) {
  SimulatedClock clock;  // forked children read copies of it, all at the same instant
  RedisTestConfig options = RedisTestOptions(*server_, &clock);
  auto store = NewRedisTestStore(options);
  ASSERT_OK(store);
  Policy p = OpenPolicy();
  p.opens_at = clock.Now() + absl::Minutes(1);
  p.method = QueueMethod::kRandom;
  p.admit_rate_per_sec = 0;
  p.burst = 5;  // five draws at the opening, then the bucket is empty
  p.bypass_top_n = 0;
  ASSERT_OK((*store)->SetPolicy("ev", p));
  constexpr int kUsers = 30;
  std::vector<std::string> tokens;
  for (int i = 0; i < kUsers; ++i) {
    auto t = JoinUser(**store, "ev", absl::StrCat("u", i));
    ASSERT_OK(t);
    EXPECT_EQ(t->state, UserState::kPrequeue);
    tokens.push_back(t->token);
  }
  clock.Advance(absl::Minutes(1));
  // Under the schedule's policy this call opens the event, draws five users (DrawTarget at rate
  // 0: burst + bypass) and grants them; then the pause stops further draws, so every process
  // sees the same line from here on.
  Policy paused = p;
  paused.paused = true;
  ASSERT_OK((*store)->SetPolicy("ev", paused));
  auto stats = (*store)->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_TRUE(stats->opened);
  EXPECT_EQ(stats->shuffled_at_opening, kUsers);
  EXPECT_EQ(stats->drawn, 5);

  // "position position_high" per token, in token order.
  auto poll = [&](Store& s) {
    std::string out;
    for (const std::string& token : tokens) {
      auto t = s.Status("ev", token);
      if (!t.ok()) return absl::StrCat("ERR ", t.status().ToString(), "\n");
      absl::StrAppend(&out, t->position, " ", t->position_high, "\n");
    }
    return out;
  };
  const std::string here = poll(**store);
  std::vector<Child> children;
  for (int c = 0; c < 2; ++c) {
    children.push_back(Spawn([&]() -> std::string {
      RedisTestConfig mine = options;
      mine.client.pool_size = 1;
      auto own = NewRedisTestStore(mine);
      if (!own.ok()) return absl::StrCat("ERR ", own.status().ToString(), "\n");
      return poll(**own);
    }));
    ASSERT_GE(children.back().pid, 0);
  }
  for (const Child& child : children) EXPECT_EQ(Collect(child), here);
  EXPECT_EQ(poll(**store), here);  // and again: fixed once drawn

  // The drawn users hold places 1..5, once each; everybody else sees the range 6..30.
  std::multiset<int64_t> drawn;
  int undrawn = 0;
  for (const auto& line : Lines(here)) {
    ASSERT_EQ(line.size(), 2u) << absl::StrJoin(line, " ");
    int64_t position = 0;
    int64_t high = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line[0], &position) && absl::SimpleAtoi(line[1], &high));
    if (position == high) {
      drawn.insert(position);
    } else {
      EXPECT_EQ(position, 6);
      EXPECT_EQ(high, kUsers);
      ++undrawn;
    }
  }
  EXPECT_EQ(drawn, (std::multiset<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(undrawn, kUsers - 5);
}

TEST_F(RedisSystemTest, SeveralProcessesShareOneBucket) {
  const RedisTestConfig options = RedisTestOptions(*server_, nullptr);
  auto store = NewRedisTestStore(options);
  ASSERT_OK(store);
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 40;
  p.burst = 10;
  p.bypass_top_n = 0;
  ASSERT_OK((*store)->SetPolicy("ev", p));
  // Joins would take grants; paused, the line fills and the bucket stays full.
  Policy paused = p;
  paused.paused = true;
  ASSERT_OK((*store)->SetPolicy("ev", paused));
  std::vector<std::string> tokens;
  for (int i = 0; i < 300; ++i) {
    auto t = JoinUser(**store, "ev", absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
  }
  ASSERT_OK((*store)->SetPolicy("ev", p));
  // The bucket is full: this call grants its burst, which the run's first admissions claim.
  auto before = (*store)->Stats("ev");
  ASSERT_OK(before);
  ASSERT_EQ(before->granted, p.burst);

  const AdmissionRun run = RunAdmissions(options, "ev", tokens, absl::Milliseconds(1500));
  EXPECT_EQ(run.errors, 0);
  EXPECT_EQ(run.bypass_grants, 0);
  auto after = (*store)->Stats("ev");
  ASSERT_OK(after);
  EXPECT_EQ(after->admitted_total, run.grants);  // every grant was reported exactly once
  EXPECT_EQ(after->active, run.grants);
  // One bucket for everybody: full when `before` granted its burst, and from then on it gains
  // `rate` per second, so the grants, and the admissions that claim them, are bounded from that
  // instant (the store's clock, as the admissions' times) to the last admission.
  const double elapsed =
      static_cast<double>(run.last_grant_us - absl::ToUnixMicros(before->now)) / 1e6;
  const double allowed = static_cast<double>(p.burst) + p.admit_rate_per_sec * elapsed;
  EXPECT_LE(static_cast<double>(run.grants), allowed + 1e-9)
      << run.grants << " grants in " << elapsed << " s";
  // And the line moved (how far depends on how busy the machine is: only the burst is sure).
  EXPECT_GE(run.grants, p.burst);
  std::cout << run.grants << " admissions in " << elapsed << " s (bucket allowed " << allowed
            << ")\n";
}

TEST_F(RedisSystemTest, SeveralProcessesShareOneCapacity) {
  const RedisTestConfig options = RedisTestOptions(*server_, nullptr);
  auto store = NewRedisTestStore(options);
  ASSERT_OK(store);
  Policy p = OpenPolicy();  // a deep, fast bucket: only the capacity limits
  p.active_capacity = 25;
  ASSERT_OK((*store)->SetPolicy("ev", p));
  std::vector<std::string> tokens;
  for (int i = 0; i < 120; ++i) {
    auto t = JoinUser(**store, "ev", absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
  }
  const AdmissionRun run = RunAdmissions(options, "ev", tokens, absl::Milliseconds(700));
  EXPECT_EQ(run.errors, 0);
  EXPECT_EQ(run.grants, 25);
  auto stats = (*store)->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->active, 25);
  EXPECT_EQ(stats->admitted_total, 25);
  EXPECT_EQ(stats->waiting, 120 - 25);
}

// ---------------------------------------------------------------------------------------------
// Durability

class RedisDurabilityTest : public RedisSystemTest {
 protected:
  RedisServerOptions ServerOptions() const override {
    RedisServerOptions o;
    o.appendonly = true;  // appendfsync always
    return o;
  }
};

TEST_F(RedisDurabilityTest, CrashLosesNoAcknowledgedUser) {
  SimulatedClock clock;
  const RedisTestConfig options = RedisTestOptions(*server_, &clock);
  auto store = NewRedisTestStore(options);
  ASSERT_OK(store);
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Minutes(30);
  ASSERT_OK((*store)->SetPolicy("ev", p));
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) {
    auto t = JoinUser(**store, "ev", absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
    clock.Advance(absl::Milliseconds(7));
  }
  for (int i = 0; i < 200; i += 10) ASSERT_OK((*store)->Enter("ev", tokens[i], NewToken("ev")));
  for (int i = 5; i < 200; i += 10) ASSERT_OK((*store)->Leave("ev", tokens[i]));
  std::vector<Ticket> before;
  for (const std::string& token : tokens) {
    auto t = (*store)->Status("ev", token);
    ASSERT_OK(t);
    before.push_back(*t);
  }
  auto stats_before = (*store)->Stats("ev");
  ASSERT_OK(stats_before);

  ASSERT_OK(server_->Kill());  // SIGKILL: only what reached the AOF survives
  ASSERT_OK(server_->Restart());

  for (size_t i = 0; i < tokens.size(); ++i) {
    auto t = (*store)->Status("ev", tokens[i]);
    ASSERT_OK(t);
    EXPECT_EQ(DiffTicket(before[i], *t), "") << "user " << i;
  }
  EXPECT_EQ(DiffResult(stats_before, (*store)->Stats("ev"), DiffCounters), "");
  auto late = JoinUser(**store, "ev", "late");
  ASSERT_OK(late);
  EXPECT_EQ(late->position, stats_before->waiting + 1);
  auto events = (*store)->ListEvents();
  ASSERT_OK(events);
  EXPECT_EQ(*events, std::vector<std::string>{"ev"});
}

}  // namespace
}  // namespace testing
}  // namespace admission
