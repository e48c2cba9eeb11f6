// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A C++ service embedding the waiting room. A crowd of 2,000 arrives at a sale that admits 50
// people a second; each person polls when told to, enters when ready, and finishes a minute
// later. A simulated clock runs the whole minute-long sale in a blink; in a real service you
// would pass no clock (the system clock) and call these methods from your request handlers.
#include <cstdio>
#include <vector>

#include "admission/admission.h"

int main() {
  admission::SimulatedClock clock;
  admission::Options options;
  options.default_policy.admit_rate_per_sec = 50;
  options.default_policy.burst = 50;
  options.sweep_interval = absl::ZeroDuration();  // we sweep from the loop below
  auto room = admission::WaitingRoom::CreateInMemory(options, &clock);
  if (!room.ok()) return std::fprintf(stderr, "%s\n", room.status().ToString().c_str()), 1;

  struct Person {
    std::string token;
    absl::Time next_poll;
    absl::Time done_at = absl::InfiniteFuture();
  };
  std::vector<Person> crowd;
  for (int i = 0; i < 2000; ++i) {
    auto joined = (*room)->Join("concert", "fan-" + std::to_string(i));
    if (!joined.ok()) return std::fprintf(stderr, "%s\n", joined.status().ToString().c_str()), 1;
    crowd.push_back({joined->token, clock.Now() + joined->poll_after});
  }
  std::printf("2000 fans joined; the last one is at position %lld\n\n",
              static_cast<long long>((*room)->Status(crowd.back().token)->position));
  std::printf("%6s %8s %7s %9s %16s\n", "second", "waiting", "active", "admitted",
              "last fan's ETA");

  for (int second = 0; second <= 60; ++second) {
    for (Person& p : crowd) {
      if (clock.Now() >= p.done_at) {
        (void)(*room)->Complete(p.token);
        p.done_at = absl::InfiniteFuture();
      }
      if (p.next_poll > clock.Now()) continue;
      auto status = (*room)->Status(p.token);
      if (!status.ok() || status->state != admission::UserState::kWaiting) {
        p.next_poll = absl::InfiniteFuture();
        continue;
      }
      p.next_poll = clock.Now() + status->poll_after;
      if (status->ready_for_entry && (*room)->Enter(p.token)->granted) {
        p.done_at = clock.Now() + absl::Seconds(60);
      }
    }
    if (second % 5 == 0) {
      auto stats = (*room)->Stats("concert");
      auto last = (*room)->Status(crowd.back().token);
      std::printf("%6d %8lld %7lld %9lld %9.0f s (%.2f)\n", second,
                  static_cast<long long>(stats->waiting), static_cast<long long>(stats->active),
                  static_cast<long long>(stats->admitted_total), absl::ToDoubleSeconds(last->eta),
                  last->eta_confidence);
    }
    clock.Advance(absl::Seconds(1));
    (void)(*room)->SweepAll();
  }
  return 0;
}
