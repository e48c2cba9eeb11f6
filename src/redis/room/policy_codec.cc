// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/room/policy_codec.h"

#include <cstdint>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

constexpr absl::string_view kBlobVersion = "p2";

using internal::AbslView;
std::string_view StdView(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// %.17g prints every double so that strtod (Lua's tonumber, absl::SimpleAtod) reads back the
// same bits.
std::string ExactDouble(double x) { return absl::StrFormat("%.17g", x); }

absl::Duration QuarterNanosecond() { return absl::Nanoseconds(1) / 4; }

absl::Status Corrupt(absl::string_view what) {
  return absl::InternalError(absl::StrCat("corrupt stored policy: ", what));
}

std::string Micros(absl::Duration d) { return absl::StrCat(absl::ToInt64Microseconds(d)); }

// A schedule time, exactly: its distance from the epoch as EncodeDuration writes it; "" unset.
std::string EncodeTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? EncodeDuration(*t - absl::UnixEpoch()) : std::string();
}

absl::Status DecodeTime(absl::string_view text, std::optional<absl::Time>* t) {
  if (text.empty()) {
    t->reset();
    return absl::OkStatus();
  }
  absl::StatusOr<absl::Duration> d = DecodeDuration(StdView(text));
  if (!d.ok()) return d.status();
  *t = absl::UnixEpoch() + *d;
  return absl::OkStatus();
}

// A schedule time for the scripts: whole microseconds, floored (rules::MicrosOf); "" unset.
std::string MicrosOf(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::StrCat(absl::ToUnixMicros(*t)) : std::string();
}

}  // namespace

std::string EncodeDuration(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "inf";
  if (d == -absl::InfiniteDuration()) return "-inf";
  absl::Duration rem;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  const int64_t quarters = absl::IDivDuration(rem, QuarterNanosecond(), &rem);
  return absl::StrCat(seconds, ":", quarters);
}

absl::StatusOr<absl::Duration> DecodeDuration(std::string_view text) {
  const absl::string_view t = AbslView(text);
  if (t == "inf") return absl::InfiniteDuration();
  if (t == "-inf") return -absl::InfiniteDuration();
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(t, absl::MaxSplits(':', 1));
  int64_t seconds = 0;
  int64_t quarters = 0;
  if (!absl::SimpleAtoi(parts.first, &seconds) || !absl::SimpleAtoi(parts.second, &quarters) ||
      quarters <= -4'000'000'000 || quarters >= 4'000'000'000) {
    return Corrupt(absl::StrCat("bad duration '", t.substr(0, 40), "'"));
  }
  return absl::Seconds(seconds) + QuarterNanosecond() * quarters;
}

std::string EncodePolicyBlob(const Policy& p) {
  std::vector<std::string> tiers;
  for (const WaitTier& tier : p.wait_tiers) {
    tiers.push_back(absl::StrCat(tier.max_position, "@", EncodeDuration(tier.min_wait)));
  }
  std::vector<std::string> windows;
  for (absl::Duration w : p.rate_windows) windows.push_back(EncodeDuration(w));
  return absl::StrCat(
      kBlobVersion, "|", ExactDouble(p.admit_rate_per_sec), "|", p.burst, "|", p.bypass_top_n, "|",
      p.active_capacity, "|", EncodeDuration(p.heartbeat_ttl), "|", EncodeDuration(p.active_ttl),
      "|", EncodeDuration(p.reservation_ttl), "|", EncodeDuration(p.ended_ttl), "|",
      absl::StrJoin(tiers, ","), "|", absl::StrJoin(windows, ","), "|", p.paused ? "1" : "0", "|",
      EncodeTime(p.prequeue_opens_at), "|", EncodeTime(p.opens_at), "|", EncodeTime(p.closes_at),
      "|", static_cast<int>(p.method), "|", p.safety_net ? "1" : "0", "|", p.paused_reason.size(),
      "|", p.paused_reason, p.reject_message);
}

absl::StatusOr<Policy> DecodePolicyBlob(std::string_view blob) {
  // The two texts are last, the paused reason's length first: either may contain '|'.
  std::vector<absl::string_view> f = absl::StrSplit(AbslView(blob), absl::MaxSplits('|', 17));
  if (f.size() != 18 || f[0] != kBlobVersion) return Corrupt("unknown format");
  Policy p;
  if (!absl::SimpleAtod(f[1], &p.admit_rate_per_sec) || !absl::SimpleAtoi(f[2], &p.burst) ||
      !absl::SimpleAtoi(f[3], &p.bypass_top_n) || !absl::SimpleAtoi(f[4], &p.active_capacity)) {
    return Corrupt("bad number");
  }
  absl::Duration* const durations[] = {&p.heartbeat_ttl, &p.active_ttl, &p.reservation_ttl,
                                       &p.ended_ttl};
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<absl::Duration> d = DecodeDuration(StdView(f[5 + i]));
    if (!d.ok()) return d.status();
    *durations[i] = *d;
  }
  p.wait_tiers.clear();
  for (absl::string_view item : absl::StrSplit(f[9], ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits('@', 1));
    WaitTier tier;
    if (!absl::SimpleAtoi(parts.first, &tier.max_position)) return Corrupt("bad tier");
    absl::StatusOr<absl::Duration> wait = DecodeDuration(StdView(parts.second));
    if (!wait.ok()) return wait.status();
    tier.min_wait = *wait;
    p.wait_tiers.push_back(tier);
  }
  p.rate_windows.clear();
  for (absl::string_view item : absl::StrSplit(f[10], ',', absl::SkipEmpty())) {
    absl::StatusOr<absl::Duration> w = DecodeDuration(StdView(item));
    if (!w.ok()) return w.status();
    p.rate_windows.push_back(*w);
  }
  if (f[11] != "0" && f[11] != "1") return Corrupt("bad paused flag");
  p.paused = f[11] == "1";
  if (absl::Status s = DecodeTime(f[12], &p.prequeue_opens_at); !s.ok()) return s;
  if (absl::Status s = DecodeTime(f[13], &p.opens_at); !s.ok()) return s;
  if (absl::Status s = DecodeTime(f[14], &p.closes_at); !s.ok()) return s;
  int method = 0;
  if (!absl::SimpleAtoi(f[15], &method) || method < static_cast<int>(QueueMethod::kFifo) ||
      method > static_cast<int>(QueueMethod::kReject)) {
    return Corrupt("bad method");
  }
  p.method = static_cast<QueueMethod>(method);
  if (f[16] != "0" && f[16] != "1") return Corrupt("bad safety net flag");
  p.safety_net = f[16] == "1";
  const std::size_t bar = f[17].find('|');
  std::size_t reason_size = 0;
  if (bar == absl::string_view::npos || !absl::SimpleAtoi(f[17].substr(0, bar), &reason_size) ||
      reason_size > f[17].size() - bar - 1) {
    return Corrupt("bad texts");
  }
  p.paused_reason = std::string(f[17].substr(bar + 1, reason_size));
  p.reject_message = std::string(f[17].substr(bar + 1 + reason_size));
  return p;
}

std::vector<std::string> EncodePolicyArgs(const Policy& p) {
  // Tiers for the scripts: "max,wait_us,exact" with 'inf' for the unbounded tier; the exact
  // duration comes back as Ticket::tier_wait.
  std::vector<std::string> tiers;
  for (const WaitTier& tier : p.wait_tiers) {
    tiers.push_back(absl::StrCat(tier.max_position == WaitTier::kUnboundedPosition
                                     ? std::string("inf")
                                     : absl::StrCat(tier.max_position),
                                 ",", Micros(tier.min_wait), ",", EncodeDuration(tier.min_wait)));
  }
  std::vector<std::string> windows;
  for (absl::Duration w : p.rate_windows) windows.push_back(Micros(w));
  return {EncodePolicyBlob(p),
          ExactDouble(p.admit_rate_per_sec),
          absl::StrCat(p.burst),
          absl::StrCat(p.bypass_top_n),
          absl::StrCat(p.active_capacity),
          Micros(p.heartbeat_ttl),
          Micros(p.active_ttl),
          Micros(p.reservation_ttl),
          Micros(p.ended_ttl),
          absl::StrJoin(tiers, ";"),
          absl::StrJoin(windows, ","),
          p.paused ? "1" : "0",
          p.paused_reason,
          MicrosOf(p.prequeue_opens_at),
          MicrosOf(p.opens_at),
          MicrosOf(p.closes_at),
          absl::StrCat(static_cast<int>(p.method)),
          p.safety_net ? "1" : "0",
          p.reject_message};
}

}  // namespace admission::redis_internal
