// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "jwt_verifier.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "signer.h"

namespace admission::gateway {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(std::string_view why) {
  return absl::UnauthenticatedError(
      absl::StrCat("the identity token is not valid: ", absl::string_view(why.data(), why.size())));
}

// A base64url part decoded and parsed as a JSON object; a discarded value otherwise.
Json ObjectPart(std::string_view part) {
  absl::StatusOr<std::string> bytes = Base64UrlDecode(part);
  if (!bytes.ok()) return Json(Json::value_t::discarded);
  Json j = Json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : Json(Json::value_t::discarded);
}

// ES256 signatures are r || s, 32 bytes each (RFC 7518, 3.4); OpenSSL wants DER.
bool RawEcdsaToDer(std::string_view raw, std::string* der) {
  if (raw.size() != 64) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return false;
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (n <= 0) return false;
  der->assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return true;
}

bool VerifySignature(const Jwks::Key& key, std::string_view signed_part, std::string_view sig) {
  std::string der;
  if (key.alg == JwtAlg::kES256) {
    if (!RawEcdsaToDer(sig, &der)) return false;
    sig = der;
  } else if (static_cast<int>(sig.size()) != EVP_PKEY_get_size(key.pkey.get())) {
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.pkey.get()) != 1) {
    return false;
  }
  // RS256 is RSASSA-PKCS1-v1_5; say so rather than rely on the default.
  if (key.alg == JwtAlg::kRS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signed_part.data()),
                          signed_part.size()) == 1;
}

// A NumericDate claim (seconds since the epoch, possibly fractional).
bool NumericDate(const Json& payload, const char* name, absl::Time* out, bool* present) {
  auto it = payload.find(name);
  *present = it != payload.end();
  if (!*present) return true;
  if (!it->is_number()) return false;
  const double v = it->get<double>();
  if (!std::isfinite(v) || std::abs(v) > 1e11) return false;
  *out = absl::FromUnixMicros(static_cast<int64_t>(v * 1e6));
  return true;
}

}  // namespace

absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token, const Jwks& keys,
                                    const JwtExpectations& expect, absl::Time now) {
  if (token.empty()) return Invalid("it is empty");
  if (token.size() > kMaxJwtLength) return Invalid("it is too long");
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("it is not three base64url parts separated by dots");
  }
  const Json header = ObjectPart(token.substr(0, dot1));
  if (header.is_discarded()) return Invalid("its header is not a base64url JSON object");
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return Invalid("its header has no alg");
  absl::StatusOr<JwtAlg> alg = ParseJwtAlg(alg_it->get_ref<const std::string&>());
  if (!alg.ok()) return Invalid("its alg is not RS256 or ES256");
  // Extensions that must be understood: the gateway understands none.
  if (header.contains("crit")) return Invalid("its header has crit extensions");
  std::string kid;
  if (auto kid_it = header.find("kid"); kid_it != header.end()) {
    if (!kid_it->is_string()) return Invalid("its kid is not a string");
    kid = kid_it->get<std::string>();
  }
  const Jwks::Key* key = keys.Find(kid, *alg);
  if (key == nullptr) {
    return Invalid(kid.empty() ? "it names no kid and the key set has no single key for its alg"
                               : "no key of the set has its kid and alg");
  }
  absl::StatusOr<std::string> sig = Base64UrlDecode(token.substr(dot2 + 1));
  if (!sig.ok() || sig->empty()) return Invalid("its signature is not base64url");
  if (!VerifySignature(*key, token.substr(0, dot2), *sig)) {
    return Invalid("its signature does not verify");
  }

  // Authentic from here on; now whether it is meant for us, and now.
  const Json payload = ObjectPart(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (payload.is_discarded()) return Invalid("its payload is not a JSON object");
  auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string() || *iss != expect.issuer) {
    return Invalid("its iss is not the expected issuer");
  }
  auto aud = payload.find("aud");
  bool audience_ok = false;
  if (aud != payload.end() && aud->is_string()) {
    audience_ok = *aud == expect.audience;
  } else if (aud != payload.end() && aud->is_array()) {
    for (const Json& a : *aud) audience_ok = audience_ok || (a.is_string() && a == expect.audience);
  }
  if (!audience_ok) return Invalid("its aud does not name this gateway's audience");
  JwtClaims claims;
  bool has_exp = false;
  bool has_nbf = false;
  absl::Time nbf;
  if (!NumericDate(payload, "exp", &claims.expires_at, &has_exp) || !has_exp) {
    return Invalid("it has no numeric exp");
  }
  if (!NumericDate(payload, "nbf", &nbf, &has_nbf)) return Invalid("its nbf is not numeric");
  if (now >= claims.expires_at + kJwtLeeway) return Invalid("it has expired");
  if (has_nbf && now < nbf - kJwtLeeway) return Invalid("it is not valid yet (nbf)");
  auto sub = payload.find("sub");
  if (sub == payload.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return Invalid("it has no sub");
  }
  claims.subject = sub->get<std::string>();
  return claims;
}

}  // namespace admission::gateway
