// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's command line (ParseFlags, examples/gateway/flags.h): the input split on NUL
// bytes into arguments. The wait tiers' own syntax ("10:0,50:2,inf:5") is also fed the whole
// input; tiers that parse and that a policy accepts (ValidatePolicy) are formatted as --help
// shows them and must parse back to the same tiers (the waits to --help's 6 significant digits).
// Tiers out of the policy's range need not: a wait of 1e300 s parses, becomes an infinite
// duration, and ValidatePolicy refuses it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "flags.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start <= text.size() && args.size() < 64) {
    std::size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  admission::gateway::GatewayFlags flags;
  (void)admission::gateway::ParseFlags(args, &flags);

  absl::StatusOr<std::vector<admission::WaitTier>> tiers =
      admission::gateway::ParseWaitTiers(std::string(text));
  if (!tiers.ok()) return 0;
  admission::Policy policy;
  policy.wait_tiers = *tiers;
  if (!admission::ValidatePolicy(policy).ok()) return 0;
  absl::StatusOr<std::vector<admission::WaitTier>> again =
      admission::gateway::ParseWaitTiers(admission::gateway::FormatWaitTiers(*tiers));
  if (!again.ok() || again->size() != tiers->size()) __builtin_trap();
  for (std::size_t i = 0; i < tiers->size(); ++i) {
    const admission::WaitTier& a = (*tiers)[i];
    const admission::WaitTier& b = (*again)[i];
    const absl::Duration slack = absl::Nanoseconds(1) + absl::AbsDuration(a.min_wait) / 100000;
    if (a.max_position != b.max_position || absl::AbsDuration(a.min_wait - b.min_wait) > slack) {
      __builtin_trap();
    }
  }
  return 0;
}
