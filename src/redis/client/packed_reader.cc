// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/packed_reader.h"

#include <cmath>
#include <cstring>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

using internal::AbslView;

// Integers beyond this are not exact in a double (nor, for the times, within +-285 years).
constexpr double kMaxExact = 9007199254740992.0;  // 2^53

static_assert(sizeof(double) == 8, "a packed number is an IEEE double");
#ifndef ABSL_IS_LITTLE_ENDIAN
#error "PackedReader copies little-endian doubles as they are"
#endif

}  // namespace

bool PackedReader::Next(std::string_view field, double* value) {
  if (!status_.ok()) return false;
  if (rest_.size() < sizeof(double)) {
    Invalid(field, "is missing");
    return false;
  }
  std::memcpy(value, rest_.data(), sizeof(double));
  rest_.remove_prefix(sizeof(double));
  return true;
}

std::string_view PackedReader::String(std::string_view field) {
  if (!status_.ok()) return {};
  if (rest_.size() < 4) {
    Invalid(field, "is missing");
    return {};
  }
  const auto* b = reinterpret_cast<const unsigned char*>(rest_.data());
  const uint32_t length = static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                          static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  rest_.remove_prefix(4);
  if (rest_.size() < length) {
    Invalid(field, "runs past the end of the reply");
    return {};
  }
  const std::string_view s = rest_.substr(0, length);
  rest_.remove_prefix(length);
  return s;
}

std::optional<int64_t> PackedReader::OptionalInt(std::string_view field) {
  double v = 0;
  if (!Next(field, &v) || std::isnan(v)) return std::nullopt;
  if (!(std::fabs(v) <= kMaxExact) || std::trunc(v) != v) {
    Invalid(field, "is not an integer");
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

int64_t PackedReader::Int(std::string_view field) {
  const std::optional<int64_t> value = OptionalInt(field);
  if (!value.has_value()) {
    Invalid(field, "is empty");
    return 0;
  }
  return *value;
}

int64_t PackedReader::IntIn(std::string_view field, int64_t min, int64_t max) {
  const int64_t value = Int(field);
  if (!status_.ok()) return min;
  if (value < min || value > max) {
    Invalid(field, "is out of range");
    return min;
  }
  return value;
}

std::optional<double> PackedReader::OptionalDouble(std::string_view field) {
  double v = 0;
  if (!Next(field, &v) || std::isnan(v)) return std::nullopt;
  if (!std::isfinite(v)) {
    Invalid(field, "is not a finite number");
    return std::nullopt;
  }
  return v;
}

void PackedReader::Invalid(std::string_view field, std::string_view why) {
  if (!status_.ok()) return;
  status_ = absl::InternalError(absl::StrCat("malformed reply from ", AbslView(context_),
                                             ": field ", AbslView(field), " ", AbslView(why)));
}

absl::Status PackedReader::Finish() {
  if (status_.ok() && !rest_.empty()) {
    status_ = absl::InternalError(absl::StrCat("malformed reply from ", AbslView(context_),
                                               ": bytes follow the last field of a packed reply"));
  }
  return status_;
}

}  // namespace admission::redis_internal
