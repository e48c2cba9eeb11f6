// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's JSON request bodies (examples/gateway/json_codec.h). Every input is one body,
// decoded the way each route decodes its own: ParseObject, CheckFields with the route's members,
// GetString with its limits (room_routes.cc, ticketing_routes.cc), and for the admin's policy
// patch MergePolicyJson then ValidatePolicy, and the merged policy written back out
// (PolicyToJson). Errors are turned into the answer's text as the routes do (ErrorJson, dumped
// with invalid UTF-8 replaced), since their messages echo what the client sent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "admission/ids.h"
#include "admission/room/policy.h"
#include "json_codec.h"

namespace {

using admission::gateway::CheckFields;
using admission::gateway::ErrorJson;
using admission::gateway::GetString;
using admission::gateway::Json;
using admission::gateway::ParseObject;

// As http_toolkit.cc's Dump.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void Answer(const absl::Status& s) {
  if (s.ok()) return;
  const std::string text =
      Dump(ErrorJson("invalid_argument", std::string_view(s.message().data(), s.message().size())));
  if (text.empty()) __builtin_trap();
}

template <typename T>
void Answer(const absl::StatusOr<T>& v) {
  Answer(v.status());
}

// The string members a route reads, with their limits.
struct Member {
  std::string_view name;
  std::size_t max_length;
};

void DecodeLike(std::string_view body, bool empty_ok,
                std::initializer_list<std::string_view> allowed,
                std::initializer_list<Member> strings) {
  absl::StatusOr<Json> object = ParseObject(body, empty_ok);
  if (!object.ok()) return Answer(object);
  if (absl::Status s = CheckFields(*object, allowed); !s.ok()) return Answer(s);
  for (const Member& m : strings) {
    absl::StatusOr<std::string> v = GetString(*object, m.name, m.max_length);
    Answer(v);
    if (v.ok() && v->size() > m.max_length) __builtin_trap();
  }
}

constexpr std::size_t kMaxTokenLength =
    admission::kMaxEventIdLength + 1 + admission::kTokenRandomHexDigits;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  // POST /api/v1/queue/join
  DecodeLike(
      body, false, {"event_id", "user_id"},
      {{"event_id", admission::kMaxEventIdLength}, {"user_id", admission::kMaxUserIdLength}});
  // POST /api/v1/queue/enter (and the other waiting-token bodies)
  DecodeLike(body, false, {"waiting_token"}, {{"waiting_token", kMaxTokenLength}});
  // Bodies that must be empty or {} (leave, confirm, cancel)
  DecodeLike(body, true, {}, {});
  // POST /api/v1/reservations (a hold)
  DecodeLike(body, false, {"event_id", "seat_ids", "quantity"},
             {{"event_id", admission::kMaxEventIdLength}});
  // POST /api/v1/payments/intents
  DecodeLike(body, false, {"reservation_id", "amount", "currency", "scenario"},
             {{"reservation_id", kMaxTokenLength}, {"currency", 3}, {"scenario", 16}});

  // PUT /api/v1/admin/events/{event_id}/policy: a patch onto the default policy.
  absl::StatusOr<Json> patch = ParseObject(body);
  if (!patch.ok()) return 0;
  admission::Policy policy;
  if (absl::Status s = admission::gateway::MergePolicyJson(*patch, &policy); !s.ok()) {
    Answer(s);
    return 0;
  }
  if (absl::Status s = admission::ValidatePolicy(policy); !s.ok()) {
    Answer(s);
    return 0;
  }
  const std::string out = Dump(admission::gateway::PolicyToJson(policy));
  // What the gateway answers must read back as a patch it accepts.
  absl::StatusOr<Json> again = ParseObject(out);
  if (!again.ok()) __builtin_trap();
  admission::Policy reread;
  if (!admission::gateway::MergePolicyJson(*again, &reread).ok()) __builtin_trap();
  return 0;
}
