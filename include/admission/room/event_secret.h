// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Event secrets that repeat, for MemoryStoreOptions::event_secret and
// RedisStoreOptions::event_secret: simulations, tests, a rehearsal of a sale. Every store given
// the same seed gives an event the same secret, so its pre-queue shuffle and its random draws
// (docs/rules.md) come out the same in every process and in both stores, while the events of
// one store still get different secrets. Never for a real sale: anyone who knows the seed can
// predict every draw (leave event_secret unset there: the stores then take 64 bits from the
// kernel's CSPRNG).
#ifndef ADMISSION_ROOM_EVENT_SECRET_H_
#define ADMISSION_ROOM_EVENT_SECRET_H_

#include <cstdint>
#include <functional>
#include <string_view>

namespace admission {

// A fixed function of the seed and the event id, every bit of both reaching every bit of the
// result.
uint64_t SeededEventSecret(uint64_t seed, std::string_view event_id);

// SeededEventSecret with `seed`, as the stores' options take it.
std::function<uint64_t(std::string_view event_id)> SeededEventSecrets(uint64_t seed);

}  // namespace admission

#endif  // ADMISSION_ROOM_EVENT_SECRET_H_
