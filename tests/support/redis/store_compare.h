// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Field-by-field comparison of what two stores returned, for the differential tests: every
// field, doubles and times exactly. Each function returns "" when equal, otherwise one line per
// differing field.
#ifndef ADMISSION_TESTS_SUPPORT_REDIS_STORE_COMPARE_H_
#define ADMISSION_TESTS_SUPPORT_REDIS_STORE_COMPARE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"

namespace admission {
namespace testing {

class FieldDiff {
 public:
  template <typename T>
  void Check(const char* name, const T& expected, const T& actual) {
    if (!(expected == actual)) {
      lines_.push_back(absl::StrCat(name, ": expected ", Show(expected), ", got ", Show(actual)));
    }
  }
  void Add(std::string line) { lines_.push_back(std::move(line)); }
  std::string Result() const { return absl::StrJoin(lines_, "\n"); }

 private:
  static std::string Show(const std::string& s) { return absl::StrCat("'", s, "'"); }
  static std::string Show(absl::Time t) { return absl::FormatTime(t, absl::UTCTimeZone()); }
  static std::string Show(absl::Duration d) { return absl::FormatDuration(d); }
  static std::string Show(double d) { return absl::StrFormat("%.17g", d); }
  static std::string Show(bool b) { return b ? "true" : "false"; }
  static std::string Show(int64_t i) { return absl::StrCat(i); }
  static std::string Show(UserState s) { return std::string(UserStateName(s)); }
  static std::string Show(EntryBlock b) { return std::string(EntryBlockName(b)); }

  std::vector<std::string> lines_;
};

inline void DiffRate(FieldDiff& d, const RateSample& e, const RateSample& a) {
  d.Check("rate.first_admission", e.first_admission, a.first_admission);
  d.Check("rate.policy_rate_per_sec", e.policy_rate_per_sec, a.policy_rate_per_sec);
  d.Check("rate.bypass_top_n", e.bypass_top_n, a.bypass_top_n);
  d.Check("rate.paused", e.paused, a.paused);
  d.Check("rate.unreached", e.unreached, a.unreached);
  d.Check("rate.at_capacity", e.at_capacity, a.at_capacity);
  d.Check<int64_t>("rate.windows.size", e.windows.size(), a.windows.size());
  for (size_t i = 0; i < e.windows.size() && i < a.windows.size(); ++i) {
    d.Check("rate.window.length", e.windows[i].length, a.windows[i].length);
    d.Check("rate.window.admissions", e.windows[i].admissions, a.windows[i].admissions);
    d.Check("rate.window.reached", e.windows[i].reached, a.windows[i].reached);
    d.Check("rate.window.passes", e.windows[i].passes, a.windows[i].passes);
    d.Check("rate.window.exposure_sec", e.windows[i].exposure_sec, a.windows[i].exposure_sec);
    d.Check("rate.window.departures", e.windows[i].departures, a.windows[i].departures);
  }
}

inline void DiffTicket(FieldDiff& d, const Ticket& e, const Ticket& a) {
  d.Check("event_id", e.event_id, a.event_id);
  d.Check("user_id", e.user_id, a.user_id);
  d.Check("token", e.token, a.token);
  d.Check("state", e.state, a.state);
  d.Check("position", e.position, a.position);
  d.Check("position_high", e.position_high, a.position_high);
  d.Check("opens_at", e.opens_at, a.opens_at);
  d.Check("ahead_unreached", e.ahead_unreached, a.ahead_unreached);
  d.Check("present_until", e.present_until, a.present_until);
  d.Check("grant_expires_at", e.grant_expires_at, a.grant_expires_at);
  d.Check("now", e.now, a.now);
  d.Check("joined_at", e.joined_at, a.joined_at);
  d.Check("left_line_at", e.left_line_at, a.left_line_at);
  d.Check("deadline", e.deadline, a.deadline);
  d.Check("ready_for_entry", e.ready_for_entry, a.ready_for_entry);
  d.Check("blocked_by", e.blocked_by, a.blocked_by);
  d.Check("retry_after", e.retry_after, a.retry_after);
  d.Check("tier_wait", e.tier_wait, a.tier_wait);
  d.Check("paused_reason", e.paused_reason, a.paused_reason);
  d.Check("reservation_token", e.reservation_token, a.reservation_token);
  d.Check("reservation_expires_at", e.reservation_expires_at, a.reservation_expires_at);
  DiffRate(d, e.rate, a.rate);
}

inline std::string DiffTicket(const Ticket& e, const Ticket& a) {
  FieldDiff d;
  DiffTicket(d, e, a);
  return d.Result();
}

inline std::string DiffEnter(const EnterOutcome& e, const EnterOutcome& a) {
  FieldDiff d;
  d.Check("granted", e.granted, a.granted);
  d.Check("by_bypass", e.by_bypass, a.by_bypass);
  d.Check("repeated", e.repeated, a.repeated);
  DiffTicket(d, e.ticket, a.ticket);
  return d.Result();
}

inline std::string DiffCounters(const EventCounters& e, const EventCounters& a) {
  FieldDiff d;
  d.Check("now", e.now, a.now);
  d.Check("waiting", e.waiting, a.waiting);
  d.Check("active", e.active, a.active);
  d.Check("joined_total", e.joined_total, a.joined_total);
  d.Check("admitted_total", e.admitted_total, a.admitted_total);
  d.Check("admitted_by_bypass", e.admitted_by_bypass, a.admitted_by_bypass);
  d.Check("expired_total", e.expired_total, a.expired_total);
  d.Check("active_timed_out_total", e.active_timed_out_total, a.active_timed_out_total);
  d.Check("left_total", e.left_total, a.left_total);
  d.Check("completed_total", e.completed_total, a.completed_total);
  d.Check("prequeued", e.prequeued, a.prequeued);
  d.Check("drawn", e.drawn, a.drawn);
  d.Check("admitted_by_safety_net", e.admitted_by_safety_net, a.admitted_by_safety_net);
  d.Check("admitted_by_passthrough", e.admitted_by_passthrough, a.admitted_by_passthrough);
  d.Check("refused_total", e.refused_total, a.refused_total);
  d.Check("opened", e.opened, a.opened);
  d.Check("shuffled_at_opening", e.shuffled_at_opening, a.shuffled_at_opening);
  d.Check("granted", e.granted, a.granted);
  d.Check("passed_total", e.passed_total, a.passed_total);
  d.Check("lapsed_total", e.lapsed_total, a.lapsed_total);
  d.Check("bucket_tokens", e.bucket_tokens, a.bucket_tokens);
  DiffRate(d, e.rate, a.rate);
  return d.Result();
}

inline std::string DiffSweep(const SweepOutcome& e, const SweepOutcome& a) {
  FieldDiff d;
  d.Check("removed", e.removed, a.removed);
  d.Check("done", e.done, a.done);
  return d.Result();
}

inline std::string DiffPolicy(const Policy& e, const Policy& a) {
  return e == a ? "" : "policies differ";
}

// Compares two results: the same status (code and message) and, when OK, the same value.
template <typename T, typename DiffFn>
std::string DiffResult(const absl::StatusOr<T>& e, const absl::StatusOr<T>& a, DiffFn diff) {
  if (e.status() != a.status()) {
    return absl::StrCat("status: expected ", e.status().ToString(), ", got ",
                        a.status().ToString());
  }
  if (!e.ok()) return "";
  return diff(*e, *a);
}

inline std::string DiffStatus(const absl::Status& e, const absl::Status& a) {
  if (e == a) return "";
  return absl::StrCat("status: expected ", e.ToString(), ", got ", a.ToString());
}

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_REDIS_STORE_COMPARE_H_
