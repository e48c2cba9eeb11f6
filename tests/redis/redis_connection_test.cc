// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis store's internals (src/redis/): the connection and its pool against a real server,
// the reply readers against hand-made malformed replies, error mapping and the policy codec.
#include <hiredis.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admission/room/policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "redis/client/connection.h"
#include "redis/client/connection_pool.h"
#include "redis/client/packed_reader.h"
#include "redis/client/reply_arena.h"
#include "redis/client/reply_reader.h"
#include "redis/room/policy_codec.h"
#include "support/redis/redis_server.h"
#include "support/test_util.h"

namespace admission {
namespace testing {
namespace {

using redis_internal::AuthReplyStatus;
using redis_internal::Command;
using redis_internal::Connection;
using redis_internal::ConnectionPool;
using redis_internal::Endpoint;
using redis_internal::ErrorReplyStatus;
using redis_internal::PackedReader;
using redis_internal::ReplyReader;
using ::testing::HasSubstr;

Endpoint EndpointOf(const RedisServer& server, absl::Duration command_timeout = absl::Seconds(2)) {
  return Endpoint{server.host(), server.port(), absl::Seconds(1), command_timeout};
}

// ---------------------------------------------------------------------------------------------
// Connection and pool

TEST(RedisConnectionTest, PipelinesCommandsAndReturnsErrorRepliesAsReplies) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  const Endpoint endpoint = EndpointOf(**server);
  auto connection = Connection::Open(endpoint);
  ASSERT_OK(connection);
  auto replies =
      (*connection)
          ->Execute(std::vector<Command>{{"SET", "k", "v"}, {"GET", "k"}, {"INCR", "k"}, {"PING"}});
  ASSERT_OK(replies);
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[1]->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string((*replies)[1]->str, (*replies)[1]->len), "v");
  EXPECT_EQ((*replies)[2]->type, REDIS_REPLY_ERROR);  // not an integer: a reply, not a failure
  EXPECT_FALSE((*connection)->broken());
  EXPECT_TRUE((*connection)->LooksAlive());
}

TEST(RedisConnectionTest, AServerThatClosedTheConnectionNeitherKillsNorHangsTheCaller) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  const Endpoint endpoint = EndpointOf(**server);
  auto connection = Connection::Open(endpoint);
  ASSERT_OK(connection);
  ASSERT_OK((*connection)->Execute(Command{"CLIENT", "SETNAME", "victim"}));
  ASSERT_OK((*server)->Command({"CLIENT", "KILL", "TYPE", "normal"}));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE((*connection)->LooksAlive());
  // Writing megabytes into a reset connection raises SIGPIPE inside hiredis; the default action
  // would kill this test process.
  const std::string big(16 << 20, 'x');
  auto result = (*connection)->Execute(Command{"SET", "big", big});
  EXPECT_STATUS_CODE(result, absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(endpoint.Name()));
  EXPECT_TRUE((*connection)->broken());
  EXPECT_STATUS_CODE((*connection)->Execute(Command{"PING"}), absl::StatusCode::kUnavailable);
}

TEST(RedisConnectionTest, PoolPipelinesConcurrentCallersOverOneConnection) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  ConnectionPool pool(EndpointOf(**server), 1);
  constexpr int kThreads = 12;
  constexpr int kCalls = 300;
  std::vector<std::vector<long long>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        // Two commands per request: they must stay together and come back as this caller's.
        auto replies = pool.Execute(std::vector<Command>{{"INCR", "n"}, {"ECHO", "tag"}});
        ASSERT_OK(replies);
        ASSERT_EQ(replies->size(), 2u);
        ASSERT_EQ((*replies)[0]->type, REDIS_REPLY_INTEGER);
        ASSERT_EQ(std::string((*replies)[1]->str, (*replies)[1]->len), "tag");
        seen[t].push_back((*replies)[0]->integer);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<long long> all;
  for (const auto& s : seen) {
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));  // each caller's calls run in its order
    all.insert(all.end(), s.begin(), s.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t{kThreads * kCalls});
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<long long>(i) + 1);
  const ConnectionPool::Counters c = pool.counters();
  EXPECT_EQ(c.requests, uint64_t{kThreads * kCalls});
  EXPECT_LT(c.round_trips, c.requests);  // callers shared round trips
  std::cout << c.requests << " requests in " << c.round_trips << " round trips\n";
}

TEST(RedisConnectionTest, PoolCallersQueuedBehindAHungServerAllGiveUp) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  ConnectionPool pool(EndpointOf(**server, absl::Milliseconds(300)), 1);
  ASSERT_OK(pool.Execute(Command{"PING"}));
  ASSERT_OK((*server)->Pause());
  const absl::Time start = absl::Now();
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] { results[t] = pool.Execute(Command{"PING"}).status(); });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration took = absl::Now() - start;
  ASSERT_OK((*server)->Resume());
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  }
  EXPECT_LT(took, absl::Seconds(3));  // at most a few round trips of 300 ms each
  EXPECT_OK(pool.Execute(Command{"PING"}));
}

TEST(RedisConnectionTest, PoolReplacesConnectionsTheServerClosed) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  ConnectionPool pool(EndpointOf(**server), 3);
  for (int i = 0; i < 3; ++i) ASSERT_OK(pool.Execute(Command{"PING"}));  // opens all three
  ASSERT_OK((*server)->Command({"CLIENT", "KILL", "TYPE", "normal"}));
  absl::SleepFor(absl::Milliseconds(50));
  for (int i = 0; i < 6; ++i) {
    auto pong = pool.Execute(Command{"PING"});
    ASSERT_OK(pong) << i;
  }
}

// Connections lost in the middle of batches: every caller gets its own answer or Unavailable
// (its commands may or may not have run), nobody hangs or gets another caller's reply, the lead
// keeps passing between callers, and the pool works again afterwards.
TEST(RedisConnectionTest, PoolCallersSurviveConnectionsLostMidBatch) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  ConnectionPool pool(EndpointOf(**server), 2);
  constexpr int kThreads = 16;
  constexpr int kCalls = 300;
  std::atomic<int> running{kThreads};
  std::vector<std::vector<long long>> seen(kThreads);
  std::vector<int> lost(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string tag = absl::StrCat("t", t);
      for (int i = 0; i < kCalls; ++i) {
        auto replies = pool.Execute(std::vector<Command>{{"INCR", "n"}, {"ECHO", tag}});
        if (!replies.ok()) {
          // Unavailable; DeadlineExceeded only if a loaded machine stalls past the timeout.
          EXPECT_TRUE(absl::IsUnavailable(replies.status()) ||
                      absl::IsDeadlineExceeded(replies.status()))
              << replies.status();
          ++lost[t];
          continue;
        }
        ASSERT_EQ(replies->size(), 2u);
        ASSERT_EQ((*replies)[0]->type, REDIS_REPLY_INTEGER);
        ASSERT_EQ(std::string((*replies)[1]->str, (*replies)[1]->len), tag);
        seen[t].push_back((*replies)[0]->integer);
      }
      --running;
    });
  }
  int kills = 0;
  while (running > 0) {
    ASSERT_OK((*server)->Command({"CLIENT", "KILL", "TYPE", "normal"}));
    ++kills;
  }
  for (std::thread& t : threads) t.join();
  std::vector<long long> all;
  int lost_total = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(std::is_sorted(seen[t].begin(), seen[t].end()));
    all.insert(all.end(), seen[t].begin(), seen[t].end());
    lost_total += lost[t];
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // no reply handed twice
  EXPECT_EQ(all.size() + static_cast<size_t>(lost_total), size_t{kThreads * kCalls});
  std::cout << kills << " kills, " << lost_total << " calls lost a connection\n";
  auto n = pool.Execute(Command{"GET", "n"});
  ASSERT_OK(n);
  // Every answered INCR ran; a lost one may have run too.
  EXPECT_GE(std::stoll(std::string((*n)->str, (*n)->len)), static_cast<long long>(all.size()));
}

TEST(RedisConnectionTest, ConnectFailureIsUnavailableNamingTheServer) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  const Endpoint endpoint = EndpointOf(**server);
  ASSERT_OK((*server)->Stop());
  ConnectionPool pool(endpoint, 1);
  for (int i = 0; i < 3; ++i) {  // every call tries again
    auto pong = pool.Execute(Command{"PING"});
    EXPECT_STATUS_CODE(pong, absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(pong.status().message()), HasSubstr(endpoint.Name()));
  }
  ASSERT_OK((*server)->Restart());
  EXPECT_OK(pool.Execute(Command{"PING"}));
}

// ---------------------------------------------------------------------------------------------
// Error replies

TEST(RedisErrorTest, MapsOurCodesAndServerStates) {
  const Endpoint e{"10.1.2.3", 6390, absl::Seconds(1), absl::Seconds(1)};
  struct Case {
    const char* error;
    absl::StatusCode code;
  };
  for (const Case& c : std::vector<Case>{
           {"NOT_FOUND unknown token", absl::StatusCode::kNotFound},
           {"ALREADY_EXISTS token already in use", absl::StatusCode::kAlreadyExists},
           {"FAILED_PRECONDITION cannot enter", absl::StatusCode::kFailedPrecondition},
           {"INVALID_ARGUMENT malformed token", absl::StatusCode::kInvalidArgument},
           {"LOADING Redis is loading the dataset in memory", absl::StatusCode::kUnavailable},
           {"BUSY Redis is busy running a script", absl::StatusCode::kUnavailable},
           {"READONLY You can't write against a read only replica.",
            absl::StatusCode::kUnavailable},
           {"MASTERDOWN Link with MASTER is down", absl::StatusCode::kUnavailable},
           {"MOVED 3999 127.0.0.1:6381", absl::StatusCode::kUnavailable},
           {"OOM command not allowed", absl::StatusCode::kResourceExhausted},
           {"ERR user_script:1: oops", absl::StatusCode::kInternal},
           {"WRONGTYPE Operation against a key", absl::StatusCode::kInternal},
           {"NOT_FOUNDX no space", absl::StatusCode::kInternal},
           {"BUSYKEY Target key name already exists.", absl::StatusCode::kInternal},
           {"NOAUTH Authentication required.", absl::StatusCode::kUnauthenticated},
           {"WRONGPASS invalid username-password pair or user is disabled.",
            absl::StatusCode::kUnauthenticated},
           {"NOPERM this user has no permissions to run the 'get' command",
            absl::StatusCode::kPermissionDenied},
           {"ERR The user executing the script can't run this command or subcommand script: f, "
            "on @user_function:2.",
            absl::StatusCode::kPermissionDenied},
       }) {
    const absl::Status s = ErrorReplyStatus(e.Name(), "join", c.error);
    EXPECT_EQ(s.code(), c.code) << c.error;
    if (s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kInternal) {
      EXPECT_THAT(std::string(s.message()), HasSubstr("10.1.2.3:6390")) << c.error;
    }
  }
  EXPECT_EQ(ErrorReplyStatus(e.Name(), "status", "NOT_FOUND unknown token").message(),
            "unknown token");
  // Raised by a script (error({err = ...})): Redis' trailer is dropped, the message kept whole.
  EXPECT_EQ(ErrorReplyStatus(e.Name(), "status",
                             "FAILED_PRECONDITION event 'e' is old script: 6296c0b6b77f1672d114e0c9"
                             "dd5d6beb07dea8e1, on @user_script:1.")
                .message(),
            "event 'e' is old");
  EXPECT_EQ(ErrorReplyStatus(e.Name(), "status", "FAILED_PRECONDITION see script: x.").message(),
            "see script: x.");
}

TEST(RedisErrorTest, MapsAuthRefusalsNamingTheUserAndNeverThePassword) {
  const Endpoint e{"10.1.2.3", 6390, absl::Seconds(1), absl::Seconds(1)};
  const char kWrongPass[] = "WRONGPASS invalid username-password pair or user is disabled.";
  absl::Status s = AuthReplyStatus(e.Name(), "adm", kWrongPass);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), HasSubstr("Redis refused the credentials for user 'adm'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("10.1.2.3:6390"));
  s = AuthReplyStatus(e.Name(), "", kWrongPass);
  EXPECT_THAT(std::string(s.message()), HasSubstr("for the default user"));
  s = AuthReplyStatus(e.Name(), "",
                      "ERR AUTH <password> called without any password configured for the "
                      "default user. Are you sure your configuration is correct?");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no password for the default user"));
  s = ErrorReplyStatus(e.Name(), "INFO cluster", "NOAUTH Authentication required.");
  EXPECT_THAT(std::string(s.message()), HasSubstr("Redis needs a password"));
}

// ---------------------------------------------------------------------------------------------
// Reply reader: hand-made replies, as a broken proxy or corrupted data could produce them.

struct FakeReply {
  std::vector<std::unique_ptr<redisReply>> owned;
  std::vector<std::string> texts;
  std::vector<redisReply*> elements;
  redisReply array{};

  FakeReply& Str(std::string s) {
    texts.push_back(std::move(s));
    return Add(REDIS_REPLY_STRING, 0);
  }
  FakeReply& Int(long long v) { return Add(REDIS_REPLY_INTEGER, v); }
  FakeReply& Nil() { return Add(REDIS_REPLY_NIL, 0); }
  redisReply* Get() {
    // Strings are pointed to only now: `texts` no longer moves.
    size_t t = 0;
    for (auto& r : owned) {
      if (r->type == REDIS_REPLY_STRING) {
        r->str = texts[t].data();
        r->len = texts[t].size();
        ++t;
      }
    }
    array.type = REDIS_REPLY_ARRAY;
    array.elements = elements.size();
    array.element = elements.data();
    return &array;
  }

 private:
  FakeReply& Add(int type, long long integer) {
    owned.push_back(std::make_unique<redisReply>());
    owned.back()->type = type;
    owned.back()->integer = integer;
    elements.push_back(owned.back().get());
    return *this;
  }
};

TEST(RedisReplyReaderTest, ReadsWellFormedFields) {
  FakeReply f;
  f.Str("12").Int(-3).Str("").Str("0.30000000000000004").Str("hello");
  ReplyReader r(f.Get(), "test");
  EXPECT_EQ(r.Int("a"), 12);
  EXPECT_EQ(r.Int("b"), -3);
  EXPECT_FALSE(r.OptionalInt("c").has_value());
  EXPECT_EQ(r.Double("d"), 0.1 + 0.2);
  EXPECT_EQ(r.String("e"), "hello");
  EXPECT_OK(r.Finish());
}

TEST(RedisReplyReaderTest, MalformedRepliesAreInternalErrors) {
  {
    redisReply not_array{};
    not_array.type = REDIS_REPLY_STRING;
    ReplyReader r(&not_array, "test");
    r.Int("x");
    EXPECT_STATUS_CODE(r.Finish(), absl::StatusCode::kInternal);
  }
  {
    ReplyReader r(nullptr, "test");
    EXPECT_STATUS_CODE(r.Finish(), absl::StatusCode::kInternal);
  }
  auto check = [](FakeReply& f, const std::function<void(ReplyReader&)>& read,
                  const char* expect_in_message) {
    ReplyReader r(f.Get(), "redis 1.2.3.4:5 (status)");
    read(r);
    const absl::Status s = r.Finish();
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(expect_in_message));
    EXPECT_THAT(std::string(s.message()), HasSubstr("1.2.3.4:5"));
  };
  FakeReply missing;
  check(
      missing, [](ReplyReader& r) { r.Int("position"); }, "position is missing");
  FakeReply nil;
  nil.Nil();
  check(
      nil, [](ReplyReader& r) { r.String("user_id"); }, "user_id is not a string");
  FakeReply not_int;
  not_int.Str("12x");
  check(
      not_int, [](ReplyReader& r) { r.Int("position"); }, "not an integer");
  FakeReply huge;
  huge.Str("99999999999999999999999");
  check(
      huge, [](ReplyReader& r) { r.Int("position"); }, "not an integer");
  FakeReply out_of_range;
  out_of_range.Int(9);
  check(
      out_of_range, [](ReplyReader& r) { r.IntIn("state", 0, 4); }, "outside [0, 4]");
  FakeReply not_double;
  not_double.Str("nan");
  check(
      not_double, [](ReplyReader& r) { r.Double("tokens"); }, "not a finite number");
  FakeReply extra;
  extra.Int(1).Int(2);
  check(
      extra, [](ReplyReader& r) { r.Int("now"); }, "1 unexpected elements");
  FakeReply sticky;  // the first error is the one reported; later reads are harmless
  sticky.Str("x").Int(1);
  check(
      sticky,
      [](ReplyReader& r) {
        r.Int("first");
        EXPECT_EQ(r.Int("second"), 0);
        EXPECT_EQ(r.String("third"), "");
      },
      "first");
}

// ---------------------------------------------------------------------------------------------
// Packed reader: what Redis' own struct.pack writes (the scripts' packed tickets), and strings
// cut short or padded.

TEST(RedisPackedReaderTest, ReadsWhatRedisStructPackWrote) {
  auto server = RedisServer::Start();
  ASSERT_OK(server);
  auto connection = Connection::Open(EndpointOf(**server));
  ASSERT_OK(connection);
  // The layout of lua/room/render.lua's packed_ticket: u32-length strings, doubles, NaN = none.
  auto replies = (*connection)
                     ->Execute(std::vector<Command>{
                         {"EVAL",
                          "return struct.pack('<I4c0dddI4c0ddd', 5, 'user1', 1796394350530204, "
                          "0/0, -42, 0, '', 0.25, 9007199254740992, 1.5)",
                          "0"}});
  ASSERT_OK(replies);
  ASSERT_EQ((*replies)[0]->type, REDIS_REPLY_STRING) << (*replies)[0]->str;
  PackedReader r("test", std::string_view((*replies)[0]->str, (*replies)[0]->len));
  EXPECT_EQ(r.String("user_id"), "user1");
  EXPECT_EQ(r.Int("joined_at"), 1796394350530204);
  EXPECT_EQ(r.OptionalInt("left_line_at"), std::nullopt);
  EXPECT_EQ(r.IntIn("delta", -100, 100), -42);
  EXPECT_EQ(r.String("empty"), "");
  EXPECT_EQ(r.OptionalDouble("retry"), 0.25);
  EXPECT_EQ(r.Int("largest"), int64_t{1} << 53);
  EXPECT_EQ(r.OptionalDouble("fraction"), 1.5);
  EXPECT_OK(r.Finish());
}

TEST(RedisPackedReaderTest, MalformedStringsAreInternalErrors) {
  auto pack = [](std::initializer_list<double> numbers, std::string tail = "") {
    std::string s;
    for (double d : numbers) s.append(reinterpret_cast<const char*>(&d), sizeof d);
    return s + tail;
  };
  auto check = [](const std::string& packed, const std::function<void(PackedReader&)>& read,
                  const std::string& what) {
    PackedReader r("redis 1.2.3.4:5 (status)", packed);
    read(r);
    const absl::Status s = r.Finish();
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
    EXPECT_THAT(s.message(), HasSubstr("malformed reply from redis 1.2.3.4:5 (status)"));
    EXPECT_THAT(s.message(), HasSubstr(what));
  };
  check(
      pack({1}).substr(0, 7), [](PackedReader& r) { r.Int("position"); }, "position is missing");
  check(
      pack({}, std::string("\x05\0\0\0abc", 7)), [](PackedReader& r) { r.String("user_id"); },
      "user_id runs past the end");
  check(
      pack({}, std::string("\x01\0", 2)), [](PackedReader& r) { r.String("user_id"); },
      "user_id is missing");
  check(
      pack({2.5}), [](PackedReader& r) { r.Int("position"); }, "position is not an integer");
  check(
      pack({1e300}), [](PackedReader& r) { r.Int("position"); }, "position is not an integer");
  check(
      pack({std::nan("")}), [](PackedReader& r) { r.Int("deadline"); }, "deadline is empty");
  check(
      pack({9}), [](PackedReader& r) { r.IntIn("state", 0, 6); }, "state is out of range");
  check(
      pack({std::numeric_limits<double>::infinity()}),
      [](PackedReader& r) { r.OptionalDouble("retry"); }, "retry is not a finite number");
  check(
      pack({1, 2}), [](PackedReader& r) { r.Int("now"); }, "bytes follow the last field");
  check(  // the first error is the one reported; later reads are harmless
      pack({0.5, 1}),
      [](PackedReader& r) {
        r.Int("first");
        EXPECT_EQ(r.Int("second"), 0);
        EXPECT_EQ(r.String("third"), "");
      },
      "first");
}

// ---------------------------------------------------------------------------------------------
// Reply arenas (every Connection's replies): hiredis' parser building into them.

// A reader that builds its replies in arenas; the replies it returns are ReplyPtrs.
class ArenaReader {
 public:
  ArenaReader() : reader_(redisReaderCreate()) { redis_internal::UseReplyArena(reader_, &hint_); }
  ~ArenaReader() { redisReaderFree(reader_); }
  ArenaReader(const ArenaReader&) = delete;
  ArenaReader& operator=(const ArenaReader&) = delete;

  // Feeds `bytes` in pieces of `piece` bytes; the reply once whole (nullptr while partial).
  redis_internal::ReplyPtr Feed(const std::string& bytes, std::size_t piece, int* status) {
    void* raw = nullptr;
    *status = REDIS_OK;
    for (std::size_t at = 0; at < bytes.size() && raw == nullptr && *status == REDIS_OK;
         at += piece) {
      redisReaderFeed(reader_, bytes.data() + at, std::min(piece, bytes.size() - at));
      *status = redisReaderGetReply(reader_, &raw);
    }
    redis_internal::ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply != nullptr) redis_internal::NoteReplyArena(reply.get(), &hint_);
    return reply;
  }
  std::size_t hinted() const { return hint_.last_bytes; }

 private:
  redisReader* reader_;
  redis_internal::ReplyArenaHint hint_;
};

std::string Text(const redisReply* r) { return std::string(r->str, r->len); }

TEST(RedisReplyArenaTest, BuildsEveryKindOfReplyWhole) {
  // An array of an integer, a bulk string with a NUL in it, nil, a nested array (a status and
  // an empty array), an error and an empty bulk string, fed whole and byte by byte.
  const std::string resp = std::string("*6\r\n:-42\r\n$5\r\nhe") + '\0' +
                           "lo\r\n$-1\r\n*2\r\n+OK\r\n*0\r\n-ERR bad thing\r\n$0\r\n\r\n";
  for (std::size_t piece : {resp.size(), std::size_t{1}, std::size_t{7}}) {
    ArenaReader reader;
    int status = REDIS_OK;
    redis_internal::ReplyPtr reply = reader.Feed(resp, piece, &status);
    ASSERT_EQ(status, REDIS_OK);
    ASSERT_NE(reply, nullptr);
    const redisReply* r = reply.get();
    ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(r->elements, 6u);
    EXPECT_EQ(r->element[0]->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(r->element[0]->integer, -42);
    EXPECT_EQ(r->element[1]->type, REDIS_REPLY_STRING);
    EXPECT_EQ(Text(r->element[1]), std::string("he\0lo", 5));
    EXPECT_EQ(r->element[1]->str[5], '\0');
    EXPECT_EQ(r->element[2]->type, REDIS_REPLY_NIL);
    ASSERT_EQ(r->element[3]->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(r->element[3]->elements, 2u);
    EXPECT_EQ(r->element[3]->element[0]->type, REDIS_REPLY_STATUS);
    EXPECT_EQ(Text(r->element[3]->element[0]), "OK");
    EXPECT_EQ(r->element[3]->element[1]->type, REDIS_REPLY_ARRAY);
    EXPECT_EQ(r->element[3]->element[1]->elements, 0u);
    EXPECT_EQ(r->element[4]->type, REDIS_REPLY_ERROR);
    EXPECT_EQ(Text(r->element[4]), "ERR bad thing");
    EXPECT_EQ(r->element[5]->type, REDIS_REPLY_STRING);
    EXPECT_EQ(Text(r->element[5]), "");
    EXPECT_GT(reader.hinted(), 0u);
  }
}

TEST(RedisReplyArenaTest, LargeRepliesGrowTheArenaAndSmallOnesFollow) {
  ArenaReader reader;
  std::string resp = "*30000\r\n";
  for (int i = 0; i < 30000; ++i) {
    const std::string item =
        absl::StrCat("item-", i, std::string(static_cast<std::size_t>(i % 50), 'x'));
    absl::StrAppend(&resp, "$", item.size(), "\r\n", item, "\r\n");
  }
  int status = REDIS_OK;
  redis_internal::ReplyPtr big = reader.Feed(resp, 4096, &status);
  ASSERT_EQ(status, REDIS_OK);
  ASSERT_NE(big, nullptr);
  ASSERT_EQ(big->elements, 30000u);
  for (int i = 0; i < 30000; i += 997) {
    EXPECT_EQ(Text(big->element[i]),
              absl::StrCat("item-", i, std::string(static_cast<std::size_t>(i % 50), 'x')));
  }
  EXPECT_GT(reader.hinted(), std::size_t{30000} * sizeof(redisReply));
  // Replies outlive the next ones, in any order.
  redis_internal::ReplyPtr small = reader.Feed(":7\r\n", 64, &status);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->integer, 7);
  big.reset();
  redis_internal::ReplyPtr status_reply = reader.Feed("+PONG\r\n", 64, &status);
  ASSERT_NE(status_reply, nullptr);
  EXPECT_EQ(Text(status_reply.get()), "PONG");
  EXPECT_EQ(small->integer, 7);
}

// A reply broken off by a protocol error is freed by the reader (leak checkers see to it).
TEST(RedisReplyArenaTest, AProtocolErrorMidReplyFreesThePartialReply) {
  ArenaReader reader;
  int status = REDIS_OK;
  redis_internal::ReplyPtr reply =
      reader.Feed("*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n?what\r\n", 1, &status);
  EXPECT_EQ(status, REDIS_ERR);
  EXPECT_EQ(reply, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Policy codec

TEST(RedisPolicyCodecTest, DurationsRoundTripExactly) {
  const absl::Duration quarter = absl::Nanoseconds(1) / 4;
  for (absl::Duration d :
       {absl::ZeroDuration(), quarter, 3 * quarter, absl::Nanoseconds(1), absl::Microseconds(7),
        absl::Seconds(1) + quarter, absl::Hours(24 * 30), -absl::Seconds(5) - quarter,
        absl::InfiniteDuration(), -absl::InfiniteDuration()}) {
    auto back = redis_internal::DecodeDuration(redis_internal::EncodeDuration(d));
    ASSERT_OK(back);
    EXPECT_EQ(*back, d) << redis_internal::EncodeDuration(d);
  }
  for (const char* bad : {"", ":", "1", "1:", "x:1", "1:4000000000", "1:2:3"}) {
    EXPECT_STATUS_CODE(redis_internal::DecodeDuration(bad), absl::StatusCode::kInternal) << bad;
  }
}

TEST(RedisPolicyCodecTest, PoliciesRoundTripExactly) {
  Policy p;
  p.admit_rate_per_sec = 1.0 / 3.0;
  p.burst = 7;
  p.bypass_top_n = 0;
  p.active_capacity = 1'000'000'000'000;
  p.heartbeat_ttl = absl::Seconds(1) + absl::Nanoseconds(1) / 4;
  p.wait_tiers = {{1, absl::ZeroDuration()}, {WaitTier::kUnboundedPosition, absl::Hours(24)}};
  p.rate_windows = {absl::Seconds(1)};
  p.paused = true;
  p.paused_reason = "a|b|c";
  for (const Policy& policy : {Policy(), p}) {
    auto back = redis_internal::DecodePolicyBlob(redis_internal::EncodePolicyBlob(policy));
    ASSERT_OK(back);
    EXPECT_TRUE(*back == policy);
    EXPECT_EQ(redis_internal::EncodePolicyArgs(policy).size(),
              size_t{redis_internal::kPolicyArgCount});
  }
  for (const char* bad : {"", "p1", "p2|1|1|1|1|0:0|0:0|0:0|0:0|||0|",
                          "p1|x|1|1|1|0:0|0:0|0:0|0:0|||0|", "p1|1|1|1|1|0:0|0:0|0:0|0:0|||2|"}) {
    EXPECT_STATUS_CODE(redis_internal::DecodePolicyBlob(bad), absl::StatusCode::kInternal) << bad;
  }
}

}  // namespace
}  // namespace testing
}  // namespace admission
