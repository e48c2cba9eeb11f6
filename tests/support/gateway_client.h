// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// What the gateway's HTTP suites say to a gateway and check in its answers: JSON calls on an
// httplib client, bearer headers, the API's error shape, and joining and entering the waiting
// room. Header-only; works with any gateway, a process of its own (gateway_process.h) or one
// served in the test's process.
#ifndef ADMISSION_TESTS_SUPPORT_GATEWAY_CLIENT_H_
#define ADMISSION_TESTS_SUPPORT_GATEWAY_CLIENT_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace admission::gateway::testing {

// An answer's body as JSON; a discarded value when it is not JSON.
inline nlohmann::json Body(const httplib::Result& r) {
  return nlohmann::json::parse(r->body, nullptr, false);
}

// Checks an error answer: `status`, the API's shape {"error":{"code","message"}} with `code`,
// and a JSON content type.
inline void ExpectError(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const nlohmann::json j = Body(r);
  ASSERT_TRUE(j.is_object()) << r->body;
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
  EXPECT_TRUE(j["error"]["message"].is_string()) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("application/json"), std::string::npos);
}

// "Authorization: Bearer <token>" (a reservation token or the admin token), and an
// Idempotency-Key when `idempotency_key` is not empty.
inline httplib::Headers Bearer(const std::string& token, const std::string& idempotency_key = "") {
  httplib::Headers h = {{"Authorization", "Bearer " + token}};
  if (!idempotency_key.empty()) h.emplace("Idempotency-Key", idempotency_key);
  return h;
}

// Joins `user` to `event` through `c`: the waiting token, or "" with the failure recorded.
inline std::string Join(httplib::Client& c, const std::string& event, const std::string& user) {
  auto r =
      c.Post("/api/v1/queue/join", nlohmann::json{{"event_id", event}, {"user_id", user}}.dump(),
             "application/json");
  EXPECT_TRUE(r) << "no response";
  if (!r) return "";
  EXPECT_EQ(r->status, 202) << r->body;
  if (r->status != 202) return "";
  return Body(r).value("waiting_token", "");
}

// Joins and enters through `c`: the signed reservation token (the admission token), or "" with
// the failure recorded.
inline std::string Admit(httplib::Client& c, const std::string& event, const std::string& user) {
  const std::string waiting = Join(c, event, user);
  if (waiting.empty()) return "";
  auto r = c.Post("/api/v1/queue/enter", nlohmann::json{{"waiting_token", waiting}}.dump(),
                  "application/json");
  EXPECT_TRUE(r) << "no response";
  if (!r) return "";
  EXPECT_EQ(r->status, 200) << r->body;
  if (r->status != 200) return "";
  return Body(r).value("reservation_token", "");
}

// JSON calls on `client_`, paths as strings, for a fixture to derive from (it sets client_).
class GatewayClient {
 public:
  httplib::Result Post(const std::string& path, const std::string& body,
                       httplib::Headers headers = {}) {
    return client_->Post(path.c_str(), headers, body, "application/json");
  }
  httplib::Result Put(const std::string& path, const std::string& body,
                      httplib::Headers headers = {}) {
    return client_->Put(path.c_str(), headers, body, "application/json");
  }
  httplib::Result Get(const std::string& path, httplib::Headers headers = {}) {
    return client_->Get(path.c_str(), headers);
  }

 protected:
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace admission::gateway::testing

#endif  // ADMISSION_TESTS_SUPPORT_GATEWAY_CLIENT_H_
