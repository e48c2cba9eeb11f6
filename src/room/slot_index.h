// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A hash index from keys to 32-bit slots (of a Slab), for the in-memory store's token and
// user-id indexes. An entry is one 64-bit word: 32 bits of the key's hash (the tag) and the
// slot. The key itself stays in the record, so the index costs 8 bytes a slot and a user id
// is stored once; a lookup asks the caller whether the record of a slot with the right tag
// holds the key.
//
// Open addressing with linear probing, at most 3/4 full: a lookup reads one run of entries,
// usually within one cache line, and then the record (absl's tables read a control byte and
// then a slot, one more cache miss). Erasing shifts the entries that follow back instead of
// leaving tombstones, so the table never needs cleaning, and ShrinkToFit gives memory back
// once the table is mostly empty. The tags come from absl::Hash, which is seeded per
// process, so nobody can aim keys at one run.
#ifndef ADMISSION_SRC_ROOM_SLOT_INDEX_H_
#define ADMISSION_SRC_ROOM_SLOT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace admission {

class SlotIndex {
 public:
  static constexpr uint32_t kNone = ~uint32_t{0};

  // The slot of the entry with `tag` for which `holds(slot)` is true, or kNone.
  template <typename Holds>
  uint32_t Find(uint32_t tag, Holds&& holds) const {
    if (size_ == 0) return kNone;
    for (std::size_t i = Home(tag);; i = (i + 1) & mask_) {
      const uint64_t entry = entries_[i];
      if (entry == kEmpty) return kNone;
      if (static_cast<uint32_t>(entry >> 32) == tag && holds(static_cast<uint32_t>(entry))) {
        return static_cast<uint32_t>(entry);
      }
    }
  }

  // Starts loading where a lookup of `tag` begins, so that its cache miss overlaps with other
  // work.
  void Prefetch(uint32_t tag) const {
    if (!entries_.empty()) __builtin_prefetch(&entries_[Home(tag)]);
  }

  // The slot of the first entry with `tag`, the likely answer of Find(tag, ...) (kNone when
  // there is none): for a prefetch of its record, which Find would only ask for later.
  uint32_t FirstWithTag(uint32_t tag) const {
    if (size_ == 0) return kNone;
    for (std::size_t i = Home(tag);; i = (i + 1) & mask_) {
      const uint64_t entry = entries_[i];
      if (entry == kEmpty) return kNone;
      if (static_cast<uint32_t>(entry >> 32) == tag) return static_cast<uint32_t>(entry);
    }
  }

  // Adds (tag, slot); the slot must not be in the index, and must not be kNone.
  void Insert(uint32_t tag, uint32_t slot) {
    if ((size_ + 1) * 4 > entries_.size() * 3) Rebuild(entries_.empty() ? 16 : entries_.size() * 2);
    Place(Entry(tag, slot));
    ++size_;
  }

  // Removes (tag, slot) if it is there.
  void Erase(uint32_t tag, uint32_t slot) {
    if (size_ == 0) return;
    const uint64_t wanted = Entry(tag, slot);
    std::size_t i = Home(tag);
    for (; entries_[i] != wanted; i = (i + 1) & mask_) {
      if (entries_[i] == kEmpty) return;
    }
    // Backward shift: each later entry of the run moves into the hole unless its home lies
    // cyclically in (hole, its position], where it would no longer be found.
    for (std::size_t j = (i + 1) & mask_; entries_[j] != kEmpty; j = (j + 1) & mask_) {
      const std::size_t home = Home(static_cast<uint32_t>(entries_[j] >> 32));
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        entries_[i] = entries_[j];
        i = j;
      }
    }
    entries_[i] = kEmpty;
    --size_;
  }

  // Calls f(slot) for every slot in the index.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint64_t entry : entries_) {
      if (entry != kEmpty) f(static_cast<uint32_t>(entry));
    }
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }

  // Rebuilds a table that is less than 1/8 full at a size that fits (nothing, when empty). A
  // table is at least 3/8 full after it grows or is rebuilt, so a rebuild follows erasures of
  // at least a quarter of its capacity: O(1) per erasure.
  void ShrinkToFit() {
    if (size_ * 8 >= entries_.size()) return;
    if (size_ == 0) {
      std::vector<uint64_t>().swap(entries_);
      mask_ = 0;
      shift_ = 64;
      return;
    }
    std::size_t capacity = 16;
    while (size_ * 4 > capacity * 3) capacity *= 2;
    Rebuild(capacity);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  static uint64_t Entry(uint32_t tag, uint32_t slot) { return uint64_t{tag} << 32 | slot; }

  // Fibonacci hashing: the top bits of tag * 2^64/phi.
  std::size_t Home(uint32_t tag) const {
    return static_cast<std::size_t>((uint64_t{tag} * 0x9E3779B97F4A7C15ULL) >> shift_) & mask_;
  }

  void Place(uint64_t entry) {
    std::size_t i = Home(static_cast<uint32_t>(entry >> 32));
    while (entries_[i] != kEmpty) i = (i + 1) & mask_;
    entries_[i] = entry;
  }

  // `capacity` is a power of two, at least 16.
  void Rebuild(std::size_t capacity) {
    std::vector<uint64_t> old(capacity, kEmpty);
    old.swap(entries_);
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c /= 2) --shift_;
    for (uint64_t entry : old) {
      if (entry != kEmpty) Place(entry);
    }
  }

  std::vector<uint64_t> entries_;  // a power of two of them, or none
  std::size_t mask_ = 0;
  int shift_ = 64;  // 64 - log2(capacity)
  std::size_t size_ = 0;
};

}  // namespace admission

#endif  // ADMISSION_SRC_ROOM_SLOT_INDEX_H_
