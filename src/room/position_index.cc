// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room/position_index.h"

#include <utility>

namespace admission {
namespace {

inline std::size_t LowBit(std::size_t i) { return i & (~i + 1); }

}  // namespace

uint64_t PositionIndex::Append() {
  if (tree_.empty()) tree_.push_back(0);
  const std::size_t i = live_.size() + 1;  // 1-based slot of the new sequence
  // Node i covers slots (i - lowbit(i), i]: its own 1 plus the live slots before it in range.
  int64_t sum = 1;
  const std::size_t stop = i - LowBit(i);
  for (std::size_t j = i - 1; j > stop; j -= LowBit(j)) sum += tree_[j];
  tree_.push_back(static_cast<int32_t>(sum));
  live_.push_back(1);
  ++live_count_;
  return base_ + i;
}

void PositionIndex::Remove(uint64_t seq) {
  if (seq <= base_ || seq > base_ + live_.size()) return;
  const std::size_t slot = static_cast<std::size_t>(seq - base_);  // 1-based
  if (!live_[slot - 1]) return;
  live_[slot - 1] = 0;
  --live_count_;
  for (std::size_t j = slot; j < tree_.size(); j += LowBit(j)) --tree_[j];
  while (head_ < live_.size() && !live_[head_]) ++head_;
  MaybeCompact();
}

int64_t PositionIndex::Rank(uint64_t seq) const {
  if (seq <= base_) return 0;
  std::size_t slot = static_cast<std::size_t>(seq - base_);
  if (slot > live_.size()) slot = live_.size();
  int64_t sum = 0;
  for (std::size_t j = slot; j > 0; j -= LowBit(j)) sum += tree_[j];
  return sum;
}

uint64_t PositionIndex::Select(int64_t k) const {
  // Binary lifting down the Fenwick tree: the largest slot whose prefix count is <= k, plus 1.
  const std::size_t n = live_.size();
  std::size_t step = 1;
  while (step * 2 <= n) step *= 2;
  std::size_t slot = 0;
  int64_t remaining = k + 1;
  for (; step > 0; step /= 2) {
    if (slot + step <= n && tree_[slot + step] < remaining) {
      slot += step;
      remaining -= tree_[slot];
    }
  }
  return base_ + slot + 1;
}

std::size_t PositionIndex::MemoryBytes() const {
  return tree_.capacity() * sizeof(int32_t) + live_.capacity() * sizeof(uint8_t);
}

// Drops the dead prefix once it is at least half the slots: O(n) work after at least n/2
// removals, so O(1) amortised per removal. The new vectors are sized to what is left, so a
// drained line gives its memory back; an empty line keeps nothing.
void PositionIndex::MaybeCompact() {
  if (live_count_ == 0 && !live_.empty()) {
    base_ += live_.size();
    head_ = 0;
    std::vector<uint8_t>().swap(live_);
    std::vector<int32_t>().swap(tree_);
    return;
  }
  if (head_ < 4096 || head_ * 2 < live_.size()) return;
  std::vector<uint8_t> live(live_.begin() + static_cast<std::ptrdiff_t>(head_), live_.end());
  base_ += head_;
  head_ = 0;
  live_ = std::move(live);
  std::vector<int32_t>(live_.size() + 1, 0).swap(tree_);
  for (std::size_t i = 1; i < tree_.size(); ++i) {
    tree_[i] += live_[i - 1];
    const std::size_t parent = i + LowBit(i);
    if (parent < tree_.size()) tree_[parent] += tree_[i];
  }
}

}  // namespace admission
