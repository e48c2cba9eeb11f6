// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "support/redis/differential.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/ids.h"
#include "admission/room/event_secret.h"
#include "admission/room/policy.h"
#include "gtest/gtest.h"
#include "support/redis/store_compare.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int64_t Uniform(int64_t lo, int64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(gen_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  std::mt19937_64 gen_;
};

// Fair openings: a schedule around `now` (times off whole microseconds too, which the rules
// floor), a method (mostly fifo and random) and the safety net.
void AddFairOpenings(Rng& rng, absl::Time now, Policy& p) {
  if (rng.Chance(0.5)) {
    const absl::Time opens =
        now + absl::Seconds(rng.Uniform(1, 40)) + absl::Nanoseconds(1) / 4 * rng.Uniform(0, 5000);
    p.opens_at = opens;
    if (rng.Chance(0.5)) p.prequeue_opens_at = opens - absl::Seconds(rng.Uniform(0, 20));
    if (rng.Chance(0.4)) p.closes_at = opens + absl::Seconds(rng.Uniform(1, 200));
  } else if (rng.Chance(0.2)) {
    p.closes_at = now + absl::Seconds(rng.Uniform(1, 60)) + absl::Microseconds(1) / 3;
  }
  p.method = rng.Pick<QueueMethod>({QueueMethod::kFifo, QueueMethod::kFifo, QueueMethod::kRandom,
                                    QueueMethod::kRandom, QueueMethod::kRandom,
                                    QueueMethod::kPassthrough, QueueMethod::kReject});
  if (p.method == QueueMethod::kReject && rng.Chance(0.5)) p.reject_message = "sold out | bye";
  p.safety_net = rng.Chance(0.3);
}

// Small numbers so that buckets run dry, capacities fill, tiers matter and TTLs expire within
// a few thousand operations.
Policy RandomPolicy(Rng& rng, bool fair_openings, absl::Time now) {
  Policy p;
  p.admit_rate_per_sec = rng.Pick<double>({0, 0.3, 0.3, 1, 1, 2.5, 7, 1000});
  p.burst = rng.Uniform(1, 6);
  p.bypass_top_n = rng.Uniform(0, 3);
  p.active_capacity = rng.Pick<int64_t>({0, 1, 3, 8, 1000, 1000});
  p.heartbeat_ttl =
      rng.Pick<absl::Duration>({absl::Seconds(5), absl::Seconds(12), absl::Milliseconds(20500),
                                absl::Seconds(60), absl::Seconds(60)});
  p.active_ttl = rng.Pick<absl::Duration>({absl::Seconds(8), absl::Seconds(30)});
  p.reservation_ttl = rng.Pick<absl::Duration>({absl::Seconds(1), absl::Seconds(30)});
  p.ended_ttl = rng.Pick<absl::Duration>({absl::Seconds(3), absl::Seconds(40)});
  switch (rng.Uniform(0, 3)) {
    case 0:
      p.wait_tiers.clear();
      break;
    case 1:
      p.wait_tiers = DefaultWaitTiers();
      break;
    case 2:
      p.wait_tiers = {{2, absl::ZeroDuration()},
                      {4, absl::Milliseconds(1500)},
                      {WaitTier::kUnboundedPosition, absl::Microseconds(3500001)}};
      break;
    default:  // sub-microsecond durations: exact in GetPolicy/tier_wait, truncated in rules
      p.wait_tiers = {{1, absl::Nanoseconds(1) / 4},
                      {WaitTier::kUnboundedPosition, absl::Nanoseconds(2000999)}};
      break;
  }
  switch (rng.Uniform(0, 2)) {
    case 0:
      p.rate_windows = {absl::Seconds(10), absl::Seconds(60), absl::Seconds(300)};
      break;
    case 1:
      p.rate_windows = {absl::Seconds(1), absl::Milliseconds(3500)};
      break;
    default:
      p.rate_windows = {absl::Seconds(7)};
      break;
  }
  p.paused = rng.Chance(0.1);
  p.paused_reason = p.paused ? "back soon | maintenance; 100% sure" : "";
  if (fair_openings) AddFairOpenings(rng, now, p);
  EXPECT_OK(ValidatePolicy(p));
  return p;
}

}  // namespace

uint64_t DifferentialSecret(std::string_view event_id) {
  return SeededEventSecret(0x6a09e667f3bcc909ull, event_id);  // any fixed seed
}

EventCounters RunDifferential(Store& reference, Store& subject, SimulatedClock& clock,
                              uint64_t seed, int operations, const std::vector<std::string>& events,
                              bool fair_openings) {
  Rng rng(seed);
  std::vector<std::string> users;
  for (int i = 0; i < 24; ++i) users.push_back(absl::StrCat("user", i));
  std::vector<std::pair<std::string, std::string>> tokens;  // (event, token) ever handed out
  const Policy create_policy = RandomPolicy(rng, fair_openings, clock.Now());

  // With fair openings, new events keep coming (each opens once), named after the first.
  std::vector<std::string> live = events;
  int checked = 0;
  for (int op = 0; op < operations && !::testing::Test::HasFailure(); ++op) {
    if (fair_openings && rng.Chance(0.01)) live.push_back(absl::StrCat(events[0], "-", op));
    const std::string event = rng.Pick(live);
    // A token to act on: mostly known ones, sometimes unknown, malformed or of another event.
    auto pick_token = [&]() -> std::pair<std::string, std::string> {
      const int64_t r = rng.Uniform(0, 99);
      if (tokens.empty() || r < 3) return {event, NewToken(event)};
      if (r < 5) return {event, absl::StrCat(event, ".not-hex-at-all-but-long-enough-xx")};
      if (r < 6) return {event, "short"};
      // Mostly recent tokens (users still around), sometimes any token ever handed out.
      const int64_t n = static_cast<int64_t>(tokens.size());
      auto t = r < 30 ? rng.Pick(tokens) : tokens[rng.Uniform(std::max<int64_t>(0, n - 20), n - 1)];
      if (r < 8) t.first = rng.Pick(live);  // the token's random bits, another event
      return t;
    };
    std::string what;
    std::string diff;
    const int64_t kind = rng.Uniform(0, 99);
    if (kind < 25) {
      JoinRequest request;
      request.event_id = event;
      const std::string user = rng.Pick(users);
      request.user_id = user;
      std::string token = NewToken(event);
      if (!tokens.empty() && rng.Chance(0.03)) token = rng.Pick(tokens).second;  // reused
      if (rng.Chance(0.02)) token = "bad-token";
      request.token = token;
      // Needed when the join admits at once (passthrough, safety net).
      const std::string reservation = fair_openings && rng.Chance(0.1) ? "" : NewToken(event);
      request.reservation_token = reservation;
      request.create_with = rng.Chance(0.7) ? &create_policy : nullptr;
      // With fair openings, events are created with a policy of their time (so that new ones
      // get a pre-queue ahead of their opening).
      Policy fresh;
      if (fair_openings && request.create_with != nullptr) {
        fresh = RandomPolicy(rng, true, clock.Now());
        request.create_with = &fresh;
      }
      what = absl::StrCat("Join(", event, ", ", user, ")");
      auto e = reference.Join(request);
      auto a = subject.Join(request);
      diff = DiffResult(e, a, [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); });
      if (e.ok()) tokens.push_back({event, token});
    } else if (kind < 45) {
      auto [ev, token] = pick_token();
      what = absl::StrCat("Status(", ev, ", ", token, ")");
      diff = DiffResult(reference.Status(ev, token), subject.Status(ev, token),
                        [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); });
    } else if (kind < 63) {
      auto [ev, token] = pick_token();
      const std::string reservation = rng.Chance(0.1) ? "" : NewToken(ev);
      what = absl::StrCat("Enter(", ev, ", ", token, ")");
      diff = DiffResult(reference.Enter(ev, token, reservation),
                        subject.Enter(ev, token, reservation), DiffEnter);
    } else if (kind < 67) {
      auto [ev, token] = pick_token();
      what = absl::StrCat("Leave(", ev, ", ", token, ")");
      diff = DiffResult(reference.Leave(ev, token), subject.Leave(ev, token),
                        [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); });
    } else if (kind < 72) {
      auto [ev, token] = pick_token();
      what = absl::StrCat("Complete(", ev, ", ", token, ")");
      diff = DiffResult(reference.Complete(ev, token), subject.Complete(ev, token),
                        [](const Ticket& x, const Ticket& y) { return DiffTicket(x, y); });
    } else if (kind < 75) {
      const int64_t max = rng.Pick<int64_t>({0, 1, 2, 5, 1000});
      what = absl::StrCat("Sweep(", event, ", ", max, ")");
      diff = DiffResult(reference.Sweep(event, max), subject.Sweep(event, max), DiffSweep);
    } else if (kind < 77) {
      const Policy p = RandomPolicy(rng, fair_openings, clock.Now());
      what = absl::StrCat("SetPolicy(", event, ")");
      diff = DiffStatus(reference.SetPolicy(event, p), subject.SetPolicy(event, p));
    } else if (kind < 79) {
      what = absl::StrCat("GetPolicy(", event, ")");
      diff = DiffResult(reference.GetPolicy(event), subject.GetPolicy(event), DiffPolicy);
    } else if (kind < 84) {
      what = absl::StrCat("Stats(", event, ")");
      diff = DiffResult(reference.Stats(event), subject.Stats(event), DiffCounters);
    } else if (kind < 85) {
      what = "ListEvents()";
      auto e = reference.ListEvents();
      auto a = subject.ListEvents();
      diff = DiffResult(e, a, [](std::vector<std::string> x, std::vector<std::string> y) {
        absl::c_sort(x);
        absl::c_sort(y);
        return x == y ? std::string() : std::string("events differ");
      });
    } else {
      const absl::Duration step = rng.Pick<absl::Duration>(
          {absl::ZeroDuration(), absl::Microseconds(1), absl::Milliseconds(137),
           absl::Milliseconds(137), absl::Milliseconds(420), absl::Milliseconds(999),
           absl::Seconds(1), absl::Milliseconds(2718), absl::Seconds(6),
           rng.Chance(0.2) ? absl::Minutes(2) : absl::Seconds(1)});
      clock.Advance(step);
      continue;
    }
    ++checked;
    EXPECT_EQ(diff, "") << "operation " << op << ": " << what;
  }
  EXPECT_GT(checked, operations / 2);

  // Final state of every event, after sweeping everything that is due.
  for (const std::string& event : live) {
    auto e = reference.Sweep(event, 1'000'000);
    auto a = subject.Sweep(event, 1'000'000);
    EXPECT_EQ(DiffResult(e, a, DiffSweep), "") << event;
    EXPECT_EQ(DiffResult(reference.Stats(event), subject.Stats(event), DiffCounters), "") << event;
  }
  EventCounters total;
  for (const std::string& event : live) {
    if (auto c = reference.Stats(event); c.ok()) {
      total.joined_total += c->joined_total;
      total.admitted_total += c->admitted_total;
      total.admitted_by_bypass += c->admitted_by_bypass;
      total.expired_total += c->expired_total;
      total.active_timed_out_total += c->active_timed_out_total;
      total.left_total += c->left_total;
      total.completed_total += c->completed_total;
      total.prequeued += c->prequeued;
      total.drawn += c->drawn;
      total.admitted_by_safety_net += c->admitted_by_safety_net;
      total.admitted_by_passthrough += c->admitted_by_passthrough;
      total.refused_total += c->refused_total;
      total.shuffled_at_opening += c->shuffled_at_opening;
    }
  }
  return total;
}

}  // namespace testing
}  // namespace admission
