// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The ticketing bundle (ticketing.h) on Redis: any number of gateway processes share one
// inventory, one idempotency store and one outcome queue. Every call is one Lua script
// (lua/ticketing/), run atomically by EVALSHA (EVAL when the server lost its script cache),
// so a Hold takes all its seats or none even with many processes at once. Works on a single
// server and on Redis Cluster: the keys of one sale event, of one idempotency key and of one
// queue share a hash tag, so each script touches one slot.
//
// Keys (<p> is RedisClientOptions::key_prefix; braces are the hash tag). Every key a script
// touches is one of its declared KEYS:
//   <p>:tk:{<event>}:inv           HASH   kind (named | ga), total, held, sold
//   <p>:tk:{<event>}:seats         HASH   seat id -> state (A, H or S) and position
//   <p>:tk:{<event>}:avail         ZSET   available named seats by position (first-available)
//   <p>:tk:{<event>}:holds         ZSET   reservation id -> hold expiry (us): the expiry sweep
//   <p>:tk:{<event>}:res           HASH   reservation id -> its record
//   <p>:tk:{<event>}:ended         ZSET   reservation id -> when it ended (us): dropped from
//                                         res after reservation_retention, bounded per call
//   <p>:tk:events                  SET    events with an inventory (another slot on a cluster:
//                                         written before the script, like <p>:events)
//   <p>:idem:{<scope>|<key>}       HASH   one idempotency entry (fingerprint, state, lease,
//                                         expiry, response); PEXPIREs by itself. The key's
//                                         characters '{', '}' and '%' are %-escaped (scopes
//                                         hold none of them, nor '|').
//   <p>:q:{<queue>}:s              STREAM ready and in-flight messages; consumer group "workers"
//   <p>:q:{<queue>}:e              HASH   message id -> its record (MessagePack: type, payload,
//                                         state, attempts, times, last error)
//   <p>:q:{<queue>}:d              ZSET   delayed messages (not-before time, retries) -> due (us)
//   <p>:q:{<queue>}:l              ZSET   in-flight messages -> lease expiry (us)
//   <p>:q:{<queue>}:x              STREAM dead letters, oldest first
//   <p>:q:{<queue>}:c              ZSET   completed message ids -> completion time, for dedupe
//   <p>:q:{<queue>}:n              HASH   counters (published, completed, ...)
// Logical time (expiries, leases, due times, retention) comes from TicketingOptions::clock and
// is stored in the values, so both stores agree under a SimulatedClock; the idempotency keys'
// Redis TTLs (PEXPIRE) are only garbage collection, set a little longer.
//
// Connections, cluster support and errors: see client.h (the sale runs on a RedisClient it
// shares with the room's store); otherwise the same statuses as the in-memory bundle.
#ifndef ADMISSION_REDIS_TICKETING_H_
#define ADMISSION_REDIS_TICKETING_H_

#include <memory>

#include "absl/status/statusor.h"
#include "admission/redis/client.h"
#include "admission/ticketing/ticketing.h"

namespace admission {

// The sale on `client` (not null), under the client's key prefix; loads the scripts. Time
// comes from options.clock. The three parts keep the client alive. Link admission::redis.
absl::StatusOr<Ticketing> NewRedisTicketing(std::shared_ptr<RedisClient> client,
                                            const TicketingOptions& options = {});

}  // namespace admission

#endif  // ADMISSION_REDIS_TICKETING_H_
