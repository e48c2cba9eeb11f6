// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The operator page's rings (event_series.h) on a SimulatedClock over the in-memory room and
// sale: when samples are taken, what each holds, the ring's bound, the busiest-first choice of
// events and the JSON columns. Exact, no sleeping.
#include "event_series.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "gtest/gtest.h"
#include "operator_routes.h"

namespace admission::gateway {
namespace {

class EventSeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.sweep_interval = absl::ZeroDuration();  // the test sweeps
    auto room = WaitingRoom::CreateInMemory(options, &clock_);
    ASSERT_TRUE(room.ok()) << room.status();
    room_ = *std::move(room);
    TicketingOptions t;
    t.clock = &clock_;
    auto ticketing = NewMemoryTicketing(t);
    ASSERT_TRUE(ticketing.ok()) << ticketing.status();
    ticketing_ = *std::move(ticketing);
  }

  Policy SlowPolicy() {
    Policy p;
    p.admit_rate_per_sec = 10;
    p.burst = 5;
    p.bypass_top_n = 0;
    p.active_capacity = 50;
    p.wait_tiers = {};
    p.heartbeat_ttl = absl::Seconds(30);
    return p;
  }

  std::vector<std::string> Join(const std::string& event, int n, const std::string& prefix) {
    std::vector<std::string> tokens;
    for (int i = 0; i < n; ++i) {
      auto s = room_->Join(event, prefix + std::to_string(i));
      EXPECT_TRUE(s.ok()) << s.status();
      if (s.ok()) tokens.push_back(s->token);
    }
    return tokens;
  }

  SimulatedClock clock_;
  std::unique_ptr<WaitingRoom> room_;
  Ticketing ticketing_;
};

TEST_F(EventSeriesTest, SamplesOncePerIntervalOfTheClock) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, {});
  ASSERT_EQ(series.SampleIfDue().value(), true);
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(series.SampleIfDue().value(), false);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(series.SampleIfDue().value(), true);
  auto samples = series.Get("sale");
  ASSERT_TRUE(samples.has_value());
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_EQ((*samples)[1].at - (*samples)[0].at, absl::Seconds(10));
  EXPECT_FALSE(series.Get("other").has_value());
}

TEST_F(EventSeriesTest, EachSampleHoldsTheRoomsFigures) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  std::vector<std::string> tokens = Join("sale", 40, "u");
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, {});
  ASSERT_TRUE(series.Sample().ok());
  auto first = series.Get("sale").value().back();
  EXPECT_EQ(first.waiting, 40);
  EXPECT_EQ(first.active, 0);
  EXPECT_EQ(first.capacity, 50);
  EXPECT_EQ(first.policy_rate, 10);
  EXPECT_FALSE(first.paused);
  EXPECT_EQ(first.ghosts_removed, 0);
  EXPECT_EQ(first.joins_refused, 0);
  EXPECT_FALSE(first.has_sale);  // no inventory
  // Nothing admitted yet: the policy's rate stands in, 40 people at 10/s.
  ASSERT_TRUE(first.eta_back_sec.has_value());
  EXPECT_DOUBLE_EQ(*first.eta_back_sec, 4.0);

  // Ten seconds on: whoever the room lets in enters; the rest stop polling and become ghosts
  // once the heartbeat TTL (30 s) runs out.
  clock_.Advance(absl::Seconds(10));
  for (const std::string& t : tokens) (void)room_->Enter(t);
  const EventStats after = room_->Stats("sale").value();
  ASSERT_GT(after.admitted_total, 0);
  ASSERT_TRUE(series.Sample().ok());
  auto second = series.Get("sale").value().back();
  EXPECT_EQ(second.active, after.active);
  EXPECT_EQ(second.waiting, after.waiting);
  EXPECT_DOUBLE_EQ(second.admitted_per_sec, after.admitted_total / 10.0);
  ASSERT_TRUE(second.eta_back_sec.has_value());
  EXPECT_DOUBLE_EQ(*second.eta_back_sec, after.waiting / after.admission_rate_per_sec);

  clock_.Advance(absl::Seconds(40));
  ASSERT_TRUE(room_->SweepAll().ok());
  const EventStats swept = room_->Stats("sale").value();
  ASSERT_GT(swept.expired_total, 0);
  // Refused joins: the room stops taking arrivals.
  Policy closed = SlowPolicy();
  closed.method = QueueMethod::kReject;
  ASSERT_TRUE(room_->SetPolicy("sale", closed).ok());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(room_->Join("sale", "late" + std::to_string(i)).ok());
  ASSERT_TRUE(series.Sample().ok());
  auto third = series.Get("sale").value().back();
  EXPECT_EQ(third.ghosts_removed, swept.expired_total);
  EXPECT_EQ(third.joins_refused, 3);
  EXPECT_DOUBLE_EQ(third.admitted_per_sec, 0);
  // Deltas, not totals: nothing new happens before the next sample.
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(series.Sample().ok());
  auto fourth = series.Get("sale").value().back();
  EXPECT_EQ(fourth.ghosts_removed, 0);
  EXPECT_EQ(fourth.joins_refused, 0);
}

TEST_F(EventSeriesTest, PausedRoomHasNoEta) {
  Policy p = SlowPolicy();
  p.paused = true;
  ASSERT_TRUE(room_->SetPolicy("sale", p).ok());
  Join("sale", 5, "u");
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, {});
  ASSERT_TRUE(series.Sample().ok());
  auto s = series.Get("sale").value().back();
  EXPECT_TRUE(s.paused);
  EXPECT_FALSE(s.eta_back_sec.has_value());
}

TEST_F(EventSeriesTest, RingKeepsTheNewestSamples) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  EventSeriesOptions o;
  o.samples = 3;
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, o);
  const absl::Time start = clock_.Now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(series.SampleIfDue().value());
    clock_.Advance(o.interval);
  }
  auto samples = series.Get("sale").value();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].at, start + 2 * o.interval);
  EXPECT_EQ(samples[2].at, start + 4 * o.interval);
}

TEST_F(EventSeriesTest, TracksTheBusiestEvents) {
  for (const char* e : {"a-quiet", "b-busy", "c-middle"}) {
    ASSERT_TRUE(room_->SetPolicy(e, SlowPolicy()).ok());
  }
  Join("b-busy", 5, "u");
  Join("c-middle", 2, "u");
  EventSeriesOptions o;
  o.max_events = 2;
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, o);
  ASSERT_TRUE(series.Sample().ok());
  EXPECT_EQ(series.Tracked(), (std::vector<std::string>{"b-busy", "c-middle"}));
  // The quiet event gets busier than the middle one: it takes the place (and the middle one's
  // ring goes).
  Join("a-quiet", 3, "v");
  ASSERT_TRUE(series.Sample().ok());
  EXPECT_EQ(series.Tracked(), (std::vector<std::string>{"a-quiet", "b-busy"}));
  EXPECT_EQ(series.Get("b-busy")->size(), 2u);
  EXPECT_EQ(series.Get("a-quiet")->size(), 1u);
}

TEST_F(EventSeriesTest, SaleFiguresWhenTheEventHasAnInventory) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  InventorySpec spec;
  spec.general_admission = 10;
  ASSERT_TRUE(ticketing_.inventory->SetInventory("sale", spec).ok());
  HoldRequest hold;
  hold.event_id = "sale";
  hold.user_id = "buyer";
  hold.quantity = 2;
  ASSERT_TRUE(ticketing_.inventory->Hold(hold).ok());
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, {});
  ASSERT_TRUE(series.Sample().ok());
  auto s = series.Get("sale").value().back();
  EXPECT_TRUE(s.has_sale);
  EXPECT_EQ(s.seats_available, 8);
  EXPECT_EQ(s.seats_held, 2);
  EXPECT_EQ(s.seats_sold, 0);
}

// The gateway's thread: it samples as the clock moves, and Stop() ends it (a bounded poll, no
// sleeping to pass: the test moves the clock and waits for the thread to notice).
TEST_F(EventSeriesTest, ThreadSamplesAsTheClockMovesUntilStopped) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  EventSeriesOptions o;
  o.interval = absl::Milliseconds(40);  // the thread wakes every 10 ms of real time
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, o);
  series.Start();
  series.Start();  // idempotent
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t seen = 0;
  while (seen < 3 && std::chrono::steady_clock::now() < deadline) {
    auto samples = series.Get("sale");
    seen = samples ? samples->size() : 0;
    clock_.Advance(o.interval);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  series.Stop();
  series.Stop();
  EXPECT_GE(seen, 3u);
  const std::size_t after_stop = series.Get("sale")->size();
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(series.Get("sale")->size(), after_stop);  // nothing samples any more
}

TEST_F(EventSeriesTest, JsonColumns) {
  ASSERT_TRUE(room_->SetPolicy("sale", SlowPolicy()).ok());
  Join("sale", 3, "u");
  EventSeries series(*room_, ticketing_.inventory.get(), clock_, {});
  ASSERT_TRUE(series.Sample().ok());
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(series.Sample().ok());
  const Json j = SeriesToJson("sale", series.options(), series.Get("sale").value());
  EXPECT_EQ(j["event_id"], "sale");
  EXPECT_EQ(j["interval_sec"], 10.0);
  for (const char* column : {"t", "waiting", "prequeued", "active", "capacity", "admitted_per_sec",
                             "policy_rate", "paused", "eta_back_sec", "ghosts_removed",
                             "joins_refused", "seats_available", "seats_held", "seats_sold"}) {
    ASSERT_TRUE(j[column].is_array()) << column;
    EXPECT_EQ(j[column].size(), 2u) << column;
  }
  EXPECT_EQ(j["t"][1].get<double>() - j["t"][0].get<double>(), 10.0);
  EXPECT_EQ(j["waiting"][0], 3);
  EXPECT_TRUE(j["seats_sold"][0].is_null());  // no inventory
}

}  // namespace
}  // namespace admission::gateway
