// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The public keys of a site's identity provider, as a JSON Web Key Set (RFC 7517), parsed once
// into OpenSSL keys so that checking a JWT (jwt_verifier.h) never parses a key. Only the two
// signature algorithms the gateway accepts have keys here: RS256 (kty "RSA", 2048 to 8192-bit
// modulus) and ES256 (kty "EC", crv "P-256", the point checked to be on the curve). Symmetric
// keys ("oct") and any other kind are skipped, never used: a JWT can then never be "signed"
// with something the client also knows.
//
// JwksFile keeps the set of a file and reloads it when the file changes (its mtime, size or
// inode), looking at most once a second, so an identity provider's key rotation is picked up
// without a restart; a file that stops parsing keeps the last good set (and says so on stderr).
#ifndef ADMISSION_EXAMPLES_GATEWAY_JWKS_H_
#define ADMISSION_EXAMPLES_GATEWAY_JWKS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"

// OpenSSL's key type, without its headers.
typedef struct evp_pkey_st EVP_PKEY;

namespace admission::gateway {

// The JWS algorithms the gateway accepts; nothing else ("none", HS256, ...) ever verifies.
enum class JwtAlg { kRS256, kES256 };

// "RS256" / "ES256"; InvalidArgument for any other name.
absl::StatusOr<JwtAlg> ParseJwtAlg(std::string_view name);

// JWKS files larger than this are refused before parsing.
inline constexpr std::size_t kMaxJwksBytes = 1 << 20;

class Jwks {
 public:
  struct Key {
    std::string kid;  // empty when the JWK has none
    JwtAlg alg;
    std::shared_ptr<EVP_PKEY> pkey;
  };

  // Parses a JWKS document ({"keys":[...]}). InvalidArgument, naming the key, for malformed
  // JSON, a malformed RSA or EC key, or a set without any usable key. Keys of other types or
  // curves, of another "alg" than their type's (RS384, PS256, ...) or another "use" ("enc")
  // are skipped.
  static absl::StatusOr<Jwks> Parse(std::string_view json);

  // The key to check a token of `alg` with: the key of `alg` with `kid` when the token names
  // one; without a kid, the set's only key for `alg`. Null when none fits.
  const Key* Find(std::string_view kid, JwtAlg alg) const;

  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<Key> keys_;
};

class JwksFile {
 public:
  // Reads and parses `path` (the error names the file). `clock` (not owned) paces the checks.
  static absl::StatusOr<std::unique_ptr<JwksFile>> Open(std::string path, Clock* clock);

  // The current set: the file is looked at (stat) when a second has passed since the last
  // look, and parsed again only when it changed. Thread-safe.
  std::shared_ptr<const Jwks> Current();

  // How many times the file was parsed since Open (tests and logs).
  int64_t reloads() const;

 private:
  struct Stamp {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    bool operator==(const Stamp& o) const {
      return mtime_ns == o.mtime_ns && size == o.size && inode == o.inode;
    }
  };
  JwksFile(std::string path, Clock* clock) : path_(std::move(path)), clock_(clock) {}
  // The file's stamp and parsed content.
  absl::StatusOr<std::shared_ptr<const Jwks>> Load(Stamp* stamp) const;

  const std::string path_;
  Clock* const clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Jwks> keys_;  // guarded by mu_
  Stamp stamp_;                       // guarded by mu_: of the last file looked at
  absl::Time last_check_;             // guarded by mu_
  int64_t reloads_ = 0;               // guarded by mu_
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_JWKS_H_
