// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A real Redis Cluster for tests: N masters (no replicas) on free loopback ports, the 16384
// slots split evenly between them, joined with CLUSTER MEET and ADDSLOTSRANGE (what
// `redis-cli --cluster create` does, without its prompts). Stopped with the object.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_REDIS_CLUSTER_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_REDIS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "support/redis/redis_server.h"

namespace admission {
namespace testing {

class RedisCluster {
 public:
  // Starts `masters` nodes and waits until every node reports cluster_state:ok. A non-empty
  // `password` is required by every node (RedisServerOptions::password; MoveSlot's MIGRATE
  // sends it).
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Start(int masters = 3,
                                                             const std::string& password = "");

  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  RedisServer& node(int i) { return *nodes_[static_cast<size_t>(i)]; }

  // The slot of `key`, as the cluster computes it (CLUSTER KEYSLOT).
  absl::StatusOr<int> KeySlot(const std::string& key);
  // Which node owns `slot` now, per node 0's view (CLUSTER SLOTS).
  absl::StatusOr<int> OwnerOf(int slot);

  // Moves `slot` from its owner to node `to` as redis-cli --cluster reshard does: IMPORTING on
  // the target, MIGRATING on the source, MIGRATE every key, then SETSLOT NODE everywhere.
  absl::Status MoveSlot(int slot, int to);
  // The first half of MoveSlot (IMPORTING / MIGRATING, no key moved yet): the source answers
  // ASK for keys it does not have.
  absl::Status BeginMigration(int slot, int to);
  // The second half: moves the remaining keys and hands the slot over.
  absl::Status FinishMigration(int slot, int to);

 private:
  RedisCluster() = default;
  absl::Status WaitUntilOk();
  absl::StatusOr<std::string> Id(int node);

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string password_;
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_REDIS_CLUSTER_H_
