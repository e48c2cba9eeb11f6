// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store against a real redis-server: the same answers as the memory store, the key
// layout, memory that follows the live line, and everything about connections (script cache
// loss, restarts, a server that is down or hangs, many threads on few connections).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/redis/client.h"
#include "admission/redis/open.h"
#include "admission/redis/room_store.h"
#include "admission/room/memory_store.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "admission/ticketing/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis/room/functions.h"
#include "support/redis/redis_server.h"
#include "support/redis/redis_store_factory.h"
#include "support/redis/store_compare.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::StatusCode kAlreadyExists = absl::StatusCode::kAlreadyExists;
constexpr absl::StatusCode kDeadlineExceeded = absl::StatusCode::kDeadlineExceeded;
constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
constexpr absl::StatusCode kUnavailable = absl::StatusCode::kUnavailable;

// Each test gets its own redis-server, because several of them stop, restart, pause or flush
// it.
class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_OK(server);
    server_ = std::move(server).value();
    store_ = NewStore(&clock_);
    ASSERT_NE(store_, nullptr);
  }

  RedisTestConfig Options(Clock* clock) const { return RedisTestOptions(*server_, clock); }

  std::unique_ptr<Store> NewStore(Clock* clock, RedisTestConfig* custom = nullptr) {
    auto store = NewRedisTestStore(custom != nullptr ? *custom : Options(clock));
    EXPECT_OK(store);
    return store.ok() ? std::move(store).value() : nullptr;
  }

  absl::StatusOr<Ticket> Join(Store& store, std::string_view event, std::string_view user,
                              const Policy* create_with = nullptr) {
    const std::string token = NewToken(event);
    JoinRequest request;
    request.event_id = event;
    request.user_id = user;
    request.token = token;
    request.create_with = create_with;
    return store.Join(request);
  }

  int64_t DbSize() const {
    auto size = server_->Command({"DBSIZE"});
    EXPECT_OK(size);
    int64_t n = -1;
    if (size.ok()) {
      EXPECT_TRUE(absl::SimpleAtoi(*size, &n)) << *size;
    }
    return n;
  }

  std::vector<std::string> Keys() const {
    auto keys = server_->Command({"KEYS", "*"});
    EXPECT_OK(keys);
    if (!keys.ok() || keys->empty()) return {};
    return absl::StrSplit(*keys, '\n');
  }

  SimulatedClock clock_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------------
// The same answers as the memory store

TEST_F(RedisStoreTest, ScriptedScenarioMatchesTheMemoryStoreFieldByField) {
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock_, 64, nullptr});
  Store* stores[] = {memory.get(), store_.get()};
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 0.5;
  p.burst = 2;
  p.bypass_top_n = 1;
  p.active_capacity = 3;
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_ttl = absl::Seconds(30);
  p.ended_ttl = absl::Seconds(20);
  p.wait_tiers = {{2, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Seconds(3)}};
  for (Store* s : stores) ASSERT_OK(s->SetPolicy("ev", p));

  std::vector<std::string> tokens;
  for (int i = 0; i < 6; ++i) tokens.push_back(NewToken("ev"));
  auto join = [&](int i) {
    JoinRequest r;
    r.event_id = "ev";
    const std::string user = absl::StrCat("u", i);
    r.user_id = user;
    r.token = tokens[i];
    EXPECT_EQ(DiffResult(memory->Join(r), store_->Join(r),
                         [](const Ticket& a, const Ticket& b) { return DiffTicket(a, b); }),
              "")
        << "join " << i;
  };
  auto status = [&](int i) {
    auto e = memory->Status("ev", tokens[i]);
    auto a = store_->Status("ev", tokens[i]);
    EXPECT_EQ(DiffResult(e, a, [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); }),
              "")
        << "status " << i;
    return e;
  };
  auto enter = [&](int i) {
    const std::string reservation = NewToken("ev");
    auto e = memory->Enter("ev", tokens[i], reservation);
    auto a = store_->Enter("ev", tokens[i], reservation);
    EXPECT_EQ(DiffResult(e, a, DiffEnter), "") << "enter " << i;
    return e;
  };
  auto stats = [&]() {
    auto e = memory->Stats("ev");
    EXPECT_EQ(DiffResult(e, store_->Stats("ev"), DiffCounters), "");
    return e;
  };

  for (int i = 0; i < 5; ++i) join(i);
  EXPECT_EQ(status(4)->blocked_by, EntryBlock::kNotYourTurn);
  ASSERT_TRUE(enter(0)->granted);  // a whole token
  ASSERT_TRUE(enter(1)->granted);  // the last whole token
  auto bypass = enter(2);          // position 1, no token: borrows
  ASSERT_TRUE(bypass->granted);
  EXPECT_TRUE(bypass->by_bypass);
  EXPECT_EQ(enter(3)->ticket.blocked_by, EntryBlock::kCapacityFull);
  EXPECT_EQ(stats()->bucket_tokens, -1);
  EXPECT_TRUE(enter(0)->repeated);
  auto done = store_->Complete("ev", tokens[0]);
  ASSERT_OK(memory->Complete("ev", tokens[0]));
  ASSERT_OK(done);
  EXPECT_EQ(done->state, UserState::kCompleted);
  clock_.Advance(absl::Milliseconds(2500));
  EXPECT_EQ(status(3)->position, 1);  // renews 3's heartbeat
  auto behind = enter(4);             // position 2: active + granted are at the capacity
  EXPECT_FALSE(behind->granted);
  EXPECT_EQ(behind->ticket.blocked_by, EntryBlock::kCapacityFull);
  join(5);
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(status(3)->state, UserState::kWaiting);
  clock_.Advance(absl::Seconds(2));  // 4 and 5 are ghosts now; 3 renewed its heartbeat
  EXPECT_EQ(status(4)->state, UserState::kExpired);
  EXPECT_EQ(stats()->expired_total, 2);
  clock_.Advance(absl::Seconds(40));  // active users time out, ended records are forgotten
  EXPECT_EQ(DiffResult(memory->Sweep("ev", 100), store_->Sweep("ev", 100), DiffSweep), "");
  EXPECT_STATUS_CODE(store_->Status("ev", tokens[4]), kNotFound);
  EXPECT_EQ(stats()->waiting, 0);
  EXPECT_EQ(DiffResult(memory->GetPolicy("ev"), store_->GetPolicy("ev"), DiffPolicy), "");
}

TEST_F(RedisStoreTest, GetPolicyReturnsExactlyThePolicySet) {
  Policy p;
  p.admit_rate_per_sec = 0.1 + 0.2;  // not a short decimal
  p.heartbeat_ttl = absl::Seconds(61) + absl::Nanoseconds(1) / 4;
  p.active_ttl = absl::Hours(24 * 30);
  p.reservation_ttl = absl::Milliseconds(1500);
  p.ended_ttl = absl::Seconds(1);
  p.wait_tiers = {{7, absl::Nanoseconds(3)}, {WaitTier::kUnboundedPosition, absl::Hours(24)}};
  p.rate_windows = {absl::Seconds(1), absl::Milliseconds(1001), absl::Hours(1)};
  p.paused = true;
  p.paused_reason = "a | b ; c : d @ e, f {g}";
  p.prequeue_opens_at = absl::FromUnixSeconds(1'900'000'000) + absl::Nanoseconds(1) / 4;
  p.opens_at = *p.prequeue_opens_at + absl::Minutes(10);
  p.closes_at = *p.opens_at + absl::Hours(2) + absl::Nanoseconds(999);
  p.method = QueueMethod::kReject;
  p.reject_message = "sold | out";
  p.safety_net = true;
  ASSERT_OK(store_->SetPolicy("ev", p));
  auto got = store_->GetPolicy("ev");
  ASSERT_OK(got);
  EXPECT_TRUE(*got == p);
  EXPECT_EQ(got->admit_rate_per_sec, 0.1 + 0.2);
  EXPECT_EQ(got->heartbeat_ttl, p.heartbeat_ttl);
  EXPECT_EQ(got->paused_reason, p.paused_reason);
  EXPECT_EQ(got->reject_message, p.reject_message);
  EXPECT_EQ(got->closes_at, p.closes_at);
}

TEST_F(RedisStoreTest, ErrorsCarryTheMemoryStoresCodes) {
  EXPECT_STATUS_CODE(Join(*store_, "nope", "u1"), kNotFound);
  EXPECT_STATUS_CODE(store_->Status("nope", NewToken("nope")), kNotFound);
  EXPECT_STATUS_CODE(store_->Stats("nope"), kNotFound);
  EXPECT_STATUS_CODE(store_->GetPolicy("nope"), kNotFound);
  EXPECT_STATUS_CODE(store_->Sweep("nope", 10), kNotFound);

  Policy invalid = OpenPolicy();
  invalid.burst = -1;
  EXPECT_STATUS_CODE(store_->SetPolicy("ev", invalid), kInvalidArgument);
  EXPECT_STATUS_CODE(store_->GetPolicy("ev"), kNotFound);  // nothing was created

  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));
  auto u1 = Join(*store_, "ev", "u1");
  ASSERT_OK(u1);
  auto again = Join(*store_, "ev", "u1");
  EXPECT_STATUS_CODE(again, kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("already waiting in event 'ev'"));
  EXPECT_STATUS_CODE(store_->Status("ev", "ev.not-a-token"), kInvalidArgument);
  EXPECT_STATUS_CODE(store_->Status("ev", NewToken("ev")), kNotFound);
  EXPECT_STATUS_CODE(store_->Complete("ev", u1->token), kFailedPrecondition);
  ASSERT_OK(store_->Leave("ev", u1->token));
  EXPECT_STATUS_CODE(store_->Enter("ev", u1->token, NewToken("ev")), kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// Keys and memory

TEST_F(RedisStoreTest, EveryKeyOfAnEventSharesItsHashTag) {
  Policy p = OpenPolicy();
  ASSERT_OK(store_->SetPolicy("ev-1", p));
  ASSERT_OK(store_->SetPolicy("ev_2", p));
  for (const char* event : {"ev-1", "ev_2"}) {
    for (int i = 0; i < 5; ++i) {
      auto t = Join(*store_, event, absl::StrCat("u", i));
      ASSERT_OK(t);
      if (i < 2) {
        ASSERT_OK(store_->Enter(event, t->token, NewToken(event)));
      }
    }
  }
  std::vector<std::string> keys = Keys();
  int registry = 0;
  std::set<std::string> tags;
  std::map<std::string, int> kinds;  // "m", "l", "d", "l:", "r:", "u:" -> keys
  for (const std::string& key : keys) {
    if (absl::EndsWith(key, ":events")) {
      ++registry;
      continue;
    }
    const size_t open = key.find('{');
    const size_t close = key.find('}');
    ASSERT_NE(open, std::string::npos) << key;
    ASSERT_NE(close, std::string::npos) << key;
    tags.insert(key.substr(open + 1, close - open - 1));
    std::string kind = key.substr(close + 2);
    if (const size_t colon = kind.find(':'); colon != std::string::npos) {
      kind = kind.substr(0, colon + 1);
    }
    ++kinds[kind];
    if (kind == "r:" || kind == "u:" || kind == "d:") {  // small: the compact encoding
      EXPECT_EQ(*server_->Command({"OBJECT", "ENCODING", key}), "listpack") << key;
    }
  }
  EXPECT_EQ(registry, 1);
  EXPECT_EQ(tags, (std::set<std::string>{"ev-1", "ev_2"}));
  // Per event: meta, the line's counts, its one block and the block's token keys, the
  // deadlines' index and its one chunk, and one record bucket and one user bucket per user
  // (five users each; two buckets may coincide), and the grants of the three who joined, were
  // granted and did not enter.
  EXPECT_EQ(kinds["m"], 2);
  EXPECT_EQ(kinds["l"], 2);
  EXPECT_EQ(kinds["l:"], 4);
  EXPECT_EQ(kinds["d"], 2);
  EXPECT_EQ(kinds["d:"], 2);
  EXPECT_GE(kinds["r:"], 8);
  EXPECT_LE(kinds["r:"], 10);
  EXPECT_GE(kinds["u:"], 8);
  EXPECT_LE(kinds["u:"], 10);
  EXPECT_EQ(kinds["g"], 2);
  EXPECT_EQ(kinds.size(), 8u);  // nothing else (the declared "migrating" key never exists)
}

TEST_F(RedisStoreTest, ForgottenUsersLeaveNothingBehind) {
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Seconds(10);
  p.active_ttl = absl::Seconds(20);
  p.ended_ttl = absl::Seconds(30);
  ASSERT_OK(store_->SetPolicy("ev", p));
  const int64_t baseline = DbSize();  // the event's meta and the registry
  std::vector<std::string> tokens;
  for (int i = 0; i < 60; ++i) {
    auto t = Join(*store_, "ev", absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
  }
  for (int i = 0; i < 20; ++i) ASSERT_OK(store_->Leave("ev", tokens[i]));
  for (int i = 20; i < 40; ++i) ASSERT_OK(store_->Enter("ev", tokens[i], NewToken("ev")));
  for (int i = 20; i < 30; ++i) ASSERT_OK(store_->Complete("ev", tokens[i]));
  EXPECT_GT(DbSize(), baseline);
  // 40..59 become ghosts, 30..39 time out, and then every ended record is forgotten.
  clock_.Advance(absl::Seconds(20) + absl::Seconds(30));
  auto swept = store_->Sweep("ev", 1000);
  ASSERT_OK(swept);
  EXPECT_TRUE(swept->done);
  EXPECT_EQ(swept->removed, 60 + 30);  // 30 ghosts/timeouts applied, then 60 records forgotten
  EXPECT_EQ(DbSize(), baseline);
  for (const std::string& token : tokens) {
    EXPECT_STATUS_CODE(store_->Status("ev", token), kNotFound);
  }
  auto stats = store_->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, 0);
  EXPECT_EQ(stats->active, 0);
  EXPECT_EQ(stats->expired_total, 20);
  EXPECT_EQ(stats->active_timed_out_total, 10);
}

// Records longer than a listpack value (64 bytes) are cut into pieces: they come back whole,
// their bucket stays compact, and every piece goes when the record is forgotten.
TEST_F(RedisStoreTest, LongRecordsComeBackWholeAndLeaveNothingBehind) {
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock_, 64, nullptr});
  Store* stores[] = {memory.get(), store_.get()};
  Policy p = OpenPolicy();
  p.ended_ttl = absl::Seconds(1);
  for (Store* s : stores) ASSERT_OK(s->SetPolicy("ev", p));
  const int64_t baseline = DbSize();
  // The longest user id the facade accepts; then lengths only the Store interface passes on.
  const std::vector<std::pair<std::string, std::string>> users = {
      {std::string(kMaxUserIdLength, 'u'), NewToken("ev")},
      {std::string(64, 'x'), std::string(64, 'y')},
      {std::string(1000, 'v'), std::string(3000, 'r')},
      {"short", std::string(200, 's')},
      {std::string(300, 'w'), ""}};
  std::vector<std::string> tokens;
  for (const auto& [user, reservation] : users) {
    JoinRequest r;
    r.event_id = "ev";
    r.user_id = user;
    tokens.push_back(NewToken("ev"));
    r.token = tokens.back();
    EXPECT_EQ(DiffResult(memory->Join(r), store_->Join(r),
                         [](const Ticket& a, const Ticket& b) { return DiffTicket(a, b); }),
              "");
  }
  for (size_t i = 0; i < users.size(); ++i) {
    const std::string& reservation = users[i].second;
    EXPECT_EQ(DiffResult(memory->Enter("ev", tokens[i], reservation),
                         store_->Enter("ev", tokens[i], reservation), DiffEnter),
              "")
        << i;
    clock_.Advance(absl::Milliseconds(1));
    EXPECT_EQ(DiffResult(memory->Status("ev", tokens[i]), store_->Status("ev", tokens[i]),
                         [](const Ticket& a, const Ticket& b) { return DiffTicket(a, b); }),
              "")
        << i;
  }
  // Record buckets stay compact whatever the lengths. A user id is a field of its own and is
  // not cut: one over 64 bytes turns its user bucket into a hash table (only bigger).
  int hash_tables = 0;
  for (const std::string& key : Keys()) {
    const std::string encoding = *server_->Command({"OBJECT", "ENCODING", key});
    if (absl::StrContains(key, "}:r:")) {
      EXPECT_EQ(encoding, "listpack") << key;
    }
    if (absl::StrContains(key, "}:u:") && encoding != "listpack") ++hash_tables;
  }
  EXPECT_LE(hash_tables, 3);
  for (size_t i = 0; i < users.size(); ++i) {
    EXPECT_EQ(DiffResult(memory->Complete("ev", tokens[i]), store_->Complete("ev", tokens[i]),
                         [](const Ticket& a, const Ticket& b) { return DiffTicket(a, b); }),
              "")
        << i;
  }
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(DiffResult(memory->Sweep("ev", 100), store_->Sweep("ev", 100), DiffSweep), "");
  EXPECT_EQ(DbSize(), baseline);
}

// The line is a bitmap in blocks of 4095 sequence numbers under a Fenwick tree of the blocks'
// counts (lua/room/line.lua, LINE_BLOCK). Positions across several blocks, with holes anywhere, a
// block emptied and dropped, and the whole line emptied and started again, are those of a plain
// model: one plus the number of users still waiting who joined earlier. (Joins and leaves go
// through several threads, so that twenty thousand of them take a second or two; a user's position
// when it joined, with nobody gone yet, tells the order Redis saw.)
TEST_F(RedisStoreTest, LineSpanningManyBlocksCountsEveryPosition) {
  RedisTestConfig options = Options(&clock_);
  options.client.pool_size = 4;
  auto store_or = NewRedisTestStore(options);
  ASSERT_OK(store_or);
  Store& store = **store_or;
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 1e6;
  p.burst = 1'000'000'000;
  ASSERT_OK(store.SetPolicy("ev", p));
  constexpr int kBlock = 4095;
  constexpr int kThreads = 8;
  auto parallel = [](int from, int to, const std::function<void(int)>& fn) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = from + t; i < to; i += kThreads) fn(i);
      });
    }
    for (std::thread& t : threads) t.join();
  };
  // order[k] = the user who joined k-th (0-based); waiting[k] = whether it still waits.
  std::vector<std::string> tokens;
  std::vector<int> order;
  std::vector<bool> waiting;
  auto join_all = [&](int from, int to) {
    tokens.resize(to);
    order.resize(to);
    waiting.resize(to, true);
    const int64_t before = std::count(waiting.begin(), waiting.begin() + from, true);
    ASSERT_EQ(before, 0) << "joins are checked on an empty line only";
    parallel(from, to, [&](int i) {
      JoinRequest r;
      r.event_id = "ev";
      const std::string user = absl::StrCat("u", i);
      r.user_id = user;
      tokens[i] = NewToken("ev");
      r.token = tokens[i];
      auto t = store.Join(r);
      ASSERT_OK(t);
      ASSERT_GE(t->position, 1);
      ASSERT_LE(t->position, to - from);
      order[from + t->position - 1] = i;
    });
  };
  // The model's position of the k-th to join (waiting), or 0.
  auto expected_positions = [&](int to) {
    std::vector<int64_t> position(to, 0);
    int64_t ahead = 0;
    for (int k = 0; k < to; ++k) {
      if (waiting[k]) position[order[k]] = ++ahead;
    }
    return position;
  };
  auto check = [&](int to, int stride) {
    const std::vector<int64_t> position = expected_positions(to);
    std::vector<int> sample;
    for (int k = 0; k < to; ++k) {
      const int in_block = k % kBlock;
      if (k % stride == 0 || in_block <= 1 || in_block >= kBlock - 2) sample.push_back(order[k]);
    }
    parallel(0, static_cast<int>(sample.size()), [&](int j) {
      const int i = sample[j];
      auto t = store.Status("ev", tokens[i]);
      ASSERT_OK(t);
      EXPECT_EQ(t->position, position[i]) << "user " << i;
      EXPECT_EQ(t->state == UserState::kWaiting, position[i] > 0) << "user " << i;
    });
    auto stats = store.Stats("ev");
    ASSERT_OK(stats);
    EXPECT_EQ(stats->waiting, std::count(waiting.begin(), waiting.end(), true));
  };
  auto leave = [&](const std::vector<int>& ks) {
    parallel(0, static_cast<int>(ks.size()),
             [&](int j) { EXPECT_OK(store.Leave("ev", tokens[order[ks[j]]])); });
    for (int k : ks) waiting[k] = false;
  };

  constexpr int kUsers = 5 * kBlock + 100;  // six blocks, the last one partly used
  join_all(0, kUsers);
  check(kUsers, 97);
  // Holes: a pseudo-random third leaves, and all of block 2 (which is then dropped).
  std::vector<int> gone;
  uint64_t x = 12345;
  for (int k = 0; k < kUsers; ++k) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    if ((k >= 2 * kBlock && k < 3 * kBlock) || (x >> 33) % 3 == 0) gone.push_back(k);
  }
  leave(gone);
  check(kUsers, 7);
  int blocks = 0;
  int block_keys = 0;  // each block's token keys, for the random method's draws
  for (const std::string& key : Keys()) {
    if (!absl::StrContains(key, "}:l:")) continue;
    ++(absl::EndsWith(key, ":k") ? block_keys : blocks);
  }
  EXPECT_EQ(blocks, 5);
  EXPECT_EQ(block_keys, 5);
  // The front of the line enters.
  for (int k = 0, entered = 0; k < kUsers && entered < 50; ++k) {
    if (!waiting[k]) continue;
    auto e = store.Enter("ev", tokens[order[k]], NewToken("ev"));
    ASSERT_OK(e);
    EXPECT_TRUE(e->granted);
    waiting[k] = false;
    ++entered;
  }
  check(kUsers, 7);

  // Everybody still waiting leaves: the line's keys go, and the next joins start a new line.
  std::vector<int> rest;
  for (int k = 0; k < kUsers; ++k) {
    if (waiting[k]) rest.push_back(k);
  }
  leave(rest);
  for (const std::string& key : Keys()) {
    EXPECT_FALSE(absl::EndsWith(key, "}:l") || absl::StrContains(key, "}:l:")) << key;
  }
  join_all(kUsers, kUsers + kBlock + 10);  // the rest of a block, a new one, and beyond
  check(kUsers + kBlock + 10, 13);
}

// Random draws pick the k-th user of the pool: of the pre-queue's sorted set, or of the bitmap
// through the Fenwick descent and a scan of one block. Over a line of several blocks with holes
// (and a whole block gone), the drawn users and every position equal the memory store's.
// The deadlines live in chunks of at most 128 entries (lua/room/deadlines.lua). Thousands of
// records whose deadlines land everywhere (at the end after a heartbeat, below every chunk
// after a leave, since retention is shorter than the heartbeat TTL, many on one instant),
// with sweeps of small budgets, must pass in exactly the memory store's order.
// An event whose keys were written by scripts of another data layout (lua/room/state.lua, LAYOUT)
// is refused by every call that would read them, and left as it was, rather than misread.
TEST_F(RedisStoreTest, EventsOfAnotherDataLayoutAreRefused) {
  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));
  auto joined = Join(*store_, "ev", "u1");
  ASSERT_OK(joined);
  std::string meta;
  for (const std::string& key : Keys()) {
    if (absl::EndsWith(key, ":{ev}:m")) meta = key;
  }
  ASSERT_FALSE(meta.empty());
  for (const char* layout : {"", "2", "4", "5"}) {
    SCOPED_TRACE(layout);
    if (*layout == '\0') {
      ASSERT_OK(server_->Command({"HDEL", meta, "v"}));  // as the scripts before layouts wrote it
    } else {
      ASSERT_OK(server_->Command({"HSET", meta, "v", layout}));
    }
    // Field -> value (the meta hash may be a hash table: HGETALL's order can change).
    auto fields = [&] {
      std::map<std::string, std::string> out;
      auto all = server_->Command({"HGETALL", meta});
      EXPECT_OK(all);
      if (!all.ok()) return out;
      std::vector<std::string> items = absl::StrSplit(*all, '\n');
      for (size_t i = 0; i + 1 < items.size(); i += 2) out[items[i]] = items[i + 1];
      return out;
    };
    const std::map<std::string, std::string> before = fields();
    const int64_t keys = DbSize();
    auto expect_refused = [](const absl::Status& s) {
      EXPECT_EQ(s.code(), kFailedPrecondition) << s;
      EXPECT_THAT(s.message(), HasSubstr("another version of the store"));
      EXPECT_TRUE(absl::EndsWith(s.message(), "must run the same version")) << s;
    };
    expect_refused(store_->Status("ev", joined->token).status());
    expect_refused(Join(*store_, "ev", "u2").status());
    expect_refused(store_->Leave("ev", joined->token).status());
    expect_refused(store_->Stats("ev").status());
    expect_refused(store_->Sweep("ev", 10).status());
    expect_refused(store_->SetPolicy("ev", OpenPolicy()));
    EXPECT_OK(store_->GetPolicy("ev"));  // the policy blob is the same in every layout
    EXPECT_EQ(fields(), before);
    EXPECT_EQ(DbSize(), keys);
  }
}

TEST_F(RedisStoreTest, DeadlineChunksKeepTheMemoryStoresOrder) {
  constexpr int64_t kSweepPerCall = 3;
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock_, kSweepPerCall, nullptr});
  RedisTestConfig options = Options(&clock_);
  options.store.sweep_per_call = kSweepPerCall;
  std::unique_ptr<Store> redis = NewStore(&clock_, &options);
  ASSERT_NE(redis, nullptr);
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 5;
  p.burst = 20;
  p.heartbeat_ttl = absl::Seconds(60);
  p.active_ttl = absl::Seconds(30);
  p.ended_ttl = absl::Seconds(10);
  Store* stores[] = {memory.get(), redis.get()};
  for (Store* s : stores) ASSERT_OK(s->SetPolicy("ev", p));
  const int64_t keys_before = DbSize();

  std::mt19937_64 rng(7);
  auto below = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
  std::vector<std::string> tokens;
  auto same_ticket = [](const absl::StatusOr<Ticket>& e, const absl::StatusOr<Ticket>& a) {
    return DiffResult(e, a, [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); });
  };
  int64_t most_chunks = 0;
  for (int step = 0; step < 6000; ++step) {
    const int64_t what = below(100);
    if (what < 35 || tokens.empty()) {
      JoinRequest request;
      const std::string token = NewToken("ev");
      const std::string user = absl::StrCat("u", tokens.size());
      request.event_id = "ev";
      request.user_id = user;
      request.token = token;
      ASSERT_EQ(same_ticket(memory->Join(request), redis->Join(request)), "") << step;
      tokens.push_back(token);
    } else if (what < 75) {  // a heartbeat, mostly of the newer half
      const int64_t n = static_cast<int64_t>(tokens.size());
      const int64_t i = below(4) == 0 ? below(n) : n / 2 + below(n - n / 2);
      ASSERT_EQ(same_ticket(memory->Status("ev", tokens[i]), redis->Status("ev", tokens[i])), "")
          << step;
    } else if (what < 85) {
      const std::string& token = tokens[below(tokens.size())];
      ASSERT_EQ(same_ticket(memory->Leave("ev", token), redis->Leave("ev", token)), "") << step;
    } else if (what < 90) {
      const std::string& token = tokens[below(tokens.size())];
      const std::string reservation = NewToken("ev");
      ASSERT_EQ(DiffResult(memory->Enter("ev", token, reservation),
                           redis->Enter("ev", token, reservation), DiffEnter),
                "")
          << step;
    } else if (what < 95) {
      const int64_t budget = below(20);
      ASSERT_EQ(DiffResult(memory->Sweep("ev", budget), redis->Sweep("ev", budget), DiffSweep), "")
          << step;
    } else {
      const int64_t ms = below(3) == 0 ? 0 : below(4000);  // often many on one instant
      clock_.Advance(absl::Milliseconds(ms));
    }
    if (step % 500 == 0) {
      ASSERT_EQ(DiffResult(memory->Stats("ev"), redis->Stats("ev"), DiffCounters), "") << step;
      int64_t chunks = 0;
      for (const std::string& key : Keys()) chunks += absl::StrContains(key, "}:d:") ? 1 : 0;
      most_chunks = std::max(most_chunks, chunks);
    }
  }
  EXPECT_GE(most_chunks, 8);  // the chunks were split (and emptied) many times over
  for (const std::string& token : tokens) {
    ASSERT_EQ(same_ticket(memory->Status("ev", token), redis->Status("ev", token)), "");
  }
  // Everybody's deadlines pass: the sweeps drain both stores in the same order, and no chunk is
  // left behind.
  clock_.Advance(p.heartbeat_ttl + p.active_ttl + p.ended_ttl);
  for (int call = 0;; ++call) {
    auto e = memory->Sweep("ev", 97);
    ASSERT_EQ(DiffResult(e, redis->Sweep("ev", 97), DiffSweep), "") << call;
    ASSERT_OK(e);
    if (e->done) break;
    ASSERT_EQ(DiffResult(memory->Stats("ev"), redis->Stats("ev"), DiffCounters), "") << call;
  }
  EXPECT_EQ(DbSize(), keys_before);
}

TEST_F(RedisStoreTest, RandomDrawsAcrossManyBlocksMatchTheMemoryStore) {
  constexpr int kBlock = 4095;
  constexpr uint64_t kSecret = 0x0123456789abcdefull;
  auto secret = [](std::string_view) { return kSecret; };
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock_, 64, secret});
  RedisTestConfig options = Options(&clock_);
  options.store.event_secret = secret;
  std::unique_ptr<Store> redis = NewStore(&clock_, &options);
  ASSERT_NE(redis, nullptr);
  Policy p = OpenPolicy();
  p.opens_at = clock_.Now() + absl::Seconds(10);
  p.method = QueueMethod::kRandom;
  p.admit_rate_per_sec = 0;
  p.burst = 0;  // nobody drawn until the end
  p.bypass_top_n = 0;
  p.heartbeat_ttl = absl::Hours(1);
  Store* stores[] = {memory.get(), redis.get()};
  for (Store* s : stores) ASSERT_OK(s->SetPolicy("ev", p));
  std::vector<std::string> tokens;
  auto join = [&](int i) {
    const std::string token = NewToken("ev");
    JoinRequest request;
    request.event_id = "ev";
    request.token = token;
    const std::string user = absl::StrCat("u", i);
    request.user_id = user;
    for (Store* s : stores) ASSERT_OK(s->Join(request));
    tokens.push_back(token);
  };
  for (int i = 0; i < 300; ++i) join(i);  // the pre-queue
  clock_.Advance(absl::Seconds(10));
  for (int i = 300; i < 300 + 3 * kBlock + 50; ++i) join(i);  // the bitmap: four blocks
  // Holes: every third user, and all of the second block.
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool second_block = i >= 300 + kBlock && i < 300 + 2 * kBlock;
    if (i % 3 == 0 || second_block) {
      for (Store* s : stores) ASSERT_OK(s->Leave("ev", tokens[i]));
    }
  }
  // 300 draws, 64 per call: DrawTarget is bypass_top_n + burst + ceil(rate * 90 s), and at rate
  // 0 the bucket stays empty, so nobody is granted and the places stay put.
  p.burst = 300;
  for (Store* s : stores) ASSERT_OK(s->SetPolicy("ev", p));
  clock_.Advance(absl::Seconds(1));
  for (int call = 0; call < 6; ++call) {
    EXPECT_EQ(DiffResult(memory->Stats("ev"), redis->Stats("ev"), DiffCounters), "");
  }
  auto stats = redis->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->drawn, 300);
  int drawn_from_bitmap = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto e = memory->Status("ev", tokens[i]);
    ASSERT_EQ(DiffResult(e, redis->Status("ev", tokens[i]),
                         [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); }),
              "")
        << "user " << i;
    if (i >= 300 && e.ok() && e->state == UserState::kWaiting && e->position == e->position_high) {
      ++drawn_from_bitmap;
    }
  }
  EXPECT_GT(drawn_from_bitmap, 200);  // most of the pool is the bitmap
}

// Redis memory per pre-queued user against per waiting user (fifo) of the same number, joined
// into two events from empty (figures for docs/design.md; only loosely bounded here: the hash
// tables' doublings make them step with the count).
TEST_F(RedisStoreTest, MemoryPerPrequeuedUser) {
  constexpr int kUsers = 30000;
  constexpr int kThreads = 8;
  RedisTestConfig options = Options(&clock_);
  options.client.pool_size = kThreads;
  std::unique_ptr<Store> store = NewStore(&clock_, &options);
  ASSERT_NE(store, nullptr);
  auto used_memory = [&] {
    EXPECT_OK(server_->Command({"SLOWLOG", "RESET"}));
    int64_t n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(*server_->InfoField("memory", "used_memory"), &n));
    int64_t clients = 0;
    EXPECT_TRUE(absl::SimpleAtoi(*server_->InfoField("memory", "mem_clients_normal"), &clients));
    return n - clients;
  };
  auto per_user = [&](std::string_view event, const Policy& p) {
    EXPECT_OK(store->SetPolicy(event, p));
    const int64_t before = used_memory();
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kUsers; i += kThreads) {
          if (!Join(*store, event, absl::StrCat("user-", i)).ok()) ++errors;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    return static_cast<double>(used_memory() - before) / kUsers;
  };
  Policy p = OpenPolicy();
  p.heartbeat_ttl = absl::Hours(1);
  const double fifo = per_user("fifo", p);
  p.opens_at = clock_.Now() + absl::Hours(1);
  const double prequeued = per_user("pre", p);
  std::cout << "Redis memory per user, " << kUsers << " users: waiting (fifo) " << fifo
            << " bytes, pre-queued " << prequeued << " bytes\n";
  auto stats = store->Stats("pre");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->prequeued, kUsers);
  EXPECT_LT(prequeued, fifo + 250);  // a sorted-set entry instead of a bit
}

TEST_F(RedisStoreTest, ListEventsListsEventsThatExist) {
  ASSERT_OK(store_->SetPolicy("a", OpenPolicy()));
  Policy p = OpenPolicy();
  ASSERT_OK(Join(*store_, "b", "u1", &p));  // created by the join
  EXPECT_STATUS_CODE(Join(*store_, "c", "u1"), kNotFound);
  // A registry entry whose creating script never ran (connection lost in between).
  ASSERT_OK(server_->Command({"SADD", Options(&clock_).client.key_prefix + ":events", "ghost"}));
  auto events = store_->ListEvents();
  ASSERT_OK(events);
  std::sort(events->begin(), events->end());
  EXPECT_EQ(*events, (std::vector<std::string>{"a", "b"}));
}

TEST_F(RedisStoreTest, CorruptDataIsAnInternalErrorNotACrash) {
  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));
  auto t = Join(*store_, "ev", "u1");
  ASSERT_OK(t);
  // The store's prefix is not known here, so find the keys by their suffix (one user: one
  // record bucket).
  std::string records, meta;
  for (const std::string& key : Keys()) {
    if (absl::StrContains(key, "}:r:")) records = key;
    if (absl::EndsWith(key, "}:m")) meta = key;
  }
  ASSERT_FALSE(records.empty());
  // The record's field: the token's 128 bits, raw.
  std::string key;
  for (size_t i = t->token.size() - kTokenRandomHexDigits; i < t->token.size(); i += 2) {
    int byte = 0;
    ASSERT_TRUE(absl::SimpleHexAtoi(t->token.substr(i, 2), &byte));
    key.push_back(static_cast<char>(byte));
  }
  ASSERT_OK(server_->Command({"HEXISTS", records, key}));
  EXPECT_EQ(*server_->Command({"HEXISTS", records, key}), "1");
  ASSERT_OK(server_->Command({"HSET", records, key, "garbage"}));
  auto status = store_->Status("ev", t->token);
  EXPECT_STATUS_CODE(status, kInternal);
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("corrupt record"));

  ASSERT_OK(server_->Command({"HSET", meta, "pol", "not a policy"}));
  EXPECT_STATUS_CODE(store_->GetPolicy("ev"), kInternal);
  ASSERT_OK(server_->Command({"HSET", meta, "s", "x|y"}));
  EXPECT_STATUS_CODE(store_->Stats("ev"), kInternal);
  ASSERT_OK(server_->Command({"DEL", meta}));
  ASSERT_OK(server_->Command({"SET", meta, "wrong type"}));
  EXPECT_STATUS_CODE(store_->Stats("ev"), kInternal);
}

// ---------------------------------------------------------------------------------------------
// Connections

TEST_F(RedisStoreTest, SurvivesFunctionFlush) {
  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));
  auto t = Join(*store_, "ev", "u1");
  ASSERT_OK(t);
  // Every function must come back by itself (Function not found -> FUNCTION LOAD, then the
  // call again).
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Status("ev", t->token));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Enter("ev", t->token, NewToken("ev")));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Complete("ev", t->token));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Leave("ev", t->token));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Sweep("ev", 10));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->GetPolicy("ev"));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->Stats("ev"));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(Join(*store_, "ev", "u2"));
  ASSERT_OK(server_->Command({"FUNCTION", "FLUSH"}));
  EXPECT_OK(store_->SetPolicy("ev", OpenPolicy()));
  // The library is loaded again, so the next call finds it.
  auto listed = server_->Command({"FUNCTION", "LIST", "LIBRARYNAME", "admission_room"});
  ASSERT_OK(listed);
  EXPECT_NE(
      listed->find(std::string(
          redis_internal::GetRoomFunction(redis_internal::RoomFunction::kSetPolicy).function)),
      std::string::npos)
      << *listed;
}

// A server holding another version's library (an older deployment, say) gets ours in its
// place, atomically: at start-up, and again whenever a call misses one of our functions.
TEST_F(RedisStoreTest, ReplacesALibraryOfAnotherVersion) {
  const std::string other =
      "#!lua name=admission_room\n"
      "redis.register_function('admission_room_join_000000000000', function() return 1 end)";
  ASSERT_OK(server_->Command({"FUNCTION", "LOAD", "REPLACE", other}));
  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));  // finds the other version, loads ours
  auto t = Join(*store_, "ev", "u1");
  ASSERT_OK(t);
  EXPECT_EQ(t->position, 1);
  auto listed = server_->Command({"FUNCTION", "LIST", "LIBRARYNAME", "admission_room"});
  ASSERT_OK(listed);
  EXPECT_EQ(listed->find("admission_room_join_000000000000"), std::string::npos) << *listed;

  // A store opened while the other version is loaded replaces it at once.
  ASSERT_OK(server_->Command({"FUNCTION", "LOAD", "REPLACE", other}));
  auto store = NewStore(&clock_);
  ASSERT_NE(store, nullptr);
  listed = server_->Command({"FUNCTION", "LIST", "LIBRARYNAME", "admission_room"});
  ASSERT_OK(listed);
  EXPECT_EQ(listed->find("admission_room_join_000000000000"), std::string::npos) << *listed;
  EXPECT_OK(store_->Status("ev", t->token));
  // The sale's library is another library and is left alone by the room's.
  EXPECT_EQ(listed->find("admission_sale"), std::string::npos) << *listed;
}

// A server without Redis functions (before 7.0; here FUNCTION is renamed away, which answers
// the same "unknown command") is refused at start-up with an error that says why.
TEST(RedisStoreStartTest, RefusesAServerWithoutFunctions) {
  RedisServerOptions server_options;
  server_options.extra_args = {"--rename-command", "FUNCTION", ""};
  auto server = RedisServer::Start(server_options);
  ASSERT_OK(server);
  SimulatedClock clock;
  auto store = NewRedisTestStore(RedisTestOptions(**server, &clock));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("Redis 7.0"));
}

TEST_F(RedisStoreTest, ReconnectsAfterTheServerRestarts) {
  RedisTestConfig options = Options(&clock_);
  options.client.pool_size = 3;
  auto store = NewStore(&clock_, &options);
  ASSERT_NE(store, nullptr);
  // Open all three connections.
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) EXPECT_OK(store->SetPolicy("ev", OpenPolicy()));
    });
  }
  for (auto& t : threads) t.join();

  ASSERT_OK(server_->Restart());  // no persistence: the data is gone, and so are the scripts
  // Every pooled connection saw the server close it; none of that reaches the caller.
  for (int i = 0; i < 10; ++i) {
    EXPECT_STATUS_CODE(store->GetPolicy("ev"), kNotFound) << i;
  }
  ASSERT_OK(store->SetPolicy("ev", OpenPolicy()));
  auto t = Join(*store, "ev", "u1");
  ASSERT_OK(t);
  EXPECT_EQ(t->position, 1);
}

TEST_F(RedisStoreTest, UnavailableNamingTheServerWhileItIsDown) {
  ASSERT_OK(store_->SetPolicy("ev", OpenPolicy()));
  const std::string where = absl::StrCat("127.0.0.1:", server_->port());
  ASSERT_OK(server_->Stop());
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    auto stats = store_->Stats("ev");
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
    EXPECT_STATUS_CODE(stats, kUnavailable);
    EXPECT_THAT(std::string(stats.status().message()), HasSubstr(where));
  }
  ASSERT_OK(server_->Restart());  // same port, fresh data
  EXPECT_OK(store_->SetPolicy("ev", OpenPolicy()));
}

TEST_F(RedisStoreTest, ConnectingFailsFastWhenNobodyListens) {
  RedisTestConfig options = Options(&clock_);
  ASSERT_OK(server_->Stop());
  const absl::Time start = absl::Now();
  auto store = NewRedisTestStore(options);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_STATUS_CODE(store, kUnavailable);
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("127.0.0.1:", options.client.port)));
}

TEST_F(RedisStoreTest, DeadlineExceededWhenTheServerHangs) {
  RedisTestConfig options = Options(&clock_);
  options.client.command_timeout = absl::Milliseconds(300);
  options.client.pool_size = 1;
  auto store = NewStore(&clock_, &options);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->SetPolicy("ev", OpenPolicy()));
  ASSERT_OK(server_->Pause());
  const absl::Time start = absl::Now();
  auto stats = store->Stats("ev");
  const absl::Duration took = absl::Now() - start;
  ASSERT_OK(server_->Resume());
  EXPECT_STATUS_CODE(stats, kDeadlineExceeded);
  EXPECT_THAT(std::string(stats.status().message()),
              HasSubstr(absl::StrCat("127.0.0.1:", server_->port())));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
  // The timed-out connection was dropped (a late reply must not answer the next call).
  auto after = store->Stats("ev");
  ASSERT_OK(after);
  EXPECT_EQ(after->joined_total, 0);
}

TEST_F(RedisStoreTest, ManyThreadsShareFewConnections) {
  RedisTestConfig options = Options(&clock_);
  options.client.pool_size = 3;
  auto store = NewStore(&clock_, &options);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->SetPolicy("ev", OpenPolicy()));
  constexpr int kThreads = 8;
  constexpr int kJoinsPerThread = 60;
  std::vector<std::vector<int64_t>> positions(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJoinsPerThread; ++i) {
        auto ticket = Join(*store, "ev", absl::StrCat("t", t, "-", i));
        EXPECT_OK(ticket);
        if (ticket.ok()) positions[t].push_back(ticket->position);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int64_t> all;
  for (const auto& p : positions) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t{kThreads * kJoinsPerThread});
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int64_t>(i) + 1);
}

// Concurrent joins and statuses of one event go out in batches (TicketBatcher): every caller
// still gets its own answer, including the callers whose part of a batch fails (a user twice,
// a malformed token, a token nobody holds), and one event's batches create it only once.
TEST_F(RedisStoreTest, BatchedCallsAnswerEachCallerItsOwn) {
  constexpr int kThreads = 24;
  constexpr int kRounds = 10;
  const Policy policy = OpenPolicy();
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<int64_t> positions;
  std::vector<std::string> failures;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string user = absl::StrCat("u", t, "-", i);
        auto ticket = Join(*store_, "ev", user, &policy);  // the first batch creates "ev"
        auto again = Join(*store_, "ev", user, &policy);   // the same user: refused
        auto bad = Join(*store_, "ev", absl::StrCat("b", t, "-", i), &policy);
        std::lock_guard<std::mutex> lock(mu);
        if (!ticket.ok() || ticket->user_id != user) {
          failures.push_back(absl::StrCat(user, ": ", ticket.status().ToString()));
          continue;
        }
        positions.push_back(ticket->position);
        if (again.status().code() != kAlreadyExists) {
          failures.push_back(absl::StrCat(user, " again: ", again.status().ToString()));
        }
        if (!bad.ok()) failures.push_back(absl::StrCat("b: ", bad.status().ToString()));
        auto status = store_->Status("ev", ticket->token);
        if (!status.ok() || status->user_id != user || status->token != ticket->token) {
          failures.push_back(absl::StrCat(user, " status: ", status.status().ToString()));
        }
        const absl::Status malformed = store_->Status("ev", "not a token").status();
        if (malformed.code() != kInvalidArgument && malformed.code() != kNotFound) {
          failures.push_back(absl::StrCat("malformed: ", malformed.ToString()));
        }
        const absl::Status unknown = store_->Status("ev", NewToken("ev")).status();
        if (unknown.code() != kNotFound) failures.push_back("unknown: " + unknown.ToString());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: "
                                << (failures.empty() ? "" : failures.front());
  // Every join made a place of its own: positions 1..N with the "b" users in between.
  std::sort(positions.begin(), positions.end());
  EXPECT_EQ(std::adjacent_find(positions.begin(), positions.end()), positions.end());
  auto stats = store_->Stats("ev");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->joined_total, 2 * kThreads * kRounds);
}

// ---------------------------------------------------------------------------------------------
// The server's clock

TEST_F(RedisStoreTest, ServerClockModeSharesOneLineAcrossStores) {
  // Two stores (two gateways) on the same keys, both on the server's clock.
  const RedisTestConfig same = Options(nullptr);
  auto first = NewRedisTestStore(same);
  ASSERT_OK(first);
  auto second = NewRedisTestStore(same);
  ASSERT_OK(second);
  Policy p = OpenPolicy();
  p.wait_tiers = {{WaitTier::kUnboundedPosition, absl::Milliseconds(200)}};
  ASSERT_OK((*first)->SetPolicy("ev", p));
  const absl::Time before = absl::Now();
  auto u1 = Join(**first, "ev", "u1");
  auto u2 = Join(**second, "ev", "u2");
  const absl::Time after = absl::Now();
  ASSERT_OK(u1);
  ASSERT_OK(u2);
  EXPECT_EQ(u1->position, 1);
  EXPECT_EQ(u2->position, 2);
  // Redis runs on this machine, so its clock is ours (give or take the round trip).
  EXPECT_GE(u1->now, before - absl::Milliseconds(50));
  EXPECT_LE(u2->now, after + absl::Milliseconds(50));
  EXPECT_GE(u2->now, u1->now);
  auto seen = (*second)->Status("ev", u1->token);
  ASSERT_OK(seen);
  EXPECT_EQ(seen->position, 1);
  EXPECT_EQ(seen->blocked_by, EntryBlock::kTierWait);
  EXPECT_GT(seen->retry_after, absl::ZeroDuration());
  EXPECT_LE(seen->retry_after, absl::Milliseconds(200));
  absl::SleepFor(seen->retry_after + absl::Milliseconds(5));
  auto entered = (*second)->Enter("ev", u1->token, NewToken("ev"));
  ASSERT_OK(entered);
  EXPECT_TRUE(entered->granted);
  EXPECT_EQ(entered->ticket.left_line_at, entered->ticket.now);
}

// ---------------------------------------------------------------------------------------------
// Options

TEST(RedisClientOptionsTest, ParsesRedisUrls) {
  RedisClientOptions o;
  ASSERT_OK(ParseRedisUrl("redis://10.0.0.7:6380", &o));
  EXPECT_EQ(o.host, "10.0.0.7");
  EXPECT_EQ(o.port, 6380);
  ASSERT_OK(ParseRedisUrl("redis://cache.local", &o));
  EXPECT_EQ(o.host, "cache.local");
  EXPECT_EQ(o.port, 6379);
  ASSERT_OK(ParseRedisUrl("localhost:7000/0", &o));
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 7000);
  ASSERT_OK(ParseRedisUrl("redis://[::1]:6381/", &o));
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6381);
  for (const char* bad :
       {"rediss://h:1", "redis://user:p%zz@h:1", "redis://h:1/3", "redis://:6379", "redis://h:0",
        "redis://h:65536", "redis://h:x", "redis://::1:5", "redis://[::1"}) {
    EXPECT_STATUS_CODE(ParseRedisUrl(bad, &o), kInvalidArgument) << bad;
  }
}

TEST(RedisClientOptionsTest, RejectsBadOptionsWithoutConnecting) {
  RedisClientOptions o;
  o.pool_size = 0;
  EXPECT_STATUS_CODE(RedisClient::Connect(o), kInvalidArgument);
  o = RedisClientOptions();
  o.key_prefix = "a{b}";
  EXPECT_STATUS_CODE(RedisClient::Connect(o), kInvalidArgument);
  o = RedisClientOptions();
  o.command_timeout = absl::ZeroDuration();
  EXPECT_STATUS_CODE(RedisClient::Connect(o), kInvalidArgument);
  o = RedisClientOptions();
  o.port = 70000;
  EXPECT_STATUS_CODE(RedisClient::Connect(o), kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Opening from a URL

TEST(OpenStoreUrlTest, MemoryOpensBothInThisProcess) {
  ASSERT_OK_AND_ASSIGN(OpenedStores opened, OpenStoreUrl("memory"));
  EXPECT_NE(opened.room, nullptr);
  EXPECT_NE(opened.sale.inventory, nullptr);
  EXPECT_EQ(opened.client, nullptr);
  EXPECT_EQ(opened.name, "memory");
}

TEST(OpenStoreUrlTest, BadUrlsAreInvalidArgumentsSayingWhy) {
  absl::StatusOr<OpenedStores> tls = OpenStoreUrl("rediss://h:1");
  EXPECT_STATUS_CODE(tls, kInvalidArgument);
  EXPECT_EQ(tls.status().message(), "redis url 'rediss://h:1': TLS (rediss://) is not supported");
  absl::StatusOr<OpenedStores> seed = OpenStoreUrl("redis-cluster://127.0.0.1:1,:bad");
  EXPECT_STATUS_CODE(seed, kInvalidArgument);
  EXPECT_EQ(seed.status().message(), "seed ':bad': redis url 'redis://:bad': no host");
}

TEST_F(RedisStoreTest, OpenStoreUrlRunsTheRoomAndTheSaleOnOneClient) {
  StoreUrlOptions options;
  options.clock = &clock_;
  options.redis = Options(&clock_).client;
  const std::string address = absl::StrCat("127.0.0.1:", server_->port());
  ASSERT_OK_AND_ASSIGN(OpenedStores opened, OpenStoreUrl("redis://" + address, options));
  ASSERT_NE(opened.client, nullptr);
  EXPECT_FALSE(opened.client->cluster());
  EXPECT_EQ(opened.name, "redis://" + address);
  EXPECT_EQ(opened.client->options().key_prefix, options.redis.key_prefix);
  ASSERT_OK(opened.room->SetPolicy("ev", OpenPolicy()));
  InventorySpec spec;
  spec.seat_ids = {"A-1"};
  ASSERT_OK(opened.sale.inventory->SetInventory("ev", spec));
  // Both under the client's prefix.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> events, opened.room->ListEvents());
  EXPECT_EQ(events, std::vector<std::string>{"ev"});
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> sale_events, opened.sale.inventory->ListEvents());
  EXPECT_EQ(sale_events, std::vector<std::string>{"ev"});
}

TEST_F(RedisStoreTest, AClusterSeedThatIsAStandaloneServerIsRefused) {
  StoreUrlOptions options;
  options.redis = Options(&clock_).client;
  const std::string address = absl::StrCat("127.0.0.1:", server_->port());
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl("redis-cluster://" + address, options);
  EXPECT_STATUS_CODE(opened, kFailedPrecondition);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("is not a Redis Cluster node"));
}

}  // namespace
}  // namespace testing
}  // namespace admission
