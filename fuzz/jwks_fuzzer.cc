// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A JSON Web Key Set as the gateway reads --jwks_file (Jwks::Parse, examples/gateway/jwks.h):
// the JSON, each JWK's members, RSA and EC P-256 keys into OpenSSL (with the modulus, exponent
// and point checks), then key lookups by kid and algorithm.
// A set that parses has at least one key, and a lookup without kid finds a key only when it is
// the set's one key of that algorithm.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<admission::gateway::Jwks> keys = admission::gateway::Jwks::Parse(text);
  if (!keys.ok()) return 0;
  if (keys->size() == 0) __builtin_trap();
  for (admission::gateway::JwtAlg alg :
       {admission::gateway::JwtAlg::kRS256, admission::gateway::JwtAlg::kES256}) {
    for (std::string_view kid : {"", "a", "rsa", "ec", "1"}) {
      const admission::gateway::Jwks::Key* key = keys->Find(kid, alg);
      if (key != nullptr && (key->alg != alg || key->pkey == nullptr)) __builtin_trap();
      if (key != nullptr && !kid.empty() && key->kid != kid) __builtin_trap();
    }
  }
  return 0;
}
