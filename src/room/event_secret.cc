// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/event_secret.h"

namespace admission {

uint64_t SeededEventSecret(uint64_t seed, std::string_view event_id) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;  // FNV-1a over the id, from the seed
  for (unsigned char c : event_id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // SplitMix64's finalizer: FNV-1a alone leaves the high bits of the last bytes weak.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::function<uint64_t(std::string_view event_id)> SeededEventSecrets(uint64_t seed) {
  return [seed](std::string_view event_id) { return SeededEventSecret(seed, event_id); };
}

}  // namespace admission
