// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/reply_reader.h"

#include <hiredis.h>

#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

using internal::AbslView;

}  // namespace

ReplyReader::ReplyReader(const redisReply* reply, std::string context)
    : reply_(reply), context_(std::move(context)) {
  if (reply_ == nullptr || reply_->type != REDIS_REPLY_ARRAY) {
    status_ =
        absl::InternalError(absl::StrCat("malformed reply from ", context_, ": expected an array"));
  }
}

void ReplyReader::Invalid(std::string_view field, std::string_view why) {
  if (!status_.ok()) return;
  status_ = absl::InternalError(absl::StrCat("malformed reply from ", context_, ": field ",
                                             AbslView(field), " ", AbslView(why)));
}

const redisReply* ReplyReader::Next(std::string_view field) {
  if (!status_.ok()) return nullptr;
  if (next_ >= reply_->elements) {
    Invalid(field, "is missing");
    return nullptr;
  }
  const redisReply* element = reply_->element[next_++];
  if (element == nullptr) Invalid(field, "is null");
  return status_.ok() ? element : nullptr;
}

std::string_view ReplyReader::String(std::string_view field) {
  const redisReply* e = Next(field);
  if (e == nullptr) return {};
  if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS) {
    Invalid(field, "is not a string");
    return {};
  }
  return std::string_view(e->str, e->len);
}

int64_t ReplyReader::Int(std::string_view field) {
  std::optional<int64_t> value = OptionalInt(field);
  if (!value.has_value()) {
    Invalid(field, "is empty");
    return 0;
  }
  return *value;
}

std::optional<int64_t> ReplyReader::OptionalInt(std::string_view field) {
  const redisReply* e = Next(field);
  if (e == nullptr) return std::nullopt;
  if (e->type == REDIS_REPLY_INTEGER) return static_cast<int64_t>(e->integer);
  if (e->type == REDIS_REPLY_NIL) return std::nullopt;
  if (e->type != REDIS_REPLY_STRING) {
    Invalid(field, "is not an integer");
    return std::nullopt;
  }
  const absl::string_view text(e->str, e->len);
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    Invalid(field, absl::StrCat("is not an integer: '", text.substr(0, 40), "'"));
    return std::nullopt;
  }
  return value;
}

double ReplyReader::Double(std::string_view field) {
  std::optional<double> value = OptionalDouble(field);
  if (!value.has_value()) {
    Invalid(field, "is missing");
    return 0;
  }
  return *value;
}

std::optional<double> ReplyReader::OptionalDouble(std::string_view field) {
  const redisReply* e = Next(field);
  if (e == nullptr) return std::nullopt;
  if (e->type == REDIS_REPLY_NIL) return std::nullopt;
  if (e->type == REDIS_REPLY_INTEGER) return static_cast<double>(e->integer);
  double value = 0;
  if (e->type != REDIS_REPLY_STRING ||
      !absl::SimpleAtod(absl::string_view(e->str, e->len), &value) || !std::isfinite(value)) {
    Invalid(field, "is not a finite number");
    return std::nullopt;
  }
  return value;
}

int64_t ReplyReader::IntIn(std::string_view field, int64_t min, int64_t max) {
  const int64_t value = Int(field);
  if (ok() && (value < min || value > max)) {
    Invalid(field, absl::StrCat("is ", value, ", outside [", min, ", ", max, "]"));
    return min;
  }
  return value;
}

std::size_t ReplyReader::remaining() const {
  if (!status_.ok()) return 0;
  return reply_->elements - next_;
}

absl::Status ReplyReader::Finish() {
  if (status_.ok() && next_ != reply_->elements) {
    status_ = absl::InternalError(absl::StrCat("malformed reply from ", context_, ": ",
                                               reply_->elements - next_, " unexpected elements"));
  }
  return status_;
}

}  // namespace admission::redis_internal
