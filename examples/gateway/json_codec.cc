// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "json_codec.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace admission::gateway {
namespace {

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status BadField(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("field '", View(key), "' ", View(what)));
}

absl::Status GetNumber(const Json& v, std::string_view key, double* out) {
  if (!v.is_number()) return BadField(key, "must be a number");
  *out = v.get<double>();
  if (!std::isfinite(*out)) return BadField(key, "must be finite");
  return absl::OkStatus();
}

absl::Status GetInt(const Json& v, std::string_view key, int64_t* out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return BadField(key, "is too large");
    }
    *out = static_cast<int64_t>(v.get<uint64_t>());
    return absl::OkStatus();
  }
  if (!v.is_number_integer()) return BadField(key, "must be an integer");
  *out = v.get<int64_t>();
  return absl::OkStatus();
}

absl::Status GetSeconds(const Json& v, std::string_view key, absl::Duration* out) {
  double sec = 0;
  if (absl::Status s = GetNumber(v, key, &sec); !s.ok()) return s;
  // absl::Seconds saturates to an infinite duration far beyond any range ValidatePolicy
  // accepts, so huge values are refused there with the field's name.
  *out = absl::Seconds(sec);
  return absl::OkStatus();
}

// An optional instant of the schedule: an RFC 3339 string ("2026-12-01T10:00:00Z"), or null
// for none.
absl::Status GetOptionalTime(const Json& v, std::string_view key, std::optional<absl::Time>* out) {
  if (v.is_null()) {
    out->reset();
    return absl::OkStatus();
  }
  if (!v.is_string())
    return BadField(key, "must be an RFC 3339 time (\"2026-12-01T10:00:00Z\") or null");
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, v.get_ref<const std::string&>(), &t, &error)) {
    return BadField(key, "must be an RFC 3339 time (\"2026-12-01T10:00:00Z\") or null");
  }
  *out = t;
  return absl::OkStatus();
}

Json OptionalTimeJson(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return nullptr;
  return TimeText(*t);
}

// A policy field's value as the API shows it, one overload per kind.
Json PolicyValueJson(const RateField&, double rate) { return rate; }
Json PolicyValueJson(const CountField&, int64_t count) { return count; }
Json PolicyValueJson(const DurationField&, absl::Duration d) { return SecondsJson(d); }
Json PolicyValueJson(const TiersField&, const std::vector<WaitTier>& tiers) {
  Json out = Json::array();
  for (const WaitTier& t : tiers) {
    Json max =
        t.max_position == WaitTier::kUnboundedPosition ? Json(nullptr) : Json(t.max_position);
    out.push_back({{"max_position", max}, {"wait_sec", SecondsJson(t.min_wait)}});
  }
  return out;
}
Json PolicyValueJson(const WindowsField&, const std::vector<absl::Duration>& windows) {
  Json out = Json::array();
  for (absl::Duration w : windows) out.push_back(SecondsJson(w));
  return out;
}
Json PolicyValueJson(const BoolField&, bool on) { return on; }
Json PolicyValueJson(const TextField&, const std::string& text) { return text; }
Json PolicyValueJson(const TimeField&, const std::optional<absl::Time>& t) {
  return OptionalTimeJson(t);
}
Json PolicyValueJson(const MethodField&, QueueMethod method) {
  return std::string(QueueMethodName(method));
}

// A policy field's value from the API, one overload per kind; `key` names it in errors. The
// lists have a size limit of their own, far above ValidatePolicy's, so that a huge list is
// refused before it is built.
absl::Status ReadPolicyValue(const RateField&, const Json& v, std::string_view key, double* out) {
  return GetNumber(v, key, out);
}
absl::Status ReadPolicyValue(const CountField&, const Json& v, std::string_view key, int64_t* out) {
  return GetInt(v, key, out);
}
absl::Status ReadPolicyValue(const DurationField&, const Json& v, std::string_view key,
                             absl::Duration* out) {
  return GetSeconds(v, key, out);
}
absl::Status ReadPolicyValue(const TiersField&, const Json& v, std::string_view key,
                             std::vector<WaitTier>* out) {
  if (!v.is_array()) return BadField(key, "must be a list");
  if (v.size() > 64) return BadField(key, "has too many tiers");
  std::vector<WaitTier> tiers;
  for (const Json& t : v) {
    if (!t.is_object()) return BadField(key, "must hold {\"max_position\",\"wait_sec\"}");
    if (absl::Status s = CheckFields(t, {"max_position", "wait_sec"}); !s.ok()) return s;
    WaitTier tier;
    auto max = t.find("max_position");
    if (max == t.end()) return BadField("max_position", "is missing (null for the last tier)");
    if (!max->is_null()) {
      if (absl::Status s = GetInt(*max, "max_position", &tier.max_position); !s.ok()) return s;
    }
    auto wait = t.find("wait_sec");
    if (wait == t.end()) return BadField("wait_sec", "is missing");
    if (absl::Status s = GetSeconds(*wait, "wait_sec", &tier.min_wait); !s.ok()) return s;
    tiers.push_back(tier);
  }
  *out = std::move(tiers);
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const WindowsField&, const Json& v, std::string_view key,
                             std::vector<absl::Duration>* out) {
  if (!v.is_array()) return BadField(key, "must be a list");
  if (v.size() > 16) return BadField(key, "has too many windows");
  std::vector<absl::Duration> windows;
  for (const Json& w : v) {
    absl::Duration d;
    if (absl::Status s = GetSeconds(w, key, &d); !s.ok()) return s;
    windows.push_back(d);
  }
  *out = std::move(windows);
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const BoolField&, const Json& v, std::string_view key, bool* out) {
  if (!v.is_boolean()) return BadField(key, "must be true or false");
  *out = v.get<bool>();
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const TextField&, const Json& v, std::string_view key,
                             std::string* out) {
  if (!v.is_string()) return BadField(key, "must be a string");
  *out = v.get<std::string>();
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const TimeField&, const Json& v, std::string_view key,
                             std::optional<absl::Time>* out) {
  return GetOptionalTime(v, key, out);
}
absl::Status ReadPolicyValue(const MethodField&, const Json& v, std::string_view key,
                             QueueMethod* out) {
  if (!v.is_string()) return BadField(key, "must be a string");
  absl::StatusOr<QueueMethod> method = ParseQueueMethod(v.get_ref<const std::string&>());
  if (!method.ok()) return BadField(key, "must be fifo, random, passthrough or reject");
  *out = *method;
  return absl::OkStatus();
}

}  // namespace

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

Json ErrorJson(std::string_view code, std::string_view message) {
  return Json{{"error", {{"code", code}, {"message", message}}}};
}

absl::StatusOr<Json> ParseObject(std::string_view body, bool empty_ok) {
  if (body.empty() && empty_ok) return Json::object();
  // allow_exceptions=false: a parse error yields a "discarded" value instead of throwing.
  Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON");
  if (!parsed.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return parsed;
}

absl::Status CheckFields(const Json& object, std::initializer_list<std::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) {
      // Keys are echoed back; cut them so a huge key cannot inflate the error.
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", it.key().substr(0, 64), "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::size_t max_length) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return absl::NotFoundError(absl::StrCat("field '", View(key), "' is missing"));
  }
  if (!it->is_string()) return BadField(key, "must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max_length) {
    return BadField(key, absl::StrCat("is longer than ", max_length, " characters"));
  }
  return s;
}

Json SecondsJson(absl::Duration d) {
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) return nullptr;
  return static_cast<double>(absl::ToInt64Milliseconds(d)) / 1000.0;
}

int64_t CeilSeconds(absl::Duration d, int64_t min) {
  if (d == absl::InfiniteDuration()) return std::numeric_limits<int32_t>::max();
  const int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return s < min ? min : s;
}

std::string QueueStatusJsonText(const QueueStatus& s) {
  JsonObjectWriter w;
  w.String("event_id", s.event_id).String("status", s.status_name()).Int("position", s.position);
  // Users the grants still have to reach before this one: absent users ahead are passed over
  // at once, so this is the honest "people ahead of you" (position counts them all).
  if (s.state == UserState::kWaiting) w.Int("ahead", s.ahead_unreached);
  // A place known only as a range (random method, or the pre-queue before its draw): its
  // bounds and their ETAs. Written only then, to keep the common answer short.
  if (s.position_high != s.position) {
    w.Int("position_high", s.position_high)
        .Seconds("eta_low_sec", s.eta_low)
        .Seconds("eta_high_sec", s.eta_high);
  }
  if (s.opens_at != absl::InfiniteFuture()) {
    w.String("opens_at", TimeText(s.opens_at))
        .Int("opens_in_sec", CeilSeconds(s.opens_at - s.now, 0));
  }
  w.Seconds("eta_sec", s.eta)
      .Double("eta_confidence", std::round(s.eta_confidence * 1000) / 1000)
      .Seconds("waiting_time", s.waited)
      .Bool("ready_for_entry", s.ready_for_entry)
      .Int("poll_after_ms", absl::ToInt64Milliseconds(s.poll_after));
  if (s.blocked_by != EntryBlock::kNone && s.blocked_by != EntryBlock::kNotWaiting) {
    w.String("reason", EntryBlockName(s.blocked_by))
        .Int("retry_after_sec", CeilSeconds(s.retry_after, 1));
  }
  if (s.blocked_by == EntryBlock::kPaused) w.String("paused_reason", s.paused_reason);
  // The operator's message to the line (policy queue_message), plain text.
  if (!s.queue_message.empty()) w.String("message", s.queue_message);
  // A grant waits this long for POST /enter, then passes to the next user in line.
  if (s.grant_expires_at != absl::InfiniteFuture()) {
    w.Int("enter_within_ms",
          std::max<int64_t>(0, absl::ToInt64Milliseconds(s.grant_expires_at - s.now)));
  }
  return w.Finish();
}

Json QueueStatusToJson(const QueueStatus& s) {
  // The writer always writes valid JSON; no exceptions all the same.
  return Json::parse(QueueStatusJsonText(s), nullptr, /*allow_exceptions=*/false);
}

JsonObjectWriter::JsonObjectWriter() {
  out_.reserve(320);
  out_ += '{';
}

void JsonObjectWriter::Key(std::string_view key) {
  if (out_.size() > 1) out_ += ',';
  out_ += '"';
  out_.append(key.data(), key.size());
  out_ += "\":";
}

JsonObjectWriter& JsonObjectWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  bool plain = true;
  for (char c : value) plain = plain && c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  if (plain) {
    out_ += '"';
    out_.append(value.data(), value.size());
    out_ += '"';
  } else {
    out_ += Json(std::string(value)).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof(buf), value).ptr;
  out_.append(buf, end);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Double(std::string_view key, double value) {
  Key(key);
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  // The shortest text that reads back as the same double, with ".0" on whole numbers so that
  // the member stays a floating-point number for typed clients (as nlohmann writes it).
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof(buf), value).ptr;
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out_.append(text.data(), text.size());
  if (text.find_first_of(".e") == std::string_view::npos) out_ += ".0";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Null(std::string_view key) {
  Key(key);
  out_ += "null";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Seconds(std::string_view key, absl::Duration d) {
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) return Null(key);
  return Double(key, static_cast<double>(absl::ToInt64Milliseconds(d)) / 1000.0);
}

std::string JsonObjectWriter::Finish() {
  out_ += '}';
  return std::move(out_);
}

Json PolicyToJson(const Policy& p) {
  Json out = Json::object();
  ForEachPolicyField([&](const auto& field) {
    out[PolicyFieldApiName(field)] = PolicyValueJson(field, p.*field.member);
  });
  return out;
}

absl::Status MergePolicyJson(const Json& patch, Policy* policy) {
  if (!patch.is_object()) return absl::InvalidArgumentError("the policy must be a JSON object");
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    bool known = false;
    ForEachPolicyField(
        [&](const auto& field) { known = known || PolicyFieldApiName(field) == it.key(); });
    if (!known) {
      // Keys are echoed back; cut them so a huge key cannot inflate the error.
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", it.key().substr(0, 64), "'"));
    }
  }
  // Work on a copy so that a patch failing half-way changes nothing.
  Policy p = *policy;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    absl::Status s = ForEachPolicyFieldUntilError([&](const auto& field) {
      if (PolicyFieldApiName(field) != it.key()) return absl::OkStatus();
      return ReadPolicyValue(field, it.value(), it.key(), &(p.*field.member));
    });
    if (!s.ok()) return s;
  }
  *policy = std::move(p);
  return absl::OkStatus();
}

Json StatsToJson(const EventStats& s) {
  return Json{
      {"event_id", s.event_id},
      {"waiting", s.waiting},
      {"prequeued", s.prequeued},
      {"drawn", s.drawn},
      {"granted", s.granted},
      {"active", s.active},
      {"opened", s.opened},
      {"joined_total", s.joined_total},
      {"admitted_total", s.admitted_total},
      {"admitted_by_bypass", s.admitted_by_bypass},
      {"admitted_by_safety_net", s.admitted_by_safety_net},
      {"admitted_by_passthrough", s.admitted_by_passthrough},
      {"refused_total", s.refused_total},
      {"shuffled_at_opening", s.shuffled_at_opening},
      {"expired_total", s.expired_total},
      {"active_timed_out_total", s.active_timed_out_total},
      {"left_total", s.left_total},
      {"completed_total", s.completed_total},
      {"passed_total", s.passed_total},
      {"lapsed_total", s.lapsed_total},
      {"admission_rate", std::round(s.admission_rate_per_sec * 1000) / 1000},
      {"admission_rate_confidence", std::round(s.rate_confidence * 1000) / 1000},
      {"bucket_tokens", std::round(s.bucket_tokens * 1000) / 1000},
  };
}

}  // namespace admission::gateway
