// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store against a running redis-server (bench/redis_compare.sh starts one on a free
// loopback port and drives this program and redis-benchmark in the same session; see
// docs/benchmarks.md). Figures, not tests: nothing here asserts a number.
//
//   admission_redis_bench --port=P memory [--users=300000] [--ids=short|uuid]
//       Joins N users into one fresh event and reports the growth of used_memory (less the
//       connections' buffers) per user, the MEMORY USAGE of each kind of key (and how many
//       record/user buckets are still in the compact listpack encoding), then makes everybody
//       leave, forgets them and reports what is left. Uses a simulated clock. Needs an
//       otherwise idle server.
//   admission_redis_bench --port=P prepare --op=join|status|noop --event=E [--line=N]
//       Creates event E (and for status, N waiting users whose token keys are "tk__%012d"),
//       then prints, one per line, the arguments of the FCALL command that redis-benchmark
//       should run to do the same work as the store: the store's own script, KEYS and ARGV,
//       with __rand_int__ where each call needs a fresh user (join) or a random waiting user
//       (status, with -r N). For noop: FCALL of a function that returns 1 (loaded here), no event.
//   admission_redis_bench --port=P run --op=join|status|noop --event=E --threads=T --pool=C
//                         [--seconds=5] [--line=N]
//       T threads call the store (C pooled, pipelined connections) for S seconds: joins of
//       fresh users, or heartbeats of random users among the N prepared ones. Prints ops/s.
//       With T == C every connection carries one request per round trip (the unpipelined
//       baseline). The server's clock, as in production (and as the FCALL run). noop runs the
//       FCALL of a function that returns 1 through the store's connection pool itself: what
//       the pool costs and gains when the function costs Redis next to nothing (the store's
//       functions cost it far more than a loopback round trip, which hides the pool's share).
//   admission_redis_bench --port=P naive-prepare --op=join|status --event=E [--line=N]
//   admission_redis_bench --port=P naive-run --op=join|status --event=E --threads=T --pool=C
//                         [--seconds=5] [--line=N]
//       The same as prepare and run for the seeds' naive layout (bench/naive_layout.cc: a
//       sorted-set enqueue script and a ZRANK status script, EVALSHA), the baseline issue 16
//       quotes the store's figures against: naive-run calls the scripts through the store's
//       own client (ConnectionPool), naive-prepare prints redis-benchmark's EVALSHA line.
#include <hiredis.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "admission/admission.h"
#include "admission/redis/client.h"
#include "admission/redis/room_store.h"
#include "bench_util.h"
#include "common/strings.h"
#include "naive_layout.h"
#include "redis/client/connection.h"
#include "redis/client/connection_pool.h"
#include "redis/room/functions.h"
#include "redis/room/key_layout.h"

namespace {

using admission::redis_internal::Command;
using admission::redis_internal::Connection;
using admission::redis_internal::ConnectionPool;
using admission::redis_internal::Endpoint;
using admission::redis_internal::ReplyPtr;
using admission_bench::StatusKey;

constexpr std::string_view kPrefix = "admbench";

// Abseil here is 20220623 as Debian ships it, whose string_view is not std::string_view.
using admission::internal::AbslView;
constexpr int64_t kSweepPerCall = 64;  // RedisStoreOptions' default, also in the FCALL run
// A function that does nothing, in a library of its own: what an FCALL costs when the function
// costs Redis next to nothing (the store's functions run by FCALL too).
constexpr std::string_view kNoopLibrary =
    "#!lua name=admission_bench_noop\n"
    "redis.register_function('admission_bench_noop', function() return 1 end)";
constexpr std::string_view kNoopFunction = "admission_bench_noop";

struct Flags {
  std::string mode;
  int port = 6379;
  std::string op = "join";
  std::string event = "bench";
  std::string ids = "short";
  int64_t users = 300'000;
  int64_t line = 100'000;
  int threads = 64;
  int pool = 4;
  double seconds = 5;
};

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "admission_redis_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), status.ToString().c_str());
  std::exit(1);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: admission_redis_bench --port=P memory [--users=N] [--ids=short|uuid]\n"
               "       admission_redis_bench --port=P prepare --op=join|status|noop --event=E "
               "[--line=N]\n"
               "       admission_redis_bench --port=P run --op=join|status|noop --event=E "
               "--threads=T --pool=C [--seconds=S] [--line=N]\n"
               "       admission_redis_bench --port=P naive-prepare --op=join|status --event=E "
               "[--line=N]\n"
               "       admission_redis_bench --port=P naive-run --op=join|status --event=E "
               "--threads=T --pool=C [--seconds=S] [--line=N]\n");
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      if (!f.mode.empty()) Usage();
      f.mode = std::string(arg);
      continue;
    }
    const std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos) Usage();
    const std::string name(arg.substr(2, eq - 2));
    const std::string value(arg.substr(eq + 1));
    bool ok = true;
    if (name == "port") {
      ok = absl::SimpleAtoi(value, &f.port);
    } else if (name == "op") {
      f.op = value;
    } else if (name == "event") {
      f.event = value;
    } else if (name == "ids") {
      f.ids = value;
    } else if (name == "users") {
      ok = absl::SimpleAtoi(value, &f.users);
    } else if (name == "line") {
      ok = absl::SimpleAtoi(value, &f.line);
    } else if (name == "threads") {
      ok = absl::SimpleAtoi(value, &f.threads);
    } else if (name == "pool") {
      ok = absl::SimpleAtoi(value, &f.pool);
    } else if (name == "seconds") {
      ok = absl::SimpleAtod(value, &f.seconds);
    } else {
      ok = false;
    }
    if (!ok) Usage();
  }
  if (f.mode.empty() || (f.op != "join" && f.op != "status" && f.op != "noop") || f.threads < 1 ||
      f.pool < 1 || f.users < 1 || f.line < 1 || (f.ids != "short" && f.ids != "uuid")) {
    Usage();
  }
  return f;
}

admission::Policy BenchPolicy() {
  admission::Policy p;
  p.admit_rate_per_sec = 0;  // nobody is admitted: the line only grows
  p.heartbeat_ttl = absl::Hours(24 * 7);
  p.active_ttl = absl::Hours(1);
  p.ended_ttl = absl::Seconds(1);
  p.wait_tiers.clear();
  return p;
}

std::unique_ptr<admission::Store> OpenStore(const Flags& f, int pool, admission::Clock* clock) {
  admission::RedisClientOptions connection;
  connection.port = f.port;
  connection.pool_size = pool;
  connection.key_prefix = std::string(kPrefix);
  connection.command_timeout = absl::Seconds(10);
  auto client = admission::RedisClient::Connect(connection);
  if (!client.ok()) Die("RedisClient::Connect", client.status());
  admission::RedisStoreOptions options;
  options.clock = clock;
  options.sweep_per_call = kSweepPerCall;
  auto store = admission::NewRedisStore(*std::move(client), options);
  if (!store.ok()) Die("NewRedisStore", store.status());
  return std::move(store).value();
}

std::unique_ptr<Connection> Admin(const Flags& f) {
  auto c = Connection::Open(Endpoint{"127.0.0.1", f.port, absl::Seconds(1), absl::Seconds(60)});
  if (!c.ok()) Die("connect", c.status());
  return std::move(c).value();
}

std::string ReplyText(const ReplyPtr& reply) {
  if (reply->type == REDIS_REPLY_INTEGER) return absl::StrCat(reply->integer);
  if (reply->str == nullptr) return "";
  return std::string(reply->str, reply->len);
}

std::string Run1(Connection& c, const Command& command) {
  auto reply = c.Execute(command);
  if (!reply.ok()) Die(command.front(), reply.status());
  if ((*reply)->type == REDIS_REPLY_ERROR)
    Die(command.front(), absl::InternalError(ReplyText(*reply)));
  return ReplyText(*reply);
}

int64_t InfoMemoryField(Connection& c, std::string_view field) {
  const std::string info = Run1(c, {"INFO", "memory"});
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    if (absl::ConsumePrefix(&line, AbslView(field)) && absl::ConsumePrefix(&line, ":")) {
      int64_t n = 0;
      if (absl::SimpleAtoi(line, &n)) return n;
    }
  }
  Die("INFO memory", absl::InternalError(absl::StrCat("no ", AbslView(field))));
}

// used_memory without what depends on the traffic rather than on the data (as in
// tests/redis/redis_memory_test.cc): the connections' buffers and the slow log.
int64_t UsedMemory(Connection& c) {
  Run1(c, {"SLOWLOG", "RESET"});
  return InfoMemoryField(c, "used_memory") - InfoMemoryField(c, "mem_clients_normal");
}

// The token whose key (the 16 raw bytes the store derives from its last 32 hex digits) is the
// 16 ASCII characters of `key`: what redis-benchmark generates with "tk____rand_int__".
std::string TokenWithKey(std::string_view event, std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token = absl::StrCat(AbslView(event), ".");
  for (unsigned char c : key) {
    token.push_back(kHex[c >> 4]);
    token.push_back(kHex[c & 15]);
  }
  return token;
}

std::string UserId(int64_t i, bool uuid) {
  if (!uuid) return absl::StrCat("user-", i);
  char buf[40];
  const auto u = static_cast<unsigned long long>(i);
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                (u * 2654435761ULL) & 0xffffffffULL, (u >> 3) & 0xffffULL, u & 0xfffULL,
                (u >> 12) & 0xfffULL, u);
  return std::string(buf, 36);
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void Parallel(int threads, int64_t n, const Fn& fn) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int64_t i = t; i < n; i += threads) fn(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

// ---------------------------------------------------------------------------------------------
// memory

struct KindUsage {
  int64_t keys = 0;
  int64_t bytes = 0;
  int64_t compact = 0;  // listpack-encoded hashes
  int64_t entries = 0;  // hash fields
  int64_t max_entries = 0;
};

// MEMORY USAGE (every element counted) per kind of key under the event's tag.
std::map<std::string, KindUsage> Breakdown(Connection& c, std::string_view event) {
  const std::string match = absl::StrCat(AbslView(kPrefix), ":{", AbslView(event), "}:*");
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto reply = c.Execute(Command{"SCAN", cursor, "MATCH", match, "COUNT", "10000"});
    if (!reply.ok()) Die("SCAN", reply.status());
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) Die("SCAN", absl::InternalError("reply"));
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    }
  } while (cursor != "0");

  std::map<std::string, KindUsage> kinds;
  constexpr std::size_t kBatch = 512;
  for (std::size_t from = 0; from < keys.size(); from += kBatch) {
    const std::size_t to = std::min(keys.size(), from + kBatch);
    std::vector<Command> commands;
    for (std::size_t i = from; i < to; ++i) {
      commands.push_back({"MEMORY", "USAGE", keys[i], "SAMPLES", "0"});
      commands.push_back({"OBJECT", "ENCODING", keys[i]});
      commands.push_back({"TYPE", keys[i]});
    }
    auto replies = c.Execute(commands);
    if (!replies.ok()) Die("MEMORY USAGE", replies.status());
    std::vector<Command> lengths;
    std::vector<std::string*> kind_of;
    for (std::size_t i = from; i < to; ++i) {
      const std::size_t j = 3 * (i - from);
      const std::string& key = keys[i];
      // The part after the tag, without a bucket or block number: "m", "l", "l:", "r:", ...
      std::string kind = key.substr(key.find("}:") + 2);
      if (const std::size_t colon = kind.find(':'); colon != std::string::npos) {
        kind = kind.substr(0, colon + 1);
      }
      KindUsage& k = kinds[kind];
      ++k.keys;
      k.bytes += (*replies)[j]->integer;
      if (ReplyText((*replies)[j + 1]) == "listpack") ++k.compact;
      if (ReplyText((*replies)[j + 2]) == "hash") {
        auto n = c.Execute(Command{"HLEN", key});
        if (!n.ok()) Die("HLEN", n.status());
        k.entries += (*n)->integer;
        k.max_entries = std::max<int64_t>(k.max_entries, (*n)->integer);
      }
    }
  }
  return kinds;
}

int Memory(const Flags& f) {
  admission::SimulatedClock clock;
  std::unique_ptr<admission::Store> store = OpenStore(f, 4, &clock);
  std::unique_ptr<Connection> admin = Admin(f);
  const std::string event = absl::StrCat("mem", getpid());
  const bool uuid = f.ids == "uuid";
  admission::Policy p = BenchPolicy();
  p.heartbeat_ttl = absl::Hours(1);
  if (absl::Status s = store->SetPolicy(event, p); !s.ok()) Die("SetPolicy", s);
  const int64_t keys0 = std::stoll(Run1(*admin, {"DBSIZE"}));
  const int64_t m0 = UsedMemory(*admin);

  std::vector<std::string> tokens(static_cast<std::size_t>(f.users));
  std::atomic<int64_t> errors{0};
  Parallel(16, f.users, [&](int64_t i) {
    tokens[i] = admission::NewToken(event);
    const std::string user = UserId(i, uuid);
    admission::JoinRequest request;
    request.event_id = event;
    request.user_id = user;
    request.token = tokens[i];
    if (!store->Join(request).ok()) ++errors;
  });
  if (errors > 0) Die("Join", absl::InternalError(absl::StrCat(errors.load(), " joins failed")));
  const int64_t m1 = UsedMemory(*admin);
  const int64_t keys1 = std::stoll(Run1(*admin, {"DBSIZE"}));
  const double n = static_cast<double>(f.users);
  std::printf("users=%lld ids=%s (e.g. %s)\n", static_cast<long long>(f.users), f.ids.c_str(),
              UserId(f.users - 1, uuid).c_str());
  std::printf(
      "used_memory (without client buffers): %lld -> %lld, %.1f bytes per waiting user; "
      "keys %lld -> %lld\n",
      static_cast<long long>(m0), static_cast<long long>(m1), static_cast<double>(m1 - m0) / n,
      static_cast<long long>(keys0), static_cast<long long>(keys1));
  std::printf("%-6s %8s %12s %10s %10s %10s %8s\n", "kind", "keys", "bytes", "B/user", "listpack",
              "entries", "max");
  for (const auto& [kind, k] : Breakdown(*admin, event)) {
    std::printf("%-6s %8lld %12lld %10.1f %10lld %10lld %8lld\n", kind.c_str(),
                static_cast<long long>(k.keys), static_cast<long long>(k.bytes),
                static_cast<double>(k.bytes) / n, static_cast<long long>(k.compact),
                static_cast<long long>(k.entries), static_cast<long long>(k.max_entries));
  }

  // Everybody leaves; the records are forgotten after ended_ttl.
  Parallel(16, f.users, [&](int64_t i) {
    if (!store->Leave(event, tokens[i]).ok()) ++errors;
  });
  clock.Advance(p.ended_ttl + absl::Seconds(1));
  for (;;) {
    auto swept = store->Sweep(event, 50'000);
    if (!swept.ok()) Die("Sweep", swept.status());
    if (swept->done) break;
  }
  const int64_t m2 = UsedMemory(*admin);
  std::printf(
      "after all left and were forgotten: used_memory %lld (%+lld from the start), keys "
      "%lld, errors %lld\n",
      static_cast<long long>(m2), static_cast<long long>(m2 - m0),
      static_cast<long long>(std::stoll(Run1(*admin, {"DBSIZE"}))),
      static_cast<long long>(errors.load()));
  Run1(*admin, {"DEL", admission::redis_internal::EventKeysOf(kPrefix, event).meta});
  return 0;
}

// ---------------------------------------------------------------------------------------------
// prepare / run

// Loads kNoopLibrary (replacing an earlier load of it).
void LoadNoop(const Flags& f) { Run1(*Admin(f), {"FUNCTION", "LOAD", "REPLACE", kNoopLibrary}); }

int Prepare(const Flags& f) {
  if (f.op == "noop") {
    LoadNoop(f);
    for (const std::string& a :
         {std::string("FCALL"), std::string(kNoopFunction), std::string("0")}) {
      std::printf("%s\n", a.c_str());
    }
    return 0;
  }
  std::unique_ptr<admission::Store> store = OpenStore(f, 4, nullptr);
  if (absl::Status s = store->SetPolicy(f.event, BenchPolicy()); !s.ok()) Die("SetPolicy", s);
  if (f.op == "status") {
    std::atomic<int64_t> errors{0};
    Parallel(32, f.line, [&](int64_t i) {
      const std::string token = TokenWithKey(f.event, StatusKey(i));
      const std::string user = absl::StrCat("su-", i);
      admission::JoinRequest request;
      request.event_id = f.event;
      request.user_id = user;
      request.token = token;
      // Already there from an earlier prepare of the same event: fine.
      const absl::Status joined = store->Join(request).status();
      if (!joined.ok() && !absl::IsAlreadyExists(joined)) ++errors;
    });
    if (errors > 0) Die("Join", absl::InternalError(absl::StrCat(errors.load(), " failed")));
  }
  // The store's own call, word for word (see RedisStore::Run): FCALL function numkeys KEYS...
  // now ('' = the server's TIME) sweep_per_call event_id, then the function's own arguments.
  const auto keys = admission::redis_internal::EventKeysOf(kPrefix, f.event);
  const auto& function = admission::redis_internal::GetRoomFunction(
      f.op == "join" ? admission::redis_internal::RoomFunction::kJoin
                     : admission::redis_internal::RoomFunction::kStatus);
  std::vector<std::string> args = {"FCALL",
                                   std::string(function.function),
                                   absl::StrCat(admission::redis_internal::kEventKeyCount),
                                   keys.meta,
                                   keys.line,
                                   keys.deadlines,
                                   keys.migrating,
                                   "",
                                   absl::StrCat(kSweepPerCall),
                                   f.event};
  if (f.op == "join") {
    // One join of a fresh user, not creating the event (lua/join.lua: the first join's index,
    // the create flag, then user id, token key, reservation token). The user id takes two
    // random numbers (__rand_int__ is 12 digits, below 2^31 with -r 2147483647) so that it
    // never repeats; the token key is 16 bytes as the store's are, one random number and a
    // suffix, so a few repeat over a run: those answer an error inside the reply's array,
    // which redis-benchmark does not stop at.
    args.insert(args.end(), {"6", "0", "rb-__rand_int__-__rand_int__", "__rand_int__tkey", ""});
  } else {
    args.push_back("tk____rand_int__");  // with -r line: one of the prepared users
  }
  for (const std::string& a : args) std::printf("%s\n", a.c_str());
  return 0;
}

// Redis' own count and time of FCALL so far (INFO commandstats): with Status calls coalesced,
// one FCALL serves many calls, so the server time per call is usec over the calls made, not
// the usec_per_call Redis shows.
struct FcallStats {
  int64_t calls = 0;
  int64_t usec = 0;
};
FcallStats Fcalls(Connection& c) {
  FcallStats out;
  const std::string info = Run1(c, {"INFO", "commandstats"});
  const std::size_t at = info.find("cmdstat_fcall:");
  if (at == std::string::npos) return out;
  const std::string line = info.substr(at, info.find('\n', at) - at);
  for (absl::string_view item : absl::StrSplit(line.substr(line.find(':') + 1), ',')) {
    if (absl::ConsumePrefix(&item, "calls=")) (void)absl::SimpleAtoi(item, &out.calls);
    if (absl::ConsumePrefix(&item, "usec=")) (void)absl::SimpleAtoi(item, &out.usec);
  }
  return out;
}

int RunOps(const Flags& f) {
  std::unique_ptr<admission::Store> store = OpenStore(f, f.pool, nullptr);
  // For noop, a pool like the store's (same endpoint settings as OpenStore's).
  ConnectionPool pool(Endpoint{"127.0.0.1", f.port, absl::Seconds(1), absl::Seconds(10)}, f.pool);
  if (f.op == "noop") LoadNoop(f);
  const Command noop = {"FCALL", kNoopFunction, "0"};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ops{0}, errors{0};
  std::vector<std::thread> threads;
  // Read once: getpid is a system call (about a microsecond on a VM), which the joins' user
  // ids would otherwise add to the client's CPU per call.
  const pid_t pid = getpid();
  const uint64_t seed = static_cast<uint64_t>(pid) << 20;
  for (int t = 0; t < f.threads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t state = seed + static_cast<uint64_t>(t) * 0x9E3779B97F4A7C15ULL;
      int64_t mine = 0;
      admission::JoinRequest request;
      request.event_id = f.event;
      std::string user, token;
      while (!stop.load(std::memory_order_relaxed)) {
        bool ok;
        if (f.op == "join") {
          user = absl::StrCat("sj-", pid, "-", t, "-", mine);
          token = admission::NewToken(f.event);
          request.user_id = user;
          request.token = token;
          ok = store->Join(request).ok();
        } else if (f.op == "noop") {
          auto reply = pool.Execute(noop);
          ok = reply.ok() && (*reply)->type == REDIS_REPLY_INTEGER;
        } else {
          state = state * 6364136223846793005ULL + 1442695040888963407ULL;
          const int64_t i = static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(f.line));
          ok = store->Status(f.event, TokenWithKey(f.event, StatusKey(i))).ok();
        }
        if (!ok) errors.fetch_add(1, std::memory_order_relaxed);
        ++mine;
      }
      ops.fetch_add(mine);
    });
  }
  std::unique_ptr<Connection> admin = Admin(f);
  const FcallStats fcall_start = Fcalls(*admin);
  const admission_bench::TimedRun run = admission_bench::RunFor(f.seconds, stop, threads, ops);
  const double elapsed = run.elapsed_seconds;
  const double cpu_us_per_call = run.cpu_us_per_call;
  // Only noop calls go through `pool`; the store's own pool is not visible from here.
  std::string sharing;
  if (f.op != "noop") {
    const FcallStats fcall_end = Fcalls(*admin);
    const double calls = static_cast<double>(std::max<int64_t>(1, ops.load()));
    const double fcalls =
        static_cast<double>(std::max<int64_t>(1, fcall_end.calls - fcall_start.calls));
    sharing = absl::StrCat(
        " server_us_per_call=",
        absl::SixDigits(static_cast<double>(fcall_end.usec - fcall_start.usec) / calls),
        " calls_per_fcall=", absl::SixDigits(calls / fcalls));
  }
  if (f.op == "noop") {
    const ConnectionPool::Counters c = pool.counters();
    sharing = absl::StrCat(" requests_per_round_trip=",
                           static_cast<double>(c.requests) /
                               static_cast<double>(std::max<uint64_t>(1, c.round_trips)));
  }
  std::printf(
      "op=%s threads=%d pool=%d seconds=%.2f calls=%lld errors=%lld ops_per_sec=%.0f "
      "client_cpu_us_per_call=%.1f%s\n",
      f.op.c_str(), f.threads, f.pool, elapsed, static_cast<long long>(ops.load()),
      static_cast<long long>(errors.load()), static_cast<double>(ops.load()) / elapsed,
      cpu_us_per_call, sharing.c_str());
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  if (f.mode == "memory") return Memory(f);
  if (f.mode == "prepare") return Prepare(f);
  if (f.mode == "run") return RunOps(f);
  if (f.mode == "naive-prepare" || f.mode == "naive-run") {
    const admission_bench::NaiveOptions o{f.port,    f.op,   f.event,  f.line,
                                          f.threads, f.pool, f.seconds};
    return f.mode == "naive-prepare" ? admission_bench::NaivePrepare(o)
                                     : admission_bench::NaiveRun(o);
  }
  Usage();
}
