// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "idempotency.h"

#include <cstdio>

#include "nlohmann/json.hpp"

namespace admission::gateway {
namespace {

using Json = nlohmann::json;

absl::Status Corrupt() {
  return absl::InvalidArgumentError("the stored idempotent response is not readable");
}

void Log(const char* what, std::string_view key, const absl::Status& status) {
  // The key is the client's; it is printable ASCII without spaces (checked before Begin).
  std::fprintf(stderr, "warning: Idempotency-Key %.*s: %s: %s\n", static_cast<int>(key.size()),
               key.data(), what, status.ToString().c_str());
}

}  // namespace

std::string EncodeStoredResponse(const StoredResponse& response) {
  Json headers = Json::array();
  for (const auto& [name, value] : response.headers) headers.push_back(Json::array({name, value}));
  const Json j = {{"s", response.status},
                  {"t", response.content_type},
                  {"b", response.body},
                  {"h", std::move(headers)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<StoredResponse> DecodeStoredResponse(std::string_view bytes) {
  const Json j = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Corrupt();
  auto s = j.find("s");
  auto t = j.find("t");
  auto b = j.find("b");
  auto h = j.find("h");
  if (s == j.end() || !s->is_number_integer() || t == j.end() || !t->is_string() || b == j.end() ||
      !b->is_string() || h == j.end() || !h->is_array()) {
    return Corrupt();
  }
  StoredResponse out;
  out.status = s->get<int>();
  if (out.status < 100 || out.status > 599) return Corrupt();
  out.content_type = t->get<std::string>();
  out.body = b->get<std::string>();
  for (const Json& pair : *h) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return Corrupt();
    }
    out.headers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return out;
}

absl::StatusOr<IdempotencyKeys::Lookup> IdempotencyKeys::Begin(std::string_view key,
                                                               std::string_view fingerprint) {
  absl::StatusOr<IdempotencyBegin> begin = store_->Begin(kScope, key, fingerprint);
  if (!begin.ok()) return begin.status();
  Lookup lookup;
  lookup.outcome = begin->outcome;
  lookup.lease = std::move(begin->lease);
  if (lookup.outcome == IdempotencyOutcome::kReplay) {
    absl::StatusOr<StoredResponse> response = DecodeStoredResponse(begin->response);
    if (!response.ok()) return absl::InternalError(response.status().message());
    lookup.response = *std::move(response);
  }
  return lookup;
}

void IdempotencyKeys::Finish(std::string_view key, std::string_view lease,
                             const StoredResponse& response) {
  absl::Status s = store_->Finish(kScope, key, lease, EncodeStoredResponse(response));
  if (!s.ok()) Log("the answer was not kept for replays", key, s);
}

void IdempotencyKeys::Abandon(std::string_view key, std::string_view lease) {
  absl::Status s = store_->Abandon(kScope, key, lease);
  // A key that is already free (or was taken over) needs nothing more.
  if (!s.ok() && !absl::IsFailedPrecondition(s)) Log("could not free the key", key, s);
}

}  // namespace admission::gateway
