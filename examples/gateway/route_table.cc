// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "route_table.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "admission/ids.h"

namespace admission::gateway {
namespace {

// The longest id a {NAME} placeholder takes. Reservation ids are "<event id>.<32 hex digits>"
// and dead letters' ids at most 200 characters.
constexpr std::size_t kMaxIdLength = 200;

[[noreturn]] void BadPattern(std::string_view pattern, const char* why) {
  std::fprintf(stderr, "fatal: route pattern %.*s: %s\n", static_cast<int>(pattern.size()),
               pattern.data(), why);
  std::abort();
}

bool IsEventIdChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

}  // namespace

RouteTable::RouteTable() { labels_[static_cast<int>(RouteId::kOther)] = {"other", ""}; }

void RouteTable::Add(RouteId id, std::string_view method, std::string_view pattern, Guards guards,
                     Handler handler, std::string_view label) {
  if (!handler) BadPattern(pattern, "a route needs a handler");
  for (const Piece& piece : Parse(pattern)) {
    if (piece.kind == Piece::kRest) BadPattern(pattern, "{NAME...} only in claimed patterns");
  }
  Insert(id, method, pattern, guards, std::move(handler), label);
}

void RouteTable::Claim(RouteId id, std::string_view method, std::string_view pattern,
                       std::string_view label) {
  Insert(id, method, pattern, Guards{}, nullptr, label);
}

void RouteTable::Insert(RouteId id, std::string_view method, std::string_view pattern,
                        Guards guards, Handler handler, std::string_view label) {
  if (method != "GET" && method != "POST" && method != "PUT" && method != "DELETE") {
    BadPattern(pattern, "the method must be GET, POST, PUT or DELETE");
  }
  if (id == RouteId::kOther || id == RouteId::kCount) BadPattern(pattern, "not a route class");
  pieces_.push_back(Parse(pattern));
  routes_.push_back(
      Route{id, std::string(method), std::string(pattern), guards, std::move(handler)});
  RouteLabel& l = labels_[static_cast<int>(id)];
  if (l.pattern.empty()) l = {std::string(label.empty() ? pattern : label), std::string(method)};
}

std::vector<RouteTable::Piece> RouteTable::Parse(std::string_view pattern) {
  if (pattern.empty() || pattern[0] != '/') BadPattern(pattern, "must start with '/'");
  std::vector<Piece> pieces;
  std::size_t at = 0;
  while (at < pattern.size()) {
    const std::size_t open = pattern.find('{', at);
    if (open == std::string_view::npos) {
      pieces.push_back({Piece::kLiteral, std::string(pattern.substr(at))});
      break;
    }
    if (open > at) pieces.push_back({Piece::kLiteral, std::string(pattern.substr(at, open - at))});
    const std::size_t close = pattern.find('}', open);
    if (close == std::string_view::npos) BadPattern(pattern, "unclosed '{'");
    // A placeholder is a whole segment, so that it ends at the next slash.
    if (pattern[open - 1] != '/' || (close + 1 < pattern.size() && pattern[close + 1] != '/')) {
      BadPattern(pattern, "a placeholder must be a whole segment");
    }
    const std::string_view name = pattern.substr(open + 1, close - open - 1);
    if (name.empty()) BadPattern(pattern, "a placeholder needs a name");
    if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
      if (close + 1 != pattern.size()) BadPattern(pattern, "{NAME...} must come last");
      pieces.push_back({Piece::kRest, ""});
    } else {
      pieces.push_back({name == "event_id" ? Piece::kEventId : Piece::kId, ""});
    }
    at = close + 1;
  }
  return pieces;
}

bool RouteTable::Matches(const std::vector<Piece>& pieces, std::string_view path,
                         std::vector<std::string>* matches) {
  if (matches != nullptr) matches->clear();
  for (const Piece& piece : pieces) {
    if (piece.kind == Piece::kLiteral) {
      if (path.substr(0, piece.text.size()) != piece.text) return false;
      path.remove_prefix(piece.text.size());
      continue;
    }
    if (piece.kind == Piece::kRest) return true;
    const std::string_view segment = path.substr(0, path.find('/'));
    if (segment.empty()) return false;
    if (piece.kind == Piece::kEventId) {
      if (segment.size() > kMaxEventIdLength) return false;
      for (char c : segment) {
        if (!IsEventIdChar(c)) return false;
      }
    } else if (segment.size() > kMaxIdLength) {
      return false;
    }
    if (matches != nullptr) matches->emplace_back(segment);
    path.remove_prefix(segment.size());
  }
  return path.empty();
}

RouteId RouteTable::Classify(std::string_view method, std::string_view path) const {
  if (method == "HEAD") method = "GET";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method == method && Matches(pieces_[i], path)) return routes_[i].id;
  }
  return RouteId::kOther;
}

const RouteTable::Route* RouteTable::Find(std::string_view method, std::string_view path,
                                          std::vector<std::string>* matches) const {
  if (method == "HEAD") method = "GET";
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method == method && Matches(pieces_[i], path, matches)) {
      return routes_[i].handler ? &routes_[i] : nullptr;
    }
  }
  return nullptr;
}

std::string RouteTable::AllowedMethods(std::string_view path) const {
  std::string allowed;
  for (const char* m : {"GET", "POST", "PUT", "DELETE"}) {
    if (Find(m, path, nullptr) != nullptr) {
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", m);
    }
  }
  return allowed;
}

}  // namespace admission::gateway
