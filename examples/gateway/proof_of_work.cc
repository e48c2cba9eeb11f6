// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "proof_of_work.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "signer.h"

namespace admission::gateway {
namespace {

constexpr char kVersion[] = "p1";
constexpr std::size_t kSaltHexDigits = 32;
// base64url of a 32-byte HMAC-SHA256, unpadded.
constexpr std::size_t kMacChars = 43;
// An int64 of seconds has at most 19 digits.
constexpr std::size_t kMaxUnixDigits = 19;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A canonical decimal (no sign, no leading zero but "0" itself) of at most `max_digits`.
bool ParseCanonical(std::string_view s, std::size_t max_digits, int64_t* out) {
  if (s.empty() || s.size() > max_digits || !AllOf(s, IsDigit)) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');  // callers keep max_digits <= 18: no overflow
  *out = v;
  return true;
}

absl::Status Malformed(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed proof of work: ", what));
}

// `text` split at every '.' (std::string_view: Abseil's split wants its own view type here).
std::vector<std::string_view> SplitDots(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t begin = 0;;) {
    const std::size_t dot = text.find('.', begin);
    parts.push_back(text.substr(begin, dot == std::string_view::npos ? dot : dot - begin));
    if (dot == std::string_view::npos) return parts;
    begin = dot + 1;
  }
}

}  // namespace

absl::StatusOr<PowSolution> ParsePowSolution(std::string_view text) {
  if (text.empty()) return Malformed("empty");
  if (text.size() > kMaxPowSolutionLength) return Malformed("too long");
  const std::size_t semi = text.find(';');
  if (semi == std::string_view::npos) return Malformed("expected CHALLENGE;NONCE");
  PowSolution solution{text.substr(0, semi), text.substr(semi + 1)};
  if (solution.challenge.empty()) return Malformed("the challenge is empty");
  if (solution.nonce.empty() || solution.nonce.size() > kMaxPowNonceLength ||
      !AllOf(solution.nonce, IsIdChar)) {
    return Malformed("the nonce must be 1 to 32 characters of [A-Za-z0-9_-]");
  }
  return solution;
}

absl::StatusOr<PowChallenge> ParsePowChallenge(std::string_view text) {
  if (text.size() > kMaxPowSolutionLength) return Malformed("the challenge is too long");
  const std::vector<std::string_view> parts = SplitDots(text);
  if (parts.size() != 6 || parts[0] != kVersion) return Malformed("not a challenge");
  PowChallenge c;
  if (parts[1].empty() || parts[1].size() > 64 || !AllOf(parts[1], IsIdChar)) {
    return Malformed("bad event id");
  }
  int64_t difficulty = 0;
  if (!ParseCanonical(parts[2], 2, &difficulty) || difficulty > kMaxPowDifficulty) {
    return Malformed("bad difficulty");
  }
  int64_t expires = 0;
  // 18 digits: far beyond any real time, and no overflow when parsed.
  if (!ParseCanonical(parts[3], kMaxUnixDigits - 1, &expires)) return Malformed("bad expiry");
  if (parts[4].size() != kSaltHexDigits || !AllOf(parts[4], IsLowerHex)) {
    return Malformed("bad salt");
  }
  if (parts[5].size() != kMacChars || !AllOf(parts[5], IsIdChar)) return Malformed("bad MAC");
  c.event_id = std::string(parts[1]);
  c.difficulty = static_cast<int>(difficulty);
  c.expires_at = absl::FromUnixSeconds(expires);
  c.salt = std::string(parts[4]);
  c.text = std::string(text);
  return c;
}

int LeadingZeroBits(std::string_view digest) {
  int bits = 0;
  for (char ch : digest) {
    const auto byte = static_cast<uint8_t>(ch);
    if (byte == 0) {
      bits += 8;
      continue;
    }
    for (int mask = 0x80; (byte & mask) == 0; mask >>= 1) ++bits;
    break;
  }
  return bits;
}

bool MeetsDifficulty(std::string_view challenge, std::string_view nonce, int difficulty) {
  // One buffer on the stack for the usual sizes: this runs once per join and 2^difficulty
  // times per solve.
  char stack[kMaxPowSolutionLength + kMaxPowNonceLength];
  std::string heap;
  const std::size_t size = challenge.size() + nonce.size();
  char* buffer = stack;
  if (size > sizeof(stack)) {
    heap.resize(size);
    buffer = heap.data();
  }
  std::memcpy(buffer, challenge.data(), challenge.size());
  std::memcpy(buffer + challenge.size(), nonce.data(), nonce.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(buffer), size, digest);
  return LeadingZeroBits(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest))) >=
         difficulty;
}

std::string SolvePowChallenge(std::string_view challenge, int difficulty) {
  for (uint64_t n = 0;; ++n) {
    std::string nonce = absl::StrCat(n);
    if (MeetsDifficulty(challenge, nonce, difficulty)) return nonce;
  }
}

ProofOfWork::ProofOfWork(std::string secret, absl::Duration ttl)
    : secret_(std::move(secret)),
      ttl_(std::max(absl::Seconds(1), absl::Trunc(ttl, absl::Seconds(1)))) {}

std::string ProofOfWork::Mac(std::string_view body) const {
  return Base64UrlEncode(HmacSha256(secret_, body));
}

PowChallenge ProofOfWork::Issue(std::string_view event_id, int difficulty, absl::Time now) const {
  PowChallenge c;
  c.event_id = std::string(event_id);
  c.difficulty = difficulty;
  c.expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now + ttl_));
  c.salt = RandomHex(kSaltHexDigits / 2);
  const std::string body = absl::StrCat(kVersion, ".", c.event_id, ".", difficulty, ".",
                                        absl::ToUnixSeconds(c.expires_at), ".", c.salt);
  c.text = absl::StrCat(body, ".", Mac(body));
  return c;
}

absl::StatusOr<PowChallenge> ProofOfWork::Verify(std::string_view solution,
                                                 std::string_view event_id, absl::Time now) const {
  absl::StatusOr<PowSolution> parts = ParsePowSolution(solution);
  if (!parts.ok()) return parts.status();
  const std::size_t dot = parts->challenge.rfind('.');
  if (dot == std::string_view::npos) return Malformed("not a challenge");
  // The MAC first: nothing an attacker wrote is parsed further unless we signed it.
  const std::string expected = Mac(parts->challenge.substr(0, dot));
  const std::string_view mac = parts->challenge.substr(dot + 1);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return absl::InvalidArgumentError(
        "the proof of work's challenge was not issued by this gateway (its signature does not "
        "match)");
  }
  absl::StatusOr<PowChallenge> challenge = ParsePowChallenge(parts->challenge);
  if (!challenge.ok()) return challenge.status();
  if (challenge->event_id != event_id) {
    return absl::InvalidArgumentError("the proof of work's challenge is for another event");
  }
  if (now >= challenge->expires_at) {
    return absl::OutOfRangeError("the proof of work's challenge expired; solve a fresh one");
  }
  if (!MeetsDifficulty(parts->challenge, parts->nonce, challenge->difficulty)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the nonce does not solve the challenge: ", "SHA-256(challenge || nonce) needs ",
        challenge->difficulty, " leading zero bits"));
  }
  return challenge;
}

}  // namespace admission::gateway
