// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room/shuffle.h"

#include <cstddef>
#include <cstdint>

#include "common/random.h"

namespace admission::shuffle {
namespace {

uint32_t Hi(uint64_t secret) { return static_cast<uint32_t>(secret >> 32); }
uint32_t Lo(uint64_t secret) { return static_cast<uint32_t>(secret); }

uint32_t RoundKey(uint64_t secret, int round) {
  return Hash2(Hi(secret) ^ static_cast<uint32_t>(round), Lo(secret));
}

// The round function: the low 16 bits of a keyed mix of the right half.
uint32_t Round(uint32_t key, uint32_t half) { return Hash2(key, half) & 0xffffu; }

}  // namespace

uint32_t Mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

uint32_t Hash2(uint32_t a, uint32_t b) { return Mix32(a ^ Mix32(b)); }

uint32_t PrequeueSlot(uint64_t secret, uint32_t i) {
  uint32_t left = i >> 16;
  uint32_t right = i & 0xffffu;
  for (int r = 0; r < kFeistelRounds; ++r) {
    const uint32_t next = left ^ Round(RoundKey(secret, r), right);
    left = right;
    right = next;
  }
  return (left << 16) | right;
}

uint32_t PrequeueIndex(uint64_t secret, uint32_t slot) {
  uint32_t left = slot >> 16;
  uint32_t right = slot & 0xffffu;
  for (int r = kFeistelRounds - 1; r >= 0; --r) {
    const uint32_t previous = right ^ Round(RoundKey(secret, r), left);
    right = left;
    left = previous;
  }
  return (left << 16) | right;
}

uint64_t Draw52(uint64_t secret, uint64_t c) {
  const uint32_t d0 = Hash2(Hi(secret) ^ 0x100u, Lo(secret));
  const uint32_t d1 = Hash2(Hi(secret) ^ 0x101u, Lo(secret));
  const uint32_t counter = static_cast<uint32_t>(c);
  const uint64_t high = Hash2(d0, counter) >> 6;
  const uint64_t low = Hash2(d1, counter) >> 6;
  return (high << 26) | low;
}

int64_t DrawIndex(uint64_t secret, uint64_t c, int64_t pool_size) {
  if (pool_size <= 1) return 0;
  return static_cast<int64_t>(Draw52(secret, c) % static_cast<uint64_t>(pool_size));
}

uint64_t NewEventSecret() {
  uint64_t v = 0;
  internal::KernelRandomBytes(reinterpret_cast<uint8_t*>(&v), sizeof(v));
  return v;
}

}  // namespace admission::shuffle
