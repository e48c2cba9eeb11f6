// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ids.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "common/strings.h"
#include "common/tokens.h"

namespace admission {
namespace {

// The alphabets as one table, so that a check is a load and an AND per character rather than
// a chain of comparisons (whose branches the random digits of tokens mispredict).
constexpr uint8_t kEventIdChar = 1;  // [A-Za-z0-9_-]
constexpr uint8_t kUserIdChar = 2;   // [A-Za-z0-9_.:@-]
constexpr std::array<uint8_t, 256> kCharClass = [] {
  std::array<uint8_t, 256> t{};
  auto both = [&t](int c) { t[c] = kEventIdChar | kUserIdChar; };
  for (int c = 'a'; c <= 'z'; ++c) both(c);
  for (int c = 'A'; c <= 'Z'; ++c) both(c);
  for (int c = '0'; c <= '9'; ++c) both(c);
  both('_');
  both('-');
  t['.'] = t[':'] = t['@'] = kUserIdChar;
  return t;
}();

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// Whether every character of `id` is of class `cls`.
bool AllOfClass(std::string_view id, uint8_t cls) {
  uint8_t all = cls;
  for (char c : id) all &= kCharClass[static_cast<unsigned char>(c)];
  return all != 0;
}

bool IsValidEventId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxEventIdLength && AllOfClass(id, kEventIdChar);
}

// Eight lowercase hex digits (the first the most significant) as a number, eight at a time in
// a 64-bit word, without a branch or a table: clears `ok` if one of them is not in [0-9a-f].
uint32_t ParseHex8(const char* hex, bool& ok) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, hex, sizeof(x));
  if constexpr (!kLittleEndian) x = __builtin_bswap64(x);  // the first digit in the low byte
  // Per byte c < 0x80 (checked apart), adding k sets its high bit exactly when c >= 0x80 - k,
  // and no sum carries into the next byte.
  const uint64_t ascii = ~x & kHigh;
  const uint64_t low7 = x & ~kHigh;
  const uint64_t at_least_0 = low7 + 0x50 * kOnes;  // c >= '0' (0x30)
  const uint64_t above_9 = low7 + 0x46 * kOnes;     // c > '9' (0x39)
  const uint64_t at_least_a = low7 + 0x1f * kOnes;  // c >= 'a' (0x61)
  const uint64_t above_f = low7 + 0x19 * kOnes;     // c > 'f' (0x66)
  const uint64_t digit = at_least_0 & ~above_9;
  const uint64_t letter = at_least_a & ~above_f;
  ok = ok && (ascii & (digit | letter)) == kHigh;
  // Values: '0'..'9' -> c & 0xf; 'a'..'f' -> (c & 0xf) + 9 (bit 6 is set in letters only).
  uint64_t v = (x & 0x0f * kOnes) + ((x >> 6) & kOnes) * 9;
  v = __builtin_bswap64(v);  // the first digit in the high byte
  v = (v | (v >> 4)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v >> 8)) & 0x0000ffff0000ffffULL;
  return static_cast<uint32_t>(v | (v >> 16));
}

uint64_t ParseHex64(const char* hex, bool& ok) {
  return uint64_t{ParseHex8(hex, ok)} << 32 | ParseHex8(hex + 8, ok);
}

using internal::AbslView;

absl::Status ValidateId(std::string_view what, std::string_view id, std::size_t max_length,
                        uint8_t cls, std::string_view alphabet) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is empty"));
  if (id.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " is longer than ", max_length, " characters"));
  }
  if (!AllOfClass(id, cls)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " may only contain ", AbslView(alphabet)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEventId(std::string_view event_id) {
  return ValidateId("event id", event_id, kMaxEventIdLength, kEventIdChar, "[A-Za-z0-9_-]");
}

absl::Status ValidateUserId(std::string_view user_id) {
  return ValidateId("user id", user_id, kMaxUserIdLength, kUserIdChar, "[A-Za-z0-9_.:@-]");
}

std::string NewToken(std::string_view event_id) {
  std::string token(event_id.size() + 1 + kTokenRandomHexDigits, '.');
  std::memcpy(token.data(), event_id.data(), event_id.size());
  internal::RandomHexTo(token.data() + event_id.size() + 1, kTokenRandomHexDigits / 2);
  return token;
}

absl::StatusOr<std::string_view> EventIdOfToken(std::string_view token) {
  std::string_view event_id;
  internal::TokenKey key;
  if (!internal::ParseToken(token, &event_id, &key)) {
    return absl::InvalidArgumentError("malformed token");
  }
  return event_id;
}

namespace internal {

TokenBuffer::TokenBuffer(std::string_view event_id) {
  if (event_id.size() > kMaxEventIdLength) std::abort();
  std::memcpy(data_, event_id.data(), event_id.size());
  data_[event_id.size()] = '.';
  // RandomHexTo's digits, with the key read from the same bytes (the first digit is the high
  // half of the first byte, so the bytes are the key's, most significant first).
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t bytes[kTokenRandomHexDigits / 2];
  RandomBytes(bytes, sizeof(bytes));
  char* hex = data_ + event_id.size() + 1;
  uint64_t half[2] = {0, 0};
  for (std::size_t i = 0; i < sizeof(bytes); ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0xf];
    half[i / 8] = (half[i / 8] << 8) | bytes[i];
  }
  key_.hi = half[0];
  key_.lo = half[1];
  size_ = event_id.size() + 1 + kTokenRandomHexDigits;
}

bool ParseTokenKey(std::string_view token, TokenKey* key) {
  if (token.size() < kTokenRandomHexDigits) return false;
  const char* hex = token.data() + token.size() - kTokenRandomHexDigits;
  bool ok = true;
  key->hi = ParseHex64(hex, ok);
  key->lo = ParseHex64(hex + 16, ok);
  return ok;
}

// "<event id>.<32 lowercase hex digits>". The digits hold no dot, so the dot before them is
// the token's last one, and a valid event id holds none either.
bool ParseToken(std::string_view token, std::string_view* event_id, TokenKey* key) {
  if (token.size() < kTokenRandomHexDigits + 1) return false;
  const std::size_t dot = token.size() - kTokenRandomHexDigits - 1;
  if (token[dot] != '.' || !ParseTokenKey(token, key)) return false;
  *event_id = token.substr(0, dot);
  return IsValidEventId(*event_id);
}

}  // namespace internal
}  // namespace admission
