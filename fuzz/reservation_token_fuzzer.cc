// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's signed reservation tokens (TokenSigner::Verify, examples/gateway/signer.h).
// Verify checks the MAC before it decodes anything, so random tokens only ever reach the first
// few checks. The first input byte chooses:
//   even: the rest is a token, verified as is (framing, base64url, the MAC comparison);
//   odd:  the rest is a payload, signed here with the test secret the way Sign frames it, so
//         that the JSON claims decoding behind the MAC is fuzzed too.
// A token that verifies is signed again from its claims and must verify to the same claims.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signer.h"

namespace {

using admission::gateway::ReservationClaims;

const std::string& Secret() {
  static const std::string secret = "fuzz-secret-0123456789abcdef0123456789abcdef";
  return secret;
}

std::string Mac(std::string_view data) { return admission::gateway::HmacSha256(Secret(), data); }

bool Same(const ReservationClaims& a, const ReservationClaims& b) {
  return a.event_id == b.event_id && a.user_id == b.user_id && a.waiting_token == b.waiting_token &&
         a.reservation_id == b.reservation_id && a.scope_reservation_id == b.scope_reservation_id &&
         a.expires_at == b.expires_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const admission::gateway::TokenSigner signer(Secret());
  // Tokens from the seed corpus expire in 2100; "now" is fixed so that runs repeat.
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  if (data[0] % 2 == 0) {
    token = std::string(rest);
    (void)admission::gateway::Base64UrlDecode(rest);
  } else {
    const std::string body = admission::gateway::Base64UrlEncode(rest);
    token = body + "." + admission::gateway::Base64UrlEncode(Mac(body));
  }
  absl::StatusOr<ReservationClaims> claims = signer.Verify(token, now);
  if (!claims.ok()) return 0;
  if (now >= claims->expires_at) __builtin_trap();
  absl::StatusOr<ReservationClaims> again = signer.Verify(signer.Sign(*claims), now);
  if (!again.ok() || !Same(*claims, *again)) __builtin_trap();
  return 0;
}
