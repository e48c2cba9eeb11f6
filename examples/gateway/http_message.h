// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// One HTTP request and its response as the gateway's handlers see them: plain values, with no
// tie to the server that parsed them (http_server.h). Header names compare case-insensitively;
// a request holds at most the server's header-count limit of them, so lookups are linear.
#ifndef ADMISSION_EXAMPLES_GATEWAY_HTTP_MESSAGE_H_
#define ADMISSION_EXAMPLES_GATEWAY_HTTP_MESSAGE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace admission::gateway {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // the request target as sent, query included
  std::string path;    // the target's path, percent-decoded
  HttpHeaders headers;
  std::vector<std::pair<std::string, std::string>> params;  // the query, decoded, in order
  std::string body;
  std::string remote_addr;  // the peer's IP address
  // The route's placeholders ({event_id}, ...) in pattern order, filled in by the router.
  std::vector<std::string> matches;

  // The first header `name` (any case); empty if absent.
  std::string get_header_value(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // How many headers named `name` the request carries.
  int header_count(std::string_view name) const;
  // The first query parameter `name`; empty if absent.
  std::string get_param_value(std::string_view name) const;
  bool has_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  HttpHeaders headers;
  std::string body;

  // Replaces every header `name` with one of `value`.
  void set_header(std::string_view name, std::string_view value);
  std::string get_header_value(std::string_view name) const;
  bool has_header(std::string_view name) const;
  void set_content(std::string body_text, std::string_view content_type);
  void set_content(const char* data, std::size_t size, std::string_view content_type);
};

// Splits a request target into its decoded path and query parameters; false for a target
// that is not origin-form ("/path?query") or whose percent-encoding is broken.
bool ParseTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* params);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_HTTP_MESSAGE_H_
