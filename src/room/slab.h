// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A slab of fixed-size items addressed by 32-bit slot numbers: the in-memory store keeps one
// record per user in it, and its indexes hold slots (4 bytes) rather than whole records.
//
// Items live in chunks of kChunkSize and never move, so a reference stays valid until the
// item is freed. A new item takes the lowest chunk with room, so that as the population
// shrinks the live items gather in the first chunks and the others empty completely; an empty
// chunk goes back to the heap. One emptied chunk is kept as a spare, so that a population
// hovering at a chunk boundary does not allocate and free a chunk every few items.
#ifndef ADMISSION_SRC_ROOM_SLAB_H_
#define ADMISSION_SRC_ROOM_SLAB_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"

namespace admission {

template <typename T>
class Slab {
 public:
  static constexpr uint32_t kChunkSize = 4096;

  // A slot holding a default-constructed T.
  uint32_t Allocate() {
    if (open_.empty()) {
      open_.insert(static_cast<uint32_t>(chunks_.size()));
      chunks_.emplace_back();
    }
    const uint32_t c = *open_.begin();
    Chunk& chunk = chunks_[c];
    if (chunk.items == nullptr) {
      chunk.items = spare_ != nullptr ? std::move(spare_) : std::make_unique<T[]>(kChunkSize);
    }
    uint32_t i;
    if (!chunk.free.empty()) {
      i = chunk.free.back();
      chunk.free.pop_back();
    } else {
      i = chunk.used++;
    }
    if (++chunk.live == kChunkSize) open_.erase(c);
    ++size_;
    return c * kChunkSize + i;
  }

  // Resets the slot's item to T{} (releasing what it holds) and makes the slot free.
  void Free(uint32_t slot) {
    const uint32_t c = slot / kChunkSize;
    const auto i = static_cast<uint16_t>(slot % kChunkSize);
    Chunk& chunk = chunks_[c];
    chunk.items[i] = T{};
    --size_;
    if (chunk.live-- == kChunkSize) open_.insert(c);
    if (chunk.live > 0) {
      chunk.free.push_back(i);
      return;
    }
    // Every item of an empty chunk is T{} again, so it can be reused as it is.
    if (spare_ == nullptr) {
      spare_ = std::move(chunk.items);
    } else {
      chunk.items.reset();
    }
    std::vector<uint16_t>().swap(chunk.free);
    chunk.used = 0;
    while (!chunks_.empty() && chunks_.back().items == nullptr) {
      open_.erase(static_cast<uint32_t>(chunks_.size() - 1));
      chunks_.pop_back();
    }
    if (chunks_.size() * 2 < chunks_.capacity()) chunks_.shrink_to_fit();
  }

  T& operator[](uint32_t slot) { return chunks_[slot / kChunkSize].items[slot % kChunkSize]; }
  const T& operator[](uint32_t slot) const {
    return chunks_[slot / kChunkSize].items[slot % kChunkSize];
  }

  std::size_t size() const { return size_; }

  // Gives the spare chunk back to the heap (when the population has drained).
  void ReleaseSpare() { spare_.reset(); }

 private:
  struct Chunk {
    std::unique_ptr<T[]> items;  // null when every slot of the chunk is free
    std::vector<uint16_t> free;  // freed slots below `used`
    uint32_t used = 0;           // slots at or above it have never been handed out
    uint32_t live = 0;
  };
  static_assert(kChunkSize <= 65536, "free slots are 16-bit");

  std::vector<Chunk> chunks_;
  absl::btree_set<uint32_t> open_;  // chunks with a free slot
  std::unique_ptr<T[]> spare_;
  std::size_t size_ = 0;
};

}  // namespace admission

#endif  // ADMISSION_SRC_ROOM_SLAB_H_
