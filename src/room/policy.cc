// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/room/policy.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admission/room/policy_fields.h"
#include "common/strings.h"

namespace admission {
namespace {

absl::Status OutOfRange(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("policy.", field, " ", rule));
}

// Printable text shown to users: no control characters.
absl::Status CheckMessage(absl::string_view field, const std::string& text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return OutOfRange(field, absl::StrCat("is over ", max_bytes, " bytes"));
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return OutOfRange(field, "has a control character");
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

// One check per kind of field (admission/room/policy_fields.h).

absl::Status CheckField(const RateField& f, double rate) {
  if (!std::isfinite(rate) || rate < 0 || rate > f.max) {
    return OutOfRange(f.name, absl::StrCat("must be between 0 and ", static_cast<int64_t>(f.max)));
  }
  return absl::OkStatus();
}

absl::Status CheckField(const CountField& f, int64_t count) {
  if (count < 0 || count > f.max) {
    return OutOfRange(f.name, absl::StrCat("must be between 0 and ", f.max));
  }
  return absl::OkStatus();
}

absl::Status CheckField(const DurationField& f, absl::Duration d) {
  return CheckDuration(f.name, d, f.min, f.max);
}

absl::Status CheckField(const TiersField& f, const std::vector<WaitTier>& tiers) {
  if (tiers.size() > f.max_tiers) {
    return OutOfRange(f.name, absl::StrCat("may have at most ", f.max_tiers, " tiers"));
  }
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const WaitTier& tier = tiers[i];
    const std::string field = absl::StrCat(f.name, "[", i, "]");
    if (tier.max_position < 1) return OutOfRange(field, "max_position must be at least 1");
    if (auto s = CheckDuration(field, tier.min_wait, absl::ZeroDuration(), f.max_wait); !s.ok()) {
      return s;
    }
    if (i > 0) {
      const WaitTier& prev = tiers[i - 1];
      if (tier.max_position <= prev.max_position) {
        return OutOfRange(field, "max_position must be larger than the previous tier's");
      }
      if (tier.min_wait < prev.min_wait) {
        // Monotone waits keep the users who may enter a prefix of the line.
        return OutOfRange(field, "min_wait must not be shorter than the previous tier's");
      }
    }
  }
  if (!tiers.empty() && tiers.back().max_position != WaitTier::kUnboundedPosition) {
    return OutOfRange(f.name, "must end with an unbounded tier (max_position null)");
  }
  return absl::OkStatus();
}

absl::Status CheckField(const WindowsField& f, const std::vector<absl::Duration>& windows) {
  if (windows.empty() || windows.size() > f.max_windows) {
    return OutOfRange(f.name, absl::StrCat("must have 1 to ", f.max_windows, " windows"));
  }
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const std::string field = absl::StrCat(f.name, "[", i, "]");
    if (auto s = CheckDuration(field, windows[i], f.min, f.max); !s.ok()) return s;
    if (i > 0 && windows[i] <= windows[i - 1]) {
      return OutOfRange(field, "must be longer than the previous window");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckField(const BoolField&, bool) { return absl::OkStatus(); }

absl::Status CheckField(const TextField& f, const std::string& text) {
  return CheckMessage(f.name, text, f.max_bytes);
}

// Schedule times are kept as microseconds since the Unix epoch (below 2^53, which a Lua
// double holds exactly); this range is far inside that.
absl::Status CheckField(const TimeField& f, const std::optional<absl::Time>& t) {
  if (!t.has_value()) return absl::OkStatus();
  const absl::Time latest = absl::FromUnixSeconds(7258118400);  // 2200-01-01 00:00:00 UTC
  if (*t < absl::UnixEpoch() || *t >= latest) {
    return OutOfRange(f.name, "must be between 1970-01-01 and 2200-01-01 UTC");
  }
  return absl::OkStatus();
}

absl::Status CheckField(const MethodField& f, QueueMethod method) {
  switch (method) {
    case QueueMethod::kFifo:
    case QueueMethod::kRandom:
    case QueueMethod::kPassthrough:
    case QueueMethod::kReject:
      return absl::OkStatus();
  }
  return OutOfRange(f.name, "must be fifo, random, passthrough or reject");
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

absl::Status CheckSchedule(const Policy& p) {
  if (p.prequeue_opens_at.has_value()) {
    if (!p.opens_at.has_value()) return OutOfRange("prequeue_opens_at", "needs opens_at");
    if (*p.prequeue_opens_at > *p.opens_at) {
      return OutOfRange("prequeue_opens_at", "must not be later than opens_at");
    }
  }
  if (p.closes_at.has_value() && p.opens_at.has_value() && *p.closes_at <= *p.opens_at) {
    return OutOfRange("closes_at", "must be later than opens_at");
  }
  return absl::OkStatus();
}

absl::Status CheckQueueMessage(const Policy& p) {
  // Counts code points while checking that the text is well-formed UTF-8 (shortest forms,
  // no surrogates, at most U+10FFFF), so that a browser shows exactly what was set.
  const std::string& text = p.queue_message;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    uint32_t cp = 0;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return OutOfRange("queue_message", "is not valid UTF-8");
    }
    if (i + length > text.size()) return OutOfRange("queue_message", "is not valid UTF-8");
    for (std::size_t k = 1; k < length; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return OutOfRange("queue_message", "is not valid UTF-8");
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (length == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return OutOfRange("queue_message", "is not valid UTF-8");
    }
    // C1 controls (U+0080..U+009F) are control characters too.
    if (cp >= 0x80 && cp <= 0x9F) return OutOfRange("queue_message", "has a control character");
    i += length;
  }
  if (chars > Policy::kMaxQueueMessageChars) {
    return OutOfRange("queue_message",
                      absl::StrCat("is over ", Policy::kMaxQueueMessageChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const Policy& p) {
  return ForEachPolicyFieldUntilError([&p](const auto& field) {
    if (absl::Status s = CheckField(field, p.*field.member); !s.ok()) return s;
    return field.rule != nullptr ? field.rule(p) : absl::OkStatus();
  });
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
                                                 internal::AbslView(name),
                                                 "' (fifo, random, passthrough or reject)"));
}

bool operator==(const WaitTier& a, const WaitTier& b) {
  return a.max_position == b.max_position && a.min_wait == b.min_wait;
}

bool operator==(const Policy& a, const Policy& b) {
  bool equal = true;
  ForEachPolicyField(
      [&](const auto& field) { equal = equal && a.*field.member == b.*field.member; });
  return equal;
}

}  // namespace admission
