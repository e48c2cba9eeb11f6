// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-minimal-server: a waiting room behind an HTTP server, in one page. What an embedder
// writes to put admission::WaitingRoom behind the HTTP server they already run: read the
// request, call the room, turn its answer (or its absl::Status) into JSON.
//
//   admission-minimal-server --listen=127.0.0.1:8080
//   J='Content-Type: application/json' URL=http://127.0.0.1:8080/api/v1/queue
//   curl -H "$J" -d '{"event_id":"concert","user_id":"u1"}' $URL/join     # a waiting_token
//   curl "$URL/status?token=TOKEN"              # the heartbeat: poll every poll_after_ms
//   curl -H "$J" -d '{"waiting_token":"TOKEN"}' $URL/enter    # once ready_for_entry
//   curl -H "$J" -d '{"waiting_token":"TOKEN"}' $URL/complete # done: frees the place
//
// cpp-httplib is blocking, which keeps this short, and that is what it lacks: each open
// connection holds one of 8 threads, nothing bounds connections, headers or slow clients, there
// are no rate limits, no signed reservation tokens, no Redis. A crowd takes it down; to face
// one, run admission-gateway (docs/gateway.md).
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "admission/admission.h"
#include "nlohmann/json.hpp"

namespace {

using nlohmann::json;

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, int status, std::string code, std::string message) {
  Reply(res, status, {{"error", {{"code", std::move(code)}, {"message", std::move(message)}}}});
}

// The room's errors carry a message meant for the client; only the HTTP status is ours.
void ReplyError(httplib::Response& res, const absl::Status& status) {
  int http = 500;
  if (absl::IsInvalidArgument(status)) http = 400;
  if (absl::IsNotFound(status)) http = 404;
  if (absl::IsAlreadyExists(status) || absl::IsFailedPrecondition(status)) http = 409;
  ReplyError(res, http, absl::StatusCodeToString(status.code()), std::string(status.message()));
}

// The request's JSON object, or nullopt with a 400 sent.
std::optional<json> Body(const httplib::Request& req, httplib::Response& res) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) return body;
  ReplyError(res, 400, "INVALID_ARGUMENT", "the body must be a JSON object");
  return std::nullopt;
}

// A string field; "" when absent or not a string (the room refuses "" with its own message).
std::string Field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

json StatusJson(const admission::QueueStatus& st) {
  return {{"waiting_token", st.token},
          {"status", std::string(st.status_name())},
          {"position", st.position},
          {"ready_for_entry", st.ready_for_entry},
          {"eta_sec", absl::ToDoubleSeconds(st.eta)},
          {"poll_after_ms", absl::ToInt64Milliseconds(st.poll_after)}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = argc > 1 ? argv[1] : "--listen=127.0.0.1:8080";
  if (listen.rfind("--listen=", 0) != 0 || listen.find(':') == std::string::npos) {
    return std::fprintf(stderr, "usage: %s [--listen=HOST:PORT]\n", argv[0]), 2;
  }
  listen.erase(0, listen.find('=') + 1);
  const std::string host = listen.substr(0, listen.rfind(':'));
  const int port = std::atoi(listen.c_str() + listen.rfind(':') + 1);

  // The in-memory store, system clock, default policy (100 admissions/s); its sweeper thread
  // expires users who stop polling.
  auto room = admission::WaitingRoom::CreateInMemory();
  if (!room.ok()) return std::fprintf(stderr, "%s\n", room.status().ToString().c_str()), 1;

  httplib::Server server;
  server.set_tcp_nodelay(true);  // without it, small answers wait 40 ms for a delayed ACK
  // JSON bodies only: a form or text/plain POST is one that any web page can make its visitors
  // send (to join them to a line, say) without asking the browser first.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST" ||
        req.get_header_value("Content-Type").rfind("application/json", 0) == 0) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    ReplyError(res, 415, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type: application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"status", "ok"}});
  });
  server.Post("/api/v1/queue/join", [&](const httplib::Request& req, httplib::Response& res) {
    const std::optional<json> body = Body(req, res);
    if (!body) return;
    auto joined = (*room)->Join(Field(*body, "event_id"), Field(*body, "user_id"));
    if (!joined.ok()) return ReplyError(res, joined.status());
    Reply(res, 202, StatusJson(*joined));
  });
  server.Get("/api/v1/queue/status", [&](const httplib::Request& req, httplib::Response& res) {
    auto status = (*room)->Status(req.get_param_value("token"));  // the heartbeat
    if (!status.ok()) return ReplyError(res, status.status());
    Reply(res, 200, StatusJson(*status));
  });
  server.Post("/api/v1/queue/enter", [&](const httplib::Request& req, httplib::Response& res) {
    const std::optional<json> body = Body(req, res);
    if (!body) return;
    auto entry = (*room)->Enter(Field(*body, "waiting_token"));
    if (!entry.ok()) return ReplyError(res, entry.status());
    if (!entry->granted) {
      return Reply(res, 429,
                   {{"admission", "denied"},
                    {"reason", std::string(admission::EntryBlockName(entry->reason))},
                    {"message", entry->message},
                    {"retry_after_ms", absl::ToInt64Milliseconds(entry->retry_after)}});
    }
    // Your application admits whoever shows this reservation token, until it expires.
    Reply(res, 200,
          {{"admission", "granted"},
           {"reservation_token", entry->reservation_token},
           {"expires_at_unix", absl::ToUnixSeconds(entry->reservation_expires_at)}});
  });
  server.Post("/api/v1/queue/complete", [&](const httplib::Request& req, httplib::Response& res) {
    const std::optional<json> body = Body(req, res);
    if (!body) return;
    auto done = (*room)->Complete(Field(*body, "waiting_token"));  // frees the active place
    if (!done.ok()) return ReplyError(res, done.status());
    Reply(res, 200, StatusJson(*done));
  });

  const int bound =
      port != 0 ? (server.bind_to_port(host, port) ? port : -1) : server.bind_to_any_port(host);
  if (bound < 0) return std::fprintf(stderr, "cannot bind %s\n", listen.c_str()), 1;
  std::printf("admission-minimal-server listening on http://%s:%d/\n", host.c_str(), bound);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
