// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory store's memory: what a waiting user costs, and that a drained event gives its
// memory back (issue 16). Heap figures come from glibc's mallinfo2() (bytes in use in the
// arena plus mmapped blocks); they are bounds on bytes, not timings, and generous enough to
// hold on any build without a sanitizer. Under ASan or TSan the allocator is the sanitizer's,
// so the figures mean nothing: the same drain still runs (on fewer users) for its behaviour,
// and the byte bounds are skipped.
//
// Also here: the store's slot index (room/slot_index.h), slab (room/slab.h) and position index
// (room/position_index.h) against reference containers, since a lost entry there is a lost
// user or a wrong position.
#include <malloc.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "admission/admission.h"
#include "gtest/gtest.h"
#include "room/position_index.h"
#include "room/slab.h"
#include "room/slot_index.h"
#include "support/test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ADMISSION_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ADMISSION_SANITIZED 1
#endif
#endif
#ifndef ADMISSION_SANITIZED
#define ADMISSION_SANITIZED 0
#endif

namespace admission {
namespace testing {
namespace {

constexpr bool kSanitized = ADMISSION_SANITIZED != 0;

int64_t HeapBytes() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

TEST(MemoryFootprintTest, ADrainedEventGivesItsMemoryBack) {
  // Enough users that the store's own structures dwarf the allocator's noise.
  const int kUsers = kSanitized ? 20'000 : 200'000;
  constexpr int kKeptEvery = 16;  // the first drain keeps every 16th user
  SimulatedClock clock;
  Options options;
  options.sweep_interval = absl::ZeroDuration();
  options.default_policy.heartbeat_ttl = absl::Hours(1);  // nobody expires meanwhile
  options.default_policy.ended_ttl = absl::Seconds(1);
  auto room_or = WaitingRoom::CreateInMemory(options, &clock);
  ASSERT_OK(room_or);
  std::unique_ptr<WaitingRoom> room = std::move(*room_or);

  // The event exists before the first reading, so creating it is not counted.
  auto warm_up = room->Join("sale", "warm-up");
  ASSERT_OK(warm_up);
  ASSERT_OK(room->Leave(warm_up->token));
  clock.Advance(absl::Seconds(2));
  ASSERT_OK(room->SweepAll());
  std::vector<std::string> tokens(kUsers, std::string(kTokenRandomHexDigits + 16, ' '));

  const int64_t heap0 = HeapBytes();
  for (int i = 0; i < kUsers; ++i) {
    auto joined = room->Join("sale", "user-" + std::to_string(100000 + i));
    ASSERT_OK(joined);
    tokens[static_cast<std::size_t>(i)].assign(joined->token);  // fits: no allocation
  }
  const int64_t peak = HeapBytes() - heap0;

  // Most leave; the tables shrink around the rest, who keep their places.
  for (int i = 0; i < kUsers; ++i) {
    if (i % kKeptEvery != 0) {
      ASSERT_OK(room->Leave(tokens[static_cast<std::size_t>(i)]));
    }
  }
  clock.Advance(absl::Seconds(2));
  ASSERT_OK(room->SweepAll());
  int64_t last_position = 0;
  for (int i = 0; i < kUsers; i += kKeptEvery) {
    auto status = room->Status(tokens[static_cast<std::size_t>(i)]);
    ASSERT_OK(status);
    EXPECT_EQ(status->position, last_position + 1) << "user " << i;
    last_position = status->position;
  }
  auto again = room->Join("sale", "user-100000");  // still waiting: refused
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);

  // Then the rest leave, and everybody is forgotten.
  for (int i = 0; i < kUsers; i += kKeptEvery) {
    ASSERT_OK(room->Leave(tokens[static_cast<std::size_t>(i)]));
  }
  clock.Advance(absl::Seconds(2));
  ASSERT_OK(room->SweepAll());
  auto stats = room->Stats("sale");
  ASSERT_OK(stats);
  EXPECT_EQ(stats->waiting, 0);
  EXPECT_EQ(room->Status(tokens[0]).status().code(), absl::StatusCode::kNotFound);
  const int64_t left = HeapBytes() - heap0;

  if (kSanitized) GTEST_SKIP() << "heap figures are the sanitizer's allocator's, not glibc's";
  const double per_user = static_cast<double>(peak) / kUsers;
  EXPECT_LE(per_user, 260.0) << "heap bytes per waiting user (short ids)";
  EXPECT_LE(left, peak / 10) << "bytes still held after the drain, of " << peak << " at the peak";
}

// The same user id can join again once its record is forgotten, and the slots and indexes
// reused meanwhile keep users apart.
TEST(MemoryFootprintTest, ForgottenUsersCanComeBack) {
  SimulatedClock clock;
  Options options;
  options.sweep_interval = absl::ZeroDuration();
  options.default_policy.ended_ttl = absl::Seconds(1);
  auto room_or = WaitingRoom::CreateInMemory(options, &clock);
  ASSERT_OK(room_or);
  std::unique_ptr<WaitingRoom> room = std::move(*room_or);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> tokens;
    for (int i = 0; i < 5000; ++i) {
      auto joined = room->Join("sale", "u" + std::to_string(i));
      ASSERT_OK(joined);
      EXPECT_EQ(joined->position, i + 1);
      tokens.push_back(joined->token);
    }
    for (const std::string& token : tokens) ASSERT_OK(room->Leave(token));
    clock.Advance(absl::Seconds(2));
    ASSERT_OK(room->SweepAll());
  }
}

TEST(SlotIndexTest, AgreesWithAMapThroughGrowthErasuresAndShrinking) {
  // Small tags so that runs collide and the backward shift on erase gets exercised.
  std::mt19937_64 rng(16);
  SlotIndex index;
  std::unordered_map<uint32_t, uint32_t> reference;  // slot -> tag
  uint32_t next_slot = 0;
  auto check = [&] {
    ASSERT_EQ(index.size(), reference.size());
    for (const auto& [slot, tag] : reference) {
      const uint32_t wanted = slot;
      ASSERT_EQ(index.Find(tag, [&](uint32_t s) { return s == wanted; }), slot);
    }
  };
  for (int phase = 0; phase < 4; ++phase) {
    const bool growing = phase % 2 == 0;
    for (int step = 0; step < 20000; ++step) {
      if (growing ? rng() % 4 != 0 : rng() % 4 == 0) {
        const auto tag = static_cast<uint32_t>(rng() % 512);
        index.Insert(tag, next_slot);
        reference[next_slot++] = tag;
      } else if (!reference.empty()) {
        auto it = reference.begin();
        std::advance(
            it, static_cast<std::ptrdiff_t>(rng() % std::min<std::size_t>(reference.size(), 8)));
        index.Erase(it->second, it->first);
        reference.erase(it);
      }
      if (step % 5000 == 0) {
        index.ShrinkToFit();
        check();
      }
    }
    index.ShrinkToFit();
    check();
  }
  for (const auto& [slot, tag] : reference) index.Erase(tag, slot);
  EXPECT_EQ(index.size(), 0u);
  index.ShrinkToFit();
  EXPECT_EQ(index.capacity(), 0u);
  EXPECT_EQ(index.Find(3, [](uint32_t) { return true; }), SlotIndex::kNone);
}

TEST(PositionIndexFootprintTest, RanksAgreeWithASetThroughDrainsAndCompaction) {
  std::mt19937_64 rng(3);
  PositionIndex index;
  std::set<uint64_t> live;
  uint64_t last = 0;
  auto check = [&] {
    ASSERT_EQ(index.size(), static_cast<int64_t>(live.size()));
    ASSERT_EQ(index.last_sequence(), last);
    int64_t rank = 0;
    auto it = live.begin();
    // Every sequence near the live ones, in line or not, and past the end.
    for (uint64_t seq = live.empty() ? 0 : *live.begin() - 1; seq <= last + 2; ++seq) {
      if (it != live.end() && *it == seq) {
        ++rank;
        ++it;
        ASSERT_EQ(index.Select(rank - 1), seq);
      }
      ASSERT_EQ(index.Rank(seq), rank) << "seq " << seq;
    }
  };
  for (int round = 0; round < 6; ++round) {
    const int appends = 3000 + static_cast<int>(rng() % 9000);
    for (int i = 0; i < appends; ++i) {
      last = index.Append();
      live.insert(last);
      // Removals mostly at the front (compaction), some anywhere, some twice.
      if (rng() % 3 == 0 && !live.empty()) {
        const uint64_t seq =
            rng() % 4 == 0
                ? *std::next(live.begin(), static_cast<std::ptrdiff_t>(rng() % live.size()))
                : *live.begin();
        index.Remove(seq);
        index.Remove(seq);
        live.erase(seq);
      }
    }
    check();
    // Every other round drains the line completely.
    while (!live.empty() && (round % 2 == 1 || live.size() > 100)) {
      index.Remove(*live.begin());
      live.erase(live.begin());
    }
    check();
  }
  EXPECT_LT(index.MemoryBytes(), 4096u) << "a drained index gives its memory back";
}

TEST(SlabTest, ReusesSlotsAndKeepsItemsInPlace) {
  Slab<std::string> slab;
  std::map<uint32_t, std::string> reference;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 30000; ++step) {
    const bool add = reference.size() < 100 || rng() % 3 != 0;
    if (add && step < 20000) {
      const uint32_t slot = slab.Allocate();
      ASSERT_TRUE(slab[slot].empty()) << "a new slot holds a fresh item";
      ASSERT_EQ(reference.count(slot), 0u);
      slab[slot] = "item " + std::to_string(step) + " with a long enough text for the heap";
      reference[slot] = slab[slot];
    } else if (!reference.empty()) {
      auto it = reference.begin();
      std::advance(it, static_cast<std::ptrdiff_t>(rng() % reference.size()));
      slab.Free(it->first);
      reference.erase(it);
    }
  }
  ASSERT_EQ(slab.size(), reference.size());
  for (const auto& [slot, item] : reference) EXPECT_EQ(slab[slot], item);
  for (const auto& [slot, item] : reference) slab.Free(slot);
  EXPECT_EQ(slab.size(), 0u);
  // A drained slab hands out its lowest slots again.
  EXPECT_EQ(slab.Allocate(), 0u);
}

}  // namespace
}  // namespace testing
}  // namespace admission
