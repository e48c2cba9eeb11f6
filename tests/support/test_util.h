// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Test helpers: absl::Status assertions and matchers (Abseil 20220623 ships none), printers for
// the library's enums, and small policy builders shared by the suites.
#ifndef ADMISSION_TESTS_SUPPORT_TEST_UTIL_H_
#define ADMISSION_TESTS_SUPPORT_TEST_UTIL_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace admission {

// Printers so that failures show names, not numbers (found by ADL).
inline void PrintTo(UserState state, std::ostream* os) { *os << UserStateName(state); }
inline void PrintTo(EntryBlock block, std::ostream* os) { *os << EntryBlockName(block); }

namespace testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Predicate formatter behind ASSERT_OK / EXPECT_OK.
template <typename T>
::testing::AssertionResult IsOkPredFormat(const char* expr, const T& value) {
  const absl::Status& status = GetStatus(value);
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not OK: " << status;
}

// Predicate formatter behind ASSERT_STATUS_CODE / EXPECT_STATUS_CODE.
template <typename T>
::testing::AssertionResult HasCodePredFormat(const char* expr, const char* /*code_expr*/,
                                             const T& value, absl::StatusCode code) {
  const absl::Status& status = GetStatus(value);
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << expr << " returned " << status << ", expected code " << absl::StatusCodeToString(code);
}

// gMock matchers: EXPECT_THAT(result, IsOk()), StatusIs(absl::StatusCode::kNotFound),
// IsOkAndHolds(Field(&QueueStatus::position, 3)).
MATCHER(IsOk, "is OK") {
  const absl::Status& status = ::admission::testing::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code,
          std::string("has status code ") +
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) {
  const absl::Status& status = ::admission::testing::GetStatus(arg);
  if (status.code() != code) *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// |a - b| <= tolerance, for durations.
inline ::testing::AssertionResult DurationNear(absl::Duration actual, absl::Duration expected,
                                               absl::Duration tolerance) {
  if (absl::AbsDuration(actual - expected) <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "duration " << actual << " is not within " << tolerance << " of " << expected;
}

// A policy that never gets in the way: fast, deep bucket, no tiers, large capacity, long TTLs.
// Tests switch on exactly the knob they exercise.
inline Policy OpenPolicy() {
  Policy p;
  p.admit_rate_per_sec = 1000;
  p.burst = 1000;
  p.bypass_top_n = 0;
  p.active_capacity = 1000000;
  p.heartbeat_ttl = absl::Minutes(5);
  p.active_ttl = absl::Minutes(10);
  p.reservation_ttl = absl::Seconds(30);
  p.ended_ttl = absl::Minutes(10);
  p.wait_tiers.clear();
  p.rate_windows = {absl::Seconds(10), absl::Seconds(60), absl::Seconds(300)};
  return p;
}

}  // namespace testing
}  // namespace admission

#define ADMISSION_TEST_CONCAT_INNER_(a, b) a##b
#define ADMISSION_TEST_CONCAT_(a, b) ADMISSION_TEST_CONCAT_INNER_(a, b)

// ASSERT_OK(status_or_statusor) << "extra message";
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::admission::testing::IsOkPredFormat, expr)
#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::admission::testing::IsOkPredFormat, expr)

// EXPECT_STATUS_CODE(room->Status(token), absl::StatusCode::kNotFound);
#define ASSERT_STATUS_CODE(expr, code) \
  ASSERT_PRED_FORMAT2(::admission::testing::HasCodePredFormat, expr, code)
#define EXPECT_STATUS_CODE(expr, code) \
  EXPECT_PRED_FORMAT2(::admission::testing::HasCodePredFormat, expr, code)

// ASSERT_OK_AND_ASSIGN(QueueStatus s, room->Join("ev", "u1"));  (also works with `auto`)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ADMISSION_ASSERT_OK_AND_ASSIGN_IMPL_(ADMISSION_TEST_CONCAT_(status_or_, __LINE__), lhs, rexpr)
#define ADMISSION_ASSERT_OK_AND_ASSIGN_IMPL_(var, lhs, rexpr)        \
  auto var = (rexpr);                                                \
  ASSERT_TRUE(var.ok()) << #rexpr << " is not OK: " << var.status(); \
  lhs = std::move(var).value()

#endif  // ADMISSION_TESTS_SUPPORT_TEST_UTIL_H_
