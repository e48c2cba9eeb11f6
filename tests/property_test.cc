// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Property test: thousands of random operations against a WaitingRoom over each store, on a
// simulated clock, compared after every step with a reference model: a plain, O(n)
// re-statement of docs/rules.md on std containers. On top of field-by-field agreement with the
// model it checks invariants that do not depend on the model:
//   - ready users form a prefix of the line; positions are exactly 1..k in arrival order;
//   - no user holds two places (waiting or active) in one event;
//   - active never exceeds the capacity right after an admission;
//   - over any interval T of constant policy, admissions without the bypass <= rate * T + burst
//     and all admissions <= rate * T + burst + bypass_top_n;
//   - after the heartbeat TTL and a sweep, no ghost is counted (Stats.waiting, positions).
//
// The model needs every per-call sweep to apply all passed deadlines; whenever more than a few
// are pending the harness first calls SweepAll (the timer) on both, so the per-call sweep
// budget of a store never shows. Before a SetPolicy it also sweeps, so that a deadline is never
// applied under a policy that did not exist when it passed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/policy.h"
#include "admission/store.h"
#include "admission/waiting_room.h"
#include "gtest/gtest.h"
#include "store_factory.h"
#include "test_util.h"

namespace admission {
namespace testing {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSteps = 4000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSteps = 4000;
#else
constexpr int kSteps = 20000;
#endif
#else
constexpr int kSteps = 20000;
#endif

constexpr int kUsers = 30;
constexpr int kEvents = 2;
const char* const kEventIds[kEvents] = {"ev0", "ev1"};
// More passed deadlines than this in one event and the harness sweeps first (see top).
constexpr int64_t kSweepGuard = 32;
const std::vector<absl::Duration> kRateWindows = {absl::Seconds(2), absl::Seconds(10)};

std::string Name(UserState s) { return std::string(UserStateName(s)); }
std::string Name(EntryBlock b) { return std::string(EntryBlockName(b)); }

// ---------------------------------------------------------------------------------------------
// Reference model

absl::Duration ModelTierWait(const std::vector<WaitTier>& tiers, int64_t position) {
  for (const WaitTier& t : tiers) {
    if (position <= t.max_position) return t.min_wait;
  }
  return absl::ZeroDuration();
}

struct MRecord {
  int event = 0;
  std::string user;
  UserState state = UserState::kWaiting;
  int64_t seq = 0;
  absl::Time joined_at;
  absl::Time deadline;
  bool admitted = false;
  std::string reservation;
  absl::Time reservation_expires_at = absl::InfinitePast();
};

struct MWindow {
  absl::Duration length;
  int64_t period = 0;
  double current = 0;
  double previous = 0;
};

struct MCounters {
  int64_t joined = 0, admitted = 0, bypass = 0, expired = 0, timed_out = 0, left = 0, completed = 0;
};

struct MEvent {
  bool exists = false;
  Policy policy;
  double tokens = 0;
  absl::Time refilled_at;
  int64_t active = 0;
  int64_t next_seq = 0;
  MCounters counters;
  std::map<std::string, MRecord> records;  // by token
  std::vector<MWindow> windows;
  absl::Time first_admission = absl::InfiniteFuture();
};

// What the model says a call returns.
struct MTicket {
  absl::StatusCode code = absl::StatusCode::kOk;
  UserState state = UserState::kWaiting;
  int64_t position = 0;
  bool ready = false;
  EntryBlock block = EntryBlock::kNotWaiting;
  absl::Duration retry = absl::ZeroDuration();
  std::string paused_reason;
  bool admitted = false;
  std::string reservation;
  absl::Time reservation_expires_at = absl::InfinitePast();
};

struct MEnter {
  MTicket ticket;
  bool granted = false;
  bool by_bypass = false;
  bool repeated = false;
};

int64_t PeriodOf(absl::Time now, absl::Duration length, absl::Duration* into) {
  return absl::IDivDuration(now - absl::UnixEpoch(), length, into);
}

void Roll(MWindow& w, absl::Time now) {
  absl::Duration into;
  const int64_t p = PeriodOf(now, w.length, &into);
  if (p <= w.period) return;
  w.previous = (p == w.period + 1) ? w.current : 0;
  w.current = 0;
  w.period = p;
}

double Estimate(MWindow w, absl::Time now) {
  Roll(w, now);
  absl::Duration into;
  PeriodOf(now, w.length, &into);
  return w.previous * (1.0 - absl::FDivDuration(into, w.length)) + w.current;
}

class Model {
 public:
  explicit Model(const Options& options) : options_(options) {}

  MEvent& event(int e) { return events_[e]; }
  bool Exists(int e) const { return events_[e].exists; }

  // Deadline applications needed to bring event `e` up to `now` (an overdue ghost counts twice
  // when its tombstone is overdue as well).
  int64_t PendingDeadlines(int e, absl::Time now) const {
    const MEvent& ev = events_[e];
    int64_t n = 0;
    for (const auto& [token, r] : ev.records) {
      if (r.deadline > now) continue;
      ++n;
      if ((r.state == UserState::kWaiting || r.state == UserState::kActive) &&
          r.deadline + ev.policy.ended_ttl <= now) {
        ++n;
      }
    }
    return n;
  }

  int64_t SweepAll(absl::Time now) {
    int64_t n = 0;
    for (int e = 0; e < kEvents; ++e) {
      if (events_[e].exists) n += Sweep(events_[e], now, INT64_MAX);
    }
    return n;
  }

  MTicket Join(int e, const std::string& user, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) {
      if (!options_.create_events_on_join) return Error(absl::StatusCode::kNotFound);
      Create(ev, options_.default_policy, now);
    }
    Begin(ev, now);
    for (const auto& [token, r] : ev.records) {
      if (r.user == user && (r.state == UserState::kWaiting || r.state == UserState::kActive)) {
        return Error(absl::StatusCode::kAlreadyExists);
      }
    }
    MTicket t;
    t.code = absl::StatusCode::kOk;
    return t;  // the caller commits with CommitJoin once it knows the token
  }

  MTicket CommitJoin(int e, const std::string& user, const std::string& token, absl::Time now) {
    MEvent& ev = events_[e];
    MRecord r;
    r.event = e;
    r.user = user;
    r.seq = ev.next_seq++;
    r.joined_at = now;
    r.deadline = now + ev.policy.heartbeat_ttl;
    ++ev.counters.joined;
    auto [it, inserted] = ev.records.emplace(token, r);
    EXPECT_TRUE(inserted) << "token reused: " << token;
    return Ticket(ev, it->second, now);
  }

  MTicket Status(int e, const std::string& token, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) return Error(absl::StatusCode::kNotFound);
    Begin(ev, now);
    auto it = ev.records.find(token);
    if (it == ev.records.end()) return Error(absl::StatusCode::kNotFound);
    MRecord& r = it->second;
    if (r.state == UserState::kWaiting) r.deadline = now + ev.policy.heartbeat_ttl;
    return Ticket(ev, r, now);
  }

  MEnter Enter(int e, const std::string& token, absl::Time now) {
    MEnter out;
    MEvent& ev = events_[e];
    if (!ev.exists) {
      out.ticket = Error(absl::StatusCode::kNotFound);
      return out;
    }
    Begin(ev, now);
    auto it = ev.records.find(token);
    if (it == ev.records.end()) {
      out.ticket = Error(absl::StatusCode::kNotFound);
      return out;
    }
    MRecord& r = it->second;
    if (r.state == UserState::kActive) {
      out.granted = true;
      out.repeated = true;
      out.ticket = Ticket(ev, r, now);
      return out;
    }
    if (r.state != UserState::kWaiting) {
      out.ticket = Error(absl::StatusCode::kFailedPrecondition);
      return out;
    }
    const int64_t p = Position(ev, r);
    const MTicket before = Ticket(ev, r, now);
    if (!before.ready) {
      r.deadline = now + ev.policy.heartbeat_ttl;
      out.ticket = Ticket(ev, r, now);
      return out;
    }
    // One token is taken; without a whole token (only possible for p <= N) it is a bypass
    // admission on credit, and the bucket goes into debt.
    if (ev.tokens < 1) {
      EXPECT_LE(p, ev.policy.bypass_top_n) << "model: readiness let a bypass through beyond N";
      out.by_bypass = true;
      ++ev.counters.bypass;
    }
    ev.tokens -= 1;
    r.state = UserState::kActive;
    r.admitted = true;
    r.deadline = now + ev.policy.active_ttl;
    r.reservation_expires_at = now + ev.policy.reservation_ttl;
    ++ev.active;
    ++ev.counters.admitted;
    if (ev.first_admission == absl::InfiniteFuture()) ev.first_admission = now;
    for (MWindow& w : ev.windows) {
      Roll(w, now);
      w.current += 1;
    }
    out.granted = true;
    out.ticket = Ticket(ev, r, now);
    return out;
  }

  // The reservation token is made by the room: the model learns it from the first grant.
  void SetReservation(int e, const std::string& token, const std::string& reservation) {
    auto it = events_[e].records.find(token);
    if (it != events_[e].records.end() && it->second.reservation.empty()) {
      it->second.reservation = reservation;
    }
  }

  MTicket Leave(int e, const std::string& token, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) return Error(absl::StatusCode::kNotFound);
    Begin(ev, now);
    auto it = ev.records.find(token);
    if (it == ev.records.end()) return Error(absl::StatusCode::kNotFound);
    MRecord& r = it->second;
    if (r.state == UserState::kWaiting || r.state == UserState::kActive) {
      ++ev.counters.left;
      End(ev, r, UserState::kLeft, now);
    }
    return Ticket(ev, r, now);
  }

  MTicket Complete(int e, const std::string& token, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) return Error(absl::StatusCode::kNotFound);
    Begin(ev, now);
    auto it = ev.records.find(token);
    if (it == ev.records.end()) return Error(absl::StatusCode::kNotFound);
    MRecord& r = it->second;
    if (r.state == UserState::kActive) {
      ++ev.counters.completed;
      End(ev, r, UserState::kCompleted, now);
    } else if (r.state != UserState::kCompleted) {
      return Error(absl::StatusCode::kFailedPrecondition);
    }
    return Ticket(ev, r, now);
  }

  bool Stats(int e, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) return false;
    Begin(ev, now);
    return true;
  }

  void SetPolicy(int e, const Policy& policy, absl::Time now) {
    MEvent& ev = events_[e];
    if (!ev.exists) {
      Create(ev, policy, now);
      return;
    }
    Begin(ev, now);  // refill at the old rate
    ev.policy = policy;
    ev.tokens = std::min(ev.tokens, static_cast<double>(policy.burst));
    std::vector<MWindow> windows;
    for (absl::Duration length : policy.rate_windows) {
      MWindow w;
      w.length = length;
      for (const MWindow& old : ev.windows) {
        if (old.length == length) w = old;
      }
      windows.push_back(w);
    }
    ev.windows = windows;
  }

  int64_t Waiting(int e) const {
    int64_t n = 0;
    for (const auto& [token, r] : events_[e].records) n += r.state == UserState::kWaiting;
    return n;
  }

  static int64_t Position(const MEvent& ev, const MRecord& r) {
    if (r.state != UserState::kWaiting) return 0;
    int64_t p = 1;
    for (const auto& [token, other] : ev.records) {
      if (other.state == UserState::kWaiting && other.seq < r.seq) ++p;
    }
    return p;
  }

 private:
  static MTicket Error(absl::StatusCode code) {
    MTicket t;
    t.code = code;
    return t;
  }

  static void Create(MEvent& ev, const Policy& policy, absl::Time now) {
    ev.exists = true;
    ev.policy = policy;
    ev.tokens = static_cast<double>(policy.burst);
    ev.refilled_at = now;
    ev.windows.clear();
    for (absl::Duration length : policy.rate_windows) ev.windows.push_back(MWindow{length});
  }

  static void Refill(MEvent& ev, absl::Time now) {
    if (now <= ev.refilled_at) return;
    const double elapsed = absl::ToDoubleSeconds(now - ev.refilled_at);
    ev.tokens = std::min(static_cast<double>(ev.policy.burst),
                         ev.tokens + ev.policy.admit_rate_per_sec * elapsed);
    ev.refilled_at = now;
  }

  static void End(MEvent& ev, MRecord& r, UserState state, absl::Time ended_at) {
    if (r.state == UserState::kActive) --ev.active;
    r.state = state;
    r.deadline = ended_at + ev.policy.ended_ttl;
  }

  // Applies passed deadlines, oldest first, at most `max`. A deadline that passed at `d` ends
  // the record at `d` (not at the sweep), so the outcome does not depend on when sweeps run.
  static int64_t Sweep(MEvent& ev, absl::Time now, int64_t max) {
    int64_t applied = 0;
    while (applied < max) {
      auto oldest = ev.records.end();
      for (auto it = ev.records.begin(); it != ev.records.end(); ++it) {
        if (it->second.deadline <= now &&
            (oldest == ev.records.end() || it->second.deadline < oldest->second.deadline)) {
          oldest = it;
        }
      }
      if (oldest == ev.records.end()) break;
      MRecord& r = oldest->second;
      switch (r.state) {
        case UserState::kWaiting:
          ++ev.counters.expired;
          End(ev, r, UserState::kExpired, r.deadline);
          break;
        case UserState::kActive:
          ++ev.counters.timed_out;
          End(ev, r, UserState::kExpired, r.deadline);
          break;
        default:
          ev.records.erase(oldest);
          break;
      }
      ++applied;
    }
    return applied;
  }

  static void Begin(MEvent& ev, absl::Time now) {
    Refill(ev, now);
    Sweep(ev, now, INT64_MAX);  // the harness keeps pending deadlines under any sweep budget
  }

  static MTicket Ticket(const MEvent& ev, const MRecord& r, absl::Time now) {
    MTicket t;
    t.state = r.state;
    t.admitted = r.admitted;
    t.reservation = r.reservation;
    t.reservation_expires_at = r.reservation_expires_at;
    if (r.state != UserState::kWaiting) return t;  // blocked_by kNotWaiting
    const Policy& p = ev.policy;
    t.position = Position(ev, r);
    if (p.paused) {
      t.block = EntryBlock::kPaused;
      t.retry = absl::Seconds(5);
      t.paused_reason = p.paused_reason;
    } else if (ev.active >= p.active_capacity) {
      t.block = EntryBlock::kCapacityFull;
      t.retry = absl::Seconds(1);
    } else if (t.position > p.bypass_top_n + static_cast<int64_t>(std::floor(ev.tokens))) {
      t.block = EntryBlock::kNotYourTurn;
      if (p.admit_rate_per_sec == 0) {
        t.retry = absl::Seconds(60);
      } else {
        const double needed = static_cast<double>(std::min(t.position - p.bypass_top_n, p.burst));
        t.retry =
            std::max(absl::Seconds(1), absl::Seconds((needed - ev.tokens) / p.admit_rate_per_sec));
      }
    } else if (now - r.joined_at < ModelTierWait(p.wait_tiers, t.position)) {
      t.block = EntryBlock::kTierWait;
      t.retry = ModelTierWait(p.wait_tiers, t.position) - (now - r.joined_at);
    } else {
      t.block = EntryBlock::kNone;
      t.ready = true;
    }
    return t;
  }

  Options options_;
  MEvent events_[kEvents];
};

// ---------------------------------------------------------------------------------------------
// Comparison of a real answer with the model's

void Mismatch(std::ostringstream& out, const char* field, const std::string& want,
              const std::string& got) {
  out << "  " << field << ": want " << want << ", got " << got << "\n";
}

template <typename T>
std::string Str(const T& v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string CompareStatus(const MTicket& want, const QueueStatus& got) {
  std::ostringstream out;
  if (want.state != got.state) Mismatch(out, "state", Name(want.state), Name(got.state));
  if (want.position != got.position) {
    Mismatch(out, "position", Str(want.position), Str(got.position));
  }
  if (want.ready != got.ready_for_entry) {
    Mismatch(out, "ready_for_entry", Str(want.ready), Str(got.ready_for_entry));
  }
  if (want.block != got.blocked_by)
    Mismatch(out, "blocked_by", Name(want.block), Name(got.blocked_by));
  const absl::Duration tolerance =
      want.block == EntryBlock::kNotYourTurn ? absl::Milliseconds(1) : absl::ZeroDuration();
  if (want.block == got.blocked_by && want.state == UserState::kWaiting &&
      absl::AbsDuration(want.retry - got.retry_after) > tolerance) {
    Mismatch(out, "retry_after", Str(want.retry), Str(got.retry_after));
  }
  if (want.block == EntryBlock::kPaused && want.paused_reason != got.paused_reason) {
    Mismatch(out, "paused_reason", want.paused_reason, got.paused_reason);
  }
  if (want.admitted) {
    if (!want.reservation.empty() && want.reservation != got.reservation_token) {
      Mismatch(out, "reservation_token", want.reservation, got.reservation_token);
    }
    if (want.reservation_expires_at != got.reservation_expires_at) {
      Mismatch(out, "reservation_expires_at", Str(want.reservation_expires_at),
               Str(got.reservation_expires_at));
    }
  } else if (!got.reservation_token.empty()) {
    Mismatch(out, "reservation_token", "(none)", got.reservation_token);
  }
  if (got.eta < absl::ZeroDuration()) Mismatch(out, "eta", ">= 0", Str(got.eta));
  if (!(got.eta_confidence >= 0 && got.eta_confidence <= 1)) {
    Mismatch(out, "eta_confidence", "in [0, 1]", Str(got.eta_confidence));
  }
  if (got.ready_for_entry && got.eta != absl::ZeroDuration()) {
    Mismatch(out, "eta when ready", "0", Str(got.eta));
  }
  if (got.poll_after <= absl::ZeroDuration())
    Mismatch(out, "poll_after", "> 0", Str(got.poll_after));
  return out.str();
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

// ---------------------------------------------------------------------------------------------
// The harness

struct TokenInfo {
  std::string token;
  int event = 0;
  int user = 0;
  int64_t join_index = 0;  // global arrival order, for the positions check
  // Independent ghost bookkeeping, from the room's answers only.
  bool in_line = false;
  absl::Time heartbeat_deadline;
};

struct Admission {
  absl::Time at;
  int segment = 0;
  bool by_bypass = false;
};

struct Segment {
  double rate = 0;
  int64_t burst = 0;
  int64_t bypass_top_n = 0;
};

using Param = std::tuple<StoreFactory, uint64_t /*seed*/, bool /*bypass*/>;

class PropertyTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const auto& [factory, seed, bypass] = GetParam();
    rng_.seed(seed);
    bypass_ = bypass;
    options_.sweep_interval = absl::ZeroDuration();
    options_.create_events_on_join = seed % 2 == 0;
    options_.default_policy = RandomPolicy();
    options_.default_policy.paused = false;
    options_.default_policy.paused_reason.clear();
    auto room = WaitingRoom::Create(factory.make(&clock_), options_);
    ASSERT_OK(room);
    room_ = std::move(room).value();
    model_ = std::make_unique<Model>(options_);
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }

  Policy RandomPolicy() {
    Policy p;
    p.admit_rate_per_sec = Pick(std::vector<double>{0, 0.5, 1, 1, 2, 2, 4});
    p.burst = Pick(std::vector<int64_t>{1, 2, 3, 5});
    p.bypass_top_n = bypass_ ? Pick(std::vector<int64_t>{0, 1, 2, 3}) : 0;
    p.active_capacity = Pick(std::vector<int64_t>{1, 2, 3, 5, 1000});
    p.heartbeat_ttl =
        Pick(std::vector<absl::Duration>{absl::Seconds(2), absl::Seconds(3), absl::Seconds(5)});
    p.active_ttl =
        Pick(std::vector<absl::Duration>{absl::Seconds(2), absl::Seconds(4), absl::Seconds(8)});
    p.reservation_ttl = absl::Seconds(Uniform(1, 5));
    p.ended_ttl =
        Pick(std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(3), absl::Seconds(6)});
    const absl::Duration ms = absl::Milliseconds(1);
    switch (Uniform(0, 3)) {
      case 0:
        p.wait_tiers.clear();
        break;
      case 1:
        p.wait_tiers = {{2, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, 500 * ms}};
        break;
      case 2:
        p.wait_tiers = {
            {1, absl::ZeroDuration()}, {3, 1000 * ms}, {WaitTier::kUnboundedPosition, 2000 * ms}};
        break;
      default:
        p.wait_tiers = {{WaitTier::kUnboundedPosition, 250 * ms}};
        break;
    }
    p.rate_windows = kRateWindows;
    p.paused = Uniform(0, 9) == 0;
    p.paused_reason = p.paused ? absl::StrCat("pause ", Uniform(0, 99)) : "";
    return p;
  }

  // Fails the test with the recent history; returns false so callers can stop.
  bool Check(bool ok, const std::string& what) {
    if (ok) return true;
    std::ostringstream trace;
    for (const std::string& line : history_) trace << "    " << line << "\n";
    ADD_FAILURE() << "step " << step_ << " (seed " << std::get<1>(GetParam()) << "): " << what
                  << "\n  recent operations, oldest first:\n"
                  << trace.str();
    failed_ = true;
    return false;
  }

  void Log(std::string line) {
    history_.push_back(
        absl::StrCat(step_, " t+", absl::FormatDuration(clock_.Now() - start_), ": ", line));
    if (history_.size() > 40) history_.pop_front();
  }

  bool CheckCode(const absl::Status& got, absl::StatusCode want, const std::string& op) {
    return Check(got.code() == want,
                 absl::StrCat(op, ": want ", CodeName(want), ", got ", got.ToString()));
  }

  bool CheckTicket(const MTicket& want, const QueueStatus& got, const std::string& op) {
    const std::string diff = CompareStatus(want, got);
    return Check(diff.empty(), absl::StrCat(op, " differs from the model:\n", diff));
  }

  // Keeps every per-call sweep within any store's budget (see the top of the file).
  bool Guard(int e) {
    if (!model_->Exists(e) || model_->PendingDeadlines(e, clock_.Now()) <= kSweepGuard) {
      return true;
    }
    return DoSweepAll("guard");
  }

  // The room's answer updates the independent ghost bookkeeping.
  void Observe(TokenInfo& info, const QueueStatus& s, bool heartbeat) {
    if (s.state != UserState::kWaiting) {
      info.in_line = false;
      return;
    }
    if (heartbeat) {
      info.heartbeat_deadline = clock_.Now() + current_policy_[info.event].heartbeat_ttl;
    }
  }

  int RandomTokenIndex() {
    if (tokens_.empty()) return -1;
    const int r = Uniform(0, 99);
    if (r < 70) {
      // Mostly users who are still in the room, so that lines form and move.
      std::vector<int> live;
      for (const auto& [key, index] : latest_) {
        const TokenInfo& info = tokens_[index];
        auto it = model_->event(info.event).records.find(info.token);
        if (it != model_->event(info.event).records.end() &&
            (it->second.state == UserState::kWaiting || it->second.state == UserState::kActive)) {
          live.push_back(index);
        }
      }
      if (!live.empty()) return Pick(live);
    }
    if (r < 90) {
      // The latest token of a random (event, user), whatever became of it.
      for (int tries = 0; tries < 8; ++tries) {
        auto it = latest_.find({Uniform(0, kEvents - 1), Uniform(0, kUsers - 1)});
        if (it != latest_.end()) return it->second;
      }
    }
    return Uniform(0, static_cast<int>(tokens_.size()) - 1);  // maybe long forgotten
  }

  // ----- operations -----

  bool DoJoin() {
    const int e = Uniform(0, kEvents - 1);
    const int u = Uniform(0, kUsers - 1);
    const std::string user = absl::StrCat("u", u);
    if (!Guard(e)) return false;
    Log(absl::StrCat("Join(", kEventIds[e], ", ", user, ")"));
    const bool existed = model_->Exists(e);
    const absl::Time now = clock_.Now();
    MTicket want = model_->Join(e, user, now);
    auto got = room_->Join(kEventIds[e], user);
    if (!CheckCode(got.status(), want.code, "Join")) return false;
    if (!got.ok()) return true;
    if (!existed) {
      current_policy_[e] = options_.default_policy;
      segment_[e] = NewSegment(e);
    }
    want = model_->CommitJoin(e, user, got->token, now);
    if (!CheckTicket(want, *got, "Join")) return false;
    if (!Check(got->user_id == user && got->event_id == kEventIds[e], "Join echoes ids")) {
      return false;
    }
    TokenInfo info;
    info.token = got->token;
    info.event = e;
    info.user = u;
    info.join_index = next_join_index_++;
    info.in_line = true;
    info.heartbeat_deadline = now + current_policy_[e].heartbeat_ttl;
    latest_[{e, u}] = static_cast<int>(tokens_.size());
    tokens_.push_back(info);
    return true;
  }

  bool DoStatus(int i) {
    TokenInfo& info = tokens_[i];
    if (!Guard(info.event)) return false;
    Log(absl::StrCat("Status(", kEventIds[info.event], "/u", info.user, " #", i, ")"));
    MTicket want = model_->Status(info.event, info.token, clock_.Now());
    auto got = room_->Status(info.token);
    if (!CheckCode(got.status(), want.code, "Status")) return false;
    if (!got.ok()) {
      info.in_line = false;
      return true;
    }
    Observe(info, *got, /*heartbeat=*/true);
    return CheckTicket(want, *got, "Status");
  }

  bool DoEnter(int i) {
    TokenInfo& info = tokens_[i];
    if (!Guard(info.event)) return false;
    Log(absl::StrCat("Enter(", kEventIds[info.event], "/u", info.user, " #", i, ")"));
    const absl::Time now = clock_.Now();
    MEnter want = model_->Enter(info.event, info.token, now);
    auto got = room_->Enter(info.token);
    if (!CheckCode(got.status(), want.ticket.code, "Enter")) return false;
    if (!got.ok()) {
      info.in_line = false;
      return true;
    }
    if (!Check(got->granted == want.granted,
               absl::StrCat("Enter.granted: want ", want.granted, ", got ", got->granted,
                            " (reason ", Name(got->reason), ")"))) {
      return false;
    }
    if (!Check(got->repeated == want.repeated,
               absl::StrCat("Enter.repeated: want ", want.repeated, ", got ", got->repeated))) {
      return false;
    }
    if (got->granted && !got->repeated) {
      if (!Check(
              got->by_bypass == want.by_bypass,
              absl::StrCat("Enter.by_bypass: want ", want.by_bypass, ", got ", got->by_bypass))) {
        return false;
      }
      if (!Check(!got->reservation_token.empty() &&
                     got->reservation_token == got->status.reservation_token,
                 "a grant carries its reservation token")) {
        return false;
      }
      model_->SetReservation(info.event, info.token, got->reservation_token);
      want.ticket.reservation = got->reservation_token;
      admissions_[info.event].push_back({now, segment_[info.event], got->by_bypass});
    }
    if (got->granted) {
      if (!Check(got->reason == EntryBlock::kNone, "a grant has reason kNone")) return false;
    } else {
      if (!Check(got->reason == want.ticket.block,
                 absl::StrCat("Enter.reason: want ", Name(want.ticket.block), ", got ",
                              Name(got->reason)))) {
        return false;
      }
      if (!Check(got->retry_after == got->status.retry_after, "Enter.retry_after")) return false;
    }
    Observe(info, got->status, /*heartbeat=*/!got->granted);
    if (!CheckTicket(want.ticket, got->status, "Enter")) return false;
    if (got->granted && !got->repeated) {
      // Active never exceeds the capacity right after an admission.
      auto stats = room_->Stats(kEventIds[info.event]);
      model_->Stats(info.event, now);
      if (!Check(stats.ok(), "Stats after a grant")) return false;
      if (!Check(stats->active <= current_policy_[info.event].active_capacity,
                 absl::StrCat("active ", stats->active, " > capacity ",
                              current_policy_[info.event].active_capacity))) {
        return false;
      }
    }
    return true;
  }

  bool DoLeave(int i) {
    TokenInfo& info = tokens_[i];
    if (!Guard(info.event)) return false;
    Log(absl::StrCat("Leave(", kEventIds[info.event], "/u", info.user, " #", i, ")"));
    MTicket want = model_->Leave(info.event, info.token, clock_.Now());
    auto got = room_->Leave(info.token);
    if (!CheckCode(got.status(), want.code, "Leave")) return false;
    if (!got.ok()) {
      info.in_line = false;
      return true;
    }
    Observe(info, *got, false);
    return CheckTicket(want, *got, "Leave");
  }

  bool DoComplete(int i) {
    TokenInfo& info = tokens_[i];
    if (!Guard(info.event)) return false;
    Log(absl::StrCat("Complete(", kEventIds[info.event], "/u", info.user, " #", i, ")"));
    MTicket want = model_->Complete(info.event, info.token, clock_.Now());
    auto got = room_->Complete(info.token);
    if (!CheckCode(got.status(), want.code, "Complete")) return false;
    if (!got.ok()) return true;
    Observe(info, *got, false);
    return CheckTicket(want, *got, "Complete");
  }

  bool DoAdvance() {
    // Mostly small steps (heartbeats keep up, tiers and the bucket move), sometimes a jump past
    // every TTL.
    static const std::vector<absl::Duration> kSmall = {
        absl::ZeroDuration(),    absl::Milliseconds(125), absl::Milliseconds(250),
        absl::Milliseconds(250), absl::Milliseconds(500), absl::Milliseconds(500),
        absl::Seconds(1),        absl::Milliseconds(1500)};
    static const std::vector<absl::Duration> kLarge = {absl::Seconds(2), absl::Seconds(3),
                                                       absl::Seconds(7), absl::Seconds(12)};
    const absl::Duration d = Uniform(0, 9) == 0 ? Pick(kLarge) : Pick(kSmall);
    Log(absl::StrCat("Advance(", absl::FormatDuration(d), ")"));
    clock_.Advance(d);
    return true;
  }

  bool DoSweepAll(const char* why) {
    Log(absl::StrCat("SweepAll (", why, ")"));
    const int64_t want = model_->SweepAll(clock_.Now());
    auto got = room_->SweepAll();
    if (!Check(got.ok(), absl::StrCat("SweepAll: ", got.status().ToString()))) return false;
    if (!Check(*got == want, absl::StrCat("SweepAll removed ", *got, ", model ", want))) {
      return false;
    }
    if (std::string(why) != "timer") return true;
    // No ghost is counted once its heartbeat TTL has passed and a sweep has run.
    const absl::Time now = clock_.Now();
    for (int e = 0; e < kEvents; ++e) {
      if (!model_->Exists(e)) continue;
      int64_t live = 0;
      for (const TokenInfo& info : tokens_) {
        live += info.event == e && info.in_line && info.heartbeat_deadline > now;
      }
      auto stats = room_->Stats(kEventIds[e]);
      model_->Stats(e, now);
      if (!Check(stats.ok(), "Stats after SweepAll")) return false;
      if (!Check(stats->waiting == live,
                 absl::StrCat(kEventIds[e], ": Stats.waiting after a sweep is ", stats->waiting,
                              ", but only ", live, " users have a live heartbeat"))) {
        return false;
      }
    }
    return true;
  }

  bool DoSetPolicy() {
    const int e = Uniform(0, kEvents - 1);
    Policy p = RandomPolicy();
    if (!DoSweepAll("before SetPolicy")) return false;
    Log(absl::StrCat("SetPolicy(", kEventIds[e], ", rate=", p.admit_rate_per_sec,
                     " burst=", p.burst, " bypass=", p.bypass_top_n, " cap=", p.active_capacity,
                     " hb=", absl::FormatDuration(p.heartbeat_ttl),
                     " active=", absl::FormatDuration(p.active_ttl),
                     " ended=", absl::FormatDuration(p.ended_ttl), " tiers=", p.wait_tiers.size(),
                     " paused=", p.paused, ")"));
    model_->SetPolicy(e, p, clock_.Now());
    if (!Check(room_->SetPolicy(kEventIds[e], p).ok(), "SetPolicy")) return false;
    current_policy_[e] = p;
    segment_[e] = NewSegment(e);
    auto got = room_->GetPolicy(kEventIds[e]);
    return Check(got.ok() && *got == p, "GetPolicy returns the policy just set");
  }

  int NewSegment(int e) {
    segments_.push_back({current_policy_[e].admit_rate_per_sec, current_policy_[e].burst,
                         current_policy_[e].bypass_top_n});
    return static_cast<int>(segments_.size()) - 1;
  }

  bool DoStats(int e) {
    if (!Guard(e)) return false;
    Log(absl::StrCat("Stats(", kEventIds[e], ")"));
    const absl::Time now = clock_.Now();
    const bool exists = model_->Stats(e, now);
    const bool raw = Uniform(0, 1) == 0;
    if (!exists) {
      return CheckCode(room_->Stats(kEventIds[e]).status(), absl::StatusCode::kNotFound, "Stats");
    }
    const MEvent& ev = model_->event(e);
    const MCounters& c = ev.counters;
    std::ostringstream diff;
    auto cmp = [&](const char* field, double want, double got) {
      if (std::abs(want - got) > 1e-9) Mismatch(diff, field, Str(want), Str(got));
    };
    if (raw) {
      auto got = room_->store().Stats(kEventIds[e]);
      if (!Check(got.ok(), "store Stats")) return false;
      cmp("waiting", model_->Waiting(e), got->waiting);
      cmp("active", ev.active, got->active);
      cmp("joined_total", c.joined, got->joined_total);
      cmp("admitted_total", c.admitted, got->admitted_total);
      cmp("admitted_by_bypass", c.bypass, got->admitted_by_bypass);
      cmp("expired_total", c.expired, got->expired_total);
      cmp("active_timed_out_total", c.timed_out, got->active_timed_out_total);
      cmp("left_total", c.left, got->left_total);
      cmp("completed_total", c.completed, got->completed_total);
      cmp("bucket_tokens", ev.tokens, got->bucket_tokens);
      if (got->now != now) Mismatch(diff, "now", Str(now), Str(got->now));
      if (got->rate.windows.size() != ev.windows.size()) {
        Mismatch(diff, "windows", Str(ev.windows.size()), Str(got->rate.windows.size()));
      } else {
        for (size_t w = 0; w < ev.windows.size(); ++w) {
          cmp("window.admissions", Estimate(ev.windows[w], now), got->rate.windows[w].admissions);
          if (got->rate.windows[w].length != ev.windows[w].length) {
            Mismatch(diff, "window.length", Str(ev.windows[w].length),
                     Str(got->rate.windows[w].length));
          }
        }
      }
      if (got->rate.first_admission != ev.first_admission) {
        Mismatch(diff, "first_admission", Str(ev.first_admission), Str(got->rate.first_admission));
      }
      cmp("policy_rate_per_sec", ev.policy.admit_rate_per_sec, got->rate.policy_rate_per_sec);
      cmp("bypass_top_n", ev.policy.bypass_top_n, got->rate.bypass_top_n);
      cmp("paused", ev.policy.paused, got->rate.paused);
    } else {
      auto got = room_->Stats(kEventIds[e]);
      if (!Check(got.ok(), "Stats")) return false;
      cmp("waiting", model_->Waiting(e), got->waiting);
      cmp("active", ev.active, got->active);
      cmp("joined_total", c.joined, got->joined_total);
      cmp("admitted_total", c.admitted, got->admitted_total);
      cmp("admitted_by_bypass", c.bypass, got->admitted_by_bypass);
      cmp("expired_total", c.expired, got->expired_total);
      cmp("active_timed_out_total", c.timed_out, got->active_timed_out_total);
      cmp("left_total", c.left, got->left_total);
      cmp("completed_total", c.completed, got->completed_total);
      cmp("bucket_tokens", ev.tokens, got->bucket_tokens);
      if (!(got->rate_confidence >= 0 && got->rate_confidence <= 1)) {
        Mismatch(diff, "rate_confidence", "in [0, 1]", Str(got->rate_confidence));
      }
      if (!(got->admission_rate_per_sec >= 0)) {
        Mismatch(diff, "admission_rate_per_sec", ">= 0", Str(got->admission_rate_per_sec));
      }
    }
    return Check(diff.str().empty(),
                 absl::StrCat("Stats(", kEventIds[e], ") differs from the model:\n", diff.str()));
  }

  // Status of every token of the event the model still remembers (plus a few it forgot):
  // positions, prefix of ready users, one place per user.
  bool DoObserveAll(int e) {
    if (!Guard(e)) return false;
    Log(absl::StrCat("ObserveAll(", kEventIds[e], ")"));
    std::vector<int> indexes;
    int forgotten = 0;
    for (int i = 0; i < static_cast<int>(tokens_.size()); ++i) {
      if (tokens_[i].event != e) continue;
      if (model_->event(e).records.count(tokens_[i].token) == 0) {
        if (forgotten++ >= 3) continue;
      }
      indexes.push_back(i);
    }
    std::shuffle(indexes.begin(), indexes.end(), rng_);
    struct Seen {
      int64_t join_index;
      int64_t position;
      bool ready;
    };
    std::vector<Seen> line;
    std::map<int, int> places;  // user -> waiting or active records
    for (int i : indexes) {
      if (!DoStatusQuiet(i)) return false;
      const QueueStatus& s = last_status_;
      if (!last_status_ok_) continue;
      if (s.state == UserState::kWaiting) {
        line.push_back({tokens_[i].join_index, s.position, s.ready_for_entry});
      }
      if (s.state == UserState::kWaiting || s.state == UserState::kActive) {
        if (!Check(++places[tokens_[i].user] == 1,
                   absl::StrCat("u", tokens_[i].user, " holds two places in ", kEventIds[e]))) {
          return false;
        }
      }
    }
    std::sort(line.begin(), line.end(),
              [](const Seen& a, const Seen& b) { return a.join_index < b.join_index; });
    for (size_t k = 0; k < line.size(); ++k) {
      if (!Check(line[k].position == static_cast<int64_t>(k) + 1,
                 absl::StrCat("the ", k + 1, "-th live arrival has position ", line[k].position))) {
        return false;
      }
      if (!Check(k == 0 || !line[k].ready || line[k - 1].ready,
                 absl::StrCat("position ", k + 1, " is ready but position ", k, " is not"))) {
        return false;
      }
    }
    if (!model_->Exists(e)) return true;
    auto stats = room_->Stats(kEventIds[e]);
    model_->Stats(e, clock_.Now());
    if (!Check(stats.ok(), "Stats")) return false;
    return Check(
        stats->waiting == static_cast<int64_t>(line.size()),
        absl::StrCat("Stats.waiting ", stats->waiting, " but ", line.size(), " users are in line"));
  }

  // Like DoStatus, but keeps the answer for the caller and does not log.
  bool DoStatusQuiet(int i) {
    TokenInfo& info = tokens_[i];
    MTicket want = model_->Status(info.event, info.token, clock_.Now());
    auto got = room_->Status(info.token);
    last_status_ok_ = got.ok();
    if (!CheckCode(got.status(), want.code, absl::StrCat("Status(#", i, ")"))) return false;
    if (!got.ok()) {
      info.in_line = false;
      return true;
    }
    last_status_ = *got;
    Observe(info, *got, true);
    return CheckTicket(want, *got, absl::StrCat("Status(#", i, ")"));
  }

  bool DoBadInput() {
    const int e = Uniform(0, kEvents - 1);
    switch (Uniform(0, 3)) {
      case 0: {
        // A well-formed token nobody was given: NotFound (the call still sweeps the event).
        if (!Guard(e)) return false;
        const std::string token = NewToken(kEventIds[e]);
        Log(absl::StrCat("Status+Enter(unknown token of ", kEventIds[e], ")"));
        const absl::Time now = clock_.Now();
        const MTicket want = model_->Status(e, token, now);
        if (!Check(want.code == absl::StatusCode::kNotFound, "model: unknown token")) return false;
        model_->Enter(e, token, now);
        return CheckCode(room_->Status(token).status(), absl::StatusCode::kNotFound,
                         "Status(unknown)") &&
               CheckCode(room_->Enter(token).status(), absl::StatusCode::kNotFound,
                         "Enter(unknown)");
      }
      case 1:
        Log("Status(garbage)");
        return CheckCode(room_->Status("not-a-token").status(), absl::StatusCode::kInvalidArgument,
                         "Status(garbage)");
      case 2:
        Log("Join(bad user)");
        return CheckCode(room_->Join(kEventIds[e], "bad user").status(),
                         absl::StatusCode::kInvalidArgument, "Join(bad user)");
      default:
        Log("Join(bad event)");
        return CheckCode(room_->Join("bad event", "u1").status(),
                         absl::StatusCode::kInvalidArgument, "Join(bad event)");
    }
  }

  bool Step() {
    const int r = Uniform(0, 99);
    if (r < 18 || tokens_.empty()) return DoJoin();
    if (r < 38) return DoStatus(RandomTokenIndex());
    if (r < 60) return DoEnter(RandomTokenIndex());
    if (r < 64) return DoLeave(RandomTokenIndex());
    if (r < 71) return DoComplete(RandomTokenIndex());
    if (r < 81) return DoAdvance();
    if (r < 85) return DoSweepAll("timer");
    if (r < 87) return DoSetPolicy();
    if (r < 90) return DoObserveAll(Uniform(0, kEvents - 1));
    if (r < 98) return DoStats(Uniform(0, kEvents - 1));
    return DoBadInput();
  }

  // Over any interval T of constant policy (docs/rules.md, "why it borrows"): admissions that
  // did not use the bypass <= rate * T + burst; all admissions <= rate * T + burst + N.
  void CheckPacing() {
    for (int e = 0; e < kEvents; ++e) {
      std::map<int, std::vector<Admission>> by_segment;
      for (const Admission& a : admissions_[e]) by_segment[a.segment].push_back(a);
      for (const auto& [segment, all] : by_segment) {
        const Segment& s = segments_[segment];
        std::vector<absl::Time> paced;
        std::vector<absl::Time> every;
        for (const Admission& a : all) {
          if (!a.by_bypass) paced.push_back(a.at);
          every.push_back(a.at);
        }
        if (!CheckWindowCounts(e, "token admissions", paced, s.rate, s.burst)) return;
        if (!CheckWindowCounts(e, "admissions", every, s.rate, s.burst + s.bypass_top_n)) return;
      }
    }
  }

  // Every window [times[i], times[j]] holds at most rate * (times[j] - times[i]) + allowance.
  bool CheckWindowCounts(int e, const char* what, const std::vector<absl::Time>& times, double rate,
                         int64_t allowance) {
    for (size_t i = 0; i < times.size(); ++i) {
      for (size_t j = i; j < times.size(); ++j) {
        const double count = static_cast<double>(j - i + 1);
        const double bound =
            rate * absl::ToDoubleSeconds(times[j] - times[i]) + static_cast<double>(allowance);
        if (count > bound + 1e-6) {
          ADD_FAILURE() << kEventIds[e] << ": " << count << " " << what << " in "
                        << (times[j] - times[i]) << " at rate " << rate << ", allowance "
                        << allowance;
          return false;
        }
      }
    }
    return true;
  }

  SimulatedClock clock_;
  const absl::Time start_ = clock_.Now();
  std::mt19937_64 rng_;
  bool bypass_ = true;
  Options options_;
  std::unique_ptr<WaitingRoom> room_;
  std::unique_ptr<Model> model_;

  std::vector<TokenInfo> tokens_;
  std::map<std::pair<int, int>, int> latest_;  // (event, user) -> newest token index
  int64_t next_join_index_ = 0;
  Policy current_policy_[kEvents];
  int segment_[kEvents] = {0, 0};
  std::vector<Segment> segments_;
  std::vector<Admission> admissions_[kEvents];

  QueueStatus last_status_;
  bool last_status_ok_ = false;
  std::deque<std::string> history_;
  int step_ = 0;
  bool failed_ = false;
};

TEST_P(PropertyTest, RandomOperationsMatchTheModel) {
  if (!options_.create_events_on_join) {
    // Events must be opened by the operator; ev1 only opens if a random SetPolicy picks it.
    Policy p = RandomPolicy();
    model_->SetPolicy(0, p, clock_.Now());
    ASSERT_OK(room_->SetPolicy(kEventIds[0], p));
    current_policy_[0] = p;
    segment_[0] = NewSegment(0);
  }
  int64_t grants = 0;
  const double cost = std::max(1.0, std::min(50.0, std::get<0>(GetParam()).relative_cost));
  const int steps = static_cast<int>(kSteps / cost);
  for (step_ = 0; step_ < steps && !failed_; ++step_) {
    if (!Step()) break;
    grants = model_->event(0).counters.admitted + model_->event(1).counters.admitted;
  }
  if (failed_) return;
  CheckPacing();
  // The run must have reached interesting states. The shortened runs of the slower stores
  // (and of sanitizer builds) are too short to promise many; every step of them was still
  // checked against the model above, and the full-length memory runs hold the bar.
  const int64_t expired = model_->event(0).counters.expired + model_->event(1).counters.expired;
  if (steps >= kSteps) {
    EXPECT_GT(grants, 20);
    EXPECT_GT(expired, 5);
  } else if (steps >= 1000) {
    EXPECT_GT(grants, 5);
  }
  RecordProperty("admissions", static_cast<int>(grants));
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return absl::StrCat(std::get<0>(info.param).name, "_seed", std::get<1>(info.param),
                      std::get<2>(info.param) ? "_bypass" : "_strict");
}

INSTANTIATE_TEST_SUITE_P(AllStores, PropertyTest,
                         ::testing::Combine(::testing::ValuesIn(AllStoreFactories()),
                                            ::testing::Values(uint64_t{1}, uint64_t{2}, uint64_t{3},
                                                              uint64_t{4}, uint64_t{5}, uint64_t{6},
                                                              uint64_t{20260101}),
                                            ::testing::Bool()),
                         ParamName);

}  // namespace
}  // namespace testing
}  // namespace admission
