// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Abseil 20220623 as Debian builds it has its own absl::string_view (not std::string_view), and
// the library's API takes std::string_view: this is the one conversion, for calls into Abseil
// (StrCat, hash map lookups, Cord payloads).
#ifndef ADMISSION_SRC_COMMON_STRINGS_H_
#define ADMISSION_SRC_COMMON_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace admission::internal {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_STRINGS_H_
