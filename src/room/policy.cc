// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/policy.h"

#include <cmath>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace admission {
namespace {

absl::Status OutOfRange(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("policy.", field, " ", rule));
}

absl::Status CheckCount(absl::string_view field, int64_t value, int64_t max) {
  if (value < 0 || value > max) {
    return OutOfRange(field, absl::StrCat("must be between 0 and ", max));
  }
  return absl::OkStatus();
}

// Printable text shown to users: at most 200 bytes, no control characters.
absl::Status CheckMessage(absl::string_view field, const std::string& text) {
  if (text.size() > 200) return OutOfRange(field, "is over 200 bytes");
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return OutOfRange(field, "has a control character");
  }
  return absl::OkStatus();
}

// Schedule times are kept as microseconds since the Unix epoch (below 2^53, which a Lua
// double holds exactly); this range is far inside that.
absl::Status CheckTime(absl::string_view field, const std::optional<absl::Time>& t) {
  if (!t.has_value()) return absl::OkStatus();
  const absl::Time latest = absl::FromUnixSeconds(7258118400);  // 2200-01-01 00:00:00 UTC
  if (*t < absl::UnixEpoch() || *t >= latest) {
    return OutOfRange(field, "must be between 1970-01-01 and 2200-01-01 UTC");
  }
  return absl::OkStatus();
}

absl::Status CheckDuration(absl::string_view field, absl::Duration d, absl::Duration min,
                           absl::Duration max) {
  if (d < min || d > max) {
    return OutOfRange(field, absl::StrCat("must be between ", absl::FormatDuration(min), " and ",
                                          absl::FormatDuration(max)));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<WaitTier> DefaultWaitTiers() {
  return {{10, absl::ZeroDuration()},
          {50, absl::Seconds(2)},
          {WaitTier::kUnboundedPosition, absl::Seconds(5)}};
}

absl::Duration TierWait(const std::vector<WaitTier>& tiers, int64_t position) {
  for (const WaitTier& tier : tiers) {
    if (position <= tier.max_position) return tier.min_wait;
  }
  return absl::ZeroDuration();
}

absl::Status ValidatePolicy(const Policy& p) {
  if (!std::isfinite(p.admit_rate_per_sec) || p.admit_rate_per_sec < 0 ||
      p.admit_rate_per_sec > 1e6) {
    return OutOfRange("admit_rate_per_sec", "must be between 0 and 1000000");
  }
  if (auto s = CheckCount("burst", p.burst, 1'000'000'000); !s.ok()) return s;
  if (auto s = CheckCount("bypass_top_n", p.bypass_top_n, 1'000'000'000); !s.ok()) return s;
  if (auto s = CheckCount("active_capacity", p.active_capacity, 1'000'000'000'000); !s.ok()) {
    return s;
  }
  const absl::Duration second = absl::Seconds(1);
  const absl::Duration day = absl::Hours(24);
  if (auto s = CheckDuration("heartbeat_ttl", p.heartbeat_ttl, second, 7 * day); !s.ok()) return s;
  if (auto s = CheckDuration("active_ttl", p.active_ttl, second, 30 * day); !s.ok()) return s;
  if (auto s = CheckDuration("reservation_ttl", p.reservation_ttl, second, day); !s.ok()) return s;
  if (auto s = CheckDuration("ended_ttl", p.ended_ttl, second, 30 * day); !s.ok()) return s;

  if (p.wait_tiers.size() > 16) return OutOfRange("wait_tiers", "may have at most 16 tiers");
  for (std::size_t i = 0; i < p.wait_tiers.size(); ++i) {
    const WaitTier& tier = p.wait_tiers[i];
    const std::string field = absl::StrCat("wait_tiers[", i, "]");
    if (tier.max_position < 1) return OutOfRange(field, "max_position must be at least 1");
    if (auto s = CheckDuration(field, tier.min_wait, absl::ZeroDuration(), day); !s.ok()) return s;
    if (i > 0) {
      const WaitTier& prev = p.wait_tiers[i - 1];
      if (tier.max_position <= prev.max_position) {
        return OutOfRange(field, "max_position must be larger than the previous tier's");
      }
      if (tier.min_wait < prev.min_wait) {
        // Monotone waits keep the users who may enter a prefix of the line.
        return OutOfRange(field, "min_wait must not be shorter than the previous tier's");
      }
    }
  }
  if (!p.wait_tiers.empty() && p.wait_tiers.back().max_position != WaitTier::kUnboundedPosition) {
    return OutOfRange("wait_tiers", "must end with an unbounded tier (max_position null)");
  }

  if (p.rate_windows.empty() || p.rate_windows.size() > 4) {
    return OutOfRange("rate_windows", "must have 1 to 4 windows");
  }
  for (std::size_t i = 0; i < p.rate_windows.size(); ++i) {
    const std::string field = absl::StrCat("rate_windows[", i, "]");
    if (auto s = CheckDuration(field, p.rate_windows[i], second, absl::Hours(1)); !s.ok()) return s;
    if (i > 0 && p.rate_windows[i] <= p.rate_windows[i - 1]) {
      return OutOfRange(field, "must be longer than the previous window");
    }
  }

  if (auto s = CheckMessage("paused_reason", p.paused_reason); !s.ok()) return s;

  if (auto s = CheckTime("prequeue_opens_at", p.prequeue_opens_at); !s.ok()) return s;
  if (auto s = CheckTime("opens_at", p.opens_at); !s.ok()) return s;
  if (auto s = CheckTime("closes_at", p.closes_at); !s.ok()) return s;
  if (p.prequeue_opens_at.has_value()) {
    if (!p.opens_at.has_value()) return OutOfRange("prequeue_opens_at", "needs opens_at");
    if (*p.prequeue_opens_at > *p.opens_at) {
      return OutOfRange("prequeue_opens_at", "must not be later than opens_at");
    }
  }
  if (p.closes_at.has_value() && p.opens_at.has_value() && *p.closes_at <= *p.opens_at) {
    return OutOfRange("closes_at", "must be later than opens_at");
  }
  switch (p.method) {
    case QueueMethod::kFifo:
    case QueueMethod::kRandom:
    case QueueMethod::kPassthrough:
    case QueueMethod::kReject:
      break;
    default:
      return OutOfRange("method", "must be fifo, random, passthrough or reject");
  }
  if (auto s = CheckMessage("reject_message", p.reject_message); !s.ok()) return s;
  return absl::OkStatus();
}

std::string_view QueueMethodName(QueueMethod method) {
  switch (method) {
    case QueueMethod::kFifo:
      return "fifo";
    case QueueMethod::kRandom:
      return "random";
    case QueueMethod::kPassthrough:
      return "passthrough";
    case QueueMethod::kReject:
      return "reject";
  }
  return "unknown";
}

absl::StatusOr<QueueMethod> ParseQueueMethod(std::string_view name) {
  for (QueueMethod m : {QueueMethod::kFifo, QueueMethod::kRandom, QueueMethod::kPassthrough,
                        QueueMethod::kReject}) {
    if (QueueMethodName(m) == name) return m;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown queueing method '",
                                                 absl::string_view(name.data(), name.size()),
                                                 "' (fifo, random, passthrough or reject)"));
}

bool operator==(const WaitTier& a, const WaitTier& b) {
  return a.max_position == b.max_position && a.min_wait == b.min_wait;
}

bool operator==(const Policy& a, const Policy& b) {
  return a.admit_rate_per_sec == b.admit_rate_per_sec && a.burst == b.burst &&
         a.bypass_top_n == b.bypass_top_n && a.active_capacity == b.active_capacity &&
         a.heartbeat_ttl == b.heartbeat_ttl && a.active_ttl == b.active_ttl &&
         a.reservation_ttl == b.reservation_ttl && a.ended_ttl == b.ended_ttl &&
         a.wait_tiers == b.wait_tiers && a.rate_windows == b.rate_windows && a.paused == b.paused &&
         a.paused_reason == b.paused_reason && a.prequeue_opens_at == b.prequeue_opens_at &&
         a.opens_at == b.opens_at && a.closes_at == b.closes_at && a.method == b.method &&
         a.reject_message == b.reject_message && a.safety_net == b.safety_net;
}

}  // namespace admission
