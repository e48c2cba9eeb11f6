// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store: every event's line lives in Redis, so any number of gateway processes on any
// number of machines serve one fair line. Each user action is one Lua script (lua/), run
// atomically by EVALSHA in one round trip; the scripts implement docs/rules.md exactly as the
// in-memory store does (the same conformance tests run against both).
//
// Link admission::redis (it needs hiredis; admission::admission does not).
//
// Keys: every key of an event carries the hash tag {<event_id>}:
//   <prefix>:{<event>}:m      HASH     policy, bucket, counters, rate windows, the secret
//   <prefix>:{<event>}:l...   STRINGs  the line (a bitmap over join sequence numbers)
//   <prefix>:{<event>}:q      ZSET     the pre-queue, by its shuffled slot (fair openings)
//   <prefix>:{<event>}:f      ZSET     the random method's drawn users, by draw number
//   <prefix>:{<event>}:d      ZSET     deadlines (heartbeat, active TTL, retention of ended users)
//   <prefix>:{<event>}:r:<n>  HASHes   the records, by token
//   <prefix>:{<event>}:u:<n>  HASHes   user id -> token, for users waiting or admitted
// (src/redis/key_layout.h and lua/room/keys.lua have the details), so a script touches a single
// hash slot and runs unchanged on Redis Cluster. The registry of events, <prefix>:events (a SET),
// is written next to the scripts (pipelined in the same round trip), not by them, because on a
// cluster it lives in another slot. A user's data is removed when the user's record is forgotten
// (ended_ttl after they left), so memory follows the live line.
//
// Connections: pool_size connections shared by all threads; the requests of concurrent callers
// are pipelined (whatever queued on a connection while a round trip was in flight goes out in
// the next one), so a few connections serve many threads. A connection the server closed (a
// restart) is replaced before it is used; one that failed is replaced on the next call. A
// script missing from the server's cache (restart, failover, SCRIPT FLUSH) is sent again.
//
// Errors: Unavailable when the server cannot be reached, refuses service for now, or dropped
// the connection (the message names host:port; if the drop came after the request was sent,
// the call may have taken effect); DeadlineExceeded when the server did not answer within
// command_timeout (the call may or may not have taken effect); Internal when Redis answers
// something the store cannot understand; otherwise the same codes as the memory store. Nothing
// waits forever: a call waits for at most the round trips queued ahead of it on its connection,
// each bounded by connect_timeout + command_timeout.
#ifndef ADMISSION_REDIS_ROOM_STORE_H_
#define ADMISSION_REDIS_ROOM_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/store.h"

namespace admission {

struct RedisStoreOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Connections to the server, shared (and pipelined) by all calling threads.
  int pool_size = 4;
  absl::Duration connect_timeout = absl::Seconds(1);
  // How long a round trip may take (sending, then each reply).
  absl::Duration command_timeout = absl::Seconds(2);
  // Source of time; not owned, must outlive the store. nullptr: the Redis server's clock (TIME
  // inside the scripts), so that gateways with skewed clocks agree on TTLs, tiers and the
  // bucket. Tests inject a SimulatedClock.
  Clock* clock = nullptr;
  // Passed deadlines applied at the start of every call on an event (see MemoryStoreOptions).
  int64_t sweep_per_call = 64;
  // Prefix of every key; lets several stores share one Redis. Must not contain '{' or '}'.
  std::string key_prefix = "adm";
  // The per-event secret behind the pre-queue shuffle and the random method's draws, as
  // MemoryStoreOptions::event_secret: asked for by the calls that may create an event, and
  // stored in Redis only by the one that creates it (so every process sharing the event uses
  // the same). Unset: 64 bits from the kernel's CSPRNG (getrandom). Tests set it to get
  // reproducible orders; a service should leave it unset.
  std::function<uint64_t(std::string_view event_id)> event_secret;
};

// Connects (one connection, to fail early when the server is unreachable) and loads the
// scripts. The store is thread-safe.
absl::StatusOr<std::unique_ptr<Store>> NewRedisStore(const RedisStoreOptions& options);

// Sets options->host and options->port from "redis://host[:port][/]" (the scheme may be
// omitted; an IPv6 host goes in brackets: redis://[::1]:6380). Credentials, database numbers
// other than 0 and rediss:// (TLS) are rejected: hiredis 0.14 as shipped has no TLS, and
// Redis Cluster has no databases.
absl::Status ParseRedisUrl(std::string_view url, RedisStoreOptions* options);

}  // namespace admission

#endif  // ADMISSION_REDIS_ROOM_STORE_H_
