// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// WaitingRoom takes the in-memory store's short way for Join and Status (src/room/
// facade_calls.h): the token parsed once, the rate's estimates made by the store instead of a
// RateSample. These tests run the same script on two rooms over in-memory stores with the same
// clock and secrets, one of them seen through a plain Store that forwards every call (so that
// its room takes Store's way), and require every answer to be the same, field by field (the
// tokens apart: they are random).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "common/tokens.h"
#include "gtest/gtest.h"
#include "room/rules.h"
#include "support/forwarding_store.h"

namespace admission {
namespace testing {
namespace {

struct Rooms {
  SimulatedClock short_clock;
  SimulatedClock store_clock;
  std::unique_ptr<WaitingRoom> short_way;  // over the in-memory store itself
  std::unique_ptr<WaitingRoom> store_way;  // over a ForwardingStore in front of one

  Rooms() {
    MemoryStoreOptions options;
    options.event_secret = [](std::string_view) { return uint64_t{0x5eed}; };
    Options room_options;
    room_options.sweep_interval = absl::ZeroDuration();
    options.clock = &short_clock;
    short_way = *WaitingRoom::Create(NewMemoryStore(options), room_options);
    options.clock = &store_clock;
    store_way = *WaitingRoom::Create(std::make_unique<ForwardingStore>(NewMemoryStore(options)),
                                     room_options);
  }

  // Distinct instants for every call, so that no two deadlines tie (ties are broken by the
  // tokens, which differ between the rooms).
  void Tick(absl::Duration d = absl::Milliseconds(7)) {
    short_clock.Advance(d);
    store_clock.Advance(d);
  }
};

void ExpectSame(const absl::StatusOr<QueueStatus>& a, const absl::StatusOr<QueueStatus>& b,
                const std::string& where) {
  ASSERT_EQ(a.ok(), b.ok()) << where << ": " << a.status() << " / " << b.status();
  if (!a.ok()) {
    EXPECT_EQ(a.status(), b.status()) << where;
    return;
  }
  EXPECT_EQ(a->event_id, b->event_id) << where;
  EXPECT_EQ(a->user_id, b->user_id) << where;
  EXPECT_EQ(a->token.size(), b->token.size()) << where;
  EXPECT_EQ(a->state, b->state) << where;
  EXPECT_EQ(a->ready_for_entry, b->ready_for_entry) << where;
  EXPECT_EQ(a->position, b->position) << where;
  EXPECT_EQ(a->position_high, b->position_high) << where;
  EXPECT_EQ(a->ahead_unreached, b->ahead_unreached) << where;
  EXPECT_EQ(a->grant_expires_at, b->grant_expires_at) << where;
  EXPECT_EQ(a->eta, b->eta) << where;
  EXPECT_EQ(a->eta_low, b->eta_low) << where;
  EXPECT_EQ(a->eta_high, b->eta_high) << where;
  EXPECT_EQ(a->eta_confidence, b->eta_confidence) << where;  // exactly, not nearly
  EXPECT_EQ(a->opens_at, b->opens_at) << where;
  EXPECT_EQ(a->waited, b->waited) << where;
  EXPECT_EQ(a->poll_after, b->poll_after) << where;
  EXPECT_EQ(a->blocked_by, b->blocked_by) << where;
  EXPECT_EQ(a->retry_after, b->retry_after) << where;
  EXPECT_EQ(a->paused_reason, b->paused_reason) << where;
  EXPECT_EQ(a->queue_message, b->queue_message) << where;
  EXPECT_EQ(a->reservation_token.size(), b->reservation_token.size()) << where;
  EXPECT_EQ(a->reservation_expires_at, b->reservation_expires_at) << where;
  EXPECT_EQ(a->now, b->now) << where;
}

// Joins `n` users to both rooms, one tick apart; returns each room's tokens.
void JoinAll(Rooms& rooms, std::string_view event, int n, std::vector<std::string>& short_tokens,
             std::vector<std::string>& store_tokens) {
  for (int i = 0; i < n; ++i) {
    rooms.Tick();
    const std::string user = absl::StrCat("user-", short_tokens.size());
    auto a = rooms.short_way->Join(event, user);
    auto b = rooms.store_way->Join(event, user);
    ExpectSame(a, b, absl::StrCat("join ", user));
    if (!a.ok() || !b.ok()) continue;
    short_tokens.push_back(a->token);
    store_tokens.push_back(b->token);
  }
}

// Rounds of heartbeats, entries and departures, with time passing between them.
void Circulate(Rooms& rooms, std::vector<std::string>& a, std::vector<std::string>& b, int rounds) {
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      rooms.Tick();
      ExpectSame(rooms.short_way->Status(a[i]), rooms.store_way->Status(b[i]),
                 absl::StrCat("round ", round, " status ", i));
      if ((i + round) % 3 == 0) {
        rooms.Tick();
        auto x = rooms.short_way->Enter(a[i]);
        auto y = rooms.store_way->Enter(b[i]);
        ASSERT_EQ(x.ok(), y.ok());
        if (x.ok()) {
          EXPECT_EQ(x->granted, y->granted);
          ExpectSame(x->status, y->status, absl::StrCat("round ", round, " enter ", i));
        }
      }
      if ((i + round) % 7 == 0) {
        rooms.Tick();
        ExpectSame(rooms.short_way->Leave(a[i]), rooms.store_way->Leave(b[i]),
                   absl::StrCat("round ", round, " leave ", i));
      }
    }
    rooms.Tick(absl::Seconds(3));
  }
}

Policy Measured(QueueMethod method) {
  Policy p;
  p.method = method;
  p.admit_rate_per_sec = 2;
  p.burst = 3;
  p.bypass_top_n = 1;
  p.active_capacity = 6;
  p.claim_window = absl::Seconds(2);
  p.heartbeat_ttl = absl::Seconds(40);
  p.rate_windows = {absl::Seconds(5), absl::Seconds(20), absl::Seconds(60)};
  p.queue_message = "hello";
  return p;
}

TEST(FacadeCallsTest, FifoAnswersAsStoresWayDoes) {
  Rooms rooms;
  ASSERT_TRUE(rooms.short_way->SetPolicy("ev", Measured(QueueMethod::kFifo)).ok());
  ASSERT_TRUE(rooms.store_way->SetPolicy("ev", Measured(QueueMethod::kFifo)).ok());
  std::vector<std::string> a, b;
  JoinAll(rooms, "ev", 30, a, b);
  Circulate(rooms, a, b, 6);
  JoinAll(rooms, "ev", 10, a, b);
  Circulate(rooms, a, b, 3);
}

TEST(FacadeCallsTest, RandomMethodAndPausedRoomAnswerAsStoresWayDoes) {
  Rooms rooms;
  Policy p = Measured(QueueMethod::kRandom);
  ASSERT_TRUE(rooms.short_way->SetPolicy("ev", p).ok());
  ASSERT_TRUE(rooms.store_way->SetPolicy("ev", p).ok());
  std::vector<std::string> a, b;
  JoinAll(rooms, "ev", 25, a, b);
  Circulate(rooms, a, b, 4);
  p.paused = true;
  p.paused_reason = "a pause";
  ASSERT_TRUE(rooms.short_way->SetPolicy("ev", p).ok());
  ASSERT_TRUE(rooms.store_way->SetPolicy("ev", p).ok());
  Circulate(rooms, a, b, 2);
}

TEST(FacadeCallsTest, PrequeueAndOpeningAnswerAsStoresWayDoes) {
  Rooms rooms;
  Policy p = Measured(QueueMethod::kFifo);
  p.opens_at = rooms.short_clock.Now() + absl::Seconds(30);
  ASSERT_TRUE(rooms.short_way->SetPolicy("ev", p).ok());
  ASSERT_TRUE(rooms.store_way->SetPolicy("ev", p).ok());
  std::vector<std::string> a, b;
  JoinAll(rooms, "ev", 20, a, b);
  Circulate(rooms, a, b, 12);  // opens on the way
}

TEST(FacadeCallsTest, EventsMadeOnJoinAndUnknownTokensAnswerAsStoresWayDoes) {
  Rooms rooms;
  std::vector<std::string> a, b;
  JoinAll(rooms, "made-on-join", 5, a, b);  // the default policy: the safety net admits
  Circulate(rooms, a, b, 2);
  const std::string unknown = "made-on-join." + std::string(32, 'a');
  ExpectSame(rooms.short_way->Status(unknown), rooms.store_way->Status(unknown), "unknown");
  const std::string elsewhere = "nowhere." + std::string(32, 'a');
  ExpectSame(rooms.short_way->Status(elsewhere), rooms.store_way->Status(elsewhere), "no event");
  ExpectSame(rooms.short_way->Status("bad"), rooms.store_way->Status("bad"), "malformed");
}

// The key is read eight digits at a time: every byte at every place of the digits is accepted
// exactly when it is a lowercase hex digit, and every digit lands in its nibble.
TEST(FacadeCallsTest, TokenKeysParseAsDigitByDigit) {
  const std::string digits = "0123456789abcdef";
  std::string token = "ev." + std::string(kTokenRandomHexDigits, '0');
  for (std::size_t place = 0; place < kTokenRandomHexDigits; ++place) {
    for (int c = 0; c < 256; ++c) {
      token[3 + place] = static_cast<char>(c);
      internal::TokenKey key;
      const bool ok = internal::ParseTokenKey(token, &key);
      const std::size_t value = digits.find(static_cast<char>(c));
      ASSERT_EQ(ok, value != std::string::npos) << place << " " << c;
      std::string_view event_id;
      internal::TokenKey again;
      ASSERT_EQ(internal::ParseToken(token, &event_id, &again), ok) << place << " " << c;
      ASSERT_EQ(EventIdOfToken(token).ok(), ok) << place << " " << c;
      if (!ok) continue;
      const int shift = static_cast<int>(60 - 4 * (place % 16));
      const uint64_t expected = static_cast<uint64_t>(value) << shift;
      EXPECT_EQ(place < 16 ? key.hi : key.lo, expected) << place << " " << c;
      EXPECT_EQ(place < 16 ? key.lo : key.hi, 0u) << place << " " << c;
      EXPECT_EQ(event_id, "ev");
    }
    token[3 + place] = '0';
  }
  // A made token's key is the one its digits say.
  for (int i = 0; i < 100; ++i) {
    const internal::TokenBuffer made("ev");
    internal::TokenKey key;
    ASSERT_TRUE(internal::ParseTokenKey(made.view(), &key));
    EXPECT_TRUE(key == made.key()) << made.view();
    EXPECT_TRUE(EventIdOfToken(made.view()).ok());
  }
}

// The rate sample estimates a window's five counters with one WindowClock: the same numbers,
// bit for bit, as EstimatedAdmissions reading the clock itself, whatever period the counter
// last counted in (this one, the one before, older, or later: time that went back).
TEST(FacadeCallsTest, OneWindowClockEstimatesAsEachCounterAlone) {
  for (int64_t length_us : {int64_t{1'000'000}, int64_t{7'000'000}, int64_t{3'600'000'000}}) {
    for (int64_t now_us : {int64_t{0}, int64_t{999'999}, int64_t{1'767'225'600'123'456},
                           int64_t{1'767'225'607'000'000}}) {
      const int64_t period = now_us / length_us;
      const rules::WindowClock clock = rules::WindowClockOf(length_us, now_us);
      for (int64_t counted : {period - 5, period - 1, period, period + 1}) {
        rules::WindowCounter w;
        w.length_us = length_us;
        w.period = counted;
        w.current = 3.25;
        w.previous = 17.5;
        EXPECT_EQ(rules::EstimatedAdmissions(w, now_us, clock),
                  rules::EstimatedAdmissions(w, now_us))
            << length_us << " " << now_us << " " << counted;
      }
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace admission
