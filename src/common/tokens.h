// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Tokens on the hot path, for the library's own use (admission/ids.h is the public side): a
// token made in place, without a heap allocation, and a token's parts parsed once, so that
// the facade and the in-memory store do not read the same 32 hex digits twice.
#ifndef ADMISSION_SRC_COMMON_TOKENS_H_
#define ADMISSION_SRC_COMMON_TOKENS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "admission/ids.h"

namespace admission::internal {

// The 128 random bits of a token, which identify it within its event.
struct TokenKey {
  uint64_t hi = 0;
  uint64_t lo = 0;

  friend bool operator==(const TokenKey& a, const TokenKey& b) {
    return a.hi == b.hi && a.lo == b.lo;
  }
  friend bool operator<(const TokenKey& a, const TokenKey& b) {
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
  }
  template <typename H>
  friend H AbslHashValue(H h, const TokenKey& k) {
    return H::combine(std::move(h), k.hi, k.lo);
  }
};

// The longest token: the longest event id, the dot and the random digits.
inline constexpr std::size_t kMaxTokenLength = kMaxEventIdLength + 1 + kTokenRandomHexDigits;

// A new token, as NewToken makes it ("<event_id>.<32 random lowercase hex digits>"), in a
// buffer of its own. The event id must be valid (ValidateEventId); a longer one aborts.
class TokenBuffer {
 public:
  explicit TokenBuffer(std::string_view event_id);
  std::string_view view() const { return std::string_view(data_, size_); }
  // What ParseTokenKey reads from it.
  const TokenKey& key() const { return key_; }

 private:
  char data_[kMaxTokenLength];
  std::size_t size_ = 0;
  TokenKey key_;
};

// The key in the last kTokenRandomHexDigits characters of `token`; false when the token is
// shorter or one of them is not a lowercase hex digit. Says nothing of the event id.
bool ParseTokenKey(std::string_view token, TokenKey* key);

// A well-formed token's event id (a view into `token`) and key: true exactly when
// EventIdOfToken accepts the token.
bool ParseToken(std::string_view token, std::string_view* event_id, TokenKey* key);

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_TOKENS_H_
