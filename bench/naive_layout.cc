// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The seeds' naive layout (see naive_layout.h): issue 16 quotes the store's joins/s and
// status/s as ratios to these scripts, run on the same redis-server, through the same client
// (the store's ConnectionPool) and in the same session, since this shared machine's figures
// move by 15-25% from one minute to the next and only same-run ratios mean something.
#include "naive_layout.h"

#include <hiredis.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "admission/ids.h"
#include "bench_util.h"
#include "redis/client/connection.h"
#include "redis/client/connection_pool.h"

namespace admission_bench {

// The seeds' design, as measured in ../shared/notes/measured-on-this-machine.md ("a 7-call
// enqueue script (dedupe, stream, index, heartbeat)": 41.7k/s; "a 4-call status script":
// 74k-134k/s through redis-benchmark on this machine) and quoted in docs/benchmarks.md, "Redis
// store": a dedupe hash, a sequence, one sorted set for the line (rank = ZRANK), a record per
// token and one sorted set of heartbeat deadlines. Nothing sweeps, nobody is admitted, there
// is no rate, no ETA, no grants: the cheapest way to hold a line and a rank in Redis, which
// is the point of the baseline. Every key is passed in KEYS and carries the event's hash tag,
// so the scripts would run on a cluster as they are. The server's clock (TIME; scripts
// replicate their effects in Redis 7), as the store's calls use it, and as redis-benchmark,
// which cannot pass a clock, needs.
//
// Fresh user: HSETNX, TIME, INCR, ZADD, HSET, ZADD, ZRANK (7 calls); a known user: HSETNX,
// HGET, ZRANK.
const std::string_view kNaiveJoinScript = R"lua(
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return redis.call('ZRANK', KEYS[3], redis.call('HGET', KEYS[1], ARGV[1]))
end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[3], seq, ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1] .. ' ' .. now)
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[3]), ARGV[2])
return redis.call('ZRANK', KEYS[3], ARGV[2])
)lua";

// ZRANK, TIME, ZADD XX (3 calls): the rank, and the heartbeat pushed back (XX: a status never
// re-creates a heartbeat that something else removed).
const std::string_view kNaiveStatusScript = R"lua(
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return redis.error_reply('NOT_FOUND no such token') end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[2], 'XX', t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]),
           ARGV[1])
return rank
)lua";

namespace {

using admission::redis_internal::Command;
using admission::redis_internal::Connection;
using admission::redis_internal::ConnectionPool;
using admission::redis_internal::Endpoint;
using admission::redis_internal::ReplyPtr;

// The store's BenchPolicy heartbeat_ttl (a week): nobody lapses during a run.
constexpr std::string_view kTtlMs = "604800000";
// Status users put in the line per round trip by naive-prepare.
constexpr int64_t kPrepareBatch = 1000;

struct Keys {
  std::string users, seq, line, rec, hb;
};

// "naive:{E}:..." beside the store's "admbench:{E}:...": the same server holds both.
Keys KeysOf(std::string_view event) {
  const std::string base = "naive:{" + std::string(event) + "}:";
  return {base + "users", base + "seq", base + "line", base + "rec", base + "hb"};
}

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "admission_redis_bench: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), status.ToString().c_str());
  std::exit(1);
}

std::string ReplyText(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_INTEGER) return absl::StrCat(reply.integer);
  if (reply.type == REDIS_REPLY_NIL || reply.str == nullptr) return "(nil)";
  return std::string(reply.str, reply.len);
}

// The timeouts of admission_redis_bench's admin connection (60 s: a prepare's batches) and of
// the store's pool in run (10 s, RedisClientOptions::command_timeout there).
Endpoint EndpointOf(const NaiveOptions& o, absl::Duration command_timeout) {
  return Endpoint{"127.0.0.1", o.port, absl::Seconds(1), command_timeout};
}

std::string Run1(Connection& c, const Command& command) {
  auto reply = c.Execute(command);
  if (!reply.ok()) Die(command.front(), reply.status());
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    Die(command.front(), absl::InternalError(ReplyText(**reply)));
  }
  return ReplyText(**reply);
}

struct Shas {
  std::string join, status;
};

Shas Load(Connection& c) {
  return {Run1(c, {"SCRIPT", "LOAD", kNaiveJoinScript}),
          Run1(c, {"SCRIPT", "LOAD", kNaiveStatusScript})};
}

// The join and status calls, argument for argument; the views point into keys, sha and the
// caller's user and token.
Command JoinCall(const Shas& sha, const Keys& k, std::string_view user, std::string_view token) {
  return {"EVALSHA", sha.join, "5", k.users, k.seq, k.line, k.rec, k.hb, user, token, kTtlMs};
}

Command StatusCall(const Shas& sha, const Keys& k, std::string_view token) {
  return {"EVALSHA", sha.status, "2", k.line, k.hb, token, kTtlMs};
}

bool ValidOp(const NaiveOptions& o) {
  if (o.op == "join" || o.op == "status") return true;
  std::fprintf(stderr, "admission_redis_bench: naive-prepare/naive-run take --op=join|status\n");
  return false;
}

}  // namespace

int NaivePrepare(const NaiveOptions& o) {
  if (!ValidOp(o)) return 2;
  auto admin = Connection::Open(EndpointOf(o, absl::Seconds(60)));
  if (!admin.ok()) Die("connect", admin.status());
  Connection& c = **admin;
  const Shas sha = Load(c);
  const Keys k = KeysOf(o.event);
  std::vector<std::string> args;
  if (o.op == "join") {
    // A fresh event for each run, as the store's prepare does (UNLINK: no wait on a big line).
    Run1(c, {"UNLINK", k.users, k.seq, k.line, k.rec, k.hb});
    // A fresh user per call (two random numbers, as the store's EVALSHA run: a repeat would
    // be a cheaper dedupe hit, not an error, but would not be the same work).
    args = {"EVALSHA",
            sha.join,
            "5",
            k.users,
            k.seq,
            k.line,
            k.rec,
            k.hb,
            "nb-__rand_int__-__rand_int__",
            "nt-__rand_int____rand_int__",
            std::string(kTtlMs)};
  } else {
    // The line, in order, a batch per round trip; users already there (an earlier prepare of
    // the same event) are dedupe hits.
    std::vector<std::string> users, tokens;
    for (int64_t from = 0; from < o.line; from += kPrepareBatch) {
      const int64_t to = std::min(o.line, from + kPrepareBatch);
      users.clear();
      tokens.clear();
      for (int64_t i = from; i < to; ++i) {
        users.push_back(absl::StrCat("nu-", i));
        tokens.push_back(StatusKey(i));
      }
      std::vector<Command> calls;
      for (std::size_t j = 0; j < users.size(); ++j) {
        calls.push_back(JoinCall(sha, k, users[j], tokens[j]));
      }
      auto replies = c.Execute(calls);
      if (!replies.ok()) Die("naive join", replies.status());
      for (const ReplyPtr& r : *replies) {
        if (r->type != REDIS_REPLY_INTEGER) Die("naive join", absl::InternalError(ReplyText(*r)));
      }
    }
    args = {"EVALSHA", sha.status, "2", k.line, k.hb, "tk____rand_int__", std::string(kTtlMs)};
  }
  for (const std::string& a : args) std::printf("%s\n", a.c_str());
  return 0;
}

int NaiveRun(const NaiveOptions& o) {
  if (!ValidOp(o)) return 2;
  Shas sha;
  {
    auto admin = Connection::Open(EndpointOf(o, absl::Seconds(60)));
    if (!admin.ok()) Die("connect", admin.status());
    sha = Load(**admin);  // loaded already by naive-prepare, unless the server restarted
  }
  const Keys k = KeysOf(o.event);
  // The store's client: the same pool class, as many connections as the store gets.
  ConnectionPool pool(EndpointOf(o, absl::Seconds(10)), o.pool);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ops{0}, errors{0};
  std::once_flag first_error;
  std::vector<std::thread> threads;
  const auto pid = static_cast<uint64_t>(getpid());
  const uint64_t seed = pid << 20;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t state = seed + static_cast<uint64_t>(t) * 0x9E3779B97F4A7C15ULL;
      int64_t mine = 0;
      std::string user, token;
      while (!stop.load(std::memory_order_relaxed)) {
        // Built per call, as the store builds its own: that CPU is part of the client's cost.
        if (o.op == "join") {
          user = absl::StrCat("nj-", pid, "-", t, "-", mine);
          token = admission::NewToken(o.event);
        } else {
          state = state * 6364136223846793005ULL + 1442695040888963407ULL;
          token = StatusKey(static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(o.line)));
        }
        auto reply = pool.Execute(o.op == "join" ? JoinCall(sha, k, user, token)
                                                 : StatusCall(sha, k, token));
        if (!reply.ok() || (*reply)->type != REDIS_REPLY_INTEGER) {
          errors.fetch_add(1, std::memory_order_relaxed);
          // One line is enough to tell an unprepared line (NOT_FOUND) from a dead server.
          std::call_once(first_error, [&] {
            std::fprintf(
                stderr, "admission_redis_bench: naive %s: %s\n", o.op.c_str(),
                reply.ok() ? ReplyText(**reply).c_str() : reply.status().ToString().c_str());
          });
        }
        ++mine;
      }
      ops.fetch_add(mine);
    });
  }
  const TimedRun run = RunFor(o.seconds, stop, threads, ops);
  const double elapsed = run.elapsed_seconds;
  const double cpu_us_per_call = run.cpu_us_per_call;
  const ConnectionPool::Counters c = pool.counters();
  // The line admission_redis_bench run prints (redis_compare.sh reads ops_per_sec= and
  // client_cpu_us_per_call=), plus layout=naive.
  std::printf(
      "op=%s layout=naive threads=%d pool=%d seconds=%.2f calls=%lld errors=%lld "
      "ops_per_sec=%.0f client_cpu_us_per_call=%.1f requests_per_round_trip=%.1f\n",
      o.op.c_str(), o.threads, o.pool, elapsed, static_cast<long long>(ops.load()),
      static_cast<long long>(errors.load()), static_cast<double>(ops.load()) / elapsed,
      cpu_us_per_call,
      static_cast<double>(c.requests) / static_cast<double>(std::max<uint64_t>(1, c.round_trips)));
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace admission_bench
