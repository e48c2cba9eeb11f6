// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The table of Policy's fields: one entry per member of admission::Policy, in the struct's
// order, with the kind of value it holds, its limits and its documentation. Code that must
// handle every field (ValidatePolicy and operator==, the Redis store's codec and scripts, the
// gateway's JSON and flags, the Python bindings and their stub) walks this table instead of
// naming the fields, so that a new field is added here, in the rule that uses it, and in its
// tests.
//
// A kind is a struct below; code visits the entries with ForEachPolicyField and overloads on
// the kind. The kind fixes how a field travels everywhere: a DurationField is seconds with a
// "_sec" suffix in JSON and flags, float seconds in Python, microseconds for the scripts.
//
// The order is the order in which ValidatePolicy reports the first bad field and in which the
// Redis store passes and stores the fields (src/redis/room/policy_codec.h): a new field goes
// last, and changes the Redis store's data layout.
//
// The build reads this table too (cmake/AdmissionPolicyFields.cmake) to give the Lua scripts
// and the Python stub the names and kinds in order: each entry starts a line with
// `<Kind>Field{"<name>",`.
#ifndef ADMISSION_ROOM_POLICY_FIELDS_H_
#define ADMISSION_ROOM_POLICY_FIELDS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"

namespace admission {

// A check across fields, run after the field's own checks: OK or InvalidArgument.
using PolicyRule = absl::Status (*)(const Policy& policy);

// Every kind has:
//   name       the member's name (and the Python property's)
//   member     the member
//   doc        one paragraph for people (Python docstrings, the stub)
//   flag_help  the gateway's --help line when it offers the field as a flag of its default
//              policy; nullptr when it does not
//   rule       a check across fields run after this field's own, or nullptr

// A finite rate in [0, max].
struct RateField {
  const char* name;
  double Policy::*member;
  double max;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// A count in [0, max].
struct CountField {
  const char* name;
  int64_t Policy::*member;
  int64_t max;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// A duration in [min, max].
struct DurationField {
  const char* name;
  absl::Duration Policy::*member;
  absl::Duration min;
  absl::Duration max;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// Wait tiers: at most max_tiers, waits in [0, max_wait], positions increasing, waits not
// decreasing, the last tier unbounded (see WaitTier).
struct TiersField {
  const char* name;
  std::vector<WaitTier> Policy::*member;
  std::size_t max_tiers;
  absl::Duration max_wait;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// Window lengths: 1 to max_windows of them, each in [min, max], strictly increasing.
struct WindowsField {
  const char* name;
  std::vector<absl::Duration> Policy::*member;
  std::size_t max_windows;
  absl::Duration min;
  absl::Duration max;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// A switch.
struct BoolField {
  const char* name;
  bool Policy::*member;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// Text shown to users: at most max_bytes, no control characters.
struct TextField {
  const char* name;
  std::string Policy::*member;
  std::size_t max_bytes;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// An optional instant of the schedule, from 1970 to 2200 UTC when set (as microseconds since
// the epoch that stays below 2^53, which a Lua double holds exactly).
struct TimeField {
  const char* name;
  std::optional<absl::Time> Policy::*member;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// A QueueMethod (one of those QueueMethodName names).
struct MethodField {
  const char* name;
  QueueMethod Policy::*member;
  const char* doc;
  const char* flag_help;
  PolicyRule rule = nullptr;
};

// The schedule's order: prequeue_opens_at <= opens_at < closes_at, and prequeue_opens_at only
// with opens_at (docs/rules.md, "Fair openings").
absl::Status CheckSchedule(const Policy& policy);

// queue_message: valid UTF-8 of at most Policy::kMaxQueueMessageChars code points (its
// TextField's byte limit is four bytes for each of them).
absl::Status CheckQueueMessage(const Policy& policy);

// clang-format off
inline constexpr auto kPolicyFields = std::make_tuple(
    RateField{"admit_rate_per_sec", &Policy::admit_rate_per_sec, 1e6,
        "Token-bucket refill: admissions per second. [100]",
        "default policy: admissions per second (token bucket rate)"},
    CountField{"burst", &Policy::burst, 1'000'000'000,
        "Token-bucket size. [100]",
        "default policy: token bucket burst"},
    CountField{"bypass_top_n", &Policy::bypass_top_n, 1'000'000'000,
        "Positions 1..N may enter on credit when the bucket is empty. [10]",
        "default policy: positions that may enter on credit"},
    CountField{"active_capacity", &Policy::active_capacity, 1'000'000'000'000,
        "Most admitted users not done yet. [50000]",
        "default policy: admitted users not done yet, at most"},
    DurationField{"heartbeat_ttl", &Policy::heartbeat_ttl, absl::Seconds(1), absl::Hours(7 * 24),
        "A waiting user silent this long is a ghost. [300 s]",
        "default policy: silent waiting users expire after this"},
    DurationField{"active_ttl", &Policy::active_ttl, absl::Seconds(1), absl::Hours(30 * 24),
        "An admitted user stops counting after this. [600 s]",
        "default policy: admitted users stop counting after this"},
    DurationField{"reservation_ttl", &Policy::reservation_ttl, absl::Seconds(1), absl::Hours(24),
        "Lifetime of the reservation token. [30 s]",
        "default policy: lifetime of a reservation token"},
    DurationField{"ended_ttl", &Policy::ended_ttl, absl::Seconds(1), absl::Hours(30 * 24),
        "How long a departed token still answers status. [600 s]",
        "default policy: departed tokens are remembered this long"},
    TiersField{"wait_tiers", &Policy::wait_tiers, 16, absl::Hours(24),
        "Tier waits: list of (max_position or None, min_wait seconds).",
        "default policy: MAX_POSITION:WAIT_SEC,...,inf:WAIT_SEC; empty for no tier waits"},
    WindowsField{"rate_windows", &Policy::rate_windows, 4, absl::Seconds(1), absl::Hours(1),
        "Sliding windows (seconds) over which the admission rate and ETA are measured.",
        nullptr},
    BoolField{"paused", &Policy::paused,
        "A paused room admits nobody.",
        nullptr},
    TextField{"paused_reason", &Policy::paused_reason, 200,
        "Shown to users while paused.",
        nullptr},
    TimeField{"prequeue_opens_at", &Policy::prequeue_opens_at,
        "Joins before this are refused (JoinRefused, reason 'not_open_yet'); from it until\n"
        "opens_at they enter the pre-queue. Seconds since the epoch, or None. [None]",
        nullptr},
    TimeField{"opens_at", &Policy::opens_at,
        "The opening: every pre-queued user gets a place drawn at random, later arrivals\n"
        "queue behind them. Seconds since the epoch, or None (open from the start). [None]",
        nullptr},
    TimeField{"closes_at", &Policy::closes_at,
        "From this on, joins are refused (JoinRefused, reason 'closed'); the line is still\n"
        "served. Seconds since the epoch, or None (never closes). [None]",
        nullptr, &CheckSchedule},
    MethodField{"method", &Policy::method,
        "How the open event treats its line: 'fifo' (strict order), 'random' (each admission\n"
        "drawn among those waiting; ETAs become ranges), 'passthrough' (everyone admitted at\n"
        "once) or 'reject' (no new arrivals; the line is still served). InvalidArgument for\n"
        "any other name. ['fifo']",
        "default policy: queueing method, fifo | random | passthrough | reject (per event "
        "schedules and methods: PUT /admin/v1/events/ID/policy)"},
    TextField{"reject_message", &Policy::reject_message, 200,
        "The message of a join refused by the 'reject' method ('' : a generic one).",
        nullptr},
    BoolField{"safety_net", &Policy::safety_net,
        "Admit an arrival at once when nobody waits and they would be ready at\n"
        "position 1, so that a quiet sale shows no waiting room. [False]",
        "default policy: admit new arrivals at once while nobody waits"},
    DurationField{"claim_window", &Policy::claim_window, absl::Seconds(1), absl::Minutes(10),
        "How long a grant waits for its user to enter, and the shortest presence window. [5 s]",
        "default policy: how long a grant waits for its user to enter"},
    TextField{"queue_message", &Policy::queue_message, 4 * Policy::kMaxQueueMessageChars,
        "The operator's message to everyone in line, shown on the visitor page ('' : none;\n"
        "plain text, at most 280 characters, no control characters). ['']",
        nullptr, &CheckQueueMessage});
// clang-format on

inline constexpr std::size_t kPolicyFieldCount =
    std::tuple_size_v<std::remove_const_t<decltype(kPolicyFields)>>;

// Calls visit(entry) for every entry of kPolicyFields, in order.
template <typename Visitor>
void ForEachPolicyField(Visitor&& visit) {
  std::apply([&visit](const auto&... field) { (visit(field), ...); }, kPolicyFields);
}

// Calls visit(entry), which returns absl::Status, in order until one is not OK; returns it.
template <typename Visitor>
absl::Status ForEachPolicyFieldUntilError(Visitor&& visit) {
  absl::Status status;
  ForEachPolicyField([&](const auto& field) {
    if (status.ok()) status = visit(field);
  });
  return status;
}

}  // namespace admission

#endif  // ADMISSION_ROOM_POLICY_FIELDS_H_
