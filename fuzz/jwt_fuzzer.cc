// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// JWTs from clients (VerifyJwt, examples/gateway/jwt_verifier.h) against a key set of one RSA
// and one EC P-256 key made when the target starts. The verifier checks the signature before it
// reads the claims, so random tokens only reach the framing, the header and the key lookup.
// The first input byte chooses:
//   0 mod 3: the rest is a token, verified as is (framing, base64url, header JSON, alg and kid
//            lookup, the ES256 r||s -> DER conversion, both signature checks);
//   1 mod 3: the rest is a payload, signed here with the EC key under a fixed header, so that
//            the claims checks behind the signature are fuzzed too;
//   2 mod 3: the rest is a header, with fixed valid claims, signed here with the EC key.
// A token that verifies must have a subject and be unexpired at "now" (with the leeway).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jwks.h"
#include "jwt_verifier.h"
#include "nlohmann/json.hpp"
#include "signer.h"

namespace {

using admission::gateway::Base64UrlEncode;

struct Fixture {
  EVP_PKEY* ec = nullptr;
  admission::gateway::Jwks keys;
};

std::string Bn(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) std::abort();
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return Base64UrlEncode(bytes);
}

const Fixture& Keys() {
  static const Fixture* const fixture = [] {
    auto* f = new Fixture;
    f->ec = EVP_EC_gen("P-256");
    EVP_PKEY* rsa = EVP_RSA_gen(2048);
    unsigned char point[65];
    std::size_t len = 0;
    if (f->ec == nullptr || rsa == nullptr ||
        EVP_PKEY_get_octet_string_param(f->ec, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &len) != 1) {
      std::abort();
    }
    const nlohmann::json jwks = {
        {"keys",
         {{{"kty", "RSA"}, {"kid", "rsa"}, {"n", Bn(rsa, "n")}, {"e", Bn(rsa, "e")}},
          {{"kty", "EC"},
           {"crv", "P-256"},
           {"kid", "ec"},
           {"x", Base64UrlEncode(std::string(reinterpret_cast<char*>(point + 1), 32))},
           {"y", Base64UrlEncode(std::string(reinterpret_cast<char*>(point + 33), 32))}}}}};
    EVP_PKEY_free(rsa);
    absl::StatusOr<admission::gateway::Jwks> keys = admission::gateway::Jwks::Parse(jwks.dump());
    if (!keys.ok()) std::abort();
    f->keys = *std::move(keys);
    return f;
  }();
  return *fixture;
}

// ES256 over `input`: r || s.
std::string SignEs256(const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char der[80];
  std::size_t len = sizeof(der);
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, Keys().ec) != 1 ||
      EVP_DigestSign(ctx, der, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string Signed(std::string_view header, std::string_view payload) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(SignEs256(input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Fixed so that runs repeat: the seed payloads expire in 2100.
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const admission::gateway::JwtExpectations expect{"https://id.example.test/", "gateway"};
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  switch (data[0] % 3) {
    case 0:
      token = std::string(rest);
      break;
    case 1:
      token = Signed(R"({"alg":"ES256","kid":"ec"})", rest);
      break;
    default:
      token = Signed(rest, R"({"iss":"https://id.example.test/","aud":"gateway","sub":"u",)"
                           R"("exp":4102444800})");
      break;
  }
  absl::StatusOr<admission::gateway::JwtClaims> claims =
      admission::gateway::VerifyJwt(token, Keys().keys, expect, now);
  if (!claims.ok()) return 0;
  if (claims->subject.empty()) __builtin_trap();
  if (now >= claims->expires_at + admission::gateway::kJwtLeeway) __builtin_trap();
  return 0;
}
