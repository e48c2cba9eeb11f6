// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Conformance of WaitingRoom::Outlook (admission/room/room_outlook.h), the public view of a
// room: its state through the schedule, the pause and the methods, its counts, the ETA at the
// back of the line (what a newcomer is then shown) and the operator's message. Runs against
// every store of ScheduleStoreFactories(): the memory store and the Redis store.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/room_outlook.h"
#include "admission/room/waiting_room.h"
#include "gtest/gtest.h"
#include "support/room_test.h"
#include "support/store_factory.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

class OutlookTest : public RoomTest {
 protected:
  void SetUp() override {
    room_ = MakeRoom();
    ASSERT_NE(room_, nullptr);
  }

  RoomOutlook Outlook(std::string_view event) {
    absl::StatusOr<RoomOutlook> o = room_->Outlook(event);
    EXPECT_OK(o) << "Outlook(" << event << ")";
    return o.ok() ? *o : RoomOutlook{};
  }
};

TEST_P(OutlookTest, UnknownAndMalformedEvents) {
  EXPECT_STATUS_CODE(room_->Outlook("nobody"), absl::StatusCode::kNotFound);
  EXPECT_STATUS_CODE(room_->Outlook("bad id!"), absl::StatusCode::kInvalidArgument);
  EXPECT_STATUS_CODE(room_->Outlook(""), absl::StatusCode::kInvalidArgument);
}

TEST_P(OutlookTest, StateFollowsTheScheduleThePauseAndTheMethod) {
  Policy p = OpenPolicy();
  p.prequeue_opens_at = t0_ + absl::Minutes(10);
  p.opens_at = t0_ + absl::Minutes(20);
  p.closes_at = t0_ + absl::Minutes(60);
  p.heartbeat_ttl = absl::Minutes(30);
  p.queue_message = "Doors at 20 past";
  SetPolicy("ev", p);
  RoomOutlook o = Outlook("ev");
  EXPECT_EQ(o.event_id, "ev");
  EXPECT_EQ(o.state, RoomState::kNotOpen);
  EXPECT_EQ(RoomStateName(o.state), "not_open");
  EXPECT_EQ(o.queue_message, "Doors at 20 past");
  EXPECT_EQ(o.now, t0_);
  EXPECT_EQ(o.waiting, 0);
  // The back of the line is at least the time to the opening.
  EXPECT_GE(o.eta_back, absl::Minutes(20));

  clock_.Advance(absl::Minutes(10));
  Join("ev", "a");
  Join("ev", "b");
  o = Outlook("ev");
  EXPECT_EQ(RoomStateName(o.state), "prequeue");
  EXPECT_EQ(o.waiting, 2);
  EXPECT_GE(o.eta_back, absl::Minutes(10));
  EXPECT_LT(o.eta_back, absl::Minutes(11));

  clock_.Advance(absl::Minutes(10));
  o = Outlook("ev");
  EXPECT_EQ(RoomStateName(o.state), "queueing");
  EXPECT_EQ(o.waiting + o.active, 2);

  p.paused = true;
  SetPolicy("ev", p);
  EXPECT_EQ(RoomStateName(Outlook("ev").state), "paused");
  p.paused = false;
  p.method = QueueMethod::kReject;
  SetPolicy("ev", p);
  EXPECT_EQ(RoomStateName(Outlook("ev").state), "closed");
  p.method = QueueMethod::kFifo;
  SetPolicy("ev", p);
  EXPECT_EQ(RoomStateName(Outlook("ev").state), "queueing");
  clock_.Advance(absl::Minutes(40));
  EXPECT_EQ(RoomStateName(Outlook("ev").state), "closed");
  // Closed beats paused: a newcomer cannot join at all.
  p.paused = true;
  SetPolicy("ev", p);
  EXPECT_EQ(RoomStateName(Outlook("ev").state), "closed");
}

// The back of the line is what a newcomer is shown when they join at that instant.
TEST_P(OutlookTest, EtaBackIsTheNewcomersEta) {
  Policy p = OpenPolicy();
  p.admit_rate_per_sec = 2;
  p.burst = 1;
  p.active_capacity = 1000;
  SetPolicy("ev", p);
  // Admissions for a while, so that the rate is measured.
  for (int i = 0; i < 30; ++i) {
    QueueStatus s = Join("ev", absl::StrCat("early", i));
    clock_.Advance(absl::Milliseconds(500));
    Enter(s.token);
  }
  for (int i = 0; i < 20; ++i) Join("ev", absl::StrCat("u", i));
  const RoomOutlook o = Outlook("ev");
  EXPECT_EQ(RoomStateName(o.state), "queueing");
  EXPECT_EQ(o.waiting, 20);
  EXPECT_GT(o.active, 0);
  const QueueStatus newcomer = Join("ev", "newcomer");
  EXPECT_EQ(newcomer.position, 21);
  EXPECT_EQ(o.eta_back, newcomer.eta);
  EXPECT_DOUBLE_EQ(o.eta_confidence, newcomer.eta_confidence);
  EXPECT_GT(o.eta_back, absl::Seconds(5));
  EXPECT_LT(o.eta_back, absl::Seconds(30));
  // Paused: still what a newcomer is shown.
  p.paused = true;
  SetPolicy("ev", p);
  const RoomOutlook paused = Outlook("ev");
  EXPECT_EQ(RoomStateName(paused.state), "paused");
  EXPECT_EQ(paused.eta_back, Join("ev", "paused-newcomer").eta);
  // A line that does not move: no ETA.
  p.paused = false;
  p.admit_rate_per_sec = 0;
  SetPolicy("ev", p);
  clock_.Advance(absl::Minutes(10));  // the measured rate decays to nothing
  const RoomOutlook stalled = Outlook("ev");
  EXPECT_EQ(stalled.eta_back, Join("ev", "stalled-newcomer").eta);
  // Passthrough admits at once.
  p.paused = false;
  p.method = QueueMethod::kPassthrough;
  SetPolicy("ev", p);
  EXPECT_EQ(Outlook("ev").eta_back, absl::ZeroDuration());
}

INSTANTIATE_TEST_SUITE_P(ScheduleStores, OutlookTest, ::testing::ValuesIn(ScheduleStoreFactories()),
                         StoreFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
