// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The event queue (outcome_queue.h) and the worker (worker.h), stepped deterministically on a
// simulated clock, against every TicketingFactory: delivery, dedupe of duplicated events,
// not-before times, leases that run out and redeliver, retries with backoff, the dead-letter
// list and its replay, the worker's pace, and the standard ticketing events applied to the
// inventory exactly once.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

OutcomeMessage Event(std::string id, std::string type = "test", std::string payload = "p") {
  OutcomeMessage e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

std::vector<std::string> Ids(const std::vector<Delivery>& deliveries) {
  std::vector<std::string> ids;
  for (const Delivery& d : deliveries) ids.push_back(d.message.id);
  return ids;
}

class QueueTest : public TicketingTest {
 protected:
  std::vector<Delivery> Claim(std::string_view consumer, int64_t max,
                              absl::Duration lease = absl::Seconds(30)) {
    absl::StatusOr<std::vector<Delivery>> got = events().Claim(consumer, max, lease);
    EXPECT_OK(got);
    return got.ok() ? *got : std::vector<Delivery>{};
  }
  QueueStats Stats() {
    absl::StatusOr<QueueStats> s = events().Stats();
    EXPECT_OK(s);
    return s.ok() ? *s : QueueStats{};
  }
  WorkerOptions Paced(double per_sec) {
    WorkerOptions o;
    o.clock = &clock_;
    o.events_per_sec = per_sec;
    return o;
  }
  WorkerStep MustStep(Worker& worker, int64_t max = -1) {
    absl::StatusOr<WorkerStep> step = worker.Step(max);
    EXPECT_OK(step);
    return step.ok() ? *step : WorkerStep{};
  }
};

TEST_P(QueueTest, PublishClaimAckInOrder) {
  for (const char* id : {"e1", "e2", "e3"}) {
    EXPECT_THAT(events().Publish(Event(id, "test", std::string("pay\0load", 8))),
                IsOkAndHolds(true));
  }
  QueueStats s = Stats();
  EXPECT_EQ(s.ready, 3);
  EXPECT_EQ(s.published, 3);
  const std::vector<Delivery> got = Claim("c1", 2);
  EXPECT_THAT(Ids(got), ElementsAre("e1", "e2"));
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].message.type, "test");
  EXPECT_EQ(got[0].message.payload, std::string("pay\0load", 8));
  EXPECT_EQ(got[0].message.not_before, absl::InfinitePast());
  EXPECT_EQ(got[0].published_at, t0_);
  EXPECT_EQ(got[0].lease_expires_at, t0_ + absl::Seconds(30));
  EXPECT_EQ(got[0].last_error, "");
  s = Stats();
  EXPECT_EQ(s.ready, 1);
  EXPECT_EQ(s.in_flight, 2);
  ASSERT_OK(events().Ack("e1"));
  ASSERT_OK(events().Ack("e1"));  // acking twice changes nothing
  ASSERT_OK(events().Ack("e2"));
  EXPECT_THAT(Ids(Claim("c1", 10)), ElementsAre("e3"));
  ASSERT_OK(events().Ack("e3"));
  EXPECT_THAT(Claim("c1", 10), IsEmpty());
  s = Stats();
  EXPECT_EQ(s.ready + s.in_flight + s.delayed + s.dead, 0);
  EXPECT_EQ(s.completed, 3);
}

TEST_P(QueueTest, DuplicatesAreDroppedWithinTheWindow) {
  EXPECT_THAT(events().Publish(Event("once")), IsOkAndHolds(true));
  EXPECT_THAT(events().Publish(Event("once", "other", "other")), IsOkAndHolds(false));
  ASSERT_THAT(Claim("c", 10), SizeIs(1));
  EXPECT_THAT(events().Publish(Event("once")), IsOkAndHolds(false));  // in flight
  ASSERT_OK(events().Ack("once"));
  EXPECT_THAT(events().Publish(Event("once")), IsOkAndHolds(false));  // completed
  clock_.Advance(absl::Hours(24));
  EXPECT_THAT(events().Publish(Event("once")), IsOkAndHolds(true));  // forgotten
  EXPECT_EQ(Stats().duplicates, 3);
}

TEST_P(QueueTest, NotBeforeDelaysDelivery) {
  OutcomeMessage later = Event("later");
  later.not_before = t0_ + absl::Seconds(10);
  ASSERT_THAT(events().Publish(later), IsOkAndHolds(true));
  ASSERT_THAT(events().Publish(Event("now")), IsOkAndHolds(true));
  EXPECT_EQ(Stats().delayed, 1);
  EXPECT_THAT(Ids(Claim("c", 10)), ElementsAre("now"));
  clock_.Advance(absl::Seconds(10) - absl::Microseconds(1));
  EXPECT_THAT(Claim("c", 10), IsEmpty());
  clock_.Advance(absl::Microseconds(1));
  const std::vector<Delivery> got = Claim("c", 10);
  ASSERT_THAT(Ids(got), ElementsAre("later"));
  EXPECT_EQ(got[0].message.not_before, t0_ + absl::Seconds(10));
}

TEST_P(QueueTest, AnExpiredLeaseRedeliversToAnotherConsumer) {
  ASSERT_OK(events().Publish(Event("e")));
  ASSERT_THAT(Claim("crashed", 10), SizeIs(1));
  clock_.Advance(absl::Seconds(30) - absl::Microseconds(1));
  EXPECT_THAT(Claim("c2", 10), IsEmpty());
  clock_.Advance(absl::Microseconds(1));
  const std::vector<Delivery> again = Claim("c2", 10);
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].last_error, "lease expired");
  EXPECT_EQ(Stats().redelivered, 1);
  // The first delivery can no longer retry or park it, but its ack completes it.
  EXPECT_THAT(events().Retry("e", 1, clock_.Now(), "x"), StatusIs(kFailedPrecondition));
  EXPECT_THAT(events().Park("e", 1, "x"), StatusIs(kFailedPrecondition));
  ASSERT_OK(events().Ack("e"));
  ASSERT_OK(events().Ack("e"));
  EXPECT_THAT(events().Retry("e", 2, clock_.Now(), "x"), StatusIs(kFailedPrecondition));
  EXPECT_EQ(Stats().in_flight, 0);
}

TEST_P(QueueTest, RetryParkListAndReplay) {
  ASSERT_OK(events().Publish(Event("e", "test", "payload")));
  ASSERT_THAT(Claim("c", 1), SizeIs(1));
  ASSERT_OK(events().Retry("e", 1, t0_ + absl::Seconds(5), "boom"));
  EXPECT_THAT(events().Ack("e"), StatusIs(kFailedPrecondition));  // waiting, not in flight
  EXPECT_EQ(Stats().delayed, 1);
  EXPECT_THAT(Claim("c", 1), IsEmpty());
  clock_.Advance(absl::Seconds(5));
  std::vector<Delivery> got = Claim("c", 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].attempts, 2);
  EXPECT_EQ(got[0].last_error, "boom");
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK(events().Park("e", 2, std::string(5000, 'z')));
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetter> dead, events().ListDeadLetters(10));
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].message.id, "e");
  EXPECT_EQ(dead[0].message.type, "test");
  EXPECT_EQ(dead[0].message.payload, "payload");
  EXPECT_EQ(dead[0].attempts, 2);
  EXPECT_EQ(dead[0].error.size(), kMaxMessageErrorBytes);
  EXPECT_EQ(dead[0].published_at, t0_);
  EXPECT_EQ(dead[0].parked_at, t0_ + absl::Seconds(6));
  QueueStats s = Stats();
  EXPECT_EQ(s.dead, 1);
  EXPECT_EQ(s.retried, 1);
  EXPECT_EQ(s.parked, 1);
  EXPECT_THAT(Claim("c", 10), IsEmpty());
  EXPECT_THAT(events().Publish(Event("e")), IsOkAndHolds(false));  // parked counts as known

  ASSERT_OK(events().ReplayDeadLetter("e"));
  EXPECT_THAT(events().ReplayDeadLetter("e"), StatusIs(kNotFound));
  EXPECT_THAT(events().ListDeadLetters(10), IsOkAndHolds(IsEmpty()));
  got = Claim("c", 1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].attempts, 1);
  ASSERT_OK(events().Ack("e"));
}

TEST_P(QueueTest, BadInputGetsClearErrors) {
  EXPECT_THAT(events().Publish(Event("")), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event("has space")), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event("{x}")), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event(std::string(201, 'e'))), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event("e", "Upper")), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event("e", "")), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Publish(Event("e", "t", std::string(64 * 1024 + 1, 'p'))),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Claim("", 1, absl::Seconds(1)), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Claim("c", 1, absl::ZeroDuration()), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Claim("c", 0, absl::Seconds(1)), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(events().Ack("unknown"), StatusIs(kNotFound));
  EXPECT_THAT(events().Ack("bad id"), StatusIs(kInvalidArgument));
  EXPECT_THAT(events().Retry("unknown", 1, t0_, "x"), StatusIs(kNotFound));
  EXPECT_THAT(events().Park("unknown", 1, "x"), StatusIs(kNotFound));
  EXPECT_THAT(events().ReplayDeadLetter("unknown"), StatusIs(kNotFound));
  EXPECT_THAT(events().ListDeadLetters(0), IsOkAndHolds(IsEmpty()));
  ASSERT_OK(events().Publish(Event("e")));
  EXPECT_THAT(events().Ack("e"), StatusIs(kFailedPrecondition));  // ready, not claimed

  TicketingOptions bad;
  bad.queue_name = "no spaces";
  EXPECT_THAT(NewMemoryTicketing(bad), StatusIs(kInvalidArgument));
  bad = TicketingOptions();
  bad.default_hold_ttl = absl::ZeroDuration();
  EXPECT_THAT(NewMemoryTicketing(bad), StatusIs(kInvalidArgument));

  WorkerOptions o;
  o.consumer = "bad consumer";
  EXPECT_THAT(Worker(
                  &events(), [](const Delivery&) { return absl::OkStatus(); }, o)
                  .Step(),
              StatusIs(kInvalidArgument));
  o = WorkerOptions();
  o.events_per_sec = -1;
  EXPECT_THAT(Worker(
                  &events(), [](const Delivery&) { return absl::OkStatus(); }, o)
                  .Start(),
              StatusIs(kInvalidArgument));
  o = WorkerOptions();
  o.max_attempts = 0;
  EXPECT_THAT(Worker(
                  &events(), [](const Delivery&) { return absl::OkStatus(); }, o)
                  .Step(),
              StatusIs(kInvalidArgument));
}

// --- The worker --------------------------------------------------------------------------

TEST_P(QueueTest, WorkerAtFullSpeedAppliesEverythingDue) {
  std::vector<std::string> seen;
  Worker worker(
      &events(),
      [&](const Delivery& d) {
        seen.push_back(d.message.id);
        return absl::OkStatus();
      },
      Paced(0));
  for (int i = 0; i < 70; ++i) ASSERT_OK(events().Publish(Event(absl::StrCat("e", i))));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.claimed, 70);
  EXPECT_EQ(step.counts.succeeded, 70);
  EXPECT_TRUE(step.drained);
  EXPECT_EQ(seen.size(), 70u);
  EXPECT_EQ(seen.front(), "e0");
  EXPECT_EQ(seen.back(), "e69");
  EXPECT_EQ(worker.totals().succeeded, 70);
  EXPECT_EQ(Stats().completed, 70);
}

TEST_P(QueueTest, WorkerKeepsItsPace) {
  int applied = 0;
  Worker worker(
      &events(),
      [&](const Delivery&) {
        ++applied;
        return absl::OkStatus();
      },
      Paced(10));
  for (int i = 0; i < 100; ++i) ASSERT_OK(events().Publish(Event(absl::StrCat("e", i))));
  WorkerStep step = MustStep(worker);  // a full burst: one second's worth
  EXPECT_EQ(step.counts.claimed, 10);
  EXPECT_FALSE(step.drained);
  EXPECT_EQ(step.pace_wait, absl::Milliseconds(100));
  step = MustStep(worker);  // no time has passed
  EXPECT_EQ(step.counts.claimed, 0);
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(MustStep(worker).counts.claimed, 5);
  clock_.Advance(absl::Seconds(100));  // an idle spell refills one burst, not more
  EXPECT_EQ(MustStep(worker).counts.claimed, 10);
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Milliseconds(100));
    EXPECT_EQ(MustStep(worker).counts.claimed, 1);
  }
  EXPECT_EQ(applied, 35);
  // A step's own limit applies within the pace.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(MustStep(worker, 3).counts.claimed, 3);
}

TEST_P(QueueTest, PoisonedEventIsParkedAfterRetriesWhileTheRestFlow) {
  bool fixed = false;
  int good = 0;
  Worker worker(
      &events(),
      [&](const Delivery& d) {
        if (d.message.id == "poison" && !fixed)
          return absl::UnavailableError("payment gateway down");
        ++good;
        return absl::OkStatus();
      },
      Paced(0));
  ASSERT_OK(events().Publish(Event("poison")));
  int published = 0;
  auto publish_good = [&] {
    for (int i = 0; i < 3; ++i) ASSERT_OK(events().Publish(Event(absl::StrCat("g", published++))));
  };
  // Attempts 1..8 at t0, +1 s, +3 s, +7 s, ... (backoff 1 s, 2 s, 4 s, ..., capped at 60 s); good
  // events flow meanwhile.
  const absl::Duration backoffs[] = {absl::Seconds(1), absl::Seconds(2),  absl::Seconds(4),
                                     absl::Seconds(8), absl::Seconds(16), absl::Seconds(32),
                                     absl::Seconds(60)};
  publish_good();
  WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.retried, 1);
  EXPECT_EQ(step.counts.succeeded, 3);
  for (absl::Duration backoff : backoffs) {
    publish_good();
    clock_.Advance(backoff - absl::Microseconds(1));
    step = MustStep(worker);
    EXPECT_EQ(step.counts.succeeded, 3);  // the good ones do not wait for the poison
    EXPECT_EQ(step.counts.retried + step.counts.parked, 0);
    clock_.Advance(absl::Microseconds(1));
    step = MustStep(worker);
    EXPECT_EQ(step.counts.claimed, 1);
  }
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(worker.totals().retried, 7);
  EXPECT_EQ(good, 24);
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetter> dead, events().ListDeadLetters(10));
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].message.id, "poison");
  EXPECT_EQ(dead[0].attempts, 8);
  EXPECT_THAT(dead[0].error, HasSubstr("payment gateway down"));
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(MustStep(worker).counts.claimed, 0);  // parked stays parked

  fixed = true;
  ASSERT_OK(events().ReplayDeadLetter("poison"));
  step = MustStep(worker);
  EXPECT_EQ(step.counts.succeeded, 1);
  EXPECT_THAT(events().ListDeadLetters(10), IsOkAndHolds(IsEmpty()));
}

TEST_P(QueueTest, PermanentErrorsAreParkedAtOnce) {
  Worker worker(
      &events(), [](const Delivery&) { return absl::InvalidArgumentError("malformed payload"); },
      Paced(0));
  ASSERT_OK(events().Publish(Event("bad")));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(step.counts.retried, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetter> dead, events().ListDeadLetters(10));
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].attempts, 1);
}

TEST_P(QueueTest, AnEventThatKeepsLosingItsLeaseIsParkedWithoutRunningAgain) {
  int runs = 0;
  Worker worker(
      &events(),
      [&](const Delivery&) {
        ++runs;
        return absl::OkStatus();
      },
      Paced(0));
  ASSERT_OK(events().Publish(Event("hang")));
  // As many consumers as it has attempts take it and die holding it.
  for (int i = 0; i < WorkerOptions().max_attempts; ++i) {
    ASSERT_THAT(Claim(absl::StrCat("dead-", i), 1), SizeIs(1));
    clock_.Advance(absl::Seconds(30));
  }
  const WorkerStep step = MustStep(worker);  // one delivery more
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(runs, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetter> dead, events().ListDeadLetters(10));
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].attempts, WorkerOptions().max_attempts + 1);
  EXPECT_THAT(dead[0].error, HasSubstr("lease expired"));
}

// --- The standard ticketing events through the worker ------------------------------------

class TicketingFlowTest : public QueueTest {
 protected:
  void SetUp() override {
    QueueTest::SetUp();
    ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(4))));
  }
  // The handler, counting the applications that changed something.
  OutcomeHandler Handler() {
    TicketingHandlerOptions options;
    options.on_applied = [this](const Delivery&, const ReservationChange& change) {
      ++applied_;
      if (change.changed) ++changed_;
    };
    return MakeTicketingHandler(&inventory(), options);
  }
  Reservation MustHold(std::vector<std::string> seats) {
    absl::StatusOr<Reservation> r = inventory().Hold(SeatsRequest("show", "u1", std::move(seats)));
    EXPECT_OK(r);
    return r.ok() ? *r : Reservation{};
  }
  ReservationStatus StatusOf(const Reservation& r) {
    absl::StatusOr<Reservation> got = inventory().Get(r.reservation_id);
    EXPECT_OK(got);
    return got.ok() ? got->status : ReservationStatus::kHold;
  }
  int applied_ = 0;
  int changed_ = 0;
};

TEST_P(TicketingFlowTest, PaymentApprovedConfirms) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHold({"A-1", "A-2"});
  const OutcomeMessage approved = PaymentApprovedMessage(r.reservation_id, 1, "EUR");
  EXPECT_EQ(approved.id, "payment_approved:" + r.reservation_id);
  EXPECT_EQ(approved.type, "payment_approved");
  EXPECT_EQ(approved.payload, r.reservation_id + " 1 EUR");
  ASSERT_THAT(events().Publish(approved), IsOkAndHolds(true));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kConfirmed);
  EXPECT_EQ(Counts("show").sold, 2);
}

TEST_P(TicketingFlowTest, PaymentFailedCancelsAndDelayedOutcomesWait) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHold({"A-1"});
  ASSERT_OK(events().Publish(PaymentFailedMessage(r.reservation_id, t0_ + absl::Seconds(20))));
  EXPECT_EQ(MustStep(worker).counts.claimed, 0);
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kCancelled);
  EXPECT_EQ(Counts("show").available, 4);
}

TEST_P(TicketingFlowTest, ARedeliveredOrDuplicatedEventIsAppliedOnce) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHold({"A-1", "A-2"});
  // Published twice (a retrying publisher): dropped the second time.
  ASSERT_THAT(events().Publish(PaymentApprovedMessage(r.reservation_id, 1, "EUR")),
              IsOkAndHolds(true));
  ASSERT_THAT(events().Publish(PaymentApprovedMessage(r.reservation_id, 1, "EUR")),
              IsOkAndHolds(false));
  // A worker applies it and crashes before acking: the event comes back after the lease.
  std::vector<Delivery> taken = Claim("crashed", 1);
  ASSERT_THAT(taken, SizeIs(1));
  ASSERT_OK(Handler()(taken[0]));
  EXPECT_EQ(changed_, 1);
  clock_.Advance(absl::Seconds(30));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.succeeded, 1);
  EXPECT_EQ(applied_, 2);  // it ran twice...
  EXPECT_EQ(changed_, 1);  // ...and changed the inventory once
  EXPECT_EQ(StatusOf(r), ReservationStatus::kConfirmed);
  const SeatCounts c = Counts("show");
  EXPECT_EQ(c.sold, 2);
  EXPECT_EQ(c.held, 0);
  // Published again after completion: still dropped.
  EXPECT_THAT(events().Publish(PaymentApprovedMessage(r.reservation_id, 1, "EUR")),
              IsOkAndHolds(false));
  EXPECT_EQ(MustStep(worker).counts.claimed, 0);
}

TEST_P(TicketingFlowTest, ExpiredHoldsGoThroughTheQueue) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r1 = MustHold({"A-1"});
  const Reservation r2 = MustHold({"A-2"});
  ASSERT_OK(events().Publish(PaymentApprovedMessage(r2.reservation_id, 1, "EUR")));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_THAT(PublishExpiredHolds(inventory(), events(), "show", 100), IsOkAndHolds(0));
  clock_.Advance(absl::Seconds(60));
  EXPECT_THAT(PublishExpiredHolds(inventory(), events(), "show", 100), IsOkAndHolds(1));
  // Found again before the worker ran: the duplicate is dropped.
  EXPECT_THAT(PublishExpiredHolds(inventory(), events(), "show", 100), IsOkAndHolds(0));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_EQ(StatusOf(r1), ReservationStatus::kExpired);
  EXPECT_EQ(StatusOf(r2), ReservationStatus::kConfirmed);  // expiring a sale does nothing
  EXPECT_THAT(Seats("show"), ElementsAre(::testing::Pair("A-1", SeatState::kAvailable),
                                         ::testing::Pair("A-2", SeatState::kSold),
                                         ::testing::Pair("A-3", SeatState::kAvailable),
                                         ::testing::Pair("A-4", SeatState::kAvailable)));
  EXPECT_THAT(PublishExpiredHolds(inventory(), events(), "show", 100), IsOkAndHolds(0));
}

TEST_P(TicketingFlowTest, APaymentAfterExpiryIsParkedForAnOperator) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHold({"A-1"});
  ASSERT_OK(events().Publish(
      PaymentApprovedMessage(r.reservation_id, 1, "EUR", t0_ + absl::Seconds(90))));
  clock_.Advance(absl::Seconds(90));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kExpired);
  ASSERT_OK_AND_ASSIGN(std::vector<DeadLetter> dead, events().ListDeadLetters(10));
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_THAT(dead[0].error, HasSubstr("hold has expired"));
}

TEST_P(TicketingFlowTest, MalformedEventsAreParked) {
  Worker worker(&events(), Handler(), Paced(0));
  ASSERT_OK(events().Publish(Event("x1", "payment_approved", "not-a-reservation")));
  ASSERT_OK(events().Publish(Event("x2", "refund_issued", NewReservationId("show"))));
  // Unknown reservations: nothing to expire or cancel; an approved payment needs an operator.
  ASSERT_OK(events().Publish(HoldExpiredMessage(NewReservationId("show"))));
  ASSERT_OK(events().Publish(PaymentFailedMessage(NewReservationId("show"))));
  ASSERT_OK(events().Publish(PaymentApprovedMessage(NewReservationId("show"), 1, "EUR")));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.parked, 3);
  EXPECT_EQ(step.counts.succeeded, 2);
  EXPECT_EQ(applied_, 0);
}

// --- Payment truth: only the full total confirms a priced hold --------------------------------

class PaidFlowTest : public TicketingFlowTest {
 protected:
  void SetUp() override {
    TicketingFlowTest::SetUp();
    InventorySpec spec = NamedSeats(SeatIds(6));
    spec.currency = "EUR";
    spec.price = 4500;
    spec.seat_prices = {{"A-1", 9000}};
    ASSERT_OK(inventory().SetInventory("paid", spec));
  }
  Reservation MustHoldPaid(std::vector<std::string> seats) {
    absl::StatusOr<Reservation> r = inventory().Hold(SeatsRequest("paid", "u1", std::move(seats)));
    EXPECT_OK(r);
    return r.ok() ? *r : Reservation{};
  }
  std::vector<DeadLetter> Dead() {
    absl::StatusOr<std::vector<DeadLetter>> dead = events().ListDeadLetters(100);
    EXPECT_OK(dead);
    return dead.ok() ? *dead : std::vector<DeadLetter>{};
  }
  int next_id_ = 0;
};

TEST_P(PaidFlowTest, ThePaymentOfTheTotalConfirms) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHoldPaid({"A-1", "A-2"});
  ASSERT_EQ(r.total, 13500);
  const OutcomeMessage approved = PaymentApprovedMessage(r.reservation_id, 13500, "EUR");
  EXPECT_EQ(approved.payload, r.reservation_id + " 13500 EUR");
  ASSERT_OK(events().Publish(approved));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kConfirmed);
  EXPECT_EQ(Counts("paid").sold, 2);
}

TEST_P(PaidFlowTest, AWrongAmountOrCurrencyIsParkedAndConfirmsNothing) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHoldPaid({"A-2"});
  ASSERT_OK(events().Publish(PaymentApprovedMessage(r.reservation_id, 100, "EUR")));
  WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(step.counts.retried, 0);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kHold);
  EXPECT_EQ(applied_, 0);
  std::vector<DeadLetter> dead = Dead();
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_THAT(dead[0].error, HasSubstr("100 EUR does not match"));
  EXPECT_THAT(dead[0].error, HasSubstr("4500 EUR"));
  EXPECT_EQ(dead[0].attempts, 1);

  const Reservation other = MustHoldPaid({"A-3"});  // holds_per_user is wide in these suites
  ASSERT_OK(events().Publish(PaymentApprovedMessage(other.reservation_id, 4500, "USD")));
  step = MustStep(worker);
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(StatusOf(other), ReservationStatus::kHold);
  // Overpaying is no better: money for the wrong total needs a person.
  const Reservation third = MustHoldPaid({"A-4"});
  ASSERT_OK(events().Publish(PaymentApprovedMessage(third.reservation_id, 9000, "EUR")));
  EXPECT_EQ(MustStep(worker).counts.parked, 1);
  EXPECT_EQ(StatusOf(third), ReservationStatus::kHold);
  EXPECT_EQ(Counts("paid").sold, 0);
  // A replay changes nothing: the amount is still wrong.
  ASSERT_OK(events().ReplayDeadLetter(dead[0].message.id));
  EXPECT_EQ(MustStep(worker).counts.parked, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kHold);
}

TEST_P(PaidFlowTest, AnApprovalWithoutAnAmountConfirmsOnlyUnpricedHolds) {
  // How earlier versions queued it: the bare reservation id.
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation unpriced = MustHold({"A-1"});
  const Reservation priced = MustHoldPaid({"A-1"});
  ASSERT_OK(events().Publish(Event("old-1", "payment_approved", unpriced.reservation_id)));
  ASSERT_OK(events().Publish(Event("old-2", "payment_approved", priced.reservation_id)));
  const WorkerStep step = MustStep(worker);
  EXPECT_EQ(step.counts.succeeded, 1);
  EXPECT_EQ(step.counts.parked, 1);
  EXPECT_EQ(StatusOf(unpriced), ReservationStatus::kConfirmed);
  EXPECT_EQ(StatusOf(priced), ReservationStatus::kHold);
  std::vector<DeadLetter> dead = Dead();
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_THAT(dead[0].error, HasSubstr("unstated amount"));
}

TEST_P(PaidFlowTest, AnyPaymentConfirmsAHoldWithoutPrices) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHold({"A-1"});
  ASSERT_OK(events().Publish(PaymentApprovedMessage(r.reservation_id, 777, "JPY")));
  EXPECT_EQ(MustStep(worker).counts.succeeded, 1);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kConfirmed);
}

TEST_P(PaidFlowTest, MalformedApprovalsAreParked) {
  Worker worker(&events(), Handler(), Paced(0));
  const Reservation r = MustHoldPaid({"A-5"});
  for (const std::string& payload :
       {r.reservation_id + " 4500", r.reservation_id + " 4500 eur", r.reservation_id + " -1 EUR",
        r.reservation_id + " x EUR", r.reservation_id + " 4500 EUR extra",
        std::string("nope 4500 EUR")}) {
    ASSERT_OK(
        events().Publish(Event("bad-" + std::to_string(next_id_++), "payment_approved", payload)));
  }
  EXPECT_EQ(MustStep(worker).counts.parked, 6);
  EXPECT_EQ(StatusOf(r), ReservationStatus::kHold);
}

TEST(PaymentApprovalTest, ParsesWhatPaymentApprovedMessageWrites) {
  const std::string rid = NewReservationId("show");
  ASSERT_OK_AND_ASSIGN(PaymentApproval p,
                       ParsePaymentApproval(PaymentApprovedMessage(rid, 4999, "EUR").payload));
  EXPECT_EQ(p.reservation_id, rid);
  EXPECT_EQ(p.amount, 4999);
  EXPECT_EQ(p.currency, "EUR");
  ASSERT_OK_AND_ASSIGN(p, ParsePaymentApproval(rid));
  EXPECT_EQ(p.amount, 0);
  EXPECT_EQ(p.currency, "");
  EXPECT_THAT(ParsePaymentApproval(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePaymentApproval(rid + " 0 EUR"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePaymentApproval(rid + " " + std::to_string(kMaxReservationTotal + 1) + " EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(AllStores, QueueTest, ::testing::ValuesIn(AllTicketingFactories()),
                         TicketingFactoryName());
INSTANTIATE_TEST_SUITE_P(AllStores, TicketingFlowTest, ::testing::ValuesIn(AllTicketingFactories()),
                         TicketingFactoryName());
INSTANTIATE_TEST_SUITE_P(AllStores, PaidFlowTest, ::testing::ValuesIn(AllTicketingFactories()),
                         TicketingFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
