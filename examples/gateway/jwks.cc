// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "signer.h"

namespace admission::gateway {
namespace {

using Json = nlohmann::json;

// RSA moduli below 2048 bits are too weak to trust; above 8192 bits each check costs more than
// a crowd can be allowed to make the gateway pay.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;
constexpr std::size_t kP256CoordinateBytes = 32;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

absl::Status Bad(std::size_t index, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("JWKS key #", index, ": ", absl::string_view(why.data(), why.size())));
}

// A member that must be a non-empty base64url string.
absl::StatusOr<std::string> Bytes(const Json& jwk, const char* name, std::size_t index) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return Bad(index, absl::StrCat("no \"", name, "\""));
  absl::StatusOr<std::string> bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.ok() || bytes->empty()) {
    return Bad(index, absl::StrCat("\"", name, "\" is not base64url"));
  }
  return bytes;
}

// A key made from OSSL_PARAMs by `type`'s provider ("RSA", "EC").
absl::StatusOr<std::shared_ptr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM_BLD* bld,
                                                   std::size_t index) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Bad(index, absl::StrCat("OpenSSL refused the ", type, " key"));
  }
  std::shared_ptr<EVP_PKEY> pkey(raw, EVP_PKEY_free);
  // The point must be on the curve (an invalid-curve point leaks nothing here, since only
  // public keys are involved, but such a key is broken and should be said to be).
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return Bad(index, absl::StrCat("the ", type, " public key is not valid"));
  }
  return pkey;
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> RsaKey(const Json& jwk, std::size_t index) {
  absl::StatusOr<std::string> n = Bytes(jwk, "n", index);
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = Bytes(jwk, "e", index);
  if (!e.ok()) return e.status();
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                       static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                       static_cast<int>(e->size()), nullptr));
  if (bn_n == nullptr || bn_e == nullptr) return Bad(index, "out of memory");
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return Bad(index, absl::StrCat("the RSA modulus has ", bits, " bits; 2048 to 8192 expected"));
  }
  // A public exponent is small and odd (65537 in practice); a huge one makes checks slow.
  if (BN_num_bits(bn_e.get()) > 32 || BN_num_bits(bn_e.get()) < 2 || !BN_is_odd(bn_e.get())) {
    return Bad(index, "the RSA exponent is not a small odd number");
  }
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Bad(index, "out of memory");
  }
  return FromData("RSA", bld.get(), index);
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> P256Key(const Json& jwk, std::size_t index) {
  absl::StatusOr<std::string> x = Bytes(jwk, "x", index);
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = Bytes(jwk, "y", index);
  if (!y.ok()) return y.status();
  if (x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    return Bad(index, "a P-256 key's x and y are 32 bytes each");
  }
  // The uncompressed point: 0x04 || x || y (SEC 1).
  std::string point = absl::StrCat("\x04", *x, *y);
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Bad(index, "out of memory");
  }
  return FromData("EC", bld.get(), index);
}

std::string Member(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

absl::StatusOr<JwtAlg> ParseJwtAlg(std::string_view name) {
  if (name == "RS256") return JwtAlg::kRS256;
  if (name == "ES256") return JwtAlg::kES256;
  return absl::InvalidArgumentError("only RS256 and ES256 are accepted");
}

absl::StatusOr<Jwks> Jwks::Parse(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return absl::InvalidArgumentError("the JWKS is too large");
  const Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("the JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("the JWKS has no \"keys\" array");
  }
  Jwks set;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const Json& jwk = (*keys)[i];
    if (!jwk.is_object()) return Bad(i, "not an object");
    auto kid = jwk.find("kid");
    if (kid != jwk.end() && !kid->is_string()) return Bad(i, "\"kid\" is not a string");
    const std::string kty = Member(jwk, "kty");
    const std::string use = Member(jwk, "use");
    const std::string alg = Member(jwk, "alg");
    if (jwk.contains("use") && use != "sig") continue;  // an encryption key
    Key key;
    key.kid = Member(jwk, "kid");
    absl::StatusOr<std::shared_ptr<EVP_PKEY>> pkey;
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      key.alg = JwtAlg::kRS256;
      pkey = RsaKey(jwk, i);
    } else if (kty == "EC" && Member(jwk, "crv") == "P-256" && (alg.empty() || alg == "ES256")) {
      key.alg = JwtAlg::kES256;
      pkey = P256Key(jwk, i);
    } else {
      continue;  // "oct" (a shared secret), other curves, other algorithms: never used
    }
    if (!pkey.ok()) return pkey.status();
    key.pkey = *std::move(pkey);
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty()) {
    return absl::InvalidArgumentError("the JWKS has no RS256 (RSA) or ES256 (EC P-256) key");
  }
  return set;
}

const Jwks::Key* Jwks::Find(std::string_view kid, JwtAlg alg) const {
  if (!kid.empty()) {
    // A kid names one key per algorithm (an RSA and an EC key may share one).
    for (const Key& k : keys_) {
      if (k.kid == kid && k.alg == alg) return &k;
    }
    return nullptr;
  }
  // No kid: only when the set leaves no choice, so a token cannot pick among keys.
  const Key* only = nullptr;
  for (const Key& k : keys_) {
    if (k.alg != alg) continue;
    if (only != nullptr) return nullptr;
    only = &k;
  }
  return only;
}

absl::StatusOr<std::unique_ptr<JwksFile>> JwksFile::Open(std::string path, Clock* clock) {
  std::unique_ptr<JwksFile> file(new JwksFile(std::move(path), clock));
  Stamp stamp;
  absl::StatusOr<std::shared_ptr<const Jwks>> keys = file->Load(&stamp);
  if (!keys.ok()) return keys.status();
  file->keys_ = *std::move(keys);
  file->stamp_ = stamp;
  file->last_check_ = clock->Now();
  return file;
}

absl::StatusOr<std::shared_ptr<const Jwks>> JwksFile::Load(Stamp* stamp) const {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--jwks_file: cannot read ", path_));
  }
  stamp->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  stamp->size = static_cast<int64_t>(st.st_size);
  stamp->inode = static_cast<uint64_t>(st.st_ino);
  if (st.st_size > static_cast<off_t>(kMaxJwksBytes)) {
    return absl::InvalidArgumentError(absl::StrCat("--jwks_file: ", path_, " is over 1 MiB"));
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--jwks_file: cannot read ", path_));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Jwks> keys = Jwks::Parse(text.str());
  if (!keys.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--jwks_file ", path_, ": ", keys.status().message()));
  }
  return std::make_shared<const Jwks>(*std::move(keys));
}

std::shared_ptr<const Jwks> JwksFile::Current() {
  std::unique_lock<std::mutex> lock(mu_);
  const absl::Time now = clock_->Now();
  if (now - last_check_ < absl::Seconds(1)) return keys_;
  last_check_ = now;
  Stamp seen;
  {
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) return keys_;  // mid-replacement: keep what we have
    seen.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    seen.size = static_cast<int64_t>(st.st_size);
    seen.inode = static_cast<uint64_t>(st.st_ino);
  }
  if (seen == stamp_) return keys_;
  // Parsing takes a millisecond or so, once per change; other requests meanwhile wait for it
  // rather than check tokens against keys the provider may have revoked.
  Stamp loaded;
  absl::StatusOr<std::shared_ptr<const Jwks>> keys = Load(&loaded);
  stamp_ = loaded;
  ++reloads_;
  if (!keys.ok()) {
    std::fprintf(stderr, "admission-gateway: keeping the previous keys: %s\n",
                 std::string(keys.status().message()).c_str());
    return keys_;
  }
  keys_ = *std::move(keys);
  return keys_;
}

int64_t JwksFile::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

}  // namespace admission::gateway
