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
// (src/redis/room/key_layout.h and lua/room/keys.lua have the details), so a script touches a
// single hash slot and runs unchanged on Redis Cluster. The registry of events, <prefix>:events (a
// SET), is written next to the scripts (pipelined in the same round trip), not by them, because on
// a cluster it lives in another slot. A user's data is removed when the user's record is forgotten
// (ended_ttl after they left), so memory follows the live line.
//
// Connections, cluster support and the errors of every call: see client.h; the store runs on
// a RedisClient it shares with the sale (ticketing.h). The key prefix is the client's.
#ifndef ADMISSION_REDIS_ROOM_STORE_H_
#define ADMISSION_REDIS_ROOM_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "admission/clock.h"
#include "admission/redis/client.h"
#include "admission/room/store.h"

namespace admission {

struct RedisStoreOptions {
  // Source of time; not owned, must outlive the store. nullptr: the Redis server's clock (TIME
  // inside the scripts), so that gateways with skewed clocks agree on TTLs, tiers and the
  // bucket. Tests inject a SimulatedClock.
  Clock* clock = nullptr;
  // Passed deadlines applied at the start of every call on an event (see MemoryStoreOptions).
  int64_t sweep_per_call = 64;
  // The per-event secret behind the pre-queue shuffle and the random method's draws, as
  // MemoryStoreOptions::event_secret: asked for by the calls that may create an event, and
  // stored in Redis only by the one that creates it (so every process sharing the event uses
  // the same). Unset: 64 bits from the kernel's CSPRNG (getrandom). Tests set it to get
  // reproducible orders; a service should leave it unset.
  std::function<uint64_t(std::string_view event_id)> event_secret;
  // Concurrent Status calls of one event are served together, by one function call of at most
  // this many users (1 to 1024; 1: every call on its own), and so are concurrent Join calls.
  // Each user still gets their own answer; the per-call work on Redis (the event's state, the
  // sweep, the grants' step) is paid once per batch. A batch starts as soon as one of the
  // event's two batch slots is free, so a lone call never waits for others; a call that waits
  // longer than the client's command_timeout for a slot (a stalled server) fails Unavailable
  // unsent. (When joins that may create the event are batched, the first one's policy
  // creates it.)
  int max_batch = 64;
};

// The room's store on `client` (not null), under the client's key prefix; loads the scripts.
// The store is thread-safe and keeps the client alive.
absl::StatusOr<std::unique_ptr<Store>> NewRedisStore(std::shared_ptr<RedisClient> client,
                                                     const RedisStoreOptions& options = {});

}  // namespace admission

#endif  // ADMISSION_REDIS_ROOM_STORE_H_
