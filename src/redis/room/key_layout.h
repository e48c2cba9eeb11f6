// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The names of an event's Redis keys (see the layout comment at the top of lua/room/keys.lua).
// Every name carries the hash tag {<event_id>}, so that all of an event's keys live in one cluster
// slot. The scripts take the first four as KEYS, in this order; the record and user buckets, the
// line's blocks and the two sorted sets of fair openings are keys whose names the scripts derive
// from KEYS[1] (so the names below are for tools and tests). Shared by the store and by the
// benchmarks, which hand the same KEYS to redis-benchmark.
#ifndef ADMISSION_SRC_REDIS_ROOM_KEY_LAYOUT_H_
#define ADMISSION_SRC_REDIS_ROOM_KEY_LAYOUT_H_

#include <string>
#include <string_view>

namespace admission::redis_internal {

struct EventKeys {
  std::string meta;       // <prefix>:{<event>}:m    HASH    policy, bucket, counters, windows
  std::string line;       // <prefix>:{<event>}:l    STRING  the line's block counts (Fenwick)
  std::string deadlines;  // <prefix>:{<event>}:d    ZSET    every record's deadline
  // <prefix>:{<event>}:migrating, never written: declared so that Redis Cluster refuses the
  // event's scripts (TRYAGAIN) while its slot is being migrated, because they also touch keys
  // they cannot declare (see lua/room/keys.lua).
  std::string migrating;
  std::string line_blocks;  // <prefix>:{<event>}:l:  + block number: STRING, a bit per sequence
                            // (+ ":k": STRING, the block's token keys, 16 bytes per sequence)
  std::string records;      // <prefix>:{<event>}:r:  + bucket number: HASH, token key -> record
  std::string users;        // <prefix>:{<event>}:u:  + bucket number: HASH, user id -> token key
  std::string prequeue;     // <prefix>:{<event>}:q   ZSET  pre-queue (then placed users) by slot
  std::string front;        // <prefix>:{<event>}:f   ZSET  random method's drawn users by draw
  std::string grants;       // <prefix>:{<event>}:g   ZSET  granted users by grant_until
  std::string returned;     // <prefix>:{<event>}:t   ZSET  returned users by line order
};

// The number of KEYS the scripts take: meta, line, deadlines, migrating (get_policy takes meta
// only).
inline constexpr int kEventKeyCount = 4;

inline EventKeys EventKeysOf(std::string_view prefix, std::string_view event_id) {
  std::string base;
  base.reserve(prefix.size() + event_id.size() + 4);
  base.append(prefix).append(":{").append(event_id).append("}:");
  return {base + "m",  base + "l", base + "d", base + "migrating", base + "l:", base + "r:",
          base + "u:", base + "q", base + "f", base + "g",         base + "t"};
}

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_ROOM_KEY_LAYOUT_H_
