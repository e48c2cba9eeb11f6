// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Checks a JSON Web Token (RFC 7519, compact JWS) from a site's identity provider against its
// public keys (jwks.h), with OpenSSL (EVP_DigestVerify). The header's "alg" must be RS256 or
// ES256 and fit the key it names: "none" and the HMAC algorithms never verify, so a token
// "signed" with the provider's public key as an HMAC secret is refused before any MAC is
// computed. Then "iss" must be the expected issuer, "aud" (a string or an array of strings)
// must hold the expected audience, "exp" must be in the future and "nbf" (if any) in the past,
// both within kJwtLeeway for clocks that disagree a little, and "sub" must be a non-empty
// string. Every failure is Unauthenticated with a message that says which check failed (it is
// safe to show: the client sent the token).
#ifndef ADMISSION_EXAMPLES_GATEWAY_JWT_VERIFIER_H_
#define ADMISSION_EXAMPLES_GATEWAY_JWT_VERIFIER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwks.h"

namespace admission::gateway {

// How far "exp" and "nbf" may be off for clocks that disagree. [30 s]
inline constexpr absl::Duration kJwtLeeway = absl::Seconds(30);
// Longer tokens are refused before any decoding. [8 KiB]
inline constexpr std::size_t kMaxJwtLength = 8192;

struct JwtExpectations {
  std::string issuer;    // "iss" must equal it
  std::string audience;  // "aud" must be it, or an array holding it
};

struct JwtClaims {
  std::string subject;  // "sub"
  absl::Time expires_at;
};

// The claims of `token` if it is authentic under `keys` and meets `expect` at `now`.
absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token, const Jwks& keys,
                                    const JwtExpectations& expect, absl::Time now);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_JWT_VERIFIER_H_
