// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Ticketing under contention, against every TicketingFactory (label `concurrency`, so
// ThreadSanitizer runs it): 1,000 buyers on 1,000 threads for 100 seats never oversell and
// never sell a seat twice, while two worker threads apply their payments; once the holds
// expire (simulated clock) every seat is SOLD or AVAILABLE. Also general admission, and one
// Idempotency-Key raced by many threads.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/outcome_queue.h"
#include "admission/ticketing/ticketing.h"
#include "admission/ticketing/worker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/test_util.h"
#include "support/ticketing_factory.h"
#include "support/ticketing_test_util.h"

namespace admission {
namespace testing {
namespace {

constexpr int kBuyers = 1000;
constexpr int kSeats = 100;

// Releases every waiting thread at once, so that the buyers really race.
class StartGate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    open_cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    open_cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable open_cv_;
  bool open_ = false;
};

class TicketingConcurrencyTest : public TicketingTest {
 protected:
  WorkerOptions FullSpeed(std::string consumer) {
    WorkerOptions o;
    o.clock = &clock_;
    o.consumer = std::move(consumer);
    o.idle_sleep = absl::Milliseconds(2);
    return o;
  }

  // Publishes hold_expired events and steps a worker until nothing is left to do.
  void DrainExpiries(Worker& worker, std::string_view event) {
    for (int round = 0; round < 1000; ++round) {
      absl::StatusOr<int64_t> published = PublishExpiredHolds(inventory(), events(), event, 256);
      ASSERT_OK(published);
      absl::StatusOr<WorkerStep> step = worker.Step();
      ASSERT_OK(step);
      if (*published == 0 && step->counts.claimed == 0) return;
    }
    FAIL() << "expiries did not drain";
  }

  void DrainQueue(Worker& worker) {
    for (int round = 0; round < 1000; ++round) {
      absl::StatusOr<WorkerStep> step = worker.Step();
      ASSERT_OK(step);
      if (step->counts.claimed == 0) return;
    }
    FAIL() << "queue did not drain";
  }
};

TEST_P(TicketingConcurrencyTest, ThousandBuyersNeverOversellNamedSeats) {
  const std::vector<std::string> seats = SeatIds(kSeats, "S");
  ASSERT_OK(inventory().SetInventory("final", NamedSeats(seats)));
  Worker worker1(&events(), MakeTicketingHandler(&inventory()), FullSpeed("w1"));
  Worker worker2(&events(), MakeTicketingHandler(&inventory()), FullSpeed("w2"));
  ASSERT_OK(worker1.Start());
  ASSERT_OK(worker2.Start());

  StartGate gate;
  std::mutex mu;
  std::vector<Reservation> holds;  // every successful hold
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> buyers;
  buyers.reserve(kBuyers);
  for (int i = 0; i < kBuyers; ++i) {
    buyers.emplace_back([&, i] {
      HoldRequest request;
      request.event_id = "final";
      request.user_id = absl::StrCat("buyer-", i);
      if (i % 2 == 0) {  // named seats, one or two (adjacent), picked by the buyer
        const int first = (i * 37) % kSeats;
        request.seat_ids.push_back(seats[first]);
        if (i % 4 == 0) request.seat_ids.push_back(seats[(first + 1) % kSeats]);
      } else {  // any seats
        request.quantity = 1 + (i % 3 == 0);
      }
      gate.Wait();
      absl::StatusOr<Reservation> r = inventory().Hold(request);
      if (!r.ok()) {
        const InventoryError e = InventoryErrorOf(r.status());
        if (e == InventoryError::kSoldOut || e == InventoryError::kSeatUnavailable) {
          ++refused;
        } else {
          ADD_FAILURE() << r.status();
          ++errors;
        }
        return;
      }
      // A third pay through the worker, a third confirm directly, the rest walk away (some
      // cancel, the others let the hold expire).
      absl::Status s;
      switch (i % 3) {
        case 0:
          s = events().Publish(PaymentApprovedMessage(r->reservation_id, 1, "EUR")).status();
          break;
        case 1:
          s = inventory().Confirm(r->reservation_id).status();
          break;
        default:
          if (i % 5 == 0) s = inventory().Cancel(r->reservation_id).status();
          break;
      }
      if (!s.ok()) {
        ADD_FAILURE() << s;
        ++errors;
      }
      std::lock_guard<std::mutex> lock(mu);
      holds.push_back(*std::move(r));
    });
  }
  gate.Open();
  for (std::thread& t : buyers) t.join();
  worker1.Stop();
  worker2.Stop();
  ASSERT_EQ(errors.load(), 0);
  EXPECT_FALSE(holds.empty());
  EXPECT_GT(refused.load(), 0);

  // Whatever the workers had not applied yet, then the holds run out.
  DrainQueue(worker1);
  clock_.Advance(absl::Seconds(61));
  DrainExpiries(worker1, "final");

  // No seat was ever held by two reservations at once, and none is sold twice.
  std::map<std::string, int> sold_to;
  int64_t confirmed_seats = 0;
  for (const Reservation& h : holds) {
    ASSERT_OK_AND_ASSIGN(Reservation now, inventory().Get(h.reservation_id));
    EXPECT_NE(now.status, ReservationStatus::kHold) << h.reservation_id;
    if (now.status != ReservationStatus::kConfirmed) continue;
    confirmed_seats += now.quantity;
    for (const std::string& seat : now.seat_ids) ++sold_to[seat];
  }
  for (const auto& [seat, times] : sold_to) EXPECT_EQ(times, 1) << seat << " sold twice";
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("final", true));
  EXPECT_LE(a.counts.sold, kSeats);
  EXPECT_EQ(a.counts.sold, confirmed_seats);
  EXPECT_EQ(a.counts.held, 0);
  EXPECT_EQ(a.counts.sold + a.counts.available, kSeats);
  for (const SeatInfo& s : a.seats) {
    EXPECT_NE(s.state, SeatState::kHeld) << s.seat_id;
    EXPECT_EQ(s.state == SeatState::kSold, sold_to.count(s.seat_id) == 1) << s.seat_id;
  }
  ASSERT_OK_AND_ASSIGN(QueueStats q, events().Stats());
  EXPECT_EQ(q.ready + q.in_flight + q.delayed + q.dead, 0);
}

TEST_P(TicketingConcurrencyTest, ThousandBuyersNeverOversellGeneralAdmission) {
  ASSERT_OK(inventory().SetInventory("ga", GeneralAdmission(kSeats)));
  StartGate gate;
  std::atomic<int64_t> held{0};
  std::atomic<int64_t> confirmed{0};
  std::vector<std::thread> buyers;
  buyers.reserve(kBuyers);
  for (int i = 0; i < kBuyers; ++i) {
    buyers.emplace_back([&, i] {
      const int64_t quantity = 1 + i % 3;
      gate.Wait();
      absl::StatusOr<Reservation> r =
          inventory().Hold(QuantityRequest("ga", absl::StrCat("b", i), quantity));
      if (!r.ok()) {
        EXPECT_THAT(r, InventoryErrorIs(InventoryError::kSoldOut));
        return;
      }
      held += quantity;
      if (i % 2 == 0) {
        EXPECT_OK(inventory().Confirm(r->reservation_id));
        confirmed += quantity;
      }
    });
  }
  gate.Open();
  for (std::thread& t : buyers) t.join();
  EXPECT_LE(held.load(), kSeats);
  EXPECT_GE(held.load(), kSeats - 2);  // it sold out (up to 2 left for want of a small buyer)
  SeatCounts c = Counts("ga");
  EXPECT_EQ(c.sold, confirmed.load());
  EXPECT_EQ(c.held, held.load() - confirmed.load());
  clock_.Advance(absl::Seconds(60));
  ASSERT_OK_AND_ASSIGN(HoldSweep sweep, inventory().SweepExpiredHolds("ga", kBuyers));
  EXPECT_TRUE(sweep.done);
  c = Counts("ga");
  EXPECT_EQ(c.held, 0);
  EXPECT_EQ(c.sold, confirmed.load());
  EXPECT_EQ(c.available, kSeats - confirmed.load());
}

// One buyer's holds raced from many threads (one admission, many Idempotency-Keys) never pass
// the limits per person: the check and the take are one atomic step.
TEST_P(TicketingConcurrencyTest, OneBuyerRacingHoldsNeverPassesTheLimits) {
  constexpr int kThreads = 64;
  InventorySpec one_hold = GeneralAdmission(20000);
  one_hold.limits = SaleLimits{};  // the defaults: 10 per hold, 1 open hold, 10 per person
  ASSERT_OK(inventory().SetInventory("hall", one_hold));
  InventorySpec many_holds = GeneralAdmission(20000);
  many_holds.limits = SaleLimits{10, 100, 10};
  ASSERT_OK(inventory().SetInventory("arena", many_holds));
  for (const auto& [event, quantity, wanted_holds] :
       {std::tuple<const char*, int64_t, int64_t>{"hall", 3, 1}, {"arena", 1, 10}}) {
    StartGate gate;
    std::atomic<int64_t> won{0};
    std::atomic<int64_t> limited{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, event = event, quantity = quantity] {
        gate.Wait();
        absl::StatusOr<Reservation> r =
            inventory().Hold(QuantityRequest(event, "hoarder", quantity));
        if (r.ok()) {
          ++won;
          return;
        }
        const InventoryError e = InventoryErrorOf(r.status());
        EXPECT_TRUE(e == InventoryError::kHoldLimit || e == InventoryError::kUserLimit)
            << r.status();
        ++limited;
      });
    }
    gate.Open();
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(won.load(), wanted_holds) << event;
    EXPECT_EQ(limited.load(), kThreads - wanted_holds) << event;
    EXPECT_EQ(Counts(event).held, wanted_holds * quantity) << event;
  }
}

TEST_P(TicketingConcurrencyTest, OneIdempotencyKeyRacedByManyThreadsStartsOnce) {
  constexpr int kThreads = 64;
  StartGate gate;
  std::atomic<int> started{0};
  std::atomic<int> in_progress{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      gate.Wait();
      absl::StatusOr<IdempotencyBegin> b = idempotency().Begin("reservations", "raced", "fp");
      ASSERT_OK(b);
      if (b->outcome == IdempotencyOutcome::kStarted) ++started;
      if (b->outcome == IdempotencyOutcome::kInProgress) ++in_progress;
    });
  }
  gate.Open();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(in_progress.load(), kThreads - 1);
}

TEST_P(TicketingConcurrencyTest, WorkerThreadsShareAQueueAndApplyEachEventOnce) {
  constexpr int kEvents = 300;
  std::mutex mu;
  std::map<std::string, int> runs;
  auto handler = [&](const Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    ++runs[d.message.id];
    return absl::OkStatus();
  };
  Worker a(&events(), handler, FullSpeed("a"));
  Worker b(&events(), handler, FullSpeed("b"));
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  EXPECT_THAT(a.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  std::thread publisher([&] {
    for (int i = 0; i < kEvents; ++i) {
      OutcomeMessage e;
      e.id = absl::StrCat("e", i);
      e.type = "test";
      EXPECT_OK(events().Publish(e));
      EXPECT_OK(events().Publish(e));  // a duplicate
    }
  });
  publisher.join();
  // Waits for the threads (real time) for at most a minute; never sleeps to pass.
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (a.totals().succeeded + b.totals().succeeded < kEvents && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  a.Stop();
  b.Stop();
  EXPECT_FALSE(a.running());
  EXPECT_EQ(a.totals().succeeded + b.totals().succeeded, kEvents);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs.size(), static_cast<size_t>(kEvents));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
}

INSTANTIATE_TEST_SUITE_P(AllStores, TicketingConcurrencyTest,
                         ::testing::ValuesIn(AllTicketingFactories()), TicketingFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
