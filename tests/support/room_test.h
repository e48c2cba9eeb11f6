// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The fixture of the room's store-parameterised suites (conformance, fair openings): a
// WaitingRoom over the parameter's store on a SimulatedClock, with no sweeper thread, and thin
// wrappers that fail the test (without aborting it) on an unexpected error.
#ifndef ADMISSION_TESTS_SUPPORT_ROOM_TEST_H_
#define ADMISSION_TESTS_SUPPORT_ROOM_TEST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "admission/room/waiting_room.h"
#include "gtest/gtest.h"
#include "support/store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {

// "u<i>": the user ids JoinMany makes.
inline std::string User(int i) { return absl::StrCat("u", i); }

class RoomTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  static Options TestOptions() {
    Options options;
    options.sweep_interval = absl::ZeroDuration();  // the tests call SweepAll() themselves
    return options;
  }

  // A room on a new store of the parameter's kind. With a seed, every event's secret is
  // SeededEventSecret(seed, event) (StoreFactory::make_seeded), so openings are repeatable.
  std::unique_ptr<WaitingRoom> MakeRoom(Options options = TestOptions(),
                                        std::optional<uint64_t> seed = std::nullopt) {
    std::unique_ptr<Store> store =
        seed.has_value() ? GetParam().make_seeded(&clock_, *seed) : GetParam().make(&clock_);
    auto room = WaitingRoom::Create(std::move(store), std::move(options));
    EXPECT_OK(room);
    return room.ok() ? std::move(room).value() : nullptr;
  }

  QueueStatus Join(std::string_view event, std::string_view user) {
    auto s = room_->Join(event, user);
    EXPECT_OK(s) << "Join(" << event << ", " << user << ")";
    return s.ok() ? *s : QueueStatus{};
  }
  QueueStatus Status(std::string_view token) {
    auto s = room_->Status(token);
    EXPECT_OK(s) << "Status(" << token << ")";
    return s.ok() ? *s : QueueStatus{};
  }
  EnterResult Enter(std::string_view token) {
    auto s = room_->Enter(token);
    EXPECT_OK(s) << "Enter(" << token << ")";
    return s.ok() ? *s : EnterResult{};
  }
  QueueStatus Leave(std::string_view token) {
    auto s = room_->Leave(token);
    EXPECT_OK(s) << "Leave(" << token << ")";
    return s.ok() ? *s : QueueStatus{};
  }
  QueueStatus Complete(std::string_view token) {
    auto s = room_->Complete(token);
    EXPECT_OK(s) << "Complete(" << token << ")";
    return s.ok() ? *s : QueueStatus{};
  }
  EventStats Stats(std::string_view event) {
    auto s = room_->Stats(event);
    EXPECT_OK(s) << "Stats(" << event << ")";
    return s.ok() ? *s : EventStats{};
  }

  // The store's own ticket, for the fields WaitingRoom does not show (ahead_unreached,
  // present_until, grant_expires_at). Like Status, it is a call: a heartbeat and a refresh.
  Ticket Raw(std::string_view token) {
    auto event = EventIdOfToken(token);
    EXPECT_OK(event);
    if (!event.ok()) return Ticket{};
    auto t = room_->store().Status(*event, token);
    EXPECT_OK(t) << "store Status(" << token << ")";
    return t.ok() ? *t : Ticket{};
  }
  // The store's counters (granted, passed_total, lapsed_total among them).
  EventCounters RawStats(std::string_view event) {
    auto c = room_->store().Stats(event);
    EXPECT_OK(c) << "store Stats(" << event << ")";
    return c.ok() ? *c : EventCounters{};
  }
  void SetPolicy(std::string_view event, const Policy& policy) {
    EXPECT_OK(room_->SetPolicy(event, policy)) << "SetPolicy(" << event << ")";
  }
  // Joins users u<first>..u<first+n-1> and returns their tokens in that order.
  std::vector<std::string> JoinMany(std::string_view event, int n, int first = 1) {
    std::vector<std::string> tokens;
    for (int i = first; i < first + n; ++i) tokens.push_back(Join(event, User(i)).token);
    return tokens;
  }

  SimulatedClock clock_;
  const absl::Time t0_ = clock_.Now();
  std::unique_ptr<WaitingRoom> room_;
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_ROOM_TEST_H_
