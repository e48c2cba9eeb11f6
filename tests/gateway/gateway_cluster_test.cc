// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway on a real 3-master Redis Cluster (--store=redis-cluster://...): users join,
// poll and enter over HTTP in events that live on different masters; two gateways on the same
// cluster serve one line; and a redis-cluster:// URL that reaches no cluster node is a clear
// startup error (exit 1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"
#include "support/redis/redis_cluster.h"
#include "support/redis/redis_server.h"

namespace admission::gateway::testing {
namespace {

using ::admission::testing::RedisCluster;
using ::admission::testing::RedisServer;
using Json = nlohmann::json;

constexpr char kAdminToken[] = "cluster-admin";

// A loopback port nothing listens on: bound to a free port, then closed again.
int DeadPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 1;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

class GatewayClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = RedisCluster::Start(3);
    if (!cluster.ok()) {
      start_error_ = new std::string(cluster.status().ToString());
      return;
    }
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(cluster_, nullptr) << (start_error_ ? *start_error_ : ""); }

  // The flags of a gateway on the cluster. The first seed is dead, so every gateway here also
  // proves that the seeds are tried in order.
  std::vector<std::string> Flags(const std::string& prefix) const {
    std::vector<std::string> flags = OpenRoomFlags();
    flags.insert(flags.end(),
                 {absl::StrCat("--store=redis-cluster://127.0.0.1:", DeadPort(), ",",
                               cluster_->node(1).address(), ",", cluster_->node(2).address()),
                  "--redis_key_prefix=" + prefix, "--redis_pool_size=2",
                  absl::StrCat("--admin_token=", kAdminToken), "--token_secret=cluster-secret",
                  "--threads=8", "--access_log=false",
                  // The suite names its users.
                  "--identity=trusted"});
    return flags;
  }
  static std::string Prefix() {
    static int next = 0;
    return absl::StrCat("gwc", getpid(), "-", ++next);
  }

  // Which master holds `key` (by CLUSTER KEYSLOT and the slot map); -1 if unknown.
  int OwnerOfKey(const std::string& key) {
    auto slot = cluster_->KeySlot(key);
    if (!slot.ok()) return -1;
    auto owner = cluster_->OwnerOf(*slot);
    return owner.ok() ? *owner : -1;
  }

  static RedisCluster* cluster_;
  static std::string* start_error_;
};

RedisCluster* GatewayClusterTest::cluster_ = nullptr;
std::string* GatewayClusterTest::start_error_ = nullptr;

TEST_F(GatewayClusterTest, JoinStatusEnterLeaveAcrossTheMasters) {
  const std::string prefix = Prefix();
  std::string error;
  auto gateway = GatewayProcess::Start(Flags(prefix), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto client = gateway->Client();
  auto ready = client->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;

  std::set<int> masters;
  for (int i = 0; i < 9; ++i) {
    const std::string event = absl::StrCat("cl-ev-", i);
    // Two users: the first is admitted and completes the path, the second leaves.
    std::vector<std::string> tokens;
    for (const char* user : {"ann", "bob"}) {
      auto r =
          client->Post("/api/v1/queue/join", Json{{"event_id", event}, {"user_id", user}}.dump(),
                       "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 202) << r->body;
      tokens.push_back(Body(r)["waiting_token"]);
    }
    auto r = client->Get(("/api/v1/queue/status?token=" + tokens[1]).c_str());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Body(r)["position"], 2) << r->body;
    EXPECT_EQ(Body(r)["event_id"], event);

    r = client->Post("/api/v1/queue/enter", Json{{"waiting_token", tokens[0]}}.dump(),
                     "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Body(r)["admission"], "granted");
    const std::string reservation = Body(r)["reservation_token"];
    r = client->Get(("/api/v1/queue/status?token=" + tokens[0]).c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(Body(r)["status"], "active") << r->body;

    r = client->Delete(("/api/v1/queue/leave?token=" + tokens[1]).c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Body(r)["status"], "left");
    r = client->Post("/api/v1/queue/complete", Bearer(reservation), "", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;

    r = client->Get(("/admin/v1/events/" + event + "/stats").c_str(), Bearer(kAdminToken));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json stats = Body(r);
    EXPECT_EQ(stats["joined_total"], 2) << r->body;
    EXPECT_EQ(stats["admitted_total"], 1) << r->body;
    EXPECT_EQ(stats["left_total"], 1) << r->body;
    EXPECT_EQ(stats["completed_total"], 1) << r->body;

    // The event's state is on the master that owns its hash slot, and only there.
    const std::string meta = absl::StrCat(prefix, ":{", event, "}:m");
    const int owner = OwnerOfKey(meta);
    ASSERT_GE(owner, 0) << meta;
    masters.insert(owner);
    for (int n = 0; n < cluster_->size(); ++n) {
      auto exists = cluster_->node(n).Command({"EXISTS", meta});
      if (n == owner) {
        ASSERT_TRUE(exists.ok()) << exists.status();
        EXPECT_EQ(*exists, "1") << meta << " on node " << n;
      } else if (exists.ok()) {
        EXPECT_EQ(*exists, "0") << meta << " on node " << n;  // else MOVED: not its slot
      }
    }
  }
  EXPECT_GE(masters.size(), 2u) << "nine events all landed on one master";

  auto metrics = client->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("admission_event_joined_total{event=\"cl-ev-8\"} 2"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("admission_gateway_store_errors_total 0"), std::string::npos);
}

TEST_F(GatewayClusterTest, TwoGatewaysServeOneLine) {
  const std::string prefix = Prefix();
  std::string error;
  auto a = GatewayProcess::Start(Flags(prefix), &error);
  ASSERT_NE(a, nullptr) << error;
  auto b = GatewayProcess::Start(Flags(prefix), &error);
  ASSERT_NE(b, nullptr) << error;
  auto ca = a->Client();
  auto cb = b->Client();
  // Pause the room so that nobody is admitted while the line forms.
  auto r = ca->Put("/admin/v1/events/shared/policy", Bearer(kAdminToken), R"({"paused":true})",
                   "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    httplib::Client& c = i % 2 == 0 ? *ca : *cb;
    r = c.Post("/api/v1/queue/join",
               Json{{"event_id", "shared"}, {"user_id", absl::StrCat("u", i)}}.dump(),
               "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(Body(r)["position_hint"], i + 1) << r->body;
    tokens.push_back(Body(r)["waiting_token"]);
  }
  // The same user joining again through the other gateway gets the same place, not a second.
  r = cb->Post("/api/v1/queue/join", R"({"event_id":"shared","user_id":"u0"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["waiting_token"], tokens[0]) << r->body;
  EXPECT_EQ(Body(r)["resumed"], true) << r->body;
  // Positions agree whichever gateway is asked.
  for (int i = 0; i < 4; ++i) {
    auto ra = ca->Get(("/api/v1/queue/status?token=" + tokens[i]).c_str());
    auto rb = cb->Get(("/api/v1/queue/status?token=" + tokens[i]).c_str());
    ASSERT_TRUE(ra);
    ASSERT_TRUE(rb);
    EXPECT_EQ(Body(ra)["position"], i + 1) << ra->body;
    EXPECT_EQ(Body(rb)["position"], i + 1) << rb->body;
  }
  r = cb->Put("/admin/v1/events/shared/policy", Bearer(kAdminToken), R"({"paused":false})",
              "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // Admitted through B, completed through A with B's signed token (same --token_secret).
  r = cb->Post("/api/v1/queue/enter", Json{{"waiting_token", tokens[0]}}.dump(),
               "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string reservation = Body(r)["reservation_token"];
  r = ca->Post("/api/v1/queue/complete", Bearer(reservation), "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto status = ca->Get(("/api/v1/queue/status?token=" + tokens[1]).c_str());
  ASSERT_TRUE(status);
  EXPECT_EQ(Body(status)["position"], 1) << status->body;
}

TEST_F(GatewayClusterTest, NoClusterNodeIsAStartupError) {
  // Only dead seeds: exit 1, naming every seed.
  const int dead1 = DeadPort();
  const int dead2 = DeadPort();
  GatewayProcess::Exit exit = GatewayProcess::RunToExit(
      {absl::StrCat("--store=redis-cluster://127.0.0.1:", dead1, ",127.0.0.1:", dead2)},
      std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.code, 1) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("no seed answered"), std::string::npos) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find(absl::StrCat(dead2)), std::string::npos) << exit.stderr_text;

  // A standalone server behind redis-cluster:// is refused (gateways falling back to different
  // standalone servers would each serve a line of their own); redis:// takes it.
  auto standalone = RedisServer::Start();
  ASSERT_TRUE(standalone.ok()) << standalone.status();
  exit = GatewayProcess::RunToExit(
      {"--store=redis-cluster://" + (*standalone)->address(), "--redis_key_prefix=" + Prefix()},
      std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.code, 1) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("is not a Redis Cluster node"), std::string::npos)
      << exit.stderr_text;
  std::string error;
  auto single = GatewayProcess::Start(
      {"--store=redis://" + (*standalone)->address(), "--redis_key_prefix=" + Prefix()}, &error);
  EXPECT_NE(single, nullptr) << error;

  // A malformed seed list is an error too.
  exit = GatewayProcess::RunToExit({"--store=redis-cluster://127.0.0.1:1,:bad"},
                                   std::chrono::seconds(20));
  ASSERT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.code, 1) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("seed ':bad'"), std::string::npos) << exit.stderr_text;
}

}  // namespace
}  // namespace admission::gateway::testing
