// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What only the Redis ticketing bundle has (label `redis`): its keys and their hash tags, the
// Stream and consumer group behind the queue, idempotency keys that expire by themselves, and
// scripts that survive the server losing its script cache. The behaviour shared with the
// memory bundle is in tests/ticketing_*_test.cc.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/redis/client.h"
#include "admission/redis/ticketing.h"
#include "admission/ticketing/ticketing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis/client/router.h"
#include "support/redis/redis_server.h"
#include "support/redis/redis_store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::UnorderedElementsAre;

class RedisTicketingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RedisServer*> server = SharedRedisServer();
    ASSERT_OK(server);
    server_ = *server;
    const RedisClientOptions redis = RedisTestOptions(*server_, nullptr).client;
    prefix_ = redis.key_prefix;
    TicketingOptions options;
    options.clock = &clock_;
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<RedisClient> client, RedisClient::Connect(redis));
    ASSERT_OK_AND_ASSIGN(t_, NewRedisTicketing(std::move(client), options));
  }

  std::string Command(const std::vector<std::string>& args) {
    absl::StatusOr<std::string> reply = server_->Command(args);
    EXPECT_OK(reply);
    return reply.ok() ? *reply : "";
  }
  int64_t Int(const std::vector<std::string>& args) {
    int64_t n = -1;
    EXPECT_TRUE(absl::SimpleAtoi(Command(args), &n));
    return n;
  }
  std::vector<std::string> Keys() {
    const std::string all = Command({"KEYS", prefix_ + ":*"});
    return absl::StrSplit(all, '\n', absl::SkipEmpty());
  }

  SimulatedClock clock_;
  RedisServer* server_ = nullptr;
  std::string prefix_;
  Ticketing t_;
};

TEST_F(RedisTicketingTest, KeysAreHashTaggedPerEventKeyAndQueue) {
  InventorySpec spec;
  spec.seat_ids = {"A-1", "A-2"};
  ASSERT_OK(t_.inventory->SetInventory("show", spec));
  HoldRequest hold;
  hold.event_id = "show";
  hold.user_id = "u1";
  hold.quantity = 1;
  ASSERT_OK_AND_ASSIGN(Reservation r, t_.inventory->Hold(hold));
  ASSERT_OK(t_.inventory->Cancel(r.reservation_id));
  ASSERT_OK_AND_ASSIGN(IdempotencyBegin b, t_.idempotency->Begin("res", "{key}%", "fp"));
  ASSERT_OK(t_.outcomes->Publish(PaymentFailedMessage(r.reservation_id)));
  ASSERT_OK(t_.outcomes->Claim("w", 1, absl::Seconds(30)));
  ASSERT_OK(t_.outcomes->Ack(PaymentFailedMessage(r.reservation_id).id));
  const std::string ev = prefix_ + ":tk:{show}:";
  const std::string q = prefix_ + ":q:{ticketing}:";
  EXPECT_THAT(Keys(),
              UnorderedElementsAre(ev + "inv", ev + "seats", ev + "avail", ev + "res", ev + "ended",
                                   prefix_ + ":tk:events", prefix_ + ":idem:{res|%7Bkey%7D%25}",
                                   q + "s", q + "c", q + "n"));
  // One slot per event, per idempotency key, per queue.
  EXPECT_EQ(redis_internal::KeySlot(ev + "inv"), redis_internal::KeySlot(ev + "res"));
  EXPECT_EQ(redis_internal::KeySlot(q + "s"), redis_internal::KeySlot(q + "e"));
}

TEST_F(RedisTicketingTest, PricesAndAccountsLiveInTheEventsSlot) {
  InventorySpec spec;
  spec.seat_ids = {"A-1", "A-2"};
  spec.currency = "EUR";
  spec.price = 1000;
  spec.seat_prices = {{"A-2", 2000}};
  ASSERT_OK(t_.inventory->SetInventory("show", spec));
  HoldRequest hold;
  hold.event_id = "show";
  hold.user_id = "u1";
  hold.quantity = 2;
  ASSERT_OK_AND_ASSIGN(Reservation r, t_.inventory->Hold(hold));
  EXPECT_EQ(r.total, 3000);
  const std::string ev = prefix_ + ":tk:{show}:";
  EXPECT_EQ(Command({"HGET", ev + "prices", "A-2"}), "2000");
  EXPECT_EQ(Command({"HGET", ev + "users", "u1"}), "2|" + r.reservation_id);
  EXPECT_EQ(redis_internal::KeySlot(ev + "users"), redis_internal::KeySlot(ev + "inv"));
  EXPECT_EQ(redis_internal::KeySlot(ev + "prices"), redis_internal::KeySlot(ev + "inv"));
  // A cancelled hold leaves nothing behind for its user.
  ASSERT_OK(t_.inventory->Cancel(r.reservation_id));
  EXPECT_EQ(Int({"HLEN", ev + "users"}), 0);
}

TEST_F(RedisTicketingTest, DataStoredBeforePricesAndLimitsStillReads) {
  // What an earlier version stored: reservations without total|currency, and an inventory
  // without prices or limits (it gets the default limits).
  InventorySpec spec;
  spec.general_admission = 20;
  ASSERT_OK(t_.inventory->SetInventory("old", spec));
  HoldRequest hold;
  hold.event_id = "old";
  hold.user_id = "u1";
  hold.quantity = 2;
  ASSERT_OK_AND_ASSIGN(Reservation r, t_.inventory->Hold(hold));
  const std::string ev = prefix_ + ":tk:{old}:";
  std::vector<std::string> fields =
      absl::StrSplit(Command({"HGET", ev + "res", r.reservation_id}), '|');
  ASSERT_EQ(fields.size(), 10u);
  fields.erase(fields.begin() + 7, fields.begin() + 9);  // total, currency
  Command({"HSET", ev + "res", r.reservation_id, absl::StrJoin(fields, "|")});
  Command({"HDEL", ev + "inv", "currency", "price", "l_hold", "l_open", "l_user"});
  ASSERT_OK_AND_ASSIGN(Reservation read, t_.inventory->Get(r.reservation_id));
  EXPECT_EQ(read.quantity, 2);
  EXPECT_EQ(read.total, 0);
  EXPECT_EQ(read.currency, "");
  ASSERT_OK_AND_ASSIGN(Availability a, t_.inventory->GetAvailability("old", false));
  EXPECT_EQ(a.currency, "");
  EXPECT_EQ(a.limits.seats_per_hold, 10);
  EXPECT_EQ(a.limits.holds_per_user, 1);
  EXPECT_EQ(a.limits.seats_per_user, 10);
  EXPECT_EQ(InventoryErrorOf(t_.inventory->Hold(hold).status()), InventoryError::kHoldLimit);
  ASSERT_OK_AND_ASSIGN(ReservationChange confirmed, t_.inventory->Confirm(r.reservation_id));
  EXPECT_EQ(confirmed.reservation.status, ReservationStatus::kConfirmed);
  EXPECT_EQ(Command({"HGET", ev + "res", r.reservation_id}).substr(0, 2), "C|");
}

TEST_F(RedisTicketingTest, TheQueueIsAStreamWithAConsumerGroup) {
  ASSERT_OK(t_.outcomes->Publish(HoldExpiredMessage("show.0123456789abcdef0123456789abcdef")));
  const std::string stream = prefix_ + ":q:{ticketing}:s";
  EXPECT_EQ(Int({"XLEN", stream}), 1);
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> got, t_.outcomes->Claim("w1", 10, absl::Seconds(30)));
  ASSERT_EQ(got.size(), 1u);
  // Delivered through the group "workers": pending for consumer w1 until acked.
  EXPECT_THAT(Command({"XINFO", "GROUPS", stream}), ::testing::HasSubstr("workers"));
  EXPECT_THAT(Command({"XPENDING", stream, "workers"}), ::testing::HasSubstr("w1"));
  // An expired lease moves the entry to the next consumer (XCLAIM).
  clock_.Advance(absl::Seconds(30));
  ASSERT_OK_AND_ASSIGN(got, t_.outcomes->Claim("w2", 10, absl::Seconds(30)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(Command({"XPENDING", stream, "workers"}), ::testing::HasSubstr("w2"));
  ASSERT_OK(t_.outcomes->Ack(got[0].message.id));
  EXPECT_EQ(Int({"XLEN", stream}), 0);
  EXPECT_THAT(Command({"XPENDING", stream, "workers"}), ::testing::StartsWith("0"));
}

TEST_F(RedisTicketingTest, DeadLettersAreAStream) {
  ASSERT_OK(t_.outcomes->Publish(HoldExpiredMessage("show.0123456789abcdef0123456789abcdef")));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> got, t_.outcomes->Claim("w", 1, absl::Seconds(30)));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_OK(t_.outcomes->Park(got[0].message.id, 1, "broken"));
  const std::string dead = prefix_ + ":q:{ticketing}:x";
  EXPECT_EQ(Int({"XLEN", dead}), 1);
  EXPECT_THAT(Command({"XRANGE", dead, "-", "+"}), ::testing::HasSubstr(got[0].message.id));
  ASSERT_OK(t_.outcomes->ReplayDeadLetter(got[0].message.id));
  EXPECT_EQ(Int({"XLEN", dead}), 0);
}

TEST_F(RedisTicketingTest, IdempotencyKeysExpireByThemselves) {
  ASSERT_OK_AND_ASSIGN(IdempotencyBegin b, t_.idempotency->Begin("res", "k", "fp"));
  const std::string key = prefix_ + ":idem:{res|k}";
  // A started entry lives about its lease (30 s) plus the collection slack.
  int64_t pttl = Int({"PTTL", key});
  EXPECT_GT(pttl, 29000);
  EXPECT_LE(pttl, 31000);
  ASSERT_OK(t_.idempotency->Finish("res", "k", b.lease, "response"));
  pttl = Int({"PTTL", key});
  EXPECT_GT(pttl, 299000);
  EXPECT_LE(pttl, 301000);
}

TEST_F(RedisTicketingTest, ScriptsSurviveAFlushedScriptCache) {
  InventorySpec spec;
  spec.general_admission = 3;
  ASSERT_OK(t_.inventory->SetInventory("gig", spec));
  Command({"SCRIPT", "FLUSH"});
  HoldRequest hold;
  hold.event_id = "gig";
  hold.user_id = "u1";
  hold.quantity = 2;
  ASSERT_OK(t_.inventory->Hold(hold));  // NOSCRIPT -> EVAL, which caches it again
  hold.user_id = "u2";
  EXPECT_EQ(InventoryErrorOf(t_.inventory->Hold(hold).status()), InventoryError::kSoldOut);
  ASSERT_OK(t_.idempotency->Begin("s", "k", "fp"));
  ASSERT_OK(t_.outcomes->Publish(HoldExpiredMessage("gig.0123456789abcdef0123456789abcdef")));
}

}  // namespace
}  // namespace testing
}  // namespace admission
