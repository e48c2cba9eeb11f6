// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "admission/ids.h"

#include <pthread.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace admission {
namespace {

bool IsEventIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool IsUserIdChar(char c) { return IsEventIdChar(c) || c == '.' || c == ':' || c == '@'; }

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

template <typename Pred>
absl::Status ValidateId(std::string_view what, std::string_view id, std::size_t max_length,
                        Pred allowed, std::string_view alphabet) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is empty"));
  if (id.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " is longer than ", max_length, " characters"));
  }
  for (char c : id) {
    if (!allowed(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(what), " may only contain ", AbslView(alphabet)));
    }
  }
  return absl::OkStatus();
}

// Fills `out` from the kernel's CSPRNG. getrandom() only fails on exotic systems (before the
// pool is initialised it blocks instead); a token we cannot make unguessable must never be
// handed out, so that case aborts rather than degrading silently.
void KernelRandomBytes(uint8_t* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    done += static_cast<std::size_t>(got);
  }
}

std::atomic<uint64_t> fork_generation{1};

uint64_t ForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

// One system call per token cost more than the rest of a Join, so each thread draws kernel
// randomness 4 KiB at a time and hands it out once. A forked child must not hand out the
// bytes its parent also holds, hence the fork generation (getpid() is a system call too).
void RandomBytes(uint8_t* out, std::size_t n) {
  struct Pool {
    uint8_t bytes[4096];
    std::size_t used = sizeof(bytes);
    uint64_t generation = 0;
  };
  thread_local Pool pool;
  const uint64_t generation = ForkGeneration();
  if (pool.generation != generation) {
    pool.used = sizeof(pool.bytes);
    pool.generation = generation;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (pool.used == sizeof(pool.bytes)) {
      KernelRandomBytes(pool.bytes, sizeof(pool.bytes));
      pool.used = 0;
    }
    out[i] = pool.bytes[pool.used];
    pool.bytes[pool.used++] = 0;  // never hand out the same byte twice, nor leave it behind
  }
}

}  // namespace

absl::Status ValidateEventId(std::string_view event_id) {
  return ValidateId("event id", event_id, kMaxEventIdLength, IsEventIdChar, "[A-Za-z0-9_-]");
}

absl::Status ValidateUserId(std::string_view user_id) {
  return ValidateId("user id", user_id, kMaxUserIdLength, IsUserIdChar, "[A-Za-z0-9_.:@-]");
}

std::string NewToken(std::string_view event_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t random[kTokenRandomHexDigits / 2];
  RandomBytes(random, sizeof(random));
  std::string token;
  token.reserve(event_id.size() + 1 + kTokenRandomHexDigits);
  token.append(event_id);
  token.push_back('.');
  for (uint8_t b : random) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0xf]);
  }
  return token;
}

absl::StatusOr<std::string_view> EventIdOfToken(std::string_view token) {
  const std::size_t dot = token.rfind('.');
  if (dot == std::string_view::npos || token.size() - dot - 1 != kTokenRandomHexDigits) {
    return absl::InvalidArgumentError("malformed token");
  }
  for (char c : token.substr(dot + 1)) {
    if (!IsLowerHex(c)) return absl::InvalidArgumentError("malformed token");
  }
  std::string_view event_id = token.substr(0, dot);
  if (!ValidateEventId(event_id).ok()) return absl::InvalidArgumentError("malformed token");
  return event_id;
}

}  // namespace admission
