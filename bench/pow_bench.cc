// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The server's cost of the proof of work on join (examples/gateway/proof_of_work.h,
// pow_gate.h), next to its parts: one HMAC-SHA256 and one SHA-256 of a challenge's size, the
// work a verification is made of. Verify of a good solution should cost about their sum; a
// tampered one stops after the HMAC. Issue is what every pow_required answer and challenge
// route pays; Redeem adds the spending in the in-memory IdempotencyStore (on Redis that is two
// round trips, measured end to end by the load tools, not here). The client's side, 2^d hashes,
// is in docs/benchmarks.md, "Proof of work on join".
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/ticketing.h"
#include "benchmark/benchmark.h"
#include "pow_gate.h"
#include "proof_of_work.h"
#include "signer.h"

namespace admission::gateway {
namespace {

const std::string kSecret = "bench-secret-0123456789abcdef0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// A challenge as the gateway issues them, for an event id of a usual length.
PowChallenge Challenge(int difficulty) {
  static const ProofOfWork work(kSecret, absl::Seconds(120));
  return work.Issue("concert-2026", difficulty, kNow);
}

void BM_HmacSha256(benchmark::State& state) {
  const PowChallenge c = Challenge(16);
  const std::string body = c.text.substr(0, c.text.rfind('.'));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len);
    benchmark::DoNotOptimize(mac);
  }
}
BENCHMARK(BM_HmacSha256);

void BM_Sha256OfChallengeAndNonce(benchmark::State& state) {
  const PowChallenge c = Challenge(16);
  for (auto _ : state) {
    benchmark::DoNotOptimize(MeetsDifficulty(c.text, "123456", 16));
  }
}
BENCHMARK(BM_Sha256OfChallengeAndNonce);

void BM_Verify(benchmark::State& state) {
  const ProofOfWork work(kSecret, absl::Seconds(120));
  const PowChallenge c = Challenge(16);
  const std::string solution = c.text + ";" + SolvePowChallenge(c.text, c.difficulty);
  for (auto _ : state) {
    absl::StatusOr<PowChallenge> ok = work.Verify(solution, "concert-2026", kNow);
    if (!ok.ok()) state.SkipWithError("the solution did not verify");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_Verify);

void BM_VerifyTampered(benchmark::State& state) {
  const ProofOfWork work(kSecret, absl::Seconds(120));
  PowChallenge c = Challenge(16);
  c.text[c.text.size() - 1] = c.text.back() == 'A' ? 'B' : 'A';
  const std::string solution = c.text + ";1";
  for (auto _ : state) {
    benchmark::DoNotOptimize(work.Verify(solution, "concert-2026", kNow));
  }
}
BENCHMARK(BM_VerifyTampered);

void BM_Issue(benchmark::State& state) {
  const ProofOfWork work(kSecret, absl::Seconds(120));
  for (auto _ : state) {
    benchmark::DoNotOptimize(work.Issue("concert-2026", 16, kNow));
  }
}
BENCHMARK(BM_Issue);

// Verify and spend, on the in-memory store: each iteration spends a challenge issued (at
// difficulty 0, so that solving costs nothing) outside the timing.
void BM_RedeemInMemory(benchmark::State& state) {
  SimulatedClock clock;
  TicketingOptions options;
  options.clock = &clock;
  absl::StatusOr<Ticketing> sale = NewMemoryTicketing(options);
  if (!sale.ok()) return state.SkipWithError("no in-memory sale");
  PowOptions o;
  o.mode = PowMode::kOn;
  PowGate gate(
      o, kSecret, clock, [](std::string_view) -> absl::StatusOr<int64_t> { return 0; },
      sale->idempotency.get());
  for (auto _ : state) {
    state.PauseTiming();
    const std::string solution = gate.Issue("concert-2026", 0).text + ";0";
    state.ResumeTiming();
    if (!gate.Redeem(solution, "concert-2026").ok()) state.SkipWithError("not redeemed");
  }
}
BENCHMARK(BM_RedeemInMemory);

}  // namespace
}  // namespace admission::gateway

BENCHMARK_MAIN();
