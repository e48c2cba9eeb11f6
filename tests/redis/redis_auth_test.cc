// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Redis credentials: the client authenticates every connection it opens (AUTH with a password,
// or an ACL user and its password), a refusal is a clear start-up error that never shows the
// password, a reconnect authenticates again, and an ACL user limited to the store's key
// prefix and the commands docs/gateway.md lists runs the room and the sale.
#include <hiredis.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "admission/ids.h"
#include "admission/redis/client.h"
#include "admission/redis/open.h"
#include "admission/room/store.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/ticketing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis/client/connection.h"
#include "support/redis/redis_cluster.h"
#include "support/redis/redis_server.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using redis_internal::Command;
using redis_internal::Connection;
using redis_internal::Endpoint;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kUnauthenticated = absl::StatusCode::kUnauthenticated;
constexpr absl::StatusCode kPermissionDenied = absl::StatusCode::kPermissionDenied;
constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;

constexpr char kPassword[] = "s3cret-Pa55";
constexpr char kAclPassword[] = "acl-Pa55word";

// The commands the store needs, as docs/gateway.md's recommended ACL line grants them: the
// client's own (FUNCTION LOAD, FCALL; INFO and CLUSTER SLOTS to find out what the server is;
// ASKING during a cluster slot migration; the event registries' SADD, SMEMBERS, EXISTS) and
// every command the Lua functions call (Redis checks those against the user too).
// StoreAclCoversEveryCommandOfTheLuaCode keeps this in step with lua/.
const std::vector<std::string>& StoreAclCommands() {
  static const auto* const kCommands = new std::vector<std::string>{
      "fcall",          "function|load", "info",       "cluster|slots", "asking",
      "sadd",           "smembers",      "exists",     "bitcount",      "bitfield",
      "bitpos",         "del",           "get",        "getrange",      "hdel",
      "hexists",        "hget",          "hgetall",    "hincrby",       "hmget",
      "hset",           "pexpire",       "setbit",     "setrange",      "time",
      "xack",           "xadd",          "xclaim",     "xdel",          "xgroup|create",
      "xlen",           "xrange",        "xreadgroup", "zadd",          "zcard",
      "zrange",         "zrangebyscore", "zrank",      "zrem",          "zremrangebyrank",
      "zrevrangebylex", "zscore"};
  return *kCommands;
}

// ACL SETUSER <user> on ><password> resetkeys ~<prefix>:* resetchannels -@all +...
std::vector<std::string> AclSetUser(const std::string& user, const std::string& password,
                                    const std::string& prefix) {
  std::vector<std::string> args = {"ACL",
                                   "SETUSER",
                                   user,
                                   "reset",
                                   "on",
                                   ">" + password,
                                   "resetkeys",
                                   "~" + prefix + ":*",
                                   "resetchannels",
                                   "-@all"};
  for (const std::string& command : StoreAclCommands()) args.push_back("+" + command);
  return args;
}

StoreUrlOptions UrlOptions(const std::string& prefix = "adm") {
  StoreUrlOptions options;
  options.redis.key_prefix = prefix;
  options.redis.connect_timeout = absl::Seconds(5);
  options.redis.command_timeout = absl::Seconds(10);
  return options;
}

std::string UrlOf(const RedisServer& server) { return absl::StrCat("redis://", server.address()); }

// The room (join, status, enter) and the sale (inventory, hold, a payment outcome through the
// queue, confirm, an idempotency key) end to end on `stores`, under event `event`.
void RunRoomAndSale(OpenedStores& stores, const std::string& event = "ev") {
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
  ASSERT_OK(room.Stats(event));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> events, room.ListEvents());
  EXPECT_THAT(events, ::testing::Contains(event));
  ASSERT_OK(room.Sweep(event, 10));

  Ticketing& sale = stores.sale;
  InventorySpec spec;
  spec.seat_ids = {"A-1", "A-2"};
  ASSERT_OK(sale.inventory->SetInventory(event, spec));
  HoldRequest hold;
  hold.event_id = event;
  hold.user_id = "alice";
  hold.seat_ids = {"A-1"};
  ASSERT_OK_AND_ASSIGN(Reservation held, sale.inventory->Hold(hold));
  ASSERT_OK_AND_ASSIGN(IdempotencyBegin begun, sale.idempotency->Begin("pay", event, "fp"));
  ASSERT_EQ(begun.outcome, IdempotencyOutcome::kStarted);
  ASSERT_OK(sale.idempotency->Finish("pay", event, begun.lease, "{}"));
  ASSERT_OK(sale.outcomes->Publish(PaymentApprovedMessage(held.reservation_id, 1, "EUR")));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> claimed,
                       sale.outcomes->Claim("worker", 10, absl::Seconds(30)));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(sale.inventory->Confirm(held.reservation_id));
  ASSERT_OK(sale.outcomes->Ack(claimed.front().message.id));
  ASSERT_OK_AND_ASSIGN(Reservation confirmed, sale.inventory->Get(held.reservation_id));
  EXPECT_EQ(confirmed.status, ReservationStatus::kConfirmed);
  ASSERT_OK(sale.inventory->GetAvailability(event, true));
  ASSERT_OK(sale.inventory->SweepExpiredHolds(event, 10));
  ASSERT_OK(sale.inventory->ListEvents());
  ASSERT_OK(sale.outcomes->Stats());
}

// ---------------------------------------------------------------------------------------------
// URLs

TEST(RedisUrlCredentialsTest, ReadsPercentDecodedCredentials) {
  RedisClientOptions o;
  ASSERT_OK(ParseRedisUrl("redis://adm:s%40c%3Aret%25@cache.local:7000/0", &o));
  EXPECT_EQ(o.username, "adm");
  EXPECT_EQ(o.password, "s@c:ret%");
  EXPECT_EQ(o.host, "cache.local");
  EXPECT_EQ(o.port, 7000);

  o = RedisClientOptions();
  ASSERT_OK(ParseRedisUrl("redis://:only-pw@h", &o));
  EXPECT_EQ(o.username, "");
  EXPECT_EQ(o.password, "only-pw");
  EXPECT_EQ(o.port, 6379);

  o = RedisClientOptions();
  o.password = "from-elsewhere";
  ASSERT_OK(ParseRedisUrl("redis://adm@h:1", &o));
  EXPECT_EQ(o.username, "adm");
  EXPECT_EQ(o.password, "from-elsewhere");  // the URL has none: left as it was

  // A raw '@', '/' or ':' in a password: the credentials end at the last '@'.
  o = RedisClientOptions();
  ASSERT_OK(ParseRedisUrl("redis://u:p@s/s:w@[::1]:6380", &o));
  EXPECT_EQ(o.username, "u");
  EXPECT_EQ(o.password, "p@s/s:w");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6380);
}

TEST(RedisUrlCredentialsTest, ErrorsNeverShowThePassword) {
  for (const char* bad :
       {"redis://u:hunter2@h:x", "redis://u:hunter2@h:1/3", "rediss://u:hunter2@h:1",
        "redis://u:hunter2%zz@h:1", "redis://u:hunter2%4@h:1", "redis://:hunter2@",
        "redis://u:hunter2@::1:5"}) {
    RedisClientOptions o;
    const absl::Status s = ParseRedisUrl(bad, &o);
    EXPECT_STATUS_CODE(s, kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2"))) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("<credentials>")) << bad;
  }
  for (const char* bad : {"redis-cluster://u:hunter2@h:1,h:x", "redis-cluster://u:hunter2@h:x",
                          "redis://u:hunter2@h:0"}) {
    absl::StatusOr<OpenedStores> opened = OpenStoreUrl(bad, UrlOptions());
    EXPECT_STATUS_CODE(opened, kInvalidArgument) << bad;
    EXPECT_THAT(std::string(opened.status().message()), Not(HasSubstr("hunter2"))) << bad;
  }
}

TEST(RedisUrlCredentialsTest, AUsernameWithoutAPasswordIsRefusedBeforeConnecting) {
  RedisClientOptions o;
  o.port = 1;  // nobody listens: the options are checked first
  o.username = "adm";
  const absl::StatusOr<std::shared_ptr<RedisClient>> client = RedisClient::Connect(o);
  EXPECT_STATUS_CODE(client, kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("'adm'"));
}

// ---------------------------------------------------------------------------------------------
// A server with requirepass

class RedisPasswordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisServerOptions options;
    options.password = kPassword;
    ASSERT_OK_AND_ASSIGN(server_, RedisServer::Start(options));
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisPasswordTest, TheRoomAndTheSaleRunWithThePassword) {
  StoreUrlOptions options = UrlOptions();
  options.redis.password = kPassword;
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(UrlOf(*server_), options));
  EXPECT_EQ(stores.name, UrlOf(*server_));  // no credentials in the printed name
  RunRoomAndSale(stores);
}

TEST_F(RedisPasswordTest, ThePasswordMayComeFromTheUrlAndTheOptionsWin) {
  {
    ASSERT_OK_AND_ASSIGN(
        OpenedStores stores,
        OpenStoreUrl(absl::StrCat("redis://:", kPassword, "@", server_->address()), UrlOptions()));
    EXPECT_EQ(stores.name, UrlOf(*server_));
    RunRoomAndSale(stores, "from-url");
  }
  // The options' password wins over a wrong one in the URL.
  StoreUrlOptions options = UrlOptions();
  options.redis.password = kPassword;
  ASSERT_OK_AND_ASSIGN(OpenedStores stores,
                       OpenStoreUrl(absl::StrCat("redis://:wrong@", server_->address()), options));
  RunRoomAndSale(stores, "options-win");
}

TEST_F(RedisPasswordTest, NoPasswordIsAClearStartUpError) {
  const absl::StatusOr<OpenedStores> opened = OpenStoreUrl(UrlOf(*server_), UrlOptions());
  EXPECT_STATUS_CODE(opened, kUnauthenticated);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("needs a password"));
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr(server_->address()));
}

TEST_F(RedisPasswordTest, AWrongPasswordIsAClearStartUpErrorWithoutThePassword) {
  StoreUrlOptions options = UrlOptions();
  options.redis.password = "hunter2-wrong";
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl(UrlOf(*server_), options);
  EXPECT_STATUS_CODE(opened, kUnauthenticated);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("Redis refused the credentials for the default user"));
  EXPECT_THAT(std::string(opened.status().message()), Not(HasSubstr("hunter2")));

  options.redis.username = "nobody";
  opened = OpenStoreUrl(UrlOf(*server_), options);
  EXPECT_STATUS_CODE(opened, kUnauthenticated);
  EXPECT_THAT(std::string(opened.status().message()),
              HasSubstr("Redis refused the credentials for user 'nobody'"));
  EXPECT_THAT(std::string(opened.status().message()), Not(HasSubstr("hunter2")));
}

TEST_F(RedisPasswordTest, EveryReconnectAuthenticatesAgain) {
  StoreUrlOptions options = UrlOptions();
  options.redis.password = kPassword;
  options.redis.pool_size = 2;
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(UrlOf(*server_), options));
  RunRoomAndSale(stores, "before");

  // The server drops every connection of the store: the pool opens new ones, with AUTH.
  ASSERT_OK(server_->Command({"CLIENT", "KILL", "TYPE", "normal"}));
  for (int i = 0; i < 4; ++i) ASSERT_OK(stores.room->Stats("before")) << i;
  RunRoomAndSale(stores, "after-kill");

  // A restart (no persistence: the functions and the data are gone) costs nothing but the
  // reconnect and the reload, both authenticated.
  ASSERT_OK(server_->Restart());
  RunRoomAndSale(stores, "after-restart");

  // The password changed on the server: a new connection is refused, clearly. (One admin
  // connection for both commands: after the change, RedisServer::Command's AUTH would fail.)
  Endpoint admin{server_->host(), server_->port(), absl::Seconds(5), absl::Seconds(10)};
  admin.password = kPassword;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Connection> connection, Connection::Open(admin));
  ASSERT_OK(connection->Execute(Command{"CONFIG", "SET", "requirepass", "rotated-pw"}));
  ASSERT_OK(connection->Execute(Command{"CLIENT", "KILL", "TYPE", "normal"}));
  absl::Status refused;
  for (int i = 0; i < 4 && refused.ok(); ++i)
    refused = stores.room->Stats("after-restart").status();
  EXPECT_STATUS_CODE(refused, kUnauthenticated);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("refused the credentials"));
  EXPECT_THAT(std::string(refused.message()), Not(HasSubstr(kPassword)));
}

TEST(RedisNoPasswordServerTest, APasswordForAServerWithoutOneIsRefusedClearly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> server, RedisServer::Start());
  StoreUrlOptions options = UrlOptions();
  options.redis.password = "hunter2-unneeded";
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl(UrlOf(*server), options);
  EXPECT_STATUS_CODE(opened, kFailedPrecondition);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("no password"));
  EXPECT_THAT(std::string(opened.status().message()), Not(HasSubstr("hunter2")));
  // As documented: the user "default" authenticates anyway (e.g. while a password is rolled
  // out, before the server requires it).
  options.redis.username = "default";
  ASSERT_OK_AND_ASSIGN(OpenedStores stores, OpenStoreUrl(UrlOf(*server), options));
  RunRoomAndSale(stores);
}

// ---------------------------------------------------------------------------------------------
// An ACL user limited to the store's key prefix and commands

TEST(RedisAclTest, StoreAclCoversEveryCommandOfTheLuaCode) {
  // Every command the Lua code names: redis.call('X', redis.pcall('X', the first element of an
  // argument table { 'X', ... } (run with redis.call(unpack(args))), chunked('X', ...).
  const std::regex command_re(R"((?:redis\.p?call\(|\{ *|chunked\()'([A-Z]+)')");
  std::set<std::string> commands;
  for (const char* dir : {"", "room/", "ticketing/"}) {
    for (const char* name :
         {"complete",   "enter", "find",        "get_policy", "join",    "leave",
          "set_policy", "stats", "status",      "sweep",      "calls",   "deadlines",
          "grants",     "keys",  "line",        "openings",   "records", "render",
          "rules",      "state", "idempotency", "inventory",  "queue"}) {
      std::ifstream in(absl::StrCat(ADMISSION_LUA_DIR, "/", dir, name, ".lua"));
      if (!in) continue;
      std::stringstream text;
      text << in.rdbuf();
      const std::string source = text.str();
      for (std::sregex_iterator it(source.begin(), source.end(), command_re), end; it != end;
           ++it) {
        commands.insert(absl::AsciiStrToLower((*it)[1].str()));
      }
    }
  }
  ASSERT_GT(commands.size(), 20u) << "lua/ not found at " << ADMISSION_LUA_DIR;
  for (const std::string& command : commands) {
    const bool granted = std::any_of(
        StoreAclCommands().begin(), StoreAclCommands().end(), [&](const std::string& acl) {
          return acl == command || absl::StartsWith(acl, command + "|");
        });
    EXPECT_TRUE(granted) << "the Lua code calls " << command
                         << ", which the store's ACL line (docs/gateway.md) does not grant";
  }
}

TEST(RedisAclTest, AnAclUserLimitedToThePrefixRunsTheRoomAndTheSale) {
  RedisServerOptions server_options;
  server_options.password = kPassword;  // the default user's, for the test's own set-up
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> server, RedisServer::Start(server_options));
  ASSERT_OK(server->Command(AclSetUser("adm", kAclPassword, "shop")));

  StoreUrlOptions options = UrlOptions("shop");
  options.redis.password = kAclPassword;
  ASSERT_OK_AND_ASSIGN(OpenedStores stores,
                       OpenStoreUrl(absl::StrCat("redis://adm@", server->address()), options));
  RunRoomAndSale(stores);

  // The limit is real: the same user may not touch a key outside the prefix, nor run a
  // command outside the list.
  Endpoint endpoint{server->host(), server->port(), absl::Seconds(5), absl::Seconds(10)};
  endpoint.username = "adm";
  endpoint.password = kAclPassword;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Connection> connection, Connection::Open(endpoint));
  for (const Command& command : std::vector<Command>{{"HSET", "other:x", "f", "v"},
                                                     {"HSET", "shopping:x", "f", "v"},
                                                     {"FLUSHALL"},
                                                     {"KEYS", "*"}}) {
    ASSERT_OK_AND_ASSIGN(redis_internal::ReplyPtr reply, connection->Execute(command));
    ASSERT_EQ(reply->type, REDIS_REPLY_ERROR)
        << command[0] << " " << (command.size() > 1 ? command[1] : "");
    const absl::Status s = redis_internal::ErrorReplyStatus(
        endpoint.Name(), command[0], std::string_view(reply->str, reply->len));
    EXPECT_STATUS_CODE(s, kPermissionDenied) << s;
  }
  ASSERT_OK_AND_ASSIGN(redis_internal::ReplyPtr inside,
                       connection->Execute(Command{"HSET", "shop:x", "f", "v"}));
  EXPECT_EQ(inside->type, REDIS_REPLY_INTEGER);

  // A store on another prefix is refused by Redis, as PermissionDenied.
  StoreUrlOptions other = UrlOptions("other");
  other.redis.username = "adm";
  other.redis.password = kAclPassword;
  absl::StatusOr<OpenedStores> outside = OpenStoreUrl(UrlOf(*server), other);
  absl::Status refused = outside.status();
  if (outside.ok()) {
    refused = outside->room->SetPolicy("ev", OpenPolicy());
  }
  EXPECT_STATUS_CODE(refused, kPermissionDenied);
}

TEST(RedisAclTest, AnAclUserWithoutACommandTheStoreNeedsIsPermissionDenied) {
  RedisServerOptions server_options;
  server_options.password = kPassword;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisServer> server, RedisServer::Start(server_options));
  std::vector<std::string> acl = AclSetUser("adm", kAclPassword, "adm");
  acl.push_back("-function|load");
  ASSERT_OK(server->Command(acl));
  StoreUrlOptions options = UrlOptions();
  options.redis.username = "adm";
  options.redis.password = kAclPassword;
  absl::StatusOr<OpenedStores> opened = OpenStoreUrl(UrlOf(*server), options);
  EXPECT_STATUS_CODE(opened, kPermissionDenied);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("function|load"));
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster with requirepass (and masterauth) on every node

TEST(RedisClusterAuthTest, EveryNodeIsAuthenticated) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisCluster> cluster, RedisCluster::Start(3, kPassword));
  for (int i = 0; i < cluster->size(); ++i) {
    ASSERT_OK(cluster->node(i).Command(AclSetUser("adm", kAclPassword, "adm")));
  }
  const std::string seeds =
      absl::StrCat(cluster->node(0).address(), ",", cluster->node(1).address());

  absl::StatusOr<OpenedStores> refused =
      OpenStoreUrl(absl::StrCat("redis-cluster://", seeds), UrlOptions());
  EXPECT_STATUS_CODE(refused, kUnauthenticated);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("needs a password"));

  {
    ASSERT_OK_AND_ASSIGN(
        OpenedStores stores,
        OpenStoreUrl(absl::StrCat("redis-cluster://:", kPassword, "@", seeds), UrlOptions()));
    EXPECT_EQ(stores.name, absl::StrCat("redis-cluster://", cluster->node(0).address()));
    ASSERT_TRUE(stores.client->cluster());
    // Events on every master: several hash slots, so every node's pool authenticates.
    for (int i = 0; i < 6; ++i) RunRoomAndSale(stores, absl::StrCat("ev", i));
  }
  // The ACL user, on every node; a slot that moves sends the store to another node's pool
  // (MOVED), which authenticates as the first did.
  StoreUrlOptions options = UrlOptions();
  options.redis.username = "adm";
  options.redis.password = kAclPassword;
  ASSERT_OK_AND_ASSIGN(OpenedStores stores,
                       OpenStoreUrl(absl::StrCat("redis-cluster://", seeds), options));
  RunRoomAndSale(stores, "moving");
  ASSERT_OK_AND_ASSIGN(int slot, cluster->KeySlot("{moving}"));
  ASSERT_OK_AND_ASSIGN(int owner, cluster->OwnerOf(slot));
  ASSERT_OK(cluster->MoveSlot(slot, (owner + 1) % cluster->size()));
  ASSERT_OK(stores.room->Stats("moving"));
  JoinRequest join;
  join.event_id = "moving";
  join.user_id = "bob";
  const std::string token = NewToken("moving");
  join.token = token;
  ASSERT_OK(stores.room->Join(join));
  ASSERT_OK(stores.room->Status("moving", token));
  ASSERT_OK(stores.sale.inventory->GetAvailability("moving", true));
}

}  // namespace
}  // namespace testing
}  // namespace admission
