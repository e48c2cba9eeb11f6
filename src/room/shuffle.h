// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The keyed randomness behind fair openings (docs/rules.md, "Fair openings"): the pre-queue's
// shuffle and the random method's draws. Both are pure functions of a per-event secret and a
// counter, so every store computes the same order and the same draws, and nobody who does not
// know the secret can predict them (neither the arrival time nor the token enters them).
//
// Everything is built from 32-bit unsigned words, XOR, logical shifts and multiplication
// modulo 2^32, so that a Redis Lua 5.1 script (doubles plus the `bit` library) can compute
// exactly the same values; docs/rules.md gives that Lua, and the unit tests pin known answers.
#ifndef ADMISSION_SRC_ROOM_SHUFFLE_H_
#define ADMISSION_SRC_ROOM_SHUFFLE_H_

#include <cstdint>

namespace admission::shuffle {

// murmur3's 32-bit finaliser: a bijection of [0, 2^32) whose output bits each depend on every
// input bit.
uint32_t Mix32(uint32_t x);

// Mix32(a ^ Mix32(b)): a keyed mix; for a fixed `a` it is a bijection of `b`.
uint32_t Hash2(uint32_t a, uint32_t b);

// Rounds of the Feistel network below.
inline constexpr int kFeistelRounds = 8;

// The pre-queue slot of the i-th pre-queue join (i = 0, 1, 2, ...): a keyed pseudo-random
// permutation of [0, 2^32). Pre-queued users are placed in increasing slot order at the
// opening, so the order of any set of them is uniformly random; the slot is fixed at join and
// no call ever has to touch more than one user. An 8-round balanced Feistel network over two
// 16-bit halves, round r keyed by Hash2(secret_hi ^ r, secret_lo).
uint32_t PrequeueSlot(uint64_t secret, uint32_t i);
// The inverse permutation (PrequeueIndex(s, PrequeueSlot(s, i)) == i); for tests and tools.
uint32_t PrequeueIndex(uint64_t secret, uint32_t slot);

// A 52-bit pseudo-random number for the c-th draw of the random method (c = 0, 1, 2, ...,
// taken modulo 2^32): (Hash2(d0, c) >> 6) * 2^26 + (Hash2(d1, c) >> 6) with
// d0 = Hash2(secret_hi ^ 0x100, secret_lo) and d1 = Hash2(secret_hi ^ 0x101, secret_lo).
// 52 bits so that a Lua double holds it exactly.
uint64_t Draw52(uint64_t secret, uint64_t c);

// The 0-based index, in line order, of the user the c-th draw picks from a pool of
// `pool_size` (> 0) users: Draw52(secret, c) mod pool_size, uniform up to a bias below
// pool_size / 2^52.
int64_t DrawIndex(uint64_t secret, uint64_t c, int64_t pool_size);

// A new event's secret: 64 bits from the kernel's CSPRNG (getrandom). Aborts rather than ever
// returning a guessable value, as token generation does.
uint64_t NewEventSecret();

}  // namespace admission::shuffle

#endif  // ADMISSION_SRC_ROOM_SHUFFLE_H_
