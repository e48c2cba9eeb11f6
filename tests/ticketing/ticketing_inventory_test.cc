// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The seat inventory (inventory.h), one rule at a time with exact expectations on a simulated
// clock, against every TicketingFactory: named seats and general admission, holds that take
// all their seats or none, confirm / cancel / expire and their idempotence, holds that expire
// on time, replacing an inventory, and the errors bad input gets.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/ids.h"
#include "admission/ticketing/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/test_util.h"
#include "support/ticketing_factory.h"
#include "support/ticketing_test_util.h"
#include "ticketing/ticketing_internal.h"

namespace admission {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
constexpr SeatState kAvailable = SeatState::kAvailable;
constexpr SeatState kHeld = SeatState::kHeld;
constexpr SeatState kSold = SeatState::kSold;

class InventoryTest : public TicketingTest {
 protected:
  Reservation MustHold(const HoldRequest& request) {
    absl::StatusOr<Reservation> r = inventory().Hold(request);
    EXPECT_OK(r);
    return r.ok() ? *r : Reservation{};
  }
};

TEST_P(InventoryTest, NamedSeatsStartAvailableInOrder) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats({"B-2", "A-1", "C-3"})));
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("show", true));
  EXPECT_FALSE(a.general_admission);
  EXPECT_EQ(a.counts.total, 3);
  EXPECT_EQ(a.counts.available, 3);
  EXPECT_EQ(a.counts.held, 0);
  EXPECT_EQ(a.counts.sold, 0);
  EXPECT_EQ(a.now, clock_.Now());
  EXPECT_THAT(Seats("show"), ElementsAre(Pair("B-2", kAvailable), Pair("A-1", kAvailable),
                                         Pair("C-3", kAvailable)));
  ASSERT_OK_AND_ASSIGN(Availability without, inventory().GetAvailability("show", false));
  EXPECT_THAT(without.seats, IsEmpty());
}

TEST_P(InventoryTest, GeneralAdmissionCounts) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(100)));
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("gig", true));
  EXPECT_TRUE(a.general_admission);
  EXPECT_EQ(a.counts.total, 100);
  EXPECT_EQ(a.counts.available, 100);
  EXPECT_THAT(a.seats, IsEmpty());
}

TEST_P(InventoryTest, HoldTakesNamedSeatsForTheDefaultTtl) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(5))));
  // Asked out of order; answered in inventory order.
  HoldRequest request = SeatsRequest("show", "u1", {"A-3", "A-1"});
  request.external_ref = "show.0123456789abcdef0123456789abcdef";
  const Reservation r = MustHold(request);
  EXPECT_EQ(r.external_ref, request.external_ref);
  EXPECT_THAT(EventIdOfReservation(r.reservation_id), IsOkAndHolds("show"));
  EXPECT_EQ(r.event_id, "show");
  EXPECT_EQ(r.user_id, "u1");
  EXPECT_EQ(r.status, ReservationStatus::kHold);
  EXPECT_THAT(r.seat_ids, ElementsAre("A-1", "A-3"));
  EXPECT_EQ(r.quantity, 2);
  EXPECT_EQ(r.created_at, t0_);
  EXPECT_EQ(r.updated_at, t0_);
  EXPECT_EQ(r.hold_expires_at, t0_ + absl::Seconds(60));
  EXPECT_THAT(Seats("show"),
              ElementsAre(Pair("A-1", kHeld), Pair("A-2", kAvailable), Pair("A-3", kHeld),
                          Pair("A-4", kAvailable), Pair("A-5", kAvailable)));
  const SeatCounts c = Counts("show");
  EXPECT_EQ(c.available, 3);
  EXPECT_EQ(c.held, 2);

  ASSERT_OK_AND_ASSIGN(Reservation got, inventory().Get(r.reservation_id));
  EXPECT_EQ(got.seat_ids, r.seat_ids);
  EXPECT_EQ(got.external_ref, request.external_ref);
  ASSERT_OK_AND_ASSIGN(ReservationChange confirmed, inventory().Confirm(r.reservation_id));
  EXPECT_EQ(confirmed.reservation.external_ref, request.external_ref);
  EXPECT_EQ(confirmed.reservation.user_id, "u1");
  EXPECT_EQ(got.hold_expires_at, r.hold_expires_at);
  EXPECT_EQ(got.status, ReservationStatus::kHold);
  EXPECT_EQ(MustHold(QuantityRequest("show", "u2", 1)).external_ref, "");
}

TEST_P(InventoryTest, HoldIsAllOrNothing) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(4))));
  MustHold(SeatsRequest("show", "u1", {"A-2"}));
  const absl::StatusOr<Reservation> refused =
      inventory().Hold(SeatsRequest("show", "u2", {"A-1", "A-2", "A-3"}));
  EXPECT_THAT(refused, InventoryErrorIs(InventoryError::kSeatUnavailable));
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("A-2"));
  // Neither A-1 nor A-3 was taken.
  EXPECT_THAT(Seats("show"), ElementsAre(Pair("A-1", kAvailable), Pair("A-2", kHeld),
                                         Pair("A-3", kAvailable), Pair("A-4", kAvailable)));
  EXPECT_EQ(Counts("show").held, 1);
}

TEST_P(InventoryTest, QuantityOnNamedSeatsTakesTheFirstAvailable) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(5))));
  MustHold(SeatsRequest("show", "u1", {"A-2"}));
  const Reservation r = MustHold(QuantityRequest("show", "u2", 3));
  EXPECT_THAT(r.seat_ids, ElementsAre("A-1", "A-3", "A-4"));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "u3", 2)),
              InventoryErrorIs(InventoryError::kSoldOut));
  EXPECT_THAT(MustHold(QuantityRequest("show", "u3", 1)).seat_ids, ElementsAre("A-5"));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "u4", 1)),
              InventoryErrorIs(InventoryError::kSoldOut));
}

TEST_P(InventoryTest, GeneralAdmissionSellsOut) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  EXPECT_THAT(MustHold(QuantityRequest("gig", "u1", 8)).seat_ids, IsEmpty());
  EXPECT_THAT(inventory().Hold(QuantityRequest("gig", "u2", 3)),
              InventoryErrorIs(InventoryError::kSoldOut));
  MustHold(QuantityRequest("gig", "u2", 2));
  EXPECT_THAT(inventory().Hold(QuantityRequest("gig", "u3", 1)),
              InventoryErrorIs(InventoryError::kSoldOut));
  const SeatCounts c = Counts("gig");
  EXPECT_EQ(c.available, 0);
  EXPECT_EQ(c.held, 10);
}

TEST_P(InventoryTest, ConfirmSellsOnceAndIsIdempotent) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(3))));
  const Reservation r = MustHold(SeatsRequest("show", "u1", {"A-1", "A-2"}));
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(ReservationChange first, inventory().Confirm(r.reservation_id));
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.reservation.status, ReservationStatus::kConfirmed);
  EXPECT_EQ(first.reservation.updated_at, t0_ + absl::Seconds(10));
  EXPECT_THAT(Seats("show"),
              ElementsAre(Pair("A-1", kSold), Pair("A-2", kSold), Pair("A-3", kAvailable)));

  // Re-applying changes nothing, also after the hold's time has passed.
  clock_.Advance(absl::Minutes(5));
  ASSERT_OK_AND_ASSIGN(ReservationChange again, inventory().Confirm(r.reservation_id));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.reservation.status, ReservationStatus::kConfirmed);
  EXPECT_EQ(again.reservation.updated_at, t0_ + absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(ReservationChange expire, inventory().Expire(r.reservation_id));
  EXPECT_FALSE(expire.changed);
  EXPECT_EQ(expire.reservation.status, ReservationStatus::kConfirmed);
  EXPECT_THAT(inventory().Cancel(r.reservation_id),
              InventoryErrorIs(InventoryError::kInvalidTransition));
  const SeatCounts c = Counts("show");
  EXPECT_EQ(c.sold, 2);
  EXPECT_EQ(c.held, 0);
  EXPECT_EQ(c.available, 1);
}

TEST_P(InventoryTest, CancelGivesSeatsBackAndIsIdempotent) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(5)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 5));
  ASSERT_OK_AND_ASSIGN(ReservationChange cancel, inventory().Cancel(r.reservation_id));
  EXPECT_TRUE(cancel.changed);
  EXPECT_EQ(cancel.reservation.status, ReservationStatus::kCancelled);
  EXPECT_EQ(Counts("gig").available, 5);
  ASSERT_OK_AND_ASSIGN(ReservationChange again, inventory().Cancel(r.reservation_id));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.reservation.status, ReservationStatus::kCancelled);
  EXPECT_EQ(Counts("gig").available, 5);
  EXPECT_THAT(inventory().Confirm(r.reservation_id),
              InventoryErrorIs(InventoryError::kInvalidTransition));
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK_AND_ASSIGN(ReservationChange expire, inventory().Expire(r.reservation_id));
  EXPECT_FALSE(expire.changed);
  EXPECT_EQ(expire.reservation.status, ReservationStatus::kCancelled);
}

TEST_P(InventoryTest, HoldsExpireOnTimeAndSeatsReturn) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(2))));
  const Reservation r = MustHold(SeatsRequest("show", "u1", {"A-1"}));
  clock_.Advance(absl::Seconds(60) - absl::Microseconds(1));
  ASSERT_OK_AND_ASSIGN(ReservationChange early, inventory().Expire(r.reservation_id));
  EXPECT_FALSE(early.changed);
  EXPECT_EQ(early.reservation.status, ReservationStatus::kHold);
  EXPECT_THAT(inventory().ListExpiredHolds("show", 10), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(Counts("show").held, 1);

  clock_.Advance(absl::Microseconds(1));  // exactly hold_expires_at
  EXPECT_THAT(inventory().ListExpiredHolds("show", 10),
              IsOkAndHolds(ElementsAre(r.reservation_id)));
  // Listing is read-only.
  EXPECT_THAT(inventory().ListExpiredHolds("show", 10),
              IsOkAndHolds(ElementsAre(r.reservation_id)));
  ASSERT_OK_AND_ASSIGN(ReservationChange expired, inventory().Expire(r.reservation_id));
  EXPECT_TRUE(expired.changed);
  EXPECT_EQ(expired.reservation.status, ReservationStatus::kExpired);
  EXPECT_EQ(expired.reservation.updated_at, t0_ + absl::Seconds(60));
  EXPECT_THAT(Seats("show"), ElementsAre(Pair("A-1", kAvailable), Pair("A-2", kAvailable)));
  EXPECT_THAT(inventory().ListExpiredHolds("show", 10), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(ReservationChange again, inventory().Expire(r.reservation_id));
  EXPECT_FALSE(again.changed);
  // Expired is final: it cannot be confirmed any more; cancelling changes nothing.
  EXPECT_THAT(inventory().Confirm(r.reservation_id),
              InventoryErrorIs(InventoryError::kInvalidTransition));
  ASSERT_OK_AND_ASSIGN(ReservationChange cancel, inventory().Cancel(r.reservation_id));
  EXPECT_FALSE(cancel.changed);
  EXPECT_EQ(cancel.reservation.status, ReservationStatus::kExpired);
}

TEST_P(InventoryTest, ConfirmAfterExpiryFailsAndTheHoldEndsExpired) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(3)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 2));
  clock_.Advance(absl::Seconds(61));
  EXPECT_THAT(inventory().Confirm(r.reservation_id),
              InventoryErrorIs(InventoryError::kHoldExpired));
  ASSERT_OK_AND_ASSIGN(Reservation got, inventory().Get(r.reservation_id));
  EXPECT_EQ(got.status, ReservationStatus::kExpired);
  const SeatCounts c = Counts("gig");
  EXPECT_EQ(c.available, 3);
  EXPECT_EQ(c.sold, 0);
}

TEST_P(InventoryTest, CancelAfterExpiryEndsExpired) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(3)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 1));
  clock_.Advance(absl::Seconds(60));
  ASSERT_OK_AND_ASSIGN(ReservationChange cancel, inventory().Cancel(r.reservation_id));
  EXPECT_TRUE(cancel.changed);
  EXPECT_EQ(cancel.reservation.status, ReservationStatus::kExpired);
  EXPECT_EQ(Counts("gig").available, 3);
}

TEST_P(InventoryTest, HoldTtlCanBeShorter) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(3)));
  HoldRequest request = QuantityRequest("gig", "u1", 1);
  request.hold_ttl = absl::Seconds(5);
  const Reservation r = MustHold(request);
  EXPECT_EQ(r.hold_expires_at, t0_ + absl::Seconds(5));
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(ReservationChange expired, inventory().Expire(r.reservation_id));
  EXPECT_TRUE(expired.changed);
}

TEST_P(InventoryTest, SweepIsBoundedAndOldestFirst) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(MustHold(QuantityRequest("gig", absl::StrCat("u", i), 1)).reservation_id);
    clock_.Advance(absl::Seconds(1));
  }
  clock_.AdvanceTo(t0_ + absl::Seconds(63));  // the first four have expired
  EXPECT_THAT(inventory().ListExpiredHolds("gig", 2), IsOkAndHolds(ElementsAre(ids[0], ids[1])));
  ASSERT_OK_AND_ASSIGN(HoldSweep first, inventory().SweepExpiredHolds("gig", 3));
  EXPECT_EQ(first.expired, 3);
  EXPECT_FALSE(first.done);
  EXPECT_THAT(inventory().ListExpiredHolds("gig", 10), IsOkAndHolds(ElementsAre(ids[3])));
  ASSERT_OK_AND_ASSIGN(HoldSweep second, inventory().SweepExpiredHolds("gig", 3));
  EXPECT_EQ(second.expired, 1);
  EXPECT_TRUE(second.done);
  ASSERT_OK_AND_ASSIGN(Reservation last, inventory().Get(ids[4]));
  EXPECT_EQ(last.status, ReservationStatus::kHold);
  EXPECT_EQ(Counts("gig").held, 1);
}

TEST_P(InventoryTest, ExpiredHoldsAreGivenBackBeforeAHold) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(1)));
  const Reservation first = MustHold(QuantityRequest("gig", "u1", 1));
  clock_.Advance(absl::Seconds(60));
  // Nobody swept, yet the expired hold does not block the next buyer.
  MustHold(QuantityRequest("gig", "u2", 1));
  ASSERT_OK_AND_ASSIGN(Reservation got, inventory().Get(first.reservation_id));
  EXPECT_EQ(got.status, ReservationStatus::kExpired);
}

TEST_P(InventoryTest, ReplacingKeepsHeldAndSoldSeats) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(4))));
  const Reservation held = MustHold(SeatsRequest("show", "u1", {"A-2"}));
  const Reservation sold = MustHold(SeatsRequest("show", "u2", {"A-3"}));
  ASSERT_OK(inventory().Confirm(sold.reservation_id));

  // Dropping a held or sold seat is refused, and nothing changes.
  EXPECT_THAT(inventory().SetInventory("show", NamedSeats({"A-1", "A-3"})),
              InventoryErrorIs(InventoryError::kInventoryInUse));
  EXPECT_THAT(inventory().SetInventory("show", GeneralAdmission(10)),
              InventoryErrorIs(InventoryError::kInventoryInUse));
  EXPECT_EQ(Counts("show").total, 4);

  // Dropping available seats and adding new ones is fine; states and counts carry over.
  ASSERT_OK(inventory().SetInventory("show", NamedSeats({"B-1", "A-3", "A-2", "B-2"})));
  EXPECT_THAT(Seats("show"), ElementsAre(Pair("B-1", kAvailable), Pair("A-3", kSold),
                                         Pair("A-2", kHeld), Pair("B-2", kAvailable)));
  const SeatCounts c = Counts("show");
  EXPECT_EQ(c.total, 4);
  EXPECT_EQ(c.held, 1);
  EXPECT_EQ(c.sold, 1);
  EXPECT_EQ(c.available, 2);
  EXPECT_THAT(MustHold(QuantityRequest("show", "u3", 2)).seat_ids, ElementsAre("B-1", "B-2"));

  // The held seat still belongs to its reservation and comes back on cancel.
  ASSERT_OK(inventory().Cancel(held.reservation_id));
  EXPECT_THAT(Seats("show"), ElementsAre(Pair("B-1", kHeld), Pair("A-3", kSold),
                                         Pair("A-2", kAvailable), Pair("B-2", kHeld)));
}

TEST_P(InventoryTest, GeneralAdmissionCanGrowButNotShrinkBelowUse) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 4));
  ASSERT_OK(inventory().Confirm(r.reservation_id));
  MustHold(QuantityRequest("gig", "u2", 3));
  EXPECT_THAT(inventory().SetInventory("gig", GeneralAdmission(6)),
              InventoryErrorIs(InventoryError::kInventoryInUse));
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(7)));
  SeatCounts c = Counts("gig");
  EXPECT_EQ(c.available, 0);
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(20)));
  c = Counts("gig");
  EXPECT_EQ(c.total, 20);
  EXPECT_EQ(c.sold, 4);
  EXPECT_EQ(c.held, 3);
  EXPECT_EQ(c.available, 13);
}

TEST_P(InventoryTest, SwitchingKindNeedsAnUnusedInventory) {
  ASSERT_OK(inventory().SetInventory("ev", GeneralAdmission(2)));
  const Reservation r = MustHold(QuantityRequest("ev", "u1", 1));
  EXPECT_THAT(inventory().SetInventory("ev", NamedSeats(SeatIds(3))),
              InventoryErrorIs(InventoryError::kInventoryInUse));
  ASSERT_OK(inventory().Cancel(r.reservation_id));
  ASSERT_OK(inventory().SetInventory("ev", NamedSeats(SeatIds(3))));
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("ev", true));
  EXPECT_FALSE(a.general_admission);
  EXPECT_EQ(a.counts.available, 3);
  ASSERT_OK(inventory().SetInventory("ev", GeneralAdmission(5)));
  EXPECT_EQ(Counts("ev").available, 5);
  EXPECT_THAT(Seats("ev"), IsEmpty());
}

TEST_P(InventoryTest, ListEventsNamesEventsWithAnInventory) {
  EXPECT_THAT(inventory().ListEvents(), IsOkAndHolds(IsEmpty()));
  ASSERT_OK(inventory().SetInventory("a", GeneralAdmission(1)));
  ASSERT_OK(inventory().SetInventory("b", NamedSeats({"x"})));
  EXPECT_THAT(inventory().SetInventory("c", GeneralAdmission(0)), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().ListEvents(), IsOkAndHolds(UnorderedElementsAre("a", "b")));
}

TEST_P(InventoryTest, BadInputGetsClearErrors) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(3))));
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(3)));
  // Inventories.
  EXPECT_THAT(inventory().SetInventory("bad id", GeneralAdmission(1)), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", InventorySpec{}), StatusIs(kInvalidArgument));
  InventorySpec both = NamedSeats({"a"});
  both.general_admission = 3;
  EXPECT_THAT(inventory().SetInventory("e", both), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", NamedSeats({"a", "b", "a"})),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", NamedSeats({"a b"})), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", NamedSeats({std::string(65, 's')})),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", NamedSeats({"{x}"})), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().SetInventory("e", GeneralAdmission(kMaxGeneralAdmission + 1)),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().GetAvailability("e", true), StatusIs(kNotFound));
  EXPECT_THAT(inventory().GetAvailability("", true), StatusIs(kInvalidArgument));

  // Holds.
  EXPECT_THAT(inventory().Hold(QuantityRequest("nope", "u", 1)), StatusIs(kNotFound));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "bad user", 1)), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "u", 0)), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "u", kMaxSeatsPerHold + 1)),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().Hold(SeatsRequest("show", "u", {"A-1", "A-1"})),
              StatusIs(kInvalidArgument));
  HoldRequest mismatch = SeatsRequest("show", "u", {"A-1"});
  mismatch.quantity = 2;
  EXPECT_THAT(inventory().Hold(mismatch), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().Hold(SeatsRequest("show", "u", {"Z-9"})), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().Hold(SeatsRequest("gig", "u", {"A-1"})), StatusIs(kInvalidArgument));
  HoldRequest long_ttl = QuantityRequest("gig", "u", 1);
  long_ttl.hold_ttl = absl::Hours(2);
  EXPECT_THAT(inventory().Hold(long_ttl), StatusIs(kInvalidArgument));
  long_ttl.hold_ttl = -absl::Seconds(1);
  EXPECT_THAT(inventory().Hold(long_ttl), StatusIs(kInvalidArgument));
  HoldRequest bad_ref = QuantityRequest("gig", "u", 1);
  bad_ref.external_ref = "a|b";
  EXPECT_THAT(inventory().Hold(bad_ref), StatusIs(kInvalidArgument));
  bad_ref.external_ref = std::string(kMaxExternalRefLength + 1, 'r');
  EXPECT_THAT(inventory().Hold(bad_ref), StatusIs(kInvalidArgument));
  // None of that took anything.
  EXPECT_EQ(Counts("show").available, 3);
  EXPECT_EQ(Counts("gig").available, 3);

  // Reservation ids.
  for (const std::string& bad : {std::string(""), std::string("show"), std::string("show.0123"),
                                 std::string("show.") + std::string(32, 'g'),
                                 std::string("bad id.") + std::string(32, 'a')}) {
    EXPECT_THAT(inventory().Get(bad), StatusIs(kInvalidArgument)) << bad;
    EXPECT_THAT(inventory().Confirm(bad), StatusIs(kInvalidArgument)) << bad;
    EXPECT_THAT(inventory().Cancel(bad), StatusIs(kInvalidArgument)) << bad;
    EXPECT_THAT(inventory().Expire(bad), StatusIs(kInvalidArgument)) << bad;
  }
  const std::string unknown = NewReservationId("show");
  EXPECT_THAT(inventory().Get(unknown), StatusIs(kNotFound));
  EXPECT_THAT(inventory().Confirm(unknown), StatusIs(kNotFound));
  EXPECT_THAT(inventory().Get(NewReservationId("other")), StatusIs(kNotFound));
  EXPECT_THAT(inventory().ListExpiredHolds("nope", 5), StatusIs(kNotFound));
  EXPECT_THAT(inventory().SweepExpiredHolds("nope", 5), StatusIs(kNotFound));
}

// --- Prices ----------------------------------------------------------------------------------

InventorySpec Priced(InventorySpec spec, std::string currency, int64_t price,
                     std::vector<SeatPrice> seat_prices = {}) {
  spec.currency = std::move(currency);
  spec.price = price;
  spec.seat_prices = std::move(seat_prices);
  return spec;
}

TEST_P(InventoryTest, PricedNamedSeatsTotalTheirOwnOrTheEventsPrice) {
  ASSERT_OK(inventory().SetInventory(
      "show", Priced(NamedSeats(SeatIds(4)), "EUR", 5000, {{"A-1", 9000}, {"A-4", 7000}})));
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("show", true));
  EXPECT_EQ(a.currency, "EUR");
  EXPECT_EQ(a.price, 5000);
  std::vector<int64_t> prices;
  for (const SeatInfo& seat : a.seats) prices.push_back(seat.price);
  EXPECT_THAT(prices, ElementsAre(9000, 5000, 5000, 7000));

  const Reservation two = MustHold(SeatsRequest("show", "u1", {"A-2", "A-1"}));
  EXPECT_EQ(two.total, 14000);
  EXPECT_EQ(two.currency, "EUR");
  const Reservation rest = MustHold(QuantityRequest("show", "u2", 2));  // A-3, A-4
  EXPECT_EQ(rest.total, 12000);
  ASSERT_OK_AND_ASSIGN(Reservation read, inventory().Get(two.reservation_id));
  EXPECT_EQ(read.total, 14000);
  EXPECT_EQ(read.currency, "EUR");
  ASSERT_OK_AND_ASSIGN(ReservationChange confirmed, inventory().Confirm(two.reservation_id));
  EXPECT_EQ(confirmed.reservation.total, 14000);
  EXPECT_EQ(confirmed.reservation.currency, "EUR");
}

TEST_P(InventoryTest, EverySeatMayHaveItsOwnPrice) {
  ASSERT_OK(inventory().SetInventory(
      "duo", Priced(NamedSeats({"L", "R"}), "CHF", 0, {{"L", 100}, {"R", 250}})));
  EXPECT_EQ(MustHold(QuantityRequest("duo", "u1", 2)).total, 350);
}

TEST_P(InventoryTest, GeneralAdmissionCostsThePriceOfAPlaceTimesTheQuantity) {
  ASSERT_OK(inventory().SetInventory("gig", Priced(GeneralAdmission(100), "USD", 2500)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 4));
  EXPECT_EQ(r.total, 10000);
  EXPECT_EQ(r.currency, "USD");
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("gig", false));
  EXPECT_EQ(a.currency, "USD");
  EXPECT_EQ(a.price, 2500);
}

TEST_P(InventoryTest, AHoldKeepsItsTotalWhenPricesChange) {
  ASSERT_OK(inventory().SetInventory("gig", Priced(GeneralAdmission(100), "EUR", 1000)));
  const Reservation before = MustHold(QuantityRequest("gig", "u1", 2));
  ASSERT_OK(inventory().SetInventory("gig", Priced(GeneralAdmission(100), "EUR", 3000)));
  ASSERT_OK_AND_ASSIGN(Reservation read, inventory().Get(before.reservation_id));
  EXPECT_EQ(read.total, 2000);
  EXPECT_EQ(MustHold(QuantityRequest("gig", "u2", 2)).total, 6000);
  // Taking the prices off leaves the held total as it was, and new holds unpriced.
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(100)));
  ASSERT_OK_AND_ASSIGN(read, inventory().Get(before.reservation_id));
  EXPECT_EQ(read.total, 2000);
  EXPECT_EQ(read.currency, "EUR");
  const Reservation unpriced = MustHold(QuantityRequest("gig", "u3", 1));
  EXPECT_EQ(unpriced.total, 0);
  EXPECT_EQ(unpriced.currency, "");
}

TEST_P(InventoryTest, AnInventoryWithoutPricesHasNoTotals) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(2))));
  const Reservation r = MustHold(QuantityRequest("show", "u1", 2));
  EXPECT_EQ(r.total, 0);
  EXPECT_EQ(r.currency, "");
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("show", true));
  EXPECT_EQ(a.currency, "");
  for (const SeatInfo& seat : a.seats) EXPECT_EQ(seat.price, 0);
}

TEST_P(InventoryTest, BadPricesAndLimitsGetClearErrors) {
  const auto bad = [this](const InventorySpec& spec) {
    EXPECT_THAT(inventory().SetInventory("e", spec), StatusIs(kInvalidArgument));
  };
  bad(Priced(GeneralAdmission(5), "", 100));                     // a price without a currency
  bad(Priced(GeneralAdmission(5), "eur", 100));                  // not ISO 4217
  bad(Priced(GeneralAdmission(5), "EURO", 100));                 //
  bad(Priced(GeneralAdmission(5), "EUR", 0));                    // places without a price
  bad(Priced(GeneralAdmission(5), "EUR", -1));                   //
  bad(Priced(GeneralAdmission(5), "EUR", kMaxPrice + 1));        // over the limit
  bad(Priced(GeneralAdmission(5), "EUR", 100, {{"A-1", 100}}));  // seat prices on GA
  bad(Priced(NamedSeats({"a", "b"}), "EUR", 0, {{"a", 100}}));   // b has no price
  bad(Priced(NamedSeats({"a"}), "EUR", 100, {{"z", 100}}));      // not one of the seats
  bad(Priced(NamedSeats({"a"}), "EUR", 100, {{"a", 1}, {"a", 2}}));
  bad(Priced(NamedSeats({"a"}), "EUR", 100, {{"a", 0}}));
  InventorySpec no_currency = NamedSeats({"a"});
  no_currency.seat_prices = {{"a", 100}};
  bad(no_currency);
  for (SaleLimits limits : {SaleLimits{0, 1, 1}, SaleLimits{kMaxSeatsPerHold + 1, 1, 1},
                            SaleLimits{1, 0, 1}, SaleLimits{1, kMaxHoldsPerUser + 1, 1},
                            SaleLimits{1, 1, 0}, SaleLimits{1, 1, kMaxGeneralAdmission + 1}}) {
    InventorySpec spec = GeneralAdmission(5);
    spec.limits = limits;
    bad(spec);
  }
  EXPECT_THAT(inventory().GetAvailability("e", false), StatusIs(kNotFound));
  EXPECT_THAT(ValidateCurrency("EUR"), IsOk());
  EXPECT_THAT(ValidateCurrency("E1R"), StatusIs(kInvalidArgument));
}

TEST_P(InventoryTest, ConfirmPaidConfirmsOnlyThePaymentOfTheTotal) {
  ASSERT_OK(inventory().SetInventory("gig", Priced(GeneralAdmission(10), "EUR", 2500)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 2));
  for (const Payment& wrong :
       {Payment{4999, "EUR"}, Payment{5001, "EUR"}, Payment{5000, "USD"}, Payment{0, ""}}) {
    const absl::StatusOr<ReservationChange> refused =
        inventory().ConfirmPaid(r.reservation_id, wrong);
    EXPECT_THAT(refused, InventoryErrorIs(InventoryError::kPaymentMismatch));
    EXPECT_THAT(refused.status().message(), HasSubstr("5000 EUR")) << refused.status();
  }
  EXPECT_EQ(Counts("gig").held, 2);
  ASSERT_OK_AND_ASSIGN(ReservationChange paid,
                       inventory().ConfirmPaid(r.reservation_id, Payment{5000, "EUR"}));
  EXPECT_TRUE(paid.changed);
  EXPECT_EQ(paid.reservation.status, ReservationStatus::kConfirmed);
  // Again: unchanged; a wrong amount for a sold reservation is refused all the same.
  ASSERT_OK_AND_ASSIGN(paid, inventory().ConfirmPaid(r.reservation_id, Payment{5000, "EUR"}));
  EXPECT_FALSE(paid.changed);
  EXPECT_THAT(inventory().ConfirmPaid(r.reservation_id, Payment{1, "EUR"}),
              InventoryErrorIs(InventoryError::kPaymentMismatch));
  // Without prices any payment confirms, stated or not.
  ASSERT_OK(inventory().SetInventory("free", GeneralAdmission(10)));
  const Reservation f1 = MustHold(QuantityRequest("free", "u1", 1));
  const Reservation f2 = MustHold(QuantityRequest("free", "u1", 1));
  EXPECT_OK(inventory().ConfirmPaid(f1.reservation_id, Payment{1, "JPY"}));
  EXPECT_OK(inventory().ConfirmPaid(f2.reservation_id, Payment{}));
  // Bad payments are InvalidArgument before any store is asked.
  for (const Payment& bad : {Payment{0, "EUR"}, Payment{-5, "EUR"}, Payment{5, "eur"},
                             Payment{kMaxReservationTotal + 1, "EUR"}, Payment{5, ""}}) {
    EXPECT_THAT(inventory().ConfirmPaid(r.reservation_id, bad), StatusIs(kInvalidArgument));
  }
  EXPECT_THAT(inventory().ConfirmPaid("nope", Payment{5, "EUR"}), StatusIs(kInvalidArgument));
}

// --- Limits per person ---------------------------------------------------------------------------

// An inventory with the default limits.
InventorySpec Defaults(InventorySpec spec) {
  spec.limits = SaleLimits{};
  return spec;
}

TEST_P(InventoryTest, DefaultLimitsStopOneBuyerHoardingTheHall) {
  ASSERT_OK(inventory().SetInventory("hall", Defaults(GeneralAdmission(20000))));
  ASSERT_OK_AND_ASSIGN(Availability a, inventory().GetAvailability("hall", false));
  EXPECT_EQ(a.limits.seats_per_hold, 10);
  EXPECT_EQ(a.limits.holds_per_user, 1);
  EXPECT_EQ(a.limits.seats_per_user, 10);
  EXPECT_THAT(inventory().Hold(QuantityRequest("hall", "u1", 11)),
              InventoryErrorIs(InventoryError::kHoldTooLarge));
  const Reservation first = MustHold(QuantityRequest("hall", "u1", 4));
  const absl::StatusOr<Reservation> second = inventory().Hold(QuantityRequest("hall", "u1", 1));
  EXPECT_THAT(second, InventoryErrorIs(InventoryError::kHoldLimit));
  EXPECT_THAT(second.status().message(), HasSubstr(first.reservation_id));
  // Another buyer is not affected.
  MustHold(QuantityRequest("hall", "u2", 10));
  // Cancelling gives the seats back to the allowance...
  ASSERT_OK(inventory().Cancel(first.reservation_id));
  const Reservation again = MustHold(QuantityRequest("hall", "u1", 10));
  // ...buying does not: sold seats count for good.
  ASSERT_OK(inventory().Confirm(again.reservation_id));
  EXPECT_THAT(inventory().Hold(QuantityRequest("hall", "u1", 1)),
              InventoryErrorIs(InventoryError::kUserLimit));
  EXPECT_EQ(Counts("hall").held + Counts("hall").sold, 20);
}

TEST_P(InventoryTest, SeatsPerUserCountHeldAndSoldSeats) {
  InventorySpec spec = NamedSeats(SeatIds(20));
  spec.limits = SaleLimits{4, 3, 6};
  ASSERT_OK(inventory().SetInventory("show", spec));
  EXPECT_THAT(inventory().Hold(SeatsRequest("show", "u1", SeatIds(5))),
              InventoryErrorIs(InventoryError::kHoldTooLarge));
  const Reservation a = MustHold(QuantityRequest("show", "u1", 4));
  ASSERT_OK(inventory().Confirm(a.reservation_id));
  MustHold(QuantityRequest("show", "u1", 1));
  const absl::StatusOr<Reservation> over = inventory().Hold(QuantityRequest("show", "u1", 2));
  EXPECT_THAT(over, InventoryErrorIs(InventoryError::kUserLimit));
  EXPECT_THAT(over.status().message(), HasSubstr("5 are held or bought"));
  MustHold(QuantityRequest("show", "u1", 1));
  EXPECT_THAT(inventory().Hold(QuantityRequest("show", "u1", 1)),
              InventoryErrorIs(InventoryError::kUserLimit));
  // A refusal takes nothing.
  EXPECT_EQ(Counts("show").available, 14);
}

TEST_P(InventoryTest, OpenHoldsPerUserAreCountedWhileTheyRun) {
  InventorySpec spec = GeneralAdmission(100);
  spec.limits = SaleLimits{10, 2, 100};
  ASSERT_OK(inventory().SetInventory("gig", spec));
  const Reservation a = MustHold(QuantityRequest("gig", "u1", 1));
  const Reservation b = MustHold(QuantityRequest("gig", "u1", 1));
  EXPECT_THAT(inventory().Hold(QuantityRequest("gig", "u1", 1)),
              InventoryErrorIs(InventoryError::kHoldLimit));
  ASSERT_OK(inventory().Confirm(a.reservation_id));  // no longer open
  const Reservation c = MustHold(QuantityRequest("gig", "u1", 1));
  EXPECT_THAT(inventory().Hold(QuantityRequest("gig", "u1", 1)),
              InventoryErrorIs(InventoryError::kHoldLimit));
  ASSERT_OK(inventory().Cancel(b.reservation_id));
  ASSERT_OK(inventory().Cancel(c.reservation_id));
  MustHold(QuantityRequest("gig", "u1", 1));
  MustHold(QuantityRequest("gig", "u1", 1));
}

TEST_P(InventoryTest, ABuyersExpiredHoldNeverStandsInTheirWay) {
  // More holds expire before the buyer's than a Hold gives back on its way in
  // (expire_per_call, 16): the buyer's own are given back all the same.
  ASSERT_OK(inventory().SetInventory("hall", Defaults(GeneralAdmission(1000))));
  for (int i = 0; i < 20; ++i) {
    HoldRequest early = QuantityRequest("hall", absl::StrCat("early-", i), 1);
    early.hold_ttl = absl::Seconds(5);
    MustHold(early);
  }
  HoldRequest mine = QuantityRequest("hall", "u1", 10);
  mine.hold_ttl = absl::Seconds(10);
  const Reservation lapsed = MustHold(mine);
  clock_.Advance(absl::Seconds(10));
  const Reservation next = MustHold(QuantityRequest("hall", "u1", 10));
  ASSERT_OK_AND_ASSIGN(Reservation read, inventory().Get(lapsed.reservation_id));
  EXPECT_EQ(read.status, ReservationStatus::kExpired);
  // Expiring through the sweep gives the allowance back too.
  clock_.Advance(absl::Seconds(60));
  ASSERT_OK(inventory().SweepExpiredHolds("hall", 100));
  ASSERT_OK_AND_ASSIGN(read, inventory().Get(next.reservation_id));
  EXPECT_EQ(read.status, ReservationStatus::kExpired);
  MustHold(QuantityRequest("hall", "u1", 10));
}

TEST_P(InventoryTest, LimitsChangeWithTheInventoryAndApplyToTheNextHolds) {
  ASSERT_OK(inventory().SetInventory("gig", Defaults(GeneralAdmission(100))));
  MustHold(QuantityRequest("gig", "u1", 10));
  InventorySpec wider = GeneralAdmission(100);
  wider.limits = SaleLimits{10, 2, 12};
  ASSERT_OK(inventory().SetInventory("gig", wider));
  EXPECT_THAT(inventory().Hold(QuantityRequest("gig", "u1", 3)),
              InventoryErrorIs(InventoryError::kUserLimit));
  MustHold(QuantityRequest("gig", "u1", 2));
}

TEST(InventoryNamesTest, ErrorsRoundTripThroughStatus) {
  for (InventoryError e :
       {InventoryError::kSoldOut, InventoryError::kSeatUnavailable, InventoryError::kHoldExpired,
        InventoryError::kInvalidTransition, InventoryError::kInventoryInUse,
        InventoryError::kHoldTooLarge, InventoryError::kHoldLimit, InventoryError::kUserLimit,
        InventoryError::kPaymentMismatch}) {
    const absl::Status s = ticketing_internal::InventoryErrorStatus(e, "message");
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(s.message(), "message");
    EXPECT_EQ(InventoryErrorOf(s), e);
    EXPECT_FALSE(InventoryErrorName(e).empty());
  }
  EXPECT_EQ(InventoryErrorName(InventoryError::kSoldOut), "sold_out");
  EXPECT_EQ(InventoryErrorName(InventoryError::kSeatUnavailable), "seat_unavailable");
  EXPECT_EQ(InventoryErrorName(InventoryError::kHoldTooLarge), "hold_too_large");
  EXPECT_EQ(InventoryErrorName(InventoryError::kHoldLimit), "hold_limit");
  EXPECT_EQ(InventoryErrorName(InventoryError::kUserLimit), "user_limit");
  EXPECT_EQ(InventoryErrorOf(absl::FailedPreconditionError("x")), InventoryError::kNone);
  EXPECT_EQ(InventoryErrorOf(absl::OkStatus()), InventoryError::kNone);
  EXPECT_EQ(ReservationStatusName(ReservationStatus::kHold), "HOLD");
  EXPECT_EQ(ReservationStatusName(ReservationStatus::kConfirmed), "CONFIRMED");
  EXPECT_EQ(ReservationStatusName(ReservationStatus::kCancelled), "CANCELLED");
  EXPECT_EQ(ReservationStatusName(ReservationStatus::kExpired), "EXPIRED");
  EXPECT_EQ(SeatStateName(SeatState::kSold), "SOLD");
}

// --- Exactly-once holds and payment intents ------------------------------------------------------

HoldRequest Keyed(HoldRequest request, std::string_view key) {
  request.request_key = std::string(key);
  return request;
}

TEST_P(InventoryTest, AHoldRetriedWithItsKeyAnswersTheFirstHold) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  const Reservation first = MustHold(Keyed(QuantityRequest("gig", "u1", 2), "k-1"));
  clock_.Advance(absl::Seconds(3));
  // The answer was lost; the retry takes nothing more and names the same reservation.
  const Reservation again = MustHold(Keyed(QuantityRequest("gig", "u1", 2), "k-1"));
  EXPECT_EQ(again.reservation_id, first.reservation_id);
  EXPECT_EQ(again.created_at, first.created_at);
  EXPECT_EQ(again.status, ReservationStatus::kHold);
  EXPECT_EQ(Counts("gig").held, 2);
  // As it is now: once confirmed, the replay says CONFIRMED.
  ASSERT_OK(inventory().Confirm(first.reservation_id));
  const Reservation later = MustHold(Keyed(QuantityRequest("gig", "u1", 2), "k-1"));
  EXPECT_EQ(later.reservation_id, first.reservation_id);
  EXPECT_EQ(later.status, ReservationStatus::kConfirmed);
  EXPECT_EQ(Counts("gig").sold, 2);
  EXPECT_EQ(Counts("gig").held, 0);
  // Another key is another hold.
  const Reservation other = MustHold(Keyed(QuantityRequest("gig", "u1", 2), "k-2"));
  EXPECT_NE(other.reservation_id, first.reservation_id);
  EXPECT_EQ(Counts("gig").held, 2);
}

TEST_P(InventoryTest, AKeyUsedForAnotherHoldIsRefused) {
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(5))));
  const Reservation first = MustHold(Keyed(SeatsRequest("show", "u1", {"A-1"}), "k"));
  for (HoldRequest other :
       {SeatsRequest("show", "u1", {"A-2"}), SeatsRequest("show", "u1", {"A-1", "A-2"}),
        QuantityRequest("show", "u1", 1)}) {
    EXPECT_THAT(inventory().Hold(Keyed(other, "k")),
                InventoryErrorIs(InventoryError::kRequestKeyReused));
  }
  HoldRequest longer = SeatsRequest("show", "u1", {"A-1"});
  longer.hold_ttl = absl::Minutes(5);
  EXPECT_THAT(inventory().Hold(Keyed(longer, "k")),
              InventoryErrorIs(InventoryError::kRequestKeyReused));
  EXPECT_THAT(Seats("show"),
              ElementsAre(Pair("A-1", kHeld), Pair("A-2", kAvailable), Pair("A-3", kAvailable),
                          Pair("A-4", kAvailable), Pair("A-5", kAvailable)));
  // Keys are per buyer: another user's hold with the same key is their own.
  const Reservation theirs = MustHold(Keyed(SeatsRequest("show", "u2", {"A-2"}), "k"));
  EXPECT_NE(theirs.reservation_id, first.reservation_id);
  EXPECT_EQ(theirs.user_id, "u2");
}

TEST_P(InventoryTest, ARefusedHoldIsRefusedAgainForItsKey) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(3)));
  const Reservation big = MustHold(QuantityRequest("gig", "u0", 3));
  EXPECT_THAT(inventory().Hold(Keyed(QuantityRequest("gig", "u1", 1), "k")),
              InventoryErrorIs(InventoryError::kSoldOut));
  ASSERT_OK(inventory().Cancel(big.reservation_id));
  // The retry gets the first answer, not a hold that the first request never made.
  EXPECT_THAT(inventory().Hold(Keyed(QuantityRequest("gig", "u1", 1), "k")),
              InventoryErrorIs(InventoryError::kSoldOut));
  EXPECT_EQ(Counts("gig").held, 0);
  // Input errors leave no trace: fixed, the same key runs.
  ASSERT_OK(inventory().SetInventory("show", NamedSeats(SeatIds(2))));
  EXPECT_THAT(inventory().Hold(Keyed(SeatsRequest("show", "u1", {"Z-9"}), "k2")),
              StatusIs(kInvalidArgument));
  EXPECT_OK(inventory().Hold(Keyed(SeatsRequest("show", "u1", {"A-1"}), "k2")));
}

TEST_P(InventoryTest, AHoldKeyIsForgottenAfterTheIdempotencyTtl) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  HoldRequest request = Keyed(QuantityRequest("gig", "u1", 1), "k");
  request.hold_ttl = absl::Hours(1);
  const Reservation first = MustHold(request);
  clock_.Advance(TicketingOptions().idempotency_ttl - absl::Microseconds(1));
  EXPECT_EQ(MustHold(request).reservation_id, first.reservation_id);
  clock_.Advance(absl::Microseconds(1));
  const Reservation second = MustHold(request);
  EXPECT_NE(second.reservation_id, first.reservation_id);
  EXPECT_EQ(Counts("gig").held, 2);
}

TEST_P(InventoryTest, BadRequestKeysAreInvalidArgument) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  for (const std::string& bad : {std::string("with space"), std::string(256, 'k'),
                                 std::string("tab\tkey"), std::string("\x80")}) {
    EXPECT_THAT(inventory().Hold(Keyed(QuantityRequest("gig", "u1", 1), bad)),
                StatusIs(kInvalidArgument))
        << bad;
  }
  EXPECT_EQ(Counts("gig").held, 0);
}

TEST_P(InventoryTest, APaymentIntentIsRecordedOnce) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  const Reservation r = MustHold(QuantityRequest("gig", "u1", 1));
  ASSERT_OK_AND_ASSIGN(PaymentIntentRecord first,
                       inventory().RecordPaymentIntent(r.reservation_id, "approve 0"));
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.intent, "approve 0");
  EXPECT_EQ(first.recorded_at, clock_.Now());
  EXPECT_EQ(first.reservation.status, ReservationStatus::kHold);
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(PaymentIntentRecord again,
                       inventory().RecordPaymentIntent(r.reservation_id, "approve 0"));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.recorded_at, first.recorded_at);
  EXPECT_THAT(inventory().RecordPaymentIntent(r.reservation_id, "fail"),
              InventoryErrorIs(InventoryError::kPaymentExists));
  // Still answered after the payment confirmed the reservation (a late retry).
  ASSERT_OK(inventory().Confirm(r.reservation_id));
  ASSERT_OK_AND_ASSIGN(again, inventory().RecordPaymentIntent(r.reservation_id, "approve 0"));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.reservation.status, ReservationStatus::kConfirmed);
  EXPECT_EQ(Counts("gig").sold, 1);
}

TEST_P(InventoryTest, APaymentIntentNeedsALiveHold) {
  ASSERT_OK(inventory().SetInventory("gig", GeneralAdmission(10)));
  const Reservation cancelled = MustHold(QuantityRequest("gig", "u1", 1));
  ASSERT_OK(inventory().Cancel(cancelled.reservation_id));
  EXPECT_THAT(inventory().RecordPaymentIntent(cancelled.reservation_id, "approve"),
              InventoryErrorIs(InventoryError::kInvalidTransition));
  HoldRequest brief = QuantityRequest("gig", "u1", 1);
  brief.hold_ttl = absl::Seconds(10);
  const Reservation late = MustHold(brief);
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(inventory().RecordPaymentIntent(late.reservation_id, "approve"),
              InventoryErrorIs(InventoryError::kHoldExpired));
  ASSERT_OK_AND_ASSIGN(Reservation expired, inventory().Get(late.reservation_id));
  EXPECT_EQ(expired.status, ReservationStatus::kExpired);
  EXPECT_EQ(Counts("gig").held, 0);
  EXPECT_THAT(inventory().RecordPaymentIntent(late.reservation_id, ""), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().RecordPaymentIntent(late.reservation_id, std::string(257, 'x')),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().RecordPaymentIntent("nope", "approve"), StatusIs(kInvalidArgument));
  EXPECT_THAT(inventory().RecordPaymentIntent(NewReservationId("gig"), "approve"),
              StatusIs(kNotFound));
}

INSTANTIATE_TEST_SUITE_P(AllStores, InventoryTest, ::testing::ValuesIn(AllTicketingFactories()),
                         TicketingFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
