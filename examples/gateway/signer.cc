// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstdlib>
#include <utility>

#include "nlohmann/json.hpp"

namespace admission::gateway {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void RandomBytes(unsigned char* out, std::size_t n) {
  // A secret or id we cannot make unpredictable must never be handed out.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

absl::Status Invalid(std::string_view why) { return absl::UnauthenticatedError(std::string(why)); }

}  // namespace

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == data.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;  // unpadded, as in JWTs
}

absl::StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return absl::InvalidArgumentError("bad base64url length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int d = DecodeChar(c);
    if (d < 0) return absl::InvalidArgumentError("bad base64url character");
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Non-zero leftover bits mean a non-canonical encoding: refuse it, so that every token has
  // exactly one spelling.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("non-canonical base64url");
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Hashing first makes both sides the same length, so neither the length nor the position
  // of the first difference shows in the timing.
  const std::string ha = Sha256(a);
  const std::string hb = Sha256(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

std::string RandomSecret() {
  unsigned char bytes[32];
  RandomBytes(bytes, sizeof(bytes));
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string RandomHex(std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char bytes[64];
  if (n > sizeof(bytes)) n = sizeof(bytes);
  RandomBytes(bytes, n);
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {}

std::string TokenSigner::Mac(std::string_view data) const { return HmacSha256(secret_, data); }

std::string TokenSigner::Sign(const ReservationClaims& claims) const {
  // "typ" keeps a reservation token from ever verifying as another kind of token signed with
  // the same secret later on.
  nlohmann::json payload = {
      {"typ", "reservation"},         {"ev", claims.event_id},
      {"sub", claims.user_id},        {"wt", claims.waiting_token},
      {"rid", claims.reservation_id}, {"exp", absl::ToUnixSeconds(claims.expires_at)},
  };
  if (!claims.scope_reservation_id.empty()) payload["res"] = claims.scope_reservation_id;
  const std::string body = Base64UrlEncode(payload.dump());
  return body + "." + Base64UrlEncode(Mac(body));
}

absl::StatusOr<ReservationClaims> TokenSigner::Verify(std::string_view token,
                                                      absl::Time now) const {
  if (token.empty() || token.size() > kMaxSignedTokenLength) {
    return Invalid("malformed reservation token");
  }
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
    return Invalid("malformed reservation token");
  }
  const std::string_view body = token.substr(0, dot);
  absl::StatusOr<std::string> mac = Base64UrlDecode(token.substr(dot + 1));
  if (!mac.ok()) return Invalid("malformed reservation token");
  // The MAC is checked before the payload is even decoded: nothing an attacker wrote is
  // parsed unless it was signed with our secret.
  const std::string expected = Mac(body);
  if (mac->size() != expected.size() ||
      CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return Invalid("reservation token signature does not match");
  }
  absl::StatusOr<std::string> json = Base64UrlDecode(body);
  if (!json.ok()) return Invalid("malformed reservation token");
  const nlohmann::json payload = nlohmann::json::parse(*json, nullptr, false);
  if (!payload.is_object()) return Invalid("malformed reservation token");
  auto str = [&payload](const char* key, std::string* out) {
    auto it = payload.find(key);
    if (it == payload.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  ReservationClaims claims;
  std::string typ;
  auto exp = payload.find("exp");
  if (!str("typ", &typ) || typ != "reservation" || !str("ev", &claims.event_id) ||
      !str("sub", &claims.user_id) || !str("wt", &claims.waiting_token) ||
      !str("rid", &claims.reservation_id) || exp == payload.end() || !exp->is_number_integer()) {
    return Invalid("malformed reservation token");
  }
  if (payload.contains("res") &&
      (!str("res", &claims.scope_reservation_id) || claims.scope_reservation_id.empty())) {
    return Invalid("malformed reservation token");
  }
  claims.expires_at = absl::FromUnixSeconds(exp->get<int64_t>());
  if (now >= claims.expires_at) return Invalid("reservation token expired");
  return claims;
}

}  // namespace admission::gateway
