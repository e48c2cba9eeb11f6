// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store on a real 3-master Redis Cluster: it routes every event to the master that
// owns its hash slot, gives the same answers as the memory store, spreads events over the
// masters, and follows the cluster when a slot moves (MOVED), is being moved (ASK) or is
// split between two nodes for a moment (TRYAGAIN).
#include "support/redis/redis_cluster.h"

#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/redis/room_store.h"
#include "admission/room/memory_store.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "gtest/gtest.h"
#include "redis/client/router.h"
#include "support/redis/differential.h"
#include "support/redis/redis_store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

// One cluster for the whole binary (starting one takes a second or two); every test uses its
// own key prefix, and the tests that move slots move them between live masters, which leaves
// the cluster valid for the next test.
class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = SharedRedisCluster();
    ASSERT_OK(cluster);
    cluster_ = *cluster;
    options_ = RedisTestOptions(cluster_->node(0), &clock_);
    auto store = NewRedisTestStore(options_);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  std::string MetaKey(std::string_view event) const {
    return absl::StrCat(options_.client.key_prefix, ":{",
                        absl::string_view(event.data(), event.size()), "}:m");
  }
  int SlotOf(std::string_view event) const { return redis_internal::KeySlot(MetaKey(event)); }
  int OwnerOf(std::string_view event) {
    auto owner = cluster_->OwnerOf(SlotOf(event));
    EXPECT_OK(owner);
    return owner.ok() ? *owner : -1;
  }

  absl::StatusOr<Ticket> Join(std::string_view event, std::string_view user) {
    const std::string token = NewToken(event);
    JoinRequest request;
    request.event_id = event;
    request.user_id = user;
    request.token = token;
    return store_->Join(request);
  }

  SimulatedClock clock_;
  RedisCluster* cluster_ = nullptr;
  RedisTestConfig options_;
  std::unique_ptr<Store> store_;
};

TEST_F(RedisClusterTest, KeySlotIsTheClustersSlot) {
  std::vector<std::string> keys = {
      "adm:{ev-1}:m",         "foo", "{}x", "a{b}c{d}", "{", "}{", "a{}{b}", "123456789",
      "{user1000}.following", ""};
  std::mt19937 gen(7);
  for (int i = 0; i < 200; ++i) {
    std::string key;
    const int n = static_cast<int>(gen() % 20);
    for (int j = 0; j < n; ++j) key.push_back("ab{}-_:9"[gen() % 8]);
    keys.push_back(key);
  }
  EXPECT_EQ(redis_internal::KeySlot("123456789"), 0x31C3);  // the CRC16 test vector
  for (const std::string& key : keys) {
    if (key.empty()) continue;  // CLUSTER KEYSLOT needs an argument
    auto slot = cluster_->KeySlot(key);
    ASSERT_OK(slot);
    EXPECT_EQ(redis_internal::KeySlot(key), *slot) << key;
  }
}

TEST_F(RedisClusterTest, RandomOperationsMatchTheMemoryStore) {
  const std::vector<std::string> events = {"e1", "e2", "e-3", "e4"};
  std::set<int> owners;
  for (const std::string& e : events) owners.insert(OwnerOf(e));
  ASSERT_GE(owners.size(), 2u) << "pick event names that land on different masters";
  // Fair openings too: both stores draw with the same secrets.
  options_.store.event_secret = DifferentialSecret;
  auto seeded = NewRedisTestStore(options_);
  ASSERT_OK(seeded);
  auto memory = NewMemoryStore(MemoryStoreOptions{&clock_, 64, DifferentialSecret});
  const EventCounters total =
      RunDifferential(*memory, **seeded, clock_, 11, 2500, events, /*fair_openings=*/true);
  EXPECT_GT(total.admitted_total, 10);
  EXPECT_GT(total.expired_total, 10);
}

TEST_F(RedisClusterTest, EventsSpreadOverTheMasters) {
  std::set<int> owners;
  std::vector<std::string> events;
  for (int i = 0; i < 24; ++i) {
    const std::string event = absl::StrCat("event-", i);
    events.push_back(event);
    ASSERT_OK(store_->SetPolicy(event, OpenPolicy()));
    auto t = Join(event, "u1");
    ASSERT_OK(t);
    const int owner = OwnerOf(event);
    owners.insert(owner);
    // The event's keys are on the master that owns its slot, and nowhere else.
    for (int n = 0; n < cluster_->size(); ++n) {
      auto exists = cluster_->node(n).Command({"EXISTS", MetaKey(event)});
      if (n == owner) {
        ASSERT_OK(exists);
        EXPECT_EQ(*exists, "1") << event;
      } else {
        EXPECT_FALSE(exists.ok()) << event << " answered by node " << n;  // MOVED
      }
    }
  }
  EXPECT_EQ(owners.size(), 3u);
  auto listed = store_->ListEvents();
  ASSERT_OK(listed);
  EXPECT_EQ(std::set<std::string>(listed->begin(), listed->end()),
            std::set<std::string>(events.begin(), events.end()));
}

TEST_F(RedisClusterTest, FollowsASlotThatMoved) {
  const std::string event = "moving";
  ASSERT_OK(store_->SetPolicy(event, OpenPolicy()));
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    auto t = Join(event, absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
  }
  const int from = OwnerOf(event);
  const int to = (from + 1) % cluster_->size();
  ASSERT_OK(cluster_->MoveSlot(SlotOf(event), to));
  ASSERT_EQ(OwnerOf(event), to);
  // The store still has the old map: its first request gets MOVED, and it follows.
  for (int i = 0; i < 5; ++i) {
    auto s = store_->Status(event, tokens[i]);
    ASSERT_OK(s);
    EXPECT_EQ(s->position, i + 1);
  }
  auto late = Join(event, "late");
  ASSERT_OK(late);
  EXPECT_EQ(late->position, 6);
  auto exists = cluster_->node(to).Command({"EXISTS", MetaKey(event)});
  ASSERT_OK(exists);
  EXPECT_EQ(*exists, "1");
}

// While an event's slot is being migrated, its scripts wait (TRYAGAIN, retried by the store)
// until the migration is over: they touch buckets and line blocks they cannot declare, so
// Redis could not tell them that some of those had already moved (lua/room/keys.lua). Requests that
// declare all their keys, such as GetPolicy's, follow ASK to the importing node meanwhile.
TEST_F(RedisClusterTest, WaitsWhileASlotIsBeingMovedAndFollowsAsk) {
  const std::string event = "asked";
  ASSERT_OK(store_->SetPolicy(event, OpenPolicy()));
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    auto t = Join(event, absl::StrCat("u", i));
    ASSERT_OK(t);
    tokens.push_back(t->token);
  }
  const int slot = SlotOf(event);
  const int from = OwnerOf(event);
  const int to = (from + 1) % cluster_->size();
  ASSERT_OK(cluster_->BeginMigration(slot, to));
  // Move every key of the event, but leave the slot with its owner: it answers ASK now.
  auto keys = cluster_->node(from).Command({"CLUSTER", "GETKEYSINSLOT", absl::StrCat(slot), "100"});
  ASSERT_OK(keys);
  std::vector<std::string> migrate = {"MIGRATE",
                                      cluster_->node(to).host(),
                                      absl::StrCat(cluster_->node(to).port()),
                                      "",
                                      "0",
                                      "5000",
                                      "KEYS"};
  for (absl::string_view key : absl::StrSplit(*keys, '\n', absl::SkipEmpty())) {
    migrate.emplace_back(key);
  }
  // meta, line counts, one line block, deadlines, and a record and a user bucket per user.
  ASSERT_GE(migrate.size(), 7u + 4u + 2u);
  ASSERT_OK(cluster_->node(from).Command(migrate));
  ASSERT_EQ(OwnerOf(event), from);
  EXPECT_OK(store_->GetPolicy(event));  // one declared key, on the importing node: ASK

  std::thread finisher([&] {
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_OK(cluster_->FinishMigration(slot, to));
  });
  const absl::Time start = absl::Now();
  auto waited = store_->Status(event, tokens[0]);
  const absl::Duration took = absl::Now() - start;
  finisher.join();
  ASSERT_OK(waited);
  EXPECT_EQ(waited->position, 1);
  EXPECT_GE(took, absl::Milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    auto s = store_->Status(event, tokens[i]);
    ASSERT_OK(s);
    EXPECT_EQ(s->position, i + 1);
  }
  auto entered = store_->Enter(event, tokens[0], NewToken(event));
  ASSERT_OK(entered);
  EXPECT_TRUE(entered->granted);
  auto s = store_->Status(event, tokens[1]);
  ASSERT_OK(s);
  EXPECT_EQ(s->position, 1);
  auto exists = cluster_->node(to).Command({"EXISTS", MetaKey(event)});
  ASSERT_OK(exists);
  EXPECT_EQ(*exists, "1");
}

TEST_F(RedisClusterTest, RetriesWhileAnEventsKeysAreSplitByAMigration) {
  const std::string event = "split";
  ASSERT_OK(store_->SetPolicy(event, OpenPolicy()));
  auto t = Join(event, "u1");
  ASSERT_OK(t);
  const int slot = SlotOf(event);
  const int from = OwnerOf(event);
  const int to = (from + 1) % cluster_->size();
  ASSERT_OK(cluster_->BeginMigration(slot, to));
  // Only the meta key moves: the event's keys are on two nodes, so its scripts get TRYAGAIN
  // until the migration is finished (by another thread, a moment later).
  ASSERT_OK(cluster_->node(from).Command({"MIGRATE", cluster_->node(to).host(),
                                          absl::StrCat(cluster_->node(to).port()), MetaKey(event),
                                          "0", "5000"}));
  std::thread finisher([&] {
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_OK(cluster_->FinishMigration(slot, to));
  });
  const absl::Time start = absl::Now();
  auto s = store_->Status(event, t->token);
  const absl::Duration took = absl::Now() - start;
  finisher.join();
  ASSERT_OK(s);
  EXPECT_EQ(s->position, 1);
  EXPECT_GE(took, absl::Milliseconds(200));
}

// The same when only a key that no script declares has moved (a record bucket): without the
// event's never-existing declared key, Redis would run the script on the old node, which would
// fail at the moved bucket after writing to the others.
TEST_F(RedisClusterTest, RetriesWhileOnlyABucketHasMoved) {
  const std::string event = "bucket";
  ASSERT_OK(store_->SetPolicy(event, OpenPolicy()));
  auto t = Join(event, "u1");
  ASSERT_OK(t);
  const int slot = SlotOf(event);
  const int from = OwnerOf(event);
  const int to = (from + 1) % cluster_->size();
  auto keys = cluster_->node(from).Command({"CLUSTER", "GETKEYSINSLOT", absl::StrCat(slot), "100"});
  ASSERT_OK(keys);
  std::string bucket;
  for (absl::string_view key : absl::StrSplit(*keys, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(key, "}:r:")) bucket = std::string(key);
  }
  ASSERT_FALSE(bucket.empty()) << *keys;
  ASSERT_OK(cluster_->BeginMigration(slot, to));
  ASSERT_OK(
      cluster_->node(from).Command({"MIGRATE", cluster_->node(to).host(),
                                    absl::StrCat(cluster_->node(to).port()), bucket, "0", "5000"}));
  std::thread finisher([&] {
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_OK(cluster_->FinishMigration(slot, to));
  });
  const absl::Time start = absl::Now();
  auto s = store_->Status(event, t->token);
  const absl::Duration took = absl::Now() - start;
  finisher.join();
  ASSERT_OK(s);
  EXPECT_EQ(s->position, 1);
  EXPECT_GE(took, absl::Milliseconds(200));
  auto second = Join(event, "u2");
  ASSERT_OK(second);
  EXPECT_EQ(second->position, 2);
}

}  // namespace
}  // namespace testing
}  // namespace admission
