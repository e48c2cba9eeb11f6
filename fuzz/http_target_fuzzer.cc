// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The request target parser (ParseTarget, examples/gateway/http_message.h): any bytes as the
// target of a request, then the lookups the routes make on what it gave.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  admission::gateway::Request req;
  req.target.assign(reinterpret_cast<const char*>(data), size);
  if (!admission::gateway::ParseTarget(req.target, &req.path, &req.params)) return 0;
  // An origin-form target decodes to a path that starts with '/'.
  if (req.path.empty() || req.path[0] != '/') __builtin_trap();
  for (const auto& [name, value] : req.params) {
    if (!req.has_param(name)) __builtin_trap();
    (void)req.get_param_value(value);
  }
  (void)req.get_param_value("token");
  (void)req.get_param_value("event");
  return 0;
}
