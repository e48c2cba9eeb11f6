// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "room/position_index.h"

#include <utility>

namespace admission {
namespace {

constexpr std::size_t kWordBits = 64;

inline std::size_t LowBit(std::size_t i) { return i & (~i + 1); }

// Without the POPCNT instruction (a portable x86-64 build) __builtin_popcountll is a call into
// libgcc; the same bit count in line costs a dozen instructions and no call.
inline int PopCount(uint64_t w) {
#if defined(__POPCNT__) || !defined(__x86_64__)
  return __builtin_popcountll(w);
#else
  w = w - ((w >> 1) & 0x5555555555555555ULL);
  w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
  w = (w + (w >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((w * 0x0101010101010101ULL) >> 56);
#endif
}

}  // namespace

uint64_t PositionIndex::Append() {
  const std::size_t i = slots_;  // 0-based slot of the new sequence
  const std::size_t w = i / kWordBits;
  if (w == bits_.size()) {
    // A new word, and its tree node: node k covers words (k - lowbit(k), k] (1-based), so it
    // starts as the sum of the nodes below it in that range.
    if (tree_.empty()) tree_.push_back(0);
    bits_.push_back(0);
    const std::size_t node = w + 1;
    int64_t sum = 0;
    const std::size_t stop = node - LowBit(node);
    for (std::size_t j = node - 1; j > stop; j -= LowBit(j)) sum += tree_[j];
    tree_.push_back(static_cast<int32_t>(sum));
  }
  bits_[w] |= uint64_t{1} << (i % kWordBits);
  memo_seq_ = 0;
  ++tree_[w + 1];  // the last node: no node above it exists yet
  ++slots_;
  ++live_count_;
  return base_ + i + 1;
}

void PositionIndex::Remove(uint64_t seq) {
  if (seq <= base_ || seq > base_ + slots_) return;
  const auto i = static_cast<std::size_t>(seq - base_ - 1);
  const uint64_t bit = uint64_t{1} << (i % kWordBits);
  uint64_t& word = bits_[i / kWordBits];
  if ((word & bit) == 0) return;
  word &= ~bit;
  memo_seq_ = 0;
  --live_count_;
  for (std::size_t j = i / kWordBits + 1; j < tree_.size(); j += LowBit(j)) --tree_[j];
  // Only full words count as dead: the last one may still get new slots.
  while (head_ < slots_ / kWordBits && bits_[head_] == 0) ++head_;
  MaybeCompact();
}

int64_t PositionIndex::Rank(uint64_t seq) const {
  if (seq <= base_) return 0;
  if (seq == memo_seq_) return memo_rank_;
  std::size_t n = seq - base_ > slots_ ? slots_ : static_cast<std::size_t>(seq - base_);
  const std::size_t w = n / kWordBits;
  int64_t sum = 0;
  for (std::size_t j = w; j > 0; j -= LowBit(j)) sum += tree_[j];  // words [0, w)
  if (const std::size_t r = n % kWordBits; r != 0) {
    sum += PopCount(bits_[w] & ((uint64_t{1} << r) - 1));
  }
  memo_seq_ = seq;
  memo_rank_ = sum;
  return sum;
}

uint64_t PositionIndex::Select(int64_t k) const {
  // Binary lifting down the tree: the words before the one holding the (k+1)-th set bit.
  const std::size_t n = bits_.size();
  std::size_t step = 1;
  while (step * 2 <= n) step *= 2;
  std::size_t words = 0;
  int64_t remaining = k + 1;
  for (; step > 0; step /= 2) {
    if (words + step <= n && tree_[words + step] < remaining) {
      words += step;
      remaining -= tree_[words];
    }
  }
  uint64_t word = bits_[words];
  for (int64_t t = 1; t < remaining; ++t) word &= word - 1;  // drop the lower set bits
  return base_ + words * kWordBits + static_cast<uint64_t>(__builtin_ctzll(word)) + 1;
}

std::size_t PositionIndex::MemoryBytes() const {
  return bits_.capacity() * sizeof(uint64_t) + tree_.capacity() * sizeof(int32_t);
}

// Drops the dead prefix once it is at least half the words: O(n) work after at least n/2
// removals, so O(1) amortised per removal. The new vectors are sized to what is left, so a
// drained line gives its memory back; an empty line keeps nothing.
void PositionIndex::MaybeCompact() {
  if (live_count_ == 0 && slots_ > 0) {
    base_ += slots_;
    slots_ = 0;
    head_ = 0;
    std::vector<uint64_t>().swap(bits_);
    std::vector<int32_t>().swap(tree_);
    return;
  }
  if (head_ < 64 || head_ * 2 < bits_.size()) return;
  std::vector<uint64_t> bits(bits_.begin() + static_cast<std::ptrdiff_t>(head_), bits_.end());
  base_ += head_ * kWordBits;
  slots_ -= head_ * kWordBits;
  head_ = 0;
  bits_ = std::move(bits);
  RebuildTree();
}

void PositionIndex::RebuildTree() {
  std::vector<int32_t>(bits_.size() + 1, 0).swap(tree_);
  for (std::size_t i = 1; i < tree_.size(); ++i) {
    tree_[i] += PopCount(bits_[i - 1]);
    const std::size_t parent = i + LowBit(i);
    if (parent < tree_.size()) tree_[parent] += tree_[i];
  }
}

}  // namespace admission
