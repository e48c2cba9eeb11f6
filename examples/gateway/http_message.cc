// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "http_message.h"

#include <utility>

#include "absl/strings/match.h"

namespace admission::gateway {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

const std::string* Find(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (SameName(n, name)) return &v;
  }
  return nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in` (and '+' as a space in a query); false on a broken escape.
bool Decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

}  // namespace

std::string Request::get_header_value(std::string_view name) const {
  const std::string* v = Find(headers, name);
  return v != nullptr ? *v : std::string();
}

bool Request::has_header(std::string_view name) const { return Find(headers, name) != nullptr; }

int Request::header_count(std::string_view name) const {
  int n = 0;
  for (const auto& header : headers) n += SameName(header.first, name) ? 1 : 0;
  return n;
}

std::string Request::get_param_value(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::string();
}

bool Request::has_param(std::string_view name) const {
  for (const auto& param : params) {
    if (param.first == name) return true;
  }
  return false;
}

void Response::set_header(std::string_view name, std::string_view value) {
  for (auto it = headers.begin(); it != headers.end();) {
    it = SameName(it->first, name) ? headers.erase(it) : it + 1;
  }
  headers.emplace_back(std::string(name), std::string(value));
}

std::string Response::get_header_value(std::string_view name) const {
  const std::string* v = Find(headers, name);
  return v != nullptr ? *v : std::string();
}

bool Response::has_header(std::string_view name) const { return Find(headers, name) != nullptr; }

void Response::set_content(std::string body_text, std::string_view content_type) {
  body = std::move(body_text);
  set_header("Content-Type", content_type);
}

void Response::set_content(const char* data, std::size_t size, std::string_view content_type) {
  body.assign(data, size);
  set_header("Content-Type", content_type);
}

bool ParseTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* params) {
  if (target.empty() || target.front() != '/') return false;
  const std::size_t q = target.find('?');
  if (!Decode(target.substr(0, q), /*plus_is_space=*/false, path)) return false;
  params->clear();
  if (q == std::string_view::npos) return true;
  std::string_view query = target.substr(q + 1);
  // A fragment is never sent by a client; if one is, it is not part of the query.
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!Decode(pair.substr(0, eq), true, &name)) return false;
    if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), true, &value)) return false;
    params->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace admission::gateway
