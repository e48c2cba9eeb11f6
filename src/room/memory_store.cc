// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory store. Each event is an independent shard with its own lock; a call locks the
// one event it touches, applies docs/rules.md, and unlocks. The per-user state is kept compact
// because a flash sale puts hundreds of thousands of people in a single line: one fixed-size
// record in the event's slab (room/slab.h), which holds the only copy of the user id; a token
// index and a user-id index that hold 32-bit slots, not records; one deadline entry of its own
// (see Queue); one bit in the position index and its sequence -> record entry. Grants
// (docs/rules.md, "Presence, the cursor and grants") add two cursors over those sequences, the
// grants by deadline and the returned users by line order.
//
// Memory follows the live population: a forgotten record frees its slot and its deadline
// entry, the slab gives emptied chunks back, the position index drops its dead prefix, and the
// sweep drops piled-up orphan deadline entries and shrinks the hash tables once an event has
// drained (ShrinkIfDrained).
//
// The line in order is: the front (random method: drawn users, in draw order), then the pool
// (everyone else in line: the pre-queue's users in slot order, then arrivals in arrival
// order). Before the event opens, pre-queued users wait apart, ordered by slot, and the
// opening appends them to the pool in that order.
#include "admission/room/memory_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "common/strings.h"
#include "common/tokens.h"
#include "room/facade_calls.h"
#include "room/position_index.h"
#include "room/rate_estimate.h"
#include "room/rules.h"
#include "room/shuffle.h"
#include "room/slab.h"
#include "room/slot_index.h"

namespace admission {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

using internal::AbslView;

// The 128 random bits of a token, which identify it within its event.
using internal::TokenKey;

// Tokens reach the store validated (WaitingRoom checks their form), but a store is also a
// public interface, so a bad one is an error rather than undefined behaviour.
absl::StatusOr<TokenKey> KeyOf(std::string_view token) {
  TokenKey key;
  if (!internal::ParseTokenKey(token, &key)) return absl::InvalidArgumentError("malformed token");
  return key;
}

struct DeadlineEntry {
  int64_t at_us;
  TokenKey key;
  friend bool operator<(const DeadlineEntry& a, const DeadlineEntry& b) {
    return a.at_us != b.at_us ? a.at_us < b.at_us : a.key < b.key;
  }
};

// Where a waiting record stands, and so what its `seq` numbers.
enum class Place : uint8_t {
  kPool,      // in Event::line; seq is its line sequence
  kFront,     // random method, drawn: in Event::front; seq is its draw number
  kPrequeue,  // the event has not opened: in Event::prequeue; seq is its pre-queue slot
};

// A UserState in one byte (the enum itself is an int): it keeps Record at 88 bytes.
class StateByte {
 public:
  StateByte(UserState state = UserState::kWaiting)  // NOLINT: implicit, as the enum
      : v_(static_cast<uint8_t>(state)) {}
  operator UserState() const { return static_cast<UserState>(v_); }  // NOLINT

 private:
  uint8_t v_;
};

// A user id, held once per user (the user-id index refers to the record's copy): up to 14
// bytes in place ("user-123456" and the like), longer ones in one heap block of their own.
class UserId {
 public:
  UserId() = default;
  UserId(const UserId&) = delete;
  UserId& operator=(const UserId&) = delete;
  UserId(UserId&& other) noexcept { Take(other); }
  UserId& operator=(UserId&& other) noexcept {
    if (this != &other) {
      Reset();
      Take(other);
    }
    return *this;
  }
  ~UserId() { Reset(); }

  void Assign(std::string_view id) {
    Reset();
    if (id.size() < kTag) {
      std::memcpy(bytes_, id.data(), id.size());
      bytes_[kTag] = static_cast<unsigned char>(id.size());
      return;
    }
    char* heap = new char[id.size()];
    std::memcpy(heap, id.data(), id.size());
    const auto size = static_cast<uint32_t>(id.size());
    std::memcpy(bytes_, &heap, sizeof(heap));
    std::memcpy(bytes_ + sizeof(heap), &size, sizeof(size));
    bytes_[kTag] = kHeap;
  }

  std::string_view view() const {
    if (bytes_[kTag] != kHeap) {
      return std::string_view(reinterpret_cast<const char*>(bytes_), bytes_[kTag]);
    }
    return std::string_view(heap(), heap_size());
  }

 private:
  static constexpr std::size_t kTag = 15;  // the last byte: the inline size, or kHeap
  static constexpr unsigned char kHeap = 0xff;

  char* heap() const {
    char* p;
    std::memcpy(&p, bytes_, sizeof(p));
    return p;
  }
  uint32_t heap_size() const {
    uint32_t n;
    std::memcpy(&n, bytes_ + sizeof(char*), sizeof(n));
    return n;
  }
  void Reset() {
    if (bytes_[kTag] == kHeap) delete[] heap();
    bytes_[kTag] = 0;
  }
  void Take(UserId& other) {
    std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
    other.bytes_[kTag] = 0;
  }

  alignas(8) unsigned char bytes_[16] = {};
};

// One user's state, in the event's slab (see Event::slab).
struct Record {
  TokenKey key;
  uint64_t seq = 0;
  int64_t joined_us = 0;
  int64_t deadline_us = 0;
  int64_t queued_us = kNever;  // its own entry in Event::deadlines, at or before deadline_us
  // While waiting (and pre-queued): counts as present until then. Once out of the line
  // (admitted or gone): when it left. One field, as no record needs both.
  int64_t present_or_left_us = 0;
  int64_t grant_until_us = kNever;  // while holding a grant: when it lapses
  UserId user_id;
  uint32_t slot = 0;  // its own slot in the slab
  StateByte state = UserState::kWaiting;
  Place place = Place::kPool;  // while waiting
  bool by_credit = false;      // the grant was made on credit
  bool returned = false;       // in Event::returned
};
static_assert(sizeof(Record) <= 88, "a record per waiting user: keep it compact");

using RecordSlab = Slab<Record>;

// An 88-byte record spans two or three cache lines: starts loading all of them at once (a
// lookup reads the key, in the first, and the call then reads the others).
void PrefetchRecord(const Record& r) {
  const char* p = reinterpret_cast<const char*>(&r);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + sizeof(Record) - 1);
}

// The tags of the token and user-id indexes (room/slot_index.h).
uint32_t TagOf(const TokenKey& key) {
  return static_cast<uint32_t>(absl::Hash<TokenKey>{}(key) >> 32);
}
uint32_t TagOf(std::string_view user_id) {
  return static_cast<uint32_t>(absl::Hash<absl::string_view>{}(AbslView(user_id)) >> 32);
}

bool Granted(const Record& r) { return r.grant_until_us != kNever; }

int64_t LeftLineUs(const Record& r) {
  return r.state == UserState::kWaiting ? kNever : r.present_or_left_us;
}

// A returned user's place in line order: the front by draw number, then the pool by sequence.
struct LineSpot {
  Place place;
  uint64_t seq;
  friend bool operator<(const LineSpot& a, const LineSpot& b) {
    return a.place != b.place ? a.place == Place::kFront : a.seq < b.seq;
  }
};

// The state a ticket shows: pre-queued users are waiting records outside the line.
UserState ReportedState(const Record& r) {
  return r.state == UserState::kWaiting && r.place == Place::kPrequeue ? UserState::kPrequeue
                                                                       : UserState{r.state};
}

// Kept only for users who were admitted, so waiting users do not pay for it.
struct Reservation {
  std::string reservation_token;
  int64_t reservation_expires_us = 0;
};

struct Counters {
  int64_t joined = 0;
  int64_t admitted = 0;
  int64_t admitted_by_bypass = 0;
  int64_t expired = 0;
  int64_t active_timed_out = 0;
  int64_t left = 0;
  int64_t completed = 0;
  int64_t safety_net = 0;
  int64_t passthrough = 0;
  int64_t refused = 0;
  int64_t passed = 0;
  int64_t lapsed = 0;
};

// The rate windows of one length (docs/rules.md): admissions, users reached by the cursor, of
// those the absent ones passed over and the seconds all of them had waited, and departures.
struct Windows {
  rules::WindowCounter admissions;
  rules::WindowCounter reached;
  rules::WindowCounter passes;
  rules::WindowCounter exposure;
  rules::WindowCounter departures;
};

struct Event {
  explicit Event(std::string event_id) : id(std::move(event_id)) {}

  const std::string id;
  std::mutex mu;
  Policy policy ABSL_GUARDED_BY(mu);
  PositionIndex line ABSL_GUARDED_BY(mu);
  // Every record (waiting, active, or ended and kept for ended_ttl), found by token in
  // `records`; `by_user` indexes the waiting and active ones by user id. The other structures
  // refer to a record by its slot, or by its token key where an entry may outlive the record.
  RecordSlab slab ABSL_GUARDED_BY(mu);
  SlotIndex records ABSL_GUARDED_BY(mu);
  SlotIndex by_user ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<TokenKey, Reservation> reservations ABSL_GUARDED_BY(mu);
  absl::btree_set<DeadlineEntry> deadlines ABSL_GUARDED_BY(mu);
  rules::Bucket bucket ABSL_GUARDED_BY(mu);
  std::vector<Windows> windows ABSL_GUARDED_BY(mu);
  int64_t first_admission_us ABSL_GUARDED_BY(mu) = kNever;
  int64_t active ABSL_GUARDED_BY(mu) = 0;
  // The latest time any call saw: a clock that steps back is treated as standing still.
  int64_t last_now_us ABSL_GUARDED_BY(mu) = std::numeric_limits<int64_t>::min();
  Counters counters ABSL_GUARDED_BY(mu);

  // Fair openings (docs/rules.md). The secret keys the shuffle and the draws; it never leaves
  // the store.
  uint64_t secret ABSL_GUARDED_BY(mu) = 0;
  bool opened ABSL_GUARDED_BY(mu) = false;
  int64_t shuffled_at_opening ABSL_GUARDED_BY(mu) = 0;
  uint64_t prequeue_joins ABSL_GUARDED_BY(mu) = 0;
  absl::btree_map<uint32_t, uint32_t> prequeue ABSL_GUARDED_BY(mu);  // pre-queue slot -> record
  PositionIndex front ABSL_GUARDED_BY(mu);                           // drawn users
  uint64_t draws ABSL_GUARDED_BY(mu) = 0;
  // Sequence -> record, for the cursor and the draws: the pool by line sequence, the front by
  // its own sequence (the draw order).
  absl::btree_map<uint64_t, uint32_t> pool_keys ABSL_GUARDED_BY(mu);
  absl::btree_map<uint64_t, uint32_t> front_keys ABSL_GUARDED_BY(mu);

  // Grants (docs/rules.md, "Presence, the cursor and grants"). A user is reached when the
  // cursor of their part of the line has passed their sequence.
  uint64_t cursor_front ABSL_GUARDED_BY(mu) = 0;
  uint64_t cursor_pool ABSL_GUARDED_BY(mu) = 0;
  int64_t reached_front ABSL_GUARDED_BY(mu) = 0;
  int64_t reached_pool ABSL_GUARDED_BY(mu) = 0;
  int64_t granted ABSL_GUARDED_BY(mu) = 0;
  // (grant_until, user) -> the user's slot: a granted record is waiting, so it stays where it
  // is until its grant is dropped, and a lapse needs no lookup by token.
  absl::btree_map<DeadlineEntry, uint32_t> grant_queue ABSL_GUARDED_BY(mu);
  absl::btree_map<LineSpot, uint32_t> returned ABSL_GUARDED_BY(mu);

  // The record of a token (whose tag is `tag`), or null.
  Record* Find(const TokenKey& key, uint32_t tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const uint32_t slot = records.Find(tag, [&](uint32_t s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      const Record& r = slab[s];
      PrefetchRecord(r);
      return r.key == key;
    });
    return slot == SlotIndex::kNone ? nullptr : &slab[slot];
  }
  Record* Find(const TokenKey& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return Find(key, TagOf(key));
  }
  // The waiting or active record of a user (whose tag is `tag`), or null.
  Record* FindUser(std::string_view user_id, uint32_t tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const uint32_t slot =
        by_user.Find(tag, [&](uint32_t s) { return slab[s].user_id.view() == user_id; });
    return slot == SlotIndex::kNone ? nullptr : &slab[slot];
  }
  // Forgets a record, and its own deadline entry: its slot is free again.
  void Forget(Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (r.queued_us != kNever) deadlines.erase(DeadlineEntry{r.queued_us, r.key});
    records.Erase(TagOf(r.key), r.slot);
    slab.Free(r.slot);
  }
};

// Gives the record a new own deadline entry at `at_us`. An older one is left in place, an
// orphan: erasing it would cost a B-tree descent to a cold leaf on every Leave, while the sweep
// drops it for free when it reaches the head (or DropOrphanDeadlines, if they pile up).
void Queue(Event& e, Record& r, int64_t at_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  // Deadlines mostly come in time order (now + a TTL): try the end first.
  e.deadlines.insert(e.deadlines.end(), DeadlineEntry{at_us, r.key});
  r.queued_us = at_us;
}

bool Reached(const Event& e, const Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  if (r.state != UserState::kWaiting) return false;
  switch (r.place) {
    case Place::kFront:
      return r.seq <= e.cursor_front;
    case Place::kPool:
      return r.seq <= e.cursor_pool;
    default:
      return false;
  }
}

// A waiting user's place and readiness at one instant.
struct Standing {
  int64_t position = 0;
  int64_t position_high = 0;
  int64_t ahead_unreached = 0;
  rules::Readiness readiness{EntryBlock::kNotWaiting, absl::ZeroDuration()};
};

// How the bucket pays for an admission.
enum class AdmitBy : uint8_t {
  kGrant,        // the grant paid when it was made
  kPassthrough,  // nobody pays: the operator chose no protection
  kSafetyNet,    // a grant claimed at once: the token is taken now
};

class MemoryStore final : public Store, public internal::FacadeCalls {
 public:
  explicit MemoryStore(const MemoryStoreOptions& options)
      : clock_(options.clock != nullptr ? options.clock : SystemClock()),
        sweep_per_call_(std::max<int64_t>(options.sweep_per_call, 0)),
        event_secret_(options.event_secret),
        id_(next_store_id.fetch_add(1, std::memory_order_relaxed)) {}

  absl::StatusOr<Ticket> Join(const JoinRequest& request) override;
  absl::StatusOr<Ticket> Status(std::string_view event_id, std::string_view token) override;
  absl::StatusOr<std::string> FindToken(std::string_view event_id,
                                        std::string_view user_id) override;
  absl::StatusOr<EnterOutcome> Enter(std::string_view event_id, std::string_view token,
                                     std::string_view reservation_token) override;
  absl::StatusOr<Ticket> Leave(std::string_view event_id, std::string_view token) override;
  absl::StatusOr<Ticket> Complete(std::string_view event_id, std::string_view token) override;
  absl::StatusOr<SweepOutcome> Sweep(std::string_view event_id, int64_t max_entries) override;
  absl::Status SetPolicy(std::string_view event_id, const Policy& policy) override;
  absl::StatusOr<Policy> GetPolicy(std::string_view event_id) override;
  absl::StatusOr<EventCounters> Stats(std::string_view event_id) override;
  absl::StatusOr<std::vector<std::string>> ListEvents() override;

  absl::Status JoinParsed(const JoinRequest& request, const TokenKey& key, Ticket* ticket,
                          internal::TicketEstimates* estimates) override;
  absl::Status StatusParsed(std::string_view event_id, std::string_view token, const TokenKey& key,
                            Ticket* ticket, internal::TicketEstimates* estimates) override;

 private:
  // Join and Status for both ways in (see room/facade_calls.h), the ticket made in `*out` (a
  // fresh one): `estimates` null for Store's.
  absl::Status JoinWithKey(const JoinRequest& request, const TokenKey& key,
                           internal::TicketEstimates* estimates, Ticket* out);
  absl::Status StatusWithKey(std::string_view event_id, std::string_view token, const TokenKey* key,
                             internal::TicketEstimates* estimates, Ticket* out);

  Event* FindEvent(std::string_view event_id) ABSL_LOCKS_EXCLUDED(events_mu_);
  Event* FindOrCreateEvent(std::string_view event_id, const Policy& policy)
      ABSL_LOCKS_EXCLUDED(events_mu_);

  // Begin (docs/rules.md): the call's time, the bucket refilled, a few passed deadlines
  // applied, the opening if due and a few lapsed grants let go.
  // `own_tag`: the tag of the token the call is about (or null), whose record starts loading
  // once the clock is read, so that its cache misses overlap with the rest of Begin.
  int64_t Begin(Event& e, const uint32_t* own_tag = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Applies passed deadlines, oldest first, at most `max` of them; returns how many.
  int64_t ApplyPassedDeadlines(Event& e, int64_t now_us, int64_t max)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void ApplyDeadline(Event& e, const TokenKey& key, Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Applies the record's own deadline if it has passed; the record, or null if it was (or is
  // now) forgotten. `tag` is TagOf(key).
  Record* SettleRecord(Event& e, const TokenKey& key, uint32_t tag, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void SetDeadline(Event& e, Record& r, int64_t at_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void EndRecord(Event& e, const TokenKey& key, Record& r, UserState state, int64_t at_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);

  // The line's structures (see the top of the file).
  void AddToPool(Event& e, Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Takes a waiting record out of its place. `departure`: it left or expired (not admitted):
  // a grant's token goes back and, when not reached, the departure windows count it at `at_us`.
  void LeaveLine(Event& e, const TokenKey& key, Record& r, bool departure, int64_t at_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void DropGrant(Event& e, const TokenKey& key, Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void DropReturned(Event& e, Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // The opening: pre-queued users join the pool in slot order.
  void Open(Event& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Lets up to kMaxLapsesPerCall grants whose claim window is over go.
  void ApplyLapses(Event& e, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // A caller's heartbeat and presence; a reached, ungranted caller is returned.
  void Refresh(Event& e, Record& r, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Advance: the random method's draws, then the grants.
  void Advance(Event& e, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void Draw(Event& e, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  Standing StandingOf(Event& e, const Record& r, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // Makes a waiting (or new) record active.
  void Admit(Event& e, const TokenKey& key, Record& r, int64_t now_us,
             std::string_view reservation_token, AdmitBy by, bool* by_bypass)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);

  // The common shape of a call on one user: finds the event, locks it, begins the call and
  // settles the token's record, runs `own(event, key, record, now_us)` (a Status), then
  // Advance, then `answer(event, key, record, now_us)` unless `own` failed. `known_key`: the
  // token's key if the caller parsed it already, else null.
  template <typename Result, typename Own, typename Answer>
  absl::StatusOr<Result> OnRecord(std::string_view event_id, std::string_view token,
                                  const TokenKey* known_key, Own&& own, Answer&& answer);

  // The ticket, with its RateSample when `estimates` is null, else with the sample's estimates
  // in `estimates` instead (room/facade_calls.h).
  Ticket MakeTicket(Event& e, std::string_view token, const TokenKey& key, const Record& r,
                    int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // The same in `t`, a fresh Ticket.
  void MakeTicketIn(Ticket& t, Event& e, std::string_view token, const TokenKey& key,
                    const Record& r, int64_t now_us, internal::TicketEstimates* estimates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  RateSample MakeRateSample(Event& e, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  // The sample's estimates at now_us, with its windows on the stack.
  void MakeEstimates(Event& e, int64_t now_us, internal::TicketEstimates* estimates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);

  // Numbers the stores of the process (never reused), for FindEvent's per-thread memo.
  static inline std::atomic<uint64_t> next_store_id{1};

  Clock* const clock_;
  const int64_t sweep_per_call_;
  const std::function<uint64_t(std::string_view)> event_secret_;
  const uint64_t id_;

  std::shared_mutex events_mu_;
  // Events are never removed, so an Event* stays valid for the store's lifetime.
  absl::flat_hash_map<std::string, std::unique_ptr<Event>> events_ ABSL_GUARDED_BY(events_mu_);
};

std::vector<Windows> MakeWindows(const Policy& policy, const std::vector<Windows>& old) {
  std::vector<Windows> windows;
  for (absl::Duration length : policy.rate_windows) {
    Windows w;
    w.admissions.length_us = rules::DurationToMicros(length);
    w.reached.length_us = w.passes.length_us = w.exposure.length_us = w.departures.length_us =
        w.admissions.length_us;
    for (const Windows& o : old) {
      // Keep what windows of the same length counted.
      if (o.admissions.length_us == w.admissions.length_us) w = o;
    }
    windows.push_back(w);
  }
  return windows;
}

// absl's hash tables keep their capacity when entries are erased: once one holds less than
// an eighth of what it has room for (an event draining), it is rebuilt to fit. A table is at
// least 7/16 full after it grows or is rebuilt, so a rebuild follows erasures of at least a
// quarter of its capacity: O(1) per erasure.
template <typename Table>
void ShrinkToFit(Table& table) {
  if (table.capacity() > 0 && table.size() < table.capacity() / 8) table.rehash(0);
}

// Rebuilds the deadline queue from the records' own entries. Orphans wait for their time,
// which is the heartbeat TTL away for a user who left, so an event that drains faster than
// that would keep them all; this runs once they outnumber the records, so its O(n log n)
// follows at least n orphans.
void DropOrphanDeadlines(Event& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  constexpr std::size_t kSlack = 4096;  // small queues are left alone
  if (e.deadlines.size() <= 2 * e.records.size() + kSlack) return;
  std::vector<DeadlineEntry> own;
  own.reserve(e.records.size());
  e.records.ForEach([&](uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
    const Record& r = e.slab[slot];
    if (r.queued_us != kNever) own.push_back(DeadlineEntry{r.queued_us, r.key});
  });
  std::sort(own.begin(), own.end());
  absl::btree_set<DeadlineEntry> rebuilt(own.begin(), own.end());
  e.deadlines.swap(rebuilt);
}

// Gives back what a drained event no longer needs. The B-trees free their nodes as they
// empty and the slab its chunks; the position indexes compact themselves.
void ShrinkIfDrained(Event& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  DropOrphanDeadlines(e);
  e.records.ShrinkToFit();
  e.by_user.ShrinkToFit();
  ShrinkToFit(e.reservations);
  if (e.slab.size() == 0) e.slab.ReleaseSpare();
}

absl::Status UnknownEvent(std::string_view event_id) {
  return absl::NotFoundError(absl::StrCat("unknown event '", AbslView(event_id), "'"));
}

// Each thread remembers the last event it found, and in which store: a thread's calls mostly
// go to one event, and this spares them the shared lock (two atomic read-modify-writes) and
// the hash lookup. Events are never removed and their ids never change, so a remembered
// Event* is valid as long as its store lives, and stores are told apart by id_, which no
// other store of the process ever has (a store at a freed one's address included).
Event* MemoryStore::FindEvent(std::string_view event_id) {
  struct Memo {
    uint64_t store = 0;
    Event* event = nullptr;
  };
  thread_local Memo memo;
  if (memo.store == id_ && memo.event->id == event_id) return memo.event;
  Event* found;
  {
    std::shared_lock<std::shared_mutex> lock(events_mu_);
    auto it = events_.find(AbslView(event_id));
    found = it == events_.end() ? nullptr : it->second.get();
  }
  if (found != nullptr) memo = Memo{id_, found};
  return found;
}

Event* MemoryStore::FindOrCreateEvent(std::string_view event_id, const Policy& policy) {
  if (Event* e = FindEvent(event_id)) return e;
  std::lock_guard<std::shared_mutex> lock(events_mu_);
  auto& slot = events_[AbslView(event_id)];
  if (slot == nullptr) {
    auto event = std::make_unique<Event>(std::string(event_id));
    std::lock_guard<std::mutex> event_lock(event->mu);
    event->policy = policy;
    event->windows = MakeWindows(policy, {});
    event->bucket.tokens = static_cast<double>(policy.burst);  // a new room starts full
    event->bucket.refilled_at_us = rules::TimeToMicros(clock_->Now());
    event->secret = event_secret_ ? event_secret_(event_id) : shuffle::NewEventSecret();
    slot = std::move(event);
  }
  return slot.get();
}

int64_t MemoryStore::Begin(Event& e, const uint32_t* own_tag) {
  // The record of the grant that lapses next, which ApplyLapses may need below.
  if (!e.grant_queue.empty()) PrefetchRecord(e.slab[e.grant_queue.begin()->second]);
  const int64_t now_us = std::max(rules::TimeToMicros(clock_->Now()), e.last_now_us);
  e.last_now_us = now_us;
  if (own_tag != nullptr) {
    // Only a hint: the lookup proper comes after Begin, which may change the records.
    if (const uint32_t slot = e.records.FirstWithTag(*own_tag); slot != SlotIndex::kNone) {
      PrefetchRecord(e.slab[slot]);
    }
  }
  rules::Refill(e.bucket, e.policy.admit_rate_per_sec, e.policy.burst, now_us);
  ApplyPassedDeadlines(e, now_us, sweep_per_call_);
  if (rules::OpensNow(e.policy, e.opened, static_cast<int64_t>(e.prequeue.size()), now_us)) {
    Open(e);
  }
  ApplyLapses(e, now_us);
  return now_us;
}

void MemoryStore::AddToPool(Event& e, Record& r) {
  r.place = Place::kPool;
  r.seq = e.line.Append();
  e.pool_keys.emplace_hint(e.pool_keys.end(), r.seq, r.slot);  // the newest sequence
}

void MemoryStore::DropGrant(Event& e, const TokenKey& key, Record& r) {
  e.grant_queue.erase(DeadlineEntry{r.grant_until_us, key});
  r.grant_until_us = kNever;
  r.by_credit = false;
  --e.granted;
}

void MemoryStore::DropReturned(Event& e, Record& r) {
  e.returned.erase(LineSpot{r.place, r.seq});
  r.returned = false;
}

void MemoryStore::LeaveLine(Event& e, const TokenKey& key, Record& r, bool departure,
                            int64_t at_us) {
  if (r.place == Place::kPrequeue) {
    e.prequeue.erase(static_cast<uint32_t>(r.seq));
    return;
  }
  const bool reached = Reached(e, r);
  if (reached) --(r.place == Place::kFront ? e.reached_front : e.reached_pool);
  if (Granted(r)) {
    DropGrant(e, key, r);
    // The grant was not used: its token passes on.
    if (departure) {
      e.bucket.tokens = std::min(e.bucket.tokens + 1.0, static_cast<double>(e.policy.burst));
    }
  }
  if (r.returned) DropReturned(e, r);
  if (departure && !reached) {
    for (Windows& w : e.windows) rules::RecordAdmission(w.departures, at_us);
  }
  if (r.place == Place::kPool) {
    e.line.Remove(r.seq);
    e.pool_keys.erase(r.seq);
  } else {
    e.front.Remove(r.seq);
    e.front_keys.erase(r.seq);
  }
}

void MemoryStore::Open(Event& e) {
  e.opened = true;
  e.shuffled_at_opening = static_cast<int64_t>(e.prequeue.size());
  // O(pre-queue) once. The Redis store does no work here: its line is sorted by slot from the
  // start (docs/rules.md).
  for (const auto& [prequeue_slot, slot] : e.prequeue) {
    AddToPool(e, e.slab[slot]);
  }
  e.prequeue.clear();
}

void MemoryStore::ApplyLapses(Event& e, int64_t now_us) {
  for (int64_t n = 0; n < rules::kMaxLapsesPerCall && !e.grant_queue.empty() &&
                      e.grant_queue.begin()->first.at_us <= now_us;
       ++n) {
    const auto [entry, slot] = *e.grant_queue.begin();
    DropGrant(e, entry.key, e.slab[slot]);
    ++e.counters.lapsed;
    // A grant nobody claimed went, nearly always, to a user who had vanished since their last
    // call: the ETA counts it with the passes.
    for (Windows& w : e.windows) rules::RecordAdmission(w.passes, now_us);
    e.bucket.tokens = std::min(e.bucket.tokens + 1.0, static_cast<double>(e.policy.burst));
  }
}

void MemoryStore::Refresh(Event& e, Record& r, int64_t now_us) {
  SetDeadline(e, r, now_us + rules::DurationToMicros(e.policy.heartbeat_ttl));
  if (r.place == Place::kPrequeue) {
    r.present_or_left_us = now_us + rules::PrequeuePresenceWindowUs(e.policy, now_us);
    return;
  }
  const Standing s = StandingOf(e, r, now_us);
  const int64_t ahead = s.ahead_unreached + (s.position_high - s.position) / 2;
  r.present_or_left_us = now_us + rules::PresenceWindowUs(e.policy, ahead);
  if (Reached(e, r) && !Granted(r) && !r.returned) {
    e.returned.emplace(LineSpot{r.place, r.seq}, r.slot);
    r.returned = true;
  }
}

void MemoryStore::Draw(Event& e, int64_t now_us) {
  // Only among users who are still alive: no draw while a passed deadline waits to be applied
  // (after ApplyPassedDeadlines the head of the queue is exact when it has passed, short of
  // kMaxStaleMovesPerCall stale entries), as in the scripts.
  if (!e.deadlines.empty() && e.deadlines.begin()->at_us <= now_us) return;
  const int64_t target = rules::DrawTarget(e.policy);
  for (int64_t n = 0; n < rules::kMaxDrawsPerCall && e.front.size() - e.reached_front < target &&
                      e.line.size() > 0;
       ++n) {
    const int64_t k = shuffle::DrawIndex(e.secret, e.draws, e.line.size());
    ++e.draws;
    const uint64_t seq = e.line.Select(k);
    Record& r = e.slab[e.pool_keys.at(seq)];
    // A pool user the cursor had reached gets a new place, beyond the front's cursor.
    if (Reached(e, r)) --e.reached_pool;
    if (r.returned) DropReturned(e, r);
    e.line.Remove(seq);
    e.pool_keys.erase(seq);
    r.place = Place::kFront;
    r.seq = e.front.Append();
    e.front_keys.emplace_hint(e.front_keys.end(), r.seq, r.slot);  // the newest sequence
  }
}

void MemoryStore::Advance(Event& e, int64_t now_us) {
  const Policy& p = e.policy;
  if (!e.opened || p.paused || p.method == QueueMethod::kPassthrough) return;
  if (p.method == QueueMethod::kRandom) Draw(e, now_us);
  const bool pool_in_turn = p.method != QueueMethod::kRandom;
  int64_t grants = 0;
  int64_t passes = 0;
  while (grants < rules::kMaxGrantsPerCall && passes < rules::kMaxPassesPerCall &&
         e.active + e.granted < p.active_capacity) {
    // The candidate: the first returned user, else the next one the cursors have not reached.
    uint32_t slot;
    bool returned = false;
    if (!e.returned.empty()) {
      slot = e.returned.begin()->second;
      returned = true;
    } else if (auto f = e.front_keys.upper_bound(e.cursor_front); f != e.front_keys.end()) {
      slot = f->second;
    } else if (auto q = e.pool_keys.upper_bound(e.cursor_pool);
               pool_in_turn && q != e.pool_keys.end()) {
      slot = q->second;
    } else {
      break;
    }
    Record& r = e.slab[slot];
    auto reach = [&e, &r, now_us] {
      const double waited_sec = static_cast<double>(now_us - r.joined_us) / 1e6;
      for (Windows& w : e.windows) {
        rules::RecordAdmission(w.reached, now_us);
        rules::RecordAmount(w.exposure, now_us, waited_sec);
      }
      if (r.place == Place::kFront) {
        e.cursor_front = r.seq;
        ++e.reached_front;
      } else {
        e.cursor_pool = r.seq;
        ++e.reached_pool;
      }
    };
    if (returned && now_us >= r.present_or_left_us) {  // gone again: it stays reached
      DropReturned(e, r);
      ++passes;
      continue;
    }
    if (!returned && Granted(r)) {  // granted before a draw gave it a new place
      reach();
      ++passes;
      continue;
    }
    if (!returned && now_us >= r.present_or_left_us) {  // absent: passed, keeps its place
      reach();
      ++e.counters.passed;
      for (Windows& w : e.windows) rules::RecordAdmission(w.passes, now_us);
      ++passes;
      continue;
    }
    // A candidate has nobody unreached ahead.
    const int64_t place = rules::TurnPlace(StandingOf(e, r, now_us).position, e.granted, 0);
    if (!rules::TierServed(p, place, r.joined_us, now_us) ||
        !rules::MayGrant(p, place, e.bucket.tokens)) {
      break;
    }
    r.by_credit = e.bucket.tokens < 1.0;
    e.bucket.tokens -= 1.0;
    r.grant_until_us = now_us + rules::DurationToMicros(p.claim_window);
    e.grant_queue.emplace_hint(e.grant_queue.end(), DeadlineEntry{r.grant_until_us, r.key}, r.slot);
    ++e.granted;
    if (returned) {
      DropReturned(e, r);
    } else {
      reach();
    }
    ++grants;
  }
}

Standing MemoryStore::StandingOf(Event& e, const Record& r, int64_t now_us) {
  Standing s;
  if (r.state != UserState::kWaiting) return s;
  const Policy& p = e.policy;
  const int64_t drawn = e.front.size();
  switch (r.place) {
    case Place::kPrequeue:
      s.position_high = static_cast<int64_t>(e.prequeue.size());
      s.readiness.retry_after =
          absl::Microseconds(rules::MicrosOf(p.opens_at).value_or(now_us) - now_us);
      return s;
    case Place::kFront:
      s.position = e.front.Rank(r.seq);
      s.position_high = s.position;
      s.ahead_unreached = s.position - 1 - e.reached_front;
      break;
    case Place::kPool:
      if (p.method == QueueMethod::kRandom) {  // not drawn yet: any place a draw can give
        s.position = drawn + 1;
        s.position_high = drawn + e.line.size();
        s.ahead_unreached = drawn - e.reached_front;
      } else {
        s.position = drawn + e.line.Rank(r.seq);
        s.position_high = s.position;
        s.ahead_unreached = s.position - 1 - e.reached_front - e.reached_pool;
      }
      break;
  }
  if (Reached(e, r)) s.ahead_unreached = 0;
  if (Granted(r)) {
    s.readiness = rules::CheckGranted(p);
  } else if (p.method == QueueMethod::kPassthrough) {
    s.readiness = rules::CheckPassthrough(p);
  } else {
    s.readiness = rules::CheckWaiting(p, s.position, s.ahead_unreached, r.joined_us, now_us,
                                      e.bucket.tokens, e.active, e.granted);
  }
  return s;
}

void MemoryStore::Admit(Event& e, const TokenKey& key, Record& r, int64_t now_us,
                        std::string_view reservation_token, AdmitBy by, bool* by_bypass) {
  *by_bypass = false;
  if (Granted(r)) {
    *by_bypass = r.by_credit;  // the grant paid for it
  } else if (by == AdmitBy::kPassthrough) {
    ++e.counters.passthrough;  // the operator's quiet-time choice: the bucket does not pace it
  } else {
    *by_bypass = e.bucket.tokens < 1.0;  // the safety net: a grant claimed at once
    e.bucket.tokens -= 1.0;
  }
  if (*by_bypass) ++e.counters.admitted_by_bypass;
  if (r.state == UserState::kWaiting) LeaveLine(e, key, r, /*departure=*/false, now_us);
  r.state = UserState::kActive;
  r.present_or_left_us = now_us;  // left the line
  SetDeadline(e, r, now_us + rules::DurationToMicros(e.policy.active_ttl));
  e.reservations[key] = Reservation{std::string(reservation_token),
                                    now_us + rules::DurationToMicros(e.policy.reservation_ttl)};
  ++e.active;
  ++e.counters.admitted;
  if (e.first_admission_us == kNever) e.first_admission_us = now_us;
  for (Windows& w : e.windows) rules::RecordAdmission(w.admissions, now_us);
}

int64_t MemoryStore::ApplyPassedDeadlines(Event& e, int64_t now_us, int64_t max) {
  // Only applied deadlines count against `max`. Stale entries at the head (early ones and
  // orphans) are cleared even once `max` is reached, so that afterwards the head is either in
  // the future or a deadline that has really passed; but at most kMaxStaleMovesPerCall of
  // them, so that a call after a quiet spell stays bounded. The Redis functions do the same
  // (lua/room/deadlines.lua, apply_passed).
  int64_t applied = 0, moved = 0;
  while (moved < rules::kMaxStaleMovesPerCall && !e.deadlines.empty() &&
         e.deadlines.begin()->at_us <= now_us) {
    const DeadlineEntry entry = *e.deadlines.begin();
    Record* found = e.Find(entry.key);
    if (found != nullptr && found->queued_us != entry.at_us) found = nullptr;  // an orphan
    if (found != nullptr && found->deadline_us == entry.at_us && applied >= max) break;
    e.deadlines.erase(e.deadlines.begin());
    if (found == nullptr) {
      ++moved;
      continue;
    }
    Record& r = *found;
    r.queued_us = kNever;
    if (r.deadline_us > entry.at_us) {
      // Heartbeats moved the deadline on without touching the queue; catch up now.
      Queue(e, r, r.deadline_us);
      ++moved;
      continue;
    }
    ApplyDeadline(e, entry.key, r);
    ++applied;
    // The entry just popped was the record's; it needs one for its next deadline.
    if (Record* next = e.Find(entry.key); next != nullptr && next->queued_us == kNever) {
      Queue(e, *next, next->deadline_us);
    }
  }
  return applied;
}

// The deadline queue is lazy: every record has its own entry, at queued_us, at or before its
// deadline, and a deadline that moves later (every heartbeat) leaves the queue alone; the
// entry is moved when the sweep reaches it. That keeps the B-tree out of the heartbeat path.
// Only a deadline that moves before the entry (a shorter TTL) gets a new own entry at once
// (see Queue for the old one). A forgotten record takes its own entry with it.
void MemoryStore::SetDeadline(Event& e, Record& r, int64_t at_us) {
  if (at_us < r.deadline_us && at_us < r.queued_us) Queue(e, r, at_us);
  r.deadline_us = at_us;
}

void MemoryStore::EndRecord(Event& e, const TokenKey& key, Record& r, UserState state,
                            int64_t at_us) {
  if (r.state == UserState::kWaiting) {
    LeaveLine(e, key, r, /*departure=*/true, at_us);
    r.present_or_left_us = at_us;  // left the line
  } else if (r.state == UserState::kActive) {
    --e.active;
  }
  e.by_user.Erase(TagOf(r.user_id.view()), r.slot);
  r.state = state;
  SetDeadline(e, r, at_us + rules::DurationToMicros(e.policy.ended_ttl));
}

void MemoryStore::ApplyDeadline(Event& e, const TokenKey& key, Record& r) {
  switch (r.state) {
    case UserState::kWaiting:
      ++e.counters.expired;
      EndRecord(e, key, r, UserState::kExpired, r.deadline_us);
      break;
    case UserState::kActive:
      ++e.counters.active_timed_out;
      EndRecord(e, key, r, UserState::kExpired, r.deadline_us);
      break;
    default:  // an ended record's retention is over: forget it (queue entries left behind
              // are dropped when the sweep reaches them)
      e.reservations.erase(key);
      e.Forget(r);
      break;
  }
}

Record* MemoryStore::SettleRecord(Event& e, const TokenKey& key, uint32_t tag, int64_t now_us) {
  for (;;) {  // at most twice: a ghost whose record is also past its retention
    Record* r = e.Find(key, tag);
    if (r == nullptr || r->deadline_us > now_us) return r;
    ApplyDeadline(e, key, *r);
  }
}

// The estimates of the rate windows at now_us (RateSample::Window, less its length).
RateSample::Window EstimateWindow(const Windows& w, int64_t now_us) {
  // The five counters share a length: one period and weight for all of them.
  const rules::WindowClock clock = rules::WindowClockOf(w.admissions.length_us, now_us);
  RateSample::Window out;
  out.length = absl::Microseconds(w.admissions.length_us);
  out.admissions = rules::EstimatedAdmissions(w.admissions, now_us, clock);
  out.reached = rules::EstimatedAdmissions(w.reached, now_us, clock);
  out.passes = rules::EstimatedAdmissions(w.passes, now_us, clock);
  out.exposure_sec = rules::EstimatedAdmissions(w.exposure, now_us, clock);
  out.departures = rules::EstimatedAdmissions(w.departures, now_us, clock);
  return out;
}

// A RateSample's fields other than its windows (whose estimates the callers add).
template <typename Sample>
void FillRateFields(const Event& e, Sample& rate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  rate.first_admission = e.first_admission_us == kNever ? absl::InfiniteFuture()
                                                        : rules::MicrosToTime(e.first_admission_us);
  rate.unreached = e.line.size() + e.front.size() - e.reached_front - e.reached_pool;
  rate.policy_rate_per_sec = e.policy.admit_rate_per_sec;
  rate.at_capacity = e.active + e.granted >= e.policy.active_capacity;
  rate.paused = e.policy.paused;
}

RateSample MemoryStore::MakeRateSample(Event& e, int64_t now_us) {
  RateSample rate;
  rate.windows.reserve(e.windows.size());
  for (const Windows& w : e.windows) rate.windows.push_back(EstimateWindow(w, now_us));
  FillRateFields(e, rate);
  rate.bypass_top_n = e.policy.bypass_top_n;
  return rate;
}

void MemoryStore::MakeEstimates(Event& e, int64_t now_us, internal::TicketEstimates* estimates) {
  RateView view;
  FillRateFields(e, view);
  const absl::Time now = rules::MicrosToTime(now_us);
  estimates->set = true;
  // Before the first admission neither estimate reads a window (EstimateRate measures nothing
  // and EstimateLineSpeed keeps the policy's rate), so none is estimated.
  if (e.first_admission_us == kNever || e.windows.empty()) {
    estimates->rate = EstimateRate(view, now);
    estimates->speed = EstimateLineSpeed(view, now);
    return;
  }
  constexpr std::size_t kInline = 4;  // Policy::rate_windows holds at most 4
  std::array<RateSample::Window, kInline> in_place;
  std::vector<RateSample::Window> on_heap;
  RateSample::Window* out = in_place.data();
  if (e.windows.size() > kInline) {
    on_heap.resize(e.windows.size());
    out = on_heap.data();
  }
  for (std::size_t i = 0; i < e.windows.size(); ++i) out[i] = EstimateWindow(e.windows[i], now_us);
  view.windows = out;
  view.window_count = e.windows.size();
  estimates->rate = EstimateRate(view, now);
  estimates->speed = EstimateLineSpeed(view, now);
}

Ticket MemoryStore::MakeTicket(Event& e, std::string_view token, const TokenKey& key,
                               const Record& r, int64_t now_us) {
  Ticket t;
  MakeTicketIn(t, e, token, key, r, now_us, nullptr);
  return t;
}

void MemoryStore::MakeTicketIn(Ticket& t, Event& e, std::string_view token, const TokenKey& key,
                               const Record& r, int64_t now_us,
                               internal::TicketEstimates* estimates) {
  t.event_id = e.id;
  t.user_id.assign(r.user_id.view());
  t.token.assign(token);
  t.state = r.state;
  t.now = rules::MicrosToTime(now_us);
  t.joined_at = rules::MicrosToTime(r.joined_us);
  t.left_line_at =
      LeftLineUs(r) == kNever ? absl::InfiniteFuture() : rules::MicrosToTime(LeftLineUs(r));
  t.deadline = rules::MicrosToTime(r.deadline_us);
  if (r.state == UserState::kWaiting) {
    const Standing standing = StandingOf(e, r, now_us);
    t.position = standing.position;
    t.position_high = standing.position_high;
    t.ahead_unreached = standing.ahead_unreached;
    t.present_until = rules::MicrosToTime(r.present_or_left_us);
    if (Granted(r)) t.grant_expires_at = rules::MicrosToTime(r.grant_until_us);
    t.state = ReportedState(r);
    if (r.place == Place::kPrequeue) {
      t.opens_at = rules::MicrosToTime(*rules::MicrosOf(e.policy.opens_at));
    } else {
      t.tier_wait =
          TierWait(e.policy.wait_tiers, rules::TurnPlace(t.position, e.granted, t.ahead_unreached));
    }
    t.blocked_by = standing.readiness.block;
    t.retry_after = standing.readiness.retry_after;
    t.ready_for_entry = standing.readiness.block == EntryBlock::kNone;
    if (t.blocked_by == EntryBlock::kPaused) t.paused_reason = e.policy.paused_reason;
    t.queue_message = e.policy.queue_message;
  }
  if (auto g = e.reservations.find(key); g != e.reservations.end()) {
    t.reservation_token = g->second.reservation_token;
    t.reservation_expires_at = rules::MicrosToTime(g->second.reservation_expires_us);
  }
  if (estimates == nullptr) {
    t.rate = MakeRateSample(e, now_us);
  } else if (t.state == UserState::kWaiting || t.state == UserState::kPrequeue) {
    MakeEstimates(e, now_us, estimates);
  } else {
    estimates->set = false;
  }
}

template <typename Result, typename Own, typename Answer>
absl::StatusOr<Result> MemoryStore::OnRecord(std::string_view event_id, std::string_view token,
                                             const TokenKey* known_key, Own&& own,
                                             Answer&& answer) {
  Event* e = FindEvent(event_id);
  if (e == nullptr) return absl::NotFoundError("unknown token");
  const absl::StatusOr<TokenKey> parsed =
      known_key != nullptr ? absl::StatusOr<TokenKey>(*known_key) : KeyOf(token);
  const uint32_t tag = parsed.ok() ? TagOf(*parsed) : 0;
  std::lock_guard<std::mutex> lock(e->mu);
  if (parsed.ok()) e->records.Prefetch(tag);  // its cache miss overlaps with Begin
  const int64_t now_us = Begin(*e, parsed.ok() ? &tag : nullptr);
  Record* found = parsed.ok() ? SettleRecord(*e, *parsed, tag, now_us) : nullptr;
  if (found == nullptr) {
    Advance(*e, now_us);
    return parsed.ok() ? absl::NotFoundError("unknown token") : parsed.status();
  }
  // Advance neither adds nor removes records, so the record stays where it is.
  const TokenKey key = *parsed;
  Record& r = *found;
  const absl::Status status = own(*e, key, r, now_us);
  Advance(*e, now_us);
  if (!status.ok()) return status;
  return answer(*e, key, r, now_us);
}

absl::StatusOr<Ticket> MemoryStore::Join(const JoinRequest& request) {
  Ticket t;
  if (absl::Status s = JoinWithKey(request, TokenKey{}, nullptr, &t); !s.ok()) return s;
  return t;
}

absl::Status MemoryStore::JoinParsed(const JoinRequest& request, const TokenKey& key,
                                     Ticket* ticket, internal::TicketEstimates* estimates) {
  return JoinWithKey(request, key, estimates, ticket);
}

absl::Status MemoryStore::JoinWithKey(const JoinRequest& request, const TokenKey& known_key,
                                      internal::TicketEstimates* estimates, Ticket* out) {
  Event* e = FindEvent(request.event_id);
  if (e == nullptr && request.create_with != nullptr) {
    if (absl::Status s = ValidatePolicy(*request.create_with); !s.ok()) return s;
    e = FindOrCreateEvent(request.event_id, *request.create_with);
  }
  if (e == nullptr) return UnknownEvent(request.event_id);
  // Store's way parses the token; the facade's (estimates set) gives its key.
  absl::StatusOr<TokenKey> key =
      estimates != nullptr ? absl::StatusOr<TokenKey>(known_key) : KeyOf(request.token);
  if (!key.ok()) return key.status();

  const uint32_t user_tag = TagOf(request.user_id);
  const uint32_t token_tag = TagOf(*key);
  std::lock_guard<std::mutex> lock(e->mu);
  // The lookups' cache misses overlap with Begin.
  e->by_user.Prefetch(user_tag);
  e->records.Prefetch(token_tag);
  const int64_t now_us = Begin(*e);
  // Every answer, refusals included, comes after Advance (docs/rules.md, "The calls").
  auto fail = [&](absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->mu) {
    Advance(*e, now_us);
    return status;
  };
  if (const Record* found = e->FindUser(request.user_id, user_tag); found != nullptr) {
    const TokenKey existing = found->key;
    SettleRecord(*e, existing, TagOf(existing), now_us);  // a ghost's place is not a place
    if (const Record* still = e->FindUser(request.user_id, user_tag); still != nullptr) {
      const bool active = still->state == UserState::kActive;
      return fail(absl::AlreadyExistsError(
          absl::StrCat("user '", AbslView(request.user_id), "' is already ",
                       active ? "admitted to" : "waiting in", " event '", e->id, "'")));
    }
  }
  if (e->Find(*key, token_tag) != nullptr)
    return fail(absl::AlreadyExistsError("token already in use"));

  const Policy& policy = e->policy;
  if (const std::optional<JoinRefusal::Reason> refusal =
          rules::CheckJoin(policy, e->opened, now_us)) {
    ++e->counters.refused;
    return fail(rules::JoinRefusedError(*refusal, e->id, rules::RefusalTime(policy, *refusal),
                                        policy.reject_message));
  }
  const bool prequeue = rules::JoinsPrequeue(policy, e->opened, now_us);
  if (prequeue && e->prequeue_joins > std::numeric_limits<uint32_t>::max()) {
    return fail(absl::ResourceExhaustedError("the pre-queue has taken 2^32 joins"));
  }
  // The Redis store keeps a sequence number in 5 bytes (lua/room/records.lua); both stores
  // take at most 2^40 - 1 joins into the line (127 days of 100,000 joins/s).
  if (e->line.last_sequence() >= (uint64_t{1} << 40) - 1) {
    return fail(absl::ResourceExhaustedError("the line has taken 2^40 joins"));
  }
  // Admission on arrival (docs/rules.md): passthrough, else the safety net into an empty line.
  bool passthrough = false;
  bool safety_net = false;
  if (!prequeue) {
    passthrough = policy.method == QueueMethod::kPassthrough && !policy.paused;
    safety_net = !passthrough && e->line.size() + e->front.size() == 0 &&
                 rules::SafetyNetAdmits(policy, now_us, e->bucket.tokens, e->active);
    if ((passthrough || safety_net) && request.reservation_token.empty()) {
      return fail(
          absl::InvalidArgumentError("the join admits on arrival but has no reservation token"));
    }
    if (!e->opened) Open(*e);  // an event without opening time opens at its first join
  }

  const uint32_t slot = e->slab.Allocate();
  Record& record = e->slab[slot];  // records do not move: the reference stays valid
  record.key = *key;
  record.slot = slot;
  record.joined_us = now_us;
  record.user_id.Assign(request.user_id);
  e->records.Insert(token_tag, slot);
  e->by_user.Insert(user_tag, slot);
  ++e->counters.joined;
  if (passthrough || safety_net) {
    record.state = UserState::kActive;  // never in line; Admit sets the active deadline
    record.deadline_us = kNever;
    bool by_bypass = false;
    Admit(*e, *key, record, now_us, request.reservation_token,
          passthrough ? AdmitBy::kPassthrough : AdmitBy::kSafetyNet, &by_bypass);
    if (safety_net) ++e->counters.safety_net;
  } else {
    if (prequeue) {
      record.place = Place::kPrequeue;
      record.seq = shuffle::PrequeueSlot(e->secret, static_cast<uint32_t>(e->prequeue_joins++));
      e->prequeue.emplace(static_cast<uint32_t>(record.seq), slot);
    } else {
      AddToPool(*e, record);
    }
    record.deadline_us = kNever;
    Refresh(*e, record, now_us);  // sets the deadline, and so queues the record
  }
  Advance(*e, now_us);
  MakeTicketIn(*out, *e, request.token, *key, record, now_us, estimates);
  return absl::OkStatus();
}

absl::StatusOr<Ticket> MemoryStore::Status(std::string_view event_id, std::string_view token) {
  Ticket t;
  if (absl::Status s = StatusWithKey(event_id, token, nullptr, nullptr, &t); !s.ok()) return s;
  return t;
}

absl::Status MemoryStore::StatusParsed(std::string_view event_id, std::string_view token,
                                       const TokenKey& key, Ticket* ticket,
                                       internal::TicketEstimates* estimates) {
  return StatusWithKey(event_id, token, &key, estimates, ticket);
}

absl::Status MemoryStore::StatusWithKey(std::string_view event_id, std::string_view token,
                                        const TokenKey* key, internal::TicketEstimates* estimates,
                                        Ticket* out) {
  return OnRecord<Ticket*>(
             event_id, token, key,
             [&](Event& e, const TokenKey& /*key*/, Record& r, int64_t now_us) {
               if (r.state == UserState::kWaiting) Refresh(e, r, now_us);
               return absl::OkStatus();
             },
             [&](Event& e, const TokenKey& key, Record& r,
                 int64_t now_us) -> absl::StatusOr<Ticket*> {
               MakeTicketIn(*out, e, token, key, r, now_us, estimates);
               return out;
             })
      .status();
}

absl::StatusOr<std::string> MemoryStore::FindToken(std::string_view event_id,
                                                   std::string_view user_id) {
  Event* e = FindEvent(event_id);
  if (e == nullptr) return UnknownEvent(event_id);
  const uint32_t user_tag = TagOf(user_id);
  TokenKey key;
  {
    std::lock_guard<std::mutex> lock(e->mu);
    const Record* found = e->FindUser(user_id, user_tag);
    if (found == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("user '", AbslView(user_id), "' has no place in event '", e->id, "'"));
    }
    key = found->key;
  }
  // The canonical form NewToken makes: "<event id>.<32 lowercase hex digits>".
  return absl::StrCat(e->id, ".", absl::Hex(key.hi, absl::kZeroPad16),
                      absl::Hex(key.lo, absl::kZeroPad16));
}

absl::StatusOr<EnterOutcome> MemoryStore::Enter(std::string_view event_id, std::string_view token,
                                                std::string_view reservation_token) {
  bool repeated = false;
  return OnRecord<EnterOutcome>(
      event_id, token, nullptr,
      [&](Event& e, const TokenKey& /*key*/, Record& r, int64_t now_us) {
        if (r.state == UserState::kActive) {
          repeated = true;
          return absl::OkStatus();
        }
        if (r.state != UserState::kWaiting) {
          return absl::FailedPreconditionError(absl::StrCat(
              "cannot enter: the user is ", AbslView(UserStateName(r.state)), ", not waiting"));
        }
        Refresh(e, r, now_us);
        return absl::OkStatus();
      },
      [&](Event& e, const TokenKey& key, Record& r,
          int64_t now_us) -> absl::StatusOr<EnterOutcome> {
        EnterOutcome out;
        // Pre-queued users are refused here too (kNotWaiting until the opening).
        if (!repeated && StandingOf(e, r, now_us).readiness.block == EntryBlock::kNone) {
          Admit(e, key, r, now_us, reservation_token,
                Granted(r) ? AdmitBy::kGrant : AdmitBy::kPassthrough, &out.by_bypass);
          out.granted = true;
        }
        out.granted = out.granted || repeated;
        out.repeated = repeated;
        out.ticket = MakeTicket(e, token, key, r, now_us);
        return out;
      });
}

absl::StatusOr<Ticket> MemoryStore::Leave(std::string_view event_id, std::string_view token) {
  return OnRecord<Ticket>(
      event_id, token, nullptr,
      [&](Event& e, const TokenKey& key, Record& r, int64_t now_us) {
        if (r.state == UserState::kWaiting || r.state == UserState::kActive) {
          ++e.counters.left;
          EndRecord(e, key, r, UserState::kLeft, now_us);
        }
        return absl::OkStatus();
      },
      [&](Event& e, const TokenKey& key, Record& r, int64_t now_us) -> absl::StatusOr<Ticket> {
        return MakeTicket(e, token, key, r, now_us);
      });
}

absl::StatusOr<Ticket> MemoryStore::Complete(std::string_view event_id, std::string_view token) {
  return OnRecord<Ticket>(
      event_id, token, nullptr,
      [&](Event& e, const TokenKey& key, Record& r, int64_t now_us) {
        if (r.state == UserState::kActive) {
          ++e.counters.completed;
          EndRecord(e, key, r, UserState::kCompleted, now_us);
        } else if (r.state != UserState::kCompleted) {
          return absl::FailedPreconditionError(
              absl::StrCat("cannot complete: the user is ",
                           AbslView(UserStateName(ReportedState(r))), ", not admitted"));
        }
        return absl::OkStatus();
      },
      [&](Event& e, const TokenKey& key, Record& r, int64_t now_us) -> absl::StatusOr<Ticket> {
        return MakeTicket(e, token, key, r, now_us);
      });
}

absl::StatusOr<SweepOutcome> MemoryStore::Sweep(std::string_view event_id, int64_t max_entries) {
  Event* e = FindEvent(event_id);
  if (e == nullptr) return UnknownEvent(event_id);
  std::lock_guard<std::mutex> lock(e->mu);
  const int64_t now_us = std::max(rules::TimeToMicros(clock_->Now()), e->last_now_us);
  e->last_now_us = now_us;
  SweepOutcome out;
  out.removed = ApplyPassedDeadlines(*e, now_us, std::max<int64_t>(max_entries, 0));
  // Exact unless more than kMaxStaleMovesPerCall stale entries were due: then not done yet.
  out.done = e->deadlines.empty() || e->deadlines.begin()->at_us > now_us;
  ShrinkIfDrained(*e);
  return out;
}

absl::Status MemoryStore::SetPolicy(std::string_view event_id, const Policy& policy) {
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  Event* e = FindOrCreateEvent(event_id, policy);
  std::lock_guard<std::mutex> lock(e->mu);
  const int64_t now_us = Begin(*e);  // refills with the old rate up to now
  Advance(*e, now_us);
  e->policy = policy;
  e->windows = MakeWindows(policy, e->windows);
  e->bucket.tokens = std::min(e->bucket.tokens, static_cast<double>(policy.burst));
  return absl::OkStatus();
}

absl::StatusOr<Policy> MemoryStore::GetPolicy(std::string_view event_id) {
  Event* e = FindEvent(event_id);
  if (e == nullptr) return UnknownEvent(event_id);
  std::lock_guard<std::mutex> lock(e->mu);
  return e->policy;
}

absl::StatusOr<EventCounters> MemoryStore::Stats(std::string_view event_id) {
  Event* e = FindEvent(event_id);
  if (e == nullptr) return UnknownEvent(event_id);
  std::lock_guard<std::mutex> lock(e->mu);
  const int64_t now_us = Begin(*e);
  Advance(*e, now_us);
  EventCounters c;
  c.now = rules::MicrosToTime(now_us);
  c.waiting = e->line.size() + e->front.size();
  c.prequeued = static_cast<int64_t>(e->prequeue.size());
  c.drawn = e->front.size();
  c.granted = e->granted;
  c.active = e->active;
  c.joined_total = e->counters.joined;
  c.admitted_total = e->counters.admitted;
  c.admitted_by_bypass = e->counters.admitted_by_bypass;
  c.expired_total = e->counters.expired;
  c.active_timed_out_total = e->counters.active_timed_out;
  c.left_total = e->counters.left;
  c.completed_total = e->counters.completed;
  c.admitted_by_safety_net = e->counters.safety_net;
  c.admitted_by_passthrough = e->counters.passthrough;
  c.refused_total = e->counters.refused;
  c.passed_total = e->counters.passed;
  c.lapsed_total = e->counters.lapsed;
  c.opened = e->opened;
  c.shuffled_at_opening = e->shuffled_at_opening;
  c.bucket_tokens = e->bucket.tokens;
  c.rate = MakeRateSample(*e, now_us);
  return c;
}

absl::StatusOr<std::vector<std::string>> MemoryStore::ListEvents() {
  std::shared_lock<std::shared_mutex> lock(events_mu_);
  std::vector<std::string> ids;
  ids.reserve(events_.size());
  for (const auto& [id, event] : events_) ids.push_back(id);
  return ids;
}

}  // namespace

std::unique_ptr<Store> NewMemoryStore(const MemoryStoreOptions& options) {
  return std::make_unique<MemoryStore>(options);
}

}  // namespace admission
