// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "flags.h"

#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "admission/room/policy_fields.h"
#include "json_codec.h"

namespace admission::gateway {
namespace {

absl::Status Bad(std::string_view flag, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", absl::string_view(flag.data(), flag.size()),
                                                 ": ",
                                                 absl::string_view(what.data(), what.size())));
}

bool ParseInt(std::string_view text, int64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseDouble(std::string_view text, double* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty() && std::isfinite(*out);
}

bool ParseBool(std::string_view text, bool* out) {
  if (text == "true" || text == "1" || text == "yes") {
    *out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no") {
    *out = false;
    return true;
  }
  return false;
}

std::string FormatDouble(double v) { return absl::StrFormat("%g", v); }

std::string FormatSeconds(absl::Duration d) { return FormatDouble(absl::ToDoubleSeconds(d)); }

// One command-line flag: how to show its current value and how to set it from text.
struct FlagSpec {
  std::string name;
  std::string help;
  bool is_bool = false;
  std::function<std::string(const GatewayFlags&)> show;
  std::function<absl::Status(std::string_view, GatewayFlags*)> set;
};

FlagSpec StringFlag(std::string name, std::string GatewayFlags::*field, std::string help) {
  return FlagSpec{std::move(name), std::move(help), false,
                  [field](const GatewayFlags& f) { return f.*field; },
                  [field](std::string_view v, GatewayFlags* f) {
                    f->*field = std::string(v);
                    return absl::OkStatus();
                  }};
}

template <typename Int>
FlagSpec IntFlag(std::string name, Int GatewayFlags::*field, int64_t min, int64_t max,
                 std::string help) {
  const std::string flag = name;
  return FlagSpec{std::move(name), std::move(help), false,
                  [field](const GatewayFlags& f) { return absl::StrCat(f.*field); },
                  [field, flag, min, max](std::string_view v, GatewayFlags* f) {
                    int64_t n = 0;
                    if (!ParseInt(v, &n)) return Bad(flag, "expected an integer");
                    if (n < min || n > max) {
                      return Bad(flag, absl::StrCat("must be between ", min, " and ", max));
                    }
                    f->*field = static_cast<Int>(n);
                    return absl::OkStatus();
                  }};
}

FlagSpec DoubleFlag(std::string name, double GatewayFlags::*field, double min, double max,
                    std::string help) {
  const std::string flag = name;
  return FlagSpec{std::move(name), std::move(help), false,
                  [field](const GatewayFlags& f) { return FormatDouble(f.*field); },
                  [field, flag, min, max](std::string_view v, GatewayFlags* f) {
                    double d = 0;
                    if (!ParseDouble(v, &d)) return Bad(flag, "expected a number");
                    if (d < min || d > max) {
                      return Bad(flag, absl::StrCat("must be between ", FormatDouble(min), " and ",
                                                    FormatDouble(max)));
                    }
                    f->*field = d;
                    return absl::OkStatus();
                  }};
}

FlagSpec BoolFlag(std::string name, bool GatewayFlags::*field, std::string help) {
  const std::string flag = name;
  return FlagSpec{std::move(name), std::move(help), true,
                  [field](const GatewayFlags& f) { return f.*field ? "true" : "false"; },
                  [field, flag](std::string_view v, GatewayFlags* f) {
                    bool b = false;
                    if (!ParseBool(v, &b)) return Bad(flag, "expected true or false");
                    f->*field = b;
                    return absl::OkStatus();
                  }};
}

// The flags of the default policy, one overload per kind of field: how to show a value and how
// to read one. Ranges are ValidatePolicy's, checked once every flag is read.

std::string ShowPolicyValue(const RateField&, double rate) { return FormatDouble(rate); }
std::string ShowPolicyValue(const CountField&, int64_t count) { return absl::StrCat(count); }
std::string ShowPolicyValue(const DurationField&, absl::Duration d) { return FormatSeconds(d); }
std::string ShowPolicyValue(const TiersField&, const std::vector<WaitTier>& tiers) {
  return FormatWaitTiers(tiers);
}
std::string ShowPolicyValue(const WindowsField&, const std::vector<absl::Duration>& windows) {
  std::string out;
  for (absl::Duration w : windows) absl::StrAppend(&out, out.empty() ? "" : ",", FormatSeconds(w));
  return out;
}
std::string ShowPolicyValue(const BoolField&, bool on) { return on ? "true" : "false"; }
std::string ShowPolicyValue(const TextField&, const std::string& text) { return text; }
std::string ShowPolicyValue(const TimeField&, const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::FormatTime(absl::RFC3339_full, *t, absl::UTCTimeZone()) : "";
}
std::string ShowPolicyValue(const MethodField&, QueueMethod method) {
  return std::string(QueueMethodName(method));
}

// Policy durations are given in (possibly fractional) seconds.
absl::Status ReadPolicyValue(const RateField& f, std::string_view v, double* rate) {
  if (!ParseDouble(v, rate)) return Bad(PolicyFieldApiName(f), "expected a number");
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const CountField& f, std::string_view v, int64_t* count) {
  if (!ParseInt(v, count)) return Bad(PolicyFieldApiName(f), "expected an integer");
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const DurationField& f, std::string_view v, absl::Duration* out) {
  double d = 0;
  if (!ParseDouble(v, &d)) return Bad(PolicyFieldApiName(f), "expected a number of seconds");
  *out = absl::Seconds(d);
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const TiersField& f, std::string_view v, std::vector<WaitTier>* out) {
  absl::StatusOr<std::vector<WaitTier>> tiers = ParseWaitTiers(std::string(v));
  if (!tiers.ok()) return Bad(PolicyFieldApiName(f), std::string(tiers.status().message()));
  *out = *std::move(tiers);
  return absl::OkStatus();
}
// SECONDS,SECONDS,...
absl::Status ReadPolicyValue(const WindowsField& f, std::string_view v,
                             std::vector<absl::Duration>* out) {
  std::vector<absl::Duration> windows;
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(v.data(), v.size()), ',', absl::SkipEmpty())) {
    double d = 0;
    if (!ParseDouble(std::string_view(item.data(), item.size()), &d)) {
      return Bad(PolicyFieldApiName(f), "expected numbers of seconds, separated by commas");
    }
    windows.push_back(absl::Seconds(d));
  }
  *out = std::move(windows);
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const BoolField& f, std::string_view v, bool* on) {
  if (!ParseBool(v, on)) return Bad(PolicyFieldApiName(f), "expected true or false");
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const TextField&, std::string_view v, std::string* text) {
  *text = std::string(v);
  return absl::OkStatus();
}
// An RFC 3339 time, or empty for none.
absl::Status ReadPolicyValue(const TimeField& f, std::string_view v,
                             std::optional<absl::Time>* out) {
  if (v.empty()) {
    out->reset();
    return absl::OkStatus();
  }
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(v), &t, &error)) {
    return Bad(PolicyFieldApiName(f), "expected an RFC 3339 time (2026-12-01T10:00:00Z)");
  }
  *out = t;
  return absl::OkStatus();
}
absl::Status ReadPolicyValue(const MethodField& f, std::string_view v, QueueMethod* method) {
  absl::StatusOr<QueueMethod> parsed = ParseQueueMethod(v);
  if (!parsed.ok()) {
    return Bad(PolicyFieldApiName(f), "expected fifo, random, passthrough or reject");
  }
  *method = *parsed;
  return absl::OkStatus();
}

// The flag of a policy field the table offers as one (flag_help set).
template <typename Field>
FlagSpec PolicyFlag(const Field& field) {
  using Value = std::remove_reference_t<decltype(std::declval<Policy&>().*field.member)>;
  const auto member = field.member;
  return FlagSpec{PolicyFieldApiName(field), field.flag_help, std::is_same_v<Value, bool>,
                  [field, member](const GatewayFlags& f) {
                    return ShowPolicyValue(field, f.default_policy.*member);
                  },
                  [field, member](std::string_view v, GatewayFlags* f) {
                    return ReadPolicyValue(field, v, &(f->default_policy.*member));
                  }};
}

const std::vector<FlagSpec>& AllFlags() {
  static const std::vector<FlagSpec>* const kFlags = [] {
    auto* flags = new std::vector<FlagSpec>;
    flags->push_back(StringFlag("listen", &GatewayFlags::listen,
                                "HOST:PORT to serve on; port 0 picks a free port"));
    flags->push_back(StringFlag(
        "store", &GatewayFlags::store,
        "where the rooms live: memory, redis://HOST:PORT (one server), "
        "redis-cluster://HOST:PORT[,HOST:PORT...] (Redis Cluster seeds, tried in order) or "
        "redis-sentinel://MASTER@HOST:PORT[,HOST:PORT...] (a primary and replicas under the "
        "sentinels listed; follows failovers)"));
    flags->push_back(IntFlag("redis_pool_size", &GatewayFlags::redis_pool_size, 1, 1024,
                             "connections to Redis, shared by the worker threads"));
    flags->push_back(StringFlag("redis_key_prefix", &GatewayFlags::redis_key_prefix,
                                "prefix of every Redis key (lets several rooms share a Redis)"));
    flags->push_back(StringFlag("redis_username", &GatewayFlags::redis_username,
                                "Redis ACL user; empty: $ADMISSION_REDIS_USERNAME, else the "
                                "--store URL's, else the default user"));
    flags->push_back(StringFlag(
        "redis_password_file", &GatewayFlags::redis_password_file,
        "file whose first line is the Redis password; empty: $ADMISSION_REDIS_PASSWORD, else "
        "the --store URL's (which ps shows: avoid), else none"));
    flags->push_back(StringFlag(
        "redis_sentinel_password_file", &GatewayFlags::redis_sentinel_password_file,
        "with redis-sentinel://: file whose first line is the sentinels' own password; empty: "
        "$ADMISSION_REDIS_SENTINEL_PASSWORD, else the URL's sentinel_password, else none"));
    flags->push_back(StringFlag("admin_token", &GatewayFlags::admin_token,
                                "bearer token of the admin API; empty disables the admin API"));
    flags->push_back(StringFlag(
        "token_secret", &GatewayFlags::token_secret,
        "HMAC-SHA256 secret of reservation tokens; empty: random (tokens die with the process)"));
    flags->push_back(IntFlag("io_threads", &GatewayFlags::io_threads, 0, 256,
                             "threads serving connections; 0: one per core"));
    flags->push_back(IntFlag("threads", &GatewayFlags::threads, 1, 4096,
                             "threads making store calls (a stalled store holds only these)"));
    flags->push_back(IntFlag("store_deadline_ms", &GatewayFlags::store_deadline_ms, 10, 600000,
                             "a request's store call not done by then is answered 503"));
    flags->push_back(DoubleFlag("drain_sec", &GatewayFlags::drain_sec, 0, 3600,
                                "on SIGTERM, /readyz answers 503 this long before the server "
                                "stops accepting and finishes what it read; 0: no wait"));
    flags->push_back(IntFlag("store_queue_limit", &GatewayFlags::store_queue_limit, 1, 10000000,
                             "store calls waiting for a thread; beyond it requests get 503"));
    flags->push_back(IntFlag("max_connections", &GatewayFlags::max_connections, 0, 10000000,
                             "open connections; newer ones are closed at once (and counted); 0: "
                             "the open-file limit (raised to its hard limit) less 1000"));
    flags->push_back(IntFlag("keep_alive_max_count", &GatewayFlags::keep_alive_max_count, 1,
                             1000000, "requests served on one connection before it is closed"));
    flags->push_back(IntFlag("keep_alive_timeout_sec", &GatewayFlags::keep_alive_timeout_sec, 1,
                             3600, "idle keep-alive connections are closed after this"));
    flags->push_back(IntFlag("header_timeout_ms", &GatewayFlags::header_timeout_ms, 10, 3600000,
                             "a request head must be whole this long after its first byte"));
    flags->push_back(IntFlag("body_timeout_ms", &GatewayFlags::body_timeout_ms, 10, 3600000,
                             "a request body must be whole this long after its head"));
    flags->push_back(IntFlag("write_timeout_ms", &GatewayFlags::write_timeout_ms, 10, 3600000,
                             "a client must take a response within this"));
    flags->push_back(IntFlag("listen_backlog", &GatewayFlags::listen_backlog, 1, 65535,
                             "listen(2) backlog of the server socket"));
    flags->push_back(IntFlag("max_header_count", &GatewayFlags::max_header_count, 8, 10000,
                             "requests with more header fields get 431"));
    flags->push_back(IntFlag("max_header_bytes", &GatewayFlags::max_header_bytes, 1024, 1024 * 1024,
                             "larger request heads get 431"));
    flags->push_back(IntFlag("max_body_bytes", &GatewayFlags::max_body_bytes, 256, 16 * 1024 * 1024,
                             "larger request bodies get 413"));
    flags->push_back(StringFlag(
        "client_address_header", &GatewayFlags::client_address_header,
        "behind a trusted proxy only: take the client address for rate limits from this header "
        "(e.g. X-Real-IP; the last entry of a list); empty: the peer address"));
    flags->push_back(DoubleFlag("rate_limit_ip_per_sec", &GatewayFlags::rate_limit_ip_per_sec, 0,
                                1e9, "API requests per second per client address; 0: no limit"));
    flags->push_back(DoubleFlag("rate_limit_ip_burst", &GatewayFlags::rate_limit_ip_burst, 1, 1e9,
                                "burst of the per-address bucket"));
    flags->push_back(DoubleFlag("rate_limit_token_per_sec", &GatewayFlags::rate_limit_token_per_sec,
                                0, 1e9,
                                "API requests per second per waiting token or user; 0: no limit"));
    flags->push_back(DoubleFlag("rate_limit_token_burst", &GatewayFlags::rate_limit_token_burst, 1,
                                1e9, "burst of the per-token bucket"));
    flags->push_back(IntFlag("rate_limit_max_clients", &GatewayFlags::rate_limit_max_clients, 16,
                             100000000, "buckets kept per limiter (memory bound)"));
    flags->push_back(
        IntFlag("idempotency_ttl_sec", &GatewayFlags::idempotency_ttl_sec, 1, 86400,
                "how long an Idempotency-Key's response is replayed (kept in the store)"));
    flags->push_back(IntFlag("hold_ttl_sec", &GatewayFlags::hold_ttl_sec, 1, 3600,
                             "how long a seat hold lasts before its seats go back"));
    flags->push_back(DoubleFlag("payment_delay_sec", &GatewayFlags::payment_delay_sec, 0, 3600,
                                "a payment intent with scenario \"delay\" is approved this late"));
    flags->push_back(BoolFlag("worker", &GatewayFlags::worker,
                              "run the ticketing worker and the hold-expiry scan in this process"));
    flags->push_back(DoubleFlag("worker_pace_per_sec", &GatewayFlags::worker_pace_per_sec, 0, 1e9,
                                "ticketing events the worker applies per second; 0: full speed"));
    flags->push_back(IntFlag("hold_expiry_scan_ms", &GatewayFlags::hold_expiry_scan_ms, 0, 3600000,
                             "how often expired holds are looked for; 0: never"));
    flags->push_back(BoolFlag("access_log", &GatewayFlags::access_log,
                              "write one JSON access-log line per request to stderr"));
    flags->push_back(StringFlag("default_event", &GatewayFlags::default_event,
                                "event the waiting-room page joins when its URL names none"));
    flags->push_back(BoolFlag("create_events_on_join", &GatewayFlags::create_events_on_join,
                              "a join opens an unknown event with the default policy (off: "
                              "only the operator creates events; unknown events are 404)"));
    flags->push_back(IntFlag("sweep_interval_ms", &GatewayFlags::sweep_interval_ms, 0, 3600000,
                             "background sweep of ghosts; 0 disables the sweeper"));
    flags->push_back(IntFlag("metrics_max_events", &GatewayFlags::metrics_max_events, 0, 100000,
                             "events with per-event series in /metrics (the busiest ones)"));
    flags->push_back(StringFlag("metrics_token", &GatewayFlags::metrics_token,
                                "bearer token /metrics requires; empty: /metrics is public"));
    flags->push_back(IntFlag("series_interval_ms", &GatewayFlags::series_interval_ms, 0, 3600000,
                             "how often the operator page's charts sample each busy "
                             "event (kept in memory); 0: no charts"));
    flags->push_back(IntFlag("series_samples", &GatewayFlags::series_samples, 1, 100000,
                             "samples kept per event for the charts (360 x 10 s: an hour)"));
    flags->push_back(IntFlag("series_max_events", &GatewayFlags::series_max_events, 1, 10000,
                             "events with charts (the busiest ones)"));
    // Proof of work on join (pow_gate.h).
    flags->push_back(StringFlag("pow", &GatewayFlags::pow,
                                "proof of work on join: off, on (--pow_difficulty) or auto "
                                "(none in calm times, harder as the event's join rate climbs)"));
    flags->push_back(IntFlag("pow_difficulty", &GatewayFlags::pow_difficulty, 1, 32,
                             "--pow=on: leading zero bits of SHA-256 a join must find"));
    flags->push_back(DoubleFlag("pow_auto_threshold", &GatewayFlags::pow_auto_threshold, 0.001, 1e9,
                                "--pow=auto: accepted joins/s of an event from which a proof "
                                "is asked (the store's rate, the same on every gateway)"));
    flags->push_back(IntFlag("pow_auto_min_difficulty", &GatewayFlags::pow_auto_min_difficulty, 1,
                             32, "--pow=auto: bits asked at the threshold (+1 per doubling)"));
    flags->push_back(IntFlag("pow_auto_max_difficulty", &GatewayFlags::pow_auto_max_difficulty, 1,
                             32, "--pow=auto: most bits ever asked"));
    flags->push_back(IntFlag("pow_challenge_ttl_sec", &GatewayFlags::pow_challenge_ttl_sec, 1,
                             86400,
                             "how long a challenge may be answered (at most idempotency_ttl_sec)"));
    flags->push_back(IntFlag("pow_rate_interval_ms", &GatewayFlags::pow_rate_interval_ms, 10,
                             3600000, "--pow=auto: how often an event's join rate is sampled"));
    // Who the user is (identity.h).
    flags->push_back(StringFlag(
        "identity", &GatewayFlags::identity,
        "who the user is: anonymous (a signed session cookie the gateway issues), trusted (the "
        "join's user_id as sent: only behind a back end that authenticated its users) or jwt "
        "(the sub of an identity provider's JWT, Authorization: Bearer)"));
    flags->push_back(StringFlag("jwks_file", &GatewayFlags::jwks_file,
                                "--identity=jwt: the identity provider's JWKS (RS256/ES256 keys), "
                                "reloaded when the file changes"));
    flags->push_back(StringFlag("jwt_issuer", &GatewayFlags::jwt_issuer,
                                "--identity=jwt: the iss every JWT must carry"));
    flags->push_back(
        StringFlag("jwt_audience", &GatewayFlags::jwt_audience,
                   "--identity=jwt: the aud every JWT must carry (or hold in a list)"));
    flags->push_back(StringFlag(
        "session_cookie_secure", &GatewayFlags::session_cookie_secure,
        "--identity=anonymous: the session cookie's Secure flag: auto (when X-Forwarded-Proto "
        "or Forwarded says https), true or false"));
    // The default policy's flags. Their defaults are admission::Policy's own.
    ForEachPolicyField([flags](const auto& field) {
      if (field.flag_help != nullptr) flags->push_back(PolicyFlag(field));
    });
    return flags;
  }();
  return *kFlags;
}

absl::Status ParseListen(GatewayFlags* flags) {
  const std::string& listen = flags->listen;
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return Bad("listen", "expected HOST:PORT");
  int64_t port = 0;
  if (!ParseInt(std::string_view(listen).substr(colon + 1), &port) || port < 0 || port > 65535) {
    return Bad("listen", "the port must be 0..65535");
  }
  flags->listen_host = listen.substr(0, colon);
  // Accept [::1]:8080 for IPv6 literals.
  if (flags->listen_host.size() > 2 && flags->listen_host.front() == '[' &&
      flags->listen_host.back() == ']') {
    flags->listen_host = flags->listen_host.substr(1, flags->listen_host.size() - 2);
  }
  flags->listen_port = static_cast<int>(port);
  return absl::OkStatus();
}

}  // namespace

std::string FormatWaitTiers(const std::vector<WaitTier>& tiers) {
  std::string out;
  for (const WaitTier& t : tiers) {
    if (!out.empty()) out += ',';
    out += t.max_position == WaitTier::kUnboundedPosition ? std::string("inf")
                                                          : absl::StrCat(t.max_position);
    out += ':';
    out += FormatSeconds(t.min_wait);
  }
  return out;
}

absl::StatusOr<std::vector<WaitTier>> ParseWaitTiers(const std::string& text) {
  std::vector<WaitTier> tiers;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError("each tier is MAX_POSITION:WAIT_SEC");
    }
    WaitTier tier;
    std::string_view max = item.substr(0, colon);
    if (max != "inf" && !ParseInt(max, &tier.max_position)) {
      return absl::InvalidArgumentError("MAX_POSITION must be an integer or inf");
    }
    double wait = 0;
    if (!ParseDouble(item.substr(colon + 1), &wait)) {
      return absl::InvalidArgumentError("WAIT_SEC must be a number");
    }
    tier.min_wait = absl::Seconds(wait);
    tiers.push_back(tier);
  }
  return tiers;
}

absl::StatusOr<FlagsOutcome> ParseFlags(const std::vector<std::string>& args, GatewayFlags* flags) {
  const std::vector<FlagSpec>& specs = AllFlags();
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") return FlagsOutcome::kHelp;
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", std::string(arg), "' (flags start with --)"));
    }
    arg.remove_prefix(2);
    const std::size_t eq = arg.find('=');
    const std::string name(arg.substr(0, eq));
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (spec->is_bool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (absl::Status s = spec->set(value, flags); !s.ok()) return s;
  }
  if (absl::Status s = ParseListen(flags); !s.ok()) return s;
  if (flags->store != "memory" && flags->store.rfind("redis://", 0) != 0 &&
      flags->store.rfind("redis-cluster://", 0) != 0 &&
      flags->store.rfind("redis-sentinel://", 0) != 0) {
    return Bad("store",
               "expected memory, redis://HOST:PORT, redis-cluster://HOST:PORT[,...] or "
               "redis-sentinel://MASTER@HOST:PORT[,...]");
  }
  if (!flags->redis_sentinel_password_file.empty() &&
      flags->store.rfind("redis-sentinel://", 0) != 0) {
    return Bad("redis_sentinel_password_file", "needs --store=redis-sentinel://...");
  }
  // Who the user is: jwt mode needs its three flags, and they mean nothing elsewhere.
  if (flags->identity != "anonymous" && flags->identity != "trusted" && flags->identity != "jwt") {
    return Bad("identity", "expected anonymous, trusted or jwt");
  }
  const bool jwt = flags->identity == "jwt";
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"jwks_file", &flags->jwks_file},
        {"jwt_issuer", &flags->jwt_issuer},
        {"jwt_audience", &flags->jwt_audience}}) {
    if (jwt && value->empty()) return Bad(name, "required with --identity=jwt");
    if (!jwt && !value->empty()) return Bad(name, "only meaningful with --identity=jwt");
  }
  if (flags->session_cookie_secure != "auto" && flags->session_cookie_secure != "true" &&
      flags->session_cookie_secure != "false") {
    return Bad("session_cookie_secure", "expected auto, true or false");
  }
  if (flags->store == "memory" &&
      (!flags->redis_username.empty() || !flags->redis_password_file.empty())) {
    return Bad(flags->redis_username.empty() ? "redis_password_file" : "redis_username",
               "needs a Redis --store");
  }
  if (absl::Status s = ValidatePolicy(flags->default_policy); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the default policy flags are invalid: ", s.message()));
  }
  // Proof of work on join (pow_gate.h).
  if (flags->pow != "off" && flags->pow != "on" && flags->pow != "auto") {
    return Bad("pow", "expected off, on or auto");
  }
  if (flags->pow_auto_min_difficulty > flags->pow_auto_max_difficulty) {
    return Bad("pow_auto_min_difficulty", "must not exceed --pow_auto_max_difficulty");
  }
  if (flags->pow_challenge_ttl_sec > flags->idempotency_ttl_sec) {
    // Spent challenges are kept in the idempotency store that long: a longer-lived challenge
    // could be used again once its entry is gone.
    return Bad("pow_challenge_ttl_sec", "must not exceed --idempotency_ttl_sec");
  }
  return FlagsOutcome::kRun;
}

std::string FlagsHelp() {
  const GatewayFlags defaults;
  std::string out =
      "admission-gateway: the waiting room over HTTP.\n\n"
      "Usage: admission-gateway [--flag=value ...]\n\nFlags (with their defaults):\n";
  for (const FlagSpec& s : AllFlags()) {
    std::string value = s.show(defaults);
    absl::StrAppend(&out, "  --", s.name, "=", value.empty() ? "\"\"" : value, "\n      ", s.help,
                    "\n");
  }
  absl::StrAppend(&out, "  --help\n      print this help and exit\n");
  return out;
}

namespace {

int64_t OpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur == RLIM_INFINITY) return int64_t{1} << 20;
  return static_cast<int64_t>(limit.rlim_cur);
}

}  // namespace

int64_t EffectiveMaxConnections(const GatewayFlags& flags) {
  if (flags.max_connections > 0) return flags.max_connections;
  return std::max<int64_t>(64, OpenFileLimit() - kFilesKeptBack);
}

int64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the limit stays as it was otherwise
  }
  return OpenFileLimit();
}

}  // namespace admission::gateway
