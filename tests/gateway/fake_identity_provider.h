// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A fake identity provider for the gateway's jwt mode: RSA (RS256) and EC P-256 (ES256) keys
// made at test time with OpenSSL, their JWKS, and tokens signed with them, honest or broken in
// the ways an attacker would try (alg "none", HS256 "signed" with the public key, tampered
// payload, truncated signature, ...). Header-only; link OpenSSL::Crypto and
// admission_gateway_lib (base64url).
#ifndef ADMISSION_TESTS_GATEWAY_FAKE_IDENTITY_PROVIDER_H_
#define ADMISSION_TESTS_GATEWAY_FAKE_IDENTITY_PROVIDER_H_

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "signer.h"

namespace admission::gateway::testing {

inline constexpr char kIssuer[] = "https://id.example.test/";
inline constexpr char kAudience[] = "tickets-gateway";

class FakeIdentityProvider {
 public:
  struct Key {
    std::string kid;  // may be empty: a JWK without kid
    std::string alg;  // "RS256" or "ES256"
    std::shared_ptr<EVP_PKEY> pkey;
  };

  // A new key of `alg` ("RS256": RSA 2048, "ES256": P-256), published in Jwks().
  const Key& AddKey(const std::string& kid, const std::string& alg) {
    EVP_PKEY* raw = alg == "RS256" ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (raw == nullptr) std::abort();
    keys_.push_back(Key{kid, alg, std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)});
    return keys_.back();
  }
  // Publishes an existing key again under `kid` (RSA keys take a moment to make).
  const Key& AddKey(const std::string& kid, const Key& existing) {
    keys_.push_back(Key{kid, existing.alg, existing.pkey});
    return keys_.back();
  }
  // Stops publishing every key (rotation: add new ones after).
  void DropKeys() { keys_.clear(); }
  const Key& key(std::size_t i) const { return keys_.at(i); }

  // The JWKS of the published keys (public parts only).
  std::string Jwks() const {
    nlohmann::json keys = nlohmann::json::array();
    for (const Key& k : keys_) keys.push_back(PublicJwk(k));
    return nlohmann::json{{"keys", keys}}.dump();
  }

  // Claims that pass every check at `now` for `sub`.
  static nlohmann::json Claims(const std::string& sub, absl::Time now) {
    const int64_t t = absl::ToUnixSeconds(now);
    return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub},
            {"iat", t},       {"nbf", t - 5},     {"exp", t + 300}};
  }

  // A compact JWS of `payload` signed with `key`; `header` defaults to {alg, kid, typ}.
  static std::string Sign(const Key& key, const nlohmann::json& payload,
                          nlohmann::json header = nullptr) {
    if (header.is_null()) {
      header = {{"alg", key.alg}, {"typ", "JWT"}};
      if (!key.kid.empty()) header["kid"] = key.kid;
    }
    const std::string signing_input =
        Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
    return signing_input + "." + Base64UrlEncode(RawSignature(key, signing_input));
  }
  std::string Token(std::size_t key_index, const std::string& sub, absl::Time now) const {
    return Sign(keys_.at(key_index), Claims(sub, now));
  }

  // alg "none": no signature at all.
  static std::string Unsigned(const nlohmann::json& payload) {
    return Base64UrlEncode(nlohmann::json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." +
           Base64UrlEncode(payload.dump()) + ".";
  }
  // HS256 with `key`'s public key (PEM) as the HMAC secret: the classic algorithm confusion.
  static std::string HmacWithPublicKey(const Key& key, const nlohmann::json& payload) {
    nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
    if (!key.kid.empty()) header["kid"] = key.kid;
    const std::string signing_input =
        Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
    const std::string pem = PublicPem(key);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
         &len);
    return signing_input + "." +
           Base64UrlEncode(std::string(reinterpret_cast<const char*>(mac), len));
  }
  // `token` with its payload replaced by `payload` and its signature kept.
  static std::string Tampered(const std::string& token, const nlohmann::json& payload) {
    const std::size_t d1 = token.find('.');
    const std::size_t d2 = token.find('.', d1 + 1);
    return token.substr(0, d1) + "." + Base64UrlEncode(payload.dump()) + token.substr(d2);
  }
  // `token` with its signature cut short by `chars` characters.
  static std::string Truncated(const std::string& token, std::size_t chars) {
    return token.substr(0, token.size() - chars);
  }

  static nlohmann::json PublicJwk(const Key& k) {
    nlohmann::json jwk = {{"use", "sig"}, {"alg", k.alg}};
    if (!k.kid.empty()) jwk["kid"] = k.kid;
    if (k.alg == "RS256") {
      jwk["kty"] = "RSA";
      jwk["n"] = BnParam(k, OSSL_PKEY_PARAM_RSA_N);
      jwk["e"] = BnParam(k, OSSL_PKEY_PARAM_RSA_E);
    } else {
      unsigned char point[65];
      std::size_t len = 0;
      if (EVP_PKEY_get_octet_string_param(k.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                          sizeof(point), &len) != 1 ||
          len != 65) {
        std::abort();
      }
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = Base64UrlEncode(std::string(reinterpret_cast<char*>(point + 1), 32));
      jwk["y"] = Base64UrlEncode(std::string(reinterpret_cast<char*>(point + 33), 32));
    }
    return jwk;
  }

 private:
  static std::string BnParam(const Key& k, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(k.pkey.get(), name, &bn) != 1) std::abort();
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return Base64UrlEncode(bytes);
  }

  static std::string PublicPem(const Key& k) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k.pkey.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return pem;
  }

  // RS256: PKCS#1 v1.5 over SHA-256; ES256: r || s, 32 bytes each.
  static std::string RawSignature(const Key& k, const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k.pkey.get()) != 1 ||
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
      std::abort();
    }
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      std::abort();
    }
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (k.alg == "RS256") return sig;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ec = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ec), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ec), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(ec);
    return raw;
  }

  std::vector<Key> keys_;
};

// A temporary directory, removed with what it holds at the end.
class TempDir {
 public:
  TempDir() {
    char path[] = "/tmp/admission-identity-XXXXXX";
    if (mkdtemp(path) == nullptr) std::abort();
    path_ = path;
  }
  ~TempDir() {
    if (std::system(("rm -rf '" + path_ + "'").c_str()) != 0) {
    }
  }
  const std::string& path() const { return path_; }
  // Writes `content` to `name` atomically (a new file renamed over the old one, as a deploy
  // would), and returns its path.
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string target = path_ + "/" + name;
    const std::string tmp = target + ".tmp";
    FILE* f = fopen(tmp.c_str(), "wb");
    if (f == nullptr) std::abort();
    fwrite(content.data(), 1, content.size(), f);
    fclose(f);
    if (rename(tmp.c_str(), target.c_str()) != 0) std::abort();
    return target;
  }

 private:
  std::string path_;
};

}  // namespace admission::gateway::testing

#endif  // ADMISSION_TESTS_GATEWAY_FAKE_IDENTITY_PROVIDER_H_
