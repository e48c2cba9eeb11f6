// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// TicketBatcher on its own, with a batch runner in the test: every caller gets the answer for
// its own token, batches stay within their limits, and concurrent calls of one event are
// coalesced. (The Redis store's suites run every Status through it against a real server.)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "redis/room/ticket_batcher.h"

namespace admission {
namespace testing {
namespace {

using StatusBatcher = redis_internal::TicketBatcher<std::string_view>;

// Answers each token with a ticket whose token is "<event>/<token>", or NOT_FOUND for "bad".
std::vector<absl::StatusOr<Ticket>> Echo(std::string_view event_id,
                                         const std::vector<const std::string_view*>& tokens) {
  std::vector<absl::StatusOr<Ticket>> answers;
  for (const std::string_view* each : tokens) {
    const std::string_view token = *each;
    if (token == "bad") {
      answers.push_back(absl::NotFoundError("unknown token"));
      continue;
    }
    Ticket t;
    t.token = std::string(event_id) + "/" + std::string(token);
    answers.push_back(t);
  }
  return answers;
}

TEST(TicketBatcherTest, ALoneCallIsItsOwnBatch) {
  const std::string_view kA = "a", kBad = "bad";
  std::vector<std::size_t> sizes;
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        sizes.push_back(tokens.size());
        return Echo(event_id, tokens);
      },
      64, 2, absl::Minutes(1));
  auto t = batcher.Call("ev", kA);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "ev/a");
  EXPECT_EQ(batcher.Call("ev", kBad).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1}));
}

// While the event's two batch slots are busy, calls queue up; once a slot frees, the queue
// goes out in batches of at most max_batch, and every caller gets its own answer.
TEST(TicketBatcherTest, QueuedCallsGoOutTogetherWithinTheLimits) {
  constexpr int kCallers = 40;
  constexpr std::size_t kMaxBatch = 16;
  std::mutex mu;
  std::vector<std::size_t> sizes;
  std::atomic<int> in_flight{0}, most_in_flight{0}, started{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        const int now = ++in_flight;
        int most = most_in_flight.load();
        while (now > most && !most_in_flight.compare_exchange_weak(most, now)) {
        }
        if (++started <= 2) released.wait();  // hold both slots
        {
          std::lock_guard<std::mutex> lock(mu);
          sizes.push_back(tokens.size());
        }
        --in_flight;
        return Echo(event_id, tokens);
      },
      kMaxBatch, 2, absl::Minutes(1));

  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      const std::string token = absl::StrCat("u", i);
      auto t = batcher.Call("ev", std::string_view(token));
      if (!t.ok() || t->token != "ev/" + token) ++wrong;
    });
  }
  // Both slots are held by the first two batches; once everybody else has queued, let go.
  while (started.load() < 2 || batcher.Queued("ev") < kCallers - 2) std::this_thread::yield();
  release.set_value();
  for (auto& t : threads) t.join();

  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(most_in_flight.load(), 2);
  std::size_t total = 0, largest = 0;
  for (std::size_t s : sizes) {
    EXPECT_LE(s, kMaxBatch);
    total += s;
    largest = std::max(largest, s);
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kCallers));
  EXPECT_EQ(largest, kMaxBatch) << "the queued calls were not coalesced";
}

// A stalled server holds the event's batches; a call queued behind them gives up after
// max_queue_wait without being sent, and the calls in the batches still get their answers.
TEST(TicketBatcherTest, AQueuedCallGivesUpWhileTheBatchesStall) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0}, ran{0};
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        ++started;
        released.wait();
        ran += static_cast<int>(tokens.size());
        return Echo(event_id, tokens);
      },
      64, 2, absl::Milliseconds(50));
  std::vector<std::thread> stalled;
  std::atomic<int> answered{0};
  for (int i = 0; i < 2; ++i) {
    stalled.emplace_back([&, i] {
      const std::string token = absl::StrCat("s", i);
      auto t = batcher.Call("ev", std::string_view(token));
      if (t.ok() && t->token == "ev/" + token) ++answered;
    });
  }
  while (started.load() < 2) std::this_thread::yield();
  const std::string_view late = "late";
  auto t = batcher.Call("ev", late);  // both slots busy: waits 50 ms, then gives up
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnavailable) << t.status();
  EXPECT_EQ(batcher.Queued("ev"), 0u);
  release.set_value();
  for (auto& th : stalled) th.join();
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ(ran.load(), 2);  // the late call was never sent
  auto again = batcher.Call("ev", late);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->token, "ev/late");
}

TEST(TicketBatcherTest, EventsAreBatchedApart) {
  std::mutex mu;
  std::vector<std::string> batches;
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        std::lock_guard<std::mutex> lock(mu);
        batches.push_back(std::string(event_id));
        return Echo(event_id, tokens);
      },
      64, 1, absl::Minutes(1));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] {
      const std::string event = i % 2 == 0 ? "even" : "odd";
      for (int j = 0; j < 20; ++j) {
        const std::string token = absl::StrCat("u", i, "-", j);
        auto t = batcher.Call(event, std::string_view(token));
        if (!t.ok() || t->token != event + "/" + token) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Many callers on a few events, batches of a few: every call gets its own answer (its error
// included), an event never has more than its batches in flight, and every call was sent
// exactly once.
TEST(TicketBatcherTest, ManyCallersEachGetTheirOwnAnswer) {
  constexpr int kThreads = 48;
  constexpr int kCallsEach = 200;
  std::mutex mu;
  std::map<std::string, int> in_flight;
  std::atomic<int> too_many{0};
  std::atomic<int64_t> sent{0};
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (++in_flight[std::string(event_id)] > 2) ++too_many;
        }
        sent += static_cast<int64_t>(tokens.size());
        std::vector<absl::StatusOr<Ticket>> answers;
        for (const std::string_view* token : tokens) {
          const std::string text(*token);
          if (text.back() == '!') {
            answers.push_back(absl::NotFoundError("no " + text));
          } else {
            Ticket t;
            t.token = std::string(event_id) + "/" + text;
            answers.push_back(t);
          }
        }
        std::this_thread::yield();  // let the queue fill
        std::lock_guard<std::mutex> lock(mu);
        --in_flight[std::string(event_id)];
        return answers;
      },
      8, 2, absl::Minutes(1));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kCallsEach; ++j) {
        const std::string event = absl::StrCat("ev", (i + j) % 3);
        const std::string token = absl::StrCat("u", i, "-", j, j % 5 == 0 ? "!" : "");
        auto t = batcher.Call(event, std::string_view(token));
        if (j % 5 == 0) {
          if (t.status().code() != absl::StatusCode::kNotFound ||
              t.status().message() != "no " + token) {
            ++wrong;
          }
        } else if (!t.ok() || t->token != event + "/" + token) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(too_many.load(), 0);
  EXPECT_EQ(sent.load(), int64_t{kThreads} * kCallsEach);
  for (const char* event : {"ev0", "ev1", "ev2"}) EXPECT_EQ(batcher.Queued(event), 0u);
}

// Queued calls give up while batches run and others are taken into batches at the same
// moment: each call either gets its own answer or gives up unsent, never both.
TEST(TicketBatcherTest, CallsThatGiveUpWhileOthersAreTakenAreNeverSent) {
  constexpr int kThreads = 32;
  constexpr int kCallsEach = 100;
  std::mutex mu;
  std::set<std::string> sent;
  StatusBatcher batcher(
      [&](std::string_view event_id, const std::vector<const std::string_view*>& tokens) {
        {
          std::lock_guard<std::mutex> lock(mu);
          for (const std::string_view* token : tokens) sent.insert(std::string(*token));
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        return Echo(event_id, tokens);
      },
      4, 1, absl::Microseconds(100));
  std::vector<std::thread> threads;
  std::mutex answers_mu;
  std::set<std::string> answered, gave_up;
  std::atomic<int> wrong{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kCallsEach; ++j) {
        const std::string token = absl::StrCat("u", i, "-", j);
        auto t = batcher.Call("ev", std::string_view(token));
        std::lock_guard<std::mutex> lock(answers_mu);
        if (t.ok() && t->token == "ev/" + token) {
          answered.insert(token);
        } else if (t.status().code() == absl::StatusCode::kUnavailable) {
          gave_up.insert(token);
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.size() + gave_up.size(), static_cast<std::size_t>(kThreads * kCallsEach));
  EXPECT_EQ(sent, answered);
  EXPECT_GT(answered.size(), 0u);
  EXPECT_GT(gave_up.size(), 0u);
  EXPECT_EQ(batcher.Queued("ev"), 0u);
}

}  // namespace
}  // namespace testing
}  // namespace admission
