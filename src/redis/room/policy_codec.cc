// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/room/policy_codec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

// The blob is stored with the event, so its format is data layout: another field in the table
// changes it, which needs a new version here (and the older ones still read).
constexpr absl::string_view kBlobVersion = "p4";
// p3: before queue_message, which a p3 blob does not hold (it reads as empty).
constexpr absl::string_view kBlobVersionP3 = "p3";
bool AddedAfterP3(const char* name) { return std::string_view(name) == "queue_message"; }
// p2: before claim_window too, which a p2 blob does not hold (it reads as the field's default).
constexpr absl::string_view kBlobVersionP2 = "p2";
bool AddedAfterP2(const char* name) {
  return std::string_view(name) == "claim_window" || AddedAfterP3(name);
}

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

// The blob: kBlobVersion, then every field but the texts in table order, then the lengths of
// the texts but the last, then the texts back to back (they may contain '|'), all separated by
// '|'. A field's text here is exact (the codec's own, not the scripts').

std::string BlobValue(const RateField&, double rate) { return ExactDouble(rate); }
std::string BlobValue(const CountField&, int64_t count) { return absl::StrCat(count); }
std::string BlobValue(const DurationField&, absl::Duration d) { return EncodeDuration(d); }
std::string BlobValue(const TiersField&, const std::vector<WaitTier>& tiers) {
  std::vector<std::string> items;
  for (const WaitTier& tier : tiers) {
    items.push_back(absl::StrCat(tier.max_position, "@", EncodeDuration(tier.min_wait)));
  }
  return absl::StrJoin(items, ",");
}
std::string BlobValue(const WindowsField&, const std::vector<absl::Duration>& windows) {
  std::vector<std::string> items;
  for (absl::Duration w : windows) items.push_back(EncodeDuration(w));
  return absl::StrJoin(items, ",");
}
std::string BlobValue(const BoolField&, bool on) { return on ? "1" : "0"; }
std::string BlobValue(const TimeField&, const std::optional<absl::Time>& t) {
  return EncodeTime(t);
}
std::string BlobValue(const MethodField&, QueueMethod method) {
  return absl::StrCat(static_cast<int>(method));
}

absl::Status ReadBlobValue(const RateField& f, absl::string_view text, double* rate) {
  if (!absl::SimpleAtod(text, rate)) return Corrupt(absl::StrCat("bad ", f.name));
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const CountField& f, absl::string_view text, int64_t* count) {
  if (!absl::SimpleAtoi(text, count)) return Corrupt(absl::StrCat("bad ", f.name));
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const DurationField&, absl::string_view text, absl::Duration* d) {
  absl::StatusOr<absl::Duration> decoded = DecodeDuration(StdView(text));
  if (!decoded.ok()) return decoded.status();
  *d = *decoded;
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const TiersField& f, absl::string_view text,
                           std::vector<WaitTier>* tiers) {
  tiers->clear();
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits('@', 1));
    WaitTier tier;
    if (!absl::SimpleAtoi(parts.first, &tier.max_position)) {
      return Corrupt(absl::StrCat("bad ", f.name));
    }
    absl::StatusOr<absl::Duration> wait = DecodeDuration(StdView(parts.second));
    if (!wait.ok()) return wait.status();
    tier.min_wait = *wait;
    tiers->push_back(tier);
  }
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const WindowsField&, absl::string_view text,
                           std::vector<absl::Duration>* windows) {
  windows->clear();
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    absl::StatusOr<absl::Duration> w = DecodeDuration(StdView(item));
    if (!w.ok()) return w.status();
    windows->push_back(*w);
  }
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const BoolField& f, absl::string_view text, bool* on) {
  if (text != "0" && text != "1") return Corrupt(absl::StrCat("bad ", f.name));
  *on = text == "1";
  return absl::OkStatus();
}
absl::Status ReadBlobValue(const TimeField&, absl::string_view text, std::optional<absl::Time>* t) {
  return DecodeTime(text, t);
}
absl::Status ReadBlobValue(const MethodField& f, absl::string_view text, QueueMethod* method) {
  int number = 0;
  if (!absl::SimpleAtoi(text, &number) || number < static_cast<int>(QueueMethod::kFifo) ||
      number > static_cast<int>(QueueMethod::kReject)) {
    return Corrupt(absl::StrCat("bad ", f.name));
  }
  *method = static_cast<QueueMethod>(number);
  return absl::OkStatus();
}

// The policy as the scripts compute with it: plain numbers, durations and times in whole
// microseconds (times floored, as rules::MicrosOf), '1'/'0' switches, texts as they are.

std::string ArgValue(const RateField&, double rate) { return ExactDouble(rate); }
std::string ArgValue(const CountField&, int64_t count) { return absl::StrCat(count); }
std::string ArgValue(const DurationField&, absl::Duration d) { return Micros(d); }
// "max,wait_us,exact;..." with max 'inf' for the unbounded tier; the exact duration comes back
// as Ticket::tier_wait.
std::string ArgValue(const TiersField&, const std::vector<WaitTier>& tiers) {
  std::vector<std::string> items;
  for (const WaitTier& tier : tiers) {
    items.push_back(absl::StrCat(tier.max_position == WaitTier::kUnboundedPosition
                                     ? std::string("inf")
                                     : absl::StrCat(tier.max_position),
                                 ",", Micros(tier.min_wait), ",", EncodeDuration(tier.min_wait)));
  }
  return absl::StrJoin(items, ";");
}
// "us,us,..."
std::string ArgValue(const WindowsField&, const std::vector<absl::Duration>& windows) {
  std::vector<std::string> items;
  for (absl::Duration w : windows) items.push_back(Micros(w));
  return absl::StrJoin(items, ",");
}
std::string ArgValue(const BoolField&, bool on) { return on ? "1" : "0"; }
std::string ArgValue(const TextField&, const std::string& text) { return text; }
std::string ArgValue(const TimeField&, const std::optional<absl::Time>& t) { return MicrosOf(t); }
std::string ArgValue(const MethodField&, QueueMethod method) {
  return absl::StrCat(static_cast<int>(method));
}

template <typename Field>
constexpr bool kIsText = std::is_same_v<Field, TextField>;

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
  std::string blob(kBlobVersion);
  std::vector<const std::string*> texts;
  ForEachPolicyField([&](const auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if constexpr (kIsText<Field>) {
      texts.push_back(&(p.*field.member));
    } else {
      absl::StrAppend(&blob, "|", BlobValue(field, p.*field.member));
    }
  });
  for (std::size_t i = 0; i + 1 < texts.size(); ++i) absl::StrAppend(&blob, "|", texts[i]->size());
  blob += '|';
  for (const std::string* text : texts) blob += *text;
  return blob;
}

absl::StatusOr<Policy> DecodePolicyBlob(std::string_view blob) {
  absl::string_view rest = AbslView(blob);
  // The next '|'-separated item of the blob, or false at its end.
  auto next = [&rest](absl::string_view* item) {
    if (rest.data() == nullptr) return false;
    const std::size_t bar = rest.find('|');
    *item = rest.substr(0, bar);
    rest = bar == absl::string_view::npos ? absl::string_view() : rest.substr(bar + 1);
    return true;
  };
  absl::string_view item;
  if (!next(&item) || (item != kBlobVersion && item != kBlobVersionP3 && item != kBlobVersionP2)) {
    return Corrupt("unknown format");
  }
  const bool p2 = item == kBlobVersionP2;
  const bool p3 = item == kBlobVersionP3;
  // Whether a field was added after the blob's version (and so reads as its default).
  auto absent = [p2, p3](const char* name) {
    return (p2 && AddedAfterP2(name)) || (p3 && AddedAfterP3(name));
  };
  Policy p;
  std::vector<std::string*> texts;
  absl::Status status = ForEachPolicyFieldUntilError([&](const auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if constexpr (kIsText<Field>) {
      if (!absent(field.name)) texts.push_back(&(p.*field.member));
      return absl::OkStatus();
    } else {
      if (absent(field.name)) return absl::OkStatus();
      if (!next(&item)) return Corrupt("unknown format");
      return ReadBlobValue(field, item, &(p.*field.member));
    }
  });
  if (!status.ok()) return status;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i + 1 < texts.size(); ++i) {
    std::size_t size = 0;
    if (!next(&item) || !absl::SimpleAtoi(item, &size)) return Corrupt("bad texts");
    sizes.push_back(size);
  }
  if (rest.data() == nullptr) return Corrupt("bad texts");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::size_t size = i < sizes.size() ? sizes[i] : rest.size();
    if (size > rest.size()) return Corrupt("bad texts");
    *texts[i] = std::string(rest.substr(0, size));
    rest.remove_prefix(size);
  }
  return p;
}

std::vector<std::string> EncodePolicyArgs(const Policy& p) {
  std::vector<std::string> args = {EncodePolicyBlob(p)};
  ForEachPolicyField([&](const auto& field) { args.push_back(ArgValue(field, p.*field.member)); });
  return args;
}

}  // namespace admission::redis_internal
