// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The in-memory store: the embedded default, no server needed. Thread-safe; each event has its
// own lock, so different events never contend. Positions are found in O(log n).
#ifndef ADMISSION_ROOM_MEMORY_STORE_H_
#define ADMISSION_ROOM_MEMORY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "admission/clock.h"
#include "admission/room/store.h"

namespace admission {

struct MemoryStoreOptions {
  // Source of time; not owned, must outlive the store. nullptr means SystemClock().
  Clock* clock = nullptr;
  // Expired deadlines applied at the start of every call on an event, so that a busy event
  // cleans itself up without a sweeper. Bounded so that no single call does unbounded work.
  int64_t sweep_per_call = 64;
  // The per-event secret behind the pre-queue shuffle and the random method's draws
  // (docs/rules.md), asked for once when an event is created. Unset: 64 bits from the
  // kernel's CSPRNG (getrandom). Tests set it to get reproducible orders; a service should
  // leave it unset, since anyone who knows an event's secret can predict its draws.
  std::function<uint64_t(std::string_view event_id)> event_secret;
};

std::unique_ptr<Store> NewMemoryStore(const MemoryStoreOptions& options = {});

}  // namespace admission

#endif  // ADMISSION_ROOM_MEMORY_STORE_H_
