// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/redis_cluster.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace admission {
namespace testing {

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Start(int masters,
                                                                  const std::string& password) {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());
  cluster->password_ = password;
  for (int i = 0; i < masters; ++i) {
    RedisServerOptions options;
    options.cluster = true;
    options.password = password;
    auto node = RedisServer::Start(options);
    if (!node.ok()) return node.status();
    // Distinct config epochs from the start, as redis-cli --cluster create sets them: nodes
    // that all start at epoch 0 resolve the collision by gossip a while later, and a slot
    // moved before that could be handed back to its old owner (seen as a flaky
    // FollowsASlotThatMoved on a loaded machine).
    if (auto r = (*node)->Command({"CLUSTER", "SET-CONFIG-EPOCH", absl::StrCat(i + 1)}); !r.ok()) {
      return r.status();
    }
    cluster->nodes_.push_back(std::move(node).value());
  }
  for (int i = 0; i < masters; ++i) {
    RedisServer& node = cluster->node(i);
    if (i > 0) {
      auto met =
          cluster->node(0).Command({"CLUSTER", "MEET", node.host(), absl::StrCat(node.port()),
                                    absl::StrCat(node.bus_port())});
      if (!met.ok()) return met.status();
    }
    const int first = i * 16384 / masters;
    const int last = (i + 1) * 16384 / masters - 1;
    auto added =
        node.Command({"CLUSTER", "ADDSLOTSRANGE", absl::StrCat(first), absl::StrCat(last)});
    if (!added.ok()) return added.status();
  }
  if (absl::Status s = cluster->WaitUntilOk(); !s.ok()) return s;
  return cluster;
}

absl::Status RedisCluster::WaitUntilOk() {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string last;
  while (absl::Now() < deadline) {
    bool ok = true;
    for (const auto& node : nodes_) {
      auto info = node->Command({"CLUSTER", "INFO"});
      if (!info.ok()) return info.status();
      last = *info;
      if (!absl::StrContains(*info, "cluster_state:ok") ||
          !absl::StrContains(*info, absl::StrCat("cluster_known_nodes:", nodes_.size())) ||
          !absl::StrContains(*info, "cluster_slots_ok:16384")) {
        ok = false;
        break;
      }
    }
    if (ok) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("cluster did not become ok:\n", last));
}

absl::StatusOr<std::string> RedisCluster::Id(int node) {
  return this->node(node).Command({"CLUSTER", "MYID"});
}

absl::StatusOr<int> RedisCluster::KeySlot(const std::string& key) {
  auto slot = node(0).Command({"CLUSTER", "KEYSLOT", key});
  if (!slot.ok()) return slot.status();
  int n = -1;
  if (!absl::SimpleAtoi(*slot, &n)) return absl::InternalError(*slot);
  return n;
}

absl::StatusOr<int> RedisCluster::OwnerOf(int slot) {
  // CLUSTER SHARDS would be nicer; CLUSTER NODES is plain text and gives slot ranges per node.
  auto nodes = node(0).Command({"CLUSTER", "NODES"});
  if (!nodes.ok()) return nodes.status();
  for (absl::string_view line : absl::StrSplit(*nodes, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 8) continue;
    for (size_t i = 8; i < f.size(); ++i) {
      if (absl::StartsWith(f[i], "[")) continue;  // migration markers
      std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(f[i], '-');
      int lo = 0;
      int hi = 0;
      if (!absl::SimpleAtoi(range.first, &lo)) continue;
      if (range.second.empty()) {
        hi = lo;
      } else if (!absl::SimpleAtoi(range.second, &hi)) {
        continue;
      }
      if (slot < lo || slot > hi) continue;
      // f[1] is "host:port@bus"; find which node that is.
      const absl::string_view address = f[1].substr(0, f[1].find('@'));
      for (int n = 0; n < size(); ++n) {
        if (address == node(n).address()) return n;
      }
    }
  }
  return absl::NotFoundError(absl::StrCat("no owner for slot ", slot));
}

absl::Status RedisCluster::BeginMigration(int slot, int to) {
  auto from = OwnerOf(slot);
  if (!from.ok()) return from.status();
  auto from_id = Id(*from);
  auto to_id = Id(to);
  if (!from_id.ok()) return from_id.status();
  if (!to_id.ok()) return to_id.status();
  const std::string s = absl::StrCat(slot);
  if (auto r = node(to).Command({"CLUSTER", "SETSLOT", s, "IMPORTING", *from_id}); !r.ok()) {
    return r.status();
  }
  if (auto r = node(*from).Command({"CLUSTER", "SETSLOT", s, "MIGRATING", *to_id}); !r.ok()) {
    return r.status();
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::FinishMigration(int slot, int to) {
  auto from = OwnerOf(slot);
  if (!from.ok()) return from.status();
  auto to_id = Id(to);
  if (!to_id.ok()) return to_id.status();
  const std::string s = absl::StrCat(slot);
  for (;;) {
    auto keys = node(*from).Command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (!keys.ok()) return keys.status();
    if (keys->empty()) break;
    std::vector<std::string> migrate = {
        "MIGRATE", node(to).host(), absl::StrCat(node(to).port()), "", "0", "5000"};
    if (!password_.empty()) {
      migrate.push_back("AUTH");
      migrate.push_back(password_);
    }
    migrate.push_back("KEYS");
    for (absl::string_view key : absl::StrSplit(*keys, '\n', absl::SkipEmpty())) {
      migrate.emplace_back(key);
    }
    if (auto r = node(*from).Command(migrate); !r.ok()) return r.status();
  }
  // The target first, then the others (the order redis-cli uses).
  if (auto r = node(to).Command({"CLUSTER", "SETSLOT", s, "NODE", *to_id}); !r.ok()) {
    return r.status();
  }
  for (int n = 0; n < size(); ++n) {
    if (n == to) continue;
    if (auto r = node(n).Command({"CLUSTER", "SETSLOT", s, "NODE", *to_id}); !r.ok()) {
      return r.status();
    }
  }
  return WaitUntilOk();
}

absl::Status RedisCluster::MoveSlot(int slot, int to) {
  if (absl::Status s = BeginMigration(slot, to); !s.ok()) return s;
  return FinishMigration(slot, to);
}

}  // namespace testing
}  // namespace admission
