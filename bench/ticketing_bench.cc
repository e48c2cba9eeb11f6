// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Reservations per second through the ticketing worker (ticketing.h), on the in-memory store
// and on Redis: buyers hold a place, publish a payment_approved event, and the Worker applies
// it (CONFIRMED, SOLD). Measured at full speed and at a set pace, next to a baseline measured
// in the same run on the same store: the same buyers holding and confirming directly, with no
// queue in between. Figures, not tests: nothing here asserts a timing (docs/benchmarks.md,
// "Ticketing", records them with the command).
//
//   admission_ticketing_bench [--redis=redis://127.0.0.1:6379] [--reservations=N]
//       [--redis_reservations=N] [--producers=N] [--workers=N] [--pace=P] [--redis_pace=P]
//       [--paced_seconds=S] [--repeat=K]
//
// Without --redis only the in-memory store is measured. Every run uses a fresh event and a
// fresh queue (and on Redis a fresh key prefix), and checks at the end that exactly the
// reservations made were sold.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/ticketing/ticketing.h"
#if !defined(ADMISSION_NO_REDIS)
#include "admission/redis/client.h"
#include "admission/redis/ticketing.h"
#endif

namespace {

using admission::Ticketing;

struct Flags {
  std::string redis;  // empty: memory only
  int64_t reservations = 20000;
  int64_t redis_reservations = 4000;
  int producers = 4;
  int workers = 1;
  double pace = 2000;
  double redis_pace = 500;
  double paced_seconds = 5;
  int repeat = 3;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ticketing_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(absl::StrCat(what, ": ", s.ToString()));
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    if (name == "--redis") {
      f.redis = std::string(value);
    } else if (name == "--reservations") {
      ok = absl::SimpleAtoi(value, &f.reservations);
    } else if (name == "--redis_reservations") {
      ok = absl::SimpleAtoi(value, &f.redis_reservations);
    } else if (name == "--producers") {
      ok = absl::SimpleAtoi(value, &f.producers);
    } else if (name == "--workers") {
      ok = absl::SimpleAtoi(value, &f.workers);
    } else if (name == "--pace") {
      ok = absl::SimpleAtod(value, &f.pace);
    } else if (name == "--redis_pace") {
      ok = absl::SimpleAtod(value, &f.redis_pace);
    } else if (name == "--paced_seconds") {
      ok = absl::SimpleAtod(value, &f.paced_seconds);
    } else if (name == "--repeat") {
      ok = absl::SimpleAtoi(value, &f.repeat);
    } else {
      Die(absl::StrCat("unknown flag ", arg,
                       " (see the comment at the top of ticketing_bench.cc)"));
    }
    if (!ok) Die(absl::StrCat("bad value for ", name));
  }
  if (f.producers < 1 || f.workers < 1 || f.repeat < 1) Die("counts must be >= 1");
  return f;
}

// Makes a fresh bundle for one run (a new key prefix and queue on Redis).
using Maker = std::function<Ticketing(const std::string& run)>;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Runs `n` reservations over `producers` threads; each calls `one(i)`.
void Produce(int64_t n, int producers, const std::function<void(int64_t)>& one) {
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([=, &one] {
      for (int64_t i = p; i < n; i += producers) one(i);
    });
  }
  for (std::thread& t : threads) t.join();
}

void CheckSold(Ticketing& t, const std::string& event, int64_t n) {
  absl::StatusOr<admission::Availability> a = t.inventory->GetAvailability(event, false);
  Check(a.status(), "GetAvailability");
  if (a->counts.sold != n || a->counts.held != 0) {
    Die(absl::StrCat(event, ": sold ", a->counts.sold, " held ", a->counts.held, ", expected ", n,
                     " sold"));
  }
}

admission::HoldRequest OnePlace(const std::string& event, int64_t i) {
  admission::HoldRequest r;
  r.event_id = event;
  r.user_id = absl::StrCat("buyer-", i);
  r.quantity = 1;
  return r;
}

// Baseline: hold, then confirm at once, with no queue in between.
double Direct(Ticketing& t, const std::string& event, int64_t n, int producers) {
  Check(t.inventory->SetInventory(event,
                                  [&] {
                                    admission::InventorySpec spec;
                                    spec.general_admission = n;
                                    return spec;
                                  }()),
        "SetInventory");
  const auto start = std::chrono::steady_clock::now();
  Produce(n, producers, [&](int64_t i) {
    absl::StatusOr<admission::Reservation> r = t.inventory->Hold(OnePlace(event, i));
    Check(r.status(), "Hold");
    Check(t.inventory->Confirm(r->reservation_id).status(), "Confirm");
  });
  const double seconds = Seconds(std::chrono::steady_clock::now() - start);
  CheckSold(t, event, n);
  return n / seconds;
}

// Through the queue: hold and publish payment_approved; `workers` Worker threads confirm at
// `pace` events/s each (0: full speed). Timed until the last reservation is confirmed.
double ThroughWorker(Ticketing& t, const std::string& event, int64_t n, int producers, int workers,
                     double pace) {
  admission::InventorySpec spec;
  spec.general_admission = n;
  Check(t.inventory->SetInventory(event, spec), "SetInventory");
  std::vector<std::unique_ptr<admission::Worker>> pool;
  for (int w = 0; w < workers; ++w) {
    admission::WorkerOptions o;
    o.consumer = absl::StrCat("bench-", w);
    o.events_per_sec = pace;
    // A burst of 50 ms worth: enough to make up for a late wake-up, small against the run.
    o.burst = std::max<int64_t>(1, static_cast<int64_t>(pace / 20));
    o.idle_sleep = absl::Milliseconds(1);
    pool.push_back(std::make_unique<admission::Worker>(
        t.outcomes.get(), admission::MakeTicketingHandler(t.inventory.get()), o));
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto& w : pool) Check(w->Start(), "Worker::Start");
  Produce(n, producers, [&](int64_t i) {
    absl::StatusOr<admission::Reservation> r = t.inventory->Hold(OnePlace(event, i));
    Check(r.status(), "Hold");
    Check(t.outcomes->Publish(admission::PaymentApprovedMessage(r->reservation_id, 1, "EUR"))
              .status(),
          "Publish");
  });
  for (;;) {
    int64_t done = 0;
    for (auto& w : pool) done += w->totals().succeeded;
    if (done >= n) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double seconds = Seconds(std::chrono::steady_clock::now() - start);
  for (auto& w : pool) w->Stop();
  CheckSold(t, event, n);
  int64_t parked = 0;
  for (auto& w : pool) parked += w->totals().parked + w->totals().errors;
  if (parked != 0) Die(absl::StrCat(parked, " events parked or failed"));
  return n / seconds;
}

struct Row {
  std::string store;
  std::string mode;
  int64_t reservations;
  std::vector<double> per_sec;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Measure(const std::string& store, const Maker& make, int64_t n, double pace, const Flags& f) {
  Row direct{store, "baseline: hold + confirm directly", n, {}};
  Row full{store, "worker, full speed", n, {}};
  const int64_t paced_n = std::max<int64_t>(1, static_cast<int64_t>(pace * f.paced_seconds));
  Row paced{store, absl::StrCat("worker, pace ", pace, "/s"), paced_n, {}};
  for (int rep = 0; rep < f.repeat; ++rep) {
    const std::string run = absl::StrCat(rep);
    {
      Ticketing t = make("d" + run);
      direct.per_sec.push_back(Direct(t, "bench-d" + run, n, f.producers));
    }
    {
      Ticketing t = make("f" + run);
      full.per_sec.push_back(ThroughWorker(t, "bench-f" + run, n, f.producers, f.workers, 0));
    }
    {
      Ticketing t = make("p" + run);
      paced.per_sec.push_back(ThroughWorker(t, "bench-p" + run, paced_n, f.producers, 1, pace));
    }
  }
  const double base = Median(direct.per_sec);
  for (const Row* row : {&direct, &full, &paced}) {
    std::string runs;
    for (double v : row->per_sec) absl::StrAppend(&runs, runs.empty() ? "" : " ", int64_t(v));
    std::printf("| %s | %s | %lld | %.0f | %.2f | %s |\n", row->store.c_str(), row->mode.c_str(),
                static_cast<long long>(row->reservations), Median(row->per_sec),
                Median(row->per_sec) / base, runs.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  std::printf("producers %d, workers %d (full speed), repeat %d, median of runs\n\n", f.producers,
              f.workers, f.repeat);
  std::printf("| store | mode | reservations | reservations/s | vs baseline | runs |\n");
  std::printf("|---|---|---|---|---|---|\n");
  Measure(
      "memory",
      [](const std::string& run) {
        admission::TicketingOptions o;
        o.queue_name = "bench-" + run;
        absl::StatusOr<Ticketing> t = admission::NewMemoryTicketing(o);
        Check(t.status(), "NewMemoryTicketing");
        return std::move(t).value();
      },
      f.reservations, f.pace, f);
  if (!f.redis.empty()) {
#if defined(ADMISSION_NO_REDIS)
    Die("built without the Redis store");
#else
    admission::RedisClientOptions redis;
    Check(admission::ParseRedisUrl(f.redis, &redis), "--redis");
    Measure(
        "redis",
        [&](const std::string& run) {
          admission::RedisClientOptions r = redis;
          r.key_prefix = absl::StrCat("tkbench-", getpid(), "-", run);
          absl::StatusOr<std::shared_ptr<admission::RedisClient>> client =
              admission::RedisClient::Connect(r);
          Check(client.status(), "RedisClient::Connect");
          admission::TicketingOptions o;
          o.queue_name = "bench-" + run;
          absl::StatusOr<Ticketing> t = admission::NewRedisTicketing(*std::move(client), o);
          Check(t.status(), "NewRedisTicketing");
          return std::move(t).value();
        },
        f.redis_reservations, f.redis_pace, f);
#endif
  }
  return 0;
}
