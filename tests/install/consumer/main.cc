// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The install test's consumer: builds against an installed admission package, joins one
// user to an in-memory room and prints the position. Exits 0 on success.
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "admission/admission.h"
#include "admission/room/waiting_room.h"

int main() {
  admission::Options options;
  options.sweep_interval = absl::ZeroDuration();  // no background sweeper thread
  auto room = admission::WaitingRoom::CreateInMemory(options);
  if (!room.ok()) {
    std::fprintf(stderr, "CreateInMemory: %s\n", room.status().ToString().c_str());
    return 1;
  }
  auto joined = (*room)->Join("install-test", "user-1");
  if (!joined.ok()) {
    std::fprintf(stderr, "Join: %s\n", joined.status().ToString().c_str());
    return 1;
  }
  if (joined->token.empty()) {
    std::fprintf(stderr, "Join returned no token\n");
    return 1;
  }
  std::printf("admission %s: joined event %s as %s at position %lld\n", ADMISSION_VERSION_STRING,
              std::string(joined->event_id).c_str(), std::string(joined->user_id).c_str(),
              static_cast<long long>(joined->position));
  return joined->position == 1 ? 0 : 1;
}
