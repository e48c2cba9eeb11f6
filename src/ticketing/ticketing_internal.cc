// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The time conversions and random ids both ticketing stores use (ticketing_internal.h).
#include "ticketing/ticketing_internal.h"

#include "admission/ids.h"

namespace admission::ticketing_internal {

int64_t ToMicros(absl::Time t) {
  if (t <= absl::UnixEpoch()) return 0;
  if (t >= absl::FromUnixMicros(kMaxExact)) return kMaxExact;
  return absl::ToUnixMicros(t);
}

absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

int64_t DurationMicros(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  if (d >= absl::Microseconds(kMaxExact)) return kMaxExact;
  return absl::ToInt64Microseconds(d);
}

std::string RandomHex() {
  // A token is "<event>.<32 hex digits>"; its random part is what is wanted here.
  const std::string token = NewToken("x");
  return token.substr(token.size() - kTokenRandomHexDigits);
}

}  // namespace admission::ticketing_internal
