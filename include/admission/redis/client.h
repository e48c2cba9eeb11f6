// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The connection to Redis that a process's Redis stores share: the room's store
// (NewRedisStore in room_store.h) and the sale (NewRedisTicketing in ticketing.h) run their
// scripts over one RedisClient, so a gateway holds one pool of connections and one cluster
// slot map, whatever it serves. open.h builds one from a URL.
//
//   admission::RedisClientOptions options;
//   options.host = "10.0.0.7";
//   absl::StatusOr<std::shared_ptr<admission::RedisClient>> client =
//       admission::RedisClient::Connect(options);
//   if (!client.ok()) return client.status();
//   auto room = admission::NewRedisStore(*client);
//   auto sale = admission::NewRedisTicketing(*client);
//
// Link admission::redis (it needs hiredis; admission::admission does not).
//
// With Sentinel (RedisClientOptions::sentinel_master), the client finds the primary through
// the sentinels and follows failovers; see the options.
//
// Single server or Redis Cluster: the client asks the server it reaches (INFO cluster). On a
// cluster it reads the slot map from that node and sends each script to the master owning its
// keys' hash slot, following MOVED and ASK redirections and refreshing the map as the cluster
// changes; every key of one event (one idempotency key, one queue) shares a hash tag, so each
// script touches one slot.
//
// Connections: pool_size connections per server, shared by all threads; the requests of
// concurrent callers are pipelined (whatever queued on a connection while a round trip was in
// flight goes out in the next one), so a few connections serve many threads. A connection the
// server closed (a restart) is replaced before it is used; one that failed is replaced on the
// next call. A script missing from the server's cache (restart, failover, SCRIPT FLUSH) is
// sent again.
//
// Errors of every call on a Redis store: Unauthenticated when the server refuses the
// credentials (or wants some) on a new connection, e.g. after a password change;
// PermissionDenied when an ACL user lacks a command or a key the store needs (NOPERM;
// docs/gateway.md lists what the store needs); Unavailable when the server cannot be reached,
// refuses service for now, or dropped the connection (the message names host:port; if the
// drop came after the request was sent, the call may have taken effect); DeadlineExceeded
// when the server did not answer within command_timeout (the call may or may not have taken
// effect); Internal when Redis answers something the library cannot understand; otherwise the
// same codes as the in-memory stores. Nothing waits forever: a call waits for at most the
// round trips queued ahead of it on its connection, each bounded by connect_timeout +
// command_timeout.
#ifndef ADMISSION_REDIS_CLIENT_H_
#define ADMISSION_REDIS_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {

namespace redis_internal {
struct ClientAccess;
}  // namespace redis_internal

struct RedisAddress {
  std::string host;
  int port = 6379;
};

struct RedisClientOptions {
  // The server: a single server, or any node of a cluster (the client detects which).
  std::string host = "127.0.0.1";
  int port = 6379;
  // Redis Cluster seeds, used instead of host and port when not empty: tried in order, the
  // first that answers is used (the others only matter when the first ones are down at
  // start-up; afterwards the client follows the cluster itself). A seed that is a standalone
  // server is refused (FailedPrecondition): processes that fell back to different standalone
  // servers would each serve a line of their own.
  std::vector<RedisAddress> cluster_seeds;
  // Connections to each server, shared (and pipelined) by all calling threads.
  int pool_size = 4;
  absl::Duration connect_timeout = absl::Seconds(1);
  // How long a round trip may take (sending, then each reply).
  absl::Duration command_timeout = absl::Seconds(2);
  // Prefix of every key of the stores on this client; lets several rooms share one Redis.
  // Must not contain '{' or '}' (they would change the keys' hash tags).
  std::string key_prefix = "adm";
  // Credentials, sent (AUTH) on every connection the client opens, before anything else: to
  // the server, to every cluster node, and again on each reconnect. A password alone is the
  // default user's (`AUTH password`, what requirepass sets); with a username it is a Redis 6+
  // ACL user's (`AUTH username password`). Empty password: no AUTH. A username without a
  // password is InvalidArgument. Connect fails with Unauthenticated when the server refuses
  // them ("refused the credentials for user X") or needs a password and none was given, and
  // with FailedPrecondition when a password is given for a default user that has none (the
  // server would answer every AUTH with an error; give username "default" to authenticate
  // anyway, e.g. while rolling a password out). Never part of any message the library makes.
  std::string username;
  std::string password;

  // Redis with replicas under Sentinel, used instead of host/port and cluster_seeds when
  // sentinel_master is not empty: the sentinels are asked in order (SENTINEL
  // get-master-addr-by-name) for the primary of `sentinel_master`; the client connects to the
  // answer with the credentials above and uses it only if ROLE says master (a sentinel's stale
  // answer never makes it write to a replica). Connect fails with Unavailable when no sentinel
  // answers or none names a reachable primary, and with NotFound when the sentinels do not know
  // the master's name.
  //
  // Failover: when a call finds the primary unreachable, too slow, or demoted (READONLY), that
  // call fails with Unavailable and a background thread asks the sentinels again (every 100 ms
  // until one names a primary whose ROLE is master); calls meanwhile fail fast with Unavailable
  // (or DeadlineExceeded, within the timeouts above), then go to the new primary over new
  // connections (those to the old one are dropped). The function libraries are loaded on the
  // new primary if it lacks them. No sentinel round trip happens on a call's path.
  std::string sentinel_master;
  std::vector<RedisAddress> sentinels;
  // The sentinels' own credentials (AUTH to a sentinel with requirepass), apart from the data
  // nodes' above; the same rules. Never part of any message.
  std::string sentinel_username;
  std::string sentinel_password;

  // Durable writes (the sale's confirm, the outcome queue's publish and ack): after such a
  // script the client sends `WAIT durable_replicas durable_timeout` on the same connection, and
  // when fewer replicas than that acknowledged the write in time, the call fails with
  // Unavailable ("not confirmed by a replica"): the write stands on the primary, but may be lost
  // if it fails over now (a retry is safe: those calls are idempotent). Best effort, as Redis
  // documents WAIT: a replica that acknowledged can still lose the write in some failovers;
  // pair it with min-replicas-to-write on the primary (docs/gateway.md). -1: 1 with Sentinel
  // (replicas are expected), 0 (no WAIT) otherwise. durable_timeout must be shorter than
  // command_timeout when replicas are waited for (InvalidArgument otherwise); while a WAIT blocks,
  // the calls queued behind it on its connection wait too.
  int durable_replicas = -1;
  absl::Duration durable_timeout = absl::Milliseconds(500);
};

class RedisClient {
 public:
  // Checks the options (InvalidArgument, before any connection), connects (one connection, to
  // fail early when the server is unreachable) and, on a cluster, reads the slot map.
  static absl::StatusOr<std::shared_ptr<RedisClient>> Connect(const RedisClientOptions& options);

  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // The options it was made with; host and port are those of the server (or the seed) it
  // reached.
  const RedisClientOptions& options() const;
  // Whether that server is a Redis Cluster node.
  bool cluster() const;
  // With Sentinel: the primary the calls go to now ("host:port"; "" while none is known).
  std::string primary() const;

 private:
  friend struct redis_internal::ClientAccess;
  struct Impl;
  explicit RedisClient(std::unique_ptr<Impl> impl);

  const std::unique_ptr<Impl> impl_;
};

// Sets options->sentinel_master and options->sentinels (and the data nodes' credentials, as
// ParseRedisUrl) from "redis-sentinel://[CREDENTIALS@]MASTER@HOST:PORT[,HOST:PORT...]
// [?sentinel_username=U&sentinel_password=P]": CREDENTIALS are the data nodes', MASTER the name
// the sentinels monitor, the HOST:PORT list the sentinels (port 26379 when left out); the query
// parameters, percent-encoded (a '@' must be "%40" there), are the sentinels' own credentials.
// Error messages never show a password.
absl::Status ParseRedisSentinelUrl(std::string_view url, RedisClientOptions* options);

// Sets options->host and options->port from "redis://[user[:password]@]host[:port][/]" (the
// scheme may be omitted; an IPv6 host goes in brackets: redis://[::1]:6380), and
// options->username and options->password when the URL has credentials (percent-decoded:
// "%40" for '@'; ":password@" is the default user's password, "user@" a username alone; the
// last '@' ends them, so a raw '@' or '/' in a password also works). Database numbers other
// than 0 and rediss:// (TLS) are rejected: hiredis 0.14 as shipped has no TLS, and Redis
// Cluster has no databases. Error messages show the URL with its credentials replaced by
// "<credentials>".
absl::Status ParseRedisUrl(std::string_view url, RedisClientOptions* options);

}  // namespace admission

#endif  // ADMISSION_REDIS_CLIENT_H_
