// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A Store that forwards every call to another: the base of the tests' wrappers that watch or
// alter some calls (override those), and, as it is, a Store that is nothing more (WaitingRoom
// finds no in-memory short way behind it).
#ifndef ADMISSION_TESTS_SUPPORT_FORWARDING_STORE_H_
#define ADMISSION_TESTS_SUPPORT_FORWARDING_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "admission/room/store.h"

namespace admission {
namespace testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  absl::StatusOr<Ticket> Join(const JoinRequest& request) override { return inner_->Join(request); }
  absl::StatusOr<Ticket> Status(std::string_view event_id, std::string_view token) override {
    return inner_->Status(event_id, token);
  }
  absl::StatusOr<std::string> FindToken(std::string_view event_id,
                                        std::string_view user_id) override {
    return inner_->FindToken(event_id, user_id);
  }
  absl::StatusOr<EnterOutcome> Enter(std::string_view event_id, std::string_view token,
                                     std::string_view reservation_token) override {
    return inner_->Enter(event_id, token, reservation_token);
  }
  absl::StatusOr<Ticket> Leave(std::string_view event_id, std::string_view token) override {
    return inner_->Leave(event_id, token);
  }
  absl::StatusOr<Ticket> Complete(std::string_view event_id, std::string_view token) override {
    return inner_->Complete(event_id, token);
  }
  absl::StatusOr<SweepOutcome> Sweep(std::string_view event_id, int64_t max_entries) override {
    return inner_->Sweep(event_id, max_entries);
  }
  absl::Status SetPolicy(std::string_view event_id, const Policy& policy) override {
    return inner_->SetPolicy(event_id, policy);
  }
  absl::StatusOr<Policy> GetPolicy(std::string_view event_id) override {
    return inner_->GetPolicy(event_id);
  }
  absl::StatusOr<EventCounters> Stats(std::string_view event_id) override {
    return inner_->Stats(event_id);
  }
  absl::StatusOr<std::vector<std::string>> ListEvents() override { return inner_->ListEvents(); }

 private:
  std::unique_ptr<Store> inner_;
};

}  // namespace testing
}  // namespace admission

#endif  // ADMISSION_TESTS_SUPPORT_FORWARDING_STORE_H_
