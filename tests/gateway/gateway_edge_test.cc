// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The HTTP edge, beyond the routes: request ids and trace context (every answer carries an
// X-Request-Id, the client's if it is sane, else a new one; a valid W3C `traceparent` is
// echoed; the JSON access log line of the request names the same request id and the trace id,
// on successes and errors alike; malformed ids and trace headers are replaced or ignored), and
// the encoding of answers to browsers (JSON and pages go out plain, never compressed per
// request).
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_process.h"

namespace admission::gateway::testing {
namespace {

using Json = nlohmann::json;

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class GatewayEdgeTest : public SharedGatewayTest<GatewayEdgeTest> {
 public:
  static std::unique_ptr<GatewayProcess> StartSharedGateway(std::string* error) {
    return GatewayProcess::Start(
        {"--access_log=true", "--admin_token=obs-admin", "--rate_limit_ip_per_sec=0",
         "--rate_limit_token_per_sec=0", "--threads=4", "--create_events_on_join"},
        error);
  }

 protected:
  // The access log line of the request whose id is `request_id`, parsed (null if absent).
  Json LogLineOf(const std::string& request_id) {
    const std::string line = gateway_->WaitForStderrLine("\"request_id\":\"" + request_id + "\"");
    if (line.empty()) return Json();
    return Json::parse(line, nullptr, false);
  }
};

TEST_F(GatewayEdgeTest, ClientRequestIdAndTraceparentAreEchoedAndLogged) {
  auto r = client_->Post("/api/v1/queue/join",
                         {{"X-Request-Id", "obs-join-1"}, {"traceparent", kTraceparent}},
                         R"({"event_id":"obs","user_id":"olga"})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "obs-join-1");
  EXPECT_EQ(r->get_header_value("traceparent"), kTraceparent);
  const std::string token = Json::parse(r->body)["waiting_token"];

  const Json line = LogLineOf("obs-join-1");
  ASSERT_TRUE(line.is_object()) << gateway_->Stderr();
  EXPECT_EQ(line["trace_id"], kTraceId);
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["path"], "/api/v1/queue/join");
  EXPECT_EQ(line["route"], "/api/v1/queue/join");
  EXPECT_EQ(line["status"], 202);
  EXPECT_TRUE(line["ts"].is_string());
  EXPECT_TRUE(line["duration_ms"].is_number());
  EXPECT_EQ(line["remote_addr"], "127.0.0.1");
  EXPECT_EQ(line["bytes"], r->body.size());

  // The same on a status poll; the token in its query string stays out of the log.
  r = client_->Get(("/api/v1/queue/status?token=" + token).c_str(),
                   {{"X-Request-Id", "obs-status-1"}, {"traceparent", kTraceparent}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("traceparent"), kTraceparent);
  const Json status_line = LogLineOf("obs-status-1");
  ASSERT_TRUE(status_line.is_object());
  EXPECT_EQ(status_line["trace_id"], kTraceId);
  EXPECT_EQ(status_line["path"], "/api/v1/queue/status");
  EXPECT_EQ(gateway_->Stderr().find(token), std::string::npos) << "a token reached the log";
}

TEST_F(GatewayEdgeTest, GeneratedRequestIdsAreUniqueAndLogged) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r = client_->Get("/healthz");
    ASSERT_TRUE(r);
    const std::string id = r->get_header_value("X-Request-Id");
    ASSERT_FALSE(id.empty());
    EXPECT_LE(id.size(), 64u);
    ids.insert(id);
    if (i == 0) {
      const Json line = LogLineOf(id);
      ASSERT_TRUE(line.is_object()) << gateway_->Stderr();
      EXPECT_EQ(line["route"], "/healthz");
      EXPECT_FALSE(line.contains("trace_id")) << line;
    }
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(GatewayEdgeTest, ErrorsCarryTheIdsToo) {
  // An unknown route (httplib's own 404, rewritten by the error handler) and a handler error.
  auto r =
      client_->Get("/no/such/route", {{"X-Request-Id", "obs-404"}, {"traceparent", kTraceparent}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "obs-404");
  EXPECT_EQ(r->get_header_value("traceparent"), kTraceparent);
  Json line = LogLineOf("obs-404");
  ASSERT_TRUE(line.is_object()) << gateway_->Stderr();
  EXPECT_EQ(line["status"], 404);
  EXPECT_EQ(line["route"], "other");
  EXPECT_EQ(line["trace_id"], kTraceId);

  r = client_->Post("/api/v1/queue/join", {{"X-Request-Id", "obs-400"}}, "{not json",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "obs-400");
  line = LogLineOf("obs-400");
  ASSERT_TRUE(line.is_object()) << gateway_->Stderr();
  EXPECT_EQ(line["status"], 400);
  EXPECT_EQ(line["route"], "/api/v1/queue/join");
}

TEST_F(GatewayEdgeTest, MalformedIdsAndTraceparentsAreNotEchoed) {
  const std::vector<std::string> bad_traceparents = {
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     // no flags
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  // wrong separators
      "garbage",
  };
  for (const std::string& tp : bad_traceparents) {
    auto r = client_->Get("/healthz", {{"traceparent", tp}, {"X-Request-Id", "obs-badtp"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(r->has_header("traceparent")) << tp;
  }
  const Json line = LogLineOf("obs-badtp");
  ASSERT_TRUE(line.is_object());
  EXPECT_FALSE(line.contains("trace_id")) << line;

  // Request ids with characters outside [A-Za-z0-9._-], or over 64 characters, are replaced.
  for (const std::string& id :
       {std::string("has space"), std::string("quote\"d"), std::string(65, 'a')}) {
    auto r = client_->Get("/healthz", {{"X-Request-Id", id}});
    ASSERT_TRUE(r);
    const std::string echoed = r->get_header_value("X-Request-Id");
    EXPECT_FALSE(echoed.empty());
    EXPECT_NE(echoed, id);
    EXPECT_TRUE(LogLineOf(echoed).is_object()) << echoed;
  }
}

TEST_F(GatewayEdgeTest, EveryLogLineIsJsonWithTheFields) {
  ASSERT_TRUE(client_->Get("/healthz"));
  ASSERT_TRUE(client_->Get("/metrics"));
  std::istringstream log(gateway_->Stderr());
  std::string text;
  int lines = 0;
  while (std::getline(log, text)) {
    if (text.empty() || text[0] != '{') continue;  // startup notes are plain text
    const Json line = Json::parse(text, nullptr, false);
    ASSERT_TRUE(line.is_object()) << text;
    for (const char* field : {"ts", "request_id", "method", "path", "route", "status",
                              "duration_ms", "remote_addr", "bytes"}) {
      EXPECT_TRUE(line.contains(field)) << field << " missing in " << text;
    }
    EXPECT_FALSE(line["request_id"].get<std::string>().empty()) << text;
    ++lines;
  }
  EXPECT_GE(lines, 2);
}

}  // namespace
}  // namespace admission::gateway::testing

namespace admission::gateway::testing {
namespace {

// Browsers send "Accept-Encoding: gzip, deflate, br", and Debian's httplib compresses every
// answer of a compressible type for them, brotli at its slowest setting first: about 2 ms of
// CPU for a 200-byte answer, which capped a status route near 430 answers/s. API answers are
// small and per user, so they go out plain.
TEST_F(GatewayEdgeTest, AnswersToBrowsersAreNotCompressedPerRequest) {
  const httplib::Headers browser = {{"Accept-Encoding", "gzip, deflate, br"}};
  auto r = client_->Post("/api/v1/queue/join", browser, R"({"event_id":"enc","user_id":"eve"})",
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_FALSE(r->has_header("Content-Encoding")) << r->get_header_value("Content-Encoding");
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("application/json", 0), 0u);
  const Json joined = Json::parse(r->body, nullptr, false);
  ASSERT_TRUE(joined.is_object()) << r->body;
  r = client_->Get(
      ("/api/v1/queue/status?token=" + joined["waiting_token"].get<std::string>()).c_str(),
      browser);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->has_header("Content-Encoding"));
  // The pages too: compressing them per request cost ~120 ms of CPU per page load.
  for (const char* page : {"/", "/static/waiting_room.js", "/static/app.css", "/admin"}) {
    r = client_->Get(page, browser);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << page;
    EXPECT_FALSE(r->has_header("Content-Encoding")) << page;
    EXPECT_GT(r->body.size(), 100u) << page;
  }
  r = client_->Get("/no/such/route", browser);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->has_header("Content-Encoding"));
  EXPECT_TRUE(Json::parse(r->body, nullptr, false).is_object()) << r->body;
}

}  // namespace
}  // namespace admission::gateway::testing
