// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The proof of work's solutions and challenges (ProofOfWork::Verify, ParsePowSolution,
// ParsePowChallenge; examples/gateway/proof_of_work.h). Verify checks the MAC before the
// challenge's fields are parsed, so random input only reaches the framing. The first input
// byte chooses:
//   even: the rest is a solution ("CHALLENGE;NONCE"), verified as is;
//   odd:  the rest is a challenge body up to a ';' and a nonce after it; the body is signed here
//         with the target's secret the way Issue frames it, so that the parse behind the MAC
//         is fuzzed too.
// Either way the rest is also parsed alone as a challenge. What verifies must be for the event
// asked, unexpired, solved, and parse back to the same fields.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proof_of_work.h"
#include "signer.h"

namespace {

using admission::gateway::PowChallenge;

const std::string& Secret() {
  static const std::string secret = "fuzz-secret-0123456789abcdef0123456789abcdef";
  return secret;
}

std::string Mac(std::string_view data) {
  return admission::gateway::Base64UrlEncode(admission::gateway::HmacSha256(Secret(), data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const admission::gateway::ProofOfWork work(Secret(), absl::Seconds(120));
  // Seed challenges expire in 2100; "now" is fixed so that runs repeat.
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)admission::gateway::ParsePowChallenge(rest);
  (void)admission::gateway::ParsePowSolution(rest);
  std::string solution;
  if (data[0] % 2 == 0) {
    solution = std::string(rest);
  } else {
    const std::size_t semi = rest.find(';');
    const std::string_view body = rest.substr(0, semi);
    const std::string_view nonce =
        semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    solution = std::string(body) + "." + Mac(body) + ";" + std::string(nonce);
  }
  // The event the verifier expects: the one the challenge names, when it names one.
  std::string event = "concert";
  if (absl::StatusOr<admission::gateway::PowSolution> parts =
          admission::gateway::ParsePowSolution(solution);
      parts.ok()) {
    if (absl::StatusOr<PowChallenge> c = admission::gateway::ParsePowChallenge(parts->challenge);
        c.ok()) {
      event = c->event_id;
    }
  }
  absl::StatusOr<PowChallenge> verified = work.Verify(solution, event, now);
  if (!verified.ok()) return 0;
  if (verified->event_id != event || now >= verified->expires_at) __builtin_trap();
  absl::StatusOr<admission::gateway::PowSolution> parts =
      admission::gateway::ParsePowSolution(solution);
  if (!parts.ok() ||
      !admission::gateway::MeetsDifficulty(parts->challenge, parts->nonce, verified->difficulty)) {
    __builtin_trap();
  }
  absl::StatusOr<PowChallenge> again = admission::gateway::ParsePowChallenge(verified->text);
  if (!again.ok() || again->salt != verified->salt || again->difficulty != verified->difficulty ||
      again->expires_at != verified->expires_at) {
    __builtin_trap();
  }
  return 0;
}
