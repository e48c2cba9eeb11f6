// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// _admission: the pybind11 layer under the Python package `admission` (bindings/admission/).
//
// Conventions, the same in every binding below:
// - Durations are float seconds (an infinite absl::Duration is float('inf')); instants are float
//   seconds since the Unix epoch, or None for "never" (absl::InfinitePast/InfiniteFuture).
// - Enums are plain strings ("waiting", "not_your_turn", "fifo", ...), as the library names
//   them; each has a tuple of its names in the module (USER_STATES, ...), in the enum's order.
// - Every library call runs with the GIL released, so Python threads can drive one room
//   concurrently; results are converted to Python objects after the GIL is taken back.
// - A non-OK absl::Status becomes an instance of the matching class in admission.errors
//   (NotFound, AlreadyExists, ...), carrying the code: errors.py builds it from (code, message).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/room/join_refusal.h"
#include "admission/room/memory_store.h"
#include "admission/room/policy.h"
#include "admission/room/policy_fields.h"
#include "admission/room/store.h"
#include "admission/room/waiting_room.h"
#include "admission/version.h"
#include "calendar.h"
#ifdef ADMISSION_PY_WITH_REDIS
#include "admission/redis/open.h"
#endif

namespace py = pybind11;

namespace admission {
namespace python {
namespace {

using Release = py::call_guard<py::gil_scoped_release>;

// A non-OK status on its way to Python; translated into an admission.errors class.
class StatusError : public std::runtime_error {
 public:
  explicit StatusError(absl::Status status)
      : std::runtime_error(std::string(status.message())), status_(std::move(status)) {}
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

void Check(absl::Status status) {
  if (!status.ok()) throw StatusError(std::move(status));
}

template <typename T>
T Unwrap(absl::StatusOr<T> result) {
  if (!result.ok()) throw StatusError(result.status());
  return *std::move(result);
}

// --- Time ------------------------------------------------------------------------------------

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

absl::Duration ToDuration(double seconds, const char* what) {
  if (std::isnan(seconds)) {
    throw StatusError(absl::InvalidArgumentError(absl::StrCat(what, " must not be NaN")));
  }
  if (std::isinf(seconds)) {
    return seconds > 0 ? absl::InfiniteDuration() : -absl::InfiniteDuration();
  }
  return absl::Seconds(seconds);
}

// Seconds since the epoch as a float, the whole seconds and the fraction converted apart:
// ToDoubleSeconds of the whole span counts in quarter-nanosecond ticks beyond 2^53 and would
// turn 1767225700.25 into 1767225700.2499998.
double EpochSeconds(absl::Time t) {
  const int64_t whole = absl::ToUnixSeconds(t);  // floor
  return static_cast<double>(whole) + absl::ToDoubleSeconds(t - absl::FromUnixSeconds(whole));
}

// Seconds since the epoch, or None for the infinite past/future ("never").
py::object Instant(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return py::none();
  return py::float_(EpochSeconds(t));
}

absl::Time ToTime(double seconds_since_epoch) {
  return absl::UnixEpoch() + ToDuration(seconds_since_epoch, "time");
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// An optional instant of a Policy: None when unset.
py::object OptionalInstant(const std::optional<absl::Time>& t) {
  if (!t) return py::none();
  return py::float_(EpochSeconds(*t));
}

std::optional<absl::Time> ToOptionalTime(const std::optional<double>& seconds_since_epoch) {
  if (!seconds_since_epoch) return std::nullopt;
  return ToTime(*seconds_since_epoch);
}

// An optional instant for an eval-able repr: "None", or Python's repr of the float seconds
// (all their digits). Needs the GIL.
std::string InstantRepr(const std::optional<absl::Time>& t) {
  return py::repr(OptionalInstant(t)).cast<std::string>();
}

// An instant for people: UTC, with as many fractional digits as it has (the library's format).
std::string FormatInstant(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string FormatSeconds(double s) {
  if (std::isinf(s)) return s > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.3gs", s);
}

// --- The room --------------------------------------------------------------------------------

// What Python holds: the room, and the simulated clock it reads (kept alive as long as the room).
struct Room {
  std::shared_ptr<SimulatedClock> clock;  // declared first: destroyed after the room
  std::unique_ptr<WaitingRoom> room;
  std::string store_name;

  WaitingRoom& get() {
    if (room == nullptr) throw StatusError(absl::FailedPreconditionError("the room is closed"));
    return *room;
  }
};

struct RoomArgs {
  std::string store = "memory";
  std::shared_ptr<SimulatedClock> clock;
  std::optional<Policy> default_policy;
  bool create_events_on_join = true;
  std::optional<double> sweep_interval;
  int64_t sweep_batch = 1000;
  double min_poll_interval = 1.0;
  double max_poll_interval = 30.0;
  int64_t sweep_per_call = 64;
  int redis_pool_size = 4;
  double redis_connect_timeout = 1.0;
  double redis_command_timeout = 2.0;
  std::string redis_key_prefix = "adm";
  std::optional<uint64_t> event_secret_seed;
};

// The per-event secret behind the pre-queue shuffle and the random method's draws, derived
// from a seed given from Python (tests and simulations only: whoever knows the seed can
// predict every draw). The library's SeededEventSecret, so that a Python run and a C++ one
// with one seed draw alike; computed in C++ so that the store never calls back into Python
// (it asks under its own locks).
std::function<uint64_t(std::string_view)> EventSecretOf(const std::optional<uint64_t>& seed) {
  if (!seed) return nullptr;  // the store's default: the kernel's CSPRNG
  return SeededEventSecrets(*seed);
}

// Runs without the GIL (a Redis store connects to its server here).
std::shared_ptr<Room> MakeRoom(const RoomArgs& args) {
  Options options;
  if (args.default_policy) options.default_policy = *args.default_policy;
  options.create_events_on_join = args.create_events_on_join;
  // With a simulated clock, a background sweeper would sweep in wall-clock time while the
  // simulation jumps: off unless asked for (call sweep_all() instead).
  const double sweep = args.sweep_interval.value_or(args.clock ? 0.0 : 1.0);
  options.sweep_interval = ToDuration(sweep, "sweep_interval");
  options.sweep_batch = args.sweep_batch;
  options.min_poll_interval = ToDuration(args.min_poll_interval, "min_poll_interval");
  options.max_poll_interval = ToDuration(args.max_poll_interval, "max_poll_interval");

  auto room = std::make_shared<Room>();
  room->clock = args.clock;
#ifdef ADMISSION_PY_WITH_REDIS
  StoreUrlOptions store_options;
  store_options.clock = args.clock.get();
  store_options.sweep_per_call = args.sweep_per_call;
  store_options.event_secret = EventSecretOf(args.event_secret_seed);
  store_options.redis.pool_size = args.redis_pool_size;
  store_options.redis.connect_timeout =
      ToDuration(args.redis_connect_timeout, "redis_connect_timeout");
  store_options.redis.command_timeout =
      ToDuration(args.redis_command_timeout, "redis_command_timeout");
  store_options.redis.key_prefix = args.redis_key_prefix;
  OpenedStores opened = Unwrap(OpenStoreUrl(args.store, store_options));
  room->room = Unwrap(WaitingRoom::Create(std::move(opened.room), options));
  room->store_name = std::move(opened.name);
  return room;
#else
  if (args.store == "memory") {
    MemoryStoreOptions store_options;
    store_options.clock = args.clock.get();
    store_options.sweep_per_call = args.sweep_per_call;
    store_options.event_secret = EventSecretOf(args.event_secret_seed);
    room->room = Unwrap(WaitingRoom::Create(NewMemoryStore(store_options), options));
    room->store_name = "memory";
    return room;
  }
  throw StatusError(absl::FailedPreconditionError(absl::StrCat(
      "store ", Quoted(args.store), ": this build has no Redis store (ADMISSION_WITH_REDIS=OFF)")));
#endif
}

// --- Policy conversions ----------------------------------------------------------------------

using PyTier = std::pair<std::optional<int64_t>, double>;

std::vector<PyTier> TiersToPython(const std::vector<WaitTier>& tiers) {
  std::vector<PyTier> out;
  for (const WaitTier& t : tiers) {
    std::optional<int64_t> max;
    if (t.max_position != WaitTier::kUnboundedPosition) max = t.max_position;
    out.emplace_back(max, Seconds(t.min_wait));
  }
  return out;
}

std::vector<WaitTier> TiersFromPython(const std::vector<PyTier>& tiers) {
  std::vector<WaitTier> out;
  for (const PyTier& t : tiers) {
    WaitTier tier;
    tier.max_position = t.first.value_or(WaitTier::kUnboundedPosition);
    tier.min_wait = ToDuration(t.second, "wait_tiers wait");
    out.push_back(tier);
  }
  return out;
}

// A field's value as Python's repr shows it, one overload per kind of field
// (admission/room/policy_fields.h). Needs the GIL (times).
std::string PolicyValueRepr(const RateField&, double rate) { return absl::StrCat(rate); }
std::string PolicyValueRepr(const CountField&, int64_t count) { return absl::StrCat(count); }
std::string PolicyValueRepr(const DurationField&, absl::Duration d) {
  return absl::StrCat(Seconds(d));
}
std::string PolicyValueRepr(const TiersField&, const std::vector<WaitTier>& tiers) {
  std::string out;
  for (const PyTier& t : TiersToPython(tiers)) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "(", t.first ? absl::StrCat(*t.first) : "None",
                    ", ", t.second, ")");
  }
  return absl::StrCat("[", out, "]");
}
std::string PolicyValueRepr(const WindowsField&, const std::vector<absl::Duration>& windows) {
  std::string out;
  for (absl::Duration w : windows) absl::StrAppend(&out, out.empty() ? "" : ", ", Seconds(w));
  return absl::StrCat("[", out, "]");
}
std::string PolicyValueRepr(const BoolField&, bool on) { return on ? "True" : "False"; }
std::string PolicyValueRepr(const TextField&, const std::string& text) { return Quoted(text); }
std::string PolicyValueRepr(const TimeField&, const std::optional<absl::Time>& t) {
  return InstantRepr(t);
}
std::string PolicyValueRepr(const MethodField&, QueueMethod method) {
  return Quoted(QueueMethodName(method));
}

std::string PolicyRepr(const Policy& p) {
  std::string fields;
  ForEachPolicyField([&](const auto& field) {
    absl::StrAppend(&fields, fields.empty() ? "" : ", ", field.name, "=",
                    PolicyValueRepr(field, p.*field.member));
  });
  return absl::StrCat("Policy(", fields, ")");
}

// A field as a property of Policy, one overload per kind of field: durations in float seconds,
// the schedule's instants in float seconds since the epoch or None, the method by name.
void AddPolicyProperty(py::class_<Policy>& cls, const RateField& f) {
  cls.def_readwrite(f.name, f.member, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const CountField& f) {
  cls.def_readwrite(f.name, f.member, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const DurationField& f) {
  const auto member = f.member;
  const char* const name = f.name;
  cls.def_property(
      f.name, [member](const Policy& p) { return Seconds(p.*member); },
      [member, name](Policy& p, double seconds) { p.*member = ToDuration(seconds, name); }, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const TiersField& f) {
  const auto member = f.member;
  cls.def_property(
      f.name, [member](const Policy& p) { return TiersToPython(p.*member); },
      [member](Policy& p, const std::vector<PyTier>& t) { p.*member = TiersFromPython(t); }, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const WindowsField& f) {
  const auto member = f.member;
  const char* const name = f.name;
  cls.def_property(
      f.name,
      [member](const Policy& p) {
        std::vector<double> out;
        for (absl::Duration w : p.*member) out.push_back(Seconds(w));
        return out;
      },
      [member, name](Policy& p, const std::vector<double>& windows) {
        (p.*member).clear();
        for (double w : windows) (p.*member).push_back(ToDuration(w, name));
      },
      f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const BoolField& f) {
  cls.def_readwrite(f.name, f.member, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const TextField& f) {
  cls.def_readwrite(f.name, f.member, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const TimeField& f) {
  const auto member = f.member;
  cls.def_property(
      f.name, [member](const Policy& p) { return OptionalInstant(p.*member); },
      [member](Policy& p, std::optional<double> t) { p.*member = ToOptionalTime(t); }, f.doc);
}
void AddPolicyProperty(py::class_<Policy>& cls, const MethodField& f) {
  const auto member = f.member;
  cls.def_property(
      f.name, [member](const Policy& p) { return std::string(QueueMethodName(p.*member)); },
      [member](Policy& p, const std::string& name) { p.*member = Unwrap(ParseQueueMethod(name)); },
      f.doc);
}

// --- Batches (Crowd) -------------------------------------------------------------------------

// A numpy copy of `v` (needs the GIL).
py::array_t<int64_t> ToArray(const std::vector<int64_t>& v) {
  py::array_t<int64_t> a(static_cast<py::ssize_t>(v.size()));
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(int64_t));
  return a;
}

// Outcome codes of one user in a batch call, as small integers for numpy.
constexpr int8_t kNoState = -1;

int8_t StateCode(UserState s) { return static_cast<int8_t>(s); }
int8_t BlockCode(EntryBlock b) { return static_cast<int8_t>(b); }

// One numpy array of a batch answer: made with the GIL held, then written through `data`
// without it (nothing resizes the array in between).
template <typename T>
struct Column {
  explicit Column(size_t n) : array(static_cast<py::ssize_t>(n)), data(array.mutable_data()) {}
  void Fill(size_t n, T value) { std::fill(data, data + n, value); }

  py::array_t<T> array;
  T* data;
};

// The answer to one batch call, one column per field, written in place: no per-user Python
// object and no copy on the way out.
struct BatchResult {
  explicit BatchResult(size_t n)
      : n(n),
        error(n),
        state(n),
        ready(n),
        position(n),
        eta(n),
        confidence(n),
        poll_after(n),
        retry_after(n),
        blocked_by(n),
        granted(n),
        by_bypass(n) {}

  // The defaults of a user whose call failed (no GIL needed).
  void Clear() {
    error.Fill(n, 0);
    state.Fill(n, kNoState);
    ready.Fill(n, false);
    position.Fill(n, 0);
    eta.Fill(n, 0);
    confidence.Fill(n, 0);
    poll_after.Fill(n, 0);
    retry_after.Fill(n, 0);
    blocked_by.Fill(n, BlockCode(EntryBlock::kNotWaiting));
    granted.Fill(n, false);
    by_bypass.Fill(n, false);
  }

  void SetError(size_t i, absl::StatusCode code) { error.data[i] = static_cast<int32_t>(code); }

  void Set(size_t i, const QueueStatus& s) {
    state.data[i] = StateCode(s.state);
    ready.data[i] = s.ready_for_entry;
    position.data[i] = s.position;
    eta.data[i] = Seconds(s.eta);
    confidence.data[i] = s.eta_confidence;
    poll_after.data[i] = Seconds(s.poll_after);
    retry_after.data[i] = Seconds(s.retry_after);
    blocked_by.data[i] = BlockCode(s.blocked_by);
  }

  void Set(size_t i, const EnterResult& r) {
    Set(i, r.status);
    SetEntered(i, r);
  }

  // What enter changed for a user whose status answer is already in row i: the outcome, the
  // state and when to come back. The place and the ETA stay the status's.
  void SetEntered(size_t i, const EnterResult& r) {
    state.data[i] = StateCode(r.status.state);
    poll_after.data[i] = Seconds(r.status.poll_after);
    granted.data[i] = r.granted;
    by_bypass.data[i] = r.by_bypass;
    blocked_by.data[i] = BlockCode(r.granted ? r.status.blocked_by : r.reason);
    retry_after.data[i] = Seconds(r.granted ? r.status.retry_after : r.retry_after);
  }

  py::dict ToDict() const {
    py::dict d;
    d["error"] = error.array;
    d["state"] = state.array;
    d["ready"] = ready.array;
    d["position"] = position.array;
    d["eta"] = eta.array;
    d["confidence"] = confidence.array;
    d["poll_after"] = poll_after.array;
    d["retry_after"] = retry_after.array;
    d["blocked_by"] = blocked_by.array;
    d["granted"] = granted.array;
    d["by_bypass"] = by_bypass.array;
    return d;
  }

  size_t n;
  Column<int32_t> error;  // absl::StatusCode; 0 when OK
  Column<int8_t> state;   // UserState, -1 on error
  Column<bool> ready;
  Column<int64_t> position;
  Column<double> eta, confidence, poll_after, retry_after;
  Column<int8_t> blocked_by;
  Column<bool> granted, by_bypass;
};

// Many users of one event addressed by small integers, driven in batches: one Python call does
// the library calls of thousands of users (GIL released) and answers with numpy arrays. This
// is only a loop over WaitingRoom's public calls: the rules stay in the library.
class Crowd {
 public:
  Crowd(std::shared_ptr<Room> room, std::string event_id, std::string user_prefix)
      : room_(std::move(room)),
        event_id_(std::move(event_id)),
        prefix_(std::move(user_prefix)),
        stride_(event_id_.size() + 1 + kTokenRandomHexDigits) {}

  const std::string& event_id() const { return event_id_; }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return Slots();
  }
  std::string token(int64_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string_view t = Token(i);
    if (t.empty()) {
      throw StatusError(absl::NotFoundError(absl::StrCat("user ", i, " has not joined")));
    }
    return std::string(t);
  }

  // kPoll is what clients whose poll timers fire at one instant do: status (the heartbeat), and
  // enter at once for those told they are ready. All the statuses come first, then the enters,
  // in batch order.
  enum class Op { kJoin, kStatus, kEnter, kLeave, kComplete, kPoll };

  py::dict Run(Op op, const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& idx) {
    // A copy, so that another thread changing the caller's array cannot race with the loop.
    std::vector<int64_t> users(idx.data(), idx.data() + idx.size());
    for (int64_t u : users) {
      if (u < 0) throw StatusError(absl::InvalidArgumentError("user indices must be >= 0"));
    }
    BatchResult result(users.size());
    {
      py::gil_scoped_release release;
      result.Clear();
      std::lock_guard<std::mutex> lock(mu_);
      RunLocked(op, users, result);
    }
    return result.ToDict();
  }

 private:
  // How many users ahead the loop prefetches tokens: a library call takes microseconds, so a
  // few calls ahead hides the cache miss on a token among hundreds of thousands.
  static constexpr size_t kPrefetchAhead = 8;

  size_t Slots() const { return slots_; }

  // User i's token, or empty if i has not joined. Tokens sit in one array, `stride_` characters
  // each (a token's length is fixed by its event id), so finding one costs no pointer chase.
  std::string_view Token(int64_t i) const {
    if (i < 0 || static_cast<size_t>(i) >= Slots()) return {};
    const char* slot = tokens_.data() + static_cast<size_t>(i) * stride_;
    if (slot[0] == '\0') return {};
    return std::string_view(slot, stride_);
  }

  void RunLocked(Op op, const std::vector<int64_t>& users, BatchResult& r) {
    WaitingRoom& room = room_->get();
    if (op == Op::kJoin) {
      JoinLocked(room, users, r);
      return;
    }
    std::vector<size_t> ready;  // kPoll: the rows to enter once every status is in
    const auto row = [](size_t i) { return i; };
    ForEachJoined(users, users.size(), row, r, [&](size_t i, std::string_view token) {
      if (op == Op::kEnter) {
        absl::StatusOr<EnterResult> entered = room.Enter(token);
        if (!entered.ok()) return r.SetError(i, entered.status().code());
        return r.Set(i, *entered);
      }
      absl::StatusOr<QueueStatus> s = op == Op::kLeave      ? room.Leave(token)
                                      : op == Op::kComplete ? room.Complete(token)
                                                            : room.Status(token);
      if (!s.ok()) return r.SetError(i, s.status().code());
      r.Set(i, *s);
      if (op == Op::kPoll && s->state == UserState::kWaiting && s->ready_for_entry) {
        ready.push_back(i);
      }
    });
    const auto ready_row = [&ready](size_t j) { return ready[j]; };
    ForEachJoined(users, ready.size(), ready_row, r, [&](size_t i, std::string_view token) {
      absl::StatusOr<EnterResult> entered = room.Enter(token);
      if (!entered.ok()) {
        r.state.data[i] = kNoState;
        return r.SetError(i, entered.status().code());
      }
      r.SetEntered(i, *entered);
    });
  }

  void JoinLocked(WaitingRoom& room, const std::vector<int64_t>& users, BatchResult& r) {
    for (size_t i = 0; i < users.size(); ++i) {
      const int64_t u = users[i];
      absl::StatusOr<QueueStatus> joined = room.Join(event_id_, absl::StrCat(prefix_, u));
      if (!joined.ok()) {
        r.SetError(i, joined.status().code());
        continue;
      }
      if (joined->token.size() != stride_) {  // not "<event id>.<hex digits>"
        r.SetError(i, absl::StatusCode::kInternal);
        continue;
      }
      if (static_cast<size_t>(u) >= slots_) {
        slots_ = static_cast<size_t>(u) + 1;
        tokens_.resize(slots_ * stride_, '\0');
      }
      tokens_.replace(static_cast<size_t>(u) * stride_, stride_, joined->token);
      r.Set(i, *joined);
    }
  }

  // Calls f(i, token) for the rows i = row(0) .. row(n - 1) of `users`, in that order; a user
  // who has not joined gets NotFound instead. Tokens a few rows ahead are prefetched (written
  // out here: GCC drops the prefetches of a small helper it finds pure).
  template <typename Row, typename F>
  void ForEachJoined(const std::vector<int64_t>& users, size_t n, const Row& row, BatchResult& r,
                     F&& f) {
    for (size_t j = 0; j < n; ++j) {
      if (j + kPrefetchAhead < n) {
        const int64_t ahead = users[row(j + kPrefetchAhead)];
        if (static_cast<size_t>(ahead) < slots_) {
          const char* slot = tokens_.data() + static_cast<size_t>(ahead) * stride_;
          __builtin_prefetch(slot);
          __builtin_prefetch(slot + stride_ - 1);
        }
      }
      const size_t i = row(j);
      const std::string_view token = Token(users[i]);
      if (token.empty()) {
        r.SetError(i, absl::StatusCode::kNotFound);
        continue;
      }
      f(i, token);
    }
  }

  std::shared_ptr<Room> room_;
  const std::string event_id_;
  const std::string prefix_;
  const size_t stride_;  // the length of every token of the event
  std::mutex mu_;
  std::string tokens_;  // user i's token at [i * stride_, (i + 1) * stride_); '\0's until joined
  size_t slots_ = 0;    // tokens_.size() / stride_
};

// How many values the library's enums have (the last one + 1), for the name tuples.
constexpr int kUserStates = static_cast<int>(UserState::kPrequeue) + 1;
constexpr int kQueueMethods = static_cast<int>(QueueMethod::kReject) + 1;

// --- Error translation -----------------------------------------------------------------------

void TranslateErrors(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const StatusError& e) {
    // admission.errors.from_status(code, message) -> an exception instance of the right class.
    // A join refused by the schedule or the method also carries why, and the time.
    py::object errors = py::module_::import("admission.errors");
    py::dict refusal;
    if (std::optional<JoinRefusal> r = JoinRefusalOf(e.status())) {
      refusal["refusal"] = std::string(JoinRefusalName(r->reason));
      refusal["at"] = Instant(r->at);
    }
    py::object exc = errors.attr("from_status")(static_cast<int>(e.status().code()),
                                                std::string(e.status().message()), **refusal);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  }
}

}  // namespace

void Bind(py::module_& m) {
  m.doc() =
      "Compiled core of the `admission` package (virtual waiting rooms). Import `admission`, "
      "not this module: the package adds the exception classes and the simulator.";
  m.attr("__version__") = ADMISSION_VERSION_STRING;
#ifdef ADMISSION_PY_WITH_REDIS
  m.attr("has_redis") = true;
#else
  m.attr("has_redis") = false;
#endif
  py::register_exception_translator(&TranslateErrors);

  // The library's names, in the order of its enums, so that Crowd's integer columns index them.
  py::tuple user_states(kUserStates);
  for (int i = 0; i < kUserStates; ++i) {
    user_states[i] = py::str(std::string(UserStateName(static_cast<UserState>(i))));
  }
  m.attr("USER_STATES") = user_states;
  m.attr("ENTRY_BLOCKS") = py::make_tuple("none", "paused", "capacity_full", "not_your_turn",
                                          "tier_wait", "not_waiting");
  py::tuple methods(kQueueMethods);
  for (int i = 0; i < kQueueMethods; ++i) {
    methods[i] = py::str(std::string(QueueMethodName(static_cast<QueueMethod>(i))));
  }
  m.attr("QUEUE_METHODS") = methods;

  // --- SimulatedClock ---
  py::class_<SimulatedClock, std::shared_ptr<SimulatedClock>>(
      m, "SimulatedClock",
      "A clock that only moves when told to; give it to a WaitingRoom to run the library in\n"
      "simulated time (tests, the simulator). Times are float seconds since the Unix epoch.\n"
      "Thread-safe. Time never goes backwards: negative steps are ignored.")
      .def(py::init([](std::optional<double> start) {
             if (!start) return std::make_shared<SimulatedClock>();
             return std::make_shared<SimulatedClock>(ToTime(*start));
           }),
           py::arg("start") = py::none(),
           "Starts at `start` (seconds since the epoch), by default 2026-01-01 00:00:00 UTC.")
      .def_property_readonly(
          "now", [](SimulatedClock& c) { return EpochSeconds(c.Now()); },
          "The current simulated time, in seconds since the Unix epoch.")
      .def(
          "advance",
          [](SimulatedClock& c, double seconds) { c.Advance(ToDuration(seconds, "seconds")); },
          py::arg("seconds"), "Moves time forward by `seconds` (a negative step is ignored).")
      .def(
          "advance_to", [](SimulatedClock& c, double t) { c.AdvanceTo(ToTime(t)); }, py::arg("t"),
          "Jumps to `t` (seconds since the epoch) if it is later than now.")
      .def("__repr__", [](SimulatedClock& c) {
        return absl::StrCat("SimulatedClock(now='", absl::FormatTime(c.Now(), absl::UTCTimeZone()),
                            "')");
      });

  // --- Policy ---
  py::class_<Policy> policy(
      m, "Policy",
      "The per-event policy: every knob an operator can turn while a room runs.\n\n"
      "Durations are float seconds; the schedule's instants (prequeue_opens_at, opens_at,\n"
      "closes_at) float seconds since the epoch, or None when unset; `method` a string.\n"
      "`wait_tiers` is a list of (max_position, min_wait) pairs,\n"
      "the last one with max_position None (every position beyond). Properties return copies:\n"
      "assign a whole new list to change tiers or windows. Policy(**fields) starts from the\n"
      "library's defaults and sets the fields given.");
  policy
      .def(py::init([](const py::kwargs& kwargs) {
             py::object obj = py::cast(Policy());
             for (auto item : kwargs) {
               const std::string key = py::str(item.first);
               if (!py::hasattr(obj, key.c_str()) || key.rfind("_", 0) == 0 || key == "validate" ||
                   key == "tier_wait" || key == "to_dict" || key == "copy") {
                 throw py::type_error(
                     absl::StrCat("Policy() got an unexpected keyword argument ", Quoted(key)));
               }
               py::setattr(obj, key.c_str(), item.second);
             }
             return obj.cast<Policy>();
           }),
           "Policy(**fields): the defaults, with the given fields set.")
      .def(
          "validate", [](const Policy& p) { Check(ValidatePolicy(p)); },
          "Raises admission.InvalidArgument naming the first field out of range.")
      .def(
          "tier_wait",
          [](const Policy& p, int64_t position) {
            return Seconds(TierWait(p.wait_tiers, position));
          },
          py::arg("position"), "The wait (seconds) a user at `position` must have served.")
      .def(
          "copy", [](const Policy& p) { return Policy(p); }, "A copy of this policy.")
      .def("__copy__", [](const Policy& p) { return Policy(p); })
      .def("__deepcopy__", [](const Policy& p, py::dict) { return Policy(p); })
      .def("__eq__", [](const Policy& a, const Policy& b) { return a == b; })
      .def("__eq__", [](const Policy&, const py::object&) { return false; })
      .def("__repr__", &PolicyRepr);
  policy.attr("__hash__") = py::none();
  ForEachPolicyField([&policy](const auto& field) { AddPolicyProperty(policy, field); });

  // --- QueueStatus ---
  py::class_<QueueStatus>(m, "QueueStatus",
                          "What a user in line is shown (the answer to join, status, leave and "
                          "complete). Read-only.")
      .def_readonly("event_id", &QueueStatus::event_id)
      .def_readonly("user_id", &QueueStatus::user_id)
      .def_readonly("token", &QueueStatus::token, "The waiting token (keep it to poll).")
      .def_property_readonly(
          "state", [](const QueueStatus& s) { return std::string(UserStateName(s.state)); },
          "'prequeue', 'waiting', 'active', 'expired', 'left' or 'completed'.")
      .def_property_readonly(
          "status", [](const QueueStatus& s) { return std::string(s.status_name()); },
          "Like `state`, but 'ready' for a waiting user who may enter now.")
      .def_readonly("ready_for_entry", &QueueStatus::ready_for_entry)
      .def_readonly("position", &QueueStatus::position,
                    "1-based place in line counting live users ahead; 0 when not waiting (and\n"
                    "when pre-queued).")
      .def_readonly("position_high", &QueueStatus::position_high,
                    "The last place the user can have: position, except for a user of the\n"
                    "'random' method not drawn yet (the place lies in position..position_high)\n"
                    "and a pre-queued one (the opening draws it in 1..position_high).")
      .def_readonly("ahead_unreached", &QueueStatus::ahead_unreached,
                    "Waiting users ahead whom the grants have not reached yet (granted or\n"
                    "passed over): the people still to be served before this user's turn; 0\n"
                    "once reached.")
      .def_property_readonly(
          "grant_expires_at", [](const QueueStatus& s) { return Instant(s.grant_expires_at); },
          "While the user holds a grant (ready_for_entry): when it lapses unless they enter\n"
          "(seconds since the epoch); None otherwise.")
      .def_property_readonly(
          "eta", [](const QueueStatus& s) { return Seconds(s.eta); },
          "Estimated seconds until the user may enter (inf when nobody is admitted); the\n"
          "middle of eta_low..eta_high when the place is a range.")
      .def_property_readonly(
          "eta_low", [](const QueueStatus& s) { return Seconds(s.eta_low); },
          "The ETA of the nearest place the user can have (poll advice follows it).")
      .def_property_readonly(
          "eta_high", [](const QueueStatus& s) { return Seconds(s.eta_high); },
          "The ETA of the farthest place (position_high).")
      .def_property_readonly(
          "opens_at", [](const QueueStatus& s) { return Instant(s.opens_at); },
          "Pre-queued users: when the event opens and their place is drawn (seconds since\n"
          "the epoch); None otherwise.")
      .def_readonly("eta_confidence", &QueueStatus::eta_confidence,
                    "How much to trust the ETA, 0..1.")
      .def_property_readonly(
          "waited", [](const QueueStatus& s) { return Seconds(s.waited); },
          "Seconds since the user joined.")
      .def_property_readonly(
          "poll_after", [](const QueueStatus& s) { return Seconds(s.poll_after); },
          "Seconds to wait before the next status call.")
      .def_property_readonly(
          "blocked_by",
          [](const QueueStatus& s) { return std::string(EntryBlockName(s.blocked_by)); },
          "Why the user may not enter yet: 'none' when ready, 'paused', 'capacity_full', "
          "'not_your_turn', 'tier_wait' or 'not_waiting'.")
      .def_property_readonly(
          "retry_after", [](const QueueStatus& s) { return Seconds(s.retry_after); },
          "Earliest useful retry of enter, in seconds.")
      .def_readonly("paused_reason", &QueueStatus::paused_reason)
      .def_readonly("queue_message", &QueueStatus::queue_message,
                    "The operator's message to the line ('' when none, or not in line).")
      .def_property_readonly(
          "reservation_token",
          [](const QueueStatus& s) -> py::object {
            if (s.reservation_token.empty()) return py::none();
            return py::str(s.reservation_token);
          },
          "Set once admitted, else None.")
      .def_property_readonly(
          "reservation_expires_at",
          [](const QueueStatus& s) { return Instant(s.reservation_expires_at); },
          "Seconds since the epoch, or None.")
      .def_property_readonly(
          "now", [](const QueueStatus& s) { return Instant(s.now); },
          "The store's time of this answer (seconds since the epoch).")
      .def("__repr__", [](const QueueStatus& s) {
        // A range of places reads "low..high"; a pre-queued user has position 0 and the
        // opening draws their place in 1..position_high.
        std::string place = absl::StrCat(s.position);
        if (s.state == UserState::kPrequeue) {
          place = absl::StrCat(s.position, ", position_high=", s.position_high);
        } else if (s.position_high > s.position) {
          absl::StrAppend(&place, "..", s.position_high);
        }
        std::string eta = FormatSeconds(Seconds(s.eta));
        if (s.eta_high > s.eta_low) {
          eta = absl::StrCat(FormatSeconds(Seconds(s.eta_low)), "..",
                             FormatSeconds(Seconds(s.eta_high)));
        }
        std::string opens;
        if (s.state == UserState::kPrequeue) {
          opens = absl::StrCat(", opens_at=", Quoted(FormatInstant(s.opens_at)));
        }
        return absl::StrCat("QueueStatus(status=", Quoted(s.status_name()), opens,
                            ", position=", place, ", eta=", eta,
                            ", eta_confidence=", absl::StrFormat("%.2f", s.eta_confidence),
                            ", poll_after=", FormatSeconds(Seconds(s.poll_after)),
                            ", blocked_by=", Quoted(EntryBlockName(s.blocked_by)),
                            ", user_id=", Quoted(s.user_id), ")");
      });

  // --- EnterResult ---
  py::class_<EnterResult>(m, "EnterResult",
                          "The answer to enter: a grant (with a reservation token) or a denial "
                          "with a reason and a retry-after. Truthy when granted. Read-only.")
      .def_readonly("granted", &EnterResult::granted)
      .def_readonly("by_bypass", &EnterResult::by_bypass,
                    "Admitted within the top-N bypass while the bucket was empty.")
      .def_readonly("repeated", &EnterResult::repeated,
                    "The user had already been admitted; the first grant is returned.")
      .def_property_readonly("reservation_token",
                             [](const EnterResult& r) -> py::object {
                               if (r.reservation_token.empty()) return py::none();
                               return py::str(r.reservation_token);
                             })
      .def_property_readonly("reservation_expires_at",
                             [](const EnterResult& r) { return Instant(r.reservation_expires_at); })
      .def_property_readonly(
          "reason", [](const EnterResult& r) { return std::string(EntryBlockName(r.reason)); },
          "On denial, why ('none' when granted).")
      .def_readonly("message", &EnterResult::message, "On denial, words a user can be shown.")
      .def_property_readonly("retry_after",
                             [](const EnterResult& r) { return Seconds(r.retry_after); })
      .def_readonly("status", &EnterResult::status, "The user's QueueStatus after the call.")
      .def("__bool__", [](const EnterResult& r) { return r.granted; })
      .def("__repr__", [](const EnterResult& r) {
        if (r.granted) {
          return absl::StrCat(
              "EnterResult(granted=True, by_bypass=", r.by_bypass ? "True" : "False",
              ", repeated=", r.repeated ? "True" : "False", ")");
        }
        return absl::StrCat("EnterResult(granted=False, reason=", Quoted(EntryBlockName(r.reason)),
                            ", retry_after=", FormatSeconds(Seconds(r.retry_after)), ")");
      });

  // --- RoomOutlook ---
  py::class_<RoomOutlook>(m, "RoomOutlook",
                          "What anyone may know about an event's room (no token): its state, "
                          "counts, the ETA at the back of the line and the operator's message. "
                          "Read-only.")
      .def_readonly("event_id", &RoomOutlook::event_id)
      .def_property_readonly(
          "state", [](const RoomOutlook& o) { return std::string(RoomStateName(o.state)); },
          "'not_open', 'prequeue', 'queueing', 'paused' or 'closed'.")
      .def_readonly("waiting", &RoomOutlook::waiting, "Users in line plus pre-queued users.")
      .def_readonly("active", &RoomOutlook::active, "Admitted users not done yet.")
      .def_property_readonly(
          "eta_back", [](const RoomOutlook& o) { return Seconds(o.eta_back); },
          "Seconds a user joining now at the back would be shown (inf when the line does not "
          "move).")
      .def_readonly("eta_confidence", &RoomOutlook::eta_confidence)
      .def_readonly("queue_message", &RoomOutlook::queue_message,
                    "The policy's queue_message ('' when none).")
      .def_property_readonly(
          "now", [](const RoomOutlook& o) { return Instant(o.now); }, "Seconds since the epoch.")
      .def("__repr__", [](const RoomOutlook& o) -> std::string {
        return absl::StrCat("RoomOutlook(event_id='", o.event_id, "', state='",
                            std::string(RoomStateName(o.state)), "', waiting=", o.waiting,
                            ", active=", o.active, ")");
      });

  // --- EventStats ---
  py::class_<EventStats>(m, "EventStats",
                         "Counters of one event. joined_total = admitted_total + waiting users "
                         "who left + expired_total + waiting + prequeued. Read-only.")
      .def_readonly("event_id", &EventStats::event_id)
      .def_readonly("waiting", &EventStats::waiting,
                    "Users in line with a place now (ghosts until swept).")
      .def_readonly("prequeued", &EventStats::prequeued,
                    "Users in the pre-queue (before the opening), not in `waiting`.")
      .def_readonly("drawn", &EventStats::drawn,
                    "'random' method: users drawn who have not entered yet (part of `waiting`).")
      .def_readonly("granted", &EventStats::granted,
                    "Users holding a grant who have not entered yet (part of `waiting`).")
      .def_readonly("active", &EventStats::active, "Admitted users not done yet.")
      .def_readonly("joined_total", &EventStats::joined_total,
                    "Joins accepted (refused ones are in refused_total).")
      .def_readonly("admitted_total", &EventStats::admitted_total)
      .def_readonly("admitted_by_bypass", &EventStats::admitted_by_bypass)
      .def_readonly("admitted_by_safety_net", &EventStats::admitted_by_safety_net,
                    "Admitted by join itself, into an empty line.")
      .def_readonly("admitted_by_passthrough", &EventStats::admitted_by_passthrough,
                    "Admitted by the 'passthrough' method.")
      .def_readonly("refused_total", &EventStats::refused_total,
                    "Joins refused by the schedule or the 'reject' method.")
      .def_readonly("opened", &EventStats::opened, "Whether the event has opened (a latch).")
      .def_readonly("shuffled_at_opening", &EventStats::shuffled_at_opening,
                    "Pre-queued users placed by the opening's shuffle.")
      .def_readonly("expired_total", &EventStats::expired_total,
                    "Waiting users lost to the heartbeat TTL (ghosts).")
      .def_readonly("active_timed_out_total", &EventStats::active_timed_out_total)
      .def_readonly("left_total", &EventStats::left_total,
                    "Users who called leave (waiting or admitted).")
      .def_readonly("completed_total", &EventStats::completed_total)
      .def_readonly("passed_total", &EventStats::passed_total,
                    "Absent users the grants passed over (they keep their place).")
      .def_readonly("lapsed_total", &EventStats::lapsed_total,
                    "Grants not claimed within the policy's claim_window.")
      .def_readonly("bucket_tokens", &EventStats::bucket_tokens,
                    "Tokens in the bucket (negative while bypass debt is repaid).")
      .def_readonly("admission_rate_per_sec", &EventStats::admission_rate_per_sec,
                    "Admission rate measured over the sliding windows.")
      .def_readonly("rate_confidence", &EventStats::rate_confidence)
      .def_property_readonly(
          "now", [](const EventStats& s) { return Instant(s.now); }, "Seconds since the epoch.")
      .def(
          "to_dict",
          [](const EventStats& s) {
            py::dict d;
            d["event_id"] = s.event_id;
            d["waiting"] = s.waiting;
            d["prequeued"] = s.prequeued;
            d["drawn"] = s.drawn;
            d["granted"] = s.granted;
            d["active"] = s.active;
            d["joined_total"] = s.joined_total;
            d["admitted_total"] = s.admitted_total;
            d["admitted_by_bypass"] = s.admitted_by_bypass;
            d["admitted_by_safety_net"] = s.admitted_by_safety_net;
            d["admitted_by_passthrough"] = s.admitted_by_passthrough;
            d["refused_total"] = s.refused_total;
            d["opened"] = s.opened;
            d["shuffled_at_opening"] = s.shuffled_at_opening;
            d["expired_total"] = s.expired_total;
            d["active_timed_out_total"] = s.active_timed_out_total;
            d["left_total"] = s.left_total;
            d["completed_total"] = s.completed_total;
            d["passed_total"] = s.passed_total;
            d["lapsed_total"] = s.lapsed_total;
            d["bucket_tokens"] = s.bucket_tokens;
            d["admission_rate_per_sec"] = s.admission_rate_per_sec;
            d["rate_confidence"] = s.rate_confidence;
            d["now"] = Instant(s.now);
            return d;
          },
          "The counters as a dict (for JSON).")
      .def("__repr__", [](const EventStats& s) {
        return absl::StrCat(
            "EventStats(event_id=", Quoted(s.event_id), ", opened=", s.opened ? "True" : "False",
            ", prequeued=", s.prequeued, ", waiting=", s.waiting, ", active=", s.active,
            ", joined_total=", s.joined_total, ", admitted_total=", s.admitted_total,
            ", expired_total=", s.expired_total, ", left_total=", s.left_total,
            ", completed_total=", s.completed_total, ", refused_total=", s.refused_total, ")");
      });

  // --- WaitingRoom ---
  py::class_<Room, std::shared_ptr<Room>>(
      m, "WaitingRoom",
      "A virtual waiting room over the in-memory store or Redis. Thread-safe; every call\n"
      "releases the GIL. Errors raise admission.Error subclasses (NotFound, ...).")
      .def(py::init([](const std::string& store, std::shared_ptr<SimulatedClock> clock,
                       std::optional<Policy> default_policy, bool create_events_on_join,
                       std::optional<double> sweep_interval, int64_t sweep_batch,
                       double min_poll_interval, double max_poll_interval, int64_t sweep_per_call,
                       int redis_pool_size, double redis_connect_timeout,
                       double redis_command_timeout, const std::string& redis_key_prefix,
                       std::optional<uint64_t> event_secret_seed) {
             RoomArgs args;
             args.store = store;
             args.clock = std::move(clock);
             args.default_policy = std::move(default_policy);
             args.create_events_on_join = create_events_on_join;
             args.sweep_interval = sweep_interval;
             args.sweep_batch = sweep_batch;
             args.min_poll_interval = min_poll_interval;
             args.max_poll_interval = max_poll_interval;
             args.sweep_per_call = sweep_per_call;
             args.redis_pool_size = redis_pool_size;
             args.redis_connect_timeout = redis_connect_timeout;
             args.redis_command_timeout = redis_command_timeout;
             args.redis_key_prefix = redis_key_prefix;
             args.event_secret_seed = event_secret_seed;
             py::gil_scoped_release release;
             return MakeRoom(args);
           }),
           py::arg("store") = "memory", py::kw_only(), py::arg("clock") = nullptr,
           py::arg("default_policy") = py::none(), py::arg("create_events_on_join") = true,
           py::arg("sweep_interval") = py::none(), py::arg("sweep_batch") = 1000,
           py::arg("min_poll_interval") = 1.0, py::arg("max_poll_interval") = 30.0,
           py::arg("sweep_per_call") = 64, py::arg("redis_pool_size") = 4,
           py::arg("redis_connect_timeout") = 1.0, py::arg("redis_command_timeout") = 2.0,
           py::arg("redis_key_prefix") = "adm", py::arg("event_secret_seed") = py::none(),
           "WaitingRoom(store='memory' | 'redis://host:port', *, clock=None, ...)\n\n"
           "store: 'memory' (in-process) or a Redis URL. clock: a SimulatedClock (None: the\n"
           "wall clock; with Redis, the server's clock). default_policy: given to events created\n"
           "by their first join (when create_events_on_join). sweep_interval: seconds between\n"
           "background sweeps; None means 1 s on the wall clock and off (0) with a simulated\n"
           "clock -- call sweep_all() yourself then.\n\n"
           "event_secret_seed (tests and simulations only): an int in [0, 2**64) from which\n"
           "each event's secret is derived (a hash of the seed and the event id), instead of\n"
           "the kernel's CSPRNG. The secret decides the pre-queue's shuffle at the opening and\n"
           "the 'random' method's draws: with one seed, two stores draw the same orders. Never\n"
           "in a service: anyone who knows the seed can predict every draw. With Redis, only\n"
           "the store that creates an event sets its secret.")
      .def_property_readonly(
          "store", [](const Room& r) { return r.store_name; }, "'memory' or the Redis address.")
      .def_property_readonly(
          "clock", [](const Room& r) { return r.clock; }, "The SimulatedClock, or None.")
      .def(
          "join",
          [](Room& r, const std::string& event_id, const std::string& user_id) {
            return Unwrap(r.get().Join(event_id, user_id));
          },
          Release(), py::arg("event_id"), py::arg("user_id"),
          "Joins the line; returns the QueueStatus with the token. AlreadyExists when the user "
          "already waits or is active in the event.")
      .def(
          "status", [](Room& r, const std::string& token) { return Unwrap(r.get().Status(token)); },
          Release(), py::arg("token"),
          "The user's place (this is the heartbeat). NotFound for unknown tokens.")
      .def(
          "find",
          [](Room& r, const std::string& event_id, const std::string& user_id) {
            return Unwrap(r.get().Find(event_id, user_id));
          },
          Release(), py::arg("event_id"), py::arg("user_id"),
          "The place of a user who already joined, by user id (a heartbeat, like status). "
          "NotFound when the user has no place in the event.")
      .def(
          "enter", [](Room& r, const std::string& token) { return Unwrap(r.get().Enter(token)); },
          Release(), py::arg("token"),
          "Admission (EnterResult.granted) or a denial with a reason and retry_after. "
          "FailedPrecondition when the user has left the room.")
      .def(
          "leave", [](Room& r, const std::string& token) { return Unwrap(r.get().Leave(token)); },
          Release(), py::arg("token"), "Leaves the room at once (waiting or admitted).")
      .def(
          "complete",
          [](Room& r, const std::string& token) { return Unwrap(r.get().Complete(token)); },
          Release(), py::arg("token"),
          "An admitted user is done. FailedPrecondition unless admitted.")
      .def(
          "set_policy",
          [](Room& r, const std::string& event_id, const Policy& policy) {
            Check(r.get().SetPolicy(event_id, policy));
          },
          Release(), py::arg("event_id"), py::arg("policy"),
          "Creates the event or changes its policy, effective at once. InvalidArgument for a "
          "bad policy.")
      .def(
          "get_policy",
          [](Room& r, const std::string& event_id) { return Unwrap(r.get().GetPolicy(event_id)); },
          Release(), py::arg("event_id"), "The event's policy. NotFound for unknown events.")
      .def(
          "stats",
          [](Room& r, const std::string& event_id) { return Unwrap(r.get().Stats(event_id)); },
          Release(), py::arg("event_id"), "The event's counters (EventStats).")
      .def(
          "outlook",
          [](Room& r, const std::string& event_id) { return Unwrap(r.get().Outlook(event_id)); },
          Release(), py::arg("event_id"),
          "The public view of the event's room (RoomOutlook). NotFound for unknown events.")
      .def(
          "events", [](Room& r) { return Unwrap(r.get().Events()); }, Release(),
          "Ids of every event the store knows, in no particular order.")
      .def(
          "sweep_all", [](Room& r) { return Unwrap(r.get().SweepAll()); }, Release(),
          "Applies every passed deadline of every event; returns how many were applied.")
      .def(
          "close", [](Room& r) { r.room.reset(); }, Release(),
          "Stops the sweeper and releases the store; later calls raise FailedPrecondition.")
      .def("__enter__", [](std::shared_ptr<Room> r) { return r; })
      .def(
          "__exit__", [](Room& r, const py::args&) { r.room.reset(); }, Release())
      .def("__repr__", [](const Room& r) {
        return absl::StrCat("WaitingRoom(store=", Quoted(r.store_name),
                            r.clock ? ", clock=SimulatedClock" : "", r.room ? "" : ", closed", ")");
      });

  // --- Crowd ---
  py::class_<Crowd, std::shared_ptr<Crowd>>(
      m, "Crowd",
      "Many users of one event addressed by integers 0..n-1 (user ids are prefix + index),\n"
      "driven in batches for simulations: each method takes an int64 array of user indices,\n"
      "makes the library calls of every user (one each; poll: one or two) in a C++ loop with\n"
      "the GIL released, and returns a dict of numpy arrays: error (absl status code, 0 = OK),\n"
      "state (index into USER_STATES, -1 on error), ready, position, eta, confidence,\n"
      "poll_after, retry_after, blocked_by (index into ENTRY_BLOCKS), granted, by_bypass.\n"
      "Not for concurrent use by several threads (calls are serialized).")
      .def(py::init([](std::shared_ptr<Room> room, const std::string& event_id,
                       const std::string& user_prefix) {
             return std::make_shared<Crowd>(std::move(room), event_id, user_prefix);
           }),
           py::arg("room"), py::arg("event_id"), py::arg("user_prefix") = "u")
      .def_property_readonly("event_id", &Crowd::event_id)
      .def("__len__", &Crowd::size, "Highest joined index + 1.")
      .def("token", &Crowd::token, py::arg("index"), "The waiting token of user `index`.")
      .def(
          "join",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kJoin, i); },
          py::arg("indices"), "Joins these users, in this order.")
      .def(
          "status",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kStatus, i); },
          py::arg("indices"), "Status (heartbeat) of these users.")
      .def(
          "enter",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kEnter, i); },
          py::arg("indices"), "Enter for these users; see `granted`.")
      .def(
          "leave",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kLeave, i); },
          py::arg("indices"), "Leave for these users.")
      .def(
          "complete",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kComplete, i); },
          py::arg("indices"), "Complete for these (admitted) users.")
      .def(
          "poll",
          [](Crowd& c, const py::array_t<int64_t>& i) { return c.Run(Crowd::Op::kPoll, i); },
          py::arg("indices"),
          "What clients whose poll timers fire at one instant do: status (the heartbeat) for\n"
          "each, in order, then enter for those it found ready, in order. The answer is the\n"
          "status's, except for the users enter was called for: their `granted`, `by_bypass`,\n"
          "`state`, `error`, `poll_after`, `retry_after` and `blocked_by` are enter's (their\n"
          "`position`, `eta`, `confidence` and `ready` stay what the status said).");

  // --- Calendar ---
  using Indices = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
  py::class_<Calendar>(
      m, "Calendar",
      "A calendar queue of future (tick, kind, user) actions for simulations on a fixed time\n"
      "step (tick k is k * tick_sec seconds): ticks 0..last_tick, kinds 0..kinds-1, users\n"
      "integers. One bucket per tick and kind, made up front: filing and handing out cost\n"
      "O(1) per action, nothing is ever sorted. Ticks are popped in increasing order. len()\n"
      "is the number of actions pending.")
      .def(py::init<int64_t, int, double>(), py::arg("last_tick"), py::arg("kinds") = 1,
           py::arg("tick_sec") = 1.0)
      .def_property_readonly("last_tick", &Calendar::last_tick)
      .def_property_readonly("kinds", &Calendar::kinds)
      .def_property_readonly("tick_sec", &Calendar::tick_sec, "Seconds per tick.")
      .def_property_readonly("next_tick", &Calendar::next_tick,
                             "The first tick that may still be filed into or popped.")
      .def_property_readonly("dropped", &Calendar::dropped,
                             "Actions filed after last_tick (not kept: never due).")
      .def("__len__", &Calendar::pending)
      .def(
          "push",
          [](Calendar& c, const Indices& ticks, int kind, const Indices& users) {
            if (ticks.size() != users.size()) {
              throw StatusError(absl::InvalidArgumentError(
                  absl::StrCat("push: ", ticks.size(), " ticks for ", users.size(), " users")));
            }
            Check(c.Push(ticks.data(), users.data(), static_cast<size_t>(users.size()), kind));
          },
          py::arg("ticks"), py::arg("kind"), py::arg("users"),
          "Files users[i] to act (`kind`) at ticks[i], after what is already filed there.\n"
          "InvalidArgument (nothing filed) for a bad kind or a tick already popped.")
      .def(
          "push_times",
          [](Calendar& c,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& times, int kind,
             const Indices& users) {
            if (times.size() != users.size()) {
              throw StatusError(absl::InvalidArgumentError(absl::StrCat(
                  "push_times: ", times.size(), " times for ", users.size(), " users")));
            }
            Check(c.PushTimes(times.data(), users.data(), static_cast<size_t>(users.size()), kind));
          },
          py::arg("times"), py::arg("kind"), py::arg("users"),
          "Files users[i] to act (`kind`) at the first tick at or after times[i] seconds (tick k\n"
          "is k * tick_sec), or at next_tick if that is later. InvalidArgument (nothing filed)\n"
          "for a bad kind or a NaN time.")
      .def(
          "pop",
          [](Calendar& c, int64_t tick) {
            std::vector<std::vector<int64_t>> due;
            Check(c.Pop(tick, &due));
            py::tuple out(due.size());
            for (size_t k = 0; k < due.size(); ++k) out[k] = ToArray(due[k]);
            return out;
          },
          py::arg("tick"),
          "Every action due by `tick` (not popped yet), as a tuple of one int64 array of users\n"
          "per kind, in tick order and then filing order.");

  m.def(
      "validate_event_id", [](const std::string& id) { Check(ValidateEventId(id)); },
      py::arg("event_id"), "Raises InvalidArgument unless 1..64 characters of [A-Za-z0-9_-].");
  m.def(
      "validate_user_id", [](const std::string& id) { Check(ValidateUserId(id)); },
      py::arg("user_id"), "Raises InvalidArgument unless 1..128 characters of [A-Za-z0-9_.:@-].");
}

}  // namespace python
}  // namespace admission

PYBIND11_MODULE(_admission, m) { admission::python::Bind(m); }
