// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Reservation tokens signed by the gateway: base64url(payload) "." base64url(HMAC-SHA256 of
// the first part). The payload is a small JSON object naming the event, the user, the waiting
// token and the expiry, so that the ticket shop behind the room (or any gateway holding the
// same secret) can check an admission without asking the store. The MAC is compared in
// constant time.
//
// Two kinds share the format: the admission token that enter hands out (it may start a
// purchase: hold seats), and a token scoped to one seat reservation (`scope_reservation_id`
// set), which the hold answer hands out so that the buyer can pay, confirm, cancel and read
// that reservation after the short-lived admission token has expired, and nothing else.
#ifndef ADMISSION_EXAMPLES_GATEWAY_SIGNER_H_
#define ADMISSION_EXAMPLES_GATEWAY_SIGNER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission::gateway {

struct ReservationClaims {
  std::string event_id;
  std::string user_id;
  std::string waiting_token;
  // The library's own reservation token (unique per admission).
  std::string reservation_id;
  // Empty for an admission token; else the one seat reservation (inventory.h) this token may
  // act on. Absent from the payload when empty: an admission token carries none.
  std::string scope_reservation_id;
  // Whole seconds: the token is valid while now < expires_at.
  absl::Time expires_at;
};

// Signed tokens are at most this long; longer input is refused before any work.
inline constexpr std::size_t kMaxSignedTokenLength = 2048;

class TokenSigner {
 public:
  explicit TokenSigner(std::string secret);

  // expires_at is truncated to whole seconds.
  std::string Sign(const ReservationClaims& claims) const;
  // The claims of an authentic, unexpired token; Unauthenticated otherwise (the message
  // says whether it was malformed, tampered with or expired).
  absl::StatusOr<ReservationClaims> Verify(std::string_view token, absl::Time now) const;

 private:
  std::string Mac(std::string_view data) const;

  std::string secret_;
};

// 32 random bytes from OpenSSL's CSPRNG, base64url-encoded.
std::string RandomSecret();
// 16 random bytes as 32 lowercase hex digits (request ids, anonymous user ids).
std::string RandomHex(std::size_t bytes);

std::string Base64UrlEncode(std::string_view data);
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);

// SHA-256 of `data`, raw bytes.
std::string Sha256(std::string_view data);
// HMAC-SHA256 of `data` under `key`, raw bytes: what every signed thing the gateway hands out
// (tokens, sessions, proof-of-work challenges) is checked with.
std::string HmacSha256(std::string_view key, std::string_view data);
// Constant-time equality (lengths may differ; the time does not depend on where they differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_SIGNER_H_
