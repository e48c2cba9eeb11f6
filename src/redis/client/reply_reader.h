// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Reads a script's array reply field by field, checking every element. Nothing that comes back
// from Redis is trusted: a reply of the wrong shape (another version of the scripts, a proxy,
// corrupted keys) becomes an Internal error naming the server and the field, never a crash.
// Errors are sticky: read everything, then check ok() once.
#ifndef ADMISSION_SRC_REDIS_CLIENT_REPLY_READER_H_
#define ADMISSION_SRC_REDIS_CLIENT_REPLY_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

struct redisReply;

namespace admission::redis_internal {

class ReplyReader {
 public:
  // `context` names the server and the call for error messages.
  ReplyReader(const redisReply* reply, std::string context);

  // A bulk string (or status) element; "" after an error.
  std::string_view String(std::string_view field);
  // An integer, as an integer element or a decimal string.
  int64_t Int(std::string_view field);
  // Like Int, but a nil element (a Lua false) or "" means "none".
  std::optional<int64_t> OptionalInt(std::string_view field);
  // A decimal (or %.17g) string, or an integer element.
  double Double(std::string_view field);
  // Like Double, but a nil element means "none".
  std::optional<double> OptionalDouble(std::string_view field);
  // An Int that must lie in [min, max].
  int64_t IntIn(std::string_view field, int64_t min, int64_t max);

  // Records that a field already read turned out malformed (checked by the caller).
  void Invalid(std::string_view field, std::string_view why);

  std::size_t remaining() const;
  // OK when every element was read and each was well formed.
  absl::Status Finish();
  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  const redisReply* Next(std::string_view field);

  const redisReply* reply_;
  std::string context_;
  std::size_t next_ = 0;
  absl::Status status_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_REPLY_READER_H_
