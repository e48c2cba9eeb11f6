// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Shared by the ticketing suites: a fixture that makes a bundle from the suite's
// TicketingFactory on a SimulatedClock, request builders, and printers.
#ifndef ADMISSION_TESTS_SUPPORT_TICKETING_TEST_UTIL_H_
#define ADMISSION_TESTS_SUPPORT_TICKETING_TEST_UTIL_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/ticketing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/test_util.h"
#include "support/ticketing_factory.h"

namespace admission {

inline void PrintTo(ReservationStatus s, std::ostream* os) { *os << ReservationStatusName(s); }
inline void PrintTo(SeatState s, std::ostream* os) { *os << SeatStateName(s); }
inline void PrintTo(InventoryError e, std::ostream* os) {
  *os << (e == InventoryError::kNone ? "none" : InventoryErrorName(e));
}
inline void PrintTo(IdempotencyOutcome o, std::ostream* os) { *os << IdempotencyOutcomeName(o); }

namespace testing {

// "A-1" .. "A-n".
inline std::vector<std::string> SeatIds(int n, std::string_view row = "A") {
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i) ids.push_back(std::string(row) + "-" + std::to_string(i));
  return ids;
}

// The widest limits per person: suites that test one rule at a time (one user holding many
// seats, say) are not stopped by the others. The limits' own tests start from SaleLimits{}.
inline SaleLimits NoLimits() {
  SaleLimits limits;
  limits.seats_per_hold = kMaxSeatsPerHold;
  limits.holds_per_user = kMaxHoldsPerUser;
  limits.seats_per_user = kMaxGeneralAdmission;
  return limits;
}

inline InventorySpec NamedSeats(std::vector<std::string> ids) {
  InventorySpec spec;
  spec.seat_ids = std::move(ids);
  spec.limits = NoLimits();
  return spec;
}

inline InventorySpec GeneralAdmission(int64_t n) {
  InventorySpec spec;
  spec.general_admission = n;
  spec.limits = NoLimits();
  return spec;
}

inline HoldRequest SeatsRequest(std::string_view event, std::string_view user,
                                std::vector<std::string> seats) {
  HoldRequest r;
  r.event_id = std::string(event);
  r.user_id = std::string(user);
  r.seat_ids = std::move(seats);
  return r;
}

inline HoldRequest QuantityRequest(std::string_view event, std::string_view user,
                                   int64_t quantity) {
  HoldRequest r;
  r.event_id = std::string(event);
  r.user_id = std::string(user);
  r.quantity = quantity;
  return r;
}

// The status is a FailedPrecondition carrying `error`.
MATCHER_P(InventoryErrorIs, error,
          std::string("is an inventory refusal ") + std::string(InventoryErrorName(error))) {
  const absl::Status& status = ::admission::testing::GetStatus(arg);
  if (InventoryErrorOf(status) == error) return true;
  *result_listener << "status is " << status;
  return false;
}

class TicketingTest : public ::testing::TestWithParam<TicketingFactory> {
 protected:
  void SetUp() override {
    t0_ = clock_.Now();
    TicketingOptions options = Options();
    options.clock = &clock_;
    absl::StatusOr<Ticketing> made = GetParam().make(options);
    ASSERT_OK(made);
    t_ = std::move(made).value();
  }

  // Suites override to change the options.
  virtual TicketingOptions Options() { return TicketingOptions(); }

  Inventory& inventory() { return *t_.inventory; }
  OutcomeQueue& events() { return *t_.outcomes; }
  IdempotencyStore& idempotency() { return *t_.idempotency; }

  SeatCounts Counts(std::string_view event) {
    absl::StatusOr<Availability> a = inventory().GetAvailability(event, false);
    EXPECT_OK(a);
    return a.ok() ? a->counts : SeatCounts{};
  }

  // The state of every named seat, in inventory order.
  std::vector<std::pair<std::string, SeatState>> Seats(std::string_view event) {
    std::vector<std::pair<std::string, SeatState>> out;
    absl::StatusOr<Availability> a = inventory().GetAvailability(event, true);
    EXPECT_OK(a);
    if (a.ok()) {
      for (const SeatInfo& s : a->seats) out.emplace_back(s.seat_id, s.state);
    }
    return out;
  }

  SimulatedClock clock_;
  absl::Time t0_;
  Ticketing t_;
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_TICKETING_TEST_UTIL_H_
