// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The idempotency store (idempotency.h) against every TicketingFactory: the first request
// runs, retries replay it, a different request with the same key is refused, a crashed
// request frees its key after the lease, finished keys are forgotten after the TTL; and an
// Idempotency-Key replay of a hold returns the same reservation, never a second hold.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/ticketing/idempotency.h"
#include "admission/ticketing/inventory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/test_util.h"
#include "support/ticketing_factory.h"
#include "support/ticketing_test_util.h"

namespace admission {
namespace testing {
namespace {

using ::testing::MatchesRegex;

constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
constexpr IdempotencyOutcome kStarted = IdempotencyOutcome::kStarted;
constexpr IdempotencyOutcome kReplay = IdempotencyOutcome::kReplay;
constexpr IdempotencyOutcome kMismatch = IdempotencyOutcome::kMismatch;
constexpr IdempotencyOutcome kInProgress = IdempotencyOutcome::kInProgress;

class IdempotencyTest : public TicketingTest {
 protected:
  IdempotencyBegin Begin(std::string_view key, std::string_view fingerprint,
                         std::string_view scope = "reservations") {
    absl::StatusOr<IdempotencyBegin> b = idempotency().Begin(scope, key, fingerprint);
    EXPECT_OK(b);
    return b.ok() ? *b : IdempotencyBegin{};
  }
};

TEST_P(IdempotencyTest, FirstRunsRetriesReplayOthersMismatch) {
  const IdempotencyBegin first = Begin("key-1", "fp-a");
  EXPECT_EQ(first.outcome, kStarted);
  EXPECT_THAT(first.lease, MatchesRegex("[0-9a-f]{32}"));
  // While it runs: the same request waits, another is refused.
  EXPECT_EQ(Begin("key-1", "fp-a").outcome, kInProgress);
  EXPECT_EQ(Begin("key-1", "fp-b").outcome, kMismatch);

  // The response is opaque bytes, zeros included.
  const std::string response("201\0{\"reservation_id\":\"x\"}", 27);
  ASSERT_OK(idempotency().Finish("reservations", "key-1", first.lease, response));
  const IdempotencyBegin replay = Begin("key-1", "fp-a");
  EXPECT_EQ(replay.outcome, kReplay);
  EXPECT_EQ(replay.response, response);
  EXPECT_EQ(Begin("key-1", "fp-b").outcome, kMismatch);
  // Finishing twice is refused; the stored response stays.
  EXPECT_THAT(idempotency().Finish("reservations", "key-1", first.lease, "other"),
              StatusIs(kFailedPrecondition));
  EXPECT_EQ(Begin("key-1", "fp-a").response, response);
}

TEST_P(IdempotencyTest, ScopesAndKeysAreIndependent) {
  EXPECT_EQ(Begin("k", "fp", "scope-a").outcome, kStarted);
  EXPECT_EQ(Begin("k", "fp", "scope-b").outcome, kStarted);
  EXPECT_EQ(Begin("k2", "fp", "scope-a").outcome, kStarted);
  // Keys that a naive encoding would confuse (hash-tag braces, escapes, the separator).
  for (const char* key : {"{k}", "%7Bk%7D", "%257Bk%257D", "a|b", "}{", "{", "%"}) {
    EXPECT_EQ(Begin(key, "fp", "s").outcome, kStarted) << key;
  }
  EXPECT_EQ(Begin("a:b", "fp", "s").outcome, kStarted);
  EXPECT_EQ(Begin("b", "fp", "s:a").outcome, kStarted);
  EXPECT_EQ(Begin("a|b", "fp", "s").outcome, kInProgress);
}

TEST_P(IdempotencyTest, AbandonFreesTheKey) {
  const IdempotencyBegin first = Begin("k", "fp");
  EXPECT_THAT(idempotency().Abandon("reservations", "k", "0123456789abcdef0123456789abcdef"),
              StatusIs(kFailedPrecondition));
  EXPECT_EQ(Begin("k", "fp").outcome, kInProgress);
  ASSERT_OK(idempotency().Abandon("reservations", "k", first.lease));
  // Abandoning a free key is fine.
  ASSERT_OK(idempotency().Abandon("reservations", "k", first.lease));
  const IdempotencyBegin second = Begin("k", "fp-other");
  EXPECT_EQ(second.outcome, kStarted);
  EXPECT_NE(second.lease, first.lease);
  // The first attempt can no longer finish.
  EXPECT_THAT(idempotency().Finish("reservations", "k", first.lease, "r"),
              StatusIs(kFailedPrecondition));
  ASSERT_OK(idempotency().Finish("reservations", "k", second.lease, "r2"));
  // A finished key cannot be abandoned.
  EXPECT_THAT(idempotency().Abandon("reservations", "k", second.lease),
              StatusIs(kFailedPrecondition));
  EXPECT_EQ(Begin("k", "fp-other").response, "r2");
}

TEST_P(IdempotencyTest, ACrashedRequestFreesItsKeyAfterTheLease) {
  const IdempotencyBegin first = Begin("k", "fp");
  clock_.Advance(absl::Seconds(30) - absl::Microseconds(1));
  EXPECT_EQ(Begin("k", "fp").outcome, kInProgress);
  clock_.Advance(absl::Microseconds(1));
  const IdempotencyBegin second = Begin("k", "fp");
  EXPECT_EQ(second.outcome, kStarted);
  EXPECT_NE(second.lease, first.lease);
  // The slow first attempt neither overwrites nor drops the one that replaced it.
  EXPECT_THAT(idempotency().Finish("reservations", "k", first.lease, "late"),
              StatusIs(kFailedPrecondition));
  EXPECT_THAT(idempotency().Abandon("reservations", "k", first.lease),
              StatusIs(kFailedPrecondition));
  ASSERT_OK(idempotency().Finish("reservations", "k", second.lease, "fresh"));
  EXPECT_EQ(Begin("k", "fp").response, "fresh");
}

TEST_P(IdempotencyTest, FinishedKeysReplayForTheTtl) {
  const IdempotencyBegin first = Begin("k", "fp");
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK(idempotency().Finish("reservations", "k", first.lease, "resp"));
  clock_.Advance(absl::Minutes(5) - absl::Microseconds(1));
  EXPECT_EQ(Begin("k", "fp").outcome, kReplay);
  clock_.Advance(absl::Microseconds(1));
  // Forgotten: the key may be used afresh, by any request.
  EXPECT_EQ(Begin("k", "fp-new").outcome, kStarted);
}

TEST_P(IdempotencyTest, BadInputGetsClearErrors) {
  EXPECT_THAT(idempotency().Begin("", "k", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("a b", "k", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("a{b}", "k", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin(std::string(65, 's'), "k", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("s", "", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("s", "has space", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("s", "tab\there", "fp"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("s", std::string(256, 'k'), "fp"), StatusIs(kInvalidArgument));
  EXPECT_OK(idempotency().Begin("s", std::string(255, 'k'), "fp"));
  EXPECT_THAT(idempotency().Begin("s", "k", ""), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Begin("s", "k", std::string(257, 'f')), StatusIs(kInvalidArgument));
  const IdempotencyBegin b = Begin("k", "fp", "s");
  EXPECT_THAT(idempotency().Finish("s", "k", b.lease, std::string(64 * 1024 + 1, 'r')),
              StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Finish("s", "", b.lease, "r"), StatusIs(kInvalidArgument));
  EXPECT_THAT(idempotency().Abandon("", "k", b.lease), StatusIs(kInvalidArgument));
  ASSERT_OK(idempotency().Finish("s", "k", b.lease, std::string(64 * 1024, 'r')));
  EXPECT_EQ(Begin("k", "fp", "s").response.size(), 64u * 1024);
}

// What a gateway does with POST /reservations and an Idempotency-Key: the retry is answered
// from the store and never takes a second hold.
TEST_P(IdempotencyTest, ReplayReturnsTheSameReservationNeverASecondHold) {
  ASSERT_OK(inventory().SetInventory("show", GeneralAdmission(10)));
  auto post = [&](const std::string& key) -> std::string {
    const std::string fingerprint = "POST /reservations {event_id:show,quantity:2}";
    absl::StatusOr<IdempotencyBegin> begin = idempotency().Begin("reservations", key, fingerprint);
    EXPECT_OK(begin);
    if (!begin.ok()) return "";
    if (begin->outcome == kReplay) return begin->response;
    EXPECT_EQ(begin->outcome, kStarted);
    absl::StatusOr<Reservation> hold = inventory().Hold(QuantityRequest("show", "u1", 2));
    EXPECT_OK(hold);
    const std::string response = hold.ok() ? hold->reservation_id : "";
    EXPECT_OK(idempotency().Finish("reservations", key, begin->lease, response));
    return response;
  };
  const std::string first = post("retry-me");
  const std::string again = post("retry-me");
  clock_.Advance(absl::Seconds(30));
  const std::string later = post("retry-me");
  EXPECT_EQ(first, again);
  EXPECT_EQ(first, later);
  EXPECT_EQ(Counts("show").held, 2);
  const std::string other = post("another-key");
  EXPECT_NE(other, first);
  EXPECT_EQ(Counts("show").held, 4);
}

TEST(IdempotencyNamesTest, Names) {
  EXPECT_EQ(IdempotencyOutcomeName(kStarted), "started");
  EXPECT_EQ(IdempotencyOutcomeName(kReplay), "replay");
  EXPECT_EQ(IdempotencyOutcomeName(kMismatch), "mismatch");
  EXPECT_EQ(IdempotencyOutcomeName(kInProgress), "in_progress");
}

INSTANTIATE_TEST_SUITE_P(AllStores, IdempotencyTest, ::testing::ValuesIn(AllTicketingFactories()),
                         TicketingFactoryName());

}  // namespace
}  // namespace testing
}  // namespace admission
