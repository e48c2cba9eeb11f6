// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store. Each Store call is one function of the room's library (lua/<action>.lua)
// run by FCALL on one pooled connection, except that concurrent Status calls of one event are
// coalesced into one call, and so are Join calls (TicketBatcher); the functions do all the work and
// answer with flat arrays that this file turns into the same Ticket / EnterOutcome / EventCounters
// / SweepOutcome the memory store builds. Everything about the rules lives in the scripts
// (mirroring src/room/rules.cc and src/room/memory_store.cc); this side only encodes arguments,
// decodes replies and maps errors.
#include <hiredis.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "admission/ids.h"
#include "admission/redis/room_store.h"
#include "common/strings.h"
#include "redis/client/client_internal.h"
#include "redis/client/connection.h"
#include "redis/client/event_registry.h"
#include "redis/client/function_runner.h"
#include "redis/client/packed_reader.h"
#include "redis/client/reply_reader.h"
#include "redis/client/router.h"
#include "redis/room/functions.h"
#include "redis/room/key_layout.h"
#include "redis/room/policy_codec.h"
#include "redis/room/ticket_batcher.h"
#include "room/join_refusal_internal.h"
#include "room/rules.h"
#include "room/shuffle.h"

namespace admission {
namespace {

using redis_internal::Command;
using redis_internal::ErrorReplyStatus;
using redis_internal::EventKeys;
using redis_internal::FunctionRunner;
using redis_internal::GetRoomFunction;
using redis_internal::PackedReader;
using redis_internal::ReplyPtr;
using redis_internal::ReplyReader;
using redis_internal::RoomFunction;
using redis_internal::Router;
using redis_internal::TicketBatcher;

using internal::AbslView;

// The token's 128 random bits as the scripts key records by them (16 raw bytes, big-endian, so
// that memcmp order is numeric order), or "" when the token is malformed; the scripts then fail
// with InvalidArgument at the point where the memory store would (after finding the event, and
// after Begin for all but Join). Like the memory store, only the last 32 characters count.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string TokenKey(std::string_view token) {
  if (token.size() < kTokenRandomHexDigits) return "";
  const std::string_view hex = token.substr(token.size() - kTokenRandomHexDigits);
  std::string key(kTokenRandomHexDigits / 2, '\0');
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return "";
    key[i] = static_cast<char>((high << 4) | low);
  }
  return key;
}

// Counts the scripts produce are exact up to kMaxExactMicros (Lua numbers are doubles).
using internal::kMaxExactMicros;

// The errors of our own the scripts answer that ErrorReplyStatus does not know; nullopt for
// any other.
std::optional<absl::Status> OwnScriptError(std::string_view event_id, std::string_view error) {
  const absl::string_view e = AbslView(error);
  if (absl::StartsWith(e, "RESOURCE_EXHAUSTED ")) {
    return absl::ResourceExhaustedError(e.substr(sizeof("RESOURCE_EXHAUSTED ") - 1));
  }
  if (!absl::StartsWith(e, "JOIN_REFUSED ")) return std::nullopt;
  // JOIN_REFUSED <kind> <time in us> <reject message> (see lua/join.lua).
  std::vector<absl::string_view> parts = absl::StrSplit(e, absl::MaxSplits(' ', 3));
  int64_t at_us = 0;
  if (parts.size() < 3 || !absl::SimpleAtoi(parts[2], &at_us)) return std::nullopt;
  const std::optional<JoinRefusal::Reason> refusal =
      internal::ParseJoinRefusalName(std::string_view(parts[1].data(), parts[1].size()));
  if (!refusal.has_value()) return std::nullopt;
  const absl::string_view message = parts.size() > 3 ? parts[3] : absl::string_view();
  return rules::JoinRefusedError(*refusal, event_id, at_us,
                                 std::string_view(message.data(), message.size()));
}

class RedisStore final : public Store {
 public:
  RedisStore(std::shared_ptr<RedisClient> client, const RedisStoreOptions& options)
      : client_(std::move(client)),
        runner_(&redis_internal::ClientAccess::Runner(*client_)),
        router_(&runner_->router()),
        clock_(options.clock),
        sweep_per_call_(std::max<int64_t>(options.sweep_per_call, 0)),
        prefix_(client_->options().key_prefix),
        events_key_(absl::StrCat(prefix_, ":events")),
        event_secret_(options.event_secret),
        status_batcher_(
            [this](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
              return RunStatusBatch(event_id, tokens);
            },
            static_cast<std::size_t>(std::clamp(options.max_batch, 1, 1024)),
            /*max_in_flight=*/2, client_->options().command_timeout),
        join_batcher_(
            [this](std::string_view event_id, const std::vector<const JoinRequest*>& joins) {
              return RunJoinBatch(event_id, joins);
            },
            static_cast<std::size_t>(std::clamp(options.max_batch, 1, 1024)),
            /*max_in_flight=*/2, client_->options().command_timeout) {}

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

 private:
  EventKeys KeysOf(std::string_view event_id) const;
  // The secret for the event should this call create it, as the two u32 halves the scripts
  // take (see lua/room/state.lua, event_create).
  std::vector<std::string> SecretArgs(std::string_view event_id) const;
  std::string Context(RoomFunction id) const {
    return absl::StrCat(router_->name(), " (", AbslView(GetRoomFunction(id).name), ")");
  }

  // Adds the event to the registry unless this process did so recently (see Run).
  absl::Status Register(std::string_view event_id);

  // Runs one script on the event, with `args` after the common ones (now, sweep_per_call,
  // event id). With `register_event` (the calls that may create the event), first adds the
  // event to the registry: in the same round trip on a single server, by Register on a
  // cluster. An error reply comes back as its status (our own codes, or Internal/Unavailable).
  absl::StatusOr<ReplyPtr> Run(RoomFunction id, std::string_view event_id,
                               const std::vector<std::string>& args, bool register_event);

  // One batch of Status / Join calls (see TicketBatcher): one answer per call.
  std::vector<absl::StatusOr<Ticket>> RunStatusBatch(
      std::string_view event_id, const std::vector<const std::string_view*>& tokens);
  std::vector<absl::StatusOr<Ticket>> RunJoinBatch(std::string_view event_id,
                                                   const std::vector<const JoinRequest*>& joins);
  // The tickets of a batch's reply (now, the rate sample, one entry per call); a failed call
  // fails every ticket.
  std::vector<absl::StatusOr<Ticket>> ReadTickets(RoomFunction id, std::string_view event_id,
                                                  const std::vector<std::string_view>& tokens,
                                                  absl::StatusOr<ReplyPtr> reply);

  // The scripts that answer with a ticket: now, then the ticket.
  absl::StatusOr<Ticket> RunTicketScript(RoomFunction id, std::string_view event_id,
                                         std::string_view token,
                                         const std::vector<std::string>& args, bool register_event);

  const std::shared_ptr<RedisClient> client_;
  FunctionRunner* const runner_;  // client_'s
  Router* const router_;          // runner_'s
  Clock* const clock_;            // nullptr: the server's TIME
  const int64_t sweep_per_call_;
  const std::string prefix_;
  const std::string events_key_;
  const std::function<uint64_t(std::string_view)> event_secret_;
  TicketBatcher<std::string_view> status_batcher_;
  TicketBatcher<JoinRequest> join_batcher_;

  // Cluster mode: events this process added to the registry, and when. The registry lives in
  // another slot than the event, so adding it costs a round trip of its own; one every
  // kRegistryRefresh per event and process is plenty (it only matters after the registry was
  // lost, e.g. a restart without persistence, and the event re-created).
  static constexpr absl::Duration kRegistryRefresh = absl::Minutes(1);
  std::mutex registered_mu_;
  absl::flat_hash_map<std::string, absl::Time> registered_ ABSL_GUARDED_BY(registered_mu_);
};

EventKeys RedisStore::KeysOf(std::string_view event_id) const {
  return redis_internal::EventKeysOf(prefix_, event_id);
}

std::vector<std::string> RedisStore::SecretArgs(std::string_view event_id) const {
  const uint64_t secret = event_secret_ ? event_secret_(event_id) : shuffle::NewEventSecret();
  return {absl::StrCat(secret >> 32), absl::StrCat(secret & 0xffffffffu)};
}

absl::StatusOr<ReplyPtr> RedisStore::Run(RoomFunction id, std::string_view event_id,
                                         const std::vector<std::string>& args,
                                         bool register_event) {
  const redis_internal::LuaFunction& script = GetRoomFunction(id);
  const EventKeys keys = KeysOf(event_id);
  // get_policy reads the meta key only; declaring just that one keeps it a single-key
  // command, which a cluster serves even in the middle of a slot migration (ASK). The others
  // declare the event's fixed keys (key_layout.h), the last of which never exists, so that a
  // cluster refuses them while the slot is being migrated (TRYAGAIN, retried by the router):
  // they also touch buckets and line blocks derived inside the scripts.
  static_assert(redis_internal::kEventKeyCount == 4, "the script call below lists four keys");
  const std::vector<std::string> script_keys =
      id == RoomFunction::kGetPolicy
          ? std::vector<std::string>{keys.meta}
          : std::vector<std::string>{keys.meta, keys.line, keys.deadlines, keys.migrating};
  // The time is read once per call (and reused if the script must be re-sent).
  std::vector<std::string> script_args = {
      clock_ != nullptr ? absl::StrCat(rules::TimeToMicros(clock_->Now())) : std::string(),
      absl::StrCat(sweep_per_call_), std::string(event_id)};
  script_args.insert(script_args.end(), args.begin(), args.end());
  // The registry entry goes first, so that an event never exists without one. On a single
  // server it rides in the same round trip as the script; on a cluster it is another slot.
  std::vector<Command> before;
  if (register_event) {
    if (router_->cluster()) {
      if (absl::Status s = Register(event_id); !s.ok()) return s;
    } else {
      before.push_back({"SADD", events_key_, event_id});
    }
  }

  std::vector<ReplyPtr> before_replies;
  absl::StatusOr<ReplyPtr> reply =
      runner_->Call(script, script_keys, script_args, before, &before_replies);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    const std::string_view error((*reply)->str, (*reply)->len);
    if (std::optional<absl::Status> own = OwnScriptError(event_id, error)) return *own;
    return ErrorReplyStatus(router_->name(), script.name, error);
  }
  if (!before_replies.empty()) {
    const redisReply* added = before_replies.front().get();
    if (added->type == REDIS_REPLY_ERROR) {
      return ErrorReplyStatus(router_->name(), absl::StrCat("SADD ", events_key_),
                              std::string_view(added->str, added->len));
    }
  }
  return reply;
}

absl::Status RedisStore::Register(std::string_view event_id) {
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(registered_mu_);
    auto it = registered_.find(AbslView(event_id));
    if (it != registered_.end() && now - it->second < kRegistryRefresh) return absl::OkStatus();
  }
  absl::StatusOr<ReplyPtr> added =
      router_->Execute(events_key_, Command{"SADD", events_key_, event_id});
  if (!added.ok()) return added.status();
  if ((*added)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(router_->name(), absl::StrCat("SADD ", events_key_),
                            std::string_view((*added)->str, (*added)->len));
  }
  std::lock_guard<std::mutex> lock(registered_mu_);
  registered_[AbslView(event_id)] = now;
  return absl::OkStatus();
}

// The rate sample at the end of ticket and stats replies (see append_rate in lua/room/render.lua):
// the windows come as the scripts store them, "length:period:current:previous" for admissions,
// reached, passes, exposure and departures, ';' between lengths, and are estimated here at `now`
// by the memory store's own function.
void ReadRate(ReplyReader& r, int64_t now_us, RateSample* rate) {
  const std::optional<int64_t> first = r.OptionalInt("first_admission");
  rate->first_admission = first.has_value() ? rules::MicrosToTime(*first) : absl::InfiniteFuture();
  rate->policy_rate_per_sec = r.Double("policy_rate");
  rate->bypass_top_n = r.IntIn("bypass_top_n", 0, kMaxExactMicros);
  rate->paused = r.IntIn("paused", 0, 1) == 1;
  rate->unreached = r.IntIn("unreached", 0, kMaxExactMicros);
  rate->at_capacity = r.IntIn("at_capacity", 0, 1) == 1;
  const std::string windows(r.String("windows"));
  rate->windows.clear();
  if (!r.ok()) return;
  for (absl::string_view item : absl::StrSplit(windows, ';', absl::SkipEmpty())) {
    const std::vector<absl::string_view> v = absl::StrSplit(item, ':');
    constexpr std::size_t kSeries = 5;
    rules::WindowCounter c[kSeries];
    bool ok = v.size() == 1 + 3 * kSeries && absl::SimpleAtoi(v[0], &c[0].length_us) &&
              c[0].length_us > 0;
    for (std::size_t k = 0; ok && k < kSeries; ++k) {
      c[k].length_us = c[0].length_us;
      ok = absl::SimpleAtoi(v[1 + 3 * k], &c[k].period) &&
           absl::SimpleAtod(v[2 + 3 * k], &c[k].current) &&
           absl::SimpleAtod(v[3 + 3 * k], &c[k].previous);
    }
    if (!ok) {
      r.Invalid("windows", "is not a list of window counters");
      return;
    }
    RateSample::Window w;
    w.length = absl::Microseconds(c[0].length_us);
    w.admissions = rules::EstimatedAdmissions(c[0], now_us);
    w.reached = rules::EstimatedAdmissions(c[1], now_us);
    w.passes = rules::EstimatedAdmissions(c[2], now_us);
    w.exposure_sec = rules::EstimatedAdmissions(c[3], now_us);
    w.departures = rules::EstimatedAdmissions(c[4], now_us);
    rate->windows.push_back(w);
  }
}

// A packed ticket (packed_ticket in lua/room/render.lua): the fields MakeTicket fills, but the
// rate sample (a batch of statuses or joins reads one for all; see ReadTicketAndRate).
void ReadTicket(PackedReader& r, std::string_view event_id, std::string_view token, int64_t now_us,
                Ticket* t) {
  t->event_id = std::string(event_id);
  t->user_id = std::string(r.String("user_id"));
  t->token = std::string(token);
  t->state = static_cast<UserState>(r.IntIn("state", static_cast<int>(UserState::kWaiting),
                                            static_cast<int>(UserState::kPrequeue)));
  t->position = r.IntIn("position", 0, kMaxExactMicros);
  t->now = rules::MicrosToTime(now_us);
  t->joined_at = rules::MicrosToTime(r.Int("joined_at"));
  const std::optional<int64_t> left = r.OptionalInt("left_line_at");
  t->left_line_at = left.has_value() ? rules::MicrosToTime(*left) : absl::InfiniteFuture();
  t->deadline = rules::MicrosToTime(r.Int("deadline"));
  t->blocked_by = static_cast<EntryBlock>(r.IntIn("blocked_by", static_cast<int>(EntryBlock::kNone),
                                                  static_cast<int>(EntryBlock::kNotWaiting)));
  t->ready_for_entry = t->blocked_by == EntryBlock::kNone;
  // retry_after as rules::CheckWaiting computes it, from the raw figure the script returns:
  // (ahead_unreached + 1 - tokens) / rate in seconds for not_your_turn (none at rate 0), the
  // remaining wait in us for tier_wait, none otherwise.
  t->retry_after = absl::ZeroDuration();
  switch (t->blocked_by) {
    case EntryBlock::kNotYourTurn: {
      const std::optional<double> seconds = r.OptionalDouble("retry");
      const absl::Duration retry =
          seconds.has_value() ? absl::Seconds(*seconds) : absl::Seconds(60);
      t->retry_after = std::max(retry, absl::Seconds(1));
      break;
    }
    case EntryBlock::kTierWait:
      t->retry_after = absl::Microseconds(r.IntIn("retry", 1, kMaxExactMicros));
      break;
    case EntryBlock::kPaused:
      r.OptionalInt("retry");
      t->retry_after = rules::kPausedRetry;
      break;
    case EntryBlock::kCapacityFull:
      r.OptionalInt("retry");
      t->retry_after = rules::kCapacityRetry;
      break;
    case EntryBlock::kNotWaiting: {
      // Pre-queued: the us until the opening.
      const std::optional<int64_t> us = r.OptionalInt("retry");
      if (us.has_value()) t->retry_after = absl::Microseconds(*us);
      break;
    }
    case EntryBlock::kNone:
      r.OptionalInt("retry");
      break;
  }
  const std::string_view tier_wait = r.String("tier_wait");
  t->paused_reason = std::string(r.String("paused_reason"));
  const std::string_view reservation = r.String("reservation_token");
  const std::optional<int64_t> reservation_expiry = r.OptionalInt("reservation_expires_at");
  t->position_high = r.IntIn("position_high", 0, kMaxExactMicros);
  const std::optional<int64_t> opens_at = r.OptionalInt("opens_at");
  t->opens_at = opens_at.has_value() ? rules::MicrosToTime(*opens_at) : absl::InfiniteFuture();
  t->ahead_unreached = r.IntIn("ahead_unreached", 0, kMaxExactMicros);
  const std::optional<int64_t> present_until = r.OptionalInt("present_until");
  t->present_until =
      present_until.has_value() ? rules::MicrosToTime(*present_until) : absl::InfinitePast();
  const std::optional<int64_t> grant_until = r.OptionalInt("grant_expires_at");
  t->grant_expires_at =
      grant_until.has_value() ? rules::MicrosToTime(*grant_until) : absl::InfiniteFuture();
  t->queue_message = std::string(r.String("queue_message"));
  if (!r.ok()) return;

  t->tier_wait = absl::ZeroDuration();
  if (!tier_wait.empty()) {
    absl::StatusOr<absl::Duration> d = redis_internal::DecodeDuration(tier_wait);
    if (!d.ok()) {
      r.Invalid("tier_wait", "is not a duration");
      return;
    }
    t->tier_wait = *d;
  }
  if (reservation_expiry.has_value()) {
    t->reservation_token = std::string(reservation);
    t->reservation_expires_at = rules::MicrosToTime(*reservation_expiry);
  }
}

// A reply's ticket (append_ticket in lua/room/render.lua): the packed ticket, then the rate
// sample. OK when the whole reply was read and well formed.
absl::Status ReadTicketAndRate(ReplyReader& reply, std::string_view context,
                               std::string_view event_id, std::string_view token, int64_t now_us,
                               Ticket* t) {
  PackedReader packed(context, reply.String("ticket"));
  if (!reply.ok()) return reply.status();
  ReadTicket(packed, event_id, token, now_us, t);
  if (absl::Status s = packed.Finish(); !s.ok()) return s;
  ReadRate(reply, now_us, &t->rate);
  return reply.Finish();
}

absl::StatusOr<Ticket> RedisStore::RunTicketScript(RoomFunction id, std::string_view event_id,
                                                   std::string_view token,
                                                   const std::vector<std::string>& args,
                                                   bool register_event) {
  absl::StatusOr<ReplyPtr> reply = Run(id, event_id, args, register_event);
  if (!reply.ok()) return reply.status();
  const std::string context = Context(id);
  ReplyReader r(reply->get(), context);
  const int64_t now_us = r.Int("now");
  Ticket t;
  if (absl::Status s = ReadTicketAndRate(r, context, event_id, token, now_us, &t); !s.ok()) {
    return s;
  }
  return t;
}

absl::StatusOr<Ticket> RedisStore::Join(const JoinRequest& request) {
  if (request.create_with != nullptr) {
    // The memory store trusts create_with; here a policy that does not validate could store
    // numbers the scripts cannot read back, so it is refused.
    if (absl::Status s = ValidatePolicy(*request.create_with); !s.ok()) return s;
  }
  return join_batcher_.Call(request.event_id, request);
}

absl::StatusOr<Ticket> RedisStore::Status(std::string_view event_id, std::string_view token) {
  return status_batcher_.Call(event_id, token);
}

std::vector<absl::StatusOr<Ticket>> RedisStore::RunStatusBatch(
    std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
  std::vector<std::string> args;
  std::vector<std::string_view> of;
  args.reserve(tokens.size());
  of.reserve(tokens.size());
  for (const std::string_view* token : tokens) {
    args.push_back(TokenKey(*token));
    of.push_back(*token);
  }
  return ReadTickets(RoomFunction::kStatus, event_id, of,
                     Run(RoomFunction::kStatus, event_id, args, false));
}

std::vector<absl::StatusOr<Ticket>> RedisStore::RunJoinBatch(
    std::string_view event_id, const std::vector<const JoinRequest*>& joins) {
  // [first join's index] [create] [secret, policy when creating] then the joins' triples.
  const JoinRequest* creator = nullptr;
  for (const JoinRequest* join : joins) {
    if (join->create_with != nullptr) {
      creator = join;
      break;
    }
  }
  std::vector<std::string> args = {"", creator != nullptr ? "1" : "0"};
  if (creator != nullptr) {
    for (std::string& arg : SecretArgs(event_id)) args.push_back(std::move(arg));
    for (std::string& arg : redis_internal::EncodePolicyArgs(*creator->create_with)) {
      args.push_back(std::move(arg));
    }
  }
  // ARGV numbers from 1, after the three common arguments.
  args[0] = absl::StrCat(3 + args.size() + 1);
  std::vector<std::string_view> tokens;
  tokens.reserve(joins.size());
  for (const JoinRequest* join : joins) {
    args.emplace_back(join->user_id);
    args.push_back(TokenKey(join->token));
    args.emplace_back(join->reservation_token);
    tokens.push_back(join->token);
  }
  return ReadTickets(RoomFunction::kJoin, event_id, tokens,
                     Run(RoomFunction::kJoin, event_id, args,
                         /*register_event=*/creator != nullptr));
}

std::vector<absl::StatusOr<Ticket>> RedisStore::ReadTickets(
    RoomFunction id, std::string_view event_id, const std::vector<std::string_view>& tokens,
    absl::StatusOr<ReplyPtr> reply) {
  if (!reply.ok()) return std::vector<absl::StatusOr<Ticket>>(tokens.size(), reply.status());
  // now, the rate sample, then one entry per token (see lua/status.lua, lua/join.lua).
  const redisReply* all = reply->get();
  const std::string context = Context(id);
  ReplyReader shared(all, context);
  const int64_t now_us = shared.Int("now");
  RateSample rate;
  ReadRate(shared, now_us, &rate);
  if (!shared.ok() || shared.remaining() != tokens.size()) {
    const absl::Status bad =
        !shared.ok() ? shared.status()
                     : absl::InternalError(absl::StrCat(context, ": expected ", tokens.size(),
                                                        " answers, got ", shared.remaining()));
    return std::vector<absl::StatusOr<Ticket>>(tokens.size(), bad);
  }
  const std::size_t first = all->elements - tokens.size();
  std::vector<absl::StatusOr<Ticket>> answers;
  answers.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const redisReply* one = all->element[first + i];
    if (one->type == REDIS_REPLY_ERROR) {
      const std::string_view error(one->str, one->len);
      if (std::optional<absl::Status> own = OwnScriptError(event_id, error)) {
        answers.push_back(*own);
      } else {
        answers.push_back(ErrorReplyStatus(router_->name(), GetRoomFunction(id).name, error));
      }
      continue;
    }
    const bool packed = one->type == REDIS_REPLY_STRING;
    PackedReader r(context, packed ? std::string_view(one->str, one->len) : std::string_view());
    if (!packed) r.Invalid("ticket", "is not a string");
    Ticket t;
    ReadTicket(r, event_id, tokens[i], now_us, &t);
    if (absl::Status s = r.Finish(); !s.ok()) {
      answers.push_back(s);
    } else {
      t.rate = rate;
      answers.push_back(std::move(t));
    }
  }
  return answers;
}

absl::StatusOr<EnterOutcome> RedisStore::Enter(std::string_view event_id, std::string_view token,
                                               std::string_view reservation_token) {
  absl::StatusOr<ReplyPtr> reply =
      Run(RoomFunction::kEnter, event_id, {TokenKey(token), std::string(reservation_token)}, false);
  if (!reply.ok()) return reply.status();
  const std::string context = Context(RoomFunction::kEnter);
  ReplyReader r(reply->get(), context);
  const int64_t now_us = r.Int("now");
  EnterOutcome out;
  out.granted = r.IntIn("granted", 0, 1) == 1;
  out.by_bypass = r.IntIn("by_bypass", 0, 1) == 1;
  out.repeated = r.IntIn("repeated", 0, 1) == 1;
  if (absl::Status s = ReadTicketAndRate(r, context, event_id, token, now_us, &out.ticket);
      !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<Ticket> RedisStore::Leave(std::string_view event_id, std::string_view token) {
  return RunTicketScript(RoomFunction::kLeave, event_id, token, {TokenKey(token)}, false);
}

absl::StatusOr<Ticket> RedisStore::Complete(std::string_view event_id, std::string_view token) {
  return RunTicketScript(RoomFunction::kComplete, event_id, token, {TokenKey(token)}, false);
}

absl::StatusOr<SweepOutcome> RedisStore::Sweep(std::string_view event_id, int64_t max_entries) {
  absl::StatusOr<ReplyPtr> reply =
      Run(RoomFunction::kSweep, event_id, {absl::StrCat(std::max<int64_t>(max_entries, 0))}, false);
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context(RoomFunction::kSweep));
  r.Int("now");
  SweepOutcome out;
  out.removed = r.IntIn("removed", 0, std::max<int64_t>(max_entries, 0));
  out.done = r.IntIn("done", 0, 1) == 1;
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  return out;
}

absl::Status RedisStore::SetPolicy(std::string_view event_id, const Policy& policy) {
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  std::vector<std::string> args = SecretArgs(event_id);
  for (std::string& arg : redis_internal::EncodePolicyArgs(policy)) args.push_back(std::move(arg));
  absl::StatusOr<ReplyPtr> reply = Run(RoomFunction::kSetPolicy, event_id, args, true);
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context(RoomFunction::kSetPolicy));
  r.Int("now");
  return r.Finish();
}

absl::StatusOr<Policy> RedisStore::GetPolicy(std::string_view event_id) {
  absl::StatusOr<ReplyPtr> reply = Run(RoomFunction::kGetPolicy, event_id, {}, false);
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context(RoomFunction::kGetPolicy));
  const std::string blob(r.String("policy"));
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  absl::StatusOr<Policy> policy = redis_internal::DecodePolicyBlob(blob);
  if (!policy.ok()) {
    return absl::InternalError(absl::StrCat("event '", AbslView(event_id), "' on ", router_->name(),
                                            ": ", policy.status().message()));
  }
  return policy;
}

absl::StatusOr<EventCounters> RedisStore::Stats(std::string_view event_id) {
  absl::StatusOr<ReplyPtr> reply = Run(RoomFunction::kStats, event_id, {}, false);
  if (!reply.ok()) return reply.status();
  ReplyReader r(reply->get(), Context(RoomFunction::kStats));
  EventCounters c;
  c.now = rules::MicrosToTime(r.Int("now"));
  c.waiting = r.IntIn("waiting", 0, kMaxExactMicros);
  c.active = r.IntIn("active", 0, kMaxExactMicros);
  c.joined_total = r.IntIn("joined", 0, kMaxExactMicros);
  c.admitted_total = r.IntIn("admitted", 0, kMaxExactMicros);
  c.admitted_by_bypass = r.IntIn("admitted_by_bypass", 0, kMaxExactMicros);
  c.expired_total = r.IntIn("expired", 0, kMaxExactMicros);
  c.active_timed_out_total = r.IntIn("active_timed_out", 0, kMaxExactMicros);
  c.left_total = r.IntIn("left", 0, kMaxExactMicros);
  c.completed_total = r.IntIn("completed", 0, kMaxExactMicros);
  c.bucket_tokens = r.Double("bucket_tokens");
  c.prequeued = r.IntIn("prequeued", 0, kMaxExactMicros);
  c.drawn = r.IntIn("drawn", 0, kMaxExactMicros);
  c.admitted_by_safety_net = r.IntIn("admitted_by_safety_net", 0, kMaxExactMicros);
  c.admitted_by_passthrough = r.IntIn("admitted_by_passthrough", 0, kMaxExactMicros);
  c.refused_total = r.IntIn("refused", 0, kMaxExactMicros);
  c.opened = r.IntIn("opened", 0, 1) == 1;
  c.shuffled_at_opening = r.IntIn("shuffled_at_opening", 0, kMaxExactMicros);
  c.granted = r.IntIn("granted", 0, kMaxExactMicros);
  c.passed_total = r.IntIn("passed", 0, kMaxExactMicros);
  c.lapsed_total = r.IntIn("lapsed", 0, kMaxExactMicros);
  ReadRate(r, rules::TimeToMicros(c.now), &c.rate);
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  return c;
}

absl::StatusOr<std::string> RedisStore::FindToken(std::string_view event_id,
                                                  std::string_view user_id) {
  absl::StatusOr<ReplyPtr> reply =
      Run(RoomFunction::kFind, event_id, {std::string(user_id)}, /*register_event=*/false);
  if (!reply.ok()) return reply.status();
  const redisReply& r = **reply;
  if (r.type != REDIS_REPLY_STRING || r.len != kTokenRandomHexDigits / 2) {
    return absl::InternalError(
        absl::StrCat(Context(RoomFunction::kFind), " answered no token key"));
  }
  // The canonical form NewToken makes: "<event id>.<32 lowercase hex digits>".
  return absl::StrCat(AbslView(event_id), ".",
                      absl::BytesToHexString(absl::string_view(r.str, r.len)));
}

absl::StatusOr<std::vector<std::string>> RedisStore::ListEvents() {
  return redis_internal::ListRegisteredEvents(
      *router_, events_key_, [this](std::string_view id) { return KeysOf(id).meta; });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> NewRedisStore(std::shared_ptr<RedisClient> client,
                                                     const RedisStoreOptions& options) {
  if (client == nullptr) return absl::InvalidArgumentError("NewRedisStore: no client");
  if (absl::Status s =
          redis_internal::ClientAccess::Runner(*client).Load(redis_internal::RoomLibrary());
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Store>(std::make_unique<RedisStore>(std::move(client), options));
}

}  // namespace admission
