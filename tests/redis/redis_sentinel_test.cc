// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Redis with replicas under Sentinel (redis-sentinel:// URLs): discovery of the primary, the
// room and the sale through it, failovers (SENTINEL FAILOVER, and kill -9 of the primary)
// during which calls fail fast with Unavailable and after which the same client serves from
// the new primary, sentinels with a password, clear errors at open; and durable writes (WAIT
// after a confirm) on a primary with one replica.
#include "support/redis/redis_sentinel.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "admission/ids.h"
#include "admission/redis/client.h"
#include "admission/redis/open.h"
#include "admission/room/store.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/ticketing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/redis/redis_server.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kUnavailable = absl::StatusCode::kUnavailable;

StoreUrlOptions UrlOptions() {
  StoreUrlOptions options;
  options.redis.connect_timeout = absl::Milliseconds(500);
  options.redis.command_timeout = absl::Seconds(2);
  return options;
}

// The room's and the sale's basics under `event`: join, status, enter; inventory, hold, a
// payment outcome through the queue, confirm (a durable write), ack.
void RunRoomAndSale(OpenedStores& stores, const std::string& event) {
  Store& room = *stores.room;
  ASSERT_OK(room.SetPolicy(event, OpenPolicy()));
  const std::string token = NewToken(event);
  JoinRequest join;
  join.event_id = event;
  join.user_id = "alice";
  join.token = token;
  ASSERT_OK(room.Join(join));
  ASSERT_OK(room.Status(event, token));
  ASSERT_OK_AND_ASSIGN(EnterOutcome entered, room.Enter(event, token, NewToken(event)));
  EXPECT_TRUE(entered.granted);

  Ticketing& sale = stores.sale;
  InventorySpec spec;
  spec.seat_ids = {"A-1", "A-2"};
  ASSERT_OK(sale.inventory->SetInventory(event, spec));
  HoldRequest hold;
  hold.event_id = event;
  hold.user_id = "alice";
  hold.seat_ids = {"A-1"};
  ASSERT_OK_AND_ASSIGN(Reservation held, sale.inventory->Hold(hold));
  ASSERT_OK(sale.outcomes->Publish(PaymentApprovedMessage(held.reservation_id, 1, "EUR")));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> claimed,
                       sale.outcomes->Claim("worker", 10, absl::Seconds(30)));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(sale.inventory->Confirm(held.reservation_id));
  ASSERT_OK(sale.outcomes->Ack(claimed.front().message.id));
  ASSERT_OK_AND_ASSIGN(Reservation confirmed, sale.inventory->Get(held.reservation_id));
  EXPECT_EQ(confirmed.status, ReservationStatus::kConfirmed);
  ASSERT_OK_AND_ASSIGN(Availability availability, sale.inventory->GetAvailability(event, false));
  EXPECT_EQ(availability.counts.sold, 1);
}

// One write through the room (a join); the status it returned.
absl::Status JoinOnce(Store& room, const std::string& event, int i) {
  const std::string token = NewToken(event);
  const std::string user = absl::StrCat("u", i);
  JoinRequest join;
  join.event_id = event;
  join.user_id = user;
  join.token = token;
  return room.Join(join).status();
}

// Joins until one succeeds (on the new primary), each call bounded by the client's timeouts;
// every failure on the way must be Unavailable (or DeadlineExceeded, for a call caught by the
// switch). Returns how long until the first success.
absl::Duration JoinUntilServed(Store& room, const std::string& event, absl::Duration limit,
                               const StoreUrlOptions& options) {
  const absl::Time start = absl::Now();
  const absl::Duration per_call = options.redis.connect_timeout + options.redis.command_timeout;
  for (int i = 0; absl::Now() - start < limit; ++i) {
    const absl::Time call = absl::Now();
    const absl::Status s = JoinOnce(room, event, i);
    EXPECT_LE(absl::Now() - call, per_call + absl::Milliseconds(500)) << s;
    if (s.ok()) return absl::Now() - start;
    EXPECT_TRUE(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) << s;
    absl::SleepFor(absl::Milliseconds(50));  // a client's retry pause
  }
  ADD_FAILURE() << "no join succeeded within " << limit;
  return limit;
}

// ---------------------------------------------------------------------------------------------
// URLs

TEST(RedisSentinelUrlTest, ReadsMasterSentinelsAndCredentials) {
  RedisClientOptions o;
  ASSERT_OK(ParseRedisSentinelUrl("redis-sentinel://mymaster@10.0.0.1:26380,10.0.0.2", &o));
  EXPECT_EQ(o.sentinel_master, "mymaster");
  ASSERT_EQ(o.sentinels.size(), 2u);
  EXPECT_EQ(o.sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(o.sentinels[0].port, 26380);
  EXPECT_EQ(o.sentinels[1].port, 26379);
  EXPECT_EQ(o.password, "");

  o = RedisClientOptions();
  ASSERT_OK(ParseRedisSentinelUrl(
      "redis-sentinel://app:p@ss@mymaster@[::1]:26379,h:1?sentinel_password=s%40nt&"
      "sentinel_username=watch",
      &o));
  EXPECT_EQ(o.username, "app");
  EXPECT_EQ(o.password, "p@ss");
  EXPECT_EQ(o.sentinel_master, "mymaster");
  EXPECT_EQ(o.sentinels[0].host, "::1");
  EXPECT_EQ(o.sentinel_username, "watch");
  EXPECT_EQ(o.sentinel_password, "s@nt");
}

TEST(RedisSentinelUrlTest, RejectsMalformedUrlsWithoutShowingPasswords) {
  RedisClientOptions o;
  for (const char* url : {"redis-sentinel://h:1", "redis-sentinel://@h:1", "redis-sentinel://m@",
                          "redis-sentinel://m@h:99999", "redis-sentinel://:secret-pw@m@h:1/0",
                          "redis-sentinel://m@h:1?sentinel_password=secret-pw&x=1",
                          "redis-sentinel://m@h:1?sentinel_password=%zz"}) {
    const absl::Status s = ParseRedisSentinelUrl(url, &o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("secret-pw"))) << url;
  }
}

// ---------------------------------------------------------------------------------------------
// Against a deployment

TEST(RedisSentinelTest, FindsThePrimaryAndServesTheRoomAndTheSale) {
  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start());
  // The first sentinel is down: the next ones answer.
  const std::string url = absl::StrCat("redis-sentinel://", deployment->options().master_name,
                                       "@127.0.0.1:1,", deployment->SentinelList());
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(url, UrlOptions()));
  ASSERT_NE(stores.client, nullptr);
  EXPECT_EQ(stores.client->primary(), deployment->servers()[0]->address());
  EXPECT_EQ(stores.name,
            absl::StrCat("redis-sentinel://mymaster@", deployment->servers()[0]->address()));
  EXPECT_EQ(stores.client->options().durable_replicas, 1);  // replicas are expected
  RunRoomAndSale(stores, "ev");
}

TEST(RedisSentinelTest, OpenFailsClearlyWhenNoSentinelAnswersOrNoneKnowsTheMaster) {
  const absl::Time start = absl::Now();
  absl::StatusOr<OpenedStores> none =
      OpenStoreUrl("redis-sentinel://mymaster@127.0.0.1:1,127.0.0.1:2", UrlOptions());
  EXPECT_EQ(none.status().code(), kUnavailable);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("no sentinel named a primary for master 'mymaster'"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start());
  absl::StatusOr<OpenedStores> unknown = OpenStoreUrl(
      absl::StrCat("redis-sentinel://other@", deployment->SentinelList()), UrlOptions());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("does not know master 'other'"));
}

TEST(RedisSentinelTest, FollowsASentinelFailoverWithoutARestart) {
  // Two replicas: the one not promoted follows the new primary at once (the old primary only
  // seconds later), so that durable writes find a replica after the failover.
  RedisSentinelOptions two_replicas;
  two_replicas.replicas = 2;
  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start(two_replicas));
  const StoreUrlOptions options = UrlOptions();
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(deployment->Url(), options));
  RunRoomAndSale(stores, "before");
  const std::string old_primary = deployment->servers()[0]->address();

  const absl::Time failover_at = absl::Now();
  ASSERT_OK(deployment->Failover());
  ASSERT_OK_AND_ASSIGN(RedisServer * promoted,
                       deployment->WaitForPrimaryOtherThan(old_primary, absl::Seconds(20)));
  // The sentinels announce the switch (+switch-master): the client follows it. Until then
  // the old primary may still say master (Sentinel demotes it seconds later): calls may land
  // there, and durable ones fail, since its replica has left it.
  const absl::Time switched_by = absl::Now() + absl::Seconds(10);
  while (stores.client->primary() != promoted->address() && absl::Now() < switched_by) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(stores.client->primary(), promoted->address());
  const absl::Duration served = JoinUntilServed(*stores.room, "before", absl::Seconds(20), options);
  EXPECT_LT(served, absl::Seconds(5));
  ::testing::Test::RecordProperty(
      "switch_ms", static_cast<int>(absl::ToInt64Milliseconds(absl::Now() - failover_at)));
  // The data written before the failover is there, and the sale works on the new primary
  // (its functions replicated, or loaded again). Durable writes wait for a replica: the one
  // Sentinel moved to the new primary.
  ASSERT_OK(stores.room->Stats("before"));
  ASSERT_OK(deployment->WaitForReplicasOf(*promoted, 1, absl::Seconds(10)));
  // Right after a failover a replica may not acknowledge within durable_timeout (it may still
  // be syncing): a durable write then fails with Unavailable and its retry succeeds, as a
  // client's would.
  const absl::Time durable_by = absl::Now() + absl::Seconds(10);
  int unconfirmed = 0;
  absl::Status published;
  while (true) {
    // Due in an hour: not claimed by RunRoomAndSale below.
    published = stores.sale.outcomes
                    ->Publish(OutcomeMessage{"warm-up", "note", "", absl::Now() + absl::Hours(1)})
                    .status();
    if (published.ok() || absl::Now() > durable_by) break;
    EXPECT_EQ(published.code(), kUnavailable) << published;
    ++unconfirmed;
  }
  ASSERT_OK(published);
  ::testing::Test::RecordProperty("unconfirmed_after_switch", unconfirmed);
  EXPECT_EQ(stores.client->primary(), promoted->address());
  RunRoomAndSale(stores, "after");
}

TEST(RedisSentinelTest, FollowsAKilledPrimary) {
  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start());
  const StoreUrlOptions options = UrlOptions();
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(deployment->Url(), options));
  ASSERT_OK(stores.room->SetPolicy("ev", OpenPolicy()));
  ASSERT_OK(JoinOnce(*stores.room, "ev", 0));
  const std::string old_primary = deployment->servers()[0]->address();
  // Replication is asynchronous: let the replica have the event before the primary dies.
  ASSERT_OK(deployment->WaitForReplicasOf(*deployment->servers()[0], 1, absl::Seconds(10)));

  ASSERT_OK(deployment->servers()[0]->Kill());
  // Right away, calls fail fast: the primary is gone and no new one is elected yet.
  const absl::Time call = absl::Now();
  EXPECT_EQ(JoinOnce(*stores.room, "ev", 1).code(), kUnavailable);
  EXPECT_LT(absl::Now() - call, absl::Seconds(1));

  const absl::Duration served = JoinUntilServed(*stores.room, "ev", absl::Seconds(25), options);
  EXPECT_LT(served, absl::Seconds(15));
  ::testing::Test::RecordProperty("served_after_kill_ms",
                                  static_cast<int>(absl::ToInt64Milliseconds(served)));
  EXPECT_NE(stores.client->primary(), old_primary);
  // The new primary has no replica left: a sale's hold is made but not confirmed, and its
  // retry (the same request key) answers the same way without taking a second seat.
  InventorySpec spec;
  spec.general_admission = 5;
  ASSERT_OK(stores.sale.inventory->SetInventory("ev", spec));
  HoldRequest hold;
  hold.event_id = "ev";
  hold.user_id = "bob";
  hold.quantity = 1;
  hold.request_key = "bob-1";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const absl::Status held = stores.sale.inventory->Hold(hold).status();
    EXPECT_EQ(held.code(), kUnavailable) << held;
    EXPECT_THAT(std::string(held.message()), HasSubstr("not confirmed by a replica"));
  }
  ASSERT_OK_AND_ASSIGN(Availability a, stores.sale.inventory->GetAvailability("ev", false));
  EXPECT_EQ(a.counts.held, 1);  // the write stands, once
}

TEST(RedisSentinelTest, ADemotedPrimaryIsNeitherWrittenToNorChosen) {
  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start());
  const StoreUrlOptions options = UrlOptions();
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(deployment->Url(), options));
  ASSERT_OK(stores.room->SetPolicy("ev", OpenPolicy()));
  ASSERT_OK(deployment->WaitForReplicasOf(*deployment->servers()[0], 1, absl::Seconds(10)));
  // Swap the roles behind the sentinels' back: for a while they still name the old primary,
  // now a replica.
  RedisServer& old_primary = *deployment->servers()[0];
  RedisServer& replica = *deployment->servers()[1];
  ASSERT_OK(replica.Command({"REPLICAOF", "NO", "ONE"}));
  ASSERT_OK(old_primary.Command({"REPLICAOF", "127.0.0.1", absl::StrCat(replica.port())}));

  // The open client's writes are refused (READONLY): Unavailable, at once.
  const absl::Time call = absl::Now();
  const absl::Status refused = JoinOnce(*stores.room, "ev", 1);
  EXPECT_EQ(refused.code(), kUnavailable) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("READONLY"));
  EXPECT_LT(absl::Now() - call, absl::Seconds(1));

  // A new client does not take the sentinels' stale answer.
  absl::StatusOr<OpenedStores> stale = OpenStoreUrl(deployment->Url(), options);
  if (!stale.ok()) {
    EXPECT_EQ(stale.status().code(), kUnavailable);
    EXPECT_THAT(std::string(stale.status().message()), HasSubstr("which says ROLE slave"));
  } else {
    // The sentinels noticed already: then the new primary is the promoted replica.
    EXPECT_EQ(stale->client->primary(), replica.address());
  }
}

TEST(RedisSentinelTest, SentinelsWithTheirOwnPassword) {
  RedisSentinelOptions deployment_options;
  deployment_options.password = "data-Pa55";
  deployment_options.sentinel_password = "sentinel-Pa55";
  ASSERT_OK_AND_ASSIGN(auto deployment, RedisSentinelDeployment::Start(deployment_options));

  StoreUrlOptions options = UrlOptions();
  options.redis.password = "data-Pa55";
  options.redis.sentinel_password = "sentinel-Pa55";
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(deployment->Url(), options));
  RunRoomAndSale(stores, "ev");

  // In the URL (percent-encoded) instead.
  ASSERT_OK(
      OpenStoreUrl(absl::StrCat("redis-sentinel://:data-Pa55@mymaster@", deployment->SentinelList(),
                                "?sentinel_password=sentinel-Pa55"),
                   UrlOptions()));

  StoreUrlOptions wrong = UrlOptions();
  wrong.redis.password = "data-Pa55";
  wrong.redis.sentinel_password = "not-the-Pa55";
  absl::StatusOr<OpenedStores> refused = OpenStoreUrl(deployment->Url(), wrong);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), Not(HasSubstr("not-the-Pa55")));

  StoreUrlOptions missing = UrlOptions();
  missing.redis.password = "data-Pa55";
  absl::StatusOr<OpenedStores> unauthenticated = OpenStoreUrl(deployment->Url(), missing);
  EXPECT_EQ(unauthenticated.status().code(), absl::StatusCode::kUnauthenticated)
      << unauthenticated.status();
}

// ---------------------------------------------------------------------------------------------
// Durable writes, on a primary with one replica (no sentinels needed)

TEST(RedisDurableWriteTest, ConfirmWaitsForTheReplica) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> primary, RedisServer::Start());
  RedisServerOptions replica_options;
  replica_options.extra_args = {"--replicaof", "127.0.0.1", absl::StrCat(primary->port())};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> replica, RedisServer::Start(replica_options));
  const absl::Time synced_by = absl::Now() + absl::Seconds(10);
  while (replica->InfoField("replication", "master_link_status").value_or("") != "up") {
    ASSERT_LT(absl::Now(), synced_by) << "the replica did not sync";
    absl::SleepFor(absl::Milliseconds(20));
  }

  StoreUrlOptions options = UrlOptions();
  options.redis.durable_replicas = 1;
  options.redis.durable_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(OpenedStores stores,
                       OpenStoreUrl(absl::StrCat("redis://", primary->address()), options));
  Inventory& inventory = *stores.sale.inventory;
  InventorySpec spec;
  spec.general_admission = 10;
  ASSERT_OK(inventory.SetInventory("ev", spec));
  HoldRequest hold;
  hold.event_id = "ev";
  hold.user_id = "alice";
  hold.quantity = 1;
  ASSERT_OK_AND_ASSIGN(Reservation first, inventory.Hold(hold));
  ASSERT_OK(inventory.Confirm(first.reservation_id));

  hold.user_id = "bob";
  ASSERT_OK_AND_ASSIGN(Reservation second, inventory.Hold(hold));
  // The replica stops answering: a confirm is made on the primary but not confirmed.
  ASSERT_OK(replica->Pause());
  const absl::Time start = absl::Now();
  const absl::Status unconfirmed = inventory.Confirm(second.reservation_id).status();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(unconfirmed.code(), kUnavailable) << unconfirmed;
  EXPECT_THAT(std::string(unconfirmed.message()), HasSubstr("not confirmed by a replica"));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(Reservation stands, inventory.Get(second.reservation_id));
  EXPECT_EQ(stands.status, ReservationStatus::kConfirmed);

  // Back: the retry of the same confirm (unchanged now) is confirmed.
  ASSERT_OK(replica->Resume());
  const absl::Time retry_by = absl::Now() + absl::Seconds(10);
  absl::Status retried;
  do {
    retried = inventory.Confirm(second.reservation_id).status();
  } while (!retried.ok() && absl::Now() < retry_by);
  ASSERT_OK(retried);
}

TEST(RedisDurableWriteTest, NoWaitWithoutReplicasByDefault) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> server, RedisServer::Start());
  ASSERT_OK_AND_ASSIGN(OpenedStores stores,
                       OpenStoreUrl(absl::StrCat("redis://", server->address()), UrlOptions()));
  EXPECT_EQ(stores.client->options().durable_replicas, 0);
  InventorySpec spec;
  spec.general_admission = 1;
  ASSERT_OK(stores.sale.inventory->SetInventory("ev", spec));
  HoldRequest hold;
  hold.event_id = "ev";
  hold.user_id = "alice";
  hold.quantity = 1;
  ASSERT_OK_AND_ASSIGN(Reservation held, stores.sale.inventory->Hold(hold));
  ASSERT_OK(stores.sale.inventory->Confirm(held.reservation_id));

  StoreUrlOptions bad = UrlOptions();
  bad.redis.durable_replicas = 1;
  bad.redis.durable_timeout = absl::Seconds(5);  // longer than the command timeout
  EXPECT_EQ(OpenStoreUrl(absl::StrCat("redis://", server->address()), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace testing
}  // namespace admission
