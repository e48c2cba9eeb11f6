// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Bytes per waiting user in the in-memory store: joins N users into one event through the
// WaitingRoom facade and reports the growth of the heap (glibc mallinfo2(): bytes in use in
// the arena plus mmapped blocks) and of the resident set, divided by N. Each N is measured in
// a fresh child process so that one measurement's freed memory does not flatter the next.
// It also reports what is left once every user has left and the records are forgotten (per
// departed user, and as a share of the peak growth).
//
// Each N is measured twice: with short user ids ("user-123456", which fit in std::string's
// inline buffer) and with 36-character UUID-style ids (which do not, so every copy of the id
// the store keeps costs a heap block).
//
//   admission_memory_per_user            # N = 100000 and 1000000
//   admission_memory_per_user 250000     # any list of N
//
// The facade's answers (tokens) are dropped at once, so only the store's own memory counts.
// Figures, not tests: nothing here asserts a size.
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "admission/admission.h"

namespace {

constexpr const char* kEvent = "bench";

int64_t HeapBytes() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

[[noreturn]] void Die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "admission_memory_per_user: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// "user-<i>", or a UUID-shaped 36-character id derived from i.
void MakeUserId(int64_t i, bool uuid, std::string& out) {
  if (!uuid) {
    out = "user-" + std::to_string(i);
    return;
  }
  char buf[40];
  const auto u = static_cast<unsigned long long>(i);
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                (u * 2654435761ULL) & 0xffffffffULL, (u >> 3) & 0xffffULL, u & 0xfffULL,
                (u >> 12) & 0xfffULL, u);
  out.assign(buf, 36);
}

int Measure(int64_t n, bool uuid) {
  admission::SimulatedClock clock;
  admission::Options options;
  options.sweep_interval = absl::ZeroDuration();
  options.default_policy.heartbeat_ttl = absl::Hours(24 * 7);  // nobody expires meanwhile
  options.default_policy.ended_ttl = absl::Seconds(1);
  auto room_or = admission::WaitingRoom::CreateInMemory(options, &clock);
  if (!room_or.ok()) Die("CreateInMemory", room_or.status());
  std::unique_ptr<admission::WaitingRoom> room = std::move(*room_or);

  // One user first, so that creating the event is not counted per user.
  auto first = room->Join(kEvent, "warm-up");
  if (!first.ok()) Die("Join", first.status());
  const std::string first_token = first->token;

  // Tokens are kept aside (to make everybody leave afterwards) in memory reserved up front,
  // before the first reading.
  std::vector<std::string> tokens;
  tokens.reserve(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) tokens.emplace_back(admission::kTokenRandomHexDigits + 16, ' ');

  std::string user;
  const int64_t heap0 = HeapBytes();
  const int64_t rss0 = RssBytes();
  for (int64_t i = 0; i < n; ++i) {
    MakeUserId(i, uuid, user);
    auto joined = room->Join(kEvent, user);
    if (!joined.ok()) Die("Join", joined.status());
    tokens[static_cast<std::size_t>(i)].assign(joined->token);  // fits: no allocation
  }
  const int64_t heap1 = HeapBytes();
  const int64_t rss1 = RssBytes();

  auto stats = room->Stats(kEvent);
  if (!stats.ok()) Die("Stats", stats.status());

  // Everybody leaves; the records are forgotten after ended_ttl.
  for (const std::string& token : tokens) {
    auto left = room->Leave(token);
    if (!left.ok()) Die("Leave", left.status());
  }
  clock.Advance(absl::Seconds(2));
  auto swept = room->SweepAll();
  if (!swept.ok()) Die("SweepAll", swept.status());
  auto after = room->Stats(kEvent);
  if (!after.ok()) Die("Stats", after.status());
  const int64_t heap2 = HeapBytes();

  std::printf(
      "N=%-8lld ids=%-5s waiting=%-8lld heap: %7.1f bytes/user (%.1f MiB)  rss: %7.1f bytes/user  "
      "after all left+swept: waiting=%lld, heap still held %7.1f bytes/user, %.1f%% of the "
      "peak (swept %lld)\n",
      static_cast<long long>(n), uuid ? "uuid" : "short", static_cast<long long>(stats->waiting),
      static_cast<double>(heap1 - heap0) / static_cast<double>(n),
      static_cast<double>(heap1 - heap0) / (1024.0 * 1024.0),
      static_cast<double>(rss1 - rss0) / static_cast<double>(n),
      static_cast<long long>(after->waiting),
      static_cast<double>(heap2 - heap0) / static_cast<double>(n),
      100.0 * static_cast<double>(heap2 - heap0) / static_cast<double>(heap1 - heap0),
      static_cast<long long>(*swept));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {100'000, 1'000'000};
  int rc = 0;
  for (int64_t n : sizes) {
    if (n <= 0) {
      std::fprintf(stderr, "usage: %s [N...]   (N > 0)\n", argv[0]);
      return 2;
    }
    for (bool uuid : {false, true}) {
      std::fflush(stdout);
      const pid_t pid = fork();
      if (pid < 0) return 1;
      if (pid == 0) std::_Exit(Measure(n, uuid));
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    }
  }
  return rc;
}
