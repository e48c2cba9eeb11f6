// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Reads a string that a script packed with struct.pack: numbers as little-endian doubles (NaN
// for "none"), strings as a u32 little-endian length and their bytes, in the order the script
// wrote them. A script packs a reply of many fields per user (a ticket) into one such string
// because an array reply costs Redis, and hiredis, one reply object per field. As with
// ReplyReader, nothing is trusted: a short, long or malformed string is an Internal error
// naming the server and the field, never a crash. Errors are sticky: read everything, then
// check Finish() once.
#ifndef ADMISSION_SRC_REDIS_CLIENT_PACKED_READER_H_
#define ADMISSION_SRC_REDIS_CLIENT_PACKED_READER_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace admission::redis_internal {

class PackedReader {
 public:
  // Reads `packed`. `context` names the server and the call for error messages; it must
  // outlive this reader.
  PackedReader(std::string_view context, std::string_view packed)
      : context_(context), rest_(packed) {}

  // A string; "" after an error.
  std::string_view String(std::string_view field);
  // A number that is an integer of at most 2^53 in magnitude (exact in a double).
  int64_t Int(std::string_view field);
  // Like Int, but NaN means "none".
  std::optional<int64_t> OptionalInt(std::string_view field);
  // An Int that must lie in [min, max].
  int64_t IntIn(std::string_view field, int64_t min, int64_t max);
  // A finite number, or NaN for "none".
  std::optional<double> OptionalDouble(std::string_view field);

  // Records that a field already read turned out malformed (checked by the caller).
  void Invalid(std::string_view field, std::string_view why);

  // OK when every field was read, each was well formed, and nothing follows the last.
  absl::Status Finish();
  bool ok() const { return status_.ok(); }

 private:
  // The next double; false (and an error) when the string ends first.
  bool Next(std::string_view field, double* value);

  const std::string_view context_;
  std::string_view rest_;
  absl::Status status_;
};

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_PACKED_READER_H_
