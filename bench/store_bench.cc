// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Per-call cost of Join, Status, Enter and Leave on the in-memory store, through the
// WaitingRoom facade ("Facade/...") and directly through the Store SPI ("Store/..."), with a
// line of 1k, 100k or 1M users waiting in one event, on 1 and 2 threads; plus a baseline
// measured in the same run (a mutex-protected absl::flat_hash_map) to quote ratios against.
// docs/benchmarks.md explains how to run it and records the figures. Figures, not tests:
// nothing here asserts a timing.
//
// One fixture (a room with N waiting users and their tokens) is built per line size, in a
// Setup hook (single-threaded, before the benchmark's threads start), and shared by every
// benchmark of that size: benchmarks are registered size by size so that only one large
// fixture is alive at a time. The policy has a 7-day heartbeat, an effectively unlimited
// bucket and capacity and no tier waits, so nobody expires and every Enter is granted. The
// sweeper thread is off.
//
// The clock. By default a "ticking" simulated clock: a lock-free counter that moves forward by
// 1 us on every Now(), so time passes as on a real clock (each heartbeat deadline is the
// latest one, as in production) but deterministically and without expiring anybody.
// --admission_clock=simulated uses admission::SimulatedClock instead, which stands still
// between batches: every deadline then falls on the same instant, so the deadline index is
// ordered by the random token and each heartbeat re-inserts at a random place, which is not
// what happens with a real clock (and SimulatedClock::Now() takes a mutex).
//
// Tokens are read from a table of 64-byte entries, and the entry for the next iteration is
// prefetched: in a server the token arrives in a request buffer that is already in cache, so
// the cache miss on the benchmark's own token table should not be charged to the store.
//
// What each benchmark times (one iteration = one call):
//   Join    a fresh user joins at the back of the line. Every K joins the thread pauses its
//           timer, makes those K users leave, lets their records be forgotten (the simulated
//           clock moves on by ended_ttl and the event is swept) and resumes: the line stays
//           between N and N + K * threads.
//   Status  the heartbeat of a random waiting user (tokens picked by a per-thread PRNG over
//           all N), so it measures the position lookup at that line size, not a hot spot.
//   Enter   admits the user at the front of the line (as in a real room, where the ready
//           users are a prefix). Every K admissions the thread pauses, makes them leave,
//           forgets their records and joins K fresh users at the back: the line stays between
//           N - K * threads and N.
//   Leave   a random waiting user leaves (from anywhere in the line); replenished like Enter.
//   K = clamp(N / (4 * threads), 16, 256). Paused work does not count in the figures, but on
//   2 threads one thread's paused work still holds the event lock while the other is timed.
//
// Baselines, measured in the same run (1 thread):
//   Baseline/MapInsertFind/N  one locked try_emplace of a fresh token-like key, plus the erase
//       of the key inserted 256 iterations earlier (so the map keeps its size), then one locked
//       find of a random existing key, in an absl::flat_hash_map<std::string, int64_t> that
//       holds the same N tokens as the fixture (std::mutex, as the store uses).
//   Baseline/RandomRead/N  one dependent read of a random 64-byte line among N (a pointer
//       chase): what one cache miss costs at that working-set size on this machine.
//   Baseline/NewToken  admission::NewToken(): the token a Join or Enter needs (the facade makes
//                      the same two tokens in place, internal::TokenBuffer, without this string).
//
// All benchmarks use real time. With 2 threads the reported time per iteration is wall time
// divided by the calls of both threads (the inverse of the throughput); the latency of one
// call is about twice that. items_per_second is the total throughput.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "benchmark/benchmark.h"

namespace {

using admission::WaitingRoom;

constexpr std::string_view kEvent = "bench";
constexpr int64_t kSizes[] = {1'000, 100'000, 1'000'000};
// The simulated clock moves on by this much each time a batch of departed records is forgotten.
constexpr absl::Duration kEndedTtl = absl::Seconds(1);

bool g_use_simulated_clock = false;  // --admission_clock=simulated

admission::Policy BenchPolicy() {
  admission::Policy p;
  p.admit_rate_per_sec = 1e6;  // the maximum ValidatePolicy allows
  p.burst = 1'000'000'000;     // never runs dry in a run
  p.active_capacity = 1'000'000'000'000;
  p.heartbeat_ttl = absl::Hours(24 * 7);  // the maximum: nobody expires
  p.active_ttl = absl::Hours(24 * 30);
  p.reservation_ttl = absl::Hours(24);
  p.ended_ttl = kEndedTtl;  // the minimum: departed records can be forgotten quickly
  p.wait_tiers.clear();     // everybody is ready: Enter is always granted
  return p;
}

[[noreturn]] void Die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "admission_bench: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// splitmix64: a cheap per-thread PRNG (a few ns), also usable with std::shuffle.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) : s_(seed) {}
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the tiny bias is irrelevant here).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>((*this)()) * n) >> 64);
  }

 private:
  uint64_t s_;
};

std::atomic<uint64_t> g_seed{1};
Rng ThreadRng(const benchmark::State& state) {
  return Rng(g_seed.fetch_add(1) * 0x2545F4914F6CDD1DULL +
             static_cast<uint64_t>(state.thread_index()));
}

// A simulated clock that ticks 1 us per reading (lock-free), so that time passes as it does on
// a real clock, yet never far enough for a 7-day heartbeat to run out.
class TickingClock final : public admission::Clock {
 public:
  absl::Time Now() override {
    return start_ + absl::Microseconds(us_.fetch_add(1, std::memory_order_relaxed));
  }
  void Advance(absl::Duration d) { us_.fetch_add(absl::ToInt64Microseconds(d)); }

 private:
  const absl::Time start_ = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01 00:00 UTC
  std::atomic<int64_t> us_{0};
};

// A token in a cache line of its own, so one prefetch brings all of it in.
struct alignas(64) TokenSlot {
  uint8_t size = 0;
  char data[63];
  std::string_view view() const { return std::string_view(data, size); }
  void assign(std::string_view s) {
    if (s.size() > sizeof(data)) std::abort();
    std::memcpy(data, s.data(), s.size());
    size = static_cast<uint8_t>(s.size());
  }
};
inline void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// A room with `size` users waiting in one event. tokens[i] is the waiting user in slot i; a
// thread that removes the user of a slot puts a fresh user there before it is done, and the
// slots are split between threads (slot i belongs to thread i % threads) so no two threads
// write the same slot.
struct Fixture {
  int64_t size = 0;
  admission::SimulatedClock simulated;
  TickingClock ticking;
  absl::Time created;
  std::unique_ptr<WaitingRoom> room;
  std::vector<TokenSlot> tokens;
  std::atomic<uint64_t> next_user{0};

  admission::Clock* clock() {
    return g_use_simulated_clock ? static_cast<admission::Clock*>(&simulated) : &ticking;
  }

  std::string NextUserId() { return "user-" + std::to_string(next_user.fetch_add(1)); }

  void JoinFresh(TokenSlot& slot) {
    auto joined = room->Join(kEvent, NextUserId());
    if (!joined.ok()) Die("Join (fixture)", joined.status());
    slot.assign(joined->token);
  }

  void LeaveOrDie(std::string_view token) {
    auto left = room->Leave(token);
    if (!left.ok()) Die("Leave (fixture)", left.status());
  }

  // Lets the records of departed users be forgotten now, so they neither pile up in memory
  // nor get swept inside some later timed call.
  void ForgetEnded() {
    simulated.Advance(kEndedTtl);
    ticking.Advance(kEndedTtl);
    for (;;) {
      auto swept = room->store().Sweep(kEvent, 1 << 16);
      if (!swept.ok()) Die("Sweep", swept.status());
      if (swept->done) break;
    }
  }
};

std::unique_ptr<Fixture> BuildFixture(int64_t size) {
  const auto start = std::chrono::steady_clock::now();
  auto f = std::make_unique<Fixture>();
  f->size = size;
  f->created = f->clock()->Now();
  admission::Options options;
  options.default_policy = BenchPolicy();
  options.sweep_interval = absl::ZeroDuration();  // no background thread
  auto room = WaitingRoom::CreateInMemory(options, f->clock());
  if (!room.ok()) Die("CreateInMemory", room.status());
  f->room = std::move(*room);
  f->tokens.resize(static_cast<std::size_t>(size));
  for (TokenSlot& slot : f->tokens) f->JoinFresh(slot);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "[fixture: %lld users waiting in one event, set up in %.2f s]\n",
               static_cast<long long>(size), secs);
  return f;
}

// Set by Setup hooks (which run on the main thread before the benchmark's threads start, so
// the threads see it), read by the benchmark threads.
std::unique_ptr<Fixture> g_fixture;

bool FixtureHealthy(Fixture& f) {
  auto stats = f.room->Stats(kEvent);
  if (!stats.ok() || stats->waiting != f.size) {
    std::fprintf(stderr, "[fixture: line is %lld, not %lld; rebuilding]\n",
                 static_cast<long long>(stats.ok() ? stats->waiting : -1),
                 static_cast<long long>(f.size));
    return false;
  }
  // The clock moves on as records are forgotten; rebuild well before heartbeats could run out.
  return f.clock()->Now() - f.created < absl::Hours(24 * 3);
}

void SetupFixture(const benchmark::State& state) {
  const int64_t size = state.range(0);
  if (g_fixture != nullptr && g_fixture->size == size && FixtureHealthy(*g_fixture)) return;
  g_fixture.reset();  // free the previous (maybe much larger) fixture first
  g_fixture = BuildFixture(size);
}

std::size_t BatchSize(int64_t size, int threads) {
  return static_cast<std::size_t>(std::clamp<int64_t>(size / (4 * threads), 16, 256));
}

// The slots owned by this thread (i % threads == thread_index), in slot order.
std::vector<std::size_t> OwnedSlots(const Fixture& f, const benchmark::State& state) {
  std::vector<std::size_t> slots;
  for (auto i = static_cast<std::size_t>(state.thread_index()); i < f.tokens.size();
       i += static_cast<std::size_t>(state.threads())) {
    slots.push_back(i);
  }
  return slots;
}

// Puts a fresh waiting user (at the back of the line) into each of `slots`, whose users have
// left the line; `admitted` users are active and are made to leave first. Untimed.
void Replenish(Fixture& f, std::vector<std::size_t>& slots, bool admitted) {
  if (admitted) {
    for (std::size_t i : slots) f.LeaveOrDie(f.tokens[i].view());
  }
  for (std::size_t i : slots) f.JoinFresh(f.tokens[i]);
  f.ForgetEnded();
  slots.clear();
}

enum class Api { kFacade, kStore };

template <Api api>
void BM_Join(benchmark::State& state) {
  Fixture& f = *g_fixture;
  admission::Store& store = f.room->store();
  const std::size_t batch = BatchSize(f.size, state.threads());
  std::vector<std::string> users(batch), tokens(batch), joined;
  joined.reserve(batch);
  auto prepare = [&] {
    for (std::size_t k = 0; k < batch; ++k) {
      users[k] = f.NextUserId();
      if (api == Api::kStore) tokens[k] = admission::NewToken(kEvent);
    }
  };
  auto forget = [&] {
    for (const std::string& token : joined) f.LeaveOrDie(token);
    joined.clear();
    f.ForgetEnded();
  };
  prepare();
  std::size_t k = 0;
  for (auto _ : state) {
    if (k == batch) {
      state.PauseTiming();
      forget();
      prepare();
      k = 0;
      state.ResumeTiming();
    }
    if constexpr (api == Api::kFacade) {
      auto r = f.room->Join(kEvent, users[k]);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->position);
      joined.push_back(std::move(r->token));
    } else {
      admission::JoinRequest request;
      request.event_id = kEvent;
      request.user_id = users[k];
      request.token = tokens[k];
      auto r = store.Join(request);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->position);
      joined.push_back(std::move(tokens[k]));
    }
    ++k;
  }
  forget();
  state.SetItemsProcessed(state.iterations());
}

template <Api api>
void BM_Status(benchmark::State& state) {
  Fixture& f = *g_fixture;
  admission::Store& store = f.room->store();
  const std::vector<TokenSlot>& tokens = f.tokens;
  const uint64_t n = tokens.size();
  Rng rng = ThreadRng(state);
  uint64_t next = rng.Below(n);
  for (auto _ : state) {
    const std::string_view token = tokens[next].view();
    next = rng.Below(n);
    Prefetch(&tokens[next]);
    if constexpr (api == Api::kFacade) {
      auto r = f.room->Status(token);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->position);
    } else {
      auto r = store.Status(kEvent, token);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->position);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

template <Api api>
void BM_Enter(benchmark::State& state) {
  Fixture& f = *g_fixture;
  admission::Store& store = f.room->store();
  const std::size_t batch = BatchSize(f.size, state.threads());
  // Walking the owned slots cyclically admits them in the order they joined: the first is at
  // the front of the line, and a replenished slot's new user is at the back.
  const std::vector<std::size_t> slots = OwnedSlots(f, state);
  std::size_t next = 0;
  std::vector<std::size_t> used;
  used.reserve(batch);
  std::vector<std::string> reservations(batch);
  auto prepare = [&] {
    if (api == Api::kStore) {
      for (std::string& r : reservations) r = admission::NewToken(kEvent);
    }
  };
  prepare();
  for (auto _ : state) {
    if (used.size() == batch) {
      state.PauseTiming();
      Replenish(f, used, /*admitted=*/true);
      prepare();
      state.ResumeTiming();
    }
    const std::size_t slot = slots[next];
    next = next + 1 == slots.size() ? 0 : next + 1;
    Prefetch(&f.tokens[slots[next]]);
    const std::string_view token = f.tokens[slot].view();
    if constexpr (api == Api::kFacade) {
      auto r = f.room->Enter(token);
      if (!r.ok() || !r->granted) {
        state.SkipWithError(r.ok() ? "Enter was not granted" : r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->reservation_token);
    } else {
      auto r = store.Enter(kEvent, token, reservations[used.size()]);
      if (!r.ok() || !r->granted) {
        state.SkipWithError(r.ok() ? "Enter was not granted" : r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->ticket.position);
    }
    used.push_back(slot);
  }
  Replenish(f, used, /*admitted=*/true);
  state.SetItemsProcessed(state.iterations());
}

template <Api api>
void BM_Leave(benchmark::State& state) {
  Fixture& f = *g_fixture;
  admission::Store& store = f.room->store();
  const std::size_t batch = BatchSize(f.size, state.threads());
  // A random permutation of the owned slots, walked cyclically: random positions, and a slot
  // is never taken twice within a batch.
  std::vector<std::size_t> slots = OwnedSlots(f, state);
  Rng rng = ThreadRng(state);
  std::shuffle(slots.begin(), slots.end(), rng);
  std::size_t next = 0;
  std::vector<std::size_t> used;
  used.reserve(batch);
  for (auto _ : state) {
    if (used.size() == batch) {
      state.PauseTiming();
      Replenish(f, used, /*admitted=*/false);
      state.ResumeTiming();
    }
    const std::size_t slot = slots[next];
    next = next + 1 == slots.size() ? 0 : next + 1;
    Prefetch(&f.tokens[slots[next]]);
    const std::string_view token = f.tokens[slot].view();
    if constexpr (api == Api::kFacade) {
      auto r = f.room->Leave(token);
      if (!r.ok() || r->state != admission::UserState::kLeft) {
        state.SkipWithError(r.ok() ? "Leave did not leave" : r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->state);
    } else {
      auto r = store.Leave(kEvent, token);
      if (!r.ok() || r->state != admission::UserState::kLeft) {
        state.SkipWithError(r.ok() ? "Leave did not leave" : r.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(r->state);
    }
    used.push_back(slot);
  }
  Replenish(f, used, /*admitted=*/false);
  state.SetItemsProcessed(state.iterations());
}

// ---- Baselines ----

constexpr std::size_t kFreshKeys = 4096;  // a power of two
constexpr std::size_t kKeysInFlight = 256;

struct Baseline {
  int64_t size = 0;
  std::mutex mu;
  absl::flat_hash_map<std::string, int64_t> map;  // guarded by mu
  std::vector<std::string> fresh;  // token-like keys not in the map, inserted and erased again
};
std::unique_ptr<Baseline> g_baseline;

void SetupBaseline(const benchmark::State& state) {
  SetupFixture(state);
  if (g_baseline != nullptr && g_baseline->size == state.range(0)) return;
  g_baseline.reset();
  auto b = std::make_unique<Baseline>();
  b->size = state.range(0);
  {
    std::lock_guard<std::mutex> lock(b->mu);
    b->map.reserve(g_fixture->tokens.size() + kKeysInFlight);
    int64_t v = 0;
    for (const TokenSlot& token : g_fixture->tokens) b->map.emplace(token.view(), v++);
  }
  for (std::size_t i = 0; i < kFreshKeys; ++i) b->fresh.push_back(admission::NewToken(kEvent));
  g_baseline = std::move(b);
}

void BM_BaselineMapInsertFind(benchmark::State& state) {
  Baseline& b = *g_baseline;
  const std::vector<TokenSlot>& keys = g_fixture->tokens;
  const uint64_t n = keys.size();
  Rng rng = ThreadRng(state);
  uint64_t next = rng.Below(n);
  std::string probe;
  probe.reserve(64);
  uint64_t i = 0;
  for (auto _ : state) {
    {
      std::lock_guard<std::mutex> lock(b.mu);
      b.map.try_emplace(b.fresh[i & (kFreshKeys - 1)], static_cast<int64_t>(i));
      if (i >= kKeysInFlight) b.map.erase(b.fresh[(i - kKeysInFlight) & (kFreshKeys - 1)]);
    }
    const std::string_view key = keys[next].view();
    next = rng.Below(n);
    Prefetch(&keys[next]);
    {
      std::lock_guard<std::mutex> lock(b.mu);
      auto it = b.map.find(absl::string_view(key.data(), key.size()));
      benchmark::DoNotOptimize(it->second);
    }
    ++i;
  }
  {
    std::lock_guard<std::mutex> lock(b.mu);
    for (const std::string& key : b.fresh) b.map.erase(key);
  }
  state.SetItemsProcessed(state.iterations());
}

// A random cyclic permutation of N cache lines (Sattolo); following it is one dependent cache
// miss per step once N lines no longer fit in the caches.
struct alignas(64) Line {
  uint32_t next;
};
std::vector<Line> g_lines;

void SetupRandomRead(const benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (g_lines.size() == n) return;
  std::vector<uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  Rng rng(42);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i)]);
  g_lines.assign(n, Line{0});
  for (std::size_t i = 0; i < n; ++i) g_lines[order[i]].next = order[(i + 1) % n];
}

void BM_BaselineRandomRead(benchmark::State& state) {
  uint32_t at = 0;
  for (auto _ : state) {
    at = g_lines[at].next;
    benchmark::DoNotOptimize(at);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BaselineNewToken(benchmark::State& state) {
  for (auto _ : state) {
    std::string token = admission::NewToken(kEvent);
    benchmark::DoNotOptimize(token);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- Registration: size by size, so one fixture at a time is alive ----

void RegisterAll() {
  benchmark::RegisterBenchmark("Baseline/NewToken", BM_BaselineNewToken)->UseRealTime();
  for (int64_t size : kSizes) {
    benchmark::RegisterBenchmark("Baseline/MapInsertFind", BM_BaselineMapInsertFind)
        ->Arg(size)
        ->Setup(SetupBaseline)
        ->UseRealTime()
        ->Threads(1);
    benchmark::RegisterBenchmark("Baseline/RandomRead", BM_BaselineRandomRead)
        ->Arg(size)
        ->Setup(SetupRandomRead)
        ->UseRealTime()
        ->Threads(1);
    struct Op {
      const char* name;
      void (*fn)(benchmark::State&);
    };
    const Op ops[] = {
        {"Facade/Join", BM_Join<Api::kFacade>},   {"Facade/Status", BM_Status<Api::kFacade>},
        {"Facade/Enter", BM_Enter<Api::kFacade>}, {"Facade/Leave", BM_Leave<Api::kFacade>},
        {"Store/Join", BM_Join<Api::kStore>},     {"Store/Status", BM_Status<Api::kStore>},
        {"Store/Enter", BM_Enter<Api::kStore>},   {"Store/Leave", BM_Leave<Api::kStore>},
    };
    for (const Op& op : ops) {
      benchmark::RegisterBenchmark(op.name, op.fn)
          ->Arg(size)
          ->Setup(SetupFixture)
          ->UseRealTime()
          ->Threads(1)
          ->Threads(2);
    }
  }
}

// Takes this program's own flags out of argv (before Google Benchmark sees them).
bool ParseOwnFlags(int* argc, char** argv) {
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--admission_clock=simulated") {
      g_use_simulated_clock = true;
    } else if (arg == "--admission_clock=ticking") {
      g_use_simulated_clock = false;
    } else if (arg.substr(0, 12) == "--admission_") {
      std::fprintf(stderr, "unknown flag %s; known: --admission_clock=ticking|simulated\n",
                   argv[i]);
      return false;
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!ParseOwnFlags(&argc, argv)) return 1;
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("admission.store", "in-memory (NewMemoryStore), one event");
  benchmark::AddCustomContext(
      "admission.clock", g_use_simulated_clock ? "SimulatedClock" : "ticking (1 us per Now())");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_baseline.reset();
  g_fixture.reset();
  return 0;
}
